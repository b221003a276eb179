"""``basingov query crossings`` and ``basingov query jurisdiction``: border questions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from basingov import governance, pipeline, query
from basingov.cli._common import (
    VECTOR_SUFFIXES,
    check_output_file,
    output_options,
    path_option,
)
from basingov.errors import InputError
from basingov.io import to_jsonable, write_vector

__all__ = ["crossings", "jurisdiction"]


@click.command("crossings")
@click.argument("basin")
@click.option("--level", "level", default=None, help="Jurisdiction level (default: all).")
@click.option("--river", default=None, help="Only reaches whose name contains this text.")
@click.option(
    "--between", nargs=2, default=None, help="Only crossings between these two jurisdictions."
)
@output_options("--output", help_text="Write to .csv, .gpkg or .geojson instead of printing JSON.")
@click.option(
    "--include-minor", is_flag=True, help="Also list crossings of small streams (flag 'minor')."
)
def crossings(
    basin: str,
    level: str | None,
    river: str | None,
    between: tuple[str, str] | None,
    output: Path | None,
    overwrite: bool,
    include_minor: bool,
) -> None:
    """List where rivers of BASIN pass from one jurisdiction into another.

    BASIN is a shipped basin name or a config path. Without -o, JSON goes to stdout.
    """
    if output is not None:
        check_output_file(output, VECTOR_SUFFIXES, overwrite=overwrite)
    sel = query.crossings(
        basin, level=level, river=river, between=between, include_minor=include_minor
    )
    if output is not None:
        write_vector(sel, output, layer="crossings", overwrite=overwrite)
        click.echo(f"wrote {len(sel)} crossings to {output}", err=True)
        return
    click.echo(json.dumps(query.crossing_records(sel), indent=2))


def _check_run_of(run_dir: Path, basin: str) -> None:
    """Refuse the run folder of another basin (its summary.json names the basin it ran)."""
    try:
        ran = json.loads((run_dir / "summary.json").read_text(encoding="utf-8")).get("basin")
    except (OSError, ValueError, AttributeError):
        return  # no readable summary: read_run_tables checks the tables themselves
    if ran is not None and ran != basin:
        msg = (
            f"{run_dir} is a run of basin {ran!r}, not {basin!r}; pass the output folder of "
            f"'basingov run {basin}' to --run"
        )
        raise InputError(msg)


@click.command("jurisdiction")
@click.argument("basin")
@click.argument("name_or_id")
@click.option("--level", "level", default=None, help="Look the name up at this level only.")
@path_option(
    "--run",
    "run_dir",
    kind="folder",
    help_text="Read transfers and River Chief stretches from this finished 'basingov run' folder "
    "instead of running the pipeline in memory.",
)
def jurisdiction(basin: str, name_or_id: str, level: str | None, run_dir: Path | None) -> None:
    """Show what drains into a jurisdiction, where its water goes, its crossings and indicators.

    Also what it pays and receives under the basin's compensation rules (and why), and the
    river stretches it answers for under the River Chief System. BASIN is a shipped basin
    name or a config path; NAME_OR_ID is a jur_id, a name or a unique name prefix. JSON
    goes to stdout.
    """
    if run_dir is not None:
        ov = query.load_overlay(basin)
        _check_run_of(run_dir, ov.basin.name)
        report = query.jurisdiction(ov, name_or_id, level=level).as_dict()
        tables = governance.read_run_tables(run_dir)
    else:
        res = pipeline.run(basin)
        report = query.jurisdiction(res, name_or_id, level=level).as_dict()
        tables = res.tables
    jid = report["jur_id"]
    report["compensation"] = to_jsonable(
        governance.jurisdiction_money(tables["transfers"], tables["settlement"], jid)
    )
    report["river_chief_stretches"] = to_jsonable(
        governance.jurisdiction_stretches(tables["river_chiefs"], jid, level=report["level_name"])
    )
    click.echo(json.dumps(report, indent=2, ensure_ascii=False))
