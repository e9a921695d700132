"""The contamination probe: can the model finish a problem statement it was shown only part of?

Following Wu et al. (2025) as the paper does (Section 2.3, Appendix D): each problem statement is
cut at a portion of its words (0.4, 0.6, 0.8), the prefix is completed greedily with no chat
template, and the completion is compared with the true remainder by ROUGE-L and exact match
(`mta_probe.estimators.rouge`). A model that reproduces the rest of a benchmark's problems has seen them.

Choices the sources leave open, fixed here:
- the cut is by words: the prefix holds the first round(portion x words) whitespace-separated
  words (at least one, and at least one is left), so no word is ever split;
- the completion is compared after keeping its first as many words as the remainder has, since
  a greedy model rarely stops where the statement does;
- the generation budget comes from the true remainder itself: its token count in the model's
  own tokenizer, plus a tenth, plus 16 (`generation_budget`), so that a model that recites the
  statement is never cut off before the end (the former rule, 2 tokens per remaining word plus
  16, cut 17% of MATH-500's remainders and 28% of AIME's in SmolLM2's tokenizer). Without a
  loadable tokenizer (an OpenAI-compatible server naming a model not on this disk) it counts
  characters, which no tokenizer exceeds; `max_tokens`, when set, caps it;
- a remainder shared by several problems (KOR-Bench's cipher items end alike, MATH's "Express
  your answer as a common fraction.") says nothing about memorising any one of them: a clean
  model completes boilerplate. Such items are left out of the headline ROUGE-L and exact match
  (both: the two are read side by side and must describe the same items), reported with their
  count, and the means over every item are kept beside them for comparison with Wu et al.

What is covered / what is not covered: verbatim memorisation of the statements is seen; a leak
of paraphrased problems, of answers without their problems, or of solutions is not; nor is text
outside ASCII letters and digits, which ROUGE-L's tokenizer drops (a CJK task scores 0). A task
generated fresh by a program (reasoning-gym) cannot be contaminated, so its scores show the
floor that a model reaches by guessing ordinary continuations.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mta_probe.errors import BadInputError
from mta_probe.estimators import bootstrap_interval, exact_match, rouge_l, rouge_tokens
from mta_probe.runs import (
    ProbeProgress,
    default_run_dir,
    open_records,
    package_versions,
    prepare_run_dir,
    read_records,
    write_json_atomic,
)
from mta_probe.sampling import SamplingSettings, problem_seed
from mta_probe.tasks import Problem, TaskOptions, load_task

CONTAM_RECORDS = "contam.jsonl"
CONTAM_SUMMARY = "contam.json"
BUDGET_MARGIN = 16  # tokens beyond the remainder's own count (and a tenth of it): a model's own
# tokenization of a memorised text may differ from the tokenizer's at the cut or in rare merges


@dataclass(frozen=True)
class ContamSettings:
    """A contamination probe.

    Attributes:
        model, task, limit, task_options, backend, out, engine_options: as for the pass@k probe.
        portions: fractions of the statement's words shown (Appendix D: 0.4, 0.6, 0.8).
        chat: apply the chat template; off by default, as in Wu et al.: a chat turn asks the
            model to answer, not to continue the text.
        max_tokens: a cap on new tokens per completion; None (the default) lets the budget of
            each remainder decide (`generation_budget`), so no remainder is cut off. A cap that
            cuts some is reported in contam.json (`budget_capped`).
        seed: only matters for backends that are not exactly greedy.
        shared_min: a remainder that this many distinct problems share is boilerplate, left out
            of the headline means (2: any remainder that is not its problem's own).
    """

    model: str = "smollm2-135m"
    task: str = "humaneval"
    portions: tuple[float, ...] = (0.4, 0.6, 0.8)
    chat: bool = False
    max_tokens: int | None = None
    backend: str | None = None
    limit: int | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)
    seed: int = 0
    out: Path | None = None
    engine_options: dict[str, Any] = field(default_factory=dict)
    shared_min: int = 2

    def __post_init__(self) -> None:
        if self.shared_min < 2:
            raise BadInputError(f"shared_min must be at least 2, got {self.shared_min}")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise BadInputError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if not self.portions or any(not 0 < p < 1 for p in self.portions):
            raise BadInputError(f"portions must lie strictly between 0 and 1, got {self.portions}")


@dataclass(frozen=True)
class ContamResult:
    """A finished contamination run: where it lives and its per-portion summary."""

    run_dir: Path
    payload: dict[str, Any]


def truncate(statement: str, portion: float) -> tuple[str, str] | None:
    """Split `statement` after round(portion x words) words; None if it has fewer than 2 words.

    Examples:
        >>> truncate("Find the sum of 3 and 4.", 0.5)
        ('Find the sum of', '3 and 4.')
    """
    if not 0.0 < portion < 1.0:
        raise BadInputError(f"a portion must lie strictly between 0 and 1, got {portion}")
    words = list(re.finditer(r"\S+", statement))
    if len(words) < 2:
        return None
    cut = min(max(round(portion * len(words)), 1), len(words) - 1)
    return statement[: words[cut - 1].end()], statement[words[cut].start():]


def score_item(reference: str, completion: str) -> tuple[str, float, bool]:
    """The completion cut to the remainder's word count, its ROUGE-L, and exact match."""
    kept = " ".join(completion.split()[: len(reference.split())])
    return kept, rouge_l(reference, kept), exact_match(reference, kept)


def _items(problems: list[Problem], portions: tuple[float, ...]) -> list[tuple[Problem, float, str, str]]:
    items = []
    for problem in problems:
        for portion in portions:
            split = truncate(problem.statement, portion)
            if split is not None:
                items.append((problem, portion, *split))
    return items


def probe_contamination(settings: ContamSettings, *,
                        progress: Callable[[ProbeProgress], None] | None = None,
                        on_status: Callable[[str], None] | None = None) -> ContamResult:
    """Run (or resume) a contamination probe; writes `contam.jsonl` and `contam.json`."""
    from mta_probe.sampling import (
        check_engine_options,
        get_backend,
        open_sampler,
        prepare_model,
        resolve_backend,
        resolve_model,
    )

    say = on_status or (lambda _msg: None)
    portions = tuple(sorted(set(settings.portions)))
    ref = resolve_model(settings.model)
    task = load_task(settings.task, limit=settings.limit, options=settings.task_options)
    items = _items(task.problems, portions)
    if not items:
        raise BadInputError(f"no problem of {task.name} has a statement of two words or more")
    backend = resolve_backend(settings.backend)
    check_engine_options(backend, settings.engine_options)
    out = settings.out or default_run_dir("contam", ref.name, task.name, 1, settings.seed,
                                          source=f"{ref.path}|{task.source}")
    identity = {"kind": "contam", "model": ref.name, "model_path": ref.path, "task": task.name,
                "task_source": task.source, "engine_options": dict(settings.engine_options),
                "portions": list(portions), "budget": BUDGET_RULE,
                "chat": settings.chat, "max_tokens": settings.max_tokens, "backend": backend,
                "limit": settings.limit, "seed": settings.seed}
    if prepare_run_dir(out, identity):
        say(f"resuming {out}")
    records, writer = open_records(out / CONTAM_RECORDS)
    done = {(r["problem_id"], r["portion"]) for r in records}
    todo = [item for item in items if (item[0].id, item[1]) not in done]
    with writer:
        if todo:
            # A server's model is never fetched here: its tokenizer is used only if already cached.
            loads = get_backend(backend).loads_model
            checkpoint = prepare_model(ref, on_status=say) if loads else ref.path
            counter = remainder_counter(checkpoint, local_only=not loads)
            sampler = open_sampler(backend, ref, chat=settings.chat, **settings.engine_options)
            try:
                _complete(sampler, counter, todo, settings, writer, len(items), progress)
            finally:
                sampler.close()
    records = list(read_records(out / CONTAM_RECORDS))
    payload = summarize(records, model=ref.name, task=task.name, portions=portions,
                        shared_min=settings.shared_min)
    payload.update(settings={"chat": settings.chat, "max_tokens": settings.max_tokens, "backend": backend,
                             "limit": settings.limit}, versions=package_versions())
    write_json_atomic(out / CONTAM_SUMMARY, payload)
    return ContamResult(run_dir=out, payload=payload)


BUDGET_RULE = ("the remainder's tokens in the model's tokenizer (characters without one) "
               f"+ a tenth + {BUDGET_MARGIN}, capped by max_tokens")


@dataclass(frozen=True)
class RemainderCounter:
    """How long a remainder is, in the unit the generation budget counts.

    Attributes:
        count: text -> its length in `unit`.
        unit: "tokens" (the model's own tokenizer) or "characters" (no tokenizer could be loaded;
            every token but the special ones holds at least one character, so this is an upper
            bound on the tokens a model needs).
    """

    count: Callable[[str], int]
    unit: str


def remainder_counter(checkpoint: str, *, local_only: bool = False) -> RemainderCounter:
    """The model's tokenizer as a RemainderCounter, or characters when it cannot be loaded.

    Args:
        checkpoint: what `prepare_model` returned (a folder or a hub ID).
        local_only: never download (an OpenAI-compatible server's model need not be on the hub).
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(checkpoint, local_files_only=local_only)
    except (OSError, ValueError):
        return RemainderCounter(len, "characters")
    return RemainderCounter(lambda text: len(tokenizer(text, add_special_tokens=False).input_ids), "tokens")


def generation_budget(remainder_length: int, cap: int | None) -> int:
    """New tokens allowed for a remainder of `remainder_length` (tokens or characters)."""
    budget = remainder_length + remainder_length // 10 + BUDGET_MARGIN
    return budget if cap is None else min(cap, budget)


def _complete(sampler: Any, counter: RemainderCounter, todo: list[tuple[Problem, float, str, str]],
              s: ContamSettings, writer: Any, total: int,
              progress: Callable[[ProbeProgress], None] | None) -> None:
    start, tokens, resumed = time.monotonic(), 0, total - len(todo)
    greedy = SamplingSettings(greedy=True, temperature=0.0, stop=())
    for number, (problem, portion, prefix, reference) in enumerate(todo, start=1):
        # what a reciting model writes: the rest of the statement, the space before it included
        length = counter.count(problem.statement[len(prefix):])
        budget = generation_budget(length, s.max_tokens)
        completion = sampler.sample([prefix], 1, replace(greedy, max_tokens=budget),
                                    problem_seed(s.seed, problem.id))[0][0]
        kept, rouge, em = score_item(reference, completion.text)
        writer.append([{"problem_id": problem.id, "portion": portion, "prefix": prefix,
                        "reference": reference, "completion": completion.text, "scored": kept,
                        "rouge_l": rouge, "exact_match": em, "tokens": completion.tokens,
                        "remainder_length": length, "budget_unit": counter.unit, "budget": budget}])
        tokens += completion.tokens
        if progress:
            progress(ProbeProgress(resumed + number, total, tokens, time.monotonic() - start, resumed))


def remainder_key(record: dict[str, Any]) -> str:
    """A record's remainder as ROUGE reads it (so case, spacing and punctuation do not make two
    copies of one text differ); empty for a record without one, which is never shared."""
    return " ".join(rouge_tokens(record.get("reference", "")))


def shared_remainders(records: list[dict[str, Any]], shared_min: int = 2) -> dict[str, set[str]]:
    """Remainders (by `remainder_key`) that `shared_min` or more distinct problems share, with
    those problems."""
    problems: dict[str, set[str]] = {}
    for r in records:
        key = remainder_key(r)
        if key:
            problems.setdefault(key, set()).add(r["problem_id"])
    return {key: ids for key, ids in problems.items() if len(ids) >= shared_min}


def own_records(records: list[dict[str, Any]], shared_min: int = 2) -> list[dict[str, Any]]:
    """The records whose remainder is their problem's own (not in `shared_remainders`)."""
    shared = shared_remainders(records, shared_min)
    return [r for r in records if remainder_key(r) not in shared]


def _means(rows: list[dict[str, Any]]) -> dict[str, Any]:
    scores = np.array([[r["rouge_l"], float(r["exact_match"])] for r in rows])
    low, high = bootstrap_interval(scores)
    return {"rouge_l": float(scores[:, 0].mean()), "rouge_l_interval": [float(low[0]), float(high[0])],
            "exact_match": float(scores[:, 1].mean()),
            "exact_match_interval": [float(low[1]), float(high[1])]}


def summarize(records: list[dict[str, Any]], *, model: str, task: str, portions: tuple[float, ...],
              shared_min: int = 2) -> dict[str, Any]:
    """Per portion: mean ROUGE-L and exact-match rate over the items whose remainder is their own
    (95% bootstrap intervals over problems), and the same over every item (`*_all`)."""
    shared = shared_remainders(records, shared_min)
    rows, left_out, capped = {}, 0, 0
    for portion in portions:
        kept = list({r["problem_id"]: r for r in records if r["portion"] == portion}.values())
        own = [r for r in kept if remainder_key(r) not in shared]
        left_out += len(kept) - len(own)
        capped += sum(1 for r in kept if r.get("budget") is not None
                      and r["budget"] < generation_budget(r["remainder_length"], None))
        if not own:
            continue
        every = _means(kept)
        rows[str(portion)] = {"items": len(own), "shared_left_out": len(kept) - len(own), **_means(own),
                              "rouge_l_all": every["rouge_l"], "exact_match_all": every["exact_match"]}
    most = sorted(shared.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:5]
    return {"model": model, "task": task, "portions": rows,
            "shared_remainders": {"min_problems": shared_min, "items_left_out": left_out,
                                  "distinct": len(shared),
                                  "most_shared": [{"remainder": k, "problems": len(v)} for k, v in most]},
            "budget_capped": capped,
            "scoring": "ROUGE-L F (rouge-score rougeL, no stemming) and exact match of the first words, "
                       "over items whose remainder no other problem shares; *_all over every item; "
                       "see mta_probe/contam.py"}
