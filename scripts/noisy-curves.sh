#!/bin/bash
# ICL and MTV curves of the demo model on noisy task inference, five held-out datasets (one per asked attribute).
# Usage: [MODEL=<model dir>] [LOCATE=relabel|noisy] bash scripts/noisy-curves.sh [out-dir, default .noisy-curves]
#   per attribute <sub>: <out>/<sub>/eval4.log     MTV with 4-shot rounds, 4 ... 4096 shots compressed;
#                        <out>/<sub>/eval62.log    ICL at 0 ... 62 shots in context (the most that fit 512 positions),
#                                                  and MTV with 62-shot rounds (one context-full each), 62 ... 4154 shots;
#                        <out>/<sub>/curves.png    the plot of eval62 (ICL and MTV, shots on a log axis).
#   About 25 min on 2 quiet cores.
# Means come from the 1,000 noisy shots. The heads (one set per round size: a head set located on
# 4-shot means does not transfer to 62-shot means) are located by REINFORCE on
#   LOCATE=relabel (default): 200 of those shots relabelled by the model's own 62-shot ICL (mtv relabel),
#                             with the noise-robust objective 1 - p (--objective prob);
#   LOCATE=noisy:             the shots' shown (noisy) labels with the reference's cross-entropy.
# No clean label is used by either. The ICL rows draw their shots from the same noisy shots.
set -e
R=$(cd "$(dirname "$0")/.." && pwd)
M=${MODEL:-$R/packages/toy/demo-model}
T="node $R/packages/toy/dist/cli/tasks.js"
MTV="node $R/packages/mtv/dist/cli/main.js"
LOCATE=${LOCATE:-relabel}
OUT=${1:-.noisy-curves}; mkdir -p "$OUT"; cd "$OUT"
i=0
for sub in colour shape count position size; do
  i=$((i+1))
  TR=$sub/train/noisy-task-inference.jsonl
  TE=$sub/test/task-inference.jsonl
  [ -f $TE ] || { $T export --family noisy-task-inference --sub-task $sub --n 1000 --out $sub/train --seed $((500+i)) >/dev/null; $T export --family task-inference --sub-task $sub --n 200 --out $sub/test --seed $((600+i)) >/dev/null; }
  {
    [ "$LOCATE" = relabel ] && $MTV relabel -m $M --data $TR -f jsonl --shots 62 -n 200 -o $sub/train/relabelled.jsonl
    for k in 4 62; do
      # 4096 shots compressed: 1024 rounds of 4 or 67 of 62; the heads are located on 400 (4 x 100) or 1054 (62 x 17).
      $MTV extract -m $M --data $TR -f jsonl --shots $k --rounds $([ $k = 4 ] && echo 100 || echo 17) -o $sub/means$k.safetensors --quiet
      if [ "$LOCATE" = relabel ]; then
        $MTV locate -m $M -a $sub/means$k.safetensors --data $sub/train/relabelled.jsonl -f jsonl --objective prob -o $sub/mtv$k.safetensors --quiet
      else
        $MTV locate -m $M -a $sub/means$k.safetensors --data $TR -f jsonl -o $sub/mtv$k.safetensors --quiet
      fi
    done
  } > $sub/run.log 2>&1
  ( time $MTV eval -m $M --data $TE -f jsonl -a $sub/mtv4.safetensors --train-data $TR \
      --max-new-tokens 1 -n 40 --shots 4 --sweep 4,16,64,256,1024,4096 --quiet ) > $sub/eval4.log 2>&1
  ( time $MTV eval -m $M --data $TE -f jsonl -a $sub/mtv62.safetensors --train-data $TR \
      --max-new-tokens 1 -n 40 --shots 62 --sweep 62,248,1024,4096 --icl-sweep 0,1,2,4,8,16,32,62 --plot $sub/curves.png --quiet ) > $sub/eval62.log 2>&1
  echo "$sub done $(date)"
done
