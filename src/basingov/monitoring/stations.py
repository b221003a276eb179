"""Monitoring stations: read, place proxies, snap to reaches, find their crossing sections.

Reading a station table and placing its proxies (:func:`read_station_table`,
:func:`apply_proxy_locations`) live in :mod:`basingov._stations`, shared with the gauges
of ``[hydraulics] gauges_from_monitoring``; they are re-exported here.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_choice, require_columns
from basingov._stations import (
    LOCATION_STATUSES,
    PROXY_STATUSES,
    apply_proxy_locations,
    read_station_table,
)
from basingov.errors import BasingovWarning, CRSError, EmptyResultError, InputError
from basingov.io import require_projected
from basingov.network import distance_to_outlet

__all__ = [
    "LOCATION_STATUSES",
    "PROXY_STATUSES",
    "OnUnsnapped",
    "apply_proxy_locations",
    "match_sections",
    "read_station_table",
    "snap_stations",
]

logger = logging.getLogger(__name__)

#: Default largest ratio between a reach's drained area and a station's catchment area. A
#: 30 arc-second DEM network misplaces small catchments by tens of percent (the Thames
#: check in data/hydrography/thames_nrfa_check.csv has ratios 0.77-1.21 where the
#: delineation worked and 0.07 where it failed), so a factor 3 keeps the former.
DEFAULT_MAX_AREA_RATIO = 3.0

OnUnsnapped = Literal["warn", "raise", "ignore"]
_ON_UNSNAPPED: tuple[str, ...] = get_args(OnUnsnapped)


def snap_stations(
    stations: gpd.GeoDataFrame,
    net: Any,
    pieces: gpd.GeoDataFrame,
    *,
    levels: list[str],
    max_distance_m: float,
    area_column: str | None = None,
    max_area_ratio: float = DEFAULT_MAX_AREA_RATIO,
    jurisdictions: gpd.GeoDataFrame | None = None,
    on_unsnapped: OnUnsnapped = "warn",
) -> gpd.GeoDataFrame:
    """Snap stations to reaches and give each its jurisdiction at every level.

    Each located station goes to a reach within ``max_distance_m``: the reach whose
    upstream area at the snapped point is closest (in log ratio) to the station's
    catchment area (``area_column``) where that is known, as
    :func:`basingov.navigation.snap_point` does for gauges, else the nearest reach (a
    station on a tributary beside a main river stays on the tributary). A station whose
    best reach drains more than ``max_area_ratio`` times more or less than its catchment
    is left unsnapped: the network has no stream of its size there. Its jurisdictions
    are those of the overlay piece it lands on; a station left unsnapped but located
    gets those of the polygons it lies in.

    Parameters
    ----------
    stations
        Stations with point geometries (any CRS; empty where unlocated).
    net
        The :class:`basingov.network.RiverNetwork`.
    pieces
        The overlay's pieces (``reach_id, fraction_start, fraction_end, jur_<level>,
        name_<level>``).
    levels
        Jurisdiction level names.
    max_distance_m
        Largest snapping distance.
    area_column
        Column of ``stations`` with a catchment area in km² (e.g. the proxy gauge's).
    max_area_ratio
        Largest ratio between the snapped reach's upstream area and the station's
        catchment area (either way).
    jurisdictions
        Jurisdiction polygons (``jur_id, name, level_name``) for unsnapped stations.
    on_unsnapped
        ``"warn"`` (one :class:`~basingov.errors.BasingovWarning` listing every station
        left unsnapped), ``"raise"`` (:class:`~basingov.errors.EmptyResultError`) or
        ``"ignore"``.

    Returns
    -------
    geopandas.GeoDataFrame
        The stations in the network CRS with ``snapped, reach_id, snap_distance_m,
        snap_method, fraction, distance_to_outlet_km, upstream_area_km2, snap_x,
        snap_y, snap_checked, jur_<level>, name_<level>, jurisdiction_source``.
        ``snap_checked`` is False for a proxy location snapped without a catchment area
        to confirm the river: it may sit on a neighbouring river.

    Raises
    ------
    InputError
        On a bad option or a missing column.
    EmptyResultError
        If ``on_unsnapped="raise"`` and a station is left unsnapped.
    """
    check_choice(on_unsnapped, _ON_UNSNAPPED, name="on_unsnapped")
    if not max_distance_m > 0:
        msg = f"max_distance_m must be > 0, got {max_distance_m}"
        raise InputError(msg)
    if area_column is not None and area_column not in stations.columns:
        msg = (
            f"the station table has no area column {area_column!r} ([monitoring].area_column); "
            f"its columns are {list(stations.columns)}"
        )
        raise InputError(msg)
    crs = require_projected(net.reaches, what="the river network")

    if stations.crs is None:
        msg = "the station table has no CRS; read it with read_station_table (EPSG:4326)"
        raise CRSError(msg)
    st = stations.to_crs(crs)
    pts = st.geometry.to_numpy()
    located = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    n = len(st)
    ids = st["station_id"].astype(str).to_numpy()
    exp = (
        pd.to_numeric(st[area_column], errors="coerce").to_numpy(dtype=np.float64)
        if area_column is not None
        else np.full(n, np.nan)
    )
    has_area = np.isfinite(exp) & (exp > 0)
    up = net.reaches["upstream_area_km2"].to_numpy(dtype=np.float64)
    if not np.isfinite(up).all():  # a network without drained areas cannot check them
        has_area[:] = False
    lines = net.reaches.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    li = np.flatnonzero(located)
    qi, ri = tree.query(pts[li], predicate="dwithin", distance=max_distance_m)
    qi = li[qi]
    d = shapely.distance(pts[qi], lines[ri])
    frac_c = shapely.line_locate_point(lines[ri], pts[qi], normalized=True)
    local = (
        net.reaches["local_area_km2"].to_numpy(dtype=np.float64)
        if "local_area_km2" in net.reaches
        else np.zeros(net.n)
    )
    # upstream area at the point: the reach's own local area drains in along its length
    a_c = up[ri] - np.where(np.isfinite(local[ri]), local[ri], 0.0) * (1.0 - frac_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        miss = np.where(has_area[qi], np.abs(np.log(a_c / exp[qi])), 0.0)
    miss = np.where(np.isfinite(miss), miss, np.inf)
    order = np.lexsort((d, miss, qi))
    first = order[np.r_[True, qi[order][1:] != qi[order][:-1]]] if order.size else order
    pos = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    area = np.full(n, np.nan)
    frac = np.full(n, np.nan)
    method = np.full(n, "", dtype=object)
    far: list[str] = []
    mismatch: list[str] = []
    best_q = qi[first]
    ratio = a_c[first] / np.where(has_area[best_q], exp[best_q], np.nan)
    bad = has_area[best_q] & ~((ratio >= 1 / max_area_ratio) & (ratio <= max_area_ratio))
    for k in np.flatnonzero(bad):
        i = best_q[k]
        mismatch.append(
            f"{ids[i]} ({exp[i]:g} km2; best reach within {max_distance_m:g} m drains "
            f"{a_c[first[k]]:.4g} km2)"
        )
    good = first[~bad]
    gi = qi[good]
    pos[gi], dist[gi], area[gi], frac[gi] = ri[good], d[good], a_c[good], frac_c[good]
    method[gi] = np.where(has_area[gi], "catchment area", "nearest reach")
    near_none = np.setdiff1d(li, qi)
    if near_none.size:
        nq = tree.query_nearest(pts[near_none], return_distance=True, all_matches=False)
        for j, dd in zip(nq[0][0], nq[1], strict=True):
            far.append(f"{ids[near_none[j]]} ({dd / 1000:.1f} km)")
    snapped = pos >= 0
    reach_id = np.where(snapped, net.ids[np.maximum(pos, 0)], -1)
    sp = np.flatnonzero(snapped)
    snap_pt = shapely.line_interpolate_point(lines[pos[sp]], frac[sp], normalized=True)
    sx = np.full(n, np.nan)
    sy = np.full(n, np.nan)
    sx[sp], sy[sp] = shapely.get_x(snap_pt), shapely.get_y(snap_pt)
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    d_end = distance_to_outlet(net)
    dto = np.full(n, np.nan)
    dto[sp] = d_end[pos[sp]] + length[pos[sp]] * (1.0 - frac[sp])
    out = st.copy()
    out["snapped"] = snapped
    out["reach_id"] = pd.array(np.where(snapped, reach_id, 0), dtype="Int64")
    out.loc[~snapped, "reach_id"] = pd.NA
    out["snap_distance_m"] = dist
    out["snap_method"] = method
    out["fraction"] = frac
    out["distance_to_outlet_km"] = dto
    out["upstream_area_km2"] = area
    out["snap_x"] = sx
    out["snap_y"] = sy
    status = out["location_status"].astype(str) if "location_status" in out else pd.Series("")
    proxy = status.isin(list(PROXY_STATUSES)).to_numpy()
    out["snap_checked"] = snapped & ((method == "catchment area") | ~proxy)
    _add_jurisdictions(out, pieces, levels, reach_id, frac, snapped, jurisdictions)
    unlocated = [str(s) for s in ids[~located]]
    if far or mismatch or unlocated:
        parts = []
        if far:
            parts.append(
                f"{len(far)} more than {max_distance_m:g} m from any reach (nearest reach): "
                + ", ".join(far)
            )
        if mismatch:
            parts.append(
                f"{len(mismatch)} with no reach draining within a factor {max_area_ratio:g} "
                "of their catchment area: " + ", ".join(mismatch)
            )
        if unlocated:
            parts.append(f"{len(unlocated)} without coordinates: " + ", ".join(unlocated))
        total = len(far) + len(mismatch) + len(unlocated)
        msg = f"{total} of {n} station(s) left unsnapped; " + "; ".join(parts)
        if on_unsnapped == "raise":
            raise EmptyResultError(msg)
        if on_unsnapped == "warn":
            warnings.warn(msg, BasingovWarning, stacklevel=2)
        logger.info(msg)
    return out


def _add_jurisdictions(
    out: gpd.GeoDataFrame,
    pieces: gpd.GeoDataFrame,
    levels: list[str],
    reach_id: np.ndarray,
    frac: np.ndarray,
    snapped: np.ndarray,
    jurisdictions: gpd.GeoDataFrame | None,
) -> None:
    """Fill ``jur_<level>``, ``name_<level>`` and ``jurisdiction_source`` in place."""
    need = ["reach_id", "fraction_start", "fraction_end"]
    need += [f"{p}_{lv}" for lv in levels for p in ("jur", "name")]
    require_columns(pieces, need, what="the overlay's piece table")
    n = len(out)
    piece_row = np.full(n, -1, dtype=np.int64)
    pr = pieces["reach_id"].to_numpy(dtype=np.int64)
    fs = pieces["fraction_start"].to_numpy(dtype=np.float64)
    fe = pieces["fraction_end"].to_numpy(dtype=np.float64)
    # each reach's pieces in table order: a stable sort by reach, sliced per station
    by_reach = np.argsort(pr, kind="stable")
    sorted_pr = pr[by_reach]
    lo = np.searchsorted(sorted_pr, reach_id, side="left")
    hi = np.searchsorted(sorted_pr, reach_id, side="right")
    for i in np.flatnonzero(snapped):
        rows = by_reach[lo[i] : hi[i]].tolist()
        if not rows:
            continue
        f = frac[i]
        inside = [r for r in rows if fs[r] - 1e-9 <= f <= fe[r] + 1e-9]
        if inside:
            piece_row[i] = inside[0]
        else:  # a point on a reach end that the overlay clipped away: nearest piece
            piece_row[i] = min(rows, key=lambda r: min(abs(fs[r] - f), abs(fe[r] - f)))
    has = piece_row >= 0
    src = np.where(has, "snapped reach piece", "").astype(object)
    out["piece_id"] = pd.array(
        np.where(has, pieces["piece_id"].to_numpy()[np.maximum(piece_row, 0)], 0), dtype="Int64"
    )
    out.loc[~has, "piece_id"] = pd.NA
    for lv in levels:
        for p in ("jur", "name"):
            col = pieces[f"{p}_{lv}"].astype(object).to_numpy()
            vals = np.where(has, col[np.maximum(piece_row, 0)], "")
            out[f"{p}_{lv}"] = vals
    if jurisdictions is not None:
        geoms = out.geometry.to_numpy()
        todo = np.flatnonzero(~has & ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        if todo.size:
            jur = jurisdictions.to_crs(out.crs)
            for lv in levels:
                poly = jur[jur["level_name"] == lv]
                tree = shapely.STRtree(poly.geometry.to_numpy())
                qi, pj = tree.query(geoms[todo], predicate="within")
                first = pd.Series(pj, index=qi).groupby(level=0).first()
                rows = todo[first.index.to_numpy()]
                out.loc[out.index[rows], f"jur_{lv}"] = (
                    poly["jur_id"].astype(str).to_numpy()[first.to_numpy()]
                )
                out.loc[out.index[rows], f"name_{lv}"] = (
                    poly["name"].astype(str).to_numpy()[first.to_numpy()]
                )
                src[rows] = "station point in polygon"
    out["jurisdiction_source"] = src


def match_sections(
    stations: gpd.GeoDataFrame,
    crossings: gpd.GeoDataFrame,
    net: Any,
    *,
    tolerance_m: float,
) -> pd.DataFrame:
    """Pair snapped stations with the crossing sections within a distance along the river.

    A station and a crossing are paired when one lies downstream of the other along the
    main links (``idx_ds``) and the distance between them along the river is at most
    ``tolerance_m``. The station then monitors that border: upstream of the crossing it
    samples the water leaving ``from_jur``, downstream the water entering ``to_jur``.

    Parameters
    ----------
    stations
        Output of :func:`snap_stations`.
    crossings
        The overlay's crossings (``crossing_id, level_name, from_jur, to_jur, reach_id,
        fraction, distance_to_outlet_km``, point geometry in the network CRS).
    net
        The :class:`basingov.network.RiverNetwork`.
    tolerance_m
        Largest distance along the river.

    Returns
    -------
    pandas.DataFrame
        ``station_id, crossing_id, level, level_name, from_jur, to_jur, along_river_m,
        station_side`` (``"upstream"`` or ``"downstream"`` of the crossing).
    """
    cols = [
        "station_id",
        "crossing_id",
        "level",
        "level_name",
        "from_jur",
        "to_jur",
        "along_river_m",
        "station_side",
    ]
    if not tolerance_m >= 0:
        msg = f"the section tolerance must be >= 0 m, got {tolerance_m}"
        raise InputError(msg)
    st = stations[stations["snapped"].to_numpy(dtype=bool)]
    if st.empty or crossings.empty:
        return pd.DataFrame(columns=cols)
    cpos = net.position(crossings["reach_id"].to_numpy())
    cdto = crossings["distance_to_outlet_km"].to_numpy(dtype=np.float64)
    cfrac = crossings["fraction"].to_numpy(dtype=np.float64)
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)

    d_end = distance_to_outlet(net)
    tol_km = tolerance_m / 1000.0
    pts = shapely.points(st["snap_x"].to_numpy(), st["snap_y"].to_numpy())
    tree = shapely.STRtree(crossings.geometry.to_numpy())
    si, ci = tree.query(pts, predicate="dwithin", distance=tolerance_m + 1e-6)
    spos = net.position(st["reach_id"].to_numpy(dtype=np.int64))
    sdto = st["distance_to_outlet_km"].to_numpy(dtype=np.float64)
    sfrac = st["fraction"].to_numpy(dtype=np.float64)

    def below(p: int, start_km: float) -> set[int]:
        """Reaches downstream of reach ``p`` whose upper end is within the tolerance."""
        seen: set[int] = set()
        q = int(idx_ds[p])
        while q >= 0 and q not in seen and start_km - (d_end[q] + length[q]) <= tol_km + 1e-9:
            seen.add(q)
            q = int(idx_ds[q])
        return seen

    rows = []
    for s, c in zip(si, ci, strict=True):
        p, rc = int(spos[s]), int(cpos[c])
        if rc == p:
            side = "upstream" if cfrac[c] >= sfrac[s] else "downstream"
        elif rc in below(p, sdto[s]):
            side = "upstream"
        elif p in below(rc, cdto[c]):
            side = "downstream"
        else:
            continue
        along = abs(sdto[s] - cdto[c]) * 1000.0
        if along > tolerance_m + 1e-6:
            continue
        x = crossings.iloc[c]
        rows.append(
            {
                "station_id": st["station_id"].iloc[s],
                "crossing_id": x["crossing_id"],
                "level": int(x["level"]),
                "level_name": x["level_name"],
                "from_jur": x["from_jur"],
                "to_jur": x["to_jur"],
                "along_river_m": along,
                "station_side": side,
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["level", "crossing_id", "along_river_m", "station_id"]).reset_index(
        drop=True
    )
