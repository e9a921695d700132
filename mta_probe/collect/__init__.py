"""Filling a run: the records a run's samples become (`records`), and the rounds in which an
adaptive run spends its budget (`rounds`)."""

from mta_probe.collect.records import (
    FAILURES_FILE,
    SAMPLES_FILE,
    failed_generations,
    failure_records,
    refuse_beyond_context,
    sample_records,
    sampled_outcomes,
)
from mta_probe.collect.rounds import (
    ROUNDS_FILE,
    Span,
    adaptive_summary,
    check_adaptive,
    sample_rounds,
)

__all__ = ["FAILURES_FILE", "ROUNDS_FILE", "SAMPLES_FILE", "Span", "adaptive_summary", "check_adaptive",
           "failed_generations", "failure_records", "refuse_beyond_context", "sample_records", "sample_rounds",
           "sampled_outcomes"]
