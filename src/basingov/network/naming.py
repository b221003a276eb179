"""River names for unnamed networks, transferred from a named line layer (a derivation)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import is_real
from basingov._geometry import whole_inside
from basingov.errors import CRSError, InputError
from basingov.io import require_projected

__all__ = ["DEFAULT_MIN_SHARE", "DEFAULT_NAME_TOLERANCE_M", "names_from_lines"]

logger = logging.getLogger(__name__)

#: Buffer (m) around a named line within which a reach counts as lying along it. The
#: shipped name sources are 1:1M-1:10M lines, which stray several hundred metres from
#: finer networks.
DEFAULT_NAME_TOLERANCE_M = 1000.0
#: Share of a reach's length that must lie within the buffer of one named line: a reach
#: only touching a named river (a tributary at its mouth) keeps no name.
DEFAULT_MIN_SHARE = 0.8


def names_from_lines(
    reaches: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    *,
    column: str,
    tolerance_m: float = DEFAULT_NAME_TOLERANCE_M,
    min_share: float = DEFAULT_MIN_SHARE,
) -> pd.Series:
    """Give each reach the name of the named line it runs along, if any.

    A reach takes the name of the line whose ``tolerance_m`` buffer holds the largest
    share of its length, when that share is at least ``min_share``; other reaches get
    an empty name. Lines are dissolved by name first. This is a derivation for queries
    such as ``basingov query crossings --river Rhine`` on networks that carry no names
    (CCM2, DEM streams); it is not a gazetteer.

    Parameters
    ----------
    reaches
        Reach lines in a projected CRS.
    lines
        Named lines (any CRS; reprojected to the reaches' CRS).
    column
        Name column of ``lines``.
    tolerance_m
        Buffer around the named lines, in metres.
    min_share
        Share of a reach's length that must lie in one buffer, in (0, 1].

    Returns
    -------
    pandas.Series
        Names aligned to ``reaches`` ("" where none).

    Raises
    ------
    CRSError
        If the reaches are not in a projected CRS or the lines have no CRS.
    InputError
        If ``column`` is missing or an option is out of range or no number (text, a
        bool).

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> r = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (5000, 0)]),
    ...     LineString([(5000, 3000), (5000, 0)])], crs=3035)
    >>> named = gpd.GeoDataFrame({"name": ["Rhine"]},
    ...     geometry=[LineString([(0, 200), (9000, 200)])], crs=3035)
    >>> names_from_lines(r, named, column="name").tolist()
    ['Rhine', '']
    """
    crs = require_projected(reaches, what="reaches")
    if column not in lines.columns:
        msg = (
            f"the name layer lacks column {column!r}; its columns are "
            f"{[c for c in lines.columns if c != 'geometry']}"
        )
        raise InputError(msg)
    if lines.crs is None:
        msg = "the name layer has no CRS; set it with gdf.set_crs(...)"
        raise CRSError(msg)
    # text ("5") raised a raw TypeError in the comparisons; a bool was taken as 1
    if not (is_real(tolerance_m) and is_real(min_share)) or not (
        tolerance_m > 0 and 0 < min_share <= 1
    ):
        msg = (
            "need tolerance_m > 0 and 0 < min_share <= 1, numbers (not text or bools); got "
            f"tolerance_m={tolerance_m!r}, min_share={min_share!r}"
        )
        raise InputError(msg)
    named = lines[[column, "geometry"]].to_crs(crs)
    named = named[named[column].fillna("").astype(str).str.strip() != ""]
    out = pd.Series("", index=reaches.index, dtype=object)
    if named.empty or reaches.empty:
        return out
    groups = named.groupby(named[column].astype(str).str.strip())
    labels = np.asarray(list(groups.groups), dtype=object)
    merged = np.asarray([shapely.union_all(g.geometry.to_numpy()) for _, g in groups], dtype=object)
    zones = shapely.buffer(merged, tolerance_m)
    geoms = reaches.geometry.to_numpy()
    # boxes first, then the test against the prepared zone (a few large polygons): the
    # pairs, in the order, of query(..., predicate="intersects"), in a tenth of the time
    ri, zi = shapely.STRtree(zones).query(geoms)
    shapely.prepare(zones)
    meet = shapely.intersects(zones[zi], geoms[ri])
    ri, zi = ri[meet], zi[meet]
    if ri.size == 0:
        return out
    length = shapely.length(geoms)
    inside = _length_inside(geoms[ri], zones[zi])
    share = np.divide(inside, length[ri], out=np.zeros_like(inside), where=length[ri] > 0)
    best = _along(geoms, merged, ri, zi, share, min_share)
    out.iloc[best["r"].to_numpy()] = labels[best["z"].to_numpy()]
    logger.info(
        "named %d of %d reaches from %d named lines (within %g m, >= %.0f%% of length)",
        len(best),
        len(reaches),
        len(labels),
        tolerance_m,
        100 * min_share,
    )
    return out


#: Shares of a reach within this of its best share tie (a reach at a confluence lies wholly
#: in both rivers' buffers): the name of the line that runs along all of it wins.
_SHARE_TIE = 0.05


def _along(
    geoms: np.ndarray,
    merged: np.ndarray,
    ri: np.ndarray,
    zi: np.ndarray,
    share: np.ndarray,
    min_share: float,
) -> pd.DataFrame:
    """Pick one named line per reach: the largest share, ties to the line along all of it.

    Between lines whose buffers hold (nearly) the same share of a reach, the one nearest
    to all of the reach wins: the largest of the distances from its two ends and its
    middle to the line is smallest. At a confluence a short reach of the main river lies
    in the tributary's buffer too, but the tributary's line ends there.
    """
    t = pd.DataFrame({"r": ri, "z": zi, "share": share})
    t = t[t["share"] >= min_share]
    top = t.groupby("r")["share"].transform("max")
    t = t[t["share"] >= top - _SHARE_TIE].copy()
    t["far"] = 0.0
    tied = t["r"].duplicated(keep=False).to_numpy()
    if tied.any():
        r, z = t["r"].to_numpy()[tied], t["z"].to_numpy()[tied]
        far = np.zeros(r.size)
        for at in (0.0, 0.5, 1.0):
            pt = shapely.line_interpolate_point(geoms[r], at, normalized=True)
            far = np.maximum(far, shapely.distance(pt, merged[z]))
        t.loc[tied, "far"] = far
    t = t.sort_values(["r", "far", "share"], ascending=[True, True, False], kind="stable")
    return t.drop_duplicates("r")


def _length_inside(lines: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Length of each line inside its zone: ``length(intersection(line, zone))``, same bits.

    Most reaches lie wholly inside the zone they meet, and such a line (simple and open,
    :func:`basingov._geometry.whole_inside`) is its own intersection with it: the cheap
    prepared test spares the costly intersection with the large zone. The others still
    go through the intersection.
    """
    whole = whole_inside(zones, lines)
    out = shapely.length(lines)
    rest = ~whole
    out[rest] = shapely.length(shapely.intersection(lines[rest], zones[rest]))
    return out
