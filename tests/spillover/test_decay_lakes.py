"""River decay by size class and lake retention (basingov.spillover.decay)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely import LineString, box

from basingov.config import load_config
from basingov.datasets import get_path, load_basin, load_network
from basingov.errors import BasingovWarning, ConfigError, InputError
from basingov.network import lake_polygons, mark_lakes, network_from_table
from basingov.spillover import (
    DEFAULT_DECAY_CLASSES,
    DecayClasses,
    DecayModel,
    decay_model_from_config,
    keep_factors,
    lake_retention,
    lake_table,
    reach_keep,
    route,
    routing_graph,
)

CRS = "EPSG:3035"
SECONDS_PER_YEAR = 365.25 * 86400.0


# --- decay classes -----------------------------------------------------------------------
def test_default_classes_follow_the_published_rates():
    # Alexander, Smith & Schwarz (2000): 0.45/day in small streams, 0.005/day in the
    # Mississippi; Moore et al. (2004): loss only detectable below 2.83 m3/s
    c = DEFAULT_DECAY_CLASSES
    assert c.thresholds_m3s[0] == 2.83
    assert c.rates([0.5, 2.82, 2.83, 30.0, 15000.0]).tolist() == [0.45, 0.45, 0.005, 0.005, 0.005]
    assert "Alexander" in c.source
    assert "Moore" in c.source


def test_class_boundaries_and_validation():
    c = DecayClasses((1.0, 10.0), (0.3, 0.1, 0.0))
    assert c.class_index([0.0, 0.999, 1.0, 9.99, 10.0, 1e6]).tolist() == [0, 0, 1, 1, 2, 2]
    assert c.with_rates([0.2, 0.05, 0.01]).rates([5.0]).tolist() == [0.05]
    assert c.table()["k_per_day"].tolist() == [0.3, 0.1, 0.0]
    with pytest.raises(InputError, match="one rate more than thresholds"):
        DecayClasses((1.0,), (0.1,))
    with pytest.raises(InputError, match="must be > 0 and increasing"):
        DecayClasses((10.0, 1.0), (0.1, 0.1, 0.1))
    with pytest.raises(InputError, match="finite and >= 0"):
        DecayClasses((), (-0.1,))
    with pytest.raises(InputError, match="mean discharge is missing or negative"):
        c.rates([1.0, np.nan])


def test_chain_through_three_size_classes_golden():
    """Route 1 kg/day through the three default size classes (hand arithmetic).

    The load enters mid-reach on a 1-day small stream, then flows 1 day in a medium and
    1 day in a large river, with rates 0.45, 0.005, 0.005 per day:
    delivered = exp(-0.45/2) * exp(-0.005) * exp(-0.005) = exp(-0.235) = 0.79057 kg/day.
    """
    k = DEFAULT_DECAY_CLASSES.rates([1.0, 10.0, 100.0])
    keep = keep_factors([24.0, 24.0, 24.0], decay_per_day=k)
    r = route(routing_graph([1, 2, -1]), keep, [1.0, 0.0, 0.0], [0, 0, 0])
    expected = math.exp(-0.225) * math.exp(-0.005) * math.exp(-0.005)
    assert r.delivered[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.79057, abs=1e-5)
    assert r.decayed[0] == pytest.approx(1.0 - expected, rel=1e-12)


def test_single_rate_override_and_config():
    cfg = load_config(get_path("rhine"))
    assert decay_model_from_config(cfg).classes == DEFAULT_DECAY_CLASSES
    sp = dataclasses.replace(cfg.spillover, decay_per_day=0.1)
    m = decay_model_from_config(dataclasses.replace(cfg, spillover=sp))
    assert m.classes.k_per_day == (0.1,)
    sp = dataclasses.replace(
        cfg.spillover, decay_classes={"thresholds_m3s": [3.0], "k_per_day": [0.3, 0.0]}
    )
    m = decay_model_from_config(dataclasses.replace(cfg, spillover=sp))
    assert m.classes.rates([1.0, 5.0]).tolist() == [0.3, 0.0]


def test_bad_decay_classes_in_config(tmp_path):
    text = get_path("thames").read_text(encoding="utf-8")
    text = text.replace(
        "[spillover]", "[spillover]\ndecay_classes = { thresholds_m3s = [3.0], k_per_day = [0.1] }"
    )
    p = tmp_path / "thames.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="needs one rate more than thresholds"):
        load_config(p)
    p.write_text(text.replace("k_per_day = [0.1]", "k_per_day = [0.1, 0.0], kk = 1"), "utf-8")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['kk'\]"):
        load_config(p)


def test_size_classes_remove_less_nitrogen_on_large_rivers_than_one_rate():
    """Keep large rivers nearly lossless, unlike one rate everywhere.

    The issue: k = 0.1/day everywhere removed most nitrogen on large rivers. With the
    SPARROW classes, reaches above 28.3 m3/s keep at least 99.5 % per day of travel.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BasingovWarning)
        net = load_network(load_basin("tennessee"))
    q = net.reaches["discharge_m3s"].to_numpy()
    lake = net.reaches["is_lake"].to_numpy()
    keep_cls, _ = reach_keep(net, DecayModel())
    keep_one, _ = reach_keep(net, DecayModel(classes=DecayClasses.uniform(0.1)))
    big = (q >= 28.3) & ~lake
    assert big.sum() > 10
    tau_days = (net.reaches["length_km"] * 1000 / net.reaches["velocity_ms"] / 86400).to_numpy()
    np.testing.assert_allclose(keep_cls[big], np.exp(-0.005 * tau_days[big]), rtol=1e-12)
    assert (keep_cls[big] > keep_one[big]).all()


# --- lake retention ----------------------------------------------------------------------
def test_lake_retention_golden():
    """Check R = 1 - exp(-v_s/q_s) against hand arithmetic.

    A 10 km2 lake with 1 m3/s outflow has q_s = 31,557,600 m3/yr /
    1e7 m2 = 3.15576 m/yr; with v_s = 6.45 m/yr, R = 1 - exp(-6.45 / 3.15576)
    = 1 - exp(-2.04388) = 1 - 0.129525 = 0.870475.
    """
    r = float(lake_retention(6.45, 10.0, 1.0))
    assert r == pytest.approx(1.0 - math.exp(-6.45 / 3.15576), rel=1e-6)
    assert r == pytest.approx(0.870475, abs=1e-6)
    assert float(lake_retention(1.0, 10.0, 0.0)) == 1.0  # no outflow: everything stays
    assert float(lake_retention(0.0, 10.0, 5.0)) == 0.0
    with pytest.raises(InputError, match="lake area must be finite and > 0"):
        lake_retention(1.0, 0.0, 1.0)
    with pytest.raises(InputError, match="settling velocity must be finite and >= 0"):
        lake_retention(-1.0, 1.0, 1.0)


def _lake_chain():
    """River 0-2 km -> lake 2-8 km (two reaches) -> river 8-10 km; the lake box is 6 km2."""
    xs = [0, 2000, 5000, 8000, 10000]
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3, 4], "downstream_id": [2, 3, 4, -1],
         "discharge_m3s": [1.0, 1.0, 1.0, 1.0], "velocity_ms": [0.5] * 4},
        geometry=[LineString([(xs[i], 0), (xs[i + 1], 0)]) for i in range(4)],
        crs=CRS,
    )  # fmt: skip
    lk = lake_polygons(
        gpd.GeoDataFrame({"name": ["L"]}, geometry=[box(2000, -500, 8000, 500)], crs=CRS),
        CRS,
        assumed_mean_depth_m=5.0,
    )
    return mark_lakes(network_from_table(t), lk)


def test_load_passes_a_lake_and_is_retained_once():
    """Retain a lake's load once, at its outlet (hand arithmetic).

    1 kg/day is generated on each of the four reaches. River reaches decay with k = 0
    here (a single zero rate), so every loss is the lake's: R = 1 - exp(-v_s/q_s) with
    q_s = 1 m3/s x 31,557,600 s / 6e6 m2 = 5.2596 m/yr and v_s = 6.45 m/yr:
    R = 1 - exp(-1.22633) = 1 - 0.293368 = 0.706632. The loads of reaches 1, 2 and 3 all
    leave through the lake's outlet (reach 3) and are retained once: retained = 3 x R;
    reach 4's load passes.
    """
    net = _lake_chain()
    model = DecayModel(classes=DecayClasses.uniform(0.0))
    keep, lake = reach_keep(net, model)
    R = 1.0 - math.exp(-6.45 / (SECONDS_PER_YEAR / 6e6))
    assert pytest.approx(0.706632, abs=1e-6) == R
    np.testing.assert_allclose(keep, [1.0, 1.0, 1.0 - R, 1.0], rtol=1e-12)
    r = route(routing_graph(net.idx_ds), keep, [1.0] * 4, [0] * 4, is_lake=lake)
    assert r.retained[0] == pytest.approx(3 * R, rel=1e-12)
    assert r.delivered[0] == pytest.approx(3 * (1 - R) + 1.0, rel=1e-12)
    assert r.decayed[0] == 0.0
    t = lake_table(net, model).iloc[0]
    assert t["q_s_m_yr"] == pytest.approx(5.2596, abs=1e-4)
    # residence time: 6 km2 x 5 m = 0.03 km3 over 1 m3/s = 3e7 s = 347.2 days
    assert t["residence_days"] == pytest.approx(3e7 / 86400.0)
    assert t["retention"] == pytest.approx(R)


@pytest.mark.parametrize("vm", [0.0, -1.0, float("nan"), float("inf"), "2"])
def test_reach_keep_names_a_velocity_multiplier_that_is_not_a_positive_number(vm):
    # 0, negative or NaN blamed the network ("travel time is missing or negative ...
    # fill velocity_ms") for a multiplier the caller gave; inf kept everything, text raised
    # numpy's TypeError
    from basingov.spillover.decay import piece_keep

    net = _lake_chain()
    with pytest.raises(InputError, match="velocity_multiplier must be a finite number > 0"):
        reach_keep(net, velocity_multiplier=vm)
    with pytest.raises(InputError, match="velocity_multiplier must be a finite number > 0"):
        piece_keep(net, np.arange(4), np.ones(4), velocity_multiplier=vm)
    keep, _ = reach_keep(net, velocity_multiplier=2)
    assert keep[0] == pytest.approx(reach_keep(net)[0][0] ** 0.5, rel=1e-12)


def test_decay_parameters_that_are_not_numbers():
    # text or None raised numpy's ValueError / TypeError
    with pytest.raises(InputError, match="decay classes need lists of numbers"):
        DecayClasses(("a",), (0.1, 0.2))
    with pytest.raises(InputError, match="decay classes need lists of numbers"):
        DecayClasses.uniform("x")
    with pytest.raises(
        InputError, match=r"one rate more than thresholds; got 1 threshold\(s\) 1.0"
    ):
        DecayClasses(1.0, (0.1, 0.2))  # type: ignore[arg-type]
    for kw in ({"settling_velocity_m_yr": "1"}, {"lake_settling_velocity_m_yr": {"L": None}}):
        with pytest.raises(InputError, match="lake settling velocities must be finite and >= 0"):
            DecayModel(**kw)
    assert DecayModel(settling_velocity_m_yr=np.float64(2.0)).settling_velocity("L") == 2.0
    assert DecayModel(lake_settling_velocity_m_yr={"L": 3}).settling_velocity("L") == 3.0


def test_lake_specific_settling_velocity_wins():
    net = _lake_chain()
    m = DecayModel.for_parameter("TP", lake_settling_velocity_m_yr={"L": 1.0})
    t = lake_table(net, m).iloc[0]
    assert t["settling_velocity_m_yr"] == 1.0
    assert t["retention"] == pytest.approx(1.0 - math.exp(-1.0 / 5.259600), rel=1e-6)
    with pytest.raises(InputError, match="no default lake settling velocity for parameter 'Cl'"):
        DecayModel.for_parameter("Cl")


def test_monte_carlo_matrix_spreads_lake_retention():
    """Spread lake retention in the Monte Carlo bands.

    A's load reaches C only through the lake (in B): its Monte Carlo band comes from the
    spread of v_s (and loads), around the point estimate.
    """
    from basingov.overlay import split_reaches
    from basingov.spillover import monte_carlo_matrix, origin_loads, piece_network

    net = _lake_chain()
    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B", "C"], "name": ["a", "b", "c"], "level": [0, 0, 0],
         "level_name": ["country"] * 3, "parent_id": ["", "", ""]},
        geometry=[box(-10, -900, 5000, 900), box(5000, -900, 9000, 900),
                  box(9000, -900, 12000, 900)],
        crs=CRS,
    )  # fmt: skip
    pieces = split_reaches(net.reaches, jur, levels=["country"])
    pn = piece_network(net, pieces)
    loads = pieces[["piece_id"]].assign(load_kg_day=1.0)
    ol = origin_loads(pn, loads, "country")
    mc = monte_carlo_matrix(
        net, pn, ol, level="country", runs=200, seed=1, decay=DecayModel(), velocity_sigma_ln=0.0
    )
    ac = mc[(mc["origin"] == "A") & (mc["receptor"] == "C")].iloc[0]
    # point estimate: A's 2 kg/day (reach 1, 0.046 days at k = 0.45 from mid-reach, then the
    # lake) times 1 - R, R = 0.706632 (test above)
    tau1 = 2000 / 0.5 / 86400
    point = (math.exp(-0.45 * tau1 / 2) + 1.0) * (1 - 0.706632)
    assert ac["p5"] < ac["p50"] < ac["p95"]
    assert ac["p50"] == pytest.approx(point, rel=0.15)
    assert ac["p95"] / ac["p5"] > 1.5
