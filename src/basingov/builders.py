"""Network builders: next-down ids, from/to nodes, undirected lines plus an outlet, and a DEM.

Every builder returns a validated :class:`~basingov.network.RiverNetwork` in the requested
projected CRS, through :func:`~basingov.network.network_from_table`.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.network import OUTLET_ID, RiverNetwork, _int_column, network_from_table

if TYPE_CHECKING:
    from basingov.config import HydraulicsSection, NetworkSection

__all__ = [
    "apportion_area",
    "build_network",
    "from_dem",
    "from_lines_outlet",
    "from_next_down",
    "from_to_nodes",
]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------
def _target_crs(crs: Any) -> CRS:
    try:
        out = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError subclasses
        msg = f"cannot interpret crs={crs!r}: {exc}"
        raise CRSError(msg) from exc
    if out.is_geographic:
        msg = (
            f"crs={crs!r} is geographic; builders need a projected CRS for lengths and "
            "areas, e.g. the basin's configured CRS or gdf.estimate_utm_crs()"
        )
        raise CRSError(msg)
    return out


def _project(gdf: gpd.GeoDataFrame, crs: CRS, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{what} must be a GeoDataFrame, got {type(gdf).__name__}"
        raise InputError(msg)
    if gdf.crs is None:
        msg = f"{what} has no CRS; set it first, e.g. gdf.set_crs('EPSG:4326')"
        raise CRSError(msg)
    if len(gdf) == 0:
        msg = f"{what} is empty: no features to build a network from"
        raise InputError(msg)
    missing_geom = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing_geom.any():
        msg = (
            f"{what} has {int(missing_geom.sum())} feature(s) without geometry at row(s) "
            f"{np.flatnonzero(missing_geom.to_numpy())[:20].tolist()}"
        )
        raise InputError(msg)
    return gdf.to_crs(crs).reset_index(drop=True)


def _require(gdf: gpd.GeoDataFrame, cols: list[str | None], what: str) -> None:
    missing = [c for c in cols if c is not None and c not in gdf.columns]
    if missing:
        msg = (
            f"{what} lacks column(s) {missing}; available columns are "
            f"{sorted(map(str, gdf.columns.drop(gdf.geometry.name)))}"
        )
        raise InputError(msg)


def _lines_only(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Merge multi-part lines where possible, then explode; keep the source row number."""
    types = set(gdf.geom_type.unique())
    bad = types - {"LineString", "MultiLineString"}
    if bad:
        msg = f"{what} must hold (Multi)LineStrings, got {sorted(bad)}"
        raise InputError(msg)
    g = gdf.copy()
    g["source_row"] = np.arange(len(g))
    multi = g.geom_type == "MultiLineString"
    if multi.any():
        g.loc[multi, g.geometry.name] = shapely.line_merge(g.geometry[multi].to_numpy())
    g = g.explode(index_parts=False).reset_index(drop=True)
    g = g[g.geom_type == "LineString"]
    return g[g.geometry.length > 0].reset_index(drop=True)


def _cluster_points(xy: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Label points so that points within ``tolerance_m`` (transitively) share a label."""
    n = xy.shape[0]
    if tolerance_m <= 0:
        _, lab = np.unique(xy, axis=0, return_inverse=True)
        return np.asarray(lab, dtype=np.int64).ravel()
    pairs = cKDTree(xy).query_pairs(tolerance_m, output_type="ndarray")
    g = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, lab = csgraph.connected_components(g, directed=False)
    return lab.astype(np.int64)


def _endpoints(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    last = shapely.get_coordinates(shapely.get_point(lines, -1))
    return first, last


def _name_col(g: gpd.GeoDataFrame, name_column: str | None) -> gpd.GeoDataFrame:
    if name_column is not None and name_column != "name":
        g = g.rename(columns={name_column: "name"})
    return g


def _measured_discharge(g: pd.DataFrame, column: str | None, what: str) -> np.ndarray | None:
    """Measured discharge (m³/s) from ``column``; negative values (nodata, e.g. -9999) are NaN."""
    if column is None:
        return None
    col = g[column]
    if not pd.api.types.is_numeric_dtype(col):
        msg = f"{what}: discharge_column {column!r} must be numeric (m3/s), got dtype {col.dtype}"
        raise InputError(msg)
    q = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(q >= 0, q, np.nan)


def _set_discharge(table: pd.DataFrame, q: np.ndarray | None) -> None:
    """Write measured discharge into ``discharge_m3s`` and say where it came from."""
    if q is None:
        return
    table["discharge_m3s"] = q
    table["discharge_source"] = np.where(np.isnan(q), "estimated", "measured")


def _check_tolerance(tolerance_m: float) -> None:
    if not tolerance_m >= 0:
        msg = f"tolerance_m must be >= 0 metres, got {tolerance_m}"
        raise InputError(msg)


# ----------------------------------------------------------------------------------------
# next-down (HydroBASINS, HydroRIVERS)
# ----------------------------------------------------------------------------------------
def from_next_down(
    gdf: gpd.GeoDataFrame,
    *,
    id_column: str,
    next_down_column: str,
    area_column: str | None = None,
    upstream_area_column: str | None = None,
    discharge_column: str | None = None,
    outlet_value: int = 0,
    crs: Any,
    name_column: str | None = None,
    hydraulics: HydraulicsSection | None = None,
    source: str = "",
) -> RiverNetwork:
    """Build a network from an id and a next-downstream id per feature.

    This is the HydroSHEDS model: HydroRIVERS (``HYRIV_ID``/``NEXT_DOWN``, lines) and
    HydroBASINS (``HYBAS_ID``/``NEXT_DOWN``, polygons), with ``0`` at outlets.

    Lines are kept as the reach geometry. For polygons (sub-catchments) the polygon is
    kept in a ``catchment`` column and the reach geometry is a schematic flow line from
    the polygon's representative point to that of the downstream polygon (for an outlet,
    to the nearest point of its own boundary); ``length_km`` is then that line's length,
    not a river length.

    Parameters
    ----------
    gdf
        One feature per reach or sub-catchment, with a CRS. Not modified.
    id_column, next_down_column
        Integer id and next-downstream id columns.
    area_column
        Local (sub-catchment) area in km², e.g. ``SUB_AREA`` or HydroRIVERS
        ``CATCH_SKM``. Without it, polygon areas are measured in ``crs``; lines get NaN.
    upstream_area_column
        A published upstream area (e.g. ``UP_AREA``), kept for comparison as
        ``upstream_area_reported_km2``; ``upstream_area_km2`` is always accumulated from
        the local areas.
    discharge_column
        Measured mean discharge in m³/s, e.g. HydroRIVERS ``DIS_AV_CMS``: copied to
        ``discharge_m3s`` (``discharge_source = "measured"``) and used for the velocity;
        missing or negative values are estimated from upstream area (``"estimated"``).
    outlet_value
        Next-down value at outlets.
    crs
        Projected CRS for the network.
    name_column
        Optional column copied to ``name``.
    hydraulics
        Discharge and velocity overrides.
    source
        Free text describing the source.

    Returns
    -------
    RiverNetwork

    Raises
    ------
    InputError
        On missing columns or an empty layer.
    CRSError
        If ``gdf`` has no CRS or ``crs`` is geographic.
    TopologyError
        On invalid topology (see :func:`~basingov.network.network_from_table`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"HYBAS_ID": [11, 12, 13], "NEXT_DOWN": [13, 13, 0],
    ...     "SUB_AREA": [1.0, 2.0, 3.0]},
    ...     geometry=[box(0, 1, 1, 2), box(1, 1, 2, 2), box(0, 0, 2, 1)], crs="EPSG:4326")
    >>> net = from_next_down(g, id_column="HYBAS_ID", next_down_column="NEXT_DOWN",
    ...     area_column="SUB_AREA", crs="EPSG:3035")
    >>> net.reaches["upstream_area_km2"].tolist()
    [1.0, 2.0, 6.0]
    """
    target = _target_crs(crs)
    _require(
        gdf,
        [id_column, next_down_column, area_column, upstream_area_column, discharge_column],
        "the layer",
    )
    g = _project(gdf, target, "the next-down layer")
    g = _name_col(g, name_column)
    geom_types = set(g.geom_type.unique())
    polys = geom_types <= {"Polygon", "MultiPolygon"}
    if not polys and not geom_types <= {"LineString", "MultiLineString"}:
        msg = f"the next-down layer must hold only lines or only polygons, got {sorted(geom_types)}"
        raise InputError(msg)
    out = pd.DataFrame(
        {
            "reach_id": _int_column(g[id_column], id_column),
            "downstream_id": _int_column(g[next_down_column], next_down_column),
        }
    )
    dropped = {id_column, next_down_column, area_column, upstream_area_column, discharge_column}
    if discharge_column is not None:  # the measured column replaces any discharge_m3s
        dropped.add("discharge_m3s")
    extras = g.drop(columns=[c for c in dropped if c and c in g.columns])
    _set_discharge(out, _measured_discharge(g, discharge_column, "the next-down layer"))
    if area_column is not None:
        out["local_area_km2"] = g[area_column].to_numpy(dtype=np.float64)
    elif polys:
        out["local_area_km2"] = g.geometry.area.to_numpy() / 1e6
    if upstream_area_column is not None:
        out["upstream_area_reported_km2"] = g[upstream_area_column].to_numpy(dtype=np.float64)
    if polys:
        rep = shapely.point_on_surface(g.geometry.to_numpy())
        ids = out["reach_id"].to_numpy()
        ds = out["downstream_id"].to_numpy()
        sorter = np.argsort(ids)
        pos = np.clip(np.searchsorted(ids, ds, sorter=sorter), 0, len(ids) - 1)
        dpos = sorter[pos]
        known = ids[dpos] == ds
        boundary_pt = shapely.get_point(
            shapely.shortest_line(rep, shapely.boundary(g.geometry.to_numpy())), 1
        )
        end = np.where(known, rep[dpos], boundary_pt)
        lines = shapely.linestrings(
            np.stack([shapely.get_coordinates(rep), shapely.get_coordinates(end)], axis=1)
        )
        table = gpd.GeoDataFrame(
            pd.concat([out, extras.drop(columns=g.geometry.name)], axis=1),
            geometry=lines,
            crs=target,
        )
        table["catchment"] = gpd.GeoSeries(g.geometry.to_numpy(), crs=target)
    else:
        table = gpd.GeoDataFrame(
            pd.concat([out, extras.drop(columns=g.geometry.name)], axis=1),
            geometry=g.geometry.to_numpy(),
            crs=target,
        )
    return network_from_table(
        table,
        outlet_value=outlet_value,
        hydraulics=hydraulics,
        source=source or "next-down ids",
        derived=False,
    )


# ----------------------------------------------------------------------------------------
# from/to nodes (NHDPlus, CCM2, NFGIS)
# ----------------------------------------------------------------------------------------
def from_to_nodes(
    gdf: gpd.GeoDataFrame,
    *,
    from_node_column: str | None = None,
    to_node_column: str | None = None,
    id_column: str | None = None,
    tolerance_m: float = 1.0,
    crs: Any,
    name_column: str | None = None,
    area_column: str | None = None,
    discharge_column: str | None = None,
    allow_cycles: bool = False,
    hydraulics: HydraulicsSection | None = None,
    source: str = "",
) -> RiverNetwork:
    """Build a network from line segments digitised in flow direction.

    A segment drains into the segment(s) starting where it ends. Node ids come from
    ``from_node_column``/``to_node_column`` (NHDPlus/NFGIS ``FNODE_``/``TNODE_``) or, when
    these are not given, from the segments' end points: end points within ``tolerance_m``
    of each other are one node (CCM2-style: a segment's last vertex is the next segment's
    first vertex).

    Where several segments start at a segment's end node the flow splits between them:
    this is recorded as a bifurcation with equal fractions (an assumption: the data give
    no split), the main branch being the longest segment.

    Parameters
    ----------
    gdf
        (Multi)LineStrings with a CRS, digitised from upstream to downstream.
    from_node_column, to_node_column
        Node id columns; give both or neither.
    id_column
        Reach id column; default: numbers 1..n in input order. Multi-part lines are
        exploded; their parts get new ids and keep ``source_row``.
    tolerance_m
        Snapping distance for end points (used without node columns).
    crs
        Projected CRS for the network.
    name_column, area_column
        Optional name and local-area (km²) columns.
    discharge_column
        Measured mean discharge in m³/s, e.g. HydroRIVERS ``DIS_AV_CMS``: copied to
        ``discharge_m3s`` (``discharge_source = "measured"``) and used for the velocity;
        missing or negative values are estimated from upstream area (``"estimated"``).
    allow_cycles
        Keep cycles (they need bifurcations, i.e. split nodes, to be legal).
    hydraulics
        Discharge and velocity overrides.
    source
        Free text describing the source.

    Returns
    -------
    RiverNetwork

    Raises
    ------
    InputError
        On missing columns, non-line geometries, a single node column, or bad tolerance.
    CRSError
        If ``gdf`` has no CRS or ``crs`` is geographic.
    TopologyError
        On cycles (segments not all digitised downstream) or other invalid topology.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> g = gpd.GeoDataFrame(geometry=[LineString([(0, 1000), (1000, 0)]),
    ...     LineString([(2000, 1000), (1000, 0)]), LineString([(1000, 0), (1000, -1000)])],
    ...     crs="EPSG:3035")
    >>> from_to_nodes(g, crs="EPSG:3035").reaches["downstream_id"].tolist()
    [3, 3, -1]
    """
    target = _target_crs(crs)
    _check_tolerance(tolerance_m)
    if (from_node_column is None) != (to_node_column is None):
        msg = "give both from_node_column and to_node_column, or neither (end-point chaining)"
        raise InputError(msg)
    _require(
        gdf,
        [from_node_column, to_node_column, id_column, name_column, area_column, discharge_column],
        "the layer",
    )
    g = _lines_only(_project(gdf, target, "the from/to-node layer"), "the from/to-node layer")
    g = _name_col(g, name_column)
    n = len(g)
    exploded = g["source_row"].duplicated(keep=False).any()
    if id_column is not None and not exploded:
        ids = g[id_column].to_numpy(dtype=np.int64)
    else:
        ids = np.arange(1, n + 1, dtype=np.int64)
    if from_node_column is not None and to_node_column is not None:
        fnode = g[from_node_column].to_numpy(dtype=np.int64)
        tnode = g[to_node_column].to_numpy(dtype=np.int64)
    else:
        first, last = _endpoints(g.geometry.to_numpy())
        lab = _cluster_points(np.concatenate([first, last]), tolerance_m)
        fnode, tnode = lab[:n], lab[n:]
    ring = fnode == tnode
    if ring.any():
        warnings.warn(
            f"{int(ring.sum())} segment(s) start and end at the same node (closed rings, "
            f"e.g. lake shores or double-line banks) and were dropped: reach id(s) "
            f"{ids[ring][:20].tolist()}",
            BasingovWarning,
            stacklevel=2,
        )
        keep = ~ring
        g, ids, fnode, tnode = g[keep].reset_index(drop=True), ids[keep], fnode[keep], tnode[keep]
    length = g.geometry.length.to_numpy()
    ds, bif = _link_by_nodes(ids, fnode, tnode, length)
    table = g.drop(columns=list({c for c in (id_column, area_column, discharge_column) if c}))
    table.insert(0, "reach_id", ids)
    table.insert(1, "downstream_id", ds)
    table["from_node"] = fnode
    table["to_node"] = tnode
    if area_column is not None:
        table["local_area_km2"] = g[area_column].to_numpy(dtype=np.float64)
    _set_discharge(table, _measured_discharge(g, discharge_column, "the from/to-node layer"))
    return network_from_table(
        table,
        bifurcations=bif,
        allow_cycles=allow_cycles,
        hydraulics=hydraulics,
        source=source or "from/to nodes",
        derived=False,
    )


def _link_by_nodes(
    ids: np.ndarray, fnode: np.ndarray, tnode: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Downstream ids (main branch) and a bifurcation table from node ids."""
    # segments sorted by from-node, longest first within a node (main branch first)
    srt = np.lexsort((-length, fnode))
    fs = fnode[srt]
    lo = np.searchsorted(fs, tnode, side="left")
    hi = np.searchsorted(fs, tnode, side="right")
    cnt = hi - lo
    ds = np.where(cnt > 0, ids[srt[np.minimum(lo, len(ids) - 1)]], OUTLET_ID).astype(np.int64)
    split = np.flatnonzero(cnt > 1)
    if split.size == 0:
        return ds, None
    rep = cnt[split]
    src = np.repeat(split, rep)
    offs = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
    dst = srt[np.repeat(lo[split], rep) + offs]
    bif = pd.DataFrame(
        {
            "reach_id": ids[src],
            "downstream_id": ids[dst],
            "fraction": 1.0 / np.repeat(rep, rep),
        }
    )
    return ds, bif


# ----------------------------------------------------------------------------------------
# undirected lines + outlet
# ----------------------------------------------------------------------------------------
def _split_at_junctions(g: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Split lines where another line's end point touches their interior (T-junctions)."""
    lines = g.geometry.to_numpy()
    n = lines.shape[0]
    first, last = _endpoints(lines)
    pts = np.asarray(shapely.points(np.concatenate([first, last])))
    owner = np.concatenate([np.arange(n), np.arange(n)])
    tree = shapely.STRtree(lines)
    pi, li = tree.query(pts, predicate="dwithin", distance=max(tolerance_m, 1e-6))
    keep = owner[pi] != li
    pi, li = pi[keep], li[keep]
    d: np.ndarray = np.asarray(shapely.line_locate_point(lines[li], pts[pi]))
    total = np.asarray(shapely.length(lines[li]))
    margin = max(tolerance_m, 1e-6)
    inner = (d > margin) & (d < total - margin)
    li, d = li[inner], d[inner]
    # X-crossings: lines whose interiors intersect
    ia, ib = tree.query(lines, predicate="intersects")
    pair = ia < ib
    ia, ib = ia[pair], ib[pair]
    if ia.size:
        inter = shapely.intersection(lines[ia], lines[ib])
        xy, which = shapely.get_coordinates(inter, return_index=True)
        xpts = np.asarray(shapely.points(xy))
        for side in (ia[which], ib[which]):
            dd = np.asarray(shapely.line_locate_point(lines[side], xpts))
            tot = np.asarray(shapely.length(lines[side]))
            ok = (dd > margin) & (dd < tot - margin)
            li = np.concatenate([li, side[ok]])
            d = np.concatenate([d, dd[ok]])
    if li.size == 0:
        return g
    cuts = pd.DataFrame({"line": li, "d": d}).drop_duplicates().sort_values(["line", "d"])
    pieces: list[Any] = []
    rows: list[int] = []
    by_line = {int(str(k)): v["d"].to_numpy() for k, v in cuts.groupby("line")}
    for i in range(n):
        ds = by_line.get(i)
        if ds is None:
            pieces.append(lines[i])
            rows.append(i)
            continue
        bounds = np.concatenate([[0.0], ds, [shapely.length(lines[i])]])
        for a, b in itertools.pairwise(bounds):
            if b - a > 0:
                pieces.append(shapely.ops.substring(lines[i], a, b))
                rows.append(i)
    out = g.iloc[rows].copy()
    out = out.set_geometry(np.asarray(pieces, dtype=object)).reset_index(drop=True)
    return out


def from_lines_outlet(
    gdf: gpd.GeoDataFrame,
    *,
    outlet: Any,
    tolerance_m: float = 100.0,
    crs: Any,
    name_column: str | None = None,
    discharge_column: str | None = None,
    split_at_junctions: bool = True,
    outlet_tolerance_m: float = 100_000.0,
    disconnected: Literal["keep", "drop"] = "keep",
    hydraulics: HydraulicsSection | None = None,
    source: str = "",
) -> RiverNetwork:
    """Build a network from lines without direction, oriented towards a known outlet.

    1. Multi-part lines are merged and exploded; with ``split_at_junctions`` a line is
       cut where another line's end point touches its interior (T-junctions, common in
       Natural Earth and DCW data).
    2. End points within ``tolerance_m`` become one node.
    3. The outlet node is the node nearest to ``outlet``. A shortest-path search
       (Dijkstra, by length) from it gives each node its distance to the outlet; every
       line is oriented from its farther to its nearer end, and drains into the line that
       leads from its nearer end towards the outlet. Loops (braided or plain networks such
       as Taihu's) are thereby cut: each line still drains, but no water is split.
    4. Several lines meeting at the outlet node: the one with the largest upstream length
       is the outlet reach and the others drain into it.

    Pieces not connected to the outlet (gaps wider than ``tolerance_m`` are common in
    generalised maps) trigger a :class:`~basingov.errors.BasingovWarning` giving their
    sizes. With ``disconnected="keep"`` (default) each such piece is oriented the same way
    towards its own node nearest to the basin outlet, and drains out there (its own
    outlet); with ``"drop"`` the pieces are removed and the network has one outlet. The
    column ``piece`` is 0 for the piece connected to the outlet. An outlet farther than
    5 km from every line gives a warning (the network's outlet is then the nearest line).
    The network is ``derived=True``; each reach's geometry is reversed where needed so
    that it runs downstream.

    Parameters
    ----------
    gdf
        (Multi)LineStrings with a CRS.
    outlet
        ``(lon, lat)`` in WGS84, or a shapely Point in ``crs``.
    tolerance_m
        Distance within which end points are snapped into one node.
    crs
        Projected CRS for the network.
    name_column
        Optional column copied to ``name``.
    discharge_column
        Measured mean discharge in m³/s, e.g. HydroRIVERS ``DIS_AV_CMS``: copied to
        ``discharge_m3s`` (``discharge_source = "measured"``) and used for the velocity;
        a line cut into pieces gives each piece its value; missing or negative values
        are estimated from upstream area (``"estimated"``).
    split_at_junctions
        Cut lines at T-junctions before building nodes.
    outlet_tolerance_m
        Largest allowed distance between ``outlet`` and the nearest line.
    disconnected
        ``"keep"`` or ``"drop"`` the pieces not connected to the outlet.
    hydraulics
        Discharge and velocity overrides.
    source
        Free text describing the source.

    Returns
    -------
    RiverNetwork

    Raises
    ------
    InputError
        On non-line geometries, bad tolerances, or an outlet farther than
        ``outlet_tolerance_m`` from every line end.
    CRSError
        If ``gdf`` has no CRS or ``crs`` is geographic.

    Examples
    --------
    Three lines drawn in arbitrary directions around a confluence at (0, 0):

    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> g = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (-1000, 1000)]),
    ...     LineString([(1000, 1000), (0, 0)]), LineString([(0, 0), (0, -2000)])],
    ...     crs="EPSG:3035")
    >>> net = from_lines_outlet(g, outlet=Point(0, -2000), crs="EPSG:3035")
    >>> net.reaches["downstream_id"].tolist()
    [3, 3, -1]
    >>> net.reaches.geometry.iloc[0].coords[-1]
    (0.0, 0.0)
    """
    target = _target_crs(crs)
    _check_tolerance(tolerance_m)
    if disconnected not in ("keep", "drop"):
        msg = f"disconnected must be one of ['keep', 'drop'], got {disconnected!r}"
        raise InputError(msg)
    _require(gdf, [name_column, discharge_column], "the line layer")
    g = _lines_only(_project(gdf, target, "the line layer"), "the line layer")
    g = _name_col(g, name_column)
    if split_at_junctions:
        g = _split_at_junctions(g, tolerance_m)
    # outlet point, in the target CRS
    if isinstance(outlet, shapely.Point):
        ox, oy = outlet.x, outlet.y
    else:
        try:
            lon, lat = (float(v) for v in outlet)
        except (TypeError, ValueError) as exc:
            msg = f"outlet must be (lon, lat) or a shapely Point, got {outlet!r}"
            raise InputError(msg) from exc
        ox, oy = Transformer.from_crs(4326, target, always_xy=True).transform(lon, lat)
    g, opt = _cut_at_outlet(g, shapely.Point(ox, oy), outlet, outlet_tolerance_m, tolerance_m)
    lines = g.geometry.to_numpy()
    n = lines.shape[0]
    first, last = _endpoints(lines)
    allpts = np.concatenate([first, last])
    lab = _cluster_points(allpts, tolerance_m)
    a, b = lab[:n], lab[n:]
    nn = int(lab.max()) + 1
    length = shapely.length(lines)
    _, k = cKDTree(allpts).query([opt.x, opt.y])
    onode = int(lab[k])
    # connected pieces of the undirected node graph; piece 0 holds the outlet
    w = np.maximum(length, 1e-9)
    adj = sparse.coo_matrix((w, (a, b)), shape=(nn, nn)).tocsr()
    _, comp = csgraph.connected_components(adj, directed=False)
    comp = np.where(comp == comp[onode], -1, comp)
    _, comp = np.unique(comp, return_inverse=True)  # outlet piece -> 0
    line_piece = comp[a]
    if line_piece.max(initial=0) > 0:
        others = line_piece[line_piece > 0]
        sizes = sorted(np.bincount(others)[np.unique(others)].tolist(), reverse=True)
        action = "each drains to its own outlet" if disconnected == "keep" else "dropped"
        warnings.warn(
            f"{others.size} of {n} lines are not connected to the outlet within "
            f"tolerance_m={tolerance_m:g} ({action}): {len(sizes)} piece(s) of "
            f"{', '.join(map(str, sizes[:20]))} line(s)",
            BasingovWarning,
            stacklevel=2,
        )
    # each piece's outlet node: the outlet, or the piece's node nearest to it
    node_xy = np.zeros((nn, 2))
    node_xy[lab] = allpts
    node_d = np.hypot(node_xy[:, 0] - opt.x, node_xy[:, 1] - opt.y)
    node_d[onode] = -1.0
    srt = np.lexsort((node_d, comp))
    piece_out = srt[np.unique(comp[srt], return_index=True)[1]]
    if disconnected == "drop":
        piece_out = piece_out[:1]
    # shortest paths (by length) from the piece outlets, over the undirected graph
    dist, pred, _ = csgraph.dijkstra(
        adj, directed=False, indices=piece_out, min_only=True, return_predecessors=True
    )
    reach = np.isfinite(dist[a]) & np.isfinite(dist[b])
    keep = np.flatnonzero(reach)
    a, b, length, lines = a[keep], b[keep], length[keep], lines[keep]
    g = g.iloc[keep].reset_index(drop=True)
    g["piece"] = line_piece[keep]
    m = keep.size
    # orientation: from the farther to the nearer end
    flip = dist[a] < dist[b]
    up_node = np.where(flip, b, a)
    dn_node = np.where(flip, a, b)
    # the tree edge of each node: the shortest line joining it to its predecessor
    tree_edge = np.full(nn, -1, dtype=np.int64)
    cand = pred[up_node] == dn_node
    ce = np.flatnonzero(cand)
    ce = ce[np.lexsort((length[ce], up_node[ce]))]
    firsts = np.unique(up_node[ce], return_index=True)[1]
    tree_edge[up_node[ce[firsts]]] = ce[firsts]
    ds_pos = tree_edge[dn_node]
    at_out = np.isin(dn_node, piece_out)
    ds_pos[at_out] = -1
    # several lines at an outlet node: the longest-upstream one is the outlet reach
    up_len = _upstream_len(ds_pos, length)
    for node in piece_out:
        outs = np.flatnonzero(dn_node == node)
        if outs.size > 1:
            main = outs[np.argmax(up_len[outs])]
            ds_pos[outs[outs != main]] = main
    ids = np.arange(1, m + 1, dtype=np.int64)
    ds_id = np.where(ds_pos >= 0, ids[np.maximum(ds_pos, 0)], OUTLET_ID)
    geoms = np.where(flip, shapely.reverse(lines), lines)
    q = _measured_discharge(g, discharge_column, "the line layer")
    table = g.drop(columns=list({g.geometry.name, discharge_column} - {None}))
    _set_discharge(table, q)
    table.insert(0, "reach_id", ids)
    table.insert(1, "downstream_id", ds_id)
    table = gpd.GeoDataFrame(table, geometry=geoms, crs=target)
    with warnings.catch_warnings():
        # the disconnected pieces were reported above, with line counts
        warnings.simplefilter("ignore", BasingovWarning)
        net = network_from_table(
            table,
            expect_single_outlet=disconnected == "drop",
            hydraulics=hydraulics,
            source=source or "undirected lines oriented towards the outlet",
            derived=True,
        )
    return net


def _cut_at_outlet(
    g: gpd.GeoDataFrame, pt: shapely.Point, outlet: Any, max_dist: float, tolerance_m: float
) -> tuple[gpd.GeoDataFrame, shapely.Point]:
    """Split the line nearest to the outlet at the outlet, so that the outlet is a node."""
    lines = g.geometry.to_numpy()
    near = int(shapely.STRtree(lines).query_nearest(pt)[0])
    dist = float(shapely.distance(lines[near], pt))
    if dist > max_dist:
        msg = (
            f"the outlet {outlet!r} is {dist:.0f} m from the nearest line, more than "
            f"outlet_tolerance_m={max_dist:g}; check the outlet coordinates and CRS"
        )
        raise InputError(msg)
    if dist > 5000.0:
        warnings.warn(
            f"the outlet {outlet!r} is {dist / 1000:.1f} km from the nearest line; the "
            "network drains to that line's nearest point instead",
            BasingovWarning,
            stacklevel=3,
        )
    line = lines[near]
    d = float(shapely.line_locate_point(line, pt))
    total = float(line.length)
    opt = shapely.line_interpolate_point(line, d)
    margin = max(tolerance_m, 1e-6)
    if d <= margin or d >= total - margin:
        return g, opt
    parts = [shapely.ops.substring(line, 0, d), shapely.ops.substring(line, d, total)]
    rows = [*list(range(len(g))), near]
    out = g.iloc[rows].copy()
    geoms = [*list(lines), parts[1]]
    geoms[near] = parts[0]
    out = out.set_geometry(np.asarray(geoms, dtype=object)).reset_index(drop=True)
    return out, opt


def _upstream_len(ds_pos: np.ndarray, length: np.ndarray) -> np.ndarray:
    from basingov import _kernels as K

    order = K.kahn_order_tree(ds_pos.astype(np.int64))
    return np.asarray(K.accumulate_tree(ds_pos.astype(np.int64), order, length.astype(float)))


# ----------------------------------------------------------------------------------------
# DEM (pyflwdir)
# ----------------------------------------------------------------------------------------
def from_dem(
    *,
    d8_path: str | Path | None = None,
    elevation_path: str | Path | None = None,
    threshold_km2: float,
    crs: Any,
    outlet: tuple[float, float] | None = None,
    outlet_window_cells: int = 3,
    outlet_area_km2: float | None = None,
    hydraulics: HydraulicsSection | None = None,
    source: str = "",
) -> RiverNetwork:
    """Trace streams and sub-catchments on a DEM or a D8 raster with pyflwdir.

    With ``d8_path``, flow directions are read as D8 (ESRI codes 1..128, 0 = pit,
    247 = nodata) through :func:`pyflwdir.from_array`; otherwise they are derived from
    ``elevation_path`` by :func:`pyflwdir.from_dem` (depressions filled). Stream cells
    are those with an upstream area of at least ``threshold_km2``; streams are split at
    confluences (:meth:`pyflwdir.FlwdirRaster.streams`), so each reach runs from a source
    or confluence to the next confluence or outlet. Each reach's sub-catchment
    (:meth:`pyflwdir.FlwdirRaster.basins` with the reach outlet cells) gives
    ``local_area_km2``; ``upstream_area_dem_km2`` is pyflwdir's upstream area at the
    reach outlet cell.

    With ``outlet``, only the basin draining to it is kept: the outlet is snapped to the
    cell of largest upstream area within ``outlet_window_cells`` cells (pour-point
    snapping) or, with ``outlet_area_km2``, to the cell whose upstream area is closest to
    that published area (gauge snapping, as NLDI does), and streams outside that cell's
    basin are dropped. pyflwdir ends each
    stream system with a zero-length segment at its pit; those segments carry no
    geometry and are dropped, so the reach above becomes the outlet.

    Parameters
    ----------
    d8_path, elevation_path
        Raster files (one of them), read with rasterio.
    threshold_km2
        Minimum upstream area of a stream cell.
    crs
        Projected CRS for the network.
    outlet
        Optional ``(lon, lat)`` of the basin outlet (WGS84).
    outlet_window_cells
        Search radius, in cells, of the outlet snapping.
    outlet_area_km2
        Published drainage area at the outlet, to snap to the matching cell.
    hydraulics
        Discharge and velocity overrides.
    source
        Free text describing the source.

    Returns
    -------
    RiverNetwork
        ``derived=True``; without ``outlet``, several outlets are normal at raster edges and give a
        disconnected-pieces warning.

    Raises
    ------
    InputError
        If neither or both rasters are given, a file is missing, the threshold is not
        positive, or no cell reaches the threshold.
    CRSError
        If the raster has no CRS or ``crs`` is geographic.
    """
    import rasterio

    target = _target_crs(crs)
    if (d8_path is None) == (elevation_path is None):
        msg = "give exactly one of d8_path (D8 flow directions) or elevation_path (a DEM)"
        raise InputError(msg)
    if not threshold_km2 > 0:
        msg = f"threshold_km2 must be > 0, got {threshold_km2}"
        raise InputError(msg)
    path = Path(d8_path if d8_path is not None else elevation_path)  # type: ignore[arg-type]
    if not path.is_file():
        msg = f"raster {path} does not exist"
        raise InputError(msg)
    with rasterio.open(path) as src:
        data = src.read(1)
        transform = src.transform
        rcrs = src.crs
        nodata = src.nodata
    if rcrs is None:
        msg = f"raster {path} has no CRS; write one with rasterio (e.g. EPSG:4326)"
        raise CRSError(msg)
    latlon = bool(CRS.from_user_input(rcrs).is_geographic)
    with warnings.catch_warnings():
        # pyflwdir 0.5 multiplies affine transforms with `*`, which affine >= 2.4 flags
        # with a PendingDeprecationWarning on every call; it is not ours to fix.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return _from_flwdir(
            data,
            transform,
            rcrs,
            nodata,
            latlon,
            d8=d8_path is not None,
            path=path,
            threshold_km2=threshold_km2,
            target=target,
            outlet=outlet,
            window=outlet_window_cells,
            outlet_area=outlet_area_km2,
            hydraulics=hydraulics,
            source=source,
        )


def _snap_outlet_mask(
    flw: Any,
    upa: np.ndarray,
    rcrs: Any,
    outlet: tuple[float, float],
    window: int,
    area: float | None,
    path: Path,
) -> tuple[np.ndarray, int]:
    """Cells draining to the outlet and the outlet cell, after snapping the outlet."""
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", rcrs, always_xy=True).transform(*outlet)
    col_f, row_f = ~flw.transform * (x, y)  # inverse affine: map (x, y) to (col, row)
    r0, c0 = int(np.floor(row_f)), int(np.floor(col_f))
    nrow, ncol = upa.shape
    if not (0 <= r0 < nrow and 0 <= c0 < ncol):
        msg = f"the outlet {outlet} lies outside the raster {path.name}; check [basin] outlet"
        raise InputError(msg)
    r_lo, r_hi = max(r0 - window, 0), min(r0 + window + 1, nrow)
    c_lo, c_hi = max(c0 - window, 0), min(c0 + window + 1, ncol)
    win = np.where(np.isfinite(upa[r_lo:r_hi, c_lo:c_hi]), upa[r_lo:r_hi, c_lo:c_hi], -1.0)
    k = int(np.argmax(win)) if area is None else int(np.argmin(np.abs(win - area)))
    r, c = r_lo + k // win.shape[1], c_lo + k % win.shape[1]
    idx = np.array([r * ncol + c], dtype=np.int64)
    return np.asarray(flw.basins(idxs=idx), dtype=bool), int(idx[0])


def _from_flwdir(
    data: np.ndarray,
    transform: Any,
    rcrs: Any,
    nodata: Any,
    latlon: bool,
    *,
    d8: bool,
    path: Path,
    threshold_km2: float,
    target: CRS,
    outlet: tuple[float, float] | None,
    window: int,
    outlet_area: float | None,
    hydraulics: HydraulicsSection | None,
    source: str,
) -> RiverNetwork:
    import pyflwdir

    if d8:
        flw = pyflwdir.from_array(data, ftype="d8", transform=transform, latlon=latlon)
    else:
        nod = -9999.0 if nodata is None else float(nodata)
        flw = pyflwdir.from_dem(
            data.astype(np.float32), nodata=nod, transform=transform, latlon=latlon
        )
    upa = flw.upstream_area(unit="km2")
    if outlet is not None:
        # keep the basin above the outlet only: cells outside become nodata and the
        # outlet cell a pit, so streams end exactly at the outlet
        in_basin, out_idx = _snap_outlet_mask(flw, upa, rcrs, outlet, window, outlet_area, path)
        dirs = np.asarray(flw.to_array(ftype="d8"))
        dirs[~in_basin] = 247
        dirs.flat[out_idx] = 0
        flw = pyflwdir.from_array(dirs, ftype="d8", transform=transform, latlon=latlon)
        upa = flw.upstream_area(unit="km2")
    mask = upa >= threshold_km2
    if not mask.any():
        msg = (
            f"no cell of {path.name} has an upstream area >= {threshold_km2:g} km2 "
            f"(largest: {float(np.nanmax(upa)):.1f} km2)"
        )
        raise InputError(msg)
    # pyflwdir ends every stream system with a zero-length segment at its pit; it is
    # kept as the outlet reach so that streams meeting at a pit share one outlet.
    feats = flw.streams(mask=mask)
    segs = gpd.GeoDataFrame.from_features(feats, crs=rcrs)
    idx0 = segs["idx"].to_numpy(dtype=np.int64)
    idx_ds = segs["idx_ds"].to_numpy(dtype=np.int64)
    # reach outlet cell: the last cell of the segment, unless that cell starts the next
    coords = [np.asarray(geom.coords) for geom in segs.geometry]
    sorter = np.argsort(idx0)
    pos = np.clip(np.searchsorted(idx0, idx_ds, sorter=sorter), 0, len(idx0) - 1)
    has_ds = (idx0[sorter[pos]] == idx_ds) & ~segs["pit"].to_numpy(dtype=bool)
    ds_pos = np.where(has_ds, sorter[pos], -1)
    out_xy = np.array([c[-2] if h else c[-1] for c, h in zip(coords, has_ds, strict=True)])
    idx_out = np.asarray(flw.index(out_xy[:, 0], out_xy[:, 1]), dtype=np.int64)
    ids = np.arange(1, len(segs) + 1, dtype=np.int64)
    basins = flw.basins(idxs=idx_out, ids=ids.astype(np.uint32))
    cell_km2 = flw.area.ravel() / 1e6
    local = np.bincount(basins.ravel(), weights=cell_km2, minlength=len(ids) + 1)[1:]
    table = gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "downstream_id": np.where(ds_pos >= 0, ids[np.maximum(ds_pos, 0)], OUTLET_ID),
            "local_area_km2": local,
            "upstream_area_dem_km2": upa.ravel()[idx_out],
            "cell_idx_out": idx_out,
        },
        geometry=segs.geometry.to_numpy(),
        crs=rcrs,
    ).to_crs(target)
    # A zero-length pit segment with a single inflow carries no geometry and joins
    # nothing: drop it, so the reach above becomes the outlet. Pits where several
    # streams meet are kept, so that those streams stay one network.
    inflows = table["downstream_id"].value_counts()
    zero = (table.geometry.length.to_numpy() == 0) & (
        table["reach_id"].map(inflows).fillna(0).to_numpy() <= 1
    )
    if zero.any():
        dropped = set(table.loc[zero, "reach_id"].tolist())
        table = table.loc[~zero].reset_index(drop=True)
        table.loc[table["downstream_id"].isin(dropped), "downstream_id"] = OUTLET_ID
    return network_from_table(
        table,
        hydraulics=hydraulics,
        source=source or f"pyflwdir D8 streams >= {threshold_km2:g} km2 from {path.name}",
        derived=True,
    )


# ----------------------------------------------------------------------------------------
# dispatch on a config section
# ----------------------------------------------------------------------------------------
def build_network(
    section: NetworkSection,
    *,
    crs: str,
    outlet: tuple[float, float] | None,
    hydraulics: HydraulicsSection | None,
) -> RiverNetwork:
    """Build the network a ``[networks.<key>]`` config section describes.

    Parameters
    ----------
    section
        The config section (builder name, path, layer, columns, builder options).
    crs
        The basin's projected CRS.
    outlet
        The basin outlet ``(lon, lat)``; required by the ``lines_outlet`` builder.
    hydraulics
        The basin's ``[hydraulics]`` section.

    Returns
    -------
    RiverNetwork

    Raises
    ------
    ConfigError
        If the builder is unknown, or a builder needs an option the section lacks.
    """
    from basingov.config import BUILDERS
    from basingov.errors import ConfigError
    from basingov.io import read_vector

    where = f"[networks.{section.key}]"
    if section.builder not in BUILDERS:
        msg = f"{where}.builder must be one of {list(BUILDERS)}, got {section.builder!r}"
        raise ConfigError(msg)
    o = dict(section.options)
    src = section.description or f"{section.builder}: {section.path}:{section.layer or ''}"
    if section.builder == "dem":
        if section.discharge_column is not None:
            msg = f"{where}.discharge_column is for vector tables; the 'dem' builder reads none"
            raise ConfigError(msg)
        return from_dem(
            d8_path=o.get("d8_path"),
            elevation_path=o.get("elevation_path") if o.get("d8_path") is None else None,
            threshold_km2=float(o.get("threshold_km2", 25.0)),
            crs=crs,
            outlet=outlet if o.get("clip_to_outlet", False) else None,
            outlet_area_km2=o.get("outlet_area_km2"),
            hydraulics=hydraulics,
            source=src,
        )
    if section.path is None:
        msg = f"{where}: the {section.builder!r} builder needs 'path'"
        raise ConfigError(msg)
    gdf = read_vector(section.path, layer=section.layer)
    expr = getattr(section, "filter", None)
    if expr:
        try:
            gdf = gdf.query(expr).reset_index(drop=True)
        except Exception as exc:  # pandas raises many types for a bad expression
            msg = f"{where}.filter {expr!r} cannot be applied to {section.path.name}: {exc}"
            raise ConfigError(msg) from exc
        if len(gdf) == 0:
            msg = f"{where}.filter {expr!r} leaves no features in {section.path.name}"
            raise ConfigError(msg)
    if section.builder == "next_down":
        if section.id_column is None:
            msg = f"{where}: the 'next_down' builder needs 'id_column'"
            raise ConfigError(msg)
        return from_next_down(
            gdf,
            id_column=section.id_column,
            next_down_column=o["next_down_column"],
            area_column=o.get("area_column"),
            upstream_area_column=o.get("upstream_area_column"),
            discharge_column=section.discharge_column,
            outlet_value=int(o.get("outlet_value", 0)),
            crs=crs,
            name_column=section.name_column,
            hydraulics=hydraulics,
            source=src,
        )
    if section.builder == "from_to_nodes":
        return from_to_nodes(
            gdf,
            from_node_column=o.get("from_node_column"),
            to_node_column=o.get("to_node_column"),
            id_column=section.id_column,
            tolerance_m=float(o.get("tolerance_m", 1.0)),
            crs=crs,
            name_column=section.name_column,
            discharge_column=section.discharge_column,
            hydraulics=hydraulics,
            source=src,
        )
    if outlet is None:
        msg = f"{where}: the 'lines_outlet' builder needs the basin outlet ([basin] outlet)"
        raise ConfigError(msg)
    return from_lines_outlet(
        gdf,
        outlet=outlet,
        tolerance_m=float(o.get("tolerance_m", 100.0)),
        crs=crs,
        name_column=section.name_column,
        discharge_column=section.discharge_column,
        hydraulics=hydraulics,
        source=src,
    )


# ----------------------------------------------------------------------------------------
# areas for line networks
# ----------------------------------------------------------------------------------------
def apportion_area(
    net: RiverNetwork,
    catchments: gpd.GeoDataFrame,
    *,
    area_column: str | None = None,
    hydraulics: HydraulicsSection | None = None,
) -> RiverNetwork:
    """Give a line network local areas by sharing catchment areas among its reaches.

    Line layers (CCM2 here, Natural Earth, DCW, NFGIS) carry no drainage areas, so their
    discharge and velocity stay unknown. This *derivation* gives each reach a share of
    the catchment polygon its midpoint lies in, proportional to its length; a catchment
    holding no reach midpoint gives its area to the nearest reach, so the total area is
    kept. With the basin polygon as the only catchment this is "area proportional to
    river length"; with HydroBASINS polygons it follows their areas. The new columns
    ``local_area_km2`` and ``area_source = "apportioned"`` say so; upstream area,
    discharge and velocity are recomputed where they were not measured.

    Parameters
    ----------
    net
        A network whose ``local_area_km2`` is (partly) unknown.
    catchments
        Polygons with a CRS (the basin polygon, or sub-catchments).
    area_column
        Area column in km²; default: the polygons' area in ``net.crs``.
    hydraulics
        Discharge and velocity overrides.

    Returns
    -------
    RiverNetwork
        A new network; ``net`` is not modified.

    Raises
    ------
    InputError
        If ``catchments`` is empty or lacks ``area_column``.
    CRSError
        If ``catchments`` has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> g = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (3000, 0)]),
    ...     LineString([(3000, 0), (4000, 0)])], crs="EPSG:3035")
    >>> net = from_to_nodes(g, crs="EPSG:3035")
    >>> basin = gpd.GeoDataFrame(geometry=[box(-1000, -1000, 5000, 1000)], crs="EPSG:3035")
    >>> apportion_area(net, basin).reaches["upstream_area_km2"].tolist()
    [9.0, 12.0]
    """
    _require(catchments, [area_column], "the catchment layer")
    c = _project(catchments, net.crs, "the catchment layer")
    polys = c.geometry.to_numpy()
    area = (
        c[area_column].to_numpy(dtype=np.float64)
        if area_column is not None
        else shapely.area(polys) / 1e6
    )
    lines = net.reaches.geometry.to_numpy()
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    mid = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    tree = shapely.STRtree(polys)
    ri, ci = tree.query(mid, predicate="within")
    owner = np.full(net.n, -1, dtype=np.int64)
    owner[ri[::-1]] = ci[::-1]  # first catchment wins
    lost = np.flatnonzero(owner < 0)
    if lost.size:
        q = tree.query_nearest(mid[lost], return_distance=False)
        first = np.unique(q[0], return_index=True)[1]  # ties: first catchment
        owner[lost[q[0][first]]] = q[1][first]
    w = np.maximum(length, 1e-9)
    tot = np.bincount(owner, weights=w, minlength=len(polys))
    local = np.zeros(net.n)
    has = tot > 0
    local += area[owner] * w / np.where(tot[owner] > 0, tot[owner], 1.0)
    empty = np.flatnonzero(~has)
    if empty.size:
        rtree = shapely.STRtree(lines)
        near = rtree.query_nearest(shapely.point_on_surface(polys[empty]), return_distance=False)
        first = np.unique(near[0], return_index=True)[1]  # ties: first reach
        np.add.at(local, near[1][first], area[empty[near[0][first]]])
    t = net.reaches.copy()
    measured_up = t["upstream_area_km2"].notna() & t["local_area_km2"].notna()
    t["local_area_km2"] = local
    est = ~measured_up
    # a measured discharge (builders' discharge_column) stays, with its velocity
    measured_q = (
        t["discharge_source"].eq("measured")
        if "discharge_source" in t.columns
        else pd.Series(False, index=t.index)
    )
    t.loc[est, "upstream_area_km2"] = np.nan
    t.loc[est & ~measured_q, ["discharge_m3s", "velocity_ms"]] = np.nan
    t["area_source"] = np.where(est, "apportioned", "given")
    t = t.drop(columns=["upstream_length_km", "distance_to_outlet_km"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BasingovWarning)  # pieces were reported at build
        return network_from_table(
            t,
            bifurcations=net.bifurcations,
            allow_cycles=net.has_cycles,
            hydraulics=hydraulics,
            source=net.source,
            derived=net.derived,
        )
