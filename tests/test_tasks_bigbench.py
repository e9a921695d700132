"""BIG-Bench Hard and Extra Hard rows (mta_probe/tasks/bigbench.py) to Problems."""

from __future__ import annotations

import pytest
from hubstub import fake_hub

from mta_probe.tasks import bigbench, load_task
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

DATE_ITEM = ("Today is 1/1/2020. What is the date tomorrow?\nOptions:\n(A) 01/02/2020\n(B) 01/03/2020\n"
             "(C) 12/31/2019\n(D) 02/01/2020\n(E) 01/01/2021\n(F) 01/02/2019")


@pytest.mark.parametrize("subset, question, expected", [
    ("boolean_expressions", "not ( True ) and ( True ) is", 2),
    ("web_of_lies", "Question: Does Ka tell the truth?", 2),
    ("date_understanding", DATE_ITEM, 6),
    ("word_sorting", "Sort the following words alphabetically: List: oven costume", None),
    ("object_counting", "I have a flute and a piano. How many instruments do I have?", None),
])
def test_bbh_num_choices(subset: str, question: str, expected: int | None):
    problem = bigbench.bbh_problem({"input": question, "target": "(A)"}, subset, 4)
    assert (problem.id, problem.num_choices, problem.gold) == (f"{subset}/4", expected, "(A)")
    assert problem.prompt == ANSWER_TAG_TEMPLATE.format(question=question)


def test_bbh_concatenates_27_subsets_and_bbeh_counts_within_tasks(monkeypatch: pytest.MonkeyPatch):
    rows = {("lukaemon/bbh", s): [{"input": f"{s} q{i}", "target": "x"} for i in range(2)]
            for s in bigbench.BBH_SUBSETS}
    rows[("BBEH/bbeh", None)] = [{"input": "a", "target": "1", "task": "t1"},
                                 {"input": "b", "target": "2", "task": "t2"},
                                 {"input": "c", "target": "3", "task": "t1"}]
    fake_hub(monkeypatch, rows=rows)
    bbh = load_task("bbh").problems
    assert len(bigbench.BBH_SUBSETS) == 27 and len(bbh) == 54 == len({p.id for p in bbh})
    assert [p.id for p in load_task("bbeh").problems] == ["t1/0", "t2/0", "t1/1"]
