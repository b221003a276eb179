"""Lake nodes: reaches inside lake polygons (basingov.network.lakes) and the shipped lakes."""

from __future__ import annotations

import dataclasses
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Polygon, box

from basingov.datasets import load_basin, load_network
from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.network import (
    LakeInfo,
    lake_polygons,
    lake_reaches,
    mark_lakes,
    network_from_table,
)
from basingov.network.builders import from_next_down

CRS = "EPSG:3035"


def _chain(xs, **cols):
    """Reaches along the x axis between consecutive xs (metres), flowing east."""
    n = len(xs) - 1
    t = gpd.GeoDataFrame(
        {"reach_id": np.arange(1, n + 1), "downstream_id": [*range(2, n + 1), -1], **cols},
        geometry=[LineString([(xs[i], 0), (xs[i + 1], 0)]) for i in range(n)],
        crs=CRS,
    )
    return network_from_table(t)


def _lake(name="L", geom=None, **kw):
    g = gpd.GeoDataFrame({"name": [name]}, geometry=[geom or box(3000, -500, 7000, 500)], crs=CRS)
    return lake_polygons(g, CRS, **kw)


def test_whole_reaches_inside_become_one_lake_with_one_outlet():
    # reaches 0-2 km, 2-5, 5-8, 8-10 km; the lake spans 1.5-8.5 km: reaches 2 and 3 are
    # wholly inside, reaches 1 and 4 are 25 % inside (below 50 %, and 0.5 km < 1 km: no split)
    net = _chain([0, 2000, 5000, 8000, 10000], discharge_m3s=[1.0, 2.0, 3.0, 4.0])
    out = mark_lakes(net, _lake(geom=box(1500, -500, 8500, 500)))
    r = out.reaches
    assert r["is_lake"].tolist() == [False, True, True, False]
    assert r["lake_outlet"].tolist() == [False, False, True, False]
    assert r["lake_name"].tolist() == ["", "L", "L", ""]
    assert r["lake_area_km2"].iloc[1] == pytest.approx(7.0)
    lr = lake_reaches(out)
    assert lr["outlet_reach_ids"].tolist() == ["3"]
    assert lr["outflow_m3s"].tolist() == [3.0]


def test_long_reach_is_split_at_the_shore_and_keeps_links():
    # an upstream reach 1 (0-1 km) into reach 2 (1-11 km) whose 3-7 km stretch is a lake
    net = _chain([0, 1000, 11000], local_area_km2=[5.0, 100.0], discharge_m3s=[0.5, 10.0])
    out = mark_lakes(net, _lake())
    r = out.reaches.set_index("reach_id")
    # reach 2 keeps its id for its upstream piece (so reach 1 still drains into it)
    assert r.loc[1, "downstream_id"] == 2
    assert r.loc[2, "downstream_id"] == 3
    assert r.loc[3, "downstream_id"] == 4
    assert r.loc[4, "downstream_id"] == -1
    assert r["is_lake"].tolist() == [False, False, True, False]
    assert r["length_km"].round(6).tolist() == [1.0, 2.0, 4.0, 4.0]
    # local area by length (100 km2 over 10 km); upstream area grows along the reach
    assert r["local_area_km2"].round(6).tolist() == [5.0, 20.0, 40.0, 40.0]
    assert r["upstream_area_km2"].round(6).tolist() == [5.0, 25.0, 65.0, 105.0]
    # discharge scales with upstream area: 10 m3/s x 65/105 at the lake outlet
    assert r.loc[3, "discharge_m3s"] == pytest.approx(10.0 * 65.0 / 105.0)
    assert r.loc[3, "lake_outlet"]


def test_short_gap_between_lake_reaches_is_lake():
    # a flow line that leaves a generalised shore for 1 km and comes back: one lake, one outlet
    lake = Polygon([(0, -500), (4000, -500), (4000, 500), (5000, 500), (5000, -500),
                    (9000, -500), (9000, 500), (0, 500)])  # fmt: skip
    lake = lake.difference(box(4000, -600, 5000, 100))
    net = _chain([0, 4000, 5000, 9000, 12000])
    out = mark_lakes(net, _lake(geom=lake))
    r = out.reaches
    assert r["is_lake"].tolist() == [True, True, True, False]
    assert r["lake_outlet"].tolist() == [False, False, True, False]


def test_unnamed_lake_named_by_point_and_volume_labels():
    g = gpd.GeoDataFrame(
        {"name": ["Big", "", ""]},
        geometry=[box(0, 0, 1000, 1000), box(5000, 0, 6000, 2000), box(9000, 0, 9500, 1000)],
        crs=CRS,
    )
    pt = gpd.GeoSeries(gpd.points_from_xy([5500], [1000]), crs=CRS).to_crs(4326).iloc[0]
    info = [LakeInfo("Big", 0.05, "a survey"), LakeInfo("Small", at=(pt.x, pt.y))]
    t = lake_polygons(g, CRS, info=info, assumed_mean_depth_m=4.0)
    assert t["name"].tolist() == ["Big", "Small", "unnamed lake 1"]
    assert t["volume_km3"].round(6).tolist() == [0.05, 0.008, 0.002]
    assert t["volume_source"].iloc[0] == "a survey"
    assert t["volume_source"].iloc[1].startswith("ASSUMPTION: polygon area x 4 m")
    no_depth = lake_polygons(g, CRS)
    assert np.isnan(no_depth["volume_km3"].iloc[1])
    assert no_depth["volume_source"].iloc[1].startswith("unknown")


def test_lake_point_as_text_or_bools_is_refused():
    # LakeInfo.at went into shapely.Point as given: ("120.1", "31.2") named the polygon, and
    # True was 1 degree; now refused as snap_point refuses them, naming the lake
    g = gpd.GeoDataFrame({"name": [""]}, geometry=[box(5000, 0, 6000, 2000)], crs=CRS)
    pt = gpd.GeoSeries(gpd.points_from_xy([5500], [1000]), crs=CRS).to_crs(4326).iloc[0]
    assert lake_polygons(g, CRS, info=[LakeInfo("S", at=(pt.x, pt.y))])["name"].tolist() == ["S"]
    for at in [(str(pt.x), str(pt.y)), (pt.x, True)]:
        with pytest.raises(
            InputError,
            match=r"^LakeInfo\('S'\)\.at must be a \(lon, lat\) pair of WGS84 degrees as "
            rf"numbers \(not text or bools\).*; got LakeInfo\('S'\)\.at={re.escape(repr(at))}$",
        ):
            lake_polygons(g, CRS, info=[LakeInfo("S", at=at)])  # type: ignore[arg-type]


def test_lake_errors_name_the_problem():
    g = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(0, 0, 10, 10)], crs=CRS)
    with pytest.raises(InputError, match=r"name\(s\) \['B'\] are not in the lake layer"):
        lake_polygons(g, CRS, info=[LakeInfo("B", 1.0)])
    with pytest.raises(InputError, match="no unnamed lake polygon contains the point"):
        lake_polygons(g, CRS, info=[LakeInfo("C", at=(0.0, 0.0))])
    with pytest.raises(InputError, match="has no column 'nom'"):
        lake_polygons(g, CRS, name_column="nom")
    with pytest.raises(InputError, match="assumed_mean_depth_m must be > 0"):
        lake_polygons(g, CRS, assumed_mean_depth_m=0.0)
    with pytest.raises(InputError, match="volume_km3 must be > 0"):
        lake_polygons(g, CRS, info=[LakeInfo("A", -1.0)])
    net = _chain([0, 1000])
    with pytest.raises(InputError, match="min_inside_share must lie in"):
        mark_lakes(net, lake_polygons(g, CRS), min_inside_share=0.0)


def test_lake_layers_without_crs_columns_or_projection():
    g = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(0, 0, 1000, 1000)], crs=CRS)
    net = _chain([0, 1000])
    # the raw layer (not lake_polygons output) raised a KeyError 'lake_id'
    with pytest.raises(
        InputError, match=r"the lake layer lacks column\(s\) \['lake_id'.* lake_polygons"
    ):
        mark_lakes(net, g)
    # no CRS raised a raw ValueError
    with pytest.raises(CRSError, match=r"the lake layer has no CRS"):
        mark_lakes(net, lake_polygons(g, CRS).set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match=r"the lake layer has no CRS"):
        lake_polygons(g.set_crs(None, allow_override=True), CRS)
    # a geographic crs measured the lake in square degrees (area_km2 ~1e-16)
    with pytest.raises(
        CRSError, match=r"crs='EPSG:4326' \(the network's CRS\) is in the geographic"
    ):
        lake_polygons(g, "EPSG:4326")
    assert lake_polygons(g.to_crs(4326), CRS)["area_km2"].iloc[0] == pytest.approx(1.0)


def test_polygon_network_is_refused():
    t = gpd.GeoDataFrame(
        {"HYBAS_ID": [1, 2], "NEXT_DOWN": [2, 0]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=CRS,
    )
    net = from_next_down(t, id_column="HYBAS_ID", next_down_column="NEXT_DOWN", crs=CRS)
    net = dataclasses.replace(net, reaches=net.reaches.set_geometry("catchment"))
    with pytest.raises(InputError, match="only be marked on a line network"):
        mark_lakes(net, _lake())


def test_bifurcating_reach_split_keeps_its_branches():
    # reach 1 (0-10 km, lake at 3-7 km) splits 60/40 into reaches 2 and 3
    t = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3], "downstream_id": [2, -1, -1]},
        geometry=[LineString([(0, 0), (10000, 0)]), LineString([(10000, 0), (12000, 0)]),
                  LineString([(10000, 0), (10000, 2000)])],
        crs=CRS,
    )  # fmt: skip
    bif = pd.DataFrame({"reach_id": [1, 1], "downstream_id": [2, 3], "fraction": [0.6, 0.4]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BasingovWarning)
        net = network_from_table(t, bifurcations=bif)
        out = mark_lakes(net, _lake())
    b = out.bifurcations
    last = int(out.reaches["reach_id"].max())  # the downstream piece of reach 1
    assert sorted(b["reach_id"].unique().tolist()) == [last]
    assert b.set_index("downstream_id")["fraction"].to_dict() == {2: 0.6, 3: 0.4}


# --- shipped basins ----------------------------------------------------------------------
def _shipped(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BasingovWarning)
        return load_network(load_basin(name))


def test_tennessee_tva_main_stem_reservoirs_are_lake_nodes():
    """The TVA main-river reservoirs on the Natural Earth Tennessee are lake nodes."""
    lr = lake_reaches(_shipped("tennessee"))
    main = {"Fort Loudoun Lake", "Watts Bar Lake", "Chickamauga Lake", "Guntersville Lake",
            "Wheeler Lake", "Pickwick Lake", "Kentucky Lake"}  # fmt: skip
    assert main <= set(lr["lake_name"])
    # every lake retains where the water leaves it: one outlet per main-stem reservoir, and the
    # outflow grows downstream (Fort Loudoun < Chickamauga < Wheeler < Kentucky)
    q = lr.set_index("lake_name")["outflow_m3s"]
    assert q["Fort Loudoun Lake"] < q["Chickamauga Lake"] < q["Wheeler Lake"] < q["Kentucky Lake"]
    assert lr["volume_source"].str.startswith("ASSUMPTION").all()


@pytest.mark.slow
def test_rhine_lake_constance_is_one_lake_draining_at_konstanz():
    """Lake Constance (Obersee) drains into the Seerhein at Konstanz, then the Untersee."""
    net = _shipped("rhine")
    lr = lake_reaches(net).set_index("lake_name")
    assert {"Bodensee", "Bodensee (Untersee)", "ZUERICH SEE", "Neuchatel"} <= set(lr.index)
    ob = lr.loc["Bodensee"]
    assert ob["volume_km3"] == 48.4
    assert ob["outlet_reach_ids"].count(" ") == 0  # one outlet
    r = net.reaches.set_index("reach_id")
    end = r.loc[int(ob["outlet_reach_ids"]), "geometry"].boundary.geoms[-1]
    pt = gpd.GeoSeries([end], crs=net.crs).to_crs(4326).iloc[0]
    # Konstanz, where the Rhine leaves the Obersee: 9.18 E 47.665 N (within 5 km)
    assert abs(pt.x - 9.18) < 0.07
    assert abs(pt.y - 47.665) < 0.05
    # the Obersee drains into the Untersee, not around it
    down = r.loc[int(ob["outlet_reach_ids"]), "downstream_id"]
    names = []
    for _ in range(20):
        names.append(r.loc[down, "lake_name"])
        down = r.loc[down, "downstream_id"]
        if down < 0:
            break
    assert "Bodensee (Untersee)" in names
