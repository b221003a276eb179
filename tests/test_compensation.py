"""Tests for basingov.compensation: golden cases worked by hand, netting, edge cases, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from basingov.compensation import (
    TRANSFER_COLUMNS,
    Transfers,
    beneficiary_pays,
    evaluate_rules,
    period_means,
    polluter_pays,
    section_index,
    settle,
    two_way_section,
)
from basingov.config import CompensationRule, load_config
from basingov.errors import ConfigError, InputError
from basingov.spillover import MonteCarloSamples, SpilloverResult

# A Xin'an-style case, values chosen by hand (mg/L):
#   baseline C_i0: CODMn 2.0, NH3-N 0.10, TN 1.00, TP 0.020
BASELINE = {"CODMn": 2.0, "NH3-N": 0.10, "TN": 1.00, "TP": 0.020}


# --- two-way section index --------------------------------------------------------------
def test_section_index_golden_below_threshold() -> None:
    # C_i / C_i0 = 1.8/2.0, 0.09/0.10, 1.10/1.00, 0.018/0.020 = 0.9, 0.9, 1.1, 0.9
    # sum = 3.8; P = 0.85 * 3.8 = 3.23 <= 4 -> downstream (ZJ) pays upstream (AH).
    conc = {"CODMn": 1.8, "NH3-N": 0.09, "TN": 1.10, "TP": 0.018}
    assert section_index(conc, BASELINE, k0=0.85) == pytest.approx(3.23)
    t = two_way_section(conc, BASELINE, upstream="AH", downstream="ZJ", amount=1e8, currency="CNY")
    row = t.table.iloc[0]
    assert (row["payer"], row["payee"], row["amount"], row["currency"]) == (
        "ZJ",
        "AH",
        1e8,
        "CNY",
    )
    inputs = json.loads(row["inputs"])
    assert inputs["P"] == pytest.approx(3.23)
    assert inputs["threshold"] == 4.0  # default: one per indicator
    assert "P = 3.23 <= 4" in row["basis"]
    # a fixed amount has no model band
    assert row["amount_p5"] == row["amount_p95"] == 1e8
    assert list(t.table.columns) == TRANSFER_COLUMNS


def test_section_index_golden_above_threshold() -> None:
    # ratios 1.5, 1.2, 1.3, 1.4 -> sum 5.4; P = 0.85 * 5.4 = 4.59 > 4
    # -> upstream (AH) pays downstream (ZJ) the amount_if_exceeded, 5e7.
    conc = {"CODMn": 3.0, "NH3-N": 0.12, "TN": 1.30, "TP": 0.028}
    assert section_index(conc, BASELINE) == pytest.approx(4.59)
    t = two_way_section(
        conc,
        BASELINE,
        upstream="AH",
        downstream="ZJ",
        amount=1e8,
        amount_if_exceeded=5e7,
        currency="CNY",
    )
    assert t.table[["payer", "payee", "amount"]].values.tolist() == [["AH", "ZJ", 5e7]]
    assert "4.59 > 4" in t.table["basis"].iloc[0]


def test_section_index_at_threshold_counts_as_met() -> None:
    # all ratios 1/0.85 -> P = 0.85 * 4 / 0.85 = 4 exactly; "at most the threshold" -> met
    conc = {k: v / 0.85 for k, v in BASELINE.items()}
    assert section_index(conc, BASELINE) == pytest.approx(4.0)
    t = two_way_section(
        conc, BASELINE, upstream="AH", downstream="ZJ", amount=1.0, currency="CNY",
        threshold=4.0 + 1e-12,
    )  # fmt: skip
    assert t.table["payer"].tolist() == ["ZJ"]


def test_section_index_zero_cases() -> None:
    # zero concentrations: P = 0 -> met; a zero amount gives no transfer at all
    zero = dict.fromkeys(BASELINE, 0.0)
    assert section_index(zero, BASELINE) == 0.0
    t = two_way_section(zero, BASELINE, upstream="A", downstream="B", amount=0.0, currency="X")
    assert len(t.table) == 0
    assert t.samples.shape == (0, 0)
    # k0 = 0 gives P = 0 whatever the water
    assert section_index({"TP": 5.0}, {"TP": 0.02}, k0=0.0) == 0.0


def test_section_index_errors() -> None:
    with pytest.raises(InputError, match=r"no baseline for indicator\(s\) \['TP'\]"):
        section_index({"CODMn": 2.0, "TP": 0.02}, {"CODMn": 2.0})
    with pytest.raises(InputError, match=r"no period mean for indicator\(s\) \['TN'\]"):
        section_index({"TP": 0.02}, {"TP": 0.02, "TN": 1.0}, indicators=["TP", "TN"])
    with pytest.raises(InputError, match=r"baseline is 0 mg/L for \['TP'\]"):
        section_index({"TP": 0.02}, {"TP": 0.0})
    with pytest.raises(InputError, match=r"concentrations must be finite .* \['TP=-0.1'\]"):
        section_index({"TP": -0.1}, {"TP": 0.02})
    with pytest.raises(InputError, match=r"baseline must be finite .* \['TP=nan'\]"):
        section_index({"TP": 0.1}, {"TP": float("nan")})
    with pytest.raises(InputError, match="k0 must be a finite number >= 0, got -1"):
        section_index({"TP": 0.1}, {"TP": 0.1}, k0=-1)
    with pytest.raises(InputError, match="at least one indicator"):
        section_index({}, {})
    with pytest.raises(InputError, match="amount must be a finite amount >= 0, got -5"):
        two_way_section(
            {"TP": 0.1}, {"TP": 0.1}, upstream="A", downstream="B", amount=-5, currency="X"
        )
    with pytest.raises(InputError, match="two parties, got 'A' twice"):
        two_way_section(
            {"TP": 0.1}, {"TP": 0.1}, upstream="A", downstream="A", amount=5, currency="X"
        )


def test_period_means_from_observations() -> None:
    obs = pd.DataFrame(
        {
            "station_id": ["S", "S", "S", "S", "T"],
            "time": ["2012-01-01", "2012-12-31T23:00", "2013-01-01", "2012-05-01", "2012-05-01"],
            "parameter": ["TP", "TP", "TP", "TN", "TP"],
            "value": [0.02, 0.04, 9.0, 1.0, 5.0],
            "unit": ["mg/L P", "mg/L P", "mg/L P", "ug/L", "mg/L P"],
        }
    )
    # 2013 row out of period, TN row in ug/L ignored, station T ignored: TP = (0.02+0.04)/2
    got = period_means(obs, station="S", parameters=["TP", "TN"], start="2012-01-01",
                       end="2012-12-31")  # fmt: skip
    assert got == {"TP": pytest.approx(0.03)}
    with pytest.raises(InputError, match=r"lacks column\(s\) \['unit'\]"):
        period_means(obs.drop(columns="unit"), station="S", parameters=["TP"],
                     start="2012-01-01", end="2012-12-31")  # fmt: skip


def test_period_means_refuses_unreadable_dates() -> None:
    # a row whose time was not ISO 8601 was silently left out of the mean (0.04, not 0.03),
    # mixed offsets raised pandas' ValueError, and start=None gave an empty result
    obs = pd.DataFrame(
        {
            "station_id": ["S"] * 2,
            "time": ["05/01/2012", "2012-06-01"],
            "parameter": ["TP"] * 2,
            "value": [0.02, 0.04],
            "unit": ["mg/L P"] * 2,
        }
    )
    span = {"station": "S", "parameters": ["TP"], "start": "2012-01-01", "end": "2012-12-31"}
    with pytest.raises(InputError, match=r"not an ISO 8601 date at station 'S': \['05/01/2012'\]"):
        period_means(obs, **span)
    mixed = obs.assign(time=["2012-01-05T00:00+08:00", "2012-06-01T00:00+00:00"])
    with pytest.raises(InputError, match="mixes time zones at station 'S'"):
        period_means(mixed, **span)
    with pytest.raises(InputError, match="is not a pair of ISO dates"):
        period_means(obs.assign(time=["2012-01-05", "2012-06-01"]), **{**span, "start": None})


def test_rule_from_a_station_without_a_period_is_an_input_error() -> None:
    # an IndexError (period[0] of an empty tuple) before
    obs = pd.DataFrame(
        {"station_id": ["S"], "time": ["2012-06-01"], "parameter": ["TP"], "value": [0.02],
         "unit": ["mg/L P"]}
    )  # fmt: skip
    r = CompensationRule(kind="section_index", name="x", currency="CNY", upstream="AH",
        downstream="ZJ", amount=1e8, concentrations={"TP": 0.02}, station="S",
        indicators=("TP",))  # fmt: skip
    with pytest.raises(InputError, match=r"its baseline_period is \(\); give baseline_period"):
        evaluate_rules([r], observations=obs)


def test_parameters_that_are_not_numbers_raise_input_errors() -> None:
    # None or text raised a raw TypeError/ValueError from math.isfinite or float()
    with pytest.raises(InputError, match="price must be a finite number >= 0 per kg, got None"):
        polluter_pays(MATRIX, price=None, currency="EUR")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="days_per_year must be a finite number >= 0, got '365'"):
        polluter_pays(MATRIX, price=1.0, currency="EUR", days_per_year="365")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="allowance must be a finite load >= 0 kg/day, got None"):
        polluter_pays(MATRIX, price=1.0, currency="EUR", allowance=None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="cost must be a finite amount >= 0, got None"):
        beneficiary_pays(MATRIX, payee="A", cost=None, currency="EUR")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="k0 must be a finite number >= 0, got None"):
        section_index({"TP": 0.02}, {"TP": 0.02}, k0=None)  # type: ignore[arg-type]
    kw = {"upstream": "AH", "downstream": "ZJ", "currency": "CNY"}
    with pytest.raises(InputError, match="amount must be a finite amount >= 0, got None"):
        two_way_section({"TP": 0.02}, {"TP": 0.02}, amount=None, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="threshold must be a finite number >= 0, got 'x'"):
        two_way_section({"TP": 0.02}, {"TP": 0.02}, amount=1.0, threshold="x", **kw)  # type: ignore[arg-type]


# --- polluter pays ----------------------------------------------------------------------
MATRIX = pd.DataFrame(
    [[10.0, 6.0, 2.0], [0.0, 5.0, 4.0], [0.0, 0.0, 3.0]],
    index=["A", "B", "C"],
    columns=["A", "B", "C"],
)


def test_polluter_pays_golden() -> None:
    # price 2 /kg, 365 d, allowance 1 kg/day for every pair:
    #   A->B: 2*365*(6-1) = 3650; A->C: 2*365*(2-1) = 730; B->C: 2*365*(4-1) = 2190
    #   the diagonal (own waters) and empty cells pay nothing
    t = polluter_pays(MATRIX, price=2.0, currency="EUR", allowance=1.0)
    got = {(r.payer, r.payee): r.amount for r in t.table.itertuples()}
    assert got == {("A", "B"): 3650.0, ("A", "C"): 730.0, ("B", "C"): 2190.0}


def test_polluter_pays_allowance_table_and_zero_edges() -> None:
    # A->B allowance 6 (= S) -> zero, no row; B->C allowance 10 (> S) -> max(0, -6) = 0
    allow = pd.DataFrame(
        {"origin": ["A", "B"], "receptor": ["B", "C"], "allowance_kg_day": [6.0, 10.0]}
    )
    t = polluter_pays(MATRIX, price=1.0, currency="EUR", allowance=allow, days_per_year=1)
    assert t.table[["payer", "payee", "amount"]].values.tolist() == [["A", "C", 2.0]]
    # a zero price gives no transfers at all
    assert len(polluter_pays(MATRIX, price=0.0, currency="EUR").table) == 0


def test_polluter_pays_errors() -> None:
    with pytest.raises(InputError, match="price must be a finite number >= 0 per kg, got -1"):
        polluter_pays(MATRIX, price=-1.0, currency="EUR")
    with pytest.raises(InputError, match="allowance must be a finite load >= 0"):
        polluter_pays(MATRIX, price=1.0, currency="EUR", allowance=-2.0)
    bad = MATRIX.copy()
    bad.loc["A", "B"] = -1.0
    with pytest.raises(InputError, match="finite loads >= 0"):
        polluter_pays(bad, price=1.0, currency="EUR")
    allow = pd.DataFrame({"origin": ["A", "A"], "receptor": ["B", "B"], "allowance_kg_day": [1, 2]})
    with pytest.raises(InputError, match=r"repeats pair\(s\) \[\['A', 'B'\]\]"):
        polluter_pays(MATRIX, price=1.0, currency="EUR", allowance=allow)
    # an allowance naming an id the matrix does not have was silently never applied
    typo = pd.DataFrame({"origin": ["a"], "receptor": ["B"], "allowance_kg_day": [6.0]})
    with pytest.raises(InputError, match=r"allowance table names \['a'\], which are not"):
        polluter_pays(MATRIX, price=1.0, currency="EUR", allowance=typo)


def test_polluter_pays_bands_from_runs() -> None:
    # three runs with S[A,B] = 2, 6, 10 (ids in another order than the matrix):
    # amounts 1 * 1 * (S - 1) = 1, 5, 9 -> p50 = 5, p5 = 1 + 0.1*(5-1) = 1.4
    ids = ("C", "B", "A")
    runs = np.zeros((3, 3, 3))
    for k, v in enumerate([2.0, 6.0, 10.0]):
        runs[k, 2, 1] = v  # origin A (pos 2), receptor B (pos 1)
    mc = MonteCarloSamples.from_dense(level="country", ids=ids, samples=runs)
    t = polluter_pays(MATRIX, price=1.0, currency="EUR", allowance=1.0, days_per_year=1, samples=mc)
    ab = t.table[(t.table["payer"] == "A") & (t.table["payee"] == "B")].iloc[0]
    assert ab["amount"] == 5.0  # central matrix: 6 - 1
    assert (ab["amount_p5"], ab["amount_p50"], ab["amount_p95"]) == pytest.approx((1.4, 5.0, 8.6))
    assert t.samples.shape == (len(t.table), 3)


# --- beneficiary pays --------------------------------------------------------------------
def test_beneficiary_pays_golden() -> None:
    # U's load: 2 stays home, 6 reaches A, 2 reaches B (kg/day); cost 1000.
    # own share counted: total 10 -> A pays 600, B pays 200, U bears 200 itself.
    m = pd.DataFrame(
        [[2.0, 6.0, 2.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]],
        index=["U", "A", "B"],
        columns=["U", "A", "B"],
    )
    t = beneficiary_pays(m, payee="U", cost=1000.0, currency="EUR")
    assert t.table[["payer", "payee", "amount"]].values.tolist() == [
        ["A", "U", 600.0],
        ["B", "U", 200.0],
    ]
    # without its own share: total 8 -> A 750, B 250 (the whole cost)
    t2 = beneficiary_pays(m, payee="U", cost=1000.0, currency="EUR", payee_bears_own_share=False)
    assert t2.table["amount"].tolist() == [750.0, 250.0]
    assert t2.table["amount"].sum() == pytest.approx(1000.0)


def test_beneficiary_pays_edges_and_errors() -> None:
    m = pd.DataFrame([[4.0, 0.0], [0.0, 1.0]], index=["U", "A"], columns=["U", "A"])
    # nothing of U's load reaches anyone else: no transfers
    assert len(beneficiary_pays(m, payee="U", cost=10.0, currency="EUR").table) == 0
    # zero cost: no transfers
    m2 = pd.DataFrame([[1.0, 1.0], [0.0, 1.0]], index=["U", "A"], columns=["U", "A"])
    assert len(beneficiary_pays(m2, payee="U", cost=0.0, currency="EUR").table) == 0
    with pytest.raises(InputError, match=r"payee 'Z' is not an origin .* \['U', 'A'\]"):
        beneficiary_pays(m2, payee="Z", cost=1.0, currency="EUR")
    with pytest.raises(InputError, match="cost must be a finite amount >= 0, got -1"):
        beneficiary_pays(m2, payee="U", cost=-1.0, currency="EUR")


def test_beneficiary_pays_bands_are_shares_per_run() -> None:
    # run 1: U->A 1, U->B 1 (A share 1/2); run 2: U->A 3, U->B 1 (3/4); own load 0.
    # cost 100 without own share: A pays 50 and 75 -> the band spans [50, 75]
    ids = ("U", "A", "B")
    runs = np.zeros((2, 3, 3))
    runs[0, 0, 1], runs[0, 0, 2] = 1.0, 1.0
    runs[1, 0, 1], runs[1, 0, 2] = 3.0, 1.0
    m = pd.DataFrame(runs.mean(axis=0), index=list(ids), columns=list(ids))
    t = beneficiary_pays(
        m, payee="U", cost=100.0, currency="EUR", payee_bears_own_share=False,
        samples=MonteCarloSamples.from_dense(level="x", ids=ids, samples=runs),
    )  # fmt: skip
    a = t.table[t.table["payer"] == "A"].iloc[0]
    assert a["amount"] == pytest.approx(100 * 2 / 3)  # mean matrix: 2 of 3
    assert a["amount_p5"] == pytest.approx(50 + 0.05 * 25)
    assert a["amount_p95"] == pytest.approx(50 + 0.95 * 25)
    # each run's transfers add up to the cost
    np.testing.assert_allclose(t.samples.sum(axis=0), [100.0, 100.0])


# --- netting -----------------------------------------------------------------------------
def test_five_jurisdiction_chain_nets_to_one_payment() -> None:
    # A -> B -> C -> D -> E, 100 each: B, C, D pass money on (net 0); A owes 100, E is owed
    # 100 -> one payment A -> E of 100.
    t = pd.DataFrame(
        {"payer": list("ABCD"), "payee": list("BCDE"), "amount": [100.0] * 4,
         "currency": ["EUR"] * 4}
    )  # fmt: skip
    s = settle(t)
    assert s.transfers[["payer", "payee", "amount"]].values.tolist() == [["A", "E", 100.0]]
    pos = s.positions.set_index("party")["net"]
    assert pos.to_dict() == {"A": -100.0, "B": 0.0, "C": 0.0, "D": 0.0, "E": 100.0}


def test_five_jurisdiction_loop_nets_out_completely() -> None:
    # A -> B -> C -> D -> E -> A, 70 each: everyone pays 70 and receives 70 -> nothing left
    t = pd.DataFrame(
        {"payer": list("ABCDE"), "payee": list("BCDEA"), "amount": [70.0] * 5,
         "currency": ["CNY"] * 5}
    )  # fmt: skip
    s = settle(t)
    assert len(s.transfers) == 0
    assert (s.positions["net"] == 0).all()


def test_uneven_chain_and_currencies_net_separately() -> None:
    # EUR: A->B 100, B->C 60, C->D 60, D->E 30 -> nets A -100, B +40, D -30... by hand:
    #   A: -100; B: +100-60 = +40; C: +60-60 = 0; D: +60-30 = +30; E: +30
    #   creditors B 40, D 30, E 30; debtor A 100 -> A pays B 40, then D 30 and E 30
    #   (ties between D and E broken by id, largest id first)
    # CNY: Z->Y 5 stays as it is (never netted against EUR)
    t = pd.DataFrame(
        {
            "payer": ["A", "B", "C", "D", "Z"],
            "payee": ["B", "C", "D", "E", "Y"],
            "amount": [100.0, 60.0, 60.0, 30.0, 5.0],
            "currency": ["EUR"] * 4 + ["CNY"],
        }
    )
    s = settle(t)
    got = s.transfers[["payer", "payee", "amount", "currency"]].values.tolist()
    assert got == [
        ["Z", "Y", 5.0, "CNY"],
        ["A", "B", 40.0, "EUR"],
        ["A", "E", 30.0, "EUR"],
        ["A", "D", 30.0, "EUR"],
    ]
    # netting preserves every party's position
    for cur, grp in s.positions.groupby("currency"):
        sub = s.transfers[s.transfers["currency"] == cur]
        net = (
            sub.groupby("payee")["amount"]
            .sum()
            .sub(sub.groupby("payer")["amount"].sum(), fill_value=0)
        )
        np.testing.assert_allclose(
            net.reindex(grp["party"]).fillna(0).to_numpy(), grp["net"].to_numpy()
        )


def test_settle_edge_cases() -> None:
    empty = pd.DataFrame(columns=["payer", "payee", "amount", "currency"])
    assert len(settle(empty).transfers) == 0
    zero = pd.DataFrame({"payer": ["A"], "payee": ["B"], "amount": [0.0], "currency": ["EUR"]})
    assert len(settle(zero).transfers) == 0
    neg = pd.DataFrame({"payer": ["A"], "payee": ["B"], "amount": [-5.0], "currency": ["EUR"]})
    with pytest.raises(InputError, match="swap payer and payee"):
        settle(neg)
    selfpay = pd.DataFrame({"payer": ["A"], "payee": ["A"], "amount": [5.0], "currency": ["E"]})
    with pytest.raises(InputError, match=r"cannot pay itself; self-transfers for \['A'\]"):
        settle(selfpay)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['currency'\]"):
        settle(zero.drop(columns="currency"))
    nan = zero.assign(amount=[np.nan])
    with pytest.raises(InputError, match="must be finite numbers"):
        settle(nan)


def test_matrix_rules_refuse_repeated_ids_and_text_cells() -> None:
    # a repeated id made every cell a self-transfer (polluter pays: silently nothing) or
    # two rows for one payer (beneficiary pays); a text cell raised a raw ValueError
    dup = pd.DataFrame([[0.0, 1.0], [3.0, 0.0]], index=["A", "A"], columns=["A", "A"])
    with pytest.raises(InputError, match=r"repeats origin id\(s\) \['A'\]"):
        polluter_pays(dup, price=1.0, currency="EUR")
    dup_cols = pd.DataFrame([[1.0, 3.0], [1.0, 0.0]], index=["A", "B"], columns=["B", "B"])
    with pytest.raises(InputError, match=r"repeats receptor id\(s\) \['B'\]"):
        beneficiary_pays(dup_cols, payee="A", cost=100.0, currency="EUR")
    text = pd.DataFrame([["1", "x"], ["0", "1"]], index=["A", "B"], columns=["A", "B"])
    with pytest.raises(InputError, match="must hold numbers"):
        polluter_pays(text, price=1.0, currency="EUR")


def test_settle_refuses_missing_parties_and_currencies() -> None:
    # a transfer without a currency was dropped from the settlement and the positions
    # (money vanished); one without a payer raised a TypeError from sorting the parties
    t = pd.DataFrame(
        {"payer": ["A", "B"], "payee": ["B", "C"], "amount": [5.0, 2.0], "currency": ["EUR"] * 2}
    )
    with pytest.raises(InputError, match=r"rows \[1\] lack \['currency'\]"):
        settle(t.assign(currency=["EUR", None]))
    with pytest.raises(InputError, match=r"rows \[0\] lack \['payer'\]"):
        settle(t.assign(payer=[np.nan, "B"]))
    with pytest.raises(InputError, match=r"finite numbers; bad rows \[1\]"):
        settle(t.assign(amount=[5.0, np.inf]))


@pytest.mark.parametrize("tolerance", [-1.0, float("nan"), float("inf")])
def test_settle_refuses_a_bad_tolerance(tolerance: float) -> None:
    # a negative or NaN tolerance never let a paid-off debt count as settled: the netting
    # loop ran forever, appending payments
    t = pd.DataFrame({"payer": ["A"], "payee": ["B"], "amount": [1.0], "currency": ["EUR"]})
    with pytest.raises(InputError, match=r"tolerance must be a finite number >= 0"):
        settle(t, tolerance=tolerance)


def test_settle_takes_a_tolerance_written_as_text() -> None:
    # the check read "1e-9" as a number, then the netting multiplied the text itself
    t = pd.DataFrame({"payer": list("AB"), "payee": list("BC"), "amount": [100.0, 100.0],
                      "currency": ["EUR", "EUR"]})  # fmt: skip
    got = settle(t, tolerance="1e-9").transfers[["payer", "payee", "amount"]]  # type: ignore[arg-type]
    assert got.values.tolist() == [["A", "C", 100.0]]


def test_settlement_bands_from_runs() -> None:
    # two transfers over 3 runs: A->B (1, 2, 3) and B->C (1, 1, 1): B's net = 0, 1, 2
    t = Transfers(
        table=pd.DataFrame(
            {"payer": ["A", "B"], "payee": ["B", "C"], "amount": [2.0, 1.0], "currency": ["E"] * 2}
        ),
        samples=np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),
    )
    pos = settle(t).positions.set_index("party")
    assert pos.loc["B", "net_p50"] == pytest.approx(1.0)
    assert pos.loc["B", "net_p5"] == pytest.approx(0.1)
    assert pos.loc["A", "net_p95"] == pytest.approx(-1.1)


# --- rule sets from the config -----------------------------------------------------------
def test_evaluate_rules_reports_missing_data_and_checks_parties() -> None:
    r = CompensationRule(
        kind="section_index", name="canal", currency="CNY", upstream="A", downstream="B",
        amount=1.0, station="S1", period=("2017-01-01", "2017-12-31"),
        baseline_period=("2012-01-01", "2014-12-31"),
    )  # fmt: skip
    res = evaluate_rules([r], observations=pd.DataFrame(
        {"station_id": [], "time": [], "parameter": [], "value": [], "unit": []}))  # fmt: skip
    row = res.rules.iloc[0]
    assert row["status"] == "not evaluated"
    assert "station 'S1' has no mg/L observations" in row["detail"]
    assert len(res.transfers.table) == 0
    with pytest.raises(InputError, match=r"names jurisdiction\(s\) \['B'\] that the basin"):
        evaluate_rules([r], jurisdictions=["A"])
    pp = CompensationRule(kind="polluter_pays", name="pp", currency="EUR", level="c", price=1.0)
    res = evaluate_rules([pp])
    assert res.rules.iloc[0]["detail"].startswith("no source-receptor matrix")


def test_evaluate_rules_refuses_rules_built_without_their_values() -> None:
    # rules built in code skip the config checks: an unknown kind was evaluated as
    # beneficiary pays, a missing price as 0 (no transfers), a missing payee as "None
    # generates no load"
    m = pd.DataFrame([[1.0, 3.0], [0.0, 1.0]], index=["A", "B"], columns=["A", "B"])
    empty = pd.DataFrame()
    sp = SpilloverResult(levels=("c",), matrices={"c": m}, matrix_long=empty,
        crossing_flux=empty, indicators=empty, balance=empty, reach_loads=empty,
        bands=empty)  # fmt: skip
    rule = {"name": "r", "currency": "EUR", "level": "c"}
    with pytest.raises(InputError, match=r"kind must be one of \['section_index'"):
        evaluate_rules(
            [CompensationRule(kind="beneficiary", payee="A", cost=1.0, **rule)], spillover=sp
        )
    with pytest.raises(InputError, match=r"'r' \(polluter_pays\) needs a price per kg"):
        evaluate_rules([CompensationRule(kind="polluter_pays", **rule)], spillover=sp)
    with pytest.raises(InputError, match=r"'r' \(beneficiary_pays\) needs a payee and a cost"):
        evaluate_rules([CompensationRule(kind="beneficiary_pays", cost=1.0, **rule)], spillover=sp)


def test_config_compensation_rules(tmp_path: Path) -> None:
    base = (Path(__file__).parent / "test_config.py").read_text(encoding="utf-8")
    minimal = base.split('MINIMAL = """', 1)[1].split('"""', 1)[0]
    good = (
        minimal
        + """
[[compensation.rules]]
kind = "section_index"
name = "two-way"
upstream = "A"
downstream = "B"
amount = 1e8
currency = "CNY"
concentrations = {TP = 0.02}
baseline = {TP = 0.025}
indicators = ["TP"]

[[compensation.rules]]
kind = "polluter_pays"
name = "pp"
level = "country"
price = 1.5
currency = "EUR"
illustrative = true

[priority]
weights = {exceedance = 0.0}
high = 0.7
"""
    )
    p = tmp_path / "toy.toml"
    p.write_text(good, encoding="utf-8")
    cfg = load_config(p)
    assert [r.kind for r in cfg.compensation.rules] == ["section_index", "polluter_pays"]
    assert cfg.compensation.rules[0].baseline == {"TP": 0.025}
    assert cfg.compensation.rules[1].illustrative is True
    assert cfg.priority.weights["exceedance"] == 0.0
    assert cfg.priority.weights["transboundary_load"] == 0.35  # default kept
    bad = (
        good.replace("price = 1.5", 'price = 1.5\nupstream = "A"')
        .replace('level = "country"', 'level = "county"')
        .replace("{exceedance = 0.0}", "{exceedence = 1.0}")
    )
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    text = str(err.value)
    assert "unknown key(s) ['upstream'] in [[compensation.rules]] #2 (polluter_pays)" in text
    assert "unknown indicator(s) ['exceedence'] in [priority].weights" in text
    assert "level 'county' is not one of [boundaries].levels ['country', 'region']" in text
    missing = good.replace("concentrations = {TP = 0.02}\n", "")
    p.write_text(missing, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"needs the period means: 'concentrations'"):
        load_config(p)
    kind = good.replace('kind = "polluter_pays"', 'kind = "robin_hood"')
    p.write_text(kind, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kind must be one of \['section_index', 'polluter"):
        load_config(p)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_polluter_pays_lists_the_cells_a_loop_over_every_cell_lists(seed):
    # the paying pairs are found in array code; the rows (order, amounts, bases) are those
    # of a loop over every cell, which leaves out the diagonal and the outside id ""
    rng = np.random.default_rng(seed)
    n = 40
    ids = [f"U{i}" for i in range(n - 1)] + [""]
    rec = list(rng.permutation(ids))  # the receptors in another order than the origins
    vals = rng.uniform(0, 10, (n, n)) * (rng.random((n, n)) < 0.3)
    m = pd.DataFrame(vals, index=ids, columns=rec)
    allow = pd.DataFrame(
        {"origin": rng.choice(ids, 200), "receptor": rng.choice(ids, 200),
         "allowance_kg_day": rng.uniform(0, 5, 200)}
    ).drop_duplicates(["origin", "receptor"])  # fmt: skip
    t = polluter_pays(m, price=2.5, currency="EUR", allowance=allow).table
    a = allow.set_index(["origin", "receptor"])["allowance_kg_day"]
    want = []
    for o in ids:
        for r in rec:
            if o == r or "" in (o, r):
                continue
            excess = m.loc[o, r] - a.get((o, r), 0.0)
            if excess > 0:
                want.append((o, r, 2.5 * 365.0 * excess))
    assert len(want) > 50
    assert list(zip(t["payer"], t["payee"], strict=True)) == [(o, r) for o, r, _ in want]
    assert t["amount"].tolist() == [x for _, _, x in want]
