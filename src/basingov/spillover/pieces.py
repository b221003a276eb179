"""The piece-level network (reaches cut at borders), node loads and origin loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from basingov._checks import check_piece_level, require_columns
from basingov.errors import InputError
from basingov.network import csr_reverse
from basingov.overlay import PieceGraph
from basingov.spillover._kernels import stretch_labels
from basingov.spillover.decay import DecayModel, _check_reach_pos, piece_keep
from basingov.spillover.routing import RoutingGraph, route, routing_graph


# ----------------------------------------------------------------------------------------
# piece-level network (reaches cut at borders)
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PieceNetwork:
    """The routing network of reach pieces (reaches cut at jurisdiction borders).

    Attributes
    ----------
    graph
        Routing graph whose nodes are the pieces (rows of ``pieces``).
    pieces
        The piece table sorted by reach position and piece, positional index.
    phi
        Each piece's share of its reach (by fraction along the reach; sums to 1 per reach).
    reach_pos
        Reach position of each piece.
    """

    graph: RoutingGraph
    pieces: pd.DataFrame
    phi: np.ndarray
    reach_pos: np.ndarray
    #: :meth:`jur_codes` of each level asked for (the piece table is not changed after)
    _jur_codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False
    )

    def jur_codes(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes and the jurisdiction ids they stand for, at one level.

        Computed once per level; the arrays are read-only (copy them to change them).

        Raises
        ------
        InputError
            If the piece table has no ``jur_<level>`` column.
        """
        hit = self._jur_codes.get(level)
        if hit is not None:
            return hit
        check_piece_level(self.pieces, level)
        codes, uniq = pd.factorize(self.pieces[f"jur_{level}"].astype(str), sort=True)
        out = (codes.astype(np.int64), np.asarray(uniq, dtype=object))
        for a in out:
            a.setflags(write=False)
        self._jur_codes[level] = out
        return out


def piece_network(net: Any, pieces: pd.DataFrame) -> PieceNetwork:
    """Route on pieces: each piece is a node with its own share of its reach.

    A piece links to the next piece of its reach; the last piece of a reach links to the
    first piece of each downstream reach (``net.idx_ds``, or every branch listed in
    ``net.bifurcations`` with its fraction). A border crossing inside a reach thus lies
    exactly at a piece boundary.

    Parameters
    ----------
    net
        A :class:`basingov.network.RiverNetwork` (``reaches``, ``idx_ds``,
        ``bifurcations``).
    pieces
        Piece table from :func:`basingov.overlay.split_reaches` on ``net.reaches``
        (``piece_id, reach_pos, fraction_start, fraction_end`` and ``jur_<level>``).

    Returns
    -------
    PieceNetwork

    Raises
    ------
    InputError
        If ``pieces`` lacks ``piece_id``, ``reach_pos``, ``fraction_start`` or
        ``fraction_end``, if a reach of ``net`` has no piece, or if a piece's ``reach_pos``
        is not a reach of ``net`` or its ``reach_id`` not the one there (all mean the table
        was not made by :func:`basingov.overlay.split_reaches` on this network).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> net = SimpleNamespace(reaches=pd.DataFrame({"reach_id": [1, 2]}),
    ...     idx_ds=np.array([1, -1]), bifurcations=None)
    >>> p = pd.DataFrame({"piece_id": [0, 1, 2], "reach_pos": [0, 0, 1],
    ...     "fraction_start": [0, 0.25, 0], "fraction_end": [0.25, 1, 1],
    ...     "jur_country": ["A", "B", "B"]})
    >>> pn = piece_network(net, p)
    >>> pn.graph.idx_ds.tolist(), pn.phi.tolist()
    ([1, 2, -1], [0.25, 0.75, 1.0])
    """
    need = ["piece_id", "reach_pos", "fraction_start", "fraction_end"]
    require_columns(
        pieces,
        need,
        what="the piece table",
        hint="pass the table made by basingov.overlay.split_reaches",
    )
    sort_cols = (
        ["reach_pos", "piece"] if "piece" in pieces.columns else ["reach_pos", "fraction_start"]
    )
    # the columns but the geometry, shared with ``pieces`` (copy-on-write): ``drop`` copied
    # the numbers, and the spillover step holds this table throughout (a sort of a table
    # already in order, as the overlay's is, copies nothing)
    p = pd.DataFrame({c: pieces[c] for c in pieces.columns if c != "geometry"}, copy=False)
    p = p.sort_values(sort_cols, kind="stable").reset_index(drop=True)
    n_r = len(net.reaches)
    rpos = p["reach_pos"].to_numpy(dtype=np.int64)
    hint = "make the piece table with basingov.overlay.split_reaches on this same network"
    _check_reach_pos(rpos, n_r, piece_ids=p["piece_id"].to_numpy(), hint=hint)
    if "reach_id" in p.columns:
        other = np.flatnonzero(p["reach_id"].to_numpy() != net.reaches["reach_id"].to_numpy()[rpos])
        if other.size:
            msg = (
                f"{other.size} piece(s) name another reach_id than the network's reach at "
                f"their reach_pos, e.g. piece_id {p['piece_id'].to_numpy()[other[:10]].tolist()}"
                f" (reach_id {p['reach_id'].to_numpy()[other[:10]].tolist()}, the network's "
                f"{net.reaches['reach_id'].to_numpy()[rpos[other[:10]]].tolist()}); {hint}"
            )
            raise InputError(msg)
    present = np.bincount(rpos, minlength=n_r) > 0
    if not present.all():
        ids = net.reaches["reach_id"].to_numpy()[~present]
        msg = (
            f"{ids.size} reach(es) have no piece, e.g. reach_id {ids[:10].tolist()}; make the "
            "piece table with basingov.overlay.split_reaches on this same network"
        )
        raise InputError(msg)
    n = len(p)
    first = np.full(n_r, -1, dtype=np.int64)
    last = np.full(n_r, -1, dtype=np.int64)
    first[rpos[::-1]] = np.arange(n)[::-1]
    last[rpos] = np.arange(n)
    span = np.clip(p["fraction_end"].to_numpy(float) - p["fraction_start"].to_numpy(float), 0, None)
    tot = np.bincount(rpos, weights=span, minlength=n_r)
    cnt = np.bincount(rpos, minlength=n_r)
    phi = np.where(tot[rpos] > 0, span / np.where(tot[rpos] > 0, tot[rpos], 1.0), 1.0 / cnt[rpos])
    idx_ds_r = np.asarray(net.idx_ds, dtype=np.int64)
    is_last = last[rpos] == np.arange(n)
    ds_r = idx_ds_r[rpos]
    idx = np.where(is_last, np.where(ds_r >= 0, first[np.maximum(ds_r, 0)], -1), np.arange(n) + 1)
    splits = None
    bif = getattr(net, "bifurcations", None)
    if bif is not None and len(bif):
        rid = pd.Index(net.reaches["reach_id"].to_numpy())
        bs = rid.get_indexer(bif["reach_id"].to_numpy())
        dsid = bif["downstream_id"].to_numpy()
        bd = rid.get_indexer(dsid)
        bad = (bs < 0) | ((bd < 0) & (dsid != -1))
        if bad.any():
            rows = np.flatnonzero(bad)[:10].tolist()
            msg = f"bifurcation rows {rows} name reaches not in the network"
            raise InputError(msg)
        splits = (
            last[bs],
            np.where(bd >= 0, first[np.maximum(bd, 0)], -1),
            bif["fraction"].to_numpy(dtype=np.float64),
        )
    graph = routing_graph(idx, splits=splits)
    return PieceNetwork(graph=graph, pieces=p, phi=phi, reach_pos=rpos)


def stretch_route_codes(
    pn: PieceNetwork,
    level: str,
    *,
    graph: PieceGraph | None,
) -> np.ndarray:
    """Routing label of every piece at one level: its own, except on boundary stretches.

    The stretches are the overlay's own, handed over in its
    :class:`~basingov.overlay.PieceGraph` (``graph.stretches``).
    A stretch between A and B is held
    jointly, so its pieces carry the label the flow had when it entered the stretch:
    walking downstream, a stretch piece takes the label of its upstream neighbour that is
    in the same stretch or labelled A or B, the one with the longest river upstream (the
    main flow) if there are several. A stretch entered from a third jurisdiction C takes
    the label of the side (A or B) its main flow leaves into, so that C's load is counted
    once, into that side (the Rhine enters the FR|DE Oberrhein from CH and leaves it into
    DE: CH→DE, not CH→FR and again FR→DE). A stretch starting at a source keeps the labels
    of its first piece. Pieces off stretches keep their own label.

    Parameters
    ----------
    pn
        The piece network.
    level
        Jurisdiction level.
    graph
        The overlay's piece graph of the same pieces, or None (no stretches: every piece
        keeps its own label).

    Returns
    -------
    numpy.ndarray
        Codes in the numbering of :meth:`PieceNetwork.jur_codes` (equal to the origin
        codes where there is no stretch).

    Raises
    ------
    InputError
        If ``level`` is not in the piece table, or ``graph`` holds pieces that are not.
    """
    codes, ids = pn.jur_codes(level)
    p = pn.pieces
    if graph is None:
        return codes
    st = graph.stretches_at(level)
    if st is None or st.ids.size == 0 or "length_km" not in p.columns:
        return codes
    at = pd.Index(p["piece_id"].to_numpy()).get_indexer(graph.pieces["piece_id"].to_numpy())
    if (at < 0).any():  # -1 would write the last piece's stretch
        miss = graph.pieces["piece_id"].to_numpy()[at < 0]
        msg = (
            f"the piece graph holds {miss.size} piece(s) not in the piece network, e.g. "
            f"piece_id {miss[:10].tolist()}; pass the overlay's piece_graph of these same pieces"
        )
        raise InputError(msg)
    of = np.full(pn.graph.n, -1, dtype=np.int64)
    of[at] = st.of
    idx = pd.Index(ids.astype(str))
    a_code = idx.get_indexer(st.a.astype(str))
    b_code = idx.get_indexer(st.b.astype(str))
    rg = pn.graph
    n = rg.n
    length = p["length_km"].to_numpy(dtype=np.float64)
    length = np.where(np.isfinite(length) & (length > 0), length, 0.0)
    keep_up = np.full(n, 1.0 if rg.kind != "cyclic" else 0.999)
    upstream = route(rg, keep_up, length, np.zeros(n, dtype=np.int64), n_origins=1).flux[:, 0]
    src, dst, _ = rg.links()
    pstart, pred = csr_reverse(src, dst, n)
    rank = np.full(n, n, dtype=np.int64)
    rank[rg.order] = np.arange(rg.order.shape[0])
    on = np.flatnonzero(of >= 0)
    # where each stretch's main flow leaves it, if into A or B (the exit label)
    sstart, succ = csr_reverse(dst, src, n)
    walk = on[np.lexsort((on, rank[on]))]
    return stretch_labels(
        on, walk, of, codes, a_code.astype(np.int64), b_code.astype(np.int64),
        succ, sstart.astype(np.int64), pred, pstart.astype(np.int64), upstream,
    )  # fmt: skip


def _piece_keep(
    net: Any, pn: PieceNetwork, model: DecayModel | None = None, vmult: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Keep factors and lake flags of the pieces (:func:`basingov.spillover.decay.piece_keep`)."""
    return piece_keep(net, pn.reach_pos, pn.phi, model, velocity_multiplier=vmult)


def node_loads(pn: PieceNetwork, loads: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Put a load table onto the pieces, one row per load source.

    Each load row is placed by ``piece_id`` if given (not NaN); else by ``reach_id`` and
    ``fraction`` (the piece containing that point of the reach); else spread over the
    pieces of ``reach_id`` by their share of the reach. The matrix holds every load
    placed on a piece, whatever its origin; :func:`origin_loads` splits it by origin
    (the ``origin_<level>`` columns).

    Parameters
    ----------
    pn
        The piece network.
    loads
        ``load_kg_day`` and ``load_source`` plus ``piece_id`` and/or ``reach_id``
        (optionally ``fraction``), e.g. from :mod:`basingov.loads`.

    Returns
    -------
    sources : list of str
        The distinct ``load_source`` labels.
    matrix : numpy.ndarray
        n_sources x n_pieces loads (kg/day).

    Raises
    ------
    InputError
        On missing columns or ids not in the network.
    """
    sources, scode, row, node, load = _place(pn, loads)
    out = np.zeros((len(sources), pn.graph.n))
    np.add.at(out, (scode[row], node), load)
    return sources, out


def _place(
    pn: PieceNetwork, loads: pd.DataFrame
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Placement of the load rows: sources, source code per row, and (row, node, load)."""
    if "load_kg_day" not in loads.columns or not (
        "piece_id" in loads.columns or "reach_id" in loads.columns
    ):
        msg = (
            "the load table needs 'load_kg_day' and 'piece_id' or 'reach_id' columns, got "
            f"{sorted(map(str, loads.columns))}"
        )
        raise InputError(msg)
    if "load_source" in loads.columns:
        # codes of the sorted sources, without a Python string per row
        codes, uniq = pd.factorize(
            loads["load_source"].astype(str), sort=True, use_na_sentinel=False
        )
        scode = codes.astype(np.int64)
        sources = [str(s) for s in uniq]
    else:
        scode = np.zeros(len(loads), dtype=np.int64)
        sources = ["unspecified"] if len(loads) else []
    val = loads["load_kg_day"].to_numpy(dtype=np.float64)
    rows_all = np.arange(len(loads))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (row, node, load)
    p = pn.pieces
    pid = (
        loads["piece_id"].to_numpy(dtype=np.float64)
        if "piece_id" in loads.columns
        else np.full(len(loads), np.nan)
    )
    by_piece = ~np.isnan(pid)
    if by_piece.any():
        node = pd.Index(p["piece_id"].to_numpy()).get_indexer(pid[by_piece].astype(np.int64))
        if (node < 0).any():
            bad_ids = pid[by_piece][node < 0][:10].tolist()
            msg = f"load rows name piece_id(s) not in the piece table: {bad_ids}"
            raise InputError(msg)
        parts.append((rows_all[by_piece], node, val[by_piece]))
    rest = ~by_piece
    if rest.any():
        if "reach_id" not in loads.columns:
            msg = "load rows without piece_id need a reach_id"
            raise InputError(msg)
        rid_all = loads["reach_id"].to_numpy()[rest]
        if pd.isna(rid_all).any():
            msg = "load rows need a piece_id or a reach_id; some have neither"
            raise InputError(msg)
        reach_ids = p["reach_id"].to_numpy() if "reach_id" in p.columns else None
        if reach_ids is None:
            msg = "the piece table lacks 'reach_id'"
            raise InputError(msg)
        # reach id -> reach position via the pieces
        rmap = pd.Series(pn.reach_pos, index=reach_ids)
        rmap = rmap[~rmap.index.duplicated()]
        rpos = rmap.reindex(rid_all.astype(np.int64)).to_numpy()
        if np.isnan(rpos).any():
            bad = rid_all[np.isnan(rpos)]
            msg = f"load rows name reach_id(s) not in the network: {bad[:10].tolist()}"
            raise InputError(msg)
        rpos = rpos.astype(np.int64)
        frac = (
            loads["fraction"].to_numpy(dtype=np.float64)[rest]
            if "fraction" in loads.columns
            else np.full(rpos.size, np.nan)
        )
        v, rr = val[rest], rows_all[rest]
        at = ~np.isnan(frac)
        if at.any():
            # piece of reach r containing fraction f: last piece with reach_pos == r and start <= f
            key = pn.reach_pos.astype(np.float64) * 2.0 + p["fraction_start"].to_numpy(float)
            q = rpos[at].astype(np.float64) * 2.0 + np.clip(frac[at], 0.0, 1.0)
            node = np.searchsorted(key, q, side="right") - 1
            node = np.where(pn.reach_pos[np.maximum(node, 0)] == rpos[at], node, -1)
            node = np.where(node < 0, np.searchsorted(pn.reach_pos, rpos[at]), node)
            parts.append((rr[at], node, v[at]))
        spread = ~at
        if spread.any():
            lo = np.searchsorted(pn.reach_pos, rpos[spread], side="left")
            hi = np.searchsorted(pn.reach_pos, rpos[spread], side="right")
            cnt = hi - lo
            rows = np.repeat(np.arange(lo.size), cnt)
            nodes = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
            parts.append((rr[spread][rows], nodes, v[spread][rows] * pn.phi[nodes]))
    row, node_all, load = (
        np.concatenate([a[k] for a in parts]) if parts else np.zeros(0) for k in range(3)
    )
    return sources, scode, row.astype(np.int64), node_all.astype(np.int64), load


@dataclass(frozen=True, eq=False, kw_only=True)
class OriginLoads:
    """The loads of one level split by origin (:func:`origin_loads`).

    Attributes
    ----------
    level
        Level name.
    ids
        Jurisdiction ids of the level (sorted): those of the pieces and every explicit
        origin, including jurisdictions without a piece.
    codes
        Code (position in ``ids``) of each piece's own jurisdiction.
    sources
        The distinct ``load_source`` labels.
    home
        n_sources x n_pieces loads (kg/day) originating in the piece's own jurisdiction.
    source, node, origin, load
        One entry per load placed on a piece of another jurisdiction than its origin:
        source index, piece position, origin code and load (kg/day).
    """

    level: str
    ids: np.ndarray
    codes: np.ndarray
    sources: list[str]
    home: np.ndarray
    source: np.ndarray
    node: np.ndarray
    origin: np.ndarray
    load: np.ndarray

    def total(self) -> np.ndarray:
        """Every load placed on each piece, of any origin (kg/day)."""
        out = self.home.sum(axis=0)
        np.add.at(out, self.node, self.load)
        return out


def origin_loads(pn: PieceNetwork, loads: pd.DataFrame, level: str) -> OriginLoads:
    r"""Split a load table by origin jurisdiction at one level: :math:`G_{io}`.

    A load is generated in a jurisdiction and enters the river where it is placed
    (:func:`node_loads`). Its origin at ``level`` is the row's ``origin_<level>`` where
    that column exists and is not empty, else the jurisdiction ``jur_<level>`` of the
    piece it is placed on. So

    .. math:: G_{io} = \sum_{\text{rows } k \text{ on } i,\ O_k = o} g_k

    with :math:`O_k` the origin of row :math:`k`.

    Parameters
    ----------
    pn
        The piece network.
    loads
        As in :func:`node_loads`, optionally with ``origin_<level>`` columns (e.g. from
        :func:`basingov.loads.population_loads` with ``jurisdictions``).
    level
        Level name.

    Returns
    -------
    OriginLoads

    Raises
    ------
    InputError
        As in :func:`node_loads`, if the level is not in the piece table, or if a load is
        missing or negative.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> net = SimpleNamespace(reaches=pd.DataFrame({"reach_id": [1]}),
    ...     idx_ds=np.array([-1]), bifurcations=None)
    >>> p = pd.DataFrame({"piece_id": [0], "reach_id": [1], "reach_pos": [0],
    ...     "fraction_start": [0.0], "fraction_end": [1.0], "jur_country": ["A"]})
    >>> t = pd.DataFrame({"piece_id": [0, 0], "load_kg_day": [1.0, 2.0],
    ...     "origin_country": [None, "B"]})
    >>> ol = origin_loads(piece_network(net, p), t, "country")
    >>> ol.ids.tolist(), ol.home.tolist(), ol.origin.tolist(), ol.load.tolist()
    (['A', 'B'], [[1.0]], [1], [2.0])
    """
    piece_codes, piece_ids = pn.jur_codes(level)
    sources, scode, row, node, load = _place(pn, loads)
    # a load of another origin is kept only if > 0: a NaN or negative one would be dropped
    bad = np.unique(row[~(np.isfinite(load) & (load >= 0))])
    if bad.size:
        msg = (
            f"load_kg_day must be finite and >= 0 (kg/day); {bad.size} load row(s) are not, "
            f"e.g. rows {bad[:10].tolist()} (positions in the load table): fill or drop them"
        )
        raise InputError(msg)
    col = f"origin_{level}"
    # each distinct origin named in the table once (a long table repeats a few ids):
    # ``given[k]`` whether row k names one, ``named[rcode[k]]`` its text
    if col in loads.columns:
        rcode, uniq = pd.factorize(loads[col].to_numpy(dtype=object))  # missing: -1
        named = np.array([str(v) for v in uniq], dtype=str)
        given = (rcode >= 0) & np.append(named != "", False)[rcode]
    else:
        rcode, named = np.full(len(loads), -1, dtype=np.int64), np.array([], dtype=str)
        given = np.zeros(len(loads), dtype=bool)
    ids = np.unique(np.concatenate([piece_ids.astype(str), named[named != ""]])).astype(object)
    idx = pd.Index(ids)
    # each piece's jurisdiction, renumbered into ``ids`` (no string per piece)
    codes = idx.get_indexer(piece_ids).astype(np.int64)[piece_codes]
    named_code = np.append(idx.get_indexer(named), -1)
    oc = np.where(given[row], named_code[rcode[row]], codes[node]).astype(np.int64)
    home = oc == codes[node]
    hm = np.zeros((len(sources), pn.graph.n))
    np.add.at(hm, (scode[row[home]], node[home]), load[home])
    fr = ~home & (load > 0)
    return OriginLoads(
        level=level,
        ids=ids,
        codes=codes,
        sources=sources,
        home=hm,
        source=scode[row[fr]].astype(np.int64),
        node=node[fr],
        origin=oc[fr],
        load=load[fr],
    )


def _route_codes_in(pn: PieceNetwork, ol: OriginLoads, graph: PieceGraph | None) -> np.ndarray:
    """Routing labels (:func:`stretch_route_codes`) in the numbering of ``ol.ids``."""
    _, piece_ids = pn.jur_codes(ol.level)
    rc = stretch_route_codes(pn, ol.level, graph=graph)
    remap = pd.Index(ol.ids).get_indexer(piece_ids.astype(str)).astype(np.int64)
    return remap[rc]
