"""Cut reaches at jurisdiction borders, assign every level, merge meanders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._arrays import concat_ranges
from basingov.errors import InputError
from basingov.overlay._common import (
    _CLIP_MIN_VERTICES,
    _MIN_GAP_M,
    _SHARED_NAME_PREFIX,
    BORDER_SEP,
    DEFAULT_MEANDER_TOLERANCE_M,
    OUTSIDE,
    SHARED_PREFIX,
    _assign_levels,
    _check_jurisdictions,
    _check_reaches,
    _fractions,
    _levels_and_finest,
    _naming_invalid_polygons,
    _resolve_levels,
    _same_crs,
    _shared_names,
)
from basingov.overlay.cutter import _MIN_CUT_M, cut_at_borders

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["split_reaches"]

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


def _segments_and_owners(poly_geoms: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """Every polygon boundary as two-point segments, with the position of their polygon.

    Small boxes make a selective STRtree.
    """
    rings, ring_poly = shapely.get_parts(shapely.boundary(poly_geoms), return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    segs = np.asarray(shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1)))
    return segs, np.asarray(ring_poly[ring[:-1][same]], dtype=np.int64)


def _boundary_segments(poly_geoms: NDArray[Any]) -> NDArray[Any]:
    """Every polygon boundary as two-point segments."""
    return _segments_and_owners(poly_geoms)[0]


def _overlay_pairs(
    lines: NDArray[Any], polys: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Intersect ``lines[i]`` with ``polys[i]`` (vectorised GEOS overlay).

    Large polygons are clipped to the line's bounding box first; this gives the same
    lines as the full polygon at a fraction of the cost (the full polygon is used where
    the clipped one is not valid). Returns LineString parts with their pair position and
    their fractions along the line.
    """
    bounds = shapely.bounds(lines)
    pad = 1.0 + 1e-3 * np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    boxes = shapely.box(
        bounds[:, 0] - pad, bounds[:, 1] - pad, bounds[:, 2] + pad, bounds[:, 3] + pad
    )
    clipped = polys.copy()
    big = shapely.get_num_coordinates(polys) > _CLIP_MIN_VERTICES
    clipped[big] = shapely.intersection(polys[big], boxes[big])
    bad = np.flatnonzero(big)[~shapely.is_valid(clipped[big])]
    clipped[bad] = polys[bad]
    parts, idx = _line_parts(shapely.intersection(lines, clipped))
    fs, fe = _fractions(lines[idx], parts)
    return parts, idx, fs, fe


def _split_parts(
    reach_geoms: NDArray[Any], poly_geoms: NDArray[Any], poly_rank: NDArray[np.int64]
) -> tuple[
    NDArray[Any],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.int64],
]:
    """Pieces of every reach in every polygon, and outside every polygon (polygon ``-1``).

    The numpy cutter (:func:`basingov.overlay.cutter.cut_at_borders`) resolves almost every
    reach; the few with an unsure contact with a border (a vertex on it, a stretch along
    it) are intersected with their candidate polygons by GEOS, and their stretches
    outside every polygon come from :func:`_gap_parts`. A stretch lying on the border of
    two polygons is in both intersections; it is kept once, in the polygon of lowest
    ``poly_rank`` (:func:`_drop_shared`). Returns LineString pieces with their reach and
    polygon positions, their fractions along the reach, and the (piece, polygon) pairs of
    the pieces whose stretch the polygon also held (an ``(n, 2)`` array).
    """
    cut = cut_at_borders(reach_geoms, poly_geoms)
    fb = cut.fallback
    if fb.size == 0:
        shared = np.empty((0, 2), dtype=np.int64)
        return cut.parts, cut.part_reach, cut.part_poly, cut.fs, cut.fe, shared
    fb_geoms = reach_geoms[fb]
    local = np.searchsorted(fb, cut.fb_reach)
    parts, idx, fs, fe = _overlay_pairs(fb_geoms[local], poly_geoms[cut.fb_poly])
    reach_m = shapely.length(fb_geoms)[local[idx]]
    frac = np.column_stack([fs, fe])
    drop, cover = _drop_shared(local[idx], poly_rank[cut.fb_poly[idx]], frac, reach_m)
    kept_at = cut.parts.size + np.cumsum(~drop) - 1  # position among the returned pieces
    shared = np.column_stack([kept_at[cover[:, 0]], cut.fb_poly[idx[cover[:, 1]]]])
    keep = ~drop
    parts, idx, fs, fe = parts[keep], idx[keep], fs[keep], fe[keep]
    preach = local[idx].astype(np.int64)
    gparts, greach = _gap_parts(fb_geoms, parts, preach, poly_geoms)
    gfs, gfe = _fractions(fb_geoms[greach], gparts)
    return (
        np.concatenate([cut.parts, parts, gparts]),
        np.concatenate([cut.part_reach, fb[preach], fb[greach]]).astype(np.int64),
        np.concatenate(
            [cut.part_poly, cut.fb_poly[idx], np.full(gparts.size, -1, dtype=np.int64)]
        ).astype(np.int64),
        np.concatenate([cut.fs, fs, gfs]),
        np.concatenate([cut.fe, fe, gfe]),
        shared.astype(np.int64),
    )


def _drop_shared(
    reach: NDArray[np.int64],
    rank: NDArray[np.int64],
    frac: NDArray[np.float64],
    reach_m: NDArray[np.float64],
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Parts that repeat a stretch of their reach held by a polygon of lower ``rank``.

    ``frac`` holds each part's fractions along its reach (start, end), ``reach_m`` the
    reach's length.

    A stretch of a reach lying on the border of two polygons is in the intersection of
    the reach with each of them (a polygon holds its boundary). GEOS cuts the lines it
    returns where they reach or leave a polygon's boundary, so such a stretch is a part
    of its own in both. A part is dropped when parts of polygons of lower rank, on the
    same reach, overlap it and cover all of it (along the reach, to :data:`_MIN_CUT_M`):
    each stretch is then held once. Only overlapping pairs are compared (the parts sorted
    along each reach).

    Returns whether each part is dropped, and the (kept part, dropped part) pairs of the
    kept parts that overlap a dropped one (an ``(n, 2)`` array): the stretch they hold is
    also in the dropped part's polygon.
    """
    order = np.lexsort((frac[:, 1], frac[:, 0], reach))
    r, k, m = reach[order], rank[order], reach_m[order]
    a, b = frac[order, 0], frac[order, 1]
    # overlapping pairs: part j after part i (by start) on i's reach, starting before i ends
    key = r * 2.0 + a  # fractions lie in [0, 1]: reach by reach, then by start
    count = np.searchsorted(key, r * 2.0 + b, side="left") - np.arange(r.size) - 1
    count = np.maximum(count, 0)
    i = np.repeat(np.arange(r.size), count)
    j = i + 1 + concat_ranges(0, count)
    over = (np.minimum(b[i], b[j]) - np.maximum(a[i], a[j])) * m[i]
    hit = (over > 0) & (k[i] != k[j])
    loser = np.where(k[i] > k[j], i, j)[hit]
    winner = np.where(k[i] > k[j], j, i)[hit]
    covered = np.bincount(loser, weights=over[hit], minlength=r.size)
    dropped = (covered > 0) & (covered >= (b - a) * m - _MIN_CUT_M)
    drop = np.empty(r.size, dtype=bool)
    drop[order] = dropped
    by = dropped[loser] & ~dropped[winner]
    return drop, np.column_stack([order[winner[by]], order[loser[by]]]).astype(np.int64)


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


def _runs(keys: Sequence[NDArray[Any]], reach: NDArray[np.int64]) -> NDArray[np.int64]:
    """Run id of consecutive rows with equal reach and equal values in every ``keys`` array."""
    new = np.ones(reach.size, dtype=bool)
    new[1:] = reach[1:] != reach[:-1]
    for key in keys:
        new[1:] |= key[1:] != key[:-1]
    return np.cumsum(new) - 1


def _label_columns(df: pd.DataFrame, levels: list[str]) -> list[str]:
    """Return the columns that assign a piece: ``jur_<level>``, then ``shared_<level>``.

    A ``shared_<level>`` column is in ``df`` only where a piece has a value in it.
    """
    shared = [f"{SHARED_PREFIX}{lv}" for lv in levels]
    return [f"jur_{lv}" for lv in levels] + [c for c in shared if c in df]


def _merge_meanders(df: pd.DataFrame, levels: list[str], tol_m: float) -> pd.DataFrame:
    """Reassign short sandwiched stretches (A, B, A and A, outside, C) to the upstream side.

    Works level by level, coarsest first, inside each reach. A reassigned stretch copies
    every ``jur_*`` and ``shared_*`` column from the piece upstream of it, so the hierarchy
    stays consistent.
    """
    if tol_m <= 0 or df.empty:
        return df
    df = df.copy()
    jcols = _label_columns(df, levels)
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
    run = _runs([key], reach)
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
    """Merge consecutive pieces of a reach that share every jurisdiction.

    A piece on a shared border stays apart from the rest of its unit's river (its
    ``shared_<level>`` differ).
    """
    jcols = _label_columns(df, levels)
    codes = pd.MultiIndex.from_frame(df[jcols]).codes
    run = _runs([np.asarray(c) for c in codes], df["reach_pos"].to_numpy())
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

    Reaches are cut at the borders of the finest level: an STRtree query pairs them with
    the boundary segments near them, crossings are found by vectorised segment
    intersection and the vertex arrays are sliced there (the pieces are those of
    :func:`shapely.intersection` with each polygon); reaches touching a border without
    crossing it, or running along it, are intersected by GEOS instead. Coarser
    levels follow the ``parent_id`` chain of the finest unit; where a chain does not reach
    a level (hierarchies that do not nest, or a stretch outside every finest unit), the
    level's polygon containing the piece's midpoint is used. Stretches outside every
    jurisdiction get the id :data:`OUTSIDE` (``""``); they are reported, not dropped.

    A stretch lying exactly on the border of two finest units (a river both layers were
    digitised from) is held once, by the unit whose ``jur_id`` sorts first, so the pieces
    of a reach still add up to its length. Its pieces name the other unit in
    ``shared_<level>`` at every level where the two differ (B at the finest level, and
    B's country where A and B lie in two countries) and stay apart from the rest of the
    reach (they are not dissolved into it). Such a river is a boundary reach
    (:func:`boundary_reaches`, both banks), its pieces are marked along the border
    (:func:`mark_boundary_pieces`), and the boundary-stretch rule counts them on both
    sides: it is a boundary stretch of A and B, held once (:func:`boundary_stretches`),
    as a river swinging across the border is.

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
        ``shared_<level_name>`` for every level (the other unit(s) of the level whose
        polygon also holds the piece, which lies exactly on their common border: ``"B"``,
        ``"B|C"``; ``""`` for none; not written to the run's GeoPackage),
        ``shared_name_<level_name>`` for every level (their names, as a JSON object
        ``{"B": "Bb"}``, ``""`` for none; B may hold no piece, and the boundary stretches
        and crossings name it from here; not written either), ``geometry``.

    Raises
    ------
    InputError
        If a layer is empty, lacks a column, has repeated ids or non-line/polygon
        geometries, or if ``levels`` names an unknown level.
    CRSError
        If a layer has no CRS, a geographic CRS, or the two CRSs differ.

    Examples
    --------
    A 1 km reach from the middle of A (west) to the middle of B (east):

    >>> from basingov.examples import example_jurisdictions, example_reaches
    >>> jur = example_jurisdictions(["A", "B"])
    >>> r = example_reaches([-1], reach_id=[7], origin=(500, 500))
    >>> p = split_reaches(r, jur)
    >>> p[["reach_id", "piece", "jur_country", "length_km"]].to_records(index=False).tolist()
    [(7, 0, 'A', 0.5), (7, 1, 'B', 0.5)]
    """
    crs = _check_reaches(reaches)
    _check_jurisdictions(jurisdictions)
    _same_crs(crs, jurisdictions, "reaches", "jurisdictions")
    levels_ = _resolve_levels(jurisdictions, levels)
    if not meander_tolerance_m >= 0:  # NaN too: it merged nothing, silently
        msg = f"meander_tolerance_m must be >= 0, got {meander_tolerance_m}"
        raise InputError(msg)
    jur, finest = _levels_and_finest(jurisdictions, levels_)
    reach_geoms = reaches.geometry.to_numpy()
    poly_geoms = finest.geometry.to_numpy().copy()
    # a stretch on the border of two units goes to the one whose jur_id sorts first
    rank = np.argsort(np.argsort(finest["jur_id"].to_numpy(dtype=str), kind="stable"))
    with _naming_invalid_polygons(finest["jur_id"], poly_geoms, "jurisdictions"):
        parts, part_reach, part_poly, fs, fe, shared = _split_parts(reach_geoms, poly_geoms, rank)
    finest_ids = finest["jur_id"].to_numpy(dtype=object)
    part_jur = np.where(part_poly >= 0, finest_ids[np.maximum(part_poly, 0)], OUTSIDE)
    part_jur = part_jur.astype(object)
    order = np.lexsort((fe, fs, part_reach))
    parts, part_reach, part_jur = parts[order], part_reach[order], part_jur[order]
    fs, fe = fs[order], fe[order]
    assigned = _assign_levels(part_jur, parts, jur, levels_)
    moved = np.empty_like(order)
    moved[order] = np.arange(order.size)
    also = _shared_units(moved[shared[:, 0]], finest_ids[shared[:, 1]], parts, jur, assigned)
    df = pd.DataFrame(
        {
            "reach_pos": part_reach,
            "fraction_start": fs,
            "fraction_end": fe,
            "length_km": shapely.length(parts) / 1000.0,
            **{f"jur_{lv}": assigned[lv] for lv in levels_},
            **also,
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
    for c in (f"{SHARED_PREFIX}{lv}" for lv in levels_):
        out[c] = df[c].to_numpy(dtype=object) if c in df else np.full(len(df), "", dtype=object)
    # the shared units' names: a unit whose only river is a shared border holds no piece
    text_names = {str(j): nm for j, nm in names.items()}
    for lv in levels_:
        shared_col = out[f"{SHARED_PREFIX}{lv}"].to_numpy(dtype=object)
        out[f"{_SHARED_NAME_PREFIX}{lv}"] = _shared_names(shared_col, text_names)
    return gpd.GeoDataFrame(out, geometry=df["geometry"].to_numpy(), crs=reaches.crs)


def _shared_units(
    part: NDArray[np.int64],
    other: NDArray[Any],
    parts: NDArray[Any],
    jur: gpd.GeoDataFrame,
    assigned: dict[str, NDArray[Any]],
) -> dict[str, NDArray[Any]]:
    """Return the ``shared_<level>`` columns of the parts: the other units holding them too.

    ``part`` and ``other`` are pairs of a part (position in ``parts``) and a finest unit
    whose polygon also held its stretch (:func:`_drop_shared`); ``assigned`` holds the
    parts' own units per level (:func:`_assign_levels`). At each level, the other units
    are mapped to that level as the parts are; those that differ from the part's own
    unit, and are not :data:`OUTSIDE`, are joined (sorted, by ``"|"``), ``""`` for none.
    Only the levels where a part has a value get a column (none, almost always).
    """
    out: dict[str, NDArray[Any]] = {}
    if part.size == 0:
        return out
    at = _assign_levels(other, parts[part], jur, list(assigned))
    for lv, own in assigned.items():
        ok = (at[lv] != OUTSIDE) & (at[lv] != own[part])
        if not ok.any():
            continue
        units = pd.DataFrame({"part": part[ok], "unit": at[lv][ok].astype(str)})
        units = units.drop_duplicates().sort_values(["part", "unit"])
        joined = units.groupby("part")["unit"].agg(BORDER_SEP.join)
        col = np.full(len(parts), "", dtype=object)
        col[joined.index.to_numpy()] = joined.to_numpy(dtype=object)
        out[f"{SHARED_PREFIX}{lv}"] = col
    return out
