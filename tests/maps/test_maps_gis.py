"""The GeoPackage a run writes, read back as QGIS reads it (OGR and SQLite)."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import pyogrio
import pytest

from basingov import maps
from basingov.errors import InputError


def test_layers_carry_the_indicators(taihu_run):
    gpkg = taihu_run / "taihu.gpkg"
    jur = pyogrio.read_dataframe(gpkg, layer="jurisdictions", read_geometry=False)
    for col in ("upstream_dependency", "imported_share", "net_balance_kg_day", "name_en"):
        assert col in jur.columns
    dep = pyogrio.read_dataframe(gpkg, layer="jurisdictions", read_geometry=False)
    csv_dep = __import__("pandas").read_csv(taihu_run / "tables" / "dependency.csv")
    merged = dep.merge(csv_dep, on=["jur_id", "level_name"], suffixes=("", "_csv"))
    # the joined values are the dependency table's, row for row
    assert merged["upstream_dependency"].tolist() == pytest.approx(
        merged["upstream_dependency_csv"].tolist()
    )
    cx = pyogrio.read_dataframe(gpkg, layer="crossings", read_geometry=False)
    assert {"flux_kg_day", "river_name", "top_origin", "top_origin_share"} <= set(cx.columns)
    assert (cx["flux_kg_day"] >= 0).all()
    # a crossing carrying load has a top origin with a share in (0, 1]; one carrying none
    # (HydroRIVERS headwaters with no source upstream) has neither
    loaded = cx["flux_kg_day"] > 0
    assert loaded.any()
    assert (~loaded).any()
    share = cx.loc[loaded, "top_origin_share"]
    assert ((share > 0) & (share <= 1 + 1e-9)).all()
    assert cx.loc[loaded, "top_origin"].notna().all()
    assert cx.loc[~loaded, "top_origin_share"].isna().all()
    assert cx.loc[~loaded, "top_origin"].isna().all()
    pieces = pyogrio.read_dataframe(gpkg, layer="pieces", read_geometry=False)
    assert {"flux_kg_day", "generated_kg_day", "upstream_dependency", "indicator_level"} <= set(
        pieces.columns
    )
    # the overlay's working shared_<level> columns stay in memory (docs/design.md)
    assert not [c for c in pieces.columns if c.startswith("shared_")]
    loads = __import__("pandas").read_csv(taihu_run / "tables" / "loads.csv")
    # the load generated on the pieces is the load table's total
    assert pieces["generated_kg_day"].sum() == pytest.approx(loads["load_kg_day"].sum())


def test_empty_layers_keep_their_geometry_type(taihu_run, tmp_path):
    # On the HydroRIVERS network every Taihu layer has features (rivers now run along the
    # borders), so write each of the run's layers empty, as a run with no boundary river,
    # no station or no priority would, and read the types back as QGIS does
    import geopandas as gpd

    from basingov.io import write_gpkg

    gpkg = taihu_run / "taihu.gpkg"
    with sqlite3.connect(gpkg) as con:
        real = dict(con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns"))
    # every geometry layer a run writes has a declared type for when it is empty
    assert set(real) <= set(maps.LAYER_GEOMETRY_TYPES)
    empty = {name: gpd.read_file(gpkg, layer=name).iloc[:0] for name in real}
    assert all(df.empty and isinstance(df, gpd.GeoDataFrame) for df in empty.values())
    out = write_gpkg(empty, tmp_path / "empty.gpkg", geometry_types=maps.LAYER_GEOMETRY_TYPES)
    with sqlite3.connect(out) as con:
        types = dict(
            con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
        )
    assert set(types) == set(real)
    for name, gtype in types.items():
        assert pyogrio.read_info(out, layer=name)["features"] == 0
        assert gtype != "GEOMETRY", name
        # the type a filled layer has, or its multi-part form (mixed parts are promoted)
        assert gtype in (real[name], f"MULTI{real[name]}"), (name, gtype, real[name])
    assert types["boundary_reaches"] == "LINESTRING"
    assert types["boundary_crossings"] == "POINT"
    assert types["boundary_stretches"] == "MULTILINESTRING"


def test_qgis_default_styles_are_in_layer_styles(taihu_run):
    gpkg = taihu_run / "taihu.gpkg"
    with sqlite3.connect(gpkg) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
        rows = con.execute(
            "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault "
            "FROM layer_styles"
        ).fetchall()
        geom = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        registered = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    for c in maps.STYLE_COLUMNS:
        assert c in cols
    assert "layer_styles" in registered  # an attributes table OGR (and so QGIS) lists
    defaults = {r[0] for r in rows if r[4]}
    assert {"jurisdictions", "crossings", "pieces", "dependency_edges", "basin"} <= defaults
    for table, gcol, _, qml, _ in rows:
        assert geom[table] == gcol
        root = ET.fromstring(qml.split("\n", 1)[1])
        assert root.tag == "qgis"
        renderer = root.find("renderer-v2")
        assert renderer is not None
        assert renderer.get("type") == "RuleRenderer"
        rules = renderer.findall("./rules/rule")
        symbols = {s.get("name") for s in renderer.findall("./symbols/symbol")}
        assert rules
        assert {r.get("symbol") for r in rules} <= symbols
    one_default = [r[0] for r in rows if r[4]]
    assert len(one_default) == len(set(one_default))


def test_jurisdiction_style_classes_cover_the_values(taihu_run):
    gpkg = taihu_run / "taihu.gpkg"
    jur = pyogrio.read_dataframe(gpkg, layer="jurisdictions", read_geometry=False)
    styles = maps.layer_styles({"jurisdictions": jur})["jurisdictions"]
    qml = next(q for name, q, default in styles if default)
    root = ET.fromstring(qml.split("\n", 1)[1])
    filters = [r.get("filter") for r in root.iter("rule")]
    finest = jur[jur["level_name"] == "prefecture"]
    top = max(finest["upstream_dependency"])
    # the last class's upper bound is the largest value: every prefecture gets a colour
    assert any(f"<= {top!r}" in f for f in filters)


def test_write_layer_styles_replaces_its_own_rows(taihu_run, tmp_path):
    import shutil

    copy = tmp_path / "t.gpkg"
    shutil.copyfile(taihu_run / "taihu.gpkg", copy)
    maps.write_layer_styles(copy)
    with sqlite3.connect(copy) as con:
        n1 = con.execute("SELECT count(*) FROM layer_styles").fetchone()[0]
    maps.write_layer_styles(copy)
    with sqlite3.connect(copy) as con:
        n2 = con.execute("SELECT count(*) FROM layer_styles").fetchone()[0]
    assert n1 == n2 > 0
    with pytest.raises(InputError, match="does not exist"):
        maps.write_layer_styles(tmp_path / "none.gpkg")


def test_missing_maps_extra_warns_and_skips(taihu_run, tmp_path, monkeypatch):
    import builtins
    import shutil

    from basingov.errors import BasingovWarning

    real_import = builtins.__import__

    def no_maps_extra(name, *args, **kwargs):
        if name.split(".")[0] in ("folium", "mapclassify"):
            raise ImportError(name=name.split(".")[0])
        return real_import(name, *args, **kwargs)

    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    (run / "map.html").unlink()
    monkeypatch.setattr(builtins, "__import__", no_maps_extra)
    monkeypatch.delitem(__import__("sys").modules, "folium", raising=False)
    monkeypatch.delitem(__import__("sys").modules, "mapclassify", raising=False)
    with pytest.warns(BasingovWarning, match=r"map\.html not written: folium is not installed"):
        assert maps.write_run_map(run) is None
    # the QGIS styles need no extra: their classes and colours are basingov's own
    maps.write_layer_styles(run / "taihu.gpkg")
    with sqlite3.connect(run / "taihu.gpkg") as con:
        assert con.execute("SELECT count(*) FROM layer_styles").fetchone()[0] > 0
    assert not (run / "map.html").exists()
