"""The pass@k probe end to end: records, passk.json, resuming, refusing, and a killed process."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from zygote import killed_when

from mta_probe import PassKSettings, SamplingSettings, TaskOptions, probe_passk
from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.estimators import FitSettings, estimate
from mta_probe.runs import read_records
from mta_probe.sampling import Completion, Sampler

REPO = Path(__file__).resolve().parent.parent


class SeededFakeSampler(Sampler):
    """A stand-in engine: right with a per-prompt probability, a pure function of its arguments."""

    name = "fake"
    chat = False
    calls = 0
    prompts_per_call = 5  # groups that straddle a resume point must still regenerate identically

    def sample(self, prompts: list[str], n: int, settings: SamplingSettings, seed: list[int]) -> list[list[Completion]]:
        SeededFakeSampler.calls += 1
        out = []
        for prompt, own_seed in zip(prompts, seed):
            rng = random.Random(f"{own_seed}:{prompt}")
            p_right = (sum(map(ord, prompt)) % 5) / 4  # 0, 0.25, ..., 1 by problem
            out.append([Completion(f"<answer>{'yes' if rng.random() < p_right else 'no'}</answer> {rng.random()}",
                                   tokens=7, finish_reason="stop") for _ in range(n)])
        return out

    def close(self) -> None:
        pass


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch, tiny_llama_dir: Path) -> Path:
    """Route the probe to SeededFakeSampler; the model is the tiny checkpoint (never loaded)."""
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: SeededFakeSampler())
    SeededFakeSampler.calls = 0
    return tiny_llama_dir


@pytest.fixture
def yes_task(tmp_path: Path) -> Path:
    path = tmp_path / "yes.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": f"Question number {i}?", "answer": "yes"}) + "\n"
                            for i in range(12)))
    return path


def settings_for(model: Path, task: Path, out: Path, **changes) -> PassKSettings:
    base = dict(model=str(model), task=str(task), n=8, out=out, verify_workers=0, backend="hf",
                task_options=TaskOptions(verifier="normalized"), sampling=SamplingSettings(max_tokens=8),
                fit=None)  # the fit has its own test below; 0.3 CPU s a run adds up over this file
    base.update(changes)
    return PassKSettings(**base)


def test_probe_writes_every_sample_and_the_curve_they_imply(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    result = probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run"))
    records = list(read_records(tmp_path / "run" / "samples.jsonl"))
    assert len(records) == 12 * 8
    assert {"problem_id", "sample_index", "completion", "answer", "correct", "tokens", "finish_reason"} <= set(records[0])
    assert all(r["correct"] == (r["answer"] == "yes") for r in records)
    c = [sum(r["correct"] for r in records if r["problem_id"] == f"q{i}") for i in range(12)]
    want = estimate([8] * 12, c, [1, 2, 4, 8])
    payload = json.loads((tmp_path / "run" / "passk.json").read_text())
    assert payload["pass_at_k"] == {str(k): pytest.approx(v) for k, v in zip(want.ks, want.values)}
    assert set(payload["interval"]) == {"1", "2", "4", "8"}
    assert payload["n"] == 8 and payload["task"] == "yes" and str(yes_task) in payload["task_source"] and payload["seed"] == 0
    assert {"temperature", "top_p", "max_tokens"} <= set(payload["sampling"])
    assert "numpy" in payload["versions"]
    assert payload["code_usage"] == 0.0
    assert (tmp_path / "run" / "passk.png").read_bytes()[:4] == b"\x89PNG"
    assert result.curve.values == pytest.approx(want.values)


def test_the_fit_beyond_n_sits_beside_the_unbiased_curve(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    from mta_probe import FitSettings
    from mta_probe.estimators import fit_pass_at_k

    result = probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run", fit=FitSettings(fit_to=128)))
    records = list(read_records(tmp_path / "run" / "samples.jsonl"))
    c = [sum(r["correct"] for r in records if r["problem_id"] == f"q{i}") for i in range(12)]
    want = fit_pass_at_k([8] * 12, c, [1, 2, 4, 8, 16, 32, 64, 128], FitSettings(fit_to=128))
    payload = json.loads((tmp_path / "run" / "passk.json").read_text())
    assert payload["fit"]["pass_at_k"] == {str(k): pytest.approx(v) for k, v in zip(want.ks, want.values)}
    assert payload["fit"]["warnings"] == want.warnings and payload["fit"]["method"] == want.method
    assert list(payload["pass_at_k"]) == ["1", "2", "4", "8"]  # the unbiased curve still stops at n
    assert payload["answer_choices"] == {"open": 12} and result.payload["fit"] == payload["fit"]
    # the fit is a result, not part of what the run is: another horizon reuses the samples
    again = probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run", fit=FitSettings(fit_to=16)))
    assert list(again.payload["fit"]["pass_at_k"]) == ["1", "2", "4", "8", "16"]


def test_a_rerun_with_the_same_arguments_samples_nothing(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    s = settings_for(fake_engine, yes_task, tmp_path / "run")
    first = probe_passk(s)
    SeededFakeSampler.calls = 0
    second = probe_passk(s)
    assert SeededFakeSampler.calls == 0
    assert second.payload["pass_at_k"] == first.payload["pass_at_k"]
    assert len(list(read_records(tmp_path / "run" / "samples.jsonl"))) == 12 * 8


def test_lost_samples_are_regenerated_identically_and_never_twice(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    s = settings_for(fake_engine, yes_task, tmp_path / "run")
    probe_passk(s)
    path = tmp_path / "run" / "samples.jsonl"
    whole = path.read_bytes()
    lines = whole.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:37]) + lines[37][:20])  # a kill in the middle of problem 5
    probe_passk(s)
    assert sorted(path.read_bytes().splitlines()) == sorted(whole.splitlines())


def test_a_different_run_in_the_same_directory_is_refused(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run"))
    before = (tmp_path / "run" / "samples.jsonl").read_bytes()
    with pytest.raises(RunMismatchError, match="n=8"):
        probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run", n=4))
    assert (tmp_path / "run" / "samples.jsonl").read_bytes() == before


def test_two_checkpoints_with_the_same_folder_name_never_share_a_run(fake_engine: Path, yes_task: Path,
                                                                      tmp_path: Path) -> None:
    import shutil

    twin = tmp_path / "other" / fake_engine.name
    shutil.copytree(fake_engine, twin)
    first = probe_passk(settings_for(fake_engine, yes_task, None))
    second = probe_passk(settings_for(twin, yes_task, None))
    assert first.run_dir != second.run_dir
    with pytest.raises(RunMismatchError, match="model_path"):
        probe_passk(settings_for(twin, yes_task, first.run_dir))


def test_k_above_n_is_refused_before_anything_is_written(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="larger than n=8"):
        probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run", ks=(1, 16)))
    assert not (tmp_path / "run").exists()


def test_an_unknown_backend_is_refused_before_anything_is_written(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="unknown backend"):
        probe_passk(settings_for(fake_engine, yes_task, tmp_path / "run", backend="tpu"))
    assert not (tmp_path / "run").exists()


def test_the_chance_level_is_reported_for_a_finite_answer_set(fake_engine: Path, tmp_path: Path) -> None:
    task = tmp_path / "binary.jsonl"
    task.write_text("".join(json.dumps({"question": f"Is {i} even?", "answer": "yes", "num_choices": 2}) + "\n"
                            for i in range(4)))
    payload = probe_passk(settings_for(fake_engine, task, tmp_path / "run", n=4)).payload
    assert payload["chance_pass_at_k"] == pytest.approx({"1": 0.5, "2": 0.75, "4": 0.9375})


class FlakyEngine(SeededFakeSampler):
    """SeededFakeSampler whose sample 2 of every problem fails (abort, then error) in the first run."""

    failing = True

    def sample(self, prompts, n, settings, seed):
        out = super().sample(prompts, n, settings, seed)
        if FlakyEngine.failing:
            for completions in out:
                completions[2] = Completion("<answer>no</answer> cut", 3, "abort")
                completions[5] = Completion("<answer>no</answer> cut", 3, "error")
        return out


def test_failed_generations_are_never_scored_and_the_next_run_draws_them(monkeypatch: pytest.MonkeyPatch,
                                                                        tiny_llama_dir: Path, yes_task: Path,
                                                                        tmp_path: Path) -> None:
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: FlakyEngine())
    FlakyEngine.failing = True
    s = settings_for(tiny_llama_dir, yes_task, tmp_path / "run")
    with pytest.raises(BadInputError, match=r"24 generations failed \(abort: 12, error: 12, see failures.jsonl\)"):
        probe_passk(s)  # 6 of 8 samples per problem: k = 8 cannot be estimated
    records = list(read_records(tmp_path / "run" / "samples.jsonl"))
    assert len(records) == 12 * 6 and {r["sample_index"] for r in records} == {0, 1, 3, 4, 6, 7}
    failures = list(read_records(tmp_path / "run" / "failures.jsonl"))
    assert sorted({(f["sample_index"], f["finish_reason"]) for f in failures}) == [(2, "abort"), (5, "error")]

    # with k <= 6 the same samples give a curve, and the failures are reported
    partial = probe_passk(settings_for(tiny_llama_dir, yes_task, tmp_path / "run", ks=(1, 2, 4)))
    assert partial.payload["failed_generations"] == {"abort": 12, "error": 12}

    FlakyEngine.failing = False
    result = probe_passk(s)
    assert len(list(read_records(tmp_path / "run" / "samples.jsonl"))) == 12 * 8
    assert result.payload["failed_generations"] == {}
    whole = probe_passk(settings_for(tiny_llama_dir, yes_task, tmp_path / "clean"))
    assert result.payload["pass_at_k"] == whole.payload["pass_at_k"]


def test_greedy_decoding_forces_one_sample_and_says_so(fake_engine: Path, yes_task: Path, tmp_path: Path) -> None:
    said: list[str] = []
    s = settings_for(fake_engine, yes_task, tmp_path / "run", sampling=SamplingSettings(max_tokens=8, greedy=True),
                     fit=FitSettings(fit_to=64))
    result = probe_passk(s, on_status=said.append)
    assert said == ["greedy decoding gives one completion per problem: n forced from 8 to 1"]
    assert result.payload["n"] == 1 and list(result.payload["pass_at_k"]) == ["1"]
    # greedy pass@k is pass@1 at every k: no curve climbs beyond it, and the block says why
    assert list(result.payload["fit"]) == ["skipped"] and "pass@1 at every k" in result.payload["fit"]["skipped"]
    assert len(list(read_records(tmp_path / "run" / "samples.jsonl"))) == 12
    assert json.loads((tmp_path / "run" / "run.json").read_text())["n"] == 1


def test_a_run_may_resume_on_another_number_of_replicas() -> None:
    from mta_probe.passk import _identity
    from mta_probe.tasks import load_task

    task = load_task("arith-quick", limit=2)
    wide = PassKSettings(backend="vllm", engine_options={"data_parallel_size": 8, "tensor_parallel_size": 2,
                                                         "ray_address": "auto"})
    narrow = PassKSettings(backend="vllm", engine_options={"data_parallel_size": 4, "tensor_parallel_size": 2})
    assert _identity(wide, task, "m", "m", "vllm") == _identity(narrow, task, "m", "m", "vllm")
    other_tp = PassKSettings(backend="vllm", engine_options={"data_parallel_size": 4, "tensor_parallel_size": 1})
    assert _identity(other_tp, task, "m", "m", "vllm") != _identity(narrow, task, "m", "m", "vllm")


# A real probe process on the tiny random Llama, killed with SIGKILL mid-run and started again.

def _probe_command(model: Path, task: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "mta_cli.main", "probe", "passk", "--model", str(model), "--task", str(task),
            "--verifier", "normalized", "-n", "4", "--max-tokens", "12", "--backend", "hf", "--out", str(out),
            "--verify-workers", "1"]


@pytest.mark.slow
def test_a_probe_killed_twice_ends_like_an_uninterrupted_one(tiny_llama_dir: Path, tmp_path: Path) -> None:
    task = tmp_path / "words.jsonl"
    task.write_text("".join(json.dumps({"question": f"what is the sum of {w} and {w}", "answer": "two"}) + "\n"
                            for w in ("one two three four five six seven eight nine zero " * 6).split()))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    whole = tmp_path / "whole"
    subprocess.run(_probe_command(tiny_llama_dir, task, whole), cwd=REPO, env=env, check=True, capture_output=True)

    killed = tmp_path / "killed"
    samples = killed / "samples.jsonl"
    for lines in (40, 120):
        killed_when(_probe_command(tiny_llama_dir, task, killed),
                    lambda: samples.exists() and samples.read_bytes().count(b"\n") >= lines, env, timeout=120)
    subprocess.run(_probe_command(tiny_llama_dir, task, killed), cwd=REPO, env=env, check=True, capture_output=True)

    def keyed(run: Path) -> list[tuple]:
        records = list(read_records(run / "samples.jsonl"))
        return sorted((r["problem_id"], r["sample_index"], r["completion"], r["correct"]) for r in records)

    assert len(keyed(killed)) == 60 * 4 == len({k[:2] for k in keyed(killed)})
    assert keyed(killed) == keyed(whole)
    a, b = (json.loads((run / "passk.json").read_text()) for run in (whole, killed))
    assert a["pass_at_k"] == b["pass_at_k"] and a["interval"] == b["interval"]


@pytest.mark.parametrize(("chat", "stop", "expected"), [
    (False, None, ["\nProblem:", "\nQuestion:", "\n### Question", "\nQ:"]),  # a base model's raw prompt
    (True, None, []),  # a chat template ends the turn itself
    (False, ("\n\n\n",), ["\n\n\n"]),  # the user's own
])
def test_stop_strings_follow_the_prompt_format_and_enter_the_identity(
        fake_engine: Path, yes_task: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        chat: bool, stop: tuple[str, ...] | None, expected: list[str]) -> None:
    seen: list[SamplingSettings] = []

    class Recording(SeededFakeSampler):
        def sample(self, prompts, n, settings, seed):
            seen.append(settings)
            return super().sample(prompts, n, settings, seed)

    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: Recording())
    out = tmp_path / "run"
    probe_passk(settings_for(fake_engine, yes_task, out, chat=chat,
                             sampling=SamplingSettings(max_tokens=8, stop=stop)))
    assert {tuple(s.stop) for s in seen} == {tuple(expected)}
    assert json.loads((out / "run.json").read_text())["sampling"]["stop"] == expected
    assert json.loads((out / "passk.json").read_text())["sampling"]["stop"] == expected
    with pytest.raises(RunMismatchError, match="stop"):  # another stop rule is another run
        probe_passk(settings_for(fake_engine, yes_task, out, chat=chat,
                                 sampling=SamplingSettings(max_tokens=8, stop=("\nEND",))))
