"""Jurisdiction dependency graph (who drains into whom) and its indicators."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_choice, require_columns
from basingov.errors import InputError

if TYPE_CHECKING:
    from basingov.overlay import OverlayResult

__all__ = [
    "DependencyResult",
    "analyse",
    "betweenness",
    "chain_depth",
    "dependency_basis",
    "dependency_edges",
    "dependency_table",
    "downstream_area",
    "downstream_exposure",
    "jurisdiction_graph",
    "upstream_dependency",
]

logger = logging.getLogger(__name__)

_CROSSING_COLUMNS = ("crossing_id", "from_jur", "to_jur", "level_name", "upstream_area_km2")
_OUTSIDE = ""


def jurisdiction_graph(
    crossings: pd.DataFrame,
    jurisdictions: pd.DataFrame,
    *,
    level: str,
    unit_shares: pd.DataFrame | None = None,
) -> nx.DiGraph:
    """Directed graph of jurisdictions at one level: an edge A→B means water flows A→B.

    Nodes are every jurisdiction of ``level`` (with ``name`` and ``area_km2``, the area
    inside the basin from ``unit_shares`` if given, else the polygon area). Edges come from
    the crossings between two jurisdictions (crossings into or out of the outside, ``""``,
    are ignored) and carry ``n_crossings``, ``crossings`` (list of ``crossing_id``), and
    the summed ``upstream_area_km2`` and ``discharge_m3s`` of those crossings.

    Parameters
    ----------
    crossings
        Crossing table (:func:`basingov.overlay.crossings`); rows of other levels are
        ignored.
    jurisdictions
        Jurisdiction table with ``jur_id, name, level_name`` (polygons for areas).
    level
        Level name.
    unit_shares
        Table from :func:`basingov.overlay.unit_shares` giving areas inside the basin.

    Returns
    -------
    networkx.DiGraph
        With graph attributes ``level_name`` and ``level`` (the jurisdictions' ``level``
        value, or -1 without a ``level`` column).

    Raises
    ------
    InputError
        If a column is missing, ``level`` is not a level of ``jurisdictions``, or a
        crossing names a jurisdiction that is not in ``jurisdictions``.

    Examples
    --------
    >>> jur = pd.DataFrame({"jur_id": ["A", "B"], "name": ["A", "B"],
    ...     "level_name": ["country", "country"], "area_km2": [1.0, 1.0]})
    >>> c = pd.DataFrame({"crossing_id": ["country-0"], "from_jur": ["A"], "to_jur": ["B"],
    ...     "level_name": ["country"], "level": [0], "upstream_area_km2": [1.0],
    ...     "discharge_m3s": [0.1]})
    >>> g = jurisdiction_graph(c, jur, level="country")
    >>> g.edges["A", "B"]["crossings"]
    ['country-0']
    """
    require_columns(crossings, _CROSSING_COLUMNS, what="crossings")
    require_columns(jurisdictions, ("jur_id", "name", "level_name"), what="jurisdictions")
    levels = sorted(set(jurisdictions["level_name"].astype(str)))
    if level not in levels:
        msg = f"level {level!r} is not a jurisdiction level; allowed levels are {levels}"
        raise InputError(msg)
    sub = jurisdictions[jurisdictions["level_name"] == level]
    ids = sub["jur_id"].astype(str).to_numpy()
    if unit_shares is not None:
        require_columns(unit_shares, ("jur_id", "level_name", "area_km2"), what="unit_shares")
        us = unit_shares[unit_shares["level_name"] == level].set_index("jur_id")["area_km2"]
        area = pd.Series(ids, index=ids).map(us).fillna(0.0).to_numpy()
        rl = (
            unit_shares[unit_shares["level_name"] == level].set_index("jur_id")["river_length_km"]
            if "river_length_km" in unit_shares.columns
            else pd.Series(dtype=float)
        )
        river = pd.Series(ids, index=ids).map(rl).to_numpy(dtype=float)
    elif "area_km2" in sub.columns:
        area = sub["area_km2"].to_numpy(dtype=float)
    elif isinstance(sub, gpd.GeoDataFrame):
        area = shapely.area(sub.geometry.to_numpy()) / 1e6
    else:
        area = np.full(len(sub), np.nan)
    if unit_shares is None:
        river = np.full(len(sub), np.nan)
    c = crossings[crossings["level_name"] == level]
    if "on_boundary" in c.columns:
        c = c[~c["on_boundary"].astype(bool)]
    c = c[(c["from_jur"] != _OUTSIDE) & (c["to_jur"] != _OUTSIDE)]
    unknown = sorted((set(c["from_jur"]) | set(c["to_jur"])) - set(ids))
    if unknown:
        msg = (
            f"crossings at level {level!r} name jurisdictions {unknown[:10]} that are not in "
            "the jurisdiction table; pass the same jurisdictions the overlay used"
        )
        raise InputError(msg)
    lvnum = -1
    if "level" in sub.columns and len(sub):
        lvnum = int(sub["level"].iloc[0])
    g = nx.DiGraph(level_name=level, level=lvnum)
    for jid, nm, a, rl_ in zip(ids, sub["name"].astype(str), area, river, strict=True):
        g.add_node(jid, name=nm, area_km2=float(a), river_length_km=float(rl_))
    n_c = len(c)
    cid = c["crossing_id"].to_numpy(dtype=object)
    sums = [
        c[col].to_numpy(dtype=np.float64) if col in c.columns else np.full(n_c, np.nan)
        for col in ("upstream_area_km2", "discharge_m3s", "upstream_length_km")
    ]
    # one edge per (from, to) pair in sorted order, its crossings in table order
    pairs = list(zip(c["from_jur"].tolist(), c["to_jur"].tolist(), strict=True))
    order = sorted(range(n_c), key=pairs.__getitem__)
    for key, group in itertools.groupby(order, key=pairs.__getitem__):
        rows = np.fromiter(group, dtype=np.int64)
        area_, q_, length_ = (_sum_all(v[rows]) for v in sums)
        g.add_edge(
            str(key[0]),
            str(key[1]),
            n_crossings=rows.size,
            crossings=cid[rows].tolist(),
            upstream_area_km2=area_,
            discharge_m3s=q_,
            upstream_length_km=length_,
        )
    return g


def _sum_all(x: np.ndarray) -> float:
    """Sum of ``x``, NaN if any value is NaN: ``pd.Series(x).sum(min_count=len(x))``.

    Summed by NumPy as pandas does (NaN set to 0, then ``ndarray.sum``), so the float
    result is the same to the last bit.

    Examples
    --------
    >>> _sum_all(np.array([1.0, 2.5])), _sum_all(np.array([1.0, np.nan]))
    (3.5, nan)
    """
    if np.isnan(x).any():
        return math.nan
    return float(x.sum())


def _series(g: nx.DiGraph, values: Mapping[str, float], name: str) -> pd.Series:
    s = pd.Series({n: values[n] for n in g.nodes}, name=name, dtype=float)
    s.index.name = "jur_id"
    return s


Basis = Literal["auto", "area", "length"]
_BASES = ("auto", "area", "length")


def _complete(graph: nx.DiGraph, edge_key: str, node_key: str) -> bool:
    edges = [d.get(edge_key, math.nan) for *_, d in graph.edges(data=True)]
    nodes = [graph.nodes[n].get(node_key, math.nan) for n in graph.nodes]
    return all(math.isfinite(v) for v in edges + nodes)


def dependency_basis(graph: nx.DiGraph, *, basis: Basis = "auto") -> str:
    """Choose the quantity :func:`upstream_dependency` compares: area, length or none.

    ``"auto"`` takes upstream area where every edge and node of ``graph`` has one
    (``upstream_area_km2`` on edges, ``area_km2`` on nodes), else upstream river length
    where every edge and node has one (``upstream_length_km``, ``river_length_km``),
    else ``"none"`` (the indicator is NaN). Falling back is logged.

    Raises
    ------
    InputError
        If ``basis`` is not ``"auto"``, ``"area"`` or ``"length"``.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_edge("A", "B", upstream_area_km2=float("nan"), upstream_length_km=3.0)
    >>> nx.set_node_attributes(g, {"A": 1.0, "B": 1.0}, "river_length_km")
    >>> dependency_basis(g)
    'length'
    """
    check_choice(basis, _BASES, name="basis")
    if basis != "auto":
        return basis
    if _complete(graph, "upstream_area_km2", "area_km2"):
        return "area"
    level = graph.graph.get("level_name", "")
    if _complete(graph, "upstream_length_km", "river_length_km"):
        logger.info(
            "upstream dependency at level %r: areas are missing at some crossings; using "
            "upstream river length instead",
            level,
        )
        return "length"
    logger.info(
        "upstream dependency at level %r: neither areas nor river lengths are complete; "
        "the indicator is NaN",
        level,
    )
    return "none"


def upstream_dependency(graph: nx.DiGraph, *, basis: Basis = "auto") -> pd.Series:
    r"""Share of each jurisdiction's water that comes from outside it.

    .. math:: D_j = \frac{I_j}{I_j + a_j}

    where :math:`I_j` is the summed upstream area at the crossings into :math:`j` and
    :math:`a_j` its own area in the basin. Where areas are missing (line networks without
    derived areas), upstream river length at the crossings and the river length in
    :math:`j` are used instead (``basis="length"``, chosen by ``"auto"`` and logged;
    see :func:`dependency_basis`); with neither, the values are NaN, never 0. A river
    leaving and re-entering :math:`j` counts twice in :math:`I_j`; a headwater
    jurisdiction has 0.

    Parameters
    ----------
    graph
        From :func:`jurisdiction_graph`.
    basis
        ``"auto"``, ``"area"`` or ``"length"``.

    Returns
    -------
    pandas.Series
        Indexed by ``jur_id``, values in [0, 1] or NaN; ``attrs["basis"]`` records the
        basis used.

    Raises
    ------
    InputError
        If ``basis`` is not ``"auto"``, ``"area"`` or ``"length"`` (checked by
        :func:`dependency_basis`; the message lists the allowed values).

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_node("A", area_km2=30.0); g.add_node("B", area_km2=10.0)
    >>> g.add_edge("A", "B", upstream_area_km2=30.0)
    >>> upstream_dependency(g).to_dict()
    {'A': 0.0, 'B': 0.75}
    """
    used = dependency_basis(graph, basis=basis)
    edge_key, node_key = (
        ("upstream_length_km", "river_length_km")
        if used == "length"
        else ("upstream_area_km2", "area_km2")
    )
    vals = {}
    for n in graph.nodes:
        if used == "none":
            vals[n] = math.nan
            continue
        inflow = sum(d.get(edge_key, math.nan) for _, _, d in graph.in_edges(n, data=True))
        own = graph.nodes[n].get(node_key, math.nan)
        tot = inflow + own
        vals[n] = inflow / tot if tot > 0 else (0.0 if tot == 0 else math.nan)
    s = _series(graph, vals, "upstream_dependency")
    s.attrs["basis"] = used
    return s


def downstream_exposure(graph: nx.DiGraph) -> pd.Series:
    """Count the jurisdictions downstream of each jurisdiction (graph descendants).

    Examples
    --------
    >>> downstream_exposure(nx.DiGraph([("A", "B"), ("B", "C")])).to_dict()
    {'A': 2.0, 'B': 1.0, 'C': 0.0}
    """
    return _exposure(graph, _descendant_sets(graph))


def _exposure(graph: nx.DiGraph, below: Mapping[Any, set[Any]]) -> pd.Series:
    return _series(graph, {n: float(len(below[n])) for n in graph.nodes}, "downstream_exposure")


def downstream_area(graph: nx.DiGraph) -> pd.Series:
    """Basin area (km²) of the jurisdictions downstream of each jurisdiction.

    Examples
    --------
    >>> g = nx.DiGraph([("A", "B")])
    >>> nx.set_node_attributes(g, {"A": 1.0, "B": 4.0}, "area_km2")
    >>> downstream_area(g).to_dict()
    {'A': 4.0, 'B': 0.0}
    """
    return _area_below(graph, _descendant_sets(graph))


def _area_below(graph: nx.DiGraph, below: Mapping[Any, set[Any]]) -> pd.Series:
    area = nx.get_node_attributes(graph, "area_km2")
    return _series(
        graph,
        # sorted: descendants is a set, and float sums must not depend on hash order
        {n: float(sum(area.get(d, 0.0) for d in sorted(below[n]))) for n in graph.nodes},
        "downstream_area_km2",
    )


def _descendant_sets(graph: nx.DiGraph, *, upstream: bool = False) -> dict[Any, set[Any]]:
    """``nx.descendants(graph, n)`` (``nx.ancestors`` if ``upstream``) of every node ``n``.

    Computed once over the condensation, in topological order, instead of one search per
    node: a node reaches the other members of its strongly connected component and every
    member of the components below it (never itself, as in networkx).

    Examples
    --------
    >>> g = nx.DiGraph([("A", "B"), ("B", "C"), ("C", "B"), ("C", "D")])
    >>> {n: sorted(v) for n, v in _descendant_sets(g).items()}
    {'A': ['B', 'C', 'D'], 'B': ['C', 'D'], 'C': ['B', 'D'], 'D': []}
    >>> sorted(_descendant_sets(g, upstream=True)["C"])
    ['A', 'B']
    """
    g = graph.reverse(copy=False) if upstream else graph
    cond = nx.condensation(g)
    members = {c: set(cond.nodes[c]["members"]) for c in cond.nodes}
    below: dict[int, set[Any]] = {}
    for c in reversed(list(nx.topological_sort(cond))):
        acc: set[Any] = set()
        for s in cond.successors(c):
            acc |= members[s]
            acc |= below[s]
        below[c] = acc
    mapping = cond.graph["mapping"]
    return {n: (members[mapping[n]] | below[mapping[n]]) - {n} for n in g.nodes}


def chain_depth(graph: nx.DiGraph) -> pd.Series:
    """Position of each jurisdiction in the upstream-downstream chain.

    The number of edges on the longest path from a headwater jurisdiction (no inflow) to
    it, so headwaters have 0. Two-way links (A→B and B→A, e.g. a river meandering along
    a border or a plain with loops) are collapsed first: jurisdictions in one strongly
    connected component share a depth.

    Examples
    --------
    >>> chain_depth(nx.DiGraph([("A", "B"), ("B", "C"), ("A", "C")])).to_dict()
    {'A': 0.0, 'B': 1.0, 'C': 2.0}
    """
    cond = nx.condensation(graph)
    depth: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        preds = list(cond.predecessors(c))
        depth[c] = 1 + max(depth[p] for p in preds) if preds else 0
    mapping = cond.graph["mapping"]
    return _series(graph, {n: float(depth[mapping[n]]) for n in graph.nodes}, "chain_depth")


def betweenness(graph: nx.DiGraph) -> pd.Series:
    """Normalised directed betweenness centrality (networkx), unweighted.

    High values mark the jurisdictions that flows between others pass through.

    Examples
    --------
    >>> betweenness(nx.DiGraph([("A", "B"), ("B", "C")])).to_dict()
    {'A': 0.0, 'B': 0.5, 'C': 0.0}
    """
    return _series(graph, nx.betweenness_centrality(graph, normalized=True), "betweenness")


def dependency_table(
    graphs: Mapping[str, nx.DiGraph] | nx.DiGraph,
    jurisdictions: pd.DataFrame | None = None,
    *,
    level: str | None = None,
) -> pd.DataFrame:
    """Tabulate the indicators of every jurisdiction (DESIGN §2.13 ``tables/dependency.csv``).

    Parameters
    ----------
    graphs
        One graph from :func:`jurisdiction_graph`, or a mapping level name → graph.
    jurisdictions
        Optional jurisdiction table (``jur_id, name``) used for names missing on nodes.
    level
        Only this level of ``graphs`` (default: all).

    Returns
    -------
    pandas.DataFrame
        ``jur_id, level, upstream_dependency, downstream_exposure, chain_depth,
        betweenness`` then ``level_name, name, area_km2, downstream_area_km2,
        inflow_area_km2, n_upstream, dependency_basis`` (``"area"``, ``"length"`` or
        ``"none"``, see :func:`dependency_basis`); ordered by level, chain depth,
        ``jur_id``.

    Raises
    ------
    InputError
        If ``level`` has no graph or ``jurisdictions`` lacks a column.

    Examples
    --------
    >>> g = nx.DiGraph([("A", "B")], level=0, level_name="country")
    >>> nx.set_node_attributes(g, {"A": 1.0, "B": 1.0}, "area_km2")
    >>> dependency_table(g)[["jur_id", "chain_depth"]].to_records(index=False).tolist()
    [('A', 0), ('B', 1)]
    """
    if isinstance(graphs, nx.DiGraph):
        graphs = {graphs.graph.get("level_name", ""): graphs}
    if level is not None:
        if level not in graphs:
            msg = f"level {level!r} has no graph; allowed levels are {list(graphs)}"
            raise InputError(msg)
        graphs = {level: graphs[level]}
    names: dict[str, str] = {}
    if jurisdictions is not None:
        require_columns(jurisdictions, ("jur_id", "name"), what="jurisdictions")
        names = dict(
            zip(jurisdictions["jur_id"].astype(str), jurisdictions["name"].astype(str), strict=True)
        )
    frames = []
    for i, (lv, g) in enumerate(graphs.items()):
        if g.number_of_nodes() == 0:
            continue
        lvnum = g.graph.get("level", i)
        ids = list(g.nodes)
        inflow = {
            n: sum(d.get("upstream_area_km2", math.nan) for *_, d in g.in_edges(n, data=True))
            for n in ids
        }
        ud = upstream_dependency(g)
        above = _descendant_sets(g, upstream=True)
        below = _descendant_sets(g)  # once for the exposure and the area below
        df = pd.DataFrame(
            {
                "jur_id": ids,
                "level": int(lvnum if lvnum is not None and lvnum >= 0 else i),
                "upstream_dependency": ud.to_numpy(),
                "downstream_exposure": _exposure(g, below).to_numpy().astype(int),
                "chain_depth": chain_depth(g).to_numpy().astype(int),
                "betweenness": betweenness(g).to_numpy(),
                "level_name": lv,
                "name": [g.nodes[n].get("name", names.get(n, "")) for n in ids],
                "area_km2": [g.nodes[n].get("area_km2", np.nan) for n in ids],
                "downstream_area_km2": _area_below(g, below).to_numpy(),
                "inflow_area_km2": [inflow[n] for n in ids],
                "n_upstream": [len(above[n]) for n in ids],
                "dependency_basis": ud.attrs["basis"],
            }
        )
        frames.append(df)
    if not frames:
        return pd.DataFrame(
            columns=[
                "jur_id",
                "level",
                "upstream_dependency",
                "downstream_exposure",
                "chain_depth",
                "betweenness",
            ]
        )
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values(["level", "chain_depth", "jur_id"])
        .reset_index(drop=True)
    )


def dependency_edges(
    graphs: Mapping[str, nx.DiGraph] | nx.DiGraph, jurisdictions: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Edges of jurisdiction graphs as lines between the jurisdictions' representative points.

    Parameters
    ----------
    graphs
        One graph or a mapping level name → graph (:func:`jurisdiction_graph`).
    jurisdictions
        Jurisdiction polygons (any CRS; the output uses it).

    Returns
    -------
    geopandas.GeoDataFrame
        ``from_jur, to_jur, level, level_name, n_crossings, upstream_area_km2,
        discharge_m3s, crossing_ids`` (comma-separated) and LineString geometry.

    Examples
    --------
    >>> from shapely import box
    >>> jur = gpd.GeoDataFrame({"jur_id": ["A", "B"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=3035)
    >>> g = nx.DiGraph(level=0, level_name="country")
    >>> g.add_edge("A", "B", n_crossings=1, crossings=["country-0"],
    ...     upstream_area_km2=2.0, discharge_m3s=0.1)
    >>> dependency_edges(g, jur)["crossing_ids"].tolist()
    ['country-0']
    """
    if isinstance(graphs, nx.DiGraph):
        graphs = {graphs.graph.get("level_name", ""): graphs}
    require_columns(jurisdictions, ("jur_id",), what="jurisdictions")
    rep = pd.Series(
        shapely.point_on_surface(jurisdictions.geometry.to_numpy()),
        index=jurisdictions["jur_id"].astype(str).to_numpy(),
    )
    rows = []
    for i, (lv, g) in enumerate(graphs.items()):
        for a, b, d in g.edges(data=True):
            rows.append(
                {
                    "from_jur": a,
                    "to_jur": b,
                    "level": int(g.graph.get("level", i)),
                    "level_name": lv,
                    "n_crossings": int(d.get("n_crossings", 0)),
                    "upstream_area_km2": float(d.get("upstream_area_km2", np.nan)),
                    "discharge_m3s": float(d.get("discharge_m3s", np.nan)),
                    "crossing_ids": ",".join(d.get("crossings", [])),
                }
            )
    cols = [
        "from_jur",
        "to_jur",
        "level",
        "level_name",
        "n_crossings",
        "upstream_area_km2",
        "discharge_m3s",
        "crossing_ids",
    ]
    df = pd.DataFrame(rows, columns=cols)
    geoms: Any = (
        shapely.linestrings(
            np.stack(
                [
                    shapely.get_coordinates(rep.reindex(df["from_jur"]).to_numpy()),
                    shapely.get_coordinates(rep.reindex(df["to_jur"]).to_numpy()),
                ],
                axis=1,
            )
        )
        if len(df)
        else np.empty(0, dtype=object)
    )
    return gpd.GeoDataFrame(df, geometry=list(geoms), crs=jurisdictions.crs)


@dataclass(frozen=True, eq=False)
class DependencyResult:
    """What the dependency stage produces for one basin.

    Attributes
    ----------
    graphs
        Jurisdiction DiGraph per level (:func:`jurisdiction_graph`).
    table
        Indicator table of every level (:func:`dependency_table`).
    edges
        Every level's graph edges as lines between jurisdictions (:func:`dependency_edges`).
    """

    graphs: Mapping[str, nx.DiGraph]
    table: pd.DataFrame
    edges: gpd.GeoDataFrame


def analyse(overlay: OverlayResult, jurisdictions: gpd.GeoDataFrame) -> DependencyResult:
    """Run the dependency stage on an overlay: graphs, indicators and edge lines per level.

    The graphs are built from the main crossing inventory (boundary crossings left out)
    and weighted with the overlay's unit shares.

    Parameters
    ----------
    overlay
        The overlay of the basin (:func:`basingov.overlay.overlay_network`).
    jurisdictions
        The jurisdiction polygons the overlay used.

    Returns
    -------
    DependencyResult

    Examples
    --------
    >>> from basingov.datasets import load_basin, load_network
    >>> from basingov.overlay import overlay_network
    >>> b = load_basin("thames")
    >>> ov = overlay_network(load_network(b), b.jurisdictions, b.basin)
    >>> dep = analyse(ov, b.jurisdictions)
    >>> sorted(dep.graphs)
    ['lad', 'nuts1', 'nuts2', 'nuts3']
    """
    graphs = {
        lv: jurisdiction_graph(
            overlay.crossings_at(lv), jurisdictions, level=lv, unit_shares=overlay.unit_shares
        )
        for lv in overlay.levels
    }
    return DependencyResult(
        graphs=graphs,
        table=dependency_table(graphs),
        edges=dependency_edges(graphs, jurisdictions),
    )
