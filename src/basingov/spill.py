r"""Spill early warning: travel times, arrival and peak at every downstream border.

A release of mass :math:`M` (kg) is advected downstream with the reach velocities
(:math:`\tau_i = L_i / v_i`); at a point reached after time :math:`t` the cloud has
spread by longitudinal dispersion. For an instantaneous release the 1-D
advection-dispersion equation (Taylor 1954; e.g. the review in Environmental Processes,
doi:10.1007/s40710-014-0018-6) gives the peak cross-section-mean concentration

.. math::

    C_{max}(t) = \frac{M\, m\, e^{-k t}}{A \sqrt{4 \pi D t}}, \qquad A = Q / v,

with :math:`m` the share of the mass taking that path (bifurcations) and :math:`k` an
optional decay rate. The leading edge (two standard deviations of the cloud ahead of the
centroid) arrives at :math:`t - 2\sqrt{2 D t}/v`; the peak at :math:`t`.

Near field. The formula describes an instantaneous release already mixed over the
cross-section (:data:`PEAK_MODEL`); it grows as :math:`1/\sqrt{t}` towards the release
(1,000 kg released 6.5 cm above the German-Dutch border of the Rhine gave 53 mg/L at mean flow
and 748 mg/L at 100 m3/s). Where the leading edge is at a border from the release on
(:math:`v t \le 2\sqrt{2 D t}`, an arrival of 0), the border lies within the cloud as
released: like the jurisdictions holding the release, it is in the near field and gets no
peak estimate (``near_field``), or, below a lake, the mass fully mixed in the lake.

Above the density of water. :math:`A = Q / v` shrinks with the flow (as :math:`Q^{1-b}`
under :math:`v = a Q^b`), so at a tiny flow the formula gives peaks no solution can have
(``--flow 1e-9`` on the Rhine gave 2.1e9 mg/L 118 h below a release at the German-Dutch
border). A dissolved concentration cannot exceed the density of water, about 1 kg per
litre (:data:`MAX_PEAK_MG_L`, 1e6 mg/L): a modelled peak above it means the release is not
mixed over the cross-section there at this flow, and the border gets no peak estimate
(``above_water_density``).

Lakes (DESIGN §2.9). A lake or reservoir on the path (reaches marked by
:func:`basingov.network.mark_lakes`) is not a river reach: the plume mixes into it and
leaves it after the lake's residence time :math:`\tau_w = V / Q_{out}`. Jurisdictions on the
lake are warned when the plume enters it (no peak estimate: the near field of a lake is not
modelled); below the lake the cloud restarts from the lake outlet at :math:`t_{in} +
\tau_w`, its dispersion counted from there, and its peak cannot exceed the concentration
of the released mass fully mixed in the lake volume, :math:`M m e^{-kt} / V` (the largest
lake passed). This is the
spec's "a lake holds the plume for its residence time"; a real lake releases diluted water
from the start, so the first traces can come earlier than the times given below it.

Flow (DESIGN §2.9). Accidents rarely happen at mean flow. With a flow :math:`Q` at the
release, every discharge on the path is scaled by the same ratio :math:`r = Q / \bar Q`
(:math:`\bar Q` the mean flow of the release reach) and every river velocity by
:math:`r^b`, consistently with hydraulic geometry :math:`v = a Q^b`
(:data:`basingov.network.DEFAULT_VELOCITY_B`); lake residence times divide by :math:`r`. A
flow percentile is turned into a ratio by a lognormal flow-duration curve
(:func:`flow_duration_ratio`).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.special import ndtri

from basingov._checks import check_choice, lonlat, piece_levels, require_known
from basingov.datasets import Basin, load_basin, load_network
from basingov.errors import BasingovWarning, EmptyResultError, InputError
from basingov.io import to_jsonable
from basingov.network import (
    DEFAULT_VELOCITY_B,
    DISCHARGE_SOURCES,
    DOWNSTREAM_MODES,
    DownstreamMode,
    lake_reaches,
    navigate,
    snap_point,
    travel_time_hours,
)
from basingov.overlay import split_reaches

__all__ = [
    "DEFAULT_DISPERSION_M2_S",
    "FLOW_RATIO_RANGE",
    "MAX_PEAK_MG_L",
    "NOTIFICATION_COLUMNS",
    "PEAK_MODEL",
    "SpillResult",
    "flow_duration_ratio",
    "spill_notifications",
    "travel_times",
    "warn",
]

#: Longitudinal dispersion coefficient D (m2/s). An *assumption* of the order of the
#: values reported for large rivers (10^2-10^3 m2/s); no basin-specific calibrated value
#: was available to us, and no empirical formula could be applied because the networks
#: carry no channel width or depth. Override with ``dispersion_m2_s``.
DEFAULT_DISPERSION_M2_S = 300.0

#: Highest peak concentration estimated, mg/L: the density of water, about 1 kg per litre.
#: No dissolved concentration can exceed it; a modelled peak above it (a tiny flow makes
#: A = Q / v tiny) means the release is not mixed over the cross-section there, and no peak
#: is estimated (``above_water_density``; ``peak_max_mg_l`` of :meth:`SpillResult.as_dict`).
MAX_PEAK_MG_L = 1e6

#: What the peak concentrations assume (``peak_model`` of :meth:`SpillResult.as_dict`).
PEAK_MODEL = (
    "ASSUMPTION: an instantaneous release mixed over the cross-section at once, spread by "
    "1-D advection-dispersion (Taylor 1954): peak C = M m exp(-k t) / (A sqrt(4 pi D t)), "
    "A = Q / v, when the cloud's centre passes after t. C grows as 1/sqrt(t) towards the "
    "release: where the cloud's leading edge (2 sqrt(2 D t) ahead of its centre) is at a "
    "border from the release on (arrival 0, near_field), no peak is estimated, as for the "
    "jurisdictions holding the release. A shrinks with the flow (v = a Q^b): where C "
    "exceeds 1e6 mg/L (peak_max_mg_l), the density of water (1 kg per litre), which no "
    "dissolved concentration can exceed, the release is not mixed over the cross-section "
    "at this flow and no peak is estimated (above_water_density)"
)

#: Columns of the notification list (DESIGN §2.13, spill command), in order.
NOTIFICATION_COLUMNS: tuple[str, ...] = (
    "jur_id",
    "name",
    "level",
    "crossing_lon",
    "crossing_lat",
    "arrival_hours",
    "peak_hours",
    "peak_mg_l",
)


def flow_duration_ratio(percentile: float, *, sigma_ln: float) -> float:
    r"""Flow exceeded ``percentile`` % of the time, as a ratio to the mean flow.

    A lognormal flow-duration curve with mean 1 and standard deviation ``sigma_ln`` of
    ln(flow):

    .. math:: Q_P / \bar Q = \exp(-\sigma^2/2 + \sigma\, \Phi^{-1}(1 - P/100))

    ``P`` follows the hydrological convention: Q95 is a low flow (exceeded 95 % of the
    time), Q10 a high one. The lognormal shape is an assumption; ``sigma_ln`` comes from the
    basin config (``[hydraulics] flow_duration_sigma_ln`` and its source).

    Parameters
    ----------
    percentile
        Exceedance percentage P, strictly between 0 and 100, and not so close to 0 that
        1 - P/100 rounds to 1 (below about 1e-14: an infinite flow).
    sigma_ln
        Standard deviation of ln(daily flow), > 0.

    Returns
    -------
    float
        :math:`Q_P / \bar Q`.

    Raises
    ------
    InputError
        If ``percentile`` or ``sigma_ln`` is out of range (the message for a percentile
        too close to 0 asks for at least 1e-6, or the flow itself).

    Examples
    --------
    >>> round(flow_duration_ratio(50, sigma_ln=0.786), 3)  # median below the mean
    0.734
    >>> round(flow_duration_ratio(95, sigma_ln=0.786), 3)
    0.202
    """
    if not 0 < percentile < 100:
        msg = f"the flow percentile must lie strictly between 0 and 100, got {percentile}"
        raise InputError(msg)
    if not (np.isfinite(sigma_ln) and sigma_ln > 0):
        msg = f"flow_duration_sigma_ln must be > 0, got {sigma_ln}"
        raise InputError(msg)
    # the standard normal quantile (scipy.stats.norm.ppf computes this same function, but
    # importing scipy.stats takes about a second)
    z = float(ndtri(1.0 - percentile / 100.0))
    ratio = float(np.exp(-0.5 * sigma_ln**2 + sigma_ln * z))
    if not np.isfinite(ratio):  # 1 - P/100 rounded to 1: P below about 1e-14
        msg = (
            f"the flow percentile {percentile:g} is too close to 0 for the lognormal "
            "flow-duration curve: 1 - P/100 rounds to 1 in double precision, an infinite "
            "flow; give a percentile of at least 1e-6, or the flow itself (flow_m3s, CLI "
            "--flow)"
        )
        raise InputError(msg)
    return ratio


def _lake_holds(net: Any, flow_ratio: float) -> dict[int, tuple[float, float, str]]:
    """Outlet reach position -> (residence hours at the flow, volume m3, lake name)."""
    lt = lake_reaches(net)
    out: dict[int, tuple[float, float, str]] = {}
    qs = lt["outflow_m3s"].to_numpy(dtype=np.float64) * flow_ratio
    vols = lt["volume_km3"].to_numpy(dtype=np.float64) * 1e9
    for q, vol, outlets, name in zip(
        qs, vols, lt["outlet_reach_ids"].astype(str), lt["lake_name"].astype(str), strict=True
    ):
        hold = vol / q / 3600.0 if q > 0 and np.isfinite(vol) else np.nan
        for rid in outlets.split():
            out[int(net.position([int(rid)])[0])] = (float(hold), float(vol), name)
    return out


def travel_times(
    net: Any,
    start: int,
    *,
    start_fraction: float = 0.0,
    mode: DownstreamMode = "DM",
    flow_ratio: float = 1.0,
    velocity_b: float = DEFAULT_VELOCITY_B,
) -> pd.DataFrame:
    """Time for a release to reach each downstream reach, and the share of mass that does.

    Parameters
    ----------
    net
        A :class:`basingov.network.RiverNetwork` (``length_km``, ``velocity_ms``).
    start
        Reach id of the release.
    start_fraction
        Position of the release along the start reach (0 upstream end, 1 downstream).
    mode
        ``"DM"``: the main downstream links only; ``"DD"``: every bifurcation branch, with
        the mass split by the branch fractions and the earliest arrival kept.
    flow_ratio
        Flow at the release over its mean flow; river velocities scale by
        ``flow_ratio ** velocity_b`` and lake residence times by ``1 / flow_ratio``.
    velocity_b
        Exponent b of :math:`v = a Q^b`.

    Returns
    -------
    pandas.DataFrame
        ``reach_id, position, t_in_hours`` (at the reach's upstream end; at the release
        point for the start reach), ``t_out_hours, mass_fraction``, upstream first; and
        ``lake`` (the lake a lake reach belongs to, else ""), ``hold_hours`` (the lake's
        residence time at a lake's outlet reach, else 0), ``last_lake``,
        ``lake_exit_hours`` and ``lake_volume_m3`` (the last lake the plume left before or
        at this reach: its name and when the plume left it; the largest lake volume the
        plume has passed; "" / NaN if none).

    Raises
    ------
    InputError
        For an unknown mode or reach, a fraction outside [0, 1], or a reach on the path
        without a positive velocity.

    Examples
    --------
    Two 3.6 km reaches at 1 and 0.5 m/s; the release is halfway down reach 1:

    >>> from basingov.examples import example_network
    >>> net = example_network([2, -1], length_m=3600, columns={"velocity_ms": [1.0, 0.5]})
    >>> travel_times(net, 1, start_fraction=0.5)["t_out_hours"].tolist()
    [0.5, 2.5]
    """
    check_choice(mode, DOWNSTREAM_MODES, name="mode")
    if not 0.0 <= start_fraction <= 1.0:
        msg = f"start_fraction must lie in [0, 1], got {start_fraction}"
        raise InputError(msg)
    if not (np.isfinite(flow_ratio) and flow_ratio > 0):
        msg = f"flow_ratio must be > 0 (flow at the release over its mean flow), got {flow_ratio}"
        raise InputError(msg)
    path = navigate(net, start, mode=mode)
    r = net.reaches
    vmult = flow_ratio**velocity_b
    v = r["velocity_ms"].to_numpy(dtype=np.float64)[path] * vmult
    lake_of = (
        r["lake_name"].fillna("").astype(str).to_numpy()[path]
        if "lake_name" in r.columns
        else np.full(path.size, "", dtype=object)
    )
    in_lake = (r["is_lake"].to_numpy(dtype=bool)[path] if "is_lake" in r else lake_of != "") & (
        lake_of != ""
    )
    holds = _lake_holds(net, flow_ratio) if in_lake.any() else {}
    hold = np.array([holds.get(int(p), (0.0, np.nan, ""))[0] for p in path])
    river = ~in_lake | ~np.isfinite(hold)  # a lake of unknown volume is crossed as a river
    bad = river & ~(np.isfinite(v) & (v > 0))
    if bad.any():
        ids = r["reach_id"].to_numpy()[path][bad][:10].tolist()
        msg = f"reach(es) {ids} on the spill path have no positive velocity_ms; fill it"
        raise InputError(msg)
    tau = np.where(river, travel_time_hours(net, velocity_multiplier=vmult)[path], hold)
    local = {int(p): k for k, p in enumerate(path)}
    n = path.size
    t_in = np.full(n, np.inf)
    mass = np.zeros(n)
    t_in[0] = 0.0
    mass[0] = 1.0
    tau = tau.copy()
    if river[0]:
        tau[0] *= 1.0 - start_fraction
    last = np.full(n, "", dtype=object)
    exit_h = np.full(n, np.nan)
    vol = np.full(n, np.nan)
    links: dict[int, list[tuple[int, float]]] = {}
    bif = getattr(net, "bifurcations", None)
    ids = r["reach_id"].to_numpy()
    if mode == "DD" and bif is not None and len(bif):
        rid = pd.Index(ids)
        for a, b, f in zip(
            rid.get_indexer(bif["reach_id"]), bif["downstream_id"], bif["fraction"], strict=True
        ):
            d = int(rid.get_indexer([b])[0]) if b != -1 else -1
            links.setdefault(int(a), []).append((d, float(f)))
    # navigate lists reaches upstream first, in topological order along the path
    for k in range(n):
        p = int(path[k])
        t_out = t_in[k] + tau[k]
        if p in holds and np.isfinite(holds[p][0]):
            # the mass has been mixed into the largest volume passed so far
            last[k], exit_h[k] = holds[p][2], t_out
            vol[k] = np.fmax(vol[k], holds[p][1])
        outs = links.get(p, [(int(net.idx_ds[p]), 1.0)])
        for d, f in outs:
            if d in local:
                j = local[d]
                if t_out < t_in[j]:
                    t_in[j] = t_out
                    last[j], exit_h[j], vol[j] = last[k], exit_h[k], vol[k]
                mass[j] += mass[k] * f
    return pd.DataFrame(
        {
            "reach_id": ids[path],
            "position": path,
            "t_in_hours": t_in,
            "t_out_hours": t_in + tau,
            "mass_fraction": mass,
            "lake": np.where(in_lake, lake_of, ""),
            "hold_hours": np.where(in_lake & ~river, tau, 0.0),
            "last_lake": last,
            "lake_exit_hours": exit_h,
            "lake_volume_m3": vol,
        }
    )


#: Release years accepted: arrival times must stay representable dates.
RELEASE_YEARS = (1800, 2200)
#: Dispersion coefficients accepted besides 0 (plug flow, no peak estimate), m2/s: the peak
#: grows as 1/sqrt(D), so a tiny D gives absurd peaks (D = 1e-300 gave 1e149 mg/L). A
#: plausibility guard around the 10^2-10^3 m2/s of large rivers, not a measured range.
DISPERSION_RANGE_M2_S = (0.01, 1e4)
#: Largest flow accepted at a release, m3/s: the Amazon's mean flow is about 2e5 m3/s.
MAX_FLOW_M3S = 1e6
#: Range of a given flow over the release reach's mean flow that gets no warning: the lowest
#: and highest mean daily flow over the site's mean flow at the 22 UKCEH Thames Initiative
#: sites of data/monitoring/thames_observations.csv (8,884 flows on the weekly sampling
#: days, 2009-2017, the only daily flows shipped): 0.00201 (TC19, Thames at Hannington) and
#: 11.57 (TC9, Cole at Lynt Bridge), rounded outwards. The Rhine's Basel statistics (MNQ 429
#: and MHQ 2,650 against MQ 1,040 m3/s: 0.41 and 2.55) lie inside. The flood of a small,
#: flashy river can lie above it (the warning is a statement, not a refusal);
#: tests/test_spill.py recomputes the range from the shipped file.
FLOW_RATIO_RANGE = (0.002, 11.6)


def _release_time(time: Any) -> dt.datetime | None:
    """Read a release time: ISO 8601 text, a datetime, a date (its midnight) or None."""
    if time is None or isinstance(time, dt.datetime):
        return time
    if isinstance(time, dt.date):  # date + timedelta(hours) is a date: the hours were lost
        return dt.datetime.combine(time, dt.time())
    if isinstance(time, str):
        try:
            return dt.datetime.fromisoformat(time)
        except ValueError:
            pass
    msg = f"time must be an ISO 8601 date-time (e.g. 2026-11-23T08:00), got {time!r}"
    raise InputError(msg)


def _check_release(
    mass_kg: Any,
    dispersion_m2_s: Any,
    decay_per_day: Any,
    release: dt.datetime | None,
    *,
    tolerance_m: Any = 0.0,
) -> None:
    """Refuse non-finite, negative or out-of-range release parameters (one error)."""
    problems = []

    def finite(v: Any) -> bool:
        try:
            return bool(np.isfinite(float(v)))
        except (TypeError, ValueError):
            return False

    if not (finite(mass_kg) and float(mass_kg) > 0):
        problems.append(f"mass_kg must be a finite number > 0, got {mass_kg!r}")
    if dispersion_m2_s is not None and not (finite(dispersion_m2_s) and dispersion_m2_s >= 0):
        problems.append(f"dispersion_m2_s must be a finite number >= 0, got {dispersion_m2_s!r}")
    elif dispersion_m2_s and not (
        DISPERSION_RANGE_M2_S[0] <= dispersion_m2_s <= DISPERSION_RANGE_M2_S[1]
    ):
        lo, hi = DISPERSION_RANGE_M2_S
        problems.append(
            f"dispersion_m2_s must be 0 (plug flow, no peak estimate) or between {lo:g} and "
            f"{hi:,.0f} m2/s, got {dispersion_m2_s!r}; large rivers show 10^2-10^3 m2/s"
        )
    if not (finite(decay_per_day) and float(decay_per_day) >= 0):
        problems.append(f"decay_per_day must be a finite number >= 0, got {decay_per_day!r}")
    if not (finite(tolerance_m) and float(tolerance_m) >= 0):
        problems.append(f"tolerance_m must be a finite number >= 0, got {tolerance_m!r}")
    if release is not None and not RELEASE_YEARS[0] <= release.year <= RELEASE_YEARS[1]:
        problems.append(
            f"release time {release.isoformat()} is outside the years "
            f"{RELEASE_YEARS[0]}-{RELEASE_YEARS[1]}; give the date of the release"
        )
    if problems:
        raise InputError("; ".join(problems))


def spill_notifications(
    net: Any,
    pieces: gpd.GeoDataFrame,
    start: int,
    mass_kg: float,
    *,
    levels: Sequence[str],
    start_fraction: float = 0.0,
    mode: DownstreamMode = "DM",
    dispersion_m2_s: float = DEFAULT_DISPERSION_M2_S,
    decay_per_day: float = 0.0,
    release_time: dt.datetime | None = None,
    level_numbers: Sequence[int] | None = None,
    flow_ratio: float = 1.0,
    velocity_b: float = DEFAULT_VELOCITY_B,
) -> pd.DataFrame:
    """Who must be warned, and by when: one row per jurisdiction reached, by arrival.

    Along the downstream path every border where the jurisdiction changes (at each
    level) is a crossing; the first crossing into each jurisdiction gives its arrival
    time, peak time and peak concentration (module docstring). The jurisdictions holding
    the release come first with arrival 0 and no peak estimate (near field), as do those
    whose border lies within the cloud from the release on (``near_field``) and those
    whose modelled peak exceeds the density of water (``above_water_density``).

    Parameters
    ----------
    net
        The :class:`basingov.network.RiverNetwork` (``discharge_m3s, velocity_ms``).
    pieces
        Piece table (:func:`basingov.overlay.split_reaches`) covering at least the reaches
        on the path, with ``reach_id``, ``fraction_start, fraction_end``, ``piece`` and
        ``jur_<level>, name_<level>``.
    start
        Reach id of the release.
    mass_kg
        Released mass (> 0).
    levels
        Level names to notify, coarsest first.
    start_fraction
        Position of the release along the start reach.
    mode
        ``"DM"`` or ``"DD"`` (:func:`travel_times`).
    dispersion_m2_s
        Longitudinal dispersion coefficient; 0 gives no peak estimate (plug flow).
    decay_per_day
        First-order decay of the substance (0: conservative, the worst case).
    release_time
        Optional release time; adds ``arrival_time`` and ``peak_time`` (ISO 8601).
    level_numbers
        Numbers written in ``level`` (default: 0, 1, ... in the order of ``levels``).
    flow_ratio, velocity_b
        Flow at the release over its mean flow, and the hydraulic-geometry exponent
        (:func:`travel_times`); discharges on the path are scaled by ``flow_ratio``.

    Returns
    -------
    pandas.DataFrame
        :data:`NOTIFICATION_COLUMNS` plus ``level_name, reach_id, mass_fraction`` and
        ``lake`` (the lake the jurisdiction is warned on, or the last lake the plume passed,
        held there for its residence time; "" if none), ``on_lake`` (True when warned on
        the lake itself) and ``near_field`` (True where no river peak is estimated because
        the border lies within the cloud from the release on, and for the jurisdictions
        holding the release) and ``above_water_density`` (True where the modelled peak
        exceeded :data:`MAX_PEAK_MG_L`, the density of water, and no peak is estimated)
        (and the two time columns), sorted by arrival.

    Raises
    ------
    InputError
        For a non-positive mass, negative rates, unknown levels or mode, level_numbers not
        one per level, or pieces missing for reaches on the path.
    EmptyResultError
        If the path has no piece at all.
    """
    release_time = _release_time(release_time)
    _check_release(mass_kg, dispersion_m2_s, decay_per_day, release_time)
    require_known(
        levels,
        piece_levels(pieces),
        "level(s) {unknown} are not in the piece table; allowed levels are {known}",
    )
    nums = list(range(len(levels))) if level_numbers is None else list(level_numbers)
    if len(nums) != len(levels):
        msg = (
            f"level_numbers has {len(nums)} number(s) {nums} for the {len(levels)} level(s) "
            f"{list(levels)}; give one number per level"
        )
        raise InputError(msg)
    tt = travel_times(
        net, start, start_fraction=start_fraction, mode=mode, flow_ratio=flow_ratio,
        velocity_b=velocity_b,
    )  # fmt: skip
    sort_cols = ["reach_id", "piece"] if "piece" in pieces.columns else ["reach_id"]
    p = pieces[pieces["reach_id"].isin(tt["reach_id"])].sort_values(sort_cols)
    if p.empty:
        msg = f"no piece lies on the spill path from reach {start}"
        raise EmptyResultError(msg)
    absent = sorted(set(tt["reach_id"]) - set(p["reach_id"]))
    if absent:
        msg = f"reach(es) {absent[:10]} on the spill path have no piece; split them first"
        raise InputError(msg)
    info = tt.set_index("reach_id")
    pos = info.loc[p["reach_id"], "position"].to_numpy()
    tin = info.loc[p["reach_id"], "t_in_hours"].to_numpy()
    tout = info.loc[p["reach_id"], "t_out_hours"].to_numpy()
    mfrac = info.loc[p["reach_id"], "mass_fraction"].to_numpy()
    lake_at = info.loc[p["reach_id"], "lake"].to_numpy()
    hold = info.loc[p["reach_id"], "hold_hours"].to_numpy()
    last_lake = info.loc[p["reach_id"], "last_lake"].to_numpy()
    t_exit = info.loc[p["reach_id"], "lake_exit_hours"].to_numpy()
    vol = info.loc[p["reach_id"], "lake_volume_m3"].to_numpy()
    fs = p["fraction_start"].to_numpy(dtype=float)
    fe = p["fraction_end"].to_numpy(dtype=float)
    is_start = p["reach_id"].to_numpy() == start
    # time at the upstream end of each piece
    span = np.where(is_start, 1.0 - start_fraction, 1.0)
    f_rel = np.where(is_start, (fs - start_fraction), fs)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_piece = tin + (tout - tin) * np.where(span > 0, f_rel / span, 0.0)
    in_lake = lake_at != ""
    # a lake is entered at once: every piece of a lake reach is reached at the reach's entry
    # (the hold of an outlet reach counts for what lies below it, not for its own pieces)
    t_piece = np.where(in_lake & (hold > 0), tin, t_piece)
    on = ~is_start | (fe > start_fraction) | (fe >= 1.0)
    p, pos, t_piece, mfrac = p[on], pos[on], t_piece[on], mfrac[on]
    in_lake, lake_at, last_lake, t_exit, vol = (
        in_lake[on],
        lake_at[on],
        last_lake[on],
        t_exit[on],
        vol[on],
    )
    is_start = is_start[on]
    release_piece = np.flatnonzero(is_start)[:1]
    q = net.reaches["discharge_m3s"].to_numpy(dtype=np.float64)[pos] * flow_ratio
    v = net.reaches["velocity_ms"].to_numpy(dtype=np.float64)[pos] * flow_ratio**velocity_b
    starts = shapely.get_point(shapely.line_merge(p.geometry.to_numpy()), 0)
    pts = gpd.GeoSeries(starts, crs=pieces.crs).to_crs("EPSG:4326").to_numpy()
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    rows = []
    for lv, num in zip(levels, nums, strict=True):
        jur = p[f"jur_{lv}"].astype(str).to_numpy()
        name = p[f"name_{lv}"].astype(str).to_numpy() if f"name_{lv}" in p else jur
        seen: set[str] = set()
        for k in release_piece:
            seen.add(jur[k])
            rows.append((jur[k], name[k], num, lv, lon[k], lat[k], 0.0, 0.0, np.nan,
                         int(p["reach_id"].iloc[k]), 1.0, lake_at[k],
                         bool(in_lake[k]), True, False))  # fmt: skip
        for k in np.argsort(t_piece, kind="stable"):
            if jur[k] in seen or jur[k] == "":
                continue
            seen.add(jur[k])
            t = max(float(t_piece[k]), 1e-9)
            # dispersion restarts where the plume left the last lake
            t_d = t - t_exit[k] if np.isfinite(t_exit[k]) else t
            ts = max(t_d, 1e-9) * 3600.0
            c = mass_kg * mfrac[k] * np.exp(-decay_per_day * t / 24.0)
            near = False
            if in_lake[k]:
                peak, arrival = np.nan, t
            elif dispersion_m2_s > 0 and v[k] > 0 and q[k] > 0:
                area = q[k] / v[k]
                sig = np.sqrt(2.0 * dispersion_m2_s * ts)
                # the leading edge is here from the release (or the lake exit) on: the
                # border lies within the cloud as released, where the 1-D peak grows
                # without bound (PEAK_MODEL)
                near = v[k] * ts <= 2.0 * sig
                peak = (
                    np.nan
                    if near
                    else c / (area * np.sqrt(4.0 * np.pi * dispersion_m2_s * ts)) * 1000.0
                )
                if np.isfinite(vol[k]) and vol[k] > 0:
                    # fully mixed in the lake volume
                    peak = c / vol[k] * 1000.0 if near else min(peak, c / vol[k] * 1000.0)
                arrival = max(0.0 if not np.isfinite(t_exit[k]) else float(t_exit[k]),
                              t - 2.0 * sig / v[k] / 3600.0)  # fmt: skip
            else:
                peak, arrival = np.nan, t
            # denser than water: not mixed over the cross-section at this flow (PEAK_MODEL)
            dense = bool(peak > MAX_PEAK_MG_L)
            if dense:
                peak = np.nan
            lake = lake_at[k] if in_lake[k] else last_lake[k]
            rows.append((jur[k], name[k], num, lv, lon[k], lat[k], arrival, t, peak,
                         int(p["reach_id"].iloc[k]), float(mfrac[k]), lake,
                         bool(in_lake[k]), bool(near), dense))  # fmt: skip
    cols = [*NOTIFICATION_COLUMNS[:3], "level_name", *NOTIFICATION_COLUMNS[3:]]
    extra = ["reach_id", "mass_fraction", "lake", "on_lake", "near_field", "above_water_density"]
    out = pd.DataFrame(rows, columns=[*cols, *extra])
    out = out.sort_values(["arrival_hours", "level"], kind="stable").reset_index(drop=True)
    if release_time is not None and len(out):
        last = out.iloc[int(np.argmax(out["peak_hours"].to_numpy()))]
        try:
            release_time + dt.timedelta(hours=float(last["peak_hours"]))
        except OverflowError:
            msg = (
                f"the plume reaches {last['jur_id']} ({last['name']}) "
                f"{last['peak_hours']:,.0f} hours after the release, beyond the dates that "
                f"can follow the release time {release_time.isoformat()}; at "
                f"{flow_ratio:g} times the mean flow, check the flow at the release (a very "
                "low flow holds the plume in lakes for ages), or give no release time"
            )
            raise InputError(msg) from None
    if release_time is not None:
        out["arrival_time"] = [
            (release_time + dt.timedelta(hours=float(h))).isoformat() for h in out["arrival_hours"]
        ]
        out["peak_time"] = [
            (release_time + dt.timedelta(hours=float(h))).isoformat() for h in out["peak_hours"]
        ]
    return out


# --- the whole workflow: basin + point + mass -> notification list ------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class SpillResult:
    """The notification list for one release, with what it was computed from.

    Attributes
    ----------
    basin, network
        Basin name and ``[networks.<key>]`` key used.
    lon, lat, mass_kg, time
        The release as given (``time`` as ISO 8601 text, or None).
    reach_id, snap_distance_m, fraction
        The reach the release snapped to, how far away, and where along it (0 upstream end).
    mode, dispersion_m2_s, decay_per_day
        The options used (:func:`spill_notifications`).
    notifications
        :func:`spill_notifications`: one row per jurisdiction reached, sorted by arrival.
    path
        The reaches on the path downstream of the release (``reach_id``, geometry), for a
        map of the scenario.
    jurisdictions
        The basin's jurisdictions (for a map of the scenario).
    flow
        The flow the warning was computed for: ``q_mean_m3s`` (mean flow of the release
        reach) and ``q_mean_source`` (how it was had: the network's discharge attribute,
        runoff fitted to the basin's gauges, or an assumed runoff depth),
        ``q_release_m3s``, ``ratio``, ``velocity_b``, ``source`` (and ``percentile``,
        ``flow_duration_sigma_ln`` for a percentile).
    """

    basin: str
    network: str
    lon: float
    lat: float
    reach_id: int
    snap_distance_m: float
    fraction: float
    mass_kg: float
    time: str | None
    mode: str
    dispersion_m2_s: float
    decay_per_day: float
    notifications: pd.DataFrame
    path: gpd.GeoDataFrame
    jurisdictions: gpd.GeoDataFrame
    basin_polygon: gpd.GeoDataFrame
    flow: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON of ``basingov spill`` (DESIGN §2.13), with plain JSON values."""
        return to_jsonable(
            {
                "basin": self.basin,
                "network": self.network,
                "release": {
                    "lon": self.lon,
                    "lat": self.lat,
                    "reach_id": self.reach_id,
                    "snap_distance_m": self.snap_distance_m,
                    "fraction": self.fraction,
                    "mass_kg": self.mass_kg,
                    "time": self.time,
                },
                "mode": self.mode,
                "dispersion_m2_s": self.dispersion_m2_s,
                "decay_per_day": self.decay_per_day,
                "flow": dict(self.flow),
                "peak_model": PEAK_MODEL,
                "peak_max_mg_l": MAX_PEAK_MG_L,
                "notifications": self.notifications.replace({np.nan: None}).to_dict(
                    orient="records"
                ),
            }
        )


def warn(
    basin: Any,
    at: Sequence[float],
    mass_kg: float,
    *,
    time: str | dt.date | None = None,
    network: str | None = None,
    mode: DownstreamMode = "DM",
    dispersion_m2_s: float | None = None,
    decay_per_day: float = 0.0,
    tolerance_m: float = 5000.0,
    flow_m3s: float | None = None,
    flow_percentile: float | None = None,
) -> SpillResult:
    """Who must be warned, and by when, after a release of ``mass_kg`` at a point.

    The point snaps to a reach of the basin's network; the downstream path is split at
    the jurisdiction borders and :func:`spill_notifications` gives arrival, peak time and
    peak concentration at each border.

    Parameters
    ----------
    basin
        A shipped basin name, a config path, a loaded :class:`~basingov.datasets.Basin`, or
        what holds one (a :class:`~basingov.query.BasinOverlay`, the Results of
        :func:`basingov.run`).
    at
        Release point ``(lon, lat)`` in WGS84 degrees.
    mass_kg
        Released mass (> 0).
    time
        Release time (ISO 8601 text, a datetime, or a date for its midnight); adds
        ``arrival_time`` and ``peak_time``.
    network
        Key of a ``[networks.<key>]`` table; default: the basin's network.
    mode
        ``"DM"``: follow the main stem; ``"DD"``: every diversion.
    dispersion_m2_s
        Longitudinal dispersion coefficient; default: the config's ``[spillover]
        dispersion_m2_s``, else :data:`DEFAULT_DISPERSION_M2_S` (an assumption).
    decay_per_day
        First-order decay rate (0: conservative, the worst case).
    tolerance_m
        Largest snapping distance.
    flow_m3s
        Discharge at the release (m³/s); default: the release reach's mean flow. Discharges
        on the path scale by ``flow_m3s`` over that mean flow, velocities by the ratio's
        power b of :math:`v = a Q^b` (``[hydraulics] velocity_b``), lake residence times by
        its inverse. A flow below 0.002 or above 11.6 times that mean flow
        (:data:`FLOW_RATIO_RANGE`, the range of the mean daily flows over the site mean
        observed at the shipped Thames sites) gets one
        :class:`~basingov.errors.BasingovWarning` saying so.
    flow_percentile
        Instead of ``flow_m3s``: the flow exceeded this percentage of the time (95 = a low
        flow), from the basin's lognormal flow-duration curve (:func:`flow_duration_ratio`,
        ``[hydraulics] flow_duration_sigma_ln``). The curve is unbounded, so a percentile
        near 0 or 100 can give a ratio outside :data:`FLOW_RATIO_RANGE`: it gets the same
        warning as ``flow_m3s`` (on the Thames, sigma 0.786, below 0.022: 0.001 gives 21
        times the mean flow; on the Rhine, sigma 0.328, only below about 1e-12).

    Returns
    -------
    SpillResult
        ``as_dict()`` gives the JSON of ``basingov spill``.

    Raises
    ------
    InputError
        For a bad point, time, mass, mode, rate or flow, both flow options, or a flow
        percentile for a basin without a flow-duration curve.
    EmptyResultError
        If no reach lies within ``tolerance_m`` of the point.

    Examples
    --------
    100 kg released into the West Tiaoxi in Huzhou (Zhejiang): the river crosses into
    Jiangsu, runs into Lake Taihu, and reaches Shanghai after the lake has held the plume
    for its residence time.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the Taihu network has disconnected pieces
    ...     r = warn("taihu", (119.95, 30.80), 100.0)
    >>> n = r.notifications
    >>> n.loc[n["level_name"] == "province", ["name", "lake"]].values.tolist()
    [['Zhejiang Province', ''], ['Jiangsu Province', ''], ['Shanghai Municipality', 'Taihu Lake']]
    >>> n["arrival_hours"].is_monotonic_increasing
    True
    """
    # text ('7.5') and bools (True: 1 degree) went through float() here, unlike snap_point
    lon, lat = lonlat(at, name="at")
    release = _release_time(time)
    _check_release(mass_kg, dispersion_m2_s, decay_per_day, release, tolerance_m=tolerance_m)
    check_choice(mode, DOWNSTREAM_MODES, name="mode")
    if flow_m3s is not None and flow_percentile is not None:
        msg = "give flow_m3s (--flow) or flow_percentile (--flow-percentile), not both"
        raise InputError(msg)
    if flow_m3s is not None and not 0 < flow_m3s <= MAX_FLOW_M3S:
        msg = (
            f"the flow at the release must be a discharge > 0 and at most {MAX_FLOW_M3S:,.0f} "
            f"m3/s (the Amazon's mean flow is about 200,000 m3/s), got {flow_m3s}"
        )
        raise InputError(msg)
    b: Basin | None
    if isinstance(basin, str | Path):
        b = load_basin(basin)
    else:  # a Basin, or what holds one (its .basin; a Basin's own .basin is its polygon)
        b = basin if isinstance(basin, Basin) else getattr(basin, "basin", None)
    if not isinstance(b, Basin):
        msg = (
            "expected a basin name, a config path, a Basin, a BasinOverlay (load_overlay) or the "
            f"Results of basingov.run; got {type(basin).__name__}"
        )
        raise InputError(msg)
    cfg = b.config
    key = network or cfg.basin.network
    net = load_network(b, key=key)
    d_coef = next(
        d
        for d in (dispersion_m2_s, cfg.spillover.dispersion_m2_s, DEFAULT_DISPERSION_M2_S)
        if d is not None
    )
    snap = snap_point(net, lon, lat, tolerance_m=tolerance_m)
    flow = _flow_at_release(cfg, net, snap, flow_m3s, flow_percentile)
    x, y = Transformer.from_crs("EPSG:4326", net.crs, always_xy=True).transform(lon, lat)
    geom = net.reaches.geometry.iloc[snap.position]
    frac = float(shapely.line_locate_point(geom, shapely.Point(x, y), normalized=True))
    path = navigate(net, snap.reach_id, mode=mode)
    if flow_m3s is not None or flow_percentile is not None:
        _warn_flow_ratio(flow)
    sub = net.reaches.iloc[path][["reach_id", "geometry"]].reset_index(drop=True)
    levels = list(cfg.boundaries.levels)
    pieces = split_reaches(sub, b.jurisdictions, levels=levels)
    table = spill_notifications(
        net,
        pieces,
        snap.reach_id,
        mass_kg,
        levels=levels,
        start_fraction=frac,
        mode=mode,
        dispersion_m2_s=d_coef,
        decay_per_day=decay_per_day,
        release_time=release,
        flow_ratio=flow["ratio"],
        velocity_b=flow["velocity_b"],
    )
    return SpillResult(
        basin=cfg.basin.name,
        network=key,
        lon=lon,
        lat=lat,
        reach_id=snap.reach_id,
        snap_distance_m=snap.distance_m,
        fraction=frac,
        mass_kg=mass_kg,
        time=time if isinstance(time, str) or time is None else time.isoformat(),
        mode=mode,
        dispersion_m2_s=d_coef,
        decay_per_day=decay_per_day,
        notifications=table,
        path=sub,
        jurisdictions=b.jurisdictions,
        basin_polygon=b.basin,
        flow=flow,
    )


def _warn_flow_ratio(flow: Mapping[str, Any]) -> None:
    """Warn once if the flow at the release over its mean flow is outside :data:`FLOW_RATIO_RANGE`.

    The flow is given (``flow_m3s``) or read off the lognormal flow-duration curve
    (``flow_percentile``: the message names the percentile and the curve's sigma).
    """
    ratio = float(flow["ratio"])
    low_end, high_end = FLOW_RATIO_RANGE
    if low_end <= ratio <= high_end:
        return
    low = ratio < low_end
    how = ""
    if "percentile" in flow:
        how = (
            f" (exceeded {float(flow['percentile']):g} % of the time on the basin's lognormal "
            f"flow-duration curve, flow_duration_sigma_ln = "
            f"{float(flow['flow_duration_sigma_ln']):g})"
        )
    msg = (
        f"the flow at the release, {float(flow['q_release_m3s']):g} m3/s{how}, is {ratio:.3g} "
        f"times the release reach's mean flow ({float(flow['q_mean_m3s']):,.4g} m3/s), "
        f"{'below' if low else 'above'} the {low_end:g} to {high_end:g} times their site's mean "
        "of the mean daily flows observed at 22 UKCEH Thames Initiative sites, 2009-2017 "
        "(basingov.spill.FLOW_RATIO_RANGE): every discharge on the spill path is scaled by "
        f"this ratio and every velocity by its power b = {float(flow['velocity_b']):g} "
        "(v = a Q^b)"
    )
    if low:
        msg += (
            "; the cross-section A = Q/v of the peak C = M/(A sqrt(4 pi D t)) shrinks by its "
            f"power 1 - b, and a peak above {MAX_PEAK_MG_L:,.0f} mg/L, the density of water, "
            "is not given (above_water_density)"
        )
    warnings.warn(msg, BasingovWarning, stacklevel=3)


def _flow_at_release(
    cfg: Any, net: Any, snap: Any, flow_m3s: float | None, flow_percentile: float | None
) -> dict[str, Any]:
    """Return the flow ratio at the release and how it was obtained (:class:`SpillResult`)."""
    q_mean = float(net.reaches["discharge_m3s"].iloc[snap.position])
    hyd = cfg.hydraulics
    b_exp = DEFAULT_VELOCITY_B if hyd.velocity_b is None else float(hyd.velocity_b)
    flow: dict[str, Any] = {
        "q_mean_m3s": q_mean,
        "q_mean_source": DISCHARGE_SOURCES[
            str(net.reaches["discharge_source"].iloc[snap.position])
            if "discharge_source" in net.reaches.columns
            else "estimated"
        ],
        "velocity_b": b_exp,
        "ratio": 1.0,
    }
    if flow_m3s is None and flow_percentile is None:
        flow.update(q_release_m3s=q_mean, source="mean flow of the release reach")
        return flow
    if not (np.isfinite(q_mean) and q_mean > 0):
        msg = (
            f"reach {snap.reach_id} has no mean discharge, so a flow at the release cannot be "
            "scaled along the path; fill discharge_m3s of the network"
        )
        raise InputError(msg)
    if flow_m3s is not None:
        flow.update(ratio=flow_m3s / q_mean, q_release_m3s=flow_m3s, source="given")
        return flow
    if flow_percentile is None:  # for the type checker: one of the two is given
        return flow
    if hyd.flow_duration_sigma_ln is None:
        msg = (
            f"{cfg.source.name} gives no flow-duration curve: set [hydraulics] "
            "flow_duration_sigma_ln (standard deviation of ln daily flow) and "
            "flow_duration_source, or give the flow (--flow Q)"
        )
        raise InputError(msg)
    ratio = flow_duration_ratio(flow_percentile, sigma_ln=hyd.flow_duration_sigma_ln)
    flow.update(
        ratio=ratio,
        q_release_m3s=q_mean * ratio,
        percentile=flow_percentile,
        flow_duration_sigma_ln=hyd.flow_duration_sigma_ln,
        source=(
            "ASSUMPTION: lognormal flow-duration curve, sigma of ln(flow) from "
            f"{hyd.flow_duration_source or 'the basin config'}"
        ),
    )
    return flow
