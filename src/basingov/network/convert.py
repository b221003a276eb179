"""Converters of a river network: GeoDataFrame and networkx round trips.

Inverse pairs (``network_to_gdf`` / ``network_from_gdf``, ``to_networkx`` /
``from_networkx``); all names are re-exported by :mod:`basingov.network`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from basingov.errors import CRSError, InputError, TopologyError
from basingov.network._container import OUTLET_ID, _id_array, network_from_table

if TYPE_CHECKING:
    from basingov.network._container import RiverNetwork

__all__ = ["from_networkx", "network_from_gdf", "network_to_gdf", "to_networkx"]


# ----------------------------------------------------------------------------------------
# converters
# ----------------------------------------------------------------------------------------
def network_to_gdf(net: RiverNetwork) -> gpd.GeoDataFrame:
    """Return the reach table as a standalone GeoDataFrame (a copy), topology in columns.

    Bifurcations, source and derived flag travel in ``gdf.attrs``.

    Parameters
    ----------
    net
        The network; its reach table is copied, so editing the result leaves it intact.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``net.reaches`` in the network's CRS: ``reach_id``, ``downstream_id``
        and every other reach column. The inverse of :func:`network_from_gdf`.

    Examples
    --------
    >>> from basingov.examples import example_network
    >>> net = example_network([2, -1])  # two 1 km reaches, 1 flowing into 2
    >>> network_from_gdf(network_to_gdf(net)).idx_ds.tolist()
    [1, -1]
    """
    g = net.reaches.copy()
    g.attrs = {
        "basingov_source": net.source,
        "basingov_derived": net.derived,
        "basingov_bifurcations": None
        if net.bifurcations is None
        else net.bifurcations.to_dict("list"),
    }
    return g


def network_from_gdf(gdf: gpd.GeoDataFrame, **kwargs: Any) -> RiverNetwork:
    """Rebuild a network from :func:`network_to_gdf` output (or any reach table).

    Parameters
    ----------
    gdf
        Reach table with ``reach_id`` and ``downstream_id``; ``attrs`` written by
        :func:`network_to_gdf` restore bifurcations, source and derived flag.
    **kwargs
        Passed on to :func:`~basingov.network.network_from_table` (they win over ``attrs``).

    Returns
    -------
    RiverNetwork
        Inverse of :func:`network_to_gdf`.

    Examples
    --------
    >>> from basingov.examples import example_reaches
    >>> network_from_gdf(example_reaches([2, -1])).n
    2
    """
    attrs = dict(gdf.attrs)
    bif = attrs.get("basingov_bifurcations")
    opts: dict[str, Any] = {
        "source": attrs.get("basingov_source", ""),
        "derived": bool(attrs.get("basingov_derived", False)),
        "bifurcations": None if bif is None else pd.DataFrame(bif),
        "allow_cycles": bif is not None,
    }
    opts.update(kwargs)
    g = gdf.copy()
    g.attrs = {}
    return network_from_table(g, **opts)


def to_networkx(net: RiverNetwork) -> nx.DiGraph:
    """Return a :class:`networkx.DiGraph` view: one node per reach id, one edge per link.

    Node attributes are the reach-table columns (geometry included); edges carry
    ``fraction``. ``G.graph`` holds ``crs`` (WKT), ``source`` and ``derived``.

    Parameters
    ----------
    net
        The network; a bifurcating reach gets one out-edge per branch.

    Returns
    -------
    networkx.DiGraph
        Edges point downstream, from a reach to each reach it flows into (two at a
        bifurcation). The inverse of :func:`from_networkx`.

    Examples
    --------
    A Y confluence, reaches 1 and 2 flowing into 3:

    >>> from basingov.examples import example_network
    >>> g = to_networkx(example_network([3, 3, -1]))
    >>> sorted(g.edges())
    [(1, 3), (2, 3)]
    """
    g = nx.DiGraph(crs=net.crs.to_wkt(), source=net.source, derived=net.derived)
    ids = net.ids
    recs = net.reaches.drop(columns=["downstream_id"]).to_dict("records")
    g.add_nodes_from(zip(ids.tolist(), recs, strict=True))
    src, dst, frac = net.edges
    g.add_edges_from(
        (int(ids[s]), int(ids[d]), {"fraction": float(f)})
        for s, d, f in zip(src, dst, frac, strict=True)
    )
    g.graph["main_downstream"] = {
        int(ids[i]): int(ids[d]) for i, d in enumerate(net.idx_ds) if d >= 0
    }
    g.graph["exits"] = (
        {}
        if net.bifurcations is None
        else {
            int(r): float(f)
            for r, d, f in net.bifurcations.itertuples(index=False)
            if d == OUTLET_ID
        }
    )
    return g


def from_networkx(g: nx.DiGraph, **kwargs: Any) -> RiverNetwork:
    """Build a network from a :class:`networkx.DiGraph` of reaches.

    Nodes are reach ids with a ``geometry`` attribute (other attributes become columns);
    ``G.graph["crs"]`` gives the CRS. A node with several successors is a bifurcation,
    split by the edges' ``fraction``, numbers in (0, 1] (equal shares when absent).

    Parameters
    ----------
    g
        The graph, e.g. from :func:`to_networkx`.
    **kwargs
        Passed on to :func:`~basingov.network.network_from_table`.

    Returns
    -------
    RiverNetwork
        Inverse of :func:`to_networkx`.

    Raises
    ------
    CRSError
        If ``G.graph`` has no ``crs``.
    InputError
        If the nodes, or the values of ``G.graph["main_downstream"]``, are not integer
        reach ids, the nodes carry no ``geometry``, the ``fraction`` of a splitting
        reach's edge is no number in (0, 1] (text, NaN, a bool), or ``G.graph["exits"]``
        (the share of a splitting reach's water that leaves the network) is no dict of
        nodes to such numbers.
    TopologyError
        If a reach of ``G.graph["exits"]`` has edge fractions and exit share that do not
        sum to 1 (the message names them and the fix), or the network is invalid
        otherwise (:func:`~basingov.network.network_from_table`).

    Examples
    --------
    >>> import networkx as nx
    >>> from shapely import LineString
    >>> g = nx.DiGraph(crs="EPSG:3035")
    >>> g.add_node(1, geometry=LineString([(0, 0), (500, 0)]))
    >>> g.add_node(2, geometry=LineString([(500, 0), (900, 0)]))
    >>> g.add_edge(1, 2)
    >>> from_networkx(g).reaches["length_km"].tolist()
    [0.5, 0.4]
    """
    if g.graph.get("crs") is None:
        msg = "the graph has no CRS; set G.graph['crs'] (e.g. 'EPSG:3035')"
        raise CRSError(msg)
    nodes = list(g.nodes)
    data = pd.DataFrame([g.nodes[v] for v in nodes])
    if "geometry" not in data.columns:
        msg = (
            f"the graph's {len(nodes)} node(s) have no 'geometry' attribute; give each reach "
            "node its line, e.g. G.add_node(reach_id, geometry=LineString(...))"
        )
        raise InputError(msg)
    try:
        node_ids = _id_array(np.array(nodes, dtype=object))
    except InputError as exc:
        msg = f"the graph's nodes must be integer reach ids: {exc}"
        raise InputError(msg) from exc
    rid = dict(zip(nodes, node_ids.tolist(), strict=True))
    data["reach_id"] = node_ids
    main_ds = _main_downstream(g)
    exits = _exits(g)
    bif_rows: list[tuple[int, int, float]] = []
    bad_fractions: list[str] = []
    bad_sums: list[str] = []
    ds = []
    for v in nodes:
        succ = list(g.successors(v))
        if len(succ) <= 1 and v not in exits:
            ds.append(rid[succ[0]] if succ else OUTLET_ID)
            continue
        for s in succ:
            f = g.edges[v, s].get("fraction")
            frac = _edge_fraction(f)
            if frac is None:
                bad_fractions.append(f"({v!r}, {s!r}): {f!r}")
            bif_rows.append((rid[v], rid[s], np.nan if frac is None else frac))
        if v in exits:
            bif_rows.append((rid[v], OUTLET_ID, exits[v]))
            off = _exit_sum_problem(g, v, succ, exits[v])
            if off:
                bad_sums.append(off)
        ds.append(main_ds[v] if v in main_ds else (rid[succ[0]] if succ else OUTLET_ID))
    if bad_fractions:
        more = f", ... ({len(bad_fractions) - 5} more)" if len(bad_fractions) > 5 else ""
        msg = (
            "the fractions of a splitting reach's edges must be numbers in (0, 1]; got "
            f"edge(s) {', '.join(bad_fractions[:5])}{more}; fix them, or leave 'fraction' "
            "out for equal shares"
        )
        raise InputError(msg)
    if bad_sums:
        # network_from_table said only "bifurcation fractions must sum to 1 per reach; they
        # do not for reach(es) 1: 1.3", not that G.graph['exits'] is part of the sum
        more = f"; ... ({len(bad_sums) - 5} more)" if len(bad_sums) > 5 else ""
        msg = (
            "a splitting reach's water leaves through its edges ('fraction') and "
            "G.graph['exits'] together, so its edge fractions and exit share must sum to 1; "
            f"they do not for {'; '.join(bad_sums[:5])}{more}"
        )
        raise TopologyError(msg)
    data["downstream_id"] = np.asarray(ds, dtype=np.int64)
    gdf = gpd.GeoDataFrame(data, geometry="geometry", crs=g.graph["crs"])
    bif = None
    if bif_rows:
        bif = pd.DataFrame(bif_rows, columns=["reach_id", "downstream_id", "fraction"])
        cnt = bif.groupby("reach_id")["fraction"].transform("size")
        bif["fraction"] = bif["fraction"].fillna(1.0 / cnt)
    opts: dict[str, Any] = {
        "bifurcations": bif,
        "allow_cycles": bif is not None,
        "source": g.graph.get("source", ""),
        "derived": bool(g.graph.get("derived", False)),
    }
    opts.update(kwargs)
    return network_from_table(gdf, **opts)


def _edge_fraction(f: Any) -> float | None:
    """Return an edge's fraction: NaN when absent (equal shares), None if no share.

    float() raised a raw ValueError for text that is no number and TypeError for a list,
    and NaN was taken as absent; numbers as text are taken, as in a bifurcation table.
    """
    if f is None:
        return np.nan
    try:
        x = float(f)
    except (TypeError, ValueError):
        return None
    return x if 0 < x <= 1 and not isinstance(f, bool | np.bool_) else None


def _exit_sum_problem(g: nx.DiGraph, v: Any, succ: list[Any], share: float) -> str:
    """Return why reach ``v``'s edge fractions and exit share miss 1, and the fix; "" if not.

    As :func:`~basingov.network.network_from_table` sums them: an absent fraction is an
    equal share of the edges and the exit, and the same tolerance (1e-6).
    """
    equal = 1.0 / (len(succ) + 1)
    parts, edges = [], 0.0
    for s in succ:
        f = _edge_fraction(g.edges[v, s].get("fraction"))
        if f is None:  # refused as no share, with the other bad fractions
            return ""
        if np.isnan(f):
            f = equal
            parts.append(f"({v!r}, {s!r}): absent, an equal share {f:.6g}")
        else:
            parts.append(f"({v!r}, {s!r}): {f:.6g}")
        edges += f
    total = share + edges
    if np.isclose(total, 1.0, rtol=0, atol=1e-6):
        return ""
    fixes = []
    if succ and share < 1:
        fixes.append(f"set its edges' 'fraction' to sum to {1 - share:.6g} (1 - the exit share)")
    if 0 < 1 - edges <= 1:
        fixes.append(f"set G.graph['exits'][{v!r}] = {1 - edges:.6g} (1 - the edge fractions)")
    fixes = fixes or [
        f"drop reach {v!r} from G.graph['exits'] if none of its water leaves the network, or "
        "its edges if all of it does"
    ]
    got = f"edge fractions {{{', '.join(parts)}}} summing to {edges:.6g}" if parts else "no edge"
    return (
        f"reach {v!r}: G.graph['exits'][{v!r}] = {share:.6g} and {got} give {total:.6g}; "
        f"{' or '.join(fixes)}"
    )


def _exits(g: nx.DiGraph) -> dict[Any, float]:
    """``G.graph["exits"]``: nodes to the share of their water leaving the network, checked.

    A share that was no number ("half") or out of (0, 1] was refused only as a row of the
    bifurcation table, named by reach ("bifurcation column 'fraction' must hold numbers",
    "must sum to 1 per reach"); NaN or True went into those sums, a key that is no node
    was ignored and a list raised a raw TypeError. A share is read as an edge's fraction
    (:func:`_edge_fraction`): numbers as text are taken, None is an equal share.
    """
    exits = g.graph.get("exits")
    if exits is None:
        return {}
    if not isinstance(exits, Mapping):
        msg = (
            "G.graph['exits'] must be a dict {reach_id: share} of the water of a splitting "
            f"reach that leaves the network, got {exits!r} ({type(exits).__name__})"
        )
        raise InputError(msg)
    shares = {k: _edge_fraction(v) for k, v in exits.items()}
    unknown = [k for k in exits if k not in g]
    bad = {k: exits[k] for k, f in shares.items() if f is None}
    got = []
    if unknown:
        got.append(f"key(s) {unknown[:5]} that are no node of the graph")
    if bad:
        got.append(f"share(s) {dict(list(bad.items())[:5])} that are no number in (0, 1]")
    if got:
        msg = (
            "G.graph['exits'] maps a splitting reach (a node) to the share of its water that "
            f"leaves the network, a number in (0, 1]; got {' and '.join(got)}. Fix them, or "
            "leave out a reach none of whose water leaves the network"
        )
        raise InputError(msg)
    return {k: float(f) for k, f in shares.items() if f is not None}


def _main_downstream(g: nx.DiGraph) -> dict[Any, int]:
    """``G.graph["main_downstream"]`` with int ids; refuse a value that is no integer id.

    int() truncated 2.5 to reach 2 and raised a raw ValueError/TypeError for NaN, None or
    text.
    """
    main: dict[Any, Any] = dict(g.graph.get("main_downstream", {}))
    ids = _id_array(
        np.array(list(main.values()), dtype=object),
        name="G.graph['main_downstream'] value(s)",
        fix="give the reach id of each splitting reach's main branch",
    )
    return dict(zip(main, ids.tolist(), strict=True))
