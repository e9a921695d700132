#!/usr/bin/env bash
# docs/reproduction.md: the 18 train runs (3 techniques x 2 tasks x 3 seeds), one after the
# other, with one budget: 5 steps of 2 prompts x 8 rollouts of up to 16 tokens, two updates of
# one prompt's group per step (the paper's 128 prompts in mini-batches of 64), lr 2e-5, the task's
# own prompt for rollouts and evaluation, avg@4 on the 20 test problems before and after.
# Each run's wall time goes to the log line "WALL <task> <technique> <seed> <seconds>".
# Usage: MTA_HOME=... bash docs/reproduction/run.sh [OUT]   (OUT: $MTA_HOME/reproduction)
set -euo pipefail
out="${1:-$MTA_HOME/reproduction}"
for seed in 0 1 2; do
  for task in famous rare; do
    for technique in ground-truth random vote; do
      began=$(date +%s)
      python -m mta_cli.main train --technique "$technique" --model smollm2-135m \
        --task "docs/reproduction/capitals-$task-train.jsonl" \
        --eval-task "docs/reproduction/capitals-$task-test.jsonl" --verifier normalized \
        --no-format-reward --train-prompt task --eval-protocol probe \
        --steps 5 --batch-size 2 --mini-batch-size 1 --group-size 8 --max-response-length 16 \
        --lr 2e-5 --eval-k 4 --seed "$seed" --out "$out/capitals-$task/$technique-s$seed"
      echo "WALL capitals-$task $technique $seed $(( $(date +%s) - began ))"
    done
  done
done
