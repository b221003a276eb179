"""Monte Carlo uncertainty of the source-receptor matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from basingov.errors import InputError
from basingov.overlay import PieceGraph
from basingov.spillover._common import (
    DEFAULT_DECAY_PER_DAY,
    DEFAULT_LAKE_DECAY_PER_DAY,
    MC_DECAY_SIGMA_LN,
    MC_LOAD_SIGMA_LN,
    MC_VELOCITY_SIGMA_LN,
)
from basingov.spillover.pieces import (
    OriginLoads,
    PieceNetwork,
    _piece_keep,
    _route_codes_in,
    stretch_route_codes,
)
from basingov.spillover.transfer import transfer


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
        q = np.asarray(percentiles, dtype=np.float64)
        if not ((q >= 0) & (q <= 100)).all():
            msg = f"percentiles must lie in [0, 100], got {list(percentiles)}"
            raise InputError(msg)
        ids = np.asarray(self.ids, dtype=object)
        stack = self.samples
        pct = np.percentile(stack, q, axis=0)
        nz = np.argwhere((stack != 0).any(axis=0))
        out = pd.DataFrame(
            {
                "origin": ids[nz[:, 0]].astype(str),
                "receptor": ids[nz[:, 1]].astype(str),
                "level_name": self.level,
            }
        )
        for j, qq in enumerate(q):
            out[f"p{qq:g}"] = pct[j][nz[:, 0], nz[:, 1]]
        return out


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
    graph: PieceGraph | None = None,
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
    q = np.asarray(percentiles, dtype=np.float64)
    if not ((q >= 0) & (q <= 100)).all():
        msg = f"percentiles must lie in [0, 100], got {list(percentiles)}"
        raise InputError(msg)
    mc = monte_carlo_samples(
        net, pn, source_loads, level=level, decay_per_day=decay_per_day,
        lake_decay_per_day=lake_decay_per_day, runs=runs, seed=seed,
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
    decay_per_day: float = DEFAULT_DECAY_PER_DAY,
    lake_decay_per_day: float | None = None,
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

    Raises
    ------
    InputError
        As :func:`monte_carlo_matrix`.
    """
    if runs < 1:
        msg = f"runs must be >= 1, got {runs}"
        raise InputError(msg)
    if min(decay_sigma_ln, velocity_sigma_ln, load_sigma_ln) < 0:
        msg = "the lognormal sigmas must be >= 0"
        raise InputError(msg)
    kl0 = DEFAULT_LAKE_DECAY_PER_DAY if lake_decay_per_day is None else lake_decay_per_day
    if isinstance(source_loads, OriginLoads):
        ol = source_loads
        if ol.level != level:
            msg = f"source_loads are split by origin at level {ol.level!r}, not {level!r}"
            raise InputError(msg)
        codes, ids, home = ol.codes, ol.ids, ol.home
        rcodes = _route_codes_in(pn, ol, graph)
    else:
        ol = None
        codes, ids = pn.jur_codes(level)
        home = np.asarray(source_loads, dtype=np.float64)
        rcodes = stretch_route_codes(pn, level, graph=graph)
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
    return MonteCarloSamples(level=level, ids=tuple(ids.astype(str)), samples=stack)
