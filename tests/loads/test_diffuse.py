"""Diffuse loads: land cover x export coefficients, deposition, per-source tables."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely import LineString, box

from basingov.errors import BasingovWarning, InputError
from basingov.loads.diffuse import (
    deposition_loads,
    deposition_rate,
    export_coefficients,
    landcover_loads,
    loads_by_source,
    read_deposition_table,
    read_export_table,
)

CRS = "EPSG:32632"


def _raster(path, classes):
    data = np.array([classes], dtype="uint8")
    tr = Affine(1000.0, 0.0, 0.0, 0.0, -1000.0, 1000.0)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=1, count=1,
                       dtype="uint8", crs=CRS, nodata=255, transform=tr) as dst:  # fmt: skip
        dst.write(data, 1)
    return path


@pytest.fixture
def pieces():
    # one river along y = 500 m through both 1 km cells, cut at x = 1000 into two pieces
    return gpd.GeoDataFrame(
        {"piece_id": [10, 11], "reach_id": [1, 1], "jur_country": ["A", "B"]},
        geometry=[LineString([(0, 500), (1000, 500)]), LineString([(1000, 500), (2000, 500)])],
        crs=CRS,
    )


@pytest.fixture
def jurisdictions():
    return gpd.GeoDataFrame(
        {"jur_id": ["A", "B"], "level": [0, 0], "level_name": ["country"] * 2,
         "parent_id": ["", ""]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=CRS,
    )  # fmt: skip


def test_landcover_golden(tmp_path, pieces, jurisdictions):
    # cell 1 cropland (IGBP 12), cell 2 deciduous forest (IGBP 4), 1 km2 each.
    # Shipped default coefficients (Reckhow et al. 1980 via ATtILA): cultivated crops
    # 5.0 kg N/ha/yr = 500 kg/km2/yr, forest 2.5 kg N/ha/yr = 250 kg/km2/yr.
    r = _raster(tmp_path / "lc.tif", [12, 4])
    out = landcover_loads(pieces, r, parameter="TN", jurisdictions=jurisdictions)
    by = out.groupby("load_source")["load_kg_day"].sum()
    assert by["diffuse_agriculture"] == pytest.approx(1.0 * 500.0 / 365.0)
    assert by["diffuse_natural"] == pytest.approx(1.0 * 250.0 / 365.0)
    # the cropland load stays in A (its cell), the forest in B
    agri = out[out["load_source"] == "diffuse_agriculture"]
    assert set(agri["origin_country"]) == {"A"}
    assert set(agri["piece_id"]) == {10}
    # TP: 0.9 and 0.25 kg/ha/yr
    tp = landcover_loads(pieces, r, parameter="TP")
    assert tp["load_kg_day"].sum() == pytest.approx((90.0 + 25.0) / 365.0)


def test_landcover_region_override(tmp_path, pieces):
    # region CN: cropland from the Chaohu intensities (13.31 + 10.24) / 2 kg N/ha/yr
    r = _raster(tmp_path / "lc.tif", [12, 12])
    out = landcover_loads(pieces, r, parameter="TN", region="CN")
    assert out["load_kg_day"].sum() == pytest.approx(2 * (13.31 + 10.24) / 2 * 100 / 365)
    c = export_coefficients("TN", region="CN").set_index("igbp_class")
    assert c.loc[4, "region"] == "default"  # forest falls back to the default rows


def test_deposition_golden(tmp_path, pieces):
    # one water cell (IGBP 0) of 1 km2 at 2,000 kg TN/km2/yr (Luo et al. 2007, Lake Taihu)
    r = _raster(tmp_path / "lc.tif", [0, 12])
    out = deposition_loads(pieces, r, parameter="TN", region="CN")
    assert out["load_kg_day"].sum() == pytest.approx(2000.0 / 365.0)
    assert set(out["load_source"]) == {"deposition"}
    # no source gives a TP rate for Europe: no deposition rows, said
    with pytest.warns(BasingovWarning, match=r"no source gives a deposition rate of TP for "):
        assert deposition_loads(pieces, r, parameter="TP", region="EU").empty


#: (loads, rows of one region, table, its regions) of the two tables with regions
_REGIONAL = {
    "export": (landcover_loads, export_coefficients, "export-coefficient", "'CN', 'default'"),
    "deposition": (deposition_loads, deposition_rate, "deposition", "'CN', 'EU'"),
}


@pytest.mark.parametrize(
    ("kind", "region"),
    [("export", "XX"), ("export", "cn"), ("export", "China"),
     ("deposition", "eu"), ("deposition", "DE"), ("deposition", "default")],
)  # fmt: skip
def test_unknown_region_is_refused(tmp_path, pieces, kind, region):
    # a region without a row in the table (a typo, a lower-case code, a country of the EU
    # row) silently gave the default export coefficients (Taihu cropland 500 kg TN/km2/yr
    # instead of 1,177.5) or no deposition at all
    loads_of, rows_of, table, known = _REGIONAL[kind]
    r = _raster(tmp_path / "lc.tif", [0, 12])
    match = (
        rf"{table} region \['{region}'\] has no row in the {table} table; its regions are "
        rf"\[{known}\]: name one of them"
    )
    with pytest.raises(InputError, match=match):
        loads_of(pieces, r, region=region)
    with pytest.raises(InputError, match=match):
        rows_of("TP", region=region)


def test_export_table_errors(tmp_path):
    t = read_export_table()
    assert t["source"].str.len().min() > 0
    bad = t.copy()
    bad.loc[3, "kg_km2_yr"] = -1.0
    p = tmp_path / "bad.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(InputError, match="kg_km2_yr must be a number >= 0"):
        read_export_table(p)
    bad = t.copy()
    bad.loc[0, "source"] = ""
    bad.to_csv(p, index=False)
    with pytest.raises(InputError, match="every row needs a source"):
        read_export_table(p)
    t.drop(columns="source_kind").to_csv(p, index=False)
    with pytest.raises(InputError, match="lacks column"):
        read_export_table(p)
    with pytest.raises(InputError, match="no export coefficients for parameter 'COD'"):
        export_coefficients("COD")


def test_coefficient_tables_given_as_dataframes_are_checked(tmp_path, pieces):
    # a table given from Python skipped the checks of the file readers: a negative
    # cropland coefficient gave a negative diffuse load, an infinite one an infinite
    # load, a negative deposition rate a negative one, and a table without source_kind
    # a raw KeyError
    r = _raster(tmp_path / "lc.tif", [12, 0])
    t = read_export_table()
    crop = (t["igbp_class"] == 12) & (t["parameter"] == "TN") & (t["region"] == "default")
    for v in (-500.0, np.inf):
        with pytest.raises(
            InputError,
            match=r"coefficient table given as table=: kg_km2_yr must be a number >= 0; bad "
            rf"in row\(s\) \[{int(np.flatnonzero(crop)[0]) + 2}\]",
        ):
            landcover_loads(pieces, r, table=t.assign(kg_km2_yr=t["kg_km2_yr"].where(~crop, v)))
    with pytest.raises(InputError, match=r"given as table= lacks column\(s\) \['source_kind'\]"):
        landcover_loads(pieces, r, table=t.drop(columns="source_kind"))
    with pytest.raises(InputError, match=r"given as table=: several rows for one region"):
        export_coefficients("TN", table=pd.concat([t, t[crop]]))
    dep = read_deposition_table()
    with pytest.raises(InputError, match=r"given as table=: kg_km2_yr must be a number >= 0"):
        deposition_loads(pieces, r, region="CN", table=dep.assign(kg_km2_yr=-2000.0))
    # the shipped tables given as DataFrames give what they give when read by default
    pd.testing.assert_frame_equal(landcover_loads(pieces, r, table=t), landcover_loads(pieces, r))
    pd.testing.assert_frame_equal(
        deposition_loads(pieces, r, region="CN", table=dep),
        deposition_loads(pieces, r, region="CN"),
    )


@pytest.mark.parametrize("value", ["forest", "", -1, 12.5])
def test_export_table_refuses_bad_class(tmp_path, value):
    # a text or blank class raised pandas' ValueError, a negative one indexed the class
    # table from its end and a fractional one was cut to its whole part
    bad = read_export_table().astype({"igbp_class": object})
    bad.loc[5, "igbp_class"] = value
    p = tmp_path / "bad.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(InputError, match=r"igbp_class must be a whole number >= 0.*\[7\]"):
        read_export_table(p)


def test_export_table_refuses_duplicate_class(tmp_path):
    # two rows for one class: the last silently won (cropland 1 instead of 500 kg/km2/yr)
    t = read_export_table()
    crop = t[(t["region"] == "default") & (t["igbp_class"] == 12) & (t["parameter"] == "TN")]
    p = tmp_path / "dup.csv"
    pd.concat([t, crop.assign(kg_km2_yr=1.0)], ignore_index=True).to_csv(p, index=False)
    with pytest.raises(InputError, match="several rows for one region, igbp_class and param"):
        read_export_table(p)


def test_deposition_table_refuses_duplicate_rows(tmp_path):
    # two rows for one region and parameter: the first silently won (CN TN 2000 whatever
    # the second said), while the export table refuses such rows
    t = read_deposition_table()
    cn = t[(t["region"] == "CN") & (t["parameter"] == "TN")]
    dup = pd.concat([t, cn.assign(kg_km2_yr=1.0)], ignore_index=True)
    p = tmp_path / "dup.csv"
    dup.to_csv(p, index=False)
    with pytest.raises(
        InputError,
        match=r"deposition table .*dup.csv: several rows for one region and parameter in "
        r"row\(s\) \[2, 5\] \(file line numbers\); keep one row each",
    ):
        read_deposition_table(p)
    with pytest.raises(InputError, match=r"deposition table given as table=: several rows"):
        deposition_rate("TN", region="CN", table=dup)


def test_landcover_table_class_above_raster_classes(tmp_path, pieces):
    # a coefficient for class 300 (another scheme's code) with a byte raster: the class
    # table was sized by the raster's classes only and the call raised an IndexError
    t = read_export_table()
    extra = t.iloc[[0]].assign(igbp_class=300, parameter="TN", source_kind="diffuse_urban")
    r = _raster(tmp_path / "lc.tif", [12, 4])
    out = landcover_loads(pieces, r, table=pd.concat([t, extra], ignore_index=True))
    pd.testing.assert_frame_equal(out, landcover_loads(pieces, r, table=t))


def test_landcover_warns_on_class_without_coefficient(tmp_path, pieces):
    # class 200 is not in the table: its cell silently exported nothing
    r = _raster(tmp_path / "lc.tif", [12, 200])
    with pytest.warns(BasingovWarning, match=r"class\(es\) \[200\] without an export coeff"):
        out = landcover_loads(pieces, r)
    assert out["load_kg_day"].sum() == pytest.approx(500.0 / 365.0)


@pytest.mark.parametrize(("dtype", "values"), [("float32", [12.7, 4.0]), ("int16", [12, -3])])
def test_landcover_refuses_cells_that_are_not_classes(tmp_path, pieces, dtype, values):
    # a bilinear-resampled grid (12.7) was cut to class 12, a negative code taken as no
    # land: both silently
    data = np.array([values], dtype=dtype)
    tr = Affine(1000.0, 0.0, 0.0, 0.0, -1000.0, 1000.0)
    p = tmp_path / "lc.tif"
    with rasterio.open(p, "w", driver="GTiff", width=2, height=1, count=1, dtype=dtype,
                       crs=CRS, nodata=255, transform=tr) as dst:  # fmt: skip
        dst.write(data, 1)
    with pytest.raises(InputError, match=r"1 cell\(s\) that are not a class"):
        landcover_loads(pieces, p)


def test_raster_loads_refuse_empty_pieces(tmp_path, pieces):
    # no piece: every load was lost and an empty table came back, silently
    r = _raster(tmp_path / "lc.tif", [12, 0])
    for loads_of in (landcover_loads, deposition_loads):
        with pytest.raises(InputError, match="the piece table is empty"):
            loads_of(pieces.iloc[:0], r, region="CN")


def test_loads_by_source_levels():
    p = pd.DataFrame({"piece_id": [1, 2], "reach_id": [1, 2], "jur_c": ["A", "B"],
                      "jur_r": ["A1", "B1"]})  # fmt: skip
    ld = pd.DataFrame({"piece_id": [1, 2, 2], "load_kg_day": [1.0, 2.0, 3.0],
                       "load_source": ["sewage", "sewage", "diffuse_agriculture"]})  # fmt: skip
    out = loads_by_source(ld, p, ["c", "r"])
    b = out[(out["jur_id"] == "B")].set_index("source_kind")
    assert b.loc["diffuse_agriculture", "share"] == pytest.approx(0.6)
    assert out.loc[out["level_name"] == "r", "load_kg_day"].sum() == pytest.approx(6.0)
    with pytest.raises(InputError, match="not in the piece table"):
        loads_by_source(ld, p, ["x"])


def test_shared_cells_equal_one_density_at_a_time():
    # the Thames land cover: the kinds share the cells' boxes, basin weights and parts in
    # the jurisdictions; each kind's rows equal those of placing that density alone
    from basingov.datasets import load_basin, load_network
    from basingov.loads.diffuse import DIFFUSE_KINDS, _place, _read_classes
    from basingov.loads.population import _Cells
    from basingov.overlay import overlay_network

    basin = load_basin("thames")
    cfg = basin.config
    net = load_network(basin)
    levels = list(cfg.boundaries.levels)
    pieces = overlay_network(net, basin.jurisdictions, basin.basin, levels=levels).pieces
    classes, tr, rcrs = _read_classes(cfg.loads.landcover_raster)
    cells = _Cells(pieces, classes >= 0, tr, rcrs, basin.basin)
    coef = export_coefficients(cfg.loads.parameter, region=cfg.loads.export_region)
    n = 0
    for kind in DIFFUSE_KINDS:
        lut = np.zeros(256)
        sel = coef[coef["source_kind"] == kind]
        lut[sel["igbp_class"].to_numpy()] = sel["kg_km2_yr"].to_numpy()
        dens = np.where(classes >= 0, lut[np.clip(classes, 0, 255)], 0.0)
        args = (pieces, dens, tr, rcrs, basin.basin, basin.jurisdictions, kind)
        alone = _place(*args)
        shared = _place(*args, cells=cells)
        pd.testing.assert_frame_equal(shared, alone, check_exact=True)
        n += len(alone)
    assert n > 0
