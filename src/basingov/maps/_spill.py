"""Spill scenario map: the release, the path downstream and who is warned, and when."""

from __future__ import annotations

import html
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import level_names, require_columns
from basingov.errors import InputError
from basingov.maps import _layers as L
from basingov.maps._indicators import display_names, fmt
from basingov.maps._simplify import coordinate_digits, feature_collection, simplify_coverage
from basingov.maps._text import level_label

__all__ = ["spill_map"]

_STYLE_BASIN = (
    "function () { return {fillColor: '#fbfaf3', fillOpacity: 1, color: '#2b6c9e', weight: 2}; }"
)
_STYLE_BORDER = "function () { return {fill: false, color: '#333', weight: 0.8}; }"

_NOTIFY_COLUMNS = ("jur_id", "level_name", "crossing_lon", "crossing_lat", "arrival_hours")


def _hours(h: float) -> str:
    if not np.isfinite(h):
        return "n/a"
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} days ({h:.0f} h)"


def spill_map(
    notifications: pd.DataFrame,
    path: gpd.GeoDataFrame,
    jurisdictions: gpd.GeoDataFrame,
    *,
    release: tuple[float, float],
    mass_kg: float,
    basin: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    tolerance_m: float | None = None,
) -> folium.Map:
    """Map a spill scenario: release point, downstream path, and each notified jurisdiction.

    Parameters
    ----------
    notifications
        The notification list of :func:`basingov.spill.spill_notifications` (``jur_id,
        name, level_name, crossing_lon, crossing_lat, arrival_hours, peak_hours,
        peak_mg_l``; optional ``arrival_time, peak_time``).
    path
        The reaches on the path downstream of the release (any CRS).
    jurisdictions
        The basin's jurisdictions (``jur_id, name, level, level_name``; projected CRS).
    release
        Release point ``(lon, lat)`` in WGS84 degrees.
    mass_kg
        Released mass.
    basin
        Basin outline for the basemap (optional).
    title
        Map title.
    tolerance_m
        Border simplification tolerance (default: about a quarter of a screen pixel at
        the opening view).

    Returns
    -------
    folium.Map
        Offline when rendered (Leaflet inlined); write it with
        :func:`basingov.maps.save_map`.

    Raises
    ------
    InputError
        If the notification list lacks its columns or is empty.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, box
    >>> jur = gpd.GeoDataFrame({"jur_id": ["A", "B"], "name": ["Up", "Down"], "level": [0, 0],
    ...     "level_name": ["country"] * 2}, geometry=[box(0, 0, 1e4, 1e4), box(1e4, 0, 2e4, 1e4)],
    ...     crs="EPSG:3035")
    >>> path = gpd.GeoDataFrame(geometry=[LineString([(5e3, 5e3), (1.5e4, 5e3)])], crs="EPSG:3035")
    >>> lonlat = path.to_crs(4326).geometry.iloc[0].coords
    >>> note = pd.DataFrame({"jur_id": ["A", "B"], "name": ["Up", "Down"], "level": [0, 0],
    ...     "level_name": ["country"] * 2, "crossing_lon": [lonlat[0][0], lonlat[-1][0]],
    ...     "crossing_lat": [lonlat[0][1], lonlat[-1][1]], "arrival_hours": [0.0, 2.5],
    ...     "peak_hours": [0.0, 3.0], "peak_mg_l": [float("nan"), 0.4]})
    >>> m = spill_map(note, path, jur, release=lonlat[0], mass_kg=1000.0)
    >>> "arrives after about 2.5 h" in m.get_root().render()
    True
    """
    require_columns(notifications, _NOTIFY_COLUMNS, what="the notification list")
    if notifications.empty:
        msg = "the notification list is empty: nothing to map"
        raise InputError(msg)
    note = notifications.copy()
    note["jur_id"] = note["jur_id"].astype(str)
    note["level_name"] = note["level_name"].astype(str)
    names = display_names(jurisdictions)
    label = dict(zip(names["jur_id"], names["label"], strict=True))
    levels = level_names(jurisdictions)
    bounds_src = path if basin is None else basin
    b = bounds_src.to_crs("EPSG:4326").total_bounds
    lon, lat = release
    south, west = min(b[1], lat), min(b[0], lon)
    north, east = max(b[3], lat), max(b[2], lon)
    heading = title or f"Spill of {fmt(mass_kg)} kg: who must be warned, and when"
    m = L.new_map(title=heading, bounds=[[south, west], [north, east]])
    m.add_child(L.Panes())
    m.add_child(L.Helpers(unit="the released substance", flow_note="see the run's flows"))
    proj = jurisdictions.crs
    extent = max(
        float(np.ptp(jurisdictions.total_bounds[[0, 2]])),
        float(np.ptp(jurisdictions.total_bounds[[1, 3]])),
    )
    tol = tolerance_m if tolerance_m is not None else max(extent / 4000.0, 5.0)
    digits = coordinate_digits(tol)
    if basin is not None:
        bd = L.add_data(m, feature_collection(simplify_coverage(basin.to_crs(proj), tol, by=None)))
        L.add_backdrop(m, bd, name="Basin", pane="bg_land", style=_STYLE_BASIN)
    polys = jurisdictions[["jur_id", "level_name", "geometry"]].copy()
    polys["jur_id"] = polys["jur_id"].astype(str)
    polys["lv"] = polys["level_name"].astype(str)
    first = note.sort_values("arrival_hours").drop_duplicates(["jur_id", "level_name"])
    arrive = first.set_index(["jur_id", "level_name"])
    key = list(zip(polys["jur_id"], polys["lv"], strict=True))
    hours = np.array([float(arrive["arrival_hours"].get(k, np.nan)) for k in key])
    fin = hours[np.isfinite(hours)]
    top = float(fin.max()) if len(fin) else 1.0
    pal = L.palette("YlOrRd_r", 5)
    cuts = np.linspace(0.0, top if top > 0 else 1.0, 6)[1:]
    polys["c"] = [pal[int(np.searchsorted(cuts, h))] if np.isfinite(h) else None for h in hours]
    polys["t"] = [
        f"{label.get(j, j)}: warned, plume after {_hours(h)}"
        if np.isfinite(h)
        else f"{label.get(j, j)}: not on the path"
        for j, h in zip(polys["jur_id"], hours, strict=True)
    ]
    polys["p"] = [
        f"<h3>{html.escape(label.get(j, j))}</h3>"
        + (
            f"<p>On the plume's path: it arrives after about {_hours(h)}.</p>"
            if np.isfinite(h)
            else "<p>Not on the path downstream of the release.</p>"
        )
        for j, h in zip(polys["jur_id"], hours, strict=True)
    ]
    pd_ = L.add_data(
        m,
        feature_collection(
            simplify_coverage(gpd.GeoDataFrame(polys, crs=proj), tol),
            ["lv", "c", "t", "p"],
            digits=digits,
        ),
    )
    L.add_backdrop(m, pd_, name="Borders", pane="bg_borders", style=_STYLE_BORDER)
    legend_ids: dict[str, str] = {}
    blocks = []
    shown = [lv for lv in levels if (note["level_name"] == lv).any()]
    for i, lv in enumerate(shown):
        name = f"Warned {level_label(lv)} (colour = arrival time)"
        m.add_child(
            L.GeoLayer(
                pd_,
                name=name,
                pane="bg_fill",
                overlay=False,
                show=i == 0,
                filter=f"function (f) {{ return f.properties.lv === {lv!r}; }}",
                style="function (f) { var c = f.properties.c; return {fillColor: c || '#eee', "
                "fillOpacity: c ? 0.6 : 0.15, color: '#777', weight: 0.5}; }",
            )
        )
        lid = f"bg-legend-{i}"
        legend_ids[name] = lid
        rows = [(pal[k], f"arrives within {_hours(float(cuts[k]))}") for k in range(len(cuts))] + [
            ("#eeeeee", "not on the path")
        ]
        blocks.append(f'<div id="{lid}">{L.legend_html(f"Arrival: {level_label(lv)}", rows)}</div>')
    # path and release
    pth = gpd.GeoDataFrame(geometry=path.geometry.to_numpy(), crs=path.crs)
    pth["t"] = "Path of the plume downstream of the release"
    pth["p"] = "<h3>Plume path</h3><p>The reaches downstream of the release.</p>"
    path_data = L.add_data(m, feature_collection(pth, ["t", "p"], digits=max(digits, 4)))
    m.add_child(
        L.GeoLayer(
            path_data,
            name="Path downstream",
            pane="bg_rivers",
            style="function () { return {color: '#d7301f', weight: 4, opacity: 0.9}; }",
        )
    )
    pts = note.copy()
    pts["r"] = 6.0
    pts["c"] = "#fdae61"
    nm = pts["name"] if "name" in pts.columns else pts["jur_id"]
    pts["t"] = [
        f"{label.get(j, n)}: +{_hours(float(h))}"
        for j, n, h in zip(pts["jur_id"], nm, pts["arrival_hours"], strict=True)
    ]
    pts["p"] = [_notice(r, label) for r in pts.to_dict(orient="records")]
    release_row = {
        "r": 10.0,
        "c": "#7f0000",
        "t": "Release",
        "p": (
            f"<h3>Release</h3><p>{fmt(mass_kg)} kg released at {lon:.4f}, {lat:.4f}.</p>"
            "<p>Times below are estimates from mean-flow velocities (derived).</p>"
        ),
        "crossing_lon": lon,
        "crossing_lat": lat,
    }
    pts = pd.concat([pts, pd.DataFrame([release_row])], ignore_index=True)
    xy = pts[["crossing_lon", "crossing_lat"]].astype(float).to_numpy()
    gpts = gpd.GeoDataFrame(pts[["r", "c", "t", "p"]], geometry=shapely.points(xy), crs="EPSG:4326")
    pt_data = L.add_data(m, feature_collection(gpts, ["r", "c", "t", "p"], digits=5))
    point_js = (
        "function (f, latlng) { var p = f.properties; return L.circleMarker(latlng, "
        "{pane: 'bg_points', radius: p.r, color: '#222', weight: 1.2, fillColor: p.c, "
        "fillOpacity: 0.95}); }"
    )
    m.add_child(
        L.GeoLayer(
            pt_data,
            name="Release and warning points",
            pane="bg_points",
            style="function () { return {}; }",
            point=point_js,
        )
    )
    folium.TileLayer(
        "OpenStreetMap",
        name="Online map tiles (OpenStreetMap; needs internet)",
        overlay=True,
        show=False,
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(
        L.TitleBox(
            f"<h1>{html.escape(heading)}</h1><div class='bg-note'>Click a point for "
            "arrival and peak times. Offline file: no internet needed.</div>"
        )
    )
    L.panel(m, _panel(note, label, blocks, levels), position="bottomleft")
    if legend_ids:
        m.add_child(L.LegendSwitch(legend_ids, next(iter(legend_ids))))
    m.add_child(L.ReadyMark())
    return m


def _notice(rec: dict, label: dict[str, str]) -> str:
    name = html.escape(label.get(str(rec["jur_id"]), str(rec.get("name", rec["jur_id"]))))
    lv = level_label(str(rec.get("level_name", "")))
    arr, pk = float(rec["arrival_hours"]), float(rec.get("peak_hours", np.nan))
    conc = float(rec.get("peak_mg_l", np.nan))
    if arr == 0 and (not np.isfinite(pk) or pk == 0):
        text = "<p>The release is inside this jurisdiction: warn it at once.</p>"
    else:
        text = f"<p>The plume arrives after about <b>{_hours(arr)}</b>"
        if "arrival_time" in rec and isinstance(rec["arrival_time"], str):
            text += f" ({html.escape(rec['arrival_time'])})"
        text += "."
        if np.isfinite(pk):
            text += f" It peaks after about {_hours(pk)}"
            if np.isfinite(conc):
                text += f" at about {fmt(conc)} mg/L (estimate)"
            text += "."
        text += "</p>"
    return (
        f"<h3>Warn {name}</h3><p class='bg-note'>One of the {lv}.</p>{text}"
        "<p class='bg-note'>Times from mean-flow velocities and an assumed dispersion "
        "(derived estimates).</p>"
    )


def _panel(
    note: pd.DataFrame, label: dict[str, str], blocks: Sequence[str], levels: list[str]
) -> str:
    rows = []
    for rec in note.sort_values(["arrival_hours", "level"]).to_dict(orient="records"):
        pk = float(rec.get("peak_hours", np.nan))
        rows.append(
            f"<tr><td>{html.escape(label.get(str(rec['jur_id']), str(rec.get('name', ''))))}</td>"
            f"<td>{html.escape(level_label(str(rec['level_name'])))}</td>"
            f"<td>{_hours(float(rec['arrival_hours']))}</td><td>{_hours(pk)}</td></tr>"
        )
    return (
        "<details><summary>Who must be warned, in order</summary>"
        "<table style='border-collapse:collapse;font-size:12px'><tr><th align=left>Jurisdiction"
        "</th><th align=left>Level</th><th align=left>Arrives</th><th align=left>Peak</th></tr>"
        + "".join(rows[:60])
        + "</table>"
        + (
            f"<p class='bg-note'>{len(rows) - 60} more in the notification list.</p>"
            if len(rows) > 60
            else ""
        )
        + "".join(blocks)
        + "<p class='bg-note'>Arrival is the leading edge of the plume; travel times use "
        "mean-flow velocities, which accidents often do not have (see basingov spill "
        "--help).</p></details>"
    )
