"""Tests for the load sources."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely import LineString

from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.loads import (
    emitted_per_capita_g_day,
    incremental_loads,
    jurisdiction_loads,
    point_source_loads,
    population_loads,
    station_loads,
)
from basingov.loads.sewage import read_plants
from basingov.network import network_from_table


@pytest.fixture
def reaches():
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3], "downstream_id": [2, 3, -1]},
        geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (2000, 0)]),
                  LineString([(2000, 0), (4000, 0)])],
        crs="EPSG:32632",
    )  # fmt: skip
    return network_from_table(t)


def test_per_capita_coefficients():
    # TN: 10.99 g raw x (1 - 0.823) removal = 1.945 g/person/day
    assert emitted_per_capita_g_day("TN") == pytest.approx(10.99 * 0.177)
    with pytest.raises(InputError, match="parameter must be one of"):
        emitted_per_capita_g_day("Hg")
    with pytest.raises(InputError, match="allowed keys"):
        emitted_per_capita_g_day("TN", coefficients={"per_person": 1.0})
    with pytest.raises(InputError, match="treatment_removal in"):
        emitted_per_capita_g_day("TN", coefficients={"treatment_removal": 2.0})


@pytest.mark.parametrize("value", ["a lot", None, float("inf")])
def test_per_capita_coefficient_not_a_finite_number(value):
    # text raised float()'s ValueError, None a TypeError, and inf passed (infinite loads)
    with pytest.raises(InputError, match="per_capita_g_day must be"):
        emitted_per_capita_g_day("TN", coefficients={"per_capita_g_day": value})


def test_population_loads_conserve_people(tmp_path, reaches):
    # two 1 km cells, 1000 and 500 people; the river crosses cell 1 only; cell 2 goes to the
    # nearest piece. Total load = 1500 people x e / 1000.
    path = tmp_path / "pop.tif"
    data = np.array([[1000.0, 500.0]], dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", width=2, height=1, count=1, dtype="float32",
                       crs="EPSG:32632", transform=Affine(1000.0, 0.0, 0.0, 0.0, -1000.0, 500.0),
                       nodata=-9999) as dst:  # fmt: skip
        dst.write(data, 1)
    pieces = reaches.reaches.assign(piece_id=[10, 11, 12])
    out = population_loads(pieces, path, parameter="TP")
    assert out["population"].sum() == pytest.approx(1500.0)
    e = emitted_per_capita_g_day("TP")
    assert out["load_kg_day"].sum() == pytest.approx(1500 * e / 1000)
    assert set(out["load_source"]) == {"population_raster"}
    with pytest.raises(InputError, match="asked for band 3"):
        population_loads(pieces, path, band=3)
    with pytest.raises(InputError, match="cannot read population raster"):
        population_loads(pieces, tmp_path / "missing.tif")
    with pytest.raises(CRSError, match="projected CRS"):
        population_loads(pieces.to_crs(4326), path)
    # no piece at all: the 1500 people were lost silently (an empty table)
    with pytest.raises(InputError, match="the piece table is empty"):
        population_loads(pieces.iloc[:0], path)


def test_point_sources(reaches):
    plants = pd.DataFrame(
        {
            "uwwState": [1, 1, 1, 2],
            "uwwCode": ["a", "b", "far", "closed"],
            "uwwLongitude": [9.0, 9.0, 10.0, 9.0],
            "uwwLatitude": [0.0, 0.0, 5.0, 0.0],
            "uwwNDischarge": [36.5, np.nan, 1.0, 1.0],
            "uwwLoadEnteringUWWTP": [1000.0, 2000.0, 1.0, 1.0],
        }
    )
    # EPSG:32632 origin is at 9E on the equator minus 500 km false easting: move the points
    r = reaches.reaches.copy()
    r.geometry = r.geometry.translate(500000, 0)
    out = point_source_loads(r, plants, parameter="TN", tolerance_m=1000)
    assert out["source_id"].tolist() == ["a", "b"]
    # 36.5 t/year = 100 kg/day; plant b: 2000 p.e. x emitted TN g/day / 1000
    assert out["load_kg_day"].tolist() == pytest.approx(
        [100.0, 2.0 * emitted_per_capita_g_day("TN")]
    )
    assert out["load_source"].tolist() == ["point_sources", "point_sources_pe_estimate"]
    with pytest.raises(InputError, match="lacks column"):
        point_source_loads(r, plants.drop(columns="uwwNDischarge"))
    with pytest.raises(InputError, match="tolerance_m must be"):
        point_source_loads(r, plants, tolerance_m=-1)
    with pytest.raises(InputError, match=r"point sources /nonexistent/plants.csv does not exist"):
        point_source_loads(r, "/nonexistent/plants.csv")


def _plants_on(reaches, **extra):
    """Two active plants on the reaches of the fixture (EPSG:32632 moved to 9E)."""
    r = reaches.reaches.copy()
    r.geometry = r.geometry.translate(500000, 0)
    plants = pd.DataFrame(
        {"uwwState": [1, 1], "uwwCode": ["a", "b"], "uwwLongitude": [9.0, 9.0],
         "uwwLatitude": [0.0, 0.0], "uwwNDischarge": [36.5, 3.65],
         "uwwLoadEnteringUWWTP": [1000.0, 2000.0]}
    )  # fmt: skip
    return r, plants.assign(**extra)


def test_point_sources_state_written_as_text(reaches):
    # uwwState "1" (a table read as text) compared unequal to 1: every plant was left out
    r, plants = _plants_on(reaches, uwwState=["1", "2"])
    out = point_source_loads(r, plants, tolerance_m=1000)
    assert out["source_id"].tolist() == ["a"]
    kept = read_plants(plants.assign(rptMStateKey="DE", in_basin=["1", "1"]))
    assert kept["uwwCode"].tolist() == ["a"]


def test_point_sources_warn_when_none_snaps(reaches):
    # latitude and longitude swapped: no plant within tolerance, no load and no word said
    r, plants = _plants_on(reaches, uwwLongitude=[0.0, 0.0], uwwLatitude=[9.0, 9.0])
    with pytest.warns(BasingovWarning, match="none of the 2 active plants with a load"):
        out = point_source_loads(r, plants, tolerance_m=1000)
    assert out.empty


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("length_km", -1.0, r"the piece table: column 'length_km' is negative at line\(s\) \[3\]"),
        ("length_km", np.nan, r"the piece table: column 'length_km' is blank at line\(s\) \[3\]"),
        ("local_area_km2", -2.0, r"by='area' .*: column 'local_area_km2' is negative at line"),
        ("local_area_km2", np.nan, r"by='area' .*apportion_area\): column 'local_area_km2' is bl"),
        ("local_area_km2", "x", r"column 'local_area_km2' holds text where numbers belong"),
        ("local_area_km2", np.inf, r"column 'local_area_km2' holds infinite values"),
    ],
)  # fmt: skip
def test_jurisdiction_loads_refuse_bad_weights(column, value, match):
    # a negative reach area gave B's pieces -16.7 and 66.7 kg/day of its 50, a negative
    # length -50 and 100; a blank area moved its piece's share to the others and a blank
    # length gave NaN loads, all silently; a text area was a raw ValueError
    p = pd.DataFrame({"piece_id": [0, 1, 2], "reach_id": [1, 1, 2], "length_km": [1.0, 3.0, 2.0],
                      "jur_country": ["A", "B", "B"]})  # fmt: skip
    r = pd.DataFrame({"reach_id": [1, 2], "local_area_km2": [8.0, 6.0]})
    t = pd.DataFrame({"jur_id": ["A", "B"], "load_kg_day": [10.0, 50.0]})
    if column == "length_km":
        p[column] = p[column].astype(object)
        p.loc[1, column] = value
    else:
        r[column] = r[column].astype(object)
        r.loc[0, column] = value
    with pytest.raises(InputError, match=match):
        jurisdiction_loads(p, t, level="country", by="area", reaches=r)


def test_jurisdiction_loads_conserve_and_warn():
    p = pd.DataFrame({"piece_id": [0, 1, 2], "reach_id": [1, 1, 2], "length_km": [1.0, 3.0, 2.0],
                      "jur_country": ["A", "B", "B"]})  # fmt: skip
    r = pd.DataFrame({"reach_id": [1, 2], "local_area_km2": [8.0, 1.0]})
    t = pd.DataFrame({"jur_id": ["A", "B"], "load_kg_day": [10.0, 50.0]})
    by_area = jurisdiction_loads(p, t, level="country", by="area", reaches=r)
    # B: piece 1 has 3/4 of reach 1 -> area 6; piece 2 all of reach 2 -> area 1
    assert by_area["load_kg_day"].tolist() == pytest.approx([10.0, 50 * 6 / 7, 50 / 7])
    with pytest.warns(BasingovWarning, match=r"\['C'\].*not routed"):
        out = jurisdiction_loads(p, pd.concat([t, pd.DataFrame({"jur_id": ["C"],
                                 "load_kg_day": [5.0]})]), level="country")  # fmt: skip
    assert out["load_kg_day"].sum() == pytest.approx(60.0)
    with pytest.raises(InputError, match="by must be one of"):
        jurisdiction_loads(p, t, level="country", by="people")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="allowed levels"):
        jurisdiction_loads(p, t, level="state")
    with pytest.raises(InputError, match="lacks column"):
        jurisdiction_loads(p, t.drop(columns="load_kg_day"), level="country")
    with pytest.raises(InputError, match="needs reaches"):
        jurisdiction_loads(p, t, level="country", by="area")
    # pieces without length_km, reaches without reach_id: KeyErrors before
    with pytest.raises(InputError, match=r"piece table lacks column\(s\) \['length_km'\]"):
        jurisdiction_loads(p.drop(columns="length_km"), t, level="country")
    areas = pd.DataFrame({"local_area_km2": [1.0, 2.0]})
    with pytest.raises(InputError, match="needs reaches with reach_id and local_area_km2"):
        jurisdiction_loads(p, t, level="country", by="area", reaches=areas)


@pytest.mark.parametrize(
    ("conc", "flow", "match"),
    [
        ([1.0, np.inf], [2.0, 3.0], r"must be >= 0 and finite \(NaN where not\D*got \[inf\]"),
        ([1.0], [-np.inf], r"must be >= 0 and finite .*; got \[-inf\]"),
        ([1.0, 2.0, 3.0], [2.0, 3.0], r"must be numbers, one per sample in each .*broadcast"),
        (["high"], [2.0], r"must be numbers, one per sample in each .*'high'"),
    ],
)  # fmt: skip
def test_station_loads_refuse_infinite_and_unpaired_values(conc, flow, match):
    # an infinite concentration gave an infinite load, silently; 3 concentrations for
    # 2 flows and text were raw numpy ValueErrors
    with pytest.raises(InputError, match=match):
        station_loads(conc, flow)
    # a value not measured stays a NaN load
    assert np.isnan(station_loads([np.nan, 1.0], [2.0, 1.0])).tolist() == [True, False]


def test_station_and_incremental_loads(reaches):
    assert station_loads(1.0, 1.0).item() == pytest.approx(86.4)
    with pytest.raises(InputError, match="must be >= 0"):
        station_loads(-1.0, 1.0)
    st = pd.DataFrame({"station_id": ["up", "down"], "reach_id": [1, 3],
                       "load_kg_day": [10.0, 40.0]})  # fmt: skip
    inc = incremental_loads(reaches, st)
    # 'down' adds 30 kg/day over reaches 2 (1 km) and 3 (2 km); 'up' keeps its 10 on reach 1
    got = inc.groupby("reach_id")["load_kg_day"].sum()
    assert got.to_dict() == pytest.approx({1: 10.0, 2: 10.0, 3: 20.0})
    with pytest.warns(BasingovWarning, match=r"\['down'\]"):
        incremental_loads(reaches, st.assign(load_kg_day=[10.0, 5.0]))
    with pytest.raises(InputError, match="not in the network"):
        incremental_loads(reaches, st.assign(reach_id=[1, 99]))
    with pytest.raises(InputError, match="several stations on one reach"):
        incremental_loads(reaches, st.assign(reach_id=[1, 1]))
    with pytest.raises(InputError, match="lacks column"):
        incremental_loads(reaches, st.drop(columns="load_kg_day"))


def _two_states(tmp_path):
    # country X with states A (x < 2000 m) and B (x > 2000 m). Cell 0 straddles the A|B
    # border half and half (1000 people), cell 1 lies in B (400 people).
    from shapely import box

    jur = gpd.GeoDataFrame(
        {
            "jur_id": ["X", "A", "B"],
            "name": ["X", "A", "B"],
            "level": [0, 1, 1],
            "level_name": ["country", "state", "state"],
            "parent_id": ["", "X", "X"],
        },
        geometry=[box(0, -1000, 4000, 1000), box(0, -1000, 2000, 1000),
                  box(2000, -1000, 4000, 1000)],
        crs="EPSG:32632",
    )  # fmt: skip
    path = tmp_path / "pop.tif"
    data = np.array([[1000.0, 400.0]], dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", width=2, height=1, count=1, dtype="float32",
                       crs="EPSG:32632", transform=Affine(1000.0, 0.0, 1500.0, 0.0, -1000.0, 500.0),
                       nodata=-9999) as dst:  # fmt: skip
        dst.write(data, 1)
    return jur, path


@pytest.mark.parametrize("value", [np.nan, "x", -1.0])
def test_incremental_loads_refuse_a_bad_station_load(reaches, value):
    # NaN spread NaN loads over the area silently, text raised a numpy ValueError
    st = pd.DataFrame({"station_id": ["s", "t"], "reach_id": [1, 3], "load_kg_day": [1.0, 2.0]})
    st["load_kg_day"] = st["load_kg_day"].astype(object)
    st.loc[1, "load_kg_day"] = value
    with pytest.raises(InputError, match=r"station\(s\) \['t'\] have no load_kg_day >= 0"):
        incremental_loads(reaches, st)


def test_population_loads_keep_people_in_their_jurisdiction(tmp_path):
    jur, path = _two_states(tmp_path)
    # piece 10 in A (reaching into cell 0's A half), piece 11 far off in B
    pieces = gpd.GeoDataFrame(
        {"piece_id": [10, 11], "reach_id": [1, 2], "jur_state": ["A", "B"],
         "jur_country": ["X", "X"]},
        geometry=[LineString([(0, 0), (1800, 0)]), LineString([(3900, 900), (3950, 900)])],
        crs="EPSG:32632",
    )  # fmt: skip
    out = population_loads(pieces, path, jurisdictions=jur)
    by = out.set_index("origin_state")
    # cell 0 splits by area: A's half goes to the piece in its part, B's half and cell 1 to
    # the nearest piece of B (not to the nearer piece 10 of A)
    assert by.loc["A", "population"] == pytest.approx(500.0)
    assert by.loc["A", "piece_id"] == 10
    assert by.loc["B", "population"] == pytest.approx(900.0)
    assert by.loc["B", "piece_id"] == 11
    assert set(out["origin_country"]) == {"X"}
    e = emitted_per_capita_g_day("TN")
    assert out["load_kg_day"].sum() == pytest.approx(1400 * e / 1000)
    # without jurisdictions: the old rule, all by length / nearest piece, no origins
    old = population_loads(pieces, path)
    assert old["population"].sum() == pytest.approx(1400.0)
    assert not any(c.startswith("origin_") for c in old.columns)
    with pytest.raises(InputError, match="lacks column"):
        population_loads(pieces, path, jurisdictions=jur.drop(columns="parent_id"))


def test_population_of_a_riverless_jurisdiction_is_generated_there(tmp_path):
    # the river runs in A only; B's people enter it on A's piece: generated in B, imported
    # by A at the point of entry (S[B, A]); conservation holds per origin
    from basingov.overlay import piece_graph, split_reaches
    from basingov.spillover import spillover_tables

    jur, path = _two_states(tmp_path)
    t = gpd.GeoDataFrame(
        {"reach_id": [1], "downstream_id": [-1], "velocity_ms": [0.5], "discharge_m3s": [1.0]},
        geometry=[LineString([(0, 0), (1800, 0)])],
        crs="EPSG:32632",
    )
    net = network_from_table(t)
    pieces = split_reaches(net.reaches, jur, levels=["country", "state"])
    loads = population_loads(pieces, path, jurisdictions=jur)
    e = emitted_per_capita_g_day("TN") / 1000
    assert loads.groupby("origin_state")["population"].sum().to_dict() == pytest.approx(
        {"A": 500.0, "B": 900.0}
    )
    res = spillover_tables(net, piece_graph(net, pieces), loads, level_names=["country", "state"])
    ind = res.indicators[res.indicators["level_name"] == "state"]
    assert ind.loc["B", "generated"] == pytest.approx(900 * e)
    assert ind.loc["A", "generated"] == pytest.approx(500 * e)
    s = res.matrices["state"]
    assert s.loc["B", "A"] == pytest.approx(900 * e)
    assert s.loc["B", "B"] == pytest.approx(0.0)
    assert ind.loc["A", "imported"] == pytest.approx(900 * e)
    assert ind.loc["B", "exported"] == pytest.approx(900 * e)
    assert res.matrices["country"].loc["X", "X"] == pytest.approx(1400 * e)
    assert res.balance["relative_residual"].max() < 1e-9


def test_point_sources_refuse_a_state_that_is_no_code(reaches):
    # uwwState "active" (a table whose states are words) left every plant out: no point
    # source, and a warning that none snapped
    r, plants = _plants_on(reaches, uwwState=["active", "1"])
    with pytest.raises(
        InputError,
        match=r"the point-source table: column 'uwwState' must be 1 for an active plant, 0 "
        r"\(or UWWTD's 2\) for one that is not, never blank; bad at line\(s\) \[2\] "
        r"\(values \['active'\]\)",
    ):
        point_source_loads(r, plants, tolerance_m=1000)
