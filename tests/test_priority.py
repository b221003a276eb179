"""Tests for basingov.priority: scores worked by hand, classes, mechanisms, stability."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point

from basingov.config import PrioritySection
from basingov.errors import InputError
from basingov.examples import example_network
from basingov.network import RiverNetwork, network_from_table
from basingov.priority import (
    MECHANISMS,
    PRIORITY_COLUMNS,
    back_and_forth,
    downstream_jurisdictions,
    priority,
    rank_stability,
    score,
)
from tests.shapes import reach_table

CRS = "EPSG:3035"


def toy() -> tuple[RiverNetwork, SimpleNamespace]:
    """Chain 1 (A) -> 2 (B) -> 3 (C, outlet); tributary 4 (A) flows into 2.

    Crossings at level "s": s-0 A->B on the main river (reach 1 -> 2, 100 km2 upstream),
    s-1 A->B on the tributary (4 -> 2, 1 km2: minor below 1 % of the 1000 km2 basin),
    s-2 B->C (2 -> 3, 300 km2).
    """
    net = example_network([2, 3, -1, 2])  # reaches 1 to 4, each 1 km
    pieces = pd.DataFrame(
        {"reach_pos": [0, 1, 2, 3], "fraction_start": [0.0] * 4, "jur_s": ["A", "B", "C", "A"],
         "name_s": ["Aa", "Bb", "Cc", "Aa"]}
    )  # fmt: skip
    crossings = gpd.GeoDataFrame(
        {
            "crossing_id": ["s-0", "s-1", "s-2"],
            "from_jur": ["A", "A", "B"],
            "to_jur": ["B", "B", "C"],
            "from_name": ["Aa", "Aa", "Bb"],
            "to_name": ["Bb", "Bb", "Cc"],
            "level_name": ["s"] * 3,
            "reach_id": [1, 4, 2],
            "to_reach_id": [2, 2, 3],
            "fraction": [1.0, 1.0, 1.0],
            "lon": [1.0, 1.5, 2.0],
            "lat": [50.0, 50.0, 50.0],
            "upstream_area_km2": [100.0, 1.0, 300.0],
            "discharge_m3s": [1.0, 0.01, 3.0],
        },
        geometry=[Point(0, 0), Point(1, 1), Point(2, 0)],
        crs=CRS,
    )
    shares = pd.DataFrame({"jur_id": ["A", "B", "C"], "level_name": ["s"] * 3,
                           "area_km2": [400.0, 300.0, 300.0]})  # fmt: skip
    ov = SimpleNamespace(levels=("s",), crossings=crossings, pieces=pieces, unit_shares=shares)
    return net, ov


FLUX = pd.DataFrame(
    {
        "crossing_id": ["s-0", "s-1", "s-2", "s-2"],
        "from_jur": ["A", "A", "B", "B"],
        "origin": ["A", "A", "A", "B"],
        "load_kg_day": [10.0, 1.0, 8.0, 12.0],
        "share": [1.0, 1.0, 0.4, 0.6],
    }
)


def test_downstream_jurisdictions_walk_the_network():
    net, ov = toy()
    # s-0 and s-1 enter B and flow on into C: 2; s-2 enters C at the outlet: 1
    assert downstream_jurisdictions(net, ov.pieces, ov.crossings).to_dict() == {
        "s-0": 2, "s-1": 2, "s-2": 1
    }  # fmt: skip


def test_scores_classes_and_ranks_by_hand():
    # Normalised (the majors s-0 and s-2 set the scales; default weights; exceedance unknown
    # without monitoring data, so its 0.20 drops out and the weights sum to 0.80):
    #   load L / L_max:        s-0 10/20 = 0.5,  s-1 1/20 = 0.05, s-2 20/20 = 1
    #   downstream n / n_max:  s-0 2/2 = 1,      s-1 1,           s-2 1/2 = 0.5
    #   jurisdictions (n-2)/(3-2): s-0 {A,B} 0, s-1 0, s-2 {A,B,C} 1
    #   monitoring gap:        1 everywhere (no station known)
    #   s-0: (0.35*0.5 + 0.15*1 + 0.15*0 + 0.15*1) / 0.8 = 0.475 / 0.8  = 0.59375 -> medium
    #   s-1: (0.35*0.05 + 0.15 + 0 + 0.15) / 0.8      = 0.3175 / 0.8 = 0.396875 -> minor: low
    #   s-2: (0.35*1 + 0.15*0.5 + 0.15*1 + 0.15) / 0.8 = 0.725 / 0.8  = 0.90625 -> high
    net, ov = toy()
    res = priority(net, ov, crossing_flux=FLUX, basin_area_km2=1000.0)
    t = res.table
    assert list(t.columns) == [*PRIORITY_COLUMNS, "geometry"]
    sec = t[t["kind"] == "section"].set_index("crossing_id")
    assert sec.loc["s-0", "score"] == pytest.approx(0.59375)
    assert sec.loc["s-1", "score"] == pytest.approx(0.396875)
    assert sec.loc["s-2", "score"] == pytest.approx(0.90625)
    assert sec["class"].to_dict() == {"s-2": "high", "s-0": "medium", "s-1": "low"}
    assert sec["rank"].to_dict() == {"s-2": 1, "s-0": 2, "s-1": 3}
    assert sec.loc["s-1", "minor"]
    assert (sec["unknown"] == "exceedance").all()
    # mechanisms: s-1 is minor; s-0: A generates all of it and it is in the larger half;
    # s-2: B generates 60 % (12 of 20) and it carries the most
    assert sec.loc["s-1", "mechanism"] == "information sharing"
    assert "minor stream" in sec.loc["s-1", "reason"]
    assert sec.loc["s-0", "mechanism"] == "compensation agreement"
    assert sec.loc["s-2", "mechanism"] == "compensation agreement"
    assert "Bb generates 60 % of the load crossing into Cc" in sec.loc["s-2", "reason"]
    assert set(t["mechanism"]) <= set(MECHANISMS)
    # pairs: A->B gathers s-0 and s-1 (11 kg/day, not minor as s-0 is major)
    #   load 11/20 = 0.55; downstream 2/2 = 1; jurisdictions 0; gap 1
    #   (0.35*0.55 + 0.15 + 0 + 0.15) / 0.8 = 0.4925 / 0.8 = 0.615625
    pairs = t[t["kind"] == "pair"].set_index("section_or_pair")
    assert pairs.loc["pair A->B", "score"] == pytest.approx(0.615625)
    assert pairs.loc["pair A->B", "n_sections"] == 2
    assert pairs.loc["pair A->B", "load_kg_day"] == pytest.approx(11.0)
    assert pairs.loc["pair B->C", "score"] == pytest.approx(0.90625)


def test_monitoring_sections_change_scores_and_mechanisms():
    # s-2 has a station and exceeds 1.5x: x_exc = 0.75, gap 0, all weights count (sum 1):
    #   (0.35*1 + 0.2*0.75 + 0.15*0.5 + 0.15*1 + 0.15*0) = 0.725; B generates 60 % ->
    #   compensation agreement. s-0 has no row: no station known, exceedance unknown.
    net, ov = toy()
    sections = pd.DataFrame(
        {"crossing_id": ["s-2"], "exceedance_ratio": [1.5], "has_station": [True]}
    )
    res = priority(net, ov, crossing_flux=FLUX, sections=sections, basin_area_km2=1000.0)
    sec = res.table[res.table["kind"] == "section"].set_index("crossing_id")
    assert sec.loc["s-2", "score"] == pytest.approx(0.725)
    assert sec.loc["s-2", "mechanism"] == "compensation agreement"
    assert "exceeds the standard (1.5 x the limit)" in sec.loc["s-2", "reason"]
    assert sec.loc["s-0", "has_station"] is False
    assert sec.loc["s-0", "score"] == pytest.approx(0.59375)


def test_mechanism_rules_joint_plan_and_warning_link():
    net, ov = toy()
    # s-0: three origins, none with half -> joint prevention and control plan
    # s-2: two origins (A 40 %, Z 60 %: the upstream party B generates none), a station, no
    # exceedance, water flows on... only into C (1): information sharing;
    flux = pd.DataFrame(
        {
            "crossing_id": ["s-0"] * 3 + ["s-2", "s-2"],
            "from_jur": ["A"] * 3 + ["B", "B"],
            "origin": ["A", "X", "Y", "A", "Z"],
            "load_kg_day": [3.0, 3.5, 3.5, 8.0, 12.0],
            "share": [0.3, 0.35, 0.35, 0.4, 0.6],
        }
    )
    sections = pd.DataFrame(
        {"crossing_id": ["s-0", "s-2"], "exceedance_ratio": [0.5, 0.5], "has_station": [1, 1]}
    )
    t = priority(net, ov, crossing_flux=flux, sections=sections, basin_area_km2=1000.0).table
    sec = t[t["kind"] == "section"].set_index("crossing_id")
    assert sec.loc["s-0", "mechanism"] == "joint prevention and control plan"
    assert "3 jurisdictions (A, X, Y)" in sec.loc["s-0", "reason"]
    assert sec.loc["s-2", "mechanism"] == "information sharing"
    # the same two origins at s-0 (A 40 %, Z 60 %), a station, no exceedance: the water
    # flows on through B and C -> emergency warning link
    flux2 = flux.copy()
    flux2.loc[flux2["crossing_id"] == "s-0", "origin"] = ["A", "Z", "Z"]
    flux2.loc[flux2["crossing_id"] == "s-0", "share"] = [0.3, 0.35, 0.35]
    t2 = priority(net, ov, crossing_flux=flux2, sections=sections, basin_area_km2=1000.0).table
    s0 = t2[(t2["kind"] == "section") & (t2["crossing_id"] == "s-0")].iloc[0]
    assert s0["mechanism"] == "emergency warning link"
    assert "flows on through 2 jurisdictions" in s0["reason"]


def test_without_loads_the_load_is_unknown_and_dropped():
    net, ov = toy()
    t = priority(net, ov, basin_area_km2=1000.0).table
    sec = t[t["kind"] == "section"]
    assert (sec["unknown"] == "transboundary_load;exceedance").all()
    assert sec["load_kg_day"].isna().all()


def test_rank_stability():
    x = pd.DataFrame({"x_transboundary_load": [1.0, 0.9, 0.1], "x_monitoring_gap": [0.0, 1.0, 1.0]})
    minor = np.array([False, False, False])
    w = {"transboundary_load": 0.5, "monitoring_gap": 0.5}
    # scores 0.5, 0.95, 0.55: ranks 2, 1, 3... a 20 % shift moves 0.5 vs 0.55 around:
    #   load weight 0.6, gap 0.4 -> 0.6, 0.94, 0.46 (row 0 back ahead of row 2)
    per, summ = rank_stability(x, minor, w, perturbation=0.2)
    assert per["rank_min"].tolist() == [2, 1, 2]
    assert per["rank_max"].tolist() == [3, 1, 3]
    assert summ["scenarios"] == 2 * 2 + 200
    assert summ["top1_kept_share"] == 1.0
    assert -1.0 <= summ["kendall_tau_min"] < 1.0
    # no perturbation: nothing moves
    per0, summ0 = rank_stability(x, minor, w, perturbation=0.0)
    assert (per0["rank_min"] == per0["rank_max"]).all()
    assert summ0["kendall_tau_min"] == 1.0
    with pytest.raises(InputError, match=r"perturbation must lie in \[0, 1\), got 1.5"):
        rank_stability(x, minor, w, perturbation=1.5)


def _rank_stability_loop(x, minor, weights, perturbation, high=0.6, medium=0.4, seed=0):
    """Rank every scenario on its own (the straightforward computation)."""
    from scipy.stats import kendalltau

    from basingov.priority import _N_RANDOM, _TOP, _classes, _ranks

    base = score(x, weights)
    r0, c0 = _ranks(base, minor), _classes(base, minor, high, medium)
    scen = [
        {**weights, k: weights[k] * (1 + sgn * perturbation)}
        for k in weights
        for sgn in (1.0, -1.0)
    ]
    rng = np.random.default_rng(seed)
    for _ in range(_N_RANDOM):
        f = rng.uniform(1 - perturbation, 1 + perturbation, size=len(weights))
        scen.append({k: weights[k] * fk for k, fk in zip(weights, f, strict=True)})
    n, top_n = len(x), min(_TOP, len(x))
    rmin, rmax, cstable = r0.copy(), r0.copy(), np.ones(n, dtype=bool)
    taus, tops, top1 = [], [], []
    for w in scen:
        s = score(x, w)
        r = _ranks(s, minor)
        rmin, rmax = np.minimum(rmin, r), np.maximum(rmax, r)
        cstable &= _classes(s, minor, high, medium) == c0
        if n > 1:
            taus.append(float(kendalltau(r0, r).statistic))
        tops.append(len(set(np.flatnonzero(r <= top_n)) & set(np.flatnonzero(r0 <= top_n))) / top_n)
        top1.append(float(np.argmin(r) == np.argmin(r0)))
    return rmin, rmax, cstable, taus, tops, top1


@pytest.mark.parametrize("n", [1, 2, 7, 60])
def test_rank_stability_equals_one_scenario_at_a_time(n):
    # all scenarios ranked at once (stable sorts, tau-b from discordant pairs) give the
    # ranks, classes and summary of ranking each scenario on its own
    rng = np.random.default_rng(n)
    x = pd.DataFrame(
        {
            "x_transboundary_load": rng.choice([0.0, 0.25, 0.5, 1.0], n),  # ties
            "x_monitoring_gap": rng.uniform(0, 1, n),
            "x_exceedance": np.where(rng.uniform(size=n) < 0.3, np.nan, rng.uniform(0, 1, n)),
        }
    )
    minor = rng.uniform(size=n) < 0.2
    w = {"transboundary_load": 0.5, "monitoring_gap": 0.3, "exceedance": 0.2}
    per, summ = rank_stability(x, minor, w, perturbation=0.3, seed=4)
    rmin, rmax, cstable, taus, tops, top1 = _rank_stability_loop(x, minor, w, 0.3, seed=4)
    assert per["rank_min"].tolist() == rmin.tolist()
    assert per["rank_max"].tolist() == rmax.tolist()
    assert per["class_stable"].tolist() == cstable.tolist()
    if taus:
        assert summ["kendall_tau_min"] == min(taus)  # SciPy's tau-b, bit for bit
        assert summ["kendall_tau_mean"] == np.mean(taus)
    assert summ["top10_kept_min"] == min(tops)
    assert summ["top10_kept_mean"] == np.mean(tops)
    assert summ["top1_kept_share"] == np.mean(top1)
    assert summ["class_stable_share"] == cstable.mean()


def test_minor_crossings_do_not_crowd_the_top():
    # make the minor tributary score highest: it still ranks after every major crossing
    net, ov = toy()
    flux = FLUX.copy()
    flux.loc[flux["crossing_id"] == "s-1", "load_kg_day"] = 50.0
    t = priority(net, ov, crossing_flux=flux, basin_area_km2=1000.0).table
    sec = t[t["kind"] == "section"].set_index("crossing_id")
    assert sec.loc["s-1", "score"] > sec.loc["s-0", "score"]
    assert sec.loc["s-1", "rank"] == 3
    assert sec.loc["s-1", "class"] == "low"
    # a threshold below its area makes it a major crossing again
    t2 = priority(
        net, ov, crossing_flux=flux, settings=PrioritySection(minor_upstream_area_km2=0.5)
    ).table
    assert not t2[t2["crossing_id"] == "s-1"]["minor"].iloc[0]


def test_errors():
    net, ov = toy()
    with pytest.raises(InputError, match=r"level\(s\) \['t'\] are not overlay levels"):
        priority(net, ov, levels=["t"])
    dup = pd.DataFrame({"crossing_id": ["s-0", "s-0"], "has_station": [True, False]})
    with pytest.raises(InputError, match=r"repeats crossing ids \['s-0'\]"):
        priority(net, ov, sections=dup)
    neg = pd.DataFrame({"crossing_id": ["s-0"], "exceedance_ratio": [-1.0]})
    with pytest.raises(InputError, match="exceedance_ratio must be >= 0"):
        priority(net, ov, sections=neg)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['crossing_id'\]"):
        priority(net, ov, sections=pd.DataFrame({"id": ["s-0"]}))
    x = pd.DataFrame({"x_transboundary_load": [1.0]})
    with pytest.raises(InputError, match=r"unknown priority indicator\(s\) \['beauty'\]"):
        score(x, {"beauty": 1.0})
    with pytest.raises(InputError, match="must be >= 0 and not all zero"):
        score(x, {"transboundary_load": 0.0})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "high"])
def test_score_refuses_weights_that_are_not_finite_numbers(bad):
    # a NaN weight passed the checks and made every score 0 (the other weights ignored);
    # an infinite one made every score NaN; text raised a TypeError
    x = pd.DataFrame({"x_transboundary_load": [1.0, 0.5], "x_exceedance": [0.2, 1.0]})
    with pytest.raises(InputError, match=r"must be >= 0 and not all zero \(finite numbers\)"):
        score(x, {"transboundary_load": 1.0, "exceedance": bad})


def _downstream_by_sets(idx_ds, pieces, crossings, level):
    """Count downstream jurisdictions by plain set unions (the reference walk)."""
    rp = pieces["reach_pos"].to_numpy()
    fs = pieces["fraction_start"].to_numpy()
    jur = pieces[f"jur_{level}"].to_numpy()
    out = {}
    for cid, a, b, f in crossings[["crossing_id", "reach_id", "to_reach_id", "fraction"]].values:
        if a == b:
            s = {j for r, ff, j in zip(rp, fs, jur, strict=True) if r == a and ff >= f - 1e-9}
            r = idx_ds[a]
        else:
            s, r = set(), b
        while r >= 0:
            s |= {j for rr, j in zip(rp, jur, strict=True) if rr == r}
            r = idx_ds[r]
        out[cid] = len(s - {""})
    return out


def test_downstream_jurisdictions_equal_set_unions_random():
    # random trees (reach ids = positions), pieces with random jurisdictions (some outside),
    # crossings inside reaches and between reaches
    from types import SimpleNamespace

    rng = np.random.default_rng(11)
    for _ in range(20):
        n = int(rng.integers(1, 60))
        idx_ds = np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)])
        idx_ds[rng.random(n) < 0.05] = -1  # several outlets
        net = SimpleNamespace(
            reaches=pd.DataFrame({"reach_id": np.arange(n)}),
            idx_ds=idx_ds,
            order=np.arange(n)[::-1],
        )
        k = rng.integers(1, 4, n)
        rp = np.repeat(np.arange(n), k)
        fs = np.concatenate([np.sort(rng.random(m)) * (np.arange(m) > 0) for m in k])
        jur = rng.choice(["A", "B", "C", "D", ""], rp.size)
        pieces = pd.DataFrame({"reach_pos": rp, "fraction_start": fs, "jur_x": jur})
        m = int(rng.integers(1, 15))
        a = rng.integers(0, n, m)
        inside = rng.random(m) < 0.5
        b = np.where(inside, a, np.maximum(idx_ds[a], 0))
        b = np.where(inside | (idx_ds[a] >= 0), b, a)
        cr = pd.DataFrame(
            {"crossing_id": [f"x-{i}" for i in range(m)], "level_name": "x", "reach_id": a,
             "to_reach_id": b, "fraction": np.where(a == b, rng.random(m), 1.0)}
        )  # fmt: skip
        got = downstream_jurisdictions(net, pieces, cr).to_dict()
        assert got == _downstream_by_sets(idx_ds, pieces, cr, "x")


def test_rest_of_reach_matches_a_loop_per_point():
    from basingov.priority import _rest_of_reach

    rng = np.random.default_rng(11)
    rp = rng.integers(0, 30, 400)
    fs = rng.choice([0.0, 0.25, 0.5, 0.5 + 1e-10, 0.75], rp.size)
    codes = rng.integers(-1, 6, rp.size)
    reach = rng.integers(0, 32, 200)  # some reaches without pieces
    frac = rng.choice([0.0, 0.25, 0.5, 0.6, 1.0], reach.size)
    node, ptr, got = _rest_of_reach(rp, fs, codes, reach, frac)
    assert node.tolist() == reach.tolist()
    for k in range(reach.size):
        on = np.flatnonzero(rp == reach[k])
        ref = np.unique(codes[on[(fs[on] >= frac[k] - 1e-9) & (codes[on] >= 0)]])
        assert got[ptr[k] : ptr[k + 1]].tolist() == ref.tolist(), k


@pytest.mark.parametrize("nb", [1, 7, 5000])
def test_unique_pairs_match_numpy_unique_on_axis(nb):
    from basingov.priority import _unique_pairs

    rng = np.random.default_rng(nb)
    a = rng.integers(0, 3000, 20_000)
    b = rng.integers(0, nb, a.size)
    want = np.unique(np.stack([a, b]), axis=1)
    got = _unique_pairs(a, b, nb)
    assert got.dtype == want.dtype
    assert np.array_equal(got, want)
    assert want.shape[1] < a.size  # repeated pairs were dropped


def _pair_rows_plain(cr: pd.DataFrame) -> pd.DataFrame:
    """One row per (level, from, to) pair the straightforward way: a pandas group each."""
    import shapely

    rows = []
    for (lv, a, b), g in cr.groupby(["level_name", "from_jur", "to_jur"], sort=False):
        m = g.index[int(np.argmax(np.nan_to_num(g["upstream_area_km2"].to_numpy(), nan=0.0)))]
        # np.sum of the values present (pairwise summation), NaN when there are none
        load, own = (
            np.nansum(g[c]) if g[c].notna().any() else np.nan for c in ("load_kg_day", "own_load")
        )
        st = [v for v in g["has_station"] if not pd.isna(v)]
        origins = sorted(set().union(*map(set, g["_origins"])))
        rows.append(
            {
                "kind": "pair",
                "level_name": lv,
                "section_or_pair": f"pair {a}->{b}",
                "crossing_id": ";".join(g["crossing_id"]),
                "from_jur": a,
                "to_jur": b,
                "from_name": cr.at[m, "from_name"],
                "to_name": cr.at[m, "to_name"],
                "n_sections": len(g),
                "lon": cr.at[m, "lon"],
                "lat": cr.at[m, "lat"],
                "upstream_area_km2": g["upstream_area_km2"].max(),
                "discharge_m3s": g["discharge_m3s"].max(),
                "minor": bool(g["minor"].all()),
                "load_kg_day": load,
                "own_share": own / load if load > 0 else np.nan,
                "exceedance_ratio": g["exceedance_ratio"].max(),
                "has_station": any(bool(v) for v in st) if st else None,
                "downstream_jurisdictions": g["downstream_jurisdictions"].max(),
                "origins": ";".join(origins),
                "n_jurisdictions": len(set(origins) | {a, b}),
                "geometry": (
                    cr.at[m, "geometry"] if len(g) == 1 else shapely.multipoints(list(g.geometry))
                ),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1])
def test_pair_rows_match_a_groupby_per_pair(seed):
    """Sums, maxima, the leading section and the station flag of every pair, bit for bit."""
    import shapely

    from basingov.priority import _pair_rows

    rng = np.random.default_rng(seed)
    n = 3000
    jur = [f"J{i}" for i in range(25)]
    # small pairs, and one of 400 sections (numpy's pairwise sums start at 8 values)
    a = np.where(np.arange(n) < 400, "J0", rng.choice(jur, n))
    b = np.where(np.arange(n) < 400, "J1", rng.choice(jur, n))
    perm = rng.permutation(n)

    def vals(nan_share: float) -> np.ndarray:
        v = rng.lognormal(0, 3, n)
        v[rng.random(n) < nan_share] = np.nan
        return v

    cr = pd.DataFrame(
        {
            "level_name": rng.choice(["country", "state"], n),
            "from_jur": a[perm],
            "to_jur": b[perm],
            "crossing_id": [f"c-{i}" for i in range(n)],
            "load_kg_day": vals(0.3),
            "own_load": vals(0.3),
            "exceedance_ratio": vals(0.6),
            "upstream_area_km2": np.round(vals(0.2), 1),  # ties for the leading section
            "discharge_m3s": vals(0.2),
            "downstream_jurisdictions": rng.integers(0, 5, n).astype(float),
            "minor": rng.random(n) < 0.7,
            "has_station": pd.Series(rng.choice([True, False, None], n), dtype=object),
            "_origins": [
                sorted(rng.choice(jur, rng.integers(0, 3), replace=False)) for _ in range(n)
            ],
            "from_name": [f"from {i}" for i in range(n)],
            "to_name": [f"to {i}" for i in range(n)],
            "lon": rng.uniform(5, 10, n),
            "lat": rng.uniform(45, 50, n),
        }
    )
    cr["geometry"] = shapely.points(cr["lon"], cr["lat"])
    got, want = _pair_rows(cr), _pair_rows_plain(cr)
    pd.testing.assert_frame_equal(
        got.drop(columns="geometry"), want.drop(columns="geometry"), check_exact=True
    )
    assert shapely.to_wkb(got["geometry"]).tolist() == shapely.to_wkb(want["geometry"]).tolist()
    assert got["has_station"].isna().any()
    assert (got["n_sections"] == 1).any()


def test_records_equal_to_dict_records_value_for_value():
    """The same Python values and types as to_dict("records"), missing values included."""
    from basingov.priority import _records

    rng = np.random.default_rng(5)
    n = 500
    names = pd.Series(rng.choice(["Aa", "Bb", "Cc"], n))
    names[rng.random(n) < 0.2] = None
    t = pd.DataFrame(
        {
            "name": names.astype("str"),
            "load": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
            "minor": rng.random(n) < 0.5,
            "count": rng.integers(0, 9, n),
            "has": pd.Series(rng.choice([True, False, None, np.True_, np.float64(2.5)], n)),
        }
    )
    cols = ["name", "has", "load", "minor", "count"]
    got, want = _records(t, cols), t[cols].to_dict("records")
    # repr: keys in order, floats to the last bit, nan and None told apart
    assert repr(got) == repr(want)
    assert [[type(v) for v in r.values()] for r in got] == [
        [type(v) for v in r.values()] for r in want
    ]
    assert {type(r["has"]) for r in got} == {bool, float, type(None)}


def _stem(ids, frm, to, km, *, level="lad", main=1):
    return pd.DataFrame(
        {"crossing_id": ids, "level_name": level, "from_jur": frm, "to_jur": to,
         "from_name": [f"n{x}" for x in frm], "to_name": [f"n{x}" for x in to],
         "on_main_stem": main, "distance_to_outlet_km": km}
    )  # fmt: skip


def test_back_and_forth_names_a_main_stem_that_crosses_a_border_back():
    # E -> R at 7.6 km, back at 4.2 km, again at 2.7 km (the Thames below Hampton); a
    # fourth crossing R -> K further down is another border
    cr = _stem(["c1", "c2", "c3", "c4"], ["E", "R", "E", "R"], ["R", "E", "R", "K"],
               [7.6, 4.2, 2.7, 1.0])  # fmt: skip
    got = back_and_forth(cr)
    assert set(got) == {"c1", "c2", "c3"}
    assert got["c1"] == (
        "The main stem crosses back into nE 3.4 km downstream (c2): if the river runs along "
        "the nE | nR border here, these crossings are one border stretch, not separate "
        "places to act."
    )
    assert got["c2"].startswith(
        "The main stem crossed from nE into nR 3.4 km upstream (c1) and crosses back into "
        "nR 1.5 km downstream (c3):"
    )
    assert "crossed from nR into nE 1.5 km upstream (c2)" in got["c3"]


def test_back_and_forth_keeps_to_one_level_the_main_stem_and_the_distance():
    far = _stem(["a", "b"], ["E", "R"], ["R", "E"], [20.0, 14.9])  # 5.1 km apart
    assert back_and_forth(far) == {}
    assert set(back_and_forth(far, within_km=6.0)) == {"a", "b"}
    levels = pd.concat([_stem(["a"], ["E"], ["R"], [7.0]),
                        _stem(["b"], ["R"], ["E"], [6.0], level="nuts3")])  # fmt: skip
    assert back_and_forth(levels) == {}
    tributary = _stem(["a", "b"], ["E", "R"], ["R", "E"], [7.0, 6.0], main=[1, 0])
    assert back_and_forth(tributary) == {}
    same_way = _stem(["a", "b"], ["E", "E"], ["R", "R"], [7.0, 6.0])
    assert back_and_forth(same_way) == {}
    assert back_and_forth(far.drop(columns="on_main_stem")) == {}  # nothing to go by


def test_back_and_forth_with_the_network_pairs_crossings_on_any_river():
    """With the network, a tributary's crossings pair too, but only down the same river.

    Reaches 1 and 2 (4 km each) join in 3 (4 km), which flows into 4. A tributary
    crosses E -> R on reach 1 and back R -> E on reach 3 below the confluence: one
    river, 3 km apart. Reach 2's crossing R -> E is as near but on the other branch.
    """
    lines = {1: (3, [(0, 8000), (0, 4000)]), 2: (3, [(4000, 8000), (0, 4000)]),
             3: (4, [(0, 4000), (0, 0)]), 4: (-1, [(0, 0), (0, -4000)])}  # fmt: skip
    net = network_from_table(
        reach_table(lines, local_area_km2=[1.0] * 4).assign(length_km=[4.0, 5.66, 4.0, 4.0])
    )
    cr = _stem(["t", "o", "d"], ["E", "R", "R"], ["R", "E", "E"], [9.0, 8.5, 6.0], main=0)
    cr["reach_id"] = [1, 2, 3]
    assert back_and_forth(cr) == {}  # without the network: main stems only
    got = back_and_forth(cr, net=net)
    assert set(got) == {"t", "d"}  # not o: reach 2 is another branch, not below reach 1
    assert got["t"] == (
        "The river crosses back into nE 3.0 km downstream (d): if the river runs along the "
        "nE | nR border here, these crossings are one border stretch, not separate places "
        "to act."
    )
    # the other branch: E -> R on reach 2 and R -> E on reach 1 are on two rivers
    two = _stem(["x", "y"], ["E", "R"], ["R", "E"], [9.0, 8.0], main=0).assign(reach_id=[2, 1])
    assert back_and_forth(two, net=net) == {}
    # small streams are left out: their reason says they are no priority
    assert back_and_forth(cr.assign(minor=[True, False, False]), net=net) == {}
    # and the distance is along the river, up to within_km
    assert back_and_forth(cr, net=net, within_km=2.5) == {}
    # a crossing without a reach (a table read back from a file) pairs with none
    gap = back_and_forth(cr.assign(reach_id=[1.0, np.nan, 3.0]), net=net)
    assert set(gap) == {"t", "d"}


def test_priority_reasons_name_the_crossings_back_and_forth():
    # the toy's main river A -> B at s-0 and a crossing back B -> A 2 km further down
    net, ov = toy()
    cr = ov.crossings.copy()
    cr["on_main_stem"] = [1, 0, 1]
    cr["distance_to_outlet_km"] = [10.0, 12.0, 8.0]
    cr.loc[2, ["to_jur", "to_name"]] = ["A", "Aa"]
    ov = SimpleNamespace(**{**vars(ov), "crossings": cr})
    sec = priority(net, ov, crossing_flux=FLUX).table.set_index("section_or_pair")
    assert sec.loc["section s-0", "reason"].endswith(
        ". The main stem crosses back into Aa 2.0 km downstream (s-2): if the river runs "
        "along the Aa | Bb border here, these crossings are one border stretch, not separate "
        "places to act."
    )
    assert "crossed from Aa into Bb 2.0 km upstream (s-0)" in sec.loc["section s-2", "reason"]
    assert "The main stem" not in sec.loc["section s-1", "reason"]
    pairs = sec[sec["kind"] == "pair"]
    assert not pairs["reason"].str.contains("The main stem").any()
