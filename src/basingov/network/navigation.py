"""Network navigation in the NLDI modes (UM, UT, DM, DD) and snapping of points to reaches."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import shapely
from pyproj import CRS, Transformer

from basingov._checks import check_choice, is_lonlat, is_real
from basingov.errors import EmptyResultError, InputError
from basingov.network import _kernels as K
from basingov.network._container import RiverNetwork
from basingov.network._topology import _fmt_ids

__all__ = [
    "DOWNSTREAM_MODES",
    "MODES",
    "UPSTREAM_MODES",
    "DownstreamMode",
    "Mode",
    "SnapResult",
    "UpstreamMode",
    "navigate",
    "nearest_reach_m",
    "snap_point",
]

UpstreamMode = Literal["UM", "UT"]
DownstreamMode = Literal["DM", "DD"]
Mode = Literal[UpstreamMode, DownstreamMode]
#: The navigation modes of the USGS Network-Linked Data Index (NLDI).
MODES: tuple[str, ...] = get_args(Mode)
#: The upstream modes (main stem, with tributaries) and the downstream ones (main path,
#: with diversions).
UPSTREAM_MODES: tuple[str, ...] = get_args(UpstreamMode)
DOWNSTREAM_MODES: tuple[str, ...] = get_args(DownstreamMode)


def _lon_lat(lon: object, lat: object) -> tuple[float, float]:
    """Return the point of :func:`snap_point` or :func:`nearest_reach_m` as floats.

    Checked by :func:`basingov._checks.is_lonlat`, as a ``(lon, lat)`` pair is by
    :func:`basingov._checks.lonlat`.
    """
    # None raised a raw TypeError in np.isfinite; text ("7.5") and bools (True: 1 degree)
    # were taken through float()
    if not is_lonlat(lon, lat):
        msg = (
            "the point must be finite WGS84 lon/lat degrees (numbers, not text or bools), "
            f"got lon={lon!r}, lat={lat!r}"
        )
        raise InputError(msg)
    return float(lon), float(lat)  # type: ignore[arg-type]


def _flow_score(net: RiverNetwork) -> np.ndarray:
    """Upstream area where known everywhere, else total upstream reach length."""
    area = net.reaches["upstream_area_km2"].to_numpy(dtype=np.float64)
    if np.isfinite(area).all():
        return area
    return net.reaches["upstream_length_km"].to_numpy(dtype=np.float64)


def navigate(
    net: RiverNetwork,
    start: int,
    *,
    mode: Mode,
    max_km: float | None = None,
) -> np.ndarray:
    """Reaches reached from ``start`` by navigating the network.

    Modes follow the USGS NLDI:

    - ``UM`` upstream main stem: from each reach, the upstream neighbour with the largest
      upstream area (total upstream reach length where areas are unknown);
    - ``UT`` upstream with tributaries: everything draining to ``start``;
    - ``DM`` downstream main: the main downstream links (``idx_ds``) to the outlet;
    - ``DD`` downstream with diversions: every bifurcation branch too.

    ``max_km`` limits the distance along the network, measured from the start reach's
    upstream end (upstream modes) or downstream end (downstream modes): a reach is kept
    if it begins within ``max_km``. The start reach is always included.

    Parameters
    ----------
    net
        The network.
    start
        Reach id to start from.
    mode
        One of ``"UM"``, ``"UT"``, ``"DM"``, ``"DD"``.
    max_km
        Optional distance limit in km, a number >= 0 (None or ``inf``: no limit).

    Returns
    -------
    numpy.ndarray
        int64 positions, starting with ``start``; downstream modes list reaches from
        upstream to downstream, upstream modes from downstream to upstream.

    Raises
    ------
    InputError
        For an unknown mode, an unknown or non-integer reach id (or several), a
        ``max_km`` that is negative, NaN or no number (text, a bool), or a ``max_km`` on a
        network with reaches of unknown length.

    Examples
    --------
    Reaches 1 (5 km² of land) and 2 (1 km²) join in 3, which flows into 4:

    >>> from basingov.examples import example_network
    >>> net = example_network([3, 3, 4, -1], columns={"local_area_km2": [5.0, 1.0, 1.0, 1.0]})
    >>> net.ids[navigate(net, 4, mode="UM")].tolist()
    [4, 3, 1]
    >>> sorted(net.ids[navigate(net, 4, mode="UT")].tolist())
    [1, 2, 3, 4]
    >>> net.ids[navigate(net, 2, mode="DM")].tolist()
    [2, 3, 4]
    """
    check_choice(mode, MODES, name="mode")
    if max_km is not None and not (is_real(max_km) and max_km >= 0):
        # text such as "5" raised a raw TypeError in the comparison
        msg = f"max_km must be >= 0, a number of km (None or inf for no limit), got {max_km!r}"
        raise InputError(msg)
    limit = np.inf if max_km is None else float(max_km)
    starts = net.position(start)
    if starts.size != 1:
        msg = f"navigate starts from one reach id, got {starts.size}: {start!r}; call it per id"
        raise InputError(msg)
    s = int(starts[0])
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    unknown = np.isnan(length)
    if unknown.any():
        # a NaN length stopped the walk at that reach (NaN < distance is never true)
        if max_km is not None:
            msg = (
                f"max_km needs reach lengths; reach(es) {_fmt_ids(net.ids[unknown])} have "
                "no length_km (no geometry): give their length_km or leave max_km unset"
            )
            raise InputError(msg)
        length = np.zeros_like(length)  # no limit: the walk follows the links only
    if mode == "UM":
        indptr, indices = net.main_up_csr
        return K.upstream_main_walk(indptr, indices, _flow_score(net), length, s, limit)
    if mode == "UT":
        indptr, indices = net.up_csr
        return K.walk_csr(indptr, indices, net.order, net.rank, length, s, limit, upstream=True)
    if mode == "DD":
        indptr, indices, _ = net.down_csr
    else:
        has = net.idx_ds >= 0
        indptr = np.zeros(net.n + 1, dtype=np.int64)
        np.cumsum(has, out=indptr[1:])
        indices = net.idx_ds[has]
    return K.walk_csr(indptr, indices, net.order, net.rank, length, s, limit, upstream=False)


@dataclass(frozen=True)
class SnapResult:
    """Where a point snapped onto the network.

    Attributes
    ----------
    reach_id
        Id of the chosen reach.
    position
        Its position in the network.
    distance_m
        Distance from the point to the reach (to its catchment polygon, where the network
        has a ``catchment`` column), in metres.
    upstream_area_km2
        Upstream area at the snapped point (NaN if unknown): the reach's upstream area
        minus the part of its own local area that drains in below the point, assuming
        local inflow is spread evenly along the reach. For catchment networks
        (HydroBASINS) it is the whole catchment's upstream area.
    x, y
        The point on the reach nearest to the query point, in the network CRS.
    """

    reach_id: int
    position: int
    distance_m: float
    upstream_area_km2: float
    x: float
    y: float


def snap_point(
    net: RiverNetwork,
    lon: float,
    lat: float,
    *,
    tolerance_m: float = 1000.0,
    tie_ratio: float = 2.0,
    tie_margin_m: float = 100.0,
    expected_area_km2: float | None = None,
) -> SnapResult:
    """Snap a lon/lat point to a reach, preferring the largest flow among near ties.

    As NLDI and pour-point snapping do, the point goes to the nearest reach within
    ``tolerance_m``; but every reach within ``tie_ratio * d_min + tie_margin_m`` of the
    point counts as a near tie, and among those the reach with the largest upstream area
    (total upstream length where areas are unknown) wins. A gauge drawn a few dozen metres
    off the main river, next to a small tributary, thus lands on the main river.

    If the network has a ``catchment`` column (e.g. HydroBASINS), the distance is measured
    to the catchment polygons, so a point inside a catchment snaps to it at distance 0.

    Parameters
    ----------
    net
        The network.
    lon, lat
        Point in WGS84 degrees.
    tolerance_m
        Largest snapping distance.
    tie_ratio, tie_margin_m
        Define the near-tie window ``d <= tie_ratio * d_min + tie_margin_m``.
    expected_area_km2
        A published catchment area (e.g. of a gauge). When given, the reach within
        ``tolerance_m`` whose upstream area at the snapped point is closest to it (in log
        ratio) is chosen instead, as gauge snapping on coarse grids does.

    Returns
    -------
    SnapResult

    Raises
    ------
    InputError
        If the coordinates are not finite lon/lat numbers (text or a bool is refused) or
        an option is out of range or no number (text, a bool).
    EmptyResultError
        If no reach lies within ``tolerance_m``; the message gives the nearest distance.

    Examples
    --------
    A main river (reach 1, 500 km² upstream) 150 m from a point and a brook (reach 2,
    3 km²) 80 m from it: the main river wins.

    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from basingov.network import network_from_table
    >>> t = gpd.GeoDataFrame(
    ...     {"reach_id": [1, 2], "downstream_id": [-1, 1],
    ...      "upstream_area_km2": [500.0, 3.0]},
    ...     geometry=[LineString([(4e6, 3e6 - 150), (4.01e6, 3e6 - 150)]),
    ...               LineString([(4e6 + 80, 3e6), (4e6 + 80, 3e6 + 5000)])],
    ...     crs="EPSG:3035")
    >>> net = network_from_table(t)
    >>> from pyproj import Transformer
    >>> lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(4e6, 3e6)
    >>> r = snap_point(net, lon, lat)
    >>> r.reach_id, round(r.distance_m)
    (1, 150)
    """
    lon, lat = _lon_lat(lon, lat)
    options = (tolerance_m, tie_ratio, tie_margin_m)
    # text raised a raw TypeError in the comparisons
    if not all(is_real(v) for v in options) or not (
        tolerance_m > 0 and tie_ratio >= 1 and tie_margin_m >= 0
    ):
        msg = (
            "need tolerance_m > 0, tie_ratio >= 1 and tie_margin_m >= 0 (numbers); got "
            f"tolerance_m={tolerance_m!r}, tie_ratio={tie_ratio!r}, "
            f"tie_margin_m={tie_margin_m!r}"
        )
        raise InputError(msg)
    if expected_area_km2 is not None and not (is_real(expected_area_km2) and expected_area_km2 > 0):
        msg = f"expected_area_km2 must be > 0, got {expected_area_km2!r}"
        raise InputError(msg)
    if net.n == 0:
        msg = "cannot snap to an empty network"
        raise EmptyResultError(msg)
    x, y = _from_wgs84(net.crs).transform(lon, lat)
    pt = shapely.Point(x, y)
    lines = net.reaches.geometry.to_numpy()
    target = _snap_targets(net)
    tree = _tree(net, target)
    cand = tree.query(pt, predicate="dwithin", distance=tolerance_m)
    if cand.size == 0:
        msg = (
            f"no reach within {tolerance_m:g} m of ({lon}, {lat}); the nearest is "
            f"{nearest_reach_m(net, lon, lat):.0f} m away: raise the tolerance (tolerance_m=; "
            "CLI --tolerance) or check the coordinates (LON,LAT order)"
        )
        raise EmptyResultError(msg)
    d = shapely.distance(pt, target[cand])
    if expected_area_km2 is not None:
        areas = np.array([_area_at(net, lines, int(c), pt) for c in cand])
        with np.errstate(divide="ignore", invalid="ignore"):
            miss = np.abs(np.log(areas / expected_area_km2))
        miss = np.where(np.isfinite(miss), miss, np.inf)
        best_i = int(np.lexsort((d, miss))[0])
        best, dbest = int(cand[best_i]), float(d[best_i])
    else:
        dmin = float(d.min())
        ties = cand[d <= tie_ratio * dmin + tie_margin_m]
        dt = shapely.distance(pt, target[ties])
        score = _flow_score(net)[ties]
        score = np.where(np.isfinite(score), score, -np.inf)
        best_i = int(np.lexsort((dt, -score))[0])
        best, dbest = int(ties[best_i]), float(dt[best_i])
    near_pt = shapely.line_interpolate_point(
        lines[best], shapely.line_locate_point(lines[best], pt)
    )
    return SnapResult(
        reach_id=int(net.ids[best]),
        position=best,
        distance_m=dbest,
        upstream_area_km2=_area_at(net, lines, best, pt),
        x=float(shapely.get_x(near_pt)),
        y=float(shapely.get_y(near_pt)),
    )


def nearest_reach_m(net: RiverNetwork, lon: float, lat: float) -> float:
    """Distance from a lon/lat point to the nearest reach, as :func:`snap_point` measures it.

    To the reach lines, or to the catchment polygons where the network has a
    ``catchment`` column (0 inside one); NaN for an empty network.

    Parameters
    ----------
    net
        The network.
    lon, lat
        Point in WGS84 degrees (finite).

    Returns
    -------
    float
        Metres, in the network CRS.

    Raises
    ------
    InputError
        If the coordinates are not finite lon/lat numbers (text or a bool is refused), as
        in :func:`snap_point`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from pyproj import Transformer
    >>> from basingov.network import network_from_table
    >>> t = gpd.GeoDataFrame({"reach_id": [1], "downstream_id": [-1]},
    ...     geometry=[LineString([(4e6, 3e6 - 4200), (4.01e6, 3e6 - 4200)])], crs="EPSG:3035")
    >>> lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(4e6, 3e6)
    >>> round(nearest_reach_m(network_from_table(t), lon, lat))
    4200
    """
    x, y = _from_wgs84(net.crs).transform(*_lon_lat(lon, lat))
    pt = shapely.Point(x, y)
    target = _snap_targets(net)
    near = _tree(net, target).query_nearest(pt)
    return float(shapely.distance(pt, target[near[0]])) if near.size else float("nan")


def _snap_targets(net: RiverNetwork) -> np.ndarray:
    """Return what a point snaps to: the reaches' catchments where there are any, else lines."""
    if "catchment" in net.reaches.columns:
        return np.asarray(net.reaches["catchment"].to_numpy())
    return net.reaches.geometry.to_numpy()


_TRANSFORMERS: dict[tuple[str, int], Transformer] = {}


def _from_wgs84(crs: object) -> Transformer:
    """Return a WGS84 lon/lat to ``crs`` transformer, one per CRS and thread.

    Building a transformer takes longer than snapping a point; transformers are not
    shared between threads.
    """
    key = (CRS.from_user_input(crs).to_wkt(), threading.get_ident())
    tr = _TRANSFORMERS.get(key)
    if tr is None:
        if len(_TRANSFORMERS) > 64:
            _TRANSFORMERS.clear()
        tr = _TRANSFORMERS[key] = Transformer.from_crs(CRS.from_epsg(4326), crs, always_xy=True)
    return tr


def _area_at(net: RiverNetwork, lines: np.ndarray, pos: int, pt: shapely.Point) -> float:
    """Upstream area at the point of reach ``pos`` nearest to ``pt``."""
    up = float(net.reaches["upstream_area_km2"].iloc[pos])
    local = float(net.reaches["local_area_km2"].iloc[pos])
    if np.isfinite(local) and np.isfinite(up) and "catchment" not in net.reaches.columns:
        # the reach's own catchment drains in along its length: interpolate linearly
        frac = float(shapely.line_locate_point(lines[pos], pt, normalized=True))
        up = up - local * (1.0 - frac)
    return up


def _tree(net: RiverNetwork, target: np.ndarray) -> shapely.STRtree:
    cache = net.__dict__.setdefault("_strtree_cache", {})
    key = "catchment" if "catchment" in net.reaches.columns else "lines"
    if key not in cache:
        cache[key] = shapely.STRtree(target)
    return cache[key]
