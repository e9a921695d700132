"""reasoning-gym tasks: `gym:NAME` generates problems offline with the dataset's own generator.

Options arrive as strings (from the command line); each is parsed to the type its field declares in
the dataset's config dataclass, so `max_terms=2` becomes an int and `allow_negation=false` a bool.
`size` (default 50) and `seed` (default 0) are config fields of every dataset. Problem i is entry i
of `reasoning_gym.create_dataset(NAME, size=..., seed=..., **config)`; reasoning-gym derives each
entry from (seed, i) alone, so the first N entries do not depend on `size`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.metadata
import types
import typing
from collections.abc import Sequence
from typing import Any

from mta_probe.errors import BadInputError, UnknownTaskError
from mta_probe.problem import Problem
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

# Datasets whose every answer is one of a few fixed strings (checked on 0.1.25): guessing alone
# reaches 1-(1-1/m)^k there, which the probe reports beside pass@k.
FINITE_ANSWER_SETS: dict[str, int] = {
    "syllogism": 2,             # Yes / No
    "isomorphic_strings": 2,    # True / False
    "ransom_note": 2,           # True / False
    "course_schedule": 2,       # True / False
    "game_of_life_halting": 2,  # True / False
    "circuit_logic": 2,         # 0 / 1
    "acre": 3,                  # on / off / undetermined
    "mahjong_puzzle": 3,        # Chi / Peng / Pass
}

DEFAULT_SIZE = 50
DEFAULT_SEED = 0
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def gym_names() -> list[str]:
    """Names of every reasoning-gym dataset installed, sorted."""
    from reasoning_gym.factory import DATASETS

    return sorted(DATASETS)


def _config_class(name: str) -> type:
    from reasoning_gym.factory import DATASETS

    if name not in DATASETS:
        close = difflib.get_close_matches(name, DATASETS, n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join('gym:' + c for c in close)}?" if close else ""
        raise UnknownTaskError(f"gym:{name} is not a reasoning-gym dataset{hint} "
                               f"({len(DATASETS)} exist: {', '.join(sorted(DATASETS)[:8])}, ...)")
    return DATASETS[name][1]


def _parse_bool(key: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise BadInputError(f"option {key}={text!r}: expected true or false")


def parse_option(key: str, value: Any, hint: Any) -> Any:
    """One option value converted to the config field's declared type.

    Args:
        key: the option name, for error messages.
        value: a string from the command line (other types pass through unchanged).
        hint: the field's resolved type hint (int, float, bool, str, Optional[...], Literal[...],
            list[...], tuple, Sequence[...]). Sequences are written comma-separated.

    Returns:
        The parsed value.
    """
    if not isinstance(value, str):
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value.lower() in ("none", "null") and type(None) in args:
            return None
        return parse_option(key, value, next(a for a in args if a is not type(None)))
    if origin is typing.Literal:
        for allowed in args:
            if str(allowed) == value:
                return allowed
        raise BadInputError(f"option {key}={value!r}: expected one of {', '.join(map(str, args))}")
    if hint is bool:
        return _parse_bool(key, value)
    if hint in (int, float, str):
        try:
            return hint(value)
        except ValueError as exc:
            raise BadInputError(f"option {key}={value!r}: expected {hint.__name__}") from exc
    if hint in (list, tuple) or origin in (list, tuple, Sequence):
        element = args[0] if args and args[0] is not Ellipsis else str
        items = [parse_option(key, part.strip(), element) for part in value.split(",") if part.strip()]
        return tuple(items) if tuple in (hint, origin) else items
    raise BadInputError(f"option {key} has type {hint}, which cannot be given as text")


def gym_config(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for `create_dataset(name, ...)`: defaults for size and seed, then the
    user's options parsed to their declared types. Unknown options raise BadInputError."""
    config_cls = _config_class(name)
    hints = typing.get_type_hints(config_cls)
    fields = [f.name for f in dataclasses.fields(config_cls)]
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise BadInputError(f"gym:{name} has no option {', '.join(unknown)}; "
                            f"valid options: {', '.join(fields)}")
    config: dict[str, Any] = {"size": DEFAULT_SIZE, "seed": DEFAULT_SEED}
    config.update({k: parse_option(k, v, hints[k]) for k, v in options.items()})
    return config


def jsonable(value: Any) -> Any:
    """`value` made JSON-serialisable while keeping what scorers compare: tuples stay tuples (json
    writes them as lists; arc_agi and rearc compare boards as tuples, so lists would score 0),
    sets become lists, dates ISO text, numpy scalars Python numbers, odd dict keys and anything
    else unknown their str()."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {k if isinstance(k, (str, int)) else str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(jsonable(v) for v in value)
    if isinstance(value, (list, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def gym_problem(name: str, seed: int, index: int, entry: dict[str, Any]) -> Problem:
    """A reasoning-gym entry (question, answer, metadata) to a Problem; the entry travels in meta."""
    answer = entry.get("answer")
    return Problem(id=f"{name}/{seed}/{index}",
                   prompt=ANSWER_TAG_TEMPLATE.format(question=entry["question"]),
                   statement=entry["question"], gold="" if answer is None else str(answer),
                   num_choices=FINITE_ANSWER_SETS.get(name),
                   meta={"gym_dataset": name, "gym_entry": jsonable(entry)})


def load_gym(name: str, options: dict[str, Any], limit: int | None = None) -> tuple[list[Problem], str]:
    """Problems of reasoning-gym dataset `name`, and a source line naming the resolved config.

    Args:
        name: a reasoning-gym dataset name (without the "gym:" prefix).
        options: size, seed and the dataset's own config fields, as text or typed values.
        limit: generate only the first `limit` entries (same entries as without the limit).

    Returns:
        (problems, source), source like "reasoning-gym 0.1.25 chain_sum(size=50, seed=0)".
    """
    import reasoning_gym

    config = gym_config(name, options)
    try:
        dataset = reasoning_gym.create_dataset(name, **config)
    except (ValueError, TypeError, AssertionError) as exc:
        raise BadInputError(f"gym:{name} rejected its configuration: {exc}") from exc
    count = len(dataset) if limit is None else min(limit, len(dataset))
    problems = [gym_problem(name, config["seed"], i, dataset[i]) for i in range(count)]
    version = importlib.metadata.version("reasoning-gym")  # reasoning_gym.__version__ lags behind
    settings = ", ".join(f"{k}={v}" for k, v in config.items())
    return problems, f"reasoning-gym {version} {name}({settings})"
