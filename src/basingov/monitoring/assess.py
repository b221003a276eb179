"""The monitoring stage: stations on the network, classes, sections, trends and mass balance."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from basingov._filters import apply_filter
from basingov._tables import factorize_text
from basingov.config import MonitoringSection
from basingov.errors import BasingovWarning, ConfigError, InputError
from basingov.monitoring.massbalance import MassBalance, mass_balance, station_load_table
from basingov.monitoring.sections import (
    PERIODS,
    PUBLISHED_CLASS_PARAMETERS,
    monitoring_gap,
    period_classes,
    published_classes,
    section_table,
)
from basingov.monitoring.standards import available_standards, get_standard
from basingov.monitoring.stations import match_sections, read_station_table, snap_stations
from basingov.monitoring.trends import TREND_COLUMNS, trend_tests
from basingov.monitoring.units import (
    not_used,
    parameter_stations,
    read_observations,
    text,
)

__all__ = ["MonitoringResult", "assess", "standard_problems"]

logger = logging.getLogger(__name__)

#: Parameter name of the class-rank series in the trend table.
CLASS_RANK = "class_rank"


@dataclass(frozen=True, eq=False, kw_only=True)
class MonitoringResult:
    """Everything the monitoring stage produced for one basin.

    Attributes
    ----------
    stations
        One row per station (network CRS): location and its status (``is_proxy``),
        snapping, jurisdictions at every level, the crossing section per level within the
        tolerance (``section_<level>``), data coverage and latest class.
        ``n_observations`` counts the station's rows of the observation table, as
        published (flagged values included); ``n_not_used`` counts those of them whose
        flag is in :data:`~basingov.monitoring.units.EXCLUDED_FLAGS`, which the classes,
        trends and mass balance leave out.
    sections
        Border sections (:func:`basingov.monitoring.section_table`).
    matches
        Station-crossing pairs within the section tolerance.
    observations
        The normalised observations.
    classes
        Station-period classes, computed (``class_source = "period statistics"``) and
        published (``"published"``).
    exceedances
        Station-period-parameter statistics, classes and exceedances.
    trends
        Trend tests per station and parameter, and of each station's class rank
        (``parameter = "class_rank"``; increasing = worsening).
    mass_balance
        Loads and incremental loads between stations (:class:`MassBalance`).
    monitoring_gap
        Per level: crossings, crossings with a water-quality station, and the share.
    standard, period, target_class
        The classification settings used.
    unsnapped
        Ids of the stations left unsnapped.
    """

    stations: gpd.GeoDataFrame
    sections: gpd.GeoDataFrame
    matches: pd.DataFrame
    observations: pd.DataFrame
    classes: pd.DataFrame
    exceedances: pd.DataFrame
    trends: pd.DataFrame
    mass_balance: MassBalance
    monitoring_gap: dict[str, dict[str, Any]]
    standard: str
    period: str
    target_class: str
    unsnapped: tuple[str, ...] = ()

    def section_classes(self) -> pd.DataFrame:
        """Return the class history of every crossing section: one row per crossing, period.

        ``crossing_id, station_id, period, class, max_exceedance_ratio, standard``; the
        station-period classes (:attr:`classes`) of the stations at each crossing.
        """
        s = pd.DataFrame(self.sections.drop(columns="geometry"))
        s = s.loc[s["crossing_id"].astype(str) != "", ["crossing_id", "station_id"]]
        cols = ["station_id", "period", "class", "max_exceedance_ratio", "standard"]
        c = self.classes[[x for x in cols if x in self.classes.columns]]
        out = s.merge(c, on="station_id", how="inner")
        return out.sort_values(["crossing_id", "period", "station_id"]).reset_index(drop=True)

    def crossing_sections(self) -> pd.DataFrame:
        """Return one row per crossing with a station, as :mod:`basingov.priority` reads it.

        ``crossing_id``, ``exceedance_ratio`` (the worst latest-period exceedance ratio of
        its stations against the target class; NaN where only classes are known) and
        ``has_station`` (True).
        """
        s = pd.DataFrame(self.sections.drop(columns="geometry"))
        s = s[s["crossing_id"].astype(str) != ""]
        col = "latest_max_exceedance_ratio"
        ratio = (
            pd.to_numeric(s[col], errors="coerce")
            if col in s.columns
            else pd.Series(np.nan, index=s.index)
        )
        out = (
            s.assign(exceedance_ratio=ratio)
            .groupby("crossing_id", sort=True)["exceedance_ratio"]
            .max()
            .reset_index()
        )
        out["has_station"] = True
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the output tables by file stem (``stations``, ``sections``, ``trends``, ...)."""
        mb = self.mass_balance
        return {
            "stations": pd.DataFrame(self.stations.drop(columns="geometry")),
            "sections": pd.DataFrame(self.sections.drop(columns="geometry")),
            "trends": self.trends,
            "classes": self.classes,
            "section_classes": self.section_classes(),
            "exceedances": self.exceedances,
            "station_loads": mb.station_loads,
            "mass_balance": mb.increments,
            "mass_balance_attribution": mb.attribution,
        }

    def summary(self) -> dict[str, Any]:
        """Return counts and the monitoring gap, for ``summary.json``."""
        st = self.stations
        return {
            "standard": self.standard,
            "period": self.period,
            "target_class": self.target_class,
            "stations": len(st),
            "stations_snapped": int(st["snapped"].sum()),
            "stations_proxy_location": int(st["is_proxy"].sum()),
            "stations_with_water_quality": int(st["has_water_quality"].sum()),
            "sections": len(self.sections),
            "published_sections_without_crossing": int((self.sections["crossing_id"] == "").sum()),
            "station_periods_classified": len(self.classes),
            "trends_tested": int(self.trends["tested"].sum()) if len(self.trends) else 0,
            "mass_balance_increments": len(self.mass_balance.increments),
            "monitoring_gap": self.monitoring_gap,
        }


def _concat(frames: list[pd.DataFrame], *, empty: pd.DataFrame) -> pd.DataFrame:
    """Concatenate the non-empty frames, or return ``empty``."""
    full = [f for f in frames if len(f)]
    return pd.concat(full, ignore_index=True) if full else empty


def standard_problems(cfg: MonitoringSection) -> list[str]:
    """Return what is wrong with ``[monitoring].standard`` and ``target_class`` (or nothing).

    Examples
    --------
    >>> standard_problems(MonitoringSection(standard="GB3838-2002", target_class="III"))
    []
    >>> standard_problems(MonitoringSection(standard="GB 3838"))
    ["[monitoring].standard must be one of ['GB3838-2002', 'OGewV-2016'], got 'GB 3838'"]
    """
    names = available_standards()
    if cfg.standard not in names:
        return [f"[monitoring].standard must be one of {names}, got {cfg.standard!r}"]
    classes = list(get_standard(cfg.standard).classes)
    if cfg.target_class not in classes:
        return [
            f"[monitoring].target_class must be a class of {cfg.standard} {classes}, "
            f"got {cfg.target_class!r}"
        ]
    return []


def _check_config(cfg: MonitoringSection) -> None:
    problems = []
    if cfg.stations is None or cfg.observations is None:
        problems.append("[monitoring] needs both 'stations' and 'observations' files")
    problems += standard_problems(cfg)
    if cfg.period not in PERIODS:
        problems.append(f"[monitoring].period must be one of {list(PERIODS)}, got {cfg.period!r}")
    if problems:
        msg = "Invalid [monitoring] settings:\n" + "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(msg)


def observation_problems(
    obs: pd.DataFrame,
    stations: pd.DataFrame,
    *,
    observations: Any = "observations",
    station_table: Any = "the station table",
) -> list[str]:
    """Return what the monitoring stage refuses in normalised observations beyond units.

    Observations of stations the station table lacks are refused (they would be placed
    nowhere); ``observations`` and ``station_table`` name the tables in the message.
    """
    unknown = sorted(set(obs["station_id"].unique()) - set(stations["station_id"].astype(str)))
    if not unknown:
        return []
    return [
        f"{observations}: column 'station_id' names {len(unknown)} station(s) not in "
        f"{station_table}: {unknown[:20]}; add them to the station table"
    ]


def excluded_values(obs: pd.DataFrame, *, observations: Any = "observations") -> str:
    """Say which values :func:`~basingov.monitoring.units.not_used` leaves out (``""`` if none)."""
    flagged = not_used(obs)
    if not flagged.any():
        return ""
    flags = " or ".join(map(repr, sorted(set(obs.loc[flagged, "flag"]))))
    return (
        f"{observations}: {int(flagged.sum())} value(s) flagged {flags} are not used in the "
        f"classes, trends or mass balance ({parameter_stations(obs, flagged)}); they stay in "
        "the table as published"
    )


def _water_bodies(stations: pd.DataFrame, expr: str | None) -> dict[str, str]:
    if not expr:
        return {}
    # a safe comparison language (basingov._filters), never pandas query/eval
    lakes = stations[apply_filter(stations, expr, where="[monitoring].lake_stations")]
    return dict.fromkeys(lakes["station_id"].astype(str), "lake")


def assess(
    basin: Any,
    network: Any,
    overlay: Any,
    *,
    config: MonitoringSection | None = None,
) -> MonitoringResult:
    """Run the monitoring stage on a basin's network and overlay.

    Parameters
    ----------
    basin
        The loaded basin (:class:`basingov.datasets.Basin`), for its jurisdictions and
        default ``[monitoring]`` settings.
    network
        The :class:`basingov.network.RiverNetwork` the overlay was built on.
    overlay
        The :class:`basingov.overlay.OverlayResult`.
    config
        ``[monitoring]`` settings (default: the basin config's).

    Returns
    -------
    MonitoringResult

    Raises
    ------
    ConfigError
        On missing files, an unknown standard, class or period, or a bad
        ``lake_stations`` expression.
    InputError
        On bad station or observation tables (units, columns, unknown station ids).

    Warns
    -----
    BasingovWarning
        Listing every station left unsnapped, and the values flagged
        ``implausible_in_source`` (kept in the table, not used), by parameter and station.

    Examples
    --------
    >>> import warnings
    >>> from basingov.datasets import load_basin, load_network
    >>> from basingov.overlay import overlay_network
    >>> b = load_basin("taihu")
    >>> net = load_network(b)
    >>> ov = overlay_network(net, b.jurisdictions, b.basin, levels=list(b.config.boundaries.levels))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = assess(b, net, ov)
    >>> int((res.classes["class_source"] == "published").sum())
    133
    """
    cfg = config if config is not None else basin.config.monitoring
    _check_config(cfg)
    levels = list(basin.config.boundaries.levels)
    if cfg.stations is None or cfg.observations is None:  # _check_config raised already
        msg = "[monitoring] needs both 'stations' and 'observations' files"
        raise ConfigError(msg)
    stations = read_station_table(cfg.stations, proxy_locations=cfg.proxy_locations)
    obs = read_observations(cfg.observations)
    problems = observation_problems(
        obs, stations, observations=cfg.observations, station_table=cfg.stations
    )
    if problems:
        raise InputError(problems[0])
    flagged = excluded_values(obs, observations=cfg.observations)
    if flagged:  # reported as the unsnapped stations are (run.log, summary.json)
        warnings.warn(flagged, BasingovWarning, stacklevel=2)
    wb = _water_bodies(stations, cfg.lake_stations)
    snapped = snap_stations(
        stations,
        network,
        overlay.pieces,
        levels=levels,
        max_distance_m=cfg.snap_tolerance_m,
        area_column=cfg.area_column,
        jurisdictions=basin.jurisdictions,
    )
    matches = match_sections(
        snapped, overlay.crossings, network, tolerance_m=cfg.section_tolerance_m
    )
    computed, exceedances = period_classes(
        obs,
        wb,
        standard=cfg.standard,
        period=cfg.period,  # type: ignore[arg-type]  # checked above
        target_class=cfg.target_class,
        river_type=cfg.river_type,
    )
    published = published_classes(obs)
    classes = _concat([computed, published], empty=computed)
    classes = classes.sort_values(["station_id", "period_start", "class_source"]).reset_index(
        drop=True
    )
    series = obs[~obs["parameter"].isin(list(PUBLISHED_CLASS_PARAMETERS))]
    trends = trend_tests(series)
    class_obs = pd.DataFrame(
        {
            "station_id": classes["station_id"],
            "time": pd.to_datetime(classes["period_start"]),
            "parameter": CLASS_RANK,
            "value": classes["class_rank"].astype(float),
            "unit": "rank (1 = best class)",
        }
    )
    class_trends = trend_tests(class_obs)
    trends = _concat([trends, class_trends], empty=pd.DataFrame(columns=TREND_COLUMNS))
    sections = section_table(snapped, matches, overlay.crossings, classes, class_trends)
    loads = station_load_table(obs, period=cfg.period)
    mb = mass_balance(network, overlay.pieces, snapped, loads, levels=levels)
    wq = obs[obs["parameter"] != "Q"]
    with_data = set(wq["station_id"].unique())
    gap = monitoring_gap(overlay.crossings, matches, levels=levels, stations_with_data=with_data)
    out = _station_table(snapped, obs, wb, matches, classes, levels, with_data)
    return MonitoringResult(
        stations=out,
        sections=sections,
        matches=matches,
        observations=obs,
        classes=classes,
        exceedances=exceedances,
        trends=trends,
        mass_balance=mb,
        monitoring_gap=gap,
        standard=cfg.standard,
        period=cfg.period,
        target_class=cfg.target_class,
        unsnapped=tuple(out.loc[~out["snapped"], "station_id"].astype(str)),
    )


def _station_table(
    snapped: gpd.GeoDataFrame,
    obs: pd.DataFrame,
    wb: dict[str, str],
    matches: pd.DataFrame,
    classes: pd.DataFrame,
    levels: list[str],
    with_data: set[str],
) -> gpd.GeoDataFrame:
    out = snapped.copy()
    sid = out["station_id"].astype(str)
    out["water_body"] = sid.map(lambda s: wb.get(s, "river")).to_numpy()
    # one factorize of the station and parameter columns; counts by np.bincount
    code, ids = factorize_text(obs["station_id"])
    at = ids.get_indexer(sid)  # -1: no observation
    has = code >= 0  # a groupby leaves missing ids out
    # every row of the table, as published; of them, the values the assessments leave out
    for col, rows in (("n_observations", has), ("n_not_used", has & not_used(obs))):
        n = np.bincount(code[rows], minlength=len(ids))
        out[col] = np.append(n, 0)[at].astype(int)  # at -1: the 0 appended
    out["parameters"] = text(sid.map(_parameter_sets(obs, code, ids)))
    earliest, latest = _time_range(obs["time"], code, ids)
    out["first_time"] = sid.map(earliest).to_numpy()
    out["last_time"] = sid.map(latest).to_numpy()
    out["has_water_quality"] = sid.isin(with_data).to_numpy()
    for lv in levels:
        m = matches[matches["level_name"] == lv].sort_values("along_river_m")
        first = m.drop_duplicates("station_id").set_index("station_id")["crossing_id"]
        out[f"section_{lv}"] = text(sid.map(first))
    if len(classes):
        last = classes.sort_values("period_start").groupby("station_id").last()
        out["latest_period"] = text(sid.map(last["period"]))
        out["latest_class"] = text(sid.map(last["class"]))
        out["class_source"] = text(sid.map(last["class_source"]))
    else:
        out["latest_period"] = ""
        out["latest_class"] = ""
        out["class_source"] = ""
    n_cls = sid.map(classes.groupby("station_id").size()).fillna(0)
    out["n_class_periods"] = n_cls.to_numpy(dtype=np.int64)
    return out.reset_index(drop=True)


def _parameter_sets(obs: pd.DataFrame, code: np.ndarray, ids: pd.Index) -> pd.Series:
    """Each station's ``|``-joined sorted parameters, by station id.

    ``code``, ``ids``: the station column factorized; the sets come from the distinct
    (station, parameter) codes.
    """
    par, names = factorize_text(obs["parameter"])
    ok = (code >= 0) & (par >= 0)
    pair = np.unique(code[ok].astype(np.int64) * max(len(names), 1) + par[ok])
    station, param = np.divmod(pair, max(len(names), 1))
    sets: dict[int, list[str]] = {}
    for s, p in zip(station.tolist(), names.take(param).tolist(), strict=True):
        sets.setdefault(s, []).append(p)
    joined = {ids[s]: "|".join(sorted(ps)) for s, ps in sets.items()}
    return pd.Series(joined, dtype=object)


def _time_range(time: pd.Series, code: np.ndarray, ids: pd.Index) -> tuple[pd.Series, pd.Series]:
    """Each station's first and last time (missing times left out), by station id.

    The extremes are found on the times' integer values (``np.minimum.at``); each is then
    taken from a row that has it, so the values keep the column's dtype and zone.
    """
    t = pd.DatetimeIndex(time).asi8
    ok = (code >= 0) & (t != np.iinfo(np.int64).min)  # NaT
    c, tv = code[ok], t[ok]
    rows = np.flatnonzero(ok)
    out = []
    for ufunc, start in (
        (np.minimum, np.iinfo(np.int64).max),
        (np.maximum, np.iinfo(np.int64).min),
    ):
        ext = np.full(len(ids), start, dtype=np.int64)
        ufunc.at(ext, c, tv)
        hit = tv == ext[c]
        pos = np.full(len(ids), -1, dtype=np.int64)
        pos[c[hit]] = rows[hit]
        got = pos >= 0
        out.append(pd.Series(time.iloc[pos[got]].array, index=ids[got]))
    return out[0], out[1]
