"""`mta probe align`: read (or run) pass@k and contamination runs, and write the verdict.

The rule itself is `mta_probe.category`; this module reads run directories, checks they belong
to one model, bootstraps the verdict's stability over problems, and writes `align.json`.

A run sampled with n < k_ref and holding a fitted curve (`passk.json`'s `fit` block) is read at
k_ref on the fitted curve (`AlignRule.from_fit`), the chance correction computed at that k from
the task's answer counts; `align.json` and the screen say which runs were read so. Beyond n the
samples may not identify pass@k: the fit's interval (the range any population of success rates
consistent with the samples allows, docs/passk.md) gives the score a range, and when the ends of
that range fall in different categories the verdict is marked not identified (`category_range`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mta_probe.category import (
    AlignRule,
    Contamination,
    Curve,
    Verdict,
    alignment_score,
    categorize,
    judge,
    reference_k,
)
from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.estimators import FitSettings, fit_pass_at_k, pass_at_k_matrix, problem_pass_at_k
from mta_probe.runs import ProbeProgress, check_loggers, read_json, read_records, write_json_atomic
from mta_probe.runs import chance_from_choices
from mta_probe.tasks import TaskOptions
from mta_probe.tracked import log_alignment

if TYPE_CHECKING:  # the probes import their engines' modules; align imports them when it runs them
    from mta_probe.contam import ContamSettings
    from mta_probe.passk_settings import PassKSettings

ALIGN_FILE = "align.json"
# What `probe_alignment` reports while its probes run: the probe's name and its counts.
AlignProgress = Callable[[str, ProbeProgress], None]



def _result(run: Path, name: str) -> dict[str, Any]:
    return read_json(run / name, f"is {run} a finished run?")

@dataclass(frozen=True)
class AlignSettings:
    """What to judge.

    Attributes:
        passk_runs: pass@k run directories (one task, or several of one domain).
        contam_runs: contamination run directories of the same model (may be empty).
        model, task: when no runs are given, run both probes for this pair.
        task_options: the task's data paths, generator options or JSONL verifier, for those runs.
        passk_probe: how that pass@k probe runs (n, limit, sampling, backend, ...); its model,
            task and task_options are this pair's. None: the probe's defaults, with the model's
            own max_tokens.
        contam_probe: how that contamination probe runs (limit, portions, backend, ...), the same
            way. None: its defaults.
        rule: the thresholds.
        out: where align.json goes; default: the first pass@k run directory.
        seed: of the stability bootstrap.
        loggers: experiment trackers the verdict also goes to (as PassKSettings.loggers); a
            pass@k probe this command runs logs its curve to them too.
    """

    passk_runs: tuple[Path, ...] = ()
    contam_runs: tuple[Path, ...] = ()
    model: str | None = None
    task: str | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)
    passk_probe: PassKSettings | None = None
    contam_probe: ContamSettings | None = None
    rule: AlignRule = field(default_factory=AlignRule)
    out: Path | None = None
    seed: int = 0
    loggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlignResult:
    """The verdict, its stability, and where it was written."""

    verdict: Verdict
    stability: float | None
    path: Path
    payload: dict[str, Any]


def load_curve(run: Path) -> tuple[dict[str, Any], Curve]:
    """`passk.json` of a run, and its curve."""
    payload = _result(run, "passk.json")
    return payload, curve_of(payload)


def curve_of(payload: dict[str, Any]) -> Curve:
    """The curve of a pass@k payload (`passk.json`)."""
    ks = sorted(int(k) for k in payload["pass_at_k"])
    chance = payload.get("chance_pass_at_k")
    return Curve(ks, [payload["pass_at_k"][str(k)] for k in ks], [chance[str(k)] for k in ks] if chance else None)


def passk_reading(payload: dict[str, Any]) -> tuple[int, float]:
    """(k, S) at the largest k a pass@k payload measured: pass@k with what guessing gives removed,
    as `alignment_score` reads it. The probe's screen sets S against the rule's strong threshold;
    the verdict itself reads k_ref with contamination (`probe_alignment`)."""
    curve = curve_of(payload)
    score, k = alignment_score(curve, replace(AlignRule(), k_ref=curve.ks[-1], max_chance=1.0))
    return k, score


def load_contamination(run: Path) -> tuple[dict[str, Any], Contamination]:
    """`contam.json` of a run, and its per-portion means."""
    payload = _result(run, "contam.json")
    rows = payload["portions"]
    if not rows:
        raise BadInputError(f"{run / 'contam.json'} has no scored portion")
    return payload, Contamination({float(p): r["rouge_l"] for p, r in rows.items()},
                                  {float(p): r["exact_match"] for p, r in rows.items()})


@dataclass(frozen=True)
class Reading:
    """Where a run's alignment score is read, and the per-problem counts behind it.

    Attributes:
        curve: the unbiased curve of passk.json, or the fitted one up to k_ref.
        n, c: each problem's samples and correct ones that the curve rests on (an adaptive run's
            unbiased curve: its opening round; a fit from --max-n: the samples below it).
        fit_method: the fitted model when the curve is the fit, else None.
        note: says that the fit was read (or why it could not be), for align.json and the screen.
        warnings: the fit's own warnings when it was read.
        low, high: the fit's interval as curves (the range of pass@k any population consistent
            with the samples allows); None for an unbiased reading.
        shift: the fitted point minus the model's mean per k (the point is the model's value
            moved inside the interval), added to each problem's fitted value.
    """

    curve: Curve
    n: np.ndarray
    c: np.ndarray
    fit_method: str | None = None
    note: str | None = None
    warnings: tuple[str, ...] = ()
    low: Curve | None = None
    high: Curve | None = None
    shift: dict[int, float] = field(default_factory=dict)

    def per_problem(self, k: int) -> np.ndarray:
        """Each problem's pass@k, unbiased or fitted, whose mean the curve holds at k."""
        if self.fit_method is None:
            return pass_at_k_matrix(self.n, self.c, [k])[:, 0]
        return np.clip(problem_pass_at_k(self.n, self.c, [k], self.fit_method)[:, 0] + self.shift.get(k, 0.0), 0, 1)

    def score_range(self, rule: AlignRule) -> tuple[float, float]:
        """The alignment score at the ends of the fit's interval (the point twice when unbiased)."""
        if self.low is None or self.high is None:
            score = alignment_score(self.curve, rule)[0]
            return score, score
        return alignment_score(self.low, rule)[0], alignment_score(self.high, rule)[0]


def _counts(run: Path, below: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(n_i, c_i) of every problem in samples.jsonl, counting sample indices below `below` only."""
    seen: dict[str, dict[int, bool]] = {}
    for r in read_records(run / "samples.jsonl"):
        if below is None or int(r["sample_index"]) < below:
            seen.setdefault(r["problem_id"], {}).setdefault(int(r["sample_index"]), bool(r["correct"]))
    return (np.array([len(v) for v in seen.values()], np.int64),
            np.array([sum(v.values()) for v in seen.values()], np.int64))


def read_for_alignment(run: Path, payload: dict[str, Any], curve: Curve, rule: AlignRule) -> Reading:
    """The unbiased curve, or, when the run has n < k_ref and a fitted curve (and `rule.from_fit`),
    the fitted curve evaluated up to k_ref on the same problems, with its interval."""
    n_run = int(payload.get("n") or max(curve.ks))
    unbiased = Reading(curve, *_counts(run, n_run if payload.get("adaptive") else None))
    fit = payload.get("fit") or {}
    if not rule.from_fit or n_run >= rule.k_ref or "method" not in fit:
        return unbiased
    choices = payload.get("answer_choices")
    if choices is None and payload.get("chance_pass_at_k"):
        return replace(unbiased, note=f"{payload['task']}: fit not read (its chance level beyond n is unknown: "
                                      "run the probe command again to rewrite passk.json)")
    top = min(rule.k_ref, max(int(k) for k in fit["pass_at_k"]))
    ks = sorted({int(k) for k in fit["pass_at_k"] if int(k) <= top} | {top})
    n, c = _counts(run, fit.get("max_n"))
    adaptive = payload.get("adaptive") and (fit.get("max_n") is None or fit["max_n"] > n_run)
    # The same fit as passk.json's (the method it chose among the same candidates), at these ks.
    settings = FitSettings(fit_to=top, level=fit.get("level", 0.95), criterion=fit.get("criterion", "bic"),
                           candidates=tuple(fit.get("scores") or FitSettings().candidates))
    fitted_run = fit_pass_at_k(n, c, ks, settings, opening=_counts(run, n_run) if adaptive else None)
    chance = chance_from_choices(choices, ks) if choices else None
    fitted = Curve(ks, fitted_run.values, chance)
    k_star = reference_k(fitted, rule)
    if k_star <= max(curve.ks):  # guessing caps k* within the measured ks: the unbiased curve answers
        return unbiased
    method = fitted_run.method
    model_mean = problem_pass_at_k(n, c, ks, method).mean(axis=0)
    return Reading(fitted, n, c, method,
                   f"{payload['task']}: S read at k={k_star} on the fitted curve ({method}), since n={n_run} "
                   f"< k_ref={rule.k_ref}", tuple(fitted_run.warnings),
                   Curve(ks, fitted_run.low, chance), Curve(ks, fitted_run.high, chance),
                   {k: float(p - m) for k, p, m in zip(ks, fitted_run.values, model_mean)})


def _per_problem_contam(run: Path, contam: Contamination) -> tuple[np.ndarray, np.ndarray]:
    from mta_probe.contam import own_records

    # the items contam.json's means are over: remainders no other problem shares
    shared_min = _result(run, "contam.json").get("shared_remainders", {}).get("min_problems", 2)
    records = own_records(list(read_records(run / "contam.jsonl")), shared_min)
    em = [float(r["exact_match"]) for r in records if r["portion"] == max(contam.exact_match)]
    rouge = [r["rouge_l"] for r in records if r["portion"] == min(contam.rouge_l)]
    return np.asarray(em), np.asarray(rouge)


def _resampled_mean(values: np.ndarray, rng: np.random.Generator) -> float:
    return float(values[rng.integers(0, values.size, values.size)].mean())


def stability(readings: list[Reading], contam_runs: list[Path], contams: list[Contamination],
              verdict: Verdict, rule: AlignRule, seed: int) -> float:
    """Share of bootstrap resamples of problems that give the same category as all problems."""
    rng = np.random.default_rng(seed)
    curves = [r.curve for r in readings]
    ks = [reference_k(c, rule) for c in curves]
    per_passk = [r.per_problem(k) for r, k in zip(readings, ks)]
    chances = [c.chance[c.ks.index(k)] if c.chance else 0.0 for c, k in zip(curves, ks)]
    per_contam = [_per_problem_contam(run, c) for run, c in zip(contam_runs, contams)]
    same = 0
    for _ in range(rule.resamples):
        scores = [max(0.0, (_resampled_mean(v, rng) - ch) / (1.0 - ch)) if ch < 1.0 else 0.0
                  for v, ch in zip(per_passk, chances)]
        contaminated = None
        if per_contam:
            em = np.mean([_resampled_mean(e, rng) for e, _ in per_contam])
            rouge = np.mean([_resampled_mean(r, rng) for _, r in per_contam])
            contaminated = bool(em >= rule.em_threshold or rouge >= rule.rouge_threshold)
        same += categorize(float(np.mean(scores)) >= rule.strong_threshold, contaminated) == verdict.category
    return same / rule.resamples


def _run_probes(settings: AlignSettings, progress: AlignProgress | None,
                on_status: Callable[[str], None] | None) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    from mta_probe.contam import ContamSettings, probe_contamination
    from mta_probe.passk import probe_passk
    from mta_probe.passk_settings import PassKSettings

    if not settings.model or not settings.task:
        raise BadInputError("give pass@k runs (--passk DIR), or --model and --task to run the probes")
    pair = {"model": settings.model, "task": settings.task, "task_options": settings.task_options}
    passk_probe = settings.passk_probe or PassKSettings()
    passk = probe_passk(replace(passk_probe, loggers=settings.loggers or passk_probe.loggers, **pair), on_status=on_status,
                        progress=_named(progress, "pass@k"))
    contam = probe_contamination(replace(settings.contam_probe or ContamSettings(), **pair),
                                 on_status=on_status, progress=_named(progress, "contamination"))
    return (passk.run_dir,), (contam.run_dir,)


def _named(progress: AlignProgress | None, probe: str) -> Callable[[ProbeProgress], None] | None:
    """A probe's progress callback that names the probe to `progress`."""
    if progress is None:
        return None
    return lambda counts: progress(probe, counts)


def probe_alignment(settings: AlignSettings, *, progress: AlignProgress | None = None,
                    on_status: Callable[[str], None] | None = None) -> AlignResult:
    """Judge a model-task pair (or a domain) from its runs; writes `align.json`.

    Args:
        settings: the runs, or the pair whose probes to run first, and the rule.
        progress: while probes run, the probe's name ("pass@k", "contamination") and its counts.
        on_status: the probes' one-line status messages.

    Raises:
        BadInputError: no runs and no model/task, an unreadable run.
        RunMismatchError: the runs belong to different models.
    """
    passk_runs, contam_runs = settings.passk_runs, settings.contam_runs
    check_loggers(settings.loggers, local=True)
    if not passk_runs:
        passk_runs, contam_runs = _run_probes(settings, progress, on_status)
    loaded = [load_curve(run) for run in passk_runs]
    # a run whose every remainder is shared boilerplate (KOR-cipher) measured nothing
    unmeasured = [run for run in contam_runs if not _result(run, "contam.json").get("portions")]
    contam_runs = tuple(run for run in contam_runs if run not in unmeasured)
    contams = [load_contamination(run) for run in contam_runs]
    models = {p["model"] for p, _ in loaded} | {p["model"] for p, _ in contams}
    if len(models) > 1:
        raise RunMismatchError(f"the runs belong to different models: {', '.join(sorted(models))}")
    readings = [read_for_alignment(run, p, curve, settings.rule) for run, (p, curve) in zip(passk_runs, loaded)]
    verdict = judge([r.curve for r in readings], [c for _, c in contams], settings.rule)
    ranges = [r.score_range(settings.rule) for r in readings]
    score_range = [float(np.mean([lo for lo, _ in ranges])), float(np.mean([hi for _, hi in ranges]))]
    category_range = sorted({categorize(s >= settings.rule.strong_threshold, verdict.contaminated)
                             for s in score_range}, key=["gray", "green", "red"].index)
    share = stability(readings, list(contam_runs), [c for _, c in contams], verdict, settings.rule, settings.seed)
    payload = {"model": models.pop(), "tasks": [p["task"] for p, _ in loaded],
               "category": verdict.category, "alignment_score": verdict.score, "k_used": verdict.k_used,
               "strongly_aligned": verdict.aligned, "contaminated": verdict.contaminated,
               "contamination_exact_match": verdict.contamination_em,
               "contamination_rouge_l": verdict.contamination_rouge, "stability": share,
               "alignment_score_range": score_range, "category_range": category_range,
               "verdict_identified": len(category_range) == 1,
               "read_from": ["fit" if r.fit_method else "unbiased" for r in readings],
               "reading_notes": [r.note for r in readings if r.note],
               "fit_warnings": {p["task"]: list(r.warnings) for (p, _), r in zip(loaded, readings) if r.warnings},
               "rule": asdict(settings.rule), "rule_doc": "docs/alignment.md",
               "passk_runs": [str(p) for p in passk_runs], "contam_runs": [str(p) for p in contam_runs],
               "contam_runs_unmeasured": [str(p) for p in unmeasured]}
    out = settings.out or Path(passk_runs[0])
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / ALIGN_FILE, payload)
    except OSError as exc:
        raise BadInputError(f"cannot write {out / ALIGN_FILE}: {exc.strerror or exc}") from None
    log_alignment(settings.loggers, out, payload, on_status)
    return AlignResult(verdict, share, out / ALIGN_FILE, payload)
