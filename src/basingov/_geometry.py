"""Shared geometry primitives that must give GEOS's own answers to the last bit."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["repair_collapsed", "whole_inside"]


def whole_inside(
    polys: np.ndarray, lines: np.ndarray, *, inside: np.ndarray | None = None
) -> np.ndarray:
    """Which lines are their own intersection with their polygon, vertex for vertex.

    ``shapely.intersection(polys[i], lines[i])`` of a LineString strictly inside the
    polygon (``contains_properly``) that neither crosses nor touches itself
    (``is_simple``) and is open (not ``is_closed``) is the line itself: GEOS's overlay
    finds no node on it and gives back its vertices in their order (repeated points
    dropped, which add nothing to its length). So ``shapely.length(lines[i])`` is the
    length of the intersection, the same bits, without the costly overlay with a large
    polygon. A line crossing itself is noded there and a closed line may be started
    elsewhere, so their lengths may differ in the last bits: they are not marked, nor are
    multi-part lines. Element-wise; ``polys`` is prepared. ``inside``, if given, is
    ``shapely.contains_properly(polys, lines)`` computed already.

    Examples
    --------
    >>> from shapely import LineString, box
    >>> lines = np.array([LineString([(1, 1), (2, 2)]), LineString([(1, 1), (9, 9)]),
    ...     LineString([(1, 1), (3, 3), (3, 1), (1, 3)])])
    >>> whole_inside(np.array([box(0, 0, 5, 5)] * 3), lines).tolist()
    [True, False, False]
    """
    if inside is None:
        shapely.prepare(polys)
        inside = shapely.contains_properly(polys, lines)
    whole = np.array(inside, dtype=bool)
    which = np.flatnonzero(whole)
    sub = lines[which]
    whole[which] = (
        (shapely.get_type_id(sub) == 1) & shapely.is_simple(sub) & ~shapely.is_closed(sub)
    )
    return whole


#: A repair may change a polygon's area by at most this share: what projection collapses
#: (a ring of near-duplicate vertices, a hole a few square metres across) has no area to
#: speak of; more means the geometry was damaged, not rounded.
MAX_REPAIR_AREA_SHARE = 1e-6


def repair_collapsed(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop the rings that a projection collapsed, leaving valid polygons valid and untouched.

    Vertices a hair apart in longitude and latitude can round to one point once projected,
    so that a ring of a valid polygon keeps fewer than four distinct points ("too few
    points in geometry component") and the polygon is no longer valid. GEOS's
    ``make_valid(method="structure", keep_collapsed=False)`` rebuilds such a polygon from
    its rings and leaves the collapsed ones out. Only invalid polygons are rebuilt; the
    others are returned as they are (the same objects).

    Parameters
    ----------
    geoms
        Polygons and multipolygons (None allowed).

    Returns
    -------
    tuple of ndarray
        The geometries, the positions repaired, and each repaired polygon's area change
        as a share of its area before (``abs(after - before) / before``; ``inf`` when the
        polygon had no area).

    Examples
    --------
    >>> from shapely import Polygon
    >>> hole = [(1, 1), (1, 2), (1, 2), (1, 1)]  # a ring of two distinct points
    >>> p = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], holes=[hole])
    >>> fixed, where, share = repair_collapsed(np.array([p, Polygon([(0, 0), (1, 0), (0, 1)])]))
    >>> where.tolist(), fixed[0].wkt, share.tolist()
    ([0], 'POLYGON ((0 0, 0 4, 4 4, 4 0, 0 0))', [0.0])
    """
    geoms = np.asarray(geoms, dtype=object)
    where = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
    if not len(where):
        return geoms, where, np.zeros(0)
    before = shapely.area(geoms[where])
    fixed = shapely.make_valid(geoms[where], method="structure", keep_collapsed=False)
    # with keep_collapsed=False the result is polygonal; a collection would hold lines or
    # points of collapsed parts: keep its polygons
    for i in np.flatnonzero(shapely.get_type_id(fixed) == 7):
        parts = shapely.get_parts(fixed[i])
        fixed[i] = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    after = shapely.area(fixed)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(before > 0, np.abs(after - before) / before, np.inf)
    out = geoms.copy()
    out[where] = fixed
    return out, where, share
