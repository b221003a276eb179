r"""Mass balance between consecutive stations: incremental loads C·Q, attributed to jurisdictions.

At a station with concentration :math:`C` (mg/L) and discharge :math:`Q` (m³/s) sampled
together, the load is :math:`L = 86.4\,C\,Q` kg/day (:func:`basingov.loads.station_loads`);
a period's load is the mean of its sample loads. Along the main links of the network,
each station :math:`d` receives the stations :math:`s` whose next station downstream it
is, and its incremental load is

.. math:: \Delta L_d = L_d - \sum_{s \to d} L_s ,

the net load added (or, when negative, lost to in-stream retention or abstraction)
between them. The river between them (every piece whose next station downstream is
:math:`d`, tributaries included, cut at the stations' positions) is the inter-station
area; :math:`\Delta L_d` is attributed to the jurisdictions in it in proportion to their
river length there. Only stations with data in the same period and parameter take part,
so a station missing a year does not split the area that year.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from basingov._checks import require_columns
from basingov._tables import factorize_text
from basingov.errors import BasingovWarning, InputError
from basingov.loads import station_loads
from basingov.monitoring.sections import period_label
from basingov.monitoring.units import not_used

__all__ = ["LOAD_PARAMETERS", "MassBalance", "mass_balance", "station_load_table"]

#: Concentration parameters whose loads are balanced.
LOAD_PARAMETERS: tuple[str, ...] = (
    "CODMn",
    "COD",
    "BOD5",
    "NH3-N",
    "NH4",
    "NO3-N",
    "TN",
    "TDN",
    "TP",
    "TDP",
    "Cl",
    "SS",
)
#: Label of the whole-record period (mean over every sample).
ALL_PERIODS = "all"


def station_load_table(
    observations: pd.DataFrame,
    *,
    period: str = "year",
    parameters: tuple[str, ...] = LOAD_PARAMETERS,
) -> pd.DataFrame:
    """Compute the loads C·Q at each station, per period and over the whole record.

    Parameters
    ----------
    observations
        Normalised observations with ``Q`` (m³/s) sampled at the same station and time
        as the concentrations.
    period
        ``"year"`` or ``"month"``.
    parameters
        Concentration parameters to use.

    Returns
    -------
    pandas.DataFrame
        ``station_id, parameter, period, load_kg_day, n_samples, mean_flow_m3s,
        flow_weighted_conc_mg_l``; ``period`` is also ``"all"`` for the whole record.

    Examples
    --------
    >>> obs = pd.DataFrame({"station_id": ["A"] * 4,
    ...     "time": pd.to_datetime(["2020-01-01"] * 2 + ["2020-02-01"] * 2),
    ...     "parameter": ["TP", "Q", "TP", "Q"], "value": [0.1, 10.0, 0.3, 20.0],
    ...     "unit": ["mg/L P", "m3/s"] * 2, "flag": ""})
    >>> t = station_load_table(obs)
    >>> t["period"].tolist(), t["load_kg_day"].round(6).tolist()  # (86.4 + 518.4) / 2
    (['2020', 'all'], [302.4, 302.4])
    """
    cols = [
        "station_id",
        "parameter",
        "period",
        "load_kg_day",
        "n_samples",
        "mean_flow_m3s",
        "flow_weighted_conc_mg_l",
    ]
    # one factorize per key column; groups are integer labels. The means stay pandas'
    # (its compensated sums, over each group's rows in table order, as a groupby by the
    # text columns takes them)
    used = ~not_used(observations)
    sid, sids = factorize_text(observations["station_id"])
    par, pars = factorize_text(observations["parameter"])
    t, times = pd.factorize(observations["time"])
    v = observations["value"].to_numpy(dtype=np.float64)
    keyed = used & (sid >= 0) & (par >= 0) & (t >= 0)  # a groupby leaves missing keys out
    sample = sid.astype(np.int64) * max(len(times), 1) + t
    q_code, *wanted_codes = pars.get_indexer(pd.Index(["Q", *parameters]))  # -1: not in the table
    is_q = keyed & (par == q_code)
    q_key, q_keys = pd.factorize(sample[is_q])
    q_mean = _group_means(q_key, v[is_q], len(q_keys))
    conc = np.flatnonzero(keyed & np.isin(par, wanted_codes) & ~np.isnan(v))
    if not len(q_keys) or not len(conc):
        return pd.DataFrame(columns=cols)
    at = pd.Index(q_keys).get_indexer(pd.Index(sample[conc]))
    conc, at = conc[at >= 0], at[at >= 0]  # the inner join with the flows, in table order
    q = q_mean[at]
    ok = ~np.isnan(q) & (q >= 0) & (v[conc] >= 0)
    rows, q = conc[ok], q[ok]
    if not len(rows):
        return pd.DataFrame(columns=cols)
    load = station_loads(v[rows], q)
    # each distinct time labelled once
    per_of_time, pers = pd.factorize(period_label(pd.Series(times), period))  # type: ignore[arg-type]
    per = per_of_time[t[rows]]
    pair = sid[rows].astype(np.int64) * len(pars) + par[rows]
    out = []
    for key, per_code in ((pair * len(pers) + per, per), (pair, None)):
        _, first, g = np.unique(key, return_index=True, return_inverse=True)
        res = pd.DataFrame(
            {
                "station_id": sids.take(sid[rows][first]),
                "parameter": pars.take(par[rows][first]),
                "period": (pers.take(per_code[first]) if per_code is not None else ALL_PERIODS),
                "load_kg_day": _group_means(g, load, len(first)),
                "n_samples": np.bincount(g, minlength=len(first)).astype(np.int64),
                "mean_flow_m3s": _group_means(g, q, len(first)),
            }
        )
        out.append(res)
    res = pd.concat(out, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        res["flow_weighted_conc_mg_l"] = res["load_kg_day"] / (res["mean_flow_m3s"] * 86.4)
    return res[cols].sort_values(["station_id", "parameter", "period"]).reset_index(drop=True)


def _group_means(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Mean of the non-missing ``values`` of each group ``0 .. size - 1`` (NaN if none).

    pandas' groupby mean on the integer labels: its compensated sum over each group's
    values in their order, the same numbers as a groupby by the original keys.
    """
    if not size:
        return np.empty(0)
    s = pd.Series(values, copy=False).groupby(groups, sort=True).mean()
    out = np.full(size, np.nan)
    out[s.index.to_numpy()] = s.to_numpy()
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class MassBalance:
    """Station loads, incremental loads between stations and their attribution.

    Attributes
    ----------
    station_loads
        ``station_id, reach_id, parameter, period, load_kg_day, ...``: observed loads,
        the observations a load calibration fits (:meth:`calibration_observations`).
    increments
        One row per station, parameter and period: ``load_kg_day``,
        ``upstream_stations`` (``|``-joined), ``upstream_load_kg_day``,
        ``increment_kg_day`` (= load - upstream load) and ``river_length_km`` of the
        inter-station area.
    attribution
        ``station_id, parameter, period, level_name, jur_id, name, river_length_km,
        share, increment_kg_day``: each increment split over the jurisdictions of its
        inter-station area by river length.
    levels
        Jurisdiction level names.
    network, pieces, stations
        The network, overlay pieces and snapped stations it was built on (used by
        :meth:`load_table`).
    excluded
        ``station_id, reason`` of snapped stations left out: proxy locations whose
        river was not confirmed (``snap_checked`` False), which could put a tributary
        station on the main river and break the balance.
    """

    station_loads: pd.DataFrame
    increments: pd.DataFrame
    attribution: pd.DataFrame
    levels: tuple[str, ...] = ()
    network: Any = None
    pieces: gpd.GeoDataFrame | None = None
    stations: pd.DataFrame = field(default_factory=pd.DataFrame)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    def calibration_observations(self, parameter: str | None = None) -> pd.DataFrame:
        """Observed station loads for a load calibration (whole-record means).

        Returns
        -------
        pandas.DataFrame
            ``station_id, reach_id, parameter, load_kg_day, n_samples, mean_flow_m3s``.
        """
        t = self.station_loads[self.station_loads["period"] == ALL_PERIODS]
        if parameter is not None:
            t = t[t["parameter"] == parameter]
        cols = ["station_id", "reach_id", "parameter", "load_kg_day", "n_samples", "mean_flow_m3s"]
        return t[cols].reset_index(drop=True)

    def load_table(self, parameter: str, *, period: str = ALL_PERIODS) -> pd.DataFrame:
        """Incremental loads as a load table for :mod:`basingov.spillover`.

        Each station's increment is spread over the pieces of its inter-station area in
        proportion to river length. Negative increments (net losses) are set to 0 with a
        warning, since a generated load cannot be negative.

        Parameters
        ----------
        parameter
            A balanced parameter.
        period
            A period of :attr:`increments` (default the whole record).

        Returns
        -------
        pandas.DataFrame
            ``piece_id, reach_id, station_id, load_kg_day, load_source`` (``"monitoring"``).

        Raises
        ------
        InputError
            If there is no increment for that parameter and period.
        """
        inc = self.increments[
            (self.increments["parameter"] == parameter) & (self.increments["period"] == period)
        ]
        if inc.empty:
            have = sorted(set(self.increments["parameter"]))
            msg = (
                f"no station loads for {parameter!r} in period {period!r}; the mass balance "
                f"has parameters {have} (it needs a concentration and Q sampled together)"
            )
            raise InputError(msg)
        if self.pieces is None or self.network is None:
            msg = "this MassBalance has no network or pieces; build it with mass_balance()"
            raise InputError(msg)
        seg = _segments(self.network, self.pieces, self.stations, list(inc["station_id"]))
        value = inc.set_index("station_id")["increment_kg_day"]
        neg = value[value < 0]
        if len(neg):
            warnings.warn(
                f"{parameter} {period}: station(s) {list(neg.index)} carry less load than the "
                "stations just upstream (net in-stream loss); their increments are set to 0 "
                "in the load table",
                BasingovWarning,
                stacklevel=2,
            )
        value = value.clip(lower=0.0)
        seg = seg[seg["station_id"].isin(value.index)]
        tot = seg.groupby("station_id")["length_km"].transform("sum")
        seg = seg.assign(
            load_kg_day=np.where(
                tot > 0, seg["station_id"].map(value) * seg["length_km"] / tot.where(tot > 0, 1), 0
            )
        )
        out = seg.groupby(["piece_id", "reach_id", "station_id"])["load_kg_day"].sum().reset_index()
        out["load_source"] = "monitoring"
        return out


def _segments(
    net: Any, pieces: pd.DataFrame, stations: pd.DataFrame, members: list[str]
) -> pd.DataFrame:
    """Cut the pieces at the member stations and label each part with its next station down.

    Returns ``piece_id, reach_id, station_id, length_km`` + ``jur_<level>`` columns of
    every piece part that drains to a member station (parts below the last station are
    left out).
    """
    st = stations.set_index("station_id").loc[members]
    pos = net.position(st["reach_id"].to_numpy(dtype=np.int64))
    frac = st["fraction"].to_numpy(dtype=np.float64)
    k = len(members)
    order_in_reach = np.lexsort((frac, pos))
    first_on = np.full(net.n, -1, dtype=np.int64)
    for j in order_in_reach[::-1]:  # keep the most upstream station of each reach
        first_on[pos[j]] = j
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    down = np.full(net.n, -1, dtype=np.int64)
    for r in np.asarray(net.order, dtype=np.int64)[::-1]:
        d = idx_ds[r]
        if d >= 0:
            down[r] = first_on[d] if first_on[d] >= 0 else down[d]
    pr = net.position(pieces["reach_id"].to_numpy(dtype=np.int64))
    fs = pieces["fraction_start"].to_numpy(dtype=np.float64)
    fe = pieces["fraction_end"].to_numpy(dtype=np.float64)
    plen = pieces["length_km"].to_numpy(dtype=np.float64)
    lab = down[pr].copy()
    parts_rows: list[tuple[int, int, float]] = []  # (piece row, label, length)
    on_reach: dict[int, list[int]] = {}
    for j in range(k):
        on_reach.setdefault(int(pos[j]), []).append(j)
    split = np.isin(pr, list(on_reach))
    for i in np.flatnonzero(split):
        js = sorted(on_reach[int(pr[i])], key=lambda j: frac[j])
        cuts = [fs[i]] + [min(max(frac[j], fs[i]), fe[i]) for j in js] + [fe[i]]
        labels = [*js, int(down[pr[i]])]
        span = fe[i] - fs[i]
        for a, b, lb in zip(cuts[:-1], cuts[1:], labels, strict=True):
            if b > a and span > 0:
                parts_rows.append((int(i), int(lb), plen[i] * (b - a) / span))
    whole = np.flatnonzero(~split)
    rows = np.concatenate([whole, np.array([r[0] for r in parts_rows], dtype=np.int64)])
    labels_all = np.concatenate([lab[whole], np.array([r[1] for r in parts_rows], dtype=np.int64)])
    lengths = np.concatenate([plen[whole], np.array([r[2] for r in parts_rows], dtype=float)])
    keep = labels_all >= 0
    rows, labels_all, lengths = rows[keep], labels_all[keep], lengths[keep]
    out = pd.DataFrame(
        {
            "piece_id": pieces["piece_id"].to_numpy()[rows],
            "reach_id": pieces["reach_id"].to_numpy()[rows],
            "station_id": np.asarray(members, dtype=object)[labels_all],
            "length_km": lengths,
        }
    )
    for c in pieces.columns:
        if c.startswith(("jur_", "name_")):
            out[c] = pieces[c].to_numpy()[rows]
    return out


def _shares(seg: pd.DataFrame, levels: list[str]) -> pd.DataFrame:
    """River length and share of each jurisdiction in each station's inter-station area."""
    tot = seg.groupby("station_id")["length_km"].sum()
    parts = []
    for lv in levels:
        by = seg.groupby(["station_id", f"jur_{lv}", f"name_{lv}"], sort=True)["length_km"].sum()
        df = by.reset_index()
        df.columns = ["station_id", "jur_id", "name", "river_length_km"]
        df.insert(1, "level_name", lv)
        parts.append(df)
    cols = ["station_id", "level_name", "jur_id", "name", "river_length_km", "share"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    t = out["station_id"].map(tot).to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(t > 0, out["river_length_km"].to_numpy() / t, np.nan)
    return out[cols]


def _next_down(net: Any, stations: pd.DataFrame, members: list[str]) -> dict[str, str]:
    """Next member station downstream of each member (absent for the last ones)."""
    st = stations.set_index("station_id").loc[members]
    pos = net.position(st["reach_id"].to_numpy(dtype=np.int64))
    frac = st["fraction"].to_numpy(dtype=np.float64)
    by_reach: dict[int, list[int]] = {}
    for j in range(len(members)):
        by_reach.setdefault(int(pos[j]), []).append(j)
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    out: dict[str, str] = {}
    for j in range(len(members)):
        same = [
            i for i in by_reach[int(pos[j])] if frac[i] > frac[j] or (frac[i] == frac[j] and i > j)
        ]
        if same:
            out[members[j]] = members[min(same, key=lambda i: (frac[i], i))]
            continue
        q = int(idx_ds[pos[j]])
        seen: set[int] = set()
        while q >= 0 and q not in seen:
            seen.add(q)
            if q in by_reach:
                out[members[j]] = members[min(by_reach[q], key=lambda i: (frac[i], i))]
                break
            q = int(idx_ds[q])
    return out


def _sum_of(load: pd.Series, names: list[str]) -> float:
    """``float(load.loc[names].sum())`` (NaN counted as 0) without a pandas lookup per call.

    The values are summed by NumPy in the order of ``names``, as pandas does.

    Examples
    --------
    >>> load = pd.Series([1.5, np.nan, 2.0], index=["a", "b", "c"])
    >>> _sum_of(load, ["c", "b", "a"]) == float(load.loc[["c", "b", "a"]].sum())
    True
    """
    if not load.index.is_unique:
        return float(load.loc[names].sum())
    x = load.to_numpy(dtype=np.float64)[load.index.get_indexer(pd.Index(names))]
    return float(np.where(np.isnan(x), 0.0, x).sum())


def _member_loads(
    g: pd.DataFrame, members: tuple[str, ...], ups: dict[str, list[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's upstream load (:func:`_sum_of` its ``ups``) and own load, from ``g``.

    ``g`` holds one row per member (``station_id, load_kg_day``): the loads are looked up
    by position in its arrays, the same values summed in the same order as through a
    Series indexed by station (which stays the way for a table naming a station twice).
    """
    sid = g["station_id"].tolist()
    if len(set(sid)) != len(sid):
        load = g.set_index("station_id")["load_kg_day"]
        up = np.array([_sum_of(load, ups[d]) if ups[d] else 0.0 for d in members])
        return up, load.loc[list(members)].to_numpy(dtype=np.float64)
    values = g["load_kg_day"].to_numpy(dtype=np.float64)
    at = {s: i for i, s in enumerate(sid)}
    up_load = np.zeros(len(members))
    for k, d in enumerate(members):
        if ups[d]:
            x = values[[at[s] for s in ups[d]]]
            up_load[k] = float(np.where(np.isnan(x), 0.0, x).sum())
    return up_load, values[[at[d] for d in members]]


def _frame(data: dict[str, list[Any]]) -> pd.DataFrame:
    """One frame from per-group column chunks: lists (dtype inferred) or float arrays.

    The columns of an empty frame if there is no chunk.

    Examples
    --------
    >>> _frame({"a": [["x"], ["y", "z"]], "b": [np.array([1.0]), np.array([2.5, 3.0])]}
    ...     ).values.tolist()
    [['x', 1.0], ['y', 2.5], ['z', 3.0]]
    """
    if not next(iter(data.values()), []):
        return pd.DataFrame(columns=list(data))
    return pd.DataFrame(
        {
            c: [x for chunk in v for x in chunk] if isinstance(v[0], list) else np.concatenate(v)
            for c, v in data.items()
        }
    )


def mass_balance(
    net: Any,
    pieces: gpd.GeoDataFrame,
    stations: pd.DataFrame,
    loads: pd.DataFrame,
    *,
    levels: list[str],
) -> MassBalance:
    """Balance station loads along the network and attribute the increments.

    Parameters
    ----------
    net
        The :class:`basingov.network.RiverNetwork`.
    pieces
        The overlay's pieces (``piece_id, reach_id, fraction_start, fraction_end,
        length_km, jur_<level>, name_<level>``).
    stations
        Snapped stations (``station_id, snapped, reach_id, fraction``; stations with
        ``snap_checked`` False are left out, see :attr:`MassBalance.excluded`).
    loads
        :func:`station_load_table` output.
    levels
        Jurisdiction level names.

    Returns
    -------
    MassBalance

    Raises
    ------
    InputError
        On missing columns.
    """
    need = ["station_id", "snapped", "reach_id", "fraction"]
    require_columns(stations, need, what="the station table", hint="snap the stations first")
    use = stations["snapped"].to_numpy(dtype=bool).copy()
    unchecked = np.zeros(len(stations), dtype=bool)
    if "snap_checked" in stations.columns:
        unchecked = use & ~stations["snap_checked"].to_numpy(dtype=bool)
        use &= ~unchecked
    excluded = pd.DataFrame(
        {
            "station_id": stations["station_id"].to_numpy()[unchecked],
            "reason": "proxy location snapped without a catchment area to confirm its river",
        }
    )
    st = pd.DataFrame(stations[use][need])
    st["reach_id"] = st["reach_id"].astype(np.int64)
    sl = loads[loads["station_id"].isin(set(st["station_id"]))].copy()
    sl["reach_id"] = sl["station_id"].map(st.set_index("station_id")["reach_id"])
    inc_cols = [
        "station_id",
        "parameter",
        "period",
        "load_kg_day",
        "upstream_stations",
        "upstream_load_kg_day",
        "increment_kg_day",
        "downstream_station",
        "river_length_km",
    ]
    att_cols = [
        "station_id",
        "parameter",
        "period",
        "level_name",
        "jur_id",
        "name",
        "river_length_km",
        "share",
        "increment_kg_day",
    ]
    share_cols = ["station_id", "level_name", "jur_id", "name", "river_length_km", "share"]
    # every (parameter, period) group's rows gathered as columns, one frame each at the end
    inc_data: dict[str, list[Any]] = {c: [] for c in inc_cols}
    att_data: dict[str, list[Any]] = {c: [] for c in att_cols}
    cache: dict[tuple[str, ...], tuple[dict[str, str], pd.Series, dict[str, Any], Any]] = {}
    for (param, per), g in sl.groupby(["parameter", "period"], sort=True):
        members = tuple(sorted(g["station_id"]))
        if members not in cache:
            seg = _segments(net, pieces, st, list(members))
            nxt = _next_down(net, st, list(members))
            shares = _shares(seg, levels)
            cache[members] = (
                nxt,
                seg.groupby("station_id")["length_km"].sum(),
                {
                    c: shares[c].to_numpy(dtype=np.float64)
                    if c in ("river_length_km", "share")
                    else shares[c].tolist()
                    for c in share_cols
                },
                # each share row's station among the members (its increment)
                pd.Index(list(members)).get_indexer(shares["station_id"]),
            )
        nxt, seg_len, shares_of, member_of = cache[members]
        ups = {d: sorted(s for s, t in nxt.items() if t == d) for d in members}
        up_load, own = _member_loads(g, members, ups)
        increment = own - up_load
        n_m = len(members)
        for c, v in (
            ("station_id", list(members)),
            ("parameter", [param] * n_m),
            ("period", [per] * n_m),
            ("load_kg_day", own),
            ("upstream_stations", ["|".join(ups[d]) for d in members]),
            ("upstream_load_kg_day", up_load),
            ("increment_kg_day", increment),
            ("downstream_station", [nxt.get(d, "") for d in members]),
            ("river_length_km", np.array([float(seg_len.get(d, 0.0)) for d in members])),
        ):
            inc_data[c].append(v)
        n_s = len(member_of)
        for c in share_cols:
            att_data[c].append(shares_of[c])
        att_data["parameter"].append([str(param)] * n_s)
        att_data["period"].append([str(per)] * n_s)
        att_data["increment_kg_day"].append(increment[member_of] * shares_of["share"])
    sl_cols = [
        "station_id",
        "reach_id",
        *[c for c in sl.columns if c not in ("station_id", "reach_id")],
    ]
    return MassBalance(
        station_loads=sl[sl_cols].reset_index(drop=True),
        increments=_frame(inc_data),
        attribution=_frame(att_data),
        levels=tuple(levels),
        network=net,
        pieces=pieces,
        stations=st,
        excluded=excluded,
    )
