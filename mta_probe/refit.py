"""`mta probe fit RUN_DIR`: fit the pass@k curve of a finished run again, without sampling.

Another horizon (`--fit-to`), another interval level or criterion, or a fit from each problem's
first samples only (`max_n`: the check of docs/passk.md fits from n = 32 of a run's 256 samples
and compares with the unbiased estimate from all 256). The run's identity (`run.json`) and its
samples are untouched: the fit is a result derived from them, like the unbiased curve. The new
`fit` block replaces the old one in `passk.json`, and `passk.png` is drawn again with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mta_probe.collect import SAMPLES_FILE, sampled_outcomes
from mta_probe.errors import BadInputError
from mta_probe.estimators import FitSettings, PassAtK
from mta_probe.passk_settings import (
    PASSK_FILE,
    PLOT_FILE,
    PassKResult,
)
from mta_probe.runs import prepare_run_dir, read_json, write_json_atomic
from mta_probe.runs import fit_block, per_problem_counts
from mta_probe.sampling import SamplingSettings, is_greedy

# Run kinds that hold samples.jsonl and passk.json.
FITTABLE_KINDS = ("passk", "passk-scored")


@dataclass(frozen=True)
class RefitSettings:
    """What to fit again.

    Attributes:
        run_dir: a finished pass@k run (`mta probe passk`, with or without --from-samples).
        fit: the fit's settings (`fit_to`, `level`, `criterion`, ...).
        max_n: fit from each problem's samples with index below this only (None: all of them).
    """

    run_dir: Path
    fit: FitSettings = field(default_factory=FitSettings)
    max_n: int | None = None


def unbiased_curve(payload: dict[str, Any]) -> PassAtK:
    """The unbiased curve `passk.json` holds, as the estimator returned it."""
    ks = sorted(int(k) for k in payload["pass_at_k"])
    chance = payload.get("chance_pass_at_k")
    return PassAtK(ks=ks, values=[payload["pass_at_k"][str(k)] for k in ks],
                   low=[payload["interval"][str(k)][0] for k in ks], high=[payload["interval"][str(k)][1] for k in ks],
                   chance=[chance[str(k)] for k in ks] if chance else None, num_problems=payload["num_problems"])


def refit_passk(settings: RefitSettings) -> PassKResult:
    """Fit the run's pass@k curve again and write it into its `passk.json` and `passk.png`.

    Raises:
        BadInputError: not a finished pass@k run, max_n below 1, or samples that do not match
            the run's passk.json.
        RunMismatchError: the run is in use by another mta process.
    """
    from mta_probe.runs import plot_passk

    out = settings.run_dir
    if settings.max_n is not None and settings.max_n < 1:
        raise BadInputError(f"--max-n must be at least 1, got {settings.max_n}")
    identity = read_json(out / "run.json", f"is {out} a run directory?")
    if identity.get("kind") not in FITTABLE_KINDS:
        raise BadInputError(f"{out} holds a {identity.get('kind')!r} run; only pass@k runs have a curve to fit")
    prepare_run_dir(out, identity)  # holds the run's lock: no probe appends while this reads
    payload = read_json(out / PASSK_FILE, "finish the run first (run its mta probe passk command again)")
    outcomes = sampled_outcomes(out / SAMPLES_FILE)
    if len(outcomes) != payload["num_problems"]:
        raise BadInputError(f"{out / SAMPLES_FILE} holds {len(outcomes)} problems, passk.json {payload['num_problems']}: "
                            "run the probe command again to rewrite passk.json")
    n, c = per_problem_counts(outcomes, sorted(outcomes), below=settings.max_n)
    choices = payload.get("answer_choices")
    # An adaptive run's counts beyond its opening round depend on earlier outcomes: the goodness of
    # fit is tested on the opening round (sample indices below n), unless --max-n stops within it.
    opening_n = int(payload["n"])
    adaptive = payload.get("adaptive") and (settings.max_n is None or settings.max_n > opening_n)
    opening = per_problem_counts(outcomes, sorted(outcomes), below=opening_n) if adaptive else None
    sampling = payload.get("sampling") or {}
    greedy = is_greedy(SamplingSettings(temperature=float(sampling.get("temperature", 1.0)),
                                        greedy=bool(sampling.get("greedy"))))
    block, fit = fit_block(n, c, [int(k) for k in payload["pass_at_k"]], settings.fit, choices, max_n=settings.max_n,
                           greedy=greedy, opening=opening)
    if fit is not None and choices is None and payload.get("chance_pass_at_k"):
        block["warnings"].append("chance level beyond n unknown: this passk.json predates answer_choices; "
                                 "run the probe command again to rewrite it")
    payload["fit"] = block
    write_json_atomic(out / PASSK_FILE, payload)
    curve = unbiased_curve(payload)
    plot_passk(out / PLOT_FILE, curve, title=f"{payload['model']} on {payload['task']} (n={payload['n']})", fit=fit,
               max_n=settings.max_n)
    return PassKResult(run_dir=out, curve=curve, payload=payload)
