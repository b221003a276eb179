"""A tiny basin written to disk (boundaries, rivers, loads table, config) for hostile-input tests.

Two countries A (upstream) and B (downstream), each split into two provinces, drained by
a three-reach river that flows west to east and crosses the A/B border once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box

from basingov.io import write_gpkg

ToyFactory = Callable[..., Path]

CONFIG = """
[basin]
name = "toy"
title = "Toy"
crs = "EPSG:3035"
outlet = [7.19, 47.05]
network = "lines"

[boundaries]
path = "bounds.gpkg"
levels = ["country", "province"]

[networks.lines]
builder = "lines_outlet"
path = "rivers.gpkg"
layer = "rivers"
id_column = "rid"
name_column = "NAME"
tolerance_m = 10.0

[loads]
parameter = "TN"
sources = ["jurisdiction_table"]
jurisdiction_table = "loads.csv"
jurisdiction_level = "country"
"""

LOADS_CSV = "jur_id,load_kg_day\nA,10.0\nB,5.0\n"


def jurisdictions() -> gpd.GeoDataFrame:
    """Return the toy jurisdictions: countries A, B and provinces A1, A2, B1, B2 (WGS84)."""
    return gpd.GeoDataFrame(
        {
            "jur_id": ["A", "B", "A1", "A2", "B1", "B2"],
            "name": ["Upland", "Lowland", "Up North", "Up South", "Low North", "Low South"],
            "level": [0, 0, 1, 1, 1, 1],
            "level_name": ["country", "country"] + ["province"] * 4,
            "parent_id": ["", "", "A", "A", "B", "B"],
        },
        geometry=[
            box(7.0, 47.0, 7.1, 47.1),
            box(7.1, 47.0, 7.2, 47.1),
            box(7.0, 47.05, 7.1, 47.1),
            box(7.0, 47.0, 7.1, 47.05),
            box(7.1, 47.05, 7.2, 47.1),
            box(7.1, 47.0, 7.2, 47.05),
        ],
        crs="EPSG:4326",
    )


def basin_layer() -> gpd.GeoDataFrame:
    """Return the toy basin polygon (WGS84)."""
    return gpd.GeoDataFrame(
        {"name": ["toy"]}, geometry=[box(7.0, 47.0, 7.2, 47.1)], crs="EPSG:4326"
    )


def rivers() -> gpd.GeoDataFrame:
    """Return the toy river: three reaches west to east along 47.03 N (WGS84)."""
    return gpd.GeoDataFrame(
        {
            "rid": [1, 2, 3],
            "NAME": ["Toy", "Toy", "Toy"],
            "in_basin_share": [1.0, 1.0, 0.9],
        },
        geometry=[
            LineString([(7.01, 47.03), (7.07, 47.03)]),
            LineString([(7.07, 47.03), (7.13, 47.03)]),
            LineString([(7.13, 47.03), (7.19, 47.05)]),
        ],
        crs="EPSG:4326",
    )


def write_toy(
    folder: Path,
    *,
    config: str = CONFIG,
    jur: gpd.GeoDataFrame | None = None,
    basin: gpd.GeoDataFrame | None = None,
    river: gpd.GeoDataFrame | None = None,
    loads_csv: str | bytes = LOADS_CSV,
) -> Path:
    """Write the toy basin into ``folder`` and return its config path."""
    folder.mkdir(parents=True, exist_ok=True)
    write_gpkg(
        {
            "basin": basin_layer() if basin is None else basin,
            "jurisdictions": jurisdictions() if jur is None else jur,
        },
        folder / "bounds.gpkg",
        overwrite=True,
    )
    write_gpkg(
        {"rivers": rivers() if river is None else river}, folder / "rivers.gpkg", overwrite=True
    )
    if isinstance(loads_csv, bytes):
        (folder / "loads.csv").write_bytes(loads_csv)
    else:
        (folder / "loads.csv").write_text(loads_csv, encoding="utf-8")
    cfg = folder / "toy.toml"
    cfg.write_text(config, encoding="utf-8")
    return cfg


@pytest.fixture
def toy(tmp_path: Path) -> ToyFactory:
    """Return a factory writing the toy basin (with optional replacements) under tmp_path.

    ``toy(replace={"old": "new"}, append="...", **write_toy_kwargs)`` edits the config text.
    """

    def make(
        *, replace: dict[str, str] | None = None, append: str = "", sub: str = "toy", **kw: object
    ) -> Path:
        text = CONFIG
        for old, new in (replace or {}).items():
            assert old in text, old
            text = text.replace(old, new)
        return write_toy(tmp_path / sub, config=text + append, **kw)  # type: ignore[arg-type]

    return make
