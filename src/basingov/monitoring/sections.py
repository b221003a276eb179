"""Station-period classes, published section classes, border sections and the monitoring gap.

A station-period takes the class of its worst parameter, each parameter judged by its
period statistic (the mean, as Chinese assessment practice does; OGewV's oxygen limit is
a minimum), and reports each parameter's exceedance ratio against a target class.
Published section classes (the Taihu Basin Authority's monthly province-boundary
bulletins) are ingested as they are, as records of their own, so a section has a class
history even where no concentration was published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from basingov._checks import check_choice
from basingov.config import MONITORING_PERIODS, MonitoringPeriod
from basingov.errors import InputError
from basingov.monitoring.standards import (
    WATER_BODIES,
    class_rank,
    classify_values,
    exceedance_ratio,
    get_standard,
)
from basingov.monitoring.units import not_used, text

__all__ = [
    "PERIODS",
    "PUBLISHED_CLASS_PARAMETERS",
    "Period",
    "monitoring_gap",
    "period_classes",
    "period_label",
    "published_classes",
    "section_table",
]

#: Assessment periods, defined once in :mod:`basingov.config` where the config is checked.
Period = MonitoringPeriod
PERIODS: tuple[str, ...] = MONITORING_PERIODS

#: Observation parameters that carry a published class (value = class rank) and the
#: standard their rank refers to (data/README.md: ``class_GB3838``, 1..6 = I..worse than V).
PUBLISHED_CLASS_PARAMETERS: dict[str, str] = {"class_GB3838": "GB3838-2002"}

#: Columns of a section-class table (:func:`period_classes`, :func:`published_classes`).
_CLASS_COLUMNS: tuple[str, ...] = (
    "station_id",
    "period",
    "period_start",
    "class",
    "class_rank",
    "worst_parameters",
    "max_exceedance_ratio",
    "max_exceedance_parameter",
    "n_parameters",
    "standard",
    "class_source",
)


def period_label(time: pd.Series, period: Period) -> pd.Series:
    """Label of the period each time falls in: ``"2012"`` or ``"2012-03"``.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2012-03-05", "2013-12-31"]))
    >>> period_label(t, "month").tolist(), period_label(t, "year").tolist()
    (['2012-03', '2013-12'], ['2012', '2013'])

    The same Series as ``t.dt.strftime`` (missing times included):

    >>> t = pd.Series(pd.to_datetime(["2012-03-05", None, "2012-03-05"]), index=[4, 2, 9])
    >>> period_label(t, "month").equals(t.dt.strftime("%Y-%m"))
    True
    """
    check_choice(period, PERIODS, name="period")
    t = pd.to_datetime(time)
    # each distinct time formatted once (a station samples on few days); NaT stays missing
    codes, uniq = pd.factorize(t)
    text = pd.DatetimeIndex(uniq).strftime("%Y-%m" if period == "month" else "%Y")
    labels = np.append(text.to_numpy(dtype=object), np.nan)[codes]
    return pd.Series(labels, index=t.index, dtype=text.dtype, name=t.name)


def _stat(values: pd.Series, statistic: str) -> float:
    v = values.to_numpy(dtype=np.float64)
    if statistic == "min":
        return float(v.min())
    if statistic == "p10":
        return float(np.percentile(v, 10))
    return float(v.mean())


def _group_stat(values: np.ndarray, group: pd.Series, statistic: str) -> np.ndarray:
    """:func:`_stat` of every group (``group``: the groupby's ``ngroup()``, -1 left out).

    Groups are cut from the values in their order (a stable sort by group) and each slice
    goes through the NumPy call of ``_stat``, without a pandas Series per group.

    Examples
    --------
    >>> v = np.array([1.0, 5.0, 2.0, 0.1, 0.2, 0.4])
    >>> g = pd.Series([0, 1, 0, 2, 2, 2])
    >>> want = [_stat(pd.Series(v[g == k]), "mean") for k in range(3)]
    >>> _group_stat(v, g, "mean").tolist() == want
    True
    >>> _group_stat(v, g, "min").tolist()
    [1.0, 5.0, 0.1]
    """
    # ngroup() gives NaN (or -1) to rows whose key is missing: they are in no group
    codes = np.nan_to_num(group.to_numpy(dtype=np.float64), nan=-1.0).astype(np.int64)
    keep = codes >= 0
    codes, values = codes[keep], values[keep]
    k = int(codes.max()) + 1 if codes.size else 0
    order = np.argsort(codes, kind="stable")
    v = values[order]
    counts = np.bincount(codes, minlength=k)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    if statistic == "min":
        return np.minimum.reduceat(v, starts) if k else np.empty(0)
    # a mean or percentile per slice, by the very calls of _stat (sums in NumPy's order)
    pick = np.mean if statistic != "p10" else (lambda x: np.percentile(x, 10))
    return np.array(
        [float(pick(v[a : a + n])) for a, n in zip(starts, counts, strict=True)],
        dtype=np.float64,
    )


def period_classes(
    observations: pd.DataFrame,
    water_body: Mapping[str, str],
    *,
    standard: str = "GB3838-2002",
    period: Period = "year",
    target_class: str = "III",
    river_type: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classify every station-period from its concentrations.

    Parameters
    ----------
    observations
        Normalised observations (:func:`basingov.monitoring.normalise_observations`).
    water_body
        Station id -> ``"river"`` or ``"lake"`` (missing ids are rivers).
    standard
        A shipped standard; only the parameters it assesses in the station's water body
        are used (e.g. no TN in rivers under GB 3838).
    period
        ``"year"`` or ``"month"``.
    target_class
        The class exceedance ratios and rates refer to (GB 3838 class III is the usual
        target for drinking-water sources and border sections).
    river_type
        For standards with limits per river type.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(classes, parameters)``. ``classes``: one row per station and period with
        ``class``, ``class_rank``, ``worst_parameters``, ``max_exceedance_ratio``,
        ``n_parameters`` and ``class_source = "period statistics"``. ``parameters``: one
        row per station, period and parameter with ``statistic``, ``value``, ``unit``,
        ``n_samples``, ``class``, ``class_rank``, ``target_limit``, ``exceedance_ratio``
        (statistic over the target limit, DO inverted) and ``exceedance_rate`` (share of
        samples outside the target class).

    Raises
    ------
    InputError
        On an unknown standard, target class or period, or a water body that is neither
        ``"river"`` nor ``"lake"``.

    Examples
    --------
    Two NH3-N samples averaging 1.2 mg/L (class IV) and DO at 6 mg/L (class II): the
    station-year takes class IV from NH3-N.

    >>> obs = pd.DataFrame({"station_id": ["A"] * 3,
    ...     "time": pd.to_datetime(["2020-01-01", "2020-06-01", "2020-06-01"]),
    ...     "parameter": ["NH3-N", "NH3-N", "DO"], "value": [0.9, 1.5, 6.0],
    ...     "unit": ["mg/L N", "mg/L N", "mg/L"], "flag": ""})
    >>> classes, params = period_classes(obs, {})
    >>> classes[["period", "class", "worst_parameters"]].values.tolist()
    [['2020', 'IV', 'NH3-N']]
    >>> params[["parameter", "value", "exceedance_ratio", "exceedance_rate"]].values.tolist()
    [['DO', 6.0, 0.8333333333333334, 0.0], ['NH3-N', 1.2, 1.2, 0.5]]
    """
    std = get_standard(standard)
    std.check_target(target_class)
    target_rank = class_rank(target_class, standard=standard)
    for sid, body in water_body.items():  # "Lake" or "sea" was taken for a river
        check_choice(body, WATER_BODIES, name=f"water_body of station {sid!r}")
    obs = observations[~not_used(observations)]
    obs = obs[obs["value"].notna()]
    lakes = [k for k, v in water_body.items() if v == "lake"]
    is_lake = obs["station_id"].isin(lakes).to_numpy()
    wb = np.where(is_lake, "lake", "river")
    keep = np.zeros(len(obs), dtype=bool)
    for body, mask in (("river", ~is_lake), ("lake", is_lake)):
        allowed = std.parameters(water_body=body, river_type=river_type)  # type: ignore[arg-type]
        keep |= mask & obs["parameter"].isin(allowed).to_numpy()
    obs = obs[keep].assign(water_body=wb[keep])
    pcols = [
        "station_id",
        "period",
        "parameter",
        "water_body",
        "statistic",
        "value",
        "unit",
        "n_samples",
        "class",
        "class_rank",
        "target_class",
        "target_limit",
        "exceedance_ratio",
        "exceedance_rate",
    ]
    ccols = list(_CLASS_COLUMNS)
    if obs.empty:
        return pd.DataFrame(columns=ccols), pd.DataFrame(columns=pcols)
    obs = obs.assign(period=period_label(obs["time"], period).to_numpy())
    parts = []
    for key, g in obs.groupby(["parameter", "water_body"], sort=True):
        param, body = (str(k) for k in cast("tuple[Any, ...]", key))
        wkw: dict[str, Any] = {"water_body": body, "river_type": river_type}
        kw: dict[str, Any] = {"standard": standard, **wkw}
        stat = std.statistic(str(param), **wkw)
        sample_cls = classify_values(g["value"].to_numpy(), str(param), **kw)
        # each distinct class looked up once, not once per sample
        cls_code, cls_seen = pd.factorize(sample_cls)
        ranks = np.array([std.labels.index(c) + 1 for c in cls_seen], dtype=np.int64)[cls_code]
        g = g.assign(_out=ranks > target_rank)
        grouped = g.groupby(["station_id", "period"], sort=True)
        agg = grouped.agg(
            n_samples=("value", "size"),
            exceedance_rate=("_out", "mean"),
            unit=("unit", "first"),
        )
        agg.insert(0, "value", _group_stat(g["value"].to_numpy(np.float64), grouped.ngroup(), stat))
        agg = agg.reset_index()
        agg["parameter"] = param
        agg["water_body"] = body
        agg["statistic"] = stat
        agg["class"] = classify_values(agg["value"].to_numpy(), str(param), **kw)
        agg["class_rank"] = [std.labels.index(c) + 1 for c in agg["class"]]
        rows = std.rows(str(param), **wkw)
        t = rows[rows["class"] == target_class]
        agg["target_class"] = target_class
        agg["target_limit"] = float(t["limit"].iloc[0]) if len(t) == 1 else np.nan
        agg["exceedance_ratio"] = exceedance_ratio(
            agg["value"].to_numpy(), str(param), target=target_class, **kw
        )
        parts.append(agg)
    params = pd.concat(parts, ignore_index=True)[pcols]
    params = params.sort_values(["station_id", "period", "parameter"]).reset_index(drop=True)
    return _worst_of_periods(params, std.labels, standard=standard, period=period), params


def _worst_of_periods(
    params: pd.DataFrame, labels: Any, *, standard: str, period: Period
) -> pd.DataFrame:
    """One row per station and period of ``params`` (sorted by them): its worst class.

    The class is that of the worst parameter; ``worst_parameters`` lists the parameters
    in that class, in the table's order; the largest finite exceedance ratio (the first
    of equal ones) names ``max_exceedance_parameter``. Array code over the runs of rows
    of each station and period, the rows :func:`period_classes` gets from a groupby.
    """
    n = len(params)
    sid = params["station_id"].to_numpy(dtype=object)
    per = params["period"].to_numpy(dtype=object)
    first = np.ones(n, dtype=bool)
    first[1:] = (sid[1:] != sid[:-1]) | (per[1:] != per[:-1])
    start = np.flatnonzero(first)
    gid = np.cumsum(first) - 1
    rank = params["class_rank"].to_numpy(dtype=np.int64)
    worst = np.maximum.reduceat(rank, start)
    name = params["parameter"].to_numpy(dtype=object)
    # the rows in the worst class, in order: every station-period has at least one
    at_worst = np.flatnonzero(rank == worst[gid])
    cut = np.flatnonzero(np.diff(gid[at_worst])) + 1
    worst_names = name[at_worst].tolist()
    joined = [
        "|".join(worst_names[a:b])
        for a, b in zip([0, *cut.tolist()], [*cut.tolist(), len(worst_names)], strict=True)
    ]
    ex = params["exceedance_ratio"].to_numpy(dtype=np.float64)
    ex = np.where(np.isfinite(ex), ex, -np.inf)
    top = np.maximum.reduceat(ex, start)
    has_ex = top > -np.inf  # some finite ratio
    hit = np.flatnonzero(ex == top[gid])
    imax = hit[np.unique(gid[hit], return_index=True)[1]]  # the first of equal maxima
    periods = per[start].tolist()
    stamp = {p: pd.Timestamp(str(p) if period == "month" else f"{p}-01") for p in set(periods)}
    return pd.DataFrame(
        {
            "station_id": sid[start].tolist(),
            "period": periods,
            "period_start": [stamp[p] for p in periods],
            "class": [labels[w - 1] for w in worst.tolist()],
            "class_rank": worst.tolist(),
            "worst_parameters": joined,
            "max_exceedance_ratio": np.where(has_ex, ex[imax], np.nan).tolist(),
            "max_exceedance_parameter": np.where(has_ex, name[imax], "").tolist(),
            "n_parameters": np.diff(np.append(start, n)).tolist(),
            "standard": standard,
            "class_source": "period statistics",
        },
        columns=list(_CLASS_COLUMNS),
    )


def published_classes(observations: pd.DataFrame) -> pd.DataFrame:
    """Section classes as published (parameters of :data:`PUBLISHED_CLASS_PARAMETERS`).

    Parameters
    ----------
    observations
        Normalised observations.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`period_classes`'s ``classes``, one row per published record
        (``period`` = its month), ``class_source = "published"``.

    Raises
    ------
    InputError
        If a ``value`` of a published class parameter is not a whole class rank
        1..n of its standard; the message lists the ranks with their labels and the bad
        values.

    Examples
    --------
    >>> obs = pd.DataFrame({"station_id": ["S"], "time": pd.to_datetime(["2016-12-01"]),
    ...     "parameter": ["class_GB3838"], "value": [6.0], "unit": ["class"], "flag": [""]})
    >>> published_classes(obs)[["period", "class", "class_rank"]].values.tolist()
    [['2016-12', 'worse than V', 6]]
    """
    cols = list(_CLASS_COLUMNS)
    parts = []
    for param, standard in PUBLISHED_CLASS_PARAMETERS.items():
        sel = observations[observations["parameter"] == param]
        if sel.empty:
            continue
        labels = get_standard(standard).labels
        v = sel["value"].to_numpy(dtype=np.float64)
        bad = ~np.isin(v, np.arange(1, len(labels) + 1))
        if bad.any():
            msg = (
                f"column 'value' of parameter {param!r} must be a class rank 1..{len(labels)} "
                f"({', '.join(f'{i + 1} = {lab}' for i, lab in enumerate(labels))}); got "
                f"{sorted(set(v[bad].tolist()))[:10]}"
            )
            raise InputError(msg)
        r = v.astype(np.int64)
        parts.append(
            pd.DataFrame(
                {
                    "station_id": sel["station_id"].to_numpy(),
                    "period": period_label(sel["time"], "month").to_numpy(),
                    "period_start": pd.to_datetime(sel["time"]).dt.to_period("M").dt.start_time,
                    "class": [labels[i - 1] for i in r],
                    "class_rank": r,
                    "worst_parameters": "",
                    "max_exceedance_ratio": np.nan,
                    "max_exceedance_parameter": "",
                    "n_parameters": 0,
                    "standard": standard,
                    "class_source": "published",
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)[cols]
    return out.sort_values(["station_id", "period"]).reset_index(drop=True)


def section_table(
    stations: gpd.GeoDataFrame,
    matches: pd.DataFrame,
    crossings: gpd.GeoDataFrame,
    classes: pd.DataFrame,
    class_trends: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Border sections: each crossing with a station, and each published section record.

    Parameters
    ----------
    stations
        Snapped stations (with ``name, location_status, is_proxy``; optional ``boundary``).
    matches
        Station-crossing pairs (:func:`basingov.monitoring.match_sections`).
    crossings
        The overlay's crossings.
    classes
        Station-period classes (computed and published).
    class_trends
        Trend rows of the class series (``station_id, class_source, trend, p_value``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per crossing and station, plus one per station with published section
        classes that matched no crossing (``crossing_id`` empty), in the network CRS:
        the crossing point, else the station (proxy) location, else no geometry.
    """
    st = stations.set_index("station_id")
    cx = crossings.set_index("crossing_id")
    summary = _class_summary(classes, class_trends)
    published = set(classes.loc[classes["class_source"] == "published", "station_id"])
    rows = []
    geoms = []
    for m in matches.itertuples(index=False):
        c = cx.loc[m.crossing_id]
        rows.append(
            {
                "section_id": f"{m.crossing_id}/{m.station_id}",
                "crossing_id": m.crossing_id,
                "level": int(c["level"]),
                "level_name": c["level_name"],
                "from_jur": c["from_jur"],
                "to_jur": c["to_jur"],
                "from_name": c["from_name"],
                "to_name": c["to_name"],
                "reach_id": c["reach_id"],
                "station_id": m.station_id,
                "along_river_m": float(m.along_river_m),  # type: ignore[arg-type]
                "station_side": m.station_side,
            }
        )
        geoms.append(c.geometry)
    matched = set(matches["station_id"])
    for sid in sorted(published - matched):
        rows.append(
            {
                "section_id": str(sid),
                "crossing_id": "",
                "level": -1,
                "level_name": "",
                "from_jur": "",
                "to_jur": "",
                "from_name": "",
                "to_name": "",
                "reach_id": pd.NA,
                "station_id": sid,
                "along_river_m": np.nan,
                "station_side": "",
            }
        )
        geoms.append(st.geometry.get(sid) if sid in st.index else None)
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame(
            columns=[
                "section_id",
                "crossing_id",
                "level",
                "level_name",
                "from_jur",
                "to_jur",
                "from_name",
                "to_name",
                "reach_id",
                "station_id",
                "along_river_m",
                "station_side",
            ]
        )
    sid = out["station_id"]
    for col, default in (
        ("name", ""),
        ("location_status", ""),
        ("is_proxy", False),
        ("boundary", ""),
    ):
        src = st[col] if col in st.columns else pd.Series(default, index=st.index)
        vals = sid.map(src)
        if isinstance(default, str):
            out["station_name" if col == "name" else col] = text(vals)
        else:
            out[col] = np.asarray(vals.astype(object).where(vals.notna(), default), dtype=bool)
    out = out.merge(summary, on="station_id", how="left")
    out["n_periods"] = out["n_periods"].fillna(0).astype(int)
    for c in ("class_source", "latest_period", "latest_class", "worst_class", "best_class"):
        out[c] = text(out[c])
    out["record"] = np.where(
        out["crossing_id"] == "", "published section (no crossing matched)", "crossing with station"
    )
    out["reach_id"] = pd.array(out["reach_id"].to_numpy(dtype=object), dtype="Int64")
    return gpd.GeoDataFrame(
        out, geometry=gpd.GeoSeries(geoms, crs=crossings.crs), crs=crossings.crs
    )


def _class_summary(classes: pd.DataFrame, class_trends: pd.DataFrame) -> pd.DataFrame:
    """Per station: periods, latest, best and worst class, and the class trend."""
    cols = [
        "station_id",
        "class_source",
        "n_periods",
        "first_period",
        "latest_period",
        "latest_class",
        "latest_worst_parameters",
        "latest_max_exceedance_ratio",
        "best_class",
        "worst_class",
        "class_trend",
        "class_trend_p",
    ]
    if classes.empty:
        return pd.DataFrame(columns=cols)
    # each station's first tested class trend (one pass, not one filter per station)
    first_tested: dict[Any, tuple[str, float]] = {}
    if len(class_trends):
        ct = class_trends[class_trends["tested"]]
        for sid, trend, p in zip(ct["station_id"], ct["trend"], ct["p_value"], strict=True):
            first_tested.setdefault(sid, (str(trend), float(p)))
    rows = []
    for sid, g in classes.sort_values("period_start").groupby("station_id", sort=True):
        last = g.iloc[-1]
        tested = first_tested.get(sid)
        rows.append(
            {
                "station_id": sid,
                "class_source": "|".join(sorted(set(g["class_source"]))),
                "n_periods": len(g),
                "first_period": g["period"].iloc[0],
                "latest_period": last["period"],
                "latest_class": last["class"],
                "latest_worst_parameters": last["worst_parameters"],
                "latest_max_exceedance_ratio": last["max_exceedance_ratio"],
                "best_class": g["class"].to_numpy()[int(np.argmin(g["class_rank"].to_numpy()))],
                "worst_class": g["class"].to_numpy()[int(np.argmax(g["class_rank"].to_numpy()))],
                "class_trend": (
                    _class_trend_words(tested[0]) if tested is not None else "not tested"
                ),
                "class_trend_p": tested[1] if tested is not None else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _class_trend_words(trend: str) -> str:
    """Name a class-rank trend: a rising rank is a worsening class."""
    return {"increasing": "worsening", "decreasing": "improving"}.get(trend, "no trend")


def monitoring_gap(
    crossings: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    levels: list[str],
    stations_with_data: set[str],
) -> dict[str, dict[str, Any]]:
    """Share of crossing sections that have a water-quality station, per level.

    Parameters
    ----------
    crossings
        The overlay's crossings (``crossing_id, level_name``).
    matches
        Station-crossing pairs.
    levels
        Level names, coarsest first.
    stations_with_data
        Stations with at least one water-quality record (a concentration or a published
        class; flow alone does not count).

    Returns
    -------
    dict
        Level -> ``{"crossings", "with_station", "share_with_station"}`` (share None
        where a level has no crossing).

    Examples
    --------
    >>> c = pd.DataFrame({"crossing_id": ["a", "b"], "level_name": ["country"] * 2})
    >>> m = pd.DataFrame({"station_id": ["S"], "crossing_id": ["a"]})
    >>> monitoring_gap(c, m, levels=["country"], stations_with_data={"S"})
    {'country': {'crossings': 2, 'with_station': 1, 'share_with_station': 0.5}}
    """
    ok = matches[matches["station_id"].isin(stations_with_data)]
    covered = set(ok["crossing_id"])
    out: dict[str, dict[str, Any]] = {}
    for lv in levels:
        ids = crossings.loc[crossings["level_name"] == lv, "crossing_id"]
        n = len(ids)
        k = int(ids.isin(covered).sum())
        out[lv] = {
            "crossings": n,
            "with_station": k,
            "share_with_station": (k / n) if n else None,
        }
    return out
