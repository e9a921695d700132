"""What the probes send to experiment trackers (`--logger`): the pass@k curve with its interval,
a summary, a table of samples, and align's verdict, read back from the real TensorBoard and wandb
(offline) files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import one_error_line, runner
from trackerfiles import offline_wandb  # noqa: F401  (a pytest fixture: used by name)
from trackerfiles import tensorboard_scalars, tensorboard_texts, wandb_run, wandb_run_file

from mta_cli.main import app
from mta_probe.runs import TENSORBOARD_DIR

# Four problems, four completions each, c = 0, 1, 2, 4 correct: pass@k = mean of 1 - C(n-c, k)/C(n, k).
CORRECT = {"q0": 0, "q1": 1, "q2": 2, "q3": 4}
TRUE_PASS = {1: (0 + 1 / 4 + 2 / 4 + 1) / 4, 2: (0 + (1 - 3 / 6) + (1 - 1 / 6) + 1) / 4, 4: 3 / 4}




@pytest.fixture
def scored_run(tmp_path: Path, offline_wandb: None) -> Path:
    """`mta probe passk --from-samples` on completions with known outcomes, logged to TensorBoard
    and wandb."""
    task = tmp_path / "yes.jsonl"
    task.write_text("".join(json.dumps({"id": pid, "question": f"Is {pid} a question?", "answer": "yes"}) + "\n"
                            for pid in CORRECT))
    completions = tmp_path / "completions.jsonl"
    completions.write_text("".join(json.dumps({"problem_id": pid, "completion": f"<answer>{'yes' if i < c else 'no'}</answer>"}) + "\n"
                                   for pid, c in CORRECT.items() for i in range(4)))
    out = tmp_path / "passk__scored__yes__n4__s0"
    result = runner.invoke(app, ["probe", "passk", "--model", "scored", "--task", str(task), "--verifier",
                                 "normalized", "--from-samples", str(completions), "--verify-workers", "0",
                                 "--no-fit", "--out", str(out), "--logger", "tensorboard", "--logger", "wandb"])
    assert result.exit_code == 0, result.output
    return out


def test_the_curve_and_its_interval_go_to_tensorboard_by_k(scored_run: Path) -> None:
    payload = json.loads((scored_run / "passk.json").read_text())
    assert payload["pass_at_k"] == pytest.approx({str(k): v for k, v in TRUE_PASS.items()}, rel=1e-12)
    scalars = tensorboard_scalars(scored_run / TENSORBOARD_DIR)
    assert [k for k, _ in scalars["passk/pass@k"]] == [1, 2, 4]
    # TensorBoard stores float32: relative tolerance
    assert [v for _, v in scalars["passk/pass@k"]] == pytest.approx(list(TRUE_PASS.values()), rel=1e-6)
    assert [v for _, v in scalars["passk/ci_low"]] == pytest.approx([payload["interval"][k][0] for k in ("1", "2", "4")], rel=1e-6)
    assert [v for _, v in scalars["passk/ci_high"]] == pytest.approx([payload["interval"][k][1] for k in ("1", "2", "4")], rel=1e-6)
    assert scalars["passk/pass@4"] == [(0, 0.75)] and scalars["passk/num_samples"] == [(0, 16.0)]
    samples = tensorboard_texts(scored_run / TENSORBOARD_DIR)["passk/samples"]
    # one row per problem: its first sample, and its correct samples out of n
    assert samples.splitlines()[0] == "| problem_id | correct_of_n | answer | correct | completion |"
    assert "| q2 | 2/4 | yes | True | <answer>yes</answer> |" in samples
    assert "| q0 | 0/4 | no | False | <answer>no</answer> |" in samples


def test_the_curve_goes_to_wandb_as_a_chart_a_table_and_a_summary(scored_run: Path) -> None:
    run = wandb_run(wandb_run_file(scored_run))
    assert (run["project"], run["name"]) == ("mta", scored_run.name)
    assert run["config"]["loggers"] == ["tensorboard", "wandb"] and run["config"]["model"] == "scored"
    assert run["summary"]["passk/pass@2"] == pytest.approx(TRUE_PASS[2], rel=1e-12)
    assert run["summary"]["passk/num_problems"] == 4
    files = wandb_run_file(scored_run).parent / "files" / "media" / "table" / "passk"
    [curve] = files.glob("table_*.table.json")
    table = json.loads(curve.read_text())
    assert table["columns"] == ["k", "pass@k", "ci_low", "ci_high"]
    assert [row[0] for row in table["data"]] == [1, 2, 4]
    assert [row[1] for row in table["data"]] == pytest.approx(list(TRUE_PASS.values()), rel=1e-12)
    [samples] = files.glob("samples_*.table.json")
    assert ["q1", "1/4", "yes", True, "<answer>yes</answer>"] in json.loads(samples.read_text())["data"]


def test_align_logs_its_verdict(scored_run: Path) -> None:
    result = runner.invoke(app, ["probe", "align", "--passk", str(scored_run), "--logger", "tensorboard"])
    assert result.exit_code == 0, result.output
    verdict = json.loads((scored_run / "align.json").read_text())
    text = tensorboard_texts(scored_run / TENSORBOARD_DIR)["align"]
    assert f"| category | {verdict['category']} |" in text and "| tasks | yes |" in text
    scalars = tensorboard_scalars(scored_run / TENSORBOARD_DIR)
    assert scalars["align/alignment_score"] == [(0, pytest.approx(verdict["alignment_score"], rel=1e-6))]
    assert scalars["align/stability"] == [(0, pytest.approx(verdict["stability"], rel=1e-6))]


def test_a_sampled_probe_logs_its_curve(tiny_llama_dir: Path, tmp_path: Path) -> None:
    task = tmp_path / "yes.jsonl"
    task.write_text("".join(json.dumps({"id": f"q{i}", "question": f"Question number {i}?", "answer": "yes"}) + "\n"
                            for i in range(3)))
    out = tmp_path / "run"
    result = runner.invoke(app, ["probe", "passk", "--model", str(tiny_llama_dir), "--task", str(task),
                                 "--verifier", "normalized", "-n", "2", "--max-tokens", "4", "--backend", "hf",
                                 "--verify-workers", "0", "--no-fit", "--out", str(out),
                                 "--logger", "tensorboard", "--logger", "console"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "passk.json").read_text())
    scalars = tensorboard_scalars(out / TENSORBOARD_DIR)
    assert scalars["passk/pass@k"] == [(k, pytest.approx(payload["pass_at_k"][str(k)], rel=1e-6)) for k in (1, 2)]
    problems = {json.loads(line)["problem_id"] for line in (out / "samples.jsonl").read_text().splitlines()}
    samples = tensorboard_texts(out / TENSORBOARD_DIR)["passk/samples"]
    assert problems == {"q0", "q1", "q2"} and all(f"| {pid} | 0/2 |" in samples for pid in problems)
    # the console logger says the curve on the status line
    assert "passk: k=1 " in " ".join(result.output.split())


@pytest.mark.parametrize("command", [["probe", "passk"], ["probe", "align"]])
def test_an_unknown_logger_is_one_line(command: list[str]) -> None:
    assert "unknown logger 'neptune'" in one_error_line([*command, "--logger", "neptune"])
