"""SPARROW-style calibration recovers known parameters on a synthetic network.

The network, loads and "observations" below are synthetic, made in this test only: the
observed loads are the model's own prediction at known parameters, so the fit must find
them again.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString

from basingov.errors import InputError
from basingov.loads.calibration import (
    calibrate,
    decay_classes,
    source_fluxes,
    station_load_table,
    uncalibrated,
)
from basingov.network import network_from_table


def _tree(n_side=6):
    """Two tributaries of n_side small reaches joining a main stem of n_side large reaches."""
    rows, geoms = [], []
    x0, y0 = 4.0e6, 3.0e6
    main = list(range(2 * n_side, 3 * n_side))
    for b, dx in ((0, -1), (1, 1)):
        for k in range(n_side):
            i = b * n_side + k
            ds = i + 1 if k < n_side - 1 else main[0]
            x = x0 + dx * (n_side - k) * 5000.0
            rows.append((i, ds, 1.0))  # small: 1 m3/s
            geoms.append(LineString([(x, y0 + 5000), (x - dx * 5000.0, y0 + 5000)]))
    for k, i in enumerate(main):
        ds = main[k + 1] if k < n_side - 1 else -1
        rows.append((i, ds, 50.0))  # large: 50 m3/s
        geoms.append(LineString([(x0 + k * 5000.0, y0), (x0 + (k + 1) * 5000.0, y0)]))
    t = gpd.GeoDataFrame(
        {"reach_id": [r[0] for r in rows], "downstream_id": [r[1] for r in rows],
         "discharge_m3s": [r[2] for r in rows], "velocity_ms": 0.5,
         "upstream_area_km2": 1.0},
        geometry=geoms, crs="EPSG:3035",
    )  # fmt: skip
    return network_from_table(t)


def _loads(net, rng):
    n = net.n
    ids = net.reaches["reach_id"].to_numpy()
    a = rng.uniform(50, 150, n)
    b = rng.uniform(10, 60, n)
    return pd.DataFrame({
        "reach_id": np.concatenate([ids, ids]),
        "load_source": ["diffuse_agriculture"] * n + ["population_raster"] * n,
        "load_kg_day": np.concatenate([a, b]),
    }), np.column_stack([a, b])  # fmt: skip


def test_decay_classes_thresholds():
    # SPARROW New England threshold 2.83 m3/s, then 28.3 m3/s (Moore et al. 2004)
    assert decay_classes([2.83, 2.84, 28.3, 28.4]).tolist() == [0, 1, 1, 2]


def test_calibration_recovers_known_parameters():
    rng = np.random.default_rng(7)
    net = _tree()
    loads, g = _loads(net, rng)
    true_beta = np.array([2.0, 0.5])  # agriculture, sewage (sources sorted by name)
    true_k = [0.8, 0.1, 0.05]
    f = source_fluxes(net, g, true_k)
    stations_pos = np.array([2, 4, 5, 8, 11, 12, 14, 16, 17])
    obs = f[stations_pos] @ true_beta
    st = pd.DataFrame({"station_id": [f"S{i}" for i in stations_pos],
                       "position": stations_pos, "observed_kg_day": obs})  # fmt: skip
    res = calibrate(net, loads, st, fit_sources=["diffuse_agriculture", "population_raster"],
                    fit_decay=True, prior_decay_per_day=0.3)  # fmt: skip
    m, k = res.multipliers, res.decay_per_day
    assert m["diffuse_agriculture"] == pytest.approx(2.0, rel=1e-4)
    assert m["population_raster"] == pytest.approx(0.5, rel=1e-4)
    assert k["k_small"] == pytest.approx(0.8, rel=1e-3)
    # stations on the main stem see the large class only below the junction
    assert k["k_large"] == pytest.approx(0.05, rel=1e-2)
    status = res.coefficients.set_index("parameter")["status"]
    assert status["k_medium"].startswith("prior")  # no medium reach: not identifiable
    assert res.skill["fit"]["r2_log"] == pytest.approx(1.0, abs=1e-8)
    assert res.skill["heldout_loo"]["nse"] > 0.999
    assert np.isfinite(res.coefficients["std_error"][res.coefficients["fitted"]]).all()


def test_calibration_noise_standard_errors():
    # with 5 % lognormal noise the estimates land within ~3 standard errors of the truth
    rng = np.random.default_rng(11)
    net = _tree(8)
    loads, g = _loads(net, rng)
    f = source_fluxes(net, g, [0.4, 0.1, 0.1])
    pos = np.arange(0, net.n, 2)
    obs = (f[pos] @ np.array([1.5, 1.0])) * np.exp(rng.normal(0, 0.05, pos.size))
    st = pd.DataFrame({"station_id": pos.astype(str), "position": pos, "observed_kg_day": obs})
    res = calibrate(net, loads, st, fit_sources=["diffuse_agriculture"], fit_decay=False,
                    prior_decay_per_day=0.4, cross_validation="none")  # fmt: skip
    c = res.coefficients.set_index("parameter")
    est, se = c.loc["diffuse_agriculture", "estimate"], c.loc["diffuse_agriculture", "std_error"]
    assert 0 < se < 0.1
    assert abs(est - 1.5) < 3 * se
    assert "heldout_loo" not in res.skill


def test_calibration_errors_and_uncalibrated():
    net = _tree(2)
    loads, _ = _loads(net, np.random.default_rng(1))
    st = pd.DataFrame({"station_id": ["a"], "position": [3], "observed_kg_day": [10.0]})
    with pytest.raises(InputError, match="at least one more station than fitted parameters"):
        calibrate(net, loads, st, fit_sources=["diffuse_agriculture"])
    with pytest.raises(InputError, match="lacks column 'reach_id'"):
        calibrate(net, loads.drop(columns="reach_id"), st, fit_sources=[])
    u = uncalibrated("no data", ["population_raster"])
    assert u.status == "uncalibrated"
    assert u.skill["reason"] == "no data"


def test_station_load_table_observed_flow():
    net = _tree(2)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(3035, 4326, always_xy=True).transform(4.0e6 + 2500, 3.0e6)
    st = pd.DataFrame({"station_id": ["S"], "name": ["s"], "lon": [lon], "lat": [lat],
                       "location_status": ["measured"]})  # fmt: skip
    ob = pd.DataFrame({"station_id": ["S"] * 4, "time": ["t1", "t1", "t2", "t2"],
                       "parameter": ["TN", "Q", "TN", "Q"],
                       "value": [2.0, 10.0, 4.0, 20.0]})  # fmt: skip
    t = station_load_table(net, st, ob, parameter="TN", flow="observed")
    # mean of C x Q x 86.4: (20 + 80) / 2 x 86.4
    assert t["observed_kg_day"].item() == pytest.approx(50.0 * 86.4)
    assert t["n_samples"].item() == 2
    with pytest.raises(InputError, match="flow must be one of"):
        station_load_table(net, st, ob, parameter="TN", flow="guess")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"\[calibration\]\.station_filter 'nope >< 1'"):
        station_load_table(net, st, ob, parameter="TN", station_filter="nope >< 1")
