r"""Compensation: rule sets that turn section quality and loads into transfers, and netting.

Three kinds of rule (DESIGN §2.8), each giving rows of a transfer table
``payer, payee, amount, currency, basis`` plus the inputs used:

- **Two-way section index** (the Anhui-Zhejiang Xin'an River scheme, from 2012):

  .. math:: P = k_0 \sum_i \frac{C_i}{C_{i0}}

  over the indicators (permanganate index, NH3-N, TN, TP), with :math:`C_i` the period
  mean at the border section and :math:`C_{i0}` the baseline mean. :math:`P \le`
  threshold (the number of indicators by default): the downstream party pays the
  upstream party; otherwise the upstream party pays the downstream party.
- **Polluter pays**: :math:`T_{o \to r} = p \cdot d \cdot \max(0, S_{or} - A_{or})` with
  :math:`p` a price per kg, :math:`d` days per year, :math:`S` the source-receptor
  matrix (kg/day) and :math:`A` the allowance.
- **Beneficiary pays**: receptors :math:`r` fund the protection cost :math:`K` of an
  upstream jurisdiction :math:`u` in proportion to the benefit they get from a cut of
  :math:`u`'s load, the marginal benefit :math:`B_{ur} = \tfrac{x}{100} S_{ur}`:
  :math:`T_{r \to u} = K\, B_{ur} / \sum_{r'} B_{ur'}` (the sum includes :math:`u` itself
  when it bears its own share). The shares do not depend on the cut :math:`x`.

Money inherits the spillover Monte Carlo: when the per-run matrices
(:class:`basingov.spillover.MonteCarloSamples`) are given, every amount is computed in
every run and reported as a 5/50/95 % band; amounts fixed by the rule (the section index)
have no model band. :func:`settle` nets all transfers of a currency into the fewest
payments, so chains of jurisdictions net out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from basingov._checks import require_columns, require_known
from basingov._tables import read_table
from basingov.config import COMPENSATION_KINDS, CompensationRule
from basingov.errors import InputError
from basingov.spillover import MonteCarloSamples, marginal_benefit

__all__ = [
    "TRANSFER_COLUMNS",
    "XINAN_INDICATORS",
    "CompensationResult",
    "Settlement",
    "Transfers",
    "beneficiary_pays",
    "evaluate_rules",
    "period_means",
    "polluter_pays",
    "section_index",
    "settle",
    "two_way_section",
]


#: Indicators of the Xin'an River index: permanganate index, ammonia N, total N, total P.
XINAN_INDICATORS: tuple[str, ...] = ("CODMn", "NH3-N", "TN", "TP")

#: Columns of a transfer table (``tables/transfers.csv``), DESIGN §2.13 first.
TRANSFER_COLUMNS: list[str] = [
    "payer",
    "payee",
    "amount",
    "currency",
    "basis",
    "rule",
    "kind",
    "level_name",
    "amount_p5",
    "amount_p50",
    "amount_p95",
    "band_basis",
    "illustrative",
    "source",
    "inputs",
]

_PCT = (5.0, 50.0, 95.0)
_OUTSIDE = ""  # the overlay's id for "outside every jurisdiction"


# ----------------------------------------------------------------------------------------
# result objects
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Transfers:
    """A transfer table and, per row, the amount in every Monte Carlo run.

    Attributes
    ----------
    table
        One row per transfer, columns :data:`TRANSFER_COLUMNS`.
    samples
        ``len(table) x runs`` amounts (``runs`` = 0 when there is no Monte Carlo).
    """

    table: pd.DataFrame
    samples: np.ndarray

    def __post_init__(self) -> None:
        """Check that the samples line up with the table."""
        if self.samples.ndim != 2 or self.samples.shape[0] != len(self.table):
            msg = (
                f"Transfers.samples must be len(table) x runs, got {self.samples.shape} for "
                f"{len(self.table)} rows"
            )
            raise InputError(msg)

    @property
    def runs(self) -> int:
        """Number of Monte Carlo runs behind the bands (0: none)."""
        return int(self.samples.shape[1])

    @classmethod
    def concat(cls, parts: Sequence[Transfers]) -> Transfers:
        """Stack transfer tables; fixed amounts are repeated over the runs of the others.

        Raises
        ------
        InputError
            If two parts have different positive numbers of runs.
        """
        runs = {p.runs for p in parts if p.runs > 0}
        if len(runs) > 1:
            msg = f"cannot combine transfers with different Monte Carlo runs: {sorted(runs)}"
            raise InputError(msg)
        n = runs.pop() if runs else 0
        tables = [p.table for p in parts if len(p.table)]
        table = (
            pd.concat(tables, ignore_index=True) if tables else _empty_transfers()
        ).reset_index(drop=True)
        blocks = []
        for p in parts:
            if not len(p.table):
                continue
            if p.runs == n:
                blocks.append(p.samples)
            else:  # a fixed amount: the same in every run
                blocks.append(np.repeat(p.table["amount"].to_numpy(float)[:, None], n, axis=1))
        samples = np.vstack(blocks) if blocks else np.empty((0, n))
        return cls(table=table, samples=samples)


@dataclass(frozen=True, eq=False)
class Settlement:
    """Netted transfers and every party's net position.

    Attributes
    ----------
    transfers
        ``payer, payee, amount, currency, basis``: the fewest payments that settle every
        party's net position (at most parties - 1 per currency).
    positions
        ``party, currency, receives, pays, net`` (``net`` = receives - pays) and, with
        Monte Carlo runs, ``net_p5, net_p50, net_p95``.
    """

    transfers: pd.DataFrame
    positions: pd.DataFrame


@dataclass(frozen=True, eq=False)
class CompensationResult:
    """What :func:`evaluate_rules` produced for a basin's rule sets.

    Attributes
    ----------
    transfers
        All transfers of every rule.
    settlement
        Their netting (:func:`settle`).
    rules
        One row per rule: ``rule, kind, level_name, status, detail, n_transfers, total,
        currency, illustrative, source``; ``status`` is ``"evaluated"`` or
        ``"not evaluated"`` with the reason in ``detail``.
    """

    transfers: Transfers
    settlement: Settlement
    rules: pd.DataFrame


def _empty_transfers() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TRANSFER_COLUMNS}).astype(
        {"amount": float, "amount_p5": float, "amount_p50": float, "amount_p95": float}
    )


def _rows_to_transfers(rows: list[dict[str, Any]], samples: list[np.ndarray]) -> Transfers:
    """Build a :class:`Transfers` from row dicts (without bands) and per-row run amounts."""
    if not rows:
        n = samples[0].size if samples else 0
        return Transfers(table=_empty_transfers(), samples=np.empty((0, n)))
    table = pd.DataFrame(rows)
    sm = np.vstack([np.atleast_1d(s) for s in samples]) if samples else np.empty((len(rows), 0))
    if sm.shape[1] > 0:
        pct = np.percentile(sm, _PCT, axis=1)
        table["amount_p5"], table["amount_p50"], table["amount_p95"] = pct
        table["band_basis"] = f"Monte Carlo ({sm.shape[1]} runs of the spillover model)"
    else:
        for c in ("amount_p5", "amount_p50", "amount_p95"):
            table[c] = np.nan
        table["band_basis"] = "no Monte Carlo runs"
    for c in TRANSFER_COLUMNS:
        if c not in table:
            table[c] = ""
    return Transfers(table=table[TRANSFER_COLUMNS], samples=sm)


def _inputs(**kw: Any) -> str:
    return json.dumps(kw, sort_keys=True, ensure_ascii=False, default=float)


def _fmt(x: float) -> str:
    return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.0f}"


# ----------------------------------------------------------------------------------------
# two-way section index
# ----------------------------------------------------------------------------------------
def _nonneg(v: Any) -> bool:
    """Whether ``v`` is a finite number >= 0 (False for NaN, text or None)."""
    try:
        return math.isfinite(v) and v >= 0
    except TypeError:
        return False


def _nonneg_number(value: Any, what: str) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise ``what``.

    Examples
    --------
    >>> _nonneg_number("2.5", "price must be >= 0")
    2.5
    >>> _nonneg_number(None, "price must be >= 0")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: price must be >= 0, got None
    """
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if not (math.isfinite(f) and f >= 0):
        msg = f"{what}, got {value!r}"
        raise InputError(msg)
    return f


def _finite_nonneg(values: Mapping[str, float], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    bad: list[str] = []
    for k, v in values.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            bad.append(f"{k}={v!r}")
            continue
        if not math.isfinite(f) or f < 0:
            bad.append(f"{k}={v!r}")
            continue
        out[str(k)] = f
    if bad:
        msg = f"{what} must be finite concentrations >= 0 in mg/L; bad values: {bad}"
        raise InputError(msg)
    return out


def section_index(
    concentrations: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    k0: float = 0.85,
    indicators: Sequence[str] | None = None,
) -> float:
    r"""Return the two-way compensation index of a border section.

    .. math:: P = k_0 \sum_i \frac{C_i}{C_{i0}}

    the Xin'an River form (DESIGN §2.8): :math:`C_i` the period mean and :math:`C_{i0}`
    the baseline mean of indicator :math:`i` at the section, :math:`k_0` a stability
    coefficient (0.85 in the first round). With :math:`n` indicators, :math:`P \le n`
    is the same test as :math:`k_0 \sum_i \tfrac{1}{n} C_i / C_{i0} \le 1`.

    Parameters
    ----------
    concentrations
        Period means by parameter code (mg/L), e.g. ``{"CODMn": 2.0, "TP": 0.02}``.
    baseline
        Baseline means by parameter code (mg/L).
    k0
        Stability coefficient, >= 0.
    indicators
        Parameters to use (default: every key of ``concentrations``).

    Returns
    -------
    float
        The index :math:`P` (dimensionless).

    Raises
    ------
    InputError
        If an indicator has no period mean or no baseline, a baseline is zero, a value is
        negative or not finite, ``k0`` is negative, or there is no indicator.

    Examples
    --------
    >>> section_index({"CODMn": 2.0, "TP": 0.03}, {"CODMn": 2.0, "TP": 0.02}, k0=0.85)
    2.125
    """
    if not _nonneg(k0):
        msg = f"k0 must be a finite number >= 0, got {k0!r}"
        raise InputError(msg)
    conc = _finite_nonneg(concentrations, "concentrations")
    base = _finite_nonneg(baseline, "baseline")
    ind = list(indicators) if indicators is not None else list(conc)
    if not ind:
        msg = "section_index needs at least one indicator (concentrations is empty)"
        raise InputError(msg)
    require_known(
        ind, sorted(conc), "no period mean for indicator(s) {unknown}; concentrations has {known}"
    )
    require_known(
        ind,
        sorted(base),
        "no baseline for indicator(s) {unknown}: give the baseline-period mean in mg/L for "
        "every indicator (baseline has {known})",
    )
    zero = [p for p in ind if base[p] == 0]
    if zero:
        msg = f"baseline is 0 mg/L for {zero}; C_i / C_i0 is undefined, give a positive baseline"
        raise InputError(msg)
    return float(k0 * sum(conc[p] / base[p] for p in ind))


def two_way_section(
    concentrations: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    upstream: str,
    downstream: str,
    amount: float,
    currency: str,
    k0: float = 0.85,
    threshold: float | None = None,
    amount_if_exceeded: float | None = None,
    indicators: Sequence[str] | None = None,
    rule: str = "section index",
    level_name: str = "",
    illustrative: bool = False,
    source: str = "",
) -> Transfers:
    r"""Transfer of a two-way section-index agreement (Xin'an type) for one period.

    :math:`P` from :func:`section_index`. :math:`P \le` ``threshold``: the downstream
    party pays ``amount`` to the upstream party (the water met the agreed quality);
    otherwise the upstream party pays ``amount_if_exceeded`` (default ``amount``) to the
    downstream party. A zero amount gives no row.

    Parameters
    ----------
    concentrations, baseline, k0, indicators
        See :func:`section_index`.
    upstream, downstream
        Jurisdiction ids of the two parties.
    amount
        Payment per period when the section meets the index, >= 0.
    currency
        Currency code, e.g. ``"CNY"``.
    threshold
        Limit on :math:`P`; default the number of indicators.
    amount_if_exceeded
        Payment when it does not; default ``amount``.
    rule, level_name, illustrative, source
        Labels carried into the rows.

    Returns
    -------
    Transfers
        One row (or none for a zero amount); amounts are fixed, so there is no band.

    Raises
    ------
    InputError
        As :func:`section_index`; also for negative amounts or threshold, or
        ``upstream == downstream``.

    Examples
    --------
    >>> t = two_way_section({"TP": 0.02}, {"TP": 0.02}, upstream="AH", downstream="ZJ",
    ...     amount=1e8, currency="CNY", threshold=1.0)
    >>> t.table[["payer", "payee", "amount"]].values.tolist()
    [['ZJ', 'AH', 100000000.0]]
    """
    if upstream == downstream:
        msg = f"upstream and downstream must be two parties, got {upstream!r} twice"
        raise InputError(msg)
    for key, v in (("amount", amount), ("amount_if_exceeded", amount_if_exceeded)):
        if (v is not None or key == "amount") and not _nonneg(v):
            msg = f"{key} must be a finite amount >= 0, got {v!r}"
            raise InputError(msg)
    ind = list(indicators) if indicators is not None else list(concentrations)
    p = section_index(concentrations, baseline, k0=k0, indicators=ind)
    thr = (
        float(len(ind))
        if threshold is None
        else _nonneg_number(threshold, "threshold must be a finite number >= 0")
    )
    met = p <= thr
    pay = float(amount) if met or amount_if_exceeded is None else float(amount_if_exceeded)
    payer, payee = (downstream, upstream) if met else (upstream, downstream)
    rows: list[dict[str, Any]] = []
    samples: list[np.ndarray] = []
    if pay > 0:
        verdict = (
            f"P = {p:.4g} <= {thr:g}: the section met the index, downstream {downstream} "
            f"pays upstream {upstream}"
            if met
            else f"P = {p:.4g} > {thr:g}: the section failed the index, upstream "
            f"{upstream} pays downstream {downstream}"
        )
        rows.append(
            {
                "payer": payer,
                "payee": payee,
                "amount": pay,
                "currency": currency,
                "basis": f"two-way section index P = k0 * sum(C_i / C_i0); {verdict}",
                "rule": rule,
                "kind": "section_index",
                "level_name": level_name,
                "amount_p5": pay,
                "amount_p50": pay,
                "amount_p95": pay,
                "illustrative": bool(illustrative),
                "source": source,
                "inputs": _inputs(
                    P=p,
                    k0=k0,
                    threshold=thr,
                    indicators=ind,
                    concentrations_mg_l={k: float(concentrations[k]) for k in ind},
                    baseline_mg_l={k: float(baseline[k]) for k in ind},
                ),
            }
        )
        samples.append(np.empty(0))
    t = _rows_to_transfers(rows, samples)
    if len(t.table):
        t.table["amount_p5"] = t.table["amount_p50"] = t.table["amount_p95"] = pay
        t.table["band_basis"] = "fixed by the rule (no model uncertainty)"
    return t


def period_means(
    observations: pd.DataFrame,
    *,
    station: str,
    parameters: Sequence[str],
    start: str,
    end: str,
) -> dict[str, float]:
    """Mean concentration (mg/L) per parameter at one station over ``[start, end]``.

    Reads the long observation format (``station_id, time, parameter, value, unit``);
    only rows whose unit starts with ``mg/L`` count (``mg/L N``, ``mg/L P`` included).

    Parameters
    ----------
    observations
        Long table of observations.
    station
        Station id.
    parameters
        Parameter codes wanted.
    start, end
        ISO dates, both inclusive (``end`` covers its whole day).

    Returns
    -------
    dict
        Mean per parameter that has at least one observation; missing ones are absent.

    Raises
    ------
    InputError
        If a required column is missing or a date (of the period, or of a row of the
        station) cannot be parsed.

    Examples
    --------
    >>> obs = pd.DataFrame({"station_id": ["S"] * 3, "time": ["2012-01-05", "2012-06-01",
    ...     "2013-01-01"], "parameter": ["TP"] * 3, "value": [0.02, 0.04, 9.0],
    ...     "unit": ["mg/L P"] * 3})
    >>> period_means(obs, station="S", parameters=["TP", "TN"], start="2012-01-01",
    ...     end="2012-12-31")
    {'TP': 0.03}
    """
    need = ["station_id", "time", "parameter", "value", "unit"]
    require_columns(
        observations, need, what="the observation table", hint=f"the long format is {need}"
    )
    try:
        t0, t1 = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    except (TypeError, ValueError) as exc:
        msg = f"period {start!r} .. {end!r} is not a pair of ISO dates: {exc}"
        raise InputError(msg) from exc
    if pd.isna(t0) or pd.isna(t1) or t0.tzinfo is not None or t1.tzinfo is not None:
        msg = f"period {start!r} .. {end!r} is not a pair of ISO dates such as '2012-01-01'"
        raise InputError(msg)
    o = observations[
        (observations["station_id"].astype(str) == str(station))
        & observations["parameter"].isin(list(parameters))
        & observations["unit"].astype(str).str.lower().str.startswith("mg/l")
    ]
    try:
        times = pd.to_datetime(o["time"].astype(str), errors="coerce", format="ISO8601")
    except ValueError as exc:  # UTC offsets that differ between rows
        msg = (
            f"column 'time' of the observation table mixes time zones at station {station!r}; "
            "write every time in one zone (or without an offset)"
        )
        raise InputError(msg) from exc
    bad = times.isna() & o["time"].notna()
    if bad.any():
        msg = (
            f"column 'time' of the observation table is not an ISO 8601 date at station "
            f"{station!r}: {o.loc[bad, 'time'].astype(str).unique()[:5].tolist()}; write e.g. "
            "'2012-05-31' (read_observations checks a whole table)"
        )
        raise InputError(msg)
    if times.dt.tz is not None:
        times = times.dt.tz_localize(None)
    o = o[(times >= t0) & (times < t1)]
    means = pd.to_numeric(o["value"], errors="coerce").groupby(o["parameter"]).mean().dropna()
    return {str(k): float(v) for k, v in means.items()}


# ----------------------------------------------------------------------------------------
# matrix-based rules
# ----------------------------------------------------------------------------------------
def _samples_for(
    matrix: pd.DataFrame, samples: Any
) -> Callable[[int, Sequence[int]], np.ndarray] | None:
    """Per-run values of ``matrix``'s cells: ``cells(i, js)`` is runs x len(js).

    ``i`` and ``js`` are positions in ``matrix``'s index and columns. ``samples`` is a
    :class:`~basingov.spillover.MonteCarloSamples` (stored by pair: no runs x n x n
    stack is made) or a runs x n_origin x n_receptor array in ``matrix``'s order.
    """
    if samples is None:
        return None
    if isinstance(samples, MonteCarloSamples):
        pos = {j: i for i, j in enumerate(samples.ids)}
        miss = [j for j in list(matrix.index) + list(matrix.columns) if j not in pos]
        if miss:
            msg = f"the Monte Carlo samples lack jurisdiction(s) {sorted(set(miss))[:10]}"
            raise InputError(msg)
        ri = np.array([pos[j] for j in matrix.index], dtype=np.int64)
        ci = np.array([pos[j] for j in matrix.columns], dtype=np.int64)

        def stored(i: int, js: Sequence[int]) -> np.ndarray:
            cols = ci[np.asarray(js, dtype=np.int64)]
            return samples.cells(np.full(cols.size, ri[i]), cols)

        return stored
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 3:
        msg = f"samples must be runs x n x n matrices, got shape {arr.shape}"
        raise InputError(msg)
    if arr.shape[1:] != matrix.shape:
        msg = f"samples of shape {arr.shape} do not match the {matrix.shape} matrix"
        raise InputError(msg)

    def dense(i: int, js: Sequence[int]) -> np.ndarray:
        return arr[:, i, np.asarray(js, dtype=np.int64)]

    return dense


def _check_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    m = matrix.copy()
    m.index = m.index.astype(str)
    m.columns = m.columns.astype(str)
    for axis, ids in (("origin", m.index), ("receptor", m.columns)):
        if ids.has_duplicates:
            dup = sorted(set(ids[ids.duplicated()]))[:10]
            msg = (
                f"the source-receptor matrix repeats {axis} id(s) {dup}; give each "
                "jurisdiction one row and one column"
            )
            raise InputError(msg)
    try:
        vals = m.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"the source-receptor matrix must hold numbers (kg/day): {exc}"
        raise InputError(msg) from exc
    if not np.isfinite(vals).all() or (vals < 0).any():
        msg = "the source-receptor matrix must hold finite loads >= 0 (kg/day)"
        raise InputError(msg)
    return m


def _allowance_lookup(
    allowance: float | pd.DataFrame, origins: Sequence[str], receptors: Sequence[str]
) -> np.ndarray:
    n_o, n_r = len(origins), len(receptors)
    if isinstance(allowance, pd.DataFrame):
        need = ["origin", "receptor", "allowance_kg_day"]
        require_columns(allowance, need, what="the allowance table", hint=f"it needs {need}")
        a = pd.to_numeric(allowance["allowance_kg_day"], errors="coerce")
        if a.isna().any() or (a < 0).any():
            msg = "allowance_kg_day must hold numbers >= 0"
            raise InputError(msg)
        dupes = allowance.duplicated(["origin", "receptor"])
        if dupes.any():
            pairs = allowance.loc[dupes, ["origin", "receptor"]].astype(str).values.tolist()
            msg = f"the allowance table repeats pair(s) {pairs[:5]}; give each pair once"
            raise InputError(msg)
        ids = {*origins, *receptors}
        pair_ids = pd.concat([allowance["origin"], allowance["receptor"]])
        named = pd.unique(pair_ids.fillna("").astype(str))
        unknown = sorted(x for x in named if x not in ids)
        if unknown:  # a pair naming them was silently left at allowance 0
            msg = (
                f"the allowance table names {unknown[:10]}, which are not jurisdictions of "
                f"the source-receptor matrix (e.g. {sorted(ids)[:10]}); use their jur_id "
                "values at the rule's level"
            )
            raise InputError(msg)
        key = pd.MultiIndex.from_arrays(
            [allowance["origin"].astype(str), allowance["receptor"].astype(str)]
        )
        s = pd.Series(a.to_numpy(dtype=float), index=key)
        grid = pd.MultiIndex.from_product([list(origins), list(receptors)])
        return s.reindex(grid).fillna(0.0).to_numpy().reshape(n_o, n_r)
    a0 = _nonneg_number(allowance, "allowance must be a finite load >= 0 kg/day")
    return np.full((n_o, n_r), a0)


def _paying_pairs(
    s: np.ndarray, allow: np.ndarray, origins: Sequence[str], receptors: Sequence[str]
) -> np.ndarray:
    """Positions ``(i, j)`` of the cells above their allowance, row by row.

    The diagonal (an origin that is also a receptor) and the outside id are left out.
    One pass in array code: a Python loop over every cell took seconds at a few thousand
    units (n² cells).

    Examples
    --------
    >>> s = np.array([[5.0, 2.0], [0.0, 3.0]])
    >>> _paying_pairs(s, np.ones((2, 2)), ["A", "B"], ["A", "B"]).tolist()
    [[0, 1]]
    """
    over = s - allow > 0
    # one code per label of either axis: a cell whose origin and receptor are one id
    codes, labels = pd.factorize(np.asarray([*origins, *receptors], dtype=object))
    co, cr = codes[: len(origins)], codes[len(origins) :]
    over &= co[:, None] != cr[None, :]
    out = np.flatnonzero(labels == _OUTSIDE)
    if out.size:
        over[co == out[0], :] = False
        over[:, cr == out[0]] = False
    return np.argwhere(over)


def polluter_pays(
    matrix: pd.DataFrame,
    *,
    price: float,
    currency: str,
    allowance: float | pd.DataFrame = 0.0,
    days_per_year: float = 365.0,
    samples: Any = None,
    rule: str = "polluter pays",
    level_name: str = "",
    illustrative: bool = False,
    source: str = "",
) -> Transfers:
    r"""Load-based polluter pays: origins pay receptors for the load they send across.

    .. math:: T_{o \to r} = p \cdot d \cdot \max(0,\ S_{or} - A_{or}), \quad o \ne r

    per year, with :math:`S` in kg/day. Pairs at or below their allowance give no row;
    the outside id ``""`` is never a party.

    Parameters
    ----------
    matrix
        Source-receptor matrix (index origin, columns receptor, kg/day), e.g.
        ``SpilloverResult.matrices[level]``.
    price
        Price per kg, >= 0.
    currency
        Currency code.
    allowance
        Allowed load per pair (kg/day): one number for every pair, or a table
        ``origin, receptor, allowance_kg_day`` (pairs not listed get 0; ids must be
        jurisdictions of the matrix).
    days_per_year
        Days the daily load is counted for.
    samples
        Per-run matrices (:class:`basingov.spillover.MonteCarloSamples`, or a runs x n x n
        array in ``matrix``'s order) for the 5/50/95 % bands.
    rule, level_name, illustrative, source
        Labels carried into the rows.

    Returns
    -------
    Transfers

    Raises
    ------
    InputError
        On negative or non-finite prices, allowances or loads, or samples that do not
        match the matrix.

    Examples
    --------
    >>> m = pd.DataFrame([[5.0, 3.0], [0.0, 1.0]], index=["A", "B"], columns=["A", "B"])
    >>> t = polluter_pays(m, price=2.0, currency="EUR", allowance=1.0, days_per_year=1)
    >>> t.table[["payer", "payee", "amount"]].values.tolist()
    [['A', 'B', 4.0]]
    """
    if not _nonneg(price):
        msg = f"price must be a finite number >= 0 per kg, got {price!r}"
        raise InputError(msg)
    if not _nonneg(days_per_year):
        msg = f"days_per_year must be a finite number >= 0, got {days_per_year!r}"
        raise InputError(msg)
    m = _check_matrix(matrix)
    orig, rec = list(m.index), list(m.columns)
    allow = _allowance_lookup(allowance, orig, rec)
    s = m.to_numpy(dtype=np.float64)
    sm = _samples_for(m, samples)
    factor = float(price) * float(days_per_year)
    rows: list[dict[str, Any]] = []
    runs: list[np.ndarray] = []
    for i, j in _paying_pairs(s, allow, orig, rec) if factor != 0 else ():
        o, r = orig[i], rec[j]
        excess = s[i, j] - allow[i, j]
        amount = factor * excess
        rows.append(
            {
                "payer": o,
                "payee": r,
                "amount": amount,
                "currency": currency,
                "basis": (
                    f"polluter pays: {_fmt(price)} {currency}/kg x {days_per_year:g} d/yr x "
                    f"(S[{o},{r}] {_fmt(s[i, j])} - allowance {_fmt(allow[i, j])}) kg/day "
                    f"that {o} sends into {r}'s waters"
                ),
                "rule": rule,
                "kind": "polluter_pays",
                "level_name": level_name,
                "illustrative": bool(illustrative),
                "source": source,
                "inputs": _inputs(
                    S_kg_day=float(s[i, j]),
                    allowance_kg_day=float(allow[i, j]),
                    price_per_kg=float(price),
                    days_per_year=float(days_per_year),
                ),
            }
        )
        runs.append(
            factor * np.maximum(0.0, sm(i, [j])[:, 0] - allow[i, j])
            if sm is not None
            else np.empty(0)
        )
    return _rows_to_transfers(rows, runs)


def beneficiary_pays(
    matrix: pd.DataFrame,
    *,
    payee: str,
    cost: float,
    currency: str,
    payee_bears_own_share: bool = True,
    samples: Any = None,
    rule: str = "beneficiary pays",
    level_name: str = "",
    illustrative: bool = False,
    source: str = "",
) -> Transfers:
    r"""Beneficiary pays: receptors fund an upstream jurisdiction's protection cost.

    A cut of :math:`x\,\%` in the load of ``payee`` :math:`u` avoids
    :math:`B_{ur} = \tfrac{x}{100} S_{ur}` kg/day in each receptor
    (:func:`basingov.spillover.marginal_benefit`). Each receptor :math:`r \ne u` pays its
    share of the cost :math:`K`:

    .. math:: T_{r \to u} = K \frac{B_{ur}}{\sum_{r' \in R} B_{ur'}}

    with :math:`R` every receptor, :math:`u` included when ``payee_bears_own_share`` (then
    :math:`u` keeps its own share of the cost). The shares do not depend on :math:`x`.

    Parameters
    ----------
    matrix
        Source-receptor matrix (index origin, columns receptor, kg/day).
    payee
        The protecting (upstream) jurisdiction.
    cost
        Its protection cost per period, >= 0.
    currency
        Currency code.
    payee_bears_own_share
        Whether the payee's own benefit (the load of its own that stays in its waters)
        counts, so that it bears that share itself.
    samples
        Per-run matrices for the bands (see :func:`polluter_pays`).
    rule, level_name, illustrative, source
        Labels carried into the rows.

    Returns
    -------
    Transfers
        One row per receptor with a benefit; none when nothing downstream benefits.

    Raises
    ------
    InputError
        If ``payee`` is not an origin of the matrix, or the cost is negative.

    Examples
    --------
    >>> m = pd.DataFrame([[1.0, 3.0, 1.0], [0, 1, 0], [0, 0, 1]], index=list("UAB"),
    ...     columns=list("UAB"))
    >>> t = beneficiary_pays(m, payee="U", cost=100.0, currency="EUR")
    >>> t.table[["payer", "amount"]].values.tolist()
    [['A', 60.0], ['B', 20.0]]
    """
    if not _nonneg(cost):
        msg = f"cost must be a finite amount >= 0, got {cost!r}"
        raise InputError(msg)
    m = _check_matrix(matrix)
    if payee not in m.index:
        msg = (
            f"payee {payee!r} is not an origin of the source-receptor matrix at this level; "
            f"origins are {list(m.index)[:20]}"
        )
        raise InputError(msg)
    mb = marginal_benefit(m, cut_pct=100.0)
    row = dict(zip(mb.columns, mb.loc[payee].to_numpy(dtype=np.float64).tolist(), strict=True))
    rec = [r for r in m.columns if r != _OUTSIDE]
    counted = [r for r in rec if r != payee or payee_bears_own_share]
    total = sum(row[r] for r in counted)
    sm = _samples_for(m, samples)
    rows: list[dict[str, Any]] = []
    runs: list[np.ndarray] = []
    if total <= 0 or cost == 0:
        return _rows_to_transfers(rows, runs)
    i = list(m.index).index(payee)
    cols = [list(m.columns).index(r) for r in counted]
    # each run's total adds the receptors one after the other (a Fortran-ordered runs x
    # receptors array; a C-ordered one is summed in another order, a few ulps apart)
    run_tot = np.asfortranarray(sm(i, cols)).sum(axis=1) if sm is not None else None
    for r in rec:
        if r == payee or row[r] <= 0:
            continue
        share = float(row[r]) / total
        rows.append(
            {
                "payer": r,
                "payee": payee,
                "amount": cost * share,
                "currency": currency,
                "basis": (
                    f"beneficiary pays: {100 * share:.3g} % of the benefit of a cut in "
                    f"{payee}'s load accrues to {r} (S[{payee},{r}] {_fmt(row[r])} of "
                    f"{_fmt(total)} kg/day), so {r} pays that share of {payee}'s protection "
                    f"cost {_fmt(cost)} {currency}"
                ),
                "rule": rule,
                "kind": "beneficiary_pays",
                "level_name": level_name,
                "illustrative": bool(illustrative),
                "source": source,
                "inputs": _inputs(
                    S_kg_day=float(row[r]),
                    total_benefit_kg_day=total,
                    share=share,
                    cost=float(cost),
                    payee_bears_own_share=bool(payee_bears_own_share),
                ),
            }
        )
        if sm is not None and run_tot is not None:
            j = list(m.columns).index(r)
            with np.errstate(divide="ignore", invalid="ignore"):
                runs.append(np.where(run_tot > 0, cost * sm(i, [j])[:, 0] / run_tot, 0.0))
        else:
            runs.append(np.empty(0))
    return _rows_to_transfers(rows, runs)


# ----------------------------------------------------------------------------------------
# netting
# ----------------------------------------------------------------------------------------
def _as_transfers(transfers: Transfers | pd.DataFrame) -> Transfers:
    if isinstance(transfers, Transfers):
        return transfers
    need = ["payer", "payee", "amount", "currency"]
    require_columns(transfers, need, what="the transfer table", hint=f"it needs {need}")
    t = transfers.reset_index(drop=True).copy()
    return Transfers(table=t, samples=np.empty((len(t), 0)))


def settle(transfers: Transfers | pd.DataFrame, *, tolerance: float = 1e-9) -> Settlement:
    """Net transfers into the fewest payments, per currency.

    Every party's net position is what it receives minus what it pays. Parties that owe
    (net < 0) pay parties that are owed, largest first, so a chain A→B→C→D→E of equal
    amounts settles as one payment A→E, and a closed loop settles to nothing. Currencies
    are never netted against each other.

    Parameters
    ----------
    transfers
        A :class:`Transfers` or any table ``payer, payee, amount, currency``.
    tolerance
        Net positions within ``tolerance`` times the largest transfer of the currency
        count as zero.

    Returns
    -------
    Settlement

    Raises
    ------
    InputError
        On missing columns, missing or negative amounts (a negative transfer is one the
        other way: swap payer and payee), a party paying itself, empty or missing party
        ids or currencies, or a
        negative or non-finite ``tolerance``.

    Examples
    --------
    >>> t = pd.DataFrame({"payer": list("ABCD"), "payee": list("BCDE"),
    ...     "amount": [100.0] * 4, "currency": ["EUR"] * 4})
    >>> settle(t).transfers[["payer", "payee", "amount"]].values.tolist()
    [['A', 'E', 100.0]]
    """
    tolerance = _nonneg_number(tolerance, "tolerance must be a finite number >= 0 (e.g. 1e-9)")
    tr = _as_transfers(transfers)
    t = tr.table
    amount = pd.to_numeric(t["amount"], errors="coerce")
    finite = np.isfinite(amount.to_numpy(dtype=float))
    if not finite.all():
        rows = t.index[~finite].tolist()[:10]
        msg = f"transfer amounts must be finite numbers; bad rows {rows}"
        raise InputError(msg)
    if (amount < 0).any():
        bad = t.loc[amount < 0, ["payer", "payee", "amount"]].values.tolist()[:5]
        msg = (
            f"transfer amounts must be >= 0, got {bad}; a negative transfer is a transfer the "
            "other way: swap payer and payee"
        )
        raise InputError(msg)
    blank = t[["payer", "payee", "currency"]].isna()
    if blank.to_numpy().any():
        rows = t.index[blank.any(axis=1)].tolist()[:10]
        cols = [c for c in blank.columns if blank[c].any()]
        msg = f"every transfer needs a payer, a payee and a currency; rows {rows} lack {cols}"
        raise InputError(msg)
    payer, payee = t["payer"].astype(str), t["payee"].astype(str)
    if ((payer == "") | (payee == "")).any():
        msg = "every transfer needs a payer and a payee id; found empty ids"
        raise InputError(msg)
    selfs = t.loc[payer == payee, "payer"].tolist()
    if selfs:
        msg = f"a party cannot pay itself; self-transfers for {sorted(set(selfs))}"
        raise InputError(msg)
    runs = tr.runs
    settled: list[dict[str, Any]] = []
    positions: list[pd.DataFrame] = []
    for cur in sorted(t["currency"].astype(str).unique()):
        sel = (t["currency"].astype(str) == cur).to_numpy()
        a = amount[sel].to_numpy(dtype=float)
        p_, q_ = payer[sel].to_numpy(), payee[sel].to_numpy()
        parties = sorted(set(p_) | set(q_))
        idx = {j: i for i, j in enumerate(parties)}
        pi = np.array([idx[x] for x in p_], dtype=np.int64)
        qi = np.array([idx[x] for x in q_], dtype=np.int64)
        pays = np.bincount(pi, weights=a, minlength=len(parties))
        recv = np.bincount(qi, weights=a, minlength=len(parties))
        net = recv - pays
        scale = float(a.max()) if a.size else 0.0
        net[np.abs(net) <= tolerance * scale] = 0.0
        pos = pd.DataFrame(
            {"party": parties, "currency": cur, "receives": recv, "pays": pays, "net": net}
        )
        if runs > 0:
            smp = tr.samples[sel]
            net_runs = np.zeros((len(parties), runs))
            np.add.at(net_runs, qi, smp)
            np.subtract.at(net_runs, pi, smp)
            pos["net_p5"], pos["net_p50"], pos["net_p95"] = np.percentile(net_runs, _PCT, axis=1)
        positions.append(pos)
        n_in = int(sel.sum())
        debt = sorted(((-v, j) for j, v in zip(parties, net, strict=True) if v < 0), reverse=True)
        cred = sorted(((v, j) for j, v in zip(parties, net, strict=True) if v > 0), reverse=True)
        owes = {j: v for v, j in debt}
        owed = {j: v for v, j in cred}
        d_left = [v for v, _ in debt]
        c_left = [v for v, _ in cred]
        di = ci = 0
        while di < len(debt) and ci < len(cred):
            x = min(d_left[di], c_left[ci])
            dj, cj = debt[di][1], cred[ci][1]
            settled.append(
                {
                    "payer": dj,
                    "payee": cj,
                    "amount": x,
                    "currency": cur,
                    "basis": (
                        f"netting {n_in} {cur} transfer(s): {dj} owes {_fmt(owes[dj])} net in "
                        f"all, {cj} is owed {_fmt(owed[cj])} net in all"
                    ),
                }
            )
            d_left[di] -= x
            c_left[ci] -= x
            if d_left[di] <= tolerance * scale:
                di += 1
            if c_left[ci] <= tolerance * scale:
                ci += 1
    cols = ["payer", "payee", "amount", "currency", "basis"]
    st = pd.DataFrame(settled, columns=cols) if settled else pd.DataFrame(columns=cols)
    pos_cols = ["party", "currency", "receives", "pays", "net"]
    pos_df = (
        pd.concat(positions, ignore_index=True) if positions else pd.DataFrame(columns=pos_cols)
    )
    return Settlement(transfers=st, positions=pos_df)


# ----------------------------------------------------------------------------------------
# rule sets from the basin config
# ----------------------------------------------------------------------------------------
def _rule_row(
    rule: CompensationRule, status: str, detail: str, t: Transfers | None
) -> dict[str, Any]:
    return {
        "rule": rule.name,
        "kind": rule.kind,
        "level_name": rule.level or "",
        "status": status,
        "detail": detail,
        "n_transfers": 0 if t is None else len(t.table),
        "total": 0.0 if t is None else float(t.table["amount"].sum()),
        "currency": rule.currency,
        "illustrative": bool(rule.illustrative),
        "source": rule.source,
    }


def _section_values(
    rule: CompensationRule, indicators: list[str], observations: pd.DataFrame | None
) -> tuple[dict[str, float] | None, dict[str, float] | None, str]:
    """Period and baseline means of a section-index rule, or None and the reason."""
    conc: dict[str, float] | None = dict(rule.concentrations) or None
    base: dict[str, float] | None = dict(rule.baseline) or None
    why: list[str] = []
    for key, period in (("concentrations", rule.period), ("baseline", rule.baseline_period)):
        if (conc if key == "concentrations" else base) is not None:
            continue
        if observations is None or rule.station is None:
            why.append(f"no {key}: no observations table ([monitoring] observations)")
            continue
        if len(period) != 2:
            name = "period" if key == "concentrations" else "baseline_period"
            msg = (
                f"compensation rule {rule.name!r} takes its {key} from station "
                f"{rule.station!r} but its {name} is {period!r}; give {name} = [start, end] "
                "ISO dates, or the values inline"
            )
            raise InputError(msg)
        got = period_means(
            observations,
            station=rule.station,
            parameters=indicators,
            start=period[0],
            end=period[1],
        )
        miss = [p for p in indicators if p not in got]
        if miss:
            why.append(
                f"station {rule.station!r} has no mg/L observations of {miss} in "
                f"{period[0]}..{period[1]} for the {key}"
            )
            continue
        if key == "concentrations":
            conc = got
        else:
            base = got
    return conc, base, "; ".join(why)


def evaluate_rules(
    rules: Sequence[CompensationRule],
    *,
    spillover: Any = None,
    observations: pd.DataFrame | None = None,
    jurisdictions: Sequence[str] | None = None,
) -> CompensationResult:
    """Evaluate a basin's compensation rule sets (``[[compensation.rules]]``).

    Section-index rules take their period and baseline means from the rule
    (``concentrations``, ``baseline``) or from the station's observations over
    ``period`` / ``baseline_period`` (:func:`period_means`). Polluter-pays and
    beneficiary-pays rules need the spillover result (its matrix at the rule's level and,
    when the run has Monte Carlo, its per-run matrices for the bands). A rule whose data
    are missing (no observations at the station, or no load sources) is reported as not
    evaluated, with the reason; it gives no transfer.

    Parameters
    ----------
    rules
        Rules from :class:`basingov.config.CompensationSection`.
    spillover
        :class:`basingov.spillover.SpilloverResult`, or None.
    observations
        Long observation table (``station_id, time, parameter, value, unit``), or None.
    jurisdictions
        Known jurisdiction ids; rule parties are checked against them when given.

    Returns
    -------
    CompensationResult

    Raises
    ------
    InputError
        If a rule names an unknown jurisdiction, level or kind, lacks a value its kind
        needs, or its own values are invalid (e.g. an inline baseline lacking an
        indicator).

    Examples
    --------
    >>> from basingov.config import CompensationRule
    >>> r = CompensationRule(kind="section_index", name="x", currency="CNY", upstream="AH",
    ...     downstream="ZJ", amount=1e8, concentrations={"TP": 0.02}, baseline={"TP": 0.025},
    ...     indicators=("TP",))
    >>> res = evaluate_rules([r])
    >>> res.settlement.transfers[["payer", "payee", "amount"]].values.tolist()
    [['ZJ', 'AH', 100000000.0]]
    """
    known = set(map(str, jurisdictions)) if jurisdictions is not None else None
    parts: list[Transfers] = []
    report: list[dict[str, Any]] = []
    for rule in rules:
        where = f"compensation rule {rule.name!r} ({rule.kind})"
        level = rule.level or ""
        if rule.kind not in COMPENSATION_KINDS:  # was evaluated as beneficiary pays
            msg = f"{where}: kind must be one of {list(COMPENSATION_KINDS)}, got {rule.kind!r}"
            raise InputError(msg)
        parties = [x for x in (rule.upstream, rule.downstream, rule.payee) if x is not None]
        if known is not None:
            unknown = [x for x in parties if x not in known]
            if unknown:
                msg = (
                    f"{where} names jurisdiction(s) {unknown} that the basin does not have; use "
                    "jur_id values of the jurisdictions layer"
                )
                raise InputError(msg)
        if rule.kind == "section_index":
            ind = list(rule.indicators) or list(XINAN_INDICATORS)
            conc, base, why = _section_values(rule, ind, observations)
            if conc is None or base is None:
                report.append(_rule_row(rule, "not evaluated", why, None))
                continue
            if rule.upstream is None or rule.downstream is None or rule.amount is None:
                msg = f"{where} needs upstream, downstream and amount"
                raise InputError(msg)
            try:
                t = two_way_section(
                    conc, base, upstream=rule.upstream, downstream=rule.downstream,
                    amount=rule.amount, currency=rule.currency, k0=rule.k0,
                    threshold=rule.threshold, amount_if_exceeded=rule.amount_if_exceeded,
                    indicators=ind, rule=rule.name, level_name=level,
                    illustrative=rule.illustrative, source=rule.source,
                )  # fmt: skip
            except InputError as exc:
                msg = f"{where}: {exc}"
                raise InputError(msg) from exc
            p = section_index(conc, base, k0=rule.k0, indicators=ind)
            thr = float(len(ind)) if rule.threshold is None else rule.threshold
            detail = f"P = {p:.4g} ({'<=' if p <= thr else '>'} threshold {thr:g})"
            parts.append(t)
            report.append(_rule_row(rule, "evaluated", detail, t))
            continue
        if spillover is None:
            why = "no source-receptor matrix: the basin config lists no [loads] sources"
            report.append(_rule_row(rule, "not evaluated", why, None))
            continue
        if level not in spillover.matrices:
            msg = f"{where}: level {level!r} has no matrix; levels are {list(spillover.levels)}"
            raise InputError(msg)
        matrix = spillover.matrices[level]
        smp = getattr(spillover, "samples", {}).get(level)
        if rule.kind == "polluter_pays":
            if rule.price is None:  # was taken as a price of 0: no transfers
                msg = f"{where} needs a price per kg"
                raise InputError(msg)
            allowance: float | pd.DataFrame = rule.allowance_kg_day
            if rule.allowances is not None:
                allowance = read_table(
                    rule.allowances,
                    what=f"[[compensation.rules]] {rule.name!r} allowances",
                    dtype={"origin": str, "receptor": str},
                )
            t = polluter_pays(
                matrix, price=float(rule.price or 0.0), currency=rule.currency,
                allowance=allowance, days_per_year=rule.days_per_year, samples=smp, rule=rule.name,
                level_name=level, illustrative=rule.illustrative, source=rule.source,
            )  # fmt: skip
            detail = f"{len(t.table)} origin-receptor pairs above their allowance"
        else:
            if rule.payee is None or rule.cost is None:  # were "None generates no load", cost 0
                msg = f"{where} needs a payee and a cost"
                raise InputError(msg)
            if rule.payee not in matrix.index:
                report.append(
                    _rule_row(rule, "not evaluated", f"{rule.payee} generates no load", None)
                )
                continue
            t = beneficiary_pays(
                matrix, payee=str(rule.payee), cost=float(rule.cost or 0.0),
                currency=rule.currency, payee_bears_own_share=rule.payee_bears_own_share,
                samples=smp, rule=rule.name, level_name=level,
                illustrative=rule.illustrative, source=rule.source,
            )  # fmt: skip
            detail = (
                f"{len(t.table)} receptors share {rule.payee}'s protection cost"
                if len(t.table)
                else f"no receptor benefits from a cut in {rule.payee}'s load"
            )
        parts.append(t)
        report.append(_rule_row(rule, "evaluated", detail, t))
    transfers = Transfers.concat(parts) if parts else _rows_to_transfers([], [])
    rules_df = pd.DataFrame(
        report,
        columns=["rule", "kind", "level_name", "status", "detail", "n_transfers", "total",
                 "currency", "illustrative", "source"],
    )  # fmt: skip
    return CompensationResult(transfers=transfers, settlement=settle(transfers), rules=rules_df)
