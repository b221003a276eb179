"""Overlay jurisdictions on a river network: pieces, crossings, boundary reaches, unit shares."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from basingov.errors import BasingovWarning, CRSError, InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_BORDER_TOLERANCE_M",
    "DEFAULT_MEANDER_TOLERANCE_M",
    "DEFAULT_SAMPLE_SPACING_M",
    "OUTSIDE",
    "OverlayResult",
    "boundary_reaches",
    "crossings",
    "main_stem",
    "overlay_network",
    "piece_levels",
    "reach_jurisdictions",
    "split_reaches",
    "unit_shares",
]

logger = logging.getLogger(__name__)

#: Jurisdiction id given to river stretches lying outside every jurisdiction of a level.
OUTSIDE = ""

#: A stretch of river in jurisdiction B between two stretches in A (A, B, A along one reach)
#: that is shorter than this is merged back into A, so that a meander looping over a border
#: (or a river wobbling along a border digitised at another scale) does not count as two
#: crossings. 250 m is about the positional accuracy of 1:100k-1:1M boundary and river data
#: (GISCO NUTS 1:1M, CCM2, Natural Earth 10m are all coarser than that).
DEFAULT_MEANDER_TOLERANCE_M = 250.0

#: A river point is *on a border* when the points offset this far to its left and to its
#: right bank fall in different jurisdictions (so the border is at most this far away).
DEFAULT_BORDER_TOLERANCE_M = 500.0

#: Spacing of the sample points used to find boundary reaches (at least 3 per reach).
DEFAULT_SAMPLE_SPACING_M = 250.0

#: Shortest gap (m) between two jurisdiction pieces that is reported as an outside piece.
_MIN_GAP_M = 1e-3

#: Polygons with more vertices than this are clipped to a reach's box before intersecting.
_CLIP_MIN_VERTICES = 256

_JUR_COLUMNS = ("jur_id", "name", "level", "level_name", "parent_id")
OnEmpty = Literal["raise", "warn", "ignore"]
_ON_EMPTY: tuple[str, ...] = get_args(OnEmpty)


class _NetworkLike(Protocol):
    """What :func:`crossings` needs from a :class:`basingov.network.RiverNetwork`."""

    @property
    def reaches(self) -> gpd.GeoDataFrame: ...

    @property
    def idx_ds(self) -> NDArray[np.int64]: ...


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _require_projected(gdf: gpd.GeoDataFrame, what: str) -> CRS:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{what} must be a GeoDataFrame, got {type(gdf).__name__}"
        raise InputError(msg)
    if len(gdf) == 0:
        msg = f"{what} is empty (0 rows); pass a layer with at least one feature"
        raise InputError(msg)
    if gdf.crs is None:
        msg = (
            f"{what} has no CRS; set it with gdf.set_crs(...) and project it, e.g. "
            "gdf.to_crs(gdf.estimate_utm_crs()), before the overlay"
        )
        raise CRSError(msg)
    crs = CRS.from_user_input(gdf.crs)
    if not crs.is_projected:
        msg = (
            f"{what} is in the geographic CRS {crs.to_string()}; lengths and areas need a "
            "projected CRS: use gdf.to_crs(gdf.estimate_utm_crs()) or the basin's configured CRS"
        )
        raise CRSError(msg)
    return crs


def _same_crs(a: CRS, b: gpd.GeoDataFrame, what_a: str, what_b: str) -> None:
    if not a.equals(CRS.from_user_input(b.crs)):
        msg = (
            f"{what_a} ({a.to_string()}) and {what_b} ({CRS.from_user_input(b.crs).to_string()}) "
            f"are in different CRSs; project one onto the other, e.g. "
            f"{what_b}.to_crs({what_a}.crs)"
        )
        raise CRSError(msg)


def _require_columns(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        msg = f"{what} lacks column(s) {missing}; it has {list(df.columns)}"
        raise InputError(msg)


def _check_reaches(reaches: gpd.GeoDataFrame) -> CRS:
    crs = _require_projected(reaches, "reaches")
    _require_columns(reaches, ["reach_id"], "reaches")
    types = set(shapely.get_type_id(reaches.geometry.values)) - {1, 5}
    if types:
        bad = reaches["reach_id"][
            ~reaches.geometry.geom_type.isin(["LineString", "MultiLineString"])
        ]
        msg = (
            f"reaches must be (Multi)LineStrings; reach_id {bad.tolist()[:10]} are not. "
            "Drop or repair them before the overlay"
        )
        raise InputError(msg)
    dup = reaches["reach_id"][reaches["reach_id"].duplicated()].unique().tolist()
    if dup:
        msg = f"reaches has repeated reach_id values {dup[:10]}; reach ids must be unique"
        raise InputError(msg)
    return crs


def _check_jurisdictions(jurisdictions: gpd.GeoDataFrame) -> CRS:
    crs = _require_projected(jurisdictions, "jurisdictions")
    _require_columns(jurisdictions, _JUR_COLUMNS, "jurisdictions")
    problems: list[str] = []
    dup = jurisdictions["jur_id"][jurisdictions["jur_id"].duplicated()].unique().tolist()
    if dup:
        problems.append(f"repeated jur_id values {dup[:10]} (ids must be unique across levels)")
    if (jurisdictions["jur_id"].astype(str) == OUTSIDE).any():
        problems.append("an empty jur_id ('' is reserved for 'outside every jurisdiction')")
    polygonal = jurisdictions.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        problems.append(
            f"non-polygon geometries for jur_id {jurisdictions['jur_id'][~polygonal].tolist()[:10]}"
        )
    per_level = jurisdictions.groupby("level_name")["level"].nunique()
    if (per_level > 1).any():
        problems.append(
            f"level_name values {per_level[per_level > 1].index.tolist()} map to several "
            "'level' numbers"
        )
    if problems:
        msg = "jurisdictions: " + "; ".join(problems)
        raise InputError(msg)
    return crs


def _resolve_levels(jurisdictions: gpd.GeoDataFrame, levels: Sequence[str] | None) -> list[str]:
    order = (
        jurisdictions[["level", "level_name"]]
        .drop_duplicates()
        .sort_values("level")["level_name"]
        .astype(str)
        .tolist()
    )
    if levels is None:
        return order
    if isinstance(levels, str):
        levels = [levels]
    unknown = [lv for lv in levels if lv not in order]
    if unknown or not levels:
        msg = f"levels {list(levels)} are not all jurisdiction levels; allowed levels are {order}"
        raise InputError(msg)
    return sorted(dict.fromkeys(levels), key=order.index)


def _level_numbers(jurisdictions: pd.DataFrame) -> dict[str, int]:
    lv = jurisdictions[["level_name", "level"]].drop_duplicates("level_name")
    return {str(a): int(b) for a, b in zip(lv["level_name"], lv["level"], strict=True)}


def piece_levels(pieces: pd.DataFrame) -> list[str]:
    """Return the level names of a piece table, coarsest first.

    Parameters
    ----------
    pieces
        A piece table from :func:`split_reaches`.

    Returns
    -------
    list of str
        The ``<level_name>`` of every ``jur_<level_name>`` column.

    Examples
    --------
    >>> piece_levels(pd.DataFrame(columns=["reach_id", "jur_country", "jur_state"]))
    ['country', 'state']
    """
    return [c[4:] for c in pieces.columns if c.startswith("jur_")]


def _check_level(pieces: pd.DataFrame, level: str) -> str:
    allowed = piece_levels(pieces)
    if level not in allowed:
        msg = f"level {level!r} is not in the piece table; allowed levels are {allowed}"
        raise InputError(msg)
    return level


# --------------------------------------------------------------------------------------
# splitting
# --------------------------------------------------------------------------------------


def _line_parts(geoms: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """Explode (Multi)LineStrings and GeometryCollections into non-empty LineStrings."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    if (shapely.get_type_id(parts) > 1).any():
        # a GeometryCollection may hold MultiLineStrings: explode once more
        parts, sidx = shapely.get_parts(parts, return_index=True)
        idx = idx[sidx]
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    return parts[keep], idx[keep].astype(np.int64)


def _fractions(
    lines: NDArray[Any], parts: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalised positions of each part's ends along its parent line (start < end)."""
    a = shapely.line_locate_point(lines, shapely.get_point(parts, 0), normalized=True)
    b = shapely.line_locate_point(lines, shapely.get_point(parts, -1), normalized=True)
    return np.minimum(a, b), np.maximum(a, b)


def _boundary_segments(poly_geoms: NDArray[Any]) -> NDArray[Any]:
    """Every polygon boundary as two-point segments (small boxes make a selective STRtree)."""
    coords, ring = shapely.get_coordinates(
        shapely.get_parts(shapely.boundary(poly_geoms)), return_index=True
    )
    same = ring[1:] == ring[:-1]
    return np.asarray(shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1)))


def _intersect_pairs(
    reach_geoms: NDArray[Any], poly_geoms: NDArray[Any]
) -> tuple[
    NDArray[Any], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]
]:
    """Intersect every reach with every polygon it overlaps (vectorised, STRtree).

    Reaches that touch no polygon boundary segment (an STRtree of two-point segments) lie
    wholly inside one polygon or outside all: they are assigned by one point-in-polygon
    query and are not intersected. The others are intersected with each polygon they
    touch, clipped to the reach's bounding box first when the polygon is large; this
    gives the same lines as the full polygon at a fraction of the cost (the full polygon
    is used where the clipped one is not valid). Returns LineString parts with their
    reach and polygon positions and their fractions along the reach.
    """
    segs = _boundary_segments(poly_geoms)
    touched = np.unique(shapely.STRtree(segs).query(reach_geoms, predicate="intersects")[0])
    interior = np.ones(len(reach_geoms), dtype=bool)
    interior[touched] = False
    ipos = np.flatnonzero(interior)
    tree = shapely.STRtree(poly_geoms)
    # interior reaches: one point each
    pts = shapely.point_on_surface(reach_geoms[ipos])
    # one prepared polygon against many points is faster than many points against polygons
    pj_in, pi = shapely.STRtree(pts).query(poly_geoms, predicate="contains_properly")
    srt = np.lexsort((pj_in, pi))
    pi, pj_in = pi[srt], pj_in[srt]
    in_reach = ipos[pi]
    in_geoms = reach_geoms[in_reach]
    multi = shapely.get_type_id(in_geoms) != 1
    fs_in = np.zeros(in_reach.size)
    fe_in = np.ones(in_reach.size)
    if multi.any():
        mparts, midx = _line_parts(in_geoms[multi])
        mpos = np.flatnonzero(multi)[midx]
        mfs, mfe = _fractions(in_geoms[mpos], mparts)
        keep = ~multi
        in_geoms = np.concatenate([in_geoms[keep], mparts])
        in_reach = np.concatenate([in_reach[keep], in_reach[mpos]])
        pj_in = np.concatenate([pj_in[keep], pj_in[mpos]])
        fs_in = np.concatenate([fs_in[keep], mfs])
        fe_in = np.concatenate([fe_in[keep], mfe])
    # reaches touching a boundary: intersect with every polygon they touch
    ri, pj = tree.query(reach_geoms[touched], predicate="intersects")
    ri = touched[ri]
    lines = reach_geoms[ri]
    polys = poly_geoms[pj]
    bounds = shapely.bounds(lines)
    pad = 1.0 + 1e-3 * np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    boxes = shapely.box(
        bounds[:, 0] - pad, bounds[:, 1] - pad, bounds[:, 2] + pad, bounds[:, 3] + pad
    )
    clipped = polys.copy()
    big = shapely.get_num_coordinates(polys) > _CLIP_MIN_VERTICES
    clipped[big] = shapely.intersection(polys[big], boxes[big])
    bad = ~shapely.is_valid(clipped)
    clipped[bad] = polys[bad]
    cparts, cidx = _line_parts(shapely.intersection(lines, clipped))
    cfs, cfe = _fractions(lines[cidx], cparts)
    return (
        np.concatenate([in_geoms, cparts]),
        np.concatenate([in_reach, ri[cidx]]).astype(np.int64),
        np.concatenate([pj_in, pj[cidx]]).astype(np.int64),
        np.concatenate([fs_in, cfs]),
        np.concatenate([fe_in, cfe]),
    )


def _gap_parts(
    reach_geoms: NDArray[Any],
    parts: NDArray[Any],
    part_reach: NDArray[np.int64],
    poly_geoms: NDArray[Any],
) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """Stretches of reaches not covered by any polygon (outside every jurisdiction).

    Only reaches whose parts are shorter than the reach are handled: each is differenced
    with the polygons it touches, one polygon rank at a time (vectorised per rank).
    """
    n = len(reach_geoms)
    covered = np.bincount(part_reach, weights=shapely.length(parts), minlength=n)
    total = shapely.length(reach_geoms)
    need = np.flatnonzero(total - covered > _MIN_GAP_M)
    if need.size == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    where = np.full(n, -1, dtype=np.int64)
    where[need] = np.arange(need.size)
    tree = shapely.STRtree(poly_geoms)
    ri, pj = tree.query(reach_geoms[need], predicate="intersects")
    cur = reach_geoms[need].copy()
    if ri.size:
        first = np.searchsorted(ri, ri, side="left")  # ri is sorted by query
        rank = np.arange(ri.size) - first
        for k in range(int(rank.max()) + 1):
            sel = rank == k
            cur[ri[sel]] = shapely.difference(cur[ri[sel]], poly_geoms[pj[sel]])
    gparts, gidx = _line_parts(cur)
    keep = shapely.length(gparts) > _MIN_GAP_M
    return gparts[keep], need[gidx[keep]]


def _level_maps(
    jur: gpd.GeoDataFrame, levels: list[str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Map each finest-level id to its ancestor at every level through ``parent_id``.

    Ids whose parent chain does not reach a level are missing from that level's map.
    """
    finest = levels[-1]
    parent = dict(zip(jur["jur_id"], jur["parent_id"], strict=True))
    level_of = dict(zip(jur["jur_id"], jur["level_name"], strict=True))
    names = dict(zip(jur["jur_id"], jur["name"].astype(str), strict=True))
    maps: dict[str, dict[str, str]] = {lv: {} for lv in levels}
    for jid in jur.loc[jur["level_name"] == finest, "jur_id"]:
        cur: str | None = jid
        seen: set[str] = set()
        while cur and cur in level_of and cur not in seen:
            seen.add(cur)
            lv = level_of[cur]
            if lv in maps:
                maps[lv][jid] = cur
            cur = parent.get(cur) or None
    return maps, names


def _assign_levels(
    finest_ids: NDArray[Any],
    points: NDArray[Any],
    jur: gpd.GeoDataFrame,
    levels: list[str],
) -> dict[str, NDArray[Any]]:
    """Jurisdiction of every level for items known at the finest level.

    Coarser levels come from the ``parent_id`` chain of the finest unit. Where the chain
    does not reach a level (hierarchies that do not nest, a missing parent, or an item
    outside every finest unit), the level's polygon containing the item's point (or the
    midpoint of a line item) is used instead; no polygon gives :data:`OUTSIDE`.
    """
    maps, _ = _level_maps(jur, levels)
    out: dict[str, NDArray[Any]] = {}
    finest_ids = np.asarray(finest_ids, dtype=object)
    for lv in levels:
        if lv == levels[-1]:
            out[lv] = finest_ids
            continue
        mapped = pd.Series(finest_ids).map(maps[lv]).to_numpy(dtype=object)
        todo = np.flatnonzero(pd.isna(mapped))
        if todo.size:
            sub = jur[jur["level_name"] == lv]
            tree = shapely.STRtree(sub.geometry.values)
            pts = points[todo]
            lines = shapely.get_type_id(pts) != 0
            if lines.any():  # line parts: use their midpoints
                pts = pts.copy()
                pts[lines] = shapely.line_interpolate_point(pts[lines], 0.5, normalized=True)
            pi, pj = tree.query(pts, predicate="within")
            found = np.full(todo.size, OUTSIDE, dtype=object)
            # first hit wins where polygons overlap
            first = np.unique(pi, return_index=True)[1]
            found[pi[first]] = sub["jur_id"].to_numpy(dtype=object)[pj[first]]
            mapped[todo] = found
        out[lv] = mapped
    return out


def _runs(keys: NDArray[Any], reach: NDArray[np.int64]) -> NDArray[np.int64]:
    """Run id of consecutive rows with equal (reach, key)."""
    if keys.size == 0:
        return np.empty(0, dtype=np.int64)
    new = np.ones(keys.size, dtype=bool)
    new[1:] = (keys[1:] != keys[:-1]) | (reach[1:] != reach[:-1])
    return np.cumsum(new) - 1


def _merge_meanders(df: pd.DataFrame, levels: list[str], tol_m: float) -> pd.DataFrame:
    """Reassign short sandwiched stretches (A, B, A and A, outside, C) to the upstream side.

    Works level by level, coarsest first, inside each reach. A reassigned stretch copies
    every ``jur_*`` column from the piece upstream of it, so the hierarchy stays consistent.
    """
    if tol_m <= 0 or df.empty:
        return df
    df = df.copy()
    jcols = [f"jur_{lv}" for lv in levels]
    reach = df["reach_pos"].to_numpy()
    for lv in levels:
        for _ in range(1000):
            if not _merge_round(df, jcols, f"jur_{lv}", reach, tol_m):
                break
    return df


def _merge_round(
    df: pd.DataFrame, jcols: list[str], col: str, reach: NDArray[np.int64], tol_m: float
) -> bool:
    """One vectorised merge round at one level; returns whether anything changed.

    In a chain of consecutive candidate runs (A, B, A, B, ... all short, e.g. a river
    wobbling along a border), only every other run is merged per round, so that each
    merged run copies a neighbour that keeps its value.
    """
    key = df[col].to_numpy(dtype=object)
    run = _runs(key, reach)
    if run.size == 0:
        return False
    nrun = int(run[-1]) + 1
    rlen = np.bincount(run, weights=df["length_km"].to_numpy() * 1000.0, minlength=nrun)
    first = np.unique(run, return_index=True)[1]
    rkey = key[first]
    rreach = reach[first]
    prev_ok = np.zeros(nrun, dtype=bool)
    prev_ok[1:] = rreach[1:] == rreach[:-1]
    next_ok = np.zeros(nrun, dtype=bool)
    next_ok[:-1] = rreach[:-1] == rreach[1:]
    pkey = np.roll(rkey, 1)
    nkey = np.roll(rkey, -1)
    sandwich = prev_ok & next_ok & (rlen < tol_m)
    meander = sandwich & (pkey == nkey) & (rkey != pkey)
    gap = sandwich & (rkey == OUTSIDE) & (pkey != OUTSIDE) & (nkey != OUTSIDE)
    cand = meander | gap
    if not cand.any():
        return False
    idx = np.arange(nrun)
    last_free = np.maximum.accumulate(np.where(cand, -1, idx))
    merge = cand & ((idx - last_free - 1) % 2 == 0)
    rows = np.flatnonzero(merge[run])
    src = first[run[rows]] - 1  # last row of the upstream run
    for c in jcols:
        vals = df[c].to_numpy(dtype=object).copy()
        vals[rows] = vals[src]
        df[c] = vals
    return True


def _dissolve(df: pd.DataFrame, levels: list[str], geoms: NDArray[Any]) -> pd.DataFrame:
    """Merge consecutive pieces of a reach that share every jurisdiction."""
    jcols = [f"jur_{lv}" for lv in levels]
    key = pd.MultiIndex.from_frame(df[jcols]).codes
    code = np.zeros(len(df), dtype=np.int64)
    for c in key:
        code = code * (int(c.max()) + 2) + (np.asarray(c) + 1)
    run = _runs(code, df["reach_pos"].to_numpy())
    if run.size and run[-1] + 1 == len(df):
        return df.assign(geometry=geoms)
    g = df.assign(_run=run)
    agg = g.groupby("_run", sort=True).agg(
        reach_pos=("reach_pos", "first"),
        fraction_start=("fraction_start", "min"),
        fraction_end=("fraction_end", "max"),
        length_km=("length_km", "sum"),
        **{c: (c, "first") for c in jcols},
    )
    multi = shapely.multilinestrings(geoms, indices=run)
    count = np.bincount(run)
    single = count == 1
    first = np.unique(run, return_index=True)[1]
    merged = np.asarray(shapely.line_merge(multi, directed=True), dtype=object)
    merged[single] = geoms[first][single]
    return agg.reset_index(drop=True).assign(geometry=merged)


def split_reaches(
    reaches: gpd.GeoDataFrame,
    jurisdictions: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    meander_tolerance_m: float = DEFAULT_MEANDER_TOLERANCE_M,
) -> gpd.GeoDataFrame:
    """Cut reaches at every jurisdiction border and assign each piece at every level.

    Reaches are cut at the borders of the finest level with an STRtree query and one
    vectorised :func:`shapely.intersection` over the (reach, polygon) pairs. Coarser
    levels follow the ``parent_id`` chain of the finest unit; where a chain does not reach
    a level (hierarchies that do not nest, or a stretch outside every finest unit), the
    level's polygon containing the piece's midpoint is used. Stretches outside every
    jurisdiction get the id :data:`OUTSIDE` (``""``); they are reported, not dropped.

    Meanders are merged: inside one reach, a stretch in jurisdiction B between two
    stretches in A that is shorter than ``meander_tolerance_m`` is given to A (checked at
    every level, coarsest first), and so is a short outside stretch between two
    jurisdictions (a sliver gap between neighbouring polygons). Meanders spanning two
    reaches are not merged.

    Parameters
    ----------
    reaches
        Reach table in a projected CRS with ``reach_id`` and (Multi)LineStrings digitised
        from upstream to downstream (the network builders' contract).
    jurisdictions
        Polygons with ``jur_id, name, level, level_name, parent_id``, in the same CRS.
    levels
        Level names to use (default: all, ordered by ``level``).
    meander_tolerance_m
        Longest sandwiched stretch that is merged; ``0`` keeps every raw piece.

    Returns
    -------
    geopandas.GeoDataFrame
        The piece table, one row per piece, ordered by reach position then piece:
        ``piece_id, reach_id, reach_pos`` (position in ``reaches``), ``piece`` (0 at the
        upstream end), ``fraction_start, fraction_end`` (along the reach, 0 upstream),
        ``length_km``, ``jur_<level_name>`` and ``name_<level_name>`` for every level,
        ``geometry``.

    Raises
    ------
    InputError
        If a layer is empty, lacks a column, has repeated ids or non-line/polygon
        geometries, or if ``levels`` names an unknown level.
    CRSError
        If a layer has no CRS, a geographic CRS, or the two CRSs differ.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> jur = gpd.GeoDataFrame(
    ...     {"jur_id": ["A", "B"], "name": ["A", "B"], "level": [0, 0],
    ...      "level_name": ["country"] * 2, "parent_id": ["", ""]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=3035)
    >>> r = gpd.GeoDataFrame({"reach_id": [7]},
    ...     geometry=[LineString([(500, 500), (1500, 500)])], crs=3035)
    >>> p = split_reaches(r, jur)
    >>> p[["reach_id", "piece", "jur_country", "length_km"]].to_records(index=False).tolist()
    [(7, 0, 'A', 0.5), (7, 1, 'B', 0.5)]
    """
    crs = _check_reaches(reaches)
    _check_jurisdictions(jurisdictions)
    _same_crs(crs, jurisdictions, "reaches", "jurisdictions")
    levels_ = _resolve_levels(jurisdictions, levels)
    if meander_tolerance_m < 0:
        msg = f"meander_tolerance_m must be >= 0, got {meander_tolerance_m}"
        raise InputError(msg)
    jur = jurisdictions.assign(
        jur_id=jurisdictions["jur_id"].astype(str),
        parent_id=jurisdictions["parent_id"].fillna("").astype(str),
    )
    jur = jur[jur["level_name"].isin(levels_)]
    finest = jur[jur["level_name"] == levels_[-1]]
    reach_geoms = reaches.geometry.to_numpy()
    poly_geoms = finest.geometry.to_numpy().copy()
    parts, part_reach, part_poly, fs, fe = _intersect_pairs(reach_geoms, poly_geoms)
    part_jur = finest["jur_id"].to_numpy(dtype=object)[part_poly]
    gparts, greach = _gap_parts(reach_geoms, parts, part_reach, poly_geoms)
    gfs, gfe = _fractions(reach_geoms[greach], gparts)
    parts = np.concatenate([parts, gparts])
    part_reach = np.concatenate([part_reach, greach])
    part_jur = np.concatenate([part_jur, np.full(gparts.size, OUTSIDE, dtype=object)])
    fs, fe = np.concatenate([fs, gfs]), np.concatenate([fe, gfe])
    order = np.lexsort((fe, fs, part_reach))
    parts, part_reach, part_jur = parts[order], part_reach[order], part_jur[order]
    fs, fe = fs[order], fe[order]
    assigned = _assign_levels(part_jur, parts, jur, levels_)
    df = pd.DataFrame(
        {
            "reach_pos": part_reach,
            "fraction_start": fs,
            "fraction_end": fe,
            "length_km": shapely.length(parts) / 1000.0,
            **{f"jur_{lv}": assigned[lv] for lv in levels_},
        }
    )
    df = _merge_meanders(df, levels_, float(meander_tolerance_m))
    df = _dissolve(df, levels_, parts)
    names = dict(zip(jur["jur_id"], jur["name"].astype(str), strict=True))
    names[OUTSIDE] = OUTSIDE
    pos = df["reach_pos"].to_numpy()
    _, first, inv = np.unique(pos, return_index=True, return_inverse=True)
    piece = np.arange(pos.size) - first[inv]
    out = pd.DataFrame(
        {
            "piece_id": np.arange(len(df), dtype=np.int64),
            "reach_id": reaches["reach_id"].to_numpy()[pos],
            "reach_pos": pos.astype(np.int64),
            "piece": np.asarray(piece, dtype=np.int64),
            "fraction_start": df["fraction_start"].to_numpy(),
            "fraction_end": df["fraction_end"].to_numpy(),
            "length_km": df["length_km"].to_numpy(),
        }
    )
    for lv in levels_:
        out[f"jur_{lv}"] = df[f"jur_{lv}"].to_numpy(dtype=object)
    for lv in levels_:
        out[f"name_{lv}"] = pd.Series(out[f"jur_{lv}"]).map(names).to_numpy(dtype=object)
    return gpd.GeoDataFrame(out, geometry=df["geometry"].to_numpy(), crs=reaches.crs)


# --------------------------------------------------------------------------------------
# network helpers
# --------------------------------------------------------------------------------------


def _pointer_sum(idx_ds: NDArray[np.int64], weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum of ``weight`` over every reach strictly downstream of each reach (pointer doubling)."""
    n = idx_ds.size
    acc = np.where(idx_ds >= 0, weight[np.maximum(idx_ds, 0)], 0.0)
    jump = idx_ds.copy()
    for _ in range(max(1, int(np.ceil(np.log2(max(n, 2)))) + 1)):
        live = jump >= 0
        if not live.any():
            break
        acc = acc + np.where(live, acc[np.maximum(jump, 0)], 0.0)
        jump = np.where(live, jump[np.maximum(jump, 0)], -1)
    return acc


def _distance_to_outlet(
    reaches: gpd.GeoDataFrame, idx_ds: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Distance (km) from each reach's downstream end to its outlet, along the flow path."""
    length = _reach_lengths(reaches)
    return _pointer_sum(np.asarray(idx_ds, dtype=np.int64), length)


def _reach_lengths(reaches: gpd.GeoDataFrame) -> NDArray[np.float64]:
    if "length_km" in reaches.columns:
        return reaches["length_km"].to_numpy(dtype=float)
    return np.asarray(shapely.length(reaches.geometry.to_numpy()) / 1000.0, dtype=float)


def main_stem(net: _NetworkLike) -> NDArray[np.int64]:
    """Positions of the main stem, from its source down to the main outlet.

    The main outlet is the outlet with the largest upstream area; walking upstream, the
    main stem follows at every confluence the upstream reach with the largest
    ``upstream_area_km2`` (ties: the longer reach, then the smaller position).

    Parameters
    ----------
    net
        A river network (``reaches`` with ``upstream_area_km2``; ``idx_ds``).

    Returns
    -------
    numpy.ndarray
        Reach positions ordered upstream to downstream.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = pd.DataFrame({"upstream_area_km2": [5.0, 9.0, 20.0], "length_km": [1.0, 1.0, 1.0]})
    >>> main_stem(SimpleNamespace(reaches=r, idx_ds=np.array([2, 2, -1]))).tolist()
    [1, 2]
    """
    reaches = net.reaches
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    area = reaches["upstream_area_km2"].to_numpy(dtype=float)
    length = _reach_lengths(reaches) if "geometry" in reaches else reaches["length_km"].to_numpy()
    n = idx_ds.size
    pos = np.arange(n)
    outlets = pos[idx_ds < 0]
    if outlets.size == 0:
        return np.empty(0, dtype=np.int64)
    cur = int(outlets[np.lexsort((outlets, -length[outlets], -area[outlets]))[0]])
    has_ds = pos[idx_ds >= 0]
    # best upstream reach of each reach
    srt = has_ds[np.lexsort((-has_ds, length[has_ds], area[has_ds], idx_ds[has_ds]))]
    best = np.full(n, -1, dtype=np.int64)
    best[idx_ds[srt]] = srt  # last write wins: largest area, then longest, then smallest pos
    stem = [cur]
    seen = {cur}
    while best[cur] >= 0 and int(best[cur]) not in seen:
        cur = int(best[cur])
        seen.add(cur)
        stem.append(cur)
    return np.asarray(stem[::-1], dtype=np.int64)


# --------------------------------------------------------------------------------------
# crossings
# --------------------------------------------------------------------------------------

_CROSSING_COLUMNS = [
    "crossing_id",
    "from_jur",
    "to_jur",
    "from_name",
    "to_name",
    "level",
    "level_name",
    "reach_id",
    "to_reach_id",
    "kind",
    "fraction",
    "lon",
    "lat",
    "upstream_area_km2",
    "discharge_m3s",
    "distance_to_outlet_km",
    "on_main_stem",
]


def crossings(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    level: str,
    level_number: int | None = None,
) -> gpd.GeoDataFrame:
    """Inventory of the points where flow passes from one jurisdiction to another.

    A crossing is found inside a reach (two consecutive pieces in different jurisdictions
    at ``level``) or at a junction (the last piece of a reach and the first piece of its
    downstream reach, including secondary branches listed in ``net.bifurcations``).
    Crossings into or out of :data:`OUTSIDE` are kept (``from_jur`` or ``to_jur`` is
    ``""``); the dependency graph ignores them.

    Upstream area at a crossing at fraction :math:`f` of reach :math:`i` is interpolated
    assuming the local area accrues uniformly along the reach:

    .. math:: A(f) = A^{up}_i - A^{loc}_i (1 - f)

    and discharge scales with it, :math:`Q(f) = Q_i A(f) / A^{up}_i`.

    Parameters
    ----------
    net
        The river network the pieces were cut from (``reaches`` and ``idx_ds``; optional
        ``bifurcations``).
    pieces
        Piece table from :func:`split_reaches` on ``net.reaches``.
    level
        Level name (a ``jur_<level>`` column of ``pieces``).
    level_number
        Number written in the ``level`` column (default: position of ``level`` among the
        piece table's levels, coarsest 0).

    Returns
    -------
    geopandas.GeoDataFrame
        ``crossing_id`` (``"<level>-<k>"``), ``from_jur, to_jur, from_name, to_name,
        level, level_name, reach_id`` (reach where the crossing lies, or the upstream
        reach of a junction), ``to_reach_id``, ``kind`` (``"within"`` or ``"junction"``),
        ``fraction`` (along ``reach_id``), ``lon, lat`` (WGS84), ``upstream_area_km2``,
        ``discharge_m3s`` (NaN without a discharge column), ``distance_to_outlet_km``
        (along the flow path), ``on_main_stem`` and Point geometry in the network CRS,
        sorted by distance to the outlet, farthest first.

    Raises
    ------
    InputError
        If ``level`` is not a level of ``pieces`` or a column is missing.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from shapely import LineString, box
    >>> jur = gpd.GeoDataFrame(
    ...     {"jur_id": ["A", "B"], "name": ["Aa", "Bb"], "level": [0, 0],
    ...      "level_name": ["country"] * 2, "parent_id": ["", ""]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=3035)
    >>> r = gpd.GeoDataFrame({"reach_id": [1, 2], "upstream_area_km2": [10.0, 30.0],
    ...     "local_area_km2": [10.0, 20.0], "discharge_m3s": [1.0, 3.0]},
    ...     geometry=[LineString([(100, 500), (800, 500)]),
    ...               LineString([(800, 500), (1800, 500)])], crs=3035)
    >>> net = SimpleNamespace(reaches=r, idx_ds=np.array([1, -1]))
    >>> c = crossings(net, split_reaches(r, jur), level="country")
    >>> c[["from_jur", "to_jur", "reach_id", "upstream_area_km2"]].to_records(
    ...     index=False).tolist()
    [('A', 'B', 2, 14.0)]
    """
    level = _check_level(pieces, level)
    levels = piece_levels(pieces)
    lvnum = levels.index(level) if level_number is None else int(level_number)
    reaches = net.reaches
    _require_columns(reaches, ["reach_id", "upstream_area_km2"], "net.reaches")
    _require_columns(
        pieces, ["reach_pos", "fraction_end", f"jur_{level}", f"name_{level}"], "pieces"
    )
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    n = len(reaches)
    p = pieces.sort_values(["reach_pos", "piece"]) if "piece" in pieces else pieces
    pos = p["reach_pos"].to_numpy(dtype=np.int64)
    jur = p[f"jur_{level}"].to_numpy(dtype=object)
    jname = p[f"name_{level}"].to_numpy(dtype=object)
    fend = p["fraction_end"].to_numpy(dtype=float)
    # (a) within a reach
    same = pos[1:] == pos[:-1]
    change = same & (jur[1:] != jur[:-1])
    w = np.flatnonzero(change)
    w_from, w_to = w, w + 1
    w_reach = pos[w]
    w_frac = fend[w]
    # (b) at junctions: last piece of r -> first piece of its downstream reach(es)
    firsts = np.unique(pos, return_index=True)
    first_of = np.full(n, -1, dtype=np.int64)
    first_of[firsts[0]] = firsts[1]
    last_of = np.full(n, -1, dtype=np.int64)
    lasts = np.unique(pos[::-1], return_index=True)
    last_of[lasts[0]] = pos.size - 1 - lasts[1]
    up = np.flatnonzero(idx_ds >= 0)
    dn = idx_ds[up]
    bif = getattr(net, "bifurcations", None)
    if bif is not None and len(bif):
        rid_pos = pd.Series(np.arange(n), index=reaches["reach_id"].to_numpy())
        bu = rid_pos.reindex(bif["reach_id"].to_numpy()).to_numpy()
        bd = rid_pos.reindex(bif["downstream_id"].to_numpy()).to_numpy()
        ok = ~(np.isnan(bu) | np.isnan(bd))
        pairs = np.unique(
            np.concatenate(
                [np.column_stack([up, dn]), np.column_stack([bu[ok], bd[ok]]).astype(np.int64)]
            ),
            axis=0,
        )
        up, dn = pairs[:, 0], pairs[:, 1]
    j_from, j_to = last_of[up], first_of[dn]
    ok = (j_from >= 0) & (j_to >= 0)
    j_from, j_to, up, dn = j_from[ok], j_to[ok], up[ok], dn[ok]
    jc = jur[j_from] != jur[j_to]
    j_from, j_to, up, dn = j_from[jc], j_to[jc], up[jc], dn[jc]
    src = np.concatenate([w_from, j_from])
    dst = np.concatenate([w_to, j_to])
    rpos = np.concatenate([w_reach, up]).astype(np.int64)
    to_rpos = np.concatenate([w_reach, dn]).astype(np.int64)
    frac = np.concatenate([w_frac, np.ones(up.size)])
    kind = np.array(["within"] * w.size + ["junction"] * up.size, dtype=object)
    geoms = reaches.geometry.to_numpy()
    pts = shapely.line_interpolate_point(geoms[rpos], frac, normalized=True)
    area = reaches["upstream_area_km2"].to_numpy(dtype=float)
    local = (
        reaches["local_area_km2"].to_numpy(dtype=float)
        if "local_area_km2" in reaches
        else np.zeros(n)
    )
    a = area[rpos] - local[rpos] * (1.0 - frac)
    if "discharge_m3s" in reaches:
        q_r = reaches["discharge_m3s"].to_numpy(dtype=float)[rpos]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(area[rpos] > 0, q_r * a / area[rpos], q_r)
    else:
        q = np.full(rpos.size, np.nan)
    d_end = _distance_to_outlet(reaches, idx_ds)
    dist = d_end[rpos] + _reach_lengths(reaches)[rpos] * (1.0 - frac)
    stem = np.zeros(n, dtype=bool)
    stem[main_stem(net)] = True
    on_stem = stem[rpos] & (stem[to_rpos])
    reach_ids = reaches["reach_id"].to_numpy()
    gs = gpd.GeoSeries(pts, crs=reaches.crs)
    ll = gs.to_crs("EPSG:4326") if len(gs) else gs
    out = gpd.GeoDataFrame(
        {
            "from_jur": jur[src],
            "to_jur": jur[dst],
            "from_name": jname[src],
            "to_name": jname[dst],
            "level": np.full(src.size, lvnum, dtype=np.int64),
            "level_name": np.full(src.size, level, dtype=object),
            "reach_id": reach_ids[rpos],
            "to_reach_id": reach_ids[to_rpos],
            "kind": kind,
            "fraction": frac,
            "lon": shapely.get_x(ll.to_numpy()) if len(gs) else np.empty(0),
            "lat": shapely.get_y(ll.to_numpy()) if len(gs) else np.empty(0),
            "upstream_area_km2": a,
            "discharge_m3s": q,
            "distance_to_outlet_km": dist,
            "on_main_stem": on_stem,
        },
        geometry=pts,
        crs=reaches.crs,
    )
    out = out.sort_values(
        ["distance_to_outlet_km", "reach_id", "fraction"], ascending=[False, True, True]
    ).reset_index(drop=True)
    out.insert(0, "crossing_id", [f"{level}-{k}" for k in range(len(out))])
    return out[[*_CROSSING_COLUMNS, "geometry"]]


# --------------------------------------------------------------------------------------
# boundary reaches
# --------------------------------------------------------------------------------------


def boundary_reaches(
    reaches: gpd.GeoDataFrame,
    jurisdictions: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    border_tolerance_m: float = DEFAULT_BORDER_TOLERANCE_M,
    sample_spacing_m: float = DEFAULT_SAMPLE_SPACING_M,
    min_share: float = 0.5,
) -> gpd.GeoDataFrame:
    """Reaches that form a border, with the jurisdiction on each bank.

    Each reach is sampled every ``sample_spacing_m`` (at least 3 points, at the middles
    of equal stretches). At every sample the points ``border_tolerance_m`` to the left and
    to the right of the flow direction are located in the finest level's polygons (coarser
    levels by ``parent_id`` as in :func:`split_reaches`). A sample lies *on the border*
    when its two banks fall in different jurisdictions, neither of them outside. A reach
    is a boundary reach at a level when at least ``min_share`` of its samples lie on the
    border; its banks are the most frequent (left, right) pair.

    Parameters
    ----------
    reaches
        Reach table in a projected CRS (``reach_id``; lines digitised downstream).
    jurisdictions
        Jurisdiction polygons in the same CRS.
    levels
        Level names to use (default: all).
    border_tolerance_m
        Offset of the bank points; a border farther than this from the river is missed.
    sample_spacing_m
        Distance between samples along a reach.
    min_share
        Share of samples that must lie on the border, in ``(0, 1]``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``reach_id, level, level_name, left_jur, right_jur, left_name, right_name,
        share`` (of the reach's samples on that border), ``length_km`` (reach length times
        share) and the reach geometry.

    Raises
    ------
    InputError
        On empty layers, missing columns, unknown levels or out-of-range options.
    CRSError
        If a layer has no CRS, a geographic CRS, or the two CRSs differ.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> jur = gpd.GeoDataFrame(
    ...     {"jur_id": ["W", "E"], "name": ["West", "East"], "level": [0, 0],
    ...      "level_name": ["state"] * 2, "parent_id": ["", ""]},
    ...     geometry=[box(0, 0, 1000, 5000), box(1000, 0, 2000, 5000)], crs=3035)
    >>> r = gpd.GeoDataFrame({"reach_id": [1]},
    ...     geometry=[LineString([(1000, 4000), (1000, 1000)])], crs=3035)
    >>> b = boundary_reaches(r, jur, border_tolerance_m=100)
    >>> b[["reach_id", "left_jur", "right_jur"]].to_records(index=False).tolist()
    [(1, 'E', 'W')]
    """
    crs = _check_reaches(reaches)
    _check_jurisdictions(jurisdictions)
    _same_crs(crs, jurisdictions, "reaches", "jurisdictions")
    levels_ = _resolve_levels(jurisdictions, levels)
    for name, val in (
        ("border_tolerance_m", border_tolerance_m),
        ("sample_spacing_m", sample_spacing_m),
    ):
        if not val > 0:
            msg = f"{name} must be > 0, got {val}"
            raise InputError(msg)
    if not 0 < min_share <= 1:
        msg = f"min_share must be in (0, 1], got {min_share}"
        raise InputError(msg)
    jur = jurisdictions.assign(
        jur_id=jurisdictions["jur_id"].astype(str),
        parent_id=jurisdictions["parent_id"].fillna("").astype(str),
    )
    jur = jur[jur["level_name"].isin(levels_)]
    finest = jur[jur["level_name"] == levels_[-1]]
    geoms = reaches.geometry.to_numpy()
    length = shapely.length(geoms)
    nsamp = np.maximum(3, np.ceil(length / sample_spacing_m)).astype(np.int64)
    owner = np.repeat(np.arange(len(geoms)), nsamp)
    k = np.arange(owner.size) - np.repeat(np.cumsum(nsamp) - nsamp, nsamp)
    f = (k + 0.5) / nsamp[owner]
    eps = np.minimum(0.25 / nsamp[owner], 1.0 / np.maximum(length[owner], 1.0))
    g = geoms[owner]
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(g, f - eps, normalized=True))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(g, f + eps, normalized=True))
    pc = shapely.get_coordinates(shapely.line_interpolate_point(g, f, normalized=True))
    d = p1 - p0
    norm = np.hypot(d[:, 0], d[:, 1])
    norm[norm == 0] = 1.0
    left_vec = np.column_stack([-d[:, 1], d[:, 0]]) / norm[:, None] * border_tolerance_m
    left_pts: NDArray[Any] = np.asarray(shapely.points(pc + left_vec))
    right_pts: NDArray[Any] = np.asarray(shapely.points(pc - left_vec))
    tree = shapely.STRtree(finest.geometry.to_numpy())
    ids = finest["jur_id"].to_numpy(dtype=object)

    def locate(pts: NDArray[Any]) -> NDArray[Any]:
        pi, pj = tree.query(pts, predicate="within")
        out = np.full(pts.size, OUTSIDE, dtype=object)
        first = np.unique(pi, return_index=True)[1]
        out[pi[first]] = ids[pj[first]]
        return out

    left_f, right_f = locate(left_pts), locate(right_pts)
    left = _assign_levels(left_f, left_pts, jur, levels_)
    right = _assign_levels(right_f, right_pts, jur, levels_)
    names = dict(zip(jur["jur_id"], jur["name"].astype(str), strict=True))
    rows = []
    numbers = _level_numbers(jur)
    for lv in levels_:
        lvnum = numbers[lv]
        lj, rj = left[lv], right[lv]
        on = (lj != rj) & (lj != OUTSIDE) & (rj != OUTSIDE)
        df = pd.DataFrame({"pos": owner[on], "left_jur": lj[on], "right_jur": rj[on]})
        if df.empty:
            continue
        cnt = (
            df.groupby(["pos", "left_jur", "right_jur"], sort=True)
            .size()
            .rename("n")
            .reset_index()
            .sort_values(["pos", "n"], ascending=[True, False])
        )
        best = cnt.drop_duplicates("pos")
        share = best["n"].to_numpy() / nsamp[best["pos"].to_numpy()]
        keep = share >= min_share
        best = best[keep]
        pos = best["pos"].to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "pos": pos,
                    "reach_id": reaches["reach_id"].to_numpy()[pos],
                    "level": lvnum,
                    "level_name": lv,
                    "left_jur": best["left_jur"].to_numpy(),
                    "right_jur": best["right_jur"].to_numpy(),
                    "share": share[keep],
                    "length_km": length[pos] / 1000.0 * share[keep],
                }
            )
        )
    cols = [
        "reach_id",
        "level",
        "level_name",
        "left_jur",
        "right_jur",
        "left_name",
        "right_name",
        "share",
        "length_km",
    ]
    if not rows:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=reaches.crs))
    res = pd.concat(rows, ignore_index=True)
    res["left_name"] = res["left_jur"].map(names)
    res["right_name"] = res["right_jur"].map(names)
    res = res.sort_values(["level", "pos"]).reset_index(drop=True)
    return gpd.GeoDataFrame(res[cols], geometry=geoms[res["pos"].to_numpy()], crs=reaches.crs)


# --------------------------------------------------------------------------------------
# unit shares and lookups
# --------------------------------------------------------------------------------------


def unit_shares(
    jurisdictions: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    pieces: pd.DataFrame | None = None,
    *,
    levels: Sequence[str] | None = None,
) -> pd.DataFrame:
    r"""Area and river length of each jurisdiction inside the basin, at every level.

    This generalises the TFDD basin-country unit to any level. The part of the basin
    outside every jurisdiction of a level is reported as a row with ``jur_id == ""``,
    so shares sum to 1 per level unless jurisdictions of one level overlap.

    .. math:: s_j = \frac{|P_j \cap B|}{|B|}, \qquad
              s_{\varnothing} = \frac{|B \setminus \bigcup_j P_j|}{|B|}

    Parameters
    ----------
    jurisdictions
        Jurisdiction polygons (projected CRS).
    basin
        The basin polygon(s), same CRS; several rows are unioned.
    pieces
        Piece table from :func:`split_reaches` for river lengths (optional).
    levels
        Level names (default: all).

    Returns
    -------
    pandas.DataFrame
        ``jur_id, name, level, level_name, area_km2, share, river_length_km,
        river_length_share`` (NaN without ``pieces``); jurisdictions with no area in the
        basin are left out; ordered by level then decreasing share.

    Raises
    ------
    InputError
        On empty layers, missing columns or unknown levels.
    CRSError
        If a layer has no CRS, a geographic CRS, or the CRSs differ.

    Examples
    --------
    >>> from shapely import box
    >>> jur = gpd.GeoDataFrame(
    ...     {"jur_id": ["A", "B"], "name": ["A", "B"], "level": [0, 0],
    ...      "level_name": ["country"] * 2, "parent_id": ["", ""]},
    ...     geometry=[box(0, 0, 3000, 1000), box(3000, 0, 4000, 1000)], crs=3035)
    >>> basin = gpd.GeoDataFrame(geometry=[box(0, 0, 5000, 1000)], crs=3035)
    >>> unit_shares(jur, basin)[["jur_id", "share"]].to_records(index=False).tolist()
    [('A', 0.6), ('B', 0.2), ('', 0.2)]
    """
    crs = _check_jurisdictions(jurisdictions)
    bcrs = _require_projected(basin, "basin")
    _same_crs(crs, basin, "jurisdictions", "basin")
    del bcrs
    levels_ = _resolve_levels(jurisdictions, levels)
    bgeom = shapely.union_all(basin.geometry.to_numpy())
    barea = shapely.area(bgeom) / 1e6
    if not barea > 0:
        msg = "basin has zero area; pass the basin polygon, not its outline"
        raise InputError(msg)
    shapely.prepare(bgeom)
    out = []
    numbers = _level_numbers(jurisdictions)
    for lv in levels_:
        lvnum = numbers[lv]
        sub = jurisdictions[jurisdictions["level_name"] == lv]
        g = sub.geometry.to_numpy()
        inside = shapely.contains_properly(bgeom, g)
        inter = g.copy()
        inter[~inside] = shapely.intersection(g[~inside], bgeom)
        area = shapely.area(inter) / 1e6
        outside_area = max(0.0, barea - shapely.area(shapely.union_all(inter)) / 1e6)
        df = pd.DataFrame(
            {
                "jur_id": sub["jur_id"].astype(str).to_numpy(),
                "name": sub["name"].astype(str).to_numpy(),
                "level": lvnum,
                "level_name": lv,
                "area_km2": area,
            }
        )
        df = df[df["area_km2"] > 0]
        df = pd.concat(
            [
                df,
                pd.DataFrame(
                    {
                        "jur_id": [OUTSIDE],
                        "name": [OUTSIDE],
                        "level": [lvnum],
                        "level_name": [lv],
                        "area_km2": [outside_area],
                    }
                ),
            ],
            ignore_index=True,
        )
        df["share"] = df["area_km2"] / barea
        if pieces is not None and f"jur_{lv}" in pieces:
            rl = pieces.groupby(f"jur_{lv}")["length_km"].sum()
            df["river_length_km"] = df["jur_id"].map(rl).fillna(0.0)
            total = float(pieces["length_km"].sum())
            df["river_length_share"] = df["river_length_km"] / total if total > 0 else np.nan
        else:
            df["river_length_km"] = np.nan
            df["river_length_share"] = np.nan
        is_out = df["jur_id"] == OUTSIDE
        df = pd.concat(
            [df[~is_out].sort_values("share", ascending=False), df[is_out]], ignore_index=True
        )
        out.append(df)
    return pd.concat(out, ignore_index=True)


def reach_jurisdictions(
    pieces: pd.DataFrame,
    reaches: Iterable[int] | NDArray[np.int64],
    *,
    by: Literal["reach_id", "position"] = "reach_id",
    level: str | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Jurisdictions crossed by a set of reaches, per level, in order of first appearance.

    Parameters
    ----------
    pieces
        Piece table from :func:`split_reaches`.
    reaches
        Reach ids (``by="reach_id"``) or reach-table positions (``by="position"``), in
        the order to report (e.g. upstream to downstream from a navigation query).
    by
        How ``reaches`` identifies reaches: ``"reach_id"`` or ``"position"``.
    level
        One level name, or ``None`` for every level.

    Returns
    -------
    dict
        ``{level_name: [{"jur_id": ..., "name": ...}, ...]}``, without :data:`OUTSIDE`.

    Raises
    ------
    InputError
        If ``by`` or ``level`` is not allowed.

    Examples
    --------
    >>> p = pd.DataFrame({"reach_id": [1, 1, 2], "reach_pos": [0, 0, 1], "piece": [0, 1, 0],
    ...     "jur_country": ["A", "B", "B"], "name_country": ["Aa", "Bb", "Bb"]})
    >>> reach_jurisdictions(p, [2, 1])
    {'country': [{'jur_id': 'B', 'name': 'Bb'}, {'jur_id': 'A', 'name': 'Aa'}]}
    """
    allowed_by = ("reach_id", "position")
    if by not in allowed_by:
        msg = f"by must be one of {list(allowed_by)}, got {by!r}"
        raise InputError(msg)
    levels = [_check_level(pieces, level)] if level is not None else piece_levels(pieces)
    col = "reach_id" if by == "reach_id" else "reach_pos"
    keys = pd.Index(np.asarray(list(reaches)).ravel())
    rank = pd.Series(np.arange(len(keys)), index=keys)
    rank = rank[~rank.index.duplicated()]
    sel = pieces[pieces[col].isin(rank.index)]
    sel = sel.assign(_rank=sel[col].map(rank).to_numpy())
    sel = sel.sort_values(["_rank", "piece"] if "piece" in sel else ["_rank"], kind="stable")
    result: dict[str, list[dict[str, str]]] = {}
    for lv in levels:
        pairs = sel[[f"jur_{lv}", f"name_{lv}"]].drop_duplicates(f"jur_{lv}")
        pairs = pairs[pairs[f"jur_{lv}"] != OUTSIDE]
        result[lv] = [
            {"jur_id": str(j), "name": str(nm)}
            for j, nm in zip(pairs[f"jur_{lv}"], pairs[f"name_{lv}"], strict=True)
        ]
    return result


# --------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OverlayResult:
    """Everything the overlay stage produces for one basin.

    Attributes
    ----------
    levels
        Level names, coarsest first.
    pieces
        Piece table (:func:`split_reaches`).
    crossings
        Crossing sections of every level (:func:`crossings`), concatenated.
    boundary_reaches
        Boundary reaches of every level (:func:`boundary_reaches`).
    unit_shares
        Area and river-length shares (:func:`unit_shares`).
    graphs
        Jurisdiction DiGraph per level (:func:`basingov.dependency.jurisdiction_graph`).
    dependency
        Indicator table (:func:`basingov.dependency.dependency_table`), all levels.
    dependency_edges
        Edges of every level's graph as lines between jurisdictions
        (:func:`basingov.dependency.dependency_edges`).
    """

    levels: tuple[str, ...]
    pieces: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    boundary_reaches: gpd.GeoDataFrame
    unit_shares: pd.DataFrame
    graphs: Mapping[str, nx.DiGraph] = field(default_factory=dict)
    dependency: pd.DataFrame = field(default_factory=pd.DataFrame)
    dependency_edges: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)

    def crossings_at(self, level: str) -> gpd.GeoDataFrame:
        """Crossings of one level.

        Raises
        ------
        InputError
            If ``level`` is not one of :attr:`levels`.
        """
        if level not in self.levels:
            msg = f"level {level!r} is not an overlay level; allowed levels are {list(self.levels)}"
            raise InputError(msg)
        return self.crossings[self.crossings["level_name"] == level].reset_index(drop=True)


def overlay_network(
    net: _NetworkLike,
    jurisdictions: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    meander_tolerance_m: float = DEFAULT_MEANDER_TOLERANCE_M,
    border_tolerance_m: float = DEFAULT_BORDER_TOLERANCE_M,
    on_empty: OnEmpty = "warn",
) -> OverlayResult:
    """Run the whole overlay and dependency stage on one basin.

    Parameters
    ----------
    net
        The river network (:class:`basingov.network.RiverNetwork`).
    jurisdictions
        Jurisdiction polygons of every level, in the network's CRS.
    basin
        The basin polygon, in the network's CRS.
    levels
        Level names to use, coarsest first (default: all levels of ``jurisdictions``).
    meander_tolerance_m
        See :func:`split_reaches`.
    border_tolerance_m
        See :func:`boundary_reaches`.
    on_empty
        What to do when no reach lies in any jurisdiction: ``"raise"`` an
        :class:`~basingov.errors.EmptyResultError`, ``"warn"`` or ``"ignore"``.

    Returns
    -------
    OverlayResult

    Raises
    ------
    InputError, CRSError
        As :func:`split_reaches`; also if ``on_empty`` is not an allowed value.
    EmptyResultError
        If ``on_empty="raise"`` and no reach lies in any jurisdiction.

    See Also
    --------
    split_reaches, crossings, boundary_reaches, unit_shares,
    basingov.dependency.dependency_table

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from shapely import LineString, box
    >>> jur = gpd.GeoDataFrame(
    ...     {"jur_id": ["A", "B"], "name": ["A", "B"], "level": [0, 0],
    ...      "level_name": ["country"] * 2, "parent_id": ["", ""]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=3035)
    >>> r = gpd.GeoDataFrame({"reach_id": [1], "upstream_area_km2": [2.0],
    ...     "local_area_km2": [2.0]},
    ...     geometry=[LineString([(100, 500), (1900, 500)])], crs=3035)
    >>> basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 1000)], crs=3035)
    >>> res = overlay_network(SimpleNamespace(reaches=r, idx_ds=np.array([-1])), jur, basin)
    >>> list(res.graphs["country"].edges)
    [('A', 'B')]
    """
    from basingov import dependency as dep
    from basingov.errors import EmptyResultError

    if on_empty not in _ON_EMPTY:
        msg = f"on_empty must be one of {list(_ON_EMPTY)}, got {on_empty!r}"
        raise InputError(msg)
    reaches = net.reaches
    levels_ = _resolve_levels(jurisdictions, levels)
    pieces = split_reaches(
        reaches, jurisdictions, levels=levels_, meander_tolerance_m=meander_tolerance_m
    )
    if (pieces[f"jur_{levels_[-1]}"] == OUTSIDE).all():
        msg = (
            f"no reach lies in any jurisdiction (levels {levels_}); check that reaches and "
            "jurisdictions cover the same area in the same CRS"
        )
        if on_empty == "raise":
            raise EmptyResultError(msg)
        if on_empty == "warn":
            warnings.warn(msg, BasingovWarning, stacklevel=2)
    cross = [
        crossings(net, pieces, level=lv, level_number=_level_numbers(jurisdictions)[lv])
        for lv in levels_
    ]
    all_cross = gpd.GeoDataFrame(pd.concat(cross, ignore_index=True), crs=reaches.crs)
    bnd = boundary_reaches(
        reaches, jurisdictions, levels=levels_, border_tolerance_m=border_tolerance_m
    )
    shares = unit_shares(jurisdictions, basin, pieces, levels=levels_)
    graphs = {
        lv: dep.jurisdiction_graph(c, jurisdictions, level=lv, unit_shares=shares)
        for lv, c in zip(levels_, cross, strict=True)
    }
    table = dep.dependency_table(graphs)
    edges = dep.dependency_edges(graphs, jurisdictions)
    logger.info(
        "overlay: %d pieces, %d crossings, %d boundary reaches over levels %s",
        len(pieces),
        len(all_cross),
        len(bnd),
        levels_,
    )
    return OverlayResult(
        levels=tuple(levels_),
        pieces=pieces,
        crossings=all_cross,
        boundary_reaches=bnd,
        unit_shares=shares,
        graphs=graphs,
        dependency=table,
        dependency_edges=edges,
    )
