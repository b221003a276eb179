r"""In-stream decay by river size and lake retention by areal settling velocity.

Rivers (DESIGN §2.6). SPARROW fits first-order in-stream loss rates per class of mean flow
and finds them falling with river size: Alexander, Smith & Schwarz (2000, *Nature* 403:
758-761, doi:10.1038/35001562) report "a rapid decline in the average first-order rate of
nitrogen loss with channel size, from 0.45 day⁻¹ in small streams to 0.005 day⁻¹ in the
Mississippi River"; Smith, Schwarz & Alexander (1997, *Water Resources Research* 33:2781)
found decay coefficients that "decrease monotonically with increasing stream size"; and
Moore et al. (2004, USGS SIR 2004-5012, New England SPARROW) found total-nitrogen loss
"significant only in streams with average annual flows less than or equal to 2.83 cubic
meters per second", and non-detectable above. :data:`DEFAULT_DECAY_CLASSES` combines these:

======================  ===========  ====================================================
mean flow (m³/s)        k (1/day)    source
======================  ===========  ====================================================
Q < 2.83                0.45         Alexander et al. 2000 (small streams), class limit of
                                     Moore et al. 2004
2.83 <= Q < 28.3        0.005        Moore et al. 2004 (no detectable loss above 2.83);
                                     floored at the large-river rate below
Q >= 28.3               0.005        Alexander et al. 2000 (Mississippi River)
======================  ===========  ====================================================

A regional SPARROW total-nitrogen fit shipped with the USGS RSPARROW software (tutorial
Model 6, ``UserTutorial/results/Model6/estimate/summaryCSV/ParameterEstimates.csv`` in
github USGS-R/RSPARROW) gives the same picture: 0.419 ± 0.091 day⁻¹ below 1.13 m³/s,
0.230 ± 0.090 between 1.13 and 1.93 m³/s, and zero (fixed) above. The class rates are
priors: :mod:`basingov` calibration refits them per basin.

Lakes and reservoirs. A lake node retains

.. math:: R = 1 - e^{-v_s / q_s}, \qquad q_s = Q / A

with :math:`q_s` the areal hydraulic load (m/yr: outflow over lake area) and :math:`v_s`
an apparent settling velocity (m/yr) per parameter (the SPARROW reservoir term; e.g.
Schwarz et al. 2006, USGS TM 6-B3). Defaults, :data:`DEFAULT_SETTLING_VELOCITY_M_YR`:

- TN 6.45 m/yr: the reservoir coefficient ``iresload`` of the same RSPARROW TN fit
  (6.45 ± 1.62 m/yr);
- TP 12.7 m/yr: the average apparent settling velocity of 27 Midwestern reservoirs
  (Walker & Kiihner 1978), inside the 5-16 m/yr that Panuska & Robertson (1999) recommend
  for water bodies with minimal net internal phosphorus flux (both quoted in the SWAT+
  reservoir documentation, ``nutrients.res`` ``p_stl``). The same page quotes a median of
  42.2 m/yr for 18 Tennessee reservoirs (Higgins & Kim 1981) and 1-5 m/yr for water
  bodies with moderate net internal phosphorus flux; basin configs set such values per
  basin or per lake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from basingov.errors import InputError
from basingov.network import lake_reaches, travel_time_hours
from basingov.spillover.routing import keep_factors

if TYPE_CHECKING:
    from basingov.config import BasinConfig

__all__ = [
    "DEFAULT_DECAY_CLASSES",
    "DEFAULT_SETTLING_VELOCITY_M_YR",
    "SETTLING_VELOCITY_SOURCES",
    "DecayClasses",
    "DecayModel",
    "decay_model_from_config",
    "lake_retention",
    "lake_table",
    "reach_keep",
]

_SECONDS_PER_YEAR = 365.25 * 86400.0


@dataclass(frozen=True)
class DecayClasses:
    """First-order loss rates by class of mean flow (SPARROW reach decay classes).

    Parameters
    ----------
    thresholds_m3s
        Upper limits of the classes but the last, strictly increasing (m³/s). A reach with
        mean flow ``Q`` is in class ``i`` with ``thresholds[i-1] <= Q < thresholds[i]``.
    k_per_day
        One rate (1/day, >= 0) per class: ``len(thresholds_m3s) + 1`` values.
    source
        Where the rates come from.

    Raises
    ------
    InputError
        On the wrong number of rates, negative or non-finite values, or thresholds that do
        not increase.

    Examples
    --------
    >>> c = DecayClasses((2.83, 28.3), (0.45, 0.005, 0.005))
    >>> c.class_index([1.0, 2.83, 100.0]).tolist()
    [0, 1, 2]
    >>> c.rates([1.0, 100.0]).tolist()
    [0.45, 0.005]
    """

    thresholds_m3s: tuple[float, ...]
    k_per_day: tuple[float, ...]
    source: str = ""

    def __post_init__(self) -> None:
        try:
            th = np.asarray(self.thresholds_m3s, dtype=np.float64)
            k = np.asarray(self.k_per_day, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            msg = (
                "decay classes need lists of numbers: thresholds_m3s (m3/s) and k_per_day "
                f"(1/day), got {self.thresholds_m3s!r} and {self.k_per_day!r}"
            )
            raise InputError(msg) from exc
        if k.ndim != 1 or th.ndim != 1 or k.size != th.size + 1:
            msg = (
                f"decay classes need one rate more than thresholds; got {th.size} threshold(s) "
                f"{th.tolist()} and {k.size} rate(s) {k.tolist()}"
            )
            raise InputError(msg)
        if not (np.isfinite(k).all() and (k >= 0).all()):
            msg = f"decay class rates must be finite and >= 0 (1/day), got {k.tolist()}"
            raise InputError(msg)
        if not (np.isfinite(th).all() and (th > 0).all() and (np.diff(th) > 0).all()):
            msg = f"decay class thresholds must be > 0 and increasing (m3/s), got {th.tolist()}"
            raise InputError(msg)
        object.__setattr__(self, "thresholds_m3s", tuple(float(x) for x in th))
        object.__setattr__(self, "k_per_day", tuple(float(x) for x in k))

    @classmethod
    def uniform(cls, k_per_day: float, *, source: str = "") -> DecayClasses:
        """One rate for every reach (the old single ``decay_per_day``).

        Examples
        --------
        >>> DecayClasses.uniform(0.1).rates([1.0, 1000.0]).tolist()
        [0.1, 0.1]
        """
        return cls((), (k_per_day,), source)  # __post_init__ checks and casts it

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.k_per_day)

    def class_index(self, discharge_m3s: Any) -> np.ndarray:
        """Class of each mean flow (int64).

        Raises
        ------
        InputError
            If a flow is missing or negative (the message names the positions).
        """
        q = np.asarray(discharge_m3s, dtype=np.float64)
        bad = np.flatnonzero(~(np.isfinite(q) & (q >= 0)))
        if bad.size:
            msg = (
                f"mean discharge is missing or negative at {bad.size} node(s), e.g. positions "
                f"{bad[:10].tolist()}; decay classes by mean flow need discharge_m3s on every "
                "reach (fill it, or give one rate for every reach: [spillover] decay_per_day)"
            )
            raise InputError(msg)
        return np.searchsorted(np.asarray(self.thresholds_m3s), q, side="right").astype(np.int64)

    def rates(self, discharge_m3s: Any) -> np.ndarray:
        """Rate k (1/day) of each mean flow (one class: the rate, whatever the flow)."""
        if not self.thresholds_m3s:
            return np.full(np.shape(discharge_m3s), self.k_per_day[0])
        return np.asarray(self.k_per_day)[self.class_index(discharge_m3s)]

    def with_rates(self, k_per_day: Sequence[float] | np.ndarray) -> DecayClasses:
        """Return the same classes with other rates (e.g. fitted ones).

        Examples
        --------
        >>> DecayClasses((3.0,), (0.4, 0.0)).with_rates([0.2, 0.01]).k_per_day
        (0.2, 0.01)
        """
        return dataclasses.replace(self, k_per_day=tuple(float(x) for x in k_per_day))

    def table(self) -> pd.DataFrame:
        """``class, q_min_m3s, q_max_m3s, k_per_day`` (one row per class).

        Examples
        --------
        >>> DecayClasses((2.83,), (0.45, 0.005)).table()["q_max_m3s"].tolist()
        [2.83, inf]
        """
        lo = (0.0, *self.thresholds_m3s)
        hi = (*self.thresholds_m3s, np.inf)
        return pd.DataFrame(
            {
                "class": range(self.n_classes),
                "q_min_m3s": lo,
                "q_max_m3s": hi,
                "k_per_day": self.k_per_day,
            }
        )


#: SPARROW-style decay classes for total nitrogen (module docstring: sources per class).
DEFAULT_DECAY_CLASSES = DecayClasses(
    thresholds_m3s=(2.83, 28.3),
    k_per_day=(0.45, 0.005, 0.005),
    source=(
        "Q < 2.83 m3/s: 0.45/day (Alexander, Smith & Schwarz 2000, Nature 403:758, small "
        "streams; class limit 2.83 m3/s from Moore et al. 2004, USGS SIR 2004-5012); "
        "2.83-28.3 m3/s: 0.005/day (Moore et al. 2004: no detectable TN loss above 2.83 m3/s; "
        "floored at the large-river rate); >= 28.3 m3/s: 0.005/day (Alexander et al. 2000, "
        "Mississippi River)"
    ),
)

#: Apparent settling velocity v_s (m/yr) of lakes and reservoirs per parameter (module
#: docstring). Other parameters need ``[spillover] lake_settling_velocity_m_yr``.
DEFAULT_SETTLING_VELOCITY_M_YR: Mapping[str, float] = {"TN": 6.45, "TP": 12.7}

#: Sources of :data:`DEFAULT_SETTLING_VELOCITY_M_YR`.
SETTLING_VELOCITY_SOURCES: Mapping[str, str] = {
    "TN": (
        "SPARROW reservoir coefficient iresload = 6.45 +/- 1.62 m/yr of the regional TN fit in "
        "the USGS RSPARROW tutorial (github USGS-R/RSPARROW, UserTutorial/results/Model6)"
    ),
    "TP": (
        "12.7 m/yr: mean apparent settling velocity of 27 Midwestern reservoirs (Walker & "
        "Kiihner 1978), within 5-16 m/yr for minimal net internal P flux (Panuska & Robertson "
        "1999); both as quoted in the SWAT+ reservoir documentation (nutrients.res, p_stl)"
    ),
}


def lake_retention(settling_velocity_m_yr: Any, area_km2: Any, outflow_m3s: Any) -> np.ndarray:
    r"""Share of the inflowing load a lake retains, :math:`R = 1 - e^{-v_s/q_s}`.

    :math:`q_s = Q / A` is the areal hydraulic load in m/yr (outflow in m³/yr over the lake
    area in m²). A lake without outflow retains everything (R = 1).

    Parameters
    ----------
    settling_velocity_m_yr
        Apparent settling velocity v_s (m/yr, >= 0).
    area_km2
        Lake area (km², > 0).
    outflow_m3s
        Mean outflow (m³/s, >= 0).

    Returns
    -------
    numpy.ndarray
        R in [0, 1].

    Raises
    ------
    InputError
        On negative, missing or zero-area values.

    Examples
    --------
    Lake Taihu: 2,338 km², outflow 7.5 km³/yr (238 m³/s), v_s = 1 m/yr for phosphorus:
    q_s = 7.5e9 / 2.338e9 = 3.21 m/yr and R = 1 - exp(-1 / 3.21) = 0.268.

    >>> round(float(lake_retention(1.0, 2338.0, 7.5e9 / (365.25 * 86400))), 3)
    0.268
    """
    vs = np.asarray(settling_velocity_m_yr, dtype=np.float64)
    a = np.asarray(area_km2, dtype=np.float64)
    q = np.asarray(outflow_m3s, dtype=np.float64)
    for name, v, lo in (("settling velocity", vs, 0.0), ("outflow", q, 0.0)):
        if not (np.isfinite(v).all() and (v >= lo).all()):
            msg = f"lake {name} must be finite and >= 0, got {np.atleast_1d(v)[:10].tolist()}"
            raise InputError(msg)
    if not (np.isfinite(a).all() and (a > 0).all()):
        msg = f"lake area must be finite and > 0 (km2), got {np.atleast_1d(a)[:10].tolist()}"
        raise InputError(msg)
    qs = q * _SECONDS_PER_YEAR / (a * 1e6)
    with np.errstate(divide="ignore"):
        return np.where(qs > 0, -np.expm1(-vs / np.where(qs > 0, qs, 1.0)), 1.0)


@dataclass(frozen=True)
class DecayModel:
    """How a basin's loads are lost along rivers and in lakes, for one parameter.

    Parameters
    ----------
    classes
        River decay classes by mean flow.
    parameter
        The load parameter (``"TN"``, ``"TP"``, ...).
    settling_velocity_m_yr
        Lake v_s (m/yr) for lakes without their own value.
    lake_settling_velocity_m_yr
        v_s per lake name.
    settling_velocity_source
        Where the basin-wide v_s comes from.
    lake_settling_velocity_source
        Where each lake's own v_s comes from.
    """

    classes: DecayClasses = DEFAULT_DECAY_CLASSES
    parameter: str = "TN"
    settling_velocity_m_yr: float = DEFAULT_SETTLING_VELOCITY_M_YR["TN"]
    lake_settling_velocity_m_yr: Mapping[str, float] = field(default_factory=dict)
    settling_velocity_source: str = SETTLING_VELOCITY_SOURCES["TN"]
    lake_settling_velocity_source: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        vals = [self.settling_velocity_m_yr, *self.lake_settling_velocity_m_yr.values()]
        nums = (int, float, np.integer, np.floating)
        if not all(isinstance(v, nums) and np.isfinite(v) and v >= 0 for v in vals):
            msg = f"lake settling velocities must be finite and >= 0 (m/yr), got {vals}"
            raise InputError(msg)

    @classmethod
    def for_parameter(cls, parameter: str, **kwargs: Any) -> DecayModel:
        """Return the default model of one parameter (its sourced v_s; TN decay classes).

        Raises
        ------
        InputError
            If no default v_s is known for ``parameter`` and none is given.

        Examples
        --------
        >>> DecayModel.for_parameter("TP").settling_velocity_m_yr
        12.7
        """
        if "settling_velocity_m_yr" not in kwargs:
            if parameter not in DEFAULT_SETTLING_VELOCITY_M_YR:
                msg = (
                    f"no default lake settling velocity for parameter {parameter!r} (known: "
                    f"{sorted(DEFAULT_SETTLING_VELOCITY_M_YR)}); set [spillover] "
                    f"lake_settling_velocity_m_yr = {{ {parameter} = ... }} with its source"
                )
                raise InputError(msg)
            kwargs["settling_velocity_m_yr"] = DEFAULT_SETTLING_VELOCITY_M_YR[parameter]
            kwargs.setdefault("settling_velocity_source", SETTLING_VELOCITY_SOURCES[parameter])
        return cls(parameter=parameter, **kwargs)

    def settling_velocity(self, lake_name: str) -> float:
        """v_s (m/yr) of one lake."""
        return float(self.lake_settling_velocity_m_yr.get(lake_name, self.settling_velocity_m_yr))

    def scaled(self, k_mult: float = 1.0, vs_mult: float = 1.0) -> DecayModel:
        """Every river rate times ``k_mult`` and every v_s times ``vs_mult`` (Monte Carlo)."""
        return dataclasses.replace(
            self,
            classes=self.classes.with_rates(np.asarray(self.classes.k_per_day) * k_mult),
            settling_velocity_m_yr=self.settling_velocity_m_yr * vs_mult,
            lake_settling_velocity_m_yr={
                k: v * vs_mult for k, v in self.lake_settling_velocity_m_yr.items()
            },
        )

    def parameters(self) -> dict[str, Any]:
        """Return the rates and their sources, for ``summary.json`` and the spillover result."""
        return {
            "parameter": self.parameter,
            "decay_classes": self.classes.table().to_dict(orient="records"),
            "decay_classes_source": self.classes.source,
            "lake_settling_velocity_m_yr": self.settling_velocity_m_yr,
            "lake_settling_velocity_source": self.settling_velocity_source,
            "lake_settling_velocity_by_lake_m_yr": dict(self.lake_settling_velocity_m_yr),
        }


def lake_table(net: Any, model: DecayModel | None = None) -> pd.DataFrame:
    """Every lake of a network with its hydraulics and retention under ``model``.

    Columns: those of :func:`basingov.network.lake_reaches` plus ``q_s_m_yr`` (areal
    hydraulic load), ``residence_days`` (volume / outflow; NaN where the volume is
    unknown), ``parameter``, ``settling_velocity_m_yr``, ``settling_velocity_source`` and
    ``retention`` (:func:`lake_retention`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from basingov.examples import example_network
    >>> from basingov.network import lake_polygons, mark_lakes
    >>> net = example_network([-1], columns={"discharge_m3s": [10.0]})  # 1 km, 10 m³/s
    >>> lk = lake_polygons(gpd.GeoDataFrame({"name": ["L"]},
    ...     geometry=[box(-1000, -500, 2000, 1500)], crs="EPSG:3035"), "EPSG:3035",
    ...     assumed_mean_depth_m=10.0)
    >>> row = lake_table(mark_lakes(net, lk)).iloc[0]
    >>> [round(float(row[c]), 3) for c in ("q_s_m_yr", "residence_days", "retention")]
    [52.596, 69.444, 0.115]
    """
    model = model or DecayModel()
    t = lake_reaches(net)
    extra = ["q_s_m_yr", "residence_days", "parameter", "settling_velocity_m_yr",
             "settling_velocity_source", "retention"]  # fmt: skip
    if t.empty:
        return pd.DataFrame(columns=[*t.columns, *extra])
    q = t["outflow_m3s"].to_numpy(dtype=float)
    a = t["area_km2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t["q_s_m_yr"] = q * _SECONDS_PER_YEAR / (a * 1e6)
        t["residence_days"] = np.where(
            q > 0,
            t["volume_km3"].to_numpy(dtype=float) * 1e9 / np.where(q > 0, q, 1.0) / 86400.0,
            np.inf,
        )
    t["parameter"] = model.parameter
    vs = np.array([model.settling_velocity(n) for n in t["lake_name"]])
    t["settling_velocity_m_yr"] = vs
    t["settling_velocity_source"] = [
        model.lake_settling_velocity_source.get(n, "")
        if n in model.lake_settling_velocity_m_yr
        else model.settling_velocity_source
        for n in t["lake_name"]
    ]
    t["retention"] = lake_retention(vs, a, q)
    return t


def reach_keep(
    net: Any, model: DecayModel | None = None, *, velocity_multiplier: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Keep factor and lake flag of every reach.

    River reaches keep :math:`e^{-k \tau}` with k from their mean-flow class and
    :math:`\tau = L / v`; the outlet reach(es) of a lake keep :math:`1 - R` of the lake
    (:func:`lake_retention`), the other reaches of the lake pass everything on (the lake is
    one fully mixed water body that retains once, where the water leaves it).

    Parameters
    ----------
    net
        A :class:`basingov.network.RiverNetwork` (``length_km, velocity_ms,
        discharge_m3s``; lakes marked by :func:`basingov.network.mark_lakes`).
    model
        The decay model (default: :class:`DecayModel` for TN).
    velocity_multiplier
        Multiplies every river velocity (travel times divide by it).

    Returns
    -------
    keep, is_lake : numpy.ndarray
        Aligned to reach positions.

    Raises
    ------
    InputError
        On missing travel times or discharge on river reaches, or a velocity multiplier
        that is not a finite number > 0.
    """
    model = model or DecayModel()
    vm = velocity_multiplier
    if (
        isinstance(vm, bool)
        or not isinstance(vm, (int, float, np.number))
        or not (np.isfinite(vm) and vm > 0)
    ):
        msg = f"velocity_multiplier must be a finite number > 0, got {vm!r}"
        raise InputError(msg)
    terms = _KeepTerms(net, model.classes)
    return terms.reach_keep(model, velocity_multiplier), terms.lake


class _KeepTerms:
    """The parts of :func:`reach_keep` that only the network and class limits fix.

    The Monte Carlo draws scale the class rates, the settling velocities and the velocity;
    :meth:`piece_runs` turns many draws into keep factors at once.
    """

    def __init__(self, net: Any, classes: DecayClasses) -> None:
        self.net = net
        r = net.reaches
        n = len(r)
        self.n = n
        lake = r["is_lake"].to_numpy(dtype=bool) if "is_lake" in r else np.zeros(n, dtype=bool)
        self.lake = lake
        q = (
            r["discharge_m3s"].to_numpy(dtype=np.float64)
            if "discharge_m3s" in r.columns
            else np.full(n, np.nan)
        )
        self.thresholds = classes.thresholds_m3s
        # class of each river reach (checks the discharge once)
        self.cls = classes.class_index(q[~lake]) if self.thresholds else None
        self.n_river = int((~lake).sum())
        self.has_lakes = bool(lake.any() and "lake_id" in r.columns)
        if self.has_lakes:
            lid = r["lake_id"].to_numpy(dtype=np.int64)
            outl = r["lake_outlet"].to_numpy(dtype=bool) & (lid >= 0)
            ids, first = np.unique(lid[lid >= 0], return_index=True)
            pos = np.flatnonzero(lid >= 0)[first]
            self.at = np.searchsorted(ids, lid[outl])
            self.outl = outl
            self.outflow = np.bincount(self.at, weights=q[outl], minlength=ids.size)
            self.names = [str(nm) for nm in r["lake_name"].to_numpy()[pos]]
            self.area = r["lake_area_km2"].to_numpy(dtype=np.float64)[pos]

    def reach_keep(self, model: DecayModel, velocity_multiplier: float = 1.0) -> np.ndarray:
        """Keep factor of every reach under ``model`` (same class limits) and a velocity factor."""
        lake = self.lake
        tt = travel_time_hours(self.net, velocity_multiplier=velocity_multiplier)
        tau = np.where(lake, 0.0, tt)
        k = np.zeros(self.n)
        kpd = model.classes.k_per_day
        if self.cls is None:
            k[~lake] = np.full(self.n_river, kpd[0])
        else:
            k[~lake] = np.asarray(kpd)[self.cls]
        ret = np.zeros(self.n)
        if self.has_lakes:
            vs = np.array([model.settling_velocity(nm) for nm in self.names])
            ret[self.outl] = lake_retention(vs, self.area, self.outflow)[self.at]
        return keep_factors(tau, decay_per_day=k, is_lake=lake, lake_retention=ret)

    def piece_runs(
        self, model: DecayModel, reach_pos: np.ndarray, phi: np.ndarray, order: np.ndarray
    ) -> _PieceRuns:
        r"""Return what the runs' piece keep factors share, whatever their draws.

        ``piece_runs(...).keep(draws)`` gives the keep factors of many Monte Carlo runs,
        one row per run: ``draws[i]`` holds run ``i``'s multipliers of the river rates,
        the settling velocities and the velocity; column ``j`` is piece ``order[j]``
        (``reach_pos`` and ``phi`` as in :func:`piece_keep`). A river piece keeps
        :math:`e^{-(m_k/m_v)\, k \tau \phi}`, the value :func:`piece_keep` gives under
        :meth:`DecayModel.scaled` and ``velocity_multiplier`` (to rounding: one exponential
        instead of an exponential and a power); a lake reach keeps :math:`1 - R` at its
        last piece and 1 elsewhere, with :math:`R` from the scaled settling velocity. Runs
        drawn block by block make the :class:`_PieceRuns` once.

        The travel times and rates are checked here (:meth:`reach_keep`).
        """
        self.reach_keep(model)  # checks the travel times and rates once
        lake = self.lake
        tau_d = np.where(lake, 0.0, travel_time_hours(self.net)) / 24.0
        k = np.zeros(self.n)
        kpd = model.classes.k_per_day
        k[~lake] = kpd[0] if self.cls is None else np.asarray(kpd)[self.cls]
        rp = np.asarray(reach_pos, dtype=np.int64)
        c = (k * tau_d)[rp] * np.asarray(phi, dtype=np.float64)
        none: np.ndarray = np.zeros(0, dtype=np.int64)
        lake_cols = tail_cols = tail_lakes = none
        settling: np.ndarray = np.zeros(0)
        area = outflow = settling
        lake_p = lake[rp]
        if lake_p.any():
            pos = np.empty(rp.size, dtype=np.int64)
            pos[order] = np.arange(rp.size)
            lake_cols = pos[lake_p]
            if self.has_lakes:
                last = np.ones(rp.size, dtype=bool)
                last[:-1] = rp[1:] != rp[:-1]
                at_reach = np.full(self.n, -1, dtype=np.int64)
                at_reach[self.outl] = self.at
                tail = np.flatnonzero(lake_p & last & (at_reach[rp] >= 0))
                tail_cols, tail_lakes = pos[tail], at_reach[rp[tail]]
                settling = np.array([model.settling_velocity(nm) for nm in self.names])
                area, outflow = self.area, self.outflow
        return _PieceRuns(
            c=c[order], lake_cols=lake_cols, tail_cols=tail_cols, tail_lakes=tail_lakes,
            settling=settling, area=area, outflow=outflow,
        )  # fmt: skip


@dataclass(frozen=True, eq=False, kw_only=True)
class _PieceRuns:
    r"""The parts of the runs' piece keep factors that no draw changes.

    Made by :meth:`_KeepTerms.piece_runs`.

    Attributes
    ----------
    c
        :math:`k \tau \phi` of every piece (days x 1/day), in the runs' column order.
    lake_cols
        Columns of the lake pieces (keep 1, but at a lake's outlet piece).
    tail_cols, tail_lakes
        Columns of the lakes' outlet pieces, and the lake of each.
    settling, area, outflow
        Each lake's settling velocity, area and outflow (:func:`lake_retention`).
    """

    c: np.ndarray
    lake_cols: np.ndarray
    tail_cols: np.ndarray
    tail_lakes: np.ndarray
    settling: np.ndarray
    area: np.ndarray
    outflow: np.ndarray

    def keep(self, draws: np.ndarray) -> np.ndarray:
        """Keep factors of the runs of ``draws`` (runs x 3), one row per run."""
        a = draws[:, 0] / draws[:, 2]
        keep = np.exp(-a[:, None] * self.c[None, :])
        if self.lake_cols.size:
            keep[:, self.lake_cols] = 1.0
        if self.tail_cols.size:
            r_lake = lake_retention(self.settling[None, :] * draws[:, 1:2], self.area, self.outflow)
            keep[:, self.tail_cols] = 1.0 - r_lake[:, self.tail_lakes]
        return keep


def piece_keep(
    net: Any,
    reach_pos: np.ndarray,
    phi: np.ndarray,
    model: DecayModel | None = None,
    *,
    velocity_multiplier: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep factors of reach pieces (reaches cut at borders), from :func:`reach_keep`.

    A river piece keeps ``keep_reach ** phi`` (its share of the reach's travel time). A lake
    reach retains once: its last piece keeps ``keep_reach`` and the others 1, so a load
    entering anywhere on the reach sees the lake's retention exactly once.

    Parameters
    ----------
    net
        The reach network.
    reach_pos
        Reach position of each piece, pieces of a reach consecutive and in flow order.
    phi
        Each piece's share of its reach.
    model, velocity_multiplier
        As in :func:`reach_keep`.

    Returns
    -------
    keep, is_lake : numpy.ndarray
        Aligned to pieces.
    """
    keep_r, lake_r = reach_keep(net, model, velocity_multiplier=velocity_multiplier)
    rp = np.asarray(reach_pos, dtype=np.int64)
    _check_reach_pos(rp, keep_r.size)
    return _pieces_keep(keep_r, lake_r, rp, phi)


def _check_reach_pos(
    rp: np.ndarray,
    n_reaches: int,
    *,
    piece_ids: np.ndarray | None = None,
    hint: str = "pass the network the pieces were made on",
) -> None:
    """Raise unless every piece's reach position is a reach of a network of ``n_reaches``.

    The message names the pieces by ``piece_ids`` when given, else by their positions.
    """
    off = np.flatnonzero((rp < 0) | (rp >= n_reaches))
    if off.size:
        which = (
            f"pieces {off[:10].tolist()}"
            if piece_ids is None
            else f"piece_id {piece_ids[off[:10]].tolist()}"
        )
        msg = (
            f"{off.size} piece(s) have a reach position (reach_pos) outside [0, {n_reaches}) "
            f"(the network has {n_reaches} reaches), e.g. {which} at "
            f"{rp[off[:10]].tolist()}; {hint}"
        )
        raise InputError(msg)


def _pieces_keep(
    keep_r: np.ndarray, lake_r: np.ndarray, rp: np.ndarray, phi: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Piece keep factors and lake flags from those of the reaches (:func:`piece_keep`)."""
    keep = keep_r[rp] ** np.asarray(phi, dtype=np.float64)
    lake = lake_r[rp]
    if lake.any():
        last = np.ones(rp.size, dtype=bool)
        last[:-1] = rp[1:] != rp[:-1]
        keep = np.where(lake, np.where(last, keep_r[rp], 1.0), keep)
    return keep, lake


def _classes_from(table: Mapping[str, Any]) -> DecayClasses:
    return DecayClasses(
        thresholds_m3s=tuple(table.get("thresholds_m3s", ())),
        k_per_day=tuple(table.get("k_per_day", ())),
        source=str(table.get("source", "given in the basin config (no source stated)")),
    )


def decay_model_from_config(config: BasinConfig) -> DecayModel:
    """Build the decay model a basin config asks for (``[spillover]``, ``[lakes]``, ``[loads]``).

    ``[spillover] decay_per_day`` (a single rate) overrides ``decay_classes``; without
    either, :data:`DEFAULT_DECAY_CLASSES`. The lake v_s of ``[loads] parameter`` comes from
    ``[spillover] lake_settling_velocity_m_yr``, else :data:`DEFAULT_SETTLING_VELOCITY_M_YR`;
    a lake's own ``settling_velocity_m_yr`` in ``[[lakes.lake]]`` wins for that lake.

    Raises
    ------
    InputError
        If ``[loads] parameter`` has no lake settling velocity v_s: none in the config and
        no default in :data:`DEFAULT_SETTLING_VELOCITY_M_YR`; set ``[spillover]
        lake_settling_velocity_m_yr`` for it, with its source.

    Examples
    --------
    >>> from basingov.datasets import load_basin
    >>> m = decay_model_from_config(load_basin("thames").config)
    >>> m.parameter, m.classes.n_classes
    ('TN', 3)
    """
    sp = config.spillover
    par = config.loads.parameter
    if sp.decay_per_day is not None:
        classes = DecayClasses.uniform(
            sp.decay_per_day, source="[spillover] decay_per_day of the basin config"
        )
    elif sp.decay_classes:
        classes = _classes_from(sp.decay_classes)
    else:
        classes = DEFAULT_DECAY_CLASSES
    kwargs: dict[str, Any] = {"classes": classes}
    vs_cfg = dict(sp.lake_settling_velocity_m_yr or {})
    if par in vs_cfg:
        kwargs["settling_velocity_m_yr"] = float(vs_cfg[par])
        kwargs["settling_velocity_source"] = (
            sp.lake_settling_velocity_source or "[spillover] lake_settling_velocity_m_yr"
        )
    own: dict[str, float] = {}
    own_src: dict[str, str] = {}
    lakes = getattr(config, "lakes", None)
    for li in getattr(lakes, "lakes", ()) or ():
        if par in li.settling_velocity_m_yr:
            own[li.name] = float(li.settling_velocity_m_yr[par])
            own_src[li.name] = li.settling_velocity_source or "[[lakes.lake]] of the basin config"
    kwargs["lake_settling_velocity_m_yr"] = own
    kwargs["lake_settling_velocity_source"] = own_src
    return DecayModel.for_parameter(par, **kwargs)
