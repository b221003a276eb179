"""``basingov query upstream`` and ``basingov query downstream``: network navigation."""

from __future__ import annotations

import json
from pathlib import Path

import click

from basingov.cli._common import parse_lonlat
from basingov.errors import InputError

__all__ = ["downstream", "upstream"]

_OUT_SUFFIXES = {".csv", ".gpkg", ".geojson"}
_UP_MODES = ("UM", "UT")
_DOWN_MODES = ("DM", "DD")


def _run(
    direction: str,
    basin: str,
    at: str,
    mode: str,
    max_km: float | None,
    network: str | None,
    output: Path | None,
    overwrite: bool,
) -> None:
    from basingov import query
    from basingov.io import check_overwrite, write_vector

    if output is not None:
        if output.suffix.lower() not in _OUT_SUFFIXES:
            msg = f"Cannot write {output}: use a .csv, .gpkg or .geojson file name"
            raise InputError(msg)
        check_overwrite(output, overwrite=overwrite)
    lon, lat = parse_lonlat(at)
    if direction == "upstream":
        res = query.upstream(
            basin,
            (lon, lat),
            mode=mode,  # type: ignore[arg-type]
            max_km=max_km,
            network=network,
        )
    else:
        res = query.downstream(
            basin,
            (lon, lat),
            mode=mode,  # type: ignore[arg-type]
            max_km=max_km,
            network=network,
        )
    summary, sel = res.as_dict(), res.reaches
    if output is not None:
        extra_geoms = [
            c for c in sel.columns if c != sel.geometry.name and sel[c].dtype == "geometry"
        ]
        write_vector(
            sel.drop(columns=extra_geoms), output, layer=f"{direction}_{mode}", overwrite=overwrite
        )
        summary["output"] = str(output)
        click.echo(f"wrote {len(sel)} reaches to {output}", err=True)
    click.echo(json.dumps(summary, indent=2, ensure_ascii=False))


def _options(modes: tuple[str, ...], default: str):  # type: ignore[no-untyped-def]
    def deco(f):  # type: ignore[no-untyped-def]
        for opt in reversed(
            [
                click.argument("basin"),
                click.option("--at", required=True, help="Query point LON,LAT (WGS84)."),
                click.option(
                    "--mode",
                    type=click.Choice(modes, case_sensitive=False),
                    default=default,
                    show_default=True,
                    help="Navigation mode (NLDI).",
                ),
                click.option(
                    "--max-km", type=float, default=None, help="Distance limit along the network."
                ),
                click.option(
                    "--network", default=None, help="[networks.<key>] to use (default: basin's)."
                ),
                click.option(
                    "-o",
                    "--output",
                    type=click.Path(dir_okay=False, path_type=Path),
                    default=None,
                    help="Also write the reaches to .geojson, .gpkg or .csv.",
                ),
                click.option("--overwrite", is_flag=True, help="Replace an existing output file."),
            ]
        ):
            f = opt(f)
        return f

    return deco


@click.command("upstream")
@_options(_UP_MODES, "UT")
def upstream(
    basin: str,
    at: str,
    mode: str,
    max_km: float | None,
    network: str | None,
    output: Path | None,
    overwrite: bool,
) -> None:
    """Everything upstream of a point in BASIN (a shipped name or a config path).

    The point snaps to the nearest reach, preferring the larger river among near ties.
    JSON with reach_id, snap_distance_m, upstream_area_km2, n_reaches, length_km and the
    jurisdictions drained goes to stdout.
    """
    _run("upstream", basin, at, mode.upper(), max_km, network, output, overwrite)


@click.command("downstream")
@_options(_DOWN_MODES, "DM")
def downstream(
    basin: str,
    at: str,
    mode: str,
    max_km: float | None,
    network: str | None,
    output: Path | None,
    overwrite: bool,
) -> None:
    """Everything downstream of a point in BASIN (a shipped name or a config path).

    JSON with reach_id, snap_distance_m, upstream_area_km2, n_reaches, length_km and the
    jurisdictions crossed goes to stdout.
    """
    _run("downstream", basin, at, mode.upper(), max_km, network, output, overwrite)
