"""``basingov spill``: the notification list for an accidental release."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from basingov.cli._common import parse_lonlat
from basingov.io import to_jsonable

__all__ = ["spill"]


@click.command("spill")
@click.argument("basin")
@click.option("--at", "at", required=True, help="Release point LON,LAT (WGS84 degrees).")
@click.option("--mass", "mass", required=True, type=float, help="Released mass in kg.")
@click.option("--time", "time_", default=None, help="Release time, ISO 8601 (optional).")
@click.option("--network", default=None, help="Network key (default: [basin] network).")
@click.option(
    "--mode",
    type=click.Choice(["DM", "DD"]),
    default="DM",
    show_default=True,
    help="Follow the main stem (DM) or every diversion (DD).",
)
@click.option(
    "--dispersion",
    type=float,
    default=None,
    help="Longitudinal dispersion coefficient D in m2/s (default: the basin config's "
    "[spillover] dispersion_m2_s, else basingov.spill.DEFAULT_DISPERSION_M2_S).",
)
@click.option("--decay", type=float, default=0.0, show_default=True, help="Decay rate, 1/day.")
@click.option(
    "--flow",
    "flow",
    type=float,
    default=None,
    help="Discharge at the release in m3/s (default: the reach's mean flow). Discharges on "
    "the path scale by the same ratio, velocities by its power b (v = a Q^b).",
)
@click.option(
    "--flow-percentile",
    "flow_percentile",
    type=float,
    default=None,
    help="Flow at the release as an exceedance percentile (95 = a low flow exceeded 95 % of "
    "the time), from the basin's lognormal flow-duration curve ([hydraulics] "
    "flow_duration_sigma_ln). Excludes --flow.",
)
@click.option("--tolerance", type=float, default=5000.0, show_default=True, help="Snap, m.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="JSON to stdout, or only the table to stderr.",
)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the list to FILE.csv or FILE.json.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def spill(
    basin: str,
    at: str,
    mass: float,
    time_: str | None,
    network: str | None,
    mode: str,
    dispersion: float | None,
    decay: float,
    flow: float | None,
    flow_percentile: float | None,
    tolerance: float,
    fmt: str,
    out: Path | None,
    overwrite: bool,
) -> None:
    """Who must be warned, and by when, after a release of MASS kg at LON,LAT in BASIN.

    Prints JSON with a ``notifications`` list (jur_id, name, level, crossing_lon,
    crossing_lat, arrival_hours, peak_hours, peak_mg_l, lake; sorted by arrival) to stdout
    and a table to stderr. A lake on the path holds the plume for its residence time.
    """
    import numpy as np
    import shapely
    from pyproj import Transformer

    from basingov.datasets import load_basin, load_network
    from basingov.errors import InputError
    from basingov.io import check_overwrite, write_csv, write_json
    from basingov.network import DEFAULT_VELOCITY_B
    from basingov.network.navigation import navigate, snap_point
    from basingov.overlay import split_reaches
    from basingov.spill import DEFAULT_DISPERSION_M2_S, flow_duration_ratio, spill_notifications

    lon, lat = parse_lonlat(at)
    if flow is not None and flow_percentile is not None:
        msg = "give --flow or --flow-percentile, not both"
        raise click.UsageError(msg)
    if flow is not None and not flow > 0:
        msg = f"--flow must be a discharge > 0 in m3/s, got {flow}"
        raise click.BadParameter(msg)
    release = None
    if time_ is not None:
        try:
            release = dt.datetime.fromisoformat(time_)
        except ValueError:
            msg = f"--time must be an ISO 8601 date-time (e.g. 2026-11-23T08:00), got {time_!r}"
            raise click.BadParameter(msg) from None
    if out is not None:
        if out.suffix not in (".csv", ".json"):
            msg = f"-o must end in .csv or .json, got {out.name!r}"
            raise InputError(msg)
        check_overwrite(out, overwrite=overwrite)
    b = load_basin(basin)
    cfg = b.config
    key = network or cfg.basin.network
    net = load_network(b, key=key)
    d_coef = next(
        d
        for d in (dispersion, cfg.spillover.dispersion_m2_s, DEFAULT_DISPERSION_M2_S)
        if d is not None
    )
    snap = snap_point(net, lon, lat, tolerance_m=tolerance)
    q_mean = float(net.reaches["discharge_m3s"].iloc[snap.position])
    hyd = cfg.hydraulics
    b_exp = DEFAULT_VELOCITY_B if hyd.velocity_b is None else float(hyd.velocity_b)
    flow_info: dict[str, Any] = {"q_mean_m3s": q_mean, "velocity_b": b_exp}
    ratio = 1.0
    if (flow is not None or flow_percentile is not None) and not (
        np.isfinite(q_mean) and q_mean > 0
    ):
        msg = (
            f"reach {snap.reach_id} has no mean discharge, so --flow/--flow-percentile "
            "cannot be scaled along the path; fill discharge_m3s of the network"
        )
        raise InputError(msg)
    if flow is not None:
        ratio = flow / q_mean
        flow_info.update(q_release_m3s=flow, source="--flow (given)")
    elif flow_percentile is not None:
        if hyd.flow_duration_sigma_ln is None:
            msg = (
                f"{cfg.source.name} gives no flow-duration curve: set [hydraulics] "
                "flow_duration_sigma_ln (standard deviation of ln daily flow) and "
                "flow_duration_source, or use --flow Q"
            )
            raise InputError(msg)
        ratio = flow_duration_ratio(flow_percentile, sigma_ln=hyd.flow_duration_sigma_ln)
        flow_info.update(
            q_release_m3s=q_mean * ratio,
            percentile=flow_percentile,
            flow_duration_sigma_ln=hyd.flow_duration_sigma_ln,
            source=(
                "ASSUMPTION: lognormal flow-duration curve, sigma of ln(flow) from "
                f"{hyd.flow_duration_source or 'the basin config'}"
            ),
        )
    else:
        flow_info.update(q_release_m3s=q_mean, source="mean flow of the release reach")
    flow_info["ratio"] = ratio
    x, y = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform(lon, lat)
    geom = net.reaches.geometry.iloc[snap.position]
    frac = float(shapely.line_locate_point(geom, shapely.Point(x, y), normalized=True))
    path = navigate(net, snap.reach_id, mode=mode)  # type: ignore[arg-type]
    sub = net.reaches.iloc[path][["reach_id", "geometry"]].reset_index(drop=True)
    levels = list(cfg.boundaries.levels)
    pieces = split_reaches(sub, b.jurisdictions, levels=levels)
    table = spill_notifications(
        net,
        pieces,
        snap.reach_id,
        mass,
        levels=levels,
        start_fraction=frac,
        mode=mode,  # type: ignore[arg-type]
        dispersion_m2_s=d_coef,
        decay_per_day=decay,
        release_time=release,
        flow_ratio=ratio,
        velocity_b=b_exp,
    )
    result = {
        "basin": cfg.basin.name,
        "network": key,
        "release": {
            "lon": lon,
            "lat": lat,
            "reach_id": snap.reach_id,
            "snap_distance_m": snap.distance_m,
            "fraction": frac,
            "mass_kg": mass,
            "time": time_,
        },
        "mode": mode,
        "dispersion_m2_s": d_coef,
        "decay_per_day": decay,
        "flow": flow_info,
        "notifications": table.replace({np.nan: None}).to_dict(orient="records"),
    }
    if out is not None:
        if out.suffix == ".csv":
            write_csv(table, out, overwrite=overwrite)
        else:
            write_json(to_jsonable(result), out, overwrite=overwrite)
    click.echo(
        f"release of {mass:g} kg at {lon:.4f},{lat:.4f} -> reach {snap.reach_id} "
        f"({snap.distance_m:.0f} m away) at {float(flow_info['q_release_m3s']):.4g} m3/s "
        f"(mean {q_mean:.4g}); {len(table)} notification(s):",
        err=True,
    )
    click.echo(f"{'h arrive':>9} {'h peak':>8} {'mg/L':>10}  level  jurisdiction", err=True)
    for rec in table.to_dict(orient="records"):
        pk = float(rec["peak_mg_l"])
        peak = "-" if np.isnan(pk) else f"{pk:.4g}"
        click.echo(
            f"{float(rec['arrival_hours']):9.1f} {float(rec['peak_hours']):8.1f} {peak:>10}  "
            f"{rec['level_name']!s:<6} {rec['jur_id']} {rec['name']}"
            + (
                f"  [{'on' if rec.get('on_lake') else 'below'} lake {rec['lake']}]"
                if rec.get("lake")
                else ""
            ),
            err=True,
        )
    if fmt == "json":
        click.echo(json.dumps(to_jsonable(result), indent=2))
