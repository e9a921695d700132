"""The verifier table (mta_probe/verify/table.py): its keys and its one-line refusal of unknown names."""

from __future__ import annotations

import pytest
from problems import problem

from mta_probe.errors import BadInputError
from mta_probe.verify import VERIFIERS, verify_one


def test_table_has_exactly_the_documented_keys() -> None:
    assert list(VERIFIERS) == ["math", "math-lenient", "exact", "normalized", "choice", "kor", "gym",
                               "gym-lenient", "code", "code-io", "bbh", "bbeh", "synlogic"]


def test_every_row_is_consistent() -> None:
    # A lenient twin is itself a row that takes the last number, in the same family.
    for name, row in VERIFIERS.items():
        if row.lenient is not None:
            twin = VERIFIERS[row.lenient]
            assert twin.last_number and twin.family == row.family and twin.prompt == row.prompt, name
        assert row.family in ("math", "code", "logic") and row.prompt in ("boxed", "answer-tag", "verbatim")
    assert [n for n, row in VERIFIERS.items() if row.family == "code"] == ["code", "code-io"]
    assert [n for n, row in VERIFIERS.items() if row.reads_metadata] == ["gym", "gym-lenient"]


def test_unknown_verifier_lists_names() -> None:
    with pytest.raises(BadInputError, match="math, math-lenient, exact"):
        verify_one("nope", "x", problem("x"))
