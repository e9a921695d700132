"""CPU sampling throughput: mta's hf backend against one-sample-per-`generate` transformers.

The baseline is what lm-eval's HF backend does for sampled generation: one prompt, one sample
per `generate` call. Both run side by side in this process on the embedded SmolLM2-135M, over
chain_sum questions from reasoning-gym rendered through the chat template, at temperature 1.0.
Tokens/s counts new tokens up to and including EOS. The baseline's rate is measured on the
first `--baseline-samples` samples of the first prompt (a rate, so fewer samples suffice; the
full 64 one-at-a-time calls take many minutes on 2 cores).

llama.cpp is not measured: llama-cpp-python 0.3.36 segfaults in decode on this GGUF (see
docs/backends.md).

Run: python bench/sampling_cpu.py [--prompts 4] [--n 16] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mta_probe.sampling import (
    SamplingSettings,  # noqa: E402
    open_sampler,  # noqa: E402
    resolve_model,  # noqa: E402
)
from mta_probe.sampling.hf import count_new_tokens  # noqa: E402


def chain_sum_questions(count: int) -> list[str]:
    """`count` reasoning-gym chain_sum questions (seed 0)."""
    import reasoning_gym

    return [item["question"] for item in reasoning_gym.create_dataset("chain_sum", size=count, seed=0)]


def time_mta(sampler, prompts: list[str], n: int, settings: SamplingSettings) -> tuple[int, float]:
    """Tokens generated and seconds taken by one `sample` call of mta's hf backend."""
    started = time.perf_counter()
    out = sampler.sample(prompts, n, settings, seed=0)
    return sum(c.tokens for cs in out for c in cs), time.perf_counter() - started


def time_one_at_a_time(sampler, prompt: str, samples: int, max_tokens: int) -> tuple[int, float]:
    """Tokens and seconds for `samples` separate `generate` calls, one sequence each."""
    import torch

    ids = torch.tensor([sampler.encode(prompt)])
    tokens, started = 0, time.perf_counter()
    for index in range(samples):
        torch.manual_seed(index)
        with torch.inference_mode():
            output = sampler.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=max_tokens,
            )
        tokens += count_new_tokens(output[0, ids.shape[1]:].tolist(), sampler.eos_ids)[0]
    return tokens, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--baseline-samples", type=int, default=8)
    args = parser.parse_args()

    started = time.perf_counter()
    sampler = open_sampler("hf", resolve_model("smollm2-135m"), max_batch=args.max_batch,
                           on_status=print)
    print(f"model ready in {time.perf_counter() - started:.1f} s")
    prompts = chain_sum_questions(args.prompts)
    settings = SamplingSettings(temperature=1.0, top_p=1.0, max_tokens=args.max_tokens)

    sampler.sample(prompts[:1], 2, SamplingSettings(max_tokens=4), seed=0)  # warm-up
    mta_tokens, mta_seconds = time_mta(sampler, prompts, args.n, settings)
    base_tokens, base_seconds = time_one_at_a_time(
        sampler, prompts[0], args.baseline_samples, args.max_tokens
    )
    mta_rate, base_rate = mta_tokens / mta_seconds, base_tokens / base_seconds
    print(f"prompts={len(prompts)} n={args.n} max_tokens={args.max_tokens} "
          f"max_batch={args.max_batch}")
    print(f"mta hf (n copies per batch): {mta_tokens} tokens in {mta_seconds:.1f} s = "
          f"{mta_rate:.1f} tokens/s")
    print(f"one sample per generate    : {base_tokens} tokens in {base_seconds:.1f} s = "
          f"{base_rate:.1f} tokens/s")
    print(f"ratio: {mta_rate / base_rate:.2f}x")


if __name__ == "__main__":
    main()
