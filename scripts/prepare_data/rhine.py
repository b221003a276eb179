"""Rhine: HydroBASINS basin with NUTS 2024 units, CCM2/HydroBASINS hydrography, ICPR/BfG data.

Writes ``boundaries/rhine.gpkg``, ``hydrography/rhine.gpkg``, ``hydrography/rhine_*.tif``
and ``monitoring/rhine_*.csv``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from .common import Builder, logger
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
NAME = "rhine"
#: Projected CRS used for buffers (and recommended for metric work).
PROJECTED_CRS = "EPSG:3035"
#: Published basin area (km2) and its source, recorded in the basin layer and README.
PUBLISHED_AREA = (
    185000.0,
    "ICPR: Rhine catchment about 185,000 km2 incl. the whole delta; "
    "HydroBASINS MAIN_BAS 2080023010 sums to 163,123 km2 (SUB_AREA)",
)


def nuts_levels(b: Builder, mask: shapely.Geometry) -> list[tuple[str, gpd.GeoDataFrame]]:
    """NUTS 2024 levels 0-3 intersecting a mask, with country units checked for CH and LI.

    Parameters
    ----------
    b
        Builder (for the source folder).
    mask
        Area of interest in EPSG:4326.

    Returns
    -------
    list
        ``(level_name, frame)`` pairs for country, nuts1, nuts2, nuts3.
    """
    nuts = read(b.src / "geodata/europe/gisco/gisco_nuts_2024.gpkg")
    nuts = nuts[shapely.intersects(nuts.geometry.values, mask)]
    nuts = nuts.rename(
        columns={
            "NUTS_ID": "jur_id",
            "NAME_LATN": "name",
            "NUTS_NAME": "name_native",
            "CNTR_CODE": "country",
        }
    )
    nuts["parent_id"] = np.where(nuts["LEVL_CODE"] == 0, "", nuts["jur_id"].str[:-1])
    keep = ["jur_id", "name", "name_native", "country", "parent_id", "geometry"]
    levels = [
        (name, nuts.loc[nuts["LEVL_CODE"] == lv, keep].copy())
        for lv, name in enumerate(["country", "nuts1", "nuts2", "nuts3"])
    ]
    countries = set(levels[0][1]["jur_id"])
    for code in ("CH", "LI"):
        if code not in countries:
            gc = read(b.src / "geodata/europe/gisco/gisco_countries_2024.gpkg")
            row = gc[gc["CNTR_ID"] == code]
            logger.warning("%s not in NUTS 2024 level 0; taking it from GISCO countries", code)
            extra = gpd.GeoDataFrame(
                {
                    "jur_id": [code],
                    "name": row["NAME_ENGL"].tolist(),
                    "name_native": row["CNTR_NAME"].tolist(),
                    "country": [code],
                    "parent_id": [""],
                },
                geometry=row.geometry.tolist(),
                crs="EPSG:4326",
            )
            levels[0] = ("country", pd.concat([levels[0][1], extra], ignore_index=True))
    b.facts["rhine_ch_li_in_nuts"] = {c: c in countries for c in ("CH", "LI")}
    return levels


def boundaries(b: Builder) -> shapely.Geometry:
    """Write ``boundaries/rhine.gpkg`` (HydroBASINS basin, NUTS 2024 levels 0-3).

    Parameters
    ----------
    b
        Builder.

    Returns
    -------
    shapely.Geometry
        The basin polygon.
    """
    hyb = read(b.src / "geodata/rhine/rhineHYBASlev08.gpkg")
    geom = shapely.union_all(shapely.make_valid(hyb.geometry.values))
    basin = basin_frame(
        geom,
        "Rhine",
        "HydroBASINS v1c level 8: union of the 289 sub-basins of MAIN_BAS 2080023010",
        derived=False,
        published=PUBLISHED_AREA,
    )
    geom = basin.geometry.iloc[0]
    jur = jurisdiction_frame(nuts_levels(b, geom), geom)
    b.facts["rhine_area"] = float(basin["area_km2"].iloc[0])
    b.facts["rhine_levels"] = level_summary(jur)
    b.facts["rhine_nl_km2"] = float(jur.loc[jur["jur_id"] == "NL", "area_km2"].sum())
    b.write_gpkg(
        "boundaries/rhine.gpkg",
        {"basin": basin, "jurisdictions": jur},
        ["hybas", "gisco_nuts", "gisco_countries"],
        "basin = dissolved HydroBASINS polygons; NUTS 2024 levels 0-3 clipped to the "
        "basin (parts < 0.01 km2 dropped); jur_id = NUTS_ID, parent = NUTS_ID[:-1]"
        + stripped_names_text(jur),
    )
    return geom


#: Natural Earth lines that carry a tributary's name on down the river it joins:
#: (line name, the tributary's mouth (lon, lat), name below it, the lower river's mouth
#: (lon, lat), source). The Glan: de.wikipedia "Glan (Nahe)", water body code DE 2546
#: (89.7 km, 1,222 km2), mouth below Staudernheim; the Nahe's mouth at Bingen
#: (approximate, to check the line's lower end). The Ohm: de.wikipedia "Ohm (Fluss)", DE
#: 2582 (59.8 km, 984 km2), mouth at Coelbe; the Lahn's mouth at Lahnstein from
#: de.wikipedia "Lahn" (245.6 km, 5,925 km2).
NE_CUTS = (
    ("Glan", (7.714378, 49.77593), "Nahe", (7.90, 49.967), "de.wikipedia 'Glan (Nahe)'"),
    ("Ohm", (8.7947111, 50.8524694), "Lahn", (7.594722, 50.309167), "de.wikipedia 'Ohm (Fluss)'"),
)
#: Largest distance (m) from a mouth to the Natural Earth line (a 1:10M line).
MOUTH_TOLERANCE_M = 2500.0


def cut_at_mouths(b: Builder, rivers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cut Natural Earth lines at a tributary's mouth and name the part below it.

    Natural Earth has no line named Nahe or Lahn: its "Glan" runs from the
    Glan's source on down the Nahe to the Rhine at Bingen, and its "Ohm" from the Ohm's
    source in the Vogelsberg on down the Lahn to Lahnstein. Each line of :data:`NE_CUTS`
    is cut at its point nearest to the tributary's published mouth; the part above keeps
    the tributary's name, the part below takes the river's and keeps the other columns.
    The rivers above those mouths (the upper Nahe, the Lahn above Coelbe) have no line.

    Parameters
    ----------
    b
        Builder (the cuts go into its facts).
    rivers
        Natural Earth lines in EPSG:4326 (:func:`~prepare_data.geometry.ne_lines`).

    Returns
    -------
    geopandas.GeoDataFrame
        The lines with each cut row replaced by its two parts, in that place.

    Raises
    ------
    ValueError
        If there is not exactly one line of a name, or it does not pass the tributary's
        mouth and end at the river's: the source changed, and the cut must be checked.
    """
    facts = []
    for name, mouth, below, end, source in NE_CUTS:
        at = rivers.index[rivers["name"] == name]
        if len(at) != 1:
            msg = f"expected one Natural Earth line named {name!r}, found {len(at)}"
            raise ValueError(msg)
        line = rivers.geometry[at[0]]
        ends = [shapely.Point(mouth), shapely.Point(line.coords[-1]), shapely.Point(end)]
        metric = gpd.GeoSeries([line, *ends], crs="EPSG:4326").to_crs(PROJECTED_CRS)
        off_mouth = float(metric[0].distance(metric[1]))
        off_end = float(metric[2].distance(metric[3]))
        if max(off_mouth, off_end) > MOUTH_TOLERANCE_M:
            msg = (
                f"Natural Earth's {name!r} passes {off_mouth:.0f} m from the {name}'s mouth "
                f"and ends {off_end:.0f} m from the {below}'s; check the cut"
            )
            raise ValueError(msg)
        d = line.project(shapely.Point(mouth))
        parts = [shapely.ops.substring(line, 0.0, d), shapely.ops.substring(line, d, line.length)]
        two = rivers.loc[[at[0], at[0]]].copy()
        two["geometry"] = parts
        two["name"] = [name, below]
        km = gpd.GeoSeries(parts, crs="EPSG:4326").to_crs(PROJECTED_CRS).length / 1000
        facts.append((name, below, mouth, source, off_mouth, float(km.iloc[0]), float(km.iloc[1])))
        pos = rivers.index.get_loc(at[0])
        rivers = gpd.GeoDataFrame(
            pd.concat([rivers.iloc[:pos], two, rivers.iloc[pos + 1 :]], ignore_index=True),
            geometry="geometry",
            crs=rivers.crs,
        )
    b.facts["rhine_ne_cuts"] = facts
    return rivers


def hydrography(b: Builder, basin: shapely.Geometry) -> None:
    """Write the Rhine hydrography (HydroBASINS, CCM2, Natural Earth, DEM, D8).

    Parameters
    ----------
    b
        Builder.
    basin
        Basin polygon in EPSG:4326.
    """
    hyb = read(b.src / "geodata/rhine/rhineHYBASlev08.gpkg")
    invalid = hyb.loc[~hyb.geometry.is_valid, "HYBAS_ID"].astype(str).tolist()
    b.facts["rhine_hybas_repaired"] = invalid
    hyb["geometry"] = shapely.make_valid(hyb.geometry.values, method="structure")
    ccm = read(b.src / "geodata/rhine/rhineCCM2.gpkg")
    first = set(shapely.to_wkb(shapely.get_point(ccm.geometry.values, 0)))
    last = shapely.get_point(ccm.geometry.values, -1)
    outlets = [i for i, w in enumerate(shapely.to_wkb(last)) if w not in first]
    b.facts["rhine_ccm2_outlets"] = [
        (
            int(ccm["WSO1_ID"].iloc[i]),
            round(float(shapely.get_x(last[i])), 4),
            round(float(shapely.get_y(last[i])), 4),
        )
        for i in outlets
    ]
    mask = buffered(basin, PROJECTED_CRS)
    rivers = ne_lines(b, ["ne_10m_rivers_europe.json", "ne_10m_rivers_lake_centerlines.json"], mask)
    rivers = cut_at_mouths(b, rivers)
    rivers["in_basin_share"] = in_basin_share(rivers, basin)
    lakes = ne_polygons(b, ["ne_10m_lakes.json", "ne_10m_lakes_europe.json"], mask)
    b.facts["rhine_counts"] = {
        "hybas": len(hyb),
        "ccm2": len(ccm),
        "ne_rivers": len(rivers),
        "lakes": len(lakes),
    }
    b.write_gpkg(
        "hydrography/rhine.gpkg",
        {"hybas_lev08": hyb, "ccm2_reaches": ccm, "ne_rivers": rivers, "lakes": lakes},
        ["hybas", "ccm2", "ne"],
        "hybas_lev08: all 289 polygons, all columns; polygons invalid in the source "
        f"(HYBAS_ID {', '.join(b.facts['rhine_hybas_repaired']) or 'none'}) repaired with "
        "shapely.make_valid; ccm2_reaches: all 30,343 "
        "LineStrings unchanged (vertex order = flow direction); ne_rivers/lakes: NE 10m "
        "clipped to the basin + 2 km and exploded; NE's 'Glan' and 'Ohm' cut at their "
        "mouths, the parts below named 'Nahe' and 'Lahn' (see Hydrography)",
    )
    b.copy(
        "geodata/rhine/pyflwdir/rhine_elv0.tif",
        "hydrography/rhine_elevation.tif",
        ["pyflwdir"],
        "none (byte copy; float32, nodata -9999, deflate)",
        "EPSG:4326",
    )
    b.write_raster(
        "geodata/rhine/pyflwdir/rhine_d8.tif",
        "hydrography/rhine_d8.tif",
        ["pyflwdir"],
        "values unchanged; nodata tag set to 247 (pyflwdir D8 convention, the source "
        "file has no nodata tag); deflate",
        nodata=247,
    )


def monitoring(b: Builder) -> None:
    """Write the Rhine stations (ICPR HCB + WSV gauges) and observations (HCB, Maxau).

    Parameters
    ----------
    b
        Builder.
    """
    mon = b.src / "monitoring/rhine"
    hcb_st = pd.read_csv(mon / "icpr_hcb_stations_rkm_with_nearest_gauge.csv")
    gauges = pd.read_csv(mon / "bfg_wsv_rhine_gauging_stations_km_wgs84_cran_hyd1d.csv")
    st1 = pd.DataFrame(
        {
            "station_id": "ICPR_" + hcb_st["code"],
            "name": hcb_st["station"],
            "lon": hcb_st["gauge_lon"].round(6),
            "lat": hcb_st["gauge_lat"].round(6),
            "location_status": "gauge_proxy",
            "source": "ICPR (via R trend 1.1.6); location = nearest WSV gauge "
            + hcb_st["nearest_wsv_gauge"]
            + " ("
            + hcb_st["km_offset"].astype(str)
            + " Rhine-km away)",
            "rhine_km": hcb_st["rhine_km"],
            "context": hcb_st["context"],
        }
    )
    located = gauges["latitude"].notna()
    st2 = pd.DataFrame(
        {
            "station_id": "WSV_" + gauges["gauging_station"],
            "name": gauges["gauging_station"],
            "lon": gauges["longitude"].round(6),
            "lat": gauges["latitude"].round(6),
            "location_status": np.where(located, "measured", "unlocated"),
            "source": "WSV gauge list (BfG hyd1d 0.5.3)",
            "rhine_km": gauges["km"],
            "context": gauges["agency"],
        }
    )
    st = pd.concat([st1, st2], ignore_index=True)
    b.write_csv(
        "monitoring/rhine_stations.csv",
        st,
        ["icpr_hcb", "wsv_gauges"],
        "6 ICPR HCB stations located at their nearest WSV gauge (proxy, up to 22 km off) "
        "+ 31 WSV gauges with published WGS84 coordinates (GRENZE_NL has none)",
        crs="EPSG:4326",
    )
    hcb = pd.read_csv(mon / "icpr_hcb_suspended_matter_monthly_1995_2006_cran_trend.csv")
    long = hcb.melt(id_vars="period", var_name="code", value_name="value").dropna()
    obs1 = pd.DataFrame(
        {
            "station_id": "ICPR_" + long["code"],
            "time": long["period"] + "-01",
            "parameter": "HCB_ugkg_SPM",
            "value": long["value"].round(6),
            "unit": "ug/kg",
            "flag": "",
            "aggregation": "monthly value (gaps linearly interpolated by the source)",
        }
    )
    maxau = pd.read_csv(mon / "bfg_maxau_ssc_discharge_annual_1965_2009_cran_trend.csv")
    year = maxau["period"].astype(int).astype(str) + "-01-01"
    obs2 = pd.concat(
        [
            pd.DataFrame(
                {
                    "station_id": "WSV_MAXAU",
                    "time": year,
                    "parameter": "SS",
                    "value": maxau["s"].round(6),
                    "unit": "mg/L",
                    "flag": "",
                    "aggregation": "annual mean suspended-sediment concentration",
                }
            ),
            pd.DataFrame(
                {
                    "station_id": "WSV_MAXAU",
                    "time": year,
                    "parameter": "Q",
                    "value": maxau["Q"].round(6),
                    "unit": "m3/s",
                    "flag": "",
                    "aggregation": "annual mean discharge",
                }
            ),
        ]
    )
    obs = pd.concat([obs1, obs2], ignore_index=True)
    b.facts["rhine_obs"] = len(obs)
    b.write_csv(
        "monitoring/rhine_observations.csv",
        obs,
        ["icpr_hcb", "bfg_maxau"],
        "wide -> long; HCB kept as its own parameter HCB_ugkg_SPM (ug/kg in suspended "
        "matter); Maxau SSC -> SS, discharge -> Q; time = start of month/year, "
        "aggregation column says which",
    )
