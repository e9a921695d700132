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


def answer_tag_problem(pid: str, question: str, gold: Any, *, num_choices: int | None = None,
                       **meta: Any) -> Problem:
    """A Problem whose prompt asks for <think>...</think><answer>...</answer>."""
    return Problem(id=pid, prompt=ANSWER_TAG_TEMPLATE.format(question=question), statement=question,
                   gold=answer_text(gold), num_choices=num_choices, meta=dict(meta))


def bbh_num_choices(subset: str, question: str) -> int | None:
    """Size of the answer set of a BBH item: 2 for yes/no-like subsets, the option count for
    multiple choice, None for free-form answers."""
    if subset in BBH_BINARY:
        return 2
    if subset in BBH_FREE_FORM:
        return None
    return len(_OPTION_LINE.findall(question)) or None


def bbh_problem(row: dict[str, Any], subset: str, index: int) -> Problem:
    """lukaemon/bbh row (input, target) of one subset to a Problem."""
    return answer_tag_problem(f"{subset}/{index}", row["input"], row["target"],
                              num_choices=bbh_num_choices(subset, row["input"]), subset=subset)


def bbeh_problem(row: dict[str, Any], index: int) -> Problem:
    """BBEH/bbeh row (input, target, task) to a Problem; ids count items within their task."""
    return answer_tag_problem(f"{row['task']}/{index}", row["input"], row["target"], task=row["task"])


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
