"""Competition math rows (mta_probe/tasks/competition_math.py) to Problems."""

from __future__ import annotations

from mta_probe.tasks import competition_math


def test_math_rows():
    m = competition_math.math500_problem({"problem": "Compute $1+1$.", "solution": "...", "answer": "2",
                                      "subject": "Algebra", "level": 1,
                                      "unique_id": "test/algebra/1.json"})
    assert (m.id, m.gold, m.statement) == ("test/algebra/1.json", "2", "Compute $1+1$.")
    assert m.prompt == ("Compute $1+1$.\n\nPlease reason step by step, and put your final answer "
                        "within \\boxed{}.")
    a = competition_math.aime24_problem({"id": 60, "problem": "Find $x$.", "solution": "", "answer": "204",
                                     "url": "u", "year": "2024"})
    assert (a.id, a.gold) == ("60", "204")
    c = competition_math.amc23_problem({"id": 3, "question": "How many?", "answer": 27.0, "url": "u"}, 0)
    assert (c.id, c.gold, c.statement) == ("3", "27", "How many?")
