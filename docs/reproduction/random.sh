#!/usr/bin/env bash
# docs/reproduction.md, "Random rewards with the clipping active": the final runs, one after the
# other (18 runs, 120 training steps). Every run: 4 prompts x 8 rollouts of up to 16 tokens a
# step, four updates of one prompt's group per step (mini-batch 1 of batch 4: three of the four
# are off-policy, so the clip can bind), clip 0.2 / 0.28 (DAPO), 3 warm-up steps, the task's own
# prompt, avg@4 on the 20 test problems before and after; the greedy-answer log and the clip
# fractions in each run's metrics.jsonl. Settings were chosen on the training problems only.
#   main    lr 1e-5, 6 steps: random and ground-truth, seeds 0 1 2, both tasks      (12 runs)
#   noclip  the same random runs on capitals-famous with the clip out of reach        (3 runs)
#           (ratio bounds 0.001 and 1001; the dual clip at 10 never bound in a pilot)
#   lr2e-6  another step size: random, seed 0, both tasks, 6 steps                    (2 runs)
#   long    a longer run: random, capitals-famous, seed 0, lr 1e-5, 18 steps         (1 run)
# Each run's wall time and the load average go to "WALL <set> <task> <technique> <seed> <s> load <l>".
# Usage: MTA_HOME=... bash docs/reproduction/random.sh [OUT]   (OUT: $MTA_HOME/random)
# Run it again after a stop: finished runs are skipped, a stopped one resumes.
set -euo pipefail
out="${1:-$MTA_HOME/random}"

run() {  # run SET TASK TECHNIQUE SEED [mta train options...]
  local set=$1 task=$2 technique=$3 seed=$4 began
  shift 4
  # A finished run (gains.json written) is kept; a stopped one resumes from its last checkpoint.
  [ -f "$out/$set/capitals-$task/$technique-s$seed/gains.json" ] && return 0
  began=$(date +%s)
  python -m mta_cli.main train --technique "$technique" --model smollm2-135m \
    --task "docs/reproduction/capitals-$task-train.jsonl" \
    --eval-task "docs/reproduction/capitals-$task-test.jsonl" --verifier normalized \
    --no-format-reward --train-prompt task --eval-protocol probe \
    --batch-size 4 --mini-batch-size 1 --group-size 8 --max-response-length 16 \
    --warmup-steps 3 --eval-k 4 --seed "$seed" "$@" \
    --out "$out/$set/capitals-$task/$technique-s$seed"
  echo "WALL $set capitals-$task $technique $seed $(( $(date +%s) - began )) load $(cut -d' ' -f1 /proc/loadavg)"
}

for seed in 0 1 2; do
  for task in famous rare; do
    for technique in random ground-truth; do
      run main "$task" "$technique" "$seed" --lr 1e-5 --steps 6
    done
  done
done
for seed in 0 1 2; do
  run noclip famous random "$seed" --lr 1e-5 --steps 6 --clip-low 0.999 --clip-high 1000
done
for task in famous rare; do
  run lr2e-6 "$task" random 0 --lr 2e-6 --steps 6
done
run long famous random 0 --lr 1e-5 --steps 18
