"""Adaptive sampling in a pass@k run (mta_probe/collect/rounds.py): rounds that spend the budget,
continue each problem's sample indices, resume after a kill to the same samples, and what the run
estimates from them."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from zygote import killed_when

from mta_probe import AdaptiveSettings, PassKSettings, SamplingSettings, TaskOptions, probe_passk
from mta_probe.collect import ROUNDS_FILE
from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.estimators import estimate, fit_pass_at_k
from mta_probe.runs import read_records
from mta_probe.sampling import Completion, Sampler
from mta_probe.tasks import load_task

REPO = Path(__file__).resolve().parent.parent
PROBLEMS = 24
# Success rates by problem: a few never solved, most rarely, some often (what adaptive rounds sort).
RATES = [0.0, 0.0, 0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 0.95, 0.03, 0.3] * 2


class ContinuingFake(Sampler):
    """A stand-in engine whose sample j of a prompt seeded s depends on (prompt, s, j) alone, like
    vLLM's child seeds and hf's decode streams: so it can start a prompt at any sample index."""

    name, chat, prompts_per_call, continues = "fake", False, 5, True
    calls: list[tuple[list[int], list[int] | None]] = []

    @staticmethod
    def one(prompt: str, seed: int, j: int) -> Completion:
        rng = random.Random(f"{seed}:{j}:{prompt}")
        right = rng.random() < RATES[int(re.search(r"number (\d+)", prompt).group(1))]
        return Completion(f"<answer>{'yes' if right else 'no'}</answer> {rng.random()}", tokens=5, finish_reason="stop")

    def sample(self, prompts: list[str], n, settings: SamplingSettings, seed: list[int], start=None):
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        starts = start or [0] * len(prompts)
        ContinuingFake.calls.append((counts, start))
        return [[self.one(p, s, first + i) for i in range(count)]
                for p, s, first, count in zip(prompts, seed, starts, counts)]

    def close(self) -> None:
        pass


class StartsAtZero(ContinuingFake):
    continues = False


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tiny_llama_dir: Path) -> Path:
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: ContinuingFake())
    ContinuingFake.calls = []
    return tiny_llama_dir


@pytest.fixture
def task(tmp_path: Path) -> Path:
    path = tmp_path / "yes.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i:02d}", "question": f"Question number {i}", "answer": "yes"})
                            + "\n" for i in range(PROBLEMS)))
    return path


def settings(model: Path, task: Path, out: Path, rule: str = "variance", **changes) -> PassKSettings:
    base = dict(model=str(model), task=str(task), n=8, out=out, verify_workers=0, backend="hf",
                task_options=TaskOptions(verifier="normalized"), sampling=SamplingSettings(max_tokens=8),
                adaptive=AdaptiveSettings(budget=PROBLEMS * 40, first=8, rounds=3, rule=rule, quantum=4, cap=64,
                                          target_k=256),
                fit=None)
    base.update(changes)
    return PassKSettings(**base)


def keyed(run: Path) -> list[tuple]:
    return sorted((r["problem_id"], r["sample_index"], r["completion"]) for r in read_records(run / "samples.jsonl"))


@pytest.mark.parametrize("rule", ["variance", "zeros"])
def test_rounds_spend_the_budget_and_continue_each_problems_own_samples(engine: Path, task: Path, tmp_path: Path,
                                                                         rule: str) -> None:
    result = probe_passk(settings(engine, task, tmp_path / "run", rule))
    records = list(read_records(tmp_path / "run" / "samples.jsonl"))
    assert len(records) == PROBLEMS * 40
    prompts = {p.id: p.prompt for p in load_task(str(task), options=TaskOptions(verifier="normalized")).problems}
    per: dict[str, list[int]] = {}
    for r in records:
        per.setdefault(r["problem_id"], []).append(r["sample_index"])
        # sample j is the fake's sample j, whatever round drew it
        assert r["completion"] == ContinuingFake.one(prompts[r["problem_id"]], r["seed"], r["sample_index"]).text
    assert all(sorted(v) == list(range(len(v))) for v in per.values())
    rounds = list(read_records(tmp_path / "run" / ROUNDS_FILE))
    assert [r["round"] for r in rounds] == [0, 1, 2, 3] and rounds[0]["size"] == PROBLEMS * 8
    assert sum(r["size"] for r in rounds) == PROBLEMS * 40
    assert any(first for _, starts in ContinuingFake.calls if starts for first in starts)  # later rounds start past 0
    # the never-solved and rarely solved problems got more than the always-solved ones
    n = {pid: len(v) for pid, v in per.items()}
    assert n["q00"] + n["q01"] + n["q02"] > n["q08"] + n["q09"] + n["q07"]
    identity = json.loads((tmp_path / "run" / "run.json").read_text())
    assert identity["adaptive"]["budget"] == PROBLEMS * 40 and identity["adaptive"]["rule"] == rule
    # the unbiased curve is the opening round's: samples 0..7 of every problem
    c8 = [sum(r["correct"] for r in records if r["problem_id"] == f"q{i:02d}" and r["sample_index"] < 8)
          for i in range(PROBLEMS)]
    want = estimate([8] * PROBLEMS, c8, [1, 2, 4, 8])
    payload = result.payload
    assert payload["pass_at_k"] == {str(k): pytest.approx(v) for k, v in zip(want.ks, want.values)}
    assert payload["n"] == 8 and "opening round" in payload["adaptive"]["unbiased_from"]
    assert payload["adaptive"]["samples_per_problem"]["max"] == max(n.values())
    assert [r["size"] for r in payload["adaptive"]["rounds"]] == [r["size"] for r in rounds]


def test_the_fit_of_an_adaptive_run_uses_every_sample(engine: Path, task: Path, tmp_path: Path) -> None:
    from mta_probe.estimators import FitSettings

    result = probe_passk(settings(engine, task, tmp_path / "run", fit=FitSettings(fit_to=256)))
    records = list(read_records(tmp_path / "run" / "samples.jsonl"))
    ids = [f"q{i:02d}" for i in range(PROBLEMS)]
    n = [sum(r["problem_id"] == pid for r in records) for pid in ids]
    c = [sum(r["correct"] for r in records if r["problem_id"] == pid) for pid in ids]
    want = fit_pass_at_k(n, c, [1, 2, 4, 8, 16, 32, 64, 128, 256], FitSettings(fit_to=256))
    block = result.payload["fit"]
    assert block["samples"] == PROBLEMS * 40 and block["n_range"] == [min(n), max(n)] and min(n) < max(n)
    assert block["pass_at_k"] == {str(k): pytest.approx(v) for k, v in zip(want.ks, want.values)}


def _killed_at(source: Path, target: Path, lines: int, *, round_logged: bool = True, cut: bool = False) -> None:
    """`target` as a run killed when `source`'s samples.jsonl had `lines` whole lines (a round
    is logged before its first sample; at a boundary, `round_logged` says whether the kill came
    after the log line), optionally with part of the next line written."""
    import shutil

    shutil.copytree(source, target)
    whole = (source / "samples.jsonl").read_bytes().splitlines(keepends=True)
    tail = whole[lines][:25] if cut else b""
    (target / "samples.jsonl").write_bytes(b"".join(whole[:lines]) + tail)
    logged, start = [], 0
    for line in (source / ROUNDS_FILE).read_bytes().splitlines(keepends=True):
        if start < lines or (start == lines and round_logged):
            logged.append(line)
        start += json.loads(line)["size"]
    (target / ROUNDS_FILE).write_bytes(b"".join(logged))
    for name in ("passk.json", "passk.png"):
        (target / name).unlink()


@pytest.mark.parametrize(("lines", "round_logged", "cut"), [
    (100, True, True),    # inside the opening round, a line half written
    (192, False, False),  # the opening round done, round 1 not planned yet
    (192, True, False),   # round 1 planned and logged, nothing of it drawn
    (230, True, True),    # inside round 1
    (600, True, False),   # inside round 2 of 3
])
def test_a_run_killed_anywhere_resumes_to_the_same_rounds_and_samples(engine: Path, task: Path, tmp_path: Path,
                                                                      lines: int, round_logged: bool, cut: bool) -> None:
    whole = tmp_path / "whole"
    probe_passk(settings(engine, task, whole))
    killed = tmp_path / "killed"
    _killed_at(whole, killed, lines, round_logged=round_logged, cut=cut)
    probe_passk(settings(engine, task, killed))
    assert keyed(killed) == keyed(whole)
    assert (killed / ROUNDS_FILE).read_text() == (whole / ROUNDS_FILE).read_text()
    a, b = (json.loads((run / "passk.json").read_text()) for run in (whole, killed))
    assert a["pass_at_k"] == b["pass_at_k"] and a["adaptive"] == b["adaptive"]


def test_an_engine_that_cannot_continue_a_problem_is_refused_before_sampling(monkeypatch: pytest.MonkeyPatch,
                                                                             tiny_llama_dir: Path, task: Path,
                                                                             tmp_path: Path) -> None:
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: StartsAtZero())
    with pytest.raises(BadInputError, match="cannot start there"):
        probe_passk(settings(tiny_llama_dir, task, tmp_path / "run"))
    assert not list(read_records(tmp_path / "run" / "samples.jsonl"))


def test_an_engine_refused_for_rounds_does_not_block_another_in_the_default_directory(
        monkeypatch: pytest.MonkeyPatch, tiny_llama_dir: Path, task: Path) -> None:
    import mta_probe.sampling as sampling

    ContinuingFake.calls = []
    monkeypatch.setattr(sampling, "open_sampler", lambda *a, engine="decode", **k:
                        StartsAtZero() if engine == "generate" else ContinuingFake())
    with pytest.raises(BadInputError, match="cannot start there"):
        probe_passk(settings(tiny_llama_dir, task, None, engine_options={"engine": "generate"}))
    result = probe_passk(settings(tiny_llama_dir, task, None))  # the same command on the decode engine
    assert len(keyed(result.run_dir)) == PROBLEMS * 40


@pytest.mark.parametrize(("changes", "message"), [
    ({"sampling": SamplingSettings(max_tokens=8, greedy=True)}, "greedy decoding"),
    ({"n": 4}, "first=8 must equal n=4"),
    ({"adaptive": AdaptiveSettings(budget=100, first=8)}, "cannot give 24 problems 8 samples each"),
])
def test_settings_the_rounds_cannot_follow_are_refused_before_a_run_directory_exists(
        engine: Path, task: Path, tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        probe_passk(settings(engine, task, tmp_path / "run", **changes))
    assert not (tmp_path / "run").exists()


def test_an_adaptive_run_is_never_resumed_as_a_uniform_one(engine: Path, task: Path, tmp_path: Path) -> None:
    probe_passk(settings(engine, task, tmp_path / "run"))
    with pytest.raises(RunMismatchError, match="adaptive"):
        probe_passk(settings(engine, task, tmp_path / "run", adaptive=None))
    with pytest.raises(RunMismatchError, match="adaptive"):
        probe_passk(settings(engine, task, tmp_path / "run",
                             adaptive=AdaptiveSettings(budget=PROBLEMS * 41, first=8, rounds=3)))


def test_the_default_directory_of_an_adaptive_run_names_its_budget(engine: Path, task: Path) -> None:
    result = probe_passk(settings(engine, task, None))
    assert f"__n8__b{PROBLEMS * 40}__s0__" in result.run_dir.name


# A real probe process on the tiny random Llama (its decode engine continues a problem's
# samples), killed with SIGKILL inside two different rounds and started again.

def _command(model: Path, task: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "mta_cli.main", "probe", "passk", "--model", str(model), "--task", str(task),
            "--verifier", "choice", "-n", "4", "--max-tokens", "1", "--temperature", "4", "--backend", "hf",
            "--out", str(out), "--verify-workers", "1", "--budget", "1200", "--rounds", "3", "--quantum", "2",
            "--cap", "16", "--fit-to", "64"]


@pytest.mark.slow
def test_a_real_adaptive_probe_killed_twice_ends_like_an_uninterrupted_one(tiny_llama_dir: Path,
                                                                          tmp_path: Path) -> None:
    task = tmp_path / "a.jsonl"  # one token each: "a" is choice A, right a few times in a hundred
    words = ("one two three four five six seven eight nine zero plus minus " * 10).split()
    task.write_text("".join(json.dumps({"question": f"what is {w} plus {v} so the answer is", "answer": "A"}) + "\n"
                            for w, v in zip(words, words[5:] + words[:5])))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    whole = tmp_path / "whole"
    subprocess.run(_command(tiny_llama_dir, task, whole), cwd=REPO, env=env, check=True, capture_output=True)
    killed = tmp_path / "killed"
    samples = killed / "samples.jsonl"
    for lines in (150, 900):  # in the opening round, then in a later one
        killed_when(_command(tiny_llama_dir, task, killed),
                    lambda: samples.exists() and samples.read_bytes().count(b"\n") >= lines, env, timeout=180)
    subprocess.run(_command(tiny_llama_dir, task, killed), cwd=REPO, env=env, check=True, capture_output=True)
    assert len(keyed(whole)) == 1200 and keyed(killed) == keyed(whole)
    assert (killed / ROUNDS_FILE).read_text() == (whole / ROUNDS_FILE).read_text()
    a, b = (json.loads((run / "passk.json").read_text()) for run in (whole, killed))
    assert a["pass_at_k"] == b["pass_at_k"] and a["fit"]["pass_at_k"] == b["fit"]["pass_at_k"]
    spread = a["adaptive"]["samples_per_problem"]
    assert spread["min"] < spread["max"]  # the rounds went to some problems more than others
