"""``basingov query upstream`` and ``basingov query downstream``: network navigation."""

from __future__ import annotations

import json
from pathlib import Path

import click

from basingov import query
from basingov.cli._common import (
    VECTOR_SUFFIXES,
    check_output_file,
    choice_option,
    output_options,
    parse_lonlat,
)
from basingov.io import write_vector
from basingov.network import DOWNSTREAM_MODES, UPSTREAM_MODES

__all__ = ["downstream", "upstream"]


def _command(direction: str, modes: tuple[str, ...], default: str, doc: str) -> click.Command:
    """Make ``query upstream`` or ``query downstream``: the same options, other modes."""

    @click.command(direction, help=doc)
    @click.argument("basin")
    @click.option("--at", required=True, help="Query point LON,LAT (WGS84).")
    @choice_option(
        "--mode",
        choices=modes,
        default=default,
        help_text="Navigation mode (NLDI).",
        case_sensitive=False,
    )
    @click.option("--max-km", type=float, default=None, help="Distance limit along the network.")
    @click.option("--network", default=None, help="[networks.<key>] to use (default: basin's).")
    @click.option(
        "--tolerance",
        type=float,
        default=2000.0,
        show_default=True,
        help="Snap: the farthest reach (m) the point may snap to.",
    )
    @output_options("--output", help_text="Also write the reaches to .geojson, .gpkg or .csv.")
    def command(
        basin: str,
        at: str,
        mode: str,
        max_km: float | None,
        network: str | None,
        tolerance: float,
        output: Path | None,
        overwrite: bool,
    ) -> None:

        if output is not None:
            check_output_file(output, VECTOR_SUFFIXES, overwrite=overwrite)
        lon, lat = parse_lonlat(at)
        mode = mode.upper()
        navigate = query.upstream if direction == "upstream" else query.downstream
        res = navigate(
            basin,
            (lon, lat),
            mode=mode,  # type: ignore[arg-type]
            max_km=max_km,
            network=network,
            tolerance_m=tolerance,
        )
        summary, sel = res.as_dict(), res.reaches
        if output is not None:
            extra_geoms = [
                c for c in sel.columns if c != sel.geometry.name and sel[c].dtype == "geometry"
            ]
            write_vector(
                sel.drop(columns=extra_geoms),
                output,
                layer=f"{direction}_{mode}",
                overwrite=overwrite,
            )
            summary["output"] = str(output)
            click.echo(f"wrote {len(sel)} reaches to {output}", err=True)
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))

    return command


upstream = _command(
    "upstream",
    UPSTREAM_MODES,
    "UT",
    """Everything upstream of a point in BASIN (a shipped name or a config path).

    The point snaps to the nearest reach, preferring the larger river among near ties.
    JSON with reach_id, snap_distance_m, upstream_area_km2, n_reaches, length_km and the
    jurisdictions drained goes to stdout.
    """,
)
downstream = _command(
    "downstream",
    DOWNSTREAM_MODES,
    "DM",
    """Everything downstream of a point in BASIN (a shipped name or a config path).

    JSON with reach_id, snap_distance_m, upstream_area_km2, n_reaches, length_km and the
    jurisdictions crossed goes to stdout.
    """,
)
