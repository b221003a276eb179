"""``basingov spill``: the notification list for an accidental release."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import numpy as np

from basingov import maps
from basingov.cli._common import (
    check_output_file,
    choice_option,
    output_options,
    parse_lonlat,
    path_option,
)
from basingov.errors import InputError
from basingov.io import write_csv, write_json
from basingov.network import DOWNSTREAM_MODES
from basingov.spill import MAX_PEAK_MG_L, warn

__all__ = ["spill"]


@click.command("spill")
@click.argument("basin")
@click.option("--at", "at", required=True, help="Release point LON,LAT (WGS84 degrees).")
@click.option("--mass", "mass", required=True, type=float, help="Released mass in kg.")
@click.option("--time", "time_", default=None, help="Release time, ISO 8601 (optional).")
@click.option("--network", default=None, help="Network key (default: [basin] network).")
@choice_option(
    "--mode",
    choices=DOWNSTREAM_MODES,
    default="DM",
    help_text="Follow the main stem (DM) or every diversion (DD).",
    case_sensitive=False,
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
    "the path scale by the same ratio, velocities by its power b (v = a Q^b). A ratio outside "
    "0.002-11.6 (the shipped Thames daily flows over their mean) gets a warning.",
)
@click.option(
    "--flow-percentile",
    "flow_percentile",
    type=float,
    default=None,
    help="Flow at the release as an exceedance percentile (95 = a low flow exceeded 95 % of "
    "the time), from the basin's lognormal flow-duration curve ([hydraulics] "
    "flow_duration_sigma_ln). Excludes --flow. A ratio outside 0.002-11.6 gets the --flow "
    "warning.",
)
@click.option("--tolerance", type=float, default=5000.0, show_default=True, help="Snap, m.")
@choice_option(
    "--format",
    "fmt",
    choices=["json", "table"],
    default="json",
    help_text="JSON to stdout, or only the table to stderr.",
)
@output_options("--out", "out", help_text="Also write the list to FILE.csv or FILE.json.")
@path_option(
    "--map",
    "map_path",
    kind="file",
    output=True,
    help_text="Also write an offline HTML map of the release, the path and who is warned when.",
)
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
    map_path: Path | None,
    overwrite: bool,
) -> None:
    """Who must be warned, and by when, after a release of MASS kg at LON,LAT in BASIN.

    Prints JSON with a ``notifications`` list (jur_id, name, level, crossing_lon,
    crossing_lat, arrival_hours, peak_hours, peak_mg_l, lake, near_field,
    above_water_density; sorted by arrival), the ``flow`` used and the ``peak_model``
    assumed to stdout, and a table to stderr. A lake on the path holds the plume for its
    residence time. Peaks are those of an instantaneous release mixed over the
    cross-section (1-D advection-dispersion): a border within the cloud as released (near
    field) gets none, nor one whose modelled peak exceeds the density of water, 1e6 mg/L
    (above_water_density).
    """
    lon, lat = parse_lonlat(at)
    if flow is not None and flow_percentile is not None:
        msg = "give --flow or --flow-percentile, not both"
        raise click.UsageError(msg)
    if flow is not None and not flow > 0:  # a value out of range: an error (1), not usage
        msg = f"--flow must be a discharge > 0 in m3/s, got {flow}"
        raise InputError(msg)
    if time_ is not None:
        try:
            dt.datetime.fromisoformat(time_)
        except ValueError:
            msg = f"--time must be an ISO 8601 date-time (e.g. 2026-11-23T08:00), got {time_!r}"
            raise click.BadParameter(msg) from None
    if out is not None:
        check_output_file(out, (".csv", ".json"), overwrite=overwrite)
    if map_path is not None:
        check_output_file(map_path, (".html", ".htm"), overwrite=overwrite)
    res = warn(
        basin,
        (lon, lat),
        mass,
        time=time_,
        network=network,
        mode=mode.upper(),  # type: ignore[arg-type]
        dispersion_m2_s=dispersion,
        decay_per_day=decay,
        tolerance_m=tolerance,
        flow_m3s=flow,
        flow_percentile=flow_percentile,
    )
    table = res.notifications
    result = res.as_dict()
    if out is not None:
        if out.suffix.lower() == ".csv":
            write_csv(table, out, overwrite=overwrite)
        else:
            write_json(result, out, overwrite=overwrite)
    if map_path is not None:
        m = maps.spill_map(
            table,
            res.path,
            res.jurisdictions,
            release=(lon, lat),
            mass_kg=mass,
            basin=res.basin_polygon,
        )
        maps.save_map(m, map_path, overwrite=overwrite)
        click.echo(f"spill map written: {map_path}", err=True)
    click.echo(
        f"release of {mass:g} kg at {lon:.4f},{lat:.4f} -> reach {res.reach_id} "
        f"({res.snap_distance_m:.0f} m away) at {float(res.flow['q_release_m3s']):.4g} m3/s "
        f"(mean {float(res.flow['q_mean_m3s']):.4g}: {res.flow['q_mean_source']}); "
        f"{len(table)} notification(s):",
        err=True,
    )
    click.echo(f"{'h arrive':>9} {'h peak':>8} {'mg/L':>10}  level  jurisdiction", err=True)
    near_any = dense_any = False
    for rec in table.to_dict(orient="records"):
        pk = float(rec["peak_mg_l"])
        peak = "-" if np.isnan(pk) else f"{pk:.4g}"
        near = bool(rec.get("near_field")) and float(rec["peak_hours"]) > 0  # not the release
        near_any = near_any or near
        dense = bool(rec.get("above_water_density"))
        dense_any = dense_any or dense
        click.echo(
            f"{float(rec['arrival_hours']):9.1f} {float(rec['peak_hours']):8.1f} {peak:>10}  "
            f"{rec['level_name']!s:<6} {rec['jur_id']} {rec['name']}"
            + (
                f"  [{'on' if rec.get('on_lake') else 'below'} lake {rec['lake']}]"
                if rec.get("lake")
                else ""
            )
            + ("  [near field]" if near else "")
            + ("  [above water density]" if dense else ""),
            err=True,
        )
    if near_any:
        click.echo(
            "near field: the border lies within the cloud as released (arrival 0), where the "
            "1-D peak C = M/(A sqrt(4 pi D t)) grows without bound; no peak is estimated "
            "there (peak_model in the JSON)",
            err=True,
        )
    if dense_any:
        click.echo(
            f"above water density: the 1-D peak C = M/(A sqrt(4 pi D t)), A = Q/v, exceeds "
            f"{MAX_PEAK_MG_L:,.0f} mg/L, the density of water (1 kg per litre), which no "
            "dissolved concentration can: the release is not mixed over the cross-section "
            "there at this flow; no peak is estimated (peak_model in the JSON)",
            err=True,
        )
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
