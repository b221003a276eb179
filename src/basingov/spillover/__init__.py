r"""Spillover: decay routing of loads, source-receptor matrices, indicators and uncertainty.

Routing model (DESIGN §2.6). Every node ``i`` of a directed network (a reach, or a piece
of a reach cut at borders) passes on a fraction ``keep_i`` of what flows in, and the load
generated along it enters at its middle:

.. math::

    F_i = \mathrm{keep}_i\, U_i + e_i\, g_i, \qquad
    U_i = \sum_{j \to i} f_{ji} F_j

with :math:`F_i` the flux (kg/day) at the node's outflow, :math:`U_i` the inflow,
:math:`g_i` the generated load, :math:`f_{ji}` the link fraction (1, or a bifurcation
share). For a river node :math:`\mathrm{keep}_i = e^{-k_i \tau_i}` (first-order decay over
the travel time, k by class of mean flow as SPARROW fits it, :class:`DecayClasses`) and
:math:`e_i = \sqrt{\mathrm{keep}_i}` (the SPARROW mid-reach entry); a lake or reservoir
retains :math:`R = 1 - e^{-v_s/q_s}` (areal settling velocity over areal hydraulic load,
:func:`lake_retention`) once, where the water leaves it, and, being fully mixed,
:math:`e_i = \mathrm{keep}_i` (:mod:`basingov.spillover.decay`).

Mass balance per origin: what is lost on river nodes is *decayed*, what is lost in lakes
is *retained*, what leaves a node through no link (an outlet, or the part of a split that
leaves the network) is *delivered*; generated = delivered + decayed + retained.

All kernels take arrays and are independent of geometry; :func:`spillover_tables` maps
them onto the reach/piece tables of :mod:`basingov.network` and :mod:`basingov.overlay`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from basingov._arrays import concat_ranges
from basingov.errors import InputError
from basingov.overlay import PieceGraph
from basingov.spillover._common import (
    DEFAULT_DECAY_PER_DAY,
    MC_DECAY_SIGMA_LN,
    MC_LOAD_SIGMA_LN,
    MC_VELOCITY_SIGMA_LN,
)
from basingov.spillover._common import Method as Method
from basingov.spillover.decay import (
    DEFAULT_DECAY_CLASSES,
    DEFAULT_SETTLING_VELOCITY_M_YR,
    DecayClasses,
    DecayModel,
    decay_model_from_config,
    lake_retention,
    lake_table,
    reach_keep,
)
from basingov.spillover.pieces import (
    OriginLoads,
    PieceNetwork,
    _piece_keep,
    _route_codes_in,
    node_loads,
    origin_loads,
    piece_network,
    stretch_route_codes,
)
from basingov.spillover.routing import (
    Routing,
    RoutingGraph,
    entry_factors,
    keep_factors,
    route,
    routing_graph,
)
from basingov.spillover.transfer import Transfer, _border_totals, transfer
from basingov.spillover.uncertainty import (
    MC_MEMORY_BYTES,
    MonteCarloSamples,
    _level_loads,
    _LevelLoads,
    _mc_model,
    _samples,
    monte_carlo_matrix,
    monte_carlo_samples,
)

_MC_SIGMAS = (MC_DECAY_SIGMA_LN, MC_VELOCITY_SIGMA_LN, MC_LOAD_SIGMA_LN)

__all__ = [
    "DEFAULT_DECAY_CLASSES",
    "DEFAULT_DECAY_PER_DAY",
    "DEFAULT_SETTLING_VELOCITY_M_YR",
    "MC_DECAY_SIGMA_LN",
    "MC_LOAD_SIGMA_LN",
    "MC_MEMORY_BYTES",
    "MC_VELOCITY_SIGMA_LN",
    "DecayClasses",
    "DecayModel",
    "MonteCarloSamples",
    "OriginLoads",
    "PieceNetwork",
    "Routing",
    "RoutingGraph",
    "SpilloverResult",
    "Transfer",
    "decay_model_from_config",
    "entry_factors",
    "indicators",
    "keep_factors",
    "lake_retention",
    "lake_table",
    "marginal_benefit",
    "matrix_frame",
    "matrix_long",
    "monte_carlo_matrix",
    "monte_carlo_samples",
    "node_loads",
    "origin_loads",
    "piece_network",
    "reach_keep",
    "route",
    "routing_graph",
    "spillover_tables",
    "stretch_route_codes",
    "transfer",
]


# ----------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------
def _check_ids(t: Transfer, jur_ids: Sequence[str]) -> None:
    """Raise unless there is one id per jurisdiction of ``t`` (a row of its matrix)."""
    if len(jur_ids) != t.matrix.shape[0]:
        msg = (
            f"{len(jur_ids)} jurisdiction id(s) given for a matrix of {t.matrix.shape[0]} "
            "jurisdictions; pass one id per code 0..J-1 (the ids of jur_codes or origin_loads)"
        )
        raise InputError(msg)


def matrix_frame(t: Transfer, jur_ids: Sequence[str], *, copy: bool = True) -> pd.DataFrame:
    """Return the matrix of a :class:`Transfer` as a DataFrame (index origin, columns receptor).

    With ``copy=False`` the frame holds ``t.matrix`` itself, no copy: a change to one is a
    change to the other (for a Transfer that is dropped once the frame is made).

    Examples
    --------
    >>> t = transfer(routing_graph([1, -1]), [1.0, 1.0], [2.0, 1.0], [0, 1])
    >>> matrix_frame(t, ["A", "B"]).loc["A", "B"]
    np.float64(2.0)
    """
    _check_ids(t, jur_ids)
    ids = pd.Index(list(jur_ids), name="origin")
    cols = pd.Index(list(jur_ids), name="receptor")
    return pd.DataFrame(t.matrix, index=ids, columns=cols, copy=copy)


def matrix_long(matrix: pd.DataFrame, *, level: int, level_name: str) -> pd.DataFrame:
    """Long form ``origin, receptor, level, level_name, load_kg_day`` (non-zero cells).

    This is the layout of ``tables/spillover_matrix.csv`` (DESIGN §2.13).

    Examples
    --------
    >>> m = pd.DataFrame([[1.0, 2.0], [0.0, 3.0]], index=["A", "B"], columns=["A", "B"])
    >>> matrix_long(m, level=0, level_name="country")["load_kg_day"].tolist()
    [1.0, 2.0, 3.0]
    """
    # the non-zero cells row by row, as matrix.stack() lists them, without stacking all
    values = matrix.to_numpy()
    r, c = np.nonzero(values != 0)
    return pd.DataFrame(
        {
            "origin": matrix.index[r].astype(str),
            "receptor": matrix.columns[c].astype(str),
            "level": level,
            "level_name": level_name,
            "load_kg_day": values[r, c].astype(np.float64),
        }
    )


def indicators(t: Transfer, jur_ids: Sequence[str]) -> pd.DataFrame:
    r"""Per-jurisdiction spillover indicators, indexed by ``jur_id`` (kg/day).

    - ``imported`` :math:`I_r = \sum_{o \ne r} S_{or}`, load from elsewhere crossing in;
    - ``imported_share`` :math:`I_r / (I_r + G_r)`: the share of all load entering
      :math:`r`'s waters (across its borders or generated in it) that comes from elsewhere;
    - ``exported`` :math:`X_r`: own load crossing out of :math:`r`;
    - ``net_balance`` :math:`X_r - I_r`: positive for net exporters;
    - ``returned`` :math:`R_r`: own load that left :math:`r` and comes back across its
      borders;
    - ``exported_first`` :math:`F_r`: own load measured where it first leaves
      :math:`r`'s waters (each load counted once, however often it crosses later;
      :math:`X_r - R_r \le F_r \le X_r`);
    - ``transboundary_share`` :math:`F_r / G_r`, a fraction in [0, 1]: the share of the
      load generated in :math:`r` that crosses at least one border of the level (measured
      where it first crosses, after in-stream decay up to there);
      :math:`\sum_{o \ne r} S_{or}` (every border crossed, counted each time) is the
      different, gross figure ``exported_all_borders``;
    - ``imported_first`` :math:`I^1_r`: load from elsewhere measured where it first
      enters :math:`r`'s waters (each load counted once, however often a river winding
      along a border carries it in again; :math:`I^1_r \le I_r`);
    - ``net_balance_first`` :math:`F_r - I^1_r`: the balance with each load counted once;
    - ``stays_home`` :math:`S_{rr}`; ``generated, delivered, decayed, retained`` of the
      origin :math:`r`.

    Examples
    --------
    >>> t = transfer(routing_graph([1, -1]), [1.0, 1.0], [2.0, 1.0], [0, 1])
    >>> indicators(t, ["A", "B"])["net_balance"].tolist()
    [2.0, -2.0]
    """
    if t.first_exit is None:
        msg = "this Transfer has no first_exit; build it with basingov.spillover.transfer"
        raise InputError(msg)
    _check_ids(t, jur_ids)
    s = t.matrix
    imported = s.sum(axis=0) - np.diag(s)
    first_in = np.full(imported.shape, np.nan) if t.first_entry is None else t.first_entry
    denom = imported + t.generated
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denom > 0, imported / np.where(denom > 0, denom, 1.0), np.nan)
        away = np.clip(t.first_exit, 0.0, None)
        tshare = np.where(
            t.generated > 0,
            np.minimum(away / np.where(t.generated > 0, t.generated, 1.0), 1.0),
            np.nan,
        )
    return pd.DataFrame(
        {
            "generated": t.generated,
            "imported": imported,
            "imported_share": share,
            "exported": t.exported,
            "returned": t.returned,
            "exported_first": away,
            "transboundary_share": tshare,
            "exported_all_borders": s.sum(axis=1) - np.diag(s),
            "net_balance": t.exported - imported,
            "imported_first": first_in,
            "net_balance_first": away - first_in,
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


# ----------------------------------------------------------------------------------------
# orchestration
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
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
    samples
        The matrix of every Monte Carlo run per level (:func:`monte_carlo_samples`, the
        runs behind :attr:`bands`), empty when no runs were asked for.
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
    samples: Mapping[str, MonteCarloSamples] = field(default_factory=dict)

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
    graph: PieceGraph | None,
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
    on_links = None if graph is None else graph.link_crossings.get(level)
    if on_links is not None and len(on_links):
        pid = p["piece_id"].to_numpy()
        links["src_piece_id"] = pid[s]
        links["dst_piece_id"] = pid[d]
        links = links.merge(on_links, on=["src_piece_id", "dst_piece_id"], how="left").drop(
            columns=["src_piece_id", "dst_piece_id"]
        )
    else:
        links["crossing_id"] = [f"{level}-link-{i}" for i in range(len(links))]
    links["crossing_id"] = links["crossing_id"].fillna(
        pd.Series([f"{level}-link-{i}" for i in links["link"]], index=links.index)
    )
    # each row's non-zero fluxes by origin (ascending), from the sparse border fluxes
    bl, bo, bv = t.border_entries
    start = np.searchsorted(bl, np.arange(s.size + 1))
    link = links["link"].to_numpy()
    cnt = start[link + 1] - start[link]
    r = np.repeat(np.arange(link.size), cnt)
    k = concat_ranges(start[link], cnt)
    tot = _border_totals(t.border_entries, s.size, t.generated.size)
    out = links.iloc[r].reset_index(drop=True).drop(columns="link")
    out.insert(1, "level_name", level)
    out["origin"] = ids[bo[k]].astype(str)
    out["load_kg_day"] = bv[k]
    out["share"] = bv[k] / tot[bl[k]]
    cols = ["crossing_id", "level_name", "from_jur", "to_jur", "reach_id", "to_reach_id",
            "fraction", "origin", "load_kg_day", "share"]  # fmt: skip
    return out[cols]


def spillover_tables(
    net: Any,
    graph: PieceGraph,
    loads: pd.DataFrame,
    *,
    level_names: Sequence[str],
    decay_per_day: float | None = None,
    decay: DecayModel | None = None,
    monte_carlo_runs: int = 0,
    seed: int = 0,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
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
        The :class:`basingov.network.RiverNetwork` the overlay was run on: ``length_km``
        and ``velocity_ms`` give each reach's travel time, and ``is_lake`` reaches decay by
        lake retention instead of the river rate.
    graph
        The overlay's :class:`~basingov.overlay.PieceGraph` of ``net``
        (:attr:`basingov.overlay.OverlayResult.piece_graph`): its pieces are routed on, its
        boundary stretches set the routing labels and its border links carry the crossing
        ids. (:func:`basingov.overlay.piece_graph` gives one without stretches.)
    loads
        Load table (:mod:`basingov.loads`): ``load_kg_day, load_source`` and ``piece_id``
        or ``reach_id`` (+ ``fraction``), optionally ``origin_<level>`` (jurisdiction id
        where the load is generated; empty or absent: the piece's).
    level_names
        Levels to report, coarsest first (``jur_<level>`` columns of ``pieces``).
    decay_per_day
        A single river decay rate k (1/day) overriding the size classes of ``decay``.
    decay
        River decay classes and lake settling velocities
        (:func:`decay_model_from_config`); None uses :class:`DecayModel` (TN defaults).
    monte_carlo_runs, seed, percentiles
        Uncertainty bands (:func:`monte_carlo_matrix`); 0 runs skips them.

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
    model = decay or DecayModel()
    if decay_per_day is not None:
        model = dataclasses.replace(
            model, classes=DecayClasses.uniform(float(decay_per_day), source="decay_per_day")
        )
    pn = piece_network(net, graph.pieces)
    for lv in level_names:
        pn.jur_codes(lv)
    sources, src_loads = node_loads(pn, loads)
    load = src_loads.sum(axis=0)
    keep, lake = _piece_keep(net, pn, model, 1.0)
    matrices: dict[str, pd.DataFrame] = {}
    longs, cflux, inds, bals, bands = [], [], [], [], []
    samples: dict[str, MonteCarloSamples] = {}
    mc_levels: list[_LevelLoads] = []
    for i, lv in enumerate(level_names):
        ol = origin_loads(pn, loads, lv)
        codes, ids = ol.codes, ol.ids
        rcodes = _route_codes_in(pn, ol, graph)
        t = transfer(
            pn.graph, keep, ol.home.sum(axis=0), codes, is_lake=lake, n_jur=ids.size,
            route_jur=rcodes, foreign=(ol.node, ol.origin, ol.load),
        )  # fmt: skip
        # the frame takes the transfer's matrix as it is (t is dropped at the next level):
        # a copy would be 0.8 GB more at 10,000 jurisdictions
        m = matrix_frame(t, ids.astype(str).tolist(), copy=False)
        matrices[lv] = m
        longs.append(matrix_long(m, level=i, level_name=lv))
        cflux.append(_crossing_flux(pn, t, ids, lv, graph, rcodes))
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
            mc_levels.append(_level_loads(pn, ol, lv, graph, route=rcodes))
    if mc_levels:  # every level in one batch: the runs share their draws and keep factors
        mc = _samples(
            net, pn, mc_levels, model=_mc_model(model, None, monte_carlo_runs, _MC_SIGMAS),
            runs=monte_carlo_runs, seed=seed, sigmas=_MC_SIGMAS,
        )  # fmt: skip
        for smp in mc:
            samples[smp.level] = smp
            bands.append(smp.bands(percentiles))
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
            **model.parameters(),
            "load_sources": sources,
            "graph_kind": pn.graph.kind,
            "monte_carlo_runs": monte_carlo_runs,
            "seed": seed,
        },
        samples=samples,
    )
