"""Mann-Kendall trend tests with Sen's slope (pymannkendall), seasonal for sub-annual data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from basingov.errors import InputError
from basingov.monitoring import trend_test, trend_tests
from basingov.monitoring.trends import TREND_COLUMNS


def monthly(years, values_fn):
    t = pd.date_range(f"{years[0]}-01-15", f"{years[-1]}-12-15", freq="MS") + pd.Timedelta(days=14)
    return pd.Series(t), pd.Series([values_fn(ts) for ts in t])


def test_seasonal_test_finds_a_trend_under_a_strong_seasonal_cycle():
    # a seasonal swing of +-5 around a level rising 0.2 per year: the seasonal Sen's slope
    # (the median of same-month differences per year) is exactly 0.2 per year
    t, v = monthly(range(2005, 2015), lambda ts: 10 + 0.2 * (ts.year - 2005)
                   + 5 * np.sin(2 * np.pi * ts.month / 12))  # fmt: skip
    r = trend_test(t, v)
    assert r["method"] == "seasonal Mann-Kendall (period 12) on monthly means"
    assert r["trend"] == "increasing"
    assert r["p_value"] < 1e-6
    assert r["sen_slope_per_year"] == pytest.approx(0.2)
    # the same cycle without a trend: no trend
    t, v = monthly(range(2005, 2015), lambda ts: 10 + 5 * np.sin(2 * np.pi * ts.month / 12))
    r = trend_test(t, v)
    assert r["trend"] == "no trend"
    assert r["sen_slope_per_year"] == pytest.approx(0.0)


def test_weekly_samples_are_averaged_per_month():
    t = pd.Series(pd.date_range("2009-03-02", "2017-09-25", freq="7D"))
    v = pd.Series(1.0 - 0.05 * (t.dt.year - 2009) + 0.1 * (t.dt.month % 3))
    r = trend_test(t, v)
    assert r["trend"] == "decreasing"
    assert r["sen_slope_per_year"] == pytest.approx(-0.05)
    assert r["n_values"] == 103  # months 2009-03 .. 2017-09


def test_annual_values_use_the_original_test_and_keep_gaps_in_place():
    years = [2000, 2001, 2002, 2003, 2005, 2006, 2008, 2009, 2010]  # gaps in 2004 and 2007
    t = pd.Series(pd.to_datetime([f"{y}-01-01" for y in years]))
    v = pd.Series([3.0 * (y - 2000) for y in years])
    r = trend_test(t, v)
    assert r["method"] == "Mann-Kendall on annual means"
    assert r["sen_slope_per_year"] == pytest.approx(3.0)  # per calendar year despite gaps
    assert r["trend"] == "increasing"


def test_short_series_are_not_tested_and_say_why():
    t = pd.Series(pd.to_datetime(["2008-07-01", "2013-07-01", "2018-07-01"]))
    r = trend_test(t, pd.Series([1.0, 2.0, 3.0]))
    assert not r["tested"]
    assert r["method"] == "not tested: test on annual means needs >= 8 years with data, has 3"
    t, v = monthly([2015, 2016], lambda ts: ts.month)
    r = trend_test(t, v)
    assert r["method"].startswith("not tested: seasonal test needs >= 3 years")
    r = trend_test(t[:2], v[:2])
    assert r["method"] == "not tested: 2 value(s)"
    with pytest.raises(InputError, match=r"alpha must be in \(0, 1\)"):
        trend_test(t, v, alpha=2)


def test_unusable_series_raise_input_errors():
    # these raised raw numpy/pandas ValueErrors (broadcast shapes, date parsing, float())
    t = pd.Series(pd.date_range("2010-01-01", periods=24, freq="MS"))
    with pytest.raises(InputError, match=r"one time per value, got 24 time\(s\) and 20 value"):
        trend_test(t, np.ones(20))
    with pytest.raises(InputError, match="time must hold dates"):
        trend_test(["2020-01-01", "not a date", "2020-03-01"], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="value must hold numbers"):
        trend_test(t[:3], ["1", "a", "2"])


def test_trend_table_names_a_missing_column():
    # a KeyError: 'time' before
    o = pd.DataFrame({"station_id": ["S"], "parameter": ["TP"], "value": [0.1]})
    with pytest.raises(InputError, match=r"lacks column\(s\) \['time'\]"):
        trend_tests(o)


def test_trend_table_has_one_row_per_station_and_parameter():
    t, v = monthly(range(2010, 2014), lambda ts: ts.year + ts.month / 12)
    obs = pd.concat(
        [
            pd.DataFrame({"station_id": "A", "time": t, "parameter": "TP", "value": v,
                          "unit": "mg/L P"}),
            pd.DataFrame({"station_id": "B", "time": t[:5], "parameter": "TP", "value": v[:5],
                          "unit": "mg/L P"}),
        ]
    )  # fmt: skip
    out = trend_tests(obs)
    assert out[["station_id", "parameter", "tested"]].values.tolist() == [
        ["A", "TP", True], ["B", "TP", False]]  # fmt: skip
    assert out["unit"].tolist() == ["mg/L P", "mg/L P"]


def test_flagged_values_are_left_out_of_the_trends():
    # as the classes and the mass balance leave them out: a flagged -2.5 (the Thames SS
    # at TC8 in June 2009) entered the test
    t, v = monthly(range(2010, 2014), lambda ts: 1.0 + 0.1 * (ts.year - 2010))
    obs = pd.DataFrame({"station_id": "A", "time": t, "parameter": "SS", "value": v,
                        "unit": "mg/L", "flag": ""})  # fmt: skip
    clean = trend_tests(obs)
    bad = pd.DataFrame({"station_id": "A", "time": t[40:], "parameter": "SS", "value": -2.5,
                        "unit": "mg/L", "flag": "implausible_in_source"})  # fmt: skip
    out = trend_tests(pd.concat([obs, bad], ignore_index=True))
    pd.testing.assert_frame_equal(out, clean)
    assert out["n_values"].tolist() == [len(t)]


def _grids() -> list[np.ndarray]:
    """Monthly and annual grids: ties, gaps, months with one or no value, all equal."""
    rng = np.random.default_rng(7)
    out = []
    for size in (36, 48, 120, 8, 9, 15, 30):
        for kind in ("smooth", "ties", "gaps", "sparse"):
            x = rng.normal(size=size).cumsum() * 0.3 + rng.normal(size=size)
            if kind == "ties":
                x = np.round(x)
            if kind in ("gaps", "sparse"):
                x[rng.uniform(size=size) < (0.2 if kind == "gaps" else 0.6)] = np.nan
            out.append(x)
    x = np.full(36, 2.0)
    x[5] = np.nan
    out.append(x)  # no variation: s = 0
    x = np.arange(36, dtype=float)
    x[[0, 12, 24]] = np.nan  # a calendar month without any value
    out.append(x)
    return out


@pytest.mark.parametrize("grid", _grids())
def test_mann_kendall_equals_pymannkendall_bit_for_bit(grid):
    # the array code of trend_test gives pymannkendall's numbers exactly
    import warnings

    import pymannkendall as mk

    from basingov.monitoring.trends import _original_mk, _seasonal_mk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if grid.size % 12 == 0:
            ref = mk.seasonal_test(grid, period=12, alpha=0.05)
            got = _seasonal_mk(grid, 0.05)
        else:
            ref = mk.original_test(grid, alpha=0.05)
            got = _original_mk(grid, 0.05)
    want = [ref.trend, ref.p, ref.z, ref.Tau, ref.s, ref.var_s, ref.slope, ref.intercept]
    assert got.trend == want[0]
    np.testing.assert_array_equal(np.array(got[1:], dtype=float), np.array(want[1:], dtype=float))


def _trend_rows_one_by_one(obs):
    # the loop trend_tests ran before: trend_test on each series as it is
    t = pd.to_datetime(obs["time"]).to_numpy()
    v = obs["value"].to_numpy(dtype=np.float64)
    rows = []
    for (sid, param), idx in obs.groupby(["station_id", "parameter"], sort=True).indices.items():
        r = trend_test(t[idx], v[idx])
        rows.append({"station_id": sid, "parameter": param, "unit": str(obs["unit"].iloc[idx[0]]),
                     **r})  # fmt: skip
    return pd.DataFrame(rows, columns=TREND_COLUMNS)


@pytest.mark.parametrize("basin", ["thames", "tennessee"])
def test_trend_table_is_trend_test_of_each_series(basin):
    # trend_tests prepares the calendar of all rows at once and cuts each series from it
    from basingov.datasets import data_dir
    from basingov.monitoring import read_observations

    obs = read_observations(data_dir() / "monitoring" / f"{basin}_observations.csv")
    obs = obs[obs["flag"] != "implausible_in_source"]
    rng = np.random.default_rng(3)
    gaps = obs.assign(value=np.where(rng.random(len(obs)) < 0.1, np.nan, obs["value"]))
    gaps.loc[gaps.index[rng.random(len(gaps)) < 0.05], "time"] = pd.NaT
    for o in (obs, gaps):
        got = trend_tests(o)
        assert len(got) > 20
        pd.testing.assert_frame_equal(got, _trend_rows_one_by_one(o))


def test_nanmedian_is_numpys():
    from basingov.monitoring.trends import _nanmedian

    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 5, 6, 700):
        x = rng.random(n)
        x[rng.random(n) < 0.3] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # np.nanmedian of nothing but NaN
            want = float(np.nanmedian(x)) if n else np.nan
        assert _nanmedian(x) == want or (np.isnan(want) and np.isnan(_nanmedian(x)))
    assert np.isnan(_nanmedian(np.full(4, np.nan)))
