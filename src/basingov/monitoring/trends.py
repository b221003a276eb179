"""Mann-Kendall trend tests with Sen's slope (pymannkendall's numbers), seasonal where sub-annual.

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

from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from basingov._checks import require_columns
from basingov.errors import InputError
from basingov.monitoring.units import not_used

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
    _check_alpha(alpha)
    t = np.asarray(time)
    if not np.issubdtype(t.dtype, np.datetime64):
        try:
            t = pd.to_datetime(pd.Series(t)).to_numpy()
        except (TypeError, ValueError) as exc:
            msg = f"trend_test: time must hold dates, e.g. '2020-05-31': {exc}"
            raise InputError(msg) from exc
    t = t.astype("datetime64[s]")
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"trend_test: value must hold numbers (NaN for a missing one): {exc}"
        raise InputError(msg) from exc
    if t.shape != v.shape:
        msg = f"trend_test needs one time per value, got {t.size} time(s) and {v.size} value(s)"
        raise InputError(msg)
    return _trend(*_calendar(t, v), alpha)


def _check_alpha(alpha: float) -> None:
    """Refuse a significance level outside (0, 1)."""
    if not 0 < alpha < 1:
        msg = f"alpha must be in (0, 1), got {alpha}"
        raise InputError(msg)


def _calendar(
    t: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Leave out missing times (``datetime64[s]``) and values; add each one's year and month."""
    ok = ~(np.isnat(t) | np.isnan(v))
    return t[ok], v[ok], *_year_month(t[ok])


def _year_month(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calendar year and month (0-11) of each time."""
    years = t.astype("datetime64[Y]").astype(np.int64) + 1970
    months = t.astype("datetime64[M]").astype(np.int64) % 12
    return years, months


def _trend(
    t: np.ndarray, v: np.ndarray, years: np.ndarray, months: np.ndarray, alpha: float
) -> dict[str, object]:
    """:func:`trend_test` of a series :func:`_calendar` prepared."""
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
        r = _seasonal_mk(grid, alpha)
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
        r = _original_mk(grid, alpha)
        method = "Mann-Kendall on annual means"
        n_values = n_annual
    return {
        **base,
        "tested": True,
        "method": method,
        "n_values": n_values,
        "trend": r.trend,
        "p_value": r.p,
        "z": r.z,
        "tau": r.tau,
        "s": r.s,
        "var_s": r.var_s,
        "sen_slope_per_year": r.slope,
        "intercept": r.intercept,
    }


class _MK(NamedTuple):
    """The fields of a pymannkendall result that :func:`trend_test` reports."""

    trend: str
    p: float
    z: float
    tau: float
    s: float
    var_s: float
    slope: float
    intercept: float


def _mk_columns(x: np.ndarray) -> tuple[list[int], list[float], list[int], np.ndarray]:
    """Mann-Kendall parts of every column of ``x`` (NaN skipped) and its pair slopes.

    Per column, pymannkendall's ``__mk_score`` (pairs ``i < j`` with ``x[j] > x[i]``
    minus those with ``x[j] < x[i]``; a NaN compares false both ways, as if dropped),
    ``__variance_s`` (``(n (n - 1) (2n + 5) - sum t (t - 1) (2t + 5)) / 18`` over groups
    of t tied values) and n; then ``__sens_estimator``'s slopes ``(x[j] - x[i]) / (j - i)``
    of every column, NaN included, column after column.
    """
    i, j = np.triu_indices(x.shape[0], 1)
    early, late = x[i], x[j]
    score = (late > early).sum(axis=0) - (late < early).sum(axis=0)
    count = (~np.isnan(x)).sum(axis=0)
    tied = (late == early).any(axis=0)
    s, var_s, n = [], [], []
    for k in range(x.shape[1]):
        nk = int(count[k])
        ties = 0
        if tied[k]:
            col = x[:, k]
            t = np.unique(col[~np.isnan(col)], return_counts=True)[1].astype(np.int64)
            ties = int((t * (t - 1) * (2 * t + 5)).sum())
        s.append(int(score[k]))
        var_s.append((nk * (nk - 1) * (2 * nk + 5) - ties) / 18)
        n.append(nk)
    slopes = ((late - early) / (j - i)[:, None]).T.ravel()
    return s, var_s, n, slopes


def _mk_result(s: float, var_s: float, denom: float, slope: float, intercept: float,
               alpha: float) -> _MK:  # fmt: skip
    """Tau, z, the two-sided p-value and the trend word, as pymannkendall computes them."""
    if s > 0:
        z = (s - 1) / np.sqrt(var_s)
    elif s < 0:
        z = (s + 1) / np.sqrt(var_s)
    else:
        z = 0.0
    # the standard normal's cdf and quantile: scipy.stats.norm.cdf and .ppf compute these
    # same functions (the same bits), but importing scipy.stats takes about a second
    p = 2 * (1 - ndtr(abs(z)))
    h = abs(z) > ndtri(1 - alpha / 2)
    trend = "decreasing" if z < 0 and h else "increasing" if z > 0 and h else "no trend"
    return _MK(trend, float(p), float(z), float(np.float64(s) / denom), float(s),
               float(var_s), float(slope), float(intercept))  # fmt: skip


def _nanmedian(x: np.ndarray) -> float:
    """``np.nanmedian`` of a 1-D array (the median of its other values), NaN if all are.

    A calendar month without two years of data gives no slope (an all-NaN part): NaN,
    without the warning ``np.nanmedian`` would give.
    """
    x = x[~np.isnan(x)]
    return float(np.median(x)) if x.size else np.nan


def _seasonal_mk(grid: np.ndarray, alpha: float) -> _MK:
    """``pymannkendall.seasonal_test(grid, period=12, alpha=alpha)``, the same numbers.

    The same arithmetic in the same order (score, variance and pair count summed month by
    month; the slopes of all months in one median), with array code instead of a Python
    loop per value (tested against pymannkendall).
    """
    n = grid.size
    x = np.pad(grid, (0, -n % 12), constant_values=np.nan).reshape(-1, 12)
    s_col, v_col, n_col, slopes = _mk_columns(x)
    s, var_s, denom = 0, 0.0, 0.0
    for sk, vk, nk in zip(s_col, v_col, n_col, strict=True):
        s, var_s, denom = s + sk, var_s + vk, denom + (0.5 * nk * (nk - 1))
    slope = _nanmedian(slopes)
    at = np.median(np.arange(n)[~np.isnan(grid)])
    intercept = _nanmedian(grid) - at / 12 * slope
    return _mk_result(s, var_s, denom, slope, intercept, alpha)


def _original_mk(grid: np.ndarray, alpha: float) -> _MK:
    """``pymannkendall.original_test(grid, alpha=alpha)``, the same numbers (see above)."""
    (s,), (var_s,), (n,), slopes = _mk_columns(grid[:, None])
    slope = _nanmedian(slopes)
    intercept = _nanmedian(grid) - np.median(np.arange(grid.size)[~np.isnan(grid)]) * slope
    return _mk_result(s, var_s, 0.5 * n * (n - 1), slope, intercept, alpha)


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
        ``station_id, time, parameter, value, unit`` (normalised); rows whose ``flag``
        (where there is one) is one of :data:`~basingov.monitoring.units.EXCLUDED_FLAGS`
        are left out, as the classes and the mass balance leave them out.
    parameters
        Parameters to test (default: all).
    alpha
        Significance level.

    Returns
    -------
    pandas.DataFrame
        :data:`TREND_COLUMNS`, one row per station and parameter.

    Raises
    ------
    InputError
        If a column of the long format is missing, or as :func:`trend_test`.
    """
    need = ["station_id", "time", "parameter", "value"]
    require_columns(
        observations, need, what="the observation table", hint=f"the long format has {need}"
    )
    obs = observations[~not_used(observations)]
    if parameters is not None:
        obs = obs[obs["parameter"].isin(parameters)]
    rows = []
    t = pd.to_datetime(obs["time"]).to_numpy().astype("datetime64[s]")
    v = obs["value"].to_numpy(dtype=np.float64)
    u = obs["unit"].astype(str).to_numpy() if "unit" in obs else np.full(len(obs), "")
    # the calendar of every row at once, then each series cut from it (as trend_test
    # prepares a single series: missing times and values left out, years and months)
    ok = ~(np.isnat(t) | np.isnan(v))
    years, months = _year_month(t)
    groups = obs.groupby(["station_id", "parameter"], sort=True).indices
    if groups:  # as trend_test of each series refused it
        _check_alpha(alpha)
    for key, idx in groups.items():
        sid, param = cast("tuple[Any, Any]", key)
        at = idx[ok[idx]]
        r = _trend(t[at], v[at], years[at], months[at], alpha)
        rows.append({"station_id": sid, "parameter": param, "unit": u[idx[0]], **r})
    return pd.DataFrame(rows, columns=TREND_COLUMNS)
