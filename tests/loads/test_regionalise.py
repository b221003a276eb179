"""Runoff regionalised to nested gauges (synthetic network built here)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import LineString

from basingov.errors import BasingovWarning, InputError
from basingov.network import network_from_table, regionalise_runoff

_TO_LL = Transformer.from_crs(3035, 4326, always_xy=True)


def _net():
    # chain 1 -> 2 -> 3 (north to south ... each 10 km), local areas 100, 300, 600 km2
    x0, y0 = 4.0e6, 3.0e6
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3], "downstream_id": [2, 3, -1],
         "local_area_km2": [100.0, 300.0, 600.0], "upstream_area_km2": [100.0, 400.0, 1000.0]},
        geometry=[LineString([(x0, y0 + 30000), (x0, y0 + 20000)]),
                  LineString([(x0, y0 + 20000), (x0, y0 + 10000)]),
                  LineString([(x0, y0 + 10000), (x0, y0)])],
        crs="EPSG:3035",
    )  # fmt: skip
    return network_from_table(t), (x0, y0)


def _gauge(gid, x, y, q, area=None):
    lon, lat = _TO_LL.transform(x, y)
    return {"gauge_id": gid, "lon": lon, "lat": lat, "mean_discharge_m3s": q, "area_km2": area}


def test_nested_gauges_depths_and_heldout():
    net, (x0, y0) = _net()
    g = pd.DataFrame(
        [_gauge("up", x0, y0 + 10000, 4.0, 400.0), _gauge("out", x0, y0, 10.0, 1000.0)]
    )
    net2, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    q = net2.reaches["discharge_m3s"].to_numpy()
    # upper region (reaches 1, 2: 400 km2) carries 4 m3/s: 1 m3/s per 100 km2;
    # the increment of 'out' (600 km2) carries 10 - 4 = 6 m3/s
    assert q.tolist() == pytest.approx([1.0, 4.0, 10.0])
    c = chk.set_index("gauge_id")
    assert c.loc["out", "modelled_m3s"] == pytest.approx(10.0)
    # held out: without 'up', the whole basin gets the depth of 'out' (10 m3/s / 1000 km2)
    assert c.loc["up", "heldout_m3s"] == pytest.approx(4.0)
    # without 'out', the lowest 600 km2 fall back to 300 mm/yr
    q300 = 600e6 * 0.3 / (365.25 * 86400)
    assert c.loc["out", "heldout_m3s"] == pytest.approx(4.0 + q300)
    # uniform 300 mm/yr before regionalisation was unknown here (no discharge): NaN-safe
    assert set(net2.reaches["discharge_source"]) == {"regionalised"}


def test_area_check_and_negative_increment():
    net, (x0, y0) = _net()
    g = pd.DataFrame([
        _gauge("up", x0, y0 + 10000, 12.0, 400.0),   # carries more than the outlet gauge
        _gauge("out", x0, y0, 10.0, 1000.0),
        _gauge("wrong", x0, y0 + 20000, 1.0, 5000.0),  # published area far from 100 km2
    ])  # fmt: skip
    with pytest.warns(BasingovWarning, match=r"1 gauge\(s\) left out .* wrong \(100 km2 vs"):
        _, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    c = chk.set_index("gauge_id")
    assert c.loc["out", "negative_increment"]
    assert "set to 0" in c.loc["out", "note"]
    assert c.loc["out", "modelled_m3s"] == pytest.approx(12.0)  # residual reported: +20 %
    assert c.loc["out", "residual_pct"] == pytest.approx(20.0)
    assert c.loc["wrong", "note"].startswith("not used: snapped upstream area")
    with pytest.raises(InputError, match="positive mean_discharge_m3s"):
        regionalise_runoff(net, g.assign(mean_discharge_m3s=0.0), runoff_mm_year=300.0)
    with pytest.raises(InputError, match="lacks column"):
        regionalise_runoff(net, g.drop(columns="lon"), runoff_mm_year=300.0)


def test_empty_table_and_coordinates_as_text():
    net, (x0, y0) = _net()
    g = pd.DataFrame([_gauge("up", x0, y0 + 10000, 4.0, 400.0), _gauge("out", x0, y0, 10.0, 1e3)])
    # no rows raised a raw KeyError 'observed_m3s'
    with pytest.raises(InputError, match=r"the gauge table has no rows"):
        regionalise_runoff(net, g.iloc[:0], runoff_mm_year=300.0)
    # a coordinate that is no number raised a raw ValueError; that gauge is now not snapped
    g["lon"] = g["lon"].astype(object)
    g.loc[0, "lon"] = "n/a"
    with pytest.warns(BasingovWarning, match=r"1 whose lon/lat are no coordinates: up \(nan, "):
        net2, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    assert chk["note"].iloc[0].startswith("not snapped: the point must be finite")
    assert net2.reaches["discharge_m3s"].iloc[2] == pytest.approx(10.0)
    g.loc[0, "lon"] = str(_TO_LL.transform(x0, y0 + 10000)[0])  # numbers as text are taken
    assert regionalise_runoff(net, g, runoff_mm_year=300.0)[1]["note"].tolist() == ["", ""]


def test_options_that_would_leave_every_gauge_unused():
    net, (x0, y0) = _net()
    g = pd.DataFrame([_gauge("out", x0, y0, 10.0, 1000.0)])
    # tolerance_m=0 noted every gauge 'not snapped', max_area_ratio < 1 every one 'not
    # used' (uniform runoff, no error); runoff 0 gave an 'inf times' note
    for opts in ({"tolerance_m": 0.0}, {"max_area_ratio": 0.5}, {"runoff_mm_year": -300.0}):
        with pytest.raises(InputError, match=r"need runoff_mm_year >= 0, tolerance_m > 0"):
            regionalise_runoff(net, g, **{"runoff_mm_year": 300.0, **opts})
    _, chk = regionalise_runoff(net, g, runoff_mm_year=0.0)
    assert chk["note"].tolist() == [""]


def test_an_increment_far_wetter_than_the_basin_is_flagged():
    """An increment runoff HIGH_INCREMENT_RATIO times the basin depth or more gets a note."""
    from basingov.network.regionalise import HIGH_INCREMENT_RATIO

    net, (x0, y0) = _net()
    # 'out' gets 10 - 4 = 6 m3/s from 600 km2: 315 mm/year
    g = pd.DataFrame(
        [_gauge("up", x0, y0 + 10000, 4.0, 400.0), _gauge("out", x0, y0, 10.0, 1000.0)]
    )
    depth = 6.0 / 600e6 * 1000.0 * 365.25 * 86400
    _, chk = regionalise_runoff(net, g, runoff_mm_year=depth / HIGH_INCREMENT_RATIO * 1.01)
    c = chk.set_index("gauge_id")
    assert c.loc["out", "note"] == ""
    _, chk = regionalise_runoff(net, g, runoff_mm_year=depth / HIGH_INCREMENT_RATIO * 0.99)
    note = chk.set_index("gauge_id").loc["out", "note"]
    assert note.startswith(f"increment runoff {depth:,.0f} mm/year is 3.0 times the basin's")
    assert "may not be of one period or method" in note


def test_a_gauge_inside_its_reach_leaves_the_gauge_below_exact():
    """The part of a gauged reach below its gauge drains at that gauge's depth.

    'up' sits halfway down reach 2 (250 of its 400 km2 above the point) and carries
    5 m3/s (0.02 m3/s per km2), so reach 2 delivers 0.02 x 400 = 8 m3/s. 'out' (1,000 km2,
    10 m3/s) is fitted against those 8 m3/s over the 600 km2 of reach 3: 2 m3/s. Fitting
    it against the observed 5 m3/s over 1,000 - 250 km2 instead (as before) made 12 m3/s
    at 'out', 20 % high.
    """
    net, (x0, y0) = _net()
    g = pd.DataFrame(
        [_gauge("up", x0, y0 + 15000, 5.0, 250.0), _gauge("out", x0, y0, 10.0, 1000.0)]
    )
    net2, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    c = chk.set_index("gauge_id")
    assert c.loc["up", "model_area_km2"] == pytest.approx(250.0)
    assert c.loc["up", "modelled_m3s"] == pytest.approx(5.0)
    assert c.loc["out", "modelled_m3s"] == pytest.approx(10.0)
    assert net2.reaches["discharge_m3s"].tolist() == pytest.approx([2.0, 8.0, 10.0])
    per_year = 365.25 * 86400 * 1000 / 1e6  # m3/s per km2 -> mm/yr
    assert c.loc["out", "runoff_mm_year"] == pytest.approx(2.0 / 600 * per_year)


def test_gauges_left_out_are_warned_of_once_with_plain_notes():
    """One warning names every gauge the fit leaves out and why; the notes state facts.

    Before, the fit left such gauges out with a note in the check table only, and a gauge
    beyond the tolerance got snap_point's advice for an interactive user as its note
    ("raise the tolerance (tolerance_m=; CLI --tolerance) ...").
    """
    net, (x0, y0) = _net()
    g = pd.DataFrame([
        _gauge("out", x0, y0, 10.0, 1000.0),
        _gauge("far", x0 + 5000, y0 + 15000, 1.0, 250.0),  # 5 km east of reach 2
        _gauge("wrong", x0, y0 + 20000, 1.0, 5000.0),  # reach 1 drains 100 km2
        _gauge("twin", x0 + 10, y0 + 5, 9.0, 1000.0),  # the reach of 'out' again
    ])  # fmt: skip
    with pytest.warns(BasingovWarning) as rec:
        net2, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert msg.startswith("3 gauge(s) left out of the runoff fit"), msg
    assert "discharge_check.csv notes each" in msg
    assert "1 more than 3000 m from any reach (nearest reach): far (5.0 km)" in msg
    assert (
        "1 whose snapped reach's upstream area is off the published catchment area by more "
        "than a factor 1.5: wrong (100 km2 vs 5000 km2 published, 0 m away)"
    ) in msg
    assert "1 on a reach another gauge already holds: twin (reach of out)" in msg
    notes = chk.set_index("gauge_id")["note"]
    assert notes["far"] == (
        "not snapped: nearest reach 5000 m away, beyond the snapping tolerance of 3000 m"
    )
    assert notes["wrong"] == "not used: snapped upstream area 100 km2 vs published 5000 km2"
    assert notes["twin"] == "second gauge on the same reach: not used"
    assert notes["out"] == ""
    # the gauge used is fitted as before
    assert net2.reaches["discharge_m3s"].iloc[2] == pytest.approx(10.0)
    # "ignore": the notes only; an unknown choice is refused
    _, chk2 = regionalise_runoff(net, g, runoff_mm_year=300.0, on_left_out="ignore")
    pd.testing.assert_frame_equal(chk, chk2)
    with pytest.raises(InputError, match=r"on_left_out.*'warn'"):
        regionalise_runoff(net, g, runoff_mm_year=300.0, on_left_out="raise")


def test_gauges_without_a_published_area_are_in_the_one_warning():
    """require_area leaves out the gauges without a published area: the warning names them.

    Before, the one warning named the gauges left out far from the reaches, off the
    published area or on a held reach, but not those without an area (the Thames run:
    TC8, TC9, TC10, TC14), so it did not list every gauge the fit leaves out.
    """
    net, (x0, y0) = _net()
    g = pd.DataFrame([
        _gauge("out", x0, y0, 10.0, 1000.0),
        _gauge("blank", x0, y0 + 15000, 4.0),  # no published area
        _gauge("wrong", x0, y0 + 20000, 1.0, 5000.0),  # reach 1 drains 100 km2
        _gauge("nan", x0, y0 + 25000, 1.0, float("nan")),
    ])  # fmt: skip
    with pytest.warns(BasingovWarning) as rec:
        _, chk = regionalise_runoff(net, g, runoff_mm_year=300.0, require_area=True)
    assert len(rec) == 1
    assert str(rec[0].message) == (
        "3 gauge(s) left out of the runoff fit (their catchments take the depth of the next "
        "gauge downstream, or the basin's; discharge_check.csv notes each): 2 without a "
        "published catchment area to check where they snap: blank, nan; 1 whose snapped "
        "reach's upstream area is off the published catchment area by more than a factor "
        "1.5: wrong (100 km2 vs 5000 km2 published, 0 m away)"
    )
    notes = chk.set_index("gauge_id")["note"]
    assert notes["blank"] == notes["nan"] == "not used: no published area to check where it snaps"
    # without require_area they are snapped by position alone and used: no warning of them
    with pytest.warns(BasingovWarning) as rec:
        _, chk = regionalise_runoff(net, g, runoff_mm_year=300.0)
    assert len(rec) == 1
    assert str(rec[0].message).startswith("1 gauge(s) left out of the runoff fit ")
    assert "blank" not in str(rec[0].message)
    assert chk.set_index("gauge_id").loc[["blank", "nan"], "note"].tolist() == ["", ""]
    # all left out for want of an area: still one warning, with nothing fitted
    with pytest.warns(BasingovWarning, match=r"^2 gauge\(s\) left out .*: 2 without a published"):
        regionalise_runoff(net, g.iloc[[1, 3]], runoff_mm_year=300.0, require_area=True)
