"""Tests for basingov.network.naming: names transferred from a named line layer."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString

from basingov.errors import CRSError, InputError
from basingov.network.naming import names_from_lines

CRS = "EPSG:3035"


@pytest.fixture
def reaches() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3]},
        geometry=[
            LineString([(0, 0), (5000, 0)]),  # along the river
            LineString([(5000, 3000), (5000, 0)]),  # a tributary meeting it
            LineString([(0, 800), (5000, 800)]),  # beside it, within 1 km
        ],
        crs=CRS,
    )


def test_names_follow_the_line_a_reach_runs_along(reaches: gpd.GeoDataFrame) -> None:
    named = gpd.GeoDataFrame(
        {"name": ["Rhine", "Rhine", ""]},
        geometry=[
            LineString([(0, 200), (3000, 200)]),
            LineString([(3000, 200), (9000, 200)]),  # dissolved with the first part
            LineString([(5000, 3000), (5000, 0)]),  # unnamed lines give no name
        ],
        crs=CRS,
    )
    assert names_from_lines(reaches, named, column="name").tolist() == ["Rhine", "", "Rhine"]
    narrow = names_from_lines(reaches, named, column="name", tolerance_m=500)
    assert narrow.tolist() == ["Rhine", "", ""]
    # the name layer is reprojected to the reaches' CRS
    wgs = names_from_lines(reaches, named.to_crs(4326), column="name")
    assert wgs.tolist() == ["Rhine", "", "Rhine"]


def test_errors(reaches: gpd.GeoDataFrame) -> None:
    named = gpd.GeoDataFrame({"NAME": ["x"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=CRS)
    with pytest.raises(InputError, match=r"lacks column 'name'; its columns are \['NAME'\]"):
        names_from_lines(reaches, named, column="name")
    with pytest.raises(InputError, match=r"need tolerance_m > 0 and 0 < min_share <= 1"):
        names_from_lines(reaches, named, column="NAME", min_share=0)
    with pytest.raises(CRSError, match=r"estimate_utm_crs"):
        names_from_lines(reaches.to_crs(4326), named, column="NAME")
    with pytest.raises(CRSError, match=r"the name layer has no CRS"):
        names_from_lines(reaches, named.set_crs(None, allow_override=True), column="NAME")
