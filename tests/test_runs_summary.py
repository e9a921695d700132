"""What passk.json holds beyond the unbiased curve (mta_probe/runs/summary.py): the fit block, the
answer counts that give the chance level at any k, and the figure that draws both curves."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from mta_probe.estimators import FitSettings, chance_pass_at_k, estimate, fit_pass_at_k
from mta_probe.runs.summary import answer_choices, chance_from_choices, fit_block, fit_ks, per_problem_counts

RATES = np.random.default_rng(5).beta(0.5, 1.5, 80)


def counts(n: int = 16, seed: int = 6) -> tuple[list[int], list[int]]:
    c = np.random.default_rng(seed).binomial(n, RATES)
    return [n] * RATES.size, c.tolist()


def test_the_fit_block_is_the_fit_at_the_unbiased_ks_and_powers_of_two_up_to_fit_to() -> None:
    n, c = counts()
    settings = FitSettings(fit_to=100)
    block, fit = fit_block(n, c, [1, 3, 16], settings, {"open": 80})
    assert fit_ks([1, 3, 16], 100) == [1, 2, 3, 4, 8, 16, 32, 64, 100]
    want = fit_pass_at_k(n, c, [1, 2, 3, 4, 8, 16, 32, 64, 100], settings)
    assert block["pass_at_k"] == {str(k): pytest.approx(v) for k, v in zip(want.ks, want.values)}
    assert block["interval"]["100"] == pytest.approx([want.low[-1], want.high[-1]])
    assert block["method"] == want.method and fit.method == want.method
    assert (block["fit_to"], block["max_n"], block["samples"], block["n_range"]) == (100, None, 80 * 16, [16, 16])
    assert block["chance_pass_at_k"] is None and "never replaces" in block["note"]
    # beside the unbiased estimate at the ks both have, the fit agrees within the intervals' reach
    unbiased = estimate(n, c, [1, 16])
    assert abs(block["pass_at_k"]["16"] - unbiased.values[1]) < 0.03


def test_a_fit_that_cannot_be_made_says_why_instead() -> None:
    block, fit = fit_block([8], [3], [1, 8], FitSettings(), None)
    assert fit is None and block == {"skipped": "fitting pass@k needs at least 2 problems, got 1"}


def test_greedy_runs_and_one_sample_a_problem_get_no_curve_and_one_line_why() -> None:
    n, c = counts()
    block, fit = fit_block(n, c, [1, 16], FitSettings(), None, greedy=True)
    assert fit is None and block["skipped"].startswith("greedy decoding") and "pass@1 at every k" in block["skipped"]
    block, fit = fit_block([1] * 80, [int(x > 0) for x in c], [1], FitSettings(), None)
    assert fit is None and block["skipped"].startswith("n = 1:")


def test_beyond_n_the_block_holds_the_bounds_the_model_and_where_pass_at_k_stops_being_identified() -> None:
    n, c = counts()
    block, fit = fit_block(n, c, [1, 16], FitSettings(fit_to=1024), None)
    low, high = block["interval"]["1024"]
    model_low, model_high = block["model_interval"]["1024"]
    assert low <= block["pass_at_k"]["1024"] <= high
    assert high - low > model_high - model_low  # the model's interval assumes its shape below 1/16
    assert block["identification"].startswith("not identified from k = ")
    assert f"[{low:.3f}, {high:.3f}]" in block["identification"]
    assert block["interval_method"].startswith("range of pass@k over every distribution")


def test_the_chance_level_beyond_n_comes_from_the_answer_counts() -> None:
    choices = [4, None, 4, 2, None, 10]
    histogram = answer_choices(choices)
    assert histogram == {"10": 1, "2": 1, "4": 2, "open": 2}
    ks = [1, 7, 64, 1024]
    assert chance_from_choices(histogram, ks) == pytest.approx(chance_pass_at_k(choices, ks))
    assert chance_from_choices({"open": 3}, ks) is None
    n, c = counts()
    block, _ = fit_block(n, c, [1, 16], FitSettings(fit_to=64), answer_choices([5] * 80))
    assert block["chance_pass_at_k"]["64"] == pytest.approx(1 - 0.8 ** 64)


def test_counts_can_stop_at_a_sample_index() -> None:
    outcomes = {"a": {0: True, 1: False, 2: True, 3: True}, "b": {0: False, 1: False}}
    assert per_problem_counts(outcomes, ["a", "b"]) == ([4, 2], [3, 0])
    assert per_problem_counts(outcomes, ["a", "b"], below=2) == ([2, 2], [1, 0])


def test_the_fits_legend_says_when_it_saw_only_the_first_samples() -> None:
    from mta_probe.runs.plot import fit_label

    assert fit_label("beta-binomial") == "fitted (beta-binomial)"
    assert fit_label("beta-mixture", 32) == "fitted (beta-mixture, first 32 samples)"


def test_the_figure_draws_the_fit_beside_the_unbiased_curve(tmp_path: Path) -> None:
    from matplotlib import image

    from mta_probe.runs.plot import plot_passk

    n, c = counts()
    curve = estimate(n, c, [1, 2, 4, 8, 16], num_choices=[None] * 80)
    _, fit = fit_block(n, c, curve.ks, FitSettings(fit_to=256), None)
    plain, both = tmp_path / "plain.png", tmp_path / "both.png"
    plot_passk(plain, curve, title="t")
    plot_passk(both, curve, title="t", fit=fit)
    a, b = (image.imread(io.BytesIO(path.read_bytes())) for path in (plain, both))
    assert a.shape == b.shape and not np.array_equal(a, b)
    # the fit's orange (tab:orange, #ff7f0e) is drawn, and only with the fit
    orange = np.array([1.0, 0.498, 0.055])
    near = [(np.abs(img[..., :3] - orange).max(axis=-1) < 0.05).sum() for img in (a, b)]
    assert near[0] == 0 and near[1] > 50
