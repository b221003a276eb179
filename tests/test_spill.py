"""Tests for spill early warning and the ``basingov spill`` command."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, box

from basingov.cli import cli
from basingov.datasets import data_dir
from basingov.errors import BasingovWarning, InputError
from basingov.network import network_from_table
from basingov.overlay import split_reaches
from basingov.spill import (
    FLOW_RATIO_RANGE,
    flow_duration_ratio,
    spill_notifications,
    travel_times,
    warn,
)
from tests.reliability.conftest import write_toy


@pytest.fixture
def chain():
    # three 3.6 km reaches at 1 m/s (1 h each), 100 m3/s; A | B | C borders at x = 5 km, 9 km
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3], "downstream_id": [2, 3, -1], "velocity_ms": [1.0] * 3,
         "discharge_m3s": [100.0] * 3},
        geometry=[LineString([(0, 0), (3600, 0)]), LineString([(3600, 0), (7200, 0)]),
                  LineString([(7200, 0), (10800, 0)])],
        crs="EPSG:3035",
    )  # fmt: skip
    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B", "C"], "name": ["a", "b", "c"], "level": [0] * 3,
         "level_name": ["country"] * 3, "parent_id": [""] * 3},
        geometry=[box(-10, -100, 5000, 100), box(5000, -100, 9000, 100),
                  box(9000, -100, 20000, 100)],
        crs="EPSG:3035",
    )  # fmt: skip
    net = network_from_table(t)
    return net, split_reaches(net.reaches, jur, levels=["country"])


def test_travel_times(chain):
    net, _ = chain
    tt = travel_times(net, 1, start_fraction=0.5)
    assert tt["t_in_hours"].tolist() == pytest.approx([0.0, 0.5, 1.5])
    assert tt["mass_fraction"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(InputError, match="mode must be one of"):
        travel_times(net, 1, mode="UT")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="start_fraction"):
        travel_times(net, 1, start_fraction=2)


def test_notifications_golden(chain):
    # Release at x = 0. Border A|B at 5 km -> 5000 s = 1.389 h; B|C at 9 km -> 2.5 h.
    # Peak at B: C = M / (A sqrt(4 pi D t)) with A = 100 m2, D = 100, t = 5000 s, in mg/L.
    net, pieces = chain
    out = spill_notifications(net, pieces, 1, 1000.0, levels=["country"], dispersion_m2_s=100.0,
                              release_time=dt.datetime(2026, 1, 1))  # fmt: skip
    assert out["jur_id"].tolist() == ["A", "B", "C"]
    assert out["peak_hours"].tolist() == pytest.approx([0.0, 5000 / 3600, 9000 / 3600])
    peak_b = 1000.0 / (100.0 * np.sqrt(4 * np.pi * 100.0 * 5000.0)) * 1000.0
    assert out.loc[1, "peak_mg_l"] == pytest.approx(peak_b)
    # leading edge 2 sigma = 2 sqrt(2 D t) metres ahead of the centroid, at 1 m/s
    assert out.loc[1, "arrival_hours"] == pytest.approx(
        (5000 - 2 * np.sqrt(2 * 100.0 * 5000.0)) / 3600
    )
    assert out["arrival_hours"].is_monotonic_increasing
    assert out.loc[2, "peak_time"].startswith("2026-01-01T02:30")
    plug = spill_notifications(net, pieces, 1, 1.0, levels=["country"], dispersion_m2_s=0.0)
    assert plug["peak_mg_l"].isna().all()


def test_border_within_the_released_cloud_is_near_field(chain):
    # Released 1 m above the A|B border (x = 4999 m, on reach 2 from 3600 m): the 1-D peak
    # C = M / (A sqrt(4 pi D t)) at t = 1 s gave 1000 / (100 sqrt(4 pi 300)) kg/m3 = 163 mg/L,
    # and tends to infinity as the release nears the border. The leading edge, 2 sqrt(2 D t)
    # = 49 m ahead of the centre, is at the border from the release on (arrival 0): the
    # border lies within the cloud as released, like the release's own jurisdiction, and
    # gets no peak estimate. The B|C border 4,001 m below keeps the formula's peak.
    net, pieces = chain
    out = spill_notifications(net, pieces, 2, 1000.0, levels=["country"],
                              start_fraction=1399 / 3600).set_index("jur_id")  # fmt: skip
    assert out.loc["B", "peak_hours"] == pytest.approx(1 / 3600)
    assert out.loc["B", "arrival_hours"] == 0.0
    assert np.isnan(out.loc["B", "peak_mg_l"])
    assert out["near_field"].to_dict() == {"A": True, "B": True, "C": False}
    t_c = 4001.0  # s
    assert 1.0 * t_c > 2 * np.sqrt(2 * 300.0 * t_c)  # the cloud has passed its release point
    peak_c = 1000.0 / (100.0 * np.sqrt(4 * np.pi * 300.0 * t_c)) * 1000.0  # 2.52 mg/L
    assert out.loc["C", "peak_mg_l"] == pytest.approx(peak_c)
    assert out.loc["C", "arrival_hours"] == pytest.approx(
        (t_c - 2 * np.sqrt(2 * 300.0 * t_c)) / 3600
    )


def test_a_peak_above_the_density_of_water_is_not_estimated(chain):
    # At 1e-7 times the mean flow (v = a Q^b, b = 0.1) the chain runs at 1e-5 m3/s and
    # 0.1995 m/s, so A = Q / v = 5.0e-5 m2: 300 kg gave B (5 km below) a 1-D peak
    # C = M / (A sqrt(4 pi D t)) of 1.07e6 mg/L, denser than water (1 kg per litre). No
    # dissolved concentration can exceed it: no peak, above_water_density. C (9 km) keeps
    # its 7.95e5 mg/L. Both borders lie beyond the cloud as released (not near field).
    net, pieces = chain
    r, d, mass = 1e-7, 100.0, 300.0
    out = spill_notifications(net, pieces, 1, mass, levels=["country"], dispersion_m2_s=d,
                              flow_ratio=r).set_index("jur_id")  # fmt: skip
    v, area = r**0.1, 100.0 * r / r**0.1

    def peak(x_m: float) -> float:
        t = x_m / v
        assert v * t > 2 * np.sqrt(2 * d * t)  # not near field
        return mass / (area * np.sqrt(4 * np.pi * d * t)) * 1000.0

    assert peak(5000.0) == pytest.approx(1.067e6, rel=1e-3)
    assert np.isnan(out.loc["B", "peak_mg_l"])
    assert out.loc["B", "peak_hours"] == pytest.approx(5000.0 / v / 3600)
    assert out.loc["C", "peak_mg_l"] == pytest.approx(peak(9000.0))
    assert peak(9000.0) == pytest.approx(7.95e5, rel=1e-3)
    assert out["above_water_density"].to_dict() == {"A": False, "B": True, "C": False}
    assert out["near_field"].to_dict() == {"A": True, "B": False, "C": False}
    # at the mean flow no peak comes near the bound
    mean = spill_notifications(net, pieces, 1, mass, levels=["country"], dispersion_m2_s=d)
    assert not mean["above_water_density"].any()
    assert mean["peak_mg_l"].iloc[1:].notna().all()


def test_release_time_as_a_date_or_text(chain):
    # a date is its midnight: date + timedelta(hours=2.5) was the date, the hours lost
    net, pieces = chain
    for release in (dt.date(2026, 1, 1), "2026-01-01"):
        out = spill_notifications(net, pieces, 1, 1.0, levels=["country"], release_time=release)
        assert out["peak_time"].tolist() == [
            "2026-01-01T00:00:00",
            "2026-01-01T01:23:20",
            "2026-01-01T02:30:00",
        ]
    # anything else is refused, not an AttributeError ('int' object has no attribute 'year')
    with pytest.raises(InputError, match=r"time must be an ISO 8601 date-time .* got 0"):
        spill_notifications(net, pieces, 1, 1.0, levels=["country"], release_time=0)  # type: ignore[arg-type]


def test_notification_errors(chain):
    net, pieces = chain
    with pytest.raises(InputError, match="mass_kg must be a finite number > 0"):
        spill_notifications(net, pieces, 1, 0.0, levels=["country"])
    with pytest.raises(InputError, match="allowed levels"):
        spill_notifications(net, pieces, 1, 1.0, levels=["nuts3"])
    with pytest.raises(InputError, match="have no piece"):
        spill_notifications(net, pieces[pieces["reach_id"] != 2], 1, 1.0, levels=["country"])
    with pytest.raises(InputError, match="must be a finite number >= 0"):
        spill_notifications(net, pieces, 1, 1.0, levels=["country"], decay_per_day=-1)


def test_level_numbers_one_per_level(chain):
    # a list of another length raised ValueError (zip() argument 2 is longer than argument 1)
    net, pieces = chain
    with pytest.raises(InputError, match=r"level_numbers has 2 number\(s\) \[0, 1\] for the 1 "):
        spill_notifications(net, pieces, 1, 1.0, levels=["country"], level_numbers=[0, 1])
    out = spill_notifications(net, pieces, 1, 1.0, levels=["country"], level_numbers=[3])
    assert set(out["level"]) == {3}


def test_cli_bad_at():
    res = CliRunner().invoke(cli, ["spill", "rhine", "--at", "7.59", "--mass", "1"])
    assert res.exit_code != 0
    assert "--at must be LON,LAT in WGS84 degrees" in str(res.exception)
    res = CliRunner().invoke(cli, ["spill", "rhine", "--at", "47.56,97.59", "--mass", "1"])
    assert "is out of range: LON,LAT order, lon within ±180, lat within ±90" in str(res.exception)


def test_rhine_basel_to_dutch_border(tmp_path):
    # Basel (7.59E, 47.56N) -> Dutch border near Lobith: ~690 river km. Published alarm-model
    # travel times are of the order of 3-6 days depending on discharge (task brief; no
    # citable figure found); with the default hydraulic-geometry velocities (1.4-1.5 m/s on
    # the Rhine) the peak should arrive within 3-7 days.
    out = tmp_path / "spill.json"
    res = CliRunner().invoke(
        cli,
        ["spill", "rhine", "--at", "7.59,47.56", "--mass", "1000", "--network", "hybas",
         "--time", "2026-11-23T08:00", "-o", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    nl = [n for n in data["notifications"] if n["jur_id"] == "NL"]
    assert len(nl) == 1
    assert 72 <= nl[0]["peak_hours"] <= 168
    assert 5.5 < nl[0]["crossing_lon"] < 6.8
    assert 51.5 < nl[0]["crossing_lat"] < 52.1
    arrivals = [n["arrival_hours"] for n in data["notifications"]]
    assert arrivals == sorted(arrivals)
    again = CliRunner().invoke(cli, ["spill", "rhine", "--at", "7.59,47.56", "--mass", "1",
                                     "--network", "hybas", "-o", str(out)])  # fmt: skip
    assert again.exit_code != 0


def test_cli_release_just_above_the_dutch_border(tmp_path):
    # 1,000 kg released 6.5 cm above the German-Dutch border of the Rhine at 100 m3/s: the
    # 1-D formula gave Nederland a peak of 748 mg/L after 0.04 s (53 mg/L at mean flow)
    res = CliRunner().invoke(
        cli, ["spill", "rhine", "--at", "6.0747,51.86062", "--mass", "1000", "--flow", "100"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["peak_model"].startswith("ASSUMPTION: an instantaneous release mixed over")
    nl = next(n for n in data["notifications"] if n["jur_id"] == "NL")
    assert nl["arrival_hours"] == 0.0
    assert nl["peak_hours"] < 1e-4
    assert nl["peak_mg_l"] is None
    assert nl["near_field"] is True
    assert "NL Nederland  [near field]" in res.stderr
    assert "near field: the border lies within the cloud as released" in res.stderr
    far = [n for n in data["notifications"] if n["arrival_hours"] > 0]
    assert far
    assert all(n["peak_mg_l"] > 0 and n["near_field"] is False for n in far)


def test_cli_tiny_flow_gives_no_peak_above_the_density_of_water():
    # --flow 1e-9 (2269 m3/s mean) made A = Q / v tiny: Zuidwest-Gelderland (NL224), 118 h
    # below a release at the German-Dutch border and not in the near field, got 2.1e9 mg/L
    with pytest.warns(BasingovWarning) as rec:
        res = CliRunner().invoke(
            cli, ["spill", "rhine", "--at", "6.0747,51.86062", "--mass", "1000", "--flow", "1e-9"]
        )
    assert res.exit_code == 0, res.output
    # said once: the flow is 4.41e-13 of the mean flow, far below any observed daily flow
    assert len(rec) == 1
    assert str(rec[0].message).startswith(
        "the flow at the release, 1e-09 m3/s, is 4.41e-13 times the release reach's mean flow "
        "(2,269 m3/s), below the 0.002 to 11.6 times their site's mean of the mean daily flows "
        "observed at 22 UKCEH Thames Initiative sites, 2009-2017 "
        "(basingov.spill.FLOW_RATIO_RANGE): every discharge on the spill path is scaled by "
        "this ratio"
    )
    assert "a peak above 1,000,000 mg/L, the density of water, is not given" in str(rec[0].message)
    data = json.loads(res.stdout)
    assert data["peak_max_mg_l"] == 1e6
    assert "exceeds 1e6 mg/L (peak_max_mg_l), the density of water" in data["peak_model"]
    nl224 = next(n for n in data["notifications"] if n["jur_id"] == "NL224")
    assert nl224["arrival_hours"] > 1
    assert nl224["near_field"] is False
    assert nl224["peak_mg_l"] is None
    assert nl224["above_water_density"] is True
    assert "NL224 Zuidwest-Gelderland  [above water density]" in res.stderr
    assert "exceeds 1,000,000 mg/L, the density of water (1 kg per litre)" in res.stderr


def test_cli_dispersion_from_config(edited_config):
    # [spillover] dispersion_m2_s is used when --dispersion is not given; the flag wins
    cfg = edited_config(
        "thames", lambda t: t.replace("[spillover]\n", "[spillover]\ndispersion_m2_s = 1000.0\n")
    )
    at = ["--at", "-1.25,51.75", "--mass", "100"]
    res = CliRunner().invoke(cli, ["spill", str(cfg), *at])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["dispersion_m2_s"] == 1000.0
    res = CliRunner().invoke(cli, ["spill", str(cfg), *at, "--dispersion", "50"])
    assert json.loads(res.stdout)["dispersion_m2_s"] == 50.0


def test_cli_output_suffix_in_any_case(tmp_path):
    # -o x.CSV was refused ("-o must end in .csv or .json") while -o x.csv worked; the
    # suffix is read in any case, as query -o reads it
    at = ["spill", "thames", "--at", "-1.25,51.75", "--mass", "100"]
    for name in ("x.CSV", "y.Json"):
        res = CliRunner().invoke(cli, [*at, "-o", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "x.CSV").read_text().startswith("jur_id,name,level,")
    assert "notifications" in json.loads((tmp_path / "y.Json").read_text())
    res = CliRunner().invoke(cli, [*at, "-o", str(tmp_path / "z.txt")])
    assert res.exit_code == 1
    assert "use a .csv or .json file name" in str(res.exception)


def _flow_warnings(*args, **kw):
    """Return warn(...) and the messages of the warnings about its flow."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = warn(*args, **kw)
    return r, [str(w.message) for w in rec if "the flow at the release" in str(w.message)]


def test_flow_ratio_range_is_the_observed_range():
    # FLOW_RATIO_RANGE holds the lowest and highest mean daily flow over the site's mean of
    # the shipped Thames observations, rounded outwards (its comment and docs/guide.md)
    obs = pd.read_csv(data_dir() / "monitoring" / "thames_observations.csv", low_memory=False)
    q = obs[obs["parameter"] == "Q"].astype({"value": float})
    assert (q["unit"] == "m3/s").all()
    assert (len(q), q["station_id"].nunique()) == (8884, 22)
    ratio = q["value"] / q.groupby("station_id")["value"].transform("mean")
    low, high = FLOW_RATIO_RANGE
    assert low <= ratio.min() < 1.01 * low
    assert high / 1.01 < ratio.max() <= high


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_a_realistic_flow_is_not_warned_about(ratio, tmp_path):
    # half or twice the release reach's mean flow (a summer flow, a high flow) warned "below
    # the lowest mean discharge" / "above the highest mean discharge" of the reaches on the
    # path, whose mean flows grow towards the outlet; only the ratio to the mean flow counts
    toy = write_toy(tmp_path)
    for basin, at in ((toy, (7.03, 47.03)), ("thames", (-0.51, 51.43))):
        q_mean = warn(basin, at, 1.0).flow["q_mean_m3s"]
        r, said = _flow_warnings(basin, at, 1.0, flow_m3s=ratio * q_mean)
        assert said == []
        assert r.flow["ratio"] == pytest.approx(ratio)


@pytest.mark.parametrize(("ratio", "side"), [(1e-9, "below"), (1000.0, "above")])
def test_an_absurd_flow_is_warned_about(ratio, side, tmp_path):
    toy = write_toy(tmp_path)
    at = (7.03, 47.03)
    q_mean = warn(toy, at, 1.0).flow["q_mean_m3s"]
    _, said = _flow_warnings(toy, at, 1.0, flow_m3s=ratio * q_mean)
    assert len(said) == 1
    assert f"is {ratio:.3g} times the release reach's mean flow" in said[0]
    assert f", {side} the 0.002 to 11.6 times their site's mean" in said[0]
    assert ("the density of water" in said[0]) is (side == "below")


@pytest.mark.parametrize(
    ("percentile", "side"),
    [
        (0.001, "above"),
        (0.01, "above"),
        (0.05, None),
        (95.0, None),
        (99.999, None),
        (100 - 1e-14, "below"),
    ],
)
def test_a_flow_percentile_outside_the_observed_range_is_warned_about(percentile, side):
    # --flow-percentile reads the ratio off an unbounded lognormal (Thames sigma 0.786):
    # Q0.001 is 21 times the mean flow, above any shipped daily flow, and was not warned
    # about (only --flow was); it gets the --flow warning, naming the percentile
    at = (-0.51, 51.43)
    r, said = _flow_warnings("thames", at, 1.0, flow_percentile=percentile)
    ratio = r.flow["ratio"]
    assert ratio == pytest.approx(flow_duration_ratio(percentile, sigma_ln=0.786))
    low, high = FLOW_RATIO_RANGE
    assert (side is None) is (low <= ratio <= high)
    if side is None:
        assert said == []
        return
    assert len(said) == 1
    assert said[0].startswith(
        f"the flow at the release, {r.flow['q_release_m3s']:g} m3/s (exceeded {percentile:g} % "
        "of the time on the basin's lognormal flow-duration curve, flow_duration_sigma_ln = "
        f"0.786), is {ratio:.3g} times the release reach's mean flow "
    )
    assert f", {side} the 0.002 to 11.6 times their site's mean" in said[0]
    assert ("the density of water" in said[0]) is (side == "below")


def test_cli_flow_percentile_outside_the_observed_range_is_warned_about():
    args = ["spill", "thames", "--at", "-0.51,51.43", "--mass", "500", "--flow-percentile"]
    with pytest.warns(BasingovWarning, match=r"\(exceeded 0.001 % of the time .* is 21 times"):
        res = CliRunner().invoke(cli, [*args, "0.001"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["flow"]["ratio"] == pytest.approx(20.97, abs=0.01)
