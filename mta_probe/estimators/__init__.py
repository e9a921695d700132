"""Estimators: numbers from verified samples. The unbiased pass@k estimator with its bootstrap
intervals and chance level (`passk`), and ROUGE-L with the exact-match rule (`rouge`).

The verbs: `estimate` gives a task's pass@k curve; `pass_at_k_matrix` the per-problem values;
`rouge_l` and `exact_match` score a completion against a reference text.
"""

from mta_probe.estimators.passk import (
    PassAtK,
    bootstrap_interval,
    chance_pass_at_k,
    check_ks,
    default_ks,
    estimate,
    pass_at_k_matrix,
)
from mta_probe.estimators.rouge import exact_match, rouge_l, rouge_tokens

__all__ = [
    "PassAtK",
    "bootstrap_interval",
    "chance_pass_at_k",
    "check_ks",
    "default_ks",
    "estimate",
    "exact_match",
    "pass_at_k_matrix",
    "rouge_l",
    "rouge_tokens",
]
