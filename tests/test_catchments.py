"""Tests for basingov.catchments: nearest-reach area allocation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box

from basingov.catchments import allocate_local_area
from basingov.errors import CRSError, InputError


@pytest.fixture
def y_basin() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    # two tributaries in the west half, one trunk in the east half of a 4 km x 2 km basin
    reaches = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3]},
        geometry=[
            LineString([(0, 1500), (2000, 1000)]),
            LineString([(0, 500), (2000, 1000)]),
            LineString([(2000, 1000), (4000, 1000)]),
        ],
        crs="EPSG:3035",
    )
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 4000, 2000)], crs="EPSG:3035")
    return reaches, basin


def test_areas_sum_to_basin_area(y_basin: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    reaches, basin = y_basin
    area = allocate_local_area(reaches, basin, cell_m=50)
    assert area.sum() == pytest.approx(8.0, rel=1e-12)
    # by symmetry the two tributaries get the same share
    assert area[0] == pytest.approx(area[1], rel=1e-9)
    assert np.all(area > 0)


def test_errors(y_basin: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> None:
    reaches, basin = y_basin
    with pytest.raises(CRSError, match=r"estimate_utm_crs"):
        allocate_local_area(reaches.to_crs(4326), basin)
    with pytest.raises(InputError, match=r"basin CRS .* differs .* basin.to_crs\(reaches.crs\)"):
        allocate_local_area(reaches, basin.to_crs(3857))
    with pytest.raises(InputError, match=r"cell_m must be a positive number of metres, got 0"):
        allocate_local_area(reaches, basin, cell_m=0)
    with pytest.raises(InputError, match=r"the reach or basin layer is empty"):
        allocate_local_area(reaches.iloc[:0], basin)
    with pytest.raises(InputError, match=r"smaller than one 1e\+06 m cell"):
        allocate_local_area(reaches, basin, cell_m=1e6)
