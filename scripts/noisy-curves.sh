#!/bin/bash
# MTV and ICL curves of the demo model on noisy task inference, five held-out datasets (one per sub-task).
# Usage: [MODEL=<model dir>] bash scripts/noisy-curves.sh [out-dir, default .noisy-curves]; per sub-task: <out>/<sub>/eval.log (the table) and <out>/<sub>/curves.png (the plot). About 6 min on 2 quiet cores.
set -e
R=$(cd "$(dirname "$0")/.." && pwd)
M=${MODEL:-$R/packages/toy/demo-model}
T="node $R/packages/toy/dist/cli/tasks.js"
MTV="node $R/packages/mtv/dist/cli/main.js"
OUT=${1:-.noisy-curves}; mkdir -p "$OUT"; cd "$OUT"
i=0
for sub in colour shape count position size; do
  i=$((i+1))
  [ -f $sub/test/task-inference.jsonl ] || { $T export --family noisy-task-inference --sub-task $sub --n 1000 --out $sub/train --seed $((500+i)) >/dev/null; $T export --family task-inference --sub-task $sub --n 200 --out $sub/test --seed $((600+i)) >/dev/null; }
  ( time $MTV run -m $M --data $sub/train/noisy-task-inference.jsonl -f jsonl --shots 4 --rounds 100 --steps 100 -o $sub/mtv.safetensors --quiet ) > $sub/run.log 2>&1
  ( time $MTV eval -m $M --data $sub/test/task-inference.jsonl -f jsonl -a $sub/mtv.safetensors --train-data $sub/train/noisy-task-inference.jsonl \
      --max-new-tokens 1 -n 40 --icl-sweep 0,1,2,4,8,16,32,62 --sweep 4,16,64,256,1024,4096 --plot $sub/curves.png --quiet ) > $sub/eval.log 2>&1
  echo "$sub done $(date)"
done
