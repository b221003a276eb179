"""Network builder for undirected lines oriented towards an outlet (Natural Earth, DCW, NFGIS).

Re-exported by :mod:`basingov.network.builders`.
"""

from __future__ import annotations

import itertools
import warnings
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import Transformer
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from basingov._checks import check_choice, lonlat, projected_crs
from basingov.errors import BasingovWarning, InputError
from basingov.network import _kernels as K
from basingov.network._container import OUTLET_ID, RiverNetwork, network_from_table
from basingov.network.builders._common import (
    _check_tolerance,
    _cluster_points,
    _endpoints,
    _input_layer,
    _measured_discharge,
    _set_discharge,
    _source_ids_aside,
)

if TYPE_CHECKING:
    from basingov.config import HydraulicsSection

__all__ = ["from_lines_outlet"]


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
        Measured mean discharge in m³/s, as in
        :func:`~basingov.network.builders.from_next_down`; a line cut into pieces gives each
        piece its value.
    split_at_junctions
        Cut lines at T-junctions before building nodes.
    outlet_tolerance_m
        Largest allowed distance between ``outlet`` and the nearest line.
    disconnected
        ``"keep"`` or ``"drop"`` the pieces not connected to the outlet.
    hydraulics, source
        Passed on to :func:`~basingov.network.network_from_table`.

    Returns
    -------
    RiverNetwork
        ``derived=True``, with a ``piece`` column (0: the piece connected to the outlet).

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
    target = projected_crs(crs, what=f"crs={crs!r}")
    _check_tolerance(tolerance_m)
    check_choice(disconnected, ("keep", "drop"), name="disconnected")
    g = _input_layer(
        gdf,
        target,
        [name_column, discharge_column],
        "the line layer",
        name_column=name_column,
        lines=True,
    )
    if len(g) == 0:
        msg = f"the line layer's {len(gdf)} line(s) all have zero length: no reach to build"
        raise InputError(msg)
    if split_at_junctions:
        g = _split_at_junctions(g, tolerance_m)
    # outlet point, in the target CRS
    if isinstance(outlet, shapely.Point) and not outlet.is_empty:
        ox, oy = outlet.x, outlet.y
    else:
        # text ('7.5') and bools (True: 1 degree) went through float() here
        lon, lat = lonlat(outlet, name="outlet", also=", or a shapely Point in crs")
        ox, oy = Transformer.from_crs(4326, target, always_xy=True).transform(lon, lat)
    if not (np.isfinite(ox) and np.isfinite(oy)):
        msg = f"outlet must be finite (lon, lat) degrees or a shapely Point, got {outlet!r}"
        raise InputError(msg)
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
    table = _source_ids_aside(g.drop(columns=list({g.geometry.name, discharge_column} - {None})))
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
    order = K.kahn_order_tree(ds_pos.astype(np.int64))
    return np.asarray(K.accumulate_tree(ds_pos.astype(np.int64), order, length.astype(float)))
