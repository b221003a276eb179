"""Tests for basingov.datasets: shipped basins, boundary validation, network loading."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon, box

from basingov.datasets import (
    DATA_ENV,
    _repair_projected,
    available,
    data_dir,
    get_path,
    load_basin,
    load_network,
    resolve_config,
)
from basingov.errors import ConfigError, InputError
from basingov.io import write_gpkg

CONFIG = """
[basin]
name = "toy"
title = "Toy"
crs = "EPSG:3035"
outlet = [7.19, 47.05]
network = "lines"

[boundaries]
path = "bounds.gpkg"
levels = ["country"]

[networks.lines]
builder = "lines_outlet"
path = "rivers.gpkg"
"""


def write_toy(tmp_path: Path, jur: gpd.GeoDataFrame, n_basins: int = 1) -> Path:
    basin = gpd.GeoDataFrame(
        {"name": ["toy"] * n_basins}, geometry=[box(7.0, 47.0, 7.2, 47.1)] * n_basins, crs=4326
    )
    write_gpkg({"basin": basin, "jurisdictions": jur}, tmp_path / "bounds.gpkg")
    cfg = tmp_path / "toy.toml"
    cfg.write_text(CONFIG)
    return cfg


def jur_layer(**overrides: list) -> gpd.GeoDataFrame:
    cols = {
        "jur_id": ["A", "B"],
        "name": ["Upland", "Lowland"],
        "level": [0, 0],
        "level_name": ["country", "country"],
        "parent_id": ["", ""],
    }
    cols.update(overrides)
    geoms = cols.pop("geometry", [box(7.0, 47.0, 7.1, 47.1), box(7.1, 47.0, 7.2, 47.1)])
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=4326)


def test_shipped_basins() -> None:
    assert available() == ["rhine", "taihu", "tennessee", "thames"]
    assert resolve_config("rhine") == get_path("rhine")
    with pytest.raises(
        InputError, match=r"No shipped basin named 'nile'; available basins are \['rhine'"
    ):
        get_path("nile")
    with pytest.raises(ConfigError, match=r"Basin config .*missing.toml does not exist"):
        resolve_config("missing.toml")


def test_data_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(
        InputError, match=r"has no 'basins' folder; point it at basingov's data/ folder"
    ):
        data_dir()
    (tmp_path / "basins").mkdir()
    assert data_dir() == tmp_path
    assert available() == []


def test_load_basin_projects_and_orders_levels(tmp_path: Path) -> None:
    b = load_basin(write_toy(tmp_path, jur_layer()))
    assert b.name == "toy"
    assert b.jurisdictions.crs.to_epsg() == 3035
    assert b.basin.crs.to_epsg() == 3035
    assert b.jurisdictions["jur_id"].tolist() == ["A", "B"]


def test_boundary_problems_are_collected(tmp_path: Path) -> None:
    bowtie = Polygon([(7.0, 47.0), (7.1, 47.1), (7.1, 47.0), (7.0, 47.1)])
    jur = jur_layer(jur_id=["A", "A"], geometry=[bowtie, box(7.1, 47.0, 7.2, 47.1)])
    cfg = write_toy(tmp_path, jur, n_basins=2)
    with pytest.raises(InputError) as info:
        load_basin(cfg)
    msg = str(info.value)
    assert "bounds.gpkg" in msg
    assert "layer 'basin' must hold exactly one polygon, found 2" in msg
    assert "repeated jur_id values ['A']" in msg
    assert "1 invalid geometry at jur_id ['A']; repair with shapely.make_valid" in msg


def test_rings_collapsed_by_the_projection_are_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a hole whose two vertices are one float apart in longitude: valid as read, but both
    # project to one point in EPSG:3035, leaving a ring of too few points
    x = float(np.nextafter(7.04, 8.0))
    hole = [(7.05, 47.05), (7.04, 47.06), (x, 47.06), (7.05, 47.05)]
    holed = Polygon([(7.0, 47.0), (7.1, 47.0), (7.1, 47.1), (7.0, 47.1)], holes=[hole])
    assert holed.is_valid
    assert not gpd.GeoSeries([holed], crs=4326).to_crs(3035).is_valid.iloc[0]
    jur = jur_layer(geometry=[holed, box(7.1, 47.0, 7.2, 47.1)])
    with caplog.at_level(logging.INFO, logger="basingov.datasets"):
        b = load_basin(write_toy(tmp_path, jur))
    assert b.jurisdictions.is_valid.all()
    a = b.jurisdictions.geometry.iloc[0]
    assert len(a.interiors) == 0  # the collapsed hole is gone, the shell kept
    plain = gpd.GeoSeries([box(7.0, 47.0, 7.1, 47.1)], crs=4326).to_crs(3035).iloc[0]
    assert a.area == pytest.approx(plain.area, rel=1e-12)
    assert "1 polygon(s) with a ring collapsed by the projection to EPSG:3035" in caplog.text
    assert ": A" in caplog.text


def test_shipped_rhine_units_stay_valid_when_projected() -> None:
    # DE, DE2, DE26 and DE26A share a sliver hole (4e-18 square degrees) that EPSG:3035
    # collapses; the basin outline has one too
    b = load_basin("rhine")
    assert b.jurisdictions.is_valid.all()
    assert b.basin.is_valid.all()


def test_a_repair_that_changes_the_area_is_refused() -> None:
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    gdf = gpd.GeoDataFrame({"jur_id": ["X"]}, geometry=[bowtie], crs=3035)
    with pytest.raises(
        InputError,
        match=r"1 polygon\(s\) became invalid and repairing them "
        r"changes their area: X \(inf of its area\)",
    ):
        _repair_projected(gdf, "jur_id", "layer 'j' of b.gpkg", "EPSG:3035")


def test_missing_level_and_column(tmp_path: Path) -> None:
    cfg = write_toy(tmp_path, jur_layer(level_name=["state", "state"]))
    with pytest.raises(
        InputError, match=r"levels \['country'\] from \[boundaries\].levels are absent"
    ):
        load_basin(cfg)
    other = tmp_path / "other"
    other.mkdir()
    cfg = write_toy(other, jur_layer().drop(columns="parent_id"))
    with pytest.raises(InputError, match=r"lacks column\(s\) \['parent_id'\]"):
        load_basin(cfg)


def test_load_network_unknown_key_and_derived_areas() -> None:
    b = load_basin("tennessee")
    with pytest.raises(
        ConfigError,
        match=r"network 'hydrorivers' is not in tennessee.toml; its networks are \['ne'\]",
    ):
        load_network(b, key="hydrorivers")
    net = load_network(b)
    assert len(net.outlets) == 1
    # the outlet at Paducah drains the whole basin: TVA's 40,900 square miles (105,900 km2,
    # tennessee.toml); with the Elk cut off (tolerance_m 1000) it drained 6 % less
    r = net.reaches
    outlet = r.loc[r["downstream_id"] < 0, "upstream_area_km2"]
    assert outlet.tolist() == [pytest.approx(105_900.0, rel=0.005)]
    assert "areas apportioned by river length over the basin polygon" in net.source
    assert net.reaches["upstream_area_km2"].notna().all()
    assert set(net.reaches["area_source"]) == {"apportioned"}
