"""Mass balance between consecutive stations: closure on its own inputs, attribution, load table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basingov.errors import BasingovWarning, InputError
from basingov.monitoring import mass_balance, snap_stations, station_load_table


def sampled(rows):
    """Rows (station, time, TP mg/L, Q m3/s) -> long observations."""
    out = []
    for sid, t, c, q in rows:
        out.append((sid, t, "TP", c, "mg/L P"))
        out.append((sid, t, "Q", q, "m3/s"))
    df = pd.DataFrame(out, columns=["station_id", "time", "parameter", "value", "unit"])
    df["time"] = pd.to_datetime(df["time"])
    df["flag"] = ""
    return df


@pytest.fixture
def balance(y_basin, make_stations):
    # A half way down the west tributary, B half way down the north one, D on reach 3 at
    # x = 25 km (east of the W/E border at x = 20 km)
    st = make_stations({"A": (5000, 0), "B": (10000, 5000), "D": (25000, 0)})
    st["is_proxy"] = False
    snapped = snap_stations(
        st, y_basin.net, y_basin.overlay.pieces, levels=["country"], max_distance_m=100
    )
    obs = sampled(
        [
            # 2020: A 0.1 x 10, B 0.2 x 5 -> 86.4 kg/day each; D 0.15 x 20 -> 259.2 kg/day
            ("A", "2020-05-01", 0.1, 10.0),
            ("B", "2020-05-01", 0.2, 5.0),
            ("D", "2020-05-01", 0.15, 20.0),
            # 2021: D carries less than A + B (a net loss between them)
            ("A", "2021-05-01", 0.1, 10.0),
            ("B", "2021-05-01", 0.2, 5.0),
            ("D", "2021-05-01", 0.05, 20.0),
        ]
    )
    loads = station_load_table(obs)
    return (
        y_basin,
        snapped,
        mass_balance(y_basin.net, y_basin.overlay.pieces, snapped, loads, levels=["country"]),
    )


def test_increments_close_on_the_station_loads(balance):
    _, _, mb = balance
    inc = mb.increments.set_index(["period", "station_id"])
    d20 = inc.loc[("2020", "D")]
    assert d20["upstream_stations"] == "A|B"
    assert d20["load_kg_day"] == pytest.approx(0.15 * 20 * 86.4)
    assert d20["upstream_load_kg_day"] == pytest.approx(2 * 86.4)
    assert d20["increment_kg_day"] == pytest.approx(259.2 - 172.8)
    # headwater stations: the increment is the whole load
    assert inc.loc[("2020", "A"), "increment_kg_day"] == pytest.approx(86.4)
    assert inc.loc[("2020", "A"), "downstream_station"] == "D"
    # every period: load = upstream load + increment, and the increments add up to the
    # load leaving the last station (telescoping sum)
    t = mb.increments
    assert (t["load_kg_day"] - t["upstream_load_kg_day"] - t["increment_kg_day"]).abs().max() < 1e-9
    for per, g in t.groupby("period"):
        last = g.loc[g["downstream_station"] == "", "load_kg_day"].sum()
        assert g["increment_kg_day"].sum() == pytest.approx(last), per
    assert inc.loc[("2021", "D"), "increment_kg_day"] == pytest.approx(86.4 - 172.8)


def test_increments_are_attributed_by_river_length(balance):
    _, _, mb = balance
    att = mb.attribution[
        (mb.attribution["period"] == "2020") & (mb.attribution["station_id"] == "D")
    ]
    # between A, B and D: 5 km of each tributary and 10 km of reach 3 in W; 5 km in E
    got = att.set_index("jur_id")[["river_length_km", "share", "increment_kg_day"]]
    assert got.loc["W", "river_length_km"] == pytest.approx(20.0)
    assert got.loc["E", "river_length_km"] == pytest.approx(5.0)
    assert got["share"].sum() == pytest.approx(1.0)
    assert got.loc["E", "increment_kg_day"] == pytest.approx(86.4 * 0.2)
    # the attribution of every increment adds back up to it
    a = mb.attribution.groupby(["station_id", "period"])["increment_kg_day"].sum()
    i = mb.increments.set_index(["station_id", "period"])["increment_kg_day"]
    pd.testing.assert_series_equal(a.sort_index(), i.loc[a.index].sort_index(), check_names=False)
    assert mb.increments.set_index(["period", "station_id"]).loc[("2020", "D"), "river_length_km"] \
        == pytest.approx(25.0)  # fmt: skip


def test_attribution_is_each_increment_times_the_share_in_order(balance):
    # both periods have the same stations (one set of shares reused): each row's
    # increment is its own period's, as a merge of the tables gives it, row for row
    _, _, mb = balance
    att = mb.attribution
    assert list(att.columns) == [
        "station_id", "parameter", "period", "level_name", "jur_id", "name",
        "river_length_km", "share", "increment_kg_day",
    ]  # fmt: skip
    assert att["period"].tolist() == sorted(att["period"])
    inc = mb.increments[["station_id", "parameter", "period", "increment_kg_day"]]
    ref = att.drop(columns="increment_kg_day").merge(
        inc, on=["station_id", "parameter", "period"], how="left"
    )
    expected = (ref["increment_kg_day"] * ref["share"]).tolist()
    assert att["increment_kg_day"].tolist() == expected
    assert att["increment_kg_day"].nunique() > 2


def test_load_table_feeds_spillover(balance):
    _, _, mb = balance
    lt = mb.load_table("TP", period="2020")
    assert set(lt["load_source"]) == {"monitoring"}
    assert lt["load_kg_day"].sum() == pytest.approx(
        mb.increments.query("period == '2020'")["increment_kg_day"].sum()
    )
    # the river below the last station carries none of it
    assert lt.groupby("station_id")["load_kg_day"].sum().to_dict() == pytest.approx(
        {"A": 86.4, "B": 86.4, "D": 86.4}
    )
    with pytest.warns(BasingovWarning, match=r"station\(s\) \['D'\] carry less load"):
        lt = mb.load_table("TP", period="2021")
    assert lt.loc[lt["station_id"] == "D", "load_kg_day"].sum() == 0.0
    with pytest.raises(InputError, match=r"no station loads for 'TN' in period 'all'"):
        mb.load_table("TN")
    cal = mb.calibration_observations("TP")
    assert cal["station_id"].tolist() == ["A", "B", "D"]
    assert cal["reach_id"].tolist() == [1, 2, 3]


def test_unconfirmed_proxies_are_left_out(y_basin, make_stations):
    st = make_stations({"A": (5000, 0), "D": (25000, 0)})
    st["location_status"] = ["nearby_gauge_proxy", "measured"]
    snapped = snap_stations(
        st, y_basin.net, y_basin.overlay.pieces, levels=["country"], max_distance_m=100
    )
    assert snapped["snap_checked"].tolist() == [False, True]
    obs = sampled([("A", "2020-05-01", 0.1, 10.0), ("D", "2020-05-01", 0.15, 20.0)])
    mb = mass_balance(y_basin.net, y_basin.overlay.pieces, snapped, station_load_table(obs),
                      levels=["country"])  # fmt: skip
    assert mb.excluded["station_id"].tolist() == ["A"]
    assert set(mb.increments["station_id"]) == {"D"}
    with pytest.raises(
        InputError, match=r"lacks column\(s\) \['snapped', 'reach_id', 'fraction'\]"
    ):
        mass_balance(y_basin.net, y_basin.overlay.pieces, st[["station_id"]], obs, levels=[])


def test_load_table_routes_through_spillover(balance):
    from basingov.spillover import spillover_tables

    y_basin, _, mb = balance
    lt = mb.load_table("TP", period="2020")
    sp = spillover_tables(
        y_basin.net, y_basin.overlay.piece_graph, lt,
        level_names=["country"],
    )  # fmt: skip
    bal = sp.balance.reset_index()
    # every increment enters the routing: generated = 3 x 86.4 kg/day, conserved
    assert bal["generated"].sum() == pytest.approx(3 * 86.4)
    assert (bal["relative_residual"].abs() < 1e-9).all()
    # the increments generated in W (A, B and 4/5 of D's) are the origin of what crosses into E
    s = sp.matrices["country"]
    assert s.loc["W"].sum() == pytest.approx(86.4 * 2 + 86.4 * 0.8)
    assert s.loc["W", "E"] > 0


@pytest.mark.parametrize("seed", range(5))
def test_member_loads_are_the_series_lookups(seed):
    # _member_loads looks loads up by position; before, a Series indexed by station
    from basingov.monitoring.massbalance import _member_loads, _sum_of

    rng = np.random.default_rng(seed)
    sids = [f"S{i}" for i in rng.permutation(12)]
    g = pd.DataFrame({"station_id": sids, "load_kg_day": rng.random(12) * 100})
    g.loc[rng.random(12) < 0.3, "load_kg_day"] = np.nan
    members = tuple(sorted(sids))
    ups = {d: sorted(rng.choice(sids, rng.integers(0, 5), replace=False).tolist())
           for d in members}  # fmt: skip
    load = g.set_index("station_id")["load_kg_day"]
    want_up = np.array([_sum_of(load, ups[d]) if ups[d] else 0.0 for d in members])
    want_own = load.loc[list(members)].to_numpy(dtype=np.float64)
    up, own = _member_loads(g, members, ups)
    np.testing.assert_array_equal(up, want_up)
    np.testing.assert_array_equal(own, want_own)


def _pandas_station_loads(observations, period):
    """station_load_table as a pandas groupby by the text columns (its reference)."""
    from basingov.loads import station_loads
    from basingov.monitoring.massbalance import LOAD_PARAMETERS
    from basingov.monitoring.sections import period_label
    from basingov.monitoring.units import not_used

    obs = observations[~not_used(observations)]
    q = obs[obs["parameter"] == "Q"].groupby(["station_id", "time"])["value"].mean()
    conc = obs[obs["parameter"].isin(LOAD_PARAMETERS) & obs["value"].notna()]
    pair = conc.join(q.rename("q"), on=["station_id", "time"], how="inner")
    pair = pair[pair["q"].notna() & (pair["q"] >= 0) & (pair["value"] >= 0)]
    pair = pair.assign(
        load=station_loads(pair["value"].to_numpy(), pair["q"].to_numpy()),
        period=period_label(pair["time"], period).to_numpy(),
    )
    out = []
    for key in (["station_id", "parameter", "period"], ["station_id", "parameter"]):
        agg = (
            pair.groupby(key, sort=True)
            .agg(
                load_kg_day=("load", "mean"),
                n_samples=("load", "size"),
                mean_flow_m3s=("q", "mean"),
            )
            .reset_index()
        )
        if "period" not in key:
            agg["period"] = "all"
        out.append(agg)
    res = pd.concat(out, ignore_index=True)
    res["flow_weighted_conc_mg_l"] = res["load_kg_day"] / (res["mean_flow_m3s"] * 86.4)
    cols = ["station_id", "parameter", "period", "load_kg_day", "n_samples", "mean_flow_m3s"]
    return res[[*cols, "flow_weighted_conc_mg_l"]].sort_values(cols[:3]).reset_index(drop=True)


@pytest.mark.parametrize(("seed", "period"), [(0, "year"), (1, "month"), (2, "year")])
def test_station_load_table_equals_pandas_groupby(make_observations, seed, period):
    # integer group labels and pandas' means over them: the same bits as the groupby by
    # station, parameter and period (values from 1e-6 to 1e6 make any other summation
    # order show); negative values and flagged rows are left out alike
    obs = make_observations(seed, n=6000)
    obs.loc[obs.index[::97], "value"] *= -1
    got = station_load_table(obs, period=period)
    assert len(got) > 50
    pd.testing.assert_frame_equal(got, _pandas_station_loads(obs, period), check_exact=True)
