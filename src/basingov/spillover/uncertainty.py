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
from basingov.spillover.decay import (
    DecayClasses,
    DecayModel,
    _check_reach_pos,
    _KeepTerms,
    _pieces_keep,
)
from basingov.spillover.pieces import (
    OriginLoads,
    PieceNetwork,
    _route_codes_in,
    stretch_route_codes,
)
from basingov.spillover.routing import RoutingGraph
from basingov.spillover.transfer import transfer


def _percentiles(percentiles: Sequence[float]) -> np.ndarray:
    """Return the percentiles as 1-d float64 (one number: a list of one), each in [0, 100]."""
    try:
        q = np.atleast_1d(np.asarray(percentiles, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        msg = f"percentiles must be a list of numbers in [0, 100], got {percentiles!r}"
        raise InputError(msg) from exc
    if q.ndim != 1:
        msg = f"percentiles must be a flat list of numbers in [0, 100], got {q.tolist()}"
        raise InputError(msg)
    if not ((q >= 0) & (q <= 100)).all():
        msg = f"percentiles must lie in [0, 100], got {q.tolist()}"
        raise InputError(msg)
    return q


@dataclass(frozen=True, eq=False, kw_only=True)
class MonteCarloSamples:
    """The source-receptor matrix of every Monte Carlo run at one level, stored by pair.

    Only the origin-receptor pairs a run can make non-zero are stored: on a tree, the
    pairs its structure connects (found before the runs); on other networks, the pairs
    non-zero in some run. Every other cell of S is 0 in every run. A dense stack would
    hold runs x n x n numbers: 149 GiB for 200 runs at 10,000 units, most of them zeros,
    since a unit's load reaches only the units downstream of it.

    Attributes
    ----------
    level
        Level name.
    ids
        Jurisdiction ids; ``origin`` and ``receptor`` are positions in it.
    origin, receptor
        The stored pairs, ordered by origin, then receptor (int64 positions in ``ids``).
    values
        ``runs x pairs`` array (kg/day): ``values[i, k]`` = S[origin[k], receptor[k]]
        of run ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> dense = np.zeros((2, 2, 2))
    >>> dense[:, 0, 1] = [3.0, 4.0]
    >>> mc = MonteCarloSamples.from_dense(level="x", ids=("A", "B"), samples=dense)
    >>> mc.origin.tolist(), mc.receptor.tolist(), mc.values.tolist()
    ([0], [1], [[3.0], [4.0]])
    >>> mc.cells([0, 1], [1, 0]).tolist()
    [[3.0, 0.0], [4.0, 0.0]]
    """

    level: str
    ids: tuple[str, ...]
    origin: np.ndarray
    receptor: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        # frozen: the arrays are set once, as int64 positions and float64 values
        object.__setattr__(self, "origin", np.asarray(self.origin, dtype=np.int64))
        object.__setattr__(self, "receptor", np.asarray(self.receptor, dtype=np.int64))
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))
        n = len(self.ids)
        o, r, v = self.origin, self.receptor, self.values
        if o.ndim != 1 or o.shape != r.shape or v.ndim != 2 or v.shape[1] != o.size:
            msg = (
                f"MonteCarloSamples needs origin and receptor of one length k and values of "
                f"runs x k, got {o.shape}, {r.shape} and {v.shape}"
            )
            raise InputError(msg)
        if o.size and (min(o.min(), r.min()) < 0 or max(o.max(), r.max()) >= n):
            msg = f"MonteCarloSamples pairs must be positions in the {n} ids"
            raise InputError(msg)
        key = self._keys
        if key.size > 1 and not (np.diff(key) > 0).all():
            msg = "MonteCarloSamples pairs must be distinct and ordered by origin, then receptor"
            raise InputError(msg)

    @classmethod
    def from_dense(
        cls, *, level: str, ids: Sequence[str], samples: np.ndarray
    ) -> MonteCarloSamples:
        """Store a ``runs x n x n`` stack: the pairs with a non-zero bit in some run.

        Raises
        ------
        InputError
            If ``samples`` is not ``runs x len(ids) x len(ids)`` with ``runs >= 1``.
        """
        stack = np.ascontiguousarray(samples, dtype=np.float64)
        n = len(ids)
        if stack.ndim != 3 or stack.shape[1:] != (n, n) or stack.shape[0] < 1:
            msg = (
                f"samples must be runs x {n} x {n} matrices, got shape {stack.shape} "
                "(at least one run)"
            )
            raise InputError(msg)
        flat = stack.reshape(stack.shape[0], -1)
        # the bits, not the values: a -0.0 is kept as it is
        keys = np.flatnonzero((flat.view(np.int64) != 0).any(axis=0))
        return cls._from_keys(level=level, ids=ids, keys=keys, values=flat[:, keys])

    @classmethod
    def _from_keys(
        cls, *, level: str, ids: Sequence[str], keys: np.ndarray, values: np.ndarray
    ) -> MonteCarloSamples:
        """Store ``values`` (runs x pairs) of the pairs ``keys`` = origin x n + receptor."""
        n = max(len(ids), 1)
        return cls(level=level, ids=tuple(ids), origin=keys // n, receptor=keys % n, values=values)

    @property
    def _keys(self) -> np.ndarray:
        """The pairs as flat cells of the n x n matrix, origin x n + receptor (ascending)."""
        return self.origin * len(self.ids) + self.receptor

    @property
    def runs(self) -> int:
        """Number of runs."""
        return int(self.values.shape[0])

    @property
    def samples(self) -> np.ndarray:
        """The dense ``runs x n x n`` stack, ``samples[i, o, r]`` = S[o, r] of run ``i``.

        It takes runs x n x n x 8 bytes: for small levels (tests, a few hundred units).
        """
        n = len(self.ids)
        out = np.zeros((self.runs, n, n))
        out[:, self.origin, self.receptor] = self.values
        return out

    def cells(self, origin: Any, receptor: Any) -> np.ndarray:
        """Return ``runs x k`` values of the cells ``(origin[j], receptor[j])`` (positions).

        A cell that is not stored is 0 in every run. A single position may stand for a list
        of one.

        Raises
        ------
        InputError
            If ``origin`` and ``receptor`` differ in length, or a position is not one of
            the ``len(ids)`` ids (it would name another cell of the flat matrix).
        """
        o = np.atleast_1d(np.asarray(origin, dtype=np.int64))
        r = np.atleast_1d(np.asarray(receptor, dtype=np.int64))
        n = len(self.ids)
        if o.ndim != 1 or o.shape != r.shape:
            msg = (
                "cells needs origin and receptor positions of one length, got "
                f"{o.shape} and {r.shape}"
            )
            raise InputError(msg)
        bad = np.flatnonzero((o < 0) | (o >= n) | (r < 0) | (r >= n))
        if bad.size:
            cells = [(int(o[i]), int(r[i])) for i in bad[:10]]
            msg = f"cells {cells} are not positions in the {n} ids (0 to {n - 1})"
            raise InputError(msg)
        want = o * n + r
        keys = self._keys
        pos = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
        found = keys[pos] == want if keys.size else np.zeros(want.size, dtype=bool)
        out = np.zeros((self.runs, want.size))
        out[:, found] = self.values[:, pos[found]]
        return out

    def bands(self, percentiles: Sequence[float] = (5.0, 50.0, 95.0)) -> pd.DataFrame:
        """Return percentile bands of every pair non-zero in some run.

        The layout is that of :func:`monte_carlo_matrix`: ``origin, receptor,
        level_name, p<q>``, ordered by origin, then receptor.

        Raises
        ------
        InputError
            If a percentile is out of [0, 100].
        """
        q = _percentiles(percentiles)
        ids = np.asarray(self.ids, dtype=object)
        # a pair's percentiles depend on its own runs alone: blocks of pairs at a time
        # hold no second copy of the runs
        nzs, pcts = [np.zeros(0, dtype=np.int64)], [np.zeros((q.size, 0))]
        for c0 in range(0, self.values.shape[1], _BAND_BLOCK):
            v = self.values[:, c0 : c0 + _BAND_BLOCK]
            nz = np.flatnonzero((v != 0).any(axis=0))
            nzs.append(nz + c0)
            pcts.append(np.percentile(v[:, nz], q, axis=0))
        nz = np.concatenate(nzs)
        pct = np.concatenate(pcts, axis=1)
        out = pd.DataFrame(
            {
                "origin": ids[self.origin[nz]].astype(str),
                "receptor": ids[self.receptor[nz]].astype(str),
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
        If ``runs`` < 1, a sigma is negative or not finite, a percentile is out of range or
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
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)):
        msg = f"runs must be a whole number >= 1 (an int), got {runs!r}"
        raise InputError(msg)
    if runs < 1:
        msg = f"runs must be >= 1, got {runs}"
        raise InputError(msg)
    if not all(np.isfinite(s) and s >= 0 for s in sigmas):
        msg = (
            "the lognormal sigmas (decay_sigma_ln, velocity_sigma_ln, load_sigma_ln) must be "
            f"finite and >= 0, got {list(sigmas)}"
        )
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
        n = pn.graph.n
        if ol.home.ndim != 2 or ol.home.shape[1] != n or ol.codes.shape != (n,):
            msg = (
                f"source_loads (OriginLoads) hold loads of {ol.codes.shape[0]} piece(s), the "
                f"piece network has {n}; make them with origin_loads on this piece network"
            )
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

#: Largest memory the values of the Monte Carlo runs may take (:func:`check_samples_memory`).
MC_MEMORY_BYTES = 2 * 1024**3

#: Pairs whose percentiles :meth:`MonteCarloSamples.bands` computes at a time: a block
#: holds two runs x pairs copies (the non-zero columns and numpy's partitioned copy),
#: 2 x 200 x 8,192 x 8 bytes = 26 MB at 200 runs.
_BAND_BLOCK = 1 << 13


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
    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        msg = f"the Monte Carlo seed must be an integer >= 0, got {seed!r}"
        raise InputError(msg) from exc
    d = np.empty((runs, 3))
    ms = np.empty((runs, n_src[0]))
    for i in range(runs):  # the order of the per-run loop: decay, settling, velocity, sources
        d[i, 0] = rng.lognormal(0.0, sd)
        d[i, 1] = rng.lognormal(0.0, sd)
        d[i, 2] = rng.lognormal(0.0, sv)
        ms[i] = rng.lognormal(0.0, sl, size=n_src[0])
    terms = _KeepTerms(net, model.classes)
    _check_reach_pos(pn.reach_pos, terms.n)
    n = pn.graph.n
    if pn.graph.kind != "tree":
        return _samples_by_transfer(terms, pn, levels, model=model, runs=runs, d=d, ms=ms)
    order = pn.graph.order
    lake = terms.lake[pn.reach_pos]
    batches = [
        _TreeBatch(pn.graph, lv.codes, lv.route, lv.node, lv.origin, lv.ids.size, is_lake=lake)
        for lv in levels
    ]
    check_samples_memory(runs, sum(b.n_pairs for b in batches))
    stacks = [np.empty((runs, b.n_pairs)) for b in batches]
    block = max(1, min(runs, _MC_BLOCK_CELLS // max(1, n)))
    # what no draw changes, once for every block (a block is one run on a large network)
    plan = terms.piece_runs(model, pn.reach_pos, pn.phi, order)
    # the plan holds what the runs need of the reach terms (their reach-sized arrays go)
    del terms, lake
    homes = [lv.home[:, order] for lv in levels]
    for s0 in range(0, runs, block):
        s1 = min(runs, s0 + block)
        keep = plan.keep(d[s0:s1])
        for lv, b, stack, home in zip(levels, batches, stacks, homes, strict=True):
            load = ms[s0:s1] @ home
            fload = ms[s0:s1][:, lv.source] * lv.load[None, :]
            b.matrices(keep, load, fload, out=stack[s0:s1])
    return [
        MonteCarloSamples._from_keys(
            level=lv.level, ids=lv.ids.astype(str).tolist(), keys=b.keys, values=st
        )
        for lv, b, st in zip(levels, batches, stacks, strict=True)
    ]


#: The largest finite float64: ``x <= _FLOAT_MAX`` is false for infinity and NaN.
_FLOAT_MAX = float(np.finfo(np.float64).max)


def _all_within(a: np.ndarray, lo: float, hi: float) -> bool:
    """Whether every value of ``a`` lies in ``[lo, hi]`` (NaN does not), by min and max.

    The same answer as ``((a >= lo) & (a <= hi)).all()``: the minimum or maximum is NaN
    when a value is, and both comparisons are then false.

    Examples
    --------
    >>> _all_within(np.array([[0.0, 1.0]]), 0.0, 1.0), _all_within(np.array([np.nan]), 0, 1)
    (True, False)
    """
    return a.size == 0 or bool(lo <= a.min() and a.max() <= hi)


def check_samples_memory(runs: int, pairs: int) -> None:
    """Raise if the runs' values of ``pairs`` origin-receptor pairs exceed the memory limit.

    The values take runs x pairs x 8 bytes; the limit is :data:`MC_MEMORY_BYTES`.

    Raises
    ------
    InputError
        Naming ``[spillover].monte_carlo_runs`` and the most runs that fit.

    Examples
    --------
    >>> check_samples_memory(200, 10_000)
    """
    need = runs * pairs * 8
    if need > MC_MEMORY_BYTES:
        most = max(1, MC_MEMORY_BYTES // max(1, pairs * 8))
        msg = (
            f"{runs} Monte Carlo runs would need about {need / 1024**3:.1f} GiB ({pairs:,} "
            f"origin-receptor pairs the network connects, runs x pairs x 8 bytes); "
            f"at most {most:,} runs fit in {MC_MEMORY_BYTES / 1024**3:.0f} GiB: lower "
            "[spillover].monte_carlo_runs (0 turns the bands off)"
        )
        raise InputError(msg)


def _samples_by_transfer(
    terms: _KeepTerms,
    pn: PieceNetwork,
    levels: Sequence[_LevelLoads],
    *,
    model: DecayModel,
    runs: int,
    d: np.ndarray,
    ms: np.ndarray,
) -> list[MonteCarloSamples]:
    """Run a network that is not a tree: one :func:`transfer` per run and level.

    Each run's matrix keeps its cells with a non-zero bit (a -0.0 too); the stored pairs
    are those of all runs, so a pair absent from a run is +0.0 there, as in the matrix.
    """
    cells: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in levels]
    for i in range(runs):
        keep, lake = _run_keep(terms, pn, model, d[i])
        for lv, got in zip(levels, cells, strict=True):
            flat = _run_transfer(pn, lv, keep, lake, ms[i]).ravel()
            key = np.flatnonzero(flat.view(np.int64) != 0)
            got.append((key, flat[key]))
    # the values of every level are held at once, as on a tree
    pairs = [np.unique(np.concatenate([k for k, _ in got])) for got in cells]
    check_samples_memory(runs, sum(k.size for k in pairs))
    out = []
    for lv, got, keys in zip(levels, cells, pairs, strict=True):
        values = np.zeros((runs, keys.size))
        for i, (key, v) in enumerate(got):
            values[i, np.searchsorted(keys, key)] = v
        out.append(
            MonteCarloSamples._from_keys(
                level=lv.level, ids=lv.ids.astype(str).tolist(), keys=keys, values=values
            )
        )
    return out


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

        # the cells of S the kernel writes: a load placed away from its origin, a foreign
        # load, an origin's load leaving a zone into the next zone's label, the diagonal
        zk = np.repeat(np.arange(exits.size, dtype=np.int64), np.diff(off))
        dz = ds[exits][zk]
        zr = np.where(dz >= 0, rt[np.maximum(dz, 0)], -1)
        fr = rt[fnode]
        site = (
            np.where(og != rt, og * n_jur + rt, -1),
            np.where(forigin != fr, forigin * n_jur + fr, -1),
            np.where(zr >= 0, cols * n_jur + zr, -1),
            np.arange(n_jur, dtype=np.int64) * (n_jur + 1),
        )
        keys = np.unique(np.concatenate([k[k >= 0] for k in site]))
        pnode, pforeign, pzone, pdiag = (
            np.where(k >= 0, np.searchsorted(keys, k), -1) for k in site
        )

        self.order = order
        self.n_jur = n_jur
        self._foreign_rows = int(fkey.size)
        #: The stored pairs as flat cells of the J x J matrix, origin x J + receptor
        #: (ascending): column ``k`` of the runs' values is cell ``keys[k]``.
        self.keys = keys
        arrays = (
            ds, np.asarray(is_lake, dtype=bool)[order], rt, og, zone, exits, off, cols, down,
            ret, own, at(zone, rt), at(zone, og), fnode, forigin, at(zone[fnode], forigin),
            fkey, pnode, pforeign, pzone, pdiag,
        )  # fmt: skip
        # every integer array holds positions (of nodes, zones, layout cells, foreign rows,
        # stored pairs) or codes, -1 for none: stored as int32 when the largest of them
        # fits, which halves the node-sized arrays held while the runs are computed (about
        # 0.15 GB on 5M pieces, docs/performance.md, P6); the kernel only indexes with them
        bound = max(n, int(off[-1]) if off.size else 0, fkey.size, keys.size, n_jur)
        small = bound < np.iinfo(np.int32).max
        self._arrays: tuple[np.ndarray, ...] = tuple(
            a.astype(np.int32) if small and a.dtype == np.int64 else a for a in arrays
        )

    @property
    def n_pairs(self) -> int:
        """Number of stored origin-receptor pairs: the columns of the runs' values."""
        return int(self.keys.size)

    def matrices(
        self, keep: np.ndarray, load: np.ndarray, fload: np.ndarray, *, out: np.ndarray
    ) -> np.ndarray:
        """Fill ``out`` (runs x :attr:`n_pairs`) with the runs' values of S, and return it.

        Column ``k`` holds S[o, r] for ``o, r = divmod(keys[k], J)``; every other cell of
        S is 0.

        ``keep`` and ``load`` are runs x nodes (topological order), ``fload`` runs x
        entries (the foreign loads, in the order given).

        Raises
        ------
        InputError
            If a keep factor is outside [0, 1] or a load is negative or not finite.
        """
        runs, n = keep.shape[0], self.order.size
        want = {
            "keep": (keep.shape, (runs, n)),
            "load": (load.shape, (runs, n)),
            "fload": (fload.shape, (runs, self._foreign_rows)),
            "out": (out.shape, (runs, self.n_pairs)),
        }
        wrong = [f"{k} has shape {a}, expected {b}" for k, (a, b) in want.items() if a != b]
        if wrong:
            raise InputError("; ".join(wrong))
        # each level's runs share one keep block: checked by min and max (no runs x nodes
        # temporaries), the nodes found only when a value is out of range
        badk = np.empty(0, dtype=np.int64)
        if not _all_within(keep, 0.0, 1.0):
            badk = np.flatnonzero(~((keep >= 0) & (keep <= 1)).all(axis=0))
        if badk.size:
            msg = (
                "keep factors must lie in [0, 1]; bad at node(s) "
                f"{np.sort(self.order[badk])[:20].tolist()}"
            )
            raise InputError(msg)
        bad = np.empty(0, dtype=np.int64)
        if not _all_within(load, 0.0, _FLOAT_MAX):
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
        # the 21 arrays of __init__; mypy cannot count a tuple made by a generator
        K.tree_samples(*self._arrays, keep, load, fload, out)  # type: ignore[call-arg]
        return out
