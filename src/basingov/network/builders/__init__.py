"""Network builders: next-down ids, from/to nodes, undirected lines plus an outlet, and a DEM.

Every builder returns a validated :class:`~basingov.network.RiverNetwork` in the requested
projected CRS, through :func:`~basingov.network.network_from_table`. The next-down and
from/to-node builders, the config dispatch and area apportioning live here; the lines +
outlet builder in :mod:`~basingov.network.builders.lines` and the DEM builder in
:mod:`~basingov.network.builders.dem` (shared helpers in ``_common``), all re-exported here.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from basingov._arrays import concat_ranges
from basingov._checks import check_choice, projected_crs, require_columns
from basingov._filters import apply_filter
from basingov._layer_checks import network_layer_problems
from basingov._values import network_problems
from basingov.config import BUILDERS
from basingov.errors import BasingovWarning, ConfigError, InputError
from basingov.io import read_vector
from basingov.network._container import (
    OUTLET_ID,
    RiverNetwork,
    _float_column,
    _int_column,
    network_from_table,
)
from basingov.network.builders._common import (
    _check_tolerance,
    _cluster_points,
    _endpoints,
    _input_layer,
    _measured_discharge,
    _points_within,
    _project,
    _set_discharge,
    _source_ids_aside,
)
from basingov.network.builders.dem import from_dem
from basingov.network.builders.lines import from_lines_outlet
from basingov.network.hydrology import GIVEN_DISCHARGE

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
        Mean discharge in m³/s given by the network, e.g. HydroRIVERS ``DIS_AV_CMS``
        (modelled by WaterGAP): copied to ``discharge_m3s`` (``discharge_source =
        "network attribute"``) and used for the velocity;
        missing or negative values are estimated from upstream area (``"estimated"``).
    outlet_value
        Next-down value at outlets.
    crs
        Projected CRS for the network.
    name_column
        Optional column copied to ``name``.
    hydraulics, source
        Passed on to :func:`~basingov.network.network_from_table`.

    Returns
    -------
    RiverNetwork
        ``derived=False``: the topology is the layer's own.

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
    target = projected_crs(crs, what=f"crs={crs!r}")
    g = _input_layer(
        gdf,
        target,
        [id_column, next_down_column, area_column, upstream_area_column, discharge_column],
        "the next-down layer",
        name_column=name_column,
        lines=False,
    )
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
    # a source column that differs from a reach-table column only by case (HydroRIVERS
    # LENGTH_KM vs length_km) would clash in case-insensitive formats such as GeoPackage
    std = {"reach_id", "downstream_id", "length_km", "local_area_km2", "upstream_area_km2",
           "discharge_m3s", "velocity_ms", "is_lake", "name"}  # fmt: skip
    extras = extras.rename(
        columns={c: f"{c}_source" for c in extras.columns if c.lower() in std and c not in std}
    )
    extras = _source_ids_aside(extras)
    _set_discharge(out, _measured_discharge(g, discharge_column, "the next-down layer"))
    if area_column is not None:
        out["local_area_km2"] = _float_column(g[area_column], area_column)
    elif polys:
        out["local_area_km2"] = g.geometry.area.to_numpy() / 1e6
    if upstream_area_column is not None:
        out["upstream_area_reported_km2"] = _float_column(
            g[upstream_area_column], upstream_area_column
        )
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
        Measured mean discharge in m³/s, as in :func:`from_next_down`.
    allow_cycles
        Keep cycles (they need bifurcations, i.e. split nodes, to be legal).
    hydraulics, source
        Passed on to :func:`~basingov.network.network_from_table`.

    Returns
    -------
    RiverNetwork
        ``derived=False``; a node where several segments start gives bifurcations.

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
    target = projected_crs(crs, what=f"crs={crs!r}")
    _check_tolerance(tolerance_m)
    if (from_node_column is None) != (to_node_column is None):
        msg = "give both from_node_column and to_node_column, or neither (end-point chaining)"
        raise InputError(msg)
    g = _input_layer(
        gdf,
        target,
        [from_node_column, to_node_column, id_column, name_column, area_column, discharge_column],
        "the from/to-node layer",
        name_column=name_column,
        lines=True,
    )
    n = len(g)
    exploded = g["source_row"].duplicated(keep=False).any()
    if id_column is not None and not exploded:
        ids = _int_column(g[id_column], id_column)
    else:
        ids = np.arange(1, n + 1, dtype=np.int64)
    if from_node_column is not None and to_node_column is not None:
        fnode = _int_column(g[from_node_column], from_node_column)
        tnode = _int_column(g[to_node_column], to_node_column)
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
    table = _source_ids_aside(table)
    table.insert(0, "reach_id", ids)
    table.insert(1, "downstream_id", ds)
    table["from_node"] = fnode
    table["to_node"] = tnode
    if area_column is not None:
        table["local_area_km2"] = _float_column(g[area_column], area_column)
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
    dst = srt[concat_ranges(lo[split], rep)]
    bif = pd.DataFrame(
        {
            "reach_id": ids[src],
            "downstream_id": ids[dst],
            "fraction": 1.0 / np.repeat(rep, rep),
        }
    )
    return ds, bif


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
    where = f"[networks.{section.key}]"
    check_choice(section.builder, BUILDERS, name=f"{where}.builder", error=ConfigError)
    problems = network_problems(section)  # also for sections built in code
    if problems:
        raise ConfigError("; ".join(problems))
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
            burn=(
                read_vector(o["burn_path"], layer=o.get("burn_layer"))
                if o.get("burn_path")
                else None
            ),
            burn_depth_m=float(o.get("burn_depth_m", 10.0)),
            hydraulics=hydraulics,
            source=src,
        )
    if section.path is None:
        msg = f"{where}: the {section.builder!r} builder needs 'path'"
        raise ConfigError(msg)
    gdf = read_vector(section.path, layer=section.layer)
    # the checks `basingov validate` makes on this layer (columns the section names, ids,
    # geometries and their types, coordinates; the filter just below)
    problems = network_layer_problems(gdf, section, include_filter=False)
    if problems:
        msg = f"{where} layer {section.path.name}:{section.layer or ''}: " + "; ".join(problems)
        raise InputError(msg)
    expr = getattr(section, "filter", None)
    if expr is not None:
        # parsed by basingov._filters, never evaluated as Python (no pandas query/eval)
        keep = apply_filter(gdf, expr, where=f"{where}.filter ({section.path.name})")
        gdf = gdf[keep].reset_index(drop=True)
        if len(gdf) == 0:
            msg = f"{where}.filter {expr!r} leaves no features in {section.path.name}"
            raise ConfigError(msg)
    # the options every vector builder takes
    common: dict[str, Any] = {
        "crs": crs,
        "name_column": section.name_column,
        "discharge_column": section.discharge_column,
        "hydraulics": hydraulics,
        "source": src,
    }
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
            outlet_value=int(o.get("outlet_value", 0)),
            **common,
        )
    if section.builder == "from_to_nodes":
        return from_to_nodes(
            gdf,
            from_node_column=o.get("from_node_column"),
            to_node_column=o.get("to_node_column"),
            id_column=section.id_column,
            tolerance_m=float(o.get("tolerance_m", 1.0)),
            **common,
        )
    if outlet is None:
        msg = f"{where}: the 'lines_outlet' builder needs the basin outlet ([basin] outlet)"
        raise ConfigError(msg)
    return from_lines_outlet(
        gdf, outlet=outlet, tolerance_m=float(o.get("tolerance_m", 100.0)), **common
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
    require_columns(catchments, [area_column], what="the catchment layer")
    c = _project(catchments, net.crs, "the catchment layer")
    polys = c.geometry.to_numpy()
    area = (
        _float_column(c[area_column], area_column)
        if area_column is not None
        else shapely.area(polys) / 1e6
    )
    lines = net.reaches.geometry.to_numpy()
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    mid = shapely.line_interpolate_point(lines, 0.5, normalized=True)
    tree = shapely.STRtree(polys)
    ri, ci = _points_within(tree, polys, mid)
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
    # the network's own discharge (builders' discharge_column) stays, with its velocity
    measured_q = (
        t["discharge_source"].eq(GIVEN_DISCHARGE)
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
