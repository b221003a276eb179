"""Library queries (``basingov.query``) and the top-level API (``basingov.load_basin``...)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer

import basingov
from basingov import query
from basingov.cli import cli
from basingov.errors import EmptyResultError, InputError

pytestmark = pytest.mark.filterwarnings("ignore::basingov.errors.BasingovWarning")


@pytest.fixture(scope="module")
def taihu() -> query.BasinOverlay:
    """Lake Taihu: its network is the Jiangnan Grand Canal alone, reaches 1 -> 11 in a chain."""
    return query.load_overlay("taihu")


def _on_reach(ov: query.BasinOverlay, reach_id: int, frac: float = 0.5) -> tuple[float, float]:
    """Return a WGS84 point on a reach, ``frac`` of the way down it."""
    r = ov.network.reaches.set_index("reach_id")
    pt = shapely.line_interpolate_point(r.geometry.loc[reach_id], frac, normalized=True)
    lon, lat = Transformer.from_crs(ov.network.crs, 4326, always_xy=True).transform(pt.x, pt.y)
    return float(lon), float(lat)


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


def test_the_canal_chain_upstream_and_downstream(taihu):
    at = _on_reach(taihu, 9)
    ut = query.upstream(taihu, at)
    um = query.upstream(taihu, at, mode="UM")
    # the canal is one chain, so everything upstream is the main stem: reaches 1..9
    assert sorted(ut.reaches["reach_id"]) == list(range(1, 10))
    assert sorted(um.reaches["reach_id"]) == sorted(ut.reaches["reach_id"])
    assert ut.reach_id == 9
    # half-way down reach 9 the area lies between the areas at reach 8's and 9's ends
    areas = taihu.network.reaches.set_index("reach_id")["upstream_area_km2"]
    assert areas[8] < ut.upstream_area_km2 < areas[9]
    assert ut.length_km == pytest.approx(
        taihu.network.reaches.set_index("reach_id")["length_km"].loc[1:9].sum()
    )
    down = query.downstream(taihu, _on_reach(taihu, 1, 0.1))
    assert down.reaches["reach_id"].tolist() == list(range(1, 12))  # upstream to downstream
    # the Jiangnan canal runs Changzhou -> Wuxi -> Suzhou -> Jiaxing (docs/guide.md)
    assert [j["name"] for j in down.jurisdictions["prefecture"]] == [
        "Changzhou",
        "Wuxi",
        "Suzhou",
        "Jiaxing",
    ]
    assert [j["jur_id"] for j in down.jurisdictions["province"]] == ["CN032", "CN033"]


def test_max_km_keeps_reaches_beginning_within_the_distance(taihu):
    r = query.downstream(taihu, _on_reach(taihu, 1), max_km=40)
    length = taihu.network.reaches.set_index("reach_id")["length_km"]
    # downstream distances are measured from the start reach's downstream end
    begins = np.concatenate([[0.0], np.cumsum(length.loc[2:11].to_numpy())[:-1]])
    expected = [1, *[rid for rid, b in zip(range(2, 12), begins, strict=True) if b <= 40]]
    assert r.reaches["reach_id"].tolist() == expected
    assert 2 < len(expected) < 11  # the limit bites


def test_any_basin_form_gives_the_same_answer(taihu):
    at = _on_reach(taihu, 5)
    by_overlay = query.upstream(taihu, at)
    assert query.upstream("taihu", at).as_dict() == by_overlay.as_dict()
    assert query.upstream(taihu.basin, at).as_dict() == by_overlay.as_dict()
    bare = query.upstream(taihu.network, at)
    assert bare.reaches["reach_id"].tolist() == by_overlay.reaches["reach_id"].tolist()
    assert bare.basin is None
    assert bare.jurisdictions == {}
    assert "bare network" in bare.as_dict()["jurisdictions_note"]


def test_cli_prints_the_library_result(taihu):
    at = _on_reach(taihu, 9)
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


def test_navigation_errors(taihu):
    at = _on_reach(taihu, 5)
    with pytest.raises(InputError, match=r"at must be a \(lon, lat\) pair .* got '120.6,31.5'"):
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


# --- crossings / jurisdiction --------------------------------------------------------------


def test_crossings_of_the_canal(taihu):
    c = query.crossings(taihu)
    # one province border (Jiangsu -> Zhejiang) and the prefecture chain along the canal
    assert set(zip(c["level_name"], c["from_name"], c["to_name"], strict=True)) == {
        ("province", "Jiangsu Province", "Zhejiang Province"),
        ("prefecture", "Changzhou", "Wuxi"),
        ("prefecture", "Wuxi", "Suzhou"),
        ("prefecture", "Suzhou", "Jiaxing"),
    }
    # the province border is also the Suzhou/Jiaxing border: the same place on the canal
    prov = query.crossings(taihu, level="province")
    sj = c[c["to_name"] == "Jiaxing"]
    assert (prov["reach_id"].tolist(), prov["lon"].tolist()) == (
        sj["reach_id"].tolist(),
        sj["lon"].tolist(),
    )
    # between is order-free and takes names, prefixes or ids
    assert query.crossings(taihu, between=("zhejiang", "CN032"))["crossing_id"].tolist() == (
        prov["crossing_id"].tolist()
    )
    assert len(query.crossings(taihu, river="运河")) == 4  # every reach is the Grand Canal
    assert query.crossings(taihu, river="Thames").empty
    rec = query.crossing_records(c)
    assert set(rec[0]) == set(query.CROSSING_FIELDS)
    json.dumps(rec, allow_nan=False)  # plain JSON values


def test_jurisdiction_report(taihu):
    js = query.jurisdiction(taihu, "Jiangsu")
    zj = query.jurisdiction(taihu, "CN033")
    assert (js.level_name, zj.name) == ("province", "Zhejiang Province")
    assert js.drains_to[["jur_id", "n_crossings"]].values.tolist() == [["CN033", 1]]
    assert zj.drains_from["jur_id"].tolist() == ["CN032"]
    assert (zj.all_upstream, js.all_downstream) == (["CN032"], ["CN033"])
    # the canal enters Zhejiang only from Jiangsu; Jiangsu is the head of the chain
    assert js.indicators["upstream_dependency"] == 0
    assert 0 < zj.indicators["upstream_dependency"] <= 1
    assert zj.crossings["crossing_id"].tolist() == (
        query.crossings(taihu, level="province", between=("Jiangsu", "Zhejiang"))[
            "crossing_id"
        ].tolist()
    )
    # the province shares partition the basin
    provinces = taihu.basin.jurisdictions.query("level_name == 'province'")["jur_id"]
    total = sum(query.jurisdiction(taihu, j, level="province").share for j in provinces)
    assert total == pytest.approx(1.0, abs=1e-6)
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


def test_find_jurisdiction_by_id_name_or_prefix(taihu):
    j = taihu.basin.jurisdictions
    assert query.find_jurisdiction(j, "cn033")["name"] == "Zhejiang Province"
    assert query.find_jurisdiction(j, "wuxi")["jur_id"].startswith("CN032")
    assert query.find_jurisdiction(j, "Shanghai", level="prefecture")["level_name"] == (
        "prefecture"
    )


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
