"""``basingov datasets``: list the shipped basins and show their config paths."""

from __future__ import annotations

import json

import click

from basingov.config import load_config
from basingov.datasets import available, data_dir, get_path

__all__ = ["datasets"]


@click.group()
def datasets() -> None:
    """List the basins shipped in data/ and find their configs."""


@datasets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON to stdout.")
def list_(as_json: bool) -> None:
    """List the shipped basins with their title, CRS and network."""
    rows = []
    for name in available():
        cfg = load_config(get_path(name))
        rows.append(
            {
                "name": name,
                "title": cfg.basin.title,
                "crs": cfg.basin.crs,
                "network": f"{cfg.network.key} ({cfg.network.builder})",
                "levels": list(cfg.boundaries.levels),
                "config": str(cfg.source),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['name']:<10} {r['title']:<12} {r['crs']:<11} network {r['network']:<28} "
            f"levels {', '.join(r['levels'])}"
        )


@datasets.command("path")
@click.argument("name", required=False)
def path(name: str | None) -> None:
    """Print the config path of basin NAME, or the data folder if NAME is omitted."""
    click.echo(str(get_path(name) if name else data_dir()))
