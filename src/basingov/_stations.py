"""Station tables: read, check the location statuses, fill in proxy locations.

The monitoring stage and the network stage's gauges of the monitoring tables
(``[hydraulics] gauges_from_monitoring``) read a basin's stations with
:func:`read_station_table`, so that both place every station at the same location.
:mod:`basingov.monitoring.stations` re-exports these names.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from basingov._checks import require_columns
from basingov._tables import text
from basingov.errors import InputError
from basingov.io import read_stations

__all__ = ["LOCATION_STATUSES", "PROXY_STATUSES", "apply_proxy_locations", "read_station_table"]

#: Location statuses of a station table (data/README.md, "Monitoring").
LOCATION_STATUSES: tuple[str, ...] = (
    "measured",
    "gauge_proxy",
    "nearby_gauge_proxy",
    "section_proxy",
    "nearby_section_proxy",
    "unlocated",
    "area_mean",
)
#: Statuses of a location that is a stand-in for the sampling point, never the point.
PROXY_STATUSES: frozenset[str] = frozenset(
    {"gauge_proxy", "nearby_gauge_proxy", "section_proxy", "nearby_section_proxy"}
)


def read_station_table(
    path: str | Path, *, proxy_locations: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Read a station table and fill unlocated stations from a proxy-location table.

    Parameters
    ----------
    path
        Station CSV: ``station_id, name, lon, lat, location_status, source`` (+ extras).
    proxy_locations
        Optional CSV ``station_id, lon, lat, location_status, source`` giving stand-in
        locations (see :func:`apply_proxy_locations`).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points (empty geometry where unlocated), with ``is_proxy``.

    Raises
    ------
    InputError
        On a missing file or column, or an unknown ``location_status``.

    Examples
    --------
    >>> from basingov.datasets import data_dir
    >>> mon = data_dir() / "monitoring"
    >>> st = read_station_table(mon / "taihu_stations.csv",
    ...     proxy_locations=mon / "taihu_sections_geocoded.csv")
    >>> int(st["is_proxy"].sum()), int(st.geometry.notna().sum())
    (11, 11)
    """
    st = read_stations(path)
    require_columns(
        st,
        ("name", "location_status"),
        what=f"Station table {path}",
        hint=f"add them (location_status is one of {list(LOCATION_STATUSES)})",
    )
    st["location_status"] = text(st["location_status"])
    bad = sorted(set(st["location_status"]) - set(LOCATION_STATUSES))
    if bad:
        msg = (
            f"Station table {path}: column 'location_status' has unknown value(s) {bad}; "
            f"use one of {list(LOCATION_STATUSES)}"
        )
        raise InputError(msg)
    if proxy_locations is not None:
        st = apply_proxy_locations(st, read_stations(proxy_locations), source=str(proxy_locations))
    st["is_proxy"] = st["location_status"].isin(list(PROXY_STATUSES))
    return st


def apply_proxy_locations(
    stations: gpd.GeoDataFrame, proxies: gpd.GeoDataFrame, *, source: str = "proxy table"
) -> gpd.GeoDataFrame:
    """Give unlocated stations the stand-in location of a proxy table.

    Only stations with ``location_status == "unlocated"`` change; a proxy never replaces
    a location the station table already has. The proxy's ``location_status`` must be a
    proxy status, so that a stand-in is never presented as measured.

    Parameters
    ----------
    stations
        Stations (EPSG:4326), as :func:`read_station_table` reads them.
    proxies
        ``station_id, location_status, source`` and a point geometry (EPSG:4326).
    source
        Name of the proxy table in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``lon, lat, geometry, location_status`` filled and the proxy's
        ``source`` in ``location_source``.

    Raises
    ------
    InputError
        If the proxy table names unknown stations or non-proxy statuses, or has a row
        without a location.
    """
    for col in ("station_id", "location_status", "source"):
        if col not in proxies.columns:
            msg = f"proxy table {source} lacks column {col!r}"
            raise InputError(msg)
    problems = []
    unknown = sorted(set(proxies["station_id"]) - set(stations["station_id"]))
    if unknown:
        problems.append(f"station_id(s) {unknown} are not in the station table")
    bad = sorted(set(proxies["location_status"]) - set(PROXY_STATUSES))
    if bad:
        problems.append(
            f"column 'location_status' has {bad}; a proxy table may only hold "
            f"{sorted(PROXY_STATUSES)}"
        )
    # such a row labelled its station a proxy while leaving it without a location
    no_xy = sorted(map(str, proxies.loc[proxies.geometry.isna(), "station_id"]))
    if no_xy:
        problems.append(
            f"station_id(s) {no_xy[:10]} have no lon/lat; every row of a proxy table gives "
            "a location: fill them in or remove the rows"
        )
    if problems:
        msg = f"proxy table {source}: " + "; ".join(problems)
        raise InputError(msg)
    out = stations.copy()
    if "location_source" not in out.columns:
        out["location_source"] = ""
    p = proxies.set_index("station_id")
    target = out["station_id"].isin(p.index) & (out["location_status"] == "unlocated")
    ids = out.loc[target, "station_id"]
    geom = out.geometry.to_numpy().copy()
    geom[target.to_numpy()] = p.loc[ids].geometry.to_numpy()
    out.loc[target, "lon"] = shapely.get_x(p.loc[ids].geometry.to_numpy())
    out.loc[target, "lat"] = shapely.get_y(p.loc[ids].geometry.to_numpy())
    out.loc[target, "location_status"] = p.loc[ids, "location_status"].to_numpy()
    out.loc[target, "location_source"] = p.loc[ids, "source"].astype(str).to_numpy()
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=stations.crs), crs=stations.crs)
