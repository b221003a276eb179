"""``basingov query upstream`` and ``basingov query downstream``: network navigation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np

from basingov.cli._common import parse_lonlat
from basingov.errors import InputError

__all__ = ["downstream", "query_network", "upstream"]

_OUT_SUFFIXES = {".csv", ".gpkg", ".geojson"}
_UP_MODES = ("UM", "UT")
_DOWN_MODES = ("DM", "DD")


def query_network(
    basin: str | Path,
    lon: float,
    lat: float,
    *,
    mode: str,
    max_km: float | None = None,
    network: str | None = None,
    tolerance_m: float = 2000.0,
) -> tuple[dict[str, Any], Any]:
    """Snap a point in a basin, navigate from it and summarise the result.

    Parameters
    ----------
    basin
        Shipped basin name or config path.
    lon, lat
        The query point (WGS84).
    mode
        ``UM``, ``UT``, ``DM`` or ``DD``.
    max_km
        Optional distance limit along the network.
    network
        Key of a ``[networks.<key>]`` table; default: the basin's configured network.
    tolerance_m
        Snapping tolerance.

    Returns
    -------
    tuple
        ``(summary, reaches)``: the JSON-ready summary and the selected reaches
        (GeoDataFrame, upstream to downstream for downstream modes).

    Raises
    ------
    InputError
        For an unknown network key or mode, or a point outside the network.
    """
    from basingov.datasets import load_basin, load_network
    from basingov.network.navigation import navigate, snap_point

    b = load_basin(basin)
    cfg = b.config
    key = network or cfg.basin.network
    if key not in cfg.networks:
        msg = f"network {key!r} is not in the basin config; available: {sorted(cfg.networks)}"
        raise InputError(msg)
    net = load_network(b, key=key)
    area_source = net.source
    snap = snap_point(net, lon, lat, tolerance_m=tolerance_m)
    pos = navigate(net, snap.reach_id, mode=mode, max_km=max_km)  # type: ignore[arg-type]
    sel = net.reaches.iloc[pos].reset_index(drop=True)
    jurisdictions, note = _jurisdictions(b, sel, list(cfg.boundaries.levels))
    summary: dict[str, Any] = {
        "basin": cfg.basin.name,
        "network": key,
        "derived_network": bool(net.derived),
        "mode": mode,
        "max_km": max_km,
        "at": [lon, lat],
        "reach_id": snap.reach_id,
        "snap_distance_m": round(snap.distance_m, 1),
        "upstream_area_km2": _num(snap.upstream_area_km2),
        "upstream_area_source": area_source,
        "n_reaches": len(sel),
        "length_km": _num(float(sel["length_km"].sum())),
        "jurisdictions": jurisdictions,
    }
    if note:
        summary["jurisdictions_note"] = note
    return summary, sel


def _num(v: float) -> float | None:
    return None if not math.isfinite(v) else round(v, 3)


def _jurisdictions(b: Any, sel: Any, levels: list[str]) -> tuple[dict[str, Any], str]:
    try:
        from basingov.overlay import reach_jurisdictions, split_reaches
    except ImportError:  # overlay stage not installed in this build
        return {}, "jurisdiction overlay is not available in this installation"
    if len(sel) == 0:
        return {}, ""
    pieces = split_reaches(sel, b.jurisdictions, levels=levels)
    return reach_jurisdictions(pieces, sel["reach_id"].to_numpy(dtype=np.int64)), ""


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
    from basingov.io import check_overwrite, write_vector

    if output is not None:
        if output.suffix.lower() not in _OUT_SUFFIXES:
            msg = f"Cannot write {output}: use a .csv, .gpkg or .geojson file name"
            raise InputError(msg)
        check_overwrite(output, overwrite=overwrite)
    lon, lat = parse_lonlat(at)
    summary, sel = query_network(basin, lon, lat, mode=mode, max_km=max_km, network=network)
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
