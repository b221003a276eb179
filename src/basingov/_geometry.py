"""Shared geometry primitives that must give GEOS's own answers to the last bit."""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["whole_inside"]


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
