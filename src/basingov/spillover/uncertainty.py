"""Monte Carlo uncertainty of the source-receptor matrix."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from basingov.errors import InputError
from basingov.overlay import PieceGraph
from basingov.spillover import _kernels as K
from basingov.spillover._common import (
    MC_DECAY_SIGMA_LN,
    MC_LOAD_SIGMA_LN,
    MC_VELOCITY_SIGMA_LN,
)
from basingov.spillover.decay import DecayClasses, DecayModel, _KeepTerms, _pieces_keep
from basingov.spillover.pieces import (
    OriginLoads,
    PieceNetwork,
    _route_codes_in,
    stretch_route_codes,
)
from basingov.spillover.routing import RoutingGraph
from basingov.spillover.transfer import transfer


def _percentiles(percentiles: Sequence[float]) -> np.ndarray:
    """Return the percentiles as float64, each checked to lie in [0, 100]."""
    q = np.asarray(percentiles, dtype=np.float64)
    if not ((q >= 0) & (q <= 100)).all():
        msg = f"percentiles must lie in [0, 100], got {list(percentiles)}"
        raise InputError(msg)
    return q


@dataclass(frozen=True, eq=False)
class MonteCarloSamples:
    """The source-receptor matrix of every Monte Carlo run at one level.

    Attributes
    ----------
    level
        Level name.
    ids
        Jurisdiction ids, the order of both matrix axes.
    samples
        ``runs x len(ids) x len(ids)`` array (kg/day), ``samples[i, o, r]`` = S[o, r] of
        run ``i``.
    """

    level: str
    ids: tuple[str, ...]
    samples: np.ndarray

    def bands(self, percentiles: Sequence[float] = (5.0, 50.0, 95.0)) -> pd.DataFrame:
        """Return percentile bands of every pair non-zero in some run.

        The layout is that of :func:`monte_carlo_matrix`: ``origin, receptor,
        level_name, p<q>``.

        Raises
        ------
        InputError
            If a percentile is out of [0, 100].
        """
        q = _percentiles(percentiles)
        ids = np.asarray(self.ids, dtype=object)
        stack = self.samples
        nz = np.argwhere((stack != 0).any(axis=0))
        # only the listed pairs: most are zero in every run, and a pair's percentiles
        # depend on its own runs alone (the same numbers as over the whole stack)
        pct = np.percentile(stack[:, nz[:, 0], nz[:, 1]], q, axis=0)
        out = pd.DataFrame(
            {
                "origin": ids[nz[:, 0]].astype(str),
                "receptor": ids[nz[:, 1]].astype(str),
                "level_name": self.level,
            }
        )
        for j, qq in enumerate(q):
            out[f"p{qq:g}"] = pct[j]
        return out


def monte_carlo_matrix(
    net: Any,
    pn: PieceNetwork,
    source_loads: np.ndarray | OriginLoads,
    *,
    level: str,
    decay: DecayModel | None = None,
    decay_per_day: float | None = None,
    runs: int = 200,
    seed: int = 0,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
    decay_sigma_ln: float = MC_DECAY_SIGMA_LN,
    velocity_sigma_ln: float = MC_VELOCITY_SIGMA_LN,
    load_sigma_ln: float = MC_LOAD_SIGMA_LN,
    graph: PieceGraph | None = None,
) -> pd.DataFrame:
    r"""Percentile bands on the source-receptor matrix by Monte Carlo.

    Each run draws, from one seeded :class:`numpy.random.Generator`:

    - a multiplier :math:`m_k \sim \mathrm{LogNormal}(0, \sigma_k)` of every river decay
      rate (all size classes) and, independently, one of every lake settling velocity
      :math:`v_s`;
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
    decay
        The decay model whose rates are the medians (default
        :class:`basingov.spillover.DecayModel`, TN).
    decay_per_day
        A single river rate overriding the model's size classes.
    runs, seed
        Number of runs (>= 1) and the generator seed.
    percentiles
        Percentiles reported, each in [0, 100].
    decay_sigma_ln, velocity_sigma_ln, load_sigma_ln
        Standard deviations of the logarithms.
    graph
        The overlay's piece graph, for its boundary stretches (:func:`stretch_route_codes`);
        None: no stretches.

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
    _percentiles(percentiles)  # before the runs, not after
    mc = monte_carlo_samples(
        net, pn, source_loads, level=level, decay=decay, decay_per_day=decay_per_day,
        runs=runs, seed=seed,
        decay_sigma_ln=decay_sigma_ln, velocity_sigma_ln=velocity_sigma_ln,
        load_sigma_ln=load_sigma_ln, graph=graph,
    )  # fmt: skip
    return mc.bands(percentiles)


def monte_carlo_samples(
    net: Any,
    pn: PieceNetwork,
    source_loads: np.ndarray | OriginLoads,
    *,
    level: str,
    decay: DecayModel | None = None,
    decay_per_day: float | None = None,
    runs: int = 200,
    seed: int = 0,
    decay_sigma_ln: float = MC_DECAY_SIGMA_LN,
    velocity_sigma_ln: float = MC_VELOCITY_SIGMA_LN,
    load_sigma_ln: float = MC_LOAD_SIGMA_LN,
    graph: PieceGraph | None = None,
) -> MonteCarloSamples:
    """Return the matrices of every run of :func:`monte_carlo_matrix` (same draws and seed).

    Quantities computed from several cells of S (e.g. shares of a row) need the runs
    themselves: their percentiles are not functions of the cells' percentiles.

    On a tree all runs go through one compiled kernel (:func:`_kernels.tree_samples`):
    every load, including those of other origins, enters the zone method of
    :func:`~basingov.spillover.transfer` at its own zone. It computes the same sums as
    :func:`~basingov.spillover.transfer` in another order (equal to rounding, about 1e-15
    relative). Other networks call :func:`~basingov.spillover.transfer` once per run.

    Raises
    ------
    InputError
        As :func:`monte_carlo_matrix`.
    """
    model = _mc_model(decay, decay_per_day, runs, (decay_sigma_ln, velocity_sigma_ln,
                                                     load_sigma_ln))  # fmt: skip
    lv = _level_loads(pn, source_loads, level, graph)
    out = _samples(
        net, pn, [lv], model=model, runs=runs, seed=seed,
        sigmas=(decay_sigma_ln, velocity_sigma_ln, load_sigma_ln),
    )  # fmt: skip
    return out[0]


def _mc_model(
    decay: DecayModel | None, decay_per_day: float | None, runs: int, sigmas: tuple[float, ...]
) -> DecayModel:
    if runs < 1:
        msg = f"runs must be >= 1, got {runs}"
        raise InputError(msg)
    if min(sigmas) < 0:
        msg = "the lognormal sigmas must be >= 0"
        raise InputError(msg)
    model = decay or DecayModel()
    if decay_per_day is not None:
        model = dataclasses.replace(model, classes=DecayClasses.uniform(decay_per_day))
    return model


@dataclass(frozen=True, eq=False, kw_only=True)
class _LevelLoads:
    """One level's labels and loads, as the Monte Carlo runs use them."""

    level: str
    ids: np.ndarray
    codes: np.ndarray
    route: np.ndarray
    home: np.ndarray
    source: np.ndarray
    node: np.ndarray
    origin: np.ndarray
    load: np.ndarray


def _level_loads(
    pn: PieceNetwork,
    source_loads: np.ndarray | OriginLoads,
    level: str,
    graph: PieceGraph | None,
    *,
    route: np.ndarray | None = None,
) -> _LevelLoads:
    """One level's labels and loads (``route``: the routing labels, if already known)."""
    if isinstance(source_loads, OriginLoads):
        ol = source_loads
        if ol.level != level:
            msg = f"source_loads are split by origin at level {ol.level!r}, not {level!r}"
            raise InputError(msg)
        rc = _route_codes_in(pn, ol, graph) if route is None else route
        return _LevelLoads(
            level=level, ids=ol.ids, codes=ol.codes, route=rc, home=ol.home,
            source=ol.source, node=ol.node, origin=ol.origin, load=ol.load,
        )  # fmt: skip
    codes, ids = pn.jur_codes(level)
    home = np.asarray(source_loads, dtype=np.float64)
    if home.ndim != 2 or home.shape[1] != pn.graph.n:
        msg = (
            f"source_loads has shape {home.shape}, expected (n_sources, {pn.graph.n}): one row "
            "per load source and one column per piece (node_loads)"
        )
        raise InputError(msg)
    e = np.zeros(0, dtype=np.int64)
    return _LevelLoads(
        level=level, ids=ids, codes=codes, route=stretch_route_codes(pn, level, graph=graph),
        home=home, source=e, node=e, origin=e, load=np.zeros(0),
    )  # fmt: skip


#: Largest runs x nodes block of keep factors and loads held at once by the batched runs.
_MC_BLOCK_CELLS = 1 << 22


def _samples(
    net: Any,
    pn: PieceNetwork,
    levels: Sequence[_LevelLoads],
    *,
    model: DecayModel,
    runs: int,
    seed: int,
    sigmas: tuple[float, float, float],
) -> list[MonteCarloSamples]:
    """Monte Carlo matrices of several levels that share the draws (same seed per level).

    Each level draws from its own generator seeded with ``seed``, in the order of the
    original per-run loop (decay, settling, velocity, one multiplier per source), so the
    levels of one basin see the same draws and the keep factors of a run are computed
    once for all of them.
    """
    n_src = sorted({lv.home.shape[0] for lv in levels})
    if len(n_src) > 1:  # the draws depend on the number of sources: one group per number
        by = {}
        for ns in n_src:
            group = [lv for lv in levels if lv.home.shape[0] == ns]
            res = _samples(net, pn, group, model=model, runs=runs, seed=seed, sigmas=sigmas)
            by.update({id(lv): r for lv, r in zip(group, res, strict=True)})
        return [by[id(lv)] for lv in levels]
    sd, sv, sl = sigmas
    rng = np.random.default_rng(seed)
    d = np.empty((runs, 3))
    ms = np.empty((runs, n_src[0]))
    for i in range(runs):  # the order of the per-run loop: decay, settling, velocity, sources
        d[i, 0] = rng.lognormal(0.0, sd)
        d[i, 1] = rng.lognormal(0.0, sd)
        d[i, 2] = rng.lognormal(0.0, sv)
        ms[i] = rng.lognormal(0.0, sl, size=n_src[0])
    terms = _KeepTerms(net, model.classes)
    n = pn.graph.n
    stacks = [np.empty((runs, lv.ids.size, lv.ids.size)) for lv in levels]
    if pn.graph.kind != "tree":
        for i in range(runs):
            keep, lake = _run_keep(terms, pn, model, d[i])
            for lv, stack in zip(levels, stacks, strict=True):
                stack[i] = _run_transfer(pn, lv, keep, lake, ms[i])
        return _wrap(levels, stacks)
    order = pn.graph.order
    lake = terms.lake[pn.reach_pos]
    batches = [
        _TreeBatch(pn.graph, lv.codes, lv.route, lv.node, lv.origin, lv.ids.size, is_lake=lake)
        for lv in levels
    ]
    block = max(1, min(runs, _MC_BLOCK_CELLS // max(1, n)))
    for s0 in range(0, runs, block):
        s1 = min(runs, s0 + block)
        keep = terms.piece_keep_runs(model, pn.reach_pos, pn.phi, d[s0:s1], order)
        for lv, b, stack in zip(levels, batches, stacks, strict=True):
            load = ms[s0:s1] @ lv.home[:, order]
            fload = ms[s0:s1][:, lv.source] * lv.load[None, :]
            b.matrices(keep, load, fload, out=stack[s0:s1])
    return _wrap(levels, stacks)


def _wrap(levels: Sequence[_LevelLoads], stacks: list[np.ndarray]) -> list[MonteCarloSamples]:
    return [
        MonteCarloSamples(level=lv.level, ids=tuple(lv.ids.astype(str)), samples=st)
        for lv, st in zip(levels, stacks, strict=True)
    ]


def _run_keep(
    terms: _KeepTerms, pn: PieceNetwork, model: DecayModel, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Piece keep factors of one run (draws ``d`` = decay, settling, velocity multipliers)."""
    keep_r = terms.reach_keep(model.scaled(float(d[0]), float(d[1])), float(d[2]))
    return _pieces_keep(keep_r, terms.lake, pn.reach_pos, pn.phi)


def _run_transfer(
    pn: PieceNetwork, lv: _LevelLoads, keep: np.ndarray, lake: np.ndarray, ms: np.ndarray
) -> np.ndarray:
    """Return the matrix of one run by :func:`transfer` (networks that are not trees)."""
    fx = None if lv.node.size == 0 else (lv.node, lv.origin, ms[lv.source] * lv.load)
    return transfer(
        pn.graph, keep, ms @ lv.home, lv.codes, is_lake=lake, n_jur=lv.ids.size,
        route_jur=lv.route, foreign=fx, first_entries=False,
    ).matrix  # fmt: skip


class _TreeBatch:
    """Source-receptor matrices of many runs on one tree and one level, in one kernel call.

    The batch analogue of ``transfer(graph, keep, load, codes, is_lake=is_lake,
    n_jur=n_jur, route_jur=route, foreign=(node, origin, ...)).matrix``: the labels, zones
    and the sparse zones x origins layout (:func:`_kernels.zone_columns`) are fixed; each
    run brings its keep factors and loads. Every load enters the zone method at its own
    zone, so the sums are those of :func:`transfer` in another order (equal to rounding).

    Node arrays of the runs are in topological order: column ``j`` is node ``order[j]``.
    """

    def __init__(
        self,
        graph: RoutingGraph,
        codes: np.ndarray,
        route: np.ndarray,
        node: np.ndarray,
        origin: np.ndarray,
        n_jur: int,
        *,
        is_lake: np.ndarray,
    ) -> None:
        if graph.kind != "tree":
            msg = f"batched runs need a tree, got a {graph.kind} network"
            raise InputError(msg)
        n = graph.n
        order = graph.order
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        ds = np.where(graph.idx_ds[order] >= 0, pos[np.maximum(graph.idx_ds[order], 0)], -1)
        route = np.asarray(route, dtype=np.int64)
        zone, exits, *_ = K.tree_reverse(
            order, graph.idx_ds, np.ones(n), route, np.zeros(n, dtype=bool)
        )
        zone, exits = zone[order], pos[exits]
        rt, og = route[order], np.asarray(codes, dtype=np.int64)[order]
        node = np.asarray(node, dtype=np.int64)
        if node.size:
            key, inv = np.unique(np.stack([node, origin]), axis=1, return_inverse=True)
            fnode, forigin, fkey = pos[key[0]], key[1].copy(), inv.ravel().astype(np.int64)
        else:
            fnode = forigin = fkey = np.zeros(0, dtype=np.int64)
        # each zone holds its nodes' labels and origins and its foreign loads' origins
        away = np.flatnonzero(og != rt)
        pz = np.concatenate([zone, zone[away], zone[fnode]])
        pc = np.concatenate([rt, og[away], forigin])
        off, cols, down, ret, own = K.zone_columns(ds, zone, exits, pz, pc, rt[exits], n_jur)
        flat = np.repeat(np.arange(exits.size, dtype=np.int64), np.diff(off)) * n_jur + cols

        def at(z: np.ndarray, c: np.ndarray) -> np.ndarray:
            return np.searchsorted(flat, z * n_jur + c)

        self.order = order
        self.n_jur = n_jur
        self._arrays = (
            ds, np.asarray(is_lake, dtype=bool)[order], rt, og, zone, exits, off, cols, down,
            ret, own, at(zone, rt), at(zone, og), fnode, forigin, at(zone[fnode], forigin),
            fkey,
        )  # fmt: skip

    def matrices(
        self, keep: np.ndarray, load: np.ndarray, fload: np.ndarray, *, out: np.ndarray
    ) -> np.ndarray:
        """Fill ``out`` (runs x J x J) with the matrices of the runs, and return it.

        ``keep`` and ``load`` are runs x nodes (topological order), ``fload`` runs x
        entries (the foreign loads, in the order given).

        Raises
        ------
        InputError
            If a keep factor is outside [0, 1] or a load is negative or not finite.
        """
        runs, n, nj = keep.shape[0], self.order.size, self.n_jur
        want = {
            "keep": (keep.shape, (runs, n)),
            "load": (load.shape, (runs, n)),
            "fload": (fload.shape, (runs, self._arrays[-1].size)),
            "out": (out.shape, (runs, nj, nj)),
        }
        wrong = [f"{k} has shape {a}, expected {b}" for k, (a, b) in want.items() if a != b]
        if wrong:
            raise InputError("; ".join(wrong))
        badk = np.flatnonzero(~((keep >= 0) & (keep <= 1)).all(axis=0))
        if badk.size:
            msg = (
                "keep factors must lie in [0, 1]; bad at node(s) "
                f"{np.sort(self.order[badk])[:20].tolist()}"
            )
            raise InputError(msg)
        bad = np.flatnonzero(~(np.isfinite(load) & (load >= 0)).all(axis=0))
        if bad.size:
            msg = (
                "loads must be finite and >= 0 (kg/day); bad at node(s) "
                f"{np.sort(self.order[bad])[:20].tolist()}"
            )
            raise InputError(msg)
        if not (np.isfinite(fload) & (fload >= 0)).all():
            msg = "foreign loads must be finite and >= 0 (kg/day)"
            raise InputError(msg)
        K.tree_samples(*self._arrays, keep, load, fload, out)
        return out
