"""Hostile data files: boundaries, rivers, load tables and rasters give one clear error.

Each case goes through ``run`` (the pipeline) and, where ``validate`` reads the input too,
through ``validate``, which must flag the same problem (run applies every check validate
makes).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import Affine
from shapely.geometry import LineString, Polygon, box

from basingov._tables import read_table
from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.loads import (
    check_population_raster,
    jurisdiction_loads,
    point_source_loads,
    population_loads,
)
from basingov.loads.sewage import read_census
from basingov.monitoring import read_observations
from basingov.network import network_from_table
from basingov.network.builders import from_dem, from_to_nodes
from basingov.pipeline import run, validate
from tests.conftest import DATA
from tests.reliability.conftest import basin_layer, jurisdictions, rivers


def _fails_in_run_and_validate(cfg: Path, match: str) -> None:
    with pytest.raises(InputError, match=match):
        run(cfg)
    problems = [p for r in validate(cfg) for p in r.problems]
    assert any(__import__("re").search(match, p) for p in problems), problems


# --- boundaries -------------------------------------------------------------------------
def test_null_jur_id_is_not_merged_with_outside(toy: object) -> None:
    jur = jurisdictions()
    jur.loc[2, "jur_id"] = None
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(
        cfg, r"1 jurisdiction\(s\) without a jur_id \(rows \[2\], names \['Up North'\]\)"
    )


def test_blank_jur_id(toy: object) -> None:
    jur = jurisdictions()
    jur.loc[3, "jur_id"] = "  "
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"without a jur_id \(rows \[3\]")


@pytest.mark.parametrize(
    ("lakes", "match"),
    [  # validate said "no problems" and the run failed at the network stage
        ('path = "bounds.gpkg"\nlayer = "lakes"', r"bounds\.gpkg has no layer 'lakes'"),
        (
            'path = "bounds.gpkg"\nlayer = "basin"\nname_column = "lake_name"',
            r"no column 'lake_name'; its columns are \['geometry', 'name'\]",
        ),
    ],
)
def test_lake_layer_problems_are_found_by_validate(lakes: str, match: str, toy: object) -> None:
    cfg = toy(append=f"\n[lakes]\n{lakes}\n")  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, match)


def test_overlapping_units_of_one_level(toy: object) -> None:
    jur = jurisdictions()
    jur.loc[2, "geometry"] = box(7.0, 47.05, 7.15, 47.1)  # A1 reaches into B1
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"1 pair\(s\) of 'province' units overlap: \['A1/B1'\]")


def test_level_name_differing_by_case_is_not_dropped(toy: object) -> None:
    # 'Province' was ignored as another level: A1 went to "outside", exit 0
    jur = jurisdictions()
    jur.loc[2, "level_name"] = "Province"
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(
        cfg, r"level_name 'Province' of jur_id \['A1'\] differs from the level 'province'"
    )


def test_unit_outside_its_parent(toy: object) -> None:
    # A1 lies in A but names B as parent: balances per parent were shifted, exit 0
    jur = jurisdictions()
    jur.loc[2, "parent_id"] = "B"
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(
        cfg,
        r"1 unit\(s\) lie mostly outside the unit their parent_id names: "
        r"\['A1 in B \(0% inside\)'\]",
    )


def test_basin_polygon_elsewhere(toy: object) -> None:
    # a basin polygon far from the units gave every share to "outside", exit 0
    basin = basin_layer()
    basin["geometry"] = [box(100.0, 10.0, 101.0, 11.0)]
    cfg = toy(basin=basin)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"the units of level 'country' cover 0% of the basin polygon")


# --- network layers: validate makes the builders' checks ------------------------------------
def test_network_id_column_missing_fails_in_run_too(toy: object) -> None:
    # validate flagged it; run ignored it and gave exit 0
    cfg = toy(replace={'id_column = "rid"': 'id_column = "nope"'})  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"missing column\(s\) \['nope'\]; available: \['rid'")


def test_points_in_a_river_layer_fail_in_validate_too(toy: object) -> None:
    river = rivers()
    river.loc[1, "geometry"] = __import__("shapely").Point(7.1, 47.03)
    cfg = toy(river=river)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"unexpected geometry type\(s\) \['Point'\]")


def test_filter_naming_an_absent_column_fails_in_validate_too(toy: object) -> None:
    # fullwidth letters make another column name; validate said "no problems"
    wide = "\uff52\uff49\uff44"  # "rid" in fullwidth letters
    cfg = toy(replace={"tolerance_m = 10.0": f'tolerance_m = 10.0\nfilter = "{wide} > 0"'})  # type: ignore[operator]
    with pytest.raises(InputError, match=rf"names column\(s\) \['{wide}'\] that the layer lacks"):
        run(cfg)
    problems = [p for r in validate(cfg) for p in r.problems]
    assert any(f"names column(s) ['{wide}'] that the layer lacks" in p for p in problems)


def test_a_missing_name_layer_fails_in_validate_too(toy: object) -> None:
    # validate did not read the name layers; the run then stopped at the absent layer
    cfg = toy(  # type: ignore[operator]
        replace={
            "tolerance_m = 10.0": 'tolerance_m = 10.0\nnames_path = "rivers.gpkg"\n'
            'names_layer = "rivers"\nnames_column = "rid"\nnames_more_layers = ["nope"]'
        }
    )
    _fails_in_run_and_validate(cfg, r"rivers.gpkg has no layer 'nope'; available layers")


def test_units_of_different_levels_may_overlap(toy: object) -> None:
    assert all(r.ok for r in validate(toy()))  # type: ignore[operator]


def test_dangling_parent_id(toy: object) -> None:
    jur = jurisdictions()
    jur.loc[4, "parent_id"] = "Z"
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(
        cfg, r"parent_id refers to unknown jurisdictions for jur_id \['B1'\] \(parent_id \['Z'\]\)"
    )


def test_parent_of_a_finer_level(toy: object) -> None:
    jur = jurisdictions()
    jur.loc[0, "parent_id"] = "A1"
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"parent_id of jur_id \['A'\] is not of a coarser level")


def test_levels_listed_in_another_order_than_the_level_column(toy: object) -> None:
    # a third level without parent_id: the parent check cannot see that the config puts it
    # before a coarser level; the layer's level column can
    jur = jurisdictions()
    district = jur.iloc[2:].assign(
        jur_id=lambda d: d["jur_id"] + "x", level=2, level_name="district", parent_id=""
    )
    jur = pd.concat([jur, district], ignore_index=True)
    two = 'levels = ["country", "province"]'
    ok = toy(jur=jur, replace={two: 'levels = ["country", "province", "district"]'})  # type: ignore[operator]
    assert not [p for r in validate(ok) for p in r.problems]
    swapped = 'levels = ["country", "district", "province"]'
    cfg = toy(sub="swapped", jur=jur, replace={two: swapped})  # type: ignore[operator]
    _fails_in_run_and_validate(
        cfg,
        r"\[boundaries\].levels \['country', 'district', 'province'\] are not coarsest first: "
        r"the layer's level column gives country 0, district 2, province 1; list them as "
        r"\['country', 'province', 'district'\]",
    )
    jur.loc[jur["jur_id"] == "A1x", "level"] = 5
    three = 'levels = ["country", "province", "district"]'
    cfg = toy(sub="numbers", jur=jur, replace={two: three})  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"level_name 'district' has several level numbers \(2, 5\)")


def test_bow_tie_basin(toy: object) -> None:
    bowtie = Polygon([(7.0, 47.0), (7.2, 47.1), (7.2, 47.0), (7.0, 47.1)])
    basin = gpd.GeoDataFrame({"name": ["toy"]}, geometry=[bowtie], crs="EPSG:4326")
    cfg = toy(basin=basin)  # type: ignore[operator]
    _fails_in_run_and_validate(
        cfg, r"1 invalid geometry at row \[0\]; repair with shapely.make_valid"
    )


def test_huge_coordinates_in_a_geographic_layer(toy: object) -> None:
    jur = jurisdictions()
    jur.loc[5, "geometry"] = box(7.1e5, 47.0, 7.2e5, 47.05)
    cfg = toy(jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"coordinates outside lon ±180 / lat ±90 at jur_id \['B2'\]")


def test_infinite_coordinates(toy: object) -> None:
    basin = basin_layer()
    basin.loc[0, "geometry"] = Polygon([(7.0, 47.0), (np.inf, 47.0), (7.2, 47.1), (7.0, 47.1)])
    cfg = toy(basin=basin)  # type: ignore[operator]
    with pytest.raises(InputError, match=r"non-finite \(NaN or infinite\) coordinates"):
        run(cfg)


def test_empty_and_mixed_layers(toy: object) -> None:
    cfg = toy(jur=jurisdictions().iloc[:0])  # type: ignore[operator]
    with pytest.raises(InputError, match=r"layer 'jurisdictions' is empty"):
        run(cfg)
    jur = jurisdictions()
    jur.loc[5, "geometry"] = LineString([(7.1, 47.0), (7.2, 47.05)])
    cfg = toy(sub="mixed", jur=jur)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"unexpected geometry type\(s\) \['LineString'\]")


# --- [hydraulics] gauges: validate reads them as the network stage does -------------------
_GAUGES = "gauge_id,lon,lat,mean_discharge_m3s\nG1,7.12,47.03,5.0\n"


@pytest.mark.parametrize(
    ("hydraulics", "gauges", "match"),
    [  # validate said "no problems"; the run failed, or fitted no gauge and said nothing
        ('gauges = "nope.csv"', None, r"gauge table .*nope\.csv does not exist"),
        ('gauges = "g.csv"', "gauge_id,lon,lat,mean_discharge_m3s\n", r"g\.csv has no rows"),
        ('gauges = "g.csv"', _GAUGES.replace("5.0", "0"), r"\['G1'\] have no positive mean_"),
        (
            'gauges = "g.csv"',
            _GAUGES.replace("m3s", "m3s,area_km2").replace("5.0", "5.0,-3"),
            r"\['G1'\] have an area_km2 that is not a number > 0 \(km2\): \[-3\]",
        ),
        (
            'gauges = "g.csv"\ngauge_areas = "nope.csv"',
            _GAUGES,
            r"gauge_areas = '.*nope\.csv' is read only for the gauges of the monitoring tables",
        ),
        (
            'gauges = "g.csv"\ngauge_ref_column = "ref"',
            _GAUGES,
            r"gauge_ref_column = 'ref' is used only with gauge_areas",
        ),
        (
            "gauges_from_monitoring = true",
            None,
            r"gauges_from_monitoring = true needs \[monitoring\] stations and observations",
        ),
        # a gauge whose lon/lat is no number was left out of the fit ('not snapped')
        (
            'gauges = "g.csv"',
            _GAUGES.replace("7.12", "7.12E"),
            r"g\.csv: column 'lon' holds text where numbers belong at line\(s\) \[2\]",
        ),
        ('gauges = "g.csv"', _GAUGES.replace("47.03", ""), r"column 'lat' is blank at line"),
        ('gauges = "g.csv"', _GAUGES.replace("47.03", "97"), r"column 'lat' is outside ±90"),
    ],
)
def test_gauge_table_problems_are_found_by_validate(
    hydraulics: str, gauges: str | None, match: str, toy: object
) -> None:
    cfg = toy(append=f"\n[hydraulics]\n{hydraulics}\n")  # type: ignore[operator]
    if gauges is not None:
        (cfg.parent / "g.csv").write_text(gauges, encoding="utf-8")
    _fails_in_run_and_validate(cfg, match)


def _bad_areas(path: Path) -> None:
    a = pd.read_csv(DATA / "hydrography" / "thames_nrfa_check.csv", dtype=str)
    a.loc[a["nrfa_id"] == "39105", "nrfa_area_km2"] = "-533.8"
    a.loc[a["nrfa_id"] == "39140", "nrfa_area_km2"] = "x"
    a.loc[a["nrfa_id"] == "39006", "nrfa_area_km2"] = "0"
    pd.concat([a, a[a["nrfa_id"] == "39081"]]).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [  # the Thames' gauges come from its monitoring tables, with NRFA areas
        (  # every station got no area: every gauge left out of the fit, silently
            'gauge_ref_column = "proxy_gauge"',
            'gauge_ref_column = "ref"',
            r"the stations have no column 'ref' to match the areas of thames_nrfa_check\.csv "
            r"by \(\[hydraulics\] gauge_ref_column\); their columns are \['eidc_code', ",
        ),
        (
            'gauge_ref_column = "proxy_gauge"',
            "",
            r"gauge_areas = '.*thames_nrfa_check\.csv' needs gauge_ref_column",
        ),
        (  # no station qualified: no gauge fitted, silently
            "gauge_min_samples = 100",
            "gauge_min_samples = 1000",
            r"no located station of thames_stations\.csv has 1000 or more flow values "
            r"\(parameter Q\) in thames_observations\.csv \(the most: 432, at station TC1\)",
        ),
        (  # the run failed at the network stage, validate said "no problems"
            '"nrfa_area_km2"]',
            '"area"]',
            r"gauge area table .*thames_nrfa_check\.csv lacks column\(s\) \['area'\]",
        ),
        (  # negative and zero areas left gauges out, text raised a raw ValueError, the
            # last of two rows won
            "../hydrography/thames_nrfa_check.csv",
            "{tmp}/areas.csv",
            r"gauge area table areas\.csv: column 'nrfa_area_km2' holds text where numbers "
            r"belong at line\(s\) \[12\] \(values \['x'\]\); column 'nrfa_area_km2' is 0 or "
            r"negative at line\(s\) \[13, 15\] \(values \[-533\.8, 0\.0\]\); it must be > 0; "
            r"repeated nrfa_id values \['39081'\] at line\(s\) \[24\]",
        ),
    ],
)
def test_gauge_area_problems_are_found_by_validate(
    old: str, new: str, match: str, edited_config: object, tmp_path: Path
) -> None:
    _bad_areas(tmp_path / "areas.csv")
    old = old.replace("../", f"{DATA}/")  # as edited_config writes the data paths

    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new.replace("{tmp}", tmp_path.as_posix()))

    _fails_in_run_and_validate(edited_config("thames", edit), match)  # type: ignore[operator]


def test_shipped_gauges_are_valid_and_the_unused_ones_named() -> None:
    # validate fits the gauges as a run does and names every gauge the fit leaves out, for
    # each reason (before, only those without a published area, found without the network)
    rep = {r.what: r for r in validate(DATA / "basins" / "thames.toml")}["hydraulics gauges"]
    assert rep.ok
    assert rep.count == 18
    assert rep.notes == [
        "the runoff fit (on the network as a run assembles it) uses 12 of the 18 gauge(s)",
        "6 gauge(s) left out of the runoff fit (their catchments take the depth of the next "
        "gauge downstream, or the basin's; discharge_check.csv notes each): 4 without a "
        "published catchment area to check where they snap: TC8, TC9, TC10, TC14; 2 whose "
        "snapped reach's upstream area is off the published catchment area by more than a "
        "factor 1.5: TC12 (4396 km2 vs 171 km2 published, 350 m away), TC15 (22 km2 vs "
        "50 km2 published, 1361 m away)",
    ]


def test_validate_names_a_gauge_the_fit_leaves_out_for_distance(
    edited_config: object, tmp_path: Path
) -> None:
    # Kaub moved into northern France, far from every Rhine reach: the run leaves it out
    # of the runoff fit with a warning; validate said only "count 5" and no note
    from click.testing import CliRunner

    from basingov.cli import cli

    g = pd.read_csv(DATA / "basins" / "reference" / "rhine_gauges.csv", dtype=str)
    g.loc[g["gauge_id"] == "KAUB", ["lon", "lat"]] = ["3.0", "50.0"]
    g.to_csv(tmp_path / "gauges.csv", index=False)
    cfg = edited_config(  # type: ignore[operator]
        "rhine",
        lambda t: t.replace(
            'gauges = "reference/rhine_gauges.csv"',
            f'gauges = "{(tmp_path / "gauges.csv").as_posix()}"',
        ),
    )
    # (the run's checks warn of the Rhine's pooled TN removal, as they do for the shipped
    # config)
    with pytest.warns(BasingovWarning, match="pooled removal"):
        reports = validate(cfg)
    rep = {r.what: r for r in reports}["hydraulics gauges"]
    assert rep.ok
    assert rep.notes[0] == (
        "the runoff fit (on the network as a run assembles it) uses 4 of the 5 gauge(s)"
    )
    assert len(rep.notes) == 2
    assert "1 more than 3000 m from any reach (nearest reach): KAUB (" in rep.notes[1]
    # the command prints the library's reports
    with pytest.warns(BasingovWarning, match="pooled removal"):
        out = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert out.exit_code == 0, out.output
    assert "note: the runoff fit (on the network as a run assembles it) uses 4 of the 5" in (
        out.output
    )
    assert "KAUB (" in out.output


def test_validate_builds_the_network_of_a_basin_with_gauges(edited_config: object) -> None:
    # the Thames' outlet with lon and lat swapped: validate said "no problems" and the run
    # failed at the network build; validate now builds the network to fit the gauges
    cfg = edited_config(  # type: ignore[operator]
        "thames",
        lambda t: t.replace("outlet = [-0.30814, 51.41545]", "outlet = [51.41545, -0.30814]"),
    )
    rep = {r.what: r for r in validate(cfg)}["hydraulics gauges"]
    assert rep.problems == [
        "the river network cannot be built as a run builds it (validate builds it to fit "
        "the gauges): the outlet (51.41545, -0.30814) lies outside the raster thames_dem.tif; "
        "check [basin] outlet"
    ]


def test_gauges_sit_where_the_monitoring_stage_places_their_stations(
    edited_config: object, tmp_path: Path
) -> None:
    # a Thames gauge station located by [monitoring] proxy_locations only: the monitoring
    # stage placed it at the proxy, the gauges of the monitoring tables read the station
    # table without the proxies and left the station out (no lon/lat), silently
    from basingov.config import load_config
    from basingov.monitoring import read_station_table
    from basingov.network.assemble import read_gauges

    st = pd.read_csv(DATA / "monitoring" / "thames_stations.csv", dtype=str)
    tc1 = st["station_id"] == "TC1"
    st.loc[tc1, ["station_id", "lon", "lat", "location_status", "source"]].to_csv(
        tmp_path / "px.csv", index=False
    )
    st.loc[tc1, ["lon", "lat", "location_status"]] = [None, None, "unlocated"]
    st.to_csv(tmp_path / "st.csv", index=False)

    def edit(text: str) -> str:
        px = f'\nstations = "{tmp_path / "st.csv"}"\nproxy_locations = "{tmp_path / "px.csv"}"'
        return __import__("re").sub(r'\nstations = ".*"', lambda _: px, text)

    cfg = load_config(edited_config("thames", edit))  # type: ignore[operator]
    gauges = read_gauges(cfg)
    assert gauges is not None
    # the same 18 gauges as the shipped tables give, TC1 at its (proxy) location
    shipped = read_gauges(load_config(DATA / "basins" / "thames.toml"))
    pd.testing.assert_frame_equal(gauges, shipped)
    mon = cfg.monitoring
    assert mon.proxy_locations is not None
    assert mon.stations is not None
    placed = read_station_table(mon.stations, proxy_locations=mon.proxy_locations)
    placed = placed.set_index("station_id").loc[gauges["gauge_id"]]
    assert placed.loc["TC1", "is_proxy"]
    assert gauges["lon"].tolist() == placed["lon"].tolist()
    assert gauges["lat"].tolist() == placed["lat"].tolist()


def _thames_gauges_with(observations: pd.DataFrame, edited_config: object, tmp_path: Path):
    """read_gauges of the Thames config with ``observations`` as [monitoring].observations."""
    from basingov.config import load_config
    from basingov.network.assemble import read_gauges

    path = tmp_path / "thames_observations.csv"  # the name the gauges' source gives
    observations.to_csv(path, index=False)

    def edit(text: str) -> str:
        return __import__("re").sub(r'\nobservations = ".*"', f'\nobservations = "{path}"', text)

    return read_gauges(load_config(edited_config("thames", edit)))  # type: ignore[operator]


def _thames_observations() -> pd.DataFrame:
    return pd.read_csv(DATA / "monitoring" / "thames_observations.csv", dtype=str)


def _shipped_thames_gauges() -> pd.DataFrame:
    from basingov.config import load_config
    from basingov.network.assemble import read_gauges

    g = read_gauges(load_config(DATA / "basins" / "thames.toml"))
    assert g is not None
    return g


@pytest.mark.parametrize("unit", ["cfs", "ft3/s", "l/s"])
def test_gauges_convert_discharge_units_as_the_monitoring_stage_does(
    unit: str, edited_config: object, tmp_path: Path
) -> None:
    # the gauges of gauges_from_monitoring took any Q as m3/s: a cfs series gave every
    # gauge 35.3 times its flow (l/s: 1,000 times), while the monitoring stage converts it
    ob = _thames_observations()
    q = ob["parameter"] == "Q"
    factor = {"cfs": 0.028316846592, "ft3/s": 0.028316846592, "l/s": 1e-3}[unit]
    ob.loc[q, "value"] = (ob.loc[q, "value"].astype(float) / factor).map(repr)
    ob.loc[q, "unit"] = unit
    gauges = _thames_gauges_with(ob, edited_config, tmp_path)
    shipped = _shipped_thames_gauges()
    pd.testing.assert_frame_equal(gauges, shipped, check_exact=False, rtol=1e-12)


def test_gauges_leave_out_flagged_discharge(edited_config: object, tmp_path: Path) -> None:
    # a Q kept as published with flag implausible_in_source was averaged into the gauge's
    # mean flow; the monitoring stage does not use it
    ob = _thames_observations()
    extra = ob[(ob["parameter"] == "Q") & (ob["station_id"] == "TC1")].head(1).copy()
    extra[["value", "flag"]] = ["1e6", "implausible_in_source"]
    gauges = _thames_gauges_with(pd.concat([ob, extra]), edited_config, tmp_path)
    pd.testing.assert_frame_equal(gauges, _shipped_thames_gauges())


def test_gauges_keep_negative_discharge_as_the_monitoring_stage_does(
    edited_config: object, tmp_path: Path
) -> None:
    # a negative Q (a tidal river flowing backwards) is kept by the monitoring stage (mass
    # balance) but was dropped from the gauge's mean, silently, raising its mean flow
    from basingov.monitoring import read_observations

    ob = _thames_observations()
    extra = ob[(ob["parameter"] == "Q") & (ob["station_id"] == "TC1")].head(1).copy()
    extra["value"] = "-3.5"
    gauges = _thames_gauges_with(pd.concat([ob, extra]), edited_config, tmp_path)
    used = read_observations(tmp_path / "thames_observations.csv")
    q = used.loc[(used["parameter"] == "Q") & (used["station_id"] == "TC1"), "value"]
    assert (q < 0).sum() == 1
    tc1 = gauges.set_index("gauge_id").loc["TC1"]
    assert tc1["mean_discharge_m3s"] == pytest.approx(q.mean(), rel=1e-12)
    assert tc1["source"].startswith(f"mean of {len(q)} sampled flows (Q)")


# --- rivers -----------------------------------------------------------------------------
def test_nan_vertex_does_not_drop_a_reach(toy: object) -> None:
    r = rivers()
    with pytest.warns(RuntimeWarning, match="invalid value"):
        r.loc[1, "geometry"] = LineString([(7.07, 47.03), (np.nan, 47.03), (7.13, 47.03)])
    cfg = toy(river=r)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"non-finite \(NaN or infinite\) coordinates at rid \[2\]")
    # the builders refuse it too when called from Python
    with pytest.raises(
        InputError,
        match=r"non-finite \(NaN or infinite\) coordinates in 1 feature\(s\), row\(s\) \[1\]",
    ):
        from_to_nodes(r, crs="EPSG:3035")


def test_river_with_latitude_beyond_90(toy: object) -> None:
    r = rivers()
    r.loc[0, "geometry"] = LineString([(7.01, 47.03), (7.01, 91.0)])
    cfg = toy(river=r)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"coordinates outside lon ±180 / lat ±90 at rid \[1\]")


def test_repeated_river_ids(toy: object) -> None:
    r = rivers()
    r.loc[2, "rid"] = 1
    cfg = toy(river=r)  # type: ignore[operator]
    _fails_in_run_and_validate(cfg, r"repeated rid values \[1\]")


# --- load tables ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", r"loads.csv is empty; it needs a header line"),
        (b"  \n", r"loads.csv is empty"),
        (
            "jur_id,load_kg_day\nA,10\nB,5\n".encode("utf-16"),
            r"loads.csv is UTF-16 text, not UTF-8; .*iconv -f utf-16 -t utf-8 loads.csv",
        ),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xff", r"loads.csv is a zip archive \(an Excel"),
        (b"\x00\x01\x02\xff\xfe", r"loads.csv holds NUL bytes: it is not a text CSV"),
        (
            "jur_id,load_kg_day,note\nA,10,Zürich\nB,5,\n".encode("latin-1"),
            r"loads.csv is not UTF-8 text \(byte 0xfc at position 30\); re-save it as UTF-8",
        ),
        (b"jur_id,load_kg_day\n", r"has a header but no rows"),
        (
            b"jur_id,load_kg_day\nA,ten\nB,5\n",
            r"column 'load_kg_day' holds text where numbers belong at line\(s\) \[2\] \(values \['ten'\]\)",  # noqa: E501
        ),
        (
            b"jur_id,load_kg_day\nA,\nB,5\n",
            r"column 'load_kg_day' is blank at line\(s\) \[2\]; give a number \(0 if none\)",
        ),
        (
            b"jur_id,load_kg_day\nA,-3\nB,5\n",
            r"column 'load_kg_day' is negative at line\(s\) \[2\]",
        ),
        (
            b"jur_id,load_kg_day\nA,inf\nB,5\n",
            r"column 'load_kg_day' holds infinite values at line\(s\) \[2\]",
        ),
        (b"jur_id,load_kg_day\nA,1\nA,5\n", r"repeated jur_id values \['A'\] at line\(s\) \[3\]"),
        (
            b"jur_id,load_kg_day\nA,1\nC,5\n",
            r"jur_id \['C'\] are not 'country' units of the boundaries",
        ),
        (
            b"jur,kg\nA,1\n",
            r"lacks column\(s\) \['jur_id', 'load_kg_day'\]; its columns are \['jur', 'kg'\]",
        ),
        (b'jur_id,load_kg_day\n"A,1\n', r"cannot be read as CSV"),
        # variants: validate said "no problems" to the next two, run refused them
        (b"jur_id,load_kg_day\nA ,1\nB,5\n", r"jur_id \['A '\] are not 'country' units"),
        (b"jur_id,load_kg_day\na,1\nB,5\n", r"jur_id \['a'\] are not 'country' units"),
        # a unit without a row got no load (as a blank cell did), exit 0
        (
            b"jur_id,load_kg_day\nA,10\n",
            r"no row for 'country' unit\(s\) \['B'\]; give every unit of the level a row",
        ),
        # pandas renamed the second column "load_kg_day.1" and used the first, silently
        (
            b"jur_id,load_kg_day,load_kg_day\nA,10,1\nB,5,2\n",
            r"repeats column\(s\) \['load_kg_day'\] in its header line",
        ),
        # every row one value longer than the header: pandas made jur_id the row labels
        # and moved the values one column left (load_kg_day read 'kg')
        (
            b"jur_id,load_kg_day\nA,10,kg\nB,5,kg\n",
            r"loads.csv has rows with more values than its header line names columns "
            r"\(2: jur_id, load_kg_day\); name every column in the header",
        ),
        (
            b"jur_id;load_kg_day\nA;10\nB;5\n",
            r"the file seems to be separated by ';', not commas",
        ),
        # the sum overflowed to inf: "loads must be finite ... at node(s) [0, 1, 2, 3]"
        (
            b"jur_id,load_kg_day\nA,1e308\nB,1e308\n",
            r"column 'load_kg_day' is above 1e\+12 at line\(s\) \[2, 3\]",
        ),
    ],
)
def test_bad_jurisdiction_tables(content: bytes, match: str, toy: object) -> None:
    cfg = toy(loads_csv=content)  # type: ignore[operator]
    with pytest.raises(InputError, match=match):
        run(cfg)
    problems = [p for r in validate(cfg) for p in r.problems]  # the same checks
    assert any(__import__("re").search(match, p) for p in problems), problems


@pytest.mark.parametrize(
    "text",
    [
        "jur_id,load_kg_day\nA,10,\nB,5,\n",  # a comma ends each row (spreadsheet export)
        "jur_id,load_kg_day,\nA,10,\nB,5,\n",  # and the header
    ],
)
def test_trailing_commas_keep_the_values_under_their_names(text: str, tmp_path: Path) -> None:
    # pandas took jur_id for the row labels: jur_id became [10, 5], load_kg_day blank
    p = tmp_path / "loads.csv"
    p.write_text(text, encoding="utf-8")
    t = read_table(p, what="[loads].jurisdiction_table")
    assert t.columns.tolist() == ["jur_id", "load_kg_day"]
    assert t["jur_id"].tolist() == ["A", "B"]
    assert t["load_kg_day"].tolist() == [10, 5]


def test_observations_with_trailing_commas_are_read_as_named(tmp_path: Path) -> None:
    p = tmp_path / "obs.csv"
    p.write_text(
        "station_id,time,parameter,value,unit,flag\nS1,2020-01-01,TP,0.1,mg/L P,,\n",
        encoding="utf-8",
    )
    obs = read_observations(p)
    assert obs[["station_id", "parameter", "value"]].values.tolist() == [["S1", "TP", 0.1]]
    p.write_text(
        "station_id,time,parameter,value,unit\nS1,2020-01-01,TP,0.1,mg/L P,x,y\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"Observation table .*obs.csv has rows with more values"):
        read_observations(p)


def test_blank_load_in_a_library_table_is_an_error() -> None:
    p = pd.DataFrame({"piece_id": [0], "reach_id": [1], "length_km": [1.0], "jur_country": ["A"]})
    t = pd.DataFrame({"jur_id": ["A"], "load_kg_day": [np.nan]})
    with pytest.raises(InputError, match=r"the emissions table: column 'load_kg_day' is blank"):
        jurisdiction_loads(p, t, level="country")


@pytest.fixture
def reaches() -> gpd.GeoDataFrame:
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2], "downstream_id": [2, -1]},
        geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (2000, 0)])],
        crs="EPSG:32632",
    )
    return network_from_table(t).reaches


PLANTS = "uwwCode,uwwState,uwwLatitude,uwwLongitude,uwwNDischarge,uwwLoadEnteringUWWTP\n"


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (
            "P1,1,95.0,9.0,1.0,100\n",
            r"column 'uwwLatitude' is outside ±90 degrees at line\(s\) \[2\]",
        ),
        ("P1,1,,9.0,1.0,100\n", r"column 'uwwLatitude' is blank at line\(s\) \[2\]"),
        ("P1,1,north,9.0,1.0,100\n", r"column 'uwwLatitude' holds text where numbers belong"),
        ("P1,1,0.0,9.0,lots,100\n", r"column 'uwwNDischarge' holds text where numbers belong"),
        ("P1,1,0.0,9.0,-4,100\n", r"column 'uwwNDischarge' is negative"),
        ("P1,1,0.0,9.0,1,100\nP1,1,0.0,9.0,1,100\n", r"repeated uwwCode values \['P1'\]"),
    ],
)
def test_bad_point_source_tables(
    rows: str, match: str, tmp_path: Path, reaches: gpd.GeoDataFrame
) -> None:
    path = tmp_path / "plants.csv"
    path.write_text(PLANTS + rows)
    with pytest.raises(InputError, match=match):
        point_source_loads(reaches, path)


def test_blank_discharge_falls_back_to_the_pe_estimate(
    tmp_path: Path, reaches: gpd.GeoDataFrame
) -> None:
    path = tmp_path / "plants.csv"
    path.write_text(PLANTS + "P1,1,0.0,9.0,,100\n")
    out = point_source_loads(reaches, path, tolerance_m=1e7)
    assert out["load_source"].tolist() == ["point_sources_pe_estimate"]


# --- rasters ----------------------------------------------------------------------------
def _raster(
    path: Path,
    data: np.ndarray,
    *,
    crs: str = "EPSG:32632",
    x0: float = 0.0,
    y0: float = 500.0,
    nodata: float = -9999.0,
) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
        dtype="float32", crs=crs, transform=Affine(1000.0, 0.0, x0, 0.0, -1000.0, y0),
        nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(data.astype("float32"), 1)
    return path


@pytest.mark.parametrize(
    ("data", "kw", "match"),
    [
        (np.full((1, 2), -9999.0), {}, r"holds only nodata cells"),
        (
            np.array([[1000.0, -5.0]]),
            {},
            r"holds 1 negative cell\(s\) \(lowest -5\); people counts are >= 0",
        ),
        (np.array([[1000.0, np.inf]]), {}, r"holds 1 NaN or infinite cell\(s\)"),
        (
            np.array([[1000.0, 500.0]]),
            {"x0": 5e5, "y0": 5e6},
            r"holds no people over the basin: its extent \[500000, 4\.999e\+06",
        ),
        (
            np.array([[1000.0, 500.0]]),
            {"crs": "EPSG:4326", "x0": 0.0, "y0": 0.0},
            r"is labelled EPSG:4326 \(degrees\) but spans \[0, -1000, 2000, 0\]",
        ),
        (np.zeros((1, 2)), {}, r"holds no people over the basin"),
        # variants: a CRS that cannot be projected (was an internal ProjError), and counts
        # no raster of people can hold (1e300 cells overflowed to inf loads, exit 0)
        (
            np.array([[1000.0, 500.0]]),
            {"crs": 'LOCAL_CS["arbitrary",UNIT["metre",1]]'},
            r"raster cells cannot be projected from its CRS",
        ),
        (np.array([[6e9, 6e9]]), {}, r"counts 1.2e\+10 people, more than live on Earth"),
        (np.array([[1e30, 1.0]]), {}, r"more than live on Earth"),
    ],
)
def test_bad_population_rasters(
    data: np.ndarray, kw: dict, match: str, tmp_path: Path, reaches: gpd.GeoDataFrame
) -> None:
    path = _raster(tmp_path / "pop.tif", data, **kw)
    pieces = reaches.assign(piece_id=[10, 11])
    basin = gpd.GeoDataFrame(geometry=[box(-500, -500, 2500, 500)], crs="EPSG:32632")
    with pytest.raises(InputError, match=match):
        population_loads(pieces, path, basin=basin)
    # basingov validate makes the same checks without a run
    with pytest.raises(InputError, match=match):
        check_population_raster(path, basin=basin)


@pytest.mark.parametrize(
    ("cells", "x0", "census", "match"),
    [
        ([[1000.0, -5.0]], 7.0, None, r"pop.tif holds 1 negative cell\(s\) \(lowest -5\)"),
        ([[1000.0, 500.0]], 60.0, None, r"pop.tif holds no people over the basin"),
        ([[1000.0, 500.0]], 7.0, "", r"census table census.csv is empty"),
        ([[1000.0, 500.0]], 7.0, "jur_id,people\nA,10\n", r"census.csv lacks column"),
    ],
)
def test_validate_refuses_the_load_inputs_a_run_refuses(
    cells: list, x0: float, census: str | None, match: str, toy: object
) -> None:
    # basingov validate said "no problems" for each of these; the run then refused them
    extra = (
        ""
        if census is None
        else 'census = "census.csv"\ncensus_level = "country"\ncensus_whole_units = true\n'
    )
    cfg = toy(  # type: ignore[operator]
        replace={'sources = ["jurisdiction_table"]': 'sources = ["population_raster"]'},
        append='population_raster = "pop.tif"\n' + extra,
    )
    _raster(cfg.parent / "pop.tif", np.array(cells), crs="EPSG:4326", x0=x0, y0=47.1)
    with rasterio.open(cfg.parent / "pop.tif", "r+") as r:  # 0.1-degree cells over the toy
        r.transform = Affine(0.1, 0.0, x0, 0.0, -0.1, 47.1)
    if census is None:
        _fails_in_run_and_validate(cfg, match)
        return
    # a run reads the census where it rescales sewage loads (with treatment keys): the
    # same reader refuses the file, and validate reports its message
    (cfg.parent / "census.csv").write_text(census, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        read_census(cfg.parent / "census.csv", id_column="jur_id", value_column="population")
    problems = [p for r in validate(cfg) for p in r.problems]
    assert any(__import__("re").search(match, p) for p in problems), problems


_PLANTS_HEAD = "rptMStateKey,uwwState,uwwLoadEnteringUWWTP,uwwNIncoming,uwwNDischarge\n"


@pytest.mark.parametrize(
    ("plants", "match"),
    [
        (_PLANTS_HEAD + 'A,1,"1,234.5",10,2\n', r"column 'uwwLoadEnteringUWWTP' holds text"),
        (_PLANTS_HEAD + "A,1,1000,-10,2\n", r"'uwwNIncoming' is negative at line\(s\) \[2\]"),
        (_PLANTS_HEAD + "A,1,inf,10,2\n", r"'uwwLoadEnteringUWWTP' holds infinite values"),
        (_PLANTS_HEAD.replace("rptMStateKey", "country") + "A,1,1000,10,2\n", r"rptMStateKey"),
        # more discharged than incoming: a removal of -0.4 from the plants
        (_PLANTS_HEAD + "A,1,1000,10,14\n", r"removal must be a share in \[0, 1\]; bad for \['A'"),
        # a state written as a word left the plant out of its country's removal, silently
        (
            _PLANTS_HEAD + "A,yes,1000,10,2\n",
            r"plants.csv: column 'uwwState' must be 1 for an active plant, .*\['yes'\]",
        ),
    ],
    ids=["text", "negative", "infinite", "no-country-column", "removal-below-0", "state-yes"],
)
def test_validate_refuses_the_treatment_plants_a_run_refuses(
    plants: str, match: str, toy: object
) -> None:
    # basingov validate did not read [loads] treatment_plants: "no problems", then the run
    # refused the plant table at its sewage loads
    cfg = toy(  # type: ignore[operator]
        replace={'sources = ["jurisdiction_table"]': 'sources = ["population_raster"]'},
        append='population_raster = "pop.tif"\ntreatment_level = "country"\n'
        'treatment_plants = ["plants.csv"]\n',
    )
    _raster(cfg.parent / "pop.tif", np.array([[1000.0, 500.0]]), crs="EPSG:4326", x0=7.0)
    with rasterio.open(cfg.parent / "pop.tif", "r+") as r:  # 0.1-degree cells over the toy
        r.transform = Affine(0.1, 0.0, 7.0, 0.0, -0.1, 47.1)
    (cfg.parent / "plants.csv").write_text(plants, encoding="utf-8")
    _fails_in_run_and_validate(cfg, match)
    # a good plant table passes both (with a plant in B, which would otherwise take the
    # pooled removal of A's plant, with a warning)
    good = _PLANTS_HEAD + "A,1,1000,10,2\nB,1,500,5,2\n"
    (cfg.parent / "plants.csv").write_text(good, encoding="utf-8")
    assert all(r.ok for r in validate(cfg))


def test_population_raster_covering_part_of_the_basin_warns(
    tmp_path: Path, reaches: gpd.GeoDataFrame
) -> None:
    # the people of the uncovered part were silently missing (exit 0); the raster covers
    # [0, 2000] of the basin's [-500, 2500] in x
    path = _raster(tmp_path / "pop.tif", np.array([[1000.0, 500.0]]), y0=500.0)
    pieces = reaches.assign(piece_id=[10, 11])
    basin = gpd.GeoDataFrame(geometry=[box(-500, -500, 2500, 500)], crs="EPSG:32632")
    with pytest.warns(BasingovWarning, match=r"covers 66\.7% of the basin polygon; nothing"):
        out = population_loads(pieces, path, basin=basin)
    assert out["population"].sum() == pytest.approx(1500.0)


def test_land_cover_raster_elsewhere_is_an_error(tmp_path: Path, reaches: gpd.GeoDataFrame) -> None:
    # its diffuse load was silently 0
    from basingov.loads.diffuse import check_landcover_raster, landcover_loads

    path = _raster(tmp_path / "lc.tif", np.full((2, 2), 12.0), x0=5e5, y0=5e6)
    pieces = reaches.assign(piece_id=[10, 11])
    basin = gpd.GeoDataFrame(geometry=[box(-500, -500, 2500, 500)], crs="EPSG:32632")
    with pytest.raises(InputError, match=r"land-cover raster .*lc.tif does not overlap the basin"):
        landcover_loads(pieces, path, basin=basin)
    # basingov validate makes the same check
    with pytest.raises(InputError, match=r"land-cover raster .*lc.tif does not overlap the basin"):
        check_landcover_raster(path, basin=basin)


def test_all_nodata_dem(tmp_path: Path) -> None:
    path = _raster(tmp_path / "dem.tif", np.full((5, 5), -9999.0))
    with pytest.raises(
        InputError,
        match=r"DEM .*dem.tif has no elevation: all 25 cells are nodata \(nodata = -9999.0\)",
    ):
        from_dem(elevation_path=path, crs="EPSG:32632", threshold_km2=1.0)
    nan = _raster(tmp_path / "nan.tif", np.full((5, 5), np.nan), nodata=-9999.0)
    with pytest.raises(InputError, match=r"has no elevation"):
        from_dem(elevation_path=nan, crs="EPSG:32632", threshold_km2=1.0)


def test_dem_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "dem.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
        transform=Affine(1000.0, 0.0, 0.0, 0.0, -1000.0, 0.0),
    ) as dst:  # fmt: skip
        dst.write(np.ones((2, 2), dtype="float32"), 1)
    with pytest.raises(CRSError, match=r"has no CRS; write one with rasterio"):
        from_dem(elevation_path=path, crs="EPSG:32632", threshold_km2=1.0)


# --- encodings of Shapefile text ----------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "names", "match"),
    [
        (
            "GBK",
            ["太浦河", "黄浦江"],
            r"as GBK it reads '太浦河'\. Add e\.cpg containing the encoding",
        ),
        ("BIG5", ["淡水河", "濁水溪"], r"as BIG5 it reads '淡水河'"),
        (
            "UTF-8",
            ["Zürich", "Genève"],
            r"which gives 'ZÃ¼rich' in column 'name'; as UTF-8 it reads 'Zürich'",
        ),
        ("ISO-8859-1", ["Zürich", "Köln am Rhein"], None),
        ("ISO-8859-1", ["Ça", "éà"], None),
    ],
)
def test_shapefile_text_without_cpg(
    encoding: str, names: list[str], match: str | None, tmp_path: Path
) -> None:
    from basingov.io import read_vector

    g = gpd.GeoDataFrame(
        {"name": names},
        geometry=[LineString([(0, 0), (1, 1)]), LineString([(1, 1), (2, 2)])],
        crs=4326,
    )
    shp = tmp_path / "e.shp"
    g.to_file(shp, encoding=encoding)
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    if match is None:  # genuine Latin-1 text is read as it is
        assert read_vector(shp)["name"].tolist() == names
        return
    with pytest.raises(InputError, match=match):
        read_vector(shp)
    shp.with_suffix(".cpg").write_text(encoding)  # the fix the message gives
    assert read_vector(shp)["name"].tolist() == names


def test_dem_that_is_not_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "dem.tif"
    path.write_text("not a raster")
    with pytest.raises(
        InputError,
        match=r"cannot read raster .*dem.tif \(a GeoTIFF or another GDAL raster is needed\)",
    ):
        from_dem(elevation_path=path, crs="EPSG:32632", threshold_km2=1.0)


# --- the other user tables of the pipeline --------------------------------------------------
def _readers() -> list[tuple[str, object]]:
    from basingov.io import read_stations
    from basingov.loads.diffuse import read_export_table
    from basingov.loads.sewage import read_census, read_plants
    from basingov.monitoring.units import read_observations
    from basingov.network import gauge_table

    return [
        ("stations", read_stations),
        ("observations", read_observations),
        ("census", lambda p: read_census(p, id_column="id", value_column="pop")),
        ("treatment plants", lambda p: read_plants([p])),
        ("export coefficients", read_export_table),
        ("gauges", lambda p: gauge_table(gauges=p)),
    ]


@pytest.mark.parametrize(
    "content", [b"", "station_id,name\nA,K\xf6ln\n".encode("latin-1"), b"\x00\x01\x02"]
)
@pytest.mark.parametrize("which", range(6))
def test_every_user_table_refuses_bad_files(which: int, content: bytes, tmp_path: Path) -> None:
    name, reader = _readers()[which]
    path = tmp_path / f"{name.replace(' ', '_')}.csv"
    path.write_bytes(content)
    with pytest.raises(
        InputError, match=r"(is empty|is not UTF-8 text|NUL bytes|Cannot read|lacks column)"
    ):
        reader(path)  # type: ignore[operator]


# --- outputs whose column names differ only by case ------------------------------------------
def test_columns_differing_only_by_case_are_written(toy: object, tmp_path: Path) -> None:
    # name_column = "rid": the builder's "name" next to the layer's "NAME" could not be
    # written to the GeoPackage (SQLite ignores case), an error after the whole run
    from basingov.io import read_vector

    cfg = toy(replace={'name_column = "NAME"': 'name_column = "rid"'})  # type: ignore[operator]
    res = run(cfg, out_dir=tmp_path / "out")
    reaches = read_vector(res.out_dir / "toy.gpkg", layer="reaches")  # type: ignore[operator]
    assert {"name", "NAME_2"} <= set(reaches.columns)
    assert reaches["NAME_2"].tolist() == ["Toy", "Toy", "Toy"]
