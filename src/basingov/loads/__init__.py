"""Pollution loads per reach piece from four kinds of source (DESIGN §2.5).

Every function returns a *load table*: one row per contribution with ``load_kg_day``, a
``load_source`` label and its location, either ``piece_id`` (a piece of
:func:`basingov.overlay.split_reaches`) or ``reach_id`` with an optional ``fraction``
along the reach (0 upstream). :func:`basingov.spillover.spillover_tables` routes it.

Sources:

- ``population_raster``: a population raster x per-capita load (:func:`population_loads`);
- ``point_sources``: treatment plants snapped to reaches (:func:`point_source_loads`);
- ``jurisdiction_table``: emissions per jurisdiction spread over its river
  (:func:`jurisdiction_loads`);
- ``monitoring``: C x Q at stations and increments between stations
  (:func:`station_loads`, :func:`incremental_loads`);
- ``landcover`` and ``deposition``: diffuse export from land and deposition on water
  (:mod:`basingov.loads.diffuse`).

Domestic sewage uses treatment removal per country and census-rescaled population
(:mod:`basingov.loads.sewage`); :mod:`basingov.loads.calibration` fits the source
coefficients to station loads.

Coefficients below are defaults; ``[loads] coefficients`` in a basin config overrides them
with the keys ``per_capita_g_day`` and ``treatment_removal``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, cast, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from basingov._checks import check_choice, check_piece_level, require_columns
from basingov._tables import JURISDICTION_TABLE_CHECKS, check_table, read_table
from basingov.config import LOAD_SOURCES, LoadSource
from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.io import read_raster, require_projected
from basingov.loads.population import (
    _populated_cells,
    _project_cells,
    place_on_pieces,
    raster_cover,
    require_pieces,
    warn_partial_cover,
)
from basingov.loads.sewage import _active_plants

__all__ = [
    "COEFFICIENT_KEYS",
    "KG_DAY_PER_MG_L_M3S",
    "PARAMETERS",
    "PER_CAPITA_G_DAY",
    "SOURCES",
    "TREATMENT_REMOVAL",
    "UWWTD_DISCHARGE_COLUMNS",
    "check_population_raster",
    "emitted_per_capita_g_day",
    "incremental_loads",
    "jurisdiction_loads",
    "point_source_loads",
    "population_loads",
    "station_loads",
]

logger = logging.getLogger(__name__)

Parameter = Literal["TN", "TP", "COD", "BOD5"]
#: Parameters with default load coefficients.
PARAMETERS: tuple[str, ...] = get_args(Parameter)
#: The load-source kinds (values of ``[loads] sources``), defined once in
#: :mod:`basingov.config` where the config is checked (``landcover`` rows are labelled by
#: their group, :data:`basingov.loads.diffuse.DIFFUSE_KINDS`, in ``load_source``).
Source = LoadSource
SOURCES: tuple[str, ...] = LOAD_SOURCES
#: Keys accepted in ``[loads] coefficients``.
COEFFICIENT_KEYS: tuple[str, ...] = ("per_capita_g_day", "treatment_removal")

#: Raw (untreated) load per person, g/day. TN 10.99 and TP 1.78 are the medians over
#: German plants of load entering the plant per population equivalent in EEA Waterbase
#: UWWTD v6 (2,637 and 2,636 plants; derived in
#: ``data/loads/coefficients/uwwtd_v6_rhine_bbox_per_PE_loads.csv``; Swiss medians 10.96
#: and 1.76). COD 120 and BOD5 60 g/day: Tirol Atlas (Univ. Innsbruck), "Wasser -
#: Einwohnerwert" (CSB 120, BSB5 60 g/EW/d); 60 g BOD5/day is the EU population
#: equivalent.
PER_CAPITA_G_DAY: dict[str, float] = {"TN": 10.99, "TP": 1.78, "COD": 120.0, "BOD5": 60.0}

#: Share of the raw load removed before it reaches the river, from the pooled
#: effluent/influent per-p.e. loads of UWWTD v6 (same file): TN 1 - 1.881/10.649 = 0.823
#: and TP 1 - 0.162/1.768 = 0.908 (Germany), COD 1 - 9.001/119.997 = 0.925 (Switzerland),
#: BOD5 1 - 1.850/60.008 = 0.969 (Luxembourg). Applying European treatment levels to
#: Taihu or the Tennessee is an assumption; override per basin.
TREATMENT_REMOVAL: dict[str, float] = {"TN": 0.823, "TP": 0.908, "COD": 0.925, "BOD5": 0.969}

#: UWWTD v6 columns with the discharged load (tonnes/year) of each parameter.
UWWTD_DISCHARGE_COLUMNS: dict[str, str] = {
    "TN": "uwwNDischarge",
    "TP": "uwwPDischarge",
    "COD": "uwwCODDischarge",
    "BOD5": "uwwBODDischarge",
}

#: mg/L x m3/s -> kg/day: 1 mg/L = 1 g/m3, so C·Q g/s x 86,400 s/day / 1,000 g/kg.
KG_DAY_PER_MG_L_M3S = 86.4

_KG_DAY_PER_T_YEAR = 1000.0 / 365.0


def _check_parameter(parameter: str) -> str:
    if parameter not in PARAMETERS:
        msg = (
            f"parameter must be one of {list(PARAMETERS)} (those with default load "
            f"coefficients), got {parameter!r}"
        )
        raise InputError(msg)
    return parameter


def _coefficient(c: Mapping[str, Any], key: str, default: float) -> float:
    """Return the load coefficient ``key`` of ``c`` (``default`` if absent) as a float."""
    v = c.get(key, default)
    try:
        return float(v)
    except (TypeError, ValueError):
        msg = f"load coefficient {key} must be a number, got {v!r}; write it as e.g. {default}"
        raise InputError(msg) from None


def emitted_per_capita_g_day(
    parameter: str, *, coefficients: Mapping[str, float] | None = None
) -> float:
    r"""Load reaching the river per person, g/day: raw load x (1 - treatment removal).

    .. math:: e = c_{raw} (1 - r)

    Parameters
    ----------
    parameter
        One of :data:`PARAMETERS`.
    coefficients
        Overrides with the keys of :data:`COEFFICIENT_KEYS` (``[loads] coefficients``).

    Returns
    -------
    float
        Grams per person per day reaching the river.

    Raises
    ------
    InputError
        For an unknown parameter, unknown coefficient keys or values out of range.

    Examples
    --------
    >>> round(emitted_per_capita_g_day("TN"), 3)
    1.945
    >>> emitted_per_capita_g_day("TP", coefficients={"treatment_removal": 0.0})
    1.78
    """
    _check_parameter(parameter)
    c = dict(coefficients or {})
    unknown = sorted(set(c) - set(COEFFICIENT_KEYS))
    if unknown:
        msg = f"unknown load coefficient(s) {unknown}; allowed keys are {list(COEFFICIENT_KEYS)}"
        raise InputError(msg)
    raw = _coefficient(c, "per_capita_g_day", PER_CAPITA_G_DAY[parameter])
    rem = _coefficient(c, "treatment_removal", TREATMENT_REMOVAL[parameter])
    if not (0 <= raw < np.inf and 0 <= rem <= 1):
        msg = (
            "per_capita_g_day must be finite and >= 0 and treatment_removal in [0, 1]; "
            f"got {raw}, {rem}"
        )
        raise InputError(msg)
    return raw * (1.0 - rem)


def population_loads(
    pieces: gpd.GeoDataFrame,
    raster: str | Path,
    *,
    parameter: str = "TN",
    band: int | None = None,
    basin: gpd.GeoDataFrame | None = None,
    coefficients: Mapping[str, float] | None = None,
    jurisdictions: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    r"""Domestic load from a population-count raster, put onto reach pieces.

    Zonal statistics by river length: each raster cell's population (persons per cell)
    is spread over the pieces inside the cell in proportion to their length in it; a
    populated cell that no river crosses gives its people to the nearest piece. With
    ``basin``, a cell counts only with the share of its area inside the basin (uniform
    density within a cell). The load is

    .. math:: g_p = \sum_{c} P_c\, w_c\, \frac{\ell_{pc}}{\sum_q \ell_{qc}}\, e / 1000

    with :math:`P_c` the cell population, :math:`w_c` its share inside the basin,
    :math:`\ell_{pc}` the length of piece :math:`p` in cell :math:`c` and :math:`e` the
    emitted per-capita load in g/day (:func:`emitted_per_capita_g_day`).

    With ``jurisdictions`` the people are kept in the jurisdiction where they live. Each
    cell is cut into its parts :math:`c \cap j` in the jurisdictions :math:`j` of the
    finest level (inside the basin, when given), and its people are split over the parts
    by area (uniform density within a cell):

    .. math::

        P_{cj} = P_c\, w_c\, \frac{a_{cj}}{\sum_{k} a_{ck}}, \qquad
        g_{pj} = \sum_c P_{cj}\, \frac{\ell_{p,cj}}{\sum_q \ell_{q,cj}}\, e / 1000

    with :math:`a_{cj}` the area of the part and :math:`\ell_{p,cj}` the length of piece
    :math:`p` in it. A part that no river crosses gives its people to the nearest piece
    (from the part's centroid) of the same jurisdiction :math:`j`, or, if :math:`j` has no
    piece at all, to the nearest piece overall; a cell outside every jurisdiction keeps
    the rule above. Each row then records where its people live, ``origin_<level_name>``
    for every level (the finest jurisdiction and its ``parent_id`` chain), so that
    :func:`basingov.spillover.spillover_tables` counts the load as generated there, and,
    if it enters the river on a piece of another jurisdiction, as imported by that one at
    its point of entry.

    Parameters
    ----------
    pieces
        Piece table (projected CRS) with ``piece_id, reach_id``.
    raster
        Population count GeoTIFF (e.g. GPW v4 counts in ``data/loads/``), read with
        rasterio; nodata cells are skipped. Negative or non-finite counts, an all-nodata
        band and a raster holding no people over the basin are errors.
    parameter
        One of :data:`PARAMETERS`.
    band
        1-based band (default: the last, i.e. the latest year of the GPW files).
    basin
        Optional basin polygon to weight cells by their area inside it.
    coefficients
        Overrides of the per-capita coefficients.
    jurisdictions
        Optional jurisdictions of every level (``jur_id, level, level_name, parent_id``,
        as in :class:`basingov.datasets.Basin`), to keep people in the jurisdiction where
        they live (see above). Reprojected to the pieces' CRS if needed.

    Returns
    -------
    pandas.DataFrame
        ``piece_id, reach_id, population, load_kg_day, load_source`` (``"population_raster"``);
        with ``jurisdictions`` one row per piece and origin, plus ``origin_<level_name>``
        for every level (empty for people of cells outside every jurisdiction).

    Raises
    ------
    InputError
        If the raster cannot be read, the band does not exist, the parameter is unknown
        or ``jurisdictions`` lacks a column.
    CRSError
        If ``pieces`` is not projected or the raster has no CRS.
    """
    e = emitted_per_capita_g_day(parameter, coefficients=coefficients)
    require_projected(pieces, what="the piece table")
    require_pieces(pieces)
    rb = read_raster(raster, what="population raster", band=band)
    data = cast(np.ma.MaskedArray, rb.data.astype(np.float64))
    transform, rcrs = rb.transform, rb.crs
    _check_population(data, raster, transform, rcrs)
    cg, pop = _populated_cells(pieces, data, transform, rcrs, basin)
    if pop.size == 0 or not float(pop.sum()) > 0:
        raise InputError(
            _no_people(raster, data, transform, rcrs, pieces if basin is None else basin)
        )
    if basin is not None:  # outside the raster no people are counted
        cover = raster_cover(data.shape, transform, rcrs, basin)
        warn_partial_cover("population raster", raster, cover, data.shape, transform)
    return place_on_pieces(pieces, cg, pop, e, jurisdictions=jurisdictions, basin=basin)


#: More people than this in one raster is not a count of people (8.1e9 live on Earth,
#: UN World Population Prospects 2024).
MAX_PEOPLE = 1e10


def check_population_raster(
    raster: str | Path, *, band: int | None = None, basin: gpd.GeoDataFrame | None = None
) -> None:
    """Refuse a population raster that :func:`population_loads` would refuse, without a run.

    The checks of the load stage that need only the raster and the basin: all nodata,
    negative or non-finite counts, more people than live on Earth, an extent its CRS
    cannot have, and no people in the cells that meet the basin's bounding box (the
    load stage then finds none over the basin itself). ``basingov validate`` makes them.

    Raises
    ------
    InputError
        For an unusable raster (the message names the file and the fix).
    CRSError
        If its extent does not fit its geographic CRS label.

    Examples
    --------
    >>> from basingov.datasets import load_basin
    >>> b = load_basin("tennessee")
    >>> check_population_raster(b.config.loads.population_raster, basin=b.basin)
    """
    rb = read_raster(raster, what="population raster", band=band)
    data = cast(np.ma.MaskedArray, rb.data.astype(np.float64))
    _check_population(data, raster, rb.transform, rb.crs)
    if basin is None:
        return
    # the run projects the raster's cells to the basin's CRS: refuse a CRS it cannot
    x0, y0, x1, y1 = _bounds_text(data.shape, rb.transform, raw=True)
    _project_cells([shapely.box(x0, y0, x1, y1)], rb.crs, basin.crs)
    x0, y0, x1, y1 = (float(v) for v in basin.to_crs(rb.crs).total_bounds)
    inv = ~rb.transform
    cols, rows = inv @ (np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    r0, r1 = int(np.floor(max(min(rows), 0))), int(np.ceil(min(max(rows), data.shape[0])))
    c0, c1 = int(np.floor(max(min(cols), 0))), int(np.ceil(min(max(cols), data.shape[1])))
    window = data[r0:r1, c0:c1] if r1 > r0 and c1 > c0 else data[:0, :0]
    if not (np.ma.filled(window, 0.0) > 0).any():
        raise InputError(_no_people(raster, data, rb.transform, rb.crs, basin))


def _no_people(
    raster: str | Path, data: np.ndarray, transform: Any, rcrs: Any, area: gpd.GeoDataFrame
) -> str:
    return (
        f"population raster {raster} holds no people over the basin: its extent "
        f"{_bounds_text(data.shape, transform)} in {rcrs} does not overlap the basin's "
        f"{_bounds_text(None, area.to_crs(rcrs).total_bounds)}, or its cells there are "
        "empty; check the raster's CRS label (coordinates in metres labelled as degrees, "
        "or the reverse) and that it covers the basin"
    )


def _check_population(
    data: np.ma.MaskedArray, raster: str | Path, transform: Any, rcrs: Any
) -> None:
    """Refuse an unusable population raster.

    That is: one that is all nodata, holds negative or infinite counts, or whose extent
    cannot be in its (geographic) CRS.
    """
    if CRS.from_user_input(rcrs).is_geographic:
        x0, y0, x1, y1 = (float(v) for v in _bounds_text(data.shape, transform, raw=True))
        if min(x0, x1) < -180.5 or max(x0, x1) > 360.5 or min(y0, y1) < -90.5 or max(y0, y1) > 90.5:
            msg = (
                f"population raster {raster} is labelled {rcrs} (degrees) but spans "
                f"{_bounds_text(data.shape, transform)}, beyond lon ±180 / lat ±90: its CRS "
                "label is wrong; write the true CRS into the file (e.g. with rasterio or "
                "gdal_edit.py -a_srs)"
            )
            raise CRSError(msg)
    vals = np.ma.compressed(data)
    if vals.size == 0:
        msg = f"population raster {raster} holds only nodata cells; check the file and band"
        raise InputError(msg)
    bad = ~np.isfinite(vals)
    if bad.any():
        msg = f"population raster {raster} holds {int(bad.sum())} NaN or infinite cell(s) not marked as nodata; set the raster's nodata value"  # noqa: E501
        raise InputError(msg)
    total = float(vals[np.isfinite(vals)].sum())
    if total > MAX_PEOPLE:
        msg = (
            f"population raster {raster} counts {total:.3g} people, more than live on Earth "
            f"(about 8.1e9); it is not a raster of people per cell (a density, or another "
            "unit?): give GPW-style counts"
        )
        raise InputError(msg)
    neg = vals < 0
    if neg.any():
        msg = (
            f"population raster {raster} holds {int(neg.sum())} negative cell(s) (lowest "
            f"{float(vals.min()):g}); people counts are >= 0: if they mark missing data, set "
            "them as the raster's nodata value"
        )
        raise InputError(msg)


def _bounds_text(
    shape: tuple[int, ...] | None, transform_or_bounds: Any, *, raw: bool = False
) -> Any:
    if shape is None:
        b = [float(v) for v in transform_or_bounds]
    else:
        t = transform_or_bounds
        xs = [t.c, t.c + t.a * shape[1]]
        ys = [t.f, t.f + t.e * shape[0]]
        b = [min(xs), min(ys), max(xs), max(ys)]
    return b if raw else "[" + ", ".join(f"{v:.6g}" for v in b) + "]"


def point_source_loads(
    reaches: gpd.GeoDataFrame,
    plants: str | Path | pd.DataFrame,
    *,
    parameter: str = "TN",
    tolerance_m: float = 5000.0,
    coefficients: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Snap treatment plants (EEA Waterbase UWWTD v6 layout) to reaches and give their loads.

    Active plants (``uwwState == 1``) keep their reported discharge
    (:data:`UWWTD_DISCHARGE_COLUMNS`, tonnes/year; x 1000/365 -> kg/day,
    ``load_source = "point_sources"``). Plants with no reported discharge (UWWTD has none
    for France, the Netherlands and Austria) get ``uwwLoadEnteringUWWTP`` (population
    equivalents) x :func:`emitted_per_capita_g_day` (``load_source =
    "point_sources_pe_estimate"``). Each plant goes to the nearest reach within
    ``tolerance_m`` at the point of the reach nearest to it (``fraction``); plants
    farther away (outside the basin) are left out and counted in the log.

    Parameters
    ----------
    reaches
        Reach table (projected CRS) with ``reach_id``.
    plants
        The UWWTD CSV or a DataFrame with ``uwwLatitude, uwwLongitude`` (WGS84) and the
        load columns.
    parameter
        One of :data:`PARAMETERS`.
    tolerance_m
        Largest snapping distance.
    coefficients
        Overrides for the p.e. fallback.

    Returns
    -------
    pandas.DataFrame
        ``source_id, reach_id, fraction, distance_m, load_kg_day, load_source``.

    Raises
    ------
    InputError
        If the file cannot be read, a column is missing, the tolerance is negative or
        ``uwwState`` is not 1 (active), 0 or 2 (not active).
    CRSError
        If ``reaches`` is not projected.

    Warns
    -----
    BasingovWarning
        If no active plant with a load lies within ``tolerance_m`` of a reach.
    """
    e = emitted_per_capita_g_day(parameter, coefficients=coefficients)
    require_projected(reaches, what="the reach table")
    if not tolerance_m >= 0:
        msg = f"tolerance_m must be >= 0, got {tolerance_m}"
        raise InputError(msg)
    if isinstance(plants, pd.DataFrame):
        df, what = plants, "the point-source table"
    else:
        df = read_table(plants, what="point sources", dtype={"uwwCode": str})
        what = f"point sources {Path(plants).name}"
    col = UWWTD_DISCHARGE_COLUMNS[parameter]
    need = ["uwwLatitude", "uwwLongitude", col]
    require_columns(df, need, what=what, hint="expected the UWWTD v6 layout")
    pe_col = ["uwwLoadEnteringUWWTP"] if "uwwLoadEnteringUWWTP" in df.columns else []
    check_table(
        df,
        what=what,
        numeric=[col, *pe_col],
        nonnegative=[col, *pe_col],
        blank_ok=[col, *pe_col],  # not reported: the p.e. estimate, or left out
        id_column="uwwCode" if "uwwCode" in df.columns else None,
        lon_column="uwwLongitude",
        lat_column="uwwLatitude",
    )
    df = _active_plants(df, what, columns=("uwwState",))  # 1 = active, also as text ("1")
    reported = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64)
    pe = (
        pd.to_numeric(df["uwwLoadEnteringUWWTP"], errors="coerce").to_numpy(dtype=np.float64)
        if "uwwLoadEnteringUWWTP" in df.columns
        else np.full(len(df), np.nan)
    )
    load = np.where(np.isnan(reported), pe * e / 1000.0, reported * _KG_DAY_PER_T_YEAR)
    label = np.where(np.isnan(reported), "point_sources_pe_estimate", "point_sources")
    ok = np.isfinite(load)
    pts = gpd.GeoSeries(
        gpd.points_from_xy(df["uwwLongitude"], df["uwwLatitude"]), crs="EPSG:4326"
    ).to_crs(reaches.crs)
    geoms = reaches.geometry.to_numpy()
    pidx, ridx = shapely.STRtree(geoms).query_nearest(
        pts.to_numpy(), max_distance=float(tolerance_m), return_distance=False
    )
    first = np.unique(pidx, return_index=True)[1]
    pidx, ridx = pidx[first], ridx[first]
    sel = ok[pidx]
    pidx, ridx = pidx[sel], ridx[sel]
    logger.info(
        "point sources: %d of %d active plants snapped within %.0f m",
        pidx.size,
        len(df),
        tolerance_m,
    )
    if pidx.size == 0 and ok.any():
        warnings.warn(
            f"point sources: none of the {int(ok.sum())} active plants with a load lies "
            f"within tolerance_m = {tolerance_m:g} m of a reach, so they add no load; check "
            "that uwwLatitude/uwwLongitude are WGS84 degrees (not swapped) and the plants "
            "are in the basin",
            BasingovWarning,
            stacklevel=2,
        )
    pg = pts.to_numpy()[pidx]
    ids = (
        df["uwwCode"].astype(str).to_numpy()[pidx] if "uwwCode" in df.columns else pidx.astype(str)
    )
    return pd.DataFrame(
        {
            "source_id": ids,
            "reach_id": reaches["reach_id"].to_numpy()[ridx],
            "fraction": shapely.line_locate_point(geoms[ridx], pg, normalized=True),
            "distance_m": shapely.distance(geoms[ridx], pg),
            "load_kg_day": load[pidx],
            "load_source": label[pidx],
        }
    )


By = Literal["length", "area"]
_BY: tuple[str, ...] = get_args(By)


def jurisdiction_loads(
    pieces: pd.DataFrame,
    table: pd.DataFrame,
    *,
    level: str,
    by: By = "length",
    reaches: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Spread emissions given per jurisdiction over the river pieces inside it.

    .. math:: g_p = E_j \frac{w_p}{\sum_{q \in j} w_q}

    with :math:`w_p` the piece length (``by="length"``) or its share of the reach's local
    catchment area (``by="area"``, piece share of reach length x ``local_area_km2``).

    Parameters
    ----------
    pieces
        Piece table with ``piece_id, reach_id, length_km, jur_<level>``.
    table
        ``jur_id, load_kg_day`` (one row per jurisdiction of ``level``).
    level
        Level name of the jurisdictions in ``table``.
    by
        ``"length"`` or ``"area"``.
    reaches
        Reach table with ``reach_id, local_area_km2`` (needed for ``by="area"``).

    Returns
    -------
    pandas.DataFrame
        ``piece_id, reach_id, jur_id, load_kg_day, load_source`` (``"jurisdiction_table"``).

    Raises
    ------
    InputError
        For an unknown ``by`` or level, missing columns, or a ``length_km`` (or, with
        ``by="area"``, a ``local_area_km2``) that is blank, text, negative or infinite.

    Warns
    -----
    BasingovWarning
        Naming jurisdictions of ``table`` without any river piece (their load is dropped).

    Examples
    --------
    >>> p = pd.DataFrame({"piece_id": [0, 1, 2], "reach_id": [1, 1, 2],
    ...     "length_km": [1.0, 3.0, 2.0], "jur_country": ["A", "B", "B"]})
    >>> t = pd.DataFrame({"jur_id": ["A", "B"], "load_kg_day": [10.0, 50.0]})
    >>> jurisdiction_loads(p, t, level="country")["load_kg_day"].tolist()
    [10.0, 30.0, 20.0]
    """
    check_choice(by, _BY, name="by")
    check_piece_level(pieces, level)
    col = f"jur_{level}"
    # a missing column, or a blank or text load, is an error, not a silent 0
    check_table(table, what="the emissions table", **JURISDICTION_TABLE_CHECKS)
    require_columns(
        pieces, ["piece_id", "reach_id", "length_km"], what="the piece table",
        hint="pass the pieces of basingov.overlay.split_reaches",
    )  # fmt: skip
    # the weights: a negative one gave negative loads (and more than E_j to the others),
    # a blank one NaN loads or a share of E_j moved silently to the other pieces
    if len(pieces):  # no piece at all: every load is reported as not routed below
        check_table(
            pieces, what="the piece table", numeric=["length_km"], nonnegative=["length_km"]
        )
    w = pieces["length_km"].to_numpy(dtype=np.float64)
    if by == "area":
        if reaches is None or not {"reach_id", "local_area_km2"} <= set(reaches.columns):
            msg = "by='area' needs reaches with reach_id and local_area_km2 columns"
            raise InputError(msg)
        check_table(
            reaches,
            what="the reach table of by='area' (for a network without local areas use "
            "by='length', or give it areas with basingov.network.builders.apportion_area)",
            numeric=["local_area_km2"],
            nonnegative=["local_area_km2"],
        )
        area = pd.Series(
            reaches["local_area_km2"].to_numpy(float), index=reaches["reach_id"].to_numpy()
        )
        rl = pieces.groupby("reach_id")["length_km"].transform("sum").to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(rl > 0, w / rl, 0.0)
        w = np.nan_to_num(area.reindex(pieces["reach_id"].to_numpy()).to_numpy() * share)
    jur = pieces[col].astype(str).to_numpy()
    tot = pd.Series(w).groupby(jur).sum()
    emis = pd.Series(
        pd.to_numeric(table["load_kg_day"]).to_numpy(float),
        index=table["jur_id"].astype(str).to_numpy(),
    )
    lost = sorted(set(emis.index) - set(tot[tot > 0].index))
    if lost:
        warnings.warn(
            f"jurisdiction(s) {lost[:20]} of level {level!r} have no river piece "
            f"(weight 0); their {float(emis[lost].sum()):.4g} kg/day are not routed",
            BasingovWarning,
            stacklevel=2,
        )
    denom = tot.reindex(jur).to_numpy()
    val = emis.reindex(jur).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(denom > 0, np.nan_to_num(val) * w / denom, 0.0)
    return pd.DataFrame(
        {
            "piece_id": pieces["piece_id"].to_numpy(),
            "reach_id": pieces["reach_id"].to_numpy(),
            "jur_id": jur,
            "load_kg_day": g,
            "load_source": "jurisdiction_table",
        }
    )


def station_loads(conc_mg_l: Any, discharge_m3s: Any) -> np.ndarray:
    r"""Load at a station from concentration and discharge, kg/day.

    .. math:: L = C\,Q \times 86.4

    (:data:`KG_DAY_PER_MG_L_M3S`).

    A NaN (a value not measured) gives a NaN load.

    Raises
    ------
    InputError
        If a value is negative, infinite or not a number, or the two do not pair up
        (one value per sample in each, or one for all).

    Examples
    --------
    >>> station_loads([2.0], [100.0]).tolist()
    [17280.0]
    """
    try:  # text, or 3 concentrations for 2 flows: raw numpy errors before
        c = np.asarray(conc_mg_l, dtype=np.float64)
        q = np.asarray(discharge_m3s, dtype=np.float64)
        np.broadcast_shapes(c.shape, q.shape)
    except (TypeError, ValueError) as exc:
        msg = (
            "concentrations (mg/L) and discharges (m3/s) must be numbers, one per sample in "
            f"each (or one for all): {exc}"
        )
        raise InputError(msg) from None
    bad = [v for v in (c, q) if ((v < 0) | np.isinf(v)).any()]  # inf: an infinite load
    if bad:
        shown = np.concatenate([v[(v < 0) | np.isinf(v)].ravel() for v in bad])[:5]
        msg = (
            "concentrations (mg/L) and discharges (m3/s) must be >= 0 and finite (NaN where "
            f"not measured); got {shown.tolist()}"
        )
        raise InputError(msg)
    return c * q * KG_DAY_PER_MG_L_M3S


def incremental_loads(net: Any, stations: pd.DataFrame) -> pd.DataFrame:
    r"""Incremental loads between consecutive stations, spread over the reaches between.

    A station sits at the outflow of its reach. The area of station :math:`d` is every
    reach whose first station downstream (along the main links ``idx_ds``) is :math:`d`;
    its increment is

    .. math:: \Delta L_d = L_d - \sum_{s \to d} L_s

    over the stations :math:`s` immediately upstream, spread over the area's reaches by
    length. In-stream losses between stations are not added back (the increment is a net
    one), and a negative increment is set to 0 with a warning.

    Parameters
    ----------
    net
        The :class:`basingov.network.RiverNetwork`.
    stations
        ``station_id, reach_id, load_kg_day`` (e.g. :func:`station_loads` of period means).

    Returns
    -------
    pandas.DataFrame
        ``reach_id, station_id, load_kg_day, load_source`` (``"monitoring"``).

    Raises
    ------
    InputError
        On missing columns, unknown reach ids, two stations on one reach or a station
        load that is missing, not a number or negative.

    Warns
    -----
    BasingovWarning
        Naming stations with a negative increment.
    """
    require_columns(stations, ("station_id", "reach_id", "load_kg_day"), what="the station table")
    pos = pd.Index(net.reaches["reach_id"].to_numpy()).get_indexer(stations["reach_id"].to_numpy())
    if (pos < 0).any():
        bad = stations["reach_id"].to_numpy()[pos < 0][:10].tolist()
        msg = f"stations name reach_id(s) not in the network: {bad}"
        raise InputError(msg)
    dup = pd.Series(pos).duplicated()
    if dup.any():
        bad = stations["station_id"].to_numpy()[dup.to_numpy()][:10].tolist()
        msg = f"several stations on one reach ({bad}); keep one station per reach"
        raise InputError(msg)
    n = len(net.reaches)
    at = np.full(n, -1, dtype=np.int64)
    at[pos] = np.arange(pos.size)
    lab = np.full(n, -1, dtype=np.int64)
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    for i in np.asarray(net.order)[::-1]:
        d = idx_ds[i]
        lab[i] = at[i] if at[i] >= 0 else (lab[d] if d >= 0 else -1)
    load = pd.to_numeric(stations["load_kg_day"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(load) & (load >= 0))
    if bad.any():
        msg = (
            f"station(s) {stations['station_id'].to_numpy()[bad][:10].tolist()} have no "
            f"load_kg_day >= 0 ({stations['load_kg_day'].to_numpy()[bad][:10].tolist()}); "
            "drop stations without a measured load"
        )
        raise InputError(msg)
    below = np.array([lab[idx_ds[p]] if idx_ds[p] >= 0 else -1 for p in pos], dtype=np.int64)
    upstream = np.bincount(below[below >= 0], weights=load[below >= 0], minlength=pos.size)
    inc = load - upstream
    neg = np.flatnonzero(inc < 0)
    if neg.size:
        names = stations["station_id"].to_numpy()[neg][:20].tolist()
        warnings.warn(
            f"station(s) {names} carry less load than the stations just upstream; their "
            "increments are set to 0",
            BasingovWarning,
            stacklevel=2,
        )
        inc = np.clip(inc, 0.0, None)
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    has = lab >= 0
    tot = np.bincount(lab[has], weights=length[has], minlength=pos.size)
    r = np.flatnonzero(has)
    s = lab[r]
    g = np.where(tot[s] > 0, inc[s] * length[r] / np.where(tot[s] > 0, tot[s], 1.0), 0.0)
    return pd.DataFrame(
        {
            "reach_id": net.reaches["reach_id"].to_numpy()[r],
            "station_id": stations["station_id"].to_numpy()[s],
            "load_kg_day": g,
            "load_source": "monitoring",
        }
    )
