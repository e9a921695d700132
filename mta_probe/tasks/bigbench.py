"""BIG-Bench Hard and BIG-Bench Extra Hard: local copies of their GitHub files, else the hub.

Local data (`--data-dir`, or `$MTA_DATA_DIR/bbh`, `$MTA_DATA_DIR/bbeh`), in any of these layouts:

- BBH: the `bbh/` folder of github.com/suzgunmirac/BIG-Bench-Hard (`<subset>.json`, each
  `{"examples": [{"input", "target"}]}`), a clone of that repository, or the hub's parquet
  export of lukaemon/bbh (`<subset>/test/*.parquet`);
- BBEH: the `bbeh/benchmark_tasks/` folder of github.com/google-deepmind/bbeh
  (`bbeh_<task>/task.json`, same shape), a clone of that repository, or parquet files of the hub
  copy BBEH/bbeh (rows with `input`, `target`, `task`).

Problem ids are the same from every source: `<subset>/<index>` and `<task>/<index>`, the index
counting items within their subset (task) in file order; BBEH task names drop the `bbeh_` prefix
of the folders and the spaces of the hub's `task` column (`boardgame_qa/0`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError, DataUnavailableError
from mta_probe.tasks.hub import hub_rows
from mta_probe.tasks.options import TaskOptions, local_data
from mta_probe.problem import Problem, answer_text
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE

BBH_CLONE_URL = "https://github.com/suzgunmirac/BIG-Bench-Hard"
BBEH_CLONE_URL = "https://github.com/google-deepmind/bbeh"
BBH_HUB_ID = "lukaemon/bbh"
BBEH_HUB_ID = "BBEH/bbeh"

BBH_SUBSETS = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa",
    "dyck_languages", "formal_fallacies", "geometric_shapes", "hyperbaton",
    "logical_deduction_five_objects", "logical_deduction_seven_objects",
    "logical_deduction_three_objects", "movie_recommendation", "multistep_arithmetic_two",
    "navigate", "object_counting", "penguins_in_a_table", "reasoning_about_colored_objects",
    "ruin_names", "salient_translation_error_detection", "snarks", "sports_understanding",
    "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects",
    "web_of_lies", "word_sorting",
)
# The 23 tasks of BBEH, as its GitHub folders name them without the `bbeh_` prefix, in their order.
BBEH_TASKS = (
    "boardgame_qa", "boolean_expressions", "buggy_tables", "causal_understanding",
    "disambiguation_qa", "dyck_languages", "geometric_shapes", "hyperbaton", "linguini",
    "movie_recommendation", "multistep_arithmetic", "nycc", "object_counting", "object_properties",
    "sarc_triples", "shuffled_objects", "spatial_reasoning", "sportqa", "temporal_sequence",
    "time_arithmetic", "web_of_lies", "word_sorting", "zebra_puzzles",
)
# Where the task folders sit below a local BBEH folder: the folder itself, a clone's `bbeh/`, a clone.
BBEH_TASK_FOLDERS = ("", "benchmark_tasks/", "bbeh/benchmark_tasks/")
# A download of the hub copy: its parquet files at the top or in `data/`, as hub repositories keep them.
BBEH_PARQUET = ("*.parquet", "data/*.parquet")

# Two-valued targets (True/False, Yes/No, valid/invalid); the other non-free-form subsets list
# their options as "(A) ..." lines, counted per item.
BBH_BINARY = frozenset({"boolean_expressions", "causal_judgement", "formal_fallacies", "navigate",
                        "sports_understanding", "web_of_lies"})
BBH_FREE_FORM = frozenset({"dyck_languages", "multistep_arithmetic_two", "object_counting",
                           "word_sorting"})
_OPTION_LINE = re.compile(r"^\([A-Z]\)", re.MULTILINE)
_OPTION_TARGET = re.compile(r"\([A-Z]\)")
# BBEH answer sets, read on the 23 real task.json files: fixed words (proved/disproved/unknown;
# Yes/No/Ambiguous; three 0/1 labels), option lines "(A) ..." counted per item, and multi-select
# hyperbaton ("a concatenation of all the correct choices", the last option "None of the above").
# web_of_lies asks three yes/no (or yes/no/unknown) questions, zebra_puzzles a position 1..N. The
# other tasks (numbers, lists, words; sportqa's multi-select per sub-question) are open.
BBEH_FIXED = {"boardgame_qa": 3, "causal_understanding": 3, "sarc_triples": 2 ** 3}
BBEH_OPTION_LINES = frozenset({"boolean_expressions", "disambiguation_qa", "geometric_shapes",
                               "movie_recommendation", "nycc", "shuffled_objects"})
_PEOPLE = re.compile(r"There are (\d+) people")


def answer_tag_problem(pid: str, question: str, gold: Any, *, num_choices: int | None = None,
                       **meta: Any) -> Problem:
    """A Problem whose prompt asks for <think>...</think><answer>...</answer>."""
    return Problem(id=pid, prompt=ANSWER_TAG_TEMPLATE.format(question=question), statement=question,
                   gold=answer_text(gold), num_choices=num_choices, meta=dict(meta))


def bbh_num_choices(subset: str, question: str, target: str | None = None) -> int | None:
    """Size of the answer set of a BBH item: 2 for yes/no-like subsets, the option count for
    multiple choice, None for free-form answers. Checked on all 27 real files: 6 binary subsets, 4
    free-form, 17 with 2 to 18 "(A)" lines per item (one snarks item is cut after "(A)": 1). Three
    items (ruin_names 99 and 144, movie_recommendation 163) have a text target that no option
    letter matches (their options were split at commas): open, given `target`."""
    if subset in BBH_BINARY:
        return 2
    if subset in BBH_FREE_FORM:
        return None
    if target is not None and not _OPTION_TARGET.fullmatch(target.strip()):
        return None
    return len(_OPTION_LINE.findall(question)) or None


def bbeh_num_choices(task: str, question: str) -> int | None:
    """Size of the answer set of a BBEH item (see BBEH_FIXED and the note above it); None when open.

    Args:
        task: the BBEH task, as the hub (`boardgame qa`) or the GitHub folders (`bbeh_boardgame_qa`)
            name it.
        question: the item's input.
    """
    name = re.sub(r"[\s-]+", "_", task.strip().lower()).removeprefix("bbeh_")
    if name in BBEH_FIXED:
        return BBEH_FIXED[name]
    if name in BBEH_OPTION_LINES:
        return len(_OPTION_LINE.findall(question)) or None
    if name == "hyperbaton":  # any subset of the real options, or "None of the above"
        return 2 ** (len(_OPTION_LINE.findall(question)) - 1) or None
    if name == "web_of_lies":
        return (3 if "unknown" in question[-600:] else 2) ** 3
    if name == "zebra_puzzles":
        people = _PEOPLE.search(question)
        return int(people.group(1)) if people else None
    return None


def bbh_problem(row: dict[str, Any], subset: str, index: int) -> Problem:
    """lukaemon/bbh row (input, target) of one subset to a Problem."""
    return answer_tag_problem(f"{subset}/{index}", row["input"], row["target"],
                              num_choices=bbh_num_choices(subset, row["input"], str(row["target"])),
                              subset=subset)


def bbeh_problem(row: dict[str, Any], index: int) -> Problem:
    """BBEH row (input, target, task) to a Problem; ids count items within their task."""
    task = bbeh_task_name(row["task"])
    return answer_tag_problem(f"{task}/{index}", row["input"], row["target"],
                              num_choices=bbeh_num_choices(task, row["input"]), task=task)


def bbeh_task_name(name: str) -> str:
    """A BBEH task as mta names it: `bbeh_boardgame_qa` (GitHub folder) and `boardgame qa` (hub
    `task` column) both become `boardgame_qa`; a name outside BBEH_TASKS is kept, snake-cased."""
    letters = re.sub(r"[^a-z0-9]", "", name.lower()).removeprefix("bbeh")
    for task in BBEH_TASKS:
        if task.replace("_", "") == letters:
            return task
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_").removeprefix("bbeh_")


def load_bbh(options: TaskOptions) -> list[Problem]:
    """BIG-Bench Hard, all 27 subsets in BBH_SUBSETS order: local files when given, else the hub
    (lukaemon/bbh, split test of each config)."""
    how = f"git clone {BBH_CLONE_URL}, then pass --data-dir PATH/BIG-Bench-Hard"
    folder = local_data(options, "bbh", ("boolean_expressions.json", "bbh/boolean_expressions.json",
                                         "boolean_expressions/test/*.parquet"), how=how)
    problems = []
    for subset in BBH_SUBSETS:
        rows = _local_bbh_rows(folder, subset, how) if folder else hub_rows(BBH_HUB_ID, subset, "test")
        problems += [bbh_problem(row, subset, i) for i, row in enumerate(rows)]
    return problems


def load_bbeh(options: TaskOptions) -> list[Problem]:
    """BIG-Bench Extra Hard, its 23 tasks in BBEH_TASKS order: local files when given, else the
    hub (BBEH/bbeh, its only split, train)."""
    how = f"git clone {BBEH_CLONE_URL}, then pass --data-dir PATH/bbeh"
    expected = tuple(f"{where}bbeh_boardgame_qa/task.json" for where in BBEH_TASK_FOLDERS)
    folder = local_data(options, "bbeh", expected + BBEH_PARQUET, how=how)
    if folder is None:
        rows = hub_rows(BBEH_HUB_ID, None, "train")
    else:
        tasks = next((folder / where for where in BBEH_TASK_FOLDERS
                      if (folder / where / "bbeh_boardgame_qa" / "task.json").is_file()), None)
        shards = sorted(path for pattern in BBEH_PARQUET for path in folder.glob(pattern))
        rows = _local_bbeh_rows(tasks, how) if tasks else _parquet_rows(shards)
    seen: dict[str, int] = {}
    problems = []
    for row in rows:
        if not {"input", "target", "task"} <= row.keys():
            raise BadInputError(f"BBEH rows need input, target and task; got {sorted(row)}")
        task = bbeh_task_name(row["task"])
        seen[task] = seen.get(task, -1) + 1
        problems.append(bbeh_problem(row, seen[task]))
    order = {task: position for position, task in enumerate(BBEH_TASKS)}
    # Stable: the hub's row order within a task is kept, tasks follow BBEH_TASKS as the files do.
    return sorted(problems, key=lambda p: order.get(p.meta["task"], len(order)))


def _local_bbh_rows(folder: Path, subset: str, how: str) -> list[dict[str, Any]]:
    """The rows of one BBH subset in a local folder of any of the three layouts."""
    for candidate in (folder / f"{subset}.json", folder / "bbh" / f"{subset}.json"):
        if candidate.is_file():
            return read_examples(candidate)
    shards = sorted((folder / subset / "test").glob("*.parquet"))
    if shards:
        return _parquet_rows(shards)
    raise DataUnavailableError(f"BBH subset {subset} is missing under {folder} (expected "
                               f"{subset}.json or {subset}/test/*.parquet): {how}")


def _local_bbeh_rows(tasks: Path, how: str) -> list[dict[str, Any]]:
    """The rows of every BBEH task in a `benchmark_tasks` folder, tagged with their task."""
    rows = []
    for task in BBEH_TASKS:
        path = tasks / f"bbeh_{task}" / "task.json"
        if not path.is_file():
            raise DataUnavailableError(f"BBEH task {task} is missing: no {path}: {how}")
        rows += [{**row, "task": task} for row in read_examples(path)]
    return rows


def _parquet_rows(shards: list[Path]) -> list[dict[str, Any]]:
    """All rows of some parquet files, in file order."""
    return [row for shard in shards for row in hub_rows("parquet", None, "train", data_files=str(shard))]


def read_examples(path: Path) -> list[dict[str, Any]]:
    """The `examples` list of a BBH/BBEH GitHub file: `{"examples": [{"input", "target"}], ...}`.

    Raises:
        BadInputError: not JSON, no `examples` list, or an example without text input and target.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path}: not a readable JSON file ({exc})") from exc
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list):
        raise BadInputError(f"{path}: expected an object with an `examples` list")
    for number, example in enumerate(examples):
        if not (isinstance(example, dict) and isinstance(example.get("input"), str)
                and isinstance(example.get("target"), str)):
            raise BadInputError(f"{path}: example {number} needs text `input` and `target`")
    return examples
