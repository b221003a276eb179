"""The decision stage in a basin run: output contract, money invariants, CLI, Rhine check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from basingov.cli import cli
from basingov.compensation import TRANSFER_COLUMNS
from basingov.priority import PRIORITY_COLUMNS
from basingov.rivers import RIVER_CHIEF_COLUMNS

pytestmark = pytest.mark.filterwarnings("ignore::basingov.errors.BasingovWarning")


@pytest.fixture(scope="module")
def taihu_run(shipped_run) -> Path:
    return shipped_run("taihu").out


def read(run: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(run / "tables" / f"{name}.csv", keep_default_na=False, na_values=[""],
                       dtype={"payer": str, "payee": str, "jur_id": str})  # fmt: skip


def net_of(table: pd.DataFrame) -> pd.Series:
    """Received minus paid per party."""
    got = table.groupby("payee")["amount"].sum()
    return got.sub(table.groupby("payer")["amount"].sum(), fill_value=0.0).sort_index()


def test_run_writes_the_decision_outputs(taihu_run: Path) -> None:
    tr = read(taihu_run, "transfers")
    assert list(tr.columns[:5]) == ["payer", "payee", "amount", "currency", "basis"]
    assert list(tr.columns) == TRANSFER_COLUMNS
    st = read(taihu_run, "settlement")
    assert list(st.columns) == ["payer", "payee", "amount", "currency", "basis"]
    pr = read(taihu_run, "priority")
    assert list(pr.columns[:5]) == ["section_or_pair", "score", "class", "mechanism", "reason"]
    assert list(pr.columns) == PRIORITY_COLUMNS
    rc = read(taihu_run, "river_chiefs")
    assert list(rc.columns) == RIVER_CHIEF_COLUMNS
    layers = {name for name, _ in pyogrio.list_layers(taihu_run / "taihu.gpkg")}
    assert {"priority", "river_chiefs"} <= layers
    summary = json.loads((taihu_run / "summary.json").read_text())
    assert summary["decisions"]["transfers"] == len(tr)
    assert summary["timings_s"]["governance"] >= 0


def test_money_is_consistent(taihu_run: Path) -> None:
    tr = read(taihu_run, "transfers")
    # every amount positive, bands ordered, illustrative figures labelled
    assert (tr["amount"] > 0).all()
    mc = tr[tr["kind"] == "polluter_pays"]
    assert (mc["amount_p5"] <= mc["amount_p50"]).all()
    assert (mc["amount_p50"] <= mc["amount_p95"]).all()
    assert mc["band_basis"].str.startswith("Monte Carlo (200 runs").all()
    assert tr["illustrative"].astype(bool).all()
    # polluter pays: amount = price x 365 x S (no allowance) for every pair of the matrix
    m = read(taihu_run, "spillover_matrix")
    m = m[(m["level_name"] == "province") & (m["origin"] != m["receptor"])]
    s = m.set_index(["origin", "receptor"])["load_kg_day"]
    got = mc.set_index(["payer", "payee"])["amount"]
    np.testing.assert_allclose(got.to_numpy(), 1.75 * 365 * s.reindex(got.index).to_numpy())
    # netting keeps every party's position: received - paid is the same before and after
    st = read(taihu_run, "settlement")
    before, after = net_of(tr), net_of(st)
    np.testing.assert_allclose(
        before.to_numpy(), after.reindex(before.index).fillna(0.0).to_numpy(), rtol=1e-9
    )
    # the Xin'an rule has no concentrations in the shipped data: reported, not faked
    rules = read(taihu_run, "compensation_rules").set_index("kind")
    assert rules.loc["section_index", "status"] == "not evaluated"
    assert "TBA027" in rules.loc["section_index", "detail"]


def test_river_chiefs_cover_the_named_rivers(taihu_run: Path) -> None:
    rc = read(taihu_run, "river_chiefs")
    prov = rc[rc["level_name"] == "province"]
    reaches = pyogrio.read_dataframe(taihu_run / "taihu.gpkg", layer="reaches")
    named = reaches[reaches["name"].fillna("") != ""]
    # every named river gets stretches, and they cover all of its reaches, course by course,
    # and the unnamed reaches a course runs through: on the Taihu one 0.46 km reach by
    # which a short piece of the canal leads into the canal's own next course
    assert set(prov["river"]) == set(named["name"])
    got = prov.groupby("river")["length_km"].sum().sort_index()
    want = named.groupby("name")["length_km"].sum().sort_index()
    extra = got.to_numpy() - want.to_numpy()
    assert (extra > -1e-9).all()
    assert extra.sum() < 1.0
    # the Jiangnan Grand Canal runs through Jiangsu and Zhejiang only, partly along their
    # border (a stretch the two provinces share)
    canal = prov[prov["river"].str.contains("运河")]
    assert set(canal["jur_id"]) <= {"CN032", "CN033", "CN032|CN033"}
    shared = canal[canal["shared"].astype(bool)]
    assert set(zip(shared["jur_a"], shared["jur_b"], strict=True)) == {("CN032", "CN033")}
    # a stretch leaving at a border crossing names a crossing of the run
    cr = read(taihu_run, "crossings")
    exits = rc["exit_crossing_id"].dropna()
    assert set(exits) <= set(cr["crossing_id"])


def test_cli_query_river_and_jurisdiction(taihu_run: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(
        cli, ["query", "river", "taihu", "江南运河", "--level", "province", "--format", "table"]
    )
    assert r.exit_code == 0, r.output
    # the canal's main course (course 1) is its longest named piece, in Zhejiang
    rc = read(taihu_run, "river_chiefs")
    main = rc[(rc["level_name"] == "province") & (rc["course"] == 1)]
    (jur,) = main.loc[main["river"].str.contains("江南运河"), "jur_name"]
    assert f"{jur} [CN033]: from river start to" in r.stdout
    out = tmp_path / "canal.gpkg"
    r = CliRunner().invoke(cli, ["query", "river", "taihu", "运河", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == len(pyogrio.read_dataframe(out))
    r = CliRunner().invoke(cli, ["query", "river", "taihu", "Huangpu"])
    assert r.exit_code != 0
    assert "no river matches 'Huangpu'" in str(r.exception)
    r = CliRunner().invoke(
        cli, ["query", "jurisdiction", "taihu", "Zhejiang", "--run", str(taihu_run)]
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    money = rep["compensation"]
    # polluter pays follows the modelled spill: Zhejiang pays the provinces it sends TN to
    # and is paid by those that send TN into its waters
    m = read(taihu_run, "spillover_matrix")
    m = m[(m["level_name"] == "province") & (m["origin"] != m["receptor"]) & (m["load_kg_day"] > 0)]
    m = m.dropna(subset=["origin", "receptor"])
    assert {e["party"] for e in money["pays"]} == set(m.loc[m["origin"] == "CN033", "receptor"])
    assert {e["party"] for e in money["receives"]} == set(m.loc[m["receptor"] == "CN033", "origin"])
    # the Tiaoxi carry most of it into the lake, in Jiangsu
    pays = {e["party"]: e["amount"] for e in money["pays"]}
    assert max(pays, key=pays.__getitem__) == "CN032"
    assert all("polluter pays" in e["basis"] for e in money["receives"])
    assert money["net"]["CNY"] == pytest.approx(
        sum(e["amount"] for e in money["receives"]) - sum(e["amount"] for e in money["pays"])
    )
    # the stretches Zhejiang answers for are its own or shared with a neighbour
    stretches = rep["river_chief_stretches"]
    assert stretches
    assert all("CN033" in s["jur_id"].split("|") for s in stretches)
    r = CliRunner().invoke(
        cli, ["query", "jurisdiction", "taihu", "Zhejiang", "--run", str(tmp_path)]
    )
    assert r.exit_code != 0
    assert "pass the output folder of 'basingov run'" in str(r.exception)


@pytest.mark.slow
def test_rhine_de_nl_border_ranks_at_the_top(shipped_run) -> None:
    """The DE-NL border is the Rhine's governance hot spot in the literature.

    Lobith/Bimmen is where the ICPR measures everything the upstream states send to the
    Netherlands, and the Netherlands drove the Rhine agreements (chlorides 1976, the Rhine
    Action Programme) as the downstream party. With no monitoring data, the score rests on
    the modelled load, exposure, jurisdictions and the (uniform) monitoring gap: the DE->NL
    section carries the whole basin's load and must still come out first at country
    level, for both sections and pairs, under every weight change of +-20 %.
    """
    res = shipped_run("rhine").results  # the plain Rhine run, shared with the suite
    t = res.tables["priority"]
    c = t[t["level_name"] == "country"]
    pairs = c[c["kind"] == "pair"].set_index("section_or_pair")
    assert pairs.loc["pair DE->NL", "rank"] == 1
    assert pairs.loc["pair DE->NL", "rank_max"] <= 2  # "at or near the top" under +-20 %
    secs = c[(c["kind"] == "section") & (c["from_jur"] == "DE") & (c["to_jur"] == "NL")]
    assert secs["rank"].min() == 1
    assert pairs.loc["pair DE->NL", "class"] == "high"
    # the River Chief table of the Rhine hands over from DE to NL at that crossing; the
    # config's river_aliases make Natural Earth's Rhein, Rhin and Rhine one river, from
    # the Vorderrhein's source (it used to list a "Rhine" that started at Lauterbourg)
    rc = res.tables["river_chiefs"]
    assert not set(rc["river"]) & {"Rhein", "Rhin", "Rhine"}
    rhine = rc[(rc["river"] == "Rhein | Rhin | Rhine") & (rc["level_name"] == "country")]
    main = rhine[rhine["course"] == 1]
    assert main["jur_id"].tolist()[-2:] == ["DE", "NL"]
    assert main["exit_crossing_id"].iloc[-2] in set(secs["crossing_id"])
    assert main["jur_id"].iloc[0] == "CH"
    assert main["entry"].iloc[0] == "river start"
    assert main["end_km"].iloc[-1] == pytest.approx(1201, abs=5)
    # the TN load handed over at Lobith against the measured one: issue 9's check against
    # measured river data put the sewage-only model at 55.6 t/day = about 10 % of it, i.e.
    # about 560 t/day measured (mean flow about 2,200 m3/s x roughly 3 mg N/L); with land
    # sources and the Thames-transferred agricultural coefficient the model must land
    # within -40/+40 % of that, and say the coefficient is transferred
    cf = res.tables["crossing_flux"]
    into_nl = cf[(cf["level_name"] == "country") & (cf["to_jur"] == "NL")]["load_kg_day"].sum()
    assert 0.6 * 560_000 < into_nl < 1.4 * 560_000, into_nl
    assert res.summary["calibration"]["status"] == "uncalibrated"
    assert res.summary["calibration"]["transferred_multipliers"] == {"diffuse_agriculture": 3.27}
    assert set(res.tables["loads"]["load_status"]) == {
        "modelled (coefficients transferred from another basin's calibration)"
    }


@pytest.mark.slow
def test_cli_jurisdiction_runs_the_pipeline_in_memory(taihu_run: Path) -> None:
    """Without --run the query computes the same money as the written run."""
    r = CliRunner().invoke(cli, ["query", "jurisdiction", "taihu", "CN032"])
    assert r.exit_code == 0, r.output
    live = json.loads(r.stdout)["compensation"]
    r = CliRunner().invoke(
        cli, ["query", "jurisdiction", "taihu", "CN032", "--run", str(taihu_run)]
    )
    stored = json.loads(r.stdout)["compensation"]
    assert live["net"]["CNY"] == pytest.approx(stored["net"]["CNY"], rel=1e-9)
    assert [e["party"] for e in live["pays"]] == [e["party"] for e in stored["pays"]]


@pytest.mark.slow
def test_thames_river_chiefs_join_the_thames_and_the_isis(shipped_run) -> None:
    """thames.toml's river_aliases make DCW's "THAMES" and "THAMES OR ISIS" one river.

    Before, the Oxford stretch ("THAMES OR ISIS", 27 km) was a river of its own, and the
    same 27 km were also part of the Thames' course: two tables for one stretch.
    """
    rc = shipped_run("thames").results.tables["river_chiefs"]
    assert "THAMES OR ISIS" not in set(rc["river"])
    thames = rc[(rc["river"] == "THAMES | THAMES OR ISIS") & (rc["level_name"] == "nuts3")]
    main = thames[thames["course"] == 1]
    assert main["jur_id"].iloc[0] == "UKK13"  # from Gloucestershire
    # to Kingston (IWA: 225 km Thames Head to Teddington, a few km below Kingston)
    assert main["exit"].iloc[-1] == "basin outlet"
    assert 225 < main["end_km"].iloc[-1] < 1.05 * 225


@pytest.mark.slow
def test_thames_below_hampton_is_one_stretch_not_three_top_sections(shipped_run) -> None:
    """The Thames below Hampton is held by Richmond upon Thames and Elmbridge jointly.

    Its DEM-traced line crosses their border three times within 5 km. With bank points
    3 km out only, the banks there fell in Hounslow or Kingston as often as across the
    river, no run of one pair lay on both sides, and the three crossings (lad-131,
    lad-134, lad-135) ranked first to third among the district sections. The banks of
    the nearest offset at which they differ give Elmbridge | Richmond: one stretch, which
    the Thames enters from its Spelthorne | Elmbridge stretch.
    """
    res = shipped_run("thames").results
    st = res.layers["boundary_stretches"]
    er = st[(st["level_name"] == "lad") & (st["jur_a"] == "E07000207")
            & (st["jur_b"] == "E09000027")]  # fmt: skip
    assert len(er) == 1
    assert er["length_km"].iloc[0] > 5.0
    cr = res.tables["crossings"]
    pair = cr["from_jur"].isin(["E07000207", "E09000027"]) & cr["to_jur"].isin(
        ["E07000207", "E09000027"]
    )
    assert not (pair & (cr["level_name"] == "lad")).any()  # no raw crossing between them
    pr = res.tables["priority"]
    lad = pr[(pr["level_name"] == "lad") & (pr["kind"] == "section")].sort_values("rank")
    top = lad.head(2)
    assert set(top["to_jur"]) == {"E07000207", "E09000027"}  # into the stretch ...
    assert set(top["from_jur"]) == {"E07000213"}  # ... from Spelthorne's
    assert not lad.head(10)["reason"].str.contains("if the river runs along the").any()
