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

Stations: the shipped station coordinates snapped to the network with
:func:`basingov.network.snap_point`. This is a small self-contained snapping step, to be
unified with the monitoring stage once it lands.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

import numpy as np
import pandas as pd

from basingov._filters import apply_filter
from basingov.errors import EmptyResultError, InputError

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

#: Upper mean-flow bounds (m³/s) of the decay size classes below the largest one:
#: 2.83 m³/s (100 ft³/s), the SPARROW New England threshold of detectable TN loss
#: (Moore et al. 2004, USGS SIR 2004-5012), and 28.3 m³/s (1,000 ft³/s).
DECAY_CLASS_BOUNDS_M3S: tuple[float, ...] = (2.83, 28.3)
_CLASS_NAMES = ("k_small", "k_medium", "k_large")
#: mg/L x m3/s -> kg/day.
_KG_DAY = 86.4

Flow = Literal["observed", "network"]
_FLOWS: tuple[str, ...] = get_args(Flow)


@dataclass(frozen=True, eq=False)
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

    @property
    def multipliers(self) -> dict[str, float]:
        """Fitted multiplier of each source kind (1 for those left at their prior)."""
        c = self.coefficients
        if c.empty:
            return {}
        c = c[c["kind"] == "source_multiplier"]
        return {str(p): float(v) for p, v in zip(c["parameter"], c["estimate"], strict=True)}

    @property
    def decay_per_day(self) -> dict[str, float]:
        """Decay rate of each size class (1/day)."""
        c = self.coefficients
        if c.empty:
            return {}
        c = c[c["kind"] == "decay_per_day"]
        return {str(p): float(v) for p, v in zip(c["parameter"], c["estimate"], strict=True)}


def uncalibrated(reason: str, sources: Sequence[str] = ()) -> CalibrationResult:
    """Return a result saying the basin is not calibrated and why (priors are used).

    Examples
    --------
    >>> r = uncalibrated("no nutrient observations", ["population_raster"])
    >>> r.status, r.multipliers
    ('uncalibrated', {'population_raster': 1.0})
    """
    coef = pd.DataFrame(
        {
            "parameter": list(sources),
            "kind": "source_multiplier",
            "prior": 1.0,
            "estimate": 1.0,
            "std_error": np.nan,
            "fitted": False,
            "status": "prior (uncalibrated)",
            "note": reason,
        }
    )
    return CalibrationResult(
        "uncalibrated", reason, coef, pd.DataFrame(), {"status": "uncalibrated", "reason": reason}
    )


def decay_classes(discharge_m3s: Any) -> np.ndarray:
    """Size class (0 small, 1 medium, 2 large) of each reach from its mean discharge.

    Examples
    --------
    >>> decay_classes([1.0, 10.0, 100.0]).tolist()
    [0, 1, 2]
    """
    q = np.nan_to_num(np.asarray(discharge_m3s, dtype=float), nan=0.0)
    return np.searchsorted(np.asarray(DECAY_CLASS_BOUNDS_M3S), q, side="left").astype(np.int64)


def _graph(net: Any) -> Any:
    from basingov.spillover import routing_graph

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


def source_fluxes(
    net: Any,
    reach_loads: np.ndarray,
    decay_by_class: Sequence[float],
    *,
    classes: np.ndarray | None = None,
    graph: Any = None,
) -> np.ndarray:
    """Flux of each source at every reach outflow (n x S, kg/day) with size-class decay.

    Lake reaches (``is_lake``) keep the spillover default lake retention.

    Parameters
    ----------
    net
        The network (``velocity_ms``, ``length_km``, ``discharge_m3s``, ``is_lake``).
    reach_loads
        n x S prior loads generated along each reach, one column per source.
    decay_by_class
        k of the small, medium and large class (1/day).
    classes, graph
        Precomputed :func:`decay_classes` and routing graph (speed).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from basingov.network import network_from_table
    >>> t = gpd.GeoDataFrame({"reach_id": [1, 2], "downstream_id": [2, -1],
    ...     "velocity_ms": [1.0, 1.0], "discharge_m3s": [1.0, 1.0]},
    ...     geometry=[LineString([(0, 0), (86400, 0)]),
    ...               LineString([(86400, 0), (172800, 0)])], crs="EPSG:3035")
    >>> f = source_fluxes(network_from_table(t), np.array([[1.0], [0.0]]), [0.5, 0, 0])
    >>> round(float(f[1, 0]), 4)  # exp(-0.25) x exp(-0.5)
    0.4724
    """
    from basingov.network import travel_time_hours
    from basingov.spillover import keep_factors, route

    g = _graph(net) if graph is None else graph
    cls = decay_classes(net.reaches["discharge_m3s"]) if classes is None else classes
    tau = np.nan_to_num(travel_time_hours(net), nan=0.0)
    k = np.asarray(decay_by_class, dtype=float)[cls]
    lake = (
        net.reaches["is_lake"].fillna(False).to_numpy(dtype=bool)
        if "is_lake" in net.reaches.columns
        else np.zeros(net.n, dtype=bool)
    )
    keep = np.exp(-k * tau / 24.0)
    if lake.any():
        keep = np.where(lake, keep_factors(tau, decay_per_day=0.0, is_lake=lake), keep)
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
    min_samples: int = 1,
    location_status: Sequence[str] = ("measured", "gauge_proxy", "nearby_gauge_proxy"),
    station_filter: str | None = None,
    tolerance_m: float = 3000.0,
    areas: pd.Series | None = None,
    max_area_ratio: float = 1.5,
) -> pd.DataFrame:
    r"""Mean measured load at each station, snapped to the network.

    ``flow = "observed"``: the mean of :math:`C_t Q_t \times 86.4` over samples with both a
    concentration of ``parameter`` and a flow ``Q`` at the same time. ``flow =
    "network"``: the mean concentration times the network's mean discharge at the
    snapped point (for survey data without flows; the flow is then *modelled*).

    Stations snap with :func:`basingov.network.snap_point` within ``tolerance_m``
    (self-contained here until the monitoring stage provides station snapping); several
    stations on one reach keep the one with most samples. With ``areas`` (published
    catchment area per ``station_id``, e.g. from
    :func:`basingov.network.station_areas`), only stations that have one are used; they
    snap to the reach of closest upstream area and are dropped if it differs by more than
    ``max_area_ratio`` (a tributary site must not land on the main river).

    Returns
    -------
    pandas.DataFrame
        ``station_id, name, location_status, reach_id, position, snap_distance_m,
        n_samples, mean_conc_mg_l, mean_flow_m3s, flow_source, observed_kg_day``.

    Raises
    ------
    InputError
        On missing columns or an unknown ``flow``.
    """
    from basingov.network import snap_point

    if flow not in _FLOWS:
        msg = f"flow must be one of {list(_FLOWS)}, got {flow!r}"
        raise InputError(msg)
    for name, t, need in (
        ("stations", stations, ("station_id", "lon", "lat")),
        ("observations", observations, ("station_id", "time", "parameter", "value")),
    ):
        missing = [c for c in need if c not in t.columns]
        if missing:
            msg = f"the {name} table lacks column(s) {missing}"
            raise InputError(msg)
    st = stations.dropna(subset=["lon", "lat"])
    if "location_status" in st.columns:
        st = st[st["location_status"].isin(list(location_status))]
    if station_filter:
        # a safe comparison language (basingov._filters), never pandas query/eval
        st = st[apply_filter(st, station_filter, where="[calibration].station_filter")]
    obs = observations.copy()
    obs["value"] = pd.to_numeric(obs["value"], errors="coerce")
    conc = obs[(obs["parameter"] == parameter) & (obs["value"] >= 0)]
    rows = []
    for s in st.itertuples(index=False):
        c = conc[conc["station_id"] == s.station_id]
        if flow == "observed":
            q = obs[(obs["station_id"] == s.station_id) & (obs["parameter"] == "Q")]
            m = c[["time", "value"]].merge(
                q[["time", "value"]].rename(columns={"value": "q"}), on="time"
            )
            m = m[m["q"] >= 0]
            n = len(m)
            if n < max(int(min_samples), 1):
                continue
            load = float((m["value"] * m["q"]).mean() * _KG_DAY)
            cm, qm = float(m["value"].mean()), float(m["q"].mean())
        else:
            n = len(c)
            if n < max(int(min_samples), 1):
                continue
            cm, qm, load = float(c["value"].mean()), np.nan, np.nan
        exp_area = None
        if areas is not None:
            a = areas.get(s.station_id, np.nan)
            if not a > 0:
                continue
            exp_area = float(a)
        try:
            sn = snap_point(
                net, float(cast(float, s.lon)), float(cast(float, s.lat)),
                tolerance_m=tolerance_m, expected_area_km2=exp_area,
            )  # fmt: skip
        except EmptyResultError:
            continue
        if exp_area is not None:
            ratio = sn.upstream_area_km2 / exp_area
            if not (np.isfinite(ratio) and 1 / max_area_ratio <= ratio <= max_area_ratio):
                continue
        if flow == "network":
            p = sn.position
            up = float(net.reaches["upstream_area_km2"].iloc[p])
            qr = float(net.reaches["discharge_m3s"].iloc[p])
            qm = (
                qr * sn.upstream_area_km2 / up
                if up > 0 and np.isfinite(sn.upstream_area_km2)
                else qr
            )
            load = cm * qm * _KG_DAY
        rows.append(
            {
                "station_id": s.station_id,
                "name": getattr(s, "name", ""),
                "location_status": getattr(s, "location_status", ""),
                "reach_id": sn.reach_id,
                "position": sn.position,
                "snap_distance_m": sn.distance_m,
                "n_samples": n,
                "mean_conc_mg_l": cm,
                "mean_flow_m3s": qm,
                "flow_source": "measured (sampled flow)" if flow == "observed"
                else "modelled (network mean discharge)",
                "observed_kg_day": load,
            }
        )  # fmt: skip
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out[out["observed_kg_day"] > 0]
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
    prior_decay_per_day: float = 0.1,
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
        (the others stay at ``prior_decay_per_day``).
    prior_decay_per_day
        Starting and fixed value of the decay rates.
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
        If a column is missing or there are fewer stations than parameters + 1.
    """
    from scipy.optimize import least_squares

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
    graph = _graph(net)
    cls = decay_classes(net.reaches["discharge_m3s"])
    spos = stations["position"].to_numpy(dtype=np.int64)
    obs = stations["observed_kg_day"].to_numpy(dtype=float)
    w = np.ones(obs.size) if weights is None else np.asarray(weights, dtype=float)
    free_s = [i for i, k in enumerate(kinds) if k in set(fit_sources)]
    # identifiable decay classes: reaches of the class upstream of at least one station
    lab_up = _upstream_mask(net, spos)
    up_any = lab_up.any(axis=1)
    free_k = [c for c in range(3) if fit_decay and (up_any & (cls == c)).any()]
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
        k = np.full(3, float(prior_decay_per_day))
        k[free_k] = theta[len(free_s) :]
        return beta, k

    def predict(theta: np.ndarray, at: np.ndarray) -> np.ndarray:
        beta, k = unpack(theta)
        f = source_fluxes(net, g, k.tolist(), classes=cls, graph=graph)
        return np.maximum(f[at] @ beta, 1e-12)

    def resid(theta: np.ndarray, at: np.ndarray, o: np.ndarray, ww: np.ndarray) -> np.ndarray:
        return np.sqrt(ww) * (np.log(o) - np.log(predict(theta, at)))

    x0 = np.concatenate([np.zeros(len(free_s)), np.full(len(free_k), prior_decay_per_day)])
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
    for ci in range(3):
        fitted = ci in free_k
        j = len(free_s) + free_k.index(ci) if fitted else -1
        bounds = (0.0, *DECAY_CLASS_BOUNDS_M3S, float("inf"))
        rows.append(
            {
                "parameter": _CLASS_NAMES[ci], "kind": "decay_per_day",
                "prior": float(prior_decay_per_day), "estimate": k[ci],
                "std_error": se[j] if fitted else np.nan, "fitted": fitted,
                "status": "calibrated" if fitted else (
                    "prior (no reach of this class above a station)" if fit_decay
                    else "prior (not fitted)"),
                "note": f"mean flow {bounds[ci]:g}-{bounds[ci + 1]:g} m3/s",
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
    }
    if np.isfinite(heldout).all():
        skill["heldout_loo"] = _skill(obs, heldout)
    return CalibrationResult("calibrated", "", coef, out, skill)


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
