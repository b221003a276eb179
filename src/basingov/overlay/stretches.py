"""Pieces along the flow: boundary stretches and outside gaps, the rules behind crossings.

Two rules turn raw jurisdiction changes between consecutive pieces into crossings:

*Boundary stretches.* A river that forms a border is digitised, in coarse data, as a line
zig-zagging across the border line; every zig-zag would be a crossing.
:func:`~basingov.overlay.mark_boundary_pieces` marks each piece that runs along a border
with its most frequent bank pair A|B. On coarse data that pair is noisy: it flickers
where the river swings away from a generalised border line for a while (unmarked pieces),
and near a tri-point, where the offset bank points reach a third unit (A|B, A|C, A|B).
The rule reads the marks in four steps, all at one level, and a fifth across levels:

1. *Bridging.* A run of pieces not marked A|B (unmarked, or marked with another pair)
   between two pieces marked A|B, along the main flow path, shorter than half of
   ``min_stretch_m`` and lying in A or B only, is read as A|B.
2. *Runs.* Pieces marked A|B connected along the flow form a run of A|B. A run counts
   only when its pieces themselves fall on both sides, in A and in B: a river that merely
   runs near a border, on one side of it, is no border river (whichever pairs it is
   marked with). A piece lying exactly on the border of A and B, held by A alone
   (``shared_<level>`` names B, :func:`~basingov.overlay.split_reaches`), falls on both.
3. *Chains.* Where a river along a border passes a tri-point its pair changes to one
   sharing a member (A|B, then A|C where C's border meets the river). Runs that count,
   linked along the river where the pair so changes, form a *chain*. Links are made only
   from the main branch into a piece (the branch with the longest river upstream), so a
   tributary joining a border river is no continuation of it. At the tri-point the
   pieces may carry the third pair, A|B, then B|C on pieces in B only, then A|C: such a
   run does not count (one side only), and when it is shorter than half of
   ``min_stretch_m`` and the three pairs share members pairwise, the runs before and
   after it are linked through it (it stays no stretch itself).
4. *Length.* A run that counts is a *boundary stretch*, held jointly by A and B, when it
   or its chain is at least ``min_stretch_m`` long. Each run of a chain is its own
   stretch, held by its own pair.
5. *Levels.* A run of A|B that counts and holds pieces of a stretch of the next finer
   level, between a unit of A and a unit of B (that stretch's pieces lie in A and B
   only), is a stretch whatever its length: there the two levels share one border
   line, so they agree that the river forms it. The overlay computes the levels finest
   first, so a stretch carries up every level (a finer stretch long enough only through
   its chain past a tri-point with a border internal to the coarser unit is a coarser
   stretch too).

Pieces labelled A or B next to a stretch of A and B (upstream or downstream), within half
of ``min_stretch_m`` along the river, are then taken into it (tributary mouths, stretch
ends left on the wrong side of the river by a generalised border line).

A crossing ``a -> b`` is recorded where water passes from a unit ``U`` (a jurisdiction,
or the pair of a stretch) into the next unit ``V``, for every ``a`` in ``U`` that stops
holding the river (``a`` not in ``V``) and every ``b`` in ``V``:

============================  =========================
passage                       crossings
============================  =========================
``A -> B``                    ``A -> B``
``A -> {A,B}`` (reaches it)   none (A shares its river)
``C -> {A,B}``                ``C -> A``, ``C -> B``
``{A,B} -> A`` (leaves it)    ``B -> A``
``{A,B} -> C``                ``A -> C``, ``B -> C``
``{A,B} -> {A,C}`` (chain)    ``B -> A``, ``B -> C``
inside ``{A,B}``              none: *boundary crossings*
============================  =========================

The raw jurisdiction changes that this leaves out (the zig-zags, and a tributary from A
landing on a piece labelled B) are kept as *boundary crossings* (``on_boundary=True``).

*Outside gaps.* Jurisdictions are clipped to the basin polygon, so a coarse river line
can leave it for a while. A run of pieces outside every jurisdiction entered from A and
left into A belongs to A (:func:`fill_outside_gaps` relabels it, whatever its length);
entered from A and left into B it is one crossing ``A -> B`` at the middle of the gap,
measured along the flow path. Outside runs at the upstream or downstream ends of the
network stay outside, with their crossings ``"" -> A`` or ``A -> ""``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from basingov._checks import check_piece_level, piece_levels, require_columns
from basingov.errors import InputError
from basingov.network import upstream_sum
from basingov.overlay._common import (
    BORDER_SEP,
    DEFAULT_MIN_STRETCH_M,
    OUTSIDE,
    SHARED_PREFIX,
    _check_min_stretch,
    _names,
    _NetworkLike,
    _objects,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "PieceGraph",
    "Stretches",
    "boundary_stretches",
    "fill_outside_gaps",
    "piece_stretches",
]

#: Placeholder for the second member of a single-jurisdiction unit (not NUL: numpy
#: compares strings with trailing NULs stripped, so "" == "\x00" there).
_NONE = "\x1e"


@dataclass(frozen=True, eq=False, kw_only=True)
class Stretches:
    """The boundary stretches of one level, as the overlay found them.

    Attributes
    ----------
    of
        Stretch (position in ``ids``) of every piece of :attr:`PieceGraph.pieces`, -1 off
        stretches.
    a, b
        The two jurisdictions holding each stretch.
    ids
        Stretch ids (``"<level>-s<k>"``), as in the ``stretch_id`` of the crossings.
    """

    of: NDArray[np.int64]
    a: NDArray[Any]
    b: NDArray[Any]
    ids: NDArray[Any]


@dataclass(frozen=True, eq=False, kw_only=True)
class PieceGraph:
    """Pieces along the flow: the overlay's hand-off to the stages that route on pieces.

    Nodes are the rows of :attr:`pieces` (the piece table sorted by reach position, then
    piece); edges link consecutive pieces inside a reach and, at junctions, the last piece
    of a reach to the first piece of each downstream reach (every branch of a
    bifurcation), with the boundary stretches of every level and the crossing ids on the
    border links, so that later stages (spillover) reuse them instead of recomputing them.
    :func:`basingov.overlay.overlay_network` makes it (as does
    :func:`basingov.overlay.piece_graph` on a piece table alone).

    Attributes
    ----------
    pieces
        Sorted piece table, positional index.
    src, dst
        Edge ends (rows of :attr:`pieces`), upstream first.
    rpos, to_rpos
        Reach position holding each edge (the upstream reach at a junction) and the
        reach downstream of it.
    frac
        Position of each edge along ``rpos`` (1 at junctions).
    junction
        Whether each edge joins two reaches.
    nxt
        Next piece along the main flow path, -1 at outlets.
    stretches
        Boundary stretches per level name (:class:`Stretches`).
    link_crossings
        Per level name, the crossings of the main inventory that lie on an edge:
        ``src_piece_id, dst_piece_id, crossing_id`` (an edge may carry several, e.g.
        ``C -> A`` and ``C -> B`` where C enters a stretch of A and B). Gap crossings
        lie on no single edge and are not listed.
    """

    pieces: pd.DataFrame
    src: NDArray[np.int64]
    dst: NDArray[np.int64]
    rpos: NDArray[np.int64]
    to_rpos: NDArray[np.int64]
    frac: NDArray[np.float64]
    junction: NDArray[np.bool_]
    nxt: NDArray[np.int64]
    stretches: Mapping[str, Stretches] = field(default_factory=dict)
    link_crossings: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def stretches_at(self, level: str) -> Stretches | None:
        """Return the boundary stretches of one level, or None if none were computed."""
        return self.stretches.get(level)


def _link_pieces(net: _NetworkLike, pieces: pd.DataFrame) -> PieceGraph:
    """Link consecutive pieces along the flow (no stretches or crossing ids yet).

    Parameters
    ----------
    net, pieces
        As in :func:`~basingov.overlay.piece_graph`.

    Returns
    -------
    PieceGraph
        Without stretches or link crossings (:func:`~basingov.overlay.piece_graph` adds them).

    Raises
    ------
    InputError
        If a column is missing or the pieces name reaches not in the network.
    """
    reaches = net.reaches
    require_columns(pieces, ["reach_pos", "fraction_start", "fraction_end"], what="pieces")
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    n = len(reaches)
    p = pieces.sort_values(["reach_pos", "piece"]) if "piece" in pieces else pieces
    p = p.reset_index(drop=True)
    pos = p["reach_pos"].to_numpy(dtype=np.int64)
    if pos.size and (pos.min() < 0 or pos.max() >= n):
        msg = (
            f"pieces refer to reach positions up to {int(pos.max())} but the network has {n} "
            "reaches; cut the pieces from this network's reaches"
        )
        raise InputError(msg)
    fend = p["fraction_end"].to_numpy(dtype=float)
    w = np.flatnonzero(pos[1:] == pos[:-1])
    firsts = np.unique(pos, return_index=True)
    first_of = np.full(n, -1, dtype=np.int64)
    first_of[firsts[0]] = firsts[1]
    last_of = np.full(n, -1, dtype=np.int64)
    lasts = np.unique(pos[::-1], return_index=True)
    last_of[lasts[0]] = pos.size - 1 - lasts[1]
    up = np.flatnonzero(idx_ds >= 0)
    dn = idx_ds[up]
    main_up, main_dn = up, dn
    bif = getattr(net, "bifurcations", None)
    if bif is not None and len(bif):
        rid_pos = pd.Series(np.arange(n), index=reaches["reach_id"].to_numpy())
        bu = rid_pos.reindex(bif["reach_id"].to_numpy()).to_numpy()
        bd = rid_pos.reindex(bif["downstream_id"].to_numpy()).to_numpy()
        ok = ~(np.isnan(bu) | np.isnan(bd))
        pairs = np.unique(
            np.concatenate(
                [np.column_stack([up, dn]), np.column_stack([bu[ok], bd[ok]]).astype(np.int64)]
            ),
            axis=0,
        )
        up, dn = pairs[:, 0], pairs[:, 1]
    j_from, j_to = last_of[up], first_of[dn]
    ok = (j_from >= 0) & (j_to >= 0)
    nxt = np.full(pos.size, -1, dtype=np.int64)
    nxt[w] = w + 1
    mf, mt = last_of[main_up], first_of[main_dn]
    mok = (mf >= 0) & (mt >= 0)
    nxt[mf[mok]] = mt[mok]
    return PieceGraph(
        pieces=p,
        src=np.concatenate([w, j_from[ok]]).astype(np.int64),
        dst=np.concatenate([w + 1, j_to[ok]]).astype(np.int64),
        rpos=np.concatenate([pos[w], up[ok]]).astype(np.int64),
        to_rpos=np.concatenate([pos[w], dn[ok]]).astype(np.int64),
        frac=np.concatenate([fend[w], np.ones(int(ok.sum()))]),
        junction=np.concatenate([np.zeros(w.size, bool), np.ones(int(ok.sum()), bool)]),
        nxt=nxt,
    )


def _components(n: int, src: NDArray[np.int64], dst: NDArray[np.int64]) -> NDArray[np.int64]:
    """Label the connected components of an undirected graph on ``n`` nodes (scipy csgraph)."""
    a = sparse.coo_matrix((np.ones(src.size), (src, dst)), shape=(n, n)).tocsr()
    return np.asarray(csgraph.connected_components(a, directed=False)[1], dtype=np.int64)


def _pair_halves(border: NDArray[Any], on: NDArray[np.bool_]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Split the ``"A|B"`` values of the marked pieces into their two members (``""`` off)."""
    a_of = np.full(border.size, "", dtype=object)
    b_of = np.full(border.size, "", dtype=object)
    # "A|B" split once per distinct pair (a few hundred), not once per piece
    codes, uniq = pd.factorize(border[on])
    halves = [str(u).split("|", 1) for u in uniq]
    if all(len(h) == 2 for h in halves):
        a_of[on] = np.asarray([h[0] for h in halves], dtype=object)[codes]
        b_of[on] = np.asarray([h[1] for h in halves], dtype=object)[codes]
    else:  # a value without "|" (not from mark_boundary_pieces): pandas' rule for it
        pair = pd.Series(border[on]).str.split("|", n=1, expand=True)
        a_of[on] = pair[0].to_numpy(dtype=object)
        b_of[on] = pair[1].to_numpy(dtype=object)
    return a_of, b_of


def _bridge_gaps(
    g: PieceGraph,
    border: NDArray[Any],
    jur: NDArray[Any],
    length_m: NDArray[np.float64],
    reach_m: float,
) -> NDArray[Any]:
    """Close the short interruptions of a pair A|B along the flow (the bridging rule).

    Walks down the main flow path (:attr:`PieceGraph.nxt`) from every piece marked A|B
    into the pieces after it that are not marked A|B (unmarked, or marked with another
    pair); a walk that meets a piece marked A|B again before it has gone ``reach_m`` along
    the river, through pieces lying in A or B only, marks the pieces it walked A|B (a piece
    walked by several such walks takes the pair of the one that began nearest upstream of
    it). All walks advance one piece per step, together. Returns the new border column.
    """
    on = border != ""
    nxt = g.nxt
    start = np.flatnonzero(on & (nxt >= 0))
    start = start[border[nxt[start]] != border[start]]
    if start.size == 0:
        return border
    a_of, b_of = _pair_halves(border, on)
    pair, a_of, b_of = border[start], a_of[start], b_of[start]
    walk = np.arange(start.size)
    cur = nxt[start]
    dist = length_m[cur]
    seen_walk: list[NDArray[np.int64]] = []
    seen_piece: list[NDArray[np.int64]] = []
    seen_dist: list[NDArray[np.float64]] = []
    done: list[NDArray[np.int64]] = []
    for _ in range(border.size):  # a walk takes one piece per step
        keep = (dist <= reach_m) & ((jur[cur] == a_of[walk]) | (jur[cur] == b_of[walk]))
        walk, cur, dist = walk[keep], cur[keep], dist[keep]
        seen_walk.append(walk)
        seen_piece.append(cur)
        seen_dist.append(dist)
        nx = nxt[cur]
        keep = nx >= 0
        walk, nx, dist = walk[keep], nx[keep], dist[keep]
        back = border[nx] == pair[walk]
        done.append(walk[back])
        walk, cur = walk[~back], nx[~back]
        dist = dist[~back] + length_m[cur]
        if walk.size == 0:
            break
    w, pc = np.concatenate(seen_walk), np.concatenate(seen_piece)
    fill = np.flatnonzero(np.isin(w, np.concatenate(done)))
    fill = fill[np.lexsort((np.concatenate(seen_dist)[fill], pc[fill]))]
    fill = fill[np.unique(pc[fill], return_index=True)[1]]  # the nearest walk per piece
    out = border.copy()
    out[pc[fill]] = pair[w[fill]]
    return out


def _main_links(g: PieceGraph, length_m: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether each edge comes from the main branch into its downstream piece.

    The main branch is the one with the longest river upstream of it (the first edge on
    ties); inside a reach, and below a bifurcation, every edge is the main branch.
    """
    upstream_m = upstream_sum(g.nxt, length_m)
    order = np.lexsort((np.arange(g.src.size), -upstream_m[g.src], g.dst))
    first = np.ones(order.size, dtype=bool)
    first[1:] = g.dst[order[1:]] != g.dst[order[:-1]]
    main = np.zeros(g.src.size, dtype=bool)
    main[order[first]] = True
    return main


def _shared_column(pieces: pd.DataFrame, level: str) -> NDArray[Any]:
    """Return the ``shared_<level>`` column as text (``""`` where missing or absent)."""
    col = f"{SHARED_PREFIX}{level}"
    if col not in pieces:
        return np.full(len(pieces), "", dtype=object)
    return _objects(pieces[col].fillna("").astype(str))


def _names_unit(shared: NDArray[Any], unit: NDArray[Any]) -> NDArray[np.bool_]:
    """Whether ``unit`` is one of the ``"B|C"`` units of ``shared``, row by row.

    Examples
    --------
    >>> _names_unit(np.array(["", "B|C", "B"], dtype=object), np.array(["B", "C", "C"])).tolist()
    [False, True, False]
    """
    out = np.zeros(unit.size, dtype=bool)
    rows = np.flatnonzero(shared != "")  # pieces on a shared border: few
    pairs = zip(unit[rows], shared[rows], strict=True)
    out[rows] = [u in str(v).split(BORDER_SEP) for u, v in pairs]
    return out


def _share_member(
    a_of: NDArray[Any], b_of: NDArray[Any], x: NDArray[np.int64], y: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Whether the pairs of pieces ``x`` and ``y`` (``a_of``/``b_of``) share a member."""
    ax, bx, ay, by = a_of[x], b_of[x], a_of[y], b_of[y]
    return (ax == ay) | (ax == by) | (bx == ay) | (bx == by)


def _finer_pairs(finer: Stretches, jur: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Return the two units of this level holding each finer stretch's pieces, per piece.

    A finer stretch of A2 and B2 whose pieces lie in exactly two units of this level,
    A and B (A2 in A, B2 in B), runs along the A|B border too: the border of A2 and B2
    there is a stretch of the border of A and B. Returns, for every piece of such a
    finer stretch, A and B sorted (``""`` elsewhere, and for finer stretches inside one
    unit of this level or whose pieces fall in more than two).
    """
    lo = np.full(jur.size, "", dtype=object)
    hi = np.full(jur.size, "", dtype=object)
    rows = np.flatnonzero(finer.of >= 0)
    if rows.size == 0:
        return lo, hi
    units = pd.DataFrame({"k": finer.of[rows], "jur": jur[rows]}).drop_duplicates()
    units = units[units["jur"] != ""]
    count = units.groupby("k")["jur"].transform("size")
    two = units[count == 2].sort_values(["k", "jur"], kind="stable")
    lo_k = np.full(finer.ids.size, "", dtype=object)
    hi_k = np.full(finer.ids.size, "", dtype=object)
    first = two.groupby("k")["jur"].first()
    last = two.groupby("k")["jur"].last()
    lo_k[first.index.to_numpy(dtype=np.int64)] = first.to_numpy(dtype=object)
    hi_k[last.index.to_numpy(dtype=np.int64)] = last.to_numpy(dtype=object)
    lo[rows] = lo_k[finer.of[rows]]
    hi[rows] = hi_k[finer.of[rows]]
    return lo, hi


def _stretches(
    g: PieceGraph,
    level: str,
    min_stretch_m: float,
    main: NDArray[np.bool_] | None = None,
    finer: Stretches | None = None,
) -> Stretches:
    """Boundary stretches of one level.

    ``main`` is :func:`_main_links` of ``g``, if known. ``finer`` are the stretches of the
    next finer level, if any: a run of this level's pair A|B that holds pieces of a finer
    stretch of a unit of A and a unit of B is a stretch whatever its length (the two
    levels share the border line there, so they agree on whether the river forms it).
    """
    p = g.pieces
    npc = len(p)
    col = f"border_{level}"
    border = _objects(p[col].fillna("").astype(str)) if col in p else np.full(npc, "", dtype=object)
    none = Stretches(
        of=np.full(npc, -1, dtype=np.int64),
        a=np.empty(0, dtype=object),
        b=np.empty(0, dtype=object),
        ids=np.empty(0, dtype=object),
    )
    if not (border != "").any():
        return none
    jur = _objects(p[f"jur_{level}"])
    length_m = p["length_km"].to_numpy(dtype=float) * 1000.0
    border = _bridge_gaps(g, border, jur, length_m, min_stretch_m / 2)
    on = border != ""
    a_of, b_of = _pair_halves(border, on)
    s, d = g.src, g.dst
    # runs: pieces of one pair A|B along the flow; a run counts when it has pieces in A and B
    # (a piece on the border of A and B, held by one of them, is in both)
    shared = _shared_column(p, level)
    same = on[s] & (border[s] == border[d])
    comp = _components(npc, s[same], d[same])
    rows = np.flatnonzero(on)
    df = pd.DataFrame(
        {
            "comp": comp[on],
            "row": rows,
            "length": length_m[on],
            "has_a": (jur[on] == a_of[on]) | _names_unit(shared[on], a_of[on]),
            "has_b": (jur[on] == b_of[on]) | _names_unit(shared[on], b_of[on]),
            "a": a_of[on],
            "b": b_of[on],
        }
    )
    if finer is not None:
        lo, hi = _finer_pairs(finer, jur)
        lo, hi = lo[on], hi[on]
        a_on, b_on = a_of[on], b_of[on]
        df["finer"] = (lo != "") & (((lo == a_on) & (hi == b_on)) | ((lo == b_on) & (hi == a_on)))
    else:
        df["finer"] = False
    agg = df.groupby("comp", sort=False).agg(
        row=("row", "min"),
        length=("length", "sum"),
        has_a=("has_a", "any"),
        has_b=("has_b", "any"),
        a=("a", "first"),
        b=("b", "first"),
        finer=("finer", "any"),
    )
    agg = agg[agg["has_a"] & agg["has_b"]]
    # chains: such runs linked along the river (main branch) where the pair changes at a
    # tri-point, A|B then A|C: the two pairs share a member
    sides = np.zeros(npc, dtype=bool)
    sides[agg.index.to_numpy()] = True
    sides = sides[comp] & on
    share = _share_member(a_of, b_of, s, d)
    if main is None:
        main = _main_links(g, length_m)
    linked = sides[s] & sides[d] & (border[s] != border[d]) & share & main
    linked |= same & sides[s]
    ls, ld = s[linked], d[linked]
    # a tri-point passed by a short run that does not count (A|B, then B|C on pieces in B
    # only, then A|C): the runs before and after it link through it when the three pairs
    # share members pairwise
    run_m = np.bincount(comp[on], weights=length_m[on], minlength=npc)
    short = on & ~sides & (run_m[comp] < min_stretch_m / 2)
    ein = np.flatnonzero(main & sides[s] & short[d])
    eout = np.flatnonzero(main & short[s] & sides[d])
    if ein.size and eout.size:
        into = pd.DataFrame({"c": comp[d[ein]], "u": s[ein], "r": d[ein]})
        out_of = pd.DataFrame({"c": comp[s[eout]], "v": d[eout]})
        m = into.merge(out_of, on="c")
        u, r, v = (m[k].to_numpy(dtype=np.int64) for k in ("u", "r", "v"))
        ok = (
            _share_member(a_of, b_of, u, r)
            & _share_member(a_of, b_of, r, v)
            & _share_member(a_of, b_of, u, v)
            & (border[u] != border[v])
        )
        ls, ld = np.concatenate([ls, u[ok]]), np.concatenate([ld, v[ok]])
    chain = _components(npc, ls, ld)
    chain_m = np.bincount(chain[sides], weights=length_m[sides], minlength=npc)
    chain_of = chain_m[chain[agg["row"].to_numpy()]]
    agg = agg[(agg["length"] >= min_stretch_m) | (chain_of >= min_stretch_m) | agg["finer"]]
    if agg.empty:
        return none
    agg = agg.sort_values("row")
    k = pd.Series(np.arange(len(agg)), index=agg.index)
    of = np.full(npc, -1, dtype=np.int64)
    hit = pd.Series(comp[on]).map(k).to_numpy()
    good = ~np.isnan(hit)
    of[rows[good]] = hit[good].astype(np.int64)
    a, b = agg["a"].to_numpy(dtype=object), agg["b"].to_numpy(dtype=object)
    _absorb(g, of, jur, a, b, length_m, min_stretch_m / 2)
    return Stretches(
        of=of, a=a, b=b, ids=np.array([f"{level}-s{i}" for i in range(len(agg))], dtype=object)
    )


def graph_and_stretches(
    net: _NetworkLike,
    pieces: pd.DataFrame,
    level: str,
    min_stretch_m: float,
    graph: PieceGraph | None,
) -> tuple[PieceGraph, Stretches]:
    """Return the given piece graph and its stretches of ``level``, or compute both."""
    g = _link_pieces(net, pieces) if graph is None else graph
    st = g.stretches_at(level)
    return g, _stretches(g, level, float(min_stretch_m)) if st is None else st


def _absorb(
    g: PieceGraph,
    of: NDArray[np.int64],
    jur: NDArray[Any],
    a: NDArray[Any],
    b: NDArray[Any],
    length_m: NDArray[np.float64],
    reach_m: float,
) -> None:
    """Grow stretches (in place) over the pieces next to them that lie on either side.

    A piece upstream or downstream of a stretch of A and B, labelled A or B, joins it
    when the river between it and the stretch (itself included) is shorter than
    ``reach_m``. This takes in the tributary mouths and the stretch ends that a
    generalised border line leaves on the wrong side of the river.
    """
    dist = np.where(of >= 0, 0.0, np.inf)
    s, d = g.src, g.dst
    # compare integer codes, not the id strings
    codes, _ = pd.factorize(np.concatenate([jur, a, b]).astype(object))
    jur, a, b = codes[: jur.size], codes[jur.size : jur.size + a.size], codes[jur.size + a.size :]
    for _ in range(64):
        grew = False
        for near, far in ((s, d), (d, s)):  # pieces upstream, then downstream of stretches
            k = of[far]
            cand = (k >= 0) & (of[near] < 0)
            kk = np.maximum(k, 0)
            cand &= (jur[near] == a[kk]) | (jur[near] == b[kk])
            nd = dist[far] + length_m[near]
            cand &= nd <= reach_m
            idx = np.flatnonzero(cand)
            if idx.size == 0:
                continue
            idx = idx[np.unique(near[idx], return_index=True)[1]]
            of[near[idx]] = k[idx]
            dist[near[idx]] = nd[idx]
            grew = True
        if not grew:
            break


@dataclass(frozen=True, kw_only=True)
class _Passages:
    """Crossings of one level as edges of the piece graph, before geometry is added."""

    edge: NDArray[np.int64]  # edge index, or -1 for a gap crossing
    from_jur: NDArray[Any]
    to_jur: NDArray[Any]
    on_boundary: NDArray[np.bool_]
    stretch: NDArray[np.int64]  # stretch touched by the passage, -1 if none
    rpos: NDArray[np.int64]
    to_rpos: NDArray[np.int64]
    frac: NDArray[np.float64]
    kind: NDArray[Any]
    gap_km: NDArray[np.float64]


def _sorted_codes(values: NDArray[Any]) -> tuple[NDArray[np.str_], NDArray[np.intp]]:
    """``np.unique(values.astype(str), return_inverse=True)``, the distinct values first.

    The values are factorized, and only the distinct ones turned into text and sorted: a
    text array of every piece (millions in a continental layer) and its sort were about
    0.4 GB at once. Values with a missing one among them take numpy's way.

    Examples
    --------
    >>> names, code = _sorted_codes(np.array(["b", "a", "b", ""], dtype=object))
    >>> names.tolist(), code.tolist()
    (['', 'a', 'b'], [2, 1, 2, 0])
    """
    if pd.isna(values).any():  # None and NaN are one missing value to pandas, not to str
        names, code = np.unique(values.astype(str), return_inverse=True)
        return names, code.reshape(-1)
    codes, uniq = pd.factorize(values)
    names, inv = np.unique(np.asarray([str(u) for u in uniq], dtype=str), return_inverse=True)
    return names, inv.reshape(-1)[codes]


def _emitted(
    g: PieceGraph, jur: NDArray[Any], st: Stretches
) -> tuple[NDArray[np.int64], NDArray[Any], NDArray[Any]]:
    """List the unit changes along the piece-graph edges: edge, from, to (sorted so).

    A piece's units are its own jurisdiction, or both sides A and B on a stretch.
    """
    of = st.of
    s, d = g.src, g.dst
    in_st = of >= 0
    # the units compared as integer codes, numbered in sorted order of the ids (so the
    # codes sort as the ids do); _NONE is one of them
    n_j, n_a = jur.size, st.a.size
    names, code = _sorted_codes(np.concatenate([jur, st.a, st.b, np.array([_NONE], dtype=object)]))
    names = names.astype(object)
    none = code[-1]
    u1 = code[:n_j].copy()
    u2 = np.full(n_j, none, dtype=code.dtype)
    u1[in_st] = code[n_j : n_j + n_a][of[in_st]]
    u2[in_st] = code[n_j + n_a : -1][of[in_st]]
    internal = (of[s] >= 0) & (of[s] == of[d])
    ext = np.flatnonzero(~internal)
    em_edge, em_from, em_to = [], [], []
    for ua in (u1, u2):
        for ub in (u1, u2):
            a, b = ua[s[ext]], ub[d[ext]]
            ok = (a != none) & (b != none) & (a != b) & (a != u1[d[ext]]) & (a != u2[d[ext]])
            em_edge.append(ext[ok])
            em_from.append(a[ok])
            em_to.append(b[ok])
    e_edge = np.concatenate(em_edge)
    e_from_c = np.concatenate(em_from)
    e_to_c = np.concatenate(em_to)
    srt = np.lexsort((e_to_c, e_from_c, e_edge))
    e_edge, e_from, e_to = e_edge[srt], names[e_from_c[srt]], names[e_to_c[srt]]
    return e_edge, e_from, e_to


def _passages(g: PieceGraph, level: str, st: Stretches) -> _Passages:
    """Apply the boundary-stretch and outside-gap rules (module docstring) at one level."""
    p = g.pieces
    jur = _objects(p[f"jur_{level}"])
    of = st.of
    s, d = g.src, g.dst
    e_edge, e_from, e_to = _emitted(g, jur, st)
    # raw changes at stretches that the units leave out: boundary crossings
    raw = np.flatnonzero((jur[s] != jur[d]) & ((of[s] >= 0) | (of[d] >= 0)))
    emitted = pd.MultiIndex.from_arrays([e_edge, e_from, e_to])
    raw_key = pd.MultiIndex.from_arrays([raw, jur[s[raw]], jur[d[raw]]])
    b_edge = raw[~raw_key.isin(emitted)]
    b_st = np.where(of[s[b_edge]] >= 0, of[s[b_edge]], of[d[b_edge]])
    e_st = np.where(of[s[e_edge]] >= 0, of[s[e_edge]], of[d[e_edge]])
    # outside gaps: pair the passages into and out of each outside run
    gap = _gap_crossings(g, jur, e_edge, e_from, e_to)
    keep = np.ones(e_edge.size, dtype=bool)
    keep[gap["used"]] = False
    n_k, n_b, n_g = int(keep.sum()), b_edge.size, len(gap["from"])
    edges = np.concatenate([e_edge[keep], b_edge, np.full(n_g, -1, dtype=np.int64)])
    ge = np.maximum(edges, 0)
    rpos = np.where(edges >= 0, g.rpos[ge], 0)
    to_rpos = np.where(edges >= 0, g.to_rpos[ge], 0)
    frac = np.where(edges >= 0, g.frac[ge], 0.0)
    rpos[n_k + n_b :] = gap["rpos"]
    to_rpos[n_k + n_b :] = gap["rpos"]
    frac[n_k + n_b :] = gap["frac"]
    kind = np.where(g.junction[ge], "junction", "within").astype(object)
    kind[n_k + n_b :] = "gap"
    return _Passages(
        edge=edges,
        from_jur=np.concatenate([e_from[keep], jur[s[b_edge]], np.asarray(gap["from"], object)]),
        to_jur=np.concatenate([e_to[keep], jur[d[b_edge]], np.asarray(gap["to"], object)]),
        on_boundary=np.concatenate([np.zeros(n_k, bool), np.ones(n_b, bool), np.zeros(n_g, bool)]),
        stretch=np.concatenate([e_st[keep], b_st, np.full(n_g, -1, dtype=np.int64)]),
        rpos=rpos.astype(np.int64),
        to_rpos=to_rpos.astype(np.int64),
        frac=frac.astype(float),
        kind=kind,
        gap_km=np.concatenate([np.full(n_k + n_b, np.nan), np.asarray(gap["km"], dtype=float)]),
    )


def _gap_components(g: PieceGraph, jur: NDArray[Any]) -> NDArray[np.int64]:
    """Component of every outside piece along the flow (-1 for pieces in a jurisdiction)."""
    out = jur == OUTSIDE
    comp = np.full(jur.size, -1, dtype=np.int64)
    if out.any():
        e = out[g.src] & out[g.dst]
        c = _components(jur.size, g.src[e], g.dst[e])
        comp[out] = c[out]
    return comp


def _gap_crossings(
    g: PieceGraph,
    jur: NDArray[Any],
    e_edge: NDArray[np.int64],
    e_from: NDArray[Any],
    e_to: NDArray[Any],
) -> dict[str, Any]:
    """Replace ``A -> ""`` / ``"" -> B`` pairs around an outside run by one ``A -> B``.

    Walks from each passage into an outside run down the main flow path; a passage out of
    the same run met on the way is paired with it. The crossing lies at the middle of the
    walked gap; an ``A -> "" -> A`` pair gives no crossing. Unpaired passages stay.
    """
    res: dict[str, Any] = {"used": [], "from": [], "to": [], "rpos": [], "frac": [], "km": []}
    into = np.flatnonzero((e_to == OUTSIDE) & (e_from != OUTSIDE))
    if into.size == 0:
        return res
    comp = _gap_components(g, jur)
    outof = np.flatnonzero((e_from == OUTSIDE) & (e_to != OUTSIDE))
    exit_at: dict[int, list[int]] = {}
    for k in outof:
        exit_at.setdefault(int(g.src[e_edge[k]]), []).append(int(k))
    p = g.pieces
    length = p["length_km"].to_numpy(dtype=float)
    fs = p["fraction_start"].to_numpy(dtype=float)
    fe = p["fraction_end"].to_numpy(dtype=float)
    pos = p["reach_pos"].to_numpy(dtype=np.int64)
    used: set[int] = set()
    for k in into:
        start = int(g.dst[e_edge[k]])
        c = comp[start]
        path: list[int] = []
        cur = start
        hit: list[int] = []
        while cur >= 0 and comp[cur] == c and len(path) <= jur.size:
            path.append(cur)
            hit = exit_at.get(cur, [])
            if hit:
                break
            cur = int(g.nxt[cur])
        if not hit:
            continue
        used.add(int(k))
        total = float(length[path].sum())
        half = total / 2.0
        cum = np.cumsum(length[path])
        i = min(int(np.searchsorted(cum, half)), len(path) - 1)
        piece = path[i]
        before = cum[i] - length[piece]
        t = (half - before) / length[piece] if length[piece] > 0 else 0.5
        for x in hit:
            used.add(x)
            if e_from[k] == e_to[x]:
                continue
            res["from"].append(e_from[k])
            res["to"].append(e_to[x])
            res["rpos"].append(int(pos[piece]))
            res["frac"].append(float(fs[piece] + (fe[piece] - fs[piece]) * t))
            res["km"].append(total)
    res["used"] = np.asarray(sorted(used), dtype=np.int64)
    return res


def fill_outside_gaps(net: _NetworkLike, pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give an outside run between two pieces of one jurisdiction to that jurisdiction.

    At every level, a run of pieces outside every jurisdiction (``jur_<level> == ""``),
    connected along the flow, whose neighbours upstream and downstream all lie in the same
    jurisdiction J is relabelled J, however long it is. Runs at the network's upstream or
    downstream ends, and runs between two different jurisdictions, stay outside (see
    :func:`crossings` for the crossing placed in the middle of the latter).

    Parameters
    ----------
    net
        The river network the pieces were cut from.
    pieces
        Piece table from :func:`split_reaches` on ``net.reaches``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``pieces`` (same rows and order) with relabelled ``jur_<level>`` and
        ``name_<level>`` columns.

    Raises
    ------
    InputError
        If ``pieces`` lacks a column or refers to reaches that ``net`` does not have.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from shapely import LineString
    >>> r = gpd.GeoDataFrame({"reach_id": [1, 2, 3]}, geometry=[LineString([(0, 0), (1, 0)])]
    ...     * 3, crs=3035)
    >>> p = gpd.GeoDataFrame({"reach_pos": [0, 1, 2], "piece": [0, 0, 0],
    ...     "fraction_start": [0.0] * 3, "fraction_end": [1.0] * 3, "length_km": [1.0] * 3,
    ...     "jur_state": ["A", "", "A"], "name_state": ["Aa", "", "Aa"]},
    ...     geometry=r.geometry, crs=3035)
    >>> net = SimpleNamespace(reaches=r, idx_ds=np.array([1, 2, -1]))
    >>> fill_outside_gaps(net, p)["jur_state"].tolist()
    ['A', 'A', 'A']
    """
    levels = piece_levels(pieces)
    require_columns(pieces, [f"name_{lv}" for lv in levels], what="pieces")
    g = _link_pieces(net, pieces.reset_index(drop=True))
    sorted_rows = (
        pieces.reset_index(drop=True).sort_values(["reach_pos", "piece"]).index.to_numpy()
        if "piece" in pieces
        else np.arange(len(pieces))
    )
    # shallow: the relabelled columns are replaced, the others (the whole geometry and
    # numbers of millions of pieces in a continental layer) are shared copy-on-write
    out = pieces.copy(deep=False)
    for lv in levels:
        jur = _objects(g.pieces[f"jur_{lv}"])
        comp = _gap_components(g, jur)
        if not (comp >= 0).any():
            continue
        s, d = g.src, g.dst
        into = (comp[d] >= 0) & (comp[s] < 0)
        outof = (comp[s] >= 0) & (comp[d] < 0)
        nb = pd.DataFrame(
            {
                "comp": np.concatenate([comp[d[into]], comp[s[outof]]]),
                "side": np.concatenate([np.zeros(int(into.sum())), np.ones(int(outof.sum()))]),
                "jur": np.concatenate([jur[s[into]], jur[d[outof]]]),
            }
        )
        agg = nb.groupby("comp").agg(
            n_jur=("jur", "nunique"), sides=("side", "nunique"), jur=("jur", "first")
        )
        fill = agg[(agg["n_jur"] == 1) & (agg["sides"] == 2)]["jur"]
        if fill.empty:
            continue
        new = pd.Series(comp).map(fill).to_numpy(dtype=object)
        rows = np.flatnonzero(~pd.isna(new))
        names = _names(g.pieces, lv, text=False)
        jcol = _objects(out[f"jur_{lv}"]).copy()
        ncol = _objects(out[f"name_{lv}"]).copy()
        jcol[sorted_rows[rows]] = new[rows]
        ncol[sorted_rows[rows]] = [names.get(j, j) for j in new[rows]]
        out[f"jur_{lv}"] = jcol
        out[f"name_{lv}"] = ncol
    return out


#: Parts of boundary stretches merged into lines at a time (:func:`_merged_lines`).
_MERGE_PARTS = 1 << 16


def _merged_lines(geoms: NDArray[Any], k: NDArray[np.int64]) -> NDArray[Any]:
    """``line_merge`` of the multi-line made of the parts of ``geoms`` of each ``k``.

    ``k`` numbers the groups 0..n-1, every one present. Pieces that are single non-empty
    lines are their own parts (no copy); the groups are merged about :data:`_MERGE_PARTS`
    parts at a time, so that the multi-lines built for the merge (each a copy of its
    parts' lines) are not all held at once: at the units of a continental layer
    (millions of pieces) they were 1 GB more, and their memory stayed with the process.
    Each group's line is the same as merged all at once.
    """
    if shapely.is_empty(geoms).any() or (shapely.get_type_id(geoms) != 1).any():
        parts, of = shapely.get_parts(geoms, return_index=True)
    else:
        parts, of = geoms, np.arange(geoms.size)
    by = np.argsort(k[of], kind="stable")
    parts, pk = parts[by], k[of][by]
    n = int(pk.max()) + 1 if pk.size else 0
    merged = np.empty(n, dtype=object)
    edges = np.searchsorted(pk, np.arange(n + 1))  # the parts of group i: edges[i]:edges[i+1]
    g0 = 0
    while g0 < n:
        g1 = int(np.searchsorted(edges, edges[g0] + _MERGE_PARTS, side="right")) - 1
        g1 = min(max(g1, g0 + 1), n)
        a, b = edges[g0], edges[g1]
        lines = shapely.multilinestrings(parts[a:b], indices=pk[a:b] - g0)
        merged[g0:g1] = shapely.line_merge(lines)
        del lines
        g0 = g1
    return merged


def boundary_stretches(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    level: str,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
    graph: PieceGraph | None = None,
) -> gpd.GeoDataFrame:
    """Stretches of river that form the border between two jurisdictions at one level.

    See the module docstring of :mod:`basingov.overlay.stretches` for the rule; the pieces need
    the ``border_<level>`` column of :func:`mark_boundary_pieces` (without it there are
    no stretches).

    Parameters
    ----------
    net
        The river network the pieces were cut from.
    pieces
        Piece table with ``border_<level>`` columns.
    level
        Level name.
    min_stretch_m
        Shortest stretch kept, in metres.
    graph
        The pieces' :class:`PieceGraph`; its stretches of ``level`` are reused when it
        has them (default: built here). The graph of
        :func:`~basingov.overlay.overlay_network` holds every level's stretches, each
        level's taking in those of the next finer level (a run of A|B along a finer
        stretch of a unit of A and a unit of B is a stretch whatever its length); built
        here, the level is computed alone.

    Returns
    -------
    geopandas.GeoDataFrame
        ``stretch_id, level_name, jur_a, jur_b, name_a, name_b, length_km, n_pieces,
        n_boundary_crossings`` and the stretch's pieces as one (Multi)LineString.

    Raises
    ------
    InputError
        If ``level`` is not a level of ``pieces`` or ``min_stretch_m`` is negative.

    Examples
    --------
    A 3 km river on a border that zigzags across it lies in A, B, then A, always on the
    border: one stretch of 3 km that crosses the border twice.

    >>> from basingov.examples import example_border_river
    >>> from basingov.overlay import mark_boundary_pieces, split_reaches
    >>> jur, net = example_border_river(level_name="state")
    >>> p = mark_boundary_pieces(split_reaches(net.reaches, jur), jur, border_tolerance_m=100)
    >>> s = boundary_stretches(net, p, level="state", min_stretch_m=2000)
    >>> s[["stretch_id", "jur_a", "jur_b", "length_km", "n_boundary_crossings"]].to_records(
    ...     index=False).tolist()
    [('state-s0', 'A', 'B', 3.0, 2)]
    """
    level = check_piece_level(pieces, level)
    _check_min_stretch(min_stretch_m)
    g, st = graph_and_stretches(net, pieces, level, min_stretch_m, graph)
    cols = [
        "stretch_id",
        "level_name",
        "jur_a",
        "jur_b",
        "name_a",
        "name_b",
        "length_km",
        "n_pieces",
        "n_boundary_crossings",
    ]
    if st.ids.size == 0:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=pieces.crs))
    pas = _passages(g, level, st)
    nb = np.bincount(pas.stretch[pas.on_boundary & (pas.stretch >= 0)], minlength=st.ids.size)
    rows = np.flatnonzero(st.of >= 0)
    k = st.of[rows]
    merged = _merged_lines(np.asarray(g.pieces.geometry.to_numpy())[rows], k)
    names = _names(g.pieces, level)
    out = pd.DataFrame(
        {
            "stretch_id": st.ids,
            "level_name": level,
            "jur_a": st.a,
            "jur_b": st.b,
            "name_a": [names.get(a, a) for a in st.a],
            "name_b": [names.get(b, b) for b in st.b],
            "length_km": np.bincount(k, weights=g.pieces["length_km"].to_numpy(dtype=float)[rows]),
            "n_pieces": np.bincount(k),
            "n_boundary_crossings": nb,
        }
    )
    return gpd.GeoDataFrame(out[cols], geometry=list(merged), crs=pieces.crs)


def piece_stretches(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    level: str,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
    graph: PieceGraph | None = None,
) -> NDArray[Any]:
    """Return the boundary stretch holding each piece at one level (:func:`boundary_stretches`).

    Parameters
    ----------
    net, pieces, level, min_stretch_m, graph
        As :func:`boundary_stretches` (``graph`` must be the piece graph of ``pieces``).

    Returns
    -------
    numpy.ndarray
        One ``stretch_id`` per row of ``pieces`` (same order), ``""`` outside stretches.

    Raises
    ------
    InputError
        As :func:`boundary_stretches`.

    Examples
    --------
    The border river of :func:`basingov.examples.example_border_river`: its three pieces
    (in A, B, A) all belong to the one stretch.

    >>> from basingov.examples import example_border_river
    >>> from basingov.overlay import mark_boundary_pieces, split_reaches
    >>> jur, net = example_border_river(level_name="state")
    >>> p = mark_boundary_pieces(split_reaches(net.reaches, jur), jur, border_tolerance_m=100)
    >>> piece_stretches(net, p, level="state", min_stretch_m=2000).tolist()
    ['state-s0', 'state-s0', 'state-s0']
    """
    level = check_piece_level(pieces, level)
    _check_min_stretch(min_stretch_m)
    flat = pieces.reset_index(drop=True)
    _, st = graph_and_stretches(net, flat, level, min_stretch_m, graph)
    if "piece" in flat:
        rows = flat.sort_values(["reach_pos", "piece"]).index.to_numpy()
    else:
        rows = np.arange(len(flat))
    out = np.full(len(flat), "", dtype=object)
    inside = st.of >= 0
    out[rows[inside]] = st.ids[st.of[inside]]
    return out
