"""Station-period classes, published section classes, the section table and the monitoring gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basingov.errors import InputError
from basingov.monitoring import (
    match_sections,
    monitoring_gap,
    period_classes,
    published_classes,
    section_table,
    snap_stations,
)


def obs(rows):
    df = pd.DataFrame(rows, columns=["station_id", "time", "parameter", "value", "unit"])
    df["time"] = pd.to_datetime(df["time"])
    df["flag"] = ""
    return df


def test_worst_parameter_of_period_means_sets_the_class():
    o = obs(
        [
            # 2019: NH3-N mean (0.4 + 1.8) / 2 = 1.1 -> IV; DO mean 5.5 -> III; TP 0.15 -> III
            ("S", "2019-03-01", "NH3-N", 0.4, "mg/L N"),
            ("S", "2019-09-01", "NH3-N", 1.8, "mg/L N"),
            ("S", "2019-03-01", "DO", 5.0, "mg/L"),
            ("S", "2019-09-01", "DO", 6.0, "mg/L"),
            ("S", "2019-03-01", "TP", 0.15, "mg/L P"),
            # 2020: every parameter on its class II limit -> II
            ("S", "2020-03-01", "NH3-N", 0.5, "mg/L N"),
            ("S", "2020-03-01", "DO", 6.0, "mg/L"),
            ("S", "2020-03-01", "TP", 0.1, "mg/L P"),
            # TN has no river limit in GB 3838: ignored for a river station
            ("S", "2020-03-01", "TN", 9.0, "mg/L N"),
            # a flagged implausible value is not used
            ("S", "2020-06-01", "TP", 9.0, "mg/L P"),
        ]
    )
    o.loc[o.index[-1], "flag"] = "implausible_in_source"
    classes, params = period_classes(o, {})
    assert classes["period"].tolist() == ["2019", "2020"]
    assert classes["class"].tolist() == ["IV", "II"]
    assert classes["worst_parameters"].tolist() == ["NH3-N", "DO|NH3-N|TP"]
    p19 = params[params["period"] == "2019"].set_index("parameter")
    assert p19.loc["NH3-N", "value"] == pytest.approx(1.1)
    # exceedance ratio against class III (NH3-N <= 1.0; DO >= 5 inverted): 1.1 and 5/5.5
    assert p19.loc["NH3-N", "exceedance_ratio"] == pytest.approx(1.1)
    assert p19.loc["DO", "exceedance_ratio"] == pytest.approx(5 / 5.5)
    # one of two NH3-N samples is outside class III
    assert p19.loc["NH3-N", "exceedance_rate"] == pytest.approx(0.5)
    assert classes["max_exceedance_parameter"].tolist()[0] == "NH3-N"
    assert "TN" not in set(params["parameter"])
    assert params.loc[params["period"] == "2020", "n_samples"].tolist() == [1, 1, 1]


def test_lake_stations_use_lake_limits_and_tn():
    # the Taihu bulletin's lake-wide means for 2011-10: CODMn 4.64 (III), NH3-N 0.10 (I),
    # TP 0.053 (lake: IV, 0.05 < 0.053 <= 0.1), TN 1.15 (lake: IV, 1.0 < 1.15 <= 1.5)
    o = obs(
        [
            ("L", "2011-10-01", "CODMn", 4.64, "mg/L"),
            ("L", "2011-10-01", "NH3-N", 0.10, "mg/L N"),
            ("L", "2011-10-01", "TP", 0.053, "mg/L P"),
            ("L", "2011-10-01", "TN", 1.15, "mg/L N"),
        ]
    )
    classes, params = period_classes(o, {"L": "lake"}, period="month")
    assert params.set_index("parameter")["class"].to_dict() == {
        "CODMn": "III", "NH3-N": "I", "TN": "IV", "TP": "IV"}  # fmt: skip
    assert classes[["period", "class", "worst_parameters"]].values.tolist() == [
        ["2011-10", "IV", "TN|TP"]
    ]
    # as a river, TP 0.053 is class II and TN is not assessed
    classes, _ = period_classes(o, {}, period="month")
    assert classes["class"].tolist() == ["III"]


def test_classification_options_are_checked():
    o = obs([("S", "2020-01-01", "TP", 0.1, "mg/L P")])
    with pytest.raises(InputError, match=r"target class 'VI' is not a class of GB3838-2002"):
        period_classes(o, {}, target_class="VI")
    with pytest.raises(InputError, match=r"period must be one of \['year', 'month'\]"):
        period_classes(o, {}, period="week")  # type: ignore[arg-type]
    # any water body but "lake" was taken for a river: "Lake" got the river limits
    with pytest.raises(
        InputError,
        match=r"water_body of station 'S' must be one of \['river', 'lake'\], got 'Lake'",
    ):
        period_classes(o, {"S": "Lake"})


def test_published_classes_keep_their_own_history():
    o = obs(
        [
            ("T1", "2016-12-01", "class_GB3838", 6.0, "class"),
            ("T1", "2011-10-01", "class_GB3838", 3.0, "class"),
            ("T2", "2017-06-01", "class_GB3838", 2.0, "class"),
        ]
    )
    p = published_classes(o)
    assert p[["station_id", "period", "class"]].values.tolist() == [
        ["T1", "2011-10", "III"],
        ["T1", "2016-12", "worse than V"],
        ["T2", "2017-06", "II"],
    ]
    assert set(p["class_source"]) == {"published"}
    bad = obs([("T1", "2016-12-01", "class_GB3838", 7.0, "class")])
    with pytest.raises(
        InputError, match=r"must be a class rank 1\.\.6 \(1 = I, .* 6 = worse than V\)"
    ):
        published_classes(bad)


def test_section_table_and_gap(y_basin, make_stations):
    st = make_stations({"U": (18500, 0), "FAR": (2000, 0), "P": None}, boundary=["", "", "W-E"])
    st["is_proxy"] = False
    snapped = snap_stations(
        st, y_basin.net, y_basin.overlay.pieces, levels=["country"], max_distance_m=500,
        on_unsnapped="ignore",
    )  # fmt: skip
    m = match_sections(snapped, y_basin.overlay.crossings, y_basin.net, tolerance_m=2000)
    o = obs(
        [
            ("U", "2019-01-01", "TP", 0.25, "mg/L P"),
            ("U", "2020-01-01", "TP", 0.05, "mg/L P"),
            ("P", "2018-06-01", "class_GB3838", 5.0, "class"),
        ]
    )
    computed, _ = period_classes(o, {})
    classes = pd.concat([computed, published_classes(o)], ignore_index=True)
    trends = pd.DataFrame(columns=["station_id", "tested", "trend", "p_value"])
    sec = section_table(snapped, m, y_basin.overlay.crossings, classes, trends)
    assert sec["section_id"].tolist() == ["country-0/U", "P"]
    u, p = sec.iloc[0], sec.iloc[1]
    assert (u["latest_class"], u["worst_class"], u["best_class"], u["n_periods"]) == (
        "II", "IV", "II", 2)  # fmt: skip
    assert u["geometry"].equals(y_basin.overlay.crossings.geometry.iloc[0])
    assert u["record"] == "crossing with station"
    # a published section that matched no crossing keeps its class history, without a point
    assert (p["crossing_id"], p["latest_class"], p["boundary"]) == ("", "V", "W-E")
    assert p["geometry"] is None
    assert p["record"] == "published section (no crossing matched)"
    gap = monitoring_gap(y_basin.overlay.crossings, m, levels=["country"], stations_with_data={"U"})
    assert gap == {"country": {"crossings": 1, "with_station": 1, "share_with_station": 1.0}}
    # a station with flow only does not close the gap
    gap = monitoring_gap(y_basin.overlay.crossings, m, levels=["country"], stations_with_data=set())
    assert gap["country"]["share_with_station"] == 0.0
    assert np.isnan(sec["along_river_m"].iloc[1])


def test_class_summary_takes_each_stations_first_tested_trend():
    # the class trend and its p-value are those of the station's first tested row, as a
    # filter of the trend table per station gives them
    from basingov.monitoring.sections import _class_summary, _class_trend_words

    classes = pd.DataFrame(
        {
            "station_id": ["a", "a", "b", "c", "c"],
            "period_start": pd.to_datetime(["2001", "2000", "2000", "2000", "2001"]),
            "period": ["2001", "2000", "2000", "2000", "2001"],
            "class": ["good", "bad", "good", "moderate", "good"],
            "class_rank": [2, 5, 2, 3, 2],
            "class_source": ["computed", "published", "computed", "computed", "computed"],
            "worst_parameters": ["P", "N", "", "P", "N"],
            "max_exceedance_ratio": [1.0, 2.0, 0.5, 1.5, 0.8],
        }
    )
    trends = pd.DataFrame(
        {
            "station_id": ["a", "a", "b", "c", "c"],
            "tested": [False, True, False, True, True],
            "trend": ["", "increasing", "", "decreasing", "increasing"],
            "p_value": [np.nan, 0.01, np.nan, 0.2, 0.03],
        }
    )
    got = _class_summary(classes, trends).set_index("station_id")
    for sid in ("a", "b", "c"):
        t = trends[(trends["station_id"] == sid) & trends["tested"]]
        want = _class_trend_words(str(t["trend"].iloc[0])) if len(t) else "not tested"
        assert got.loc[sid, "class_trend"] == want
        p = float(t["p_value"].iloc[0]) if len(t) else np.nan
        np.testing.assert_equal(got.loc[sid, "class_trend_p"], p)
    assert got["class_trend"].tolist() == ["worsening", "not tested", "improving"]
    assert got.loc["a", "latest_class"] == "good"
    assert got.loc["a", "class_source"] == "computed|published"


@pytest.mark.parametrize("statistic", ["mean", "min", "p10"])
def test_group_stat_equals_stat_of_each_group(statistic):
    # the per-group statistic without a Series per group: _stat's numbers bit for bit
    from basingov.monitoring.sections import _group_stat, _stat

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 40, 3000)
    df = pd.DataFrame({"k": keys, "v": rng.lognormal(size=3000) * 1e-3 + 1.0 / 3.0})
    grouped = df.groupby("k", sort=True)
    got = _group_stat(df["v"].to_numpy(np.float64), grouped.ngroup(), statistic)
    want = grouped["v"].agg(lambda v: _stat(v, statistic)).to_numpy()
    np.testing.assert_array_equal(got, want)


def _worst_row_by_row(params, labels, standard, period):
    """Plain reference of period_classes' classes: a groupby loop over station-periods."""
    rows = []
    for (sid, per), g in params.groupby(["station_id", "period"], sort=True):
        worst = int(g["class_rank"].max())
        ex = g["exceedance_ratio"].to_numpy(dtype=np.float64)
        has_ex = np.isfinite(ex)
        imax = int(np.nanargmax(np.where(has_ex, ex, -np.inf))) if has_ex.any() else -1
        rows.append(
            {
                "station_id": sid,
                "period": per,
                "period_start": pd.Timestamp(str(per) if period == "month" else f"{per}-01"),
                "class": labels[worst - 1],
                "class_rank": worst,
                "worst_parameters": "|".join(g.loc[g["class_rank"] == worst, "parameter"]),
                "max_exceedance_ratio": float(ex[imax]) if imax >= 0 else np.nan,
                "max_exceedance_parameter": str(g["parameter"].iloc[imax]) if imax >= 0 else "",
                "n_parameters": len(g),
                "standard": standard,
                "class_source": "period statistics",
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("period", ["year", "month"])
def test_worst_class_of_each_period_equals_a_groupby_loop(period):
    # ties of classes and of ratios, missing and infinite ratios, one-parameter periods
    from basingov.monitoring.sections import _worst_of_periods

    rng = np.random.default_rng(3)
    n = 400
    labels = ["I", "II", "III", "IV", "V", "worse than V"]
    per = rng.choice(["2019", "2020", "2021"] if period == "year" else ["2020-01", "2020-02"], n)
    params = pd.DataFrame(
        {
            "station_id": rng.choice([f"S{i}" for i in range(90)], n),
            "period": per,
            "parameter": rng.choice(["DO", "NH3-N", "TP", "COD", "BOD5", "CODMn"], n),
            "class_rank": rng.integers(1, 7, n),
            "exceedance_ratio": rng.choice([np.nan, np.inf, -np.inf, 0.5, 1.25, 2.0, 3.5], n),
        }
    )
    params = params.drop_duplicates(["station_id", "period", "parameter"])
    params = params.sort_values(["station_id", "period", "parameter"]).reset_index(drop=True)
    got = _worst_of_periods(params, labels, standard="GB3838-2002", period=period)
    want = _worst_row_by_row(params, labels, "GB3838-2002", period)
    assert (got["n_parameters"] == 1).any()
    assert got["worst_parameters"].str.contains("|", regex=False).any()
    assert (got["max_exceedance_parameter"] == "").any()
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("period", ["year", "month"])
def test_period_label_equals_strftime(period):
    # period_label formats each distinct time once; the Series of dt.strftime
    from basingov.monitoring.sections import period_label

    rng = np.random.default_rng(5)
    days = pd.to_datetime("2001-01-01") + pd.to_timedelta(rng.integers(0, 9000, 500), "D")
    t = pd.Series(days, index=rng.permutation(500) * 3, name="time")
    t.iloc[::7] = pd.NaT
    want = t.dt.strftime("%Y-%m" if period == "month" else "%Y")
    pd.testing.assert_series_equal(period_label(t, period), want)
    pd.testing.assert_series_equal(period_label(t.dt.tz_localize("UTC"), period), want)
