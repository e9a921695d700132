"""verl's parquet rows: layout, round trip of the Problem, repetition, TTRL and one-shot rows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mta_probe.tasks import Problem, TaskOptions, load_task
from mta_train.data import training_prompt
from mta_train.parquet import (
    ability,
    prepare_data,
    problem_from_extra_info,
    problem_row,
    read_rows,
    repeated_rows,
    write_rows,
)
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.techniques import get_technique

FIXTURES = Path(__file__).parent / "fixtures"
PROBLEM = Problem(id="p1", prompt="What is 2+2? Put it in \\boxed{}.", statement="What is 2+2?",
                  gold="4", num_choices=None, meta={"source": {"nested": [1, 2]}, "level": 3})


def _settings(technique: str, **changes) -> TrainSettings:
    dapo = DapoSettings(batch_size=16, mini_batch_size=8)
    return TrainSettings(technique=technique, backend="verl", dapo=dapo, **changes)


def test_row_layout_matches_verl_preprocessors() -> None:
    row = problem_row(PROBLEM, "math", data_source="math500", split="train", index=7)
    assert set(row) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    assert row["data_source"] == "math500"
    assert row["prompt"] == [{"role": "user", "content": training_prompt(PROBLEM, "math")}]
    assert "<answer>" in row["prompt"][0]["content"]  # the paper's format instruction
    assert row["ability"] == "math"
    assert row["reward_model"] == {"style": "rule", "ground_truth": "4"}
    info = row["extra_info"]
    assert (info["split"], info["index"], info["problem_id"], info["verifier"]) == (
        "train", 7, "p1", "math")


def test_problem_survives_parquet_round_trip(tmp_path: Path) -> None:
    other = Problem(id="p2", prompt="q", statement="q", gold="yes", num_choices=2, meta={})
    rows = [problem_row(PROBLEM, "math", data_source="t", split="train", index=0),
            problem_row(other, "exact", data_source="t", split="train", index=1)]
    back = read_rows(write_rows(rows, tmp_path / "x.parquet"))
    assert back == rows
    assert problem_from_extra_info(back[0]["extra_info"]) == (PROBLEM, "math")
    assert problem_from_extra_info(back[1]["extra_info"]) == (other, "exact")


def test_ability_by_verifier() -> None:
    assert [ability(v) for v in ("math", "math-lenient", "code", "code-io", "kor", "gym")] == [
        "math", "math", "code", "code", "logic", "logic"]


def test_rows_repeat_in_order_to_fill_a_batch() -> None:
    problems = (PROBLEM, Problem(id="p2", prompt="q", statement="q", gold="1"))
    rows = repeated_rows(problems, "math", data_source="t", split="train", min_rows=5)
    assert [r["extra_info"]["problem_id"] for r in rows] == ["p1", "p2", "p1", "p2", "p1"]
    assert [r["extra_info"]["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert len(repeated_rows(problems, "math", data_source="t", split="train", min_rows=1)) == 2


def test_prepare_data_train_and_validation(tmp_path: Path) -> None:
    settings = _settings("ground-truth", eval_tasks=("arith-quick",), eval_limit=3)
    data = prepare_data(settings, tmp_path)
    train = read_rows(data.train_file)
    # arith-quick has 10 problems: repeated to one batch of 16.
    assert data.train_rows == len(train) == 16
    assert data.train_task == "arith-quick"
    loaded = load_task("arith-quick")
    assert [r["extra_info"]["problem_id"] for r in train[:10]] == [p.id for p in loaded.problems]
    (val_file,) = data.val_files
    val = read_rows(val_file)
    assert len(val) == 3 and {r["extra_info"]["split"] for r in val} == {"val"}
    assert {r["extra_info"]["split"] for r in train} == {"train"}
    # the paper's protocol validates with the training prompt
    assert val[0]["prompt"] == train[0]["prompt"]


def test_validation_rows_repeat_k_times_with_the_protocols_prompt(tmp_path: Path) -> None:
    """verl validates with n=1 (as the paper's scripts): k rows per problem give avg@k."""
    settings = _settings("ground-truth", eval_tasks=("arith-quick",), eval_limit=2, eval_k=3,
                         eval_protocol="probe")
    val = read_rows(prepare_data(settings, tmp_path).val_files[0])
    loaded = load_task("arith-quick", limit=2)
    assert [r["extra_info"]["problem_id"] for r in val] == [p.id for p in loaded.problems for _ in range(3)]
    assert val[0]["prompt"][0]["content"] == loaded.problems[0].prompt  # the task's own prompt


def test_fixed_incorrect_labels_are_refused_unlabelled(tmp_path: Path) -> None:
    from mta_probe.errors import BadInputError

    options = TaskOptions(verifier="math")
    fixture = str(FIXTURES / "user_math.jsonl")
    settings = replace(_settings("incorrect"), task=fixture, task_options=options)
    with pytest.raises(BadInputError, match="fixed"):
        prepare_data(settings, tmp_path)
    online = replace(settings, variant="online")
    assert prepare_data(online, tmp_path).train_rows >= 16


def test_one_shot_repeats_the_example(tmp_path: Path) -> None:
    example = load_task("arith-quick").problems[4].id
    data = prepare_data(_settings("one-shot", one_shot=(example,)), tmp_path,
                        get_technique("one-shot"))
    rows = read_rows(data.train_file)
    assert len(rows) == 16 and {r["extra_info"]["problem_id"] for r in rows} == {example}


def test_ttrl_trains_on_the_evaluation_set(tmp_path: Path) -> None:
    options = TaskOptions(verifier="math")
    fixture = str(FIXTURES / "user_math.jsonl")
    data = prepare_data(_settings("ttrl", eval_tasks=(fixture,), task_options=options), tmp_path)
    rows = read_rows(data.train_file)
    eval_ids = [p.id for p in load_task(fixture, options=options).problems]
    assert data.train_task == load_task(fixture, options=options).name
    assert {r["extra_info"]["problem_id"] for r in rows} == set(eval_ids)
    assert {r["data_source"] for r in rows} == {data.train_task}


def test_verl_dataset_reads_the_rows(tmp_path: Path) -> None:
    pytest.importorskip("verl")
    from omegaconf import OmegaConf
    from tinymodel import build_tiny_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    data = prepare_data(_settings("ground-truth"), tmp_path)
    config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 512,
                               "filter_overlong_prompts": True, "truncation": "error",
                               "return_raw_chat": True})
    dataset = RLHFDataset(data_files=[str(data.train_file)], tokenizer=build_tiny_tokenizer(),
                          config=config, processor=None)
    assert len(dataset) == 16
    item = dataset[3]
    assert item["index"] == 3  # verl reads extra_info.index
    assert item["raw_prompt"][0]["role"] == "user"
    assert problem_from_extra_info(item["extra_info"])[0].id == item["extra_info"]["problem_id"]
