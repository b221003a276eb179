"""Transfers of load between jurisdictions: the source-receptor matrix of one level."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from basingov._checks import check_choice
from basingov.errors import InputError
from basingov.spillover import _kernels as K
from basingov.spillover._common import _METHODS, Method
from basingov.spillover.routing import (
    RoutingGraph,
    _node_arrays,
    entry_factors,
    route,
    routing_graph,
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------
# transfers between jurisdictions
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class Transfer:
    r"""Jurisdiction-to-jurisdiction transfers of load on one level (codes 0..J-1).

    Attributes
    ----------
    matrix
        J x J source-receptor matrix :math:`S` (see :func:`transfer`).
    border_src, border_dst, border_frac
        The border links (node positions and link fraction).
    border_entries
        The non-zero flux by origin crossing each border link, as ``(link, origin, flux)``
        arrays sorted by link, then origin (``link`` a row of ``border_src``).
    border_flux
        The same as a dense n_border x J array, built on each use (with thousands of
        jurisdictions it is large; the tables use :attr:`border_entries`).
    generated, delivered, decayed, retained, exported, returned
        Length-J per-jurisdiction totals (kg/day): generated, delivered to outlets,
        decayed, retained (all by origin); own load leaving the jurisdiction across its
        borders; own load coming back across its borders.
    first_exit
        Length-J own load measured where it first leaves its jurisdiction's waters (each
        load counted once, however many borders it crosses after); set by
        :func:`transfer`, None on the partial results it combines.
    first_entry
        Length-J load of other origins measured where it first enters the
        jurisdiction's waters (each load counted once, however often a river winding
        along a border carries it in again); set by :func:`transfer`, None on the
        partial results it combines.
    """

    matrix: np.ndarray
    border_src: np.ndarray
    border_dst: np.ndarray
    border_frac: np.ndarray
    generated: np.ndarray
    delivered: np.ndarray
    decayed: np.ndarray
    retained: np.ndarray
    exported: np.ndarray
    returned: np.ndarray
    _border: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)
    first_exit: np.ndarray | None = None
    first_entry: np.ndarray | None = None

    @property
    def border_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Non-zero border fluxes ``(link, origin, flux)``, sorted by link, then origin."""
        return self._border

    @property
    def border_flux(self) -> np.ndarray:
        """n_border x J flux by origin crossing each border link (dense, built on each use)."""
        out = np.zeros((self.border_src.size, self.matrix.shape[0]))
        link, origin, flux = self._border
        out[link, origin] = flux
        return out


def _entries(
    link: np.ndarray, origin: np.ndarray, flux: np.ndarray, nj: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse border fluxes from ``(link, origin, flux)`` triplets, in canonical form.

    The triplets are summed per (link, origin) cell in the order given, from 0.0, as
    ``dense[link, origin] += flux`` over them would (the same additions in the same
    order); cells summing to zero are dropped (a dense array holds zero there) and the
    rest sorted by link, then origin. The arrays are read-only.
    """
    nj = max(1, nj)
    key = np.asarray(link, dtype=np.int64) * nj + np.asarray(origin, dtype=np.int64)
    order = np.argsort(key, kind="stable")  # a cell's triplets stay in their order
    key = key[order]
    new = np.ones(key.size, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=new[1:])
    cell = np.cumsum(new) - 1
    val = np.bincount(cell, weights=np.asarray(flux, dtype=np.float64)[order])
    key = key[new]
    nz = val != 0
    out = (key[nz] // nj, key[nz] % nj, val[nz])
    for a in out:
        a.setflags(write=False)
    return out


#: Largest rows x origins block of dense border fluxes that :func:`_border_totals` holds.
_TOTALS_BLOCK_CELLS = 1 << 18


def _border_totals(
    border: tuple[np.ndarray, np.ndarray, np.ndarray], n_links: int, n_jur: int
) -> np.ndarray:
    """Total flux over every origin crossing each border link (one value per link).

    ``border`` as :attr:`Transfer.border_entries`, of ``n_links`` links and ``n_jur``
    origins. The same numbers as ``border_flux.sum(axis=1)``: each link's row of fluxes
    is written, zeros included, into a dense block of at most ``_TOTALS_BLOCK_CELLS``
    cells and summed by numpy along the row (numpy sums a row pairwise, so a row's sum
    depends on where its zeros lie; a block of rows gives each row the additions of the
    whole array). Links without flux get 0 and are not summed.
    """
    link, origin, flux = border
    nb, nj = n_links, n_jur
    out = np.zeros(nb)
    rows = np.unique(link)
    if rows.size == 0:
        return out
    start = np.searchsorted(link, rows)
    end = np.append(start[1:], link.size)
    step = max(1, _TOTALS_BLOCK_CELLS // max(1, nj))
    buf = np.zeros((min(step, rows.size), nj))
    for r0 in range(0, rows.size, step):
        r1 = min(rows.size, r0 + step)
        lo, hi = int(start[r0]), int(end[r1 - 1])
        at = (np.repeat(np.arange(r1 - r0), end[r0:r1] - start[r0:r1]), origin[lo:hi])
        buf[at] = flux[lo:hi]
        out[rows[r0:r1]] = buf[: r1 - r0].sum(axis=1)
        buf[at] = 0.0
    return out


def _transfer_tree(
    graph: RoutingGraph,
    kp: np.ndarray,
    ent: np.ndarray,
    g: np.ndarray,
    jur: np.ndarray,
    lake: np.ndarray,
    nj: int,
    max_cells: int,
) -> Transfer:
    gen, dec, ret, dlv, exported, returned = (np.zeros(nj) for _ in range(6))
    acc = K.tree_local(graph.order, graph.idx_ds, kp, ent, g, jur, lake, gen, dec, ret)
    zone, exits, trans, rho, dlt = K.tree_reverse(graph.order, graph.idx_ds, kp, jur, lake)
    has_ds = graph.idx_ds[exits] >= 0
    nb = int(has_ds.sum())
    border_zone = np.full(exits.shape[0], -1, dtype=np.int64)
    border_zone[has_ds] = np.arange(nb)
    smat = np.zeros((nj, nj))
    # the tree of zones, each zone carrying only the origins upstream of it
    empty = np.zeros(0, dtype=np.int64)
    off, cols, down, ret_at, own = K.zone_columns(
        graph.idx_ds, zone, exits, empty, empty, jur[exits], nj
    )
    # border fluxes as (border, origin, flux) triplets, never a dense border x origin array
    bb = np.empty(cols.shape[0], dtype=np.int64)
    bj = np.empty(cols.shape[0], dtype=np.int64)
    bv = np.empty(cols.shape[0])
    m = K.tree_zones_sparse(
        exits, zone, graph.idx_ds, jur, acc, trans, rho, dlt, off, cols, down, ret_at, own,
        smat, dec, ret, dlv, exported, returned, border_zone, bb, bj, bv,
    )  # fmt: skip
    bsrc = exits[has_ds]
    border = _entries(bb[:m], bj[:m], bv[:m], nj)
    del bb, bj, bv
    links = (bsrc, graph.idx_ds[bsrc], np.ones(nb))
    # a zone's own load at its exit is what first leaves the jurisdiction's waters
    first = np.bincount(jur[bsrc], weights=acc[bsrc], minlength=nj)
    return _closed(smat, links, border, gen, dlv, dec, ret, exported, returned, first_exit=first)


def _closed(
    smat: np.ndarray,
    links: tuple[np.ndarray, np.ndarray, np.ndarray],
    border: tuple[np.ndarray, np.ndarray, np.ndarray],
    gen: np.ndarray,
    dlv: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    exported: np.ndarray,
    returned: np.ndarray,
    *,
    first_exit: np.ndarray | None = None,
) -> Transfer:
    """Return the :class:`Transfer`, its diagonal closed by ``gen - exported + returned``.

    ``links`` are the border links ``(src, dst, frac)``; ``border`` their fluxes by origin
    as :func:`_entries` gives them; ``first_exit`` as in :class:`Transfer` (None: computed
    later by :func:`transfer`).
    """
    np.fill_diagonal(smat, gen - exported + returned)
    return Transfer(
        matrix=smat,
        border_src=links[0],
        border_dst=links[1],
        border_frac=links[2],
        _border=border,
        generated=gen,
        delivered=dlv,
        decayed=dec,
        retained=ret,
        exported=exported,
        returned=returned,
        first_exit=first_exit,
    )


def _border_sums(
    rj: np.ndarray,
    bsrc: np.ndarray,
    bdst: np.ndarray,
    border: tuple[np.ndarray, np.ndarray, np.ndarray],
    nj: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each origin's flux over its own border links (out, by source) and back (in, by target).

    ``border`` as :func:`_entries` gives it; a link's weight is its flux of the origin in
    question, zero where it has none (summed over every link in link order).
    """
    link, origin, flux = border
    out_w = np.zeros(bsrc.size)
    back_w = np.zeros(bsrc.size)
    hit = origin == rj[bsrc[link]]
    out_w[link[hit]] = flux[hit]
    hit = origin == rj[bdst[link]]
    back_w[link[hit]] = flux[hit]
    out = np.bincount(rj[bsrc], weights=out_w, minlength=nj)
    back = np.bincount(rj[bdst], weights=back_w, minlength=nj)
    return out, back


def _add_to_matrix(
    smat: np.ndarray, rj: np.ndarray, bdst: np.ndarray, border: tuple[np.ndarray, ...]
) -> None:
    """Add each border flux to ``smat[origin, receptor]``, in link order (in place)."""
    link, origin, flux = border
    np.add.at(smat, (origin, rj[bdst[link]]), flux)


def transfer(
    graph: RoutingGraph,
    keep: Any,
    load: Any,
    jur: Any,
    *,
    is_lake: Any = None,
    n_jur: int | None = None,
    method: Method = "auto",
    max_cells: int = 50_000_000,
    route_jur: Any = None,
    foreign: tuple[Any, Any, Any] | None = None,
    first_entries: bool = True,
) -> Transfer:
    r"""Source-receptor matrix of one jurisdiction level, and border fluxes by origin.

    Each node has two labels: its *origin* :math:`J(i)` (``jur``), the jurisdiction where
    the load generated on it originates, and its *routing label* :math:`R(i)`
    (``route_jur``, default :math:`R = J`), the jurisdiction whose waters the node counts
    as. They differ on boundary stretches (:func:`stretch_route_codes`): a river forming
    the border between A and B is held jointly, so its pieces carry the label the flow had
    when it entered the stretch, whichever side each piece's line falls on. A *border
    link* is a link :math:`q \to p` with :math:`R(q) \ne R(p)`; :math:`F^o_q` is the flux
    of origin :math:`o` leaving :math:`q` (:func:`route`, by origin :math:`J`). Then

    A node's load may also come from other origins (``foreign``): a load generated in
    :math:`o` that enters the river on a node of another jurisdiction, e.g. the people of
    a jurisdiction without a river of its own, put on the nearest piece
    (:func:`basingov.loads.population_loads`). With :math:`G_{io}` the load of origin
    :math:`o` generated at node :math:`i` (:math:`g_i` in column :math:`J(i)`, plus the
    foreign loads),

    .. math::

        S_{o r} = \sum_{q \to p:\ R(q) \ne r,\ R(p) = r} f_{qp} F^o_q
        \; + \sum_{i:\ R(i) = r} G_{io} \qquad (o \ne r)

    is the load generated in :math:`o` that crosses into :math:`r` (a load crossing two
    borders counts in both receptors; no crossing is counted inside a boundary stretch,
    only where the flow leaves it into another jurisdiction). The second sum, zero when
    :math:`R = J` and there are no foreign loads, is load generated in :math:`o` straight
    into waters routed as :math:`r`'s: a piece of :math:`o` on a stretch carrying
    :math:`r`'s label, or a foreign load of :math:`o` placed on a piece of :math:`r`
    (imported by :math:`r` at its point of entry). The diagonal is the self-generated
    load that stays at home,

    .. math::

        S_{r r} = G_r - X_r + B_r

    with :math:`G_r` the load generated in :math:`r`, :math:`X_r` the part of it that
    crosses out of waters labelled :math:`r` (border links, plus the second sum above)
    and :math:`B_r` the part that crosses back in: by mass balance, :math:`S_{rr}` is what
    of :math:`r`'s own load decays, is retained, or reaches an outlet in waters labelled
    :math:`r`.

    On trees with :math:`R = J` the matrix is computed without routing every origin
    through every node: each maximal same-jurisdiction subtree (a *zone*) is reduced in
    two O(n) sweeps to its own outflow and to transfer, decay and retention factors from
    its entry points, and only the tree of zones carries the J origins (O(n + Z J) time).
    When the routing labels differ from the origins, trees split the load by linearity:
    the zone method with :math:`R` for load generated where :math:`J = R`, and
    :func:`route` over the few origins of the rest. Other networks use :func:`route` (in
    blocks of origins of at most ``max_cells`` nodes x origins).

    Parameters
    ----------
    graph, keep, load, is_lake, method
        As in :func:`route`.
    jur
        Integer origin jurisdiction code (0..J-1) of each node.
    n_jur
        J (default: largest code + 1).
    max_cells
        Largest zones (or nodes) x origins block held in memory at once.
    route_jur
        Integer routing label (0..J-1) of each node; None uses ``jur``.
    foreign
        ``(node, origin, load)`` arrays: further loads (kg/day, >= 0) generated at node
        positions ``node`` that originate in ``origin`` (codes 0..J-1), in addition to
        ``load`` (which originates in ``jur``). Entries are summed per node and origin.
        Routed by :func:`route` in addition to the rest (exact, by linearity).
    first_entries
        Also measure each receptor's imports where they first enter its waters
        (:attr:`Transfer.first_entry`, one sweep per receptor); False leaves it None (the
        Monte Carlo runs, which do not report it).

    Returns
    -------
    Transfer

    Raises
    ------
    InputError, SingularSystemError
        As in :func:`route`.

    Examples
    --------
    A chain A -> B -> C, 1 kg/day generated in each, no decay:

    >>> from basingov.spillover import routing_graph
    >>> t = transfer(routing_graph([1, 2, -1]), [1.0] * 3, [1.0] * 3, [0, 1, 2])
    >>> t.matrix.tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    >>> t.exported.tolist(), t.delivered.tolist()
    ([1.0, 1.0, 0.0], [1.0, 1.0, 1.0])

    A river along the A|B border, its pieces alternating A, B, A and routed as A (the
    label it entered with), then flowing into B: A's load crosses into B once, and B's
    load from the middle piece enters A's routed waters where it is generated:

    >>> t = transfer(routing_graph([1, 2, 3, -1]), [1.0] * 4, [1.0, 1.0, 0.0, 0.0],
    ...              [0, 1, 0, 1], route_jur=[0, 0, 0, 1])
    >>> t.matrix.tolist()
    [[0.0, 1.0], [1.0, 1.0]]

    A chain A -> B with 1 kg/day generated in C (which has no river) entering on A's
    node: C's load is imported by A where it enters, and crosses on into B:

    >>> t = transfer(routing_graph([1, -1]), [1.0, 1.0], [0.0, 0.0], [0, 1], n_jur=3,
    ...              foreign=([0], [2], [1.0]))
    >>> t.matrix[2].tolist(), t.generated.tolist()
    ([1.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    """
    check_choice(method, _METHODS, name="method")
    fx = None if foreign is None else _foreign_arrays(foreign, graph.n)
    if fx is not None and n_jur is None:
        jmax = int(np.asarray(jur).max(initial=-1))
        n_jur = max(jmax, int(fx[1].max(initial=-1))) + 1
    kp, ent, g, o, lake, nj = _node_arrays(graph, keep, load, jur, is_lake, n_jur)
    rj = o if route_jur is None else _route_codes(route_jur, o, nj)
    if fx is not None and fx[1].size and fx[1].max() >= nj:
        msg = f"foreign origin codes must lie in [0, {nj}), got up to {fx[1].max()}"
        raise InputError(msg)
    same = rj is o or np.array_equal(rj, o)
    if same and graph.kind == "tree" and method == "auto":
        t = _transfer_tree(graph, kp, ent, g, o, lake, nj, int(max_cells))
    elif graph.kind == "tree" and method == "auto":
        t = _transfer_tree_two_labels(graph, kp, ent, g, o, rj, lake, nj, int(max_cells))
    else:
        t = _transfer_general(graph, kp, g, o, rj, lake, nj, method, int(max_cells))
    if fx is not None and fx[0].size:
        t = _add_foreign(t, graph, kp, lake, rj, *fx, nj=nj, method=method, max_cells=max_cells)
    routed = _Routed(
        graph=graph, load=g, origin=o, foreign=fx, route_jur=rj, keep=kp, entry=ent,
        is_lake=lake, n_jur=t.generated.size,
    )  # fmt: skip
    fi = _first_entry(routed) if first_entries else None
    if t.first_exit is not None:  # a zone's own load at its exit: the first exit
        return replace(t, first_entry=fi)
    fe = _first_exit(routed)
    return replace(t, first_exit=fe, first_entry=fi)


@dataclass(frozen=True, eq=False, kw_only=True)
class _Routed:
    """What :func:`transfer` routed, per node: the inputs of the first exits and entries.

    ``load``, ``origin`` and ``route_jur`` are the node loads, their origin codes and the
    routing labels; ``foreign`` the summed ``(node, origin, load)`` of loads generated
    outside the rivers (None without); ``keep``, ``entry`` and ``is_lake`` as in
    :func:`route`.
    """

    graph: RoutingGraph
    load: np.ndarray
    origin: np.ndarray
    foreign: tuple[np.ndarray, ...] | None
    route_jur: np.ndarray
    keep: np.ndarray
    entry: np.ndarray
    is_lake: np.ndarray
    n_jur: int


#: Largest receptors x nodes for which :func:`transfer` measures imports counted once
#: (one sweep of the network per receptor): the shipped basins need at most about 1e7 (the
#: Rhine's NUTS-3 level), a continental network with 10,000 units 5e10. Above it
#: ``first_entry`` is NaN and the maps and the report show the imports counted at every
#: crossing, labelled so.
FIRST_ENTRY_MAX_SWEEP = 200_000_000


def _first_entry(inp: _Routed) -> np.ndarray:
    r"""Load of other origins measured where it first enters each jurisdiction's waters.

    For a receptor :math:`r`, load that has been in :math:`r`'s waters cannot enter them
    for the first time again, so the load of the other origins generated outside them
    is routed with :math:`r`'s waters closed (on a tree: passed on only outside them, one
    compiled sweep; elsewhere: :func:`route` without the links out of them), and what
    flows over the links into them is the first entry. Load of another origin generated
    in :math:`r`'s waters enters there, as in :math:`S_{or}`. So
    :math:`I^1_r \le I_r = \sum_{o \ne r} S_{or}`, equal where no load enters twice.
    NaN for every receptor when the sweeps would exceed :data:`FIRST_ENTRY_MAX_SWEEP`.
    """
    graph, g, o, fx, rj = inp.graph, inp.load, inp.origin, inp.foreign, inp.route_jur
    n, nj = graph.n, inp.n_jur
    out = np.zeros(nj)
    if n * nj > FIRST_ENTRY_MAX_SWEEP:  # checked before any O(n) work (P1's 8.5M nodes)
        logger.info(
            "imports counted once (imported_first) not computed: %d receptors x %d nodes is "
            "more than FIRST_ENTRY_MAX_SWEEP (%d); the tables keep the imports counted at "
            "every crossing",
            nj,
            n,
            FIRST_ENTRY_MAX_SWEEP,
        )
        return np.full(nj, np.nan)
    src, dst, frac = graph.links()  # on a tree: each node's one link downstream, fraction 1
    into = rj[src] != rj[dst]
    sink = np.zeros(2)
    direct = [rj[dst[into]], rj[o != rj]]
    if fx is not None and fx[0].size:
        direct.append(rj[fx[0][fx[1] != rj[fx[0]]]])
    for r in np.unique(np.concatenate(direct)).tolist():
        mine = rj == r
        h = np.where(o != r, g, 0.0)
        out[r] += h[mine].sum()  # generated in r's waters, of another origin
        h[mine] = 0.0
        if fx is not None and fx[0].size:
            node, origin, load = fx
            other = origin != r
            at = mine[node] & other
            out[r] += load[at].sum()
            np.add.at(h, node[other & ~at], load[other & ~at])
        enter = np.flatnonzero(into & mine[dst])
        if enter.size == 0 or not h.any():
            continue
        if graph.kind == "tree":
            lab = mine.astype(np.int64)
            acc = K.tree_local(
                graph.order, graph.idx_ds, inp.keep, inp.entry, h, lab, inp.is_lake,
                sink, sink, sink,
            )  # fmt: skip
            out[r] += float(np.sum(frac[enter] * acc[src[enter]]))
            continue
        inner = _drop_links(graph, mine[src] & ~mine[dst])
        f = route(inner, inp.keep, h, np.zeros(n, dtype=np.int64), is_lake=inp.is_lake, n_origins=1)
        out[r] += float(np.sum(frac[enter] * f.flux[src[enter], 0]))
    return out


def _first_exit(inp: _Routed) -> np.ndarray:
    """Own load of each origin measured where it first leaves its own waters (kg/day).

    Only load still in its origin's waters can leave them for the first time, so the
    *home* load (generated where origin and routing label agree) is routed on the graph
    without its border links, and what would flow over them is the first exit. Load
    generated straight into another jurisdiction's waters leaves at once. On a tree this
    is one compiled sweep that passes load on only within a jurisdiction's waters.
    """
    graph, g, o, fx, rj = inp.graph, inp.load, inp.origin, inp.foreign, inp.route_jur
    n, nj = graph.n, inp.n_jur
    home = o == rj
    h = np.where(home, g, 0.0)
    out = np.bincount(o[~home], weights=g[~home], minlength=nj).astype(np.float64)
    if fx is not None and fx[0].size:
        node, origin, load = fx
        at_home = origin == rj[node]
        np.add.at(h, node[at_home], load[at_home])
        out += np.bincount(origin[~at_home], weights=load[~at_home], minlength=nj)
    if graph.kind == "tree":
        sink = np.zeros(nj)
        acc = K.tree_local(
            graph.order, graph.idx_ds, inp.keep, inp.entry, h, rj, inp.is_lake, sink, sink, sink
        )  # fmt: skip
        b = np.flatnonzero(graph.idx_ds >= 0)
        b = b[rj[graph.idx_ds[b]] != rj[b]]
        out += np.bincount(rj[b], weights=acc[b], minlength=nj)
        return out
    src, dst, f = graph.links()
    cut = rj[src] != rj[dst]
    if not cut.any():
        return out
    inner = _drop_links(graph, cut)
    r = route(inner, inp.keep, h, np.zeros(n, dtype=np.int64), is_lake=inp.is_lake, n_origins=1)
    out += np.bincount(rj[src[cut]], weights=f[cut] * r.flux[src[cut], 0], minlength=nj)
    return out


def _drop_links(graph: RoutingGraph, drop: np.ndarray) -> RoutingGraph:
    """``graph`` without the links flagged in ``drop`` (in :meth:`RoutingGraph.links` order)."""
    src, dst, frac = graph.links()
    keep = ~drop
    # every kept link listed as a split: nodes left without any link become outlets
    none = np.full(graph.n, -1, dtype=np.int64)
    return routing_graph(none, splits=(src[keep], dst[keep], frac[keep]))


def _foreign_arrays(foreign: tuple[Any, Any, Any], n: int) -> tuple[np.ndarray, ...]:
    """Check ``(node, origin, load)`` and sum the entries per node and origin."""
    if len(foreign) != 3:
        msg = "foreign must be three arrays (node, origin, load) of equal length"
        raise InputError(msg)
    node, origin, load = (np.asarray(a) for a in foreign)
    if not (node.ndim == 1 and node.shape == origin.shape == load.shape):
        msg = "foreign must be three 1-d arrays (node, origin, load) of equal length"
        raise InputError(msg)
    if node.size and (node.dtype.kind not in "iu" or origin.dtype.kind not in "iu"):
        msg = "foreign nodes and origins must be integer positions and codes"
        raise InputError(msg)
    node = node.astype(np.int64)
    origin = origin.astype(np.int64)
    load = load.astype(np.float64)
    bad = np.flatnonzero((node < 0) | (node >= n) | (origin < 0))
    if bad.size:
        msg = f"foreign rows {bad[:20].tolist()} name node positions outside [0, {n}) or origin < 0"
        raise InputError(msg)
    badg = np.flatnonzero(~(np.isfinite(load) & (load >= 0)))
    if badg.size:
        msg = f"foreign loads must be finite and >= 0 (kg/day); bad at rows {badg[:20].tolist()}"
        raise InputError(msg)
    keep = load > 0
    node, origin, load = node[keep], origin[keep], load[keep]
    key, inv = np.unique(np.stack([node, origin]), axis=1, return_inverse=True)
    tot = np.bincount(inv.ravel(), weights=load, minlength=key.shape[1])
    return key[0].copy(), key[1].copy(), tot


def _add_foreign(
    t: Transfer,
    graph: RoutingGraph,
    kp: np.ndarray,
    lake: np.ndarray,
    rj: np.ndarray,
    node: np.ndarray,
    origin: np.ndarray,
    load: np.ndarray,
    *,
    nj: int,
    method: Method,
    max_cells: int,
) -> Transfer:
    """Add loads generated at ``node`` of other origins than the node's (exact, linear).

    ``t`` is consumed: its matrix is updated in place and belongs to the result (every
    caller passes a :class:`Transfer` it has just made and drops it; with 10,000
    jurisdictions a copy is 0.8 GB more at the stage's peak).

    On a tree each load is followed down its single path; otherwise the loads are routed
    by :func:`route`, one layer per rank of an entry within its node (a node holds at most
    one entry per layer) and in blocks of at most ``max_cells`` nodes x origins. Their
    fluxes are added at the border links of ``t`` (as (link, origin, flux) triplets, in
    the order a dense border links x origins array would receive them), and a load of
    origin o placed on a node labelled r != o counts in S[o, r] where it enters.
    """
    n = graph.n
    bsrc, bf = t.border_src, t.border_frac
    gen, dlv, dec, ret = (v.copy() for v in (t.generated, t.delivered, t.decayed, t.retained))
    if graph.kind == "tree" and method != "solve":
        # a tree: follow each load down its single path (O(entries x depth), no n x J)
        border_of = np.full(n, -1, dtype=np.int64)
        border_of[bsrc] = np.arange(bsrc.size)
        el, eo, ev = K.tree_paths(
            graph.idx_ds, kp, entry_factors(kp, is_lake=lake), lake, node, origin, load,
            border_of, gen, dec, ret, dlv,
        )  # fmt: skip
        extra = _entries(el, eo, ev, nj)
        return _with_foreign(t, rj, node, origin, load, extra, gen, dlv, dec, ret, nj)
    order = np.lexsort((origin, node))
    node, origin, load = node[order], origin[order], load[order]
    first = np.searchsorted(node, node, side="left")
    rank = np.arange(node.size) - first
    step = max(1, max_cells // max(1, n))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for layer in range(int(rank.max(initial=-1)) + 1):
        sel = rank == layer
        nd, ld = node[sel], load[sel]
        sub, inv = np.unique(origin[sel], return_inverse=True)
        for j0 in range(0, sub.size, step):
            j1 = min(sub.size, j0 + step)
            inb = (inv >= j0) & (inv < j1)
            g = np.zeros(n)
            g[nd[inb]] = ld[inb]
            codes = np.zeros(n, dtype=np.int64)
            codes[nd[inb]] = inv[inb] - j0
            r = route(graph, kp, g, codes, is_lake=lake, n_origins=j1 - j0, method=method)
            cols = sub[j0:j1]
            parts.append(_block_entries(bf[:, None] * r.flux[bsrc], cols))
            gen[cols] += r.generated
            dlv[cols] += r.delivered
            dec[cols] += r.decayed
            ret[cols] += r.retained
    extra = _entries(*_concat(parts), nj)
    return _with_foreign(t, rj, node, origin, load, extra, gen, dlv, dec, ret, nj)


def _block_entries(
    block: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Non-zero cells of a border links x origins block as triplets (origins ``cols``)."""
    link, j = np.nonzero(block)
    return link, cols[j], block[link, j]


def _concat(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate triplet arrays in order (empty int64, int64, float64 arrays if none)."""
    if not parts:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    link, origin, flux = zip(*parts, strict=True)
    return np.concatenate(link), np.concatenate(origin), np.concatenate(flux)


def _with_foreign(
    t: Transfer,
    rj: np.ndarray,
    node: np.ndarray,
    origin: np.ndarray,
    load: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray, np.ndarray],
    gen: np.ndarray,
    dlv: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    nj: int,
) -> Transfer:
    """Combine ``t`` with the foreign loads' totals and border fluxes ``extra``."""
    bsrc, bdst, bf = t.border_src, t.border_dst, t.border_frac
    smat = t.matrix  # t is consumed (see _add_foreign): no copy of the J x J matrix
    _add_to_matrix(smat, rj, bdst, extra)
    away = origin != rj[node]
    np.add.at(smat, (origin[away], rj[node[away]]), load[away])
    out, back = _border_sums(rj, bsrc, bdst, extra, nj)
    exported = t.exported + out
    exported += np.bincount(origin[away], weights=load[away], minlength=nj)
    returned = t.returned + back
    # the sum of the two, cell by cell (a cell in one of them only keeps its value)
    border = _entries(*_concat([t.border_entries, extra]), nj)
    return _closed(smat, (bsrc, bdst, bf), border, gen, dlv, dec, ret, exported, returned)


def _transfer_tree_two_labels(
    graph: RoutingGraph,
    kp: np.ndarray,
    ent: np.ndarray,
    g: np.ndarray,
    o: np.ndarray,
    rj: np.ndarray,
    lake: np.ndarray,
    nj: int,
    max_cells: int,
) -> Transfer:
    """Tree with routing labels: split the loads by linearity (exact).

    Load generated where origin and routing label agree goes through the zone method with
    ``rj`` as both labels; the rest (pieces of one side on a stretch carrying the other
    side's label: few nodes, few origins) is added as loads of a foreign origin
    (:func:`_add_foreign`).
    """
    away = np.flatnonzero(o != rj)
    g_same = g.copy()
    g_same[away] = 0.0
    t = _transfer_tree(graph, kp, ent, g_same, rj, lake, nj, max_cells)
    nz = away[g[away] > 0]
    return _add_foreign(
        t, graph, kp, lake, rj, nz, o[nz], g[nz], nj=nj, method="sweep", max_cells=max_cells
    )


def _route_codes(route_jur: Any, o: np.ndarray, nj: int) -> np.ndarray:
    rj = np.asarray(route_jur)
    if rj.shape != o.shape:
        msg = f"route_jur has shape {rj.shape}, expected {o.shape}"
        raise InputError(msg)
    if rj.dtype.kind not in "iu":
        msg = f"route_jur must hold integer codes 0..J-1, got dtype {rj.dtype}"
        raise InputError(msg)
    rj = rj.astype(np.int64)
    if rj.size and (rj.min() < 0 or rj.max() >= nj):
        msg = f"route_jur codes must lie in [0, {nj}), got range [{rj.min()}, {rj.max()}]"
        raise InputError(msg)
    return rj


def _transfer_general(
    graph: RoutingGraph,
    kp: np.ndarray,
    g: np.ndarray,
    o: np.ndarray,
    rj: np.ndarray,
    lake: np.ndarray,
    nj: int,
    method: Method,
    max_cells: int,
) -> Transfer:
    """Route every origin (in blocks of origins) and count fluxes where ``rj`` changes."""
    src, dst, f = graph.links()
    b = rj[src] != rj[dst]
    bsrc, bdst, bf = src[b], dst[b], f[b]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    gen, dlv, dec, ret = (np.zeros(nj) for _ in range(4))
    step = max(1, min(nj, max_cells // max(1, graph.n)))
    for j0 in range(0, nj, step):
        j1 = min(nj, j0 + step)
        w = j1 - j0
        if w == nj:
            r = route(graph, kp, g, o, is_lake=lake, n_origins=nj, method=method)
        else:  # origins outside the block go to one extra column, dropped
            oo = np.where((o >= j0) & (o < j1), o - j0, w)
            r = route(graph, kp, g, oo, is_lake=lake, n_origins=w + 1, method=method)
        parts.append(_block_entries(bf[:, None] * r.flux[bsrc, :w], np.arange(j0, j1)))
        gen[j0:j1] = r.generated[:w]
        dlv[j0:j1] = r.delivered[:w]
        dec[j0:j1] = r.decayed[:w]
        ret[j0:j1] = r.retained[:w]
    border = _entries(*_concat(parts), nj)
    smat = np.zeros((nj, nj))
    _add_to_matrix(smat, rj, bdst, border)
    exported, returned = _border_sums(rj, bsrc, bdst, border, nj)
    away = np.flatnonzero(o != rj)
    if away.size:  # load generated straight into waters routed as another jurisdiction's
        np.add.at(smat, (o[away], rj[away]), g[away])
        exported += np.bincount(o[away], weights=g[away], minlength=nj)
    return _closed(smat, (bsrc, bdst, bf), border, gen, dlv, dec, ret, exported, returned)
