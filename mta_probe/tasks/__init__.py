"""Tasks: a name, `gym:NAME` or a JSONL file becomes a list of Problems.

The verbs: `load_task` resolves and loads a task; `TASKS` is the table of named tasks. Each
published benchmark has its own loader module here (competition_math, kor, bigbench, synlogic,
coding), reasoning-gym has `gym`, a user's file has `jsonl`; the prompts are in `prompts`.
"""

from mta_probe.tasks.jsonl import read_jsonl_objects
from mta_probe.problem import Problem
from mta_probe.tasks.options import TaskOptions
from mta_probe.tasks.prompts import ANSWER_TAG_TEMPLATE
from mta_probe.tasks.table import TASKS, LoadedTask, Task, load_task

__all__ = [
    "ANSWER_TAG_TEMPLATE",
    "TASKS",
    "LoadedTask",
    "Problem",
    "Task",
    "TaskOptions",
    "load_task",
    "read_jsonl_objects",
]
