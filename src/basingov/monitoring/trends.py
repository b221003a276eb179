"""Mann-Kendall trend tests with Sen's slope (pymannkendall), seasonal where data are sub-annual.

The series of one station and parameter is tested as follows:

- sampled monthly or more often (median gap at most :data:`MONTHLY_MAX_GAP_DAYS`): monthly
  means on a January-December grid and the seasonal Mann-Kendall test of Hirsch & Slack
  (1984) with period 12, which compares each month only with the same month of other
  years, so the seasonal cycle is not mistaken for a trend; the seasonal Sen's slope is
  then per year;
- sampled less often: annual means and the original Mann-Kendall test; Sen's slope per
  year (missing years keep their place, so the slope is per calendar year).

Series too short for either (see :data:`MIN_YEARS_SEASONAL`, :data:`MIN_MONTHS_SEASONAL`,
:data:`MIN_YEARS_ANNUAL`) get a row saying why they were not tested.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import numpy as np
import pandas as pd
import pymannkendall as mk

from basingov.errors import InputError

__all__ = ["TREND_COLUMNS", "trend_test", "trend_tests"]

#: Largest median gap (days) between sampling dates for the seasonal (monthly) test.
MONTHLY_MAX_GAP_DAYS = 45.0
#: Fewest distinct years, and months with data, for the seasonal test.
MIN_YEARS_SEASONAL = 3
MIN_MONTHS_SEASONAL = 24
#: Fewest years with data for the test on annual means.
MIN_YEARS_ANNUAL = 8
#: Significance level of the tests.
ALPHA = 0.05

TREND_COLUMNS = [
    "station_id",
    "parameter",
    "unit",
    "tested",
    "method",
    "n_values",
    "n_years",
    "start",
    "end",
    "trend",
    "p_value",
    "z",
    "tau",
    "s",
    "var_s",
    "sen_slope_per_year",
    "intercept",
]


def trend_test(time: Any, value: Any, *, alpha: float = ALPHA) -> dict[str, object]:
    """Test one series for a monotonic trend.

    Parameters
    ----------
    time
        Sampling times.
    value
        Values (NaN ignored).
    alpha
        Significance level.

    Returns
    -------
    dict
        The :data:`TREND_COLUMNS` fields other than ``station_id, parameter, unit``;
        ``tested`` False with the reason in ``method`` when the series is too short.

    Examples
    --------
    Ten annual values rising by 0.5 per year:

    >>> t = pd.Series(pd.to_datetime([f"{y}-07-01" for y in range(2000, 2010)]))
    >>> r = trend_test(t, pd.Series(np.arange(10) * 0.5 + 3))
    >>> r["method"], r["trend"], r["sen_slope_per_year"]
    ('Mann-Kendall on annual means', 'increasing', 0.5)
    """
    if not 0 < alpha < 1:
        msg = f"alpha must be in (0, 1), got {alpha}"
        raise InputError(msg)
    t = np.asarray(time)
    if not np.issubdtype(t.dtype, np.datetime64):
        t = pd.to_datetime(pd.Series(t)).to_numpy()
    t = t.astype("datetime64[s]")
    v = np.asarray(value, dtype=np.float64)
    ok = ~(np.isnat(t) | np.isnan(v))
    t, v = t[ok], v[ok]
    years = t.astype("datetime64[Y]").astype(np.int64) + 1970
    months = t.astype("datetime64[M]").astype(np.int64) % 12
    n_years = int(np.unique(years).size)
    base: dict[str, object] = {
        "tested": False,
        "n_values": int(v.size),
        "n_years": n_years,
        "start": pd.Timestamp(t.min()) if v.size else pd.NaT,
        "end": pd.Timestamp(t.max()) if v.size else pd.NaT,
        "trend": "",
        "p_value": np.nan,
        "z": np.nan,
        "tau": np.nan,
        "s": np.nan,
        "var_s": np.nan,
        "sen_slope_per_year": np.nan,
        "intercept": np.nan,
    }
    if v.size < 3:
        return {**base, "method": f"not tested: {v.size} value(s)"}
    days = np.diff(np.unique(t)).astype(np.float64) / 86400.0
    gap = float(np.median(days)) if days.size else np.inf
    y0, y1 = int(years.min()), int(years.max())
    if gap <= MONTHLY_MAX_GAP_DAYS:
        cell = (years - y0) * 12 + months
        size = (y1 - y0 + 1) * 12
        count = np.bincount(cell, minlength=size)
        total = np.bincount(cell, weights=v, minlength=size)
        n_months = int((count > 0).sum())
        if n_years < MIN_YEARS_SEASONAL or n_months < MIN_MONTHS_SEASONAL:
            return {
                **base,
                "method": (
                    f"not tested: seasonal test needs >= {MIN_YEARS_SEASONAL} years and "
                    f">= {MIN_MONTHS_SEASONAL} months with data, has {n_years} and "
                    f"{n_months}"
                ),
            }
        grid = np.full(size, np.nan)
        grid[count > 0] = total[count > 0] / count[count > 0]
        with warnings.catch_warnings():
            # a calendar month without two years of data gives an all-NaN slope column
            warnings.simplefilter("ignore", RuntimeWarning)
            r = mk.seasonal_test(grid, period=12, alpha=alpha)
        method = "seasonal Mann-Kendall (period 12) on monthly means"
        n_values = n_months
    else:
        cell = years - y0
        count = np.bincount(cell, minlength=y1 - y0 + 1)
        total = np.bincount(cell, weights=v, minlength=y1 - y0 + 1)
        n_annual = int((count > 0).sum())
        if n_annual < MIN_YEARS_ANNUAL:
            return {
                **base,
                "method": (
                    f"not tested: test on annual means needs >= {MIN_YEARS_ANNUAL} years "
                    f"with data, has {n_annual}"
                ),
            }
        grid = np.full(y1 - y0 + 1, np.nan)
        grid[count > 0] = total[count > 0] / count[count > 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = mk.original_test(grid, alpha=alpha)
        method = "Mann-Kendall on annual means"
        n_values = n_annual
    return {
        **base,
        "tested": True,
        "method": method,
        "n_values": n_values,
        "trend": str(r.trend),
        "p_value": float(r.p),
        "z": float(r.z),
        "tau": float(r.Tau),
        "s": float(r.s),
        "var_s": float(r.var_s),
        "sen_slope_per_year": float(r.slope),
        "intercept": float(r.intercept),
    }


def trend_tests(
    observations: pd.DataFrame,
    *,
    parameters: list[str] | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Trend test for every station and parameter of a long table.

    Parameters
    ----------
    observations
        ``station_id, time, parameter, value, unit`` (normalised).
    parameters
        Parameters to test (default: all).
    alpha
        Significance level.

    Returns
    -------
    pandas.DataFrame
        :data:`TREND_COLUMNS`, one row per station and parameter.
    """
    obs = observations
    if parameters is not None:
        obs = obs[obs["parameter"].isin(parameters)]
    rows = []
    t = pd.to_datetime(obs["time"]).to_numpy()
    v = obs["value"].to_numpy(dtype=np.float64)
    u = obs["unit"].astype(str).to_numpy() if "unit" in obs else np.full(len(obs), "")
    groups = obs.groupby(["station_id", "parameter"], sort=True).indices
    for key, idx in groups.items():
        sid, param = cast("tuple[Any, Any]", key)
        r = trend_test(t[idx], v[idx], alpha=alpha)
        rows.append({"station_id": sid, "parameter": param, "unit": u[idx[0]], **r})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)
