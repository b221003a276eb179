"""Treatment removal per country, census factors and emitted sewage loads."""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.loads.sewage import (
    _packaged_removal,
    apply_sewage_factors,
    census_factors,
    read_census,
    read_plants,
    treatment_removal,
)


def _plants():
    # DE reports loads (incoming 100 + 100 t N, discharged 10 + 50 t), one plant each with
    # and without N removal; FR has plants (p.e. 300 with N removal, 100 without) but no loads
    return pd.DataFrame({
        "rptMStateKey": ["DE", "DE", "FR", "FR"],
        "uwwLoadEnteringUWWTP": [1000, 1000, 300, 100],
        "uwwNRemoval": [1, 0, 1, 0],
        "uwwNIncoming": [100.0, 100.0, np.nan, np.nan],
        "uwwNDischarge": [10.0, 50.0, np.nan, np.nan],
    })  # fmt: skip


def test_treatment_removal_statuses():
    with pytest.warns(BasingovWarning, match=r"for IT: the pooled removal 0\.700 of all 2 "):
        r = treatment_removal("TN", ["DE", "FR", "CN", "IT"], plants=_plants())
    assert r.loc["DE", "removal"] == pytest.approx(1 - 60 / 200)
    assert r.loc["DE", "removal_status"] == "measured"
    # FR: p.e. share 0.75 with N removal x (1 - 10/100) + 0.25 x (1 - 50/100)
    assert r.loc["FR", "removal"] == pytest.approx(0.75 * 0.9 + 0.25 * 0.5)
    assert r.loc["FR", "removal_status"] == "derived"
    # CN from the sourced table (Qi et al. 2020: 65.5 %)
    assert r.loc["CN", "removal"] == pytest.approx(0.655)
    assert r.loc["CN", "removal_status"] == "published"
    assert "doi.org" in r.loc["CN", "removal_source"]
    # IT: nothing at all -> pooled removal of every reporting plant, labelled assumed
    assert r.loc["IT", "removal"] == pytest.approx(0.7)
    assert r.loc["IT", "removal_status"] == "assumed"
    with pytest.raises(InputError, match="no treatment removal for country 'XX'"):
        treatment_removal("TN", ["XX"])
    with pytest.raises(InputError, match="parameter must be one of"):
        treatment_removal("Hg", ["DE"])


def test_the_countries_taking_the_pooled_removal_are_named_once(caplog):
    # IT and LI have no plants and no table row: they took the pooled removal of every
    # reporting plant (0.7) silently, said only by the removal_status column
    with caplog.at_level("INFO", logger="basingov"), pytest.warns(BasingovWarning) as rec:
        r = treatment_removal("TN", ["DE", "IT", "CN", "LI", "IT"], plants=_plants())
    said = [str(w.message) for w in rec if issubclass(w.category, BasingovWarning)]
    assert said == [
        "no treatment removal of TN from UWWTD plants or the removal table for IT, LI: the "
        "pooled removal 0.700 of all 2 reporting UWWTD plants is used (removal_status "
        "'assumed'); give their plants ([loads] treatment_plants) or add rows to "
        "treatment_removal.csv"
    ]
    assert said[0] in caplog.text
    assert r.loc[["IT", "LI"], "removal"].tolist() == pytest.approx([0.7, 0.7])
    # a country with a value of its own is not named; none pooled, nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert treatment_removal("TN", ["DE", "FR", "CN"], plants=_plants()).shape[0] == 3


def test_treatment_removal_refuses_bad_table_and_plants():
    tab = _packaged_removal()
    cn = tab[tab["country"] == "CN"]
    # two rows for CN: float() of a Series raised a TypeError
    with pytest.raises(InputError, match=r"several rows for country and parameter \[\['CN'"):
        treatment_removal("TN", ["CN"], table=pd.concat([tab, cn]))
    # no status column: a KeyError
    with pytest.raises(InputError, match=r"lacks column\(s\) \['status'\]"):
        treatment_removal("TN", ["CN"], table=tab.drop(columns="status"))
    # a removal of 1.5 passed (negative loads), text raised float()'s ValueError
    for v in (1.5, "most"):
        with pytest.raises(InputError, match=r"removal must be a share in \[0, 1\]"):
            treatment_removal("TN", ["CN"], table=tab.assign(removal=v))
    # plants without their country column: a KeyError
    with pytest.raises(InputError, match=r"lacks column\(s\) \['rptMStateKey'\]"):
        treatment_removal("TN", ["DE"], plants=_plants().drop(columns="rptMStateKey"))
    assert treatment_removal("TN", ["CN"], table=tab).loc["CN", "removal"] == 0.655


def test_treatment_removal_from_plants_outside_0_1_is_refused():
    # DE's plants discharged more TN than they took in (columns swapped, or another
    # unit): its removal was -0.4, and IT took the same -0.4 as the pooled removal, so
    # the sewage loads grew by 40 % after "treatment"; a negative discharge gave 1.025
    swapped = _plants().assign(uwwNIncoming=[10.0, 50.0, np.nan, np.nan],
                               uwwNDischarge=[100.0, 100.0, np.nan, np.nan])  # fmt: skip
    with pytest.raises(
        InputError,
        match=r"treatment removal of TN from the plants: removal must be a share in \[0, 1\]; "
        r"bad for \['DE', 'FR', 'IT'\]: \[-2\.33.*uwwNIncoming.*uwwNDischarge",
    ):
        treatment_removal("TN", ["DE", "FR", "IT"], plants=swapped)
    negative = _plants().assign(uwwNDischarge=[-10.0, 5.0, np.nan, np.nan])
    with pytest.raises(InputError, match=r"bad for \['DE'\]: \[1\.025\]"):
        treatment_removal("TN", ["DE"], plants=negative)
    # a removal from the table is not the plants' fault: CN is still served
    assert treatment_removal("TN", ["CN"], plants=swapped).loc["CN", "removal"] == 0.655


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("uwwNDischarge", "1,234.5", r"column 'uwwNDischarge' holds text where numbers belong "
         r"at line\(s\) \[3\] \(values \['1,234.5'\]\)"),
        ("uwwNIncoming", -100.0, r"column 'uwwNIncoming' is negative at line\(s\) \[3\]"),
        ("uwwLoadEnteringUWWTP", "inf",
         r"column 'uwwLoadEnteringUWWTP' holds infinite values at line"),
    ],
)  # fmt: skip
def test_read_plants_refuses_text_and_negative_loads(tmp_path, column, value, match):
    # a thousands separator made DE's second plant's discharge text: it was dropped from
    # the measured removal (0.9 instead of 0.7), silently; a negative incoming load
    # dropped the plant the same way, an infinite p.e. made FR's stage share NaN
    plants = _plants().astype({column: object})
    plants.loc[1, column] = value
    path = tmp_path / "plants.csv"
    plants.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"treatment-plant table .*plants.csv: {match}"):
        read_plants([path])
    with pytest.raises(InputError, match=rf"the treatment-plant table: {match}"):
        read_plants(plants)
    # blank loads are "not reported", as for FR
    _plants().to_csv(path, index=False)
    assert len(read_plants([path])) == 4


def test_read_census_refuses_ambiguous_units_and_text(tmp_path):
    p = tmp_path / "census.csv"
    # unit a twice with different counts: the first row was kept silently
    pd.DataFrame({"id": ["a", "a", "b"], "pop": [10, 20, 5]}).to_csv(p, index=False)
    with pytest.raises(InputError, match=r"unit\(s\) \['a'\] have several different 'pop'"):
        read_census(p, id_column="id", value_column="pop")
    # a count with a thousands separator was taken as missing (the grid kept, silently)
    pd.DataFrame({"id": ["a", "b"], "pop": ["1,234", "5"]}).to_csv(p, index=False)
    with pytest.raises(InputError, match=r"not numbers in row\(s\) \[2\].*'1,234'"):
        read_census(p, id_column="id", value_column="pop")
    # the same row twice and a blank count are fine
    pd.DataFrame({"id": ["a", "a", "b", "c"], "pop": [10, 10, 5, None]}).to_csv(p, index=False)
    assert read_census(p, id_column="id", value_column="pop").to_dict() == {"a": 10, "b": 5}


def test_census_factors_refuse_unprojected_jurisdictions():
    # the 250 m outline tolerance was taken as 250 degrees: every unit "cut", silently;
    # jurisdictions without CRS raised geopandas' ValueError
    crs = "EPSG:32632"
    basin = gpd.GeoDataFrame(geometry=[box(-5000, -5000, 6000, 6000)], crs=crs)
    j = gpd.GeoDataFrame(
        {"jur_id": ["A"], "level": [0], "level_name": ["county"], "parent_id": [""]},
        geometry=[box(0, 0, 1000, 1000)],
        crs=crs,
    )
    grid, census = pd.Series({"A": 100.0}), pd.Series({"A": 200.0})
    assert census_factors(grid, census, j, basin, level="county")["factor"].item() == 2.0
    with pytest.raises(CRSError, match="geographic CRS EPSG:4326"):
        census_factors(grid, census, j.to_crs(4326), basin, level="county")
    with pytest.raises(CRSError, match="has no CRS"):
        census_factors(grid, census, j.set_crs(None, allow_override=True), basin, level="county")


def _census_units():
    crs = "EPSG:32632"
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 30000, 10000)], crs=crs)
    # unit W lies well inside the basin; unit C runs along the basin outline (cut)
    j = gpd.GeoDataFrame(
        {"jur_id": ["W", "C"], "level_name": ["u", "u"], "parent_id": ["", ""]},
        geometry=[box(5000, 2000, 10000, 8000), box(20000, 0, 30000, 10000)], crs=crs,
    )  # fmt: skip
    grid = pd.Series({"W": 1000.0, "C": 500.0})
    census = pd.Series({"W": 1800.0, "C": 9000.0})
    return basin, j, grid, census


def test_census_factors_whole_and_cut():
    basin, j, grid, census = _census_units()
    f = census_factors(grid, census, j, basin, level="u")
    assert f.loc["W", "factor"] == pytest.approx(1.8)
    assert f.loc["W", "factor_status"] == "census"
    assert f.loc["C", "factor"] == 1.0  # cut: its census counts land outside the basin
    assert "cut by the basin outline" in f.loc["C", "factor_status"]
    f2 = census_factors(grid, census, j, basin, level="u", whole_units=True)
    assert f2.loc["C", "factor"] == pytest.approx(18.0)
    with pytest.warns(BasingovWarning, match="no census value"):
        census_factors(grid, census.drop("C"), j, basin, level="u", whole_units=True)


_SHARE = r"partial_share must be a share in \[0, 1\] \(0.02 for 2 %\), got "
_TOLERANCE = r"outline_tolerance_m must be a distance >= 0 in metres, got "
_CENSUS = r"census population must be a finite number >= 0; bad for u unit\(s\) \['W'\]: "


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"partial_share": 2.0}, _SHARE + "2.0"),
        ({"partial_share": np.nan}, _SHARE + "nan"),
        ({"partial_share": -0.1}, _SHARE + "-0.1"),
        ({"outline_tolerance_m": -250.0}, _TOLERANCE + "-250.0"),
        ({"outline_tolerance_m": np.nan}, _TOLERANCE + "nan"),
        ({"census": pd.Series({"W": -1800.0, "C": 9000.0})}, _CENSUS + r"\[-1800.0\]"),
        ({"census": pd.Series({"W": np.inf, "C": 9000.0})}, _CENSUS + r"\[inf\]"),
    ],
)
def test_census_factors_refuse_values_out_of_range(kw, match):
    # partial_share = 2 (2 % written as a percentage) and a negative or NaN tolerance
    # rescaled the cut unit C to its whole census (factor 18 instead of 1); a NaN or
    # negative share left W unscaled; a negative census count gave the factor -1.8
    basin, j, grid, census = _census_units()
    kw = dict(kw)  # the parameter is shared between runs
    census = kw.pop("census", census)
    with pytest.raises(InputError, match=match):
        census_factors(grid, census, j, basin, level="u", **kw)


def test_apply_sewage_factors_arithmetic():
    raw = pd.DataFrame({"piece_id": [1, 2], "population": [100.0, 200.0],
                        "load_kg_day": [1.099, 2.198], "origin_c": ["DE", "FR"],
                        "origin_u": ["W", "X"]})  # fmt: skip
    rem = treatment_removal("TN", ["DE", "FR"], plants=_plants())
    fac = pd.DataFrame({"factor": [2.0], "factor_status": ["census"]},
                       index=pd.Index(["W"], name="jur_id"))  # fmt: skip
    out = apply_sewage_factors(raw, removal=rem, country_of={"DE": "DE", "FR": "FR"},
                               country_level="c", factors=fac, census_level="u")  # fmt: skip
    # DE row: 1.099 kg/day x census factor 2 x (1 - 0.7); FR row: factor 1 x (1 - 0.8)
    assert out["load_kg_day"].tolist() == pytest.approx([1.099 * 2 * 0.3, 2.198 * 0.2])
    assert out["population"].tolist() == pytest.approx([200.0, 200.0])
    assert out["removal_status"].tolist() == ["measured", "derived"]
    with pytest.raises(InputError, match="no treatment removal for country"):
        apply_sewage_factors(raw, removal=rem.drop("FR"), country_of={"DE": "DE", "FR": "FR"},
                             country_level="c")  # fmt: skip


def test_apply_sewage_factors_refuses_removal_outside_0_1():
    # a removal table built by hand with percentages (70 for 70 %) gave loads x (1 - 70),
    # i.e. -69 times the raw load; a negative removal raised it; text was a raw ValueError
    raw = pd.DataFrame({"piece_id": [1], "population": [100.0], "load_kg_day": [1.0]})
    for v, shown in ((70.0, r"70\.0"), (-0.25, r"-0\.25"), ("most", "'most'")):
        rem = pd.DataFrame({"removal": [v], "removal_status": ["published"]},
                           index=pd.Index(["DE"], name="country"))  # fmt: skip
        with pytest.raises(
            InputError,
            match=rf"the removal table of apply_sewage_factors: removal must be a share in "
            rf"\[0, 1\]; bad for \['DE'\]: \[{shown}\]; write a share, e.g. 0.823",
        ):
            apply_sewage_factors(raw, removal=rem, country_of="DE", country_level=None)


def test_apply_sewage_factors_refuses_a_country_twice():
    # two rows for DE in a removal table built by hand (two years, two sources) raised
    # pandas' "cannot reindex on an axis with duplicate labels"
    raw = pd.DataFrame({"piece_id": [1], "population": [100.0], "load_kg_day": [1.0]})
    rem = pd.DataFrame(
        {"removal": [0.75, 0.8, 0.5, 0.6], "removal_status": ["measured"] * 4},
        index=pd.Index(["DE", "DE", "FR", "FR"], name="country"),
    )
    with pytest.raises(
        InputError,
        match=r"the removal table of apply_sewage_factors: several rows for country/countries "
        r"\['DE', 'FR'\]; keep one row per country",
    ):
        apply_sewage_factors(raw, removal=rem, country_of="DE", country_level=None)
    # with the same row twice too: which one holds is not for the function to guess
    with pytest.raises(InputError, match=r"several rows for country/countries \['DE'\]"):
        apply_sewage_factors(raw, removal=rem.iloc[[0, 0, 2]], country_of="DE", country_level=None)


def test_stage_flags_written_as_text():
    # uwwNRemoval given as text ("1"/"0") compared unequal to 1: no plant had the stage,
    # so FR lost its derived removal (0.8) and took the pooled 0.7, silently
    text = _plants().astype({"uwwNRemoval": str})
    want = 0.75 * 0.9 + 0.25 * 0.5
    for plants in (text, read_plants(text)):
        r = treatment_removal("TN", ["FR"], plants=plants)
        assert r.loc["FR", "removal_status"] == "derived"
        assert r.loc["FR", "removal"] == pytest.approx(want)
        assert r.loc["FR", "pe_share_stage"] == pytest.approx(0.75)
    # a flag that is not 0 or 1 (blank: not reported) counted as "no stage"; refused
    for v, shown in (("yes", "'yes'"), (2, "2")):
        bad = _plants().astype({"uwwNRemoval": object})
        bad.loc[2, "uwwNRemoval"] = v
        with pytest.raises(
            InputError,
            match=rf"the treatment-plant table: column 'uwwNRemoval' must be a flag, 0 or 1 "
            rf"\(blank: not reported\); bad at line\(s\) \[4\] \(values \[{shown}\]\)",
        ):
            read_plants(bad)
    blank = _plants().astype({"uwwNRemoval": object})
    blank.loc[3, "uwwNRemoval"] = ""
    assert read_plants(blank)["uwwNRemoval"].isna().tolist() == [False, False, False, True]


@pytest.mark.parametrize(
    ("column", "rule"),
    [
        ("uwwState", r"must be 1 for an active plant, 0 \(or UWWTD's 2\) for one that is not"),
        ("in_basin", r"must be 1 for a plant in the basin, 0 otherwise"),
    ],
)
def test_plant_state_and_in_basin_other_than_codes_are_refused(tmp_path, column, rule):
    # uwwState and in_basin were compared with pd.to_numeric(errors="coerce") == 1: a plant
    # written "yes", "true" or "active" (or blank) was left out of its country's removal,
    # silently; numbers and numeric text ("1", "0", 1.0) are read as before
    good = _plants().assign(uwwState=[1, "1", 1.0, "0"], in_basin=["1", 1, "1.0", 1])
    assert read_plants(good)["rptMStateKey"].tolist() == ["DE", "DE", "FR"]
    # UWWTD's state 2 (137 plants of the shipped Rhine table): not active, as before
    assert len(read_plants(_plants().assign(uwwState=[1, 2, 2, 0]))) == 1
    bad = _plants().assign(uwwState=1, in_basin=1).astype({column: object})
    bad.loc[1:3, column] = ["yes", "active", " "]
    path = tmp_path / "plants.csv"
    bad.to_csv(path, index=False)
    for given, what in (
        (bad, "the treatment-plant table"),
        ([path], f"treatment-plant table {path}"),
    ):
        with pytest.raises(
            InputError,
            match=rf"^{re.escape(what)}: column '{column}' {rule}, never blank; "
            r"bad at line\(s\) \[3, 4, 5\] \(values \['yes', 'active', (' '|nan)\]\)$",
        ):
            read_plants(given)
    # the stage flags are checked in the same pass: both problems in one message
    both = bad.assign(uwwNRemoval=[1, 0, "true", 0])
    with pytest.raises(InputError, match=r"'uwwNRemoval' must be a flag.*; column '"):
        read_plants(both)
