"""BBH and BBEH scoring (mta_probe/verify/bigbench.py) against their official scorers.

Table tests run everywhere. The comparisons load the official scorers at test time and skip
cleanly without them: BBEH's evaluate.py from a clone (MTA_BBEH_CLONE, else shared/scorers/bbeh),
SynLogic's BBH verifiers from shared/benchmarks/synlogic, BBH's published Codex outputs from a
clone (MTA_BBH_CLONE, else shared/scorers/big-bench-hard): tests/benchdata.py finds them.
bench/bigbench_agreement.py runs the same comparisons on every item and prints the tables of
docs/verifiers.md.
"""

from __future__ import annotations

import json

import pytest
from benchdata import benchmark_dir, scorer_clone
from bigbench_forms import (
    MTA_ACCEPTS,
    MTA_REJECTS,
    bbeh_forms,
    bbh_forms,
    bbh_paper_metric,
    load_bbeh_evaluate,
    load_synlogic_bbh,
    synlogic_bbh_verdict,
)

from mta_probe.tasks import Problem, TaskOptions, load_task
from mta_probe.verify import NO_ANSWER, verify_one
from mta_probe.verify.bigbench import LETTER_GOLD, SEVERAL_ANSWERS

THINK = "<think>reasoning</think>\n"
DATE = ("Today is Christmas Eve of 1937. What is the date tomorrow in MM/DD/YYYY?\nOptions:\n"
        "(A) 12/11/1937\n(B) 12/25/1937\n(C) 01/04/1938\n(D) 12/04/1937")
WORDS = "Sort the following words alphabetically: List: thrill splutter it&t you've"


def bbh(subset: str, gold: str, statement: str = "q") -> Problem:
    return Problem(id=f"{subset}/0", prompt=statement, statement=statement, gold=gold,
                   meta={"subset": subset})


@pytest.mark.parametrize("completion, expected", [
    (THINK + "<answer>(B)</answer>", (True, "(B)")),
    (THINK + "<answer>B</answer>", (True, "(B)")),  # a bare letter names option (B)
    (THINK + "<answer>(B) 12/25/1937</answer>", (True, "(B)")),
    (THINK + "<answer>**(B)**</answer>", (True, "(B)")),
    (THINK + "<answer>So the answer is (B).</answer>", (True, "(B)")),
    ("Let's think step by step.\nSo the answer is (B).", (True, "(B)")),
    ("So the answer is (B) 12/25/1937.", (True, "(B)")),
    ("Final Answer: \\boxed{B}", (True, "(B)")),
    ("(B)", (True, "(B)")),  # a direct answer
    ("(B) 12/25/1937", (True, "(B)")),
    (THINK + "<answer>(A)</answer>", (False, "(A)")),
    (THINK + "<answer>12/25/1937</answer>", (False, None)),  # option text alone: both scorers reject
    (THINK + "<answer>(B) or (C)</answer>", (False, "(B) or (C)")),  # SynLogic takes the first
    ("If we look at (B), it says that", (False, None)),  # reasoning cut off, no answer given
    ("<think>The answer is (B)?</think>\n(C)", (False, "(C)")),  # reasoning is not the answer
    (THINK + "<answer></answer>", (False, None)),
    ("", (False, None)),
])
def test_bbh_multiple_choice(completion: str, expected: tuple):
    verdict = verify_one("bbh", completion, bbh("date_understanding", "(B)", DATE))
    assert (verdict.correct, verdict.answer if verdict.correct or verdict.reason != NO_ANSWER
            else None) == expected
    if expected == (False, "(B) or (C)"):
        assert verdict.reason == SEVERAL_ANSWERS


@pytest.mark.parametrize("subset, gold, answer, correct", [
    ("boolean_expressions", "True", "True", True),
    ("boolean_expressions", "True", "true", True),
    ("boolean_expressions", "True", "It evaluates to True.", True),
    ("boolean_expressions", "True", "False", False),
    ("boolean_expressions", "True", "True or False", False),
    ("causal_judgement", "Yes", "yes", True),
    ("navigate", "No", "No.", True),
    ("formal_fallacies", "invalid", "The argument is invalid.", True),
    ("formal_fallacies", "invalid", "valid", False),
    ("sports_understanding", "no", "The sentence is not plausible.", True),
    ("sports_understanding", "no", "plausible", False),
    ("sports_understanding", "yes", "plausible", True),
    ("web_of_lies", "No", "Ka does not tell the truth.", True),
    ("web_of_lies", "Yes", "Ka tells the truth.", True),
    ("web_of_lies", "Yes", "Ka does not tell the truth.", False),
    ("multistep_arithmetic_two", "-50", "-50", True),
    ("multistep_arithmetic_two", "-50", "-50.0", True),
    ("multistep_arithmetic_two", "24", "24.5", False),  # SynLogic reads the integer part only
    ("multistep_arithmetic_two", "24", "3 + 21 = 24", False),
    ("multistep_arithmetic_two", "11050", "11,050", False),  # both official scorers reject it
    ("object_counting", "8", "There are 8 items.", True),
    ("dyck_languages", "] ] >", "] ] >", True),
    ("dyck_languages", "] ] >", "]]>", False),
    ("dyck_languages", "] ] >", "] >", False),
    ("word_sorting", "it&t splutter thrill you've", "it&t splutter thrill you've", True),
    ("word_sorting", "it&t splutter thrill you've", "it&t, splutter, thrill, you've.", True),
    ("word_sorting", "it&t splutter thrill you've", "splutter it&t thrill you've", False),
    ("word_sorting", "it&t splutter thrill you've", "it&t splutter thrill thrill you've", False),
    ("movie_recommendation", "Monsters, Inc", "Monsters, Inc.", True),  # an upstream text target
])
def test_bbh_answer_kinds(subset: str, gold: str, answer: str, correct: bool):
    problem = bbh(subset, gold, WORDS if subset == "word_sorting" else "q")
    assert verify_one("bbh", f"{THINK}<answer>{answer}</answer>", problem).correct is correct
    assert verify_one("bbh", f"Reasoning.\nSo the answer is {answer}.", problem).correct is correct


def test_bbh_empty_answer_is_never_correct():
    for gold in ("(A)", "True", "24", "] ]"):
        for completion in ("", "   ", THINK, THINK + "<answer> </answer>", "The answer is"):
            assert not verify_one("bbh", completion, bbh("x", gold)).correct


# (completion, target, evaluate.py's verdict, read from bbeh/evaluate.py)
BBEH_TABLE = [
    ("Ok The final answer is: \\boxed{4}.", "4", True),
    ("[Reasoning] The final answer is: \\boxed{4}.", "3", False),
    ("Alright! The final answer is: 2, 3, 4", "2,3,4", True),
    ("blah blah The final answer is: 2, 3, 4", "2,3,5", False),
    ("Ok The answer is: (A)", "a", True),
    ("Ok The answer is: (A)", "b", False),
    ("Ok The answer is: **25**\nHere's why.", "25.0", True),
    ("The answer is: A", "(A)", True),
    ("The answer is: (A) 12/25/1937", "(A)", False),  # (a) = a only for the bare letter
    ("The answer is: (1)", "1.0", False),  # a 3-character "(x)" is settled by its letter alone
    ("The answer is: 404", "404.0", True),
    ("The answer is: thursday", "[thursday]", True),
    ("The answer is: [emma, lily]", "[emma, lily]", True),
    ("The answer is: emma, lily", "[emma, lily]", True),
    ("The answer is: Did we go", "Did we go?", False),  # only the prediction's "?" is dropped
    ("The answer is: did we go?", "Did we go", True),
    ("The answer is: the strangers dog", "the stranger's dog", True),
    ("The answer is: He really cried.", "He really cried.", False),  # evaluate.py drops the period
    ("The answer is $\\text{unanswerable}$", "unanswerable", True),
    ("Answer: 7", "7", False),  # no prefix: the whole first line is the answer
    ("7\nbecause ...", "7", True),
    ("The answer is: 7. The answer is 8", "8", True),  # each prefix applies to what is left
    ("<think>The answer is: 3</think><answer>7</answer>", "7", True),  # mta: the tag's content
    ("<think>x</think><answer></answer>", "[]", False),  # evaluate.py: [] = "", mta: empty is wrong
]


@pytest.mark.parametrize("completion, target, official", BBEH_TABLE)
def test_bbeh_table(completion: str, target: str, official: bool):
    problem = Problem(id="t/0", prompt="q", statement="q", gold=target, meta={"task": "t"})
    assert verify_one("bbeh", completion, problem).correct is official


def test_bbeh_table_matches_official_evaluate():
    clone = scorer_clone("MTA_BBEH_CLONE", "bbeh", "bbeh/evaluate.py", "evaluate.py")
    evaluate = load_bbeh_evaluate(clone)
    for completion, target, official in BBEH_TABLE:
        twin = completion.split("<answer>")[-1].split("</answer>")[0] if "<answer>" in completion \
            else completion
        expected = official if (completion, target) != BBEH_TABLE[-1][:2] else True
        assert evaluate.evaluate_correctness(twin, target) is expected, completion


def test_bbeh_real_targets_in_model_forms_agree_with_evaluate():
    """Every distinct real BBEH target (1,386 of the 4,520 items), in every variant, after BBEH's
    prefix and in mta's tag, and another item's target: evaluate.py and mta agree, except that an
    empty answer is never right in mta (two targets are "[]", which evaluate.py matches with an
    empty answer). The bench runs all items in all six wrappers."""
    clone = scorer_clone("MTA_BBEH_CLONE", "bbeh", "bbeh/evaluate.py", "evaluate.py")
    evaluate = load_bbeh_evaluate(clone)
    problems = load_task("bbeh", options=TaskOptions(data_dir=benchmark_dir("bbeh"))).problems
    distinct = list({problem.gold: problem for problem in problems}.values())
    disagreements, accepted = [], 0
    for index, problem in enumerate(distinct):
        for family, text, official_text in bbeh_forms(problem.gold, distinct[index - 1].gold):
            if not family.endswith(("/w0", "/tag")) and family != "no-answer":
                continue
            official = evaluate.evaluate_correctness(official_text, problem.gold)
            accepted += official
            if verify_one("bbeh", text, problem).correct != official:
                disagreements.append((family, problem.gold))
    assert accepted > 30_000
    # The two "[]" targets are one distinct target: its empty forms, bare and in the tag.
    assert sorted(disagreements) == [("empty/tag", "[]"), ("unbracketed/tag", "[]"),
                                     ("unbracketed/w0", "[]")]


@pytest.fixture(scope="module")
def synlogic_bbh():
    return load_synlogic_bbh(benchmark_dir("synlogic"))


def test_bbh_forms_agree_with_official_scorers(synlogic_bbh):
    """Real BBH items (every 13th; the bench runs all 6,511) in every form: what BBH's metric or
    SynLogic's verifier accepts, mta accepts; what both reject, mta rejects, but for the forms it
    accepts on purpose; hedges SynLogic's first-match search accepts, mta rejects."""
    verifiers, data_class = synlogic_bbh
    problems = load_task("bbh", options=TaskOptions(data_dir=benchmark_dir("bbh"))).problems[::13]
    counts = {"accepted": 0, "rejected": 0, "hedges": 0}
    for problem in problems:
        text_target = not LETTER_GOLD.match(problem.gold) and "(A)" in problem.statement
        for family, text, _ in bbh_forms(problem):
            official = (bbh_paper_metric(text, problem.gold)
                        or synlogic_bbh_verdict(verifiers, data_class, text, problem))
            mta = verify_one("bbh", text, problem).correct
            if family in MTA_REJECTS:
                counts["hedges"] += official
                assert not mta, (problem.id, family)
            elif official:
                counts["accepted"] += 1
                assert mta, (problem.id, family, text)
            elif not (family in MTA_ACCEPTS or text_target):
                counts["rejected"] += 1
                assert not mta, (problem.id, family, text)
    assert counts["accepted"] > 4000 and counts["rejected"] > 4000 and counts["hedges"] > 500


def test_bbh_paper_metric_reproduces_published_codex_accuracy():
    """BBH's published Codex outputs (CoT and direct, 27 subsets each): BBH's metric as
    bigbench_forms writes it gives the published accuracy, and mta agrees on every output."""
    clone = scorer_clone("MTA_BBH_CLONE", "big-bench-hard", "code-davinci-002-outputs")
    problems = {p.id: p for p in load_task("bbh", options=TaskOptions(
        data_dir=benchmark_dir("bbh"))).problems}
    files = sorted((clone / "code-davinci-002-outputs").glob("*/*_few_shot_template_0-255000.json"))
    assert len(files) == 54
    for path in files:
        subset = path.name.split("_few_shot")[0]
        outputs = json.loads(path.read_text())["outputs"]
        metrics = path.with_name(path.stem + "_eval_metrics.jsonl").read_text().splitlines()[0]
        paper = [bbh_paper_metric(o["prediction"], o["target"]) for o in outputs]
        assert 100 * sum(paper) / len(paper) == pytest.approx(json.loads(metrics)["accuracy"])
        mta = [verify_one("bbh", o["prediction"], problems[f"{subset}/{i}"]).correct
               for i, o in enumerate(outputs)]
        assert mta == paper, subset
