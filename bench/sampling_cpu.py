"""CPU sampling throughput: the hf backend's decode engine against its `generate` path (today's).

Both run side by side in this process on the embedded SmolLM2-135M, over the prompts of
`mta probe passk`'s default task (arith-quick: reasoning-gym chain_sum questions with the
answer-format instruction, through the chat template), with the probe's default settings:
n = 16, temperature 1.0, top-p 1.0, max_tokens 128. Each round times every engine once, in
turn, on the same prompts and seeds, so the load of the machine (shared with other jobs) falls
on all of them alike; the ratio is taken per round and over all rounds. Tokens/s counts new
tokens up to and including EOS. Each line also gives the CPU seconds the process used
(`time.process_time`, all threads): on cores shared with other jobs, wall time measures the
share this process got as much as the engine, and tokens per CPU second less so.

Engines (`--engines`, comma-separated):
  generate      today's hf path: transformers `generate` on the n copies of one prompt at a
                time (16 rows), float32, torch threads = cores (`engine="generate"`)
  decode        the default CPU path now: `mta_probe.sampling.decode`, one decoding thread per
                core, float32
  decode-bf16   the decode engine with bfloat16 projections and KV cache
  decode-1      the decode engine with a single decoding thread
  generate-bf16 transformers `generate`, bfloat16 weights, all prompts x n rows in one call
                with left padding (the issue's 166 tokens/s measurement; not seeded per prompt)

`--end-to-end` then runs the default command, `python -m mta_cli.main probe passk`, in a fresh
MTA_HOME (so it converts the GGUF first) and reports its wall time, the conversion time it
prints, and the sampling time its progress line ends with.

Run: python bench/sampling_cpu.py [--prompts 10] [--n 16] [--max-tokens 128] [--rounds 2]
       [--engines generate,decode] [--end-to-end]
"""

from __future__ import annotations

import argparse
import os
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

ENGINES = {
    "generate": {"engine": "generate"},
    "decode": {},
    "decode-bf16": {"dtype": "bfloat16"},
    "decode-1": {"threads": 1},
    "generate-bf16": {"engine": "generate"},
}


def task_prompts(count: int) -> list[str]:
    """The first `count` prompts of arith-quick, the default task of `mta probe passk`."""
    from mta_probe.tasks import load_task

    return [p.prompt for p in load_task("arith-quick").problems[:count]]


def time_sampler(sampler, prompts: list[str], n: int, settings: SamplingSettings,
                 seeds: list[int]) -> tuple[int, float]:
    """Tokens generated and seconds taken by one `sample` call."""
    import torch

    torch.set_num_threads(sampler.threads)  # another sampler of this process may have set it
    started = time.perf_counter()
    out = sampler.sample(prompts, n, settings, seeds)
    return sum(c.tokens for cs in out for c in cs), time.perf_counter() - started


def with_cpu(run):
    """`run()`'s (tokens, seconds) and the CPU seconds this process spent in it."""
    cpu = time.process_time()
    tokens, seconds = run()
    return tokens, seconds, time.process_time() - cpu


def time_generate_bf16(sampler, prompts: list[str], n: int, settings: SamplingSettings,
                       seed: int) -> tuple[int, float]:
    """All prompts x n rows in one left-padded bfloat16 `generate` call (no per-prompt seeds)."""
    import torch

    encoded = [sampler.encode(p) for p in prompts for _ in range(n)]
    width = max(len(ids) for ids in encoded)
    ids = torch.tensor([[sampler.pad_id] * (width - len(e)) + e for e in encoded])
    mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
    torch.set_num_threads(sampler.threads)
    started = time.perf_counter()
    torch.manual_seed(seed)
    with torch.inference_mode():
        output = sampler.model.generate(input_ids=ids, attention_mask=mask, do_sample=True,
                                        temperature=settings.temperature, top_p=settings.top_p,
                                        top_k=0, max_new_tokens=settings.max_tokens)
    seconds = time.perf_counter() - started
    tokens = sum(count_new_tokens(row, sampler.eos_ids)[0] for row in output[:, width:].tolist())
    return tokens, seconds


def end_to_end() -> None:
    """Time `python -m mta_cli.main probe passk` in a fresh MTA_HOME, as a new user runs it."""
    import re
    import subprocess
    import tempfile

    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MTA_HOME": home, "COLUMNS": "200"}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mta_cli.main", "probe", "passk"], cwd=repo,
                              env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    text = done.stdout + done.stderr
    converted = re.search(r"converted \S+ in (\d+) s", text)
    progress = re.findall(r"(\d+)/(\d+) .*?(\d+):(\d\d):(\d\d)", text)
    print(f"end to end: `python -m mta_cli.main probe passk` in a fresh MTA_HOME took {wall:.1f} s "
          f"(load {os.getloadavg()[0]:.1f})")
    print(f"  conversion: {converted.group(1) + ' s' if converted else 'not reported'}")
    if progress:
        done_count, total, h, m, sec = progress[-1]
        print(f"  sampling (the progress line's elapsed time, {done_count}/{total} samples): "
              f"{int(h) * 3600 + int(m) * 60 + int(sec)} s")
    else:
        print("  sampling: the progress line was not found in the output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--engines", default="generate,decode")
    parser.add_argument("--end-to-end", action="store_true")
    args = parser.parse_args()
    names = args.engines.split(",")
    unknown = sorted(set(names) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engines {unknown}; choose from {', '.join(ENGINES)}")

    ref = resolve_model("smollm2-135m")
    samplers = {}
    for name in names:
        started = time.perf_counter()
        sampler = open_sampler("hf", ref, on_status=print, **ENGINES[name])
        if name == "generate-bf16":
            import torch

            sampler.model.to(torch.bfloat16)
        sampler.sample(["Hi"], 2, SamplingSettings(max_tokens=4), seed=0)  # builds, warms up
        engine = sampler.engine
        detail = (f"decode engine, {sampler.dtype}, {sampler.threads} thread(s), rows checked "
                  f"independent: {engine.shared}" if engine else "transformers generate")
        print(f"{name}: ready in {time.perf_counter() - started:.1f} s ({detail})")
        samplers[name] = sampler
    prompts = task_prompts(args.prompts)
    settings = SamplingSettings(temperature=1.0, top_p=1.0, max_tokens=args.max_tokens)
    seeds = list(range(len(prompts)))
    print(f"prompts={len(prompts)} n={args.n} max_tokens={args.max_tokens} temperature=1.0 "
          f"top_p=1.0 rounds={args.rounds}; load average before: {os.getloadavg()[0]:.1f}")

    totals = {name: [0, 0.0, 0.0] for name in names}
    for round_index in range(args.rounds):
        rates = {}
        for name in names:
            if name == "generate-bf16":
                tokens, seconds, cpu = with_cpu(lambda s=samplers[name], r=round_index:
                                                time_generate_bf16(s, prompts, args.n, settings, r))
            else:
                tokens, seconds, cpu = with_cpu(lambda s=samplers[name]:
                                                time_sampler(s, prompts, args.n, settings, seeds))
            totals[name][0] += tokens
            totals[name][1] += seconds
            totals[name][2] += cpu
            rates[name] = tokens / seconds
            print(f"round {round_index + 1} {name:13s}: {tokens} tokens in {seconds:6.1f} s = "
                  f"{rates[name]:6.1f} tokens/s; {cpu:6.1f} CPU s = {tokens / cpu:6.1f} tokens "
                  f"per CPU s (load {os.getloadavg()[0]:.1f})", flush=True)
        if "generate" in rates:
            print(f"round {round_index + 1} ratios to generate: " + ", ".join(
                f"{name} {rate / rates['generate']:.2f}x" for name, rate in rates.items()
                if name != "generate"))
    print("all rounds:" if args.rounds else "no rounds run")
    for name, (tokens, seconds, cpu) in totals.items() if args.rounds else ():
        line = (f"  {name:13s}: {tokens} tokens in {seconds:6.1f} s = {tokens / seconds:6.1f} "
                f"tokens/s, {tokens / cpu:6.1f} per CPU s")
        if "generate" in totals and name != "generate":
            base = totals["generate"][0] / totals["generate"][1]
            line += f", {tokens / seconds / base:.2f}x generate"
        print(line)
    if args.end_to_end:
        for sampler in samplers.values():
            sampler.close()
        end_to_end()


if __name__ == "__main__":
    main()
