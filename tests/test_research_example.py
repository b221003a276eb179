"""The worked example of docs/research.md: a SYNTHETIC basin in HydroRIVERS layout.

The config is read from docs/research.md itself, so the page and the test cannot drift
apart. The data are made up in code (two countries, four districts, six reaches); no
number here describes a real river.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, box

from basingov import compare as cmp
from basingov.cli.main import cli
from basingov.io import write_gpkg

DOC = Path(__file__).resolve().parents[1] / "docs" / "research.md"


def example_config() -> str:
    """Return the TOML block of docs/research.md marked ``<!-- example-config -->``."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- example-config -->\s*```toml\n(.*?)```", text, flags=re.S)
    assert m is not None, "docs/research.md lost its example config block"
    return m.group(1)


def write_synthetic_basin(folder: Path) -> Path:
    """Write the synthetic basin's files and its config (from the docs); return the config.

    Countries AA (west of 10.32 E) and BB; districts AA1 (AA north of 50.2 N), AA2, BB1
    (BB west of 10.5 E), BB2. The main river runs east along 50.15 N from 10.02 to
    10.58 E in four reaches (101-104); tributary 105 comes from the north in AA1 into
    102, tributary 106 from the south in BB1 into 104. Columns as in HydroRIVERS:
    ``HYRIV_ID, NEXT_DOWN`` (0 at the outlet), ``CATCH_SKM`` (reach catchment, km2),
    ``UPLAND_SKM``, ``DIS_AV_CMS`` (300 mm/year over the upland area, made up).
    """
    folder.mkdir(parents=True, exist_ok=True)
    basin = gpd.GeoDataFrame(
        {"name": ["synthetica"], "source": ["SYNTHETIC, made up in code"], "derived": [1],
         "area_km2": [1436.0]},
        geometry=[box(10.0, 50.0, 10.6, 50.3)],
        crs="EPSG:4326",
    )  # fmt: skip
    jur = gpd.GeoDataFrame(
        {
            "jur_id": ["AA", "BB", "AA1", "AA2", "BB1", "BB2"],
            "name": ["Country A", "Country B", "A north", "A south", "B west", "B east"],
            "level": [0, 0, 1, 1, 1, 1],
            "level_name": ["country", "country"] + ["district"] * 4,
            "parent_id": ["", "", "AA", "AA", "BB", "BB"],
        },
        geometry=[
            box(10.0, 50.0, 10.32, 50.3),
            box(10.32, 50.0, 10.6, 50.3),
            box(10.0, 50.2, 10.32, 50.3),
            box(10.0, 50.0, 10.32, 50.2),
            box(10.32, 50.0, 10.5, 50.3),
            box(10.5, 50.0, 10.6, 50.3),
        ],
        crs="EPSG:4326",
    )
    y = 50.15
    rivers = gpd.GeoDataFrame(
        {
            "HYRIV_ID": [101, 102, 103, 104, 105, 106],
            "NEXT_DOWN": [102, 103, 104, 0, 102, 104],
            "CATCH_SKM": [300.0, 250.0, 250.0, 236.0, 200.0, 200.0],
            "UPLAND_SKM": [300.0, 750.0, 1000.0, 1436.0, 200.0, 200.0],
            "DIS_AV_CMS": [2.85, 7.13, 9.51, 13.66, 1.90, 1.90],
        },
        geometry=[
            LineString([(10.02, y), (10.15, y)]),
            LineString([(10.15, y), (10.30, y)]),
            LineString([(10.30, y), (10.45, y)]),
            LineString([(10.45, y), (10.58, y)]),
            LineString([(10.15, 50.28), (10.15, y)]),
            LineString([(10.45, 50.02), (10.45, y)]),
        ],
        crs="EPSG:4326",
    )
    write_gpkg({"basin": basin, "jurisdictions": jur}, folder / "boundaries.gpkg")
    write_gpkg({"rivers": rivers}, folder / "rivers.gpkg")
    pd.DataFrame(
        {"jur_id": ["AA1", "AA2", "BB1", "BB2"], "load_kg_day": [400.0, 300.0, 200.0, 100.0]}
    ).to_csv(folder / "loads.csv", index=False)
    cfg = folder / "synthetica.toml"
    cfg.write_text(example_config(), encoding="utf-8")
    return cfg


def test_example_config_runs_and_compares(tmp_path: Path) -> None:
    cfg = write_synthetic_basin(tmp_path / "synthetica")
    out = tmp_path / "out" / "synthetica"
    r = CliRunner().invoke(cli, ["run", str(cfg), "-o", str(out)])
    assert r.exit_code == 0, r.output
    crossings = pd.read_csv(out / "tables" / "crossings.csv", dtype=str)
    # the main river leaves AA for BB once; in districts: AA1 -> AA2 (tributary 105),
    # AA2 -> BB1 and BB1 -> BB2 (main river)
    pairs = set(zip(crossings["level_name"], crossings["from_jur"], crossings["to_jur"],
                    strict=True))  # fmt: skip
    assert pairs == {
        ("country", "AA", "BB"),
        ("district", "AA1", "AA2"),
        ("district", "AA2", "BB1"),
        ("district", "BB1", "BB2"),
    }
    comp = cmp.compare([out])
    t = comp.table

    def val(ind: str, level: int = -1, item: str = "") -> float:
        row = t[(t["indicator"] == ind) & (t["level"] == level) & (t["item"] == item)]
        return float(row["value"].iloc[0])

    # within one band of latitude, equal-area shares are shares of longitude:
    # AA 0.32 / 0.6, BB 0.28 / 0.6; HHI = (8/15)^2 + (7/15)^2 = 113/225
    assert val("hhi_area", 0) == pytest.approx(113 / 225, abs=1e-3)
    # main stem 101-104 (101 drains 300 km2 > 200 of tributary 105): 0.56 degrees of
    # longitude at 50.15 N (~71.4 km per degree)
    assert val("main_stem_km") == pytest.approx(0.56 * 71.4, rel=0.01)
    # one country crossing on the main stem: 100 / 40 km
    assert val("main_stem_crossings_per_100km", 0) == pytest.approx(100 / (0.56 * 71.4), rel=0.01)
    # measured discharge (DIS_AV_CMS) is kept at the outlet
    assert val("outlet_discharge_m3s") == pytest.approx(13.66)
    # AA's 700 kg/day all pass into BB (it has no other outlet), less decay: a gross share
    # below 700 / 1000, and a Monte Carlo band around it
    g = t[(t["indicator"] == "transboundary_share_gross") & (t["level"] == 0)].iloc[0]
    assert 0.5 < g["value"] < 0.7
    assert g["p5"] <= g["value"] <= g["p95"]
    # no governance row or published figure exists for a basin that is not shipped
    assert (t["status"] != "metadata").all()
    assert t["published"].isna().all()
