"""Cut lines at polygon borders with numpy segment intersections (fast path of the split)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import shapely

from basingov._jit import njit
from basingov.overlay._common import _MIN_GAP_M, _fractions

if TYPE_CHECKING:
    from numpy.typing import NDArray

#: An orientation (cross product) is taken as certain when its magnitude exceeds this
#: fraction of the sum of the magnitudes of its two products. The rounding error of the
#: products and of the coordinate differences is below 1e-15 of that sum, so the margin
#: is large; near-touching pairs inside the margin go to the GEOS fallback.
_SURE = 1e-10

#: Crossings at a smaller sine of the angle between the two segments go to the fallback
#: (the crossing point of nearly parallel segments is ill-conditioned).
_MIN_SINE = 1e-3

#: Sub-lines shorter than this (m) send their reach to the fallback: their midpoint would
#: lie too close to a border for a reliable point-in-polygon test.
_MIN_CUT_M = 1e-3


class CutResult(NamedTuple):
    """Pieces of the reaches resolved by the cutter, and the reaches it leaves to GEOS.

    Attributes
    ----------
    parts
        LineString pieces.
    part_reach
        Position of each piece's reach in the input.
    part_poly
        Position of each piece's polygon in the input; ``-1`` for a piece outside every
        polygon.
    fs, fe
        Normalised positions of each piece's start and end along its reach.
    fallback
        Sorted positions of the reaches not resolved (collinear, touching or nearly
        parallel contacts with a border, repeated vertices, very short pieces).
    fb_reach, fb_poly
        Candidate (reach, polygon) pairs of the fallback reaches: every polygon with a
        boundary segment whose box meets the reach's box.
    """

    parts: NDArray[Any]
    part_reach: NDArray[np.int64]
    part_poly: NDArray[np.int64]
    fs: NDArray[np.float64]
    fe: NDArray[np.float64]
    fallback: NDArray[np.int64]
    fb_reach: NDArray[np.int64]
    fb_poly: NDArray[np.int64]


def boundary_segment_arrays(
    poly_geoms: NDArray[Any],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[Any]]:
    """Every polygon boundary as two-point segments, with canonical end order.

    Parameters
    ----------
    poly_geoms
        (Multi)Polygons.

    Returns
    -------
    q0, q1
        ``(n, 2)`` start and end coordinates, ordered so that ``q0 < q1``
        lexicographically: a border shared by two polygons gives bitwise-equal segments
        and so bitwise-equal crossing points.
    owner
        Position of each segment's polygon.
    segments
        The segments as LineStrings (for an STRtree).

    Examples
    --------
    >>> q0, q1, owner, _ = boundary_segment_arrays(np.array([shapely.box(0, 0, 1, 1)]))
    >>> q0.tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    >>> q1.tolist()
    [[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
    >>> owner.tolist()
    [0, 0, 0, 0]
    """
    rings, ring_poly = shapely.get_parts(shapely.boundary(poly_geoms), return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    q0 = np.where(swap[:, None], b, a)
    q1 = np.where(swap[:, None], a, b)
    segs = np.asarray(shapely.linestrings(np.stack([q0, q1], axis=1)))
    return q0, q1, np.asarray(ring_poly[ring[:-1][same]], dtype=np.int64), segs


@njit(cache=True)
def _side(ux: float, uy: float, vx: float, vy: float) -> tuple[float, bool]:  # pragma: no cover
    """Return the cross product ``u x v`` (side of ``v`` from ``u``'s line) and its certainty.

    The sign is certain when the product is larger than :data:`_SURE` times the rounding
    scale of its two terms.
    """
    a, b = ux * vy, uy * vx
    o = a - b
    return o, abs(o) > _SURE * (abs(a) + abs(b))


@njit(cache=True)
def _classify(
    px0: float,
    py0: float,
    px1: float,
    py1: float,
    qx0: float,
    qy0: float,
    qx1: float,
    qy1: float,
) -> tuple[int, float]:  # pragma: no cover - compiled
    """Classify segments ``p0-p1`` / ``q0-q1``: 0 certain miss, 1 proper crossing, 2 unsure.

    A proper crossing has each segment's ends strictly and certainly on opposite sides of
    the other segment's line (cross products larger than :data:`_SURE` times their
    rounding scale), at an angle whose sine is at least :data:`_MIN_SINE`; a certain miss
    has both ends of one segment certainly on the same side of the other's line. Anything
    else (an end on the other segment, collinear, nearly parallel, inside the rounding
    margin) is unsure. Also returns the crossing's position along ``p0-p1``.
    """
    dx, dy = px1 - px0, py1 - py0
    ex, ey = qx1 - qx0, qy1 - qy0
    oq0, sq0 = _side(dx, dy, qx0 - px0, qy0 - py0)
    oq1, sq1 = _side(dx, dy, qx1 - px0, qy1 - py0)
    if sq0 and sq1 and (oq0 > 0) == (oq1 > 0):
        return 0, 0.0
    op0, sp0 = _side(ex, ey, px0 - qx0, py0 - qy0)
    op1, sp1 = _side(ex, ey, px1 - qx0, py1 - qy0)
    if sp0 and sp1 and (op0 > 0) == (op1 > 0):
        return 0, 0.0
    den = op0 - op1  # = d x e, without cancellation: op0 and op1 have opposite signs
    steep = abs(den) >= _MIN_SINE * np.hypot(dx, dy) * np.hypot(ex, ey)
    if sq0 and sq1 and sp0 and sp1 and steep:
        return 1, op0 / den
    return 2, 0.0


@njit(cache=True)
def _segment_hits(
    x: np.ndarray,
    y: np.ndarray,
    sv: np.ndarray,
    lo: np.ndarray,
    cnt: np.ndarray,
    seg: np.ndarray,
    q0: np.ndarray,
    q1: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Crossings of line segments with boundary segments, pair by pair.

    Pair ``i`` is the line segments starting at vertices ``sv[lo[i]:lo[i] + cnt[i]]``
    against boundary segment ``seg[i]`` (``q0 < q1`` in x). Returns the start vertex and
    the position along its segment of every proper crossing, and whether each pair has
    an unsure contact (see :func:`_classify`).
    """
    hit_v = np.empty(cnt.sum(), dtype=np.int64)
    hit_t = np.empty(cnt.sum(), dtype=np.float64)
    unsure = np.zeros(lo.shape[0], dtype=np.bool_)
    m = 0
    for i in range(lo.shape[0]):
        s = seg[i]
        ax, ay, bx, by = q0[s, 0], q0[s, 1], q1[s, 0], q1[s, 1]
        ylo, yhi = min(ay, by), max(ay, by)
        for k in range(lo[i], lo[i] + cnt[i]):
            v = sv[k]
            px0, py0, px1, py1 = x[v], y[v], x[v + 1], y[v + 1]
            if min(px0, px1) > bx or max(px0, px1) < ax:
                continue
            if min(py0, py1) > yhi or max(py0, py1) < ylo:
                continue
            code, t = _classify(px0, py0, px1, py1, ax, ay, bx, by)
            if code == 1:
                hit_v[m] = v
                hit_t[m] = t
                m += 1
            elif code == 2:
                unsure[i] = True
    return hit_v[:m], hit_t[:m], unsure


def classify_segment_pairs(
    p0: NDArray[np.float64],
    p1: NDArray[np.float64],
    q0: NDArray[np.float64],
    q1: NDArray[np.float64],
) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    """Classify segment pairs ``p0-p1`` / ``q0-q1`` as misses, crossings or unsure.

    The cutter's test, pair by pair (for checks; the cutter runs it in a compiled loop).

    Parameters
    ----------
    p0, p1, q0, q1
        ``(n, 2)`` segment end coordinates.

    Returns
    -------
    code
        0 for a certain miss, 1 for a proper crossing (each segment crosses the other's
        interior at a clear angle), 2 for an unsure contact (an end on the other segment,
        collinear or nearly parallel segments, or inside the rounding margin).
    t
        Position of the crossing along ``p0-p1`` (0 where ``code`` is not 1).

    Examples
    --------
    >>> a = np.zeros((3, 2))
    >>> b = np.array([[2.0, 0.0]] * 3)
    >>> c = np.array([[1.0, -1.0], [1.0, 0.0], [3.0, -1.0]])
    >>> d = np.array([[1.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    >>> code, t = classify_segment_pairs(a, b, c, d)
    >>> code.tolist(), t.tolist()
    ([1, 2, 0], [0.5, 0.0, 0.0])
    """
    rows = np.ascontiguousarray(np.hstack([p0, p1, q0, q1]), dtype=np.float64)
    return _classify_rows(rows)


@njit(cache=True)
def _classify_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """:func:`_classify` over the rows ``px0, py0, px1, py1, qx0, qy0, qx1, qy1``."""
    code = np.empty(rows.shape[0], dtype=np.int8)
    t = np.zeros(rows.shape[0])
    for i in range(rows.shape[0]):
        r = rows[i]
        c, ti = _classify(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
        code[i] = c
        if c == 1:
            t[i] = ti
    return code, t


def cut_at_borders(reach_geoms: NDArray[Any], poly_geoms: NDArray[Any]) -> CutResult:
    """Cut (Multi)LineStrings at the borders of polygons and assign every piece.

    Reaches whose box meets no boundary segment's box, or that miss every such segment
    for certain, lie in one polygon or outside all: one point-in-polygon test of the
    first vertex of one reach in each group joined by shared end points places them. The others are cut at their proper crossings with the
    boundary segments (vectorised segment-segment intersection), the vertex arrays are
    sliced at the crossing points, and every sub-line goes to each polygon that
    properly contains a point inside it (its middle vertex, or the middle of its only
    segment), or outside. This gives the same pieces as :func:`shapely.intersection`
    with each polygon, without the GEOS overlay.

    Reaches with an unsure contact (a vertex on a border, a stretch along a border,
    nearly parallel crossings, repeated vertices, sub-lines shorter than
    :data:`_MIN_CUT_M`) are not resolved: they are returned in ``fallback`` with their
    candidate polygons, for the exact GEOS overlay.

    Parameters
    ----------
    reach_geoms
        (Multi)LineStrings.
    poly_geoms
        (Multi)Polygons.

    Returns
    -------
    CutResult
        Pieces (in-polygon pieces of any length, outside pieces longer than
        ``_MIN_GAP_M``) with their reach, polygon and fractions, and the fallback reaches.

    Examples
    --------
    >>> polys = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)])
    >>> line = shapely.LineString([(5, 5), (15, 5), (25, 5)])
    >>> res = cut_at_borders(np.array([line]), polys)
    >>> [g.wkt for g in res.parts], res.part_poly.tolist(), res.fe.tolist()
    (['LINESTRING (5 5, 10 5)', 'LINESTRING (10 5, 15 5, 20 5)', 'LINESTRING (20 5, 25 5)'], [0, 1, -1], [0.25, 0.75, 1.0])
    """  # noqa: E501
    n = len(reach_geoms)
    q0, q1, owner, segs = boundary_segment_arrays(poly_geoms)
    hr, hs = shapely.STRtree(segs).query(reach_geoms)
    cand = np.unique(hr)
    nc = cand.size
    # vertex and segment arrays of the candidate reaches (parts kept apart)
    cgeoms = reach_geoms[cand]
    if (shapely.get_type_id(cgeoms) == 1).all():
        cparts, cpart_reach = cgeoms, np.arange(nc)
    else:
        cparts, cpart_reach = shapely.get_parts(cgeoms, return_index=True)
    xy, vpart = shapely.get_coordinates(cparts, return_index=True)
    vreach = cpart_reach[vpart]  # candidate position of each vertex (sorted)
    is_seg = np.zeros(xy.shape[0], dtype=bool)
    is_seg[:-1] = vpart[:-1] == vpart[1:]
    sv = np.flatnonzero(is_seg)
    seg_count = np.bincount(vreach[sv], minlength=nc)
    seg_start = np.cumsum(seg_count) - seg_count
    # every segment of a reach against every boundary segment whose box meets the reach's
    pc = np.searchsorted(cand, hr)
    x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    cv, ct, unsure = _segment_hits(x, y, sv, seg_start[pc], seg_count[pc], hs, q0, q1)
    # reaches left to GEOS: unsure contacts, parts of one vertex
    bad = np.zeros(nc, dtype=bool)
    bad[pc[unsure]] = True
    bad[cpart_reach[np.bincount(vpart, minlength=len(cparts)) < 2]] = True
    # crossings, one per (segment, position): a border shared by two polygons counts once
    order = np.lexsort((ct, cv))
    cv, ct = cv[order], ct[order]
    new = np.ones(cv.size, dtype=bool)
    new[1:] = (cv[1:] != cv[:-1]) | (ct[1:] != ct[:-1])
    cv, ct = cv[new], ct[new]
    has_cut = np.zeros(nc, dtype=bool)
    has_cut[vreach[cv]] = True
    # repeated vertices in a reach to cut (GEOS drops them from its pieces)
    su = sv[(has_cut & ~bad)[vreach[sv]]]
    bad[vreach[su[(x[su + 1] == x[su]) & (y[su + 1] == y[su])]]] = True
    sub, sub_c, sub_fs, sub_fe, inner = _slice(x, y, vpart, vreach, is_seg, cv, ct, has_cut & ~bad)
    sub_len = shapely.length(sub)
    bad[sub_c[sub_len < _MIN_CUT_M]] = True
    keep = ~bad[sub_c]
    sub, sub_c, sub_fs, sub_fe = sub[keep], sub_c[keep], sub_fs[keep], sub_fe[keep]
    sub_len, inner = sub_len[keep], inner[keep]
    # whole reaches: never near a border, or missing every border for certain
    whole = np.ones(n, dtype=bool)
    whole[cand[has_cut | bad]] = False
    wpos = np.flatnonzero(whole)
    wparts, wreach, wfs, wfe = _explode(reach_geoms[wpos], wpos)
    wcount = shapely.get_num_coordinates(wparts)
    if (wcount == 0).any():  # empty geometries have no piece
        ne = wcount > 0
        wparts, wreach, wfs, wfe, wcount = wparts[ne], wreach[ne], wfs[ne], wfe[ne], wcount[ne]
    wxy = shapely.get_coordinates(wparts)
    wlast = np.cumsum(wcount) - 1
    wfirst = wlast - wcount + 1
    # whole parts joined by shared end points lie in the same polygons: test one per group
    group, rep = _joined(wxy[wfirst], wxy[wlast])
    nr = rep.size
    pts = np.asarray(shapely.points(np.concatenate([wxy[wfirst[rep]], inner])))
    # one prepared polygon against many points is faster than many points against polygons
    pp, pt = shapely.STRtree(pts).query(poly_geoms, predicate="contains_properly")
    srt = np.lexsort((pp, pt))
    pt, pp = pt[srt], pp[srt]
    found = np.zeros(pts.size, dtype=bool)
    found[pt] = True
    # pieces: whole parts (one per containing polygon of their group, or outside), then
    # sub-lines
    members = np.argsort(group, kind="stable")
    gsize = np.bincount(group, minlength=nr)
    gstart = np.cumsum(gsize) - gsize
    r_in = np.flatnonzero(pt < nr)
    k, off = _expand(gsize[pt[r_in]])
    w_in = members[gstart[pt[r_in]][k] + off]
    w_poly = pp[r_in][k]
    w_out = np.flatnonzero(~found[:nr][group])
    w_out = w_out[shapely.length(wparts[w_out]) > _MIN_GAP_M]
    s_in, s_out = np.flatnonzero(pt >= nr), np.flatnonzero(~found[nr:])
    s_out = s_out[sub_len[s_out] > _MIN_GAP_M]
    widx = np.concatenate([w_in, w_out])
    sidx = np.concatenate([pt[s_in] - nr, s_out])
    fallback = cand[bad]
    fb = np.isin(hr, fallback)
    npoly = max(len(poly_geoms), 1)
    key = np.unique(hr[fb].astype(np.int64) * npoly + owner[hs[fb]])
    return CutResult(
        parts=np.concatenate([wparts[widx], sub[sidx]]),
        part_reach=np.concatenate([wreach[widx], cand[sub_c[sidx]]]).astype(np.int64),
        part_poly=np.concatenate(
            [w_poly, np.full(w_out.size, -1), pp[s_in], np.full(s_out.size, -1)]
        ).astype(np.int64),
        fs=np.concatenate([wfs[widx], sub_fs[sidx]]),
        fe=np.concatenate([wfe[widx], sub_fe[sidx]]),
        fallback=fallback.astype(np.int64),
        fb_reach=key // npoly,
        fb_poly=key % npoly,
    )


def _expand(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group index and offset inside the group for ``counts.sum()`` rows."""
    group = np.repeat(np.arange(counts.size), counts)
    return group, np.arange(group.size) - (np.cumsum(counts) - counts)[group]


def _joined(
    first: NDArray[np.float64], last: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group lines joined through equal end points (connected components).

    Returns the group of every line (numbered from 0 in order of first appearance) and
    the first line of each group. Ends are matched by exact equality of both coordinates.
    """
    m = first.shape[0]
    key = np.empty(2 * m, dtype=np.complex128)
    key.real = np.concatenate([first[:, 0], last[:, 0]])
    key.imag = np.concatenate([first[:, 1], last[:, 1]])
    node, uniq = pd.factorize(key)
    return _union_groups(node[:m].astype(np.int64), node[m:].astype(np.int64), len(uniq))


@njit(cache=True)
def _union_groups(
    a: np.ndarray, b: np.ndarray, nnode: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Label the connected components of lines ``a[i] - b[i]`` between nodes (union-find)."""
    parent = np.arange(nnode)
    for i in range(a.shape[0]):
        ra = a[i]
        while parent[ra] != ra:
            parent[ra] = parent[parent[ra]]
            ra = parent[ra]
        rb = b[i]
        while parent[rb] != rb:
            parent[rb] = parent[parent[rb]]
            rb = parent[rb]
        if ra != rb:
            parent[ra] = rb
    label = np.full(nnode, -1, dtype=np.int64)
    group = np.empty(a.shape[0], dtype=np.int64)
    rep = np.empty(a.shape[0], dtype=np.int64)
    k = 0
    for i in range(a.shape[0]):
        r = a[i]
        while parent[r] != r:
            r = parent[r]
        if label[r] < 0:
            label[r] = k
            rep[k] = i
            k += 1
        group[i] = label[r]
    return group, rep[:k]


def _slice(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    vpart: NDArray[np.int64],
    vreach: NDArray[np.int64],
    is_seg: NDArray[np.bool_],
    cv: NDArray[np.int64],
    ct: NDArray[np.float64],
    use: NDArray[np.bool_],
) -> tuple[
    NDArray[Any], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]
]:
    """Slice the vertex arrays of the reaches flagged ``use`` at their crossing points.

    Crossing ``i`` lies on the segment starting at vertex ``cv[i]``, at ``ct[i]`` along
    it; it ends one sub-line and starts the next. Returns the sub-lines, their reach
    (candidate position), their fractions along the reach (parts of a MultiLineString
    follow each other) and a point inside each (for the point-in-polygon test).
    """
    vv = np.flatnonzero(use[vreach])  # vertices of the reaches to cut, reach by reach
    keep_c = use[vreach[cv]]
    cv, ct = cv[keep_c], ct[keep_c]
    if vv.size == 0:
        empty = np.empty(0)
        return (
            np.empty(0, dtype=object),
            np.empty(0, dtype=np.int64),
            empty,
            empty,
            np.empty((0, 2)),
        )
    seg_here = is_seg[vv]
    nxt = np.minimum(vv + 1, x.size - 1)
    seglen = np.where(seg_here, np.hypot(x[nxt] - x[vv], y[nxt] - y[vv]), 0.0)
    reach = vreach[vv]
    rfirst = np.ones(vv.size, dtype=bool)
    rfirst[1:] = reach[1:] != reach[:-1]
    rlast = np.ones(vv.size, dtype=bool)
    rlast[:-1] = rfirst[1:]
    # distance from the reach's start, summed reach by reach: a running sum over all
    # reaches would make a reach's fractions depend on the reaches cut with it
    dist = _restarting_cumsum(seglen, rfirst)
    total = np.bincount(reach, weights=seglen, minlength=int(reach.max()) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vfrac = np.where(rlast, 1.0, np.clip(dist / total[reach], 0.0, 1.0))
    j = np.searchsorted(vv, cv)  # position of each crossing's segment in vv
    cfrac = np.clip((dist[j] + ct * seglen[j]) / total[reach[j]], 0.0, 1.0)
    cx = x[cv] + ct * (x[cv + 1] - x[cv])
    cy = y[cv] + ct * (y[cv + 1] - y[cv])
    part_start = np.ones(vv.size, dtype=bool)
    part_start[1:] = vpart[vv[1:]] != vpart[vv[:-1]]
    nc = cv.size
    # entries: the vertices, then each crossing twice (end of a sub-line, start of the
    # next); the last vertex of a part sorts after the crossings of its last segment
    seg_key = np.concatenate([np.where(seg_here, vv, vv - 1), cv, cv])
    t_key = np.concatenate([(~seg_here).astype(np.float64), ct, ct])
    copy = np.concatenate([np.zeros(vv.size + nc, dtype=np.int8), np.ones(nc, dtype=np.int8)])
    starts = np.concatenate([part_start, np.zeros(nc, dtype=bool), np.ones(nc, dtype=bool)])
    ex = np.concatenate([x[vv], cx, cx])
    ey = np.concatenate([y[vv], cy, cy])
    ereach = np.concatenate([reach, reach[j], reach[j]])
    efrac = np.concatenate([vfrac, cfrac, cfrac])
    order = np.lexsort((copy, t_key, seg_key))
    starts, ereach, efrac = starts[order], ereach[order], efrac[order]
    sub_id = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, sub_id.size - 1)
    exy = np.stack([ex[order], ey[order]], axis=1)
    lines = np.asarray(shapely.linestrings(exy, indices=sub_id))
    # a point inside each sub-line: its middle vertex (an input vertex, exact), or the
    # middle of its only segment
    mid = first + (last - first) // 2
    inner = np.where((last - first >= 2)[:, None], exy[mid], 0.5 * (exy[first] + exy[last]))
    return lines, ereach[first].astype(np.int64), efrac[first], efrac[last], inner


@njit(cache=True)
def _restarting_cumsum(
    v: NDArray[np.float64], first: NDArray[np.bool_]
) -> NDArray[np.float64]:  # pragma: no cover - numba
    """Exclusive running sum of ``v`` that restarts at 0 wherever ``first`` is set."""
    out = np.empty(v.size)
    acc = 0.0
    for i in range(v.size):
        if first[i]:
            acc = 0.0
        out[i] = acc
        acc += v[i]
    return out


def _explode(
    geoms: NDArray[Any], reach: NDArray[np.int64]
) -> tuple[NDArray[Any], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Whole reaches as LineStrings: a MultiLineString gives one piece per non-empty part.

    Returns the pieces, their reach and their fractions along it (``0, 1`` for a
    LineString; measured along the MultiLineString for its parts).
    """
    single = shapely.get_type_id(geoms) == 1
    fs = np.zeros(geoms.size)
    fe = np.ones(geoms.size)
    if single.all():
        return geoms, reach, fs, fe
    multi = geoms[~single]
    parts, pidx = shapely.get_parts(multi, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    parts, pidx = np.asarray(parts[ok]), pidx[ok]
    pfs, pfe = _fractions(multi[pidx], parts)
    mpos = np.flatnonzero(~single)[pidx]
    return (
        np.concatenate([geoms[single], parts]),
        np.concatenate([reach[single], reach[mpos]]),
        np.concatenate([fs[single], pfs]),
        np.concatenate([fe[single], pfe]),
    )
