"""Library queries (``basingov.query``) and the top-level API (``basingov.load_basin``...)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer
from shapely import LineString

import basingov
from basingov import query
from basingov.cli import cli
from basingov.errors import EmptyResultError, InputError
from basingov.network import network_from_table

pytestmark = pytest.mark.filterwarnings("ignore::basingov.errors.BasingovWarning")


@pytest.fixture(scope="module")
def taihu() -> query.BasinOverlay:
    """Lake Taihu on its HydroRIVERS drainage network (the Tiaoxi -> the lake -> Shanghai)."""
    return query.load_overlay("taihu")


# Points placed by geography, not by reach id: the East/West Tiaoxi near Huzhou (Zhejiang),
# which drain north into Lake Taihu, and Suzhou Creek in Shanghai, where the main Taihu
# river system leaves the shipped extract (the basin config's outlet, 121.24, 31.25)
HUZHOU = (120.1, 30.87)
SHANGHAI = (121.216, 31.255)


def _on_reach(ov: query.BasinOverlay, reach_id: int, frac: float = 0.5) -> tuple[float, float]:
    """Return a WGS84 point on a reach, ``frac`` of the way down it."""
    r = ov.network.reaches.set_index("reach_id")
    pt = shapely.line_interpolate_point(r.geometry.loc[reach_id], frac, normalized=True)
    lon, lat = Transformer.from_crs(ov.network.crs, 4326, always_xy=True).transform(pt.x, pt.y)
    return float(lon), float(lat)


def _ids(result: query.NavigationResult, level: str) -> list[str]:
    return [j["jur_id"] for j in result.jurisdictions[level]]


# --- upstream / downstream ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("gauge", "at", "nrfa_km2"),
    [
        # NRFA catchment areas (data-sources supplements/thames_network_dem/
        # dem_delineation_check_vs_nrfa.csv, from the NRFA station summaries); lon/lat from
        # the NRFA grid references SP444087, SU568936 and TQ034713
        ("Thames at Eynsham (39008)", (-1.3579, 51.7752), 1616.2),
        ("Thames at Days Weir (39002)", (-1.1806, 51.6383), 3444.7),
        ("Thames at Staines (39111)", (-0.5140, 51.4313), 8120.0),
    ],
)
def test_upstream_area_at_nrfa_gauges(gauge, at, nrfa_km2):
    # the DEM network matches NRFA within 1 % at these main-stem gauges when the gauge is
    # snapped by hand; the query snaps on its own (nearest reach, larger river among
    # near ties), so it must land on the main stem to come within 3 %
    r = query.upstream("thames", at)
    assert r.upstream_area_km2 == pytest.approx(nrfa_km2, rel=0.03), gauge
    assert r.network == "dem"
    assert r.derived_network  # the DEM network is derived, and the result says so
    assert [j["name"] for j in r.jurisdictions["nuts1"]][:1] == ["South East (England)"]


def test_the_tiaoxi_drains_through_the_lake_to_shanghai(taihu):
    reaches = taihu.network.reaches.set_index("reach_id")
    # the Tiaoxi rise in Zhejiang's hills (Tianmu Shan): all of their catchment is Zhejiang
    assert _ids(query.upstream(taihu, HUZHOU), "province") == ["CN033"]
    down = query.downstream(taihu, HUZHOU)
    ids = down.reaches["reach_id"].tolist()
    # one path, upstream to downstream, each reach flowing into the next, to an outlet
    assert ids[0] == down.reach_id
    assert reaches.loc[ids[:-1], "downstream_id"].tolist() == ids[1:]
    assert reaches.loc[ids[-1], "downstream_id"] == -1
    # through Lake Taihu (its lake-node reaches) and out of the extract at Suzhou Creek
    assert set(reaches.loc[ids, "lake_name"]) - {""} == {"Taihu Lake"}
    assert ids[-1] == query.upstream(taihu, SHANGHAI).reach_id
    # Zhejiang -> Jiangsu (the lake) -> Shanghai, by province and by prefecture
    assert _ids(down, "province") == ["CN033", "CN032", "CN031"]
    assert [j["name"] for j in down.jurisdictions["prefecture"]] == [
        "Huzhou",
        "Suzhou",
        "Shanghai Municipality",
    ]
    # upstream of Shanghai: the whole way from Huzhou, and Jiangsu and Zhejiang reaches
    at = _on_reach(taihu, ids[-1])
    ut = query.upstream(taihu, at)
    um = query.upstream(taihu, at, mode="UM")
    assert ut.reach_id == ids[-1]
    assert set(ids) <= set(ut.reaches["reach_id"])
    assert _ids(ut, "province")[0] == "CN031"
    assert {"CN032", "CN033"} <= set(_ids(ut, "province"))
    # the main stem is one chain inside the whole upstream tree
    main = um.reaches["reach_id"].tolist()
    assert set(main) < set(ut.reaches["reach_id"])
    assert ids[-1] in main
    assert all(reaches.loc[r, "downstream_id"] in main for r in main if r != ids[-1])
    # half-way down the reach the area lies between the areas at its two ends
    inflow = reaches.loc[reaches["downstream_id"] == ids[-1], "upstream_area_km2"].sum()
    assert inflow < ut.upstream_area_km2 < reaches.loc[ids[-1], "upstream_area_km2"]
    assert ut.length_km == pytest.approx(reaches.loc[ut.reaches["reach_id"], "length_km"].sum())


def test_max_km_keeps_reaches_beginning_within_the_distance(taihu):
    full = query.downstream(taihu, HUZHOU)
    r = query.downstream(taihu, HUZHOU, max_km=40)
    ids = full.reaches["reach_id"].tolist()
    length = full.reaches["length_km"].to_numpy()
    # downstream distances are measured from the start reach's downstream end
    begins = np.concatenate([[0.0], np.cumsum(length[1:])[:-1]])
    expected = [ids[0], *[rid for rid, b in zip(ids[1:], begins, strict=True) if b <= 40]]
    assert r.reaches["reach_id"].tolist() == expected
    assert 2 < len(expected) < len(ids)  # the limit bites


def test_any_basin_form_gives_the_same_answer(taihu):
    by_overlay = query.upstream(taihu, HUZHOU)
    assert query.upstream("taihu", HUZHOU).as_dict() == by_overlay.as_dict()
    assert query.upstream(taihu.basin, HUZHOU).as_dict() == by_overlay.as_dict()
    bare = query.upstream(taihu.network, HUZHOU)
    assert bare.reaches["reach_id"].tolist() == by_overlay.reaches["reach_id"].tolist()
    assert bare.basin is None
    assert bare.jurisdictions == {}
    assert "bare network" in bare.as_dict()["jurisdictions_note"]


def test_cli_prints_the_library_result(taihu):
    at = SHANGHAI
    res = CliRunner().invoke(
        cli, ["query", "upstream", "taihu", "--at", f"{at[0]!r},{at[1]!r}", "--mode", "UM"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == query.upstream(taihu, at, mode="UM").as_dict()
    res = CliRunner().invoke(cli, ["query", "jurisdiction", "taihu", "Zhejiang"])
    assert res.exit_code == 0, res.output
    want = json.loads(json.dumps(query.jurisdiction(taihu, "Zhejiang").as_dict()))
    got = json.loads(res.stdout)
    # the CLI adds what the jurisdiction pays and receives and the stretches it answers for
    assert {
        k: v for k, v in got.items() if k not in ("compensation", "river_chief_stretches")
    } == want
    assert {"compensation", "river_chief_stretches"} <= set(got)


def test_cli_max_km_inf_prints_valid_json(taihu):
    # `--max-km inf` (no limit) printed "max_km": Infinity, which is not JSON
    at = f"{SHANGHAI[0]!r},{SHANGHAI[1]!r}"
    res = CliRunner().invoke(cli, ["query", "upstream", "taihu", "--at", at, "--max-km", "inf"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert got["max_km"] is None
    assert got["n_reaches"] == query.upstream(taihu, SHANGHAI).n_reaches


def test_navigation_errors(taihu):
    at = HUZHOU
    with pytest.raises(InputError, match=r"at must be a \(lon, lat\) pair .* got at='120.6,31.5'"):
        query.upstream(taihu, "120.6,31.5")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"mode must be one of \['UM', 'UT'\], got 'DM'; use dow"):
        query.upstream(taihu, at, mode="DM")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"mode must be one of \['DM', 'DD'\], got 'UT'; use up"):
        query.downstream(taihu, at, mode="UT")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"network 'nope' is not in the basin config; avail"):
        query.upstream(taihu, at, network="nope")
    with pytest.raises(InputError, match=r"network= selects a basin's .* cannot be used with"):
        query.upstream(taihu.network, at, network="nfgis")
    with pytest.raises(InputError, match=r"expected a basin name, .* got OverlayResult"):
        query.upstream(taihu.overlay, at)  # type: ignore[arg-type]
    with pytest.raises(EmptyResultError, match=r"no reach within 2000 m of \(100.0, 30.0\)"):
        query.downstream(taihu, (100.0, 30.0))


def test_points_as_text_or_bools_are_refused():
    # upstream/downstream turned the point into floats before snap_point saw it, so a
    # point as text ("7.5") or a bool (True: 1 degree) was taken, unlike snap_point
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2], "downstream_id": [2, -1]},
        geometry=[
            LineString([(4e6, 3e6), (4.001e6, 3e6)]),
            LineString([(4.001e6, 3e6), (4.002e6, 3e6)]),
        ],
        crs="EPSG:3035",
    )
    net = network_from_table(t)
    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(4.0005e6, 3e6)
    assert query.upstream(net, (np.float64(lon), lat)).reach_id == 1  # numpy numbers: taken
    for at in [(str(lon), str(lat)), (lon, str(lat)), (True, lat), [lon, np.bool_(False)]]:
        for verb in (query.upstream, query.downstream):
            with pytest.raises(
                InputError,
                match=r"^at must be a \(lon, lat\) pair of WGS84 degrees as numbers \(not text "
                rf"or bools\).*; got {re.escape(f'at={at!r}')}$",
            ):
                verb(net, at)


def test_cli_snap_tolerance(taihu):
    # --tolerance reaches the library's tolerance_m; a point farther out names the option
    at = f"{SHANGHAI[0]!r},{SHANGHAI[1]!r}"
    snap = query.upstream(taihu, SHANGHAI).snap_distance_m
    assert snap > 0.01
    tight = CliRunner().invoke(
        cli, ["query", "downstream", "taihu", "--at", at, "--tolerance", f"{snap / 2}"]
    )
    assert isinstance(tight.exception, EmptyResultError)
    assert "raise the tolerance (tolerance_m=; CLI --tolerance)" in str(tight.exception)
    wide = CliRunner().invoke(
        cli, ["query", "downstream", "taihu", "--at", at, "--tolerance", f"{2 * snap}"]
    )
    assert wide.exit_code == 0, wide.output
    assert json.loads(wide.stdout)["snap_distance_m"] == pytest.approx(snap, abs=0.05)


# --- crossings / jurisdiction --------------------------------------------------------------


def test_crossings_of_the_drainage_network(taihu):
    c = query.crossings(taihu)
    prov = query.crossings(taihu, level="province")
    # Zhejiang's rivers flow into Jiangsu (the Tiaoxi into the lake) and into Shanghai (the
    # Jiaxing plain); the lake drains from Jiangsu into Shanghai; no main river flows back
    assert set(zip(prov["from_jur"], prov["to_jur"], strict=True)) == {
        ("CN033", "CN032"),
        ("CN033", "CN031"),
        ("CN032", "CN031"),
    }
    # the main stem crosses Zhejiang -> Jiangsu, then Jiangsu -> Shanghai, source to mouth
    main = prov[prov["on_main_stem"]].sort_values("distance_to_outlet_km", ascending=False)
    assert main[["from_jur", "to_jur"]].values.tolist() == [["CN033", "CN032"], ["CN032", "CN031"]]
    # a province border is also a prefecture border (prefecture ids extend the province's):
    # every province crossing is a prefecture crossing at the same place
    pref = c[c["level_name"] == "prefecture"]
    for row in prov.itertuples():
        same = pref[(pref["reach_id"] == row.reach_id) & (pref["lon"] == row.lon)]
        assert len(same) == 1, row.crossing_id
        assert same["from_jur"].iloc[0].startswith(row.from_jur)
        assert same["to_jur"].iloc[0].startswith(row.to_jur)
    # between is order-free and takes names, prefixes or ids
    zj_js = prov.loc[(prov["from_jur"] == "CN033") & (prov["to_jur"] == "CN032"), "crossing_id"]
    assert len(zj_js) > 1  # several Tiaoxi branches and plain rivers reach the lake
    for pair in [("jiangsu", "CN033"), ("Zhejiang Province", "CN032")]:
        assert query.crossings(taihu, between=pair)["crossing_id"].tolist() == zj_js.tolist()
    # the Grand Canal names (NFGIS arcs matched onto HydroRIVERS) fall on short pieces that
    # cross no border, so filtering by the canal's name leaves no crossing
    reaches = taihu.network.reaches
    canal = reaches.loc[reaches["name"].str.contains("运河"), "reach_id"]
    assert len(canal) > 0
    assert set(canal).isdisjoint(query.crossings(taihu, include_minor=True)["reach_id"])
    assert query.crossings(taihu, river="运河").empty
    # a name no reach carries is an error, as in `query river`, not an empty answer
    with pytest.raises(InputError, match=r"no river matches 'Thames'; named rivers are \["):
        query.crossings(taihu, river="Thames")
    rec = query.crossing_records(c)
    assert set(rec[0]) == set(query.CROSSING_FIELDS)
    json.dumps(rec, allow_nan=False)  # plain JSON values


def test_jurisdiction_report(taihu):
    sh = query.jurisdiction(taihu, "Shanghai", level="province")
    js = query.jurisdiction(taihu, "Jiangsu")
    zj = query.jurisdiction(taihu, "CN033")
    assert (sh.jur_id, js.level_name, zj.name) == ("CN031", "province", "Zhejiang Province")
    # Shanghai, at the bottom of the basin, takes the lake's outflow through Jiangsu and the
    # Jiaxing plain's rivers from Zhejiang
    assert {"CN032", "CN033"} <= set(sh.drains_from["jur_id"])
    assert {"CN032", "CN033"} <= set(sh.all_upstream)
    assert "CN031" in js.all_downstream
    assert "CN031" in zj.all_downstream
    # links count every crossing between the two, small streams too
    every = query.crossings(taihu, level="province", include_minor=True)
    for rep in (sh, js, zj):
        for u, n in rep.drains_from[["jur_id", "n_crossings"]].values.tolist():
            assert n == ((every["from_jur"] == u) & (every["to_jur"] == rep.jur_id)).sum()
    # dependency on upstream water grows down the flow: the Tiaoxi's Zhejiang, the lake's
    # Jiangsu, Shanghai at the outlet
    dep = [r.indicators["upstream_dependency"] for r in (zj, js, sh)]
    assert 0 <= dep[0] < dep[1] < dep[2] <= 1
    # a report lists every crossing of its borders
    mine = every.loc[(every["from_jur"] == "CN033") | (every["to_jur"] == "CN033"), "crossing_id"]
    assert set(zj.crossings["crossing_id"]) == set(mine)
    # the province shares partition the basin's land: the county polygons leave Lake Taihu
    # out, so the shares add up to 1 less the lake's share of the basin
    provinces = taihu.basin.jurisdictions.query("level_name == 'province'")["jur_id"]
    total = sum(query.jurisdiction(taihu, j, level="province").share for j in provinces)
    lakes = taihu.network.reaches.query("lake_name == 'Taihu Lake'")["lake_area_km2"]
    basin_km2 = js.area_km2 / js.share
    assert total == pytest.approx(1.0 - lakes.iloc[0] / basin_km2, abs=0.002)
    json.dumps(zj.as_dict(), allow_nan=False)


def test_jurisdiction_errors(taihu):
    with pytest.raises(InputError, match=r"'Shanghai' matches 2 jurisdictions: \['CN031 "):
        query.jurisdiction(taihu, "Shanghai")
    with pytest.raises(InputError, match=r"level 'county' is not a jurisdiction level"):
        query.jurisdiction(taihu, "Shanghai", level="county")
    with pytest.raises(InputError, match=r"level 'county' is not an overlay level"):
        query.crossings(taihu, level="county")
    with pytest.raises(InputError, match=r"no jurisdiction matches 'Atlantis'"):
        query.crossings(taihu, between=("Jiangsu", "Atlantis"))


@pytest.mark.parametrize("between", ["CN033", "AW", ("CN033",), ("CN033", "CN032", "CN031"), 5])
def test_crossings_between_must_be_a_pair(taihu, between):
    # a string was read letter by letter ("AW" meant between the name prefixes "A" and "W":
    # Anhui and Wuxi, silently), one jurisdiction raised IndexError, a third was ignored
    with pytest.raises(InputError, match=r"between must be a pair of jurisdictions .* got "):
        query.crossings(taihu, between=between)


@pytest.mark.parametrize("name_or_id", [31, None])
def test_a_jurisdiction_is_looked_up_by_text(taihu, name_or_id):
    # a number (a jur_id such as a FIPS code typed as one) or None raised AttributeError
    with pytest.raises(InputError, match=r"a jurisdiction is looked up by text .* pass it as"):
        query.jurisdiction(taihu, name_or_id)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"a jurisdiction is looked up by text"):
        query.crossings(taihu, between=("CN032", name_or_id))  # type: ignore[arg-type]


def test_river_level_error_names_the_basin_not_the_loaded_object(taihu):
    # a loaded overlay was printed whole (its config, tables and network) in the message
    with pytest.raises(InputError) as err:
        query.river(taihu, "长江", level="county")
    assert str(err.value) == (
        "level 'county' is not a level of taihu; allowed levels are ['province', 'prefecture']"
    )


def test_find_jurisdiction_by_id_name_or_prefix(taihu):
    j = taihu.basin.jurisdictions
    assert query.find_jurisdiction(j, "cn033")["name"] == "Zhejiang Province"
    assert query.find_jurisdiction(j, "wuxi")["jur_id"].startswith("CN032")
    assert query.find_jurisdiction(j, "Shanghai", level="prefecture")["level_name"] == (
        "prefecture"
    )


def test_a_rhine_departement_is_found_and_named_as_typed():
    """``query jurisdiction rhine Meuse`` finds FRF32 and calls it "Meuse".

    GISCO names it "Meuse " (and FRF31 "Meurthe-et-Moselle "). The look-up found it even
    so, as a name prefix, but answered with the padded name; a second unit named
    "Meuse..." would have made "Meuse" ambiguous. The data build now strips the names.
    """
    j = basingov.load_basin("rhine").jurisdictions
    for typed in ("Meuse", " meuse", "MEUSE ", "FRF32"):
        row = query.find_jurisdiction(j, typed)
        assert (row["jur_id"], row["name"]) == ("FRF32", "Meuse"), typed
    assert query.find_jurisdiction(j, "meurthe-et-moselle")["name"] == "Meurthe-et-Moselle"


# --- the top-level API ---------------------------------------------------------------------


def test_import_basingov_is_light_and_lazy():
    code = (
        "import sys, basingov; heavy = {'basingov.pipeline', 'geopandas', 'basingov.query'};"
        "print(sorted(heavy & set(sys.modules)));"
        "print(basingov.run.__module__, basingov.query.__name__, basingov.spill.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "basingov.pipeline basingov.query basingov.spill"


def test_the_pipeline_does_not_import_scipy_stats():
    # scipy.stats takes about a second to import and every command that runs a basin would
    # pay it; the trend tests and flow-duration curves take the normal's cdf and quantile
    # from scipy.special (the same functions)
    code = "import sys, basingov.pipeline, basingov.spill; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_top_level_names():
    from basingov import datasets, pipeline

    assert basingov.load_basin is datasets.load_basin
    assert basingov.run is pipeline.run
    assert basingov.validate is pipeline.validate
    assert {"load_basin", "run", "validate", "query", "spill"} <= set(dir(basingov))
    for name in basingov.__all__:
        assert getattr(basingov, name) is not None
    with pytest.raises(AttributeError, match=r"module 'basingov' has no attribute 'nope'"):
        _ = basingov.nope  # type: ignore[attr-defined]


@pytest.mark.slow
def test_rhine_main_stem_crossings_read_from_the_alps_to_lobith():
    """``--river Rhine`` means the whole river (Rhein, Rhin, Rhine in Natural Earth).

    Published course (ICPR): Alpine Rhine along the LI|CH and AT|CH borders, Lake
    Constance, the Hochrhein along CH|DE with Schaffhausen's Swiss bank, Basel (CH -> DE
    and FR), the Oberrhein along FR|DE to Lauterbourg (FR -> DE), then Lobith (DE -> NL).
    """
    c = query.crossings("rhine", level="country", river="Rhine")
    pairs = list(zip(c["from_jur"], c["to_jur"], strict=True))
    assert not c["minor"].any()  # small streams are left out of the headline list
    # ordered from source to mouth
    assert c["distance_to_outlet_km"].is_monotonic_decreasing
    for pair in [("CH", "DE"), ("CH", "FR"), ("FR", "DE"), ("DE", "NL")]:
        assert pair in pairs, pair
    assert pairs[-1] == ("DE", "NL")
    lobith = c.iloc[-1]
    assert lobith["lon"] == pytest.approx(6.07, abs=0.05)
    assert lobith["lat"] == pytest.approx(51.86, abs=0.05)
    every = query.crossings("rhine", level="country", river="Rhine", include_minor=True)
    assert len(every) > len(c)


@pytest.mark.slow
def test_a_river_query_follows_the_configs_aliases():
    """``query river rhine Rhine`` is the whole river, as ``crossings --river Rhine`` is.

    rhine.toml groups "Rhine|Rhein|Rhin" (Natural Earth's names by language). The query
    used only ``|`` in the name, so "Rhine" gave the lower river alone (622 km below
    Lauterbourg).
    """
    whole = query.river("rhine", "Rhine", level="country")
    joined = query.river("rhine", "Rhein|Rhin|Rhine", level="country")
    assert whole.drop(columns="geometry").equals(joined.drop(columns="geometry"))
    assert whole["river"].iloc[0] == "Rhein | Rhin | Rhine"
    assert whole["end_km"].iloc[-1] > 1100
    # a name of no group still means that name alone, and joins the river as the run's
    # table names it (the Rhine's group joined), not as the reach below is named
    main = query.river("rhine", "Main", level="country")
    assert set(main["river"]) == {"Main"}
    assert main["exit"].iloc[-1] == "joins Rhein | Rhin | Rhine"
    # a substring that matches several names of a group gives the group's river
    assert set(query.river("rhine", "Rh", level="country")["river"]) == {"Rhein | Rhin | Rhine"}
