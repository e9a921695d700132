"""`mta`: one typer app; each subcommand group lives in its own module."""

from __future__ import annotations

import typer

from mta_cli import data, probe, report, train

app = typer.Typer(help="Model-task alignment toolkit: is your model-task pair in the regime where RL claims hold?",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.add_typer(probe.app, name="probe")
app.add_typer(report.app, name="report")
app.add_typer(train.app, name="train")
app.add_typer(data.app, name="data")

if __name__ == "__main__":
    app()
