"""``basingov run``: the whole pipeline for one basin, or all shipped basins."""

from __future__ import annotations

import json
from pathlib import Path

import click

from basingov import pipeline
from basingov.cli._common import output_options
from basingov.datasets import available
from basingov.io import to_jsonable

__all__ = ["run"]


@click.command("run")
@click.argument("basin")
@output_options(
    "--out",
    "out_dir",
    kind="folder",
    help_text="Output folder (default: out/BASIN; for 'all', the parent of one folder per basin).",
    overwrite_help="Replace existing outputs.",
)
@click.option(
    "--scheduler",
    default=None,
    help="For 'all': 'local' (a dask LocalCluster, the default), 'synchronous', "
    "or a dask scheduler address.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON to stdout.")
@click.pass_context
def run(
    ctx: click.Context,
    basin: str,
    out_dir: Path | None,
    overwrite: bool,
    scheduler: str | None,
    as_json: bool,
) -> None:
    """Run the pipeline for BASIN (a shipped name, a .toml config, or 'all').

    Writes DIR/BASIN.gpkg, DIR/tables/*.csv, DIR/summary.json and DIR/run.log.
    """
    if basin == "all":
        out = out_dir or Path("out")
        summaries = pipeline.run_many(
            available(),
            out_dir=out,
            overwrite=overwrite,
            scheduler="local" if scheduler is None else scheduler,  # "" is refused
            progress=bool(ctx.obj.get("progress")),
        )
        for name, s in summaries.items():
            click.echo(f"{name}: {_one_line(s)} -> {out / name}", err=True)
        if as_json:
            click.echo(json.dumps(to_jsonable(summaries), indent=2))
        return
    if scheduler is not None:
        msg = "--scheduler applies to 'basingov run all' only"
        raise click.UsageError(msg)
    out = out_dir or Path("out") / Path(basin).stem
    res = pipeline.run(
        basin, out_dir=out, overwrite=overwrite, progress=bool(ctx.obj.get("progress"))
    )
    click.echo(f"{res.basin.name}: {_one_line(res.summary)} -> {out}", err=True)
    if as_json:
        click.echo(json.dumps(to_jsonable(res.summary), indent=2))


def _one_line(summary: dict) -> str:
    c = summary["counts"]
    t = sum(summary["timings_s"].values())
    return (
        f"{c['reaches']} reaches, {c['crossings']} crossings, "
        f"{c['boundary_reaches']} boundary reaches in {t:.1f} s"
    )
