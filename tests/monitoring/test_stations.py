"""Stations on a hand-built Y basin: snapping, proxies, jurisdictions and crossing sections."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from basingov.errors import BasingovWarning, EmptyResultError, InputError
from basingov.monitoring import apply_proxy_locations, match_sections, snap_stations
from basingov.monitoring.stations import read_station_table


def snap(y_basin, st, **kw):
    kw.setdefault("max_distance_m", 1000.0)
    return snap_stations(
        st, y_basin.net, y_basin.overlay.pieces, levels=["country"],
        jurisdictions=y_basin.jurisdictions, **kw,
    )  # fmt: skip


def test_snapping_positions_and_jurisdictions(y_basin, make_stations):
    # A: 200 m beside the west tributary, 4 km down it; B: on reach 3, 15 km below the
    # confluence (x = 25 km, east of the border); C: 5 km from both tributaries; D: unlocated
    st = make_stations({"A": (4000, 200), "B": (25000, -100), "C": (5000, 5000), "D": None})
    with pytest.warns(BasingovWarning, match=r"2 of 4 station\(s\) left unsnapped; 1 more than "
                      r"1000 m from any reach \(nearest reach\): C \(5\.0 km\); 1 without "
                      r"coordinates: D"):  # fmt: skip
        out = snap(y_basin, st)
    a, b, c, d = (out.iloc[i] for i in range(4))
    assert (a["reach_id"], b["reach_id"]) == (1, 3)
    # (positions go through EPSG:4326 and back: millimetre noise)
    assert a["snap_distance_m"] == pytest.approx(200.0, abs=0.01)
    assert a["fraction"] == pytest.approx(0.4, abs=1e-6)
    # distance to the outlet: reach 1 ends 20 km above it; A is 6 km further up
    assert a["distance_to_outlet_km"] == pytest.approx(26.0, abs=1e-6)
    assert b["distance_to_outlet_km"] == pytest.approx(5.0, abs=1e-6)
    # upstream area at the point: reach 3 is 350 km2 at its end, its 200 km2 local area
    # drains in along it, so at 3/4 of its length 350 - 200 * 0.25 = 300 km2
    assert b["upstream_area_km2"] == pytest.approx(300.0, abs=1e-4)
    assert (a["jur_country"], b["jur_country"]) == ("W", "E")
    assert a["jurisdiction_source"] == "snapped reach piece"
    # C is not snapped but lies in W; D has nothing
    assert (bool(c["snapped"]), c["jur_country"], c["jurisdiction_source"]) == (
        False, "W", "station point in polygon")  # fmt: skip
    assert (bool(d["snapped"]), d["jur_country"]) == (False, "")


def test_catchment_area_picks_the_tributary(y_basin, make_stations):
    # a gauge 300 m from the north tributary (50 km2) and 200 m from the main reach:
    # nearest is the main reach, but a 55 km2 catchment says "tributary"
    st = make_stations({"G": (9700, 200), "H": (9700, 200)}, area=[55.0, np.nan])
    out = snap(y_basin, st, area_column="area")
    assert out["reach_id"].tolist() == [2, 1]
    assert out["snap_method"].tolist() == ["catchment area", "nearest reach"]
    # an area no reach comes close to (factor 3) leaves the station unsnapped
    st = make_stations({"G": (9700, 200)}, area=[5000.0])
    with pytest.warns(BasingovWarning, match=r"no reach draining within a factor 3 .*G \(5000 km2"):
        out = snap(y_basin, st, area_column="area")
    assert not out["snapped"].iloc[0]


def test_snap_options_are_checked(y_basin, make_stations):
    st = make_stations({"D": None})
    with pytest.raises(EmptyResultError, match="1 without coordinates: D"):
        snap(y_basin, st, on_unsnapped="raise")
    with pytest.raises(
        InputError, match=r"on_unsnapped must be one of \['warn', 'raise', 'ignore'\]"
    ):
        snap(y_basin, st, on_unsnapped="loud")
    with pytest.raises(InputError, match="max_distance_m must be > 0"):
        snap(y_basin, st, max_distance_m=0)
    with pytest.raises(
        InputError, match=r"no area column 'area_km2' \(\[monitoring\]\.area_column\)"
    ):
        snap(y_basin, st, area_column="area_km2")


def test_crossing_sections_within_a_distance_along_the_river(y_basin, make_stations):
    # the crossing is at x = 20 km on reach 3; U is 1.5 km above it, V 0.8 km below it,
    # T on the west tributary 11 km above it (close in a straight line only to itself)
    st = make_stations({"U": (18500, 0), "V": (20800, 0), "T": (9000, 0)})
    out = snap(y_basin, st)
    m = match_sections(out, y_basin.overlay.crossings, y_basin.net, tolerance_m=2000)
    assert m["station_id"].tolist() == ["V", "U"]
    assert m["along_river_m"].tolist() == pytest.approx([800.0, 1500.0], abs=0.01)
    assert m["station_side"].tolist() == ["downstream", "upstream"]
    assert set(m["crossing_id"]) == {"country-0"}
    # T is 11 km upstream along the river: inside a 12 km tolerance, outside 10 km
    m = match_sections(out, y_basin.overlay.crossings, y_basin.net, tolerance_m=12000)
    assert m.loc[m["station_id"] == "T", "along_river_m"].tolist() == pytest.approx(
        [11000.0], abs=0.01
    )
    m = match_sections(out, y_basin.overlay.crossings, y_basin.net, tolerance_m=10000)
    assert "T" not in set(m["station_id"])
    # a station on a parallel river 1 km away in a straight line is not on the crossing's path
    st = make_stations({"N": (10000, 1000)})
    out = snap(y_basin, st)
    m = match_sections(out, y_basin.overlay.crossings, y_basin.net, tolerance_m=20000)
    assert m["along_river_m"].tolist() == pytest.approx([11000.0], abs=0.01)  # via the confluence
    with pytest.raises(InputError, match="section tolerance must be >= 0"):
        match_sections(out, y_basin.overlay.crossings, y_basin.net, tolerance_m=-1)


def test_proxy_locations_fill_only_unlocated_stations(make_stations):
    st = make_stations({"A": (0, 0), "B": None})
    proxies = make_stations({"A": (5, 5), "B": (7, 7)}).assign(
        location_status="section_proxy", source="geocode"
    )
    out = apply_proxy_locations(st, proxies)
    assert out["location_status"].tolist() == ["measured", "section_proxy"]
    assert out.geometry.iloc[1].equals(proxies.geometry.iloc[1])
    assert out.geometry.iloc[0].equals(st.geometry.iloc[0])
    assert out["location_source"].tolist() == ["", "geocode"]
    with pytest.raises(InputError, match=r"a proxy table may only hold"):
        apply_proxy_locations(st, proxies.assign(location_status="measured"))
    with pytest.raises(InputError, match=r"station_id\(s\) \['Z'\] are not in the station table"):
        apply_proxy_locations(st, proxies.assign(station_id=["A", "Z"]))
    # a proxy row without a location made its station a proxy that has no location
    blank = make_stations({"A": (5, 5), "B": None}).assign(
        location_status="section_proxy", source="geocode"
    )
    with pytest.raises(
        InputError,
        match=r"proxy table px\.csv: station_id\(s\) \['B'\] have no lon/lat; every row of a "
        r"proxy table gives a location: fill them in or remove the rows",
    ):
        apply_proxy_locations(st, blank, source="px.csv")


def test_shipped_taihu_proxies_are_labelled(tmp_path):
    from basingov.datasets import data_dir

    mon = data_dir() / "monitoring"
    st = read_station_table(
        mon / "taihu_stations.csv", proxy_locations=mon / "taihu_sections_geocoded.csv"
    )
    located = st[st.geometry.notna()]
    assert len(located) == 11
    assert located["is_proxy"].all()
    assert set(located["location_status"]) == {"section_proxy", "nearby_section_proxy"}
    assert not st.loc[st.geometry.isna(), "is_proxy"].any()
    bad = tmp_path / "s.csv"
    bad.write_text("station_id,name,lon,lat,location_status\nA,a,1,1,guessed\n")
    with pytest.raises(InputError, match=r"unknown value\(s\) \['guessed'\]; use one of"):
        read_station_table(bad)
    bad.write_text("station_id,lon,lat\nA,1,1\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) \['name', 'location_status'\]"):
        read_station_table(bad)


def test_stations_without_crs_are_refused(y_basin, make_stations):
    st = gpd.GeoDataFrame(make_stations({"A": (0, 0)}).drop(columns="geometry"))
    st = st.set_geometry(gpd.GeoSeries([None]))
    from basingov.errors import CRSError

    with pytest.raises(CRSError, match="no CRS"):
        snap(y_basin, st)


def test_station_piece_is_the_first_covering_piece_in_table_order():
    # pieces of reaches 7 and 9 interleaved and out of fraction order; every station's
    # piece must be what a plain scan of its reach's pieces (table order) gives
    from basingov.monitoring.stations import _add_jurisdictions

    pieces = gpd.GeoDataFrame(
        {
            "piece_id": [10, 11, 12, 13, 14, 15],
            "reach_id": [9, 7, 9, 7, 7, 9],
            "fraction_start": [0.5, 0.6, 0.0, 0.0, 0.3, 0.8],
            "fraction_end": [0.8, 0.9, 0.5, 0.3, 0.6, 1.0],
            "jur_country": ["B", "Y", "A", "X", "Z", "C"],
            "name_country": ["b", "y", "a", "x", "z", "c"],
        },
        geometry=gpd.points_from_xy(np.zeros(6), np.zeros(6)),
    )
    reach = np.array([7, 7, 7, 9, 9, 9, 4, -1])
    # inside, on a shared end (two pieces cover it), past the last piece (clipped end)
    frac = np.array([0.1, 0.3, 0.95, 0.5, 0.8, 0.0, 0.5, np.nan])
    snapped = reach >= 0
    out = gpd.GeoDataFrame({"station_id": list("abcdefgh")}, geometry=gpd.GeoSeries([None] * 8))
    _add_jurisdictions(out, pieces, ["country"], reach, frac, snapped, None)

    fs, fe = pieces["fraction_start"].to_numpy(), pieces["fraction_end"].to_numpy()
    expected = []
    for r, f, s in zip(reach, frac, snapped, strict=True):
        rows = [i for i in range(len(pieces)) if s and pieces["reach_id"].iloc[i] == r]
        inside = [i for i in rows if fs[i] - 1e-9 <= f <= fe[i] + 1e-9]
        near = min(rows, key=lambda i: min(abs(fs[i] - f), abs(fe[i] - f))) if rows else -1
        row = inside[0] if inside else near
        expected.append(pieces["jur_country"].iloc[row] if row >= 0 else "")
    assert expected == ["X", "X", "Y", "B", "B", "A", "", ""]
    assert out["jur_country"].tolist() == expected
    assert out["piece_id"].isna().tolist() == [False] * 6 + [True] * 2
