"""All terminal styling in one place: the console, category colours, errors, progress bars."""

from __future__ import annotations

import contextlib
import datetime
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from mta_probe.errors import MtaError

# Highlighting off: rich would colour numbers and paths in mta's own lines at random.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# The paper's three regimes (Section 2.3): contaminated and aligned, clean and aligned, weak.
CATEGORY_STYLES = {"red": "bold red", "green": "bold green", "gray": "bold bright_black"}

T = TypeVar("T")


# Ctrl-C. Python raises KeyboardInterrupt wherever the main thread happens to be; when that is a
# __del__ (a regex or tokenizer object collected mid-run), Python prints "Exception ignored ...
# KeyboardInterrupt" and carries on as if nothing happened. So the interrupt is also remembered,
# that message is silenced, and the next progress callback raises it again from a normal frame.
_interrupted = threading.Event()


def _on_sigint(signum: int, frame: Any) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


def _unraisable(hook_args: Any) -> None:
    if hook_args.exc_type is not None and issubclass(hook_args.exc_type, KeyboardInterrupt):
        _interrupted.set()  # raised inside a __del__: acted on at the next callback
        return
    sys.__unraisablehook__(hook_args)


def check_interrupted() -> None:
    """Raise a Ctrl-C that landed where Python could not raise it; every callback calls this."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


def run_or_exit(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a library call, `call(*args, **kwargs)`; an MtaError becomes one red line on stderr
    and exit code 2, Ctrl-C one yellow line and exit code 130."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)
        sys.unraisablehook = _unraisable
    try:
        return call(*args, **kwargs)
    except MtaError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted; what was written so far is kept and a rerun resumes it[/]")
        raise typer.Exit(130) from None


def status(message: str) -> None:
    """A one-line notice from the library (model conversion, resuming, ...)."""
    check_interrupted()
    err_console.print(f"[cyan]{message}[/]")


class RateColumn(ProgressColumn):
    """Samples/s and tokens/s, from the counts the probe reports."""

    def render(self, task: Task) -> Text:
        elapsed = task.fields.get("elapsed") or 0.0
        if elapsed <= 0:
            return Text("")
        fresh = task.completed - task.fields.get("resumed", 0)
        return Text(f"{fresh / elapsed:.2f} samples/s  {task.fields.get('tokens', 0) / elapsed:.1f} tok/s",
                    style="cyan")


@contextlib.contextmanager
def _shown(bar: Progress) -> Iterator[None]:
    """Stop `bar` when the command ends; an error leaves its one line, not a half-drawn bar."""
    try:
        yield
    except BaseException:
        bar.live.transient = True
        raise
    finally:
        bar.stop()


@contextlib.contextmanager
def sample_progress(description: str) -> Iterator[Callable[[Any], None]]:
    """A progress bar fed by the library's ProbeProgress callbacks.

    The bar appears at the first callback, so input the library rejects before any sampling
    leaves nothing on screen but its one error line.
    """
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               RateColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    bar = Progress(*columns, console=err_console, transient=False)
    task_id = None

    def update(p: Any) -> None:
        nonlocal task_id
        check_interrupted()
        if task_id is None:
            bar.start()
            task_id = bar.add_task(description, total=p.samples_total)
        bar.update(task_id, completed=p.samples_done, total=p.samples_total, tokens=p.tokens,
                   elapsed=p.elapsed, resumed=p.resumed)

    with _shown(bar):
        yield update


class EtaColumn(ProgressColumn):
    """Time left, from this phase's own pace since its bar opened: rich's estimate needs two
    updates inside a 30 s window, which a training step of a minute never gives."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("done", style="green")
        fresh = task.completed - task.fields.get("first", 0)
        if fresh <= 0 or not task.elapsed or task.total is None:
            return Text("left -:--:--", style="cyan")
        left = task.elapsed * (task.total - task.completed) / fresh
        return Text(f"left {datetime.timedelta(seconds=round(left))}", style="cyan")


@contextlib.contextmanager
def phase_progress() -> Iterator[Callable[[str, int, int, str], None]]:
    """One progress bar per phase of a long command (a train run's evaluations and steps, the
    probes of `mta probe align`), each with its count, elapsed time and an estimate of the time
    left. `update(phase, done, total, unit)` opens the phase's bar on its first call (at the
    count it starts from, so a resumed phase's earlier units do not make the estimate fast)
    and moves it after that; nothing is drawn before the first call.
    """
    columns = [TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total} {task.fields[unit]}"),
               TimeElapsedColumn(), EtaColumn()]
    bar = Progress(*columns, console=err_console, transient=False)
    tasks: dict[str, Any] = {}

    def update(phase: str, done: int, total: int, unit: str = "") -> None:
        check_interrupted()
        if phase not in tasks:
            if not tasks:
                bar.start()
            tasks[phase] = bar.add_task(phase, total=total, completed=done, unit=unit, first=done)
            return
        bar.update(tasks[phase], completed=done, total=total)

    with _shown(bar):
        yield update
