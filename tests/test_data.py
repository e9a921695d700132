"""What a train run trains on: training prompts, training sets and the batch stream."""

from __future__ import annotations

from collections import Counter

import pytest

from mta_probe.errors import BadInputError
from mta_probe.tasks import Problem, load_task
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE, MATH_TEMPLATE
from mta_train.data import prompt_batch, training_prompt, training_set
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.techniques import TECHNIQUES

STATEMENT = "Compute $\\frac{1}{2} + \\frac{1}{4}$."


def problems(count: int) -> tuple[Problem, ...]:
    return tuple(Problem(id=str(i), prompt=f"q{i}", statement=f"q{i}", gold=str(i))
                 for i in range(count))


def ids(batch: list[Problem]) -> list[str]:
    return [p.id for p in batch]


# --- training_prompt -------------------------------------------------------------------------

def test_math_prompt_asks_for_think_and_answer_around_the_statement() -> None:
    problem = Problem(id="m", prompt=MATH_TEMPLATE.format(problem=STATEMENT),
                      statement=STATEMENT, gold="\\frac{3}{4}")
    for verifier in ("math", "math-lenient"):
        prompt = training_prompt(problem, verifier)
        assert prompt == ANSWER_TAG_TEMPLATE.format(question=STATEMENT)
        assert prompt.startswith(STATEMENT)
        assert "<think>" in prompt and "<answer>" in prompt
        assert "\\boxed" not in prompt  # the probe's math instruction is gone


def test_code_prompt_is_kept() -> None:
    problem = load_task("humaneval", limit=1).problems[0]
    assert training_prompt(problem, "code") == problem.prompt
    assert "<answer>" not in training_prompt(problem, "code")


def test_prompt_that_already_asks_for_the_tags_is_kept() -> None:
    problem = load_task("arith-quick").problems[0]
    assert "<answer>" in problem.prompt
    assert training_prompt(problem, "gym") == problem.prompt


@pytest.mark.parametrize("verifier", ["math", "normalized", "gym", "code"])
def test_the_task_style_keeps_the_tasks_own_prompt(verifier: str) -> None:
    problem = Problem(id="c", prompt="Q: capital of Peru?\nA: The answer is Lima.\n\nQ: capital of Chad?\nA:",
                      statement="s", gold="N'Djamena")
    assert training_prompt(problem, verifier, "task") == problem.prompt
    assert training_prompt(problem, verifier, "paper") != problem.prompt or verifier == "code"


@pytest.mark.parametrize("verifier", ["exact", "normalized", "kor"])
def test_other_prompts_get_the_tag_instruction(verifier: str) -> None:
    problem = Problem(id="l", prompt="Rule: ...\n### Answer:\n", statement="s", gold="x")
    assert training_prompt(problem, verifier) == ANSWER_TAG_TEMPLATE.format(
        question=problem.prompt)


# --- prompt_batch ----------------------------------------------------------------------------

def test_batches_are_deterministic_and_depend_on_the_seed() -> None:
    pool = problems(10)
    first = [ids(prompt_batch(pool, index, 5, seed=1)) for index in range(4)]
    assert first == [ids(prompt_batch(pool, index, 5, seed=1)) for index in range(4)]
    assert first != [ids(prompt_batch(pool, index, 5, seed=2)) for index in range(4)]
    assert ids(prompt_batch(pool, 0, 10, seed=1)) != [p.id for p in pool]  # shuffled


@pytest.mark.parametrize(("count", "size"), [(12, 4), (12, 3), (10, 10), (8, 1)])
def test_every_problem_once_per_epoch(count: int, size: int) -> None:
    pool = problems(count)
    per_epoch = count // size
    for epoch in range(3):
        seen = [p.id for index in range(epoch * per_epoch, (epoch + 1) * per_epoch)
                for p in prompt_batch(pool, index, size, seed=7)]
        assert sorted(seen) == sorted(p.id for p in pool)


def test_epochs_are_shuffled_differently() -> None:
    pool = problems(12)
    epochs = [ids(prompt_batch(pool, epoch, 12, seed=0)) for epoch in range(3)]
    assert len({tuple(e) for e in epochs}) == 3


def test_stream_does_not_depend_on_the_batch_size() -> None:
    """Batch `index` is a window of one endless stream: a resumed run draws the same prompts."""
    pool = problems(7)
    big = [p.id for index in range(3) for p in prompt_batch(pool, index, 6, seed=3)]
    small = [p.id for index in range(9) for p in prompt_batch(pool, index, 2, seed=3)]
    assert big == small


def test_one_problem_fills_the_batch() -> None:
    pool = problems(1)
    assert ids(prompt_batch(pool, 0, 8, seed=0)) == ["0"] * 8
    assert ids(prompt_batch(pool, 5, 3, seed=4)) == ["0"] * 3


def test_fewer_problems_than_the_batch_repeat_evenly() -> None:
    pool = problems(3)
    batch = ids(prompt_batch(pool, 0, 7, seed=0))
    assert len(batch) == 7
    assert sorted(batch[:3]) == sorted(batch[3:6]) == ["0", "1", "2"]
    assert sorted(Counter(batch).values()) == [2, 2, 3]


# --- training_set ----------------------------------------------------------------------------

def settings(technique: str, **fields: object) -> TrainSettings:
    return TrainSettings(technique=technique, task="arith-quick", **fields)


def test_train_set_is_the_training_task() -> None:
    data = training_set(settings("ground-truth"), TECHNIQUES["ground-truth"])
    assert (data.task, data.verifier) == ("arith-quick", "gym")
    assert [p.id for p in data.problems] == [p.id for p in load_task("arith-quick").problems]
    limited = training_set(settings("ground-truth", train_limit=3), TECHNIQUES["ground-truth"])
    assert [p.id for p in limited.problems] == [p.id for p in data.problems[:3]]


@pytest.mark.parametrize("chosen", [("chain_sum/0/3",), ("chain_sum/0/7", "chain_sum/0/2")])
def test_one_shot_picks_the_given_ids(chosen: tuple[str, ...]) -> None:
    data = training_set(settings("one-shot", one_shot=chosen), TECHNIQUES["one-shot"])
    assert tuple(p.id for p in data.problems) == chosen
    assert data.task == "arith-quick"


def test_one_shot_refuses_an_unknown_id() -> None:
    with pytest.raises(BadInputError, match="chain_sum/0/99"):
        training_set(settings("one-shot", one_shot=("chain_sum/0/1", "chain_sum/0/99")),
                     TECHNIQUES["one-shot"])


def test_one_shot_without_ids_draws_one_with_the_seed() -> None:
    all_ids = {p.id for p in load_task("arith-quick").problems}
    picks = []
    for seed in range(8):
        dapo = DapoSettings.small(seed=seed)
        data = training_set(settings("one-shot", dapo=dapo), TECHNIQUES["one-shot"])
        again = training_set(settings("one-shot", dapo=dapo), TECHNIQUES["one-shot"])
        assert len(data.problems) == 1
        assert data.problems == again.problems  # same seed, same example
        picks.append(data.problems[0].id)
    assert set(picks) <= all_ids
    assert len(set(picks)) > 1  # the seed matters


def test_ttrl_trains_on_the_evaluation_task() -> None:
    chosen = settings("ttrl", eval_tasks=("humaneval", "arith-quick"), eval_limit=2)
    assert TECHNIQUES["ttrl"].data == "eval"
    data = training_set(chosen, TECHNIQUES["ttrl"])
    assert (data.task, data.verifier) == ("humaneval", "code")
    assert [p.id for p in data.problems] == ["HumanEval/0", "HumanEval/1"]


def test_ttrl_defaults_to_the_training_task_as_evaluation() -> None:
    data = training_set(settings("ttrl"), TECHNIQUES["ttrl"])
    assert data.task == "arith-quick"
    assert len(data.problems) == 10
