"""Tests for basingov.network.navigation: UM/UT/DM/DD with distance limits, point snapping."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import LineString

from basingov.errors import EmptyResultError, InputError
from basingov.examples import example_reaches
from basingov.network import network_from_table
from basingov.network.navigation import navigate, nearest_reach_m, snap_point

CRS = "EPSG:3035"
X0, Y0 = 4_000_000.0, 3_000_000.0
TO_LONLAT = Transformer.from_crs(3035, 4326, always_xy=True)


def _seg(x0: float, y0: float, x1: float, y1: float) -> LineString:
    return LineString([(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y1)])


@pytest.fixture
def basin():
    """Hand-built basin, each reach 1 km long (flow towards +x, outlet at reach 6).

    ::

        1 (area 50) ─┐
                     3 ── 5 ── 6 (outlet)
        2 (area 10) ─┘    │
                     4 ───┘ (area 200: the main stem comes in here)
    """
    t = gpd.GeoDataFrame(
        {
            "reach_id": [1, 2, 3, 4, 5, 6],
            "downstream_id": [3, 3, 5, 5, 6, -1],
            "local_area_km2": [50.0, 10.0, 1.0, 200.0, 1.0, 1.0],
        },
        geometry=[
            _seg(0, 1000, 1000, 0),
            _seg(0, -1000, 1000, 0),
            _seg(1000, 0, 2000, 0),
            _seg(2000, -1000, 2000, 0),
            _seg(2000, 0, 3000, 0),
            _seg(3000, 0, 4000, 0),
        ],
        crs=CRS,
    )
    return network_from_table(t)


def ids(net, pos):
    return net.ids[pos].tolist()


def test_modes(basin):
    assert ids(basin, navigate(basin, 6, mode="UM")) == [6, 5, 4]
    assert sorted(ids(basin, navigate(basin, 6, mode="UT"))) == [1, 2, 3, 4, 5, 6]
    assert ids(basin, navigate(basin, 3, mode="UM")) == [3, 1]
    assert ids(basin, navigate(basin, 1, mode="DM")) == [1, 3, 5, 6]
    assert ids(basin, navigate(basin, 1, mode="DD")) == [1, 3, 5, 6]
    assert ids(basin, navigate(basin, 6, mode="DM")) == [6]


def test_max_km(basin):
    # from the downstream end of 1: reach 3 begins at 0 km, 5 at 1 km, 6 at 2 km
    assert ids(basin, navigate(basin, 1, mode="DM", max_km=0)) == [1]
    assert ids(basin, navigate(basin, 1, mode="DM", max_km=1.5)) == [1, 3, 5]
    # from the upstream end of 6: 5 ends at 0 km, 3 and 4 at 1 km, 1 and 2 at 2 km
    assert sorted(ids(basin, navigate(basin, 6, mode="UT", max_km=1.5))) == [3, 4, 5, 6]
    assert ids(basin, navigate(basin, 6, mode="UM", max_km=0.5)) == [6, 5]


def test_downstream_with_diversions():
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3, 4], "downstream_id": [2, 4, 4, -1]},
        geometry=[_seg(i * 1000, 0, i * 1000 + 1000, 0) for i in range(4)],
        crs=CRS,
    )
    bif = pd.DataFrame({"reach_id": [1, 1], "downstream_id": [2, 3], "fraction": [0.6, 0.4]})
    net = network_from_table(t, bifurcations=bif)
    assert ids(net, navigate(net, 1, mode="DM")) == [1, 2, 4]
    assert sorted(ids(net, navigate(net, 1, mode="DD"))) == [1, 2, 3, 4]
    assert sorted(ids(net, navigate(net, 4, mode="UT"))) == [1, 2, 3, 4]


def test_navigation_errors(basin):
    with pytest.raises(
        InputError, match=r"mode must be one of \['UM', 'UT', 'DM', 'DD'\], got 'UP'"
    ):
        navigate(basin, 1, mode="UP")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"max_km must be >= 0"):
        navigate(basin, 1, mode="DM", max_km=-1)
    with pytest.raises(InputError, match=r"reach id\(s\) \[99\] are not in the network"):
        navigate(basin, 99, mode="DM")
    # 1.5 walked down from reach 1; of [1, 2] only 1 was walked
    with pytest.raises(InputError, match=r"reach id\(s\) \[1.5\] are not integer ids"):
        navigate(basin, 1.5, mode="DM")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"navigate starts from one reach id, got 2"):
        navigate(basin, [1, 2], mode="DM")  # type: ignore[arg-type]


def test_walks_cross_reaches_of_unknown_length():
    # a reach without geometry (length NaN) stopped the walk there: UT from 4 missed
    # reach 1 and DM from 1 ended at reach 2, silently
    t = example_reaches([2, 3, 4, -1])
    t.loc[1, "geometry"] = None
    net = network_from_table(t)
    for mode, start, want in (("UT", 4, [4, 3, 2, 1]), ("DM", 1, [1, 2, 3, 4])):
        assert net.ids[navigate(net, start, mode=mode)].tolist() == want  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"max_km needs reach lengths; reach\(es\) \[2\] have no"):
        navigate(net, 4, mode="UT", max_km=5)


def _lonlat(dx: float, dy: float) -> tuple[float, float]:
    return TO_LONLAT.transform(X0 + dx, Y0 + dy)


def test_snap_prefers_main_river_among_near_ties(basin):
    # point (1940, -150): tributary 4 (200 km2) is 60 m away, main reach 3 (61 km2) 150 m,
    # main reach 5 (262 km2) 161.6 m. All lie within the tie window 2 * 60 + 100 = 220 m,
    # so the reach with the largest upstream area, 5, wins.
    r = snap_point(basin, *_lonlat(1940, -150))
    assert r.reach_id == 5
    assert r.distance_m == pytest.approx(np.hypot(60, 150), abs=0.5)
    # reach 5 has 262 km2 at its outlet; the point snaps to its upstream end (minus its
    # own 1 km2 local area)
    assert r.upstream_area_km2 == pytest.approx(261.0)
    # without a tie window the nearest reach wins
    r = snap_point(basin, *_lonlat(1940, -150), tie_ratio=1, tie_margin_m=0)
    assert r.reach_id == 4
    assert r.distance_m == pytest.approx(60, abs=0.5)
    # snapped point lies on the reach
    assert r.x == pytest.approx(X0 + 2000, abs=0.01)
    assert r.y == pytest.approx(Y0 - 150, abs=0.5)


def test_snap_far_from_ties_takes_nearest(basin):
    # 10 m from reach 2 (10 km2), 700+ m from anything larger: tie window 2*10+100 = 120 m
    r = snap_point(basin, *_lonlat(500, -490))
    assert r.reach_id == 2
    assert r.distance_m < 15


def test_snap_errors(basin):
    with pytest.raises(
        EmptyResultError, match=r"no reach within 1000 m .* the nearest is \d+ m away"
    ):
        snap_point(basin, *_lonlat(0, 50_000))
    with pytest.raises(InputError, match=r"finite WGS84 lon/lat degrees .* lon=200, lat=10$"):
        snap_point(basin, 200, 10)
    with pytest.raises(InputError, match=r"need tolerance_m > 0, tie_ratio >= 1"):
        snap_point(basin, 10, 50, tie_ratio=0.5)
    # None or text raised a raw TypeError from numpy
    with pytest.raises(InputError, match=r"finite WGS84 lon/lat degrees .* lon=None, lat=50$"):
        snap_point(basin, None, 50)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"finite WGS84 lon/lat degrees .* lon='E7', lat=50$"):
        snap_point(basin, "E7", 50)  # type: ignore[arg-type]


def test_snap_point_lon_lat_must_be_numbers(basin):
    # numbers as text ("7.5") and bools (True: 1 degree) went through float() and snapped;
    # now refused as navigate's max_km and snap_point's options are (60db4ad)
    lon, lat = _lonlat(0, 0)
    for bad_lon, bad_lat, shown in (
        (str(lon), lat, f"lon={str(lon)!r}, lat={lat!r}"),
        (lon, str(lat), f"lon={lon!r}, lat={str(lat)!r}"),
        (True, lat, f"lon=True, lat={lat!r}"),
        (lon, np.bool_(True), f"lon={lon!r}, lat={np.bool_(True)!r}"),
    ):
        with pytest.raises(
            InputError,
            match=r"^the point must be finite WGS84 lon/lat degrees \(numbers, not text or "
            rf"bools\), got {re.escape(shown)}$",
        ):
            snap_point(basin, bad_lon, bad_lat)  # type: ignore[arg-type]
    # numpy numbers are taken
    assert snap_point(basin, np.float64(lon), np.float64(lat)).reach_id == (
        snap_point(basin, lon, lat).reach_id
    )


def test_nearest_reach_m_refuses_what_snap_point_refuses(basin):
    # the lon/lat of nearest_reach_m went to pyproj as given: "7.5" and True (1 degree)
    # were measured from; now the check of snap_point refuses them
    lon, lat = _lonlat(3500, 0)  # on reach 6
    for bad_lon, bad_lat in ((str(lon), lat), (lon, True), (None, lat), (lon, float("nan"))):
        with pytest.raises(
            InputError,
            match=r"^the point must be finite WGS84 lon/lat degrees \(numbers, not text or "
            rf"bools\), got {re.escape(f'lon={bad_lon!r}, lat={bad_lat!r}')}$",
        ):
            nearest_reach_m(basin, bad_lon, bad_lat)  # type: ignore[arg-type]
    assert nearest_reach_m(basin, np.float64(lon), np.float64(lat)) == pytest.approx(0, abs=1e-3)


def test_snap_to_catchment_polygons():
    from shapely import box

    t = gpd.GeoDataFrame(
        {
            "reach_id": [1, 2],
            "downstream_id": [2, -1],
            "catchment": gpd.GeoSeries(
                [box(X0, Y0, X0 + 1e4, Y0 + 1e4), box(X0 + 1e4, Y0, X0 + 2e4, Y0 + 1e4)]
            ),
            "local_area_km2": [100.0, 100.0],
        },
        geometry=[_seg(5000, 5000, 15000, 5000), _seg(15000, 5000, 20000, 5000)],
        crs=CRS,
    )
    net = network_from_table(t)
    r = snap_point(net, *_lonlat(1000, 1000))
    assert r.reach_id == 1
    assert r.distance_m == 0.0
    assert np.isclose(r.upstream_area_km2, 100.0)


# --- CLI: basingov query upstream|downstream (shipped Rhine) ---------------------------
def _cli(*args: str):
    import json

    from click.testing import CliRunner

    from basingov.cli import cli

    res = CliRunner().invoke(cli, ["query", *args])
    return res, (json.loads(res.stdout) if res.exit_code == 0 else None)


def test_cli_upstream_of_dutch_border_hybas(tmp_path):
    out = tmp_path / "up.csv"
    res, js = _cli("upstream", "rhine", "--at", "6.10,51.85", "--network", "hybas", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert js["network"] == "hybas"
    # Rhine at Lobith (NL border): published ~160,800 km2 (ICPR/RWS); HydroBASINS
    # accumulation within 2 %
    assert js["upstream_area_km2"] == pytest.approx(160_800, rel=0.02)
    assert js["n_reaches"] > 250
    codes = {j["jur_id"] for j in js["jurisdictions"]["country"]}
    assert {"CH", "DE", "FR"} <= codes
    written = pd.read_csv(out)
    assert len(written) == js["n_reaches"]
    res2, _ = _cli("upstream", "rhine", "--at", "6.10,51.85", "--network", "hybas", "-o", str(out))
    assert res2.exit_code != 0
    assert "already exists" in str(res2.exception)


def test_cli_downstream_of_basel_ccm2():
    res, js = _cli("downstream", "rhine", "--at", "7.59,47.56", "--max-km", "100")
    assert res.exit_code == 0, res.output
    # Rhine at Basel: published ~35,900 km2 (FOEN gauge Basel-Rheinhalle); CCM2 has no
    # areas, so they are apportioned from HydroBASINS sub-basins: within 5 %
    assert js["upstream_area_km2"] == pytest.approx(35_900, rel=0.05)
    assert "apportioned" in js["upstream_area_source"]
    assert 100 <= js["length_km"] < 120  # reaches beginning within 100 km
    assert js["jurisdictions"]["country"][0]["jur_id"] == "CH"


def test_cli_errors(tmp_path):
    res, _ = _cli("upstream", "rhine", "--at", "7.5;47")
    assert "--at must be LON,LAT" in str(res.exception)
    res, _ = _cli("upstream", "rhine", "--at", "7.5,47", "-o", str(tmp_path / "x.txt"))
    assert "use a .csv, .gpkg or .geojson" in str(res.exception)
    res, _ = _cli("upstream", "rhine", "--at", "7.5,47", "--network", "nope")
    assert "network 'nope' is not in the basin config" in str(res.exception)
    res, _ = _cli("downstream", "rhine", "--at", "7.5,47", "--mode", "UT")
    assert res.exit_code == 2
    assert "Invalid value for '--mode'" in res.output


def test_navigation_options_must_be_numbers(basin):
    # text raised a raw TypeError in the comparisons ("'>=' not supported"), True was
    # taken as 1 km (and as tie_ratio 1)
    for bad in ["5", True, [1.0], np.nan]:
        with pytest.raises(InputError, match=r"max_km must be >= 0, a number of km .* got "):
            navigate(basin, 1, mode="DM", max_km=bad)  # type: ignore[arg-type]
    for opt in ("tolerance_m", "tie_ratio", "tie_margin_m"):
        with pytest.raises(InputError, match=rf"need tolerance_m > 0.*{opt}='5'"):
            snap_point(basin, 10, 50, **{opt: "5"})  # type: ignore[arg-type]
    for bad in ["5", True]:
        with pytest.raises(InputError, match=rf"expected_area_km2 must be > 0, got {bad!r}"):
            snap_point(basin, 10, 50, expected_area_km2=bad)  # type: ignore[arg-type]
    # numpy numbers and inf (no limit) are taken
    full = navigate(basin, 1, mode="DM").tolist()
    assert navigate(basin, 1, mode="DM", max_km=np.float64(np.inf)).tolist() == full
    assert navigate(basin, 1, mode="DM", max_km=np.int64(0)).tolist() == full[:1]


def test_snap_expected_area_error(basin):
    with pytest.raises(InputError, match=r"expected_area_km2 must be > 0, got 0"):
        snap_point(basin, *_lonlat(1940, -150), expected_area_km2=0)
