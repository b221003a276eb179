"""Basin maps built from real run folders: content, names, size budget, optional layers."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from basingov import maps
from basingov.errors import InputError, OutputExistsError
from tests.runs import without_ids


def _data(page: str) -> list[dict]:
    """Every GeoJSON collection embedded in a page."""
    out = []
    for lit in re.findall(r"JSON\.parse\('(.*?)'\);", page, flags=re.S):
        text = lit.replace("\\'", "'").replace("<\\/", "</").replace("\\\\", "\\")
        out.append(json.loads(text))
    return out


@pytest.fixture(scope="module")
def taihu_page(taihu_run) -> str:
    return (taihu_run / "map.html").read_text(encoding="utf-8")


def test_run_writes_an_offline_map(taihu_run, taihu_page):
    assert (taihu_run / "map.html").stat().st_size < maps.DEFAULT_MAX_BYTES
    assert maps.external_references(taihu_page) == []
    assert "<script src=" not in taihu_page
    assert '<link rel="stylesheet"' not in taihu_page
    # online tiles are an optional layer that is off at start
    assert "Online map tiles (OpenStreetMap; needs internet)" in taihu_page
    assert re.search(r"tile_layer_\w+\.addTo\(", taihu_page) is None


def test_taihu_names_in_chinese_and_english(taihu_page):
    # OCHA COD-AB carries both names; the popups and tooltips show both
    assert "上海市 (Shanghai Municipality)" in taihu_page
    assert "浙江省 (Zhejiang Province)" in taihu_page


def test_rhine_country_names_get_english_from_gisco():
    jur = pd.DataFrame(
        {
            "jur_id": ["NL", "NL3"],
            "level_name": ["country", "nuts1"],
            "name": ["Nederland", "West-Nederland"],
            "name_native": ["Nederland", "West-Nederland"],
        }
    )
    names = maps.display_names(jur)
    assert names["label"].tolist() == ["Nederland (Netherlands)", "West-Nederland"]


def test_crossing_popups_speak_plainly(taihu_run, taihu_page):
    flux = pd.read_csv(taihu_run / "tables" / "crossing_flux.csv")
    top = flux.groupby("crossing_id")["load_kg_day"].sum().max()
    # the largest load crossing a Taihu border is in a popup, with its unit, in words
    assert f"sends about {maps.fmt(top)} kg/day of total nitrogen (TN) into" in taihu_page
    assert "modelled estimate, not a measurement" in taihu_page


def test_every_feature_layer_has_data(taihu_page):
    collections = _data(taihu_page)
    kinds = {f["geometry"]["type"] for fc in collections for f in fc["features"] if f["geometry"]}
    assert {"Point", "LineString", "GeometryCollection"} <= kinds
    assert kinds & {"Polygon", "MultiPolygon"}


def test_size_budget_is_met_by_simplifying(basin_run):
    run = basin_run("thames")
    full = maps.basin_map(run)
    small = maps.basin_map(run, max_bytes=900_000)
    a = len(full.get_root().render().encode())
    b = len(small.get_root().render().encode())
    assert b <= 900_000 < a
    assert small._basingov_info["tolerance_m"] > full._basingov_info["tolerance_m"]


def test_budget_too_small_is_a_clear_error(taihu_run):
    with pytest.raises(InputError, match=r"does not fit max_bytes=200,000"):
        maps.basin_map(taihu_run, max_bytes=200_000)
    with pytest.raises(InputError, match=r"max_bytes must be a positive integer"):
        maps.basin_map(taihu_run, max_bytes=0)


def test_coverage_simplification_keeps_shared_borders(taihu_run):
    jur = gpd.read_file(taihu_run / "taihu.gpkg", layer="jurisdictions")
    prov = jur[jur["level_name"] == "province"]
    simple = maps.simplify_coverage(prov, 2_000.0)
    assert (
        shapely.get_num_coordinates(simple.geometry).sum()
        < shapely.get_num_coordinates(prov.geometry).sum()
    )
    # no gap and no overlap between neighbours: the union keeps the summed area
    union = shapely.union_all(simple.geometry.to_numpy()).area
    assert union == pytest.approx(simple.geometry.area.sum(), rel=1e-9)
    assert union == pytest.approx(shapely.union_all(prov.geometry.to_numpy()).area, rel=0.02)


def test_line_simplification_keeps_network_end_points(taihu_run):
    reaches = gpd.read_file(taihu_run / "taihu.gpkg", layer="reaches")
    simple = maps.simplify_lines(reaches, 5_000.0)
    for a, b in zip(reaches.geometry, simple.geometry, strict=True):
        assert a.coords[0] == b.coords[0]
        assert a.coords[-1] == b.coords[-1]


def _readable(page: str) -> str:
    """Undo the escapes of the JSON strings embedded in a page."""
    return page.replace("<\\/", "</").replace("\\'", "'")


def test_optional_layers_appear_when_their_tables_exist(staged_run):
    page = _readable(maps.basin_map(staged_run).get_root().render())
    assert "Priority for joint action (provinces)" in page
    assert "Monitoring stations" in page
    assert "Recommended: <b>joint monitoring station</b>" in page
    assert "Measured water-quality class <b>III</b> in 2018" in page
    assert "Trend: TP improving" in page
    assert "Compensation:" in page
    assert "Location is a proxy" in page


def test_optional_layers_are_absent_without_their_tables(taihu_run, tmp_path):
    import shutil

    import pyogrio

    from basingov.maps._inputs import REQUIRED_LAYERS

    # a run folder of the earlier stages only: the required layers and tables, without the
    # monitoring, priority, compensation and calibration outputs
    bare = tmp_path / "bare"
    shutil.copytree(taihu_run, bare)
    for name in ("priority", "section_classes", "trends", "transfers", "calibration_stations",
                 "stations", "sections"):  # fmt: skip
        (bare / "tables" / f"{name}.csv").unlink(missing_ok=True)
    gpkg = bare / "taihu.gpkg"
    keep = bare / "keep.gpkg"
    for layer in REQUIRED_LAYERS:
        pyogrio.write_dataframe(pyogrio.read_dataframe(gpkg, layer=layer), keep, layer=layer)
    keep.replace(gpkg)
    page = maps.basin_map(bare).get_root().render()
    assert "Monitoring stations" not in page
    assert "Priority for joint action (" not in page
    # and the full run has them
    full = (taihu_run / "map.html").read_text(encoding="utf-8")
    assert "Monitoring stations" in full
    assert "Priority for joint action (" in full


def test_optional_table_with_wrong_columns_names_file_and_columns(staged_run):
    # transfers come from a table only (priority is read from its GeoPackage layer first)
    bad = pd.read_csv(staged_run / "tables" / "transfers.csv").rename(columns={"basis": "b"})
    bad.to_csv(staged_run / "tables" / "transfers.csv", index=False)
    with pytest.raises(
        InputError, match=r"tables/transfers.csv in .* lacks column\(s\) \['basis'\]"
    ):
        maps.basin_map(staged_run)


@pytest.mark.parametrize("text", ["", 'a,b\n1,"2\n'], ids=["emptied", "cut"])
def test_damaged_table_names_the_file_and_the_fix(taihu_run, tmp_path, text):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    (run / "tables" / "dependency.csv").write_text(text, encoding="utf-8")
    with pytest.raises(
        InputError, match=r"dependency\.csv cannot be read as a table .* re-run the basin"
    ):
        maps.basin_map(run)


def test_priority_value_that_is_no_section_or_pair(staged_run):
    import pyogrio

    # the maps read the run's GeoPackage layer 'priority' first
    gpkg = staged_run / "taihu.gpkg"
    pr = pyogrio.read_dataframe(gpkg, layer="priority")
    pr.loc[0, "section_or_pair"] = "nowhere"
    pyogrio.write_dataframe(pr, gpkg, layer="priority", layer_options={"OVERWRITE": "YES"})
    with pytest.raises(InputError, match=r"\['nowhere'\] are neither crossing ids"):
        maps.basin_map(staged_run)


def test_read_run_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist; write it with `basingov run"):
        maps.read_run(tmp_path / "none")
    with pytest.raises(InputError, match=r"summary\.json is missing"):
        maps.read_run(tmp_path)


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("key_indicators", None, "object"),
        ("governance", "MRC", "object"),
        ("warnings", "w", "array"),
    ],
)
def test_summary_section_of_the_wrong_type_is_named(taihu_run, tmp_path, key, value, kind):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary[key] = value
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(InputError, match=rf"summary\.json: '{key}' is .*, not a JSON {kind}"):
        maps.read_run(run)


@pytest.mark.parametrize(
    ("path", "value", "kind"),
    [
        # each crashed the map with a raw TypeError or AttributeError
        (("config",), 5, "string"),
        (("network", "key"), ["dem"], "string"),
        (("key_indicators", "load_parameter"), 5, "string"),
        # shown as they were: a title 5, a text area, a derived network "no"
        (("title",), 5, "string"),
        (("key_indicators", "basin_area_km2"), "9496", "number"),
        (("counts", "crossings"), True, "number"),
        (("network", "derived"), "no", "boolean"),
    ],
)
def test_summary_value_of_the_wrong_type_is_named(taihu_run, tmp_path, path, value, kind):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary[path[0]] = value if len(path) == 1 else {**summary[path[0]], path[1]: value}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    shown = re.escape(json.dumps(value))
    key = ".".join(path)
    with pytest.raises(
        InputError,
        match=rf"run/summary\.json: '{key}' is {shown}, not a JSON {kind}; re-run the basin: "
        rf"basingov run taihu -o .*run --overwrite",
    ):
        maps.basin_map(run)
    with pytest.raises(InputError, match=rf"'{key}' is {shown}"):
        maps.write_map_folder([run], tmp_path / "maps")
    summary[path[0]] = None if len(path) == 1 else {**summary[path[0]], path[1]: None}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert maps.read_run(run).basin == "taihu"  # null: as if missing


@pytest.mark.parametrize(
    ("layer", "column"), [("jurisdictions", "level_name"), ("dependency_edges", "to_jur")]
)
def test_required_layer_without_a_column_read_names_it(taihu_run, tmp_path, layer, column):
    import shutil

    import pyogrio

    run = tmp_path / "run"
    shutil.copytree(taihu_run, run)
    gpkg = run / "taihu.gpkg"
    df = pyogrio.read_dataframe(gpkg, layer=layer).drop(columns=column)
    pyogrio.write_dataframe(df, gpkg, layer=layer, layer_options={"OVERWRITE": "YES"})
    with pytest.raises(
        InputError, match=rf"GeoPackage layer '{layer}' of .* lacks column\(s\) \['{column}'\]"
    ):
        maps.basin_map(run)


def test_write_basin_map_refuses_to_overwrite(taihu_run, tmp_path):
    target = tmp_path / "m.html"
    target.write_text("keep")
    with pytest.raises(OutputExistsError, match="already exists"):
        maps.write_basin_map(taihu_run, target)
    assert target.read_text() == "keep"


def test_levels_option(taihu_run):
    with pytest.raises(InputError, match=r"levels \['county'\] are not in the run"):
        maps.basin_map(taihu_run, levels=["county"])
    page = maps.basin_map(taihu_run, levels=["prefecture"]).get_root().render()
    assert "Border crossings: prefectures" in page
    assert "Border crossings: provinces" not in page


def test_pair_loads_count_each_river_once(basin_run):
    # a river crossing the same border several times (the Rhine at Mainz-Bingen /
    # Rhein-Hunsrueck: four times) counts once: between the largest single crossing and
    # the gross sum over the crossings
    data = maps.read_run(basin_run("taihu"))
    pl = maps.pair_loads(data)
    flux = data.tables["crossing_flux"].groupby("crossing_id")["load_kg_day"].sum()
    cx = data.layers["crossings"]
    for rec in pl.to_dict(orient="records"):
        sel = cx[
            (cx["level_name"] == rec["level_name"])
            & (cx["from_jur"] == rec["from_jur"])
            & (cx["to_jur"] == rec["to_jur"])
        ]
        loads = sel["crossing_id"].map(flux).fillna(0.0)
        assert loads.max() - 1e-9 <= rec["load_kg_day"] <= loads.sum() + 1e-9
        assert rec["gross_kg_day"] == pytest.approx(loads.sum())


def test_feature_properties_are_those_of_the_records_cleaned_one_by_one():
    import numpy as np

    from basingov.maps._simplify import _clean, feature_collection

    n = 7
    g = gpd.GeoDataFrame(
        {
            "f": [0.1234567891, np.nan, np.inf, -0.0, 1e-12, 123456789.0, 2.5],
            "i": np.arange(n, dtype=np.int64),
            "u": np.arange(n, dtype=np.uint8),
            "b": [True, False] * 3 + [True],
            "s": pd.array(["a", None, "b", "c", None, "é", "x"], dtype="str"),
            "o": pd.Series([None, "a", np.float64(1.23456789), np.int64(3), pd.NA, 2, True]),
            "n": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),  # left to to_dict
        },
        geometry=[shapely.Point(7.0 + i / 10, 47.5) for i in range(n)],
        crs="EPSG:4326",
    )
    for cols in (["f", "i", "u", "b", "s", "o"], ["f", "n", "s"], []):
        got = [f["properties"] for f in feature_collection(g, cols)["features"]]
        want = [{k: _clean(v) for k, v in r.items()} for r in g[cols].to_dict("records")]
        if not cols:
            want = [{}] * n
        assert json.dumps(got) == json.dumps(want)
        assert [[type(v) for v in r.values()] for r in got] == [
            [type(v) for v in r.values()] for r in want
        ]


def _random_geometries(rng, n, scale):
    """Geometries of every GeoJSON type, empty, missing, 3D and NaN ones, of ``scale``."""

    def xy(k):
        return rng.uniform(-1, 1, (k, 2)) * scale

    ring = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    out = []
    for i in range(n):
        kind = i % 9
        if kind == 0:
            out.append(shapely.Point(xy(1)[0]))
        elif kind == 1:
            line = xy(int(rng.integers(2, 30)))
            out.append(shapely.LineString(np.c_[line, line[:, 0]] if i % 2 else line))  # x, y, z
        elif kind == 2:
            shell, hole = xy(1)[0] + ring * scale, xy(1)[0] + 0.5 + ring * scale / 4
            out.append(shapely.Polygon(shell, [hole]))
        elif kind == 3:
            out.append(shapely.MultiPoint(xy(3)))
        elif kind == 4:
            out.append(shapely.MultiLineString([xy(4), xy(3)]))
        elif kind == 5:
            out.append(shapely.MultiPolygon([shapely.Polygon(xy(1)[0] + ring * s) for s in (1, 3)]))
        elif kind == 6:
            out.append(
                shapely.GeometryCollection([shapely.LineString(xy(5)), shapely.Point(0, -0.0)])
            )
        else:
            out.append(
                None if kind == 8 else shapely.Point() if i % 2 else shapely.Point(np.nan, 1)
            )
    return out


@pytest.mark.parametrize("crs", [None, "EPSG:4326", "EPSG:3035"])
def test_feature_texts_are_the_features_written_by_json(crs):
    # the texts made from GEOS's GeoJSON are those json writes of feature_collection's
    # features: same numbers (GEOS writes some with 17 digits, or 1e+15), same properties
    from basingov.maps._simplify import compact_json, feature_collection, feature_texts

    rng = np.random.default_rng(5)
    scales = [1e-7, 1e-3, 1.0, 180.0] if crs else [1e-7, 1.0, 1e6, 1e15, 1e17]
    for scale in scales if crs != "EPSG:3035" else [1e3, 1e6]:
        n = 90
        g = gpd.GeoDataFrame(
            {
                "f": rng.choice([0.1234567891, np.nan, np.inf, -0.0, 1e-12, 2.5], n),
                "s": pd.array(rng.choice(["a", "é", "it's </b>", ""], n), dtype="str"),
                "o": pd.Series([None, "a", np.int64(3)] * (n // 3)),
            },
            geometry=_random_geometries(rng, n, scale),
            crs=crs,
        )
        for digits in (2, 4, 6, 7):
            for cols in (["f", "s", "o"], []):
                want = feature_collection(g, cols, digits=digits)["features"]
                assert feature_texts(g, cols, digits=digits) == [compact_json(f) for f in want]


def test_a_render_reusing_the_memo_is_the_render_without_it(taihu_run):
    # fit_budget renders each tolerance twice with one memo: the second render takes the
    # collections' JSON text and their page literal from it; the page is that of a render
    # that makes everything anew
    import re

    from basingov.maps._basin import _render, map_context
    from basingov.maps._layers import js_literal

    ctx = map_context(maps.read_run(taihu_run, columns=maps.MAP_LAYER_COLUMNS))
    memo: dict = {}
    _render(ctx, tolerance_m=50.0, n_rivers=0, memo=memo)
    reused, sizes = _render(ctx, tolerance_m=50.0, n_rivers=7, memo=memo)
    fresh, fresh_sizes = _render(ctx, tolerance_m=50.0, n_rivers=7)
    assert memo
    assert all(lit == js_literal(text) for text, lit in memo.values())
    assert sizes == fresh_sizes

    def page(m):
        return re.sub(r"_[0-9a-f]{32}", "_ID", m.get_root().render())

    assert page(reused) == page(fresh)


def test_a_map_of_the_reaches_it_reads_is_the_map_of_all_reaches(taihu_run):
    # read_run(columns=MAP_LAYER_COLUMNS) reads the few reach attributes a map draws: the
    # page is that of the whole layer, also when the map ranks rivers by its second or
    # third choice (a run without upstream areas, without discharge)
    from basingov.maps._basin import basin_page

    whole = maps.read_run(taihu_run)
    few = maps.read_run(taihu_run, columns=maps.MAP_LAYER_COLUMNS)
    assert set(few.layers["reaches"].columns) < set(whole.layers["reaches"].columns)
    for missing in ([], ["upstream_area_km2"], ["upstream_area_km2", "discharge_m3s"]):
        pages = []
        for data in (whole, few):
            layers = {**data.layers, "reaches": data.layers["reaches"].drop(columns=missing)}
            run = maps.RunData(data.basin, data.summary, layers, data.tables, data.run_dir)
            pages.append(without_ids(basin_page(run, max_bytes=maps.DEFAULT_MAX_BYTES)[1]))
        assert pages[0] == pages[1], missing


def test_crossing_popups_read_only_the_keys_the_map_hands_them():
    # the map gives crossing_popup only CROSSING_POPUP_KEYS of each crossing
    from basingov.maps._text import CROSSING_POPUP_KEYS, crossing_popup

    class Recording(dict):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.read = set()

        def __getitem__(self, k):
            self.read.add(k)
            return super().__getitem__(k)

        def get(self, k, default=None):
            self.read.add(k)
            return super().get(k, default)

    row = Recording(
        from_jur="A", to_jur="B", level_name="country", river_name="Rhine", flux_kg_day=12.5,
        origins=[("A", 10.0), ("C", 2.5)], discharge_m3s=30.0, **{"class": "good"},
        period="2020", trend="TN improving", priority_class="high", mechanism="joint plan",
        reason="large load", priority_score=0.9, extra="not read",
    )  # fmt: skip
    crossing_popup(row, {"A": "Alpha"}, unit="TN", flow_note="measured")
    assert row.read <= set(CROSSING_POPUP_KEYS)
    assert {"from_jur", "flux_kg_day", "priority_score", "trend"} <= row.read


def _quad_arrow(a, b, width):
    """One arrow as the map drew it before arrows were made all at once (the reference)."""
    import math

    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy) or 1.0
    nx_, ny_ = dy / length, -dx / length
    cx, cy = (x0 + x1) / 2 + 0.15 * length * nx_, (y0 + y1) / 2 + 0.15 * length * ny_
    t = np.linspace(0, 1, 13)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1
    line = shapely.LineString(np.column_stack([xs, ys]))
    mx, my = xs[6], ys[6]
    tx, ty = xs[7] - xs[5], ys[7] - ys[5]
    tl = math.hypot(tx, ty) or 1.0
    tx, ty = tx / tl, ty / tl
    size = min(0.07 * length, 2500.0 + 500.0 * width)
    half = 0.5 * size
    tip = (mx + tx * size / 2, my + ty * size / 2)
    back = (mx - tx * size / 2, my - ty * size / 2)
    head = shapely.Polygon(
        [
            tip,
            (back[0] + ty * half, back[1] - tx * half),
            (back[0] - ty * half, back[1] + tx * half),
        ]
    )
    return shapely.GeometryCollection([line, head])


def test_arrows_made_at_once_equal_those_made_one_by_one():
    # same coordinates to the last bit: random ends (some equal: zero length), widths
    # on both sides of the arrowhead's size cap
    from basingov.maps._basin import _quad_arrows

    rng = np.random.default_rng(2)
    n = 500
    a = rng.uniform(3e6, 4e6, (n, 2))
    b = a + rng.normal(0, 1, (n, 2)) * rng.choice([0.0, 1e3, 1e5, 1e6], (n, 1))
    width = np.round(rng.uniform(1.5, 6.5, n), 1)
    got = _quad_arrows(a, b, width)
    want = [_quad_arrow(tuple(p), tuple(q), float(w)) for p, q, w in zip(a, b, width, strict=True)]
    assert [g.geom_type for g in got] == ["GeometryCollection"] * n
    for g, w in zip(got, want, strict=True):
        assert shapely.to_wkb(g) == shapely.to_wkb(w)
