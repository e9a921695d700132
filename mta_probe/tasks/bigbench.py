"""BIG-Bench Hard and BIG-Bench Extra Hard, read from the hub."""

from __future__ import annotations

import re
from typing import Any

from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import TaskOptions
from mta_probe.tasks.problem import Problem, answer_text
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

BBH_SUBSETS = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa",
    "dyck_languages", "formal_fallacies", "geometric_shapes", "hyperbaton",
    "logical_deduction_five_objects", "logical_deduction_seven_objects",
    "logical_deduction_three_objects", "movie_recommendation", "multistep_arithmetic_two",
    "navigate", "object_counting", "penguins_in_a_table", "reasoning_about_colored_objects",
    "ruin_names", "salient_translation_error_detection", "snarks", "sports_understanding",
    "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects",
    "web_of_lies", "word_sorting",
)
# Two-valued targets (True/False, Yes/No, valid/invalid); the other non-free-form subsets list
# their options as "(A) ..." lines, counted per item.
BBH_BINARY = frozenset({"boolean_expressions", "causal_judgement", "formal_fallacies", "navigate",
                        "sports_understanding", "web_of_lies"})
BBH_FREE_FORM = frozenset({"dyck_languages", "multistep_arithmetic_two", "object_counting",
                           "word_sorting"})
_OPTION_LINE = re.compile(r"^\([A-Z]\)", re.MULTILINE)
_OPTION_TARGET = re.compile(r"\([A-Z]\)")
# BBEH answer sets, read on the 23 real task.json files: fixed words (proved/disproved/unknown;
# Yes/No/Ambiguous; three 0/1 labels), option lines "(A) ..." counted per item, and multi-select
# hyperbaton ("a concatenation of all the correct choices", the last option "None of the above").
# web_of_lies asks three yes/no (or yes/no/unknown) questions, zebra_puzzles a position 1..N. The
# other tasks (numbers, lists, words; sportqa's multi-select per sub-question) are open.
BBEH_FIXED = {"boardgame_qa": 3, "causal_understanding": 3, "sarc_triples": 2 ** 3}
BBEH_OPTION_LINES = frozenset({"boolean_expressions", "disambiguation_qa", "geometric_shapes",
                               "movie_recommendation", "nycc", "shuffled_objects"})
_PEOPLE = re.compile(r"There are (\d+) people")


def answer_tag_problem(pid: str, question: str, gold: Any, *, num_choices: int | None = None,
                       **meta: Any) -> Problem:
    """A Problem whose prompt asks for <think>...</think><answer>...</answer>."""
    return Problem(id=pid, prompt=ANSWER_TAG_TEMPLATE.format(question=question), statement=question,
                   gold=answer_text(gold), num_choices=num_choices, meta=dict(meta))


def bbh_num_choices(subset: str, question: str, target: str | None = None) -> int | None:
    """Size of the answer set of a BBH item: 2 for yes/no-like subsets, the option count for
    multiple choice, None for free-form answers. Checked on all 27 real files: 6 binary subsets, 4
    free-form, 17 with 2 to 18 "(A)" lines per item (one snarks item is cut after "(A)": 1). Three
    items (ruin_names 99 and 144, movie_recommendation 163) have a text target that no option
    letter matches (their options were split at commas): open, given `target`."""
    if subset in BBH_BINARY:
        return 2
    if subset in BBH_FREE_FORM:
        return None
    if target is not None and not _OPTION_TARGET.fullmatch(target.strip()):
        return None
    return len(_OPTION_LINE.findall(question)) or None


def bbeh_num_choices(task: str, question: str) -> int | None:
    """Size of the answer set of a BBEH item (see BBEH_FIXED and the note above it); None when open.

    Args:
        task: the BBEH task, as the hub (`boardgame qa`) or the GitHub folders (`bbeh_boardgame_qa`)
            name it.
        question: the item's input.
    """
    name = re.sub(r"[\s-]+", "_", task.strip().lower()).removeprefix("bbeh_")
    if name in BBEH_FIXED:
        return BBEH_FIXED[name]
    if name in BBEH_OPTION_LINES:
        return len(_OPTION_LINE.findall(question)) or None
    if name == "hyperbaton":  # any subset of the real options, or "None of the above"
        return 2 ** (len(_OPTION_LINE.findall(question)) - 1) or None
    if name == "web_of_lies":
        return (3 if "unknown" in question[-600:] else 2) ** 3
    if name == "zebra_puzzles":
        people = _PEOPLE.search(question)
        return int(people.group(1)) if people else None
    return None


def bbh_problem(row: dict[str, Any], subset: str, index: int) -> Problem:
    """lukaemon/bbh row (input, target) of one subset to a Problem."""
    return answer_tag_problem(f"{subset}/{index}", row["input"], row["target"],
                              num_choices=bbh_num_choices(subset, row["input"], str(row["target"])),
                              subset=subset)


def bbeh_problem(row: dict[str, Any], index: int) -> Problem:
    """BBEH/bbeh row (input, target, task) to a Problem; ids count items within their task."""
    return answer_tag_problem(f"{row['task']}/{index}", row["input"], row["target"],
                              num_choices=bbeh_num_choices(row["task"], row["input"]), task=row["task"])


def load_bbh(options: TaskOptions) -> list[Problem]:
    """BIG-Bench Hard: the test split of all 27 configs, in BBH_SUBSETS order; `options` is unused."""
    return [bbh_problem(r, subset, i) for subset in BBH_SUBSETS
            for i, r in enumerate(hub_rows("lukaemon/bbh", subset, "test"))]


def load_bbeh(options: TaskOptions) -> list[Problem]:
    """BIG-Bench Extra Hard (its only split, train) from the hub; `options` is unused."""
    seen: dict[str, int] = {}
    problems = []
    for row in hub_rows("BBEH/bbeh", None, "train"):
        index = seen[row["task"]] = seen.get(row["task"], -1) + 1
        problems.append(bbeh_problem(row, index))
    return problems
