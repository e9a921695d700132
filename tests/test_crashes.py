"""Crashes: a pass@k run and a contamination run, each killed with SIGKILL at eleven points and
resumed, end exactly like an uninterrupted run (docs/reliability.md, "Crashes").

Each run is a real `mta probe ...` process on the tiny random Llama. To afford a dozen starts on
two cores, the processes are forked from a "zygote" (tests/zygote.py) that has imported torch,
transformers and the CLI once (before any torch operation, so forking is safe); everything a run
knows lives on disk.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from zygote import Zygote

from mta_probe.runs import prepare_run_dir

# (kind, value): "delay" kills that many seconds after the fork (argument parsing, model load,
# run directory set-up); "lines" kills once the records file holds that many lines (the last
# target equals the total: the kill lands while the result file and plot are being written).
PASSK_POINTS = [("delay", 0.02), ("delay", 0.3), ("lines", 1), ("lines", 3), ("lines", 8),
                ("lines", 15), ("lines", 22), ("lines", 29), ("lines", 35), ("delay", 0.4), ("lines", 40)]
CONTAM_POINTS = [("delay", 0.02), ("delay", 0.3), ("lines", 1), ("lines", 4), ("lines", 11),
                 ("lines", 20), ("lines", 31), ("lines", 42), ("lines", 53), ("delay", 0.4), ("lines", 60)]
PROBLEMS = 20
MISSED: list[tuple] = []  # (point, exit code, lines, end of stderr) of kills that found no live run


def run_to_end(zygote: Zygote, args: list[str], home: Path) -> None:
    zygote.start(args, {"MTA_HOME": str(home)})
    assert zygote.ended() == 0


def run_and_kill(zygote: Zygote, args: list[str], home: Path, records: Path,
                 point: tuple[str, float]) -> tuple[bool, int]:
    """Start a run, SIGKILL its process group at `point`; returns whether the kill landed and
    how many lines the records file then held. A kill that missed records why in MISSED."""
    stderr = home.parent / "killed.stderr"
    # Paced (0.05 s a sampling call): a test starved of CPU by parallel tests once polled a run
    # that had already finished, so its kill found nothing to kill.
    pid = zygote.start(args, {"MTA_HOME": str(home)}, stderr=stderr, fault="paced-engine")
    kind, value = point
    deadline = time.monotonic() + (value if kind == "delay" else 120.0)
    while time.monotonic() < deadline:
        if kind == "lines" and records.exists() and records.read_bytes().count(b"\n") >= value:
            break
        time.sleep(0.002)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    code = zygote.ended()
    lines = records.read_bytes().count(b"\n") if records.exists() else 0
    if code != -signal.SIGKILL:
        MISSED.append((point, code, lines, stderr.read_text(errors="replace")[-300:]))
    return code == -signal.SIGKILL, lines


def check_tail(records: Path) -> None:
    """After a kill: every whole line is a record; at most the last line is cut."""
    if records.exists():
        lines = records.read_bytes().split(b"\n")
        for line in lines[:-1]:
            json.loads(line)


def check_finished(run: Path, records_name: str, key: tuple[str, ...], expected: int) -> list[dict[str, Any]]:
    data = (run / records_name).read_bytes()
    assert data.endswith(b"\n")
    records = [json.loads(line) for line in data.splitlines()]
    keys = [tuple(r[k] for k in key) for r in records]
    assert len(keys) == len(set(keys)) == expected  # none missing, none twice
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    return sorted(records, key=lambda r: tuple(r[k] for k in key))


@pytest.fixture(scope="module")
def setup(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("crashes")
    task = root / "words.jsonl"
    digits = "one two three four five six seven eight nine zero".split()
    # Every statement ends differently: a remainder shared by several items is left out of the
    # contamination scores (docs/contamination.md), which would leave nothing to compare.
    words = [f"{a} {b}" for a in digits for b in digits][:PROBLEMS]
    task.write_text("".join(json.dumps({"question": f"what is the sum of {w} so what is the answer {w}",
                                        "answer": "two"}) + "\n" for w in words))
    return tiny_llama_dir, task, root


def crash_and_compare(zygote: Zygote, args_for, records_name: str, result_name: str, points: list,
                      root: Path, key: tuple[str, ...], expected: int, same_result) -> None:
    home = root / "home"
    whole, killed = root / f"whole-{records_name}", root / f"killed-{records_name}"
    run_to_end(zygote, args_for(whole), home)
    kills = []
    MISSED.clear()
    for point in points:
        landed, lines = run_and_kill(zygote, args_for(killed), home, killed / records_name, point)
        check_tail(killed / records_name)
        if landed:
            kills.append(lines)
    assert len(kills) >= 10, f"only {len(kills)} of {len(points)} kills hit a live run: {MISSED}"
    assert len(set(kills)) >= 7 and min(kills) == 0 and max(kills) == expected, kills  # spread over the run
    run_to_end(zygote, args_for(killed), home)
    a = check_finished(whole, records_name, key, expected)
    b = check_finished(killed, records_name, key, expected)
    assert a == b
    same_result(json.loads((whole / result_name).read_text()), json.loads((killed / result_name).read_text()))


@pytest.mark.slow
def test_a_passk_run_killed_eleven_times_ends_like_an_uninterrupted_one(zygote: Zygote, setup) -> None:
    model, task, root = setup

    def args_for(out: Path) -> list[str]:
        return ["probe", "passk", "--model", str(model), "--task", str(task), "--verifier", "normalized",
                "-n", "2", "--max-tokens", "6", "--backend", "hf", "--out", str(out), "--verify-workers", "0",
                # one problem per call, written as it is verified: kills land all over the file
                "--engine-option", "problems_per_call=1"]

    def same(a: dict, b: dict) -> None:
        assert a["pass_at_k"] == b["pass_at_k"] and a["interval"] == b["interval"]
        assert a["num_samples"] == b["num_samples"] == 2 * PROBLEMS and a["tokens"] == b["tokens"]

    crash_and_compare(zygote, args_for, "samples.jsonl", "passk.json", PASSK_POINTS, root,
                      ("problem_id", "sample_index"), 2 * PROBLEMS, same)


@pytest.mark.slow
def test_a_contamination_run_killed_eleven_times_ends_like_an_uninterrupted_one(zygote: Zygote, setup) -> None:
    model, task, root = setup

    def args_for(out: Path) -> list[str]:
        return ["probe", "contam", "--model", str(model), "--task", str(task), "--verifier", "normalized",
                "--max-tokens", "8", "--backend", "hf", "--out", str(out)]

    def same(a: dict, b: dict) -> None:
        assert a["portions"] == b["portions"] and len(a["portions"]) == 3

    crash_and_compare(zygote, args_for, "contam.jsonl", "contam.json", CONTAM_POINTS, root,
                      ("problem_id", "portion"), 3 * PROBLEMS, same)


def test_a_resumed_run_removes_the_temporary_file_of_a_killed_atomic_write(tmp_path: Path) -> None:
    identity = {"kind": "passk", "n": 2}
    prepare_run_dir(tmp_path / "run", identity)
    stale = tmp_path / "run" / ".passk.json.k2j3h4.tmp"
    stale.write_text('{"half": ')
    assert prepare_run_dir(tmp_path / "run", identity)
    assert not stale.exists()


@pytest.mark.slow
def test_a_train_run_killed_between_and_inside_steps_ends_like_an_uninterrupted_one(zygote: Zygote, setup) -> None:
    """metrics.jsonl and history.jsonl stay whole lines, are cut back to the last checkpoint on
    resume (never rewritten), and end holding each step once, with the uninterrupted run's values."""
    model, task, root = setup
    home = root / "train-home"

    def args_for(out: Path) -> list[str]:
        # 6 steps, a checkpoint every 3 (DapoSettings.small): kills after step 4 or 5 resume at 3.
        return ["train", "--technique", "random", "--model", str(model), "--task", str(task),
                "--verifier", "normalized", "--steps", "6", "--batch-size", "1", "--group-size", "2",
                "--max-response-length", "4", "--eval-k", "1", "--eval-limit", "2", "--out", str(out)]

    whole, killed = root / "train-whole", root / "train-killed"
    run_to_end(zygote, args_for(whole), home)
    landed = [run_and_kill(zygote, args_for(killed), home, killed / "metrics.jsonl", ("lines", lines))[0]
              for lines in (1, 4, 5)]
    assert sum(landed) >= 2, MISSED
    for name in ("metrics.jsonl", "history.jsonl"):
        check_tail(killed / name)
    run_to_end(zygote, args_for(killed), home)
    keys = ("step", "reward_mean", "accuracy", "loss", "response_length")
    read = lambda run: [{k: r[k] for k in keys} for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]
    assert [r["step"] for r in read(killed)] == [1, 2, 3, 4, 5, 6]
    assert read(killed) == read(whole)
    history = lambda run: [json.loads(line)["epoch"] for line in (run / "history.jsonl").read_text().splitlines()]
    assert history(killed) == history(whole)
