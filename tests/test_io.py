"""Tests for basingov.io: readers, clear errors, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon

from basingov.errors import CRSError, InputError, OutputExistsError
from basingov.io import (
    _csv_text,
    _prepare_for_file,
    atomic_dir,
    list_layers,
    read_stations,
    read_vector,
    require_projected,
    write_csv,
    write_gpkg,
    write_json,
    write_vector,
)


@pytest.fixture
def lines() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"rid": [1, 2], "name": ["太浦河", "黄浦江"]},
        geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (2000, 0)])],
        crs="EPSG:32651",
    )


def test_gpkg_round_trip_with_layers(tmp_path: Path, lines: gpd.GeoDataFrame) -> None:
    path = write_gpkg({"a": lines, "b": lines.iloc[:1]}, tmp_path / "x.gpkg")
    assert list_layers(path) == ["a", "b"]
    back = read_vector(path, layer="a", required_columns=["rid", "name"])
    assert back["name"].tolist() == ["太浦河", "黄浦江"]
    assert back.crs.to_epsg() == 32651


def test_gpkg_arrow_writer_stores_what_the_row_writer_stores(tmp_path: Path) -> None:
    # write_gpkg takes pyogrio's Arrow writer where it is safe; every layer must read back
    # with the same fields, types and values as pyogrio's row-by-row writer gives
    import pyogrio
    from pandas.testing import assert_frame_equal

    from basingov.io import no_sqlite_sync

    n = 5
    base = {
        "i": np.arange(n, dtype=np.int64),
        "u8": np.arange(n, dtype=np.uint8),
        "f": [0.1, np.nan, 1e-300, -2.5, 3.0],
        "s": pd.array(["a", None, "é", "", "z"], dtype="str"),
        "o": np.array(["x", None, "y", "w", "v"], dtype=object),
        "flag": [True, False, True, True, False],  # bool: written as int8
        "lst": [[1, 2], [], [3], [4], [5]],  # lists: written as JSON text
    }
    mixed = {**base, "obj_bool": np.array([True, None, False, True, False], dtype=object)}
    geoms = [Point(i, i) for i in range(n - 1)] + [None]
    layers = {
        "plain": gpd.GeoDataFrame(base, geometry=geoms, crs="EPSG:3035"),
        "mixed": gpd.GeoDataFrame(mixed, geometry=geoms, crs="EPSG:3035"),
        "empty": gpd.GeoDataFrame(base, geometry=geoms, crs="EPSG:3035").iloc[:0],
        "table": pd.DataFrame({k: base[k] for k in ("i", "f", "s", "o")}),
    }
    from basingov.io import _arrow_writable, _prepare_for_file

    assert _arrow_writable(_prepare_for_file(layers["plain"]))
    assert not _arrow_writable(_prepare_for_file(layers["mixed"]))
    path = write_gpkg(layers, tmp_path / "new.gpkg", geometry_types={"empty": "Point"})
    ref = tmp_path / "ref.gpkg"
    with no_sqlite_sync():
        for name, df in layers.items():
            data = _prepare_for_file(df)
            kw = {"geometry_type": "Point"} if name == "empty" else {}
            pyogrio.write_dataframe(data, ref, layer=name, append=ref.exists(), **kw)
    for name in layers:
        info_new, info_ref = pyogrio.read_info(path, layer=name), pyogrio.read_info(ref, layer=name)
        assert list(info_new["fields"]) == list(info_ref["fields"])
        assert list(info_new["dtypes"]) == list(info_ref["dtypes"])
        assert info_new["geometry_type"] == info_ref["geometry_type"]
        new, old = pyogrio.read_dataframe(path, layer=name), pyogrio.read_dataframe(ref, layer=name)
        assert_frame_equal(new, old, check_exact=True)
    # the object column of bools kept the row writer's text
    kept = pyogrio.read_dataframe(path, layer="mixed")["obj_bool"]
    assert kept.iloc[0] == "True"
    assert pd.isna(kept.iloc[1])


def _prepare_for_file_plainly(gdf: pd.DataFrame) -> pd.DataFrame:
    """Return what _prepare_for_file gives, the plain way: a deep copy, each value tested."""
    containers = (list, tuple, dict, set)

    def as_json(v: object) -> object:
        if not isinstance(v, containers):
            return v
        return json.dumps(sorted(v) if isinstance(v, set) else v, default=str)

    out = gdf.copy()
    geometry = getattr(gdf, "_geometry_column_name", None)
    for name in [c for c in out.columns if c != geometry]:
        values = out[name]
        if values.dtype == object and any(isinstance(v, containers) for v in values):
            out[name] = values.map(as_json)
        elif values.dtype == bool:
            out[name] = values.astype(np.int8)
    return out


def test_prepare_for_file_is_the_plain_version_and_leaves_the_input(tmp_path: Path) -> None:
    # _prepare_for_file copies shallowly and tests object columns with infer_dtype first
    # (_holds_containers): the same frame as testing every value of a deep copy
    from pandas.testing import assert_frame_equal

    from basingov.io import _holds_containers

    obj = {
        "text": ["a", None, "b", "c"],
        "empty": [None, None, np.nan, None],
        "bools": [True, None, False, True],
        "ints": [1, 2, None, 4],
        "floats": [0.5, None, 1.5, np.nan],
        "mixed": [1, "a", 2.5, None],
        "lists": [[1, 2], None, "x", []],
        "tuples": [None, (1, "a"), "y", "z"],
        "dicts": [{"k": 1}, "a", None, {}],
        "sets": [{"b", "a"}, None, set(), "s"],
        "arrays": [np.arange(2), "a", None, 1],
    }
    df = pd.DataFrame({k: np.array(v, dtype=object) for k, v in obj.items()})
    df["flag"] = [True, False, True, False]
    df["n"] = np.arange(4)
    df["s"] = pd.array(["p", None, "q", "r"], dtype="str")
    gdf = gpd.GeoDataFrame(df, geometry=[Point(i, 0) for i in range(4)], crs="EPSG:3035")
    for frame in (df, gdf, df.iloc[:0], gdf.iloc[:1]):
        before = frame.copy()
        assert_frame_equal(_prepare_for_file(frame), _prepare_for_file_plainly(frame))
        assert_frame_equal(frame, before)
    for col in obj:
        plain = df[col].map(lambda v: isinstance(v, list | tuple | dict | set)).any()
        assert _holds_containers(df[col]) == plain, col
    # the writers set columns of the prepared copy (geometry to WKT): the caller's frame
    # keeps its geometry and values
    before = gdf.copy()
    write_csv(gdf, tmp_path / "t.csv")
    write_vector(gdf, tmp_path / "t2.csv")
    write_gpkg({"g": gdf, "t": df}, tmp_path / "t.gpkg")
    assert_frame_equal(gdf, before)


def test_read_errors_name_file_layer_and_columns(tmp_path: Path, lines: gpd.GeoDataFrame) -> None:
    path = write_gpkg({"a": lines, "b": lines}, tmp_path / "x.gpkg")
    with pytest.raises(InputError, match=r"has 2 layers \['a', 'b'\]; pass layer=..."):
        read_vector(path)
    with pytest.raises(InputError, match=r"has no layer 'c'; available layers are \['a', 'b'\]"):
        read_vector(path, layer="c")
    with pytest.raises(
        InputError, match=r"lacks column\(s\) \['HYRIV_ID'\]; its columns are \['rid', 'name'\]"
    ):
        read_vector(path, layer="a", required_columns=["HYRIV_ID"])
    with pytest.raises(InputError, match=r"nope.gpkg does not exist"):
        read_vector(tmp_path / "nope.gpkg")


def test_shapefile_without_crs_is_a_crs_error(tmp_path: Path, lines: gpd.GeoDataFrame) -> None:
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        lines.set_crs(None, allow_override=True).to_file(shp, encoding="utf-8")
    with pytest.raises(CRSError, match=r"nocrs.shp has no CRS. Add a .prj"):
        read_vector(shp)


def test_shapefile_gbk_encoding(tmp_path: Path, lines: gpd.GeoDataFrame) -> None:
    shp = tmp_path / "gbk.shp"
    lines.to_file(shp, encoding="GBK")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    back = read_vector(shp, encoding="GBK")
    assert back["name"].tolist() == ["太浦河", "黄浦江"]


def test_topojson_is_read_as_wgs84(tmp_path: Path) -> None:
    topo = {
        "type": "Topology",
        "objects": {
            "states": {
                "type": "GeometryCollection",
                "geometries": [{"type": "Polygon", "arcs": [[0]], "properties": {"name": "A"}}],
            }
        },
        "arcs": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
    }
    p = tmp_path / "t.json"
    p.write_text(json.dumps(topo))
    gdf = read_vector(p, layer="states")
    assert gdf.crs.to_epsg() == 4326
    assert gdf["name"].tolist() == ["A"]


def test_geojson_and_geoparquet(tmp_path: Path, lines: gpd.GeoDataFrame) -> None:
    gj = write_vector(lines, tmp_path / "l.geojson")
    assert read_vector(gj).crs.to_epsg() == 4326  # GeoJSON is always written in WGS84
    pq = write_vector(lines, tmp_path / "l.parquet")
    assert read_vector(pq).crs.to_epsg() == 32651
    with pytest.raises(InputError, match=r"use a .gpkg, .geojson, .parquet or .csv"):
        write_vector(lines, tmp_path / "l.kml")


def test_require_projected() -> None:
    g = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"to_crs\(gdf.estimate_utm_crs\(\)\)"):
        require_projected(g, what="reaches")
    with pytest.raises(CRSError, match=r"reaches has no CRS"):
        require_projected(gpd.GeoDataFrame(geometry=[Point(0, 0)]), what="reaches")
    assert require_projected(g.to_crs(3035)).to_epsg() == 3035


def test_no_overwrite_without_flag_and_nothing_half_written(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": [1]})
    out = write_csv(df, tmp_path / "t.csv")
    with pytest.raises(
        OutputExistsError, match=r"already exists; pass overwrite=True \(CLI: --overwrite\)"
    ):
        write_csv(df, out)
    write_json({"x": float("nan")}, tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text()) == {"x": None}
    # a failure inside an atomic folder leaves the old output intact and no temp folder
    target = tmp_path / "run"
    with atomic_dir(target) as first:
        (first / "keep.txt").write_text("old")

    def failing_run() -> None:
        with atomic_dir(target, overwrite=True) as tmp:
            (tmp / "new.txt").write_text("new")
            msg = "boom"
            raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="boom"):
        failing_run()
    assert (target / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "s.json", "t.csv"]


def test_writers_refuse_what_they_cannot_write_and_leave_no_file(tmp_path: Path) -> None:
    # were raw errors: FileNotFoundError (no layer), AttributeError (repeated column names)
    with pytest.raises(InputError, match=r"no layers to write to .*e\.gpkg"):
        write_gpkg({}, tmp_path / "e.gpkg")
    twice = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(InputError, match=r"repeated column names \['a'\]"):
        write_csv(twice, tmp_path / "d.csv")
    with pytest.raises(InputError, match=r"repeated column names \['a'\]"):
        write_gpkg({"t": twice}, tmp_path / "d.gpkg")
    assert list(tmp_path.iterdir()) == []


def test_attribute_table_is_not_a_vector_layer(tmp_path: Path) -> None:
    # a GeoPackage table without geometry (or a CSV) was read as a DataFrame: a raw
    # AttributeError 'DataFrame' object has no attribute 'crs'
    path = write_gpkg({"t": pd.DataFrame({"a": [1]})}, tmp_path / "t.gpkg")
    with pytest.raises(InputError, match=r"t\.gpkg \(layer 't'\) has no geometry column"):
        read_vector(path, layer="t")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t\.csv has no geometry column"):
        read_vector(tmp_path / "t.csv")


def test_write_json_refuses_values_json_cannot_hold(tmp_path: Path) -> None:
    # was a raw TypeError from the json module
    with pytest.raises(InputError, match=r"s\.json as JSON: Object of type set is not JSON"):
        write_json({"a": {1, 2}}, tmp_path / "s.json")
    assert list(tmp_path.iterdir()) == []


def test_read_stations(tmp_path: Path) -> None:
    p = tmp_path / "st.csv"
    p.write_text("station_id,name,lon,lat\nA,one,7.5,47.5\nB,two,,\n")
    st = read_stations(p)
    assert st.geometry.isna().tolist() == [False, True]
    p.write_text("station_id,name,lon,lat\nA,one,7.5,147.5\nA,two,1,1\n")
    with pytest.raises(
        InputError, match=r"repeated station_id values \['A'\]; coordinates out of range"
    ):
        read_stations(p)
    p.write_text("id,x,y\n1,2,3\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['station_id', 'lon', 'lat'\]"):
        read_stations(p)
    # a coordinate written as text left the station silently without a location
    p.write_text("station_id,name,lon,lat\nA,one,7.5°E,47.5\nB,two,7.5,47.5\nC,three,,\n")
    with pytest.raises(InputError, match=r"lon/lat are not decimal degrees at \['A'\]"):
        read_stations(p)


def test_check_layer_reports_invalid_and_empty() -> None:
    from basingov._validate import check_layer, raise_if_problems

    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    g = gpd.GeoDataFrame({"jur_id": ["A", "A"]}, geometry=[bowtie, None], crs="EPSG:3035")
    problems = check_layer(g, id_column="jur_id", required_columns=["name"])
    assert any("missing column(s) ['name']" in p for p in problems)
    assert any("repeated jur_id values ['A']" in p for p in problems)
    assert any("1 null or empty geometry" in p for p in problems)
    assert any("1 invalid geometry at jur_id ['A']" in p for p in problems)
    with pytest.raises(InputError, match=r"layer x: .*missing column"):
        raise_if_problems(problems, where="layer x")
    assert check_layer(g.iloc[:0]) == ["the layer is empty"]


def _pandas_csv(df: pd.DataFrame) -> bytes:
    """Return the bytes pandas writes for what write_csv writes (its writer, not basingov's)."""
    data = pd.DataFrame(_prepare_for_file(df))
    if "geometry" in data.columns:
        data["geometry"] = gpd.GeoSeries(data["geometry"]).to_wkt()
    return data.to_csv(index=False).encode("utf-8")


@pytest.mark.parametrize("rows", [0, 1, 7, 3000])
def test_write_csv_writes_the_bytes_of_pandas_to_csv(tmp_path: Path, rows: int) -> None:
    rng = np.random.default_rng(rows)
    # every character class the csv module treats apart (delimiter, quote, line ends),
    # text with and without missing values, and floats of every shape repr gives
    words = np.array(
        ["DE1", "a,b", 'say "x"', "two\nlines", "cr\rhere", " lead", "", "Zürich", "太湖",
         "tab\there", "nul\x00x", "\u2028sep", "semi;colon", "'single'"],
        dtype=object,
    )  # fmt: skip
    specials = np.array([0.1, 1e-05, 1e16, 1e15, -0.0, 0.0, np.inf, -np.inf, np.nan, 5e-324,
                         1.7976931348623157e308, 2.5, 100.0, 1 / 3])  # fmt: skip
    df = pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64) - 5,
            "big": rng.integers(-(2**62), 2**62, rows),
            "small": rng.integers(0, 4, rows).astype(np.uint8),
            "x": rng.normal(size=rows) * 10.0 ** rng.integers(-8, 20, rows),
            "special": rng.choice(specials, rows),
            "repeat": rng.choice([0.5, 1.0, np.nan], rows),
            "name": pd.array(rng.choice(words, rows), dtype="str"),
            "gap": pd.Series(rng.choice(words, rows), dtype=object).where(
                rng.random(rows) > 0.3, None
            ),
            "string": pd.array(rng.choice(words, rows), dtype="string").astype("string"),
            "flag": rng.random(rows) > 0.5,
            "empty": pd.Series([None] * rows, dtype=object),
            "yes": pd.Series(rng.choice([True, False, None], rows), dtype=object),
            "count": pd.Series(rng.choice([1, 2**70, -3, None], rows), dtype=object),
            "a,label": np.ones(rows),
        }
    )
    df.loc[df.index[::3], "string"] = pd.NA
    # float columns sharing values (formatted together): -0.0 beside 0.0, NaN, the same x
    df.insert(5, "special_too", df["special"].to_numpy()[::-1])
    df["x_again"] = df["x"].where(rng.random(rows) > 0.5, -0.0)
    assert _csv_text(_prepare_for_file(df)) is not None  # written column by column
    out = write_csv(df, tmp_path / "t.csv")
    assert out.read_bytes() == _pandas_csv(df)
    # a column the fast writer leaves to pandas: the whole table goes through pandas
    for other in (
        df.assign(n=pd.array(np.arange(rows), dtype="Int64")),
        df.assign(f32=np.float32(0.1)),
        df.assign(when=pd.Timestamp("2024-01-02")),
        df.assign(mixed=pd.Series([1, "a", None] * rows, dtype=object).iloc[:rows].to_numpy()),
        df.assign(mixed=pd.Series([1, True, None] * rows, dtype=object).iloc[:rows].to_numpy()),
        df.assign(floats=pd.Series([0.0, -0.0, None] * rows, dtype=object).iloc[:rows].to_numpy()),
        df.assign(seq=[[1, 2]] * rows),
        df[["name"]],
        df.rename(columns={"id": 3}),
    ):
        out = write_csv(other, tmp_path / "t.csv", overwrite=True)
        assert out.read_bytes() == _pandas_csv(other)
