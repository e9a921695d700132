"""Reading the user's run directories, and linking a trained pair to its alignment.

A RUN argument is a directory, classified by the files it holds (one directory may hold
several, such as a probe run with its `align.json`):

- `passk.json`: a pass@k probe run (`mta probe passk`);
- `align.json`: an alignment verdict (`mta probe align`);
- `kl.json`: a KL probe (`mta probe kl`);
- `train.json` and/or `gains.json`: a train run; `metrics.jsonl` beside them gives its
  training curves. A directory with `metrics.jsonl` alone is a train run still in progress.

A directory holding none of these but with subdirectories that do (`$MTA_HOME/runs/passk`) stands
for those subdirectories, so a whole folder of runs can be passed at once.

A train run is linked to its alignment by (model, eval task): the probe run whose `passk.json`
names the same model (or the same model path) and the eval task, and the `align.json` whose
model and task list match. The category comes from, in this order: that `align.json`; the rule
of `mta probe align` on that probe's curve; the paper, for one of its models on one of its tasks;
the rule on the before-training evaluation that `gains.json` names (`before_run`, a probe run with
as many samples as the evaluation's k, so read at a small k).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mta_probe.errors import BadInputError
from mta_report.trainruns import (
    GAINS_FILE,
    METRICS_FILE,
    TRAIN_FILE,
    TrainRun,
    field_of,
    read_json,
    read_train,
)

PASSK_FILE = "passk.json"
ALIGN_FILE = "align.json"
KL_FILE = "kl.json"
RUN_FILES = (PASSK_FILE, ALIGN_FILE, KL_FILE, TRAIN_FILE, GAINS_FILE, METRICS_FILE)


@dataclass(frozen=True)
class ProbeRun:
    """A pass@k probe run.

    Attributes:
        path: the run directory.
        model, model_path, task: what was probed, as `passk.json` names them.
        n, num_problems: samples per problem and problems.
        pass_at_k: k -> pass@k (0..1).
        interval: k -> (low, high) 95% interval of pass@k.
        chance: k -> chance-level pass@k (per-problem chance, 0 for open problems, averaged), None
            when no problem has a finite answer set.
    """

    path: Path
    model: str
    model_path: str
    task: str
    n: int
    num_problems: int
    pass_at_k: dict[int, float]
    interval: dict[int, tuple[float, float]]
    chance: dict[int, float] | None = None


@dataclass(frozen=True)
class AlignRun:
    """An `align.json` verdict: category and chance-corrected alignment score of a model on tasks."""

    path: Path
    model: str
    tasks: tuple[str, ...]
    category: str
    score: float
    contaminated: bool | None


@dataclass(frozen=True)
class KLRun:
    """A KL probe: mean per-token KL of a trained policy from its reference, with its interval."""

    path: Path
    policy: str
    reference: str
    task: str
    kl: float
    interval: tuple[float, float]


@dataclass(frozen=True)
class Runs:
    """Every run found under the RUN arguments, by kind."""

    probes: tuple[ProbeRun, ...] = ()
    aligns: tuple[AlignRun, ...] = ()
    kls: tuple[KLRun, ...] = ()
    trains: tuple[TrainRun, ...] = ()


@dataclass(frozen=True)
class Alignment:
    """What is known about a (model, task) pair's alignment from the user's runs.

    Attributes:
        passk: pass@k at the requested k (0..1), from the matching probe run (or the
            before-training evaluation); None without one or when it did not reach k.
        pass1: pass@1 (0..1) from the same probe run.
        score, category: from `align.json`, else the score and category `mta_probe.align.judge`
            gives the probe's curve (contamination then unknown), else None.
        category_source: where the category comes from, said in the report.
        probe: the matching probe run directory.
    """

    passk: float | None
    pass1: float | None
    score: float | None
    category: str | None
    category_source: str
    probe: Path | None


def _read_probe(run: Path) -> ProbeRun:
    path = run / PASSK_FILE
    p = read_json(path)
    try:
        passk = {int(k): float(v) for k, v in field_of(p, "pass_at_k", path).items()}
        interval = {int(k): (float(v[0]), float(v[1])) for k, v in p.get("interval", {}).items()}
        chance = {int(k): float(v) for k, v in (p.get("chance_pass_at_k") or {}).items()} or None
    except (TypeError, ValueError, IndexError, AttributeError):
        raise BadInputError(f"{path}: pass_at_k and interval must map k to numbers") from None
    return ProbeRun(path=run, model=str(field_of(p, "model", path)), model_path=str(p.get("model_path", "")),
                    task=str(field_of(p, "task", path)), n=int(p.get("n", 0)),
                    num_problems=int(p.get("num_problems", 0)), pass_at_k=passk, interval=interval,
                    chance=chance)


def _read_align(run: Path) -> AlignRun:
    path = run / ALIGN_FILE
    p = read_json(path)
    return AlignRun(path=run, model=str(field_of(p, "model", path)), tasks=tuple(field_of(p, "tasks", path)),
                    category=str(field_of(p, "category", path)), score=float(field_of(p, "alignment_score", path)),
                    contaminated=p.get("contaminated"))


def _read_kl(run: Path) -> KLRun:
    path = run / KL_FILE
    p = read_json(path)
    low, high = p.get("kl_token_mean_interval", [float("nan"), float("nan")])
    return KLRun(path=run, policy=str(field_of(p, "policy", path)), reference=str(p.get("reference", "")),
                 task=str(field_of(p, "task", path)), kl=float(field_of(p, "kl_token_mean", path)),
                 interval=(float(low), float(high)))


def _holds_run(directory: Path) -> bool:
    return any((directory / name).is_file() for name in RUN_FILES)


def _run_dirs(argument: Path) -> list[Path]:
    path = argument.expanduser()
    if path.is_file() and path.name in RUN_FILES:
        path = path.parent
    if not path.exists():
        raise BadInputError(f"run directory {argument} does not exist")
    if not path.is_dir():
        raise BadInputError(f"{argument} is not a run directory (pass the directory holding passk.json, "
                            "gains.json, ...)")
    if _holds_run(path):
        return [path]
    children = sorted(child for child in path.iterdir() if child.is_dir() and _holds_run(child))
    if not children:
        raise BadInputError(f"{argument} holds no run: none of {', '.join(RUN_FILES)} in it or its subdirectories")
    return children


def load_runs(arguments: list[Path] | tuple[Path, ...]) -> Runs:
    """Read every run the arguments name.

    Args:
        arguments: run directories (or folders of run directories, or a run file itself).

    Returns:
        The runs by kind, each directory read once, in argument order.

    Raises:
        BadInputError: a missing path, a directory with no run in it, an unreadable run file.
    """
    probes, aligns, kls, trains = [], [], [], []
    seen: set[Path] = set()
    for argument in arguments:
        for run in _run_dirs(Path(argument)):
            if run.resolve() in seen:
                continue
            seen.add(run.resolve())
            if (run / PASSK_FILE).is_file():
                probes.append(_read_probe(run))
            if (run / ALIGN_FILE).is_file():
                aligns.append(_read_align(run))
            if (run / KL_FILE).is_file():
                kls.append(_read_kl(run))
            if any((run / name).is_file() for name in (TRAIN_FILE, GAINS_FILE, METRICS_FILE)):
                trains.append(read_train(run))
    return Runs(tuple(probes), tuple(aligns), tuple(kls), tuple(trains))


def same_model(name_a: str, path_a: str, name_b: str, path_b: str) -> bool:
    """Two runs name the same model: equal display names, or equal non-empty model paths."""
    return name_a == name_b or (bool(path_a) and path_a == path_b)


def paper_alias(model: str) -> str:
    """The mta alias of a hub ID of the paper's models ("Qwen/Qwen2.5-7B" -> "qwen"); else the name."""
    from mta_probe.sampling import ALIASES

    return {hub: alias for alias, hub in ALIASES.items() if isinstance(hub, str)}.get(model, model)


def same_task(name_a: str, name_b: str) -> bool:
    """Two runs name the same task. A JSONL task is named by its path where a train run was
    given it (`--eval-task dir/x.jsonl`, the key of gains.json) and by the file's stem in a
    probe's `passk.json` and `align.json` ("x"): both forms are one task."""
    def key(name: str) -> str:
        return Path(name).stem if name.endswith(".jsonl") else name
    return key(name_a) == key(name_b)


def find_probe(runs: Runs, model: str, model_path: str, task: str) -> ProbeRun | None:
    """The probe run of (model, task); with several, the one with the most samples per problem."""
    matches = [p for p in runs.probes
               if same_task(p.task, task) and same_model(p.model, p.model_path, model, model_path)]
    return max(matches, key=lambda p: (p.n, p.num_problems)) if matches else None


def _before_probe(before_run: str) -> ProbeRun | None:
    """The evaluation of the base model that gains.json names, when it is a readable probe run."""
    path = Path(before_run) if before_run else None
    if path is None or not (path / PASSK_FILE).is_file():
        return None
    try:
        return _read_probe(path)
    except BadInputError:  # a damaged evaluation only loses the fallback, not the report
        return None


def alignment_of(runs: Runs, model: str, model_path: str, task: str, k: int, *,
                 before_run: str = "") -> Alignment:
    """Link a (model, task) pair to its alignment among the runs given.

    Args:
        runs: the loaded runs.
        model, model_path: the trained model, as `train.json` names it.
        task: the eval task.
        k: the k at which pass@k is read.
        before_run: the probe run of gains.json's "before"; used when no probe run of the pair
            is among the runs (its n is the evaluation's k, often below the report's k).

    Returns:
        The pass@k at k, pass@1, and the category, each None when no run gives it.
    """
    from mta_probe.category import Curve, judge

    given = find_probe(runs, model, model_path, task)
    probe = given or _before_probe(before_run)
    passk = probe.pass_at_k.get(k) if probe else None
    pass1 = probe.pass_at_k.get(1) if probe else None
    where = probe.path if probe else None
    verdicts = [a for a in runs.aligns if a.model == model and any(same_task(t, task) for t in a.tasks)]
    if verdicts:
        return Alignment(passk, pass1, verdicts[0].score, verdicts[0].category, "align.json", where)
    if given is None:
        from mta_report.reference import paper_category

        # The paper read its categories off pass@K up to 512 and contamination checks: better
        # evidence than the rule on a before-training evaluation with a handful of samples.
        category = paper_category(paper_alias(model), task)
        if category is not None:
            return Alignment(passk, pass1, None, category, "paper's category; no probe run given", where)
    if probe is None:
        return Alignment(None, None, None, None, "no probe run given", None)
    source = "pass@k rule" + ("" if given else f" on the before-training evaluation (k <= {max(probe.pass_at_k)})")
    ks = sorted(probe.pass_at_k)
    chance = [probe.chance[x] for x in ks] if probe.chance and all(x in probe.chance for x in ks) else None
    try:
        verdict = judge([Curve(ks, [probe.pass_at_k[x] for x in ks], chance)], [])
    except BadInputError:  # no k usable by the rule (all above chance 0.5): no category, said so
        return Alignment(passk, pass1, None, None, f"{source} found no usable k", where)
    return Alignment(passk, pass1, verdict.score, verdict.category, f"{source}, contamination not measured", where)
