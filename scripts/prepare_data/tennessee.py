"""Tennessee: WBD HUC4 basin with Census states/counties, Natural Earth rivers, EPA NRSA/NLA.

Writes ``boundaries/tennessee.gpkg``, ``hydrography/tennessee.gpkg``,
``hydrography/tennessee_dem_5arcmin.tif`` and ``monitoring/tennessee_*.csv``.
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
    in_basin_share,
    jurisdiction_frame,
    level_summary,
    ne_lines,
    ne_polygons,
    read,
    stripped_names_text,
)

#: Basin key: file names ``<NAME>.gpkg`` and the prefix of this basin's facts.
NAME = "tennessee"
#: Projected CRS used for buffers (and recommended for metric work).
PROJECTED_CRS = "EPSG:5070"
#: Published basin area (km2) and its source, recorded in the basin layer and README.
PUBLISHED_AREA = (105900.0, "TVA: Tennessee River watershed about 105,900 km2 (40,900 mi2)")
#: WBD HUC4 sub-regions that make up the Tennessee region (HUC2 06).
HUC4_CODES = ["0601", "0602", "0603", "0604"]


def read_huc4(b: Builder) -> gpd.GeoDataFrame:
    """Read the four WBD HUC4 polygons 0601-0604 (rmap's simplified copy), source columns.

    Parameters
    ----------
    b
        Builder (for the source folder).

    Returns
    -------
    geopandas.GeoDataFrame
        Four rows in EPSG:4326, source order and index kept.

    Raises
    ------
    ValueError
        If the source does not hold exactly these four polygons.
    """
    huc = read(b.src / "geodata/tennessee/rmap/mapUS49HUC4.gpkg")
    huc = huc[huc["subRegion"].astype(str).isin(HUC4_CODES)]
    if len(huc) != len(HUC4_CODES):
        msg = f"expected 4 HUC4 polygons 0601-0604, found {len(huc)}"
        raise ValueError(msg)
    return huc


def boundaries(b: Builder) -> shapely.Geometry:
    """Write ``boundaries/tennessee.gpkg`` (WBD HUC4 0601-0604 basin, states, counties).

    Parameters
    ----------
    b
        Builder.

    Returns
    -------
    shapely.Geometry
        The basin polygon.
    """
    huc = read_huc4(b)
    geom = shapely.union_all(shapely.make_valid(huc.geometry.values))
    basin = basin_frame(
        geom,
        "Tennessee",
        "USGS WBD (simplified, via rmap): union of HUC4 0601, 0602, 0603, 0604",
        derived=False,
        published=PUBLISHED_AREA,
    )
    geom = basin.geometry.iloc[0]
    topo = b.src / "geodata/tennessee/us_atlas/counties-10m.json"
    states = read(topo, layer="states")
    counties = read(topo, layer="counties")
    states = states.rename(columns={"id": "jur_id"}).assign(parent_id="")
    counties = counties.rename(columns={"id": "jur_id"})
    counties["parent_id"] = counties["jur_id"].str[:2]
    names = dict(zip(states["jur_id"], states["name"], strict=True))
    counties["state_name"] = counties["parent_id"].map(names)
    jur = jurisdiction_frame([("state", states), ("county", counties)], geom)
    b.facts["tennessee_area"] = float(basin["area_km2"].iloc[0])
    b.facts["tennessee_levels"] = level_summary(jur)
    b.facts["tennessee_states"] = sorted(jur.loc[jur["level"] == 0, "name"])
    small = jur[(jur["level"] == 0) & (jur["area_km2"] < 10)]
    b.facts["tennessee_slivers"] = list(zip(small["name"], small["area_km2"], strict=True))
    b.write_gpkg(
        "boundaries/tennessee.gpkg",
        {"basin": basin, "jurisdictions": jur},
        ["wbd", "us_atlas"],
        "basin = dissolved HUC4 0601-0604; Census states (2-digit FIPS) and counties "
        "(5-digit FIPS, parent = state FIPS) decoded from TopoJSON and clipped"
        + stripped_names_text(jur),
    )
    return geom


def hydrography(b: Builder, basin: shapely.Geometry) -> None:
    """Write the Tennessee hydrography (NE rivers/lakes, HUC4 polygons, coarse DEM).

    Parameters
    ----------
    b
        Builder.
    basin
        Basin polygon in EPSG:4326.
    """
    mask = buffered(basin, PROJECTED_CRS)
    rivers = ne_lines(
        b, ["ne_10m_rivers_north_america.json", "ne_10m_rivers_lake_centerlines.json"], mask
    )
    rivers["in_basin_share"] = in_basin_share(rivers, basin)
    lakes = ne_polygons(b, ["ne_10m_lakes_north_america.json", "ne_10m_lakes.json"], mask)
    huc = read_huc4(b).rename(columns={"subRegion": "huc4", "subRegionAlt": "huc4_name"})
    huc = huc.reset_index(drop=True)
    b.facts["tennessee_counts"] = {
        "ne_rivers": len(rivers),
        "lakes": len(lakes),
        "named_rivers": int((rivers["name"] != "").sum()),
    }
    b.write_gpkg(
        "hydrography/tennessee.gpkg",
        {"ne_rivers": rivers, "lakes": lakes, "huc4": huc},
        ["ne", "wbd"],
        "ne_rivers: NE 10m North America + lake centre-lines clipped to basin + 2 km and "
        "exploded (no flow direction); lakes: NE 10m lakes clipped; huc4: the 4 WBD "
        "polygons (subRegion -> huc4, subRegionAlt -> huc4_name)",
    )
    b.copy(
        "supplements/dem_5arcmin_pvlib/tennessee_dem_5arcmin_pvlib_altitude.tif",
        "hydrography/tennessee_dem_5arcmin.tif",
        ["pvlib_dem"],
        "none (byte copy); COARSE 5' DEM, 28 m vertical steps, fallback only",
        "EPSG:4326",
    )


EPA_PARAMS: dict[str, tuple[str, str, bool]] = {
    "TN": ("TN", "mg/L N", True),
    "TP": ("TP", "mg/L P", True),
    "NO3-N": ("NO3-N", "mg/L N", True),
    "NH4-N": ("NH4", "mg/L N", True),
    "Cl": ("Cl", "mg/L", True),
    "TSS": ("SS", "mg/L", True),
    "DOC": ("DOC", "mg/L", True),
    "pH_lab": ("pH", "pH", False),
    "conductivity": ("conductivity", "uS/cm at 25C", False),
    "turbidity": ("turbidity", "NTU", False),
    "chlorophyll-a": ("chl_a", "ug/L", False),
}


def monitoring(b: Builder) -> None:
    """Write the EPA NRSA/NLA sites and chemistry for the Tennessee basin.

    Parameters
    ----------
    b
        Builder.
    """
    mon = b.src / "monitoring/tennessee"
    parts = []
    for f, survey in (
        ("epa_nrsa_streams_huc06_tennessee_2008_2019_long.csv", "NRSA"),
        ("epa_nla_lakes_reservoirs_huc06_tennessee_2007_2012_long.csv", "NLA"),
    ):
        d = pd.read_csv(mon / f, dtype={"huc8": str, "site_id": str})
        d["survey"] = survey
        parts.append(d)
    raw = pd.concat(parts, ignore_index=True)
    unknown = set(raw["parameter"]) - set(EPA_PARAMS)
    if unknown:
        msg = f"unmapped EPA parameters {sorted(unknown)}; add them to EPA_PARAMS"
        raise ValueError(msg)
    sites = (
        raw.groupby("site_id", sort=True)
        .agg(
            name=("site_name", "first"),
            lon=("lon", "first"),
            lat=("lat", "first"),
            lon_range=("lon", lambda s: s.max() - s.min()),
            survey=("survey", "first"),
            cycles=("cycle", lambda s: "; ".join(sorted(set(s)))),
            state=("state", "first"),
            huc8=("huc8", "first"),
            strahler_order=("strahler_order", "first"),
        )
        .reset_index()
    )
    b.facts["tennessee_site_lon_spread"] = float(sites["lon_range"].max())
    st = pd.DataFrame(
        {
            "station_id": sites["site_id"],
            "name": sites["name"].fillna(""),
            "lon": sites["lon"].round(6),
            "lat": sites["lat"].round(6),
            "location_status": "measured",
            "source": "US EPA " + sites["cycles"] + " (site coordinates LAT/LON_DD83, NAD83)",
            "survey": sites["survey"],
            "state": sites["state"],
            "huc8": sites["huc8"],
            "strahler_order": sites["strahler_order"],
        }
    )
    b.write_csv(
        "monitoring/tennessee_stations.csv",
        st,
        ["nrsa", "nla"],
        "one row per EPA site_id (first visit's NAD83 coordinates; NAD83 ~ WGS84 here)",
        crs="EPSG:4326 (NAD83 coordinates, difference < 2 m)",
    )
    code = raw["parameter"].map(lambda p: EPA_PARAMS[p][0])
    unit = raw["parameter"].map(lambda p: EPA_PARAMS[p][1])
    use_mg = raw["parameter"].map(lambda p: EPA_PARAMS[p][2])
    value = np.where(use_mg, raw["value_mg_per_l"], raw["value"])
    obs = pd.DataFrame(
        {
            "station_id": raw["site_id"],
            "time": raw["date_iso"],
            "parameter": code,
            "value": pd.to_numeric(pd.Series(value), errors="coerce").round(6),
            "unit": unit,
            "flag": raw["flag"].fillna(""),
            "survey_cycle": raw["cycle"],
            "source_unit": raw["unit"],
        }
    ).dropna(subset=["value"])
    b.facts["tennessee_obs"] = (len(obs), len(st))
    b.write_csv(
        "monitoring/tennessee_observations.csv",
        obs,
        ["nrsa", "nla"],
        "concentrations from value_mg_per_l (source unit kept in source_unit; 2008-09 "
        "units were inferred by the compiler); NH4-N -> NH4 (as N), TSS -> SS, "
        "pH_lab -> pH; EPA flags kept",
    )
