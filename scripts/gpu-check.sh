#!/usr/bin/env bash
# The GPU check (docs/GPU-CHECK.md): kernel + model tests, kernel bench, attention at S = 1024 / 4096
# and the model bench on a Linux x86-64 GPU host with no Node.js and no network, from the bundle that
# `node scripts/gpu-check-bundle.mjs` builds here (.gpu-check/mtv-gpu-check.tar.gz, <= 64 MiB).
#
#   bash scripts/gpu-check.sh [--local] [--quick] [--backend B] [--out DIR] [--bundle FILE] [--skip STEPS]
#
# From a repository checkout: unpacks the bundle (--bundle FILE, else $MTV_GPU_CHECK_BUNDLE, else
# .gpu-check/mtv-gpu-check.tar.gz) into a temporary folder and runs the copy inside it. Inside an
# unpacked bundle: runs directly. Results (RESULTS.md, results.json, one log per step) go to --out DIR,
# else $OUT/gpu-check when $OUT is set (the device machine's output folder), else
# .gpu-check/results in the checkout (gpu-check-results in a bundle run by hand).
#   --backend B  MTV_GPU_BACKEND for every step (default vulkan, core feature level)
#   --quick      tiny shapes, a test subset, S = 64 / 128, the tiny model case (figures not for the record)
#   --local      --quick on this machine's CPU adapter: Vulkan over chromium's SwiftShader when it is
#                installed, else the default acquisition order (llvmpipe GLES)
#   --skip S     comma-separated steps to leave out: tests, kernel-bench, attention, model-bench
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[gpu-check] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 2; }

args=("$@")
bundle="${MTV_GPU_CHECK_BUNDLE:-}"
out="${MTV_GPU_CHECK_OUT:-}"
backend="${MTV_GPU_BACKEND:-vulkan}"
local_run=0
quick=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --backend) backend="$2"; shift 2 ;;
    --local) local_run=1; quick=1; shift ;;
    --quick) quick=1; shift ;;
    --skip) pass+=(--skip "$2"); shift 2 ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if [ -z "$out" ]; then
  if [ -n "${OUT:-}" ]; then out="$OUT/gpu-check"
  elif [ -f "$here/BUNDLE.json" ]; then out="$PWD/gpu-check-results"
  else out="$here/.gpu-check/results"; fi
fi
mkdir -p "$out" || die "cannot create the results folder $out"
out="$(cd "$out" && pwd)"

# --- in a repository checkout: unpack the bundle and run the copy inside it ----------------------
if [ ! -f "$here/BUNDLE.json" ]; then
  bundle="${bundle:-$here/.gpu-check/mtv-gpu-check.tar.gz}"
  [ -f "$bundle" ] || die "no bundle at $bundle: build it where Node runs with 'npx tsc -b && node scripts/gpu-check-bundle.mjs' and carry .gpu-check/mtv-gpu-check.tar.gz along (docs/GPU-CHECK.md)"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/mtv-gpu-check.XXXXXX")" || die "mktemp failed"
  say "unpacking $bundle into $tmp"
  tar -C "$tmp" -xzf "$bundle" || die "could not unpack $bundle (tar/gzip failed)"
  [ -f "$tmp/mtv-gpu-check/scripts/gpu-check.sh" ] || die "$bundle has no mtv-gpu-check/scripts/gpu-check.sh"
  MTV_GPU_CHECK_OUT="$out" bash "$tmp/mtv-gpu-check/scripts/gpu-check.sh" ${args[@]+"${args[@]}"}
  status=$?
  [ -n "${MTV_GPU_CHECK_KEEP:-}" ] || rm -rf "$tmp"
  exit $status
fi

# --- inside the unpacked bundle ---------------------------------------------------------------------
cd "$here"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the bundle is for Linux x86-64 (this is $(uname -s)-$(uname -m))"
node="$here/.node/node"
if [ ! -x "$node" ]; then
  mkdir -p "$here/.node"
  if command -v xz >/dev/null 2>&1; then xz -dc "$here/node.xz" > "$node.part"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$here/node.xz" "$node.part"
  else die "cannot decompress node.xz: neither xz nor python3 is installed"; fi
  [ $? -eq 0 ] || die "decompressing node.xz failed"
  chmod +x "$node.part" && mv "$node.part" "$node"
fi
"$node" --version >/dev/null || die "the bundled node does not run here ($("$node" --version 2>&1 | head -1))"

# The Vulkan loader: the host's when it has one, else the bundled libvulkan.so.1 (Debian libvulkan1).
# MTV_GPU_CHECK_BUNDLED_VULKAN=1 takes the bundled one anyway (to try it on a host that has one).
if [ -z "${MTV_GPU_CHECK_BUNDLED_VULKAN:-}" ] && { /sbin/ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; }; then
  export MTV_GPU_CHECK_VULKAN_LOADER="the host's libvulkan.so.1"
else
  export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export MTV_GPU_CHECK_VULKAN_LOADER="bundled libvulkan.so.1 (the host has none)"
fi

if [ "$local_run" = 1 ]; then
  icd=""
  for f in /usr/lib/chromium/vk_swiftshader_icd.json /usr/lib/chromium-browser/vk_swiftshader_icd.json; do [ -f "$f" ] && icd="$f" && break; done
  if [ -n "$icd" ]; then
    export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"; backend=vulkan
    say "--local: Vulkan over SwiftShader ($icd)"
  else
    backend=auto
    say "--local: no SwiftShader ICD; the default adapter (llvmpipe GLES)"
  fi
fi
export MTV_GPU_BACKEND="$backend"
export EGL_PLATFORM="${EGL_PLATFORM:-surfaceless}"
say "node $("$node" --version), MTV_GPU_BACKEND=$MTV_GPU_BACKEND, $MTV_GPU_CHECK_VULKAN_LOADER, results in $out"
if [ "$quick" = 1 ]; then pass+=(--quick); fi
exec "$node" scripts/gpu-check/run.mjs --out "$out" ${pass[@]+"${pass[@]}"}
