"""Unit traps: NH4 vs NH4-N, ug/L vs mg/L, a missing unit; each error names column and fix."""

from __future__ import annotations

import pandas as pd
import pytest

from basingov.errors import InputError
from basingov.monitoring import (
    CODES,
    canonical_unit,
    conversion_factor,
    normalise_observations,
    read_observations,
)


def obs(parameter, value, unit, n=1):
    return pd.DataFrame(
        {
            "station_id": ["S1"] * n,
            "time": [f"2020-01-{i + 1:02d}" for i in range(n)],
            "parameter": [parameter] * n,
            "value": [value] * n,
            "unit": [unit] * n,
            "flag": [""] * n,
        }
    )


def test_canonical_codes_and_units():
    assert CODES == ("DO", "CODMn", "COD", "BOD5", "NH3-N", "NH4", "NO3-N", "TN", "TP", "Cl",
                     "pH", "SS", "Q")  # fmt: skip
    assert canonical_unit("NO3-N") == "mg/L N"
    with pytest.raises(InputError, match=r"unknown parameter code 'Zn'; the canonical codes"):
        canonical_unit("Zn")


def test_nh4_as_ion_is_converted_and_plain_mg_l_is_refused():
    # 1 mg/L of the NH4+ ion holds 14.0067/18.03846 mg/L of nitrogen
    out = normalise_observations(obs("NH4", 1.0, "mg/L NH4"))
    assert out["value"].iloc[0] == pytest.approx(14.0067 / 18.03846)
    assert out["unit"].iloc[0] == "mg/L N"
    assert out["source_unit"].iloc[0] == "mg/L NH4"
    # NH4-N (named as nitrogen) in plain mg/L is unambiguous
    out = normalise_observations(obs("NH4-N", 0.7, "mg/L"))
    assert (out["parameter"].iloc[0], out["value"].iloc[0]) == ("NH4", 0.7)
    # ... but NH4 in plain mg/L is the trap
    with pytest.raises(
        InputError,
        match=(
            r"column 'unit' is 'mg/L' for parameter 'NH4' in 1 row\(s\), e\.g\. S1 2020-01-01.*"
            r"ambiguous.*write 'mg/L N' if the values are NH4 as N.*or 'mg/L NH4' if they are "
            r"the NH4 ion"
        ),
    ):
        normalise_observations(obs("NH4", 1.0, "mg/L"))


@pytest.mark.parametrize(
    ("code", "unit", "factor"),
    [
        ("TP", "ug/L", 1e-3),
        ("TP", "µg/L", 1e-3),
        ("TP", "μg/l", 1e-3),
        ("TP", "mg/L as P", 1.0),
        ("TP", "mg/L PO4", 30.973762 / 94.971362),
        ("NO3-N", "mg NO3/L", 14.0067 / 62.0049),
        ("NO3-N", "mg N/L", 1.0),
        ("NH3-N", "mg/L", 1.0),
        ("TN", "ug/L", 1e-3),
        ("Cl", "g/m3", 1.0),
        ("Q", "l/s", 1e-3),
        ("Q", "L/s", 1e-3),
        ("Q", "m³/s", 1.0),
        ("Q", "m3/s", 1.0),
        ("Q", "cfs", 0.028316846592),  # 1 ft3 = 0.3048**3 m3 exactly
        ("Q", "ft3/s", 0.028316846592),
        ("Q", "ft³/s", 0.028316846592),
        ("pH", "pH", 1.0),
    ],
)
def test_conversion_factors(code, unit, factor):
    assert conversion_factor(code, unit) == pytest.approx(factor)


def test_ug_l_is_converted_and_ug_values_written_as_mg_l_are_caught():
    out = normalise_observations(obs("TP", 120.0, "ug/L"))
    assert out["value"].iloc[0] == pytest.approx(0.12)
    assert out["unit"].iloc[0] == "mg/L P"
    # TP of 150 "mg/L" is 150 ug/L mislabelled: no river has a median of 150 mg/L P
    with pytest.raises(
        InputError,
        match=r"column 'value': station S1 TP has a median of 150 mg/L P .*look like ug/L: write "
        r"'ug/L' in column 'unit'",
    ):
        normalise_observations(obs("TP", 150.0, "mg/L", n=3))


def test_missing_unit_names_the_column_and_the_fix():
    with pytest.raises(
        InputError,
        match=r"column 'unit' is '' for parameter 'TP' in 1 row\(s\).*TP has no unit; write "
        r"'mg/L P'",
    ):
        normalise_observations(obs("TP", 0.1, None))
    with pytest.raises(InputError, match=r"pH has unit 'mg/L'; pH is dimensionless: write 'pH'"):
        normalise_observations(obs("pH", 7.0, "mg/L"))
    with pytest.raises(InputError, match=r"species 'N' cannot be TP; write 'mg/L P'"):
        normalise_observations(obs("TP", 0.1, "mg/L N"))
    with pytest.raises(
        InputError, match=r"DO has unit 'mg/L N'; DO is not expressed as an element"
    ):
        normalise_observations(obs("DO", 8.0, "mg/L N"))


def test_all_problems_are_reported_at_once():
    bad = pd.concat([obs("TP", 0.1, ""), obs("NH4", 0.2, "mg/L"), obs("Cl", "x", "mg/L")])
    with pytest.raises(InputError, match=r"3 problem\(s\)") as info:
        normalise_observations(bad, source="my.csv")
    text = str(info.value)
    assert text.startswith("my.csv: 3 problem(s)")
    assert "column 'value' is not numeric" in text
    assert "'NH4'" in text
    assert "TP has no unit" in text


def test_structure_errors():
    with pytest.raises(InputError, match=r"lacks column\(s\) \['unit'\]; .*the long format needs"):
        normalise_observations(obs("TP", 0.1, "mg/L").drop(columns="unit"))
    bad_time = obs("TP", 0.1, "mg/L").assign(time="31/05/2020")
    with pytest.raises(InputError, match="column 'time' is not an ISO 8601 date"):
        normalise_observations(bad_time)
    with pytest.raises(InputError, match=r"Observation table .*missing\.csv does not exist"):
        read_observations("missing.csv")


@pytest.mark.parametrize(
    "times",
    [
        ["2020-01-01T09:00+08:00", "2020-01-02T09:00+00:00"],
        ["2020-01-01T09:00+08:00", "2020-01-02"],
    ],
)
def test_mixed_time_zones_are_named_not_a_pandas_error(times):
    # pandas raised "Mixed timezones detected. Pass utc=True in to_datetime ..."
    o = obs("TP", 0.1, "mg/L", n=2).assign(time=times)
    with pytest.raises(InputError, match=r"column 'time' mixes time zones.*one zone") as info:
        normalise_observations(o, source="my.csv")
    assert str(info.value).startswith("my.csv: 1 problem(s)")


def test_negative_concentrations_are_refused_unless_flagged():
    # a concentration below 0 took the best class (a TP mean of -0.15 mg/L was class I,
    # exceedance ratio -0.75) and entered the trends
    bad = pd.concat(
        [obs("SS", -2.5, "mg/L", n=3), obs("TP", -150.0, "ug/L").assign(station_id="S2"),
         obs("TP", 0.1, "mg/L")]
    )  # fmt: skip
    with pytest.raises(
        InputError,
        match=r"my\.csv: 1 problem\(s\):\n  - column 'value' is negative in 4 row\(s\), e\.g\. "
        r"S1 2020-01-01, S1 2020-01-02, S1 2020-01-03 \(SS at S1 \(3\); TP at S2 \(1\)\): a "
        r"concentration cannot be negative; correct the values, or keep them as published "
        r"with flag 'implausible_in_source' \(then they are not used\)$",
    ):
        normalise_observations(bad, source="my.csv")
    # flagged as the Thames data build flags the negative values of its source: kept
    flagged = bad.assign(flag=["implausible_in_source"] * 4 + [""])
    out = normalise_observations(flagged)
    assert out["value"].round(6).tolist() == [-2.5, -2.5, -2.5, -0.15, 0.1]
    # pH, Q (a tidal river flows backwards) and parameters without a canonical unit
    # (a temperature in degC) may be below 0
    fine = pd.concat([obs("Q", -3.0, "m3/s"), obs("temperature", -0.2, "degC")])
    assert normalise_observations(fine)["value"].tolist() == [-3.0, -0.2]


def test_infinite_values_are_refused():
    # an 'inf' among finite values left the median plausible and made a period mean inf
    o = obs("TP", 0.1, "mg/L", n=5)
    o.loc[o.index[2], "value"] = float("inf")
    with pytest.raises(
        InputError,
        match=r"1 problem\(s\):\n  - column 'value' is infinite in 1 row\(s\), e\.g\. S1 "
        r"2020-01-03 \(TP at S1 \(1\)\); write the measured number, or leave the cell empty",
    ):
        normalise_observations(o)


def test_shipped_negative_values_are_all_flagged():
    # the Thames Initiative source publishes 11 negative values of the parameters basingov
    # keeps (5 SS, 5 chlorophyll-a, 1 water temperature; blank-corrected lab results below
    # zero); the data build keeps them with flag 'implausible_in_source', as it does a
    # water temperature of 118 degC, and read_observations accepts them as such
    from basingov.datasets import data_dir

    out = read_observations(data_dir() / "monitoring" / "thames_observations.csv")
    neg = out[out["value"] < 0]
    assert sorted(neg.groupby("parameter").size().items()) == [
        ("SS", 5), ("chl_a", 5), ("temperature", 1)]  # fmt: skip
    assert (neg["flag"] == "implausible_in_source").all()
    assert (out["flag"] == "implausible_in_source").sum() == 12


@pytest.mark.parametrize("blank", [None, float("nan"), "", "  "])
def test_blank_station_ids_and_parameters_are_refused(blank):
    # a blank station_id became the station "nan" ("None"), refused only later as a station
    # the station table lacks; a blank parameter became a parameter "nan", used as such
    o = obs("TP", 0.1, "mg/L", n=4).astype({"station_id": object, "parameter": object})
    o.loc[[1, 3], "station_id"] = blank
    o.loc[2, "parameter"] = blank
    with pytest.raises(
        InputError,
        match=r"my\.csv: 2 problem\(s\):\n"
        r"  - column 'station_id' is blank in 2 row\(s\), e\.g\. 2020-01-02 TP, 2020-01-04 TP; "
        r"write in every row the id of its station in the station table\n"
        r"  - column 'parameter' is blank in 1 row\(s\), e\.g\. S1 2020-01-03; write in every "
        r"row the parameter measured, e\.g\. 'TP' or 'NH4-N'$",
    ):
        normalise_observations(o, source="my.csv")


def test_blank_cells_of_a_file_are_refused(tmp_path):
    p = tmp_path / "obs.csv"
    p.write_text(
        "station_id,time,parameter,value,unit,flag\n"
        "S1,2020-01-01,TP,0.1,mg/L,\n"
        ",2020-01-02,TP,0.1,mg/L,\n"
        "S1,2020-01-03,,0.1,mg/L,\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"obs\.csv: 2 problem\(s\)") as info:
        read_observations(p)
    assert "column 'station_id' is blank in 1 row(s), e.g. 2020-01-02 TP" in str(info.value)
    assert "column 'parameter' is blank in 1 row(s), e.g. S1 2020-01-03" in str(info.value)


def test_other_parameters_pass_through_unchanged():
    o = pd.concat([obs("chl_a", 12.0, "ug/L"), obs("class_GB3838", 4.0, "class")])
    out = normalise_observations(o)
    assert out["value"].tolist() == [12.0, 4.0]
    assert out["unit"].tolist() == ["ug/L", "class"]


def test_shipped_observations_are_canonical():
    from basingov.datasets import data_dir

    for basin in ("rhine", "taihu", "tennessee", "thames"):
        out = read_observations(data_dir() / "monitoring" / f"{basin}_observations.csv")
        canon = out[out["parameter"].isin(CODES)]
        assert (canon["unit"] == canon["parameter"].map(canonical_unit)).all(), basin
        # the shipped tables already hold canonical units, so nothing was rescaled
        assert (canon["unit"] == canon["source_unit"]).all(), basin


def test_a_second_read_of_an_observation_file_is_a_copy_and_sees_changes(tmp_path):
    # the gauges and the monitoring stage of one run read the same file: read once
    p = tmp_path / "obs.csv"
    head = "station_id,time,parameter,value,unit,flag\n"
    p.write_text(head + "S1,2020-01-01,TP,0.1,mg/L P,\n", encoding="utf-8")
    first = read_observations(p)
    from basingov import _observations

    assert [k[0] for k in _observations._LAST_READ] == [str(p.resolve())]  # kept
    first.loc[:, "value"] = -1.0  # a caller's change must not reach the next reader
    again = read_observations(p)
    assert again is not first
    assert again["value"].tolist() == [0.1]
    p.write_text(head + "S1,2020-01-01,TP,0.25,mg/L P,\nS1,2020-01-02,TP,0.5,mg/L P,\n")
    assert read_observations(p)["value"].tolist() == [0.25, 0.5]
    p.unlink()
    with pytest.raises(InputError, match=r"does not exist"):
        read_observations(p)


@pytest.mark.parametrize(
    "values",
    [
        ["S1", " ", None, "S1", float("nan"), "\t b ", "", pd.NA, "S2"],
        pd.Series(["a", " ", None, "a"], dtype="str"),
        [1, 1.0, True, -0.0, 0.0, " ", "x"],
        [],
        pd.Series([1.5, float("nan"), 0.0]),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series([True, False]),
        pd.Series([[1], [" "], None], dtype=object),
    ],
)
def test_blank_text_is_the_row_by_row_strip(values):
    # blank_text strips each distinct value once: the same flags as stripping every row
    from basingov._tables import blank_text, text

    want = pd.Series(text(values), dtype=object).str.strip().eq("").to_numpy(dtype=bool)
    assert blank_text(values).tolist() == want.tolist()
    col = pd.Series(values)  # as check_table found its blank cells
    assert blank_text(col).tolist() == (col.isna() | col.astype(str).str.strip().eq("")).tolist()


def _implausible_by_group(df, conc):
    # the straightforward loop _implausible_values replaced: one np.median per group
    import numpy as np

    from basingov._observations import PARAMETERS

    out = []
    for (sid, c), v in df[conc].groupby(["station_id", "parameter"])["value"]:
        finite = v[np.isfinite(v)]
        med = float(np.median(finite)) if len(finite) else np.nan
        if c == "pH":
            outside = (v < 0) | (v > 14)
            if outside.any():
                out.append(("pH", sid, int(outside.sum())))
        elif med > PARAMETERS[c].plausible_median_max:
            out.append((c, sid, f"{med:g}", sorted(set(df.loc[v.index, "source_unit"]))))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_implausible_values_match_a_median_per_group(seed):
    import re

    import numpy as np

    from basingov._observations import _group_medians, _implausible_values

    rng = np.random.default_rng(seed)
    n = 400
    v = rng.choice([1.0, 2.5, 30.0, 5e4, 3e7, -1.0, 15.0, np.nan, np.inf, -np.inf], n)
    v = v * rng.choice([1.0, 1.0 + 1e-9, 0.3], n)
    df = pd.DataFrame(
        {
            "station_id": rng.choice(["S10", "S2", "A", "b", "S1"], n),
            "parameter": rng.choice(["pH", "TP", "Cl", "SS", "NH4"], n),
            "value": v,
            "source_unit": rng.choice(["mg/L", "ug/L", "g/m3"], n),
        }
    )
    conc = rng.random(n) < 0.8
    got = []
    for p in _implausible_values(df, conc):
        if p.startswith("column 'value' has pH"):
            sid, k = re.search(r"station (\S+) \((\d+) row", p).groups()
            got.append(("pH", sid, int(k)))
        else:
            m = re.search(r"station (\S+) (\S+) has a median of (\S+) .*\(unit column (\[.*?\])", p)
            got.append((m[2], m[1], m[3], eval(m[4])))
    assert got == _implausible_by_group(df, conc)
    assert len(got) > 3
    # the medians themselves, bit for bit, odd and even counts
    g = rng.integers(0, 30, n)
    want = [np.median(v[(g == k) & np.isfinite(v)]) if ((g == k) & np.isfinite(v)).any()
            else np.nan for k in range(31)]  # fmt: skip
    np.testing.assert_array_equal(_group_medians(g, v, 31), np.array(want))
