"""The invariants ARCHITECTURE.md states, checked on the source: the layer order, imports through
each package's exports, no import cycles, no typer or rich in the libraries, frozen settings and
tables of frozen records. (No heavy import on `--help`: tests/test_exports.py; killable verifiers:
tests/test_verify_pool.py and tests/test_reward.py.)"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("mta_probe", "mta_train", "mta_report", "mta_cli")
# The layers, highest first: a module may import from its own layer or a lower one. Layers that
# share a rank (estimators, tasks) must not import each other.
RANKS = {"mta_cli": 10, "mta_report": 9, "mta_train": 8, "probes": 7, "collect": 6, "sampling": 5,
         "runs": 4, "estimators": 3, "tasks": 3, "verify": 2, "base": 1}
SUBPACKAGES = ("tasks", "sampling", "verify", "runs", "estimators", "collect")
BASE = ("problem", "errors", "exports")
# Packages whose insides others reach only through `__init__`'s exports.
PACKAGES = tuple(f"mta_probe.{name}" for name in SUBPACKAGES) + ("mta_train", "mta_train.techniques", "mta_report")


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "mta_probe":
        return parts[0]
    if len(parts) > 1 and parts[1] in SUBPACKAGES:
        return parts[1]
    if len(parts) > 1 and parts[1] in BASE:
        return "base"
    return "probes"  # mta_probe's own modules and its __init__


def modules() -> Iterator[tuple[str, Path]]:
    for package in LIBRARIES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), path


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute import of a library module, at any depth
    (inside functions and TYPE_CHECKING blocks too)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found = node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            found = node.names[0].name, []
        else:
            continue
        if found[0].split(".")[0] in LIBRARIES:
            yield node.lineno, *found


def test_dependencies_point_down_the_layers() -> None:
    upward = []
    for module, path in modules():
        for line, target, _ in imports(path):
            here, there = layer(module), layer(target)
            if here != there and RANKS[there] >= RANKS[here]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {there} ({target})")
    assert not upward, "\n".join(upward)


def test_code_outside_a_package_imports_its_exports() -> None:
    deep = []
    for module, path in modules():
        for line, target, names in imports(path):
            owner = max((p for p in PACKAGES if target.startswith(p + ".")), key=len, default=None)
            if owner is not None and not (module == owner or module.startswith(owner + ".")):
                deep.append(f"{path.relative_to(ROOT)}:{line}: from {target} import {', '.join(names)}")
            elif target in PACKAGES and not (module == target or module.startswith(target + ".")):
                exported = set(importlib.import_module(target).__all__)
                deep += [f"{path.relative_to(ROOT)}:{line}: {name} is not in {target}.__all__"
                         for name in names if name not in exported]
    assert not deep, "\n".join(deep)


def test_no_module_imports_itself_through_a_cycle() -> None:
    graph: dict[str, set[str]] = {module: set() for module, _ in modules()}
    for module, path in modules():
        for _, target, names in imports(path):
            for candidate in [f"{target}.{name}" for name in names] + [target]:
                while candidate and candidate not in graph:
                    candidate = candidate.rpartition(".")[0]
                # a package's __init__ importing its own modules, or a module its package, is no cycle
                if candidate and candidate != module and not candidate.startswith(module + ".") \
                        and not module.startswith(candidate + "."):
                    graph[module].add(candidate)
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not cycles, cycles


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in graph[node]:
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_libraries_never_import_typer_or_rich() -> None:
    found = []
    for package in ("mta_probe", "mta_train", "mta_report"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("typer", "rich")]
    assert not found, found


def _settings_classes() -> Iterator[type]:
    for module, _ in modules():
        if module.startswith("mta_cli"):
            continue
        loaded = importlib.import_module(module)
        for name, value in vars(loaded).items():
            if isinstance(value, type) and value.__module__ == module and name.endswith(("Settings", "Rule")):
                yield value


@pytest.mark.parametrize("cls", list(_settings_classes()), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_settings_are_frozen_documented_dataclasses(cls: type) -> None:
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    attributes = (cls.__doc__ or "").partition("Attributes:")[2]
    missing = [f.name for f in dataclasses.fields(cls) if not re.search(rf"^\s+[\w, ]*\b{f.name}\b[\w, ]*:", attributes, re.M)]
    assert not missing, f"{cls.__name__}'s docstring does not document {missing}"


@pytest.mark.parametrize("table", ["mta_probe.verify.VERIFIERS", "mta_probe.sampling.BACKENDS",
                                   "mta_train.techniques.TECHNIQUES", "mta_probe.tasks.TASKS"])
def test_tables_are_literal_dicts_of_frozen_records(table: str) -> None:
    module, _, name = table.rpartition(".")
    rows = getattr(importlib.import_module(module), name)
    assert type(rows) is dict and rows
    kinds = {type(row) for row in rows.values()}
    assert len(kinds) == 1 and dataclasses.is_dataclass(kinds.pop())
    assert all(row.__dataclass_params__.frozen for row in rows.values())
