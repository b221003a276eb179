"""Calibration figures quoted in docs/research.md and docs/guide.md, against a shipped run.

The docs round what ``basingov run`` writes (``summary.json``, ``tables/calibration*.csv``);
these tests read the docs' numbers and compare them with the run, rounded the same way, so
a change of data or method that moves a quoted figure fails here until the docs follow.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: The multiplication sign the docs write before a factor.
TIMES = "\u00d7"

pytestmark = pytest.mark.slow


def _sig(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant figures (as the docs quote loads)."""
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _table_row(doc: str, first_cell: str, pattern: str = "") -> str:
    """Return the line of a Markdown table in ``docs/<doc>`` by first cell and a regex."""
    lines = (DOCS / doc).read_text(encoding="utf-8").splitlines()
    rows = [ln for ln in lines if ln.startswith(f"| {first_cell} |") and re.search(pattern, ln)]
    assert len(rows) == 1, f"docs/{doc}: {len(rows)} rows start with {first_cell!r}"
    return rows[0]


def _find(pattern: str, text: str) -> tuple[str, ...]:
    m = re.search(pattern, text)
    assert m is not None, f"{pattern!r} not in {text[:120]!r}..."
    return m.groups()


def _calibration(out: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))["calibration"]
    coef = pd.read_csv(out / "tables" / "calibration.csv").set_index("parameter")
    stations = pd.read_csv(out / "tables" / "calibration_stations.csv")
    return summary, coef, stations


def test_research_thames_calibration_row_matches_the_run(shipped_run) -> None:
    s, coef, st = _calibration(shipped_run("thames").out)
    row = _table_row("research.md", "Thames", "NSE")
    nse, r2, med, p_nse, p_med = _find(
        r"NSE (\d\.\d\d), R²\(log\) (\d\.\d\d), median error (\d+) % "
        r"\(priors alone: NSE (\d\.\d\d), median error (\d+) %\)",
        row,
    )
    held, prior = s["heldout_loo"], s["prior"]
    assert float(nse) == round(held["nse"], 2)
    assert float(r2) == round(held["r2_log"], 2)
    assert float(med) == round(held["median_abs_pct_error"])
    assert float(p_nse) == round(prior["nse"], 2)
    assert float(p_med) == round(prior["median_abs_pct_error"])
    out, measured = _find(r"Runnymede ([\d,]+) kg/day held out vs ([\d,]+) measured", row)
    runnymede = st[st["name"].str.contains("Runnymede")].iloc[0]
    assert _num(out) == _sig(runnymede["heldout_kg_day"])
    assert _num(measured) == _sig(runnymede["observed_kg_day"])
    for name, label in (("diffuse_agriculture", "agriculture"), ("population_raster", "sewage")):
        est, se = _find(rf"{label} {TIMES}(\d\.\d\d) ± (\d\.\d\d)", row)
        assert (float(est), float(se)) == (
            round(coef.loc[name, "estimate"], 2),
            round(coef.loc[name, "std_error"], 2),
        ), name
    est, se = _find(r"k_small (\d\.\d\d) ± (\d\.\d\d) /day", row)
    assert (float(est), float(se)) == (
        round(coef.loc["k_small", "estimate"], 2),
        round(coef.loc["k_small", "std_error"], 2),
    )


def test_tennessee_calibration_figures_in_research_and_guide_match_the_run(shipped_run) -> None:
    s, coef, st = _calibration(shipped_run("tennessee").out)
    held = s["heldout_loo"]
    agri = (
        round(coef.loc["diffuse_agriculture", "estimate"], 2),
        round(coef.loc["diffuse_agriculture", "std_error"], 2),
    )
    main = st[st["station_id"] == "NRS18_TN_10010"].iloc[0]
    hiwassee = st[st["name"] == "Hiwassee River"].iloc[0]
    times = round(hiwassee["heldout_kg_day"] / hiwassee["observed_kg_day"])

    row = _table_row("research.md", "Tennessee", "NSE")
    nse, r2 = _find(r"held-out NSE (\d\.\d\d), R²\(log\) (\d\.\d\d)", row)
    assert (float(nse), float(r2)) == (round(held["nse"], 2), round(held["r2_log"], 2))
    out, measured = _find(r"\(NRS18_TN_10010\) ([\d,]+) kg/day held out vs ([\d,]+)", row)
    assert _num(out) == _sig(main["heldout_kg_day"])
    assert _num(measured) == _sig(main["observed_kg_day"])
    ratio, out_h, obs_h = _find(
        rf"Hiwassee over-predicted {TIMES}(\d+) \(([\d,]+) kg/day held out vs ([\d,]+)\)", row
    )
    assert int(ratio) == times
    assert _num(out_h) == _sig(hiwassee["heldout_kg_day"])
    assert _num(obs_h) == _sig(hiwassee["observed_kg_day"])
    est, se = _find(rf"agriculture {TIMES}(\d\.\d\d) ± (\d\.\d\d)", row)
    assert (float(est), float(se)) == agri

    guide = _table_row("guide.md", "load at the 7 sites")
    nse, r2, est, se, ratio = _find(
        r"held-out NSE (\d\.\d\d), R²\(log\) (\d\.\d\d); agriculture multiplier "
        r"(\d\.\d\d) ± (\d\.\d\d);.*Hiwassee over-predicted x(\d+)",
        guide,
    )
    assert (float(nse), float(r2)) == (round(held["nse"], 2), round(held["r2_log"], 2))
    assert (float(est), float(se)) == agri
    assert int(ratio) == times


@pytest.mark.parametrize("basin", ["rhine", "thames", "tennessee", "taihu"])
def test_guide_monitoring_gap_counts_match_the_run(shipped_run, basin: str) -> None:
    gap = json.loads((shipped_run(basin).out / "summary.json").read_text(encoding="utf-8"))
    counts = {
        lv.casefold(): (v["with_station"], v["crossings"])
        for lv, v in gap["monitoring"]["monitoring_gap"].items()
    }
    row = _table_row("guide.md", basin.capitalize(), r" \d+/\d")
    quoted = {
        lv.casefold(): (int(a), _num(b))
        for lv, a, b in re.findall(r"(\w+) (\d+)/([\d,]+)", row.split("|")[2])
    }
    assert quoted == counts


def test_guide_rhine_rank_stability_paragraph_matches_the_run(shipped_run) -> None:
    out = shipped_run("rhine").out
    st = pd.read_csv(out / "tables" / "priority_stability.csv")
    text = " ".join((DOCS / "guide.md").read_text(encoding="utf-8").split())
    share, load = _find(
        r"Deutschland generates (\d+) % of the load crossing into Nederland \(([\d,]+) kg/day\)",
        text,
    )
    pri = pd.read_csv(out / "tables" / "priority.csv")
    top = pri[(pri["level_name"] == "country") & (pri["rank"] == 1)].iloc[0]
    assert (
        f"generates {share} % of the load crossing into Nederland ({load} kg/day)" in top["reason"]
    )
    coarse = st[st["level_name"].isin(["country", "nuts1", "nuts2"])]
    low = coarse.loc[coarse["kendall_tau_min"].idxmin()]
    (tau_low,) = _find(r"the lowest (\d\.\d+) for NUTS 1 pairs", text)
    assert (low["level_name"], low["kind"]) == ("nuts1", "pair")
    assert float(tau_low) == round(low["kendall_tau_min"], 3)
    assert coarse["kendall_tau_min"].min() >= 0.95
    assert coarse["top10_kept_min"].min() >= 0.9
    sec = st[(st["level_name"] == "nuts3") & (st["kind"] == "section")].iloc[0]
    pair = st[(st["level_name"] == "nuts3") & (st["kind"] == "pair")].iloc[0]
    kept, mean, pkept, pmean = _find(
        r"only (\d+) of the top 10 sections are kept; (\d\.\d) of 10 on average; of the "
        r"top 10 pairs at least (\d+) are kept, (\d\.\d) on average",
        text,
    )
    assert sec["kendall_tau_min"] >= 0.96
    assert (int(kept), float(mean)) == (
        round(10 * sec["top10_kept_min"]),
        round(10 * sec["top10_kept_mean"], 1),
    )
    assert (int(pkept), float(pmean)) == (
        round(10 * pair["top10_kept_min"]),
        round(10 * pair["top10_kept_mean"], 1),
    )


def _back_and_forth_pairs(out: Path) -> tuple[int, int, pd.DataFrame]:
    """Sections whose reason names a crossing back, the pairs they form, and the sections."""
    pri = pd.read_csv(out / "tables" / "priority.csv")
    sec = pri[pri["kind"] == "section"]
    named = sec["reason"].str.contains("one border stretch, not separate", na=False)
    flagged = sec[named]
    pairs = {
        tuple(sorted((cid, other)))
        for cid, why in zip(flagged["crossing_id"], flagged["reason"], strict=True)
        for other in re.findall(r"\(([a-z0-9]+-\d+)\)", why)
    }
    return len(flagged), len(pairs), sec.assign(named=named.to_numpy())


def test_guide_back_and_forth_counts_match_the_runs(shipped_run) -> None:
    """The known-fault paragraph: 10 pairs in 20 sections (Rhine 8, Thames 1, Tennessee 1)."""
    text = " ".join((DOCS / "guide.md").read_text(encoding="utf-8").split())
    total, total_secs = _find(r"such crossings come in (\d+) pairs \((\d+) sections\)", text)
    rh_pairs, rh_secs = _find(r"Rhine \((\d+) pairs, (\d+) sections\)", text)
    (th_pairs,) = _find(r"Thames \((\d+) pair\)", text)
    (tn_pairs,) = _find(r"Tennessee \((\d+) pairs?\)", text)
    got = {
        b: _back_and_forth_pairs(shipped_run(b).out)
        for b in ("rhine", "thames", "tennessee", "taihu")
    }
    assert got["rhine"][:2] == (int(rh_secs), int(rh_pairs))
    assert got["thames"][1] == int(th_pairs)
    assert got["tennessee"][1] == int(tn_pairs)
    assert got["taihu"][1] == 0
    assert sum(g[1] for g in got.values()) == int(total)
    assert sum(g[0] for g in got.values()) == int(total_secs)
    # the Thames' first sections at NUTS 1 and district level are no such crossings now
    sec = got["thames"][2]
    for lv in ("nuts1", "lad"):
        top = sec[sec["level_name"] == lv].sort_values("rank").head(3)
        assert not top["named"].any()


def test_rhine_liechtenstein_stretch_ends_at_the_published_tripoint(shipped_run) -> None:
    """The Rhine's CH|LI stretch ends where Austria begins: the LI/AT/CH tripoint.

    Published: the tripoint lies in the Rhine at 47.269722 N, 9.530278 E (it.wikipedia,
    "Confine tra l'Austria e il Liechtenstein"); the Rhine forms the CH|LI border for
    25-30 km (liechtenstein-business.li; Britannica, "Alpenrhein River"). The guide
    quotes the run's figures.
    """
    from pyproj import Geod

    rc = pd.read_csv(shipped_run("rhine").out / "tables" / "river_chiefs.csv")
    main = rc[(rc["river"].str.startswith("Rhein")) & (rc["course"] == 1)]
    li = main[(main["level_name"] == "country") & (main["jur_id"] == "CH|LI")]
    assert len(li) == 1
    row = li.iloc[0]
    _, _, dist = Geod(ellps="WGS84").inv(row["exit_lon"], row["exit_lat"], 9.530278, 47.269722)
    assert dist < 200.0
    text = " ".join((DOCS / "guide.md").read_text(encoding="utf-8").split())
    (km,) = _find(r"CH\|LI jointly (\d+) km", text)
    assert int(km) == round(row["length_km"])
    assert 25.0 <= row["length_km"] <= 1.25 * 30.0  # within a quarter of the published range
    (lon, lat) = _find(r"the stretch ends at (\d\.\d{4}) E, (\d\d\.\d{4}) N", text)
    assert (float(lon), float(lat)) == (round(row["exit_lon"], 4), round(row["exit_lat"], 4))
