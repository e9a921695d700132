"""The alignment rule: the paper's own categories, the pieces of the rule, and run directories."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from benchdata import benchmark_dir

from mta_probe.align import AlignSettings, probe_alignment
from mta_probe.category import (
    AlignRule,
    Contamination,
    Curve,
    alignment_score,
    categorize,
    judge,
    reference_k,
)
from mta_probe.errors import BadInputError, RunMismatchError
from mta_probe.estimators import chance_pass_at_k, default_ks, estimate
from mta_probe.tasks import TASKS, Problem, TaskOptions, load_task
from mta_probe.tasks.bigbench import bbeh_problem, bbh_problem
from mta_probe.verify import verify_one
from mta_probe.sampling import Sampler

KS = [1, 4, 16, 64, 256]


# The real benchmarks, through mta's own converters and loaders (BBH and BBEH rows read from the
# GitHub files directly), for the chance levels below.

@functools.cache
def real_problems(task: str) -> tuple[Problem, ...]:
    """Every item of bbh, bbeh, kor-cf or kor-logic from ../shared/benchmarks (skips when absent)."""
    if task == "bbh":
        return tuple(bbh_problem(row, path.stem, i) for path in sorted(benchmark_dir("bbh").glob("*.json"))
                     for i, row in enumerate(json.loads(path.read_text())["examples"]))
    if task == "bbeh":
        return tuple(bbeh_problem({**row, "task": path.parent.name}, i)
                     for path in sorted(benchmark_dir("bbeh").glob("*/task.json"))
                     for i, row in enumerate(json.loads(path.read_text())["examples"]))
    return tuple(load_task(task, options=TaskOptions(data_dir=benchmark_dir("kor-bench"))).problems)


def real_chance(task: str, ks: list[int]) -> list[float] | None:
    return chance_pass_at_k([p.num_choices for p in real_problems(task)], ks)


def shaped(base: float, reach: float) -> Curve:
    """A pass@k curve with pass@1 = base that levels off at `reach` (share of solvable problems).

    The paper prints its curves only as figures (2, 5, 6, 8). pass@1 below is Table 2, 10 or 12's
    base accuracy; `reach` is our reading of where each curve levels off, as the text describes
    it ("rises sharply" for Qwen on math, Operation, Counterfactual and HumanEval; "does not rise
    as sharply" for LiveCodeBench; "limited" for Cipher, Puzzle and Logic). It is not a number
    the paper gives.
    """
    p = base / reach if reach else 0.0
    return Curve(KS, [reach * (1 - (1 - p) ** k) for k in KS])


def contam(rouge_04: float, em_08: float) -> Contamination:
    return Contamination({0.4: rouge_04 / 100, 0.8: 0.0}, {0.4: 0.0, 0.8: em_08 / 100})


# (pair, pass@k curves of the pair's benchmarks, contamination of Tables 1, 7 and 10, category).
# The paper categorises math by domain ("Qwen2.5 on mathematical domains"), so the three math
# benchmarks are judged together; logic and code benchmarks are judged one by one.
PAPER = [
    ("qwen/math", [shaped(.033, .6), shaped(.408, .95), shaped(.31, .9)],
     [contam(44.64, 30.0), contam(50.36, 40.2), contam(63.78, 49.39)], "red"),
    ("llama/math", [shaped(.033, .25), shaped(.325, .7), shaped(.202, .55)],
     [contam(26.08, 13.33), contam(23.09, 17.8), contam(27.18, 4.81)], "gray"),
    ("mistral/math", [shaped(0.0, 0.0), shaped(.068, .45), shaped(.034, .35)], [], "gray"),
    ("qwen/kor-op", [shaped(.272, .9)], [contam(21.37, 0.0)], "green"),
    ("llama/kor-op", [shaped(.604, .97)], [contam(21.83, 0.0)], "green"),
    ("qwen/kor-cf", [shaped(.172, .85)], [contam(18.88, 0.0)], "green"),
    ("llama/kor-cf", [shaped(.864, .98)], [contam(19.02, 0.0)], "green"),
    ("qwen/kor-puzzle", [shaped(.008, .15)], [contam(19.56, 0.0)], "gray"),
    ("llama/kor-puzzle", [shaped(.02, .2)], [contam(18.27, 0.0)], "gray"),
    ("qwen/kor-logic", [shaped(.08, .45)], [contam(22.08, 0.0)], "gray"),
    ("llama/kor-logic", [shaped(.288, .5)], [contam(21.38, 0.0)], "gray"),
    ("qwen/kor-cipher", [shaped(.048, .3)], [contam(34.61, 0.0)], "gray"),
    ("llama/kor-cipher", [shaped(.084, .35)], [contam(29.59, 0.0)], "gray"),
    ("qwen/synlogic", [shaped(.015, .25)], [], "gray"),
    ("llama/synlogic", [shaped(.008, .2)], [], "gray"),
    ("qwen/bbh", [shaped(.452, .95)], [], "gray"),
    ("llama/bbh", [shaped(.386, .95)], [], "gray"),
    ("qwen/bbeh", [shaped(.012, .15)], [], "gray"),
    ("llama/bbeh", [shaped(.041, .2)], [], "gray"),
    ("qwen/humaneval", [shaped(.524, .95)], [contam(56.32, 36.7)], "red"),
    ("llama/humaneval", [shaped(.684, .97)], [contam(23.42, 8.4)], "green"),
    ("qwen/livecodebench", [shaped(.062, .3)], [], "gray"),
    ("llama/livecodebench", [shaped(.083, .35)], [], "gray"),
] + [(f"mistral/{task}", [shaped(base, reach)], [], "gray")
     for task, base, reach in [("kor-op", .112, .5), ("kor-cf", .228, .55), ("kor-puzzle", .024, .15),
                               ("kor-logic", .284, .5), ("kor-cipher", .024, .15), ("synlogic", 0.0, 0.0),
                               ("bbh", .271, .9), ("bbeh", .004, .05)]]
# Benchmarks with finite answer sets: their curves carry the chance level of the real items.
CHANCE_FROM = ("bbh", "bbeh", "kor-cf", "kor-logic")
# Where the guess-proof rule and the paper differ. Qwen2.5-7B's pass@1 on Counterfactual (0.172,
# Table 2) is below a uniform guesser's (0.25: all 250 items are 4-way); a curve that levels off
# at 0.85 stays below the guesser's at every k. The paper's green rests on pass@k rising, which
# guessing does too; no rule that reads a guesser as gray can read this curve as aligned.
DEPARTS = {"qwen/kor-cf": "gray"}


@pytest.mark.parametrize("pair, curves, contams, category", PAPER, ids=[row[0] for row in PAPER])
def test_the_rule_gives_the_papers_category(pair: str, curves: list[Curve], contams: list[Contamination],
                                            category: str) -> None:
    task = pair.split("/")[1]
    if task in CHANCE_FROM:
        curves = [dataclasses.replace(c, chance=real_chance(task, c.ks)) for c in curves]
    assert judge(curves, contams).category == DEPARTS.get(pair, category)


def test_contamination_thresholds_split_tables_1_7_and_10_as_the_paper_does() -> None:
    rule = AlignRule()
    flagged = [(44.64, 30.0), (50.36, 40.2), (63.78, 49.39), (56.32, 36.7)]          # Qwen math, HumanEval
    clean = [(26.08, 13.33), (23.09, 17.8), (27.18, 4.81), (23.42, 8.4), (34.61, 0.0), (29.59, 0.0)]
    for rouge, em in flagged:
        assert rouge / 100 >= rule.rouge_threshold or em / 100 >= rule.em_threshold
    for rouge, em in clean:
        assert rouge / 100 < rule.rouge_threshold and em / 100 < rule.em_threshold


def test_llama_on_math500_alone_would_read_as_aligned() -> None:
    # With these readings, MATH500 by itself clears the threshold for Llama: the paper's gray is a
    # domain-level call, and Appendix H.1 says Llama-math sits between the groups.
    assert judge([shaped(.325, .7)], [contam(23.09, 17.8)]).category == "green"


@pytest.mark.parametrize("aligned, contaminated, category", [
    (True, True, "red"), (True, False, "green"), (True, None, "green"),
    (False, True, "gray"), (False, False, "gray"), (False, None, "gray"),
])
def test_categorize_table(aligned: bool, contaminated: bool | None, category: str) -> None:
    assert categorize(aligned, contaminated) == category


def test_score_is_chance_corrected_and_read_below_max_chance() -> None:
    curve = Curve([1, 2, 4, 8], [0.6, 0.8, 0.95, 0.99], [0.5, 0.75, 0.9375, 0.996])
    assert reference_k(curve, AlignRule()) == 1
    assert alignment_score(curve, AlignRule()) == (pytest.approx(0.2), 1)
    assert alignment_score(Curve([1, 16], [0.1, 0.7]), AlignRule()) == (pytest.approx(0.7), 16)
    assert alignment_score(Curve([1, 128], [0.1, 0.9]), AlignRule(k_ref=64)) == (pytest.approx(0.1), 1)
    with pytest.raises(BadInputError):
        reference_k(Curve([2], [0.9], [0.75]), AlignRule())
    assert alignment_score(Curve([1], [1.0], [1.0]), AlignRule(max_chance=1.0)) == (0.0, 1)  # one-choice task


# Run directories: the verdict from files, with its stability.

def _passk_run(path: Path, model: str, correct: list[int], n: int = 16) -> Path:
    path.mkdir(parents=True)
    with open(path / "samples.jsonl", "w") as f:
        for i, c in enumerate(correct):
            for j in range(n):
                f.write(json.dumps({"problem_id": f"p{i}", "sample_index": j, "correct": j < c}) + "\n")
    curve = estimate([n] * len(correct), correct, [1, 2, 4, 8, 16])
    (path / "passk.json").write_text(json.dumps({
        "model": model, "task": "t", "pass_at_k": {str(k): v for k, v in zip(curve.ks, curve.values)},
        "chance_pass_at_k": None}))
    return path


def _contam_run(path: Path, model: str, em: list[bool]) -> Path:
    path.mkdir(parents=True)
    with open(path / "contam.jsonl", "w") as f:
        for i, hit in enumerate(em):
            for portion in (0.4, 0.8):
                f.write(json.dumps({"problem_id": f"p{i}", "portion": portion, "rouge_l": 0.9 if hit else 0.1,
                                    "exact_match": hit}) + "\n")
    mean_em, mean_rouge = sum(em) / len(em), (0.9 * sum(em) + 0.1 * (len(em) - sum(em))) / len(em)
    (path / "contam.json").write_text(json.dumps({"model": model, "task": "t", "portions": {
        p: {"rouge_l": mean_rouge, "exact_match": mean_em} for p in ("0.4", "0.8")}}))
    return path


def test_a_clear_verdict_from_runs_is_stable(tmp_path: Path) -> None:
    passk = _passk_run(tmp_path / "p", "m", [8, 12, 16, 4, 10] * 8)      # every problem solvable
    clean = _contam_run(tmp_path / "c", "m", [False] * 40)
    result = probe_alignment(AlignSettings(passk_runs=(passk,), contam_runs=(clean,)))
    assert result.verdict.category == "green" and result.stability == 1.0
    saved = json.loads((passk / "align.json").read_text())
    assert saved["category"] == "green" and saved["alignment_score"] == pytest.approx(1.0)
    assert saved["rule"]["strong_threshold"] == 0.6 and saved["k_used"] == [16]


def test_a_verdict_on_the_threshold_is_unstable(tmp_path: Path) -> None:
    passk = _passk_run(tmp_path / "p", "m", [16] * 6 + [0] * 4)          # pass@16 = 0.6 exactly
    result = probe_alignment(AlignSettings(passk_runs=(passk,)))
    assert result.verdict.category == "green"
    assert 0.3 < result.stability < 0.8


def test_runs_of_two_models_are_refused(tmp_path: Path) -> None:
    passk = _passk_run(tmp_path / "p", "m1", [4] * 5)
    other = _contam_run(tmp_path / "c", "m2", [False] * 5)
    with pytest.raises(RunMismatchError, match="different models"):
        probe_alignment(AlignSettings(passk_runs=(passk,), contam_runs=(other,)))


def test_a_directory_without_results_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="passk.json does not exist"):
        probe_alignment(AlignSettings(passk_runs=(tmp_path,)))


# Runs sampled with n < k_ref and holding a fitted curve: S is read at k_ref on the fit.

def _fitted_run(path: Path, correct: list[int], n: int = 16, choices: dict[str, int] | None = None) -> Path:
    """`_passk_run` with the fit block and answer counts passk.json gets from a real probe."""
    from mta_probe.estimators import FitSettings
    from mta_probe.runs.summary import chance_from_choices, fit_block

    run = _passk_run(path, "m", correct, n)
    payload = json.loads((run / "passk.json").read_text())
    curve = estimate([n] * len(correct), correct, default_ks(n))
    chance = chance_from_choices(choices, curve.ks) if choices else None
    payload.update(n=n, pass_at_k={str(k): v for k, v in zip(curve.ks, curve.values)}, answer_choices=choices,
                   chance_pass_at_k=dict(zip(map(str, curve.ks), chance)) if chance else None,
                   fit=fit_block([n] * len(correct), correct, curve.ks, FitSettings(fit_to=256), choices)[0])
    (run / "passk.json").write_text(json.dumps(payload))
    return run


CORRECT = [0, 0, 0, 1, 1, 2, 3, 5, 8, 12, 16, 0, 1, 4, 16] * 4  # 60 problems, many rarely solved


def test_a_run_with_n_below_k_ref_is_read_on_its_fit_and_says_so(tmp_path: Path) -> None:
    from mta_probe.estimators import problem_pass_at_k

    run = _fitted_run(tmp_path / "p", CORRECT)
    method = json.loads((run / "passk.json").read_text())["fit"]["method"]
    result = probe_alignment(AlignSettings(passk_runs=(run,)))
    fitted = problem_pass_at_k([16] * 60, CORRECT, [64], method)[:, 0].mean()
    assert result.verdict.k_used == [64] and result.verdict.score == pytest.approx(fitted)
    saved = json.loads((run / "align.json").read_text())
    assert saved["read_from"] == ["fit"] and saved["k_used"] == [64]
    assert saved["reading_notes"] == [f"t: S read at k=64 on the fitted curve ({method}), since n=16 < k_ref=64"]
    # the fit sees further than the unbiased pass@16, which stops short of k_ref
    unbiased = probe_alignment(AlignSettings(passk_runs=(run,), rule=AlignRule(from_fit=False)))
    assert unbiased.verdict.k_used == [16] and unbiased.payload["read_from"] == ["unbiased"]
    assert unbiased.verdict.score < result.verdict.score
    assert 0.0 < result.stability <= 1.0


def test_the_score_read_on_a_fit_has_the_range_its_interval_allows_and_says_when_it_straddles_a_category(
        tmp_path: Path) -> None:
    clear = probe_alignment(AlignSettings(passk_runs=(_fitted_run(tmp_path / "p", CORRECT),))).payload
    low, high = clear["alignment_score_range"]
    assert low <= clear["alignment_score"] <= high and low >= 0.6
    assert clear["category_range"] == ["green"] and clear["verdict_identified"]
    # more problems solved within 16 samples, fewer beyond: pass@64 is open from below 0.6 to above it
    open_run = _fitted_run(tmp_path / "q", [min(16, 3 * c) for c in CORRECT])
    vague = probe_alignment(AlignSettings(passk_runs=(open_run,))).payload
    low, high = vague["alignment_score_range"]
    assert low < 0.6 <= high and vague["category_range"] == ["gray", "green"]
    assert not vague["verdict_identified"] and vague["category"] == "green"
    # read unbiased (n >= k_ref), the range is the score itself
    reached = probe_alignment(AlignSettings(passk_runs=(_fitted_run(tmp_path / "r", [4 * c for c in CORRECT], n=64),)))
    assert reached.payload["alignment_score_range"] == [reached.verdict.score] * 2


def test_a_run_that_reaches_k_ref_is_read_unbiased_even_with_a_fit(tmp_path: Path) -> None:
    run = _fitted_run(tmp_path / "p", [4 * c for c in CORRECT], n=64)
    result = probe_alignment(AlignSettings(passk_runs=(run,)))
    assert result.payload["read_from"] == ["unbiased"] and result.verdict.k_used == [64]
    assert result.payload["reading_notes"] == []


def test_the_fit_is_chance_corrected_at_its_k(tmp_path: Path) -> None:
    from mta_probe.estimators import problem_pass_at_k

    run = _fitted_run(tmp_path / "p", CORRECT, choices={"100": 60})  # guessing: 1 - 0.99^64 = 0.47 at 64
    method = json.loads((run / "passk.json").read_text())["fit"]["method"]
    result = probe_alignment(AlignSettings(passk_runs=(run,)))
    p64, c64 = problem_pass_at_k([16] * 60, CORRECT, [64], method)[:, 0].mean(), 1 - 0.99 ** 64
    assert result.verdict.k_used == [64] and result.payload["read_from"] == ["fit"]
    assert result.verdict.score == pytest.approx(max(0.0, (p64 - c64) / (1 - c64)))
    # four options: guessing passes max_chance at k = 3, within the measured n, so the fit is not needed
    four = _fitted_run(tmp_path / "q", CORRECT, choices={"4": 60})
    result = probe_alignment(AlignSettings(passk_runs=(four,)))
    assert result.verdict.k_used == [2] and result.payload["read_from"] == ["unbiased"]


class _Echo(Sampler):
    """A stand-in engine: every sample answers "yes", every greedy completion repeats the prefix."""

    name, chat, prompts_per_call = "fake", False, 1

    def sample(self, prompts, n, settings, seed):
        from mta_probe.sampling import Completion

        text = (lambda p: p) if settings.greedy else (lambda p: "<answer>yes</answer>")
        return [[Completion(text(p), tokens=3, finish_reason="stop") for _ in range(n)] for p in prompts]

    def close(self) -> None:
        pass


def _yes_task(tmp_path: Path) -> Path:
    task = tmp_path / "yes.jsonl"
    task.write_text("".join(json.dumps({"question": f"Say yes or no: is {i} a number?", "answer": "yes"}) + "\n"
                            for i in range(6)))
    return task


def test_with_a_model_and_task_and_no_runs_both_probes_run_first(
        tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mta_probe.sampling as sampling

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: _Echo())
    task = _yes_task(tmp_path)
    from mta_probe.tasks import TaskOptions

    result = probe_alignment(AlignSettings(model=str(tiny_llama_dir), task=str(task),
                                           task_options=TaskOptions(verifier="normalized")))
    assert result.verdict.category == "green" and result.verdict.score == pytest.approx(1.0)
    assert result.payload["contaminated"] is False and len(result.payload["contam_runs"]) == 1
    assert Path(result.payload["passk_runs"][0], "samples.jsonl").exists()


def test_align_on_the_command_line_sizes_both_probes_with_their_options(
        tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_cli import runner

    import mta_probe.sampling as sampling
    from mta_cli.main import app

    monkeypatch.setattr(sampling, "open_sampler", lambda *a, **k: _Echo())
    task = _yes_task(tmp_path)
    result = runner.invoke(app, ["probe", "align", "--model", str(tiny_llama_dir), "--task", str(task),
                                 "--verifier", "normalized", "-n", "4", "--limit", "3", "--max-tokens", "7",
                                 "--seed", "5", "--portions", "0.5"])
    assert result.exit_code == 0, result.output
    runs = {}
    for name in ("passk.json", "contam.json"):
        found = list((Path(os.environ["MTA_HOME"]) / "runs").rglob(name))
        assert len(found) == 1, found
        runs[name] = json.loads(found[0].read_text())
    passk, contam = runs["passk.json"], runs["contam.json"]
    assert (passk["n"], passk["num_problems"], passk["seed"]) == (4, 3, 5)
    assert passk["sampling"]["max_tokens"] == 7
    assert list(contam["portions"]) == ["0.5"] and contam["portions"]["0.5"]["items"] == 3
    screen = " ".join(result.output.split())
    assert "GREEN" in screen and "pass@k: yes.jsonl" in screen and "contamination: yes.jsonl" in screen
    assert "12/12" in screen and "3/3" in screen


# A uniform random guesser on the real benchmarks: it must read gray.

def answer_set(task: str, item: Problem) -> list[str] | None:
    """Every answer a guesser can give to a real item, read from its text (None: open). Written
    apart from the loaders' option counts, which the guesser test checks against it."""
    text, gold = item.statement, item.gold
    if task in ("kor-cf", "kor-logic"):
        hint = re.search(r"\[\[([A-Z](?:/[A-Z])+)\]\]|\(((?:[A-Z], )+or [A-Z])\)", text)
        if not re.fullmatch(r"\[\[[A-Z]+\]\]", gold):
            return None
        if hint:
            return [f"[[{x}]]" for x in re.findall(r"[A-Z]", hint.group(hint.lastindex))]
        listed = "".join(itertools.takewhile(lambda x: re.search(rf"(^|\s){x}[.:)]\s*\S", text, re.MULTILINE),
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        if "select all that apply" in text.lower():
            return [f"[[{''.join(c)}]]" for r in range(1, len(listed) + 1) for c in itertools.combinations(listed, r)]
        return [f"[[{x}]]" for x in listed] if len(listed) >= 2 else None
    name = str(item.meta.get("task", item.meta.get("subset", ""))).removeprefix("bbeh_")
    options = re.findall(r"^\(([A-Z])\)", text.split("Options:")[-1] if task == "bbh" else text, re.MULTILINE)
    words = {"boolean_expressions": "True False", "causal_judgement": "Yes No", "formal_fallacies": "valid invalid",
             "navigate": "Yes No", "sports_understanding": "yes no", "web_of_lies": "Yes No"}
    if task == "bbh" and name in words:
        return words[name].split()
    if task == "bbh" or name in ("boolean_expressions", "disambiguation_qa", "geometric_shapes",
                                 "movie_recommendation", "nycc", "shuffled_objects"):
        return [f"({x})" for x in options] if re.fullmatch(r"\([A-Z]\)", gold) and options else None
    products = {"boardgame_qa": (["proved", "disproved", "unknown"], 1, ""),
                "causal_understanding": (["Yes", "No", "Ambiguous"], 1, ""),
                "sarc_triples": (["0", "1"], 3, ","),
                "web_of_lies": (["yes", "no"] + ["unknown"] * ("unknown" in text[-600:]), 3, ", ")}
    if name in products:
        values, times, joint = products[name]
        return [joint.join(v) for v in itertools.product(values, repeat=times)]
    if name == "zebra_puzzles":
        return [str(i) for i in range(1, int(re.search(r"There are (\d+) people", text).group(1)) + 1)]
    if name == "hyperbaton":  # any non-empty subset of the real options, or the last ("None of the above")
        real = options[:-1]
        return [options[-1]] + ["".join(c) for r in range(1, len(real) + 1) for c in itertools.combinations(real, r)]
    return None


def _sampled(task: str, per_group: int) -> list[Problem]:
    """The first `per_group` items of every BBH subset or BBEH task (all of a KOR category)."""
    seen: dict[str, int] = {}
    kept = []
    for item in real_problems(task):
        group = item.id.split("/")[0] if task in ("bbh", "bbeh") else item.id
        seen[group] = seen.get(group, 0) + 1
        if seen[group] <= per_group:
            kept.append(item)
    return kept


@pytest.mark.parametrize("task", CHANCE_FROM)
def test_a_uniform_guesser_reads_gray_on_the_real_benchmarks(task: str) -> None:
    items, n = _sampled(task, per_group=20), 64
    verifier = TASKS[task].verifier
    wrap = (lambda a: a) if task.startswith("kor") else (lambda a: f"<answer>{a}</answer>")
    rng = np.random.default_rng(0)
    correct = []
    for item in items:
        answers = answer_set(task, item)
        assert (len(answers) if answers else None) == item.num_choices, item.id
        if not answers:
            correct.append(0)  # an open answer is not guessed
            continue
        verdicts = {a: verify_one(verifier, wrap(a), item).correct for a in set(answers)}
        assert sum(verdicts.values()) == 1, item.id  # the gold is one of them, and only it
        correct.append(sum(verdicts[answers[i]] for i in rng.integers(len(answers), size=n)))
    curve = estimate([n] * len(items), correct, default_ks(n), num_choices=[p.num_choices for p in items])
    verdict = judge([Curve(curve.ks, curve.values, curve.chance)], [])
    assert verdict.category == "gray" and verdict.score < 0.1
    # Blind to chance (as mta was whenever one item had an open answer), the same guesser looks
    # aligned: S = 0.85 on BBH and 1.0 on KOR-CF read green.
    blind = judge([Curve(curve.ks, curve.values, None)], [])
    assert blind.score > 0.4 and (blind.category == "green") is (task in ("bbh", "kor-cf"))
