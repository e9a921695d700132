"""Estimators: numbers from verified samples. The unbiased pass@k estimator with its bootstrap
intervals and chance level (`passk`); pass@k fitted beyond the samples from the distribution of
per-problem success rates (`passk_fit`, with the distributions in `successdist` and its checks
in `passk_checks`), bounds on pass@k that hold whatever that distribution (`passk_bounds`, on
the grid mixtures of `mixing`), and the adaptive allocation of a sampling budget
(`allocation`); ROUGE-L with the exact-match rule (`rouge`).

The verbs: `estimate` gives a task's pass@k curve; `pass_at_k_matrix` the per-problem values;
`fit_pass_at_k` the fitted curve with intervals, `problem_pass_at_k` each problem's share of it;
`pass_at_k_bounds` the range of pass@k every population of success rates consistent with a run allows;
`next_round` the samples each problem gets next, `run_adaptive` the rounds until a budget is spent
(the probe drives it against a sampler and disk, mta_probe/collect/rounds.py; the bench against
simulated draws);
`rouge_l` and `exact_match` score a completion against a reference text.
"""

from mta_probe.estimators.allocation import AdaptiveSettings, next_round, run_adaptive
from mta_probe.estimators.passk import (
    PassAtK,
    bootstrap_interval,
    chance_pass_at_k,
    check_ks,
    default_ks,
    estimate,
    pass_at_k_matrix,
)
from mta_probe.estimators.passk_bounds import PassKBounds, pass_at_k_bounds
from mta_probe.estimators.passk_fit import FitSettings, PassKFit, fit_pass_at_k, problem_pass_at_k
from mta_probe.estimators.rouge import exact_match, rouge_l, rouge_tokens

__all__ = [
    "AdaptiveSettings",
    "FitSettings",
    "PassAtK",
    "PassKBounds",
    "PassKFit",
    "bootstrap_interval",
    "chance_pass_at_k",
    "check_ks",
    "default_ks",
    "estimate",
    "exact_match",
    "fit_pass_at_k",
    "next_round",
    "run_adaptive",
    "pass_at_k_bounds",
    "pass_at_k_matrix",
    "problem_pass_at_k",
    "rouge_l",
    "rouge_tokens",
]
