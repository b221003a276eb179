"""Per-station answers: location, jurisdictions, sections, class history and trends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from basingov.datasets import load_basin, load_network
from basingov.errors import ConfigError, InputError
from basingov.io import to_jsonable
from basingov.monitoring.assess import MonitoringResult, assess
from basingov.overlay import overlay_network

__all__ = ["find_station", "query_station", "station_report"]


def find_station(stations: pd.DataFrame, id_or_name: str) -> pd.Series:
    """Find one station by id, exact name, or a name fragment matching only one station.

    Matching is case-insensitive.

    Raises
    ------
    InputError
        If nothing or several stations match; the message lists candidates.

    Examples
    --------
    >>> st = pd.DataFrame({"station_id": ["TC5", "TC16"],
    ...     "name": ["Thames at Swinford", "Thames at Runnymede"]})
    >>> find_station(st, "runny")["station_id"]
    'TC16'
    """
    q = str(id_or_name).strip()
    ids = stations["station_id"].astype(str)
    names = stations["name"].astype(str)
    for mask in (ids == q, ids.str.lower() == q.lower(), names.str.lower() == q.lower()):
        if mask.sum() == 1:
            return stations[mask.to_numpy()].iloc[0]
    part = names.str.lower().str.contains(q.lower(), regex=False)
    if part.sum() == 1:
        return stations[part.to_numpy()].iloc[0]
    if part.sum() > 1:
        cand = [f"{i} ({n})" for i, n in zip(ids[part], names[part], strict=True)][:20]
        msg = f"{q!r} matches {int(part.sum())} stations: {cand}; give the station id"
        raise InputError(msg)
    msg = (
        f"no station matches {q!r}; stations are e.g. "
        f"{[f'{i} ({n})' for i, n in zip(ids[:10], names[:10], strict=True)]}"
    )
    raise InputError(msg)


def _json(value: Any) -> Any:
    """Return a plain JSON value: dates as ISO text, missing values as None."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if value is pd.NA or value is pd.NaT or value is None:
        return None
    return to_jsonable(value)


def _clean(records: list[dict[Any, Any]]) -> list[dict[str, Any]]:
    return [{str(k): _json(v) for k, v in r.items()} for r in records]


def station_report(result: MonitoringResult, id_or_name: str) -> dict[str, Any]:
    """Everything known about one station, as JSON-ready values.

    Parameters
    ----------
    result
        A :class:`MonitoringResult`.
    id_or_name
        Station id or name (see :func:`find_station`).

    Returns
    -------
    dict
        ``station_id, name, location`` (lon, lat, ``location_status``, ``is_proxy``,
        snapping), ``jurisdictions`` (per level), ``sections`` (crossings within the
        tolerance), ``class_history``, ``latest_class``, ``trends`` and ``loads``.
    """
    st = result.stations
    row = find_station(st, id_or_name)
    sid = str(row["station_id"])
    levels = [c.removeprefix("jur_") for c in st.columns if c.startswith("jur_")]
    status = str(row["location_status"])
    loc = {
        "lon": row.get("lon"),
        "lat": row.get("lat"),
        "location_status": status,
        "is_proxy": bool(row["is_proxy"]),
        "location_note": (
            "proxy: a stand-in location (a gauge or a geocoded section nearby), not the "
            "sampling point"
            if bool(row["is_proxy"])
            else {
                "measured": "published coordinates of the site",
                "unlocated": "no coordinates known",
                "area_mean": "a mean over an area, not a point",
            }.get(status, "")
        ),
        "source": row.get("location_source") or row.get("source"),
        "snapped": bool(row["snapped"]),
        "reach_id": row.get("reach_id"),
        "snap_distance_m": row.get("snap_distance_m"),
        "snap_method": row.get("snap_method"),
        "distance_to_outlet_km": row.get("distance_to_outlet_km"),
        "upstream_area_km2": row.get("upstream_area_km2"),
    }
    jur = {
        lv: {"jur_id": row[f"jur_{lv}"], "name": row.get(f"name_{lv}", "")}
        for lv in levels
        if row[f"jur_{lv}"] not in ("", None) and not pd.isna(row[f"jur_{lv}"])
    }
    m = result.matches[result.matches["station_id"] == sid]
    cls = result.classes[result.classes["station_id"] == sid].sort_values("period_start")
    cls_cols = [
        "period",
        "class",
        "class_source",
        "worst_parameters",
        "max_exceedance_ratio",
        "max_exceedance_parameter",
    ]
    tr = result.trends[result.trends["station_id"] == sid]
    tr_cols = [
        "parameter",
        "unit",
        "tested",
        "method",
        "trend",
        "p_value",
        "sen_slope_per_year",
        "n_values",
        "start",
        "end",
    ]
    loads = result.mass_balance.increments
    ld = loads[(loads["station_id"] == sid) & (loads["period"] == "all")]
    report: dict[str, Any] = {
        "station_id": sid,
        "name": _json(row["name"]),  # NaN for a station without a name: null, not NaN
        "water_body": row.get("water_body", "river"),
        "location": {k: _json(v) for k, v in loc.items()},
        "jurisdictions": {k: {a: _json(b) for a, b in v.items()} for k, v in jur.items()},
        "sections": _clean(m.drop(columns="station_id").to_dict("records")),
        "parameters": [p for p in str(row.get("parameters", "")).split("|") if p],
        "standard": result.standard,
        "latest_class": _json(cls["class"].iloc[-1]) if len(cls) else None,
        "class_history": _clean(cls[cls_cols].to_dict("records")),
        "trends": _clean(tr[tr_cols].to_dict("records")),
        "loads_whole_record": _clean(ld.drop(columns=["station_id", "period"]).to_dict("records")),
    }
    return report


def query_station(basin: str | Path, id_or_name: str) -> dict[str, Any]:
    """Load a basin, run the monitoring stage and report one station.

    Parameters
    ----------
    basin
        Shipped basin name or path to a basin config with a ``[monitoring]`` section.
    id_or_name
        Station id or name.

    Returns
    -------
    dict
        :func:`station_report`, plus ``basin``.

    Raises
    ------
    ConfigError
        If the basin has no ``[monitoring]`` tables.
    InputError
        If the station is not found.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     r = query_station("taihu", "TBA027")
    >>> r["location"]["location_status"], r["location"]["is_proxy"], r["latest_class"]
    ('section_proxy', True, 'IV')
    >>> [h["period"] for h in r["class_history"]]   # the TBA bulletins that name it
    ['2016-12', '2017-06', '2017-10', '2018-06', '2018-08']
    """
    b = load_basin(basin)
    if b.config.monitoring.stations is None:
        msg = f"basin {b.name!r} has no [monitoring] stations in its config {b.config.source}"
        raise ConfigError(msg)
    net = load_network(b)
    ov = overlay_network(net, b.jurisdictions, b.basin, levels=list(b.config.boundaries.levels))
    res = assess(b, net, ov)
    return {"basin": b.name, **station_report(res, id_or_name)}
