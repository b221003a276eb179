"""``basingov report``: the per-basin report (HTML and Markdown) of a run folder or a basin."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from basingov.cli._common import output_options
from basingov.cli.map import resolve_run
from basingov.io import check_output_folder
from basingov.report import write_report

__all__ = ["report"]


@click.command("report")
@click.argument("source")
@output_options(
    "--out",
    "out",
    kind="folder",
    required=True,
    help_text="Report folder (report.html, report.md, figures/, map.html).",
    overwrite_help="Replace an existing report folder.",
)
@click.pass_context
def report(ctx: click.Context, source: str, out: Path, overwrite: bool) -> None:
    """Write the report of SOURCE (a run folder, a basin name or a config).

    A basin name or config is run first into a temporary folder.
    """
    check_output_folder(out, overwrite=overwrite)  # before the run and the report
    with contextlib.ExitStack() as stack:
        run_dir = resolve_run(source, stack, progress=bool((ctx.obj or {}).get("progress")))
        page = write_report(run_dir, out, overwrite=overwrite)
    click.echo(f"report written: {page} (and report.md, map.html)", err=True)
