"""Shared fixtures of the monitoring tests: a tiny Y-shaped basin across two jurisdictions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, box

from basingov.network import network_from_table
from basingov.overlay import overlay_network

#: Origin of the hand-built basins (EPSG:3035 metres, in central Europe).
X0, Y0 = 4_000_000.0, 3_000_000.0


def _line(*pts: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


@dataclass
class TinyBasin:
    net: Any
    overlay: Any
    jurisdictions: gpd.GeoDataFrame


@pytest.fixture
def y_basin() -> TinyBasin:
    """Build a Y confluence: reaches 1 (west, 10 km) and 2 (north, 10 km) join reach 3 (20 km).

    Local areas 100, 50 and 200 km2 give upstream areas 100, 50 and 350 km2. Jurisdiction
    W holds x < 20 km and E the rest, so the only crossing, W -> E, lies half way down
    reach 3, 10 km above the outlet.
    """
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3], "downstream_id": [3, 3, -1],
         "local_area_km2": [100.0, 50.0, 200.0]},
        geometry=[_line((0, 0), (10000, 0)), _line((10000, 10000), (10000, 0)),
                  _line((10000, 0), (30000, 0))],
        crs="EPSG:3035",
    )  # fmt: skip
    net = network_from_table(t)
    jur = gpd.GeoDataFrame(
        {"jur_id": ["W", "E"], "name": ["West", "East"], "level": [0, 0],
         "level_name": ["country", "country"], "parent_id": ["", ""]},
        geometry=[box(X0 - 1000, Y0 - 5000, X0 + 20000, Y0 + 15000),
                  box(X0 + 20000, Y0 - 5000, X0 + 31000, Y0 + 15000)],
        crs="EPSG:3035",
    )  # fmt: skip
    basin = gpd.GeoDataFrame(
        {"name": ["tiny"]}, geometry=[box(X0 - 1000, Y0 - 5000, X0 + 31000, Y0 + 15000)],
        crs="EPSG:3035",
    )  # fmt: skip
    ov = overlay_network(net, jur, basin, levels=["country"])
    return TinyBasin(net=net, overlay=ov, jurisdictions=jur)


def stations_at(points: dict[str, tuple[float, float] | None], **extra: Any) -> gpd.GeoDataFrame:
    """Stations at (x, y) offsets from the origin (None = unlocated), in EPSG:4326."""
    ids = list(points)
    geoms = [
        None if p is None else gpd.points_from_xy([X0 + p[0]], [Y0 + p[1]])[0]
        for p in points.values()
    ]
    gdf = gpd.GeoDataFrame(
        {"station_id": ids, "name": ids,
         "location_status": ["measured" if p is not None else "unlocated" for p in points.values()],
         **extra},
        geometry=gpd.GeoSeries(geoms, crs="EPSG:3035"),
        crs="EPSG:3035",
    )  # fmt: skip
    return gdf.to_crs("EPSG:4326")


@pytest.fixture
def make_stations() -> Any:
    """Return the :func:`stations_at` helper."""
    return stations_at


def mixed_observations(seed: int = 0, n: int = 4000, *, tz: str | None = None) -> pd.DataFrame:
    """Build long observations that stress grouped sums.

    Values of very different sizes, repeated flows at one time, missing and flagged values,
    stations in any row order.
    """
    rng = np.random.default_rng(seed)
    times = pd.date_range("2018-01-01", periods=60, freq="17D", tz=tz)
    params = np.array(["TP", "TN", "Q", "NH4", "pH", "SS"])
    value = rng.lognormal(0.0, 4.0, n) * rng.choice([1e-6, 1.0, 1e6], n)
    value[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "station_id": pd.array(rng.choice(["S1", "S2", "S10", "a", "B"], n), dtype="str"),
            "time": times[rng.integers(0, len(times), n)],
            "parameter": pd.array(rng.choice(params, n), dtype="str"),
            "value": value,
            "unit": "mg/L",
            "flag": pd.array(
                rng.choice(["", "<", "implausible_in_source"], n, p=[0.9, 0.05, 0.05]), dtype="str"
            ),
        }
    )


@pytest.fixture
def make_observations() -> Any:
    """Return the :func:`mixed_observations` helper."""
    return mixed_observations
