r"""SPARROW-style calibration of load coefficients and size-class decay to station loads.

SPARROW (Smith, Schwarz & Alexander 1997; Schwarz et al. 2006) predicts the mean load at
a station as the sum over sources of a fitted coefficient times each source's prior load,
routed down the network with a first-order loss that depends on river size:

.. math::

    \hat L_j(\beta, k) = \sum_s \beta_s\, F_{js}(k), \qquad
    F_{js} = \sum_{i \preceq j} g_{is}\, \sqrt{\kappa_i} \prod_{m \in (i, j]} \kappa_m,
    \qquad \kappa_i = e^{-k_{c(i)}\, \tau_i}

with :math:`g_{is}` the prior load of source :math:`s` generated along reach :math:`i`,
:math:`\tau_i` its travel time and :math:`k_c` the decay rate of its size class
:math:`c` (mean flow up to 2.83, 2.83-28.3, above 28.3 m³/s; Moore et al. 2004 find no
detectable TN loss above about 2.83 m³/s). The routing is
:func:`basingov.spillover.route` with one "origin" per source. :math:`\beta` (multipliers
of the prior coefficients, 1 = the sourced prior) and :math:`k` are fitted by nonlinear
least squares (:func:`scipy.optimize.least_squares`) on log loads, as SPARROW does:

.. math:: \min_{\ln\beta,\,k} \sum_j w_j \left(\ln L_j - \ln \hat L_j\right)^2

Standard errors come from the Jacobian at the optimum,
:math:`\mathrm{cov} = s^2 (J^T J)^{-1}` with :math:`s^2 = \mathrm{SSR}/(n - p)`; for a
multiplier the delta method gives :math:`\mathrm{se}(\beta) = \beta\,\mathrm{se}(\ln\beta)`.
Skill: :math:`R^2` of the log loads, Nash-Sutcliffe efficiency of the loads and of the
log loads, and the same for each station predicted by a fit without it (leave-one-out).

The routing is the one the spillover stage uses: the decay classes and lake retention of
the basin's :class:`basingov.spillover.DecayModel` (:func:`basingov.spillover.reach_keep`),
with the class rates as priors. Fitted rates replace the priors in the spillover stage when
the calibration is applied (:meth:`CalibrationResult.fitted_decay`).

Stations: the monitoring stage's station layer (one snapping, with its catchment-area
check) and its mass-balance loads C·Q (:func:`station_load_table`).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from basingov._checks import check_choice, require_columns
from basingov._filters import apply_filter
from basingov.errors import InputError
from basingov.network import travel_time_hours
from basingov.spillover import (
    DEFAULT_DECAY_CLASSES,
    DecayModel,
    reach_keep,
    route,
    routing_graph,
)

__all__ = [
    "DECAY_CLASS_BOUNDS_M3S",
    "CalibrationResult",
    "calibrate",
    "decay_classes",
    "source_fluxes",
    "station_load_table",
    "uncalibrated",
]

logger = logging.getLogger(__name__)

#: Upper mean-flow bounds (m³/s) of the default decay size classes below the largest one:
#: 2.83 m³/s (100 ft³/s), the SPARROW New England threshold of detectable TN loss
#: (Moore et al. 2004, USGS SIR 2004-5012), and 28.3 m³/s (1,000 ft³/s); those of
#: :data:`basingov.spillover.DEFAULT_DECAY_CLASSES`.
DECAY_CLASS_BOUNDS_M3S: tuple[float, ...] = DEFAULT_DECAY_CLASSES.thresholds_m3s
_CLASS_NAMES = ("k_small", "k_medium", "k_large")


def class_names(n_classes: int) -> list[str]:
    """Parameter names of the decay classes: ``k_small, k_medium, k_large`` for three.

    Examples
    --------
    >>> class_names(3), class_names(2)
    (['k_small', 'k_medium', 'k_large'], ['k_class0', 'k_class1'])
    """
    if n_classes == 3:
        return list(_CLASS_NAMES)
    return [f"k_class{i}" for i in range(n_classes)]


#: mg/L x m3/s -> kg/day.
_KG_DAY = 86.4

Flow = Literal["observed", "network"]
_FLOWS: tuple[str, ...] = get_args(Flow)


@dataclass(frozen=True, eq=False, kw_only=True)
class CalibrationResult:
    """Fitted coefficients, per-station fit and skill of one calibration.

    Attributes
    ----------
    status
        ``"calibrated"`` or ``"uncalibrated"``.
    reason
        Why a basin is uncalibrated (empty when calibrated).
    coefficients
        ``parameter, kind, prior, estimate, std_error, fitted, status, note`` (source
        multipliers and decay rates; ``tables/calibration.csv``).
    stations
        Per station: observed, prior and fitted predictions, held-out prediction
        (``tables/calibration_stations.csv``).
    skill
        Summary numbers (``summary.json`` ``calibration`` block).
    """

    status: str
    reason: str
    coefficients: pd.DataFrame
    stations: pd.DataFrame
    skill: Mapping[str, Any] = field(default_factory=dict)

    def _estimates(self, kind: str) -> dict[str, float]:
        c = self.coefficients
        if c.empty:
            return {}
        c = c[c["kind"] == kind]
        return {str(p): float(v) for p, v in zip(c["parameter"], c["estimate"], strict=True)}

    @property
    def multipliers(self) -> dict[str, float]:
        """Fitted multiplier of each source kind (1 for those left at their prior)."""
        return self._estimates("source_multiplier")

    @property
    def decay_per_day(self) -> dict[str, float]:
        """Decay rate of each size class (1/day)."""
        return self._estimates("decay_per_day")

    def fitted_decay(self, base: DecayModel) -> DecayModel:
        """Return ``base`` with its river decay rates replaced by the calibrated ones.

        ``base`` unchanged when the basin is uncalibrated or no rate was fitted; lake
        settling velocities are never fitted and stay as they are.
        """
        c = self.coefficients
        if self.status != "calibrated" or c.empty:
            return base
        c = c[c["kind"] == "decay_per_day"]
        if not c["fitted"].astype(bool).any():
            return base
        names = class_names(base.classes.n_classes)
        rates = self.decay_per_day
        if set(names) - set(rates):
            return base
        n = int(self.skill.get("n_stations", 0))
        src = (
            f"calibrated to measured loads at {n} stations (tables/calibration.csv; classes "
            "without a river reach above a station keep their prior); prior: " + base.classes.source
        )
        classes = dataclasses.replace(
            base.classes.with_rates([rates[m] for m in names]), source=src
        )
        return dataclasses.replace(base, classes=classes)


def uncalibrated(
    reason: str,
    sources: Sequence[str] = (),
    *,
    transferred: Mapping[str, float] | None = None,
    transfer_source: str = "",
) -> CalibrationResult:
    """Return a result saying the basin is not calibrated and why (priors are used).

    ``transferred`` multipliers (fitted on another basin, ``transfer_source``) replace the
    prior of their source kinds; the result stays ``uncalibrated`` and says so.

    Examples
    --------
    >>> r = uncalibrated("no nutrient observations", ["population_raster"])
    >>> r.status, r.multipliers
    ('uncalibrated', {'population_raster': 1.0})
    >>> r = uncalibrated("no data", ["a", "b"], transferred={"b": 2.0}, transfer_source="X")
    >>> r.multipliers, r.skill["transferred_multipliers"]
    ({'a': 1.0, 'b': 2.0}, {'b': 2.0})
    """
    tr = {str(k): float(v) for k, v in (transferred or {}).items() if k in set(sources)}
    coef = pd.DataFrame(
        {
            "parameter": list(sources),
            "kind": "source_multiplier",
            "prior": 1.0,
            "estimate": [tr.get(s, 1.0) for s in sources],
            "std_error": np.nan,
            "fitted": False,
            "status": [
                "transferred (fitted on another basin, not here)" if s in tr
                else "prior (uncalibrated)"
                for s in sources
            ],
            "note": [f"{reason}; transferred from: {transfer_source}" if s in tr else reason
                     for s in sources],
        }
    )  # fmt: skip
    skill: dict[str, Any] = {"status": "uncalibrated", "reason": reason}
    if tr:
        skill["transferred_multipliers"] = tr
        skill["transfer_source"] = transfer_source
    return CalibrationResult(
        status="uncalibrated", reason=reason, coefficients=coef, stations=pd.DataFrame(),
        skill=skill,
    )  # fmt: skip


def decay_classes(discharge_m3s: Any) -> np.ndarray:
    """Size class (0 small, 1 medium, 2 large) of each reach from its mean discharge.

    Examples
    --------
    >>> decay_classes([1.0, 10.0, 100.0]).tolist()
    [0, 1, 2]
    """
    q = np.nan_to_num(np.asarray(discharge_m3s, dtype=float), nan=0.0)
    return DEFAULT_DECAY_CLASSES.class_index(q)


def _graph(net: Any) -> Any:
    splits = None
    b = getattr(net, "bifurcations", None)
    if b is not None and len(b):
        src = net.position(b["reach_id"].to_numpy())
        ds = b["downstream_id"].to_numpy()
        inside = np.isin(ds, net.reaches["reach_id"].to_numpy())
        dst = np.full(ds.shape, -1, dtype=np.int64)
        dst[inside] = net.position(ds[inside])
        splits = (src, dst, b["fraction"].to_numpy(dtype=float))
    return routing_graph(np.asarray(net.idx_ds), splits=splits)


_Setup = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _keep_setup(net: Any, decay: DecayModel) -> _Setup:
    """Travel time (h), decay class, lake keep factor and lake flag of every reach."""
    keep_lake, lake = reach_keep(net, decay)
    tau = np.where(lake, 0.0, np.nan_to_num(travel_time_hours(net), nan=0.0))
    q = net.reaches["discharge_m3s"].to_numpy(dtype=float)
    cls = np.zeros(net.n, dtype=np.int64)
    if decay.classes.thresholds_m3s:
        cls[~lake] = decay.classes.class_index(np.nan_to_num(q[~lake], nan=0.0))
    return tau, cls, keep_lake, lake


def source_fluxes(
    net: Any,
    reach_loads: np.ndarray,
    decay_by_class: Sequence[float] | np.ndarray,
    *,
    decay: DecayModel | None = None,
    graph: Any = None,
    setup: _Setup | None = None,
) -> np.ndarray:
    r"""Flux of each source at every reach outflow (n x S, kg/day) with size-class decay.

    River reaches lose :math:`1 - e^{-k_c \tau}` with :math:`k_c` the rate of their
    mean-flow class in ``decay`` (:class:`basingov.spillover.DecayModel`, the model the
    spillover stage routes with); lakes retain :math:`R = 1 - e^{-v_s/q_s}` with the
    model's settling velocities (:func:`basingov.spillover.reach_keep`).

    Parameters
    ----------
    net
        The network (``velocity_ms``, ``length_km``, ``discharge_m3s``, lakes marked).
    reach_loads
        n x S prior loads generated along each reach, one column per source.
    decay_by_class
        k of each class of ``decay`` (1/day).
    decay
        The decay model (default :class:`basingov.spillover.DecayModel`: the SPARROW
        classes 2.83 and 28.3 m³/s and the TN settling velocity).
    graph, setup
        Precomputed routing graph and :func:`_keep_setup` (speed).

    Examples
    --------
    Two reaches of one day's travel each (86.4 km at 1 m/s), 1 flowing into 2:

    >>> from basingov.examples import example_network
    >>> net = example_network([2, -1], length_m=86400,
    ...     columns={"velocity_ms": [1.0, 1.0], "discharge_m3s": [1.0, 1.0]})
    >>> f = source_fluxes(net, np.array([[1.0], [0.0]]), [0.5, 0, 0])
    >>> round(float(f[1, 0]), 4)  # exp(-0.25) x exp(-0.5)
    0.4724
    """
    model = decay if decay is not None else DecayModel()
    k = np.asarray(decay_by_class, dtype=float)
    if k.size != model.classes.n_classes:
        msg = f"{k.size} decay rate(s) for {model.classes.n_classes} decay class(es)"
        raise InputError(msg)
    g = _graph(net) if graph is None else graph
    tau, cls, keep_lake, lake = _keep_setup(net, model) if setup is None else setup
    keep = np.where(lake, keep_lake, np.exp(-k[cls] * tau / 24.0))
    loads = np.asarray(reach_loads, dtype=float)
    flux = np.zeros((net.n, loads.shape[1]))
    zero = np.zeros(net.n, dtype=np.int64)
    for j in range(loads.shape[1]):  # one routing per source
        flux[:, j] = route(g, keep, loads[:, j], zero, is_lake=lake, n_origins=1).flux[:, 0]
    return flux


def station_load_table(
    net: Any,
    stations: pd.DataFrame,
    observations: pd.DataFrame,
    *,
    parameter: str,
    flow: Flow = "observed",
    station_loads: pd.DataFrame | None = None,
    min_samples: int = 1,
    location_status: Sequence[str] = ("measured", "gauge_proxy", "nearby_gauge_proxy"),
    station_filter: str | None = None,
    max_snap_distance_m: float = 3000.0,
    area_column: str | None = None,
    max_area_ratio: float = 1.5,
) -> pd.DataFrame:
    r"""Mean measured load at each station the monitoring stage snapped to the network.

    The stations, their snapping and the observed loads come from the monitoring stage
    (:func:`basingov.monitoring.assess`), so that calibration and monitoring use one
    station layer. ``flow = "observed"``: the whole-record mean of :math:`C_t Q_t \times
    86.4` over samples with a concentration and a flow at the same time (the monitoring
    mass balance, ``station_loads``). ``flow = "network"``: the mean concentration times
    the network's mean discharge at the snapped point (for survey data without flows; the
    flow is then *modelled*).

    Parameters
    ----------
    net
        The network the stations were snapped to.
    stations
        The monitoring stage's station layer (``station_id, snapped, reach_id,
        snap_distance_m, upstream_area_km2, snap_checked, location_status`` + the station
        table's own columns, which ``station_filter`` may use).
    observations
        Normalised observations (``station_id, parameter, value``), for ``flow="network"``.
    parameter
        The observed parameter (e.g. ``"TN"``, or ``"TDN"`` as a proxy).
    flow
        ``"observed"`` or ``"network"``.
    station_loads
        ``station_id, parameter, load_kg_day, n_samples, mean_flow_m3s`` whole-record loads
        (:meth:`basingov.monitoring.MassBalance.calibration_observations`), for
        ``flow="observed"``.
    min_samples
        Fewest samples (with a flow, for ``"observed"``) a station needs.
    location_status
        Location statuses kept.
    station_filter
        A filter in the language of :mod:`basingov._filters` (parsed, never evaluated).
    max_snap_distance_m
        Largest snapping distance kept.
    area_column
        Column with the station's catchment area (km²). When given, only stations with an
        area whose snapped upstream area is within ``max_area_ratio`` of it are kept (a
        tributary site must not land on the main river).
    max_area_ratio
        See ``area_column``.

    Returns
    -------
    pandas.DataFrame
        ``station_id, name, location_status, reach_id, position, snap_distance_m,
        n_samples, mean_conc_mg_l, mean_flow_m3s, flow_source, observed_kg_day``; one
        station per reach (the one with most samples).

    Raises
    ------
    InputError
        On missing columns or an unknown ``flow``.
    ConfigError
        On a bad ``station_filter``.

    Examples
    --------
    >>> st = pd.DataFrame({"station_id": ["A"], "name": ["a"], "snapped": [True],
    ...     "reach_id": [7], "snap_distance_m": [10.0], "upstream_area_km2": [100.0],
    ...     "snap_checked": [True], "location_status": ["measured"]})
    >>> ld = pd.DataFrame({"station_id": ["A"], "parameter": ["TN"], "load_kg_day": [864.0],
    ...     "n_samples": [12], "mean_flow_m3s": [5.0]})
    >>> class Net:  # the two things the observed-flow path reads from a network
    ...     ids = np.array([7])
    ...     def position(self, ids): return np.zeros(len(ids), dtype=np.int64)
    >>> t = station_load_table(Net(), st, pd.DataFrame(), parameter="TN", station_loads=ld)
    >>> t[["station_id", "observed_kg_day", "mean_conc_mg_l"]].values.tolist()
    [['A', 864.0, 2.0]]
    """
    check_choice(flow, _FLOWS, name="flow")
    st = stations
    if station_filter:
        # a safe comparison language (basingov._filters), never pandas query/eval
        st = st[apply_filter(st, station_filter, where="[calibration].station_filter")]
    require_columns(
        st,
        ["station_id", "snapped", "reach_id", "snap_distance_m", "upstream_area_km2"],
        what="the station layer",
        hint="pass the monitoring stage's stations (basingov.monitoring.assess(...).stations)",
    )
    st = st[st["snapped"].astype(bool)]
    if "snap_checked" in st.columns:
        st = st[st["snap_checked"].astype(bool)]
    if "location_status" in st.columns:
        st = st[st["location_status"].astype(str).isin(list(location_status))]
    st = st[pd.to_numeric(st["snap_distance_m"], errors="coerce") <= max_snap_distance_m]
    if area_column is not None:
        if area_column not in st.columns:
            msg = f"the station layer has no area column {area_column!r}"
            raise InputError(msg)
        area = pd.to_numeric(st[area_column], errors="coerce")
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = st["upstream_area_km2"].astype(float) / area
        st = st[(area > 0) & (ratio >= 1 / max_area_ratio) & (ratio <= max_area_ratio)]
    sid = st["station_id"].astype(str)
    if flow == "observed":
        if station_loads is None:
            msg = "flow='observed' needs station_loads (the monitoring mass balance)"
            raise InputError(msg)
        require_columns(
            station_loads,
            ["station_id", "parameter", "load_kg_day", "n_samples", "mean_flow_m3s"],
            what="the station loads",
            hint="pass MassBalance.calibration_observations of the monitoring stage",
        )
        ld = station_loads[station_loads["parameter"] == parameter]
        ld = ld.set_index(ld["station_id"].astype(str))
        ld = ld[~ld.index.duplicated()]
        keep = sid.isin(ld.index).to_numpy()
        st, sid = st[keep], sid[keep]
        ld = ld.reindex(sid.to_numpy())
        n = ld["n_samples"].to_numpy(dtype=np.int64)
        load = ld["load_kg_day"].to_numpy(dtype=float)
        qm = ld["mean_flow_m3s"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            cm = load / (qm * _KG_DAY)
        flow_source = "measured (sampled flow)"
    else:
        require_columns(observations, ["station_id", "parameter", "value"], what="the observations")
        v = pd.to_numeric(observations["value"], errors="coerce")
        ok = (observations["parameter"] == parameter) & (v >= 0)
        g = v[ok].groupby(observations.loc[ok, "station_id"].astype(str))
        keep = sid.isin(g.groups).to_numpy()
        st, sid = st[keep], sid[keep]
        n = g.size().reindex(sid).to_numpy(dtype=np.int64)
        cm = g.mean().reindex(sid).to_numpy(dtype=float)
        pos = net.position(st["reach_id"].to_numpy(dtype=np.int64))
        up = net.reaches["upstream_area_km2"].to_numpy(dtype=float)[pos]
        qr = net.reaches["discharge_m3s"].to_numpy(dtype=float)[pos]
        a = st["upstream_area_km2"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            qm = np.where((up > 0) & np.isfinite(a), qr * a / up, qr)
        load = cm * qm * _KG_DAY
        flow_source = "modelled (network mean discharge)"
    out = pd.DataFrame(
        {
            "station_id": sid.to_numpy(),
            "name": st["name"].to_numpy() if "name" in st.columns else "",
            "location_status": st["location_status"].to_numpy()
            if "location_status" in st.columns
            else "",
            "reach_id": st["reach_id"].to_numpy(dtype=np.int64),
            "position": net.position(st["reach_id"].to_numpy(dtype=np.int64)),
            "snap_distance_m": st["snap_distance_m"].to_numpy(dtype=float),
            "n_samples": n,
            "mean_conc_mg_l": cm,
            "mean_flow_m3s": qm,
            "flow_source": flow_source,
            "observed_kg_day": load,
        }
    )
    out = out[(out["n_samples"] >= max(int(min_samples), 1)) & (out["observed_kg_day"] > 0)]
    out = out.sort_values(["position", "n_samples"], ascending=[True, False])
    return out.drop_duplicates("position").reset_index(drop=True)


def _skill(obs: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    lo, lp = np.log(obs), np.log(pred)
    sst = float(((lo - lo.mean()) ** 2).sum())
    ssr = float(((lo - lp) ** 2).sum())
    nse = 1.0 - float(((obs - pred) ** 2).sum()) / float(((obs - obs.mean()) ** 2).sum())
    return {
        "r2_log": 1.0 - ssr / sst if sst > 0 else float("nan"),
        "nse": nse if obs.size > 1 else float("nan"),
        "nse_log": 1.0 - ssr / sst if sst > 0 else float("nan"),
        "rmse_log": float(np.sqrt(ssr / obs.size)),
        "median_abs_pct_error": float(np.median(np.abs(pred / obs - 1.0)) * 100.0),
        "explained_share": float(pred.sum() / obs.sum()),
    }


def calibrate(
    net: Any,
    loads: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    fit_sources: Sequence[str],
    fit_decay: bool = True,
    decay: DecayModel | None = None,
    cross_validation: Literal["loo", "none"] = "loo",
    weights: Any = None,
    note: str = "",
) -> CalibrationResult:
    """Fit source multipliers and size-class decay rates to station loads.

    Parameters
    ----------
    net
        The network used for routing.
    loads
        Prior load table with ``reach_id, load_source, load_kg_day``.
    stations
        :func:`station_load_table` output (``position, observed_kg_day``).
    fit_sources
        Source kinds whose multipliers are fitted; the others stay at 1 (their prior).
        Kinds absent from ``loads`` are ignored.
    fit_decay
        Fit the decay rate of each size class that has reaches upstream of a station
        (the others stay at their prior).
    decay
        The decay model the spillover stage routes with
        (:func:`basingov.spillover.decay_model_from_config`): its class rates are the
        priors and starting values, its lakes retain with their settling velocities.
        Default :class:`basingov.spillover.DecayModel` (TN).
    cross_validation
        ``"loo"``: refit without each station and predict it.
    weights
        One weight per station (default 1).
    note
        Free text copied into the coefficient table (e.g. a proxy used).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InputError
        If a column is missing, there are fewer stations than parameters + 1, a station
        has no observed load > 0 or a position outside the network, or the weights are
        not one finite number >= 0 per station.
    """
    if isinstance(fit_sources, str):  # set("population_raster") is a set of letters
        msg = (
            f"fit_sources must be a list of source kinds, got the string {fit_sources!r}; "
            f"write [{fit_sources!r}]"
        )
        raise InputError(msg)
    for c in ("reach_id", "load_source", "load_kg_day"):
        if c not in loads.columns:
            msg = f"the load table lacks column {c!r} (reach_id is needed to route by source)"
            raise InputError(msg)
    kinds = sorted(loads["load_source"].astype(str).unique())
    n = net.n
    pos = net.position(loads["reach_id"].to_numpy())
    kidx = pd.Index(kinds).get_indexer(loads["load_source"].astype(str))
    g = np.zeros((n, len(kinds)))
    np.add.at(g, (pos, kidx), loads["load_kg_day"].to_numpy(dtype=float))
    model = decay if decay is not None else DecayModel()
    k0 = np.asarray(model.classes.k_per_day, dtype=float)
    n_cls = k0.size
    names = class_names(n_cls)
    graph = _graph(net)
    setup = _keep_setup(net, model)
    cls, lake = setup[1], setup[3]
    require_columns(
        stations,
        ["position", "observed_kg_day"],
        what="the station table",
        hint="pass the output of station_load_table",
    )
    spos = pd.to_numeric(stations["position"], errors="coerce").to_numpy(dtype=float)
    obs = pd.to_numeric(stations["observed_kg_day"], errors="coerce").to_numpy(dtype=float)
    sid = np.asarray(stations["station_id"] if "station_id" in stations.columns else stations.index)
    off = ~((spos >= 0) & (spos < n) & (spos == np.floor(spos)))
    if off.any():
        msg = (
            f"station(s) {sid[off][:10].tolist()} have a position that is not a reach of the "
            f"network (0 to {n - 1}): {spos[off][:10].tolist()}; pass the output of "
            "station_load_table for this network"
        )
        raise InputError(msg)
    bad = ~(np.isfinite(obs) & (obs > 0))
    if bad.any():
        msg = (
            f"station(s) {sid[bad][:10].tolist()} have no observed load > 0 (observed_kg_day "
            f"{obs[bad][:10].tolist()}); the fit is on log loads: drop them "
            "(station_load_table keeps only loads > 0)"
        )
        raise InputError(msg)
    spos = spos.astype(np.int64)
    w = np.ones(obs.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.size != obs.size or not (np.isfinite(w) & (w >= 0)).all():
        msg = (
            f"weights must be {obs.size} finite number(s) >= 0, one per station; got "
            f"{w.size}: {w[:10].tolist()}"
        )
        raise InputError(msg)
    free_s = [i for i, k in enumerate(kinds) if k in set(fit_sources)]
    # identifiable decay classes: reaches of the class upstream of at least one station
    lab_up = _upstream_mask(net, spos)
    up_any = lab_up.any(axis=1)
    free_k = [c for c in range(n_cls) if fit_decay and (up_any & ~lake & (cls == c)).any()]
    npar = len(free_s) + len(free_k)
    if obs.size < npar + 1:
        msg = (
            f"{obs.size} station(s) for {npar} parameter(s): calibration needs at least one "
            "more station than fitted parameters"
        )
        raise InputError(msg)

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        beta = np.ones(len(kinds))
        beta[free_s] = np.exp(theta[: len(free_s)])
        k = k0.copy()
        k[free_k] = theta[len(free_s) :]
        return beta, k

    def predict(theta: np.ndarray, at: np.ndarray) -> np.ndarray:
        beta, k = unpack(theta)
        f = source_fluxes(net, g, k, decay=model, graph=graph, setup=setup)
        return np.maximum(f[at] @ beta, 1e-12)

    def resid(theta: np.ndarray, at: np.ndarray, o: np.ndarray, ww: np.ndarray) -> np.ndarray:
        return np.sqrt(ww) * (np.log(o) - np.log(predict(theta, at)))

    x0 = np.concatenate([np.zeros(len(free_s)), k0[free_k]])
    lo = np.concatenate([np.full(len(free_s), np.log(1e-3)), np.zeros(len(free_k))])
    hi = np.concatenate([np.full(len(free_s), np.log(1e3)), np.full(len(free_k), 10.0)])
    prior_pred = predict(x0, spos)
    fit = least_squares(resid, x0, bounds=(lo, hi), args=(spos, obs, w), method="trf")
    theta = fit.x
    pred = predict(theta, spos)
    dof = obs.size - npar
    ssr = float((fit.fun**2).sum())
    se = np.full(npar, np.nan)
    if dof > 0 and npar:
        jac = fit.jac
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cov = np.linalg.pinv(jac.T @ jac) * (ssr / dof)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    beta, k = unpack(theta)
    rows = []
    for i, kind in enumerate(kinds):
        fitted = i in free_s
        s_ln = se[free_s.index(i)] if fitted else np.nan
        t_i = free_s.index(i) if fitted else 0
        at_bound = fitted and bool(
            np.isclose(theta[t_i], lo[t_i]) or np.isclose(theta[t_i], hi[t_i])
        )
        rows.append(
            {
                "parameter": kind, "kind": "source_multiplier", "prior": 1.0,
                "estimate": beta[i], "std_error": beta[i] * s_ln if fitted else np.nan,
                "fitted": fitted,
                "status": ("calibrated (at bound)" if at_bound else "calibrated")
                if fitted else "prior (not fitted)",
                "note": note,
            }
        )  # fmt: skip
    bounds = (0.0, *model.classes.thresholds_m3s, float("inf"))
    for ci in range(n_cls):
        fitted = ci in free_k
        j = len(free_s) + free_k.index(ci) if fitted else -1
        rows.append(
            {
                "parameter": names[ci], "kind": "decay_per_day",
                "prior": float(k0[ci]), "estimate": k[ci],
                "std_error": se[j] if fitted else np.nan, "fitted": fitted,
                "status": (
                    "calibrated (at bound)" if np.isclose(theta[j], lo[j])
                    or np.isclose(theta[j], hi[j]) else "calibrated"
                ) if fitted else (
                    "prior (no river reach of this class above a station)" if fit_decay
                    else "prior (not fitted)"),
                "note": f"mean flow {bounds[ci]:g}-{bounds[ci + 1]:g} m3/s; prior: "
                + model.classes.source,
            }
        )  # fmt: skip
    coef = pd.DataFrame(rows)
    out = stations.copy()
    out["predicted_prior_kg_day"] = prior_pred
    out["predicted_kg_day"] = pred
    out["log_residual"] = np.log(obs) - np.log(pred)
    heldout = np.full(obs.size, np.nan)
    if cross_validation == "loo" and obs.size - 1 >= npar + 1:
        for j in range(obs.size):
            m = np.arange(obs.size) != j
            fj = least_squares(resid, theta, bounds=(lo, hi), args=(spos[m], obs[m], w[m]),
                               method="trf")  # fmt: skip
            heldout[j] = predict(fj.x, spos[j : j + 1])[0]
    out["heldout_kg_day"] = heldout
    skill: dict[str, Any] = {
        "status": "calibrated",
        "n_stations": int(obs.size),
        "n_parameters": int(npar),
        "converged": bool(fit.success),
        "fit": _skill(obs, pred),
        "prior": _skill(obs, prior_pred),
        "decay_prior_source": model.classes.source,
        "lakes_upstream_of_stations": int((up_any & lake).sum()),
    }
    if np.isfinite(heldout).all():
        skill["heldout_loo"] = _skill(obs, heldout)
    return CalibrationResult(
        status="calibrated", reason="", coefficients=coef, stations=out, skill=skill
    )


def _upstream_mask(net: Any, positions: np.ndarray) -> np.ndarray:
    """Return n x len(positions) booleans: reach i drains to (or is) station position p."""
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    order = np.asarray(net.order)
    mask = np.zeros((net.n, positions.size), dtype=bool)
    mask[positions, np.arange(positions.size)] = True
    for i in order[::-1]:  # downstream first: inherit from the downstream reach
        d = idx_ds[i]
        if d >= 0:
            mask[i] |= mask[d]
    return mask
