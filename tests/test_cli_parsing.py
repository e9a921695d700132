"""The shared option parsers of the command line (mta_cli/parsing.py)."""

from __future__ import annotations

import pytest

from mta_cli.parsing import parse_engine_options, parse_ks, parse_options, parse_portions
from mta_probe.errors import BadInputError


def test_lists_of_k_and_portions() -> None:
    assert parse_ks("1, 2,4,") == (1, 2, 4)
    assert parse_ks(None) is None
    assert parse_portions("0.4,0.6") == (0.4, 0.6)
    for bad, parser in (("1,two", parse_ks), (",", parse_ks), ("0.4,1.0", parse_portions), ("a", parse_portions)):
        with pytest.raises(BadInputError):
            parser(bad)


def test_key_value_pairs_keep_text_and_engine_options_get_types() -> None:
    assert parse_options(["size=20", " seed = 3 "]) == {"size": "20", "seed": "3"}
    with pytest.raises(BadInputError, match="--gym-option takes KEY=VALUE, not 'size'"):
        parse_options(["size"])
    assert parse_engine_options(["max_batch=8", "ratio=0.5", "eager=TRUE", "dtype=bfloat16"]) == {
        "max_batch": 8, "ratio": 0.5, "eager": True, "dtype": "bfloat16"}
    with pytest.raises(BadInputError, match="--engine-option takes KEY=VALUE"):
        parse_engine_options(["=8"])
