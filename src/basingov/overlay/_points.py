"""Points along lines and points in polygons, compiled (the bank samples of boundary.py).

Both give GEOS's answers: :func:`interpolate` repeats the arithmetic of GEOS's
``LengthIndexedLine`` (what ``shapely.line_interpolate_point(..., normalized=True)`` calls)
operation for operation, and :class:`PointLocator` answers ``within`` by a crossing count
whose every orientation test is certain (:func:`basingov.overlay.cutter._side`), handing
the points it cannot decide for sure (on or next to a border, in overlapping or invalid
polygons) to GEOS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from basingov._arrays import concat_ranges
from basingov._jit import njit
from basingov.network import csr_reverse
from basingov.overlay.cutter import _side

if TYPE_CHECKING:
    from numpy.typing import NDArray


@njit(cache=True)
def _running_lengths(  # pragma: no cover - compiled
    x: np.ndarray, y: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """Length walked from each line's first vertex to every vertex, summed in order.

    The running total GEOS adds up segment by segment (``run += seg``): the last vertex's
    value is the line's length, and the first segment whose end value exceeds a distance
    is the one GEOS stops in.
    """
    run_at = np.zeros(x.shape[0])
    for line in range(start.shape[0] - 1):
        run = 0.0
        for i in range(start[line] + 1, start[line + 1]):
            dx = x[i] - x[i - 1]
            dy = y[i] - y[i - 1]
            run += np.sqrt(dx * dx + dy * dy)
            run_at[i] = run
    return run_at


@njit(cache=True)
def _interpolate(  # pragma: no cover - compiled
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    line: np.ndarray,
    frac: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Point at normalised position ``frac[k]`` of line ``line[k]`` (vertices ``start``).

    GEOS: the length is the sum of the segment lengths in order; the distance ``f * L``
    falls in the first segment whose running total plus its length exceeds it, at
    ``(d - total) / seglen`` along it, ``p0 + (p1 - p0) * t`` (the first vertex for
    ``d <= 0``, the last beyond the end). The running totals are summed once per line
    (:func:`_running_lengths`, the same additions in the same order) and that segment is
    found by bisection: the totals never decrease, and the running total plus the
    segment's length is the next vertex's total.
    """
    m = line.shape[0]
    ox = np.empty(m)
    oy = np.empty(m)
    run_at = _running_lengths(x, y, start)
    for k in range(m):
        i0 = start[line[k]]
        i1 = start[line[k] + 1]
        if i1 == i0:  # an empty line has no point
            ox[k] = np.nan
            oy[k] = np.nan
            continue
        total = run_at[i1 - 1]
        d = frac[k] * total
        if d < 0.0:
            d = total + d
        ox[k] = x[i1 - 1]
        oy[k] = y[i1 - 1]
        if d <= 0.0:
            ox[k] = x[i0]
            oy[k] = y[i0]
            continue
        # the first vertex after i0 whose running total exceeds d (none: i1)
        lo, hi = i0 + 1, i1
        while lo < hi:
            mid = (lo + hi) // 2
            if run_at[mid] > d:
                hi = mid
            else:
                lo = mid + 1
        if lo == i1:  # beyond the end (or d is NaN): the last vertex
            continue
        i = lo - 1
        dx = x[i + 1] - x[i]
        dy = y[i + 1] - y[i]
        seg = np.sqrt(dx * dx + dy * dy)
        t = (d - run_at[i]) / seg
        if t <= 0.0:
            ox[k], oy[k] = x[i], y[i]
        elif t >= 1.0:
            ox[k], oy[k] = x[i + 1], y[i + 1]
        else:
            ox[k] = (x[i + 1] - x[i]) * t + x[i]
            oy[k] = (y[i + 1] - y[i]) * t + y[i]
    return ox, oy


def interpolate(
    lines: NDArray[Any], which: NDArray[np.int64], frac: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Return ``(m, 2)`` points at normalised positions ``frac`` of ``lines[which]``.

    Equal to ``shapely.get_coordinates(shapely.line_interpolate_point(lines[which], frac,
    normalized=True))`` for LineStrings.

    Examples
    --------
    >>> from shapely import LineString
    >>> interpolate(np.array([LineString([(0, 0), (3, 0), (3, 4)])]), np.array([0, 0]),
    ...             np.array([0.5, 0.25])).tolist()
    [[3.0, 0.5], [1.75, 0.0]]
    """
    which = np.asarray(which, dtype=np.int64)
    frac = np.asarray(frac, dtype=np.float64)
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    start = np.searchsorted(idx, np.arange(len(lines) + 1)).astype(np.int64)
    ox, oy = _interpolate(
        np.ascontiguousarray(coords[:, 0]), np.ascontiguousarray(coords[:, 1]), start, which, frac
    )
    out = np.column_stack([ox, oy])
    other = np.flatnonzero(shapely.get_type_id(lines)[which] != 1)
    if other.size:  # MultiLineStrings (GEOS walks their parts) and empty lines: GEOS itself
        pts = shapely.line_interpolate_point(lines[which[other]], frac[other], normalized=True)
        out[other] = shapely.get_coordinates(pts, include_z=False).reshape(-1, 2)
    return out


#: Relative rounding of a coordinate difference (one rounding of numbers up to the
#: largest coordinate), times a safety factor of 4.
_DIFF_EPS = 4 * 2.0**-53


@njit(cache=True)
def _sure_side(
    ux: float, uy: float, vx: float, vy: float, x: float, y: float
) -> tuple[float, bool]:  # pragma: no cover - compiled
    """Return ``u x v`` and whether its sign is certain despite rounding.

    The products are certain beyond :data:`basingov.overlay.cutter._SURE` of their scale
    (:func:`basingov.overlay.cutter._side`); the coordinate differences ``u``, ``v`` carry
    a rounding error up to :data:`_DIFF_EPS` times the largest coordinate, which moves the
    product by at most that times ``|u|_1 + |v|_1``.
    """
    o, certain = _side(ux, uy, vx, vy)
    scale = max(abs(x), abs(y), abs(x - vx), abs(y - vy))
    err = _DIFF_EPS * scale * (abs(ux) + abs(uy) + abs(vx) + abs(vy))
    return o, certain and abs(o) > err


@njit(cache=True)
def _locate(  # pragma: no cover - compiled
    px: np.ndarray,
    py: np.ndarray,
    y0: float,
    h: float,
    slab_ptr: np.ndarray,
    slab_seg: np.ndarray,
    q0: np.ndarray,
    q1: np.ndarray,
    owner: np.ndarray,
    npoly: int,
    bad_box: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Polygon strictly containing each point, by crossing count; -1 outside all.

    The segments ``q0-q1`` (``q0`` the lower end in x, polygon ``owner``) are listed by
    horizontal slab of height ``h`` from ``y0``, in each slab by their larger x
    descending, so the scan stops at the first segment left of the point. A ray from the
    point towards +x crosses a segment when the segment straddles the point's y
    (half-open) and lies right of the point, or the point is certainly left of it.
    Returns the polygon and whether the answer is certain: it is not when an orientation
    is inside the rounding margin (on or next to a border), when two polygons contain the
    point, or when the point lies in the box of an invalid polygon (``bad_box`` rows).
    """
    m = px.shape[0]
    nslab = slab_ptr.shape[0] - 1
    found = np.full(m, -1, dtype=np.int64)
    sure = np.ones(m, dtype=np.bool_)
    par = np.zeros(npoly, dtype=np.bool_)
    touched = np.empty(slab_seg.shape[0] + 1, dtype=np.int64)
    for k in range(m):
        x = px[k]
        y = py[k]
        for b in range(bad_box.shape[0]):
            if bad_box[b, 0] <= x <= bad_box[b, 2] and bad_box[b, 1] <= y <= bad_box[b, 3]:
                sure[k] = False
        if not sure[k]:
            continue
        j = int(np.floor((y - y0) / h))
        if j < 0 or j >= nslab:
            continue
        nt = 0
        for q in range(slab_ptr[j], slab_ptr[j + 1]):
            s = slab_seg[q]
            ax, ay, bx, by = q0[s, 0], q0[s, 1], q1[s, 0], q1[s, 1]
            if bx < x:  # q0 is the lower end in x: this segment and the slab's rest lie
                break  # left of the point (the slab lists its segments by bx descending)
            if y < min(ay, by) or y > max(ay, by):
                continue
            straddle = (ay > y) != (by > y)
            cross = False
            if x < ax:  # the segment lies right of the point
                cross = straddle
            else:  # the point is in the segment's box: its side, with the segment upwards
                if by > ay:
                    o, certain = _sure_side(bx - ax, by - ay, x - ax, y - ay, x, y)
                else:
                    o, certain = _sure_side(ax - bx, ay - by, x - bx, y - by, x, y)
                if not certain:  # on the border, or too close to tell
                    sure[k] = False
                    break
                cross = straddle and o > 0  # left of the upward segment
            if cross:
                p = owner[s]
                par[p] = not par[p]
                touched[nt] = p
                nt += 1
        for t in range(nt):
            p = touched[t]
            if par[p]:
                if found[k] >= 0 and found[k] != p:
                    sure[k] = False  # overlapping polygons: GEOS picks
                found[k] = p
        for t in range(nt):
            par[touched[t]] = False
        if not sure[k]:
            found[k] = -1
    return found, sure


def _segments(polys: NDArray[Any]) -> tuple[NDArray, NDArray, NDArray[np.int64]]:
    """Ring segments of polygons, the lower end in x first, with their polygon."""
    rings, ring_poly = shapely.get_parts(shapely.boundary(polys), return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    swap = a[:, 0] > b[:, 0]
    q0 = np.ascontiguousarray(np.where(swap[:, None], b, a))
    q1 = np.ascontiguousarray(np.where(swap[:, None], a, b))
    return q0, q1, np.asarray(ring_poly[ring[:-1][same]], dtype=np.int64)


class PointLocator:
    """The polygon of ``polys`` strictly containing each point (``within``), -1 if none.

    Parameters
    ----------
    polys
        (Multi)Polygons.

    Examples
    --------
    >>> loc = PointLocator(np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]))
    >>> loc.locate(np.array([[0.5, 0.5], [1.5, 0.2], [1.0, 0.5], [5.0, 5.0]])).tolist()
    [0, 1, -1, -1]
    """

    def __init__(self, polys: NDArray[Any]) -> None:
        self.polys = np.asarray(polys)
        npoly = self.polys.size
        self.tree = shapely.STRtree(self.polys)
        if npoly == 0:
            self.empty = True
            return
        self.empty = False
        q0, q1, owner = _segments(self.polys)
        self.q0, self.q1, self.owner, self.npoly = q0, q1, owner, npoly
        valid = np.asarray(shapely.is_valid(self.polys), dtype=bool)
        self.bad_box = np.ascontiguousarray(shapely.bounds(self.polys[~valid]).reshape(-1, 4))
        ylo = np.minimum(q0[:, 1], q1[:, 1])
        yhi = np.maximum(q0[:, 1], q1[:, 1])
        y0, y1 = float(ylo.min(initial=0.0)), float(yhi.max(initial=0.0))
        nslab = int(np.clip(q0.shape[0] // 4, 1, 1 << 16))
        self.h = max(y1 - y0, 1e-9) / nslab * (1 + 1e-9)
        self.y0 = y0
        lo = np.clip(np.floor((ylo - y0) / self.h).astype(np.int64), 0, nslab - 1)
        hi = np.clip(np.floor((yhi - y0) / self.h).astype(np.int64), 0, nslab - 1)
        cnt = hi - lo + 1
        seg = np.repeat(np.arange(q0.shape[0], dtype=np.int64), cnt)
        slab = concat_ranges(lo, cnt)
        # each slab's segments by their larger x descending: _locate stops at the first
        # one left of the point, which it skipped with the rest before
        by_x = np.lexsort((-q1[seg, 0], slab))
        self.slab_ptr, self.slab_seg = csr_reverse(seg[by_x], slab[by_x], nslab)

    def locate(self, xy: NDArray[np.float64]) -> NDArray[np.int64]:
        """Return the position of the polygon containing each ``(x, y)``, -1 outside all.

        Where polygons overlap, the first that the GEOS STRtree reports wins, as in
        ``STRtree.query(points, predicate="within")``.
        """
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if self.empty or xy.shape[0] == 0:
            return np.full(xy.shape[0], -1, dtype=np.int64)
        found, sure = _locate(
            np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]), self.y0, self.h,
            self.slab_ptr, self.slab_seg, self.q0, self.q1, self.owner, self.npoly,
            self.bad_box,
        )  # fmt: skip
        todo = np.flatnonzero(~sure)
        if todo.size:
            pts = shapely.points(xy[todo])
            pi, pj = self.tree.query(pts, predicate="within")
            sub = np.full(todo.size, -1, dtype=np.int64)
            first = np.unique(pi, return_index=True)[1]
            sub[pi[first]] = pj[first]
            found[todo] = sub
        return found
