"""``basingov run``: the whole pipeline for one basin, or all shipped basins."""

from __future__ import annotations

import json
from pathlib import Path

import click

from basingov import pipeline, scale
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
    help="Run on dask: 'local' (a dask LocalCluster; the default for 'all' and with "
    "--partitions), 'synchronous' (in this process), or a dask scheduler address such as "
    "tcp://127.0.0.1:8786 (see docs/scale.md).",
)
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    help="Split each basin into N sub-basins whose overlay runs as dask tasks "
    "(default with --scheduler: one per worker thread). The outputs are identical.",
)
@click.option(
    "--spatial-min-reaches",
    type=click.IntRange(min=1),
    help="Reach layers with at least this many reaches are partitioned in space by "
    "dask-geopandas instead of by sub-basin (default: 1,000,000).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON to stdout.")
@click.pass_context
def run(
    ctx: click.Context,
    basin: str,
    out_dir: Path | None,
    overwrite: bool,
    scheduler: str | None,
    partitions: int | None,
    spatial_min_reaches: int | None,
    as_json: bool,
) -> None:
    """Run the pipeline for BASIN (a shipped name, a .toml config, or 'all').

    Writes DIR/BASIN.gpkg, DIR/tables/*.csv, DIR/summary.json and DIR/run.log.
    """
    spatial = spatial_min_reaches or scale.DEFAULT_SPATIAL_MIN_REACHES
    if basin == "all":
        out = out_dir or Path("out")
        summaries = pipeline.run_many(
            available(),
            out_dir=out,
            overwrite=overwrite,
            scheduler="local" if scheduler is None else scheduler,  # "" is refused
            progress=bool(ctx.obj.get("progress")),
            partitions=partitions,
            spatial_min_reaches=spatial,
        )
        for name, s in summaries.items():
            click.echo(f"{name}: {_one_line(s)} -> {out / name}", err=True)
        if as_json:
            click.echo(json.dumps(to_jsonable(summaries), indent=2))
        return
    out = out_dir or Path("out") / Path(basin).stem
    res = pipeline.run(
        basin,
        out_dir=out,
        overwrite=overwrite,
        progress=bool(ctx.obj.get("progress")),
        partitions=partitions,
        scheduler=scheduler,
        spatial_min_reaches=spatial,
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
