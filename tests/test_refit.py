"""`mta probe fit RUN_DIR` (mta_probe/refit.py): a finished run fitted again, from all its samples
or from each problem's first few, without touching what the run sampled or what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_passk import SeededFakeSampler
from typer.testing import CliRunner

from mta_cli.main import app
from mta_probe import FitSettings, PassKSettings, RefitSettings, SamplingSettings, TaskOptions, probe_passk, refit_passk
from mta_probe.errors import BadInputError
from mta_probe.estimators import fit_pass_at_k
from mta_probe.runs import read_records

PROBLEMS = 60


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tiny_llama_dir: Path, tmp_path: Path) -> Path:
    """A finished run of 60 problems x 16 samples from the seeded stand-in engine, fitted to 64."""
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: SeededFakeSampler())
    task = tmp_path / "yes.jsonl"
    task.write_text("".join(json.dumps({"id": f"q{i}", "question": f"Is {i} {'odd' if i % 3 else 'even'}?",
                                        "answer": "yes"}) + "\n" for i in range(PROBLEMS)))
    out = tmp_path / "run"
    probe_passk(PassKSettings(model=str(tiny_llama_dir), task=str(task), n=16, out=out, verify_workers=0,
                              backend="hf", task_options=TaskOptions(verifier="normalized"),
                              sampling=SamplingSettings(max_tokens=8), fit=FitSettings(fit_to=64)))
    return out


def counts_below(run: Path, max_n: int | None) -> tuple[list[int], list[int]]:
    seen: dict[str, dict[int, bool]] = {}
    for r in read_records(run / "samples.jsonl"):
        if max_n is None or r["sample_index"] < max_n:
            seen.setdefault(r["problem_id"], {})[r["sample_index"]] = r["correct"]
    ids = sorted(seen)
    return [len(seen[i]) for i in ids], [sum(seen[i].values()) for i in ids]


def test_a_refit_from_the_first_samples_rewrites_only_the_fit(run: Path) -> None:
    before = {name: (run / name).read_bytes() for name in ("run.json", "samples.jsonl", "passk.png")}
    old = json.loads((run / "passk.json").read_text())
    result = refit_passk(RefitSettings(run_dir=run, fit=FitSettings(fit_to=256), max_n=4))
    new = json.loads((run / "passk.json").read_text())
    n, c = counts_below(run, 4)
    want = fit_pass_at_k(n, c, [1, 2, 4, 8, 16, 32, 64, 128, 256], FitSettings(fit_to=256))
    assert n == [4] * PROBLEMS
    assert new["fit"]["pass_at_k"] == {str(k): pytest.approx(v) for k, v in zip(want.ks, want.values)}
    assert (new["fit"]["max_n"], new["fit"]["samples"], new["fit"]["fit_to"]) == (4, 4 * PROBLEMS, 256)
    assert {k: v for k, v in new.items() if k != "fit"} == {k: v for k, v in old.items() if k != "fit"}
    assert result.payload == new and result.curve.values == [old["pass_at_k"][k] for k in ("1", "2", "4", "8", "16")]
    assert (run / "run.json").read_bytes() == before["run.json"]
    assert (run / "samples.jsonl").read_bytes() == before["samples.jsonl"]
    assert (run / "passk.png").read_bytes() != before["passk.png"]
    # and again from every sample: the fit the run wrote itself
    refit_passk(RefitSettings(run_dir=run, fit=FitSettings(fit_to=64)))
    assert json.loads((run / "passk.json").read_text())["fit"] == old["fit"]


def test_the_command_prints_both_curves_and_marks_the_fit(run: Path) -> None:
    result = CliRunner().invoke(app, ["probe", "fit", str(run), "--fit-to", "128", "--max-n", "8"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps lines at the terminal's width
    assert "fitted*" in text and "k > n" in text
    assert "from each problem's first 8 samples" in text
    assert json.loads((run / "passk.json").read_text())["fit"]["max_n"] == 8


def test_what_is_not_a_finished_pass_at_k_run_is_refused(run: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="is .* a run directory"):
        refit_passk(RefitSettings(run_dir=tmp_path / "nothing"))
    (run / "passk.json").unlink()
    with pytest.raises(BadInputError, match="finish the run first"):
        refit_passk(RefitSettings(run_dir=run))
    other = tmp_path / "contam"
    other.mkdir()
    (other / "run.json").write_text(json.dumps({"kind": "contam"}))
    with pytest.raises(BadInputError, match="only pass@k runs"):
        refit_passk(RefitSettings(run_dir=other))
    with pytest.raises(BadInputError, match="--max-n must be at least 1"):
        refit_passk(RefitSettings(run_dir=run, max_n=0))
