"""The verifier table (mta_probe/verify/table.py): its keys and its one-line refusal of unknown names."""

from __future__ import annotations

import pytest
from problems import problem

from mta_probe.errors import BadInputError
from mta_probe.verify import VERIFIERS, verify_one


def test_table_has_exactly_the_documented_keys() -> None:
    assert list(VERIFIERS) == ["math", "math-lenient", "exact", "normalized", "choice", "kor", "gym",
                               "gym-lenient", "code", "code-io", "bbh", "bbeh", "synlogic"]


def test_unknown_verifier_lists_names() -> None:
    with pytest.raises(BadInputError, match="math, math-lenient, exact"):
        verify_one("nope", "x", problem("x"))
