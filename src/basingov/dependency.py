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
from scipy import sparse
from scipy.sparse import csgraph

from basingov._checks import check_choice, require_columns
from basingov._jit import njit
from basingov.errors import InputError
from basingov.network import csr_reverse, kahn_order_csr

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
    the crossings between two jurisdictions (crossings into or out of the outside, ``""``
    or missing, are ignored) and carry ``n_crossings``, ``crossings`` (list of ``crossing_id``), and
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
    # outside is "" (a crossing table read back from CSV has it missing)
    c = c[c["from_jur"].fillna(_OUTSIDE).ne(_OUTSIDE) & c["to_jur"].fillna(_OUTSIDE).ne(_OUTSIDE)]
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


def _series(nodes: list[Any], values: Any, name: str) -> pd.Series:
    """Float Series of ``values`` (aligned to ``nodes``) indexed by ``jur_id``."""
    floats = np.asarray(values, dtype=np.float64).tolist()
    s = pd.Series(dict(zip(nodes, floats, strict=True)), name=name, dtype=float)
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
    s = _series(list(vals), list(vals.values()), "upstream_dependency")
    s.attrs["basis"] = used
    return s


def downstream_exposure(graph: nx.DiGraph) -> pd.Series:
    """Count the jurisdictions downstream of each jurisdiction (graph descendants).

    Examples
    --------
    >>> downstream_exposure(nx.DiGraph([("A", "B"), ("B", "C")])).to_dict()
    {'A': 2.0, 'B': 1.0, 'C': 0.0}
    """
    r = _reach(graph)
    return _series(r.nodes, r.n_below.astype(float), "downstream_exposure")


def downstream_area(graph: nx.DiGraph) -> pd.Series:
    """Basin area (km²) of the jurisdictions downstream of each jurisdiction.

    The areas (``area_km2`` of the nodes, 0 where missing) are added one by one in
    ascending ``jur_id`` order, starting from 0.0, so the float result does not depend on
    how the graph was built.

    Examples
    --------
    >>> g = nx.DiGraph([("A", "B")])
    >>> nx.set_node_attributes(g, {"A": 1.0, "B": 4.0}, "area_km2")
    >>> downstream_area(g).to_dict()
    {'A': 4.0, 'B': 0.0}
    """
    r = _reach(graph)
    return _series(r.nodes, r.area_below, "downstream_area_km2")


def _adjacency(graph: nx.DiGraph) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Nodes of ``graph`` and its successor lists in CSR form, both in networkx's order.

    ``indices[indptr[i]:indptr[i + 1]]`` are the positions of the successors of
    ``nodes[i]`` in the order ``graph[nodes[i]]`` yields them (edge insertion order), the
    order networkx's searches follow.

    Examples
    --------
    >>> nodes, indptr, indices = _adjacency(nx.DiGraph([("A", "C"), ("A", "B"), ("B", "C")]))
    >>> nodes, indptr.tolist(), indices.tolist()
    (['A', 'C', 'B'], [0, 2, 2, 3], [1, 2, 1])
    """
    nodes = list(graph)
    pos = {v: i for i, v in enumerate(nodes)}
    succ = [graph[v] for v in nodes]
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, succ), dtype=np.int64, count=len(nodes)), out=indptr[1:])
    indices = np.fromiter(
        (pos[w] for nb in succ for w in nb), dtype=np.int64, count=int(indptr[-1])
    )
    return nodes, indptr, indices


@dataclass(frozen=True, eq=False)
class _Condensation:
    """A graph's strongly connected components and the DAG between them.

    ``comp[i]`` is the component of node ``i``; ``down``/``up`` are the component DAG's
    edges and reversed edges in CSR form (``(indptr, indices)``, duplicates kept);
    ``order`` is a topological order of the components (upstream first).
    """

    comp: np.ndarray
    down: tuple[np.ndarray, np.ndarray]
    up: tuple[np.ndarray, np.ndarray]
    order: np.ndarray


def _condense(indptr: np.ndarray, indices: np.ndarray) -> _Condensation:
    """Condense a CSR graph (:func:`_adjacency`) into its components (see :class:`_Condensation`).

    Examples
    --------
    >>> c = _condense(np.array([0, 1, 2, 3, 3]), np.array([1, 2, 1]))  # 0->1<->2, 3
    >>> bool(c.comp[1] == c.comp[2]), len(c.order)
    (True, 3)
    """
    n = indptr.shape[0] - 1
    ncomp, labels = csgraph.connected_components(
        sparse.csr_matrix((np.ones(indices.shape[0], dtype=np.int8), indices, indptr), (n, n)),
        directed=True,
        connection="strong",
    )
    comp = np.asarray(labels, dtype=np.int64)
    src = np.repeat(comp, np.diff(indptr))
    dst = comp[indices]
    cross = src != dst
    src, dst = src[cross], dst[cross]
    down = csr_reverse(dst, src, ncomp)  # grouped by the upstream component
    up = csr_reverse(src, dst, ncomp)
    return _Condensation(comp=comp, down=down, up=up, order=kahn_order_csr(*down, ncomp))


@njit(cache=True)
def _closure_bits(
    indptr: np.ndarray, indices: np.ndarray, order: np.ndarray, comp_of_rank: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Bitset of the nodes each component reaches, itself included.

    Row ``c`` has bit ``r`` set when the node of rank ``r`` lies in component ``c`` or in
    a component that ``c`` reaches along the CSR edges (``indptr``, ``indices``);
    ``order`` is a topological order of those edges, so every component is finished
    before the ones that reach it read it.
    """
    n = comp_of_rank.shape[0]
    words = (n + 63) // 64
    bits = np.zeros((indptr.shape[0] - 1, words), dtype=np.uint64)
    one = np.uint64(1)
    for r in range(n):
        bits[comp_of_rank[r], r >> 6] |= one << np.uint64(r & 63)
    for i in range(order.shape[0] - 1, -1, -1):
        c = order[i]
        for k in range(indptr[c], indptr[c + 1]):
            s = indices[k]
            for j in range(words):
                bits[c, j] |= bits[s, j]
    return bits


@njit(cache=True)
def _reached(
    bits: np.ndarray, comp_of_rank: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per rank ``r``: how many other ranks its component's bitset holds, and their sum.

    The sum adds ``values`` of those ranks one by one in ascending rank, from 0.0, as
    Python's ``sum`` over the sorted members does; with an empty ``values`` it is 0.
    """
    n = comp_of_rank.shape[0]
    count = np.empty(n, dtype=np.int64)
    total = np.zeros(n, dtype=np.float64)
    sums = values.shape[0] > 0
    one = np.uint64(1)
    zero = np.uint64(0)
    for r in range(n):
        c = comp_of_rank[r]
        k = 0
        acc = 0.0
        for j in range(bits.shape[1]):
            x = bits[c, j]
            if x == zero:
                continue
            for b in range(64):
                if (x >> np.uint64(b)) & one:
                    q = j * 64 + b
                    if q != r:
                        k += 1
                        if sums:
                            acc += values[q]
        count[r] = k
        total[r] = acc
    return count, total


@njit(cache=True)
def _longest_depth(
    indptr: np.ndarray, indices: np.ndarray, order: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Edges on the longest path into each node of a DAG (CSR, ``order`` topological)."""
    depth = np.zeros(indptr.shape[0] - 1, dtype=np.int64)
    for i in range(order.shape[0]):
        c = order[i]
        d = depth[c] + 1
        for k in range(indptr[c], indptr[c + 1]):
            s = indices[k]
            if depth[s] < d:
                depth[s] = d
    return depth


@dataclass(frozen=True, eq=False, kw_only=True)
class _Reach:
    """What every node of a graph reaches, from its condensation.

    Attributes
    ----------
    nodes
        The graph's nodes, in graph order; the arrays follow it.
    n_below, n_above
        Number of descendants and of ancestors (``nx.descendants``, ``nx.ancestors``).
    area_below
        Sum of the descendants' ``area_km2`` (0 where missing), added in ascending node
        order from 0.0.
    depth
        Chain depth (:func:`chain_depth`).
    """

    nodes: list[Any]
    n_below: np.ndarray
    n_above: np.ndarray
    area_below: np.ndarray
    depth: np.ndarray


def _ranked(nodes: list[Any], comp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each node's position in ``sorted(nodes)`` (its bit), and the component of each bit."""
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[sorted(range(len(nodes)), key=nodes.__getitem__)] = np.arange(len(nodes))
    comp_of_rank = np.empty(len(nodes), dtype=np.int64)
    comp_of_rank[rank] = comp
    return rank, comp_of_rank


def _closure(cond: _Condensation, comp_of_rank: np.ndarray, *, upstream: bool) -> np.ndarray:
    """Descendants (ancestors if ``upstream``) of every component as bitsets over node ranks.

    Row ``c`` has the bits (:func:`_ranked`) of the nodes of component ``c`` and of every
    node it reaches downstream (upstream); the descendants of a node are the bits of its
    component's row except its own, as ``nx.descendants`` never includes the node itself.

    Examples
    --------
    >>> g = nx.DiGraph([("A", "B"), ("B", "C"), ("C", "B"), ("C", "D")])
    >>> nodes, indptr, indices = _adjacency(g)
    >>> cond = _condense(indptr, indices)
    >>> rank, comp_of_rank = _ranked(nodes, cond.comp)
    >>> bits = _closure(cond, comp_of_rank, upstream=False)
    >>> [int(bits[cond.comp[i], 0]) for i in range(4)]  # bits 0-3 are A-D
    [15, 14, 14, 8]
    >>> [int(v) for v in _closure(cond, comp_of_rank, upstream=True)[cond.comp, 0]]
    [1, 7, 7, 15]
    """
    if upstream:
        return _closure_bits(*cond.up, np.ascontiguousarray(cond.order[::-1]), comp_of_rank)
    return _closure_bits(*cond.down, cond.order, comp_of_rank)


def _reach(graph: nx.DiGraph) -> _Reach:
    """Descendant and ancestor counts, area below and chain depth of every node.

    One condensation, then one bitset per component and direction (components x nodes
    bits, one direction at a time), instead of a Python set per node.

    Examples
    --------
    >>> g = nx.DiGraph([("A", "B"), ("B", "C"), ("C", "B"), ("C", "D")])
    >>> nx.set_node_attributes(g, {"A": 1.0, "B": 2.0, "C": 4.0, "D": 8.0}, "area_km2")
    >>> r = _reach(g)
    >>> r.n_below.tolist(), r.n_above.tolist(), r.area_below.tolist(), r.depth.tolist()
    ([3, 2, 2, 0], [0, 2, 2, 3], [14.0, 12.0, 10.0, 0.0], [0, 1, 1, 2])
    """
    nodes, indptr, indices = _adjacency(graph)
    if not nodes:
        empty = np.empty(0, dtype=np.int64)
        return _Reach(
            nodes=nodes, n_below=empty, n_above=empty, area_below=np.empty(0), depth=empty
        )
    cond = _condense(indptr, indices)
    rank, comp_of_rank = _ranked(nodes, cond.comp)
    area = nx.get_node_attributes(graph, "area_km2")
    values = np.empty(len(nodes), dtype=np.float64)
    values[rank] = [float(area.get(v, 0.0)) for v in nodes]
    n_below, area_below = _reached(
        _closure(cond, comp_of_rank, upstream=False), comp_of_rank, values
    )
    n_above, _ = _reached(_closure(cond, comp_of_rank, upstream=True), comp_of_rank, np.empty(0))
    return _Reach(
        nodes=nodes,
        n_below=n_below[rank],
        n_above=n_above[rank],
        area_below=area_below[rank],
        depth=_depth(cond),
    )


def _depth(cond: _Condensation) -> np.ndarray:
    """Chain depth of every node: longest path into its component (:func:`chain_depth`)."""
    return _longest_depth(*cond.down, cond.order)[cond.comp]


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
    nodes, indptr, indices = _adjacency(graph)
    if not nodes:
        return _series(nodes, np.empty(0), "chain_depth")
    return _series(nodes, _depth(_condense(indptr, indices)).astype(float), "chain_depth")


@njit(cache=True)
def _brandes(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Unscaled betweenness of every node of a CSR graph, as networkx computes it.

    Brandes' algorithm step for step as networkx's ``betweenness_centrality`` (unweighted,
    no endpoints): sources in node order; a breadth-first search over the successors in
    CSR order, path counts ``sigma`` as floats and each node's predecessors in the order
    they are found; then the dependencies accumulated popping the search order, with
    ``coeff = (1 + delta[w]) / sigma[w]`` and ``delta[v] += sigma[v] * coeff``. The same
    float operations in the same order give the same bits.
    """
    n = indptr.shape[0] - 1
    # node w has at most in-degree(w) predecessors in one search: a slot for each
    pstart = np.zeros(n + 1, dtype=np.int64)
    for k in range(indices.shape[0]):
        pstart[indices[k] + 1] += 1
    for i in range(n):
        pstart[i + 1] += pstart[i]
    preds = np.empty(indices.shape[0], dtype=np.int64)
    npred = np.zeros(n, dtype=np.int64)
    sigma = np.zeros(n, dtype=np.float64)
    delta = np.zeros(n, dtype=np.float64)
    dist = np.full(n, -1, dtype=np.int64)
    seen = np.empty(n, dtype=np.int64)  # the search order: queue, then stack
    bc = np.zeros(n, dtype=np.float64)
    for s in range(n):
        sigma[s] = 1.0
        dist[s] = 0
        seen[0] = s
        head = 0
        tail = 1
        while head < tail:
            v = seen[head]
            head += 1
            dnext = dist[v] + 1
            sv = sigma[v]
            for k in range(indptr[v], indptr[v + 1]):
                w = indices[k]
                if dist[w] < 0:
                    seen[tail] = w
                    tail += 1
                    dist[w] = dnext
                if dist[w] == dnext:
                    sigma[w] += sv
                    preds[pstart[w] + npred[w]] = v
                    npred[w] += 1
        for i in range(tail - 1, -1, -1):
            w = seen[i]
            coeff = (1.0 + delta[w]) / sigma[w]
            for j in range(pstart[w], pstart[w] + npred[w]):
                v = preds[j]
                delta[v] += sigma[v] * coeff
            if w != s:
                bc[w] += delta[w]
        for i in range(tail):
            w = seen[i]
            sigma[w] = 0.0
            delta[w] = 0.0
            dist[w] = -1
            npred[w] = 0
    return bc


def betweenness(graph: nx.DiGraph) -> pd.Series:
    """Normalised directed betweenness centrality, unweighted.

    High values mark the jurisdictions that flows between others pass through. The
    values are those of ``nx.betweenness_centrality(graph, normalized=True)`` to the last
    bit (the same algorithm and float operations, compiled): the raw counts scaled by
    ``1 / ((n - 1) * (n - 2))`` for ``n > 2`` nodes.

    Examples
    --------
    >>> betweenness(nx.DiGraph([("A", "B"), ("B", "C")])).to_dict()
    {'A': 0.0, 'B': 0.5, 'C': 0.0}
    """
    nodes, indptr, indices = _adjacency(graph)
    bc = _brandes(indptr, indices)
    n = len(nodes)
    if n > 2:  # networkx's _rescale: normalised over the (n - 1)(n - 2) ordered pairs
        bc = bc * (1 / ((n - 1) * (n - 2)))
    return _series(nodes, bc, "betweenness")


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
        reach = _reach(g)
        df = pd.DataFrame(
            {
                "jur_id": ids,
                "level": int(lvnum if lvnum is not None and lvnum >= 0 else i),
                "upstream_dependency": ud.to_numpy(),
                "downstream_exposure": reach.n_below,
                "chain_depth": reach.depth,
                "betweenness": betweenness(g).to_numpy(),
                "level_name": lv,
                "name": [g.nodes[n].get("name", names.get(n, "")) for n in ids],
                "area_km2": [g.nodes[n].get("area_km2", np.nan) for n in ids],
                "downstream_area_km2": reach.area_below,
                "inflow_area_km2": [inflow[n] for n in ids],
                "n_upstream": reach.n_above,
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
    dup = jurisdictions["jur_id"][jurisdictions["jur_id"].duplicated()].unique().tolist()
    if dup:
        msg = f"jurisdictions has repeated jur_id values {dup[:10]}; jur_id must be unique"
        raise InputError(msg)
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
    ends = [rep.reindex(df[c].astype(str)).to_numpy() for c in ("from_jur", "to_jur")]
    none = pd.isna(np.concatenate(ends))
    none[~none] = shapely.is_empty(np.concatenate(ends)[~none])
    if none.any():
        bad = sorted(set(pd.concat([df["from_jur"], df["to_jur"]])[none].astype(str)))
        msg = (
            f"graph jurisdictions {bad[:10]} have no polygon in jurisdictions (missing, null "
            "or empty geometry); pass the jurisdiction polygons the graphs were built from"
        )
        raise InputError(msg)
    geoms: Any = (
        shapely.linestrings(np.stack([shapely.get_coordinates(e) for e in ends], axis=1))
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
