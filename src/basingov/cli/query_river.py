"""``basingov query river``: the River Chief table of one named river."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd

from basingov import query
from basingov.cli._common import VECTOR_SUFFIXES, check_output_file, output_options
from basingov.io import to_jsonable, write_vector

__all__ = ["river"]


def _text(table: pd.DataFrame) -> str:
    lines = []
    for (riv, course, lv), g in table.groupby(["river", "course", "level_name"], sort=False):
        lines.append(f"{riv} (course {course}), level {lv}: {g['length_km'].sum():,.1f} km")
        for r in g.to_dict("records"):
            who = f"{r['jur_name']} [{r['jur_id']}]"
            if r["shared"]:
                who += " (held jointly by both banks)"
            ent = f"{r['entry']} {r['entry_crossing_id']}".strip()
            ext = f"{r['exit']} {r['exit_crossing_id']}".strip()
            lines.append(f"  {r['seq']:>3}. {r['length_km']:8.1f} km  {who}: from {ent} to {ext}")
    return "\n".join(lines)


@click.command("river")
@click.argument("basin")
@click.argument("name")
@click.option("--level", "level", default=None, help="Jurisdiction level (default: all).")
@click.option("--all-courses", is_flag=True, help="Also side branches of the same name.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="JSON, or a readable table, to stdout.",
)
@output_options(
    "--output", help_text="Also write the stretches (with geometry) to .csv, .gpkg or .geojson."
)
def river(
    basin: str,
    name: str,
    level: str | None,
    all_courses: bool,
    fmt: str,
    output: Path | None,
    overwrite: bool,
) -> None:
    """Show who answers for each stretch of river NAME in BASIN, in flow order.

    The River Chief table: per level, the ordered stretches with the responsible
    jurisdiction (both banks for a border stretch), length and entry/exit sections.
    NAME is matched ignoring case; 'Rhein|Rhin|Rhine' joins names into one river,
    as does a name in the basin's river_aliases (on the Rhine, 'Rhine' means all
    three).
    """
    if output is not None:
        check_output_file(output, VECTOR_SUFFIXES, overwrite=overwrite)
    gdf = query.river(basin, name, level=level, all_courses=all_courses)
    if output is not None:
        write_vector(gdf, output, layer="river_chiefs", overwrite=overwrite)
        click.echo(f"wrote {len(gdf)} stretches to {output}", err=True)
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    if fmt == "table":
        click.echo(_text(table))
        return
    rows: list[dict[str, Any]] = [
        {str(k): to_jsonable(v) for k, v in r.items()} for r in table.to_dict("records")
    ]
    click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
