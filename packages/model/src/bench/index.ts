#!/usr/bin/env node
// Model benchmark: prefill and decode tokens/s of the GPU runtime on the tiny checkpoints, on a
// ~110M-parameter random checkpoint in llava-interleave-qwen-0.5b proportions, and on a random
// checkpoint with SmolVLM-256M-Instruct's exact dimensions (Idefics3), on one with Qwen2-VL-2B's, and
// on one with llava-onevision-qwen2-0.5b's (anyres crops).
//   npm run bench -w @mtv/model
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu, benchSession, exitOnBrokenPipe, fmtStats, repeat, rng, type Stats } from '@mtv/kernels';
import { loadModel, writeTinyCheckpoint, writeTinyIdefics3, writeTinyLlavaOnevision, writeTinyQwen2VL, type RgbImage, type TinyFamily, type TinyOptions } from '../index.js';

interface Case {
  name: string;
  /** Writes the checkpoint into dir. */
  write: (dir: string) => Promise<unknown>;
  /** Minutes on llvmpipe: left out of --quick. */
  large?: boolean;
  /** Tens of minutes per forward on llvmpipe (billions of parameters): run only when named with --case. */
  hours?: boolean;
  imageSize: number;
  /** The image's width when it is not square (imageSize is then its height). */
  imageWidth?: number;
  prompt: string;
  decodeTokens: number;
}

// llava-interleave-qwen-0.5b: Qwen2 hidden 1024 / 24 layers / inter 2816 / 16 heads of 64 / vocab 152000
// tied, SigLIP 1152 / 26 layers / patch 14 at 384 px (729 tokens). Scaled down: text hidden 512,
// 8 layers, inter 1408 (same 2.75 ratio), 8 heads of 64, the full 152000 vocabulary; SigLIP hidden
// 384, 4 layers, inter 1536, 6 heads of 64, the full 384 px / patch 14 = 729 image tokens.
const QWEN_05B_PROPORTIONS: TinyOptions['configOverrides'] = {
  text: { hidden_size: 512, intermediate_size: 1408, num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, vocab_size: 152000, max_position_embeddings: 32768 },
  vision: { hidden_size: 384, intermediate_size: 1536, num_hidden_layers: 4, num_attention_heads: 6, image_size: 384, patch_size: 14 },
};

// SmolVLM-256M-Instruct's published config.json: SigLIP-B/16 at 512 px (768 hidden, 12 layers, 12
// heads, inter 3072), scale_factor 4 (64 tokens per tile), SmolLM2-135M (576 hidden, 30 layers, 9
// heads / 3 kv heads of 64, inter 1536, vocab 49280, rope_theta 100000, 8192 positions), untied head.
// Splitting off: one 512 x 512 frame per image (with splitting, a 512 px image becomes 4 x 4 tiles +
// the global view, 17 frames, which is minutes per prompt on llvmpipe).
const SMOLVLM_256M: Parameters<typeof writeTinyIdefics3>[1] = {
  seed: 1, dtype: 'F16', doImageSplitting: false,
  configOverrides: {
    top: { scale_factor: 4, tie_word_embeddings: false },
    vision: { hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, image_size: 512, patch_size: 16 },
    text: { hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, head_dim: 64, vocab_size: 49280, rope_theta: 100000, max_position_embeddings: 8192 },
    preprocessor: { size: { longest_edge: 2048 }, max_image_size: { longest_edge: 512 } },
  },
};

// Qwen2-VL-2B-Instruct's published config.json: a 1280-wide, 32-block quick_gelu tower (16 heads of
// 80, patch 14, 2x2 merge into 1536), a Qwen2-1.5B decoder (1536 hidden, 28 layers, 12 heads / 2 kv
// heads of 128, inter 8960, vocab 151936, tied), M-RoPE sections 16/24/24, the published
// min/max_pixels. A 224 x 224 image is a 16 x 16 patch grid: 256 patches, 64 image tokens.
const QWEN2_VL_2B: Parameters<typeof writeTinyQwen2VL>[1] = {
  seed: 1, dtype: 'F16', minPixels: 3136, maxPixels: 12845056,
  configOverrides: {
    top: { hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, rms_norm_eps: 1e-6, rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] } },
    vision: { depth: 32, embed_dim: 1280, mlp_ratio: 4, num_heads: 16, hidden_size: 1536, patch_size: 14, spatial_patch_size: 14 },
  },
};
const QWEN_CHAT = '<|im_start|>user\n<image>What is this?<|im_end|>\n<|im_start|>assistant\n';

// llava-onevision-qwen2-0.5b-ov-hf's config.json: SigLIP so400m at 384 px / patch 14 (1152 hidden, 26
// layers, 16 heads, inter 4304; 27 x 27 = 729 features per crop, strategy full, last layer), the 36
// pinpoints {384..2304}^2, anyres_max_9, a Qwen2-0.5B decoder (896 hidden, 24 layers, 14 heads / 2 kv
// heads of 64, inter 4864, vocab 152000, rope 1e6, tied). The 768 x 384 image is the (384, 768)
// pinpoint: 1 x 2 crops + the base = 3 tower passes, 729 + 27 x (54 + 1) = 2214 image tokens.
const ONEVISION_05B: Parameters<typeof writeTinyLlavaOnevision>[1] = {
  seed: 1, dtype: 'F16',
  configOverrides: {
    top: { vision_aspect_ratio: 'anyres_max_9', tie_word_embeddings: true },
    vision: { hidden_size: 1152, intermediate_size: 4304, num_hidden_layers: 26, num_attention_heads: 16, image_size: 384, patch_size: 14 },
    text: { hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 152000, rope_theta: 1000000.0, max_position_embeddings: 32768, tie_word_embeddings: true },
  },
};
const ONEVISION_CHAT = '<|im_start|>user <image>\nWhat is this?<|im_end|>\n<|im_start|>assistant\n';

const llava = (family: TinyFamily, overrides?: TinyOptions['configOverrides'], imageSize?: number) => async (dir: string): Promise<void> => {
  await writeTinyCheckpoint(dir, { family, seed: 1, dtype: 'F16', ...(overrides ? { configOverrides: overrides } : {}) });
  if (overrides && imageSize) {
    // the preprocessor must produce the tower's resolution
    await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({
      image_processor_type: 'SiglipImageProcessor', do_resize: true, size: { height: imageSize, width: imageSize }, resample: 3,
      do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    }));
  }
};

const CHATML = '<|im_start|>user <image> What is this? <|im_end|> <|im_start|>assistant';
const CASES: Case[] = [
  { name: 'tiny clip-llama', write: llava('clip-llama'), imageSize: 24, prompt: 'USER: <image> What color is the shape? ASSISTANT:', decodeTokens: 32 },
  { name: 'tiny siglip-qwen2', write: llava('siglip-qwen2'), imageSize: 32, prompt: CHATML, decodeTokens: 32 },
  { name: 'tiny smolvlm (idefics3)', write: (dir) => writeTinyIdefics3(dir, { seed: 1, dtype: 'F16' }), imageSize: 40, prompt: 'User:<image>What is this?<end_of_utterance>\nAssistant:', decodeTokens: 32 },
  { name: '~110M qwen-0.5b proportions', write: llava('siglip-qwen2', QWEN_05B_PROPORTIONS, 384), large: true, imageSize: 384, prompt: CHATML, decodeTokens: 16 },
  { name: 'SmolVLM-256M dimensions', write: (dir) => writeTinyIdefics3(dir, SMOLVLM_256M), large: true, imageSize: 512, prompt: 'User:<image>What is this?<end_of_utterance>\nAssistant:', decodeTokens: 16 },
  { name: 'tiny qwen2-vl', write: (dir) => writeTinyQwen2VL(dir, { seed: 1, dtype: 'F16' }), imageSize: 40, prompt: QWEN_CHAT, decodeTokens: 32 },
  { name: 'tiny llava-onevision', write: (dir) => writeTinyLlavaOnevision(dir, { seed: 1, dtype: 'F16' }), imageSize: 30, imageWidth: 25, prompt: ONEVISION_CHAT, decodeTokens: 32 },
  { name: 'llava-onevision-0.5B dimensions', write: (dir) => writeTinyLlavaOnevision(dir, ONEVISION_05B), large: true, hours: true, imageSize: 384, imageWidth: 768, prompt: ONEVISION_CHAT, decodeTokens: 16 },
  { name: 'Qwen2-VL-2B dimensions', write: (dir) => writeTinyQwen2VL(dir, QWEN2_VL_2B), large: true, hours: true, imageSize: 224, prompt: QWEN_CHAT, decodeTokens: 16 },
];

function image(size: number, width = size): RgbImage {
  const r = rng(size);
  return { width, height: size, data: Uint8Array.from({ length: width * size * 3 }, () => Math.floor(256 * r())), source: 'bench' };
}

/** The values of every `--case NAME` / `--case=NAME` argument. */
function caseFilters(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === '--case' && argv[i + 1]) out.push(argv[i + 1]!);
    else if (a.startsWith('--case=')) out.push(a.slice('--case='.length));
  });
  return out;
}

/** The shared method (@mtv/kernels measure.ts): pipelines compiled before (forward + generate above), median [min–max] of reps. */
const time = (fn: () => Promise<unknown>, reps: number): Promise<Stats> => repeat(async () => void (await fn()), { warmup: 0, repeats: reps });

async function main(): Promise<void> {
  const session = benchSession('@mtv/model bench', (s) => console.log(s));
  const gpu = await Gpu.create();
  console.log(`adapter: ${gpu.report.device || gpu.report.description} (${gpu.report.backend}${gpu.report.cpuAdapter ? ', CPU adapter' : ''})`);
  const root = await mkdtemp(join(tmpdir(), 'mtv-model-bench-'));
  const rows: string[][] = [['model', 'params', 'weights on device', 'prompt tokens', 'prefill ms [min–max]', 'prefill tok/s', 'decode tok/s']];
  try {
    // --quick: the tiny checkpoints only (the large ones take minutes), 3 repeats. --case NAME (a
    // substring, repeatable) runs only the named cases, the hours-long ones included, with 1 repeat
    // for those; without it every case but the hours-long ones runs.
    const named = caseFilters(process.argv.slice(2));
    const picked = named.length > 0 ? CASES.filter((x) => named.some((n) => x.name.includes(n))) : CASES.filter((x) => !x.hours);
    if (named.length > 0 && picked.length === 0) throw new Error(`--case ${named.join(', ')}: no such case (cases: ${CASES.map((x) => x.name).join('; ')})`);
    // --quick keeps the command's code path but never runs a large case (minutes to hours here).
    const cases = session.quick ? picked.filter((x) => !x.large) : picked;
    for (const c of picked.filter((x) => !cases.includes(x))) console.log(`  skipped in quick mode: ${c.name}`);
    for (const c of cases) {
      const dir = join(root, c.name.replace(/\W+/g, '-'));
      await c.write(dir);
      const m = await loadModel(dir, { gpu, weightDtype: 'f16' });
      const params = m.checkpoint.list().reduce((s, n) => s + m.checkpoint.shape(n).reduce((a, b) => a * b, 1), 0);
      const p = await m.prepare({ text: c.prompt, images: [image(c.imageSize, c.imageWidth)] });
      await m.forward(p); // compile every pipeline
      await m.generate(p, { maxNewTokens: 2, stopTokens: [] });
      const reps = session.quick ? 3 : c.hours ? 1 : 5;
      const prefill = await time(() => m.forward(p), reps);
      const g1 = await time(() => m.generate(p, { maxNewTokens: 1, stopTokens: [] }), reps);
      const gN = await time(() => m.generate(p, { maxNewTokens: 1 + c.decodeTokens, stopTokens: [] }), reps);
      const decodeMs = (gN.median - g1.median) / c.decodeTokens;
      rows.push([c.name, `${(params / 1e6).toFixed(2)}M`, `${(m.deviceBytes / 2 ** 20).toFixed(1)} MiB`, String(p.ids.length), fmtStats(prefill, 1), (p.ids.length / (prefill.median / 1000)).toFixed(0), (1000 / decodeMs).toFixed(1)]);
      console.error(`  done: ${c.name}`);
      await m.close();
    }
  } finally {
    gpu.destroy();
    await rm(root, { recursive: true, force: true });
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i]!)).join('  '));
  console.log('decode tok/s: from the medians of generate(1 + N tokens) and generate(1 token)');
  session.end();
}

exitOnBrokenPipe();
main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
