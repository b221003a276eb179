"""Local catchment areas for line networks that carry none (derived, and labelled so)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from basingov.errors import InputError
from basingov.io import require_projected

__all__ = ["DEFAULT_CELL_M", "allocate_local_area"]

logger = logging.getLogger(__name__)

#: Grid spacing (m) of the nearest-reach allocation. 1 km keeps the Rhine (~164,000 km2,
#: 30,343 reaches) under a second and gives areas to about 1 km2 per reach.
DEFAULT_CELL_M = 1000.0


def allocate_local_area(
    reaches: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    *,
    cell_m: float = DEFAULT_CELL_M,
) -> NDArray[np.float64]:
    r"""Share the basin area among reaches by nearest-reach allocation on a grid.

    Every cell centre of a regular grid inside the basin polygon is given to the
    nearest reach (an STRtree nearest query, vectorised), and each reach's local area is
    the number of its cells times the cell area, rescaled so that the areas add up to
    the basin polygon's area exactly:

    .. math::

        a_i = A_\text{basin} \, \frac{n_i}{\sum_j n_j}

    This is a derivation, not a measured drainage area: it is a Voronoi-style proxy for
    networks without sub-catchments (Natural Earth, DCW, NFGIS, CCM2 lines). It places
    water divides half-way between rivers rather than on ridges, so use DEM or
    HydroBASINS areas where they exist.

    Parameters
    ----------
    reaches
        Reach lines in a projected CRS.
    basin
        Basin polygon(s) in the same CRS.
    cell_m
        Grid spacing in metres.

    Returns
    -------
    numpy.ndarray
        Local area in km² per reach, aligned with ``reaches``.

    Raises
    ------
    CRSError
        If the reaches are not in a projected CRS.
    InputError
        If the layers are empty, in different CRSs, or ``cell_m`` is not positive.

    Examples
    --------
    >>> from shapely.geometry import LineString, box
    >>> r = gpd.GeoDataFrame(geometry=[LineString([(0, 500), (1000, 500)]),
    ...     LineString([(0, 1500), (1000, 1500)])], crs=3035)
    >>> b = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 2000)], crs=3035)
    >>> allocate_local_area(r, b, cell_m=100).round(3).tolist()
    [1.0, 1.0]
    """
    crs = require_projected(reaches, what="reaches")
    if not cell_m > 0:
        msg = f"cell_m must be a positive number of metres, got {cell_m!r}"
        raise InputError(msg)
    if len(reaches) == 0 or len(basin) == 0:
        msg = "cannot allocate catchment areas: the reach or basin layer is empty"
        raise InputError(msg)
    if basin.crs is None or not crs.equals(basin.crs):
        msg = (
            f"basin CRS {basin.crs} differs from the reaches' CRS {crs.to_string()}; "
            "reproject the basin with basin.to_crs(reaches.crs)"
        )
        raise InputError(msg)
    poly = shapely.union_all(basin.geometry.values)
    total_km2 = float(shapely.area(poly)) / 1e6
    x0, y0, x1, y1 = shapely.bounds(poly)
    xs = np.arange(x0 + cell_m / 2, x1, cell_m)
    ys = np.arange(y0 + cell_m / 2, y1, cell_m)
    gx, gy = np.meshgrid(xs, ys)
    shapely.prepare(poly)
    inside = shapely.contains_xy(poly, gx.ravel(), gy.ravel())
    pts = np.asarray(shapely.points(gx.ravel()[inside], gy.ravel()[inside]), dtype=object)
    if len(pts) == 0:
        msg = f"the basin is smaller than one {cell_m:g} m cell; pass a smaller cell_m"
        raise InputError(msg)
    tree = shapely.STRtree(reaches.geometry.values)
    idx = tree.query_nearest(pts, all_matches=False, return_distance=False)
    counts = np.bincount(idx[1], minlength=len(reaches)).astype(np.float64)
    area = total_km2 * counts / counts.sum()
    logger.info(
        "allocated %.0f km2 to %d reaches from %d grid cells of %g m (nearest reach)",
        total_km2,
        len(reaches),
        len(pts),
        cell_m,
    )
    return area
