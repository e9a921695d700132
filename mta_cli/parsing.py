"""Option values the commands share that typer cannot parse itself: comma-separated lists
(`--k`, `--portions`) and repeated KEY=VALUE pairs (`--gym-option`, `--engine-option`). A bad
value is a `BadInputError`, one line on screen."""

from __future__ import annotations

from typing import Any

from mta_probe.errors import BadInputError


def parse_ks(text: str | None) -> tuple[int, ...] | None:
    """'1,2,4,8' -> (1, 2, 4, 8); None keeps the default powers of two."""
    if text is None:
        return None
    try:
        ks = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BadInputError(f"--k takes comma-separated integers such as 1,2,4,8, not {text!r}") from None
    if not ks:
        raise BadInputError("--k needs at least one value, such as 1,2,4,8")
    return ks


def parse_portions(text: str) -> tuple[float, ...]:
    """'0.4,0.6,0.8' -> (0.4, 0.6, 0.8), each strictly between 0 and 1."""
    try:
        cuts = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise BadInputError(f"--portions takes comma-separated fractions such as 0.4,0.6,0.8, not {text!r}") from None
    if not cuts or any(not 0 < p < 1 for p in cuts):
        raise BadInputError(f"--portions must lie strictly between 0 and 1, got {text!r}")
    return cuts


def parse_options(pairs: list[str], flag: str = "--gym-option") -> dict[str, str]:
    """['size=20', 'seed=3'] -> {'size': '20', 'seed': '3'}."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"{flag} takes KEY=VALUE, not {pair!r}")
        options[key.strip()] = value.strip()
    return options


def parse_engine_options(pairs: list[str]) -> dict[str, Any]:
    """['max_batch=8', 'dtype=bfloat16'] -> {'max_batch': 8, 'dtype': 'bfloat16'}: integers,
    numbers and true/false become values of their type; the backend checks names and values."""
    def typed(text: str) -> Any:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    return {key: typed(value) for key, value in parse_options(pairs, "--engine-option").items()}
