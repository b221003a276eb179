"""``basingov validate``: check every input of a basin config and summarise each layer."""

from __future__ import annotations

import json
import sys

import click

from basingov.config import load_config
from basingov.datasets import resolve_config
from basingov.io import to_jsonable
from basingov.pipeline import validate as validate_basin

__all__ = ["validate"]


@click.command()
@click.argument("basin")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON to stdout.")
def validate(basin: str, as_json: bool) -> None:
    """Check every input of BASIN (a shipped name or a .toml config).

    Prints one summary per layer (count, CRS, extent, problems) to stderr and exits
    with status 1 if any problem is found.
    """
    cfg = load_config(resolve_config(basin))
    reports = validate_basin(cfg.source)
    if as_json:
        click.echo(json.dumps(to_jsonable([r.as_dict() for r in reports]), indent=2))
    click.echo(f"basin {cfg.basin.name} ({cfg.source})", err=True)
    for r in reports:
        status = "ok" if r.ok else "PROBLEMS"
        layer = f" layer {r.layer!r}" if r.layer else ""
        click.echo(f"  [{status}] {r.what}: {r.path.name}{layer}", err=True)
        extent = ", ".join(f"{v:g}" for v in r.extent) if r.extent else "-"
        click.echo(f"      count {r.count}, CRS {r.crs}, extent [{extent}]", err=True)
        for note in r.notes:
            click.echo(f"      note: {note}", err=True)
        for p in r.problems:
            click.echo(f"      problem: {p}", err=True)
    n_bad = sum(not r.ok for r in reports)
    click.echo(
        f"{len(reports)} input(s) checked, {n_bad} with problems"
        if n_bad
        else f"{len(reports)} input(s) checked, no problems",
        err=True,
    )
    if n_bad:
        sys.exit(1)
