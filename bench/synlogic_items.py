"""SynLogic items made by the generators of a SynLogic clone, and each item's reference answer
written the way its prompt asks for it.

`generate(clone, task, count, seed)` runs the task's own generator (`games/tasks/<task>/scripts/`)
with small parameters taken from the task's `run.sh`, seeded, and returns its `Data` objects.
`RENDER[task](data)` writes the reference solution as a model following the prompt would: inside
`\\boxed{}`, a ```python block, `[[...]]`, a grid, "The answer is ...". For the tasks that store
`answer=""` and are checked by constraints, the solution comes from the generator's metadata
(game_of_24 stores none: `solve_24` finds one).

Not every generated item is one SynLogic would publish: the calcudoko generator sets integer-
division targets and 3-cell subtraction regions its verifier refuses, and futoshiki draws its
inequality signs at random, so the stored solution often breaks them. SynLogic keeps the items
its verifier accepts (calcudoko_verifier.py's `main` writes exactly those); the agreement bench
does the same with `valid`, and reports how many were generated to keep them.

Two generators need files or packages a fresh clone may lack: word_sorting and
word_sorting_mistake read `words_alpha.txt` beside their script (missing in some snapshots;
`words=` supplies a list instead), wordscapes needs the `english-words` package and
object_properties `inflect`. cipher has no generator in the clone.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import json
import random
import re
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

# task -> (generator module under games/tasks/<task>/scripts/, constructor kwargs, generate kwargs)
GAMES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "arrow_maze": ("arrow_maze", {}, {"width": 5, "height": 5, "arrow_fill_rate_min": 0.3,
                                      "arrow_fill_rate_max": 0.9}),
    "boolean_expressions": ("boolean_expressions", {"min_depth": 2, "max_depth": 2,
                                                    "min_options": 4, "max_options": 4}, {}),
    "buggy_tables": ("game_of_buggy_tables", {}, {}),
    "campsite": ("campsite", {"n": 4, "m": 4}, {}),
    "cryptarithm": ("cryptarithm", {}, {"num_letter": 3, "operator_num": 1, "operator_level": 2}),
    "dyck_language": ("dyck_language", {}, {"n_types": 2, "total_length": 10, "to_fill_length": 1}),
    "dyck_language_errors": ("dyck_language_errors", {}, {}),
    "dyck_language_reasoning_errors": ("dyck_language_reasoning_errors", {}, {}),
    "game_of_24": ("game_of_24", {}, {}),
    "goods_exchange": ("goods_exchange", {}, {}),
    "kukurasu": ("kukurasu", {"n": 4, "m": 4, "ones_probability": 0.3}, {}),
    "math_path": ("math_path", {}, {}),
    "minesweeper": ("minesweeper", {"n": 6, "mine_den": 0.3, "reveal_frac": 0.4}, {}),
    "norinori": ("norinori", {"n": 5, "region_nums_range": (3, 5), "shadow_ratio": 0.1}, {}),
    "number_wall": ("number_wall", {"n": 4, "number_rate": 0.2}, {}),
    "numbrix": ("numbrix", {"n": 4, "fill_rate": 0.3}, {}),
    "object_counting": ("object_counting", {}, {}),
    "object_properties": ("object_properties", {}, {}),
    "operation": ("operation", {}, {}),
    "skyscraper_puzzle": ("skyscraper_puzzle", {"n": 4}, {}),
    "space_reasoning": ("space_reasoning", {}, {"num_waypoints": 3, "unknown_node_num": 1}),
    "space_reasoning_tree": ("space_reasoning_tree", {"min_nodes": 50, "max_nodes": 100}, {}),
    # n=5: for n=4, k=1 the generator's fixed solution has two stars touching diagonally, which
    # its own verifier refuses.
    "star_placement_puzzle": ("star_placement_puzzle", {"n": 5, "k": 1}, {}),
    "sudoku": ("sudoku", {}, {"difficulty": 1}),
    "survo": ("survo", {}, {"n": 4, "x": 3}),
    "time_sequence": ("time_sequence", {}, {}),
    "web_of_lies": ("web_of_lies", {}, {}),
    "word_sorting": ("word_sorting", {"front_letters_range": [2, 2], "word_count_range": [5, 5]}, {}),
    "word_sorting_mistake": ("word_sorting_mistake", {"word_count_range": [5, 5]}, {}),
}
OTHER_GENERATORS = ("calcudoko", "futoshiki", "wordscapes")
NO_GENERATOR = ("cipher",)
TASK_TYPES = (*GAMES, *OTHER_GENERATORS)


def on_path(clone: Path) -> None:
    """The clone's root first on sys.path: its modules import `base.data`, `games.base.game`."""
    if str(clone) not in sys.path:
        sys.path.insert(0, str(clone))


def generate(clone: Path, task: str, count: int, seed: int = 0,
             words: list[str] | None = None) -> list[Any]:
    """`count` items of `task` from the clone's own generator, as its `Data` objects."""
    on_path(clone)
    random.seed(seed)
    import numpy

    numpy.random.seed(seed)
    if task == "calcudoko":
        return _calcudoko(count)
    if task == "futoshiki":
        return _futoshiki(count)
    if task == "wordscapes":
        return _wordscapes(count)
    if task not in GAMES:
        raise LookupError(f"no generator for {task} in the clone" if task in NO_GENERATOR
                          else f"unknown SynLogic task type {task!r}")
    script, init, options = GAMES[task]
    module = importlib.import_module(f"games.tasks.{task}.scripts.{script}")
    game_class = next(value for value in vars(module).values() if isinstance(value, type)
                      and value.__module__ == module.__name__ and hasattr(value, "generate"))
    if hasattr(game_class, "load_words"):
        if words is not None:  # the snapshot lacks words_alpha.txt
            game_class.load_words = lambda self: list(words)
        elif not (Path(module.__file__).parent / "words_alpha.txt").is_file():
            raise FileNotFoundError(f"the {task} generator reads words_alpha.txt beside its script, "
                                    "missing in this clone (give a word list with --words)")
    game = game_class(**init)
    module.game = game  # word_sorting's generate() reads the module-level `game` its __main__ sets
    return list(game.generate(count, **options))[:count]


def _calcudoko(count: int) -> list[Any]:
    from base.data import Data
    from games.tasks.calcudoko.scripts.calcudoko import CalcudokoGenerator

    items = []
    for _ in range(count):
        generator = CalcudokoGenerator(4)
        question, answer, regions = generator.generate()
        items.append(Data(question, answer, metadata={"grid_size": 4, "regions": regions}))
    return items


def _futoshiki(count: int) -> list[Any]:
    from base.data import Data
    from games.tasks.futoshiki.scripts.futoshiki_generator import FutoshikiGenerator

    generator = FutoshikiGenerator()
    samples = [generator.generate_sample(grid_size=4, num_inequality_signs=2, num_prefilled_coords=2)
               for _ in range(count)]
    return [Data(s["question"], s["answer"], metadata=s["metadata"]) for s in samples]


def _wordscapes(count: int) -> list[Any]:
    """As the task's wordscapes_generate.py assembles its Data (size 4, 5 words, 3 intersections)."""
    from base.data import Data
    from games.tasks.wordscapes.scripts.wordscapes_game import WordscapesGame
    from games.tasks.wordscapes.scripts.wordscapes_prompt import prompt_wordscapes

    game = WordscapesGame()
    original = game._generate_puzzle
    game._generate_puzzle = lambda size, words, crossings: original(4, 5, 3)
    return [Data(prompt_wordscapes(p.across_words, p.down_words, p.grid), p.solution,
                 metadata={"grid": p.grid, "across_words": p.across_words,
                           "down_words": p.down_words, "solution": p.solution})
            for p in game.generate(count, 100)]


def game_data_str(data: Any) -> str:
    """The item as the hub stores it (`extra_info.game_data_str`): Data's JSON, numpy made plain."""
    fields = {"question": data.question, "answer": data.answer, "difficulty": data.difficulty,
              "metadata": data.metadata}
    return json.dumps(fields, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


# --- reference answers, as each prompt asks for them ------------------------------------------------

def _boxed(data: Any) -> str:
    return f"\\boxed{{{data.answer}}}"


def _python_block(text: str) -> str:
    return f"```python\n{text}\n```"


def solve_24(numbers: list[int], target: int, operators: list[str]) -> str | None:
    """An expression over all `numbers` (each once) with `operators` that equals `target`."""
    for order in itertools.permutations(numbers):
        for expression, value in _expressions([(str(n), Fraction(n)) for n in order], operators):
            if value == target:
                return expression
    return None


def _expressions(terms: list[tuple[str, Fraction]], operators: list[str]) -> Any:
    if len(terms) == 1:
        yield terms[0]
        return
    for split in range(1, len(terms)):
        for left, a in _expressions(terms[:split], operators):
            for right, b in _expressions(terms[split:], operators):
                for op in operators:
                    if op == "/" and b == 0:
                        continue
                    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[op]
                    yield f"({left}{op}{right})", value


def _game_of_24(data: Any) -> str:
    meta = data.metadata
    return _python_block(solve_24(meta["numbers"], meta["result"], meta["operators"]) or "")


def _star_placement(data: Any) -> str:
    """'[[A(3,2)\n\nB(4,3)(1,1)...]]', the stored answer (1-indexed), as the dict the prompt asks for."""
    found = re.findall(r"([A-Z])((?:\(\d+,\d+\))+)", str(data.answer))
    stars = {region: [tuple(map(int, pair)) for pair in re.findall(r"\((\d+),(\d+)\)", cells)]
             for region, cells in found}
    return _python_block(repr(stars))


def _futoshiki_answer(data: Any) -> str:
    return "[[" + ",".join(" ".join(str(n) for n in row) for row in data.answer) + "]]"


RENDER: dict[str, Callable[[Any], str]] = {
    "arrow_maze": lambda d: _python_block(json.dumps(json.loads(d.answer), ensure_ascii=False)),
    "boolean_expressions": _boxed,
    "buggy_tables": lambda d: "```json\n" + json.dumps({"result": [{"answer": d.answer}]}) + "\n```",
    "calcudoko": lambda d: d.answer,
    "campsite": lambda d: repr(d.metadata["solution"]),
    "cryptarithm": lambda d: f"The answer is {d.answer}",
    "dyck_language": lambda d: d.answer,
    "dyck_language_errors": lambda d: str(d.answer),
    "dyck_language_reasoning_errors": lambda d: d.answer or '""',  # the prompt: "" for no error
    "futoshiki": _futoshiki_answer,
    "game_of_24": _game_of_24,
    "goods_exchange": lambda d: _python_block(d.answer),
    "kukurasu": lambda d: json.dumps(d.metadata["solution"]),
    "math_path": lambda d: f"[[{d.answer}]]",
    "minesweeper": lambda d: repr([tuple(mine) for mine in d.metadata["current_mines"]]),
    "norinori": lambda d: repr([[tuple(c) for c in domino] for domino in d.metadata["solution"]]),
    "number_wall": lambda d: _python_block(json.dumps(d.metadata["solution"])),
    "numbrix": lambda d: repr(d.metadata["solution"]),
    "object_counting": _boxed,
    "object_properties": _boxed,
    "operation": _boxed,
    "skyscraper_puzzle": lambda d: _python_block(repr(d.metadata["solved_grid"])),
    "space_reasoning": _boxed,
    "space_reasoning_tree": _boxed,
    "star_placement_puzzle": _star_placement,
    "sudoku": lambda d: _python_block(d.answer),
    "survo": lambda d: _python_block(repr(d.metadata["filled_matrix"])),
    "time_sequence": lambda d: json.dumps(d.answer),
    "web_of_lies": lambda d: f"The answer is **{d.answer}**.",
    "word_sorting": _boxed,
    "word_sorting_mistake": lambda d: f"\\boxed{{{d.answer if d.answer is not None else 'No'}}}",
    "wordscapes": lambda d: json.dumps(d.answer if isinstance(d.answer, list)
                                       else ast.literal_eval(d.answer)),
}
