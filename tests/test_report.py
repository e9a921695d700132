"""mta_report: run reading, the gain predictor, Spearman's rho, figures and the report files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mta_probe.errors import BadInputError
from mta_report.correlation import (
    CorrelationSettings,
    average_ranks,
    correlate,
    fit_line,
    pair_points,
    spearman,
    spearman_interval,
)
from mta_report.points import BASE_MEASURE, GainPoint, paper_points, run_points
from mta_report.predict import PredictSettings, coverage, gains_table
from mta_report.reference import PaperResult, reference_gains
from mta_report.reports import (
    correlation_report,
    curves_report,
    full_report,
    gains_report,
)
from mta_report.runs import load_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---- fake runs, in the formats of common.md / mta_probe -------------------------------------

def write_probe(root: Path, name: str, *, model: str, task: str, pass_at_k: dict[int, float],
                chance: dict[int, float] | None = None) -> Path:
    run = root / name
    run.mkdir(parents=True)
    payload = {"model": model, "model_path": f"/models/{model}", "task": task, "n": max(pass_at_k),
               "num_problems": 40, "pass_at_k": {str(k): v for k, v in pass_at_k.items()},
               "interval": {str(k): [max(0.0, v - 0.05), min(1.0, v + 0.05)] for k, v in pass_at_k.items()},
               "chance_pass_at_k": None if chance is None else {str(k): v for k, v in chance.items()}}
    (run / "passk.json").write_text(json.dumps(payload))
    return run


def write_train(root: Path, name: str, *, model: str, technique: str, task: str, before: float, after: float,
                steps: int = 5, kl_coef: float = 0.0) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "train.json").write_text(json.dumps({
        "model": model, "model_path": f"/models/{model}", "technique": technique, "task": task, "backend": "local",
        "kl_coef": kl_coef, "settings": {}, "written_at": "2025-01-01T00:00:00"}))
    (run / "gains.json").write_text(json.dumps({
        "model": model, "technique": technique, "task": task, "metric": "avg@k", "k": 4,
        "tasks": {task: {"before": before, "after": after, "gain": after - before, "num_problems": 40,
                         "before_run": "", "after_run": ""}}}))
    rows = [{"step": s, "reward_mean": 0.1 * s, "accuracy": before + (after - before) * s / steps,
             "entropy": 1.0 / s, "response_length": 50.0 + s, "groups_kept": 4, "groups_total": 8,
             "seconds": 1.0, "loss": 0.0, "kl": None} for s in range(1, steps + 1)]
    rows[-1][f"val/{task}"] = after
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


def small_reference() -> list[PaperResult]:
    """Eight ground-truth cells: strong pairs gain more than weak ones."""
    cells = [("qwen", "math500", 40.8, 30.2, "red"), ("qwen", "kor-op", 27.2, 55.2, "green"),
             ("llama", "kor-op", 60.4, 15.6, "green"), ("llama", "kor-cf", 86.4, 2.4, "green"),
             ("qwen", "bbeh", 1.2, 5.6, "gray"), ("llama", "bbeh", 4.1, 0.2, "gray"),
             ("qwen", "kor-puzzle", 0.8, 10.0, "gray"), ("llama", "synlogic", 0.8, 20.2, "gray")]
    return [PaperResult(table="2", model=m, task=t, technique="ground-truth", variant="", kl_coef=0.0, base=b,
                        after=b + g, gain=g, category=c) for m, t, b, g, c in cells]


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    write_probe(root, "probe", model="tiny", task="arith-quick", pass_at_k={1: 0.2, 8: 0.6, 32: 0.9})
    write_train(root, "train", model="tiny", technique="ground-truth", task="arith-quick", before=0.25, after=0.4)
    return root


# ---- Spearman's rho and the fitted line: against scipy and numpy -----------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spearman_equals_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, size=25).astype(float)  # many ties
    y = x + rng.integers(-3, 4, size=25)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert average_ranks(x).tolist() == stats.rankdata(x).tolist()


def test_spearman_of_constant_input_is_nan() -> None:
    assert np.isnan(spearman([1, 1, 1, 1], [1, 2, 3, 4]))


def test_fit_line_equals_polyfit() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 100, 30), rng.normal(0, 10, 30)
    slope, intercept = np.polyfit(x, y, 1)
    line = fit_line(x, y)
    assert (line.slope, line.intercept) == (pytest.approx(slope), pytest.approx(intercept))


def test_spearman_interval_is_seeded_and_brackets_rho() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 30)
    y = x + rng.normal(0, 0.3, 30)
    first = spearman_interval(x, y, resamples=500, seed=7)
    assert first == spearman_interval(x, y, resamples=500, seed=7)
    assert first != spearman_interval(x, y, resamples=500, seed=8)
    low, high, kept = first
    assert low < spearman(x, y) < high and kept == 500
    assert spearman_interval([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], resamples=200)[:2] == (1.0, 1.0)


# ---- the predictor ---------------------------------------------------------------------------

def point(model: str, task: str, base: float, gain: float, category: str | None, *, technique: str = "t",
          source: str = "paper", kl: float = 0.0) -> GainPoint:
    return GainPoint(source=source, model=model, task=task, technique=technique, variant="", kl_coef=kl,
                     base=base, gain=gain, passk=None, k=32, score=None, category=category,
                     category_source="test", origin="test")


def synthetic(seed: int, pairs: int = 30) -> list[GainPoint]:
    """Strong pairs gain 20 +- 10 points, weak pairs 2 +- 2: the scatter differs by class."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(pairs):
        strong = i % 3 == 0
        base = float(rng.uniform(5, 60))
        gain = (20.0 + rng.normal(0, 10)) if strong else (2.0 + rng.normal(0, 2))
        out.append(point(f"m{i}", "task", base, gain, "green" if strong else "gray"))
    return out


def test_coefficients_equal_lstsq_and_the_interval_is_t_times_the_shrunk_class_scale() -> None:
    from scipy import stats as st

    from mta_report.scatter import ResidualPool, class_scatter

    points = synthetic(1)
    target = point("new", "task", 30.0, 15.0, "green", source="run")
    (row,) = gains_table([target], points)
    design = np.array([[1.0, p.base, float(p.category == "green")] for p in points])
    expected = np.linalg.lstsq(design, np.array([p.gain for p in points]), rcond=None)[0]
    assert list(row.prediction.coefficients.values()) == pytest.approx(expected.tolist())
    assert row.prediction.value == pytest.approx(expected @ [1.0, 30.0, 1.0])
    # one technique: its scale is the strong class's own RMS of leave-one-pair-out residuals
    pool = ResidualPool(points, lambda p: [1.0, p.base, float(p.category == "green")], 8)
    residuals = pool.residuals("none", lambda p: False)
    strong = [r for p, r in residuals if p.category == "green"]
    scatter = class_scatter(residuals, "t", "strong", True, prior_points=5.0)
    assert scatter.scale == pytest.approx(np.sqrt(np.mean(np.square(strong))))
    assert scatter.dof == len(strong) - 1 == 9
    half = st.t.ppf(0.95, 9) * scatter.scale
    assert (row.prediction.low, row.prediction.high) == pytest.approx((row.prediction.value - half,
                                                                       row.prediction.value + half))
    assert row.prediction.alignment_class == "strong" and row.held


def test_each_class_gets_its_own_scatter_and_covers_new_pairs() -> None:
    points = synthetic(2, pairs=45)
    fresh = synthetic(3, pairs=300)
    fresh = [point(f"new{i}", p.task, p.base, p.gain, p.category, source="run") for i, p in enumerate(fresh)]
    rows = gains_table(fresh, points)
    widths = {c: np.median([r.prediction.high - r.prediction.low for r in rows if r.point.category == c])
              for c in ("green", "gray")}
    assert widths["green"] > 3 * widths["gray"]  # one pool would give both the same width
    for category, (held, total) in coverage(rows, by="category").items():
        assert 0.82 <= held / total <= 0.97, category


def test_uncategorized_and_kl_runs_stay_out_of_the_fits_they_do_not_belong_to() -> None:
    """An uncategorized run used to switch every row of its technique to a base-only line
    (Qwen on kor-op: 25.1 -> 13.7); a KL run used to enter KL-free fits."""
    paper = paper_points(reference_gains(), k=32)
    targets = [p for p in paper if p.technique == "ground-truth"][:6]
    before = [r.prediction for r in gains_table(targets, paper)]
    strays = [point("tiny", "arith-quick", 10.0, 40.0, None, technique="ground-truth", source="run"),
              point("tiny", "math500", 20.0, -30.0, "red", technique="ground-truth", source="run", kl=0.001)]
    after = [r.prediction for r in gains_table(targets, paper + strays)]
    assert after == before
    (uncategorized,) = gains_table(strays[:1], paper + strays)
    assert uncategorized.prediction.model == "gain ~ base-accuracy"
    assert "category unknown" in uncategorized.note and uncategorized.prediction.alignment_class == "all"


def test_too_few_points_say_so() -> None:
    """TTRL has six paper rows: three coefficients on five points is no prediction."""
    paper = paper_points(reference_gains(), k=32)
    rows = gains_table([p for p in paper if p.technique == "ttrl"], paper)
    assert len(rows) == 6 and all(r.prediction is None and r.held is None for r in rows)
    assert all(r.note.startswith("too few to predict") for r in rows)
    kl = [p for p in paper_points(reference_gains(), k=32, kl_free=False) if p.kl_coef > 0]
    (kl_run,) = gains_table([point("qwen", "bbh", 45.2, 6.9, "gray", technique="psr", source="run", kl=0.001)],
                            paper + kl)
    assert kl_run.prediction is None  # three KL rows of psr in Table 13: too few


def test_paper_rows_leave_their_own_pair_out() -> None:
    rows = [r for r in reference_gains() if r.technique == "one-shot" and r.table == "5"]
    points = paper_points(rows, k=32)
    table = gains_table(points[:1], points)
    same_pair = sum((p.model, p.task) == (points[0].model, points[0].task) for p in points)
    assert same_pair == 3  # random-1, random-2, selected-1
    assert table[0].prediction.fit_points == len(points) - same_pair


def test_leave_one_pair_out_coverage_on_the_papers_rows_is_85_to_95_percent_per_category() -> None:
    """The acceptance check of the predictor: `mta report gains --with-paper` (docs/report.md)."""
    paper = paper_points(reference_gains(), k=32)
    kl = [p for p in paper_points(reference_gains(), k=32, kl_free=False) if p.kl_coef > 0]
    rows = gains_table(paper, paper + kl)
    by_category = coverage(rows, by="category")
    assert set(by_category) == {"red", "green", "gray"}
    for category, (held, total) in by_category.items():
        assert 0.85 <= held / total <= 0.95, (category, held, total)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(BadInputError, match="level"):
        PredictSettings(level=1.5)
    with pytest.raises(BadInputError, match="min_pairs"):
        PredictSettings(min_pairs=1)
    with pytest.raises(BadInputError, match="k must be"):
        CorrelationSettings(k=0)


# ---- reading runs ----------------------------------------------------------------------------

def test_load_runs_classifies_directories(runs_dir: Path) -> None:
    runs = load_runs([runs_dir / "probe", runs_dir / "train"])
    assert [p.task for p in runs.probes] == ["arith-quick"]
    assert runs.probes[0].pass_at_k == {1: 0.2, 8: 0.6, 32: 0.9}
    train = runs.trains[0]
    assert (train.technique, train.model, train.kl_coef) == ("ground-truth", "tiny", 0.0)
    assert train.gains["arith-quick"].after == 0.4 and len(train.metrics) == 5
    assert load_runs([runs_dir]) == runs  # a folder of runs stands for the runs in it


def test_load_runs_tolerates_a_half_written_last_metrics_line(runs_dir: Path) -> None:
    with open(runs_dir / "train" / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "accur')
    assert len(load_runs([runs_dir / "train"]).trains[0].metrics) == 5


@pytest.mark.parametrize("make, says", [
    (lambda d: d / "missing", "does not exist"),
    (lambda d: d, "holds no run"),
    (lambda d: (d / "passk.json").write_text("{not json") and d, "cannot read"),
    (lambda d: (d / "gains.json").write_text(json.dumps({"technique": "nsr"})) and d, "has no 'tasks'"),
])
def test_bad_run_directories_raise_one_readable_error(tmp_path: Path, make, says: str) -> None:
    with pytest.raises(BadInputError, match=says) as info:
        load_runs([make(tmp_path)])
    assert "\n" not in str(info.value)


def test_run_points_link_train_run_to_probe_and_align(runs_dir: Path) -> None:
    (runs_dir / "probe" / "align.json").write_text(json.dumps({
        "model": "tiny", "tasks": ["arith-quick"], "category": "red", "alignment_score": 0.88, "contaminated": True}))
    (point,) = run_points(load_runs([runs_dir]), k=32)
    assert point.gain == pytest.approx(15.0) and point.base == pytest.approx(25.0)
    assert point.passk == pytest.approx(90.0) and point.k == 32
    assert (point.category, point.score, point.category_source) == ("red", 0.88, "align.json")


def test_a_jsonl_task_given_by_path_links_to_its_probe_named_by_stem(tmp_path: Path) -> None:
    probe = write_probe(tmp_path, "probe", model="tiny", task="caps-test", pass_at_k={1: 0.3, 32: 0.95})
    (probe / "align.json").write_text(json.dumps({
        "model": "tiny", "tasks": ["caps-test"], "category": "green", "alignment_score": 0.95, "contaminated": False}))
    write_train(tmp_path, "a", model="tiny", technique="vote", task="docs/caps-test.jsonl", before=0.3, after=0.4)
    write_train(tmp_path, "b", model="tiny", technique="vote", task="docs/caps-test.jsonl", before=0.2, after=0.4)
    write_train(tmp_path, "c", model="tiny", technique="vote", task="other.jsonl", before=0.2, after=0.2)
    points = run_points(load_runs([tmp_path]), k=32)
    linked = [p for p in points if p.task == "docs/caps-test.jsonl"]
    assert [(p.category, p.category_source, p.passk) for p in linked] == [("green", "align.json", 95.0)] * 2
    assert [p.category_source for p in points if p.task == "other.jsonl"] == ["no probe run given"]
    report = gains_report([tmp_path], out=tmp_path / "out", reference=small_reference(),
                          settings=PredictSettings(min_points=6))
    seeds = {s.task: s for s in report.seeds}
    assert seeds["docs/caps-test.jsonl"].runs == 2 and seeds["docs/caps-test.jsonl"].mean == pytest.approx(15.0)
    markdown = report.files.markdown.read_text()
    assert report.seeds_csv.exists() and "## Gains over seeds" in markdown
    assert "Runs of the same model, task and technique (seeds) grouped: the mean gain" in markdown


def test_run_points_without_align_judge_the_probe_curve(runs_dir: Path) -> None:
    (point,) = run_points(load_runs([runs_dir]), k=8)
    assert point.passk == pytest.approx(60.0)
    assert point.category == "green" and point.score == pytest.approx(0.9)  # pass@32 = 0.9 >= 0.6
    assert point.category_source == "pass@k rule, contamination not measured"


def test_run_points_fall_back_to_the_before_training_evaluation(tmp_path: Path) -> None:
    evaluation = write_probe(tmp_path, "eval", model="tiny", task="arith-quick", pass_at_k={1: 0.1, 2: 0.15, 4: 0.2})
    train = write_train(tmp_path, "t", model="tiny", technique="nsr", task="arith-quick", before=0.1, after=0.1)
    gains = json.loads((train / "gains.json").read_text())
    gains["tasks"]["arith-quick"]["before_run"] = str(evaluation)
    (train / "gains.json").write_text(json.dumps(gains))
    (point,) = run_points(load_runs([train]), k=32)
    assert point.passk is None and point.category == "gray" and point.score == pytest.approx(0.2)
    assert point.category_source == "pass@k rule on the before-training evaluation (k <= 4), contamination not measured"


def test_another_reward_variant_is_another_technique(tmp_path: Path) -> None:
    run = write_train(tmp_path, "t", model="Qwen/Qwen2.5-7B", technique="random", task="math500",
                      before=0.4, after=0.5)
    info = json.loads((run / "train.json").read_text())
    (run / "train.json").write_text(json.dumps({**info, "settings": {"variant": "shao"}}))
    (point,) = run_points(load_runs([run]), k=32)
    assert point.technique == "random:shao"
    (row,) = gains_table([point], paper_points(reference_gains(), k=32) + [point])
    assert row.prediction is None and row.note.startswith("too few to predict")


def test_run_points_of_a_paper_model_without_probe_take_the_paper_category(tmp_path: Path) -> None:
    write_train(tmp_path, "t", model="Qwen/Qwen2.5-7B", technique="nsr", task="math500", before=0.4, after=0.6)
    (point,) = run_points(load_runs([tmp_path / "t"]), k=32)
    assert point.category == "red" and point.passk is None


# ---- the reports -----------------------------------------------------------------------------

def test_gains_report_row_has_the_run_gain_and_its_csv(runs_dir: Path, tmp_path: Path) -> None:
    report = gains_report([runs_dir], out=tmp_path / "out", reference=small_reference(),
                          settings=PredictSettings(min_points=6))
    (row,) = report.rows
    assert row.point.gain == pytest.approx(15.0)
    assert row.prediction.fit_points == 8 and row.prediction.model == "gain ~ base-accuracy + strong"
    assert row.held == (row.prediction.low <= 15.0 <= row.prediction.high)
    with open(report.csv) as f:
        (saved,) = list(csv.DictReader(f))
    assert float(saved["actual_gain"]) == pytest.approx(15.0) and saved["measure"] == "base-accuracy"
    assert float(saved["pass@32"]) == pytest.approx(90.0) and saved["category"] == "green"
    assert report.figure.read_bytes()[:8] == PNG_MAGIC
    assert "data:image/png;base64," in report.files.html.read_text()


def test_gains_report_with_paper_predicts_every_paper_row(tmp_path: Path) -> None:
    report = gains_report([], out=tmp_path, with_paper=True, reference=small_reference(),
                          settings=PredictSettings(min_points=6))
    assert len(report.rows) == 8 and all(r.prediction and r.prediction.fit_points == 7 for r in report.rows)
    assert report.coverage["ground-truth"][1] == 8
    assert sum(total for _, total in report.coverage_by_category.values()) == 8
    assert "Held, per category" in report.files.markdown.read_text()


def test_gains_report_needs_runs_or_the_paper(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="--with-paper"):
        gains_report([], out=tmp_path)


def test_paper_only_correlation_matches_scipy_and_writes_a_png(tmp_path: Path) -> None:
    report = correlation_report(out=tmp_path, plot=tmp_path / "fig10.png",
                                settings=CorrelationSettings(resamples=300))
    data = report.figure.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 50_000
    assert {s.measure for s in report.stats} == {BASE_MEASURE}
    for s in report.stats:
        chosen = [p for p in report.pairs if p.group == s.group]
        assert s.rho == pytest.approx(stats.spearmanr([p.x for p in chosen], [p.gain for p in chosen]).statistic)
        assert s.low <= s.rho <= s.high
    by_group = {s.group: s for s in report.stats}
    assert by_group["ground-truth"].n == 22 and by_group["ttrl"].n == 6  # Tables 2, 3, 5, 6: Qwen, Llama
    assert (tmp_path / "correlation.csv").is_file() and (tmp_path / "report.md").is_file()


def test_pair_points_average_variants_and_keep_measures_apart(runs_dir: Path) -> None:
    rows = [r for r in reference_gains() if r.technique == "one-shot" and r.model == "qwen" and r.task == "math500"]
    assert len(rows) == 3
    (pair,) = [p for p in pair_points(paper_points(rows, k=32)) if p.group == "one-shot"]
    assert pair.gain == pytest.approx(np.mean([r.gain for r in rows])) and pair.averaged == 3
    user = run_points(load_runs([runs_dir]), k=32)
    stats_ = correlate(pair_points(paper_points(small_reference(), k=32) + user))
    assert {(s.group, s.measure, s.n) for s in stats_ if s.group == "ground-truth"} == {
        ("ground-truth", BASE_MEASURE, 8), ("ground-truth", "pass@32", 1)}


def test_correlation_refuses_other_plot_formats(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=".png or .svg"):
        correlation_report(out=tmp_path, plot=tmp_path / "f.jpg")


def test_curves_report_draws_each_kind(runs_dir: Path, tmp_path: Path) -> None:
    kl = runs_dir / "kl"
    kl.mkdir()
    (kl / "kl.json").write_text(json.dumps({"policy": "tiny-gt", "reference": "tiny", "task": "arith-quick",
                                            "kl_token_mean": 0.01, "kl_token_mean_interval": [0.008, 0.012]}))
    report = curves_report([runs_dir], out=tmp_path, fmt="svg")
    assert sorted(f.name for f in report.figures) == ["kl.svg", "passk_curves.svg", "training_curves.svg"]
    assert all(f.read_text().lstrip().startswith("<?xml") for f in report.figures)
    assert "data:image/svg+xml;base64," in report.files.html.read_text()


def test_full_report_puts_the_parts_together(runs_dir: Path, tmp_path: Path) -> None:
    report = full_report([runs_dir], out=tmp_path, reference=small_reference(),
                         settings=PredictSettings(min_points=6))
    markdown = report.files.markdown.read_text()
    for link in ("gains/gains.png", "correlation/correlation.png", "curves/training_curves.png"):
        assert f"]({link})" in markdown and (tmp_path / link).is_file()


def test_a_train_runs_plot_label_names_its_seed(tmp_path: Path) -> None:
    run = write_train(tmp_path, "s2", model="tiny", technique="vote", task="t", before=0.2, after=0.3)
    info = json.loads((run / "train.json").read_text())
    (run / "train.json").write_text(json.dumps({**info, "settings": {"dapo": {"seed": 2}}}))
    write_train(tmp_path, "old", model="tiny", technique="vote", task="t", before=0.2, after=0.3)
    names = sorted(r.name for r in load_runs([tmp_path]).trains)
    assert names == ["vote · tiny · t", "vote · tiny · t · seed 2"]
