"""GB 3838-2002 and OGewV 2016 classification against hand-computed cases.

Every expected class below is read off GB 3838-2002 Table 1 by hand (the limits are in
data/monitoring/thresholds/cn_gb3838_2002_table1_selected.csv): "lower is better" limits
are <= (a value on a limit belongs to the better class); DO limits are >=.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from basingov.errors import InputError
from basingov.monitoring import (
    available_standards,
    class_rank,
    classify,
    classify_values,
    exceedance_ratio,
    get_standard,
)

ROOT = Path(__file__).resolve().parents[2]

GB_CASES = [
    # (value, parameter, water_body, class) -- NH3-N limits 0.15/0.5/1.0/1.5/2.0
    (0.15, "NH3-N", "river", "I"),  # on the class I limit
    (0.150001, "NH3-N", "river", "II"),
    (0.5, "NH3-N", "river", "II"),
    (1.0, "NH3-N", "river", "III"),
    (1.5, "NH3-N", "river", "IV"),
    (2.0, "NH3-N", "river", "V"),
    (2.01, "NH3-N", "river", "worse than V"),
    (0.0, "NH3-N", "river", "I"),
    # NH4 (ammonium as N) is assessed as GB 3838's ammonia nitrogen
    (1.2, "NH4", "river", "IV"),
    # CODMn 2/4/6/10/15
    (2.0, "CODMn", "river", "I"),
    (6.0, "CODMn", "lake", "III"),
    (15.01, "CODMn", "river", "worse than V"),
    # COD: classes I and II share 15 mg/L, so 15 is class I and 15.5 class III
    (15.0, "COD", "river", "I"),
    (15.5, "COD", "river", "III"),
    (40.0, "COD", "river", "V"),
    # BOD5 3/3/4/6/10
    (3.0, "BOD5", "river", "I"),
    (3.5, "BOD5", "river", "III"),
    # TP: rivers 0.02/0.1/0.2/0.3/0.4, lakes 0.01/0.025/0.05/0.1/0.2
    (0.02, "TP", "river", "I"),
    (0.05, "TP", "river", "II"),
    (0.05, "TP", "lake", "III"),
    (0.3, "TP", "river", "IV"),
    (0.3, "TP", "lake", "worse than V"),
    (0.41, "TP", "river", "worse than V"),
    # TN: lakes only, 0.2/0.5/1.0/1.5/2.0
    (1.15, "TN", "lake", "IV"),
    (2.0, "TN", "lake", "V"),
    (2.5, "TN", "lake", "worse than V"),
    # DO is higher-is-better: >= 7.5 / 6 / 5 / 3 / 2
    (9.0, "DO", "river", "I"),
    (7.5, "DO", "river", "I"),
    (7.49, "DO", "river", "II"),
    (6.0, "DO", "river", "II"),
    (5.0, "DO", "river", "III"),
    (4.99, "DO", "river", "IV"),
    (3.0, "DO", "river", "IV"),
    (2.0, "DO", "river", "V"),
    (1.99, "DO", "river", "worse than V"),
]


@pytest.mark.parametrize(("value", "parameter", "water_body", "expected"), GB_CASES)
def test_gb3838_hand_computed(value, parameter, water_body, expected):
    assert classify(value, parameter, water_body=water_body) == expected


def test_floating_point_noise_on_a_limit_keeps_the_better_class():
    assert 0.1 + 0.2 > 0.3  # the float sum is a hair above the class IV TP limit
    assert classify(0.1 + 0.2, "TP") == "IV"


def test_vectorised_classes_match_scalar_ones():
    values = np.array([c[0] for c in GB_CASES if c[1] == "TP" and c[2] == "river"])
    got = classify_values(values, "TP").tolist()
    assert got == [classify(v, "TP") for v in values]
    assert classify_values([np.nan], "TP").tolist() == [""]


def test_classify_errors_name_the_fix():
    with pytest.raises(InputError, match=r"no river limit for TN .*pass water_body='lake'"):
        classify(1.0, "TN")
    with pytest.raises(InputError, match=r"no limit for 'Hg'; it assesses \['DO', 'CODMn'"):
        classify(1.0, "Hg")
    with pytest.raises(
        InputError, match=r"water_body must be one of \['river', 'lake'\], got 'sea'"
    ):
        classify(1.0, "TP", water_body="sea")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"unknown standard 'WFD'; available standards are"):
        classify(1.0, "TP", standard="WFD")
    with pytest.raises(InputError, match="cannot classify a NaN TP value"):
        classify(float("nan"), "TP")
    # a negative value took the best class (TP -1 mg/L was class I)
    with pytest.raises(
        InputError,
        match=r"cannot classify 1 negative TP value\(s\) \(e\.g\. -1\): a measured TP is never "
        "below 0",
    ):
        classify(-1.0, "TP")
    with pytest.raises(InputError, match=r"cannot classify 2 negative DO value\(s\) \(e\.g\. -0"):
        classify_values([8.0, -0.5, np.nan, -1.0], "DO")


def test_ogewv_river_types():
    # type 10 (the Rhine's gravel-dominated stream type) shares the row "9.2, 10":
    # TP <= 0.10, NH4-N <= 0.1, O2 > 7 (strict), BOD5 < 3 (strict)
    kw = {"standard": "OGewV-2016", "river_type": "10"}
    assert classify(0.10, "TP", **kw) == "good"
    assert classify(0.11, "TP", **kw) == "worse than good"
    assert classify(7.0, "DO", **kw) == "worse than good"  # "> 7" excludes 7
    assert classify(7.1, "DO", **kw) == "good"
    assert classify(3.0, "BOD5", **kw) == "worse than good"
    assert classify(8.6, "pH", **kw) == "worse than good"  # range 7.0 - 8.5
    assert classify(7.0, "pH", **kw) == "good"
    # the un-ionised NH3 limit is 2 ug/L, converted to mg/L
    assert classify(0.002, "NH3-N_unionised", **kw) == "good"
    with pytest.raises(InputError, match=r"river_type '11' matches 5 river-type groups"):
        classify(0.1, "TP", standard="OGewV-2016", river_type="11")
    with pytest.raises(InputError, match="sets limits per river type; pass river_type="):
        classify(0.1, "TP", standard="OGewV-2016")


def test_ranks_and_exceedance_ratios():
    assert class_rank("I") == 1
    assert class_rank("worse than V") == 6
    with pytest.raises(InputError, match="'VI' is not a class of GB3838-2002"):
        class_rank("VI")
    # class III: NH3-N <= 1.0 -> ratio C/L; DO >= 5 -> ratio L/C
    assert exceedance_ratio([0.5, 2.0], "NH3-N").tolist() == [0.5, 2.0]
    assert exceedance_ratio([10.0, 2.5], "DO").tolist() == [0.5, 2.0]
    assert exceedance_ratio([0.1], "TP", target="II").tolist() == [1.0]
    with pytest.raises(InputError, match="target class 'VI'"):
        exceedance_ratio([1.0], "TP", target="VI")


def test_shipped_standards_are_a_rebuild_of_the_threshold_tables():
    spec = importlib.util.spec_from_file_location(
        "build_standards", ROOT / "scripts/build_standards.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_standards", mod)
    spec.loader.exec_module(mod)
    assert available_standards() == sorted(mod.BUILDERS)
    for name, fn in mod.BUILDERS.items():
        packaged = (ROOT / "src/basingov/monitoring/standards" / f"{name}.csv").read_text()
        assert packaged == mod.render(fn()), f"run scripts/build_standards.py ({name})"


def test_every_gb3838_limit_is_a_cell_of_the_source_table():
    src = pd.read_csv(ROOT / "data/monitoring/thresholds/cn_gb3838_2002_table1_selected.csv")
    std = get_standard("GB3838-2002")
    assert std.labels == ("I", "II", "III", "IV", "V", "worse than V")
    for _, row in std.table.iterrows():
        name = "NH3-N" if row["parameter"] == "NH4" else row["parameter"]
        cells = src.loc[src["parameter"] == name, f"class_{row['class']}"].astype(float)
        assert row["limit"] in set(cells), (row["parameter"], row["class"])
    assert "GB 3838-2002 Table 1" in std.sources[0]
    assert set(std.table["bound"]) == {"<=", ">="}
    assert set(std.table.loc[std.table["parameter"] == "DO", "bound"]) == {">="}


def _rows_with_pandas(std, parameter, water_body, rt):
    # the pandas filters Standard.rows replaced by NumPy masks
    t = std.table
    sel = t[
        (t["parameter"] == parameter)
        & t["water_body"].isin([water_body, "all"])
        & (t["river_type"] == rt)
    ]
    if (sel["water_body"] == water_body).any():
        sel = sel[sel["water_body"] == water_body]
    return sel


def _classes_with_pandas(std, v, rows):
    # the loop classify_values ran over pandas rows of each class
    from basingov.monitoring.standards import _OPS

    out = np.full(v.shape, std.worse_label, dtype=object)
    done = np.isnan(v)
    out[done] = ""
    for cls in std.classes:
        r = rows[rows["class"] == cls]
        if r.empty:
            continue
        ok = np.ones(v.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            for bound, lim in zip(r["bound"], r["limit"], strict=True):
                ok &= _OPS[bound](v, float(lim))
        out[ok & ~done] = cls
        done |= ok & ~done
    return out


@pytest.mark.parametrize("name", ["GB3838-2002", "OGewV-2016"])
def test_rows_and_classes_match_the_pandas_filters(name):
    from basingov.monitoring.standards import get_standard

    std = get_standard(name)
    rng = np.random.default_rng(1)
    types = std.river_types() or (None,)
    checked = 0
    for rt in types:
        rt_key = std._resolve_type(rt)
        for body in ("river", "lake"):
            for p in sorted(set(std.table["parameter"])):
                want = _rows_with_pandas(std, p, body, rt_key)
                if want.empty:
                    continue
                got = std.rows(p, water_body=body, river_type=rt)
                pd.testing.assert_frame_equal(got, want)
                lim = want["limit"].dropna().to_numpy()
                v = np.concatenate([lim, lim * (1 + 1e-12), lim * 0.999, lim * 1.001,
                                    rng.random(50) * 20, [np.nan, 0.0]])  # fmt: skip
                got_cls = classify_values(v, p, standard=name, water_body=body, river_type=rt)
                assert got_cls.tolist() == _classes_with_pandas(std, v, want).tolist()
                checked += 1
    assert checked > 10
