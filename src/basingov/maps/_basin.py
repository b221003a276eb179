"""The basin map: choropleths, rivers, crossings, dependency arrows, stations, legends."""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import level_names, require_known
from basingov.config import load_config
from basingov.errors import InputError
from basingov.maps import _layers as L
from basingov.maps._indicators import (
    class_breaks,
    crossing_indicators,
    fmt,
    jurisdiction_indicators,
    pair_loads,
    parameter_label,
    priority_rows,
)
from basingov.maps._inputs import MAP_LAYER_COLUMNS, RunData, read_run
from basingov.maps._simplify import (
    coordinate_digits,
    feature_texts,
    simplify_coverage,
    simplify_lines,
)
from basingov.maps._text import (
    CROSSING_POPUP_KEYS,
    crossing_popup_records,
    jur_label,
    jurisdiction_popup,
    level_label,
    station_popup,
    transfer_records,
)

__all__ = ["DEFAULT_MAX_BYTES", "Indicator", "basin_map", "basin_page", "fit_budget", "map_context"]

logger = logging.getLogger(__name__)

#: Default size budget of one basin map (DESIGN §2.10: 5 MB).
DEFAULT_MAX_BYTES = 5_000_000

Indicator = Literal["priority", "imported_share", "upstream_dependency", "net_balance"]
INDICATORS: tuple[str, ...] = get_args(Indicator)

#: Fill colours of crossing markers per map level, coarsest first.
_LEVEL_COLOURS = ("#cb181d", "#fd8d3c", "#fdd0a2")

#: Choropleth title, legend title and colour map of each indicator.
_CHORO = {
    "priority": ("Priority for joint action", "Priority (highest of its sections and pairs)", ""),
    "imported_share": (
        "Imported load share",
        "Share of the load in its waters that comes from upstream jurisdictions (modelled)",
        "OrRd",
    ),
    "upstream_dependency": (
        "Upstream dependency",
        "Share of its water that comes from upstream jurisdictions",
        "YlGnBu",
    ),
    "net_balance": (
        "Net spillover balance",
        "Net balance: load sent minus load received (kg/day, modelled)",
        "PuOr_r",
    ),
}
_COLUMN = {
    "priority": "priority_class",
    "imported_share": "imported_share",
    "upstream_dependency": "upstream_dependency",
    "net_balance": "net_balance_kg_day",
}


# --- classification -----------------------------------------------------------------


def _classify(
    values: pd.Series, *, k: int = 5, cmap: str
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Fisher-Jenks classes (:func:`class_breaks`) -> colour per value and legend rows."""
    v = pd.to_numeric(values, errors="coerce")
    ok = v.notna() & np.isfinite(v)
    colours = pd.Series(None, index=values.index, dtype=object)
    if not ok.any():
        return colours, [(L.NO_DATA, "no data")]
    y = v[ok].to_numpy(dtype=float)
    bins = np.asarray(class_breaks(y, k=k))
    idx = np.clip(np.searchsorted(bins, y, side="left"), 0, len(bins) - 1)
    pal = L.palette(cmap, len(bins))
    colours[ok] = [pal[i] for i in idx]
    return colours, [(pal[i], "") for i in range(len(bins))] + [("bins", json.dumps(bins.tolist()))]


def _share_legend(rows: list[tuple[str, str]], values: pd.Series) -> list[tuple[str, str]]:
    bins = json.loads(rows[-1][1]) if rows and rows[-1][0] == "bins" else []
    lo = float(pd.to_numeric(values, errors="coerce").min()) if len(values) else 0.0
    out, prev = [], lo
    for (colour, _), hi in zip(rows[:-1], bins, strict=False):
        a, b = f"{100 * prev:.0f}", f"{100 * hi:.0f}"
        out.append((colour, f"{a} %" if a == b else f"{a} \u2013 {b} %"))
        prev = hi
    return out


def _balance_classes(values: pd.Series) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Diverging classes around 0: strong/weak net receiver, about balanced, weak/strong sender."""
    v = pd.to_numeric(values, errors="coerce")
    colours = pd.Series(None, index=values.index, dtype=object)
    ok = v.notna() & np.isfinite(v)
    if not ok.any():
        return colours, [(L.NO_DATA, "no data")]
    big = float(v[ok].abs().max()) or 1.0
    small = 0.05 * big
    mid = float(np.median(v[ok].abs()[v[ok].abs() > small])) if (v[ok].abs() > small).any() else big
    mid = min(max(mid, small * 1.01), big)
    edges = [-np.inf, -mid, -small, small, mid, np.inf]
    pal = L.palette("PuOr", 5)
    idx = np.digitize(v[ok].to_numpy(), edges[1:-1])
    colours[ok] = [pal[i] for i in idx]
    legend = [
        (pal[4], f"sends {fmt(mid)} or more kg/day more than it receives"),
        (pal[3], f"sends {fmt(small)} \u2013 {fmt(mid)} more"),
        (pal[2], f"about balanced (within ±{fmt(small)})"),
        (pal[1], f"receives {fmt(small)} \u2013 {fmt(mid)} more"),
        (pal[0], f"receives {fmt(mid)} or more kg/day more than it sends"),
    ]
    return colours, legend


def _priority_classes(values: pd.Series) -> tuple[pd.Series, list[tuple[str, str]]]:
    s = values.astype(object).where(values.notna(), None)
    colours = s.map(lambda c: L.PRIORITY_COLOURS.get(str(c).lower()) if c else None)
    legend = [(c, k) for k, c in L.PRIORITY_COLOURS.items()]
    return colours, legend


# --- context: everything that does not depend on the size budget ---------------------


@dataclass(kw_only=True)
class MapContext:
    """Layers and texts of one basin map before simplification (see :func:`map_context`)."""

    data: RunData
    title: str
    levels: list[str]
    map_levels: list[str]
    unit: str
    flow_note: str
    polygons: gpd.GeoDataFrame
    basin: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    arrows: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame | None
    choropleths: list[tuple[str, str, str, list[tuple[str, str]]]]
    river_legend: list[tuple[str, str]]
    panel_parts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _config_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """Runoff, measured-discharge column and load description from the run's config."""
    facts: dict[str, Any] = {}
    path = summary.get("config")
    if not path or not Path(path).is_file():
        return facts

    try:
        cfg = load_config(path)
    except InputError as exc:  # the run folder outlived its config: say less, not wrong
        logger.info("config %s not readable for map notes: %s", path, exc)
        return facts
    key = summary.get("network", {}).get("key")
    net = cfg.networks.get(key) if key else None
    facts["discharge_column"] = getattr(net, "discharge_column", None)
    facts["runoff_mm_year"] = cfg.hydraulics.runoff_mm_year
    facts["loads_description"] = cfg.loads.description
    return facts


def _flow_note(facts: dict[str, Any]) -> str:
    if facts.get("discharge_column"):
        return f"measured mean discharge, column {facts['discharge_column']}"
    if facts.get("runoff_mm_year"):
        return (
            f"estimated from upstream area \u00d7 {fmt(facts['runoff_mm_year'])} mm/year runoff, "
            "an assumption"
        )
    return "estimated from upstream area \u00d7 mean runoff unless measured"


def _quad_arrows(a: np.ndarray, b: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Return curved lines a->b (bulging to the right), each with an arrowhead at its middle.

    ``a`` and ``b`` are ``(n, 2)`` start and end points and ``width`` the line widths;
    returns one geometry collection (line, head) per row.
    """
    x0, y0, x1, y1 = a[:, 0], a[:, 1], b[:, 0], b[:, 1]
    dx, dy = x1 - x0, y1 - y0
    length = _hypot(dx, dy)
    nx_, ny_ = dy / length, -dx / length  # right-hand normal
    cx, cy = (x0 + x1) / 2 + 0.15 * length * nx_, (y0 + y1) / 2 + 0.15 * length * ny_
    t = np.linspace(0, 1, 13)[:, None]  # one column per arrow
    xs = ((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1).T
    ys = ((1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1).T
    # arrowhead centred at t = 0.5, pointing along the tangent
    mx, my = xs[:, 6], ys[:, 6]
    tl = _hypot(xs[:, 7] - xs[:, 5], ys[:, 7] - ys[:, 5])
    tx, ty = (xs[:, 7] - xs[:, 5]) / tl, (ys[:, 7] - ys[:, 5]) / tl
    cap = 2500.0 + 500.0 * width
    size = np.where(cap < 0.07 * length, cap, 0.07 * length)
    half = 0.5 * size
    back_x, back_y = mx - tx * size / 2, my - ty * size / 2
    head = np.stack(
        [
            np.column_stack([mx + tx * size / 2, my + ty * size / 2]),  # the tip
            np.column_stack([back_x + ty * half, back_y - tx * half]),
            np.column_stack([back_x - ty * half, back_y + tx * half]),
        ],
        axis=1,
    )
    lines = np.asarray(shapely.linestrings(np.stack([xs, ys], axis=-1)), dtype=object)
    parts = np.column_stack([lines, np.asarray(shapely.polygons(head), dtype=object)]).ravel()
    arrows = shapely.geometrycollections(parts, indices=np.repeat(np.arange(len(a)), 2))
    return np.asarray(arrows, dtype=object)


def _hypot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``math.hypot`` of each pair, 1 where it is 0 (numpy's hypot may differ in the last bit)."""
    return np.array([math.hypot(p, q) or 1.0 for p, q in zip(x.tolist(), y.tolist(), strict=True)])


def map_context(
    data: RunData, *, levels: Sequence[str] | None = None, title: str | None = None
) -> MapContext:
    """Prepare every layer and text of a basin map (no simplification yet).

    Parameters
    ----------
    data
        A run's outputs (:func:`basingov.maps.read_run`).
    levels
        Levels that get choropleths, crossing markers and arrows (default: the coarsest
        and the finest); every level's borders are drawn.
    title
        Map title (default: the basin title from the summary).

    Raises
    ------
    InputError
        If ``levels`` names a level the run does not have.
    """
    jur = data.layers["jurisdictions"]
    crs = jur.crs
    all_levels = level_names(jur)
    if levels is None:
        map_levels = list(dict.fromkeys([all_levels[0], all_levels[-1]]))
    else:
        require_known(
            levels, all_levels, "levels {unknown} are not in the run; choose from {known}"
        )
        map_levels = list(levels)
    summary = data.summary
    facts = _config_facts(summary)
    unit = parameter_label(summary.get("key_indicators", {}).get("load_parameter"))
    flow_note = _flow_note(facts)
    notes: list[str] = []

    # jurisdictions + indicators
    ind = jurisdiction_indicators(data)
    names = dict(zip(ind["jur_id"], ind["label"], strict=True))
    polys = jur[["jur_id", "level_name", "geometry"]].copy()
    polys["jur_id"] = polys["jur_id"].astype(str)
    polys["level_name"] = polys["level_name"].astype(str)
    polys = polys.merge(ind, on=["jur_id", "level_name"], how="left")
    polys = gpd.GeoDataFrame(polys, geometry="geometry", crs=crs)
    dep = data.tables.get("dependency")
    basis = None
    if dep is not None and "dependency_basis" in dep.columns and len(dep):
        basis = str(dep["dependency_basis"].iloc[0])
    polys["p"] = [
        jurisdiction_popup(r, unit=unit, names=names, basis=basis)
        for r in polys.to_dict(orient="records")
    ]
    polys["t"] = polys["label"]
    polys["lv"] = polys["level_name"]
    choropleths: list[tuple[str, str, str, list[tuple[str, str]]]] = []
    for key in INDICATORS:
        col = _COLUMN[key]
        if col not in polys.columns or polys[col].isna().all():
            continue
        ccol = f"c_{key[:3]}"
        for lv in map_levels:
            sel = polys["level_name"] == lv
            if key == "priority":
                colours, legend = _priority_classes(polys.loc[sel, col])
            elif key == "net_balance":
                colours, legend = _balance_classes(polys.loc[sel, col])
            else:
                colours, rows = _classify(polys.loc[sel, col], cmap=_CHORO[key][2])
                legend = _share_legend(rows, polys.loc[sel, col])
            polys.loc[sel, ccol] = colours
            legend = [*legend, (L.NO_DATA, "no data")]
            choropleths.append((key, lv, ccol, legend))
    # rivers: most important (largest upstream area) first
    reaches = data.layers["reaches"]
    rank_col = next(
        (c for c in ("upstream_area_km2", "discharge_m3s", "strahler") if c in reaches.columns),
        None,
    )
    rv = reaches.copy()
    if rank_col is not None:
        rv = rv.sort_values(rank_col, ascending=False, na_position="last", kind="stable")
    rv = gpd.GeoDataFrame(
        {
            "n": rv["name"] if "name" in rv.columns else None,
            "q": rv["discharge_m3s"] if "discharge_m3s" in rv.columns else np.nan,
            "l": rv["flux_kg_day"] if "flux_kg_day" in rv.columns else np.nan,
            "area": rv[rank_col] if rank_col else np.nan,
        },
        geometry=rv.geometry.to_numpy(),
        crs=reaches.crs,
    )
    q = pd.to_numeric(rv["q"], errors="coerce")
    if q.notna().any() and float(q.max()) > 0:
        rv["w"] = np.round(0.8 + 5.2 * np.sqrt(q.clip(lower=0) / float(q.max())), 1).fillna(0.8)
    else:
        rv["w"] = 2.0
    load = pd.to_numeric(rv["l"], errors="coerce")
    river_legend: list[tuple[str, str]]
    pos = load[load > 0]
    if len(pos):
        # classes of equal width on a log scale: each colour step is about the same
        # factor of load, so small tributaries and the main stem both read
        lo, hi = math.log10(float(pos.min())), math.log10(float(pos.max()))
        k = 5 if hi - lo > 1e-9 else 1
        cuts = np.linspace(lo, hi, k + 1)
        pal = L.palette("Blues", k)
        idx = np.clip(np.digitize(np.log10(pos.to_numpy(dtype=float)), cuts[1:-1]), 0, k - 1)
        rv["c"] = None
        rv.loc[pos.index, "c"] = [pal[i] for i in idx]
        river_legend = [
            (pal[i], f"{fmt(10 ** cuts[i])} \u2013 {fmt(10 ** cuts[i + 1])} kg/day")
            for i in range(k)
        ]
        if (load == 0).any():
            river_legend.insert(0, ("#c6dbef", "no load"))
    else:
        rv["c"] = "#2171b5"
        river_legend = [("#2171b5", "river (no load computed in this run)")]
    rv["c"] = rv["c"].fillna("#c6dbef")

    # crossings
    transfers = data.optional("transfers")
    cxi = crossing_indicators(data)
    cx = gpd.GeoDataFrame(
        cxi, geometry=data.layers["crossings"].geometry.to_numpy(), crs=data.layers["crossings"].crs
    )
    cx = cx[cx["level_name"].astype(str).isin(map_levels)].copy()
    records = transfer_records(transfers) if transfers is not None and len(transfers) else {}
    popup_cols = [c for c in CROSSING_POPUP_KEYS if c in cx.columns]
    cx["p"] = [
        crossing_popup_records(r, names, unit=unit, flow_note=flow_note, records=records)
        for r in cx[popup_cols].to_dict(orient="records")
    ]
    cx["t"] = [
        f"{jur_label(a, names)} → {jur_label(b, names)}"
        for a, b in zip(cx["from_jur"], cx["to_jur"], strict=True)
    ]
    fl = pd.to_numeric(cx["flux_kg_day"], errors="coerce")
    fmax = float(fl.max()) if fl.notna().any() else 0.0
    cx["r"] = np.round(3.0 + 9.0 * np.sqrt(fl.fillna(0) / fmax), 1) if fmax > 0 else 5.0
    lvl_col = dict(zip(map_levels, _LEVEL_COLOURS, strict=False))
    cx["c"] = cx["level_name"].astype(str).map(lvl_col).fillna("#fdd0a2")
    if "class" in cx.columns:
        cls_col = cx["class"].map(
            lambda c: L.CLASS_COLOURS.get(str(c)) if isinstance(c, str) else None
        )
        cx["c"] = cls_col.where(cls_col.notna(), cx["c"])
    if "priority_class" in cx.columns:
        pc = cx["priority_class"].map(
            lambda c: L.PRIORITY_COLOURS.get(str(c).lower()) if isinstance(c, str) else None
        )
        cx["c"] = pc.where(pc.notna(), cx["c"])
    cx["lv"] = cx["level_name"].astype(str)
    # major crossings last so they draw on top
    cx = cx.assign(_f=fl.fillna(-1)).sort_values("_f", kind="stable").drop(columns="_f")

    # dependency arrows, width by flux (or discharge without loads)
    edges = data.layers["dependency_edges"]
    edges = edges[edges["level_name"].astype(str).isin(map_levels)].copy()
    pl = pair_loads(data)
    if pl is not None:
        by_key = {
            (str(lv), str(a), str(b)): (float(ld), float(gr))
            for lv, a, b, ld, gr in zip(
                pl["level_name"], pl["from_jur"], pl["to_jur"], pl["load_kg_day"],
                pl["gross_kg_day"], strict=True,
            )
        }  # fmt: skip

        def _g(lv: Any, a: Any, b: Any, col: str = "load_kg_day") -> float:
            v = by_key.get((str(lv), str(a), str(b)))
            return 0.0 if v is None else v[0] if col == "load_kg_day" else v[1]

        trip = list(zip(edges["level_name"], edges["from_jur"], edges["to_jur"], strict=True))
        edges["flux_kg_day"] = [_g(lv, a, b) for lv, a, b in trip]
        edges["gross_kg_day"] = [_g(lv, a, b, "gross_kg_day") for lv, a, b in trip]
        edges["back_kg_day"] = [_g(lv, b, a) for lv, a, b in trip]
        edges["net_kg_day"] = edges["flux_kg_day"] - edges["back_kg_day"]
        wv = edges["net_kg_day"].clip(lower=0)
    else:
        edges["flux_kg_day"] = edges["back_kg_day"] = edges["net_kg_day"] = np.nan
        edges["gross_kg_day"] = np.nan
        wv = pd.to_numeric(edges["discharge_m3s"], errors="coerce").fillna(0)
    wmax = float(wv.max()) if len(wv) else 0.0
    edges["w"] = np.round(1.5 + 5.0 * np.sqrt(wv / wmax), 1) if wmax > 0 else 2.0
    arrows = _arrows(edges, names, unit=unit, flow_note=flow_note)

    # monitoring stations (when the monitoring stage ran)
    stations = None
    st = data.optional("stations")
    if st is not None:
        if not isinstance(st, gpd.GeoDataFrame) and {"lon", "lat"} <= set(st.columns):
            st = gpd.GeoDataFrame(st, geometry=gpd.points_from_xy(st["lon"], st["lat"]), crs=4326)
        if isinstance(st, gpd.GeoDataFrame):
            stations = st.copy()
            stations["p"] = [station_popup(r) for r in stations.to_dict(orient="records")]
            stations["t"] = [
                str(n) if isinstance(n, str) and n else str(i)
                for n, i in zip(
                    stations["name"] if "name" in stations.columns else stations["station_id"],
                    stations["station_id"],
                    strict=True,
                )
            ]
            px = (
                stations["is_proxy"].astype(str).str.lower().isin(["true", "1"]).astype(int)
                if "is_proxy" in stations.columns
                else pd.Series(0, index=stations.index)
            )
            stations["x"] = pd.to_numeric(px, errors="coerce").fillna(0).astype(int)
            cl = (
                stations["class"]
                if "class" in stations.columns
                else pd.Series(None, index=stations.index)
            )
            stations["c"] = cl.map(lambda c: L.CLASS_COLOURS.get(str(c), "#2171b5")).fillna(
                "#2171b5"
            )
        else:
            notes.append("stations table has no geometry and no lon/lat: not drawn")

    basin = data.layers["basin"]
    title_txt = title or f"{summary.get('title', data.basin)}: who depends on whom for clean water"
    ctx = MapContext(
        data=data,
        title=title_txt,
        levels=all_levels,
        map_levels=map_levels,
        unit=unit,
        flow_note=flow_note,
        polygons=polys,
        basin=basin,
        rivers=rv,
        crossings=cx,
        arrows=arrows,
        stations=stations,
        choropleths=choropleths,
        river_legend=river_legend,
        notes=notes,
    )
    ctx.panel_parts = _panel_parts(ctx, facts, names, edges)
    return ctx


def _arrows(
    edges: gpd.GeoDataFrame, names: dict[str, str], *, unit: str, flow_note: str
) -> gpd.GeoDataFrame:
    """Dependency arrows of the edges drawn as a line, with their popups and tooltips."""
    geoms = edges.geometry.to_numpy()
    drawn = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    drawn[drawn] = shapely.get_num_coordinates(geoms[drawn]) >= 2
    edges = edges[drawn]
    start = shapely.get_coordinates(shapely.get_point(geoms[drawn], 0))
    end = shapely.get_coordinates(shapely.get_point(geoms[drawn], -1))
    shapes: Any = _quad_arrows(start, end, edges["w"].to_numpy(dtype=float)) if len(edges) else []
    rows = []
    for rec, shape in zip(edges.to_dict(orient="records"), shapes, strict=True):
        a, b = str(rec["from_jur"]), str(rec["to_jur"])
        rows.append(
            {
                "p": _arrow_popup(rec, names, unit=unit, flow_note=flow_note),
                "t": f"{names.get(a, a)} → {names.get(b, b)}",
                "w": rec["w"],
                "lv": str(rec["level_name"]),
                "geometry": shape,
            }
        )
    return gpd.GeoDataFrame(
        rows or {"p": [], "t": [], "w": [], "lv": [], "geometry": []},
        geometry="geometry",
        crs=edges.crs,
    )


def _arrow_popup(rec: dict[str, Any], names: dict[str, str], *, unit: str, flow_note: str) -> str:
    """Popup HTML of a dependency arrow: crossings, load passing each way, mean flow."""
    a, b = str(rec["from_jur"]), str(rec["to_jur"])
    na, nb = html.escape(jur_label(a, names)), html.escape(jur_label(b, names))
    n = int(rec["n_crossings"])
    txt = (
        f"<h3>{na} &rarr; {nb}</h3><p>Water from {na} flows into {nb} at {n} "
        f"crossing{'s' if n != 1 else ''}.</p>"
    )
    if np.isfinite(rec["flux_kg_day"]):
        txt += (
            f"<p>About <b>{fmt(rec['flux_kg_day'])} kg/day of {html.escape(unit)}</b> "
            f"passes from {na} into {nb} (modelled; a river that crosses this border "
            "several times is counted once, at its last crossing).</p>"
        )
        if rec["back_kg_day"] > 0:
            net = float(rec["net_kg_day"])
            who = f"{na} into {nb}" if net >= 0 else f"{nb} into {na}"
            txt += (
                f"<p>{fmt(rec['back_kg_day'])} kg/day crosses back the other way; "
                f"net, {fmt(abs(net))} kg/day passes from {who}.</p>"
            )
    if np.isfinite(rec.get("discharge_m3s", np.nan)):
        txt += (
            f"<p>Mean flow across: about {fmt(rec['discharge_m3s'])} m³/s "
            f"({html.escape(flow_note)}).</p>"
        )
    return txt


def _act_list(ctx: MapContext, names: dict[str, str], edges: pd.DataFrame) -> str:
    """Build the 'where to act together' list: priority rows, else the largest net loads."""
    pr = priority_rows(ctx.data)
    items: list[str] = []
    if pr is not None and len(pr):
        cx = ctx.data.layers["crossings"].set_index("crossing_id")
        for rec in pr.sort_values("score", ascending=False).head(6).to_dict(orient="records"):
            if rec["kind"] == "section":
                a, b = cx.loc[rec["crossing_id"], "from_jur"], cx.loc[rec["crossing_id"], "to_jur"]
                what = f"section {rec['crossing_id']}: "
            else:
                a, b = rec["jur_a"], rec["jur_b"]
                what = ""
            arrow = "&rarr;" if rec["directed"] else "&harr;"
            items.append(
                f"<li>{html.escape(what)}{html.escape(names.get(str(a), str(a)))} {arrow} "
                f"{html.escape(names.get(str(b), str(b)))}: <b>{html.escape(str(rec['class']))}</b>"
                f", {html.escape(str(rec['mechanism']))}</li>"
            )
        head = "Where to act together first (priority table)"
    else:
        e = edges[pd.to_numeric(edges["net_kg_day"], errors="coerce") > 0]
        if not len(e):
            return ""
        for lv in ctx.map_levels:
            top = e[e["level_name"].astype(str) == lv].sort_values("net_kg_day", ascending=False)
            for rec in top.head(3).to_dict(orient="records"):
                a, b = str(rec["from_jur"]), str(rec["to_jur"])
                items.append(
                    f"<li>{html.escape(names.get(a, a))} &rarr; {html.escape(names.get(b, b))}: "
                    f"net {fmt(rec['net_kg_day'])} kg/day ({level_label(lv)})</li>"
                )
        head = (
            "Largest net loads passing from one jurisdiction into the next: the first "
            "candidates for joint action (modelled; this run has no priority table)"
        )
    return f"<h2>{head}</h2><ol style='margin:2px 0 2px 18px;padding:0'>{''.join(items)}</ol>"


def _panel_parts(
    ctx: MapContext, facts: dict[str, Any], names: dict[str, str], edges: pd.DataFrame
) -> dict[str, str]:
    s = ctx.data.summary
    net = s.get("network", {})
    basin_rec = ctx.basin.drop(columns="geometry").to_dict(orient="records")
    basin_src = str(basin_rec[0].get("source", "")) if basin_rec else ""
    derived = bool(basin_rec and int(basin_rec[0].get("derived", 0) or 0))
    loads_txt = facts.get("loads_description") or (
        f"{ctx.unit} loads modelled by basingov (see the run summary)"
        if "loads" in ctx.data.tables
        else "no loads were computed in this run"
    )
    src = [
        f"<p><b>Rivers</b>: {html.escape(str(net.get('source', '')))}"
        + (" <i>(derived)</i>" if net.get("derived") else "")
        + ".</p>",
        f"<p><b>Basin outline</b>: {html.escape(basin_src)}"
        + (" <i>(derived)</i>" if derived else "")
        + ".</p>",
        f"<p><b>Loads</b>: {html.escape(str(loads_txt))}. Load figures are model estimates, "
        "not measurements.</p>",
        f"<p><b>Flows</b>: {html.escape(ctx.flow_note)}.</p>",
        "<p><b>Boundaries</b>: the basin's shipped administrative units (sources and "
        "licences in data/README.md); they are also the offline basemap.</p>",
    ]
    if ctx.stations is not None and "x" in ctx.stations.columns and ctx.stations["x"].any():
        src.append("<p>Hollow station markers are <b>proxy locations</b>.</p>")
    gov = s.get("governance", {}) or {}
    if gov.get("body"):
        src.append(f"<p><b>Governance</b>: {html.escape(str(gov['body']))}.</p>")
    return {
        "act": _act_list(ctx, names, edges),
        "sources": "".join(src),
    }


# --- rendering under the size budget -------------------------------------------------


_STYLE_FILL = (
    "function (f) {{ var c = f.properties.{col}; return {{fillColor: c || '#d9d9d9', "
    "fillOpacity: c ? 0.65 : 0.3, color: '#666', weight: 0.6, opacity: 0.8}}; }}"
)
_STYLE_BORDER = (
    "function (f) { var w = {WEIGHTS}[f.properties.lv] || 0.6; "
    "return {fill: false, color: '#333', weight: w, opacity: 0.85}; }"
)
_STYLE_BASIN = (
    "function () { return {fillColor: '#fbfaf3', fillOpacity: 1, color: '#2b6c9e', weight: 2.5}; }"
)
_STYLE_RIVER = (
    "function (f) { return {color: f.properties.c, weight: f.properties.w, opacity: 0.95, "
    "lineCap: 'round'}; }"
)
_STYLE_ARROW = (
    "function (f) { return {color: '#54278f', weight: f.properties.w, opacity: 0.8, "
    "fillColor: '#54278f', fillOpacity: 0.85}; }"
)
_POINT = (
    "function (f, latlng) { var p = f.properties; "
    "return L.circleMarker(latlng, {pane: 'bg_points', "
    "radius: p.r || 6, color: '#222', weight: 1.2, fillColor: p.c || '#fd8d3c', "
    "fillOpacity: p.x ? 0 : 0.9, dashArray: p.x ? '3,3' : null}); }"
)
_STYLE_POINT = "function () { return {}; }"


def _lv_filter(lv: str) -> str:
    return f"function (f) {{ return f.properties.lv === {json.dumps(lv)}; }}"


#: Properties of a river feature: name, discharge, load, line width and colour.
_RIVER_PROPERTIES = ("n", "q", "l", "w", "c")


def _collection(gdf: gpd.GeoDataFrame, properties: Sequence[str] = (), *, digits: int) -> str:
    """Return the :func:`~basingov.maps._layers.collection_json` text of ``gdf``'s features."""
    return L.collection_json_of(feature_texts(gdf, properties, digits=digits))


def _render(
    ctx: MapContext,
    *,
    tolerance_m: float,
    n_rivers: int,
    river_json: str | None = None,
    memo: dict[Any, tuple[str, str]] | None = None,
) -> tuple[folium.Map, dict[str, int]]:
    """Build the folium map at one simplification tolerance with the first n_rivers reaches.

    ``river_json`` is the JSON text of those reaches' feature collection, when already
    made (:func:`_river_features`). ``memo`` keeps the JSON text of the simplified
    feature collections, and its string literal in the page, between renders of the same
    context (:func:`fit_budget` renders each tolerance twice).
    """
    digits = coordinate_digits(tolerance_m)
    memo = {} if memo is None else memo
    bounds = ctx.basin.to_crs("EPSG:4326").total_bounds
    m = L.new_map(title=ctx.title, bounds=[[bounds[1], bounds[0]], [bounds[3], bounds[2]]])

    def once(key: Any, make: Any) -> L.GeoData:
        """Add the collection whose JSON text ``make`` returns, made once per ``memo``."""
        if key not in memo:
            text = make()
            memo[key] = (text, L.js_literal(text))
        return L.add_data(m, *memo[key])

    m.add_child(L.Panes())
    m.add_child(L.Helpers(unit=ctx.unit, flow_note=ctx.flow_note))
    sizes: dict[str, int] = {}

    # basemap: basin, jurisdictions (all levels) as outlines and as choropleth data
    basin_data = once(
        ("basin", tolerance_m),
        lambda: _collection(simplify_coverage(ctx.basin, tolerance_m, by=None), digits=digits),
    )
    L.add_backdrop(m, basin_data, name="Basin", pane="bg_land", style=_STYLE_BASIN)
    cols = ["lv", "p", "t", *sorted({c for _, _, c, _ in ctx.choropleths})]
    poly_data = once(
        ("polygons", tolerance_m),
        lambda: _collection(
            simplify_coverage(ctx.polygons, tolerance_m, by="level_name"), cols, digits=digits
        ),
    )
    sizes["polygons"] = len(poly_data.json)
    weights = {
        lv: round(0.5 + 2.0 * (len(ctx.levels) - 1 - i) / max(1, len(ctx.levels) - 1), 2)
        for i, lv in enumerate(ctx.levels)
    }
    border_style = _STYLE_BORDER.replace("{WEIGHTS}", json.dumps(weights))
    L.add_backdrop(m, poly_data, name="Borders", pane="bg_borders", style=border_style)
    # choropleths are base layers (radio buttons): one at a time, each with its legend
    legend_ids: dict[str, str] = {}
    legend_blocks: list[str] = []
    order = sorted(ctx.choropleths, key=lambda c: INDICATORS.index(c[0]))
    initial = None
    for key, lv, col, legend in order:
        name = f"{_CHORO[key][0]} ({level_label(lv)})"
        show = initial is None
        initial = initial or name
        m.add_child(
            L.GeoLayer(
                poly_data,
                name=name,
                pane="bg_fill",
                overlay=False,
                show=show,
                style=_STYLE_FILL.format(col=col),
                filter=_lv_filter(lv),
            )
        )
        lid = f"bg-legend-{len(legend_ids)}"
        legend_ids[name] = lid
        block = L.legend_html(f"{_CHORO[key][1]}: {level_label(lv)}", legend)
        legend_blocks.append(f'<div id="{lid}">{block}</div>')
    m.add_child(L.EmptyBase("Borders only (no colouring)", show=initial is None))
    if initial is None:
        initial = "Borders only (no colouring)"

    # rivers
    if river_json is None:
        rivers = simplify_lines(ctx.rivers.iloc[:n_rivers], tolerance_m)
        river_json = _collection(rivers, _RIVER_PROPERTIES, digits=digits)
    river_data = L.add_data(m, river_json)
    sizes["rivers"] = len(river_data.json)
    shown = "" if n_rivers >= len(ctx.rivers) else " (largest)"
    m.add_child(
        L.GeoLayer(
            river_data,
            name=f"Rivers{shown}: colour = load, width = flow",
            pane="bg_rivers",
            style=_STYLE_RIVER,
            bind="bgRiverBind",
            canvas=True,
        )
    )
    # arrows and crossings per map level; the coarsest level is on at start
    arrow_data = once(
        ("arrows", max(digits, 4)),
        lambda: _collection(ctx.arrows, ["p", "t", "w", "lv"], digits=max(digits, 4)),
    )
    cx_data = once(
        ("crossings", max(digits, 5)),
        lambda: _collection(ctx.crossings, ["p", "t", "r", "c", "lv"], digits=max(digits, 5)),
    )
    sizes["arrows"] = len(arrow_data.json)
    sizes["crossings"] = len(cx_data.json)
    _level_layers(
        m,
        ctx,
        arrow_data,
        ctx.arrows,
        "Who drains into whom",
        pane="bg_arrows",
        style=_STYLE_ARROW,
        bind="bgFeatureBind",
    )
    _level_layers(
        m,
        ctx,
        cx_data,
        ctx.crossings,
        "Border crossings",
        pane="bg_points",
        style=_STYLE_POINT,
        point=_POINT,
    )
    if ctx.stations is not None and len(ctx.stations):
        st = ctx.stations.assign(r=5.0)
        st_data = once(("stations",), lambda: _collection(st, ["p", "t", "c", "x", "r"], digits=5))
        m.add_child(
            L.GeoLayer(
                st_data,
                name="Monitoring stations",
                pane="bg_points",
                style=_STYLE_POINT,
                point=_POINT,
            )
        )
    folium.TileLayer(
        "OpenStreetMap",
        name="Online map tiles (OpenStreetMap; needs internet)",
        overlay=True,
        show=False,
        control=True,
    ).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(L.TitleBox(_title_html(ctx, n_rivers)))
    L.panel(m, _legend_panel(ctx, legend_blocks, n_rivers), position="bottomleft")
    m.add_child(L.LegendSwitch(legend_ids, initial))  # after the panel holding the legends
    m.add_child(L.ReadyMark())
    return m, sizes


def _level_layers(
    m: folium.Map,
    ctx: MapContext,
    data: L.GeoData,
    features: pd.DataFrame,
    title: str,
    **options: Any,
) -> None:
    """Add one layer of ``data`` per map level with features; the first level is on at start."""
    for i, lv in enumerate(ctx.map_levels):
        if (features["lv"] == lv).any():
            m.add_child(
                L.GeoLayer(
                    data,
                    name=f"{title}: {level_label(lv)}",
                    filter=_lv_filter(lv),
                    show=i == 0,
                    **options,
                )
            )


def _title_html(ctx: MapContext, n_rivers: int) -> str:
    return (
        f"<h1>{html.escape(ctx.title)}</h1>"
        '<div class="bg-note">Click a border crossing, arrow, river or area for details. '
        "Layers: top right. Offline file: no internet needed.</div>"
    )


def _legend_panel(ctx: MapContext, legend_blocks: list[str], n_rivers: int) -> str:
    version = str(ctx.data.summary.get("basingov_version", ""))
    total = len(ctx.rivers)
    rivers_note = (
        f"All {total} river reaches are drawn."
        if n_rivers >= total
        else f"The {n_rivers} largest of {total} reaches are drawn (size budget); all are in "
        "the GeoPackage."
    )
    w = ctx.rivers["w"]
    q = pd.to_numeric(ctx.rivers["q"], errors="coerce")
    width_rows = ""
    if q.notna().any():
        for qq in sorted({float(q.min()), float(q.median()), float(q.max())}):
            ww = float(w[(q - qq).abs().idxmin()])
            width_rows += (
                f'<div><span class="bg-ln" style="border-top:{ww:.1f}px solid #777"></span>'
                f"{fmt(qq)} m³/s</div>"
            )
    cross_rows = [
        (c, f"crossing between {level_label(lv)}")
        for lv, c in zip(ctx.map_levels, _LEVEL_COLOURS, strict=False)
    ]
    body = [
        "<details><summary>What this map shows</summary>",
        "<p>Where rivers cross administrative borders, how much of each jurisdiction's water "
        "and pollution load comes from its upstream neighbours, and so "
        "<b>where joint prevention or compensation is needed, and with whom</b>.</p>",
        ctx.panel_parts.get("act", ""),
        "<h2>Legend</h2>",
        *legend_blocks,
        L.legend_html(
            f"Rivers: load of {ctx.unit} (kg/day, modelled)", ctx.river_legend, kind="line"
        ),
        f"<div class='bg-legend'><b>Line width: mean flow</b>{width_rows}</div>",
        f"<p class='bg-note'>{html.escape(rivers_note)}</p>",
        L.legend_html("Border crossings (size = load crossing)", cross_rows, kind="dot"),
    ]
    for column, what, colours in (
        ("priority_class", "priority", L.PRIORITY_COLOURS),
        ("class", "water-quality class", L.CLASS_COLOURS),
    ):
        if column in ctx.crossings.columns:
            rows = [(c, k) for k, c in colours.items()]
            body.append(L.legend_html(f"Crossing colour: {what}", rows, kind="dot"))
    body += [
        L.legend_html(
            "Arrows: who drains into whom (width = net load passing)",
            [("#54278f", "flow from one jurisdiction into the next")],
            kind="line",
        ),
        "<h2>Data and what is derived</h2>",
        ctx.panel_parts.get("sources", ""),
        f"<p class='bg-note'>basingov {html.escape(version)}; levels with markers and "
        f"colours: {', '.join(level_label(x) for x in ctx.map_levels)}.</p>",
        "</details>",
    ]
    return "".join(body)


def _coerce(run: str | Path | RunData) -> RunData:
    return run if isinstance(run, RunData) else read_run(run, columns=MAP_LAYER_COLUMNS)


def basin_map(
    run: str | Path | RunData,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    levels: Sequence[str] | None = None,
    title: str | None = None,
) -> folium.Map:
    """Build the interactive, offline map of one basin run under a size budget.

    Geometry is simplified topology-preserving (shared borders stay shared, see
    :func:`basingov.maps.simplify_coverage`) with a tolerance doubled until the rendered
    page fits ``max_bytes``; rivers are drawn largest first (by upstream area) up to
    about half of the budget and at most :data:`MAX_RIVER_FEATURES` reaches, and the
    legend says how many are shown.

    Parameters
    ----------
    run
        A run folder written by ``basingov run`` (or its :class:`RunData`).
    max_bytes
        Size budget of the rendered HTML page in bytes (default 5 MB).
    levels
        Levels with choropleths, crossing markers and arrows (default: coarsest and
        finest).
    title
        Map title.

    Returns
    -------
    folium.Map
        Its root figure renders with Leaflet inlined (``m.save(path)`` is offline); use
        :func:`write_basin_map` to write it atomically.

    Raises
    ------
    InputError
        If the run folder is incomplete, an optional table lacks its columns, or the map
        cannot fit ``max_bytes`` even at the coarsest simplification.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from basingov import pipeline
    >>> with warnings.catch_warnings():  # Taihu stations published without coordinates
    ...     warnings.filterwarnings("ignore", message=".*left unsnapped")
    ...     run = pipeline.run("taihu", out_dir=tempfile.mkdtemp() + "/taihu")
    >>> m = basin_map(run.out_dir)
    >>> page = m.get_root().render()
    >>> "leaflet" in page and "cdn.jsdelivr" not in page.split("</head>")[0]
    True
    """
    return basin_page(run, max_bytes=max_bytes, levels=levels, title=title)[0]


def basin_page(
    run: str | Path | RunData,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    levels: Sequence[str] | None = None,
    title: str | None = None,
) -> tuple[folium.Map, str]:
    """:func:`basin_map` and its offline HTML page, rendered once (to measure its size).

    Raises
    ------
    InputError
        See :func:`basin_map`.
    """
    if not (isinstance(max_bytes, int) and max_bytes > 0):
        msg = f"max_bytes must be a positive integer number of bytes, got {max_bytes!r}"
        raise InputError(msg)
    data = _coerce(run)
    ctx = map_context(data, levels=levels, title=title)
    m, _, page = _fit_budget(ctx, max_bytes=max_bytes)
    return m, page


#: At most this many river reaches are drawn: each is a Leaflet object, and beyond a few
#: thousand their creation dominates the first render on an old laptop (benchmark P5).
MAX_RIVER_FEATURES = 5_000


def _river_features(rivers: gpd.GeoDataFrame, tol: float, digits: int, cap: int) -> list[str]:
    """JSON texts of the GeoJSON features of the most important reaches that fit ``cap`` bytes.

    Joined by commas they are the ``features`` of the collection's
    :func:`~basingov.maps._layers.collection_json` text.
    """
    out: list[str] = []
    used = 0
    chunk = 2000
    for start in range(0, min(len(rivers), MAX_RIVER_FEATURES), chunk):
        part = simplify_lines(rivers.iloc[start : start + chunk], tol)
        for text in feature_texts(part, _RIVER_PROPERTIES, digits=digits):
            used += len(text) + 1
            if used > cap or len(out) >= MAX_RIVER_FEATURES:
                return out
            out.append(text)
    return out


def fit_budget(ctx: MapContext, *, max_bytes: int) -> tuple[folium.Map, dict[str, Any]]:
    """Render ``ctx`` with the least simplification that fits ``max_bytes``.

    Returns the map and a record of the tolerance, rivers drawn and bytes per part.
    """
    m, info, _ = _fit_budget(ctx, max_bytes=max_bytes)
    return m, info


def _fit_budget(ctx: MapContext, *, max_bytes: int) -> tuple[folium.Map, dict[str, Any], str]:
    """:func:`fit_budget`, and the page of the map (the render whose size fits)."""
    bx = ctx.basin.total_bounds
    extent = max(bx[2] - bx[0], bx[3] - bx[1])
    # start at about a quarter of a screen pixel when the whole basin fills ~1,000 px:
    # invisible at the opening view and still fine three zoom levels in
    base = max(extent / 4_000.0, 5.0)
    tolerances = [base * 2**i for i in range(10)]
    n_all = len(ctx.rivers)
    last_size = 0
    memo: dict[Any, Any] = {}
    for tol in tolerances:
        # size without rivers tells what is left for them
        m0, sizes = _render(ctx, tolerance_m=tol, n_rivers=0, memo=memo)
        fixed = len(m0.get_root().render().encode("utf-8"))
        room = max_bytes - fixed - 2_000
        if room <= 0:
            last_size = fixed
            continue
        # rivers may take what is left, but keep a quarter of the budget free when the
        # borders alone are large; 3 % margin for string escaping in the page
        river_cap = (
            int(0.97 * min(room, max(max_bytes // 2, room - max_bytes // 4))) if n_all else 0
        )
        digits = coordinate_digits(tol)
        features = _river_features(ctx.rivers, tol, digits, river_cap)
        n = len(features)
        river_json = L.collection_json_of(features)
        m, sizes = _render(ctx, tolerance_m=tol, n_rivers=n, river_json=river_json, memo=memo)
        page = m.get_root().render()  # an OfflineFigure's: the offline page
        size = len(page.encode("utf-8"))
        last_size = size
        if size <= max_bytes:
            info = {
                "tolerance_m": tol,
                "rivers_drawn": n,
                "rivers_total": n_all,
                "bytes": size,
                **{f"bytes_{k}": v for k, v in sizes.items()},
            }
            logger.info("basin map %s: %s", ctx.data.basin, info)
            m._basingov_info = info  # type: ignore[attr-defined]
            return m, info, page
    msg = (
        f"the {ctx.data.basin} map does not fit max_bytes={max_bytes:,} even at the coarsest "
        f"simplification ({last_size:,} bytes); raise max_bytes or draw fewer levels "
        f"(levels=...)"
    )
    raise InputError(msg)
