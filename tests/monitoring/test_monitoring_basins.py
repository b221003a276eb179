"""The monitoring stage on the shipped basins: station order, mass balance, outputs, CLI."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from basingov.cli import cli
from basingov.datasets import load_basin
from basingov.errors import BasingovWarning
from basingov.monitoring import assess, trend_test
from basingov.pipeline import run

BASINS = ["rhine", "taihu", "tennessee", "thames"]

#: The Thames Initiative sites on the Thames itself, upstream to downstream (Swinford,
#: Wallingford, Sonning, Runnymede), located at their proxy NRFA gauges Eynsham (39008),
#: Days Weir (39002), Reading (39130) and Staines (39111).
THAMES_MAIN_STEM = ["TC5", "TC18", "TC13", "TC16"]
#: NRFA catchment areas (km2) of those gauges (data/hydrography/thames_nrfa_check.csv).
NRFA_AREA = {"TC5": 1616.2, "TC18": 3444.7, "TC13": 4633.7, "TC16": 8120.0}


@pytest.fixture(scope="module")
def thames(shipped_overlay):
    # load_overlay("thames"): load_basin, load_network, overlay_network at the basin's levels
    b, net, ov, _ = shipped_overlay("thames")
    with pytest.warns(BasingovWarning) as rec:
        res = assess(b, net, ov)
    msgs = [str(w.message) for w in rec]
    assert any("left unsnapped" in m for m in msgs), msgs
    return net, res, msgs


def test_thames_flagged_values_are_reported_and_not_used(thames):
    # the 12 values the data build flags 'implausible_in_source' (the source's negative
    # SS and chlorophyll-a, two impossible water temperatures) are named in one warning
    # (summary.json 'warnings') and left out of the trends, as of the classes and loads
    _, res, msgs = thames
    (msg,) = [m for m in msgs if "implausible_in_source" in m]
    assert re.search(
        r"thames_observations\.csv: 12 value\(s\) flagged 'implausible_in_source' are "
        r"not used in the classes, trends or mass balance \(SS at TC14 \(1\), TC17 \(1\), "
        r"TC8 \(3\); chl_a at TC12 \(1\), TC14 \(1\), TC16 \(1\), TC6 \(1\), TC7 \(1\); "
        r"temperature at TC21 \(1\), TC22 \(1\)\); they stay in the table as published$",
        msg,
    ), msg
    obs = res.observations
    assert (obs["flag"] == "implausible_in_source").sum() == 12  # kept, as published
    # each trend with a flagged value is the test of the unflagged values alone
    tr = res.trends.set_index(["station_id", "parameter"])
    used = obs[obs["flag"] != "implausible_in_source"].set_index(["station_id", "parameter"])
    for key in [("TC8", "SS"), ("TC14", "chl_a"), ("TC22", "temperature")]:
        expect = trend_test(used.loc[key, "time"], used.loc[key, "value"])
        assert tr.loc[key, "sen_slope_per_year"] == expect["sen_slope_per_year"], key
        assert tr.loc[key, "p_value"] == expect["p_value"], key


def test_thames_station_table_counts_the_values_not_used(thames):
    # n_observations counted the flagged values with the others and nothing in
    # stations.csv said that some of them are not used (docs/outputs.md)
    _, res, _ = thames
    st = res.stations.set_index("station_id")
    obs = res.observations
    rows = obs.groupby("station_id").size().reindex(st.index, fill_value=0)
    assert st["n_observations"].to_dict() == rows.to_dict()  # every row, as published
    flagged = obs[obs["flag"] == "implausible_in_source"].groupby("station_id").size()
    assert st["n_not_used"].to_dict() == flagged.reindex(st.index, fill_value=0).to_dict()
    assert st.loc[["TC8", "TC14", "TC22", "TC5"], "n_not_used"].tolist() == [3, 2, 1, 0]
    cols = list(res.tables()["stations"].columns)
    assert cols.index("n_not_used") == cols.index("n_observations") + 1


@pytest.mark.slow
def test_thames_main_stem_stations_in_flow_order(thames):
    net, res, _ = thames
    st = res.stations.set_index("station_id").loc[THAMES_MAIN_STEM]
    assert st["snapped"].all()
    dist = st["distance_to_outlet_km"].to_numpy()
    assert (np.diff(dist) < 0).all(), dict(zip(THAMES_MAIN_STEM, dist, strict=True))
    # each lies on the flow path below the one before it
    idx_ds = np.asarray(net.idx_ds)
    pos = net.position(st["reach_id"].to_numpy(dtype=np.int64))
    for up, down in itertools.pairwise(pos):
        path, q = set(), int(up)
        while q >= 0:
            path.add(q)
            q = int(idx_ds[q])
        assert int(down) in path
    # Runnymede is ~22 km above the Kingston outlet along the river (Staines gauge to
    # Kingston is about 20-25 km of river); tolerance for the 30" DEM network and proxy
    assert 15 < st.loc["TC16", "distance_to_outlet_km"] < 30
    # the drained area at each snapped point matches the gauge's NRFA area within 5 %
    # (the DEM check file gives 0.97-1.005 for these four gauges)
    for sid, area in NRFA_AREA.items():
        assert st.loc[sid, "upstream_area_km2"] == pytest.approx(area, rel=0.05), sid
    # and the mass balance chains them in the same order
    inc = res.mass_balance.increments
    nxt = inc[inc["period"] == "all"].drop_duplicates("station_id").set_index("station_id")
    assert [nxt.loc[s, "downstream_station"] for s in THAMES_MAIN_STEM] == [
        "TC18", "TC13", "TC16", ""]  # fmt: skip


@pytest.mark.slow
def test_thames_mass_balance_closes_on_its_inputs(thames):
    _, res, _ = thames
    mb = res.mass_balance
    t = mb.increments
    assert len(t) > 0
    # load = sum of the loads just upstream + increment, for every station and period
    resid = t["load_kg_day"] - t["upstream_load_kg_day"] - t["increment_kg_day"]
    assert resid.abs().max() <= 1e-9 * t["load_kg_day"].abs().max()
    loads = mb.station_loads.set_index(["station_id", "parameter", "period"])["load_kg_day"]
    for row in t.itertuples():
        ups = [s for s in row.upstream_stations.split("|") if s]
        expect = sum(loads.loc[(s, row.parameter, row.period)] for s in ups)
        assert row.upstream_load_kg_day == pytest.approx(expect, rel=1e-12)
    # the increments of a period add up to the load leaving its last stations
    for (_, _), g in t.groupby(["parameter", "period"]):
        last = g.loc[g["downstream_station"] == "", "load_kg_day"].sum()
        assert g["increment_kg_day"].sum() == pytest.approx(last, rel=1e-9)
    # attributions add back up to each increment, at every level
    a = mb.attribution.groupby(["station_id", "parameter", "period", "level_name"])
    total = a["increment_kg_day"].sum().reset_index()
    merged = total.merge(t, on=["station_id", "parameter", "period"], suffixes=("", "_inc"))
    assert np.allclose(merged["increment_kg_day"], merged["increment_kg_day_inc"], atol=1e-9)
    # a station's whole-record load is the mean of C x Q x 86.4 over the samples where
    # both were taken (recomputed here from the observations, for TP at Runnymede)
    obs = res.observations
    s = obs[(obs["station_id"] == "TC16") & (obs["flag"] != "implausible_in_source")]
    c = s[s["parameter"] == "TP"].groupby("time")["value"].mean()
    q = s[s["parameter"] == "Q"].groupby("time")["value"].mean()
    both = pd.concat([c.rename("c"), q.rename("q")], axis=1, sort=True).dropna()
    assert len(both) > 300  # weekly, 2009-2017
    expect = float((both["c"] * both["q"] * 86.4).mean())
    assert loads.loc[("TC16", "TP", "all")] == pytest.approx(expect, rel=1e-12)
    # unconfirmed proxies (snapped without an NRFA area) are left out, and said so
    assert set(mb.excluded["station_id"]) == {"TC8", "TC9", "TC10", "TC14"}


@pytest.mark.slow
@pytest.mark.parametrize("basin", BASINS)
def test_run_writes_stations_and_sections(shipped_run, basin: str):
    shared = shipped_run(basin)  # a plain run of the basin, shared with the suite
    out, msgs = shared.out, shared.messages
    layers = {str(n) for n, _ in pyogrio.list_layers(out / f"{basin}.gpkg")}
    assert {"stations", "sections"} <= layers
    tables = {}
    for name in ("stations", "sections", "trends"):
        tables[name] = pd.read_csv(out / "tables" / f"{name}.csv", dtype={"station_id": str})
        assert len(tables[name]) > 0, (basin, name)
    st = tables["stations"]
    assert {"location_status", "is_proxy", "snapped", "reach_id"} <= set(st.columns)
    # proxies are labelled as such wherever they appear
    proxy = st["location_status"].isin(
        ["gauge_proxy", "nearby_gauge_proxy", "section_proxy", "nearby_section_proxy"]
    )
    assert (st["is_proxy"] == proxy).all()
    sec = tables["sections"]
    assert (sec["is_proxy"] == sec["location_status"].str.contains("proxy")).all()
    # the warning lists every station left unsnapped
    unsnapped = st.loc[~st["snapped"].astype(bool), "station_id"].tolist()
    text = " ".join(m for m in msgs if "left unsnapped" in m)
    assert all(s in text for s in unsnapped), basin
    summary = json.loads((out / "summary.json").read_text())
    levels = list(load_basin(basin).config.boundaries.levels)
    gap = summary["key_indicators"]["monitoring_gap"]
    assert list(gap) == levels
    for lv in levels:
        share = gap[lv]
        assert share is None or 0.0 <= share <= 1.0
        detail = summary["monitoring"]["monitoring_gap"][lv]
        assert detail["with_station"] <= detail["crossings"]


@pytest.mark.filterwarnings("ignore::basingov.errors.BasingovWarning")
def test_query_station_cli():
    r = CliRunner().invoke(cli, ["query", "station", "taihu", "北虹大桥"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["station_id"] == "TBA027"
    assert out["location"]["location_status"] == "section_proxy"
    assert out["location"]["is_proxy"] is True
    assert out["location"]["location_note"].startswith("proxy:")
    # a Jiangsu-Zhejiang province-boundary section (data/monitoring/taihu_stations.csv): its
    # proxy point (王江泾, 1.4 km from the border) snaps to a reach on one side of that border
    assert out["location"]["snap_distance_m"] <= 2000
    assert out["jurisdictions"]["province"]["jur_id"] in {"CN032", "CN033"}
    assert out["jurisdictions"]["prefecture"]["jur_id"].startswith(
        out["jurisdictions"]["province"]["jur_id"]
    )
    # the published class history, as in data/monitoring/taihu_observations.csv
    assert [(h["period"], h["class"]) for h in out["class_history"]] == [
        ("2016-12", "IV"), ("2017-06", "IV"), ("2017-10", "IV"), ("2018-06", "IV"),
        ("2018-08", "IV")]  # fmt: skip
    assert all(h["class_source"] == "published" for h in out["class_history"])
    assert out["trends"][0]["parameter"] == "class_rank"
    assert out["trends"][0]["tested"] is False
    r = CliRunner().invoke(cli, ["query", "station", "taihu", "nowhere"])
    assert r.exit_code != 0
    assert "no station matches 'nowhere'" in str(r.exception)
    r = CliRunner().invoke(cli, ["query", "station", "taihu", "太浦河"])
    assert "matches 2 stations" in str(r.exception)


@pytest.mark.filterwarnings("ignore::basingov.errors.BasingovWarning")
def test_query_station_without_a_name_prints_valid_json():
    # EPA NLA 2012 gives no name for this Kentucky lake site: "name": NaN was printed
    r = CliRunner().invoke(cli, ["query", "station", "tennessee", "NLA12_KY-120"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert (out["station_id"], out["name"]) == ("NLA12_KY-120", None)


@pytest.mark.slow
def test_run_with_monitoring_loads(tmp_path: Path, edited_config):
    # the Thames config with the incremental TP loads between stations as the only source
    cfg = edited_config(
        "thames",
        lambda t: (
            t.partition("[loads]")[0] + '[loads]\nparameter = "TP"\nsources = ["monitoring"]\n'
        ),
    )
    with pytest.warns(BasingovWarning) as rec:
        res = run(cfg, out_dir=tmp_path / "out")
    msgs = [str(w.message) for w in rec]
    assert any("left unsnapped" in m for m in msgs)
    # Sonning (Reading gauge) carries less TP than Wallingford + the Thame: a net loss
    assert any("['TC13'] carry less load" in m for m in msgs)
    loads = res.tables["loads"]
    assert set(loads["load_source"]) == {"monitoring"}
    assert res.monitoring is not None
    inc = res.monitoring.mass_balance.increments
    whole = inc[(inc["parameter"] == "TP") & (inc["period"] == "all")]
    assert loads["load_kg_day"].sum() == pytest.approx(
        whole["increment_kg_day"].clip(lower=0).sum()
    )
    bal = res.tables["load_balance"]
    assert (bal["relative_residual"].abs() < 1e-9).all()


def _pandas_station_columns(sid, obs):
    """Compute the station table's observation columns by pandas groupbys (the reference)."""
    from basingov._tables import text
    from basingov.monitoring.units import not_used

    g = obs.groupby("station_id")
    pairs = obs.drop_duplicates(["station_id", "parameter"]).groupby("station_id")["parameter"]
    unused = obs[not_used(obs)].groupby("station_id").size()
    return {
        "n_observations": sid.map(g.size()).fillna(0).astype(int).to_numpy(),
        "n_not_used": sid.map(unused).fillna(0).astype(int).to_numpy(),
        "parameters": text(sid.map(pairs.agg(lambda p: "|".join(sorted(set(p)))))),
        "first_time": sid.map(g["time"].min()).to_numpy(),
        "last_time": sid.map(g["time"].max()).to_numpy(),
    }


@pytest.mark.parametrize("tz", [None, "Asia/Shanghai"])
def test_station_table_counts_equal_pandas_groupby(make_observations, tz):
    # one factorize and np.bincount / np.minimum.at: the columns of the groupbys by station,
    # for stations with and without observations and times with a zone
    import sys

    assess_module = sys.modules["basingov.monitoring.assess"]
    obs = make_observations(3, tz=tz)
    obs = obs[obs["station_id"] != "a"].reset_index(drop=True)
    obs.loc[obs.index[:40], "flag"] = "implausible_in_source"
    snapped = gpd.GeoDataFrame(
        {"station_id": pd.array(["S10", "a", "S1", "B", "S2", "none"], dtype="str")},
        geometry=gpd.points_from_xy(range(6), range(6)),
    )
    classes = pd.DataFrame(
        columns=["station_id", "period_start", "period", "class", "class_source"]
    )
    matches = pd.DataFrame(columns=["station_id", "level_name", "along_river_m", "crossing_id"])
    got = assess_module._station_table(snapped, obs, {}, matches, classes, [], set())
    want = _pandas_station_columns(snapped["station_id"].astype(str), obs)
    for col, values in want.items():
        pd.testing.assert_series_equal(
            pd.Series(got[col].to_numpy()), pd.Series(values), check_exact=True, obj=col
        )
    assert got["n_observations"].tolist()[1] == 0
