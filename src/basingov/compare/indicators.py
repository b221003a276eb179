r"""The comparison indicators (DESIGN §2.11), computed from a finished run folder.

Every basin goes through the same functions, on the files ``basingov run`` writes
(``DIR/BASIN.gpkg``, ``DIR/tables/*.csv``, ``DIR/summary.json``), so the indicators of
the four basins are computed the same way. The arithmetic lives in small functions on
tables (:func:`hhi`, :func:`jurisdictions_above`, :func:`per_100km`,
:func:`gross_transboundary_share`, :func:`transboundary_fraction`,
:func:`monitored_share`, :func:`outlet_class`), each tested on hand-built tables.

Formulas, with :math:`s_j` the area share of jurisdiction :math:`j` at one level,
:math:`S[o, r]` the source-receptor matrix (kg/day) and :math:`G_o` the load generated
in :math:`o`:

.. math::

    \mathrm{HHI} = \sum_j s_j^2, \qquad
    \text{crossings per 100 km} = 100\,\frac{n_\text{main stem}}{L_\text{main stem}}, \qquad
    \text{gross share} = \frac{\sum_{o \ne r} S[o, r]}{\sum_o G_o}

The gross share counts a load at every border it crosses, so it can exceed 1. The
fraction of the generated load that crosses at least one border is bounded from the
spillover indicators (``exported`` :math:`X_o`, ``stays_home`` :math:`S[o, o]`, see
:func:`transboundary_fraction`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import Geod

from basingov._checks import require_columns
from basingov._outdir import read_run_files, read_run_table
from basingov.errors import InputError
from basingov.network import DISCHARGE_SOURCES
from basingov.overlay import main_stem

__all__ = [
    "COLUMNS",
    "INDICATORS",
    "MIN_SHARE",
    "RunFolder",
    "basin_indicators",
    "geodesic_area_km2",
    "gross_transboundary_share",
    "hhi",
    "jurisdictions_above",
    "main_stem_reaches",
    "monitored_share",
    "outlet_class",
    "per_100km",
    "read_run",
    "transboundary_fraction",
]


#: Smallest area share counted by ``jurisdictions_1pct`` (DESIGN §2.11: 1 % of the area).
MIN_SHARE = 0.01

#: Indicator key -> (label, unit). The order is the order of the comparison table.
INDICATORS: dict[str, tuple[str, str]] = {
    "area_km2": ("basin area (geodesic, of the basin polygon)", "km2"),
    "main_stem_km": ("main-stem length (largest upstream area at each confluence)", "km"),
    "outlet_discharge_m3s": ("mean discharge at the outlet reach", "m3/s"),
    "jurisdictions_1pct": ("jurisdictions with at least 1 % of the area", "count"),
    "hhi_area": ("concentration of area shares (HHI)", "index 0-1"),
    "area_share": ("area share of a top-level jurisdiction", "fraction"),
    "main_stem_crossings_per_100km": ("border crossings on the main stem per 100 km", "per 100 km"),
    "max_chain_depth": ("maximum chain depth of the dependency graph", "count"),
    "generated_load_kg_day": ("generated load", "kg/day"),
    "transboundary_load_gross_kg_day": (
        "transboundary load, gross (counted at every border crossed)",
        "kg/day",
    ),
    "transboundary_share_gross": (
        "transboundary share of load, gross (counted at every border crossed; can exceed 1)",
        "ratio",
    ),
    "transboundary_fraction": (
        "fraction of generated load that crosses at least one border",
        "fraction",
    ),
    "monitored_crossings_share": (
        "crossing sections with a water-quality station (classified)",
        "fraction",
    ),
    "outlet_class": ("water-quality class at the station nearest the outlet", "class"),
    "gauge_discharge_m3s": ("mean discharge at a gauge (held out of the fit)", "m3/s"),
    "station_load_kg_day": ("load at a monitoring station (held out of the fit)", "kg/day"),
    "governance_body": ("basin body (founding year)", "text"),
    "governance_instrument": ("main instrument (year)", "text"),
}

#: Columns of the comparison table, in order.
COLUMNS = [
    "basin",
    "title",
    "indicator",
    "label",
    "level",
    "level_name",
    "item",
    "value",
    "value_text",
    "unit",
    "p5",
    "p95",
    "band_basis",
    "bound_low",
    "bound_high",
    "published",
    "published_source",
    "published_url",
    "discrepancy_pct",
    "explanation",
    "status",
    "note",
]

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, eq=False)
class RunFolder:
    """A finished ``basingov run BASIN -o DIR`` folder.

    Attributes
    ----------
    path
        The folder.
    name
        The basin name (``summary.json`` ``basin``).
    summary
        The parsed ``summary.json``.
    gpkg
        ``DIR/BASIN.gpkg``.
    """

    path: Path
    name: str
    summary: dict[str, Any]
    gpkg: Path
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        """The basin's title (``summary.json`` ``title``, else its name)."""
        return str(self.summary.get("title") or self.name)

    def has_table(self, name: str) -> bool:
        """Whether ``tables/<name>.csv`` exists."""
        return (self.path / "tables" / f"{name}.csv").is_file()

    def table(self, name: str) -> pd.DataFrame:
        """Read ``tables/<name>.csv`` (ids as text).

        Raises
        ------
        InputError
            If the table is missing.
        """
        if name not in self._cache:
            p = self.path / "tables" / f"{name}.csv"
            if not p.is_file():
                msg = (
                    f"{p} is missing: the run folder {self.path} has no {name!r} table; "
                    f"re-run `basingov run {self.name} -o {self.path} --overwrite`"
                )
                raise InputError(msg)
            self._cache[name] = read_run_table(p)
        return self._cache[name]

    def layer(self, name: str, *, columns: list[str] | None = None) -> gpd.GeoDataFrame:
        """Read one layer of ``BASIN.gpkg``.

        Raises
        ------
        InputError
            If the layer is missing.
        """
        layers = [n for n, _ in pyogrio.list_layers(self.gpkg)]
        if name not in layers:
            msg = f"{self.gpkg} has no layer {name!r} (layers: {layers}); re-run the basin"
            raise InputError(msg)
        return gpd.read_file(self.gpkg, layer=name, columns=columns)


def read_run(path: str | Path) -> RunFolder:
    """Open a finished run folder and check that it holds the tables the comparison reads.

    ``path`` is a folder written by ``basingov run BASIN -o DIR``; it must hold
    ``summary.json``, ``BASIN.gpkg`` and ``tables/`` ``unit_shares.csv``, ``crossings.csv``
    and ``dependency.csv``.

    Raises
    ------
    InputError
        If one of these is missing; the message names the file and the command that
        writes it.
    """
    files = read_run_files(path)
    run = RunFolder(path=files.path, name=files.basin, summary=files.summary, gpkg=files.gpkg)
    for t in ("unit_shares", "crossings", "dependency"):
        run.table(t)
    return run


# ------------------------------------------------------------------------------------
# arithmetic on tables
# ------------------------------------------------------------------------------------
def hhi(shares: pd.Series | np.ndarray | list[float]) -> float:
    r"""Herfindahl-Hirschman index of shares that sum to 1: :math:`\sum_j s_j^2`.

    1 means one jurisdiction holds the whole basin, :math:`1/n` an even split among
    :math:`n`.

    Raises
    ------
    InputError
        If a share is negative or the shares do not sum to 1 (within 1e-3).

    Examples
    --------
    >>> hhi([0.5, 0.5]), hhi([1.0]), round(hhi([0.6, 0.3, 0.1]), 6)
    (0.5, 1.0, 0.46)
    """
    s = np.asarray(shares, dtype=np.float64)
    if (s < 0).any() or not np.isfinite(s).all():
        msg = f"area shares must be finite and >= 0, got {s.tolist()}"
        raise InputError(msg)
    if abs(s.sum() - 1.0) > 1e-3:
        msg = f"area shares must sum to 1 (got {s.sum():.6f}); pass the shares of one level"
        raise InputError(msg)
    return float((s**2).sum())


def jurisdictions_above(shares: pd.Series, *, min_share: float = MIN_SHARE) -> int:
    """Count the jurisdictions whose share is at least ``min_share``.

    Examples
    --------
    >>> jurisdictions_above(pd.Series([0.5, 0.49, 0.0099, 0.0001]))
    2
    """
    return int((np.asarray(shares, dtype=np.float64) >= min_share).sum())


def per_100km(count: float, length_km: float) -> float:
    """``count`` per 100 km of ``length_km`` (NaN for a zero length).

    Examples
    --------
    >>> per_100km(3, 1200.0)
    0.25
    """
    if not length_km > 0:
        return float("nan")
    return float(100.0 * count / length_km)


def gross_transboundary_share(
    matrix: pd.DataFrame, generated: float, *, value: str = "load_kg_day"
) -> float:
    r"""Gross transboundary share :math:`\sum_{o \ne r} S[o, r] / \sum_o G_o` of one level.

    A load crossing two borders counts twice, so the share can exceed 1.

    Parameters
    ----------
    matrix
        The long matrix of one level (``origin, receptor`` and ``value``).
    generated
        Load generated in the basin (kg/day).
    value
        The column holding S (``load_kg_day``, or a percentile column ``p5``/``p95``).

    Examples
    --------
    A chain A -> B -> C with 1 kg/day generated in each and no decay: A's load crosses
    into B and into C, B's into C: 3 kg/day crossing for 3 generated.

    >>> m = pd.DataFrame({"origin": ["A", "A", "B", "C"], "receptor": ["B", "C", "C", "C"],
    ...                   "load_kg_day": [1.0, 1.0, 1.0, 1.0]})
    >>> gross_transboundary_share(m, 3.0)
    1.0
    """
    if not generated > 0:
        return float("nan")
    off = matrix["origin"].astype(str) != matrix["receptor"].astype(str)
    return float(matrix.loc[off, value].sum() / generated)


def transboundary_fraction(indicators: pd.DataFrame) -> tuple[float, float]:
    r"""Bounds on the fraction of the generated load that crosses at least one border.

    For each origin :math:`o`, let :math:`F_o` be its load measured where it first
    crosses a border of its level (or enters another jurisdiction's water). The
    spillover indicators give :math:`X_o` (``exported``: every crossing out of
    :math:`o`'s waters, so a load that leaves, comes back and leaves again counts
    twice) and :math:`B_o` (what comes back), with :math:`S[o, o] = G_o - X_o + B_o`
    (``stays_home``). Every load that returns was first exported, and a returned load
    can leave again at most once per return, so

    .. math::

        G_o - S[o, o] = X_o - B_o \;\le\; F_o \;\le\; \min(X_o, G_o)

    and the basin fraction :math:`\sum_o F_o / \sum_o G_o` lies between the sums of the
    bounds. The bounds coincide when no load comes back into its origin's waters. When
    the table has a per-origin ``transboundary_share`` column (a fraction computed by
    the spillover stage), the exact value is returned as both bounds.

    Parameters
    ----------
    indicators
        The spillover indicators of one level (``generated, exported, stays_home``).

    Returns
    -------
    tuple of float
        (low, high); NaN when nothing is generated.

    Examples
    --------
    A chain A -> B -> C, 1 kg/day each, no decay: A and B export everything, C nothing.

    >>> ind = pd.DataFrame({"generated": [1.0, 1.0, 1.0], "exported": [1.0, 1.0, 0.0],
    ...                     "stays_home": [0.0, 0.0, 1.0]})
    >>> transboundary_fraction(ind)
    (0.6666666666666666, 0.6666666666666666)
    """
    require_columns(indicators, ["generated"], what="spillover indicators")
    g = indicators["generated"].to_numpy(dtype=np.float64)
    total = g.sum()
    if not total > 0:
        return float("nan"), float("nan")
    if "transboundary_share" in indicators.columns:
        share = indicators["transboundary_share"].to_numpy(dtype=np.float64)
        v = float(np.nansum(share * g) / total)
        return v, v
    require_columns(indicators, ["exported", "stays_home"], what="spillover indicators")
    x = indicators["exported"].to_numpy(dtype=np.float64)
    home = indicators["stays_home"].to_numpy(dtype=np.float64)
    low = float(np.clip(g - home, 0.0, None).sum() / total)
    high = float(np.minimum(x, g).sum() / total)
    return low, max(low, high)


def monitored_share(crossings: pd.DataFrame, sections: pd.DataFrame) -> float:
    """Share of crossing sections that have a monitoring station with water-quality data.

    A crossing counts when the monitoring ``sections`` table lists it with
    ``has_station`` true; without that column, when a row gives it a ``station_id``
    (and, where the table says so, at least one classified period, ``n_periods``).

    Parameters
    ----------
    crossings
        The crossings of one level (``crossing_id``).
    sections
        The monitoring stage's ``sections`` table (``crossing_id`` and ``has_station``,
        or ``station_id``).

    Returns
    -------
    float
        NaN when the level has no crossing.

    Examples
    --------
    >>> c = pd.DataFrame({"crossing_id": ["a", "b", "c", "d"]})
    >>> s = pd.DataFrame({"crossing_id": ["a", "b", ""], "station_id": ["S1", "S2", "S3"],
    ...                   "n_periods": [3, 0, 5]})
    >>> monitored_share(c, s)
    0.25
    """
    require_columns(crossings, ["crossing_id"], what="crossings")
    require_columns(sections, ["crossing_id"], what="monitoring sections table")
    n = len(crossings)
    if n == 0:
        return float("nan")
    sec = sections[sections["crossing_id"].fillna("").astype(str) != ""]
    if "has_station" in sec.columns:
        ok = sec["has_station"].astype(str).str.lower().isin(["true", "1", "1.0"])
    elif "station_id" in sec.columns:
        ok = sec["station_id"].fillna("").astype(str) != ""
        if "n_periods" in sec.columns:
            ok &= pd.to_numeric(sec["n_periods"], errors="coerce").fillna(0) > 0
    else:
        msg = "monitoring sections table needs 'has_station' or 'station_id' columns"
        raise InputError(msg)
    covered = set(sec.loc[ok, "crossing_id"].astype(str))
    return float(crossings["crossing_id"].astype(str).isin(covered).sum() / n)


def outlet_class(stations: pd.DataFrame, classes: pd.DataFrame) -> dict[str, Any] | None:
    """Latest water-quality class at the snapped station nearest the outlet.

    Parameters
    ----------
    stations
        The monitoring stage's ``stations`` table (``station_id``,
        ``distance_to_outlet_km``; optional ``snapped``, ``name``).
    classes
        Station-period classes (``station_id, period, class``; optional
        ``period_start``).

    Returns
    -------
    dict or None
        ``class, period, station_id, station_name, distance_to_outlet_km``; None when no
        snapped station has a class.

    Examples
    --------
    >>> st = pd.DataFrame({"station_id": ["A", "B"], "distance_to_outlet_km": [5.0, 50.0],
    ...                    "snapped": [True, True], "name": ["Mouth", "Up"]})
    >>> cl = pd.DataFrame({"station_id": ["A", "A", "B"], "period": ["2019", "2020", "2020"],
    ...                    "class": ["III", "II", "IV"]})
    >>> outlet_class(st, cl)["class"]
    'II'
    """
    require_columns(stations, ["station_id", "distance_to_outlet_km"], what="stations table")
    require_columns(classes, ["station_id", "period", "class"], what="classes table")
    st = stations.copy()
    if "snapped" in st.columns:
        st = st[st["snapped"].astype(str).str.lower().isin(["true", "1", "1.0"])]
    st = st[pd.to_numeric(st["distance_to_outlet_km"], errors="coerce").notna()]
    st = st[st["station_id"].astype(str).isin(set(classes["station_id"].astype(str)))]
    if st.empty:
        return None
    dist = pd.to_numeric(st["distance_to_outlet_km"], errors="coerce").to_numpy(dtype=float)
    best = st.iloc[int(np.argmin(dist))]
    sid = str(best["station_id"])
    cl = classes[classes["station_id"].astype(str) == sid]
    key = "period_start" if "period_start" in cl.columns else "period"
    last = cl.sort_values(key).iloc[-1]
    return {
        "class": str(last["class"]),
        "period": str(last["period"]),
        "station_id": sid,
        "station_name": str(best.get("name", sid)),
        "distance_to_outlet_km": float(best["distance_to_outlet_km"]),
    }


def geodesic_area_km2(gdf: gpd.GeoDataFrame) -> float:
    """Area of the polygons on the WGS84 ellipsoid (km²), whatever their CRS.

    The same method for every basin, independent of each run's projected CRS.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
    >>> round(geodesic_area_km2(g), -1)  # 1 x 1 degree at the equator
    12310.0
    """
    if gdf.crs is None:
        msg = "the basin layer has no CRS; it cannot be measured"
        raise InputError(msg)
    geo = gdf.to_crs("EPSG:4326")
    return float(sum(abs(_GEOD.geometry_area_perimeter(g)[0]) for g in geo.geometry) / 1e6)


def main_stem_reaches(reaches: pd.DataFrame) -> np.ndarray:
    """Positions of the main stem in a reach table (``reach_id, downstream_id``).

    The rule of :func:`basingov.overlay.main_stem`: from the outlet with the largest
    upstream area, upstream along the largest upstream area at every confluence.

    Examples
    --------
    >>> r = pd.DataFrame({"reach_id": [1, 2, 3], "downstream_id": [3, 3, -1],
    ...                   "upstream_area_km2": [5.0, 9.0, 20.0], "length_km": [1.0] * 3})
    >>> main_stem_reaches(r).tolist()
    [1, 2]
    """
    require_columns(
        reaches, ["reach_id", "downstream_id", "upstream_area_km2", "length_km"], what="reaches"
    )
    pos = pd.Series(np.arange(len(reaches)), index=reaches["reach_id"].to_numpy())
    idx_ds = (
        reaches["downstream_id"].map(pos).fillna(-1).to_numpy(dtype=np.int64)
    )  # outlets and ids outside the table -> -1
    tab = pd.DataFrame(reaches.drop(columns="geometry", errors="ignore"))
    return np.asarray(main_stem(SimpleNamespace(reaches=tab, idx_ds=idx_ds)), dtype=np.int64)


# ------------------------------------------------------------------------------------
# one basin
# ------------------------------------------------------------------------------------
def _row(run: RunFolder, indicator: str, **kw: Any) -> dict[str, Any]:
    return _indicator_row(run.name, run.title, indicator, **kw)


def _indicator_row(basin: str, title: str, indicator: str, **kw: Any) -> dict[str, Any]:
    """One row of :data:`COLUMNS` for ``indicator`` of ``basin``: defaults, then ``kw``."""
    label, unit = INDICATORS[indicator]
    row: dict[str, Any] = dict.fromkeys(COLUMNS, np.nan)
    row.update(
        basin=basin,
        title=title,
        indicator=indicator,
        label=label,
        unit=unit,
        level=-1,
        level_name="",
        item="",
        value_text="",
        band_basis="",
        published_source="",
        published_url="",
        explanation="",
        status="computed",
        note="",
    )
    row.update(kw)
    return row


def _levels(shares: pd.DataFrame) -> list[tuple[int, str]]:
    lv = shares[["level", "level_name"]].drop_duplicates().sort_values("level")
    return [(int(a), str(b)) for a, b in lv.itertuples(index=False)]


def basin_indicators(run: RunFolder) -> pd.DataFrame:
    """Every comparison indicator of one run folder, one row per indicator and level.

    Parameters
    ----------
    run
        A run folder (:func:`read_run`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; the published columns are left empty (filled by
        :func:`basingov.compare.compare`). Indicators whose inputs the run did not
        produce have ``status = "not available"`` and say why in ``note``.
    """
    rows: list[dict[str, Any]] = []
    shares = run.table("unit_shares")
    shares = shares[shares["jur_id"].fillna("").astype(str) != ""]
    levels = _levels(shares)
    crossings = run.table("crossings")
    dep = run.table("dependency")

    basin = run.layer("basin")
    derived = bool(int(basin["derived"].iloc[0])) if "derived" in basin.columns else False
    src = str(basin["source"].iloc[0]) if "source" in basin.columns else ""
    rows.append(
        _row(
            run,
            "area_km2",
            value=geodesic_area_km2(basin),
            note=("derived polygon: " if derived else "polygon: ") + src,
        )
    )

    fields = _fields(run.gpkg, "reaches")
    wanted = (
        "reach_id",
        "downstream_id",
        "length_km",
        "upstream_area_km2",
        "discharge_m3s",
        "discharge_source",
        "name",
    )
    reaches = run.layer("reaches", columns=[c for c in wanted if c in fields])
    stem = main_stem_reaches(reaches)
    stem_km = float(reaches["length_km"].to_numpy(dtype=np.float64)[stem].sum())
    names = reaches["name"].fillna("").astype(str).iloc[stem] if "name" in reaches else None
    named = (
        ", ".join(n for n in names.iloc[::-1].drop_duplicates() if n)[:200]
        if names is not None
        else ""
    )
    network = run.summary.get("network", {}) or {}
    rows.append(
        _row(
            run,
            "main_stem_km",
            value=stem_km,
            note=f"{len(stem)} reaches of the {network.get('key', '')} network"
            + (f"; names from the outlet up: {named}" if named else ""),
        )
    )
    out = reaches.iloc[int(stem[-1])] if len(stem) else None
    if out is not None and "discharge_m3s" in reaches:
        dsrc = str(out.get("discharge_source", "") or "")
        rows.append(
            _row(
                run,
                "outlet_discharge_m3s",
                value=float(out["discharge_m3s"]),
                note=(f"discharge: {DISCHARGE_SOURCES.get(dsrc, dsrc)}; " if dsrc else "")
                + f"outlet reach {out['reach_id']}, upstream area "
                f"{float(out['upstream_area_km2']):,.0f} km2",
            )
        )

    for lv, lname in levels:
        row_at = partial(_row, run, level=lv, level_name=lname)
        s = shares.loc[shares["level"] == lv, ["jur_id", "share"]]
        above = s[s["share"] >= MIN_SHARE]
        rows.append(
            row_at(
                "jurisdictions_1pct",
                value=float(len(above)),
                note=f"of {len(s)} intersecting the basin: "
                + ", ".join(above.sort_values("share", ascending=False)["jur_id"].head(12)),
            )
        )
        rows.append(
            row_at(
                "hhi_area",
                value=hhi(s["share"] / s["share"].sum()),
                note=f"1/n = {1 / max(1, len(s)):.3f} for an even split",
            )
        )
        if lv == 0:
            for jid, sh in s.sort_values("share", ascending=False).itertuples(index=False):
                if sh >= MIN_SHARE:
                    rows.append(row_at("area_share", item=jid, value=sh))
        c = crossings[crossings["level_name"] == lname]
        n_stem = int(c["on_main_stem"].astype(bool).sum()) if "on_main_stem" in c else 0
        rows.append(
            row_at(
                "main_stem_crossings_per_100km",
                value=per_100km(n_stem, stem_km),
                note=f"{n_stem} crossings on {stem_km:,.0f} km",
            )
        )
        d = dep[dep["level_name"] == lname]
        rows.append(
            row_at(
                "max_chain_depth",
                value=float(d["chain_depth"].max()) if len(d) else np.nan,
            )
        )
    rows.extend(_load_rows(run, levels))
    rows.extend(_monitoring_rows(run, levels, crossings))
    rows.extend(_measured_rows(run))
    return pd.DataFrame(rows, columns=COLUMNS)


def _fields(gpkg: Path, layer: str) -> list[str]:
    return [str(f) for f in pyogrio.read_info(gpkg, layer=layer)["fields"]]


def _load_rows(run: RunFolder, levels: list[tuple[int, str]]) -> list[dict[str, Any]]:
    keys = (
        "generated_load_kg_day",
        "transboundary_load_gross_kg_day",
        "transboundary_share_gross",
        "transboundary_fraction",
    )
    if not (run.has_table("spillover_matrix") and run.has_table("spillover_indicators")):
        why = "the run has no load sources ([loads] sources), so no spillover matrix"
        return [_row(run, k, status="not available", note=why) for k in keys]
    matrix = run.table("spillover_matrix")
    ind = run.table("spillover_indicators")
    bands = run.table("spillover_bands") if run.has_table("spillover_bands") else None
    param = str((run.summary.get("key_indicators") or {}).get("load_parameter") or "")
    loads = run.summary.get("loads") or {}
    status = str(loads.get("status", "") or "")
    rows: list[dict[str, Any]] = []
    top = levels[0][1] if levels else ""
    g_top = float(ind.loc[ind["level_name"] == top, "generated"].sum())
    rows.append(
        _row(
            run,
            "generated_load_kg_day",
            item=param,
            value=g_top,
            note=f"{param} load, {status}".strip(", "),
        )
    )
    band_basis = (
        "5th/95th percentiles of the Monte Carlo runs (k, velocity, load coefficients), "
        "summed over origin-receptor pairs: approximate, since a percentile of a sum is "
        "not the sum of the percentiles; the share divides by the central generated load"
    )
    for lv, lname in levels:
        row_at = partial(_row, run, level=lv, level_name=lname, item=param)
        m = matrix[matrix["level_name"] == lname]
        i = ind[ind["level_name"] == lname]
        g = float(i["generated"].sum())
        off = m["origin"].astype(str) != m["receptor"].astype(str)
        gross = float(m.loc[off, "load_kg_day"].sum())
        p5 = p95 = np.nan
        if bands is not None:
            b = bands[bands["level_name"] == lname]
            boff = b["origin"].astype(str) != b["receptor"].astype(str)
            if boff.any():
                p5, p95 = float(b.loc[boff, "p5"].sum()), float(b.loc[boff, "p95"].sum())
        rows.append(
            row_at(
                "transboundary_load_gross_kg_day",
                value=gross,
                p5=p5,
                p95=p95,
                band_basis=band_basis if np.isfinite(p5) else "",
            )
        )
        rows.append(
            row_at(
                "transboundary_share_gross",
                value=gross / g if g > 0 else np.nan,
                p5=p5 / g if g > 0 else np.nan,
                p95=p95 / g if g > 0 else np.nan,
                band_basis=band_basis if np.isfinite(p5) else "",
                note="sum over o != r of S[o, r] / generated; a load crossing k borders counts "
                "k times",
            )
        )
        low, high = transboundary_fraction(i)
        exact = "transboundary_share" in i.columns or np.isclose(low, high, rtol=1e-9)
        rows.append(
            row_at(
                "transboundary_fraction",
                value=low if exact else (low + high) / 2,
                bound_low=low,
                bound_high=high,
                note=(
                    "exact"
                    if exact
                    else f"between {low:.3f} and {high:.3f} (midpoint shown): part of the "
                    "load leaves its origin's waters and comes back, and the run's tables "
                    "do not say which part leaves again; no Monte Carlo band"
                ),
            )
        )
    return rows


def _monitoring_note(crossings: pd.DataFrame, sections: pd.DataFrame) -> tuple[str, bool]:
    """Say what the share of monitored crossings leaves out, for its note.

    Returns the note and whether the share is a lower bound.

    Crossings with a station but no classified period (a flow gauge) are not counted;
    stations of published border sections that no crossing matched (no coordinates
    published) are not placed, so the share is a lower bound.

    Examples
    --------
    >>> c = pd.DataFrame({"crossing_id": ["a", "b", "c"]})
    >>> s = pd.DataFrame({"crossing_id": ["a", "b", "", ""],
    ...                   "station_id": ["S1", "G2", "T1", "T2"], "n_periods": [3, 0, 2, 1]})
    >>> note, lower = _monitoring_note(c, s)
    >>> for part in note.split("; ")[1:]:
    ...     print(part[:60])
    not counted: 1 with a station but no classified period (a fl
    a lower bound: 2 stations of published border sections are o
    >>> lower
    True
    """
    if "station_id" not in sections.columns:
        return "", False
    sec = sections[sections["station_id"].fillna("").astype(str) != ""]
    ids = sec["crossing_id"].fillna("").astype(str)
    note = ""
    if "n_periods" in sec.columns:
        periods = pd.to_numeric(sec["n_periods"], errors="coerce").fillna(0)
        bare = (set(ids) - {""}) - set(ids[periods > 0])
        n = int(crossings["crossing_id"].astype(str).isin(bare).sum())
        if n:
            note += (
                f"; not counted: {n:,} with a station but no classified period (a flow gauge, "
                "or no standard for its parameters)"
            )
    unplaced = sec.loc[ids == "", "station_id"].astype(str).nunique()
    if unplaced:
        note += (
            f"; a lower bound: {unplaced:,} stations of published border sections are on no "
            "crossing (no coordinates published, or none matched)"
        )
    return note, unplaced > 0


def _monitoring_rows(
    run: RunFolder, levels: list[tuple[int, str]], crossings: pd.DataFrame
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if run.has_table("sections"):
        sections = run.table("sections")
        for lv, lname in levels:
            c = crossings[crossings["level_name"] == lname]
            share = monitored_share(c, sections)
            note, lower_bound = _monitoring_note(c, sections)
            rows.append(
                _row(
                    run,
                    "monitored_crossings_share",
                    level=lv,
                    level_name=lname,
                    value=share,
                    # stations not placed on a crossing: the share is a lower bound
                    value_text=f"at least {share:.3g}" if lower_bound else "",
                    note=f"of {len(c)} crossing sections{note}",
                )
            )
    else:
        rows.append(
            _row(
                run,
                "monitored_crossings_share",
                status="not available",
                note="the run has no monitoring sections table (tables/sections.csv); "
                "not the same as no station",
            )
        )
    if run.has_table("stations") and run.has_table("classes"):
        oc = outlet_class(run.table("stations"), run.table("classes"))
        mon = run.summary.get("monitoring") or {}
        std = str(mon.get("standard", "") or "")
        if oc is not None:
            rows.append(
                _row(
                    run,
                    "outlet_class",
                    item=oc["station_id"],
                    value_text=oc["class"],
                    note=f"{oc['station_name']}, {oc['distance_to_outlet_km']:.1f} km above the "
                    f"outlet, period {oc['period']}" + (f", {std}" if std else ""),
                )
            )
            return rows
        why = "no snapped station with a water-quality class"
    else:
        why = "the run has no monitoring stations/classes tables"
    rows.append(_row(run, "outlet_class", status="not available", note=why))
    return rows


def _gauge_texts(r: dict[Any, Any]) -> tuple[str, str]:
    """Source and note of a gauge's held-out discharge (a ``discharge_check`` row)."""
    return (
        f"{r.get('name', '')}: {r.get('source', '')}",
        f"fitted (regionalised) {float(r['modelled_m3s']):,.1f}; one runoff "
        f"depth {float(r['uniform_m3s']):,.1f} m3/s",
    )


def _station_texts(r: dict[Any, Any]) -> tuple[str, str]:
    """Source and note of a station's held-out load (a ``calibration_stations`` row)."""
    return (
        f"{r.get('name', '')}: mean C x Q of "
        f"{int(r.get('n_samples', 0))} samples, flow {r.get('flow_source', '')}",
        f"prior {float(r['predicted_prior_kg_day']):,.0f}; fitted "
        f"{float(r['predicted_kg_day']):,.0f} kg/day",
    )


@dataclass(frozen=True, kw_only=True)
class _HeldOut:
    """A held-out check a run folder may carry: a model value beside its measurement.

    The model value is one the fit did not see (column ``heldout_<suffix>``), the
    measurement is ``observed_<suffix>``.
    """

    table: str
    indicator: str
    id_column: str
    suffix: str
    texts: Callable[[dict[Any, Any]], tuple[str, str]]  # a row -> (source, note)
    explanation: str
    skip_missing: bool  # leave out rows without a held-out value


_HELDOUT_CHECKS = (
    _HeldOut(
        table="discharge_check", indicator="gauge_discharge_m3s", id_column="gauge_id",
        suffix="m3s", texts=_gauge_texts,
        explanation="held out: runoff regionalised to the other gauges only",
        skip_missing=True,
    ),
    _HeldOut(
        table="calibration_stations", indicator="station_load_kg_day", id_column="station_id",
        suffix="kg_day", texts=_station_texts,
        explanation="held out: the calibration refitted without this station",
        skip_missing=False,
    ),
)  # fmt: skip


def _measured_rows(run: RunFolder) -> list[dict[str, Any]]:
    """Gauged discharges and station loads the run compared with its model."""
    rows: list[dict[str, Any]] = []
    for check in _HELDOUT_CHECKS:
        if not run.has_table(check.table):
            continue
        heldout, observed = f"heldout_{check.suffix}", f"observed_{check.suffix}"
        for r in run.table(check.table).to_dict("records"):
            if check.skip_missing and not np.isfinite(float(r.get(heldout, np.nan))):
                continue
            source, note = check.texts(r)
            rows.append(
                _row(
                    run,
                    check.indicator,
                    item=str(r[check.id_column]),
                    value=float(r[heldout]),
                    published=float(r[observed]),
                    published_source=source,
                    note=note,
                    explanation=check.explanation,
                )
            )
    return rows
