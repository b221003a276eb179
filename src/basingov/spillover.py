r"""Spillover: decay routing of loads, source-receptor matrices, indicators and uncertainty.

Routing model (DESIGN §2.6). Every node ``i`` of a directed network (a reach, or a piece
of a reach cut at borders) passes on a fraction ``keep_i`` of what flows in, and the load
generated along it enters at its middle:

.. math::

    F_i = \mathrm{keep}_i\, U_i + e_i\, g_i, \qquad
    U_i = \sum_{j \to i} f_{ji} F_j

with :math:`F_i` the flux (kg/day) at the node's outflow, :math:`U_i` the inflow,
:math:`g_i` the generated load, :math:`f_{ji}` the link fraction (1, or a bifurcation
share). For a river node :math:`\mathrm{keep}_i = e^{-k \tau_i}` (first-order decay over
the travel time) and :math:`e_i = \sqrt{\mathrm{keep}_i}` (the SPARROW mid-reach entry);
for a lake or reservoir node :math:`\mathrm{keep}_i = 1 - R_i = 1/(1 + k_l \tau_{w,i})`
(a fully mixed reactor) and, being fully mixed, :math:`e_i = \mathrm{keep}_i`.

Mass balance per origin: what is lost on river nodes is *decayed*, what is lost in lakes
is *retained*, what leaves a node through no link (an outlet, or the part of a split that
leaves the network) is *delivered*; generated = delivered + decayed + retained.

All kernels take arrays and are independent of geometry; :func:`spillover_tables` maps
them onto the reach/piece tables of :mod:`basingov.network` and :mod:`basingov.overlay`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import linalg as splinalg

from basingov import _spillover_kernels as K
from basingov._kernels import kahn_order_csr
from basingov._overlay_common import DEFAULT_MIN_STRETCH_M
from basingov._stretches import _piece_graph, _stretches
from basingov.errors import InputError, SingularSystemError

__all__ = [
    "DEFAULT_DECAY_PER_DAY",
    "DEFAULT_LAKE_DECAY_PER_DAY",
    "MC_DECAY_SIGMA_LN",
    "MC_LOAD_SIGMA_LN",
    "MC_VELOCITY_SIGMA_LN",
    "OriginLoads",
    "PieceNetwork",
    "Routing",
    "RoutingGraph",
    "SpilloverResult",
    "Transfer",
    "entry_factors",
    "indicators",
    "keep_factors",
    "marginal_benefit",
    "matrix_frame",
    "matrix_long",
    "monte_carlo_matrix",
    "node_loads",
    "origin_loads",
    "piece_network",
    "route",
    "routing_graph",
    "spillover_tables",
    "stretch_route_codes",
    "transfer",
]

logger = logging.getLogger(__name__)

#: In-stream first-order loss rate k (1/day) used when the basin config gives none. The
#: compilation in van der Perk, *Soil and Water Contamination* (2nd ed.), Table 13.3, lists
#: river nitrification/denitrification rates of 0.1-0.6 d-1 (Thomann 1972), 0.04-0.2 d-1
#: ("model documentation values", EPA 1985), 0.0-1.9 d-1 for the Rhine in the Netherlands
#: (Admiraal & Botermans 1989) and k_d = 0.05-0.1 d-1 for the Thames and Bedford Ouse
#: (Whitehead et al.). For total nitrogen, which SPARROW (Moore et al. 2004, USGS SIR
#: 2004-5012) finds barely lost in large rivers, we take the low end, 0.1 d-1. Override
#: with ``[spillover] decay_per_day``.
DEFAULT_DECAY_PER_DAY = 0.1

#: First-order loss rate k_l (1/day) in lakes and reservoirs, giving the retention
#: :math:`R = 1 - 1/(1 + k_l \tau_w)`. An *assumption*: the river rate
#: :data:`DEFAULT_DECAY_PER_DAY` applied to a fully mixed water body (no lake-specific
#: rate was found in the staged sources). Override with ``[spillover] lake_decay_per_day``.
DEFAULT_LAKE_DECAY_PER_DAY = 0.1

#: Monte Carlo spread of k: lognormal with median ``decay_per_day`` and this sigma of
#: ln k. 0.5 puts the 5-95 % range at a factor ~2.3 either side of the median, the width
#: of the literature ranges above (e.g. 0.1-0.6 d-1). An assumption.
MC_DECAY_SIGMA_LN = 0.5

#: Monte Carlo spread of the velocity multiplier: lognormal, median 1, sigma of ln 0.3
#: (5-95 %: x0.61-x1.64), for the uncertainty of the hydraulic-geometry velocities. An
#: assumption.
MC_VELOCITY_SIGMA_LN = 0.3

#: Monte Carlo spread of each load source's coefficient multiplier: lognormal, median 1,
#: sigma of ln 0.12, from the inter-quartile range of per-p.e. TN loads of German plants in
#: UWWTD v6 (p25 9.81, p75 11.51 g/PE/day: sigma = ln(11.51/9.81)/1.349 = 0.12).
MC_LOAD_SIGMA_LN = 0.12

Method = Literal["auto", "sweep", "solve"]
_METHODS: tuple[str, ...] = get_args(Method)


# ----------------------------------------------------------------------------------------
# graph
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RoutingGraph:
    """A directed routing network on positions ``0..n-1``.

    Attributes
    ----------
    idx_ds
        Main downstream position of each node, -1 where none.
    indptr, indices, frac
        Outgoing links in CSR form with their fractions. A node's fractions sum to at
        most 1; the remainder leaves the network (it is *delivered*).
    order
        Topological order (upstream first); shorter than ``n`` when ``kind == "cyclic"``.
    kind
        ``"tree"`` (one link of fraction 1 or none per node), ``"dag"`` or ``"cyclic"``.
    """

    idx_ds: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    frac: np.ndarray
    order: np.ndarray
    kind: str

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.idx_ds.shape[0])

    def links(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All links as ``(src, dst, fraction)`` arrays."""
        src = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(self.indptr))
        return src, self.indices, self.frac


def routing_graph(
    idx_ds: Any,
    *,
    splits: tuple[Any, Any, Any] | None = None,
) -> RoutingGraph:
    """Build a :class:`RoutingGraph` from downstream positions and optional splits.

    Parameters
    ----------
    idx_ds
        Downstream position of each node (-1 at outlets).
    splits
        ``(src, dst, fraction)`` arrays listing *every* outgoing link of each splitting
        node (bifurcations, two-way links); they replace that node's ``idx_ds`` link.
        ``dst = -1`` marks a share leaving the network. Fractions must lie in [0, 1] and
        sum to at most 1 per node.

    Returns
    -------
    RoutingGraph

    Raises
    ------
    InputError
        On positions out of range or invalid fractions; the message names the nodes.

    Examples
    --------
    >>> g = routing_graph([2, 2, -1])
    >>> g.kind, g.order.tolist()
    ('tree', [0, 1, 2])
    >>> routing_graph([1, 0, -1], splits=([1, 1], [0, 2], [0.5, 0.5])).kind
    'cyclic'
    """
    ds = np.asarray(idx_ds, dtype=np.int64)
    n = ds.shape[0]
    bad = np.flatnonzero((ds < -1) | (ds >= n) | (ds == np.arange(n)))
    if bad.size:
        msg = (
            f"idx_ds must hold positions in [0, {n}) or -1, and no self-links; "
            f"bad at node(s) {bad[:20].tolist()}"
        )
        raise InputError(msg)
    src = np.flatnonzero(ds >= 0)
    dst = ds[src]
    frac = np.ones(src.shape[0])
    kind = "tree"
    if splits is not None:
        s_src, s_dst, s_frac = (np.asarray(a) for a in splits)
        s_src = s_src.astype(np.int64)
        s_dst = s_dst.astype(np.int64)
        s_frac = s_frac.astype(np.float64)
        problems = []
        if not (s_src.shape == s_dst.shape == s_frac.shape):
            msg = "splits must be three arrays (src, dst, fraction) of equal length"
            raise InputError(msg)
        oob = (s_src < 0) | (s_src >= n) | (s_dst < -1) | (s_dst >= n) | (s_src == s_dst)
        if oob.any():
            problems.append(
                "positions out of range or self-links at split rows "
                f"{np.flatnonzero(oob)[:20].tolist()}"
            )
        badf = ~((s_frac >= 0) & (s_frac <= 1))
        if badf.any():
            problems.append(
                f"fractions outside [0, 1] at split rows {np.flatnonzero(badf)[:20].tolist()}"
            )
        if not problems:
            tot = np.bincount(s_src, weights=s_frac, minlength=n)
            over = np.flatnonzero(tot > 1 + 1e-9)
            if over.size:
                problems.append(f"fractions sum to more than 1 at node(s) {over[:20].tolist()}")
        if problems:
            msg = "invalid splits: " + "; ".join(problems)
            raise InputError(msg)
        keep_main = ~np.isin(src, s_src)
        inside = s_dst >= 0
        src = np.concatenate([src[keep_main], s_src[inside]])
        dst = np.concatenate([dst[keep_main], s_dst[inside]])
        frac = np.concatenate([frac[keep_main], s_frac[inside]])
        kind = "dag"
    perm = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    indices = dst[perm].astype(np.int64)
    frac = frac[perm].astype(np.float64)
    order = kahn_order_csr(indptr, indices, n)
    if order.shape[0] < n:
        kind = "cyclic"
    return RoutingGraph(ds, indptr, indices, frac, order, kind)


# ----------------------------------------------------------------------------------------
# factors
# ----------------------------------------------------------------------------------------
def keep_factors(
    tau_hours: Any,
    *,
    decay_per_day: float = DEFAULT_DECAY_PER_DAY,
    is_lake: Any = None,
    lake_decay_per_day: float | None = None,
) -> np.ndarray:
    r"""Fraction of the through-flowing load each node passes on.

    .. math::

        \mathrm{keep}_i = e^{-k \tau_i} \ \text{(river)}, \qquad
        \mathrm{keep}_i = 1 - R_i = \frac{1}{1 + k_l \tau_i} \ \text{(lake)}

    with :math:`\tau` in days.

    Parameters
    ----------
    tau_hours
        Travel (lakes: residence) time of each node in hours, finite and >= 0.
    decay_per_day
        k, 1/day (default :data:`DEFAULT_DECAY_PER_DAY`).
    is_lake
        Booleans marking lake/reservoir nodes (default: none).
    lake_decay_per_day
        k_l, 1/day (default :data:`DEFAULT_LAKE_DECAY_PER_DAY`).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InputError
        If a rate is negative or a travel time is missing or negative.

    Examples
    --------
    >>> keep_factors([24.0, 24.0], decay_per_day=0.5, is_lake=[False, True],
    ...              lake_decay_per_day=0.5).round(4).tolist()
    [0.6065, 0.6667]
    """
    tau = np.asarray(tau_hours, dtype=np.float64) / 24.0
    kl = DEFAULT_LAKE_DECAY_PER_DAY if lake_decay_per_day is None else float(lake_decay_per_day)
    for name, v in (("decay_per_day", decay_per_day), ("lake_decay_per_day", kl)):
        if not (np.isfinite(v) and v >= 0):
            msg = f"{name} must be a finite rate >= 0 (1/day), got {v}"
            raise InputError(msg)
    bad = np.flatnonzero(~(np.isfinite(tau) & (tau >= 0)))
    if bad.size:
        msg = (
            f"travel time is missing or negative at {bad.size} node(s), e.g. {bad[:10].tolist()}; "
            "fill velocity_ms (or length_km) of those reaches"
        )
        raise InputError(msg)
    keep = np.exp(-float(decay_per_day) * tau)
    if is_lake is not None:
        lake = np.asarray(is_lake, dtype=bool)
        keep = np.where(lake, 1.0 / (1.0 + kl * tau), keep)
    return keep


def entry_factors(keep: Any, *, is_lake: Any = None) -> np.ndarray:
    r"""Fraction of the load generated along a node that leaves it.

    Rivers use the SPARROW mid-reach convention :math:`e_i = \sqrt{\mathrm{keep}_i}`; a lake
    is fully mixed, so load entering anywhere sees the whole retention, :math:`e_i =
    \mathrm{keep}_i`.

    Examples
    --------
    >>> entry_factors([0.25, 0.25], is_lake=[False, True]).tolist()
    [0.5, 0.25]
    """
    k = np.asarray(keep, dtype=np.float64)
    e = np.sqrt(k)
    if is_lake is not None:
        e = np.where(np.asarray(is_lake, dtype=bool), k, e)
    return e


def _node_arrays(
    graph: RoutingGraph, keep: Any, load: Any, origin: Any, is_lake: Any, n_origins: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    n = graph.n
    kp = np.asarray(keep, dtype=np.float64)
    g = np.asarray(load, dtype=np.float64)
    o = np.asarray(origin)
    lake = np.zeros(n, dtype=np.bool_) if is_lake is None else np.asarray(is_lake, dtype=np.bool_)
    problems = [
        f"{name} has shape {a.shape}, expected ({n},)"
        for name, a in (("keep", kp), ("load", g), ("origin", o), ("is_lake", lake))
        if a.shape != (n,)
    ]
    if problems:
        msg = "; ".join(problems)
        raise InputError(msg)
    if o.dtype.kind not in "iu":
        msg = f"origin must hold integer codes 0..J-1, got dtype {o.dtype}"
        raise InputError(msg)
    o = o.astype(np.int64)
    nj = int(o.max(initial=-1)) + 1 if n_origins is None else int(n_origins)
    if n and (o.min() < 0 or o.max() >= nj):
        msg = f"origin codes must lie in [0, {nj}), got range [{o.min()}, {o.max()}]"
        raise InputError(msg)
    badk = np.flatnonzero(~((kp >= 0) & (kp <= 1)))
    if badk.size:
        msg = f"keep factors must lie in [0, 1]; bad at node(s) {badk[:20].tolist()}"
        raise InputError(msg)
    badg = np.flatnonzero(~(np.isfinite(g) & (g >= 0)))
    if badg.size:
        msg = f"loads must be finite and >= 0 (kg/day); bad at node(s) {badg[:20].tolist()}"
        raise InputError(msg)
    return kp, entry_factors(kp, is_lake=lake), g, o, lake, nj


# ----------------------------------------------------------------------------------------
# routing of every node
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Routing:
    """Per-node routed flux by origin and the per-origin mass balance (kg/day).

    Attributes
    ----------
    flux
        n x J array: flux of each origin at each node's outflow.
    generated, delivered, decayed, retained
        Length-J arrays; ``generated = delivered + decayed + retained`` per origin.
    method
        ``"sweep"`` (topological sweep) or ``"solve"`` (sparse LU of I - A).
    """

    flux: np.ndarray
    generated: np.ndarray
    delivered: np.ndarray
    decayed: np.ndarray
    retained: np.ndarray
    method: str

    def balance(self) -> pd.DataFrame:
        """Per-origin balance table with the relative residual of the invariant."""
        resid = self.generated - self.delivered - self.decayed - self.retained
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(self.generated > 0, np.abs(resid) / self.generated, np.abs(resid))
        return pd.DataFrame(
            {
                "generated": self.generated,
                "delivered": self.delivered,
                "decayed": self.decayed,
                "retained": self.retained,
                "relative_residual": rel,
            }
        )


def _solve(
    graph: RoutingGraph,
    kp: np.ndarray,
    ent: np.ndarray,
    g: np.ndarray,
    o: np.ndarray,
    lake: np.ndarray,
    nj: int,
) -> Routing:
    n = graph.n
    src, dst, f = graph.links()
    pt = sparse.csr_matrix((f, (dst, src)), shape=(n, n))
    m = (sparse.identity(n, format="csr") - sparse.diags(kp) @ pt).tocsc()
    rhs = np.zeros((n, nj))
    rhs[np.arange(n), o] = ent * g
    with warnings.catch_warnings():
        warnings.simplefilter("error", splinalg.MatrixRankWarning)
        try:
            lu = splinalg.splu(m)
            flux = lu.solve(rhs)
        except (RuntimeError, splinalg.MatrixRankWarning) as exc:
            msg = (
                "the routing system I - A is singular: a loop of the network keeps all its "
                "load (no decay and no outflow on the loop). Give the loop's nodes a travel "
                "time with decay_per_day > 0, or a split fraction leaving the loop"
            )
            raise SingularSystemError(msg) from exc
    flux = np.asarray(flux).reshape(n, nj)
    if not np.isfinite(flux).all():
        msg = "the routing system I - A is singular or ill-conditioned (non-finite flux)"
        raise SingularSystemError(msg)
    inflow = pt @ flux
    gm = np.zeros((n, nj))
    gm[np.arange(n), o] = g
    loss = (1.0 - kp)[:, None] * inflow + (1.0 - ent)[:, None] * gm
    out_frac = 1.0 - np.bincount(src, weights=f, minlength=n)
    return Routing(
        flux=flux,
        generated=gm.sum(axis=0),
        delivered=(out_frac[:, None] * flux).sum(axis=0),
        decayed=loss[~lake].sum(axis=0),
        retained=loss[lake].sum(axis=0),
        method="solve",
    )


def route(
    graph: RoutingGraph,
    keep: Any,
    load: Any,
    origin: Any,
    *,
    is_lake: Any = None,
    n_origins: int | None = None,
    method: Method = "auto",
) -> Routing:
    r"""Route every origin's load through the network, keeping each origin apart.

    Solves :math:`F = K U + E G` with :math:`U = P^T F` for the n x J matrix :math:`F`,
    i.e. :math:`F = (I - K P^T)^{-1} E G` (DESIGN §2.6), where :math:`K` and :math:`E` are
    the diagonal keep and entry factors, :math:`P` the link fractions and :math:`G` the
    generated load of each node in its origin's column. Acyclic networks are swept once in
    topological order (exact); networks with loops or two-way links are solved by sparse
    LU.

    Parameters
    ----------
    graph
        From :func:`routing_graph`.
    keep
        Keep factor of each node (:func:`keep_factors`).
    load
        Generated load of each node (kg/day, >= 0).
    origin
        Integer origin code (0..J-1) of each node's load.
    is_lake
        Lake/reservoir nodes: mid-node entry is fully mixed and losses count as retained.
    n_origins
        J (default: largest code + 1).
    method
        ``"auto"`` (sweep when acyclic), ``"sweep"`` or ``"solve"``.

    Returns
    -------
    Routing

    Raises
    ------
    InputError
        On arrays of the wrong shape, invalid values or method, or ``"sweep"`` on a
        cyclic network.
    SingularSystemError
        If a loop keeps all its load, so that I - A is singular.

    Examples
    --------
    Two reaches in a chain, each generating 1 kg/day, keep 0.25 each:

    >>> r = route(routing_graph([1, -1]), [0.25, 0.25], [1.0, 1.0], [0, 1])
    >>> r.flux.tolist()
    [[0.5, 0.0], [0.125, 0.5]]
    >>> r.delivered.tolist(), r.decayed.tolist()
    ([0.125, 0.5], [0.875, 0.5])
    """
    if method not in _METHODS:
        msg = f"method must be one of {list(_METHODS)}, got {method!r}"
        raise InputError(msg)
    kp, ent, g, o, lake, nj = _node_arrays(graph, keep, load, origin, is_lake, n_origins)
    if method == "sweep" and graph.kind == "cyclic":
        msg = "method='sweep' needs an acyclic network; this one has loops, use 'solve'"
        raise InputError(msg)
    if method == "solve" or (method == "auto" and graph.kind == "cyclic"):
        return _solve(graph, kp, ent, g, o, lake, nj)
    flux = np.zeros((graph.n, nj))
    gen, dec, ret, dlv = (np.zeros(nj) for _ in range(4))
    K.sweep_dense(
        graph.order, graph.indptr, graph.indices, graph.frac,
        kp, ent, g, o, lake, flux, gen, dec, ret, dlv,
    )  # fmt: skip
    return Routing(flux, gen, dlv, dec, ret, "sweep")


# ----------------------------------------------------------------------------------------
# transfers between jurisdictions
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Transfer:
    r"""Jurisdiction-to-jurisdiction transfers of load on one level (codes 0..J-1).

    Attributes
    ----------
    matrix
        J x J source-receptor matrix :math:`S` (see :func:`transfer`).
    border_src, border_dst, border_frac
        The border links (node positions and link fraction).
    border_flux
        n_border x J flux by origin crossing each border link.
    generated, delivered, decayed, retained, exported, returned
        Length-J per-jurisdiction totals (kg/day): generated, delivered to outlets,
        decayed, retained (all by origin); own load leaving the jurisdiction across its
        borders; own load coming back across its borders.
    """

    matrix: np.ndarray
    border_src: np.ndarray
    border_dst: np.ndarray
    border_frac: np.ndarray
    border_flux: np.ndarray
    generated: np.ndarray
    delivered: np.ndarray
    decayed: np.ndarray
    retained: np.ndarray
    exported: np.ndarray
    returned: np.ndarray


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
    border_flux = np.zeros((nb, nj))
    smat = np.zeros((nj, nj))
    step = max(1, min(nj, max_cells // max(1, exits.shape[0])))
    for j0 in range(0, nj, step):
        K.tree_zones(
            exits, zone, graph.idx_ds, jur, acc, trans, rho, dlt, j0, min(nj, j0 + step),
            smat, dec, ret, dlv, exported, returned, border_zone, border_flux,
        )  # fmt: skip
    bsrc = exits[has_ds]
    np.fill_diagonal(smat, gen - exported + returned)
    return Transfer(
        smat, bsrc, graph.idx_ds[bsrc], np.ones(nb), border_flux,
        gen, dlv, dec, ret, exported, returned,
    )  # fmt: skip


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
    if method not in _METHODS:
        msg = f"method must be one of {list(_METHODS)}, got {method!r}"
        raise InputError(msg)
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
    if fx is None or not fx[0].size:
        return t
    return _add_foreign(t, graph, kp, lake, rj, *fx, nj=nj, method=method, max_cells=max_cells)


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

    On a tree each load is followed down its single path; otherwise the loads are routed
    by :func:`route`, one layer per rank of an entry within its node (a node holds at most
    one entry per layer) and in blocks of at most ``max_cells`` nodes x origins. Their
    fluxes are added at the border links of ``t``, and a load of origin o placed on a node
    labelled r != o counts in S[o, r] where it enters.
    """
    n = graph.n
    bsrc, bf = t.border_src, t.border_frac
    extra = np.zeros((bsrc.size, nj))
    gen, dlv, dec, ret = (v.copy() for v in (t.generated, t.delivered, t.decayed, t.retained))
    if graph.kind == "tree" and method != "solve":
        # a tree: follow each load down its single path (O(entries x depth), no n x J)
        border_of = np.full(n, -1, dtype=np.int64)
        border_of[bsrc] = np.arange(bsrc.size)
        K.tree_paths(
            graph.idx_ds, kp, entry_factors(kp, is_lake=lake), lake, node, origin, load,
            border_of, extra, gen, dec, ret, dlv,
        )  # fmt: skip
        return _with_foreign(t, rj, node, origin, load, extra, gen, dlv, dec, ret, nj)
    order = np.lexsort((origin, node))
    node, origin, load = node[order], origin[order], load[order]
    first = np.searchsorted(node, node, side="left")
    rank = np.arange(node.size) - first
    step = max(1, max_cells // max(1, n))
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
            extra[:, cols] += bf[:, None] * r.flux[bsrc]
            gen[cols] += r.generated
            dlv[cols] += r.delivered
            dec[cols] += r.decayed
            ret[cols] += r.retained
    return _with_foreign(t, rj, node, origin, load, extra, gen, dlv, dec, ret, nj)


def _with_foreign(
    t: Transfer,
    rj: np.ndarray,
    node: np.ndarray,
    origin: np.ndarray,
    load: np.ndarray,
    extra: np.ndarray,
    gen: np.ndarray,
    dlv: np.ndarray,
    dec: np.ndarray,
    ret: np.ndarray,
    nj: int,
) -> Transfer:
    """Combine ``t`` with the border fluxes ``extra`` and totals of the foreign loads."""
    bsrc, bdst, bf = t.border_src, t.border_dst, t.border_frac
    smat = t.matrix.copy()
    np.add.at(smat.T, rj[bdst], extra)
    away = origin != rj[node]
    np.add.at(smat, (origin[away], rj[node[away]]), load[away])
    rows = np.arange(bsrc.size)
    exported = t.exported + np.bincount(rj[bsrc], weights=extra[rows, rj[bsrc]], minlength=nj)
    exported += np.bincount(origin[away], weights=load[away], minlength=nj)
    returned = t.returned + np.bincount(rj[bdst], weights=extra[rows, rj[bdst]], minlength=nj)
    np.fill_diagonal(smat, gen - exported + returned)
    return Transfer(
        smat, bsrc, bdst, bf, t.border_flux + extra, gen, dlv, dec, ret, exported, returned,
    )  # fmt: skip


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
    bflux = np.zeros((bsrc.size, nj))
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
        bflux[:, j0:j1] = bf[:, None] * r.flux[bsrc, :w]
        gen[j0:j1] = r.generated[:w]
        dlv[j0:j1] = r.delivered[:w]
        dec[j0:j1] = r.decayed[:w]
        ret[j0:j1] = r.retained[:w]
    smat = np.zeros((nj, nj))
    np.add.at(smat.T, rj[bdst], bflux)
    rows = np.arange(bsrc.size)
    exported = np.bincount(rj[bsrc], weights=bflux[rows, rj[bsrc]], minlength=nj)
    returned = np.bincount(rj[bdst], weights=bflux[rows, rj[bdst]], minlength=nj)
    away = np.flatnonzero(o != rj)
    if away.size:  # load generated straight into waters routed as another jurisdiction's
        np.add.at(smat, (o[away], rj[away]), g[away])
        exported += np.bincount(o[away], weights=g[away], minlength=nj)
    np.fill_diagonal(smat, gen - exported + returned)
    return Transfer(
        smat, bsrc, bdst, bf, bflux, gen, dlv, dec, ret, exported, returned,
    )  # fmt: skip


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

    def jur_codes(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes and the jurisdiction ids they stand for, at one level.

        Raises
        ------
        InputError
            If the piece table has no ``jur_<level>`` column.
        """
        col = f"jur_{level}"
        if col not in self.pieces.columns:
            allowed = [c[4:] for c in self.pieces.columns if c.startswith("jur_")]
            msg = f"level {level!r} is not in the piece table; allowed levels are {allowed}"
            raise InputError(msg)
        codes, uniq = pd.factorize(self.pieces[col].astype(str), sort=True)
        return codes.astype(np.int64), np.asarray(uniq, dtype=object)


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
        If a column is missing or a reach has no piece.

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
    missing = [c for c in need if c not in pieces.columns]
    if missing:
        msg = (
            f"the piece table lacks column(s) {missing}; pass the table made by "
            "basingov.overlay.split_reaches"
        )
        raise InputError(msg)
    sort_cols = (
        ["reach_pos", "piece"] if "piece" in pieces.columns else ["reach_pos", "fraction_start"]
    )
    p = pd.DataFrame(pieces.drop(columns="geometry", errors="ignore"))
    p = p.sort_values(sort_cols, kind="stable").reset_index(drop=True)
    n_r = len(net.reaches)
    rpos = p["reach_pos"].to_numpy(dtype=np.int64)
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
    net: Any,
    pn: PieceNetwork,
    level: str,
    *,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
) -> np.ndarray:
    """Routing label of every piece at one level: its own, except on boundary stretches.

    The stretches are the overlay's own (:mod:`basingov._stretches`, from the
    ``border_<level>`` column and ``min_stretch_m``, as in
    :func:`basingov.overlay.boundary_stretches`). A stretch between A and B is held
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
    net
        The reach network the pieces were cut from.
    pn
        Its piece network.
    level
        Jurisdiction level.
    min_stretch_m
        Shortest stretch kept, in metres (as in the overlay).

    Returns
    -------
    numpy.ndarray
        Codes in the numbering of :meth:`PieceNetwork.jur_codes` (equal to the origin
        codes where there is no stretch).

    Raises
    ------
    InputError
        If ``level`` is not in the piece table.
    """
    codes, ids = pn.jur_codes(level)
    p = pn.pieces
    if f"border_{level}" not in p.columns or "length_km" not in p.columns:
        return codes
    gp = _piece_graph(net, p)
    st = _stretches(gp, level, float(min_stretch_m))
    if st.ids.size == 0:
        return codes
    at = pd.Index(p["piece_id"].to_numpy()).get_indexer(gp.pieces["piece_id"].to_numpy())
    of = np.full(pn.graph.n, -1, dtype=np.int64)
    of[at] = st.of
    idx = pd.Index(ids.astype(str))
    a_code = idx.get_indexer(st.a.astype(str))
    b_code = idx.get_indexer(st.b.astype(str))
    graph = pn.graph
    n = graph.n
    length = p["length_km"].to_numpy(dtype=np.float64)
    length = np.where(np.isfinite(length) & (length > 0), length, 0.0)
    keep_up = np.full(n, 1.0 if graph.kind != "cyclic" else 0.999)
    upstream = route(graph, keep_up, length, np.zeros(n, dtype=np.int64), n_origins=1).flux[:, 0]
    src, dst, _ = graph.links()
    by_dst = np.argsort(dst, kind="stable")
    pred = src[by_dst]
    pstart = np.searchsorted(dst[by_dst], np.arange(n + 1))
    rank = np.full(n, n, dtype=np.int64)
    rank[graph.order] = np.arange(graph.order.shape[0])
    on = np.flatnonzero(of >= 0)
    # where each stretch's main flow leaves it, if into A or B (the exit label)
    by_src = np.argsort(src, kind="stable")
    succ = dst[by_src]
    sstart = np.searchsorted(src[by_src], np.arange(n + 1))
    exit_code = np.full(st.ids.size, -1, dtype=np.int64)
    exit_up = np.full(st.ids.size, -1.0)
    for i in on:
        k = of[i]
        out = succ[sstart[i] : sstart[i + 1]]
        out = out[(of[out] != k) & ((codes[out] == a_code[k]) | (codes[out] == b_code[k]))]
        if out.size and upstream[i] > exit_up[k]:
            exit_code[k], exit_up[k] = codes[out[0]], upstream[i]
    rc = codes.copy()
    for i in on[np.lexsort((on, rank[on]))]:
        k = of[i]
        pr = pred[pstart[i] : pstart[i + 1]]
        ok = pr[(of[pr] == k) | (rc[pr] == a_code[k]) | (rc[pr] == b_code[k])]
        if ok.size:
            rc[i] = rc[ok[np.argmax(upstream[ok])]]
        elif pr.size and exit_code[k] >= 0:
            # entered from a third jurisdiction C: the stretch carries the label of the
            # side it leaves into, so C's load is counted once, into that side
            rc[i] = exit_code[k]
    return rc


def _reach_tau_hours(net: Any, velocity_multiplier: float) -> np.ndarray:
    r = net.reaches
    length_m = r["length_km"].to_numpy(dtype=np.float64) * 1000.0
    v = r["velocity_ms"].to_numpy(dtype=np.float64) * velocity_multiplier
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, length_m / v / 3600.0, np.nan)


def _piece_keep(
    net: Any, pn: PieceNetwork, k: float, kl: float, vmult: float
) -> tuple[np.ndarray, np.ndarray]:
    lake_r = net.reaches["is_lake"].to_numpy(dtype=bool) if "is_lake" in net.reaches else None
    keep_r = keep_factors(
        _reach_tau_hours(net, vmult), decay_per_day=k, is_lake=lake_r, lake_decay_per_day=kl
    )
    lake = np.zeros(pn.graph.n, dtype=bool) if lake_r is None else lake_r[pn.reach_pos]
    return keep_r[pn.reach_pos] ** pn.phi, lake


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
    src = (
        loads["load_source"].astype(str).to_numpy()
        if "load_source" in loads.columns
        else np.full(len(loads), "unspecified", dtype=object)
    )
    sources = sorted(set(src.tolist()))
    scode = pd.Index(sources).get_indexer(src)
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


@dataclass(frozen=True, eq=False)
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
        As in :func:`node_loads`, or if the level is not in the piece table.

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
    _, piece_ids = pn.jur_codes(level)
    sources, scode, row, node, load = _place(pn, loads)
    pj = pn.pieces[f"jur_{level}"].astype(str).to_numpy()
    col = f"origin_{level}"
    if col in loads.columns:
        raw = loads[col].to_numpy(dtype=object)
        given = ~pd.isna(raw)
        given[given] = np.array([str(v) != "" for v in raw[given]], dtype=bool)
        explicit = np.where(given, raw, "").astype(str)
    else:
        given = np.zeros(len(loads), dtype=bool)
        explicit = np.full(len(loads), "", dtype=object).astype(str)
    ids = np.unique(np.concatenate([piece_ids.astype(str), explicit[given]])).astype(object)
    idx = pd.Index(ids)
    codes = idx.get_indexer(pj).astype(np.int64)
    oc = np.where(given[row], idx.get_indexer(explicit[row]), codes[node]).astype(np.int64)
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


# ----------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------
def matrix_frame(t: Transfer, jur_ids: Sequence[str]) -> pd.DataFrame:
    """Return the matrix of a :class:`Transfer` as a DataFrame (index origin, columns receptor).

    Examples
    --------
    >>> t = transfer(routing_graph([1, -1]), [1.0, 1.0], [2.0, 1.0], [0, 1])
    >>> matrix_frame(t, ["A", "B"]).loc["A", "B"]
    np.float64(2.0)
    """
    ids = pd.Index(list(jur_ids), name="origin")
    return pd.DataFrame(t.matrix, index=ids, columns=pd.Index(list(jur_ids), name="receptor"))


def matrix_long(matrix: pd.DataFrame, *, level: int, level_name: str) -> pd.DataFrame:
    """Long form ``origin, receptor, level, level_name, load_kg_day`` (non-zero cells).

    This is the layout of ``tables/spillover_matrix.csv`` (DESIGN §2.13).

    Examples
    --------
    >>> m = pd.DataFrame([[1.0, 2.0], [0.0, 3.0]], index=["A", "B"], columns=["A", "B"])
    >>> matrix_long(m, level=0, level_name="country")["load_kg_day"].tolist()
    [1.0, 2.0, 3.0]
    """
    s = matrix.stack()
    s = s[s.to_numpy() != 0]
    return pd.DataFrame(
        {
            "origin": s.index.get_level_values(0).astype(str),
            "receptor": s.index.get_level_values(1).astype(str),
            "level": level,
            "level_name": level_name,
            "load_kg_day": s.to_numpy(dtype=np.float64),
        }
    )


def indicators(t: Transfer, jur_ids: Sequence[str]) -> pd.DataFrame:
    r"""Per-jurisdiction spillover indicators, indexed by ``jur_id`` (kg/day).

    - ``imported`` :math:`I_r = \sum_{o \ne r} S_{or}`, load from elsewhere crossing in;
    - ``imported_share`` :math:`I_r / (I_r + G_r)`: the share of all load entering
      :math:`r`'s waters (across its borders or generated in it) that comes from elsewhere;
    - ``exported`` :math:`X_r`: own load crossing out of :math:`r`;
    - ``net_balance`` :math:`X_r - I_r`: positive for net exporters;
    - ``stays_home`` :math:`S_{rr}`; ``generated, delivered, decayed, retained`` of the
      origin :math:`r`.

    Examples
    --------
    >>> t = transfer(routing_graph([1, -1]), [1.0, 1.0], [2.0, 1.0], [0, 1])
    >>> indicators(t, ["A", "B"])["net_balance"].tolist()
    [2.0, -2.0]
    """
    s = t.matrix
    imported = s.sum(axis=0) - np.diag(s)
    denom = imported + t.generated
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denom > 0, imported / np.where(denom > 0, denom, 1.0), np.nan)
    return pd.DataFrame(
        {
            "generated": t.generated,
            "imported": imported,
            "imported_share": share,
            "exported": t.exported,
            "net_balance": t.exported - imported,
            "stays_home": np.diag(s).copy(),
            "delivered": t.delivered,
            "decayed": t.decayed,
            "retained": t.retained,
        },
        index=pd.Index(list(jur_ids), name="jur_id"),
    )


def marginal_benefit(matrix: pd.DataFrame, *, cut_pct: float = 10.0) -> pd.DataFrame:
    r"""Load avoided in each receptor if each origin cuts its generated load by ``cut_pct``.

    Routing is linear in the loads, so a cut of :math:`x\,\%` in origin :math:`o` lowers
    every entry of row :math:`o` by the same share:

    .. math:: B_{or} = \frac{x}{100} S_{or}

    (off the diagonal: less load crossing into :math:`r`; on it: less load staying in
    :math:`o`). Divide a row by the origin's generated load for the kg avoided in each
    receptor per kg cut.

    Raises
    ------
    InputError
        If ``cut_pct`` is not within [0, 100].

    Examples
    --------
    >>> m = pd.DataFrame([[1.0, 2.0], [0.0, 3.0]], index=["A", "B"], columns=["A", "B"])
    >>> marginal_benefit(m, cut_pct=50).loc["A", "B"]
    np.float64(1.0)
    """
    if not 0 <= cut_pct <= 100:
        msg = f"cut_pct must be a percentage in [0, 100], got {cut_pct}"
        raise InputError(msg)
    return matrix * (cut_pct / 100.0)


def _route_codes_in(
    net: Any, pn: PieceNetwork, ol: OriginLoads, min_stretch_m: float
) -> np.ndarray:
    """Routing labels (:func:`stretch_route_codes`) in the numbering of ``ol.ids``."""
    _, piece_ids = pn.jur_codes(ol.level)
    rc = stretch_route_codes(net, pn, ol.level, min_stretch_m=min_stretch_m)
    remap = pd.Index(ol.ids).get_indexer(piece_ids.astype(str)).astype(np.int64)
    return remap[rc]


def monte_carlo_matrix(
    net: Any,
    pn: PieceNetwork,
    source_loads: np.ndarray | OriginLoads,
    *,
    level: str,
    decay_per_day: float = DEFAULT_DECAY_PER_DAY,
    lake_decay_per_day: float | None = None,
    runs: int = 200,
    seed: int = 0,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
    decay_sigma_ln: float = MC_DECAY_SIGMA_LN,
    velocity_sigma_ln: float = MC_VELOCITY_SIGMA_LN,
    load_sigma_ln: float = MC_LOAD_SIGMA_LN,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
) -> pd.DataFrame:
    r"""Percentile bands on the source-receptor matrix by Monte Carlo.

    Each run draws, from one seeded :class:`numpy.random.Generator`:

    - :math:`k \sim \mathrm{LogNormal}(\ln k_0, \sigma_k)` and, independently,
      :math:`k_l \sim \mathrm{LogNormal}(\ln k_{l,0}, \sigma_k)`;
    - a velocity multiplier :math:`m_v \sim \mathrm{LogNormal}(0, \sigma_v)` applied to
      every reach (travel times divide by it);
    - one coefficient multiplier per load source, :math:`m_s \sim
      \mathrm{LogNormal}(0, \sigma_g)`,

    and recomputes :math:`S`. Defaults: :data:`MC_DECAY_SIGMA_LN`,
    :data:`MC_VELOCITY_SIGMA_LN`, :data:`MC_LOAD_SIGMA_LN`.

    Parameters
    ----------
    net, pn
        The reach network and its piece network.
    source_loads
        n_sources x n_pieces loads (:func:`node_loads`), all originating in the piece's
        jurisdiction; or the loads split by origin at ``level`` (:func:`origin_loads`),
        whose loads of other origins are drawn with their source's multiplier too.
    level
        Jurisdiction level.
    decay_per_day, lake_decay_per_day
        Medians of k and k_l.
    runs, seed
        Number of runs (>= 1) and the generator seed.
    percentiles
        Percentiles reported, each in [0, 100].
    decay_sigma_ln, velocity_sigma_ln, load_sigma_ln
        Standard deviations of the logarithms.
    min_stretch_m
        Shortest boundary stretch, in metres (:func:`stretch_route_codes`).

    Returns
    -------
    pandas.DataFrame
        ``origin, receptor, level_name`` and one column ``p<q>`` per percentile (kg/day),
        for every pair non-zero in some run.

    Raises
    ------
    InputError
        If ``runs`` < 1, a sigma is negative, a percentile is out of range or
        ``source_loads`` is split by origin at another level.
    """
    if runs < 1:
        msg = f"runs must be >= 1, got {runs}"
        raise InputError(msg)
    if min(decay_sigma_ln, velocity_sigma_ln, load_sigma_ln) < 0:
        msg = "the lognormal sigmas must be >= 0"
        raise InputError(msg)
    q = np.asarray(percentiles, dtype=np.float64)
    if not ((q >= 0) & (q <= 100)).all():
        msg = f"percentiles must lie in [0, 100], got {list(percentiles)}"
        raise InputError(msg)
    kl0 = DEFAULT_LAKE_DECAY_PER_DAY if lake_decay_per_day is None else lake_decay_per_day
    if isinstance(source_loads, OriginLoads):
        ol = source_loads
        if ol.level != level:
            msg = f"source_loads are split by origin at level {ol.level!r}, not {level!r}"
            raise InputError(msg)
        codes, ids, home = ol.codes, ol.ids, ol.home
        rcodes = _route_codes_in(net, pn, ol, min_stretch_m)
    else:
        ol = None
        codes, ids = pn.jur_codes(level)
        home = np.asarray(source_loads, dtype=np.float64)
        rcodes = stretch_route_codes(net, pn, level, min_stretch_m=min_stretch_m)
    rng = np.random.default_rng(seed)
    nj = ids.size
    stack = np.empty((runs, nj, nj))
    for i in range(runs):
        k = decay_per_day * rng.lognormal(0.0, decay_sigma_ln)
        kl = kl0 * rng.lognormal(0.0, decay_sigma_ln)
        mv = rng.lognormal(0.0, velocity_sigma_ln)
        ms = np.asarray(rng.lognormal(0.0, load_sigma_ln, size=home.shape[0]))
        keep, lake = _piece_keep(net, pn, k, kl, mv)
        load = ms @ home
        fx = None if ol is None else (ol.node, ol.origin, ms[ol.source] * ol.load)
        stack[i] = transfer(
            pn.graph, keep, load, codes, is_lake=lake, n_jur=nj, route_jur=rcodes, foreign=fx
        ).matrix
    pct = np.percentile(stack, q, axis=0)
    nz = np.argwhere((stack != 0).any(axis=0))
    out = pd.DataFrame(
        {
            "origin": ids[nz[:, 0]].astype(str),
            "receptor": ids[nz[:, 1]].astype(str),
            "level_name": level,
        }
    )
    for j, qq in enumerate(q):
        out[f"p{qq:g}"] = pct[j][nz[:, 0], nz[:, 1]]
    return out


# ----------------------------------------------------------------------------------------
# orchestration
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SpilloverResult:
    """Every spillover table of one basin (DataFrames; jurisdiction tables by ``jur_id``).

    Attributes
    ----------
    levels
        Level names, coarsest first.
    matrices
        Source-receptor matrix per level (index origin ``jur_id``, columns receptor).
    matrix_long
        All levels in long form ``origin, receptor, level, level_name, load_kg_day``
        (``tables/spillover_matrix.csv``).
    crossing_flux
        Flux at each crossing section decomposed by origin: ``crossing_id, level_name,
        from_jur, to_jur, reach_id, to_reach_id, fraction, origin, load_kg_day, share``.
    indicators
        Per jurisdiction and level (:func:`indicators`) with ``level, level_name``.
    balance
        Per level and origin: ``generated, delivered, decayed, retained,
        relative_residual``.
    reach_loads
        ``reach_id, generated_kg_day, flux_kg_day`` (total flux at the reach outflow).
    bands
        Monte Carlo percentile bands (:func:`monte_carlo_matrix`) for every level, or an
        empty table when no runs were asked for.
    parameters
        The rates and options used.
    """

    levels: tuple[str, ...]
    matrices: Mapping[str, pd.DataFrame]
    matrix_long: pd.DataFrame
    crossing_flux: pd.DataFrame
    indicators: pd.DataFrame
    balance: pd.DataFrame
    reach_loads: pd.DataFrame
    bands: pd.DataFrame
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def marginal_benefit(self, level: str, *, cut_pct: float = 10.0) -> pd.DataFrame:
        """Marginal-benefit matrix of one level (:func:`marginal_benefit`).

        Raises
        ------
        InputError
            If ``level`` is not one of :attr:`levels`.
        """
        if level not in self.matrices:
            msg = f"level {level!r} has no matrix; allowed levels are {list(self.levels)}"
            raise InputError(msg)
        return marginal_benefit(self.matrices[level], cut_pct=cut_pct)


def _crossing_flux(
    pn: PieceNetwork,
    t: Transfer,
    ids: np.ndarray,
    level: str,
    crossings: pd.DataFrame | None,
    rcodes: np.ndarray,
) -> pd.DataFrame:
    p = pn.pieces
    rid = p["reach_id"].to_numpy()
    fend = p["fraction_end"].to_numpy(dtype=float)
    s, d = t.border_src, t.border_dst
    same = pn.reach_pos[s] == pn.reach_pos[d]
    frac = np.where(same, fend[s], 1.0)
    links = pd.DataFrame(
        {
            "reach_id": rid[s],
            "to_reach_id": rid[d],
            "fraction": frac,
            "from_jur": ids[rcodes[s]].astype(str),
            "to_jur": ids[rcodes[d]].astype(str),
            "link": np.arange(s.size),
        }
    )
    if crossings is not None and len(crossings):
        c = pd.DataFrame(crossings.drop(columns="geometry", errors="ignore"))
        if "level_name" in c.columns:
            c = c[c["level_name"] == level]
        c = c[["crossing_id", "reach_id", "to_reach_id", "fraction"]].copy()
        c["_key"] = c["fraction"].round(6)
        links["_key"] = links["fraction"].round(6)
        links = links.merge(
            c.drop(columns="fraction"), on=["reach_id", "to_reach_id", "_key"], how="left"
        ).drop(columns="_key")
    else:
        links["crossing_id"] = [f"{level}-link-{i}" for i in range(len(links))]
    links["crossing_id"] = links["crossing_id"].fillna(
        pd.Series([f"{level}-link-{i}" for i in links["link"]], index=links.index)
    )
    fl = t.border_flux[links["link"].to_numpy()]
    r, o = np.nonzero(fl)
    tot = fl.sum(axis=1)
    out = links.iloc[r].reset_index(drop=True).drop(columns="link")
    out.insert(1, "level_name", level)
    out["origin"] = ids[o].astype(str)
    out["load_kg_day"] = fl[r, o]
    out["share"] = fl[r, o] / tot[r]
    cols = ["crossing_id", "level_name", "from_jur", "to_jur", "reach_id", "to_reach_id",
            "fraction", "origin", "load_kg_day", "share"]  # fmt: skip
    return out[cols]


def spillover_tables(
    net: Any,
    pieces: pd.DataFrame,
    crossings: pd.DataFrame | None,
    loads: pd.DataFrame,
    *,
    level_names: Sequence[str],
    decay_per_day: float | None = None,
    lake_decay_per_day: float | None = None,
    monte_carlo_runs: int = 0,
    seed: int = 0,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
) -> SpilloverResult:
    r"""Route a basin's loads and build every spillover table, at every level.

    Routing runs on the piece network (:func:`piece_network`): reaches cut at the borders
    of the finest level, each piece a node with its share of the reach's travel time,
    ``keep_piece = keep_reach ** share``. A reach's load (rows without ``fraction``) is
    spread over its pieces by that share; a point load goes to the piece containing it.
    A load's origin is its row's ``origin_<level>`` where given, else the jurisdiction of
    the piece it enters the river on (:func:`origin_loads`); a load of origin :math:`o`
    entering on a piece of :math:`r \ne o` counts in :math:`S_{or}` at its point of
    entry. Jurisdictions that are an origin but hold no piece (no river) get a row in
    every table of the level.

    Parameters
    ----------
    net
        The :class:`basingov.network.RiverNetwork` (``length_km``, ``velocity_ms``,
        ``is_lake``).
    pieces
        Piece table of :func:`basingov.overlay.split_reaches` on ``net.reaches``.
    crossings
        Crossing sections (:func:`basingov.overlay.crossings`, all levels, with
        ``crossing_id, level_name, reach_id, to_reach_id, fraction``), or None.
    loads
        Load table (:mod:`basingov.loads`): ``load_kg_day, load_source`` and ``piece_id``
        or ``reach_id`` (+ ``fraction``), optionally ``origin_<level>`` (jurisdiction id
        where the load is generated; empty or absent: the piece's).
    level_names
        Levels to report, coarsest first (``jur_<level>`` columns of ``pieces``).
    decay_per_day, lake_decay_per_day
        k and k_l (1/day); None uses :data:`DEFAULT_DECAY_PER_DAY` and
        :data:`DEFAULT_LAKE_DECAY_PER_DAY` (``[spillover]`` in the basin config).
    monte_carlo_runs, seed, percentiles
        Uncertainty bands (:func:`monte_carlo_matrix`); 0 runs skips them.
    min_stretch_m
        Shortest boundary stretch, in metres; use the overlay's value
        (:func:`basingov.overlay.overlay_network`, default
        ``basingov._overlay_common.DEFAULT_MIN_STRETCH_M``).

    Returns
    -------
    SpilloverResult

    Raises
    ------
    InputError
        On missing columns, unknown levels, ids not in the network or missing travel
        times.
    SingularSystemError
        If a loop of the network keeps all its load.
    """
    k = DEFAULT_DECAY_PER_DAY if decay_per_day is None else float(decay_per_day)
    kl = DEFAULT_LAKE_DECAY_PER_DAY if lake_decay_per_day is None else float(lake_decay_per_day)
    pn = piece_network(net, pieces)
    for lv in level_names:
        pn.jur_codes(lv)
    sources, src_loads = node_loads(pn, loads)
    load = src_loads.sum(axis=0)
    keep, lake = _piece_keep(net, pn, k, kl, 1.0)
    matrices: dict[str, pd.DataFrame] = {}
    longs, cflux, inds, bals, bands = [], [], [], [], []
    for i, lv in enumerate(level_names):
        ol = origin_loads(pn, loads, lv)
        codes, ids = ol.codes, ol.ids
        rcodes = _route_codes_in(net, pn, ol, min_stretch_m)
        t = transfer(
            pn.graph, keep, ol.home.sum(axis=0), codes, is_lake=lake, n_jur=ids.size,
            route_jur=rcodes, foreign=(ol.node, ol.origin, ol.load),
        )  # fmt: skip
        m = matrix_frame(t, ids.astype(str).tolist())
        matrices[lv] = m
        longs.append(matrix_long(m, level=i, level_name=lv))
        cflux.append(_crossing_flux(pn, t, ids, lv, crossings, rcodes))
        ind = indicators(t, ids.astype(str).tolist())
        ind.insert(0, "level_name", lv)
        ind.insert(0, "level", i)
        inds.append(ind)
        bal = ind[["level", "level_name", "generated", "delivered", "decayed", "retained"]].copy()
        resid = bal["generated"] - bal["delivered"] - bal["decayed"] - bal["retained"]
        bal["relative_residual"] = np.where(
            bal["generated"] > 0,
            resid.abs() / bal["generated"].where(bal["generated"] > 0, 1.0),
            0.0,
        )
        bals.append(bal)
        if monte_carlo_runs > 0:
            bands.append(
                monte_carlo_matrix(
                    net, pn, ol, level=lv, decay_per_day=k, lake_decay_per_day=kl,
                    runs=monte_carlo_runs, seed=seed, percentiles=percentiles,
                    min_stretch_m=min_stretch_m,
                )
            )  # fmt: skip
    total = route(
        pn.graph, keep, load, np.zeros(pn.graph.n, dtype=np.int64), is_lake=lake, n_origins=1
    )
    n_r = len(net.reaches)
    reach_loads = pd.DataFrame(
        {
            "reach_id": net.reaches["reach_id"].to_numpy(),
            "generated_kg_day": np.bincount(pn.reach_pos, weights=load, minlength=n_r),
        }
    )
    last = np.zeros(n_r, dtype=np.int64)
    last[pn.reach_pos] = np.arange(pn.graph.n)
    reach_loads["flux_kg_day"] = total.flux[last, 0]
    return SpilloverResult(
        levels=tuple(level_names),
        matrices=matrices,
        matrix_long=pd.concat(longs, ignore_index=True) if longs else pd.DataFrame(),
        crossing_flux=pd.concat(cflux, ignore_index=True) if cflux else pd.DataFrame(),
        indicators=pd.concat(inds) if inds else pd.DataFrame(),
        balance=pd.concat(bals) if bals else pd.DataFrame(),
        reach_loads=reach_loads,
        bands=pd.concat(bands, ignore_index=True) if bands else pd.DataFrame(),
        parameters={
            "decay_per_day": k,
            "lake_decay_per_day": kl,
            "load_sources": sources,
            "graph_kind": pn.graph.kind,
            "monte_carlo_runs": monte_carlo_runs,
            "seed": seed,
        },
    )
