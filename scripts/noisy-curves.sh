#!/bin/bash
# MTV and ICL curves of the demo model on noisy task inference, five held-out datasets (one per sub-task).
# Usage: [MODEL=<model dir>] [LOCATE=relabel|noisy] bash scripts/noisy-curves.sh [out-dir, default .noisy-curves]
#   per sub-task: <out>/<sub>/eval.log (the table) and <out>/<sub>/curves.png (the plot). About 15 min on 2 quiet cores.
# Means come from the 1,000 noisy shots (100 rounds of 4). The heads are located by REINFORCE on
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
  [ -f $sub/test/task-inference.jsonl ] || { $T export --family noisy-task-inference --sub-task $sub --n 1000 --out $sub/train --seed $((500+i)) >/dev/null; $T export --family task-inference --sub-task $sub --n 200 --out $sub/test --seed $((600+i)) >/dev/null; }
  {
    $MTV extract -m $M --data $TR -f jsonl --shots 4 --rounds 100 -o $sub/means.safetensors --quiet
    if [ "$LOCATE" = relabel ]; then
      $MTV relabel -m $M --data $TR -f jsonl --shots 62 -n 200 -o $sub/train/relabelled.jsonl --quiet
      $MTV locate -m $M -a $sub/means.safetensors --data $sub/train/relabelled.jsonl -f jsonl --objective prob -o $sub/mtv.safetensors --quiet
    else
      $MTV locate -m $M -a $sub/means.safetensors --data $TR -f jsonl -o $sub/mtv.safetensors --quiet
    fi
  } > $sub/run.log 2>&1
  ( time $MTV eval -m $M --data $sub/test/task-inference.jsonl -f jsonl -a $sub/mtv.safetensors --train-data $TR \
      --max-new-tokens 1 -n 40 --icl-sweep 0,1,2,4,8,16,32,62 --sweep 4,16,64,256,1024,4096 --plot $sub/curves.png --quiet ) > $sub/eval.log 2>&1
  echo "$sub done $(date)"
done
