"""Peak memory of `mta probe passk` as n grows, and of reading a run's samples back.

    python bench/probe_memory.py --ns 16 256 --problems 4 --max-tokens 16

1. Sampling: a randomly initialised 2-layer Llama (hidden size 32, a word-level tokenizer, as
   `tests/tinymodel.py`) is saved to a temporary folder with a small JSONL math task; then
   `mta probe passk --backend hf --verify-workers 1` runs once per n, each in its own wrapper
   process, which reports the peak RSS of its largest descendant (the probe itself) from
   `getrusage(RUSAGE_CHILDREN).ru_maxrss`. The hf backend samples a prompt's n copies in
   chunks of 16 rows and appends each problem's records to `samples.jsonl` as it goes, so the
   file should grow with n and the peak RSS should not.
2. Reading back: a finished or resumed probe streams `samples.jsonl` once
   (`mta_probe.runs.summary.summarize_samples`) to count (n, c) and write `passk.json`. Synthetic
   files of --records and 4 x --records records with completions of --completion-chars
   characters are read the same way in a fresh process each: the peak should not grow.

Ratios are between runs of this script on the same machine, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# The tiny test model lives with the tests; the project root makes mta importable when run from anywhere.
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests"), str(Path(__file__).resolve().parents[1])]
from tinymodel import TINY_WORDS, save_tiny_llama  # noqa: E402

# Runs a command and prints the peak RSS (KiB on Linux) of its largest waited-for descendant.
PEAK_WRAPPER = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")
# What a finishing or resuming probe does with samples.jsonl: one streaming pass.
READ_BACK = ("import sys; from pathlib import Path; from mta_probe.runs.store import read_records; "
             "from mta_probe.runs.summary import summarize_samples; "
             "ids = {f'p{i}' for i in range(int(sys.argv[2]))}; "
             "print(summarize_samples(read_records(Path(sys.argv[1])), ids).samples)")


def write_task(path: Path, problems: int) -> None:
    """A JSONL math task in the tiny vocabulary: 'what is the sum of A and B ?'."""
    words = TINY_WORDS[2:11]  # one .. nine
    with path.open("w") as handle:
        for index in range(problems):
            a, b = index % 9, (index * 5 + 3) % 9
            row = {"id": f"q{index}", "question": f"what is the sum of {words[a]} and {words[b]} ?",
                   "answer": str(a + b + 2)}
            handle.write(json.dumps(row) + "\n")


def peak_kib(command: list[str], env: dict[str, str]) -> int:
    """Peak RSS in KiB of the largest process `command` started, measured in a fresh wrapper."""
    result = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *command], env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return int(result.stdout.strip().splitlines()[-1])


def write_synthetic_samples(path: Path, records: int, chars: int) -> None:
    """`records` samples.jsonl lines with completions of `chars` characters."""
    text = ("Let us think step by step. " * (chars // 27 + 1))[:chars]
    with path.open("w") as handle:
        for index in range(records):
            handle.write(json.dumps({"problem_id": f"p{index // 64}", "sample_index": index % 64,
                                     "completion": text, "answer": "4", "correct": True,
                                     "tokens": chars // 4, "finish_reason": "stop", "reason": None,
                                     "seed": 0}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--completion-chars", type=int, default=2_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mta-memory-") as scratch:
        root = Path(scratch)
        env = {**os.environ, "MTA_HOME": str(root / "home")}
        measure_sampling(root, env, args.ns, args.problems, args.max_tokens)
        measure_read_back(root, env, args.records, args.completion_chars)


def measure_sampling(root: Path, env: dict[str, str], ns: list[int], problems: int,
                     max_tokens: int) -> None:
    """Part 1: one `mta probe passk` per n on the tiny model; print peak RSS and file sizes."""
    save_tiny_llama(root / "tiny")
    write_task(root / "sums.jsonl", problems)
    peaks: dict[int, tuple[int, int]] = {}
    for n in ns:
        out = root / f"run_n{n}"
        command = ["mta", "probe", "passk", "--model", str(root / "tiny"), "--task",
                   str(root / "sums.jsonl"), "--verifier", "math", "-n", str(n),
                   "--max-tokens", str(max_tokens), "--backend", "hf",
                   "--verify-workers", "1", "--out", str(out)]
        peak = peak_kib(command, env)
        lines = sum(1 for _ in (out / "samples.jsonl").open())
        size = (out / "samples.jsonl").stat().st_size
        peaks[n] = (peak, size)
        print(f"n={n:4d}: peak RSS {peak / 1024:7.1f} MiB; samples.jsonl {lines} lines, "
              f"{size / 1024:8.1f} KiB")
    low, high = min(ns), max(ns)
    print(f"n={high} / n={low}: peak RSS x{peaks[high][0] / peaks[low][0]:.3f}, "
          f"samples.jsonl x{peaks[high][1] / peaks[low][1]:.1f}")


def measure_read_back(root: Path, env: dict[str, str], records: int, chars: int) -> None:
    """Part 2: peak RSS of the probe's read-back on synthetic files of `records` and 4x `records`."""
    reads: dict[int, tuple[int, int]] = {}
    for count in (records, 4 * records):
        path = root / f"synthetic_{count}.jsonl"
        write_synthetic_samples(path, count, chars)
        problems = str(count // 64 + 1)
        reads[count] = (peak_kib([sys.executable, "-c", READ_BACK, str(path), problems], env),
                        path.stat().st_size)
        path.unlink()
        print(f"summarize_samples on {count} records ({reads[count][1] / 2**20:6.1f} MiB file): "
              f"peak RSS {reads[count][0] / 1024:7.1f} MiB")
    small, big = reads[records], reads[4 * records]
    print(f"read-back, 4x the records: peak RSS x{big[0] / small[0]:.2f} "
          f"(+{(big[0] - small[0]) / 1024:.0f} MiB for +{(big[1] - small[1]) / 2**20:.0f} MiB of file)")


if __name__ == "__main__":
    main()
