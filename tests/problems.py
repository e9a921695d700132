"""A Problem built from its gold answer alone, for verifier tests."""

from __future__ import annotations

from mta_probe.tasks import Problem


def problem(gold: str, **meta: object) -> Problem:
    """A problem with only a gold (and meta) that matters: what a verifier reads."""
    return Problem(id="t", prompt="p", statement="s", gold=gold, meta=dict(meta))
