"""Spill warnings through lakes and at a given flow (basingov.spill, ``basingov spill``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import norm
from shapely import LineString, box

from basingov.cli import cli
from basingov.config import load_config
from basingov.datasets import data_dir, get_path
from basingov.errors import InputError
from basingov.network import LakeInfo, lake_polygons, mark_lakes, network_from_table
from basingov.overlay import split_reaches
from basingov.spill import flow_duration_ratio, spill_notifications, travel_times

CRS = "EPSG:3035"


@pytest.fixture
def lake_path():
    """River A (0-3.6 km) -> lake in B (3.6-10.8 km, two reaches) -> river C (10.8-14.4 km).

    1 m/s on the rivers (1 h per reach), 10 m3/s everywhere; the lake polygon is 8 x 1 km
    with a published volume of 0.0036 km3: residence 3.6e6 m3 / 10 m3/s = 3.6e5 s = 100 h.
    """
    xs = [0, 3600, 7200, 10800, 14400]
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3, 4], "downstream_id": [2, 3, 4, -1],
         "velocity_ms": [1.0] * 4, "discharge_m3s": [10.0] * 4},
        geometry=[LineString([(xs[i], 0), (xs[i + 1], 0)]) for i in range(4)],
        crs=CRS,
    )  # fmt: skip
    lk = lake_polygons(
        gpd.GeoDataFrame({"name": ["L"]}, geometry=[box(3000, -500, 11000, 500)], crs=CRS),
        CRS,
        info=[LakeInfo("L", 0.0036, "test")],
    )
    net = mark_lakes(network_from_table(t), lk)
    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B", "C"], "name": ["a", "b", "c"], "level": [0] * 3,
         "level_name": ["country"] * 3, "parent_id": [""] * 3},
        geometry=[box(-10, -900, 3600, 900), box(3600, -900, 10800, 900),
                  box(10800, -900, 20000, 900)],
        crs=CRS,
    )  # fmt: skip
    return net, split_reaches(net.reaches, jur, levels=["country"])


def test_lake_holds_the_plume_for_its_residence_time(lake_path):
    net, pieces = lake_path
    tt = travel_times(net, 1).set_index("reach_id")
    # reach 1 takes 1 h; the lake's interior reach 0 h; its outlet holds 100 h
    assert tt["t_in_hours"].tolist() == pytest.approx([0.0, 1.0, 1.0, 101.0])
    assert tt.loc[3, "hold_hours"] == pytest.approx(100.0)
    assert tt.loc[4, "last_lake"] == "L"
    out = spill_notifications(net, pieces, 1, 1000.0, levels=["country"])
    row = out.set_index("jur_id")
    # B is warned when the plume enters the lake (1 h), with no peak estimate on the lake
    assert row.loc["B", "arrival_hours"] == pytest.approx(1.0)
    assert row.loc["B", "on_lake"]
    assert np.isnan(row.loc["B", "peak_mg_l"])
    # C is reached when the plume leaves the lake (101 h); dispersion restarts there, and the
    # peak cannot exceed the mass fully mixed in the lake: 1000 kg / 3.6e6 m3 = 0.278 mg/L
    assert row.loc["C", "peak_hours"] == pytest.approx(101.0)
    assert row.loc["C", "arrival_hours"] >= 101.0
    assert row.loc["C", "peak_mg_l"] == pytest.approx(1000.0 / 3.6e6 * 1000.0)
    assert row.loc["C", "lake"] == "L"
    assert not row.loc["C", "on_lake"]


def test_flow_scales_velocities_and_lake_residence(lake_path):
    """At twice the mean flow: river velocities x 2**b (b = 0.1) and the hold / 2."""
    net, pieces = lake_path
    b = 0.1
    tt = travel_times(net, 1, flow_ratio=2.0, velocity_b=b).set_index("reach_id")
    river_h = 1.0 / 2.0**b
    assert tt.loc[2, "t_in_hours"] == pytest.approx(river_h)
    assert tt.loc[4, "t_in_hours"] == pytest.approx(river_h + 50.0)
    out = spill_notifications(
        net, pieces, 1, 1000.0, levels=["country"], flow_ratio=2.0, velocity_b=b,
        dispersion_m2_s=0.0,
    )  # fmt: skip
    assert out.set_index("jur_id").loc["C", "peak_hours"] == pytest.approx(river_h + 50.0)
    with pytest.raises(InputError, match="flow_ratio must be > 0"):
        travel_times(net, 1, flow_ratio=0.0)


def test_peak_concentration_scales_with_the_flow():
    """Scale the peak with the flow as the dispersion formula says.

    Below no lake, C_max = M / (A sqrt(4 pi D t)) with A = Q / v: at r times the flow,
    A grows by r / r**b and t shrinks by r**b, so C_max scales by r**(b - 1) * r**(b / 2).
    """
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2], "downstream_id": [2, -1], "velocity_ms": [1.0, 1.0],
         "discharge_m3s": [100.0, 100.0]},
        geometry=[LineString([(0, 0), (3600, 0)]), LineString([(3600, 0), (7200, 0)])],
        crs=CRS,
    )  # fmt: skip
    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B"], "name": ["a", "b"], "level": [0, 0],
         "level_name": ["country"] * 2, "parent_id": ["", ""]},
        geometry=[box(-10, -10, 3600, 10), box(3600, -10, 8000, 10)],
        crs=CRS,
    )  # fmt: skip
    net = network_from_table(t)
    pieces = split_reaches(net.reaches, jur, levels=["country"])

    def peak(r):
        out = spill_notifications(
            net, pieces, 1, 1000.0, levels=["country"], flow_ratio=r, velocity_b=0.1
        )
        return out.set_index("jur_id").loc["B", "peak_mg_l"]

    r = 4.0
    assert peak(r) / peak(1.0) == pytest.approx(r ** (0.1 - 1) * r ** (0.1 / 2), rel=1e-9)


# --- flow-duration curves ----------------------------------------------------------------
def test_flow_duration_ratio_is_a_lognormal_with_mean_one():
    s = 0.6
    ps = np.linspace(0.05, 99.95, 2000)
    ratios = np.array([flow_duration_ratio(p, sigma_ln=s) for p in ps])
    assert np.all(np.diff(ratios) < 0)  # rarer exceedance = higher flow
    # the mean of the lognormal (integral of the duration curve) is 1
    assert np.trapezoid(ratios, ps / 100.0) == pytest.approx(1.0, rel=0.01)
    assert flow_duration_ratio(50, sigma_ln=s) == pytest.approx(math.exp(-s * s / 2))
    # the quantile is scipy.stats.norm.ppf's, to the bit
    from scipy.stats import lognorm, norm

    for p in (*ps[::97], 0.01, 5.0, 95.0, 99.99):
        assert flow_duration_ratio(p, sigma_ln=s) == float(
            np.exp(-0.5 * s**2 + s * float(norm.ppf(1.0 - p / 100.0)))
        )
        # and the lognormal of mean 1 exceeded p % of the time (another route: not the bits)
        assert flow_duration_ratio(p, sigma_ln=s) == pytest.approx(
            lognorm.isf(p / 100.0, s, scale=math.exp(-s * s / 2)), rel=1e-12
        )
    with pytest.raises(InputError, match="strictly between 0 and 100"):
        flow_duration_ratio(100, sigma_ln=s)
    with pytest.raises(InputError, match="flow_duration_sigma_ln must be > 0"):
        flow_duration_ratio(50, sigma_ln=0.0)
    # 1 - P/100 rounds to 1, an infinite flow: an error naming the percentile
    for p in (1e-17, 1e-20):
        with pytest.raises(InputError, match=f"flow percentile {p:g} is too close to 0"):
            flow_duration_ratio(p, sigma_ln=s)


def test_thames_flow_duration_against_the_ceh_flows():
    """Compare the Thames lognormal with the shipped CEH flows.

    The Thames sigma is the sd of ln(Q) of the shipped CEH flows at Runnymede (TC16);
    its lognormal quantiles against the empirical ones: Q10 and Q50 within 20 %, Q95 within
    25 % (the lognormal is too low at low flow).
    """
    cfg = load_config(get_path("thames"))
    obs = pd.read_csv(data_dir() / "monitoring" / "thames_observations.csv")
    q = obs[(obs["station_id"] == "TC16") & (obs["parameter"] == "Q")]["value"].astype(float)
    assert len(q) == 432
    sigma = float(np.log(q).std(ddof=1))
    assert cfg.hydraulics.flow_duration_sigma_ln == pytest.approx(sigma, abs=0.001)
    for p, tol in ((10, 0.2), (50, 0.2), (95, 0.25)):
        model = q.mean() * flow_duration_ratio(p, sigma_ln=sigma)
        assert model == pytest.approx(np.percentile(q, 100 - p), rel=tol)


def test_rhine_flow_duration_against_basel_gauge_statistics():
    """Compare the Rhine lognormal with the Basel gauge statistics.

    Fitted to MNQ 429 / MHQ 2,650 m3/s at Basel (BfG): the lognormal's implied mean is
    within 10 % of the published MQ, 1,040 m3/s.
    """
    sigma = load_config(get_path("rhine")).hydraulics.flow_duration_sigma_ln
    z = norm.ppf(1 - 1 / 365)
    assert sigma == pytest.approx(math.log(2650 / 429) / (2 * z), abs=0.001)
    median = math.sqrt(429 * 2650)
    assert median * math.exp(sigma**2 / 2) == pytest.approx(1040.0, rel=0.10)


# --- command line ------------------------------------------------------------------------
def _spill(args):
    res = CliRunner().invoke(cli, ["spill", *args])
    return res, (json.loads(res.stdout) if res.exit_code == 0 else None)


def test_cli_flow_and_percentile():
    at = ["thames", "--at", "-0.51,51.43", "--mass", "500"]
    _, mean = _spill(at)
    _, low = _spill([*at, "--flow-percentile", "95"])
    q_mean = mean["flow"]["q_mean_m3s"]
    assert mean["flow"]["ratio"] == 1.0
    assert low["flow"]["ratio"] == pytest.approx(flow_duration_ratio(95, sigma_ln=0.786))
    assert low["flow"]["q_release_m3s"] == pytest.approx(q_mean * low["flow"]["ratio"])
    assert low["flow"]["source"].startswith("ASSUMPTION: lognormal")
    _, given = _spill([*at, "--flow", f"{2 * q_mean}"])  # 111 m3/s, a flood: no warning
    assert given["flow"]["ratio"] == pytest.approx(2.0)
    # at a low flow the plume travels slower: later peaks everywhere downstream
    t_mean = {n["jur_id"]: n["peak_hours"] for n in mean["notifications"]}
    t_low = {n["jur_id"]: n["peak_hours"] for n in low["notifications"]}
    later = [j for j in t_mean if t_mean[j] > 0]
    assert later
    assert all(t_low[j] > t_mean[j] for j in later)


def test_cli_flow_errors(tmp_path: Path):
    at = ["thames", "--at", "-0.51,51.43", "--mass", "500"]
    res, _ = _spill([*at, "--flow", "10", "--flow-percentile", "50"])
    assert res.exit_code != 0
    assert "not both" in res.output + str(res.exception)
    res, _ = _spill([*at, "--flow", "-1"])
    assert res.exit_code != 0
    assert "--flow must be a discharge > 0" in res.output + str(res.exception)
    # a basin config without a flow-duration curve
    text = get_path("thames").read_text(encoding="utf-8")
    text = text.replace('"../', f'"{data_dir().as_posix()}/')
    text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("flow_duration_"))
    cfg = tmp_path / "thames.toml"
    cfg.write_text(text, encoding="utf-8")
    res, _ = _spill([str(cfg), *at[1:], "--flow-percentile", "95"])
    assert res.exit_code != 0
    assert isinstance(res.exception, InputError)
    assert "gives no flow-duration curve: set [hydraulics] flow_duration_sigma_ln" in str(
        res.exception
    )


def test_a_rhine_spill_flows_at_the_runs_gauge_fitted_discharge():
    # the spill builds the network as a run does: runoff fitted to the five BfG gauges,
    # so the release at Basel flows at the gauge's mean flow (BfG: MQ 1,040 m3/s at
    # Basel-Rheinhalle, 1808-2022), not the 510 m3/s of one runoff depth over the basin
    from basingov.spill import warn

    res = warn("rhine", (7.59, 47.56), 1000.0)
    assert res.flow["q_mean_m3s"] == pytest.approx(1040.0, rel=0.01)
    assert res.flow["q_mean_source"].startswith("runoff fitted to the basin's gauges")
    # a basin without gauges says its mean flow rests on an assumed runoff depth
    tn = warn("tennessee", (-84.3, 35.9), 10.0)
    assert tn.flow["q_mean_source"].startswith("ASSUMPTION: one runoff depth")
