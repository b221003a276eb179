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
from basingov.spillover import DecayClasses, DecayModel


def _model(k0):
    """Return the default class limits (2.83, 28.3 m3/s) with priors k0."""
    return DecayModel(classes=DecayClasses((2.83, 28.3), tuple(k0)))


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
    # SPARROW New England threshold 2.83 m3/s, then 28.3 m3/s (Moore et al. 2004); a flow
    # equal to a limit belongs to the class above, as in the spillover stage
    assert decay_classes([2.82, 2.83, 28.2, 28.3]).tolist() == [0, 1, 1, 2]


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
                    fit_decay=True, decay=_model([0.3, 0.3, 0.3]))  # fmt: skip
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
                    decay=_model([0.4, 0.1, 0.1]), cross_validation="none")  # fmt: skip
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
    # a string was taken as its letters: no source fitted, silently
    with pytest.raises(InputError, match=r"write \['population_raster'\]"):
        calibrate(net, loads, st, fit_sources="population_raster")
    u = uncalibrated("no data", ["population_raster"])
    assert u.status == "uncalibrated"
    assert u.skill["reason"] == "no data"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"observed_kg_day": 0.0}, r"no observed load > 0 \(observed_kg_day \[0.0\]\)"),
        ({"observed_kg_day": np.nan}, "no observed load > 0"),
        ({"observed_kg_day": -5.0}, "no observed load > 0"),
        ({"position": 999}, r"position that is not a reach of the network \(0 to 5\)"),
    ],
)
def test_calibration_refuses_bad_stations(change, match):
    # a zero, missing or negative observed load has no log (scipy raised "Residuals are
    # not finite"), a position past the network an IndexError
    net = _tree(2)
    loads, _ = _loads(net, np.random.default_rng(1))
    st = pd.DataFrame({"station_id": ["a", "b", "c"], "position": [1, 3, 5],
                       "observed_kg_day": [10.0, 20.0, 40.0]})  # fmt: skip
    for col, v in change.items():
        st.loc[1, col] = v
    with pytest.raises(InputError, match=match) as err:
        calibrate(net, loads, st, fit_sources=["diffuse_agriculture"], fit_decay=False)
    assert "['b']" in str(err.value)


def test_calibration_refuses_bad_weights_and_columns():
    net = _tree(2)
    loads, _ = _loads(net, np.random.default_rng(1))
    st = pd.DataFrame({"station_id": ["a", "b", "c"], "position": [1, 3, 5],
                       "observed_kg_day": [10.0, 20.0, 40.0]})  # fmt: skip
    fit = {"fit_sources": ["diffuse_agriculture"], "fit_decay": False}
    with pytest.raises(InputError, match="weights must be 3 finite number"):
        calibrate(net, loads, st, weights=[1.0, 2.0], **fit)
    with pytest.raises(InputError, match="weights must be 3 finite number"):
        calibrate(net, loads, st, weights=[1.0, -1.0, 1.0], **fit)
    with pytest.raises(InputError, match=r"lacks column\(s\) \['position'\]"):
        calibrate(net, loads, st.drop(columns="position"), **fit)
    assert calibrate(net, loads, st, weights=[1.0, 2.0, 1.0], **fit).status == "calibrated"


def _stations(**extra):
    base = {"station_id": ["S", "T"], "name": ["s", "t"], "snapped": [True, True],
            "reach_id": [3, 4], "snap_distance_m": [10.0, 20.0],
            "upstream_area_km2": [100.0, 200.0], "snap_checked": [True, True],
            "location_status": ["measured", "measured"]}  # fmt: skip
    base.update(extra)
    return pd.DataFrame(base)


def test_station_load_table_observed_flow():
    net = _tree(2)
    # whole-record C.Q loads from the monitoring mass balance
    loads = pd.DataFrame({"station_id": ["S", "T", "S"], "parameter": ["TN", "TN", "TP"],
                          "load_kg_day": [4320.0, 0.0, 5.0], "n_samples": [2, 9, 2],
                          "mean_flow_m3s": [15.0, 1.0, 15.0]})  # fmt: skip
    t = station_load_table(net, _stations(), pd.DataFrame(), parameter="TN", station_loads=loads)
    # T carries no load: dropped; S's concentration is the flow-weighted one
    assert t["station_id"].tolist() == ["S"]
    assert t["observed_kg_day"].item() == pytest.approx(4320.0)
    assert t["mean_conc_mg_l"].item() == pytest.approx(4320.0 / (15.0 * 86.4))
    assert t["position"].item() == net.position([3])[0]
    assert t["flow_source"].item() == "measured (sampled flow)"
    assert station_load_table(net, _stations(), pd.DataFrame(), parameter="TN",
                              station_loads=loads, min_samples=3).empty  # fmt: skip
    # an unconfirmed proxy snap and a far snap are left out
    far = _stations(snap_checked=[False, True], snap_distance_m=[10.0, 5000.0])
    assert station_load_table(net, far, pd.DataFrame(), parameter="TN",
                              station_loads=loads).empty  # fmt: skip
    with pytest.raises(InputError, match="flow must be one of"):
        station_load_table(net, _stations(), pd.DataFrame(), parameter="TN", flow="guess")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs station_loads"):
        station_load_table(net, _stations(), pd.DataFrame(), parameter="TN")
    with pytest.raises(InputError, match=r"layer lacks column\(s\) \[.snapped.\].*monitoring"):
        station_load_table(net, _stations().drop(columns="snapped"), pd.DataFrame(),
                           parameter="TN", station_loads=loads)  # fmt: skip
    # station loads without n_samples: a KeyError before
    with pytest.raises(InputError, match=r"station loads lacks column\(s\) \['n_samples'\]"):
        station_load_table(net, _stations(), pd.DataFrame(), parameter="TN",
                           station_loads=loads.drop(columns="n_samples"))  # fmt: skip


def test_station_load_table_network_flow_and_area_check():
    net = _tree(2)
    r = net.reaches.set_index("reach_id")
    obs = pd.DataFrame({"station_id": ["S", "S", "T"], "parameter": ["TN"] * 3,
                        "value": [1.0, 3.0, 2.0]})  # fmt: skip
    st = _stations(upstream_area_km2=[0.5, 1.0], area_km2=[0.5, 5.0])
    t = station_load_table(net, st, obs, parameter="TN", flow="network", area_column="area_km2")
    # T drains 1 km2 at its point against a 5 km2 catchment: outside a factor 1.5, dropped;
    # S: mean 2 mg/L x the reach's discharge scaled to the drained area at the point
    assert t["station_id"].tolist() == ["S"]
    q = r.loc[3, "discharge_m3s"] * 0.5 / r.loc[3, "upstream_area_km2"]
    assert t["mean_flow_m3s"].item() == pytest.approx(q)
    assert t["observed_kg_day"].item() == pytest.approx(2.0 * q * 86.4)
    assert t["flow_source"].item().startswith("modelled")
    with pytest.raises(InputError, match="no area column 'nope'"):
        station_load_table(net, st, obs, parameter="TN", flow="network", area_column="nope")


def test_calibration_routes_through_lakes_with_the_spillover_model():
    # a lake node retains with the decay model's settling velocity in the calibration too:
    # loads entering above a lake arrive at a station below it reduced by 1 - R
    from basingov.spillover import reach_keep

    net = _tree(3)
    r = net.reaches.copy()
    lake_pos = 1  # second reach of the first tributary
    r["is_lake"] = False
    r.loc[r.index[lake_pos], "is_lake"] = True
    r["lake_id"] = -1
    r.loc[r.index[lake_pos], "lake_id"] = 0
    r["lake_outlet"] = r["is_lake"]
    r["lake_name"] = np.where(r["is_lake"], "L", "")
    r["lake_area_km2"] = np.where(r["is_lake"], 10.0, np.nan)
    lnet = network_from_table(gpd.GeoDataFrame(r, geometry="geometry", crs=net.crs))
    model = _model([0.0, 0.0, 0.0])
    keep, lake = reach_keep(lnet, model)
    assert lake[lake_pos]
    assert 0 < keep[lake_pos] < 1
    g = np.zeros((lnet.n, 1))
    g[0, 0] = 100.0  # generated above the lake
    f = source_fluxes(lnet, g, [0.0, 0.0, 0.0], decay=model)
    assert f[2, 0] == pytest.approx(100.0 * keep[lake_pos])
    with pytest.raises(InputError, match="2 decay rate"):
        source_fluxes(lnet, g, [0.0, 0.0], decay=model)
