r"""Diffuse loads: land cover x export coefficients, and atmospheric deposition on water.

Export-coefficient model (Johnes 1996; Reckhow et al. 1980): the load exported from land
of class :math:`c` is its area times a coefficient per class,

.. math:: g = \sum_c E_c\, A_c / 365

(kg/day, :math:`E_c` in kg/km²/yr, :math:`A_c` in km²). The classes are those of the
shipped MODIS MCD12C1 IGBP grids (0.05°, one class per cell). Deposition on water is the
area of water cells (IGBP class 0) times a deposition rate, where a source gives one.

The coefficients are data, not code: ``basingov/loads/data/export_coefficients.csv`` and
``deposition.csv`` hold one row per class, parameter and region with its ``source``,
``url`` and ``status`` (``published``, ``derived`` or ``assumed``). A region's rows
override the ``default`` rows for the same class; a region the table has no row for is an
error, not the defaults (name ``default`` for those). ``[loads] export_coefficients`` in a
basin config points at another table of the same layout.

Each cell's load is kept in the jurisdiction where the land lies, exactly as people are in
:func:`basingov.loads.population_loads`: cells are cut by the finest jurisdictions (load
split by area within a cell) and each part's load goes to the river pieces inside it, else
to the nearest piece of the same jurisdiction. Rows carry ``origin_<level>``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_piece_level, require_columns, require_known
from basingov._tables import read_table
from basingov.errors import BasingovWarning, InputError
from basingov.io import read_raster, require_projected
from basingov.loads.population import (
    _Cells,
    _populated_cells,
    basin_clip,
    place_on_pieces,
    raster_cover,
    require_pieces,
    warn_partial_cover,
)

__all__ = [
    "DEPOSITION_KIND",
    "DIFFUSE_KINDS",
    "check_landcover_raster",
    "deposition_loads",
    "deposition_rate",
    "export_coefficients",
    "landcover_loads",
    "loads_by_source",
    "read_deposition_table",
    "read_export_table",
]

#: Source kinds of the land-cover loads (values of ``load_source``).
DIFFUSE_KINDS: tuple[str, ...] = ("diffuse_agriculture", "diffuse_natural", "diffuse_urban")
#: Source kind of deposition on water surfaces.
DEPOSITION_KIND = "deposition"

_EXPORT_COLUMNS = ("region", "igbp_class", "parameter", "kg_km2_yr", "source_kind", "source")
_DEPOSITION_COLUMNS = ("region", "parameter", "kg_km2_yr", "source")
_WATER_CLASS = 0
_DAYS = 365.0


def _package_table(name: str) -> Path:
    return Path(str(resources.files("basingov.loads") / "data" / name))


def _read_table(path: str | Path | None, default: str, need: Sequence[str]) -> pd.DataFrame:
    p = _package_table(default) if path is None else Path(path)
    t = read_table(
        p,
        what="coefficient table",
        dtype={"region": str, "parameter": str},
        required_columns=need,
        hint=f"it needs {list(need)}",
    )
    return _checked_table(t, str(p), need)


#: How the messages name a coefficient table given as a DataFrame.
_GIVEN = "given as table="


def _checked_table(t: pd.DataFrame, where: str, need: Sequence[str]) -> pd.DataFrame:
    """Refuse a coefficient table without a column, a number >= 0 or a source per row.

    Rows are named by their line in the CSV file (the header is line 1), also for a table
    given as a DataFrame (its position + 2).
    """
    require_columns(t, need, what=f"coefficient table {where}", hint=f"it needs {list(need)}")
    t = t.reset_index(drop=True)
    v = pd.to_numeric(t["kg_km2_yr"], errors="coerce")
    bad = t.index[~((v >= 0) & np.isfinite(v))]  # inf: infinite loads
    if len(bad):
        msg = (
            f"coefficient table {where}: kg_km2_yr must be a number >= 0; bad in row(s) "
            f"{[int(i) + 2 for i in bad[:10]]} (file line numbers)"
        )
        raise InputError(msg)
    if t["source"].fillna("").astype(str).str.strip().eq("").any():
        msg = f"coefficient table {where}: every row needs a source (the publication it comes from)"
        raise InputError(msg)
    return t.assign(kg_km2_yr=v.astype(float))


def read_export_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read an export-coefficient table (default: the shipped one).

    Columns: ``region, igbp_class, parameter, kg_km2_yr, source_kind, source`` (plus
    ``status, url, class_name, note``).

    Raises
    ------
    InputError
        If the file cannot be read, lacks a column, has a negative, infinite or missing
        coefficient, a row without source, an unknown ``source_kind``, an ``igbp_class``
        that is not a whole number >= 0, or two rows for one region, class and parameter.

    Examples
    --------
    >>> t = read_export_table()
    >>> t.query("region == 'default' and igbp_class == 12 and parameter == 'TN'")[
    ...     "kg_km2_yr"].item()
    500.0
    """
    t = _read_table(path, "export_coefficients.csv", _EXPORT_COLUMNS)
    return _checked_export(t, str(path or "shipped"))


def _checked_export(t: pd.DataFrame, where: str) -> pd.DataFrame:
    """Refuse an export table with an unknown kind, a class that is no class or a repeat."""
    kinds = set(t["source_kind"].astype(str))
    unknown = sorted(kinds - set(DIFFUSE_KINDS) - {"water"})
    if unknown:
        msg = (
            f"export-coefficient table {where}: unknown source_kind(s) {unknown}; allowed: "
            f"{[*DIFFUSE_KINDS, 'water']}"
        )
        raise InputError(msg)
    cls = pd.to_numeric(t["igbp_class"], errors="coerce")
    bad = t.index[~((cls >= 0) & (cls == np.floor(cls)))]
    if len(bad):
        msg = (
            f"export-coefficient table {where}: igbp_class must be a whole number "
            f">= 0 (a land-cover class of the raster); bad in row(s) "
            f"{[int(i) + 2 for i in bad[:10]]} (file line numbers): "
            f"{t.loc[bad[:10], 'igbp_class'].tolist()}"
        )
        raise InputError(msg)
    t = t.assign(igbp_class=cls.astype(int))
    _refuse_repeats(
        t,
        ["region", "igbp_class", "parameter"],
        what=f"export-coefficient table {where}",
        hint=" (a region's rows override 'default')",
    )
    return t


def _refuse_repeats(t: pd.DataFrame, keys: Sequence[str], *, what: str, hint: str = "") -> None:
    """Refuse a coefficient table with several rows for one value of ``keys``.

    Rows are named by their file line, as in :func:`_checked_table` (``t`` is indexed from 0).
    """
    dup = t.duplicated(list(keys), keep=False)
    if dup.any():
        msg = (
            f"{what}: several rows for one {', '.join(keys[:-1])} and {keys[-1]} in row(s) "
            f"{[int(i) + 2 for i in t.index[dup][:10]]} (file line numbers); keep one row "
            f"each{hint}"
        )
        raise InputError(msg)


def _checked_deposition(t: pd.DataFrame, where: str) -> pd.DataFrame:
    """Refuse a deposition table with several rows for one region and parameter."""
    _refuse_repeats(t, ["region", "parameter"], what=f"deposition table {where}")
    return t


def read_deposition_table(path: str | Path | None = None) -> pd.DataFrame:
    """Read a deposition-rate table (default: the shipped one).

    Columns: ``region, parameter, kg_km2_yr, source`` (plus ``status, url, note``).

    Raises
    ------
    InputError
        If the file cannot be read, lacks a column, has a negative, infinite or missing
        rate, a row without source, or two rows for one region and parameter.

    Examples
    --------
    >>> read_deposition_table().query("region == 'CN' and parameter == 'TN'")[
    ...     "kg_km2_yr"].item()
    2000.0
    """
    t = _read_table(path, "deposition.csv", _DEPOSITION_COLUMNS)
    return _checked_deposition(t, str(path or "shipped"))


def export_coefficients(
    parameter: str, *, region: str = "default", table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Coefficients of one parameter and region, one row per IGBP class.

    Rows of ``region`` replace the ``default`` rows of the same class.

    Raises
    ------
    InputError
        If the table has no row for the parameter or none for the region (a typo such as
        ``"cn"`` silently gave the default coefficients), or a ``table`` given fails the
        checks of :func:`read_export_table`.

    Examples
    --------
    >>> c = export_coefficients("TN", region="CN")
    >>> c.set_index("igbp_class").loc[[4, 12], "kg_km2_yr"].tolist()
    [250.0, 1177.5]
    """
    every = _region_table(
        table,
        read_export_table,
        _checked_export,
        _EXPORT_COLUMNS,
        region,
        "export-coefficient region {unknown} has no row in the export-coefficient table; "
        "its regions are {known}: name one of them ('default' for the default coefficients) "
        "or add rows for the region to the table ([loads] export_coefficients)",
    )
    t = every[every["parameter"] == parameter]
    if t.empty:
        have = sorted(set(every["parameter"]))
        msg = f"no export coefficients for parameter {parameter!r}; the table has {have}"
        raise InputError(msg)
    base = t[t["region"] == "default"]
    reg = t[t["region"] == region] if region != "default" else t.iloc[:0]
    out = pd.concat([reg, base[~base["igbp_class"].isin(reg["igbp_class"])]])
    return out.sort_values("igbp_class").reset_index(drop=True)


def _region_table(
    table: pd.DataFrame | None,
    read: Callable[[], pd.DataFrame],
    checked: Callable[[pd.DataFrame, str], pd.DataFrame],
    columns: Sequence[str],
    region: str,
    unknown: str,
) -> pd.DataFrame:
    """Return the shipped table (``read``) or ``table`` checked, which must hold ``region``.

    ``unknown`` is the message (``{unknown}``, ``{known}``) of
    :func:`basingov._checks.require_known` when no row has that region.
    """
    t = read() if table is None else checked(_checked_table(table, _GIVEN, columns), _GIVEN)
    require_known([region], sorted(set(t["region"].astype(str))), unknown)
    return t


def deposition_rate(
    parameter: str, *, region: str, table: pd.DataFrame | None = None
) -> pd.Series | None:
    """Return the deposition row of a parameter and region, or None if no source gives one.

    ``region`` must have a row in the table (for some parameter); a region with rates for
    other parameters only gives None.

    Raises
    ------
    InputError
        If the table has no row for ``region`` (a typo such as ``"eu"`` silently gave no
        deposition), or a ``table`` given fails the checks of :func:`read_deposition_table`.

    Examples
    --------
    >>> deposition_rate("TN", region="CN")["kg_km2_yr"]
    np.float64(2000.0)
    >>> deposition_rate("TP", region="EU") is None
    True
    """
    t = _region_table(
        table,
        read_deposition_table,
        _checked_deposition,
        _DEPOSITION_COLUMNS,
        region,
        "deposition region {unknown} has no row in the deposition table; its regions are "
        "{known}: name one of them ([loads] deposition_region) or add a row with its source "
        "for the region to the table",
    )
    sel = t[(t["parameter"] == parameter) & (t["region"] == region)]
    if sel.empty:
        return None
    return sel.iloc[0]


def check_landcover_raster(raster: str | Path, *, basin: gpd.GeoDataFrame | None = None) -> None:
    """Refuse a land-cover raster that :func:`landcover_loads` would refuse, without a run.

    It must be readable, with a CRS, and overlap ``basin``. ``basingov validate`` makes
    these checks.

    Raises
    ------
    InputError
        If the raster cannot be read, holds a cell that is not a class (a whole number
        >= 0) or misses the basin.
    CRSError
        If it has no CRS.
    """
    classes, transform, rcrs = _read_classes(raster)
    if basin is not None:
        _landcover_cover(raster, classes, transform, rcrs, basin)


def _landcover_cover(
    raster: str | Path, classes: np.ndarray, transform: Any, rcrs: Any, basin: gpd.GeoDataFrame
) -> float:
    """Return the share of ``basin`` the raster covers; refuse a raster that misses it."""
    cover = raster_cover(classes.shape, transform, rcrs, basin)
    if cover == 0:
        msg = (
            f"land-cover raster {raster} does not overlap the basin (its extent in {rcrs} "
            f"misses the basin polygon): its diffuse load would be 0; check its CRS label "
            "and extent"
        )
        raise InputError(msg)
    return cover


def _read_classes(raster: str | Path) -> tuple[np.ndarray, Any, Any]:
    rb = read_raster(raster, what="land-cover raster")
    vals = np.ma.compressed(rb.data)
    if vals.dtype.kind != "u":  # classes are whole numbers >= 0: refuse anything else
        bad = ~(np.isfinite(vals) & (vals >= 0) & (vals == np.floor(vals)))
        if bad.any():
            msg = (
                f"land-cover raster {raster} holds {int(bad.sum())} cell(s) that are not a "
                f"class (a whole number >= 0), e.g. {np.unique(vals[bad])[:5].tolist()}; "
                "resample land cover by nearest neighbour (not bilinear) and mark missing "
                "cells as the raster's nodata"
            )
            raise InputError(msg)
    classes = np.ma.filled(rb.data.astype(np.int64), -1)
    return classes, rb.transform, rb.crs


def _place(
    pieces: gpd.GeoDataFrame,
    density: np.ndarray,
    transform: Any,
    rcrs: Any,
    basin: gpd.GeoDataFrame | None,
    jurisdictions: gpd.GeoDataFrame | None,
    kind: str,
    *,
    cells: _Cells | None = None,
) -> pd.DataFrame:
    """Put a per-cell density (kg/km²/yr) onto pieces as kg/day, kept by jurisdiction."""
    if not (density > 0).any():
        return pd.DataFrame()
    if cells is not None:
        sel, dens = cells.select(density)
        cg = cells.geoms[sel]
    else:
        cg, dens = _populated_cells(pieces, density, transform, rcrs, basin)
    if dens.size == 0:
        return pd.DataFrame()

    load = dens * shapely.area(cg) / 1e6 / _DAYS  # kg/day inside the basin
    if jurisdictions is not None and cells is not None:
        # the cells' geometry is shared by every density on them
        plan, at = cells.plan(pieces, jurisdictions, basin_clip(pieces, basin))
        out = plan.loads(at[sel], load, 1000.0)
    else:
        out = place_on_pieces(pieces, cg, load, 1000.0, jurisdictions=jurisdictions, basin=basin)
    out = out.drop(columns="population")
    out["load_source"] = kind
    return out


def landcover_loads(
    pieces: gpd.GeoDataFrame,
    raster: str | Path,
    *,
    parameter: str = "TN",
    region: str = "default",
    table: pd.DataFrame | None = None,
    basin: gpd.GeoDataFrame | None = None,
    jurisdictions: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    r"""Diffuse export from land, one row per piece, origin and source kind.

    Each cell of class :math:`c` exports :math:`E_c` kg/km²/yr over its area inside the
    basin (cells weighted by their share inside ``basin``), so the total is

    .. math:: g = \sum_{cells} E_{c(cell)}\, a_{cell}\, w_{cell} / 365

    and it is placed on pieces like the population load (see the module docstring).

    Parameters
    ----------
    pieces
        Piece table (projected CRS) with ``piece_id, reach_id`` (and ``jur_<level>``).
    raster
        IGBP land-cover GeoTIFF (e.g. ``data/loads/<basin>_mcd12c1_2019_igbp_0p05deg.tif``).
    parameter
        ``"TN"`` or ``"TP"`` (those with coefficients in the table).
    region
        Coefficient region of the table (``"default"`` or e.g. ``"CN"``); one without any
        row is an error.
    table
        Export-coefficient table (:func:`read_export_table`); default the shipped one.
    basin, jurisdictions
        As in :func:`basingov.loads.population_loads`.

    Returns
    -------
    pandas.DataFrame
        ``piece_id, reach_id, load_kg_day, load_source`` (one of :data:`DIFFUSE_KINDS`),
        with ``origin_<level>`` when ``jurisdictions`` are given.

    Raises
    ------
    InputError
        If the raster cannot be read, holds a cell that is not a class (a whole number
        >= 0), does not overlap ``basin``, the parameter has no coefficients or the
        region no row (:func:`export_coefficients`).
    CRSError
        If ``pieces`` is not projected or the raster has no CRS (or one that cannot be
        projected).

    Warns
    -----
    BasingovWarning
        If the raster covers less than 99 % of ``basin`` (nothing is counted outside it),
        or has classes without a coefficient (their cells export nothing).
    """
    require_projected(pieces, what="the piece table")
    require_pieces(pieces)
    coef = export_coefficients(parameter, region=region, table=table)
    classes, transform, rcrs = _read_classes(raster)
    if basin is not None:  # outside the raster no land is counted
        cover = _landcover_cover(raster, classes, transform, rcrs, basin)
        warn_partial_cover("land-cover raster", raster, cover, classes.shape, transform)
    top = max(int(classes.max(initial=0)), int(coef["igbp_class"].to_numpy().max(initial=0)))
    lut = np.zeros(max(256, top + 1))
    valid = classes[classes >= 0]
    known = np.zeros(lut.size, dtype=bool)
    known[coef["igbp_class"].to_numpy()] = True
    unknown = np.flatnonzero((np.bincount(valid, minlength=lut.size) > 0) & ~known)
    if unknown.size:
        warnings.warn(
            f"land-cover raster {raster} has class(es) {unknown[:20].tolist()} without an "
            f"export coefficient for {parameter} (region {region!r}); their cells export "
            "nothing: add rows for them to the export-coefficient table, or mark them as "
            "the raster's nodata",
            BasingovWarning,
            stacklevel=2,
        )
    parts = []
    # every kind's cells are valid cells: their boxes and basin weights are computed once
    cells = _Cells(pieces, classes >= 0, transform, rcrs, basin) if (classes >= 0).any() else None
    for kind in DIFFUSE_KINDS:
        sel = coef[coef["source_kind"] == kind]
        lut[:] = 0.0
        lut[sel["igbp_class"].to_numpy()] = sel["kg_km2_yr"].to_numpy()
        dens = np.where(classes >= 0, lut[np.clip(classes, 0, lut.size - 1)], 0.0)
        parts.append(_place(pieces, dens, transform, rcrs, basin, jurisdictions, kind, cells=cells))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["piece_id", "reach_id", "load_kg_day", "load_source"])
    return pd.concat(parts, ignore_index=True)


def deposition_loads(
    pieces: gpd.GeoDataFrame,
    raster: str | Path,
    *,
    parameter: str = "TN",
    region: str,
    table: pd.DataFrame | None = None,
    basin: gpd.GeoDataFrame | None = None,
    jurisdictions: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    r"""Atmospheric deposition on water surfaces (IGBP class 0 cells inside the basin).

    .. math:: g = D\, A_{water} / 365

    with :math:`D` the deposition rate of ``region`` (kg/km²/yr, :func:`deposition_rate`).

    Returns
    -------
    pandas.DataFrame
        As :func:`landcover_loads`, ``load_source = "deposition"``; empty when the table
        has no rate for this parameter and region (with a warning).

    Raises
    ------
    InputError, CRSError
        As :func:`landcover_loads`; an ``InputError`` also for a region without any row in
        the table (:func:`deposition_rate`).

    Warns
    -----
    BasingovWarning
        If the table has rows for ``region`` but no rate for ``parameter``: no source
        gives one, so deposition adds no load.
    """
    require_projected(pieces, what="the piece table")
    require_pieces(pieces)
    row = deposition_rate(parameter, region=region, table=table)
    if row is None:
        warnings.warn(
            f"no source gives a deposition rate of {parameter} for region {region!r} (the "
            "deposition table has none), so deposition adds no load; add a row with its "
            "source to the table, or drop 'deposition' from [loads] sources",
            BasingovWarning,
            stacklevel=2,
        )
        return pd.DataFrame(columns=["piece_id", "reach_id", "load_kg_day", "load_source"])
    classes, transform, rcrs = _read_classes(raster)
    dens = np.where(classes == _WATER_CLASS, float(row["kg_km2_yr"]), 0.0)
    out = _place(pieces, dens, transform, rcrs, basin, jurisdictions, DEPOSITION_KIND)
    if out.empty:
        return pd.DataFrame(columns=["piece_id", "reach_id", "load_kg_day", "load_source"])
    return out


def loads_by_source(
    loads: pd.DataFrame, pieces: pd.DataFrame, levels: Sequence[str]
) -> pd.DataFrame:
    """Sum the generated load per jurisdiction, level and source kind (``loads_by_source``).

    A row's jurisdiction at a level is its ``origin_<level>`` where given, else the
    jurisdiction of the piece (or reach) it enters the river on, as in
    :func:`basingov.spillover.origin_loads`.

    Parameters
    ----------
    loads
        Load table with ``load_kg_day, load_source`` and ``piece_id`` or ``reach_id``.
    pieces
        Piece table with ``piece_id, reach_id, jur_<level>``.
    levels
        Level names, coarsest first.

    Returns
    -------
    pandas.DataFrame
        ``jur_id, level, level_name, source_kind, load_kg_day, share`` (share of the
        jurisdiction's generated load).

    Raises
    ------
    InputError
        If a level has no ``jur_<level>`` column in ``pieces``.

    Examples
    --------
    >>> p = pd.DataFrame({"piece_id": [1, 2], "reach_id": [1, 1], "jur_country": ["A", "B"]})
    >>> ld = pd.DataFrame({"piece_id": [1, 2, 2], "load_kg_day": [1.0, 2.0, 3.0],
    ...     "load_source": ["x", "x", "y"], "origin_country": ["", "A", None]})
    >>> out = loads_by_source(ld, p, ["country"])
    >>> out[["jur_id", "source_kind", "load_kg_day"]].values.tolist()
    [['A', 'x', 3.0], ['B', 'y', 3.0]]
    """
    rows = []
    for i, lv in enumerate(levels):
        check_piece_level(pieces, lv)
        col = f"jur_{lv}"
        by_piece = pd.Series(pieces[col].astype(str).to_numpy(), index=pieces["piece_id"])
        by_piece = by_piece[~by_piece.index.duplicated()]
        by_reach = pd.Series(pieces[col].astype(str).to_numpy(), index=pieces["reach_id"])
        by_reach = by_reach[~by_reach.index.duplicated()]
        if "piece_id" in loads.columns:
            home = by_piece.reindex(loads["piece_id"].to_numpy()).to_numpy(dtype=object)
        else:
            home = np.full(len(loads), None, dtype=object)
        if "reach_id" in loads.columns:
            alt = by_reach.reindex(loads["reach_id"].to_numpy()).to_numpy(dtype=object)
            home = np.where(pd.isna(home), alt, home)
        ocol = f"origin_{lv}"
        if ocol in loads.columns:
            o = loads[ocol].to_numpy(dtype=object)
            given = ~pd.isna(o) & (pd.Series(o).astype(str).str.len().to_numpy() > 0)
            home = np.where(given, o, home)
        df = pd.DataFrame(
            {
                "jur_id": pd.Series(home, dtype=object).fillna("").astype(str),
                "source_kind": loads["load_source"].astype(str).to_numpy(),
                "load_kg_day": loads["load_kg_day"].to_numpy(dtype=float),
            }
        )
        g = df.groupby(["jur_id", "source_kind"], sort=True)["load_kg_day"].sum().reset_index()
        g = g[g["jur_id"] != ""]
        tot = g.groupby("jur_id")["load_kg_day"].transform("sum")
        g["share"] = np.where(tot > 0, g["load_kg_day"] / tot.where(tot > 0, 1.0), 0.0)
        g.insert(1, "level", i)
        g.insert(2, "level_name", lv)
        rows.append(g)
    cols = ["jur_id", "level", "level_name", "source_kind", "load_kg_day", "share"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
