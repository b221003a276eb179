"""Thames: DEM-derived basin, NUTS 2012/LAD 2013, DCW and DEM streams, Thames Initiative data.

The basin polygon is DERIVED: the D8 catchment of a 30" DEM above the NRFA 39001 Kingston gauge.

Writes ``boundaries/thames.gpkg``, ``hydrography/thames.gpkg``, ``hydrography/thames_dem.tif``,
``hydrography/thames_nrfa_check.csv`` and ``monitoring/thames_*.csv``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from .common import Builder
from .geometry import (
    area_km2,
    basin_frame,
    buffered,
    clip_polygons,
    in_basin_share,
    jurisdiction_frame,
    level_summary,
    ne_lines,
    read,
    stripped_names_text,
)

#: Basin key: file names ``<NAME>.gpkg`` and the prefix of this basin's facts.
NAME = "thames"
#: Projected CRS used for buffers (and recommended for metric work).
PROJECTED_CRS = "EPSG:27700"
#: Published basin area (km2) and its source, recorded in the basin layer and README.
PUBLISHED_AREA = (9948.0, "NRFA station 39001 Thames at Kingston, catchment area 9,948 km2")

# Molar-mass factors for expressing nitrogen species as N.
N = 14.0067
NH4_TO_N = N / 18.0385
NO3_TO_N = N / 62.0049
NO2_TO_N = N / 46.0055


def boundaries(b: Builder) -> shapely.Geometry:
    """Write ``boundaries/thames.gpkg`` (DEM-derived basin above Kingston, NUTS 2012, LAD 2013).

    Parameters
    ----------
    b
        Builder.

    Returns
    -------
    shapely.Geometry
        The basin polygon.
    """
    src = read(b.src / "supplements/thames_network_dem/thames_basin_kingston_dem30s_derived.gpkg")
    basin = basin_frame(
        src.geometry.iloc[0],
        "Thames (non-tidal, above Kingston)",
        'DERIVED: D8 catchment (pyflwdir) of the DIVA-GIS/SRTM 30" DEM above the NRFA 39001 '
        "Kingston gauge; 9,496 km2 in BNG vs 9,948 km2 published by NRFA (-4.5%), most of the "
        "deficit in the Wey/Mole area",
        derived=True,
        published=PUBLISHED_AREA,
    )
    geom = basin.geometry.iloc[0]
    uk = b.src / "geodata/thames/uk_geojson"
    frames = []
    for lv in (1, 2, 3):
        g = read(uk / f"eurostat_ew_topo_nuts{lv}.json")
        g = g.rename(columns={f"NUTS{lv}12CD": "jur_id", f"NUTS{lv}12NM": "name"})
        fix_nuts_names(g, lv)
        g["parent_id"] = "" if lv == 1 else g["jur_id"].str[:-1]
        frames.append((f"nuts{lv}", g[["jur_id", "name", "parent_id", "geometry"]]))
    lad = read(uk / "administrative_eng_topo_lad.json")
    lad = lad.rename(columns={"LAD13CD": "jur_id", "LAD13NM": "name"})
    lad = lad[["jur_id", "name", "geometry"]]
    # parent of a LAD = the clipped NUTS3 unit holding most of its clipped area
    nuts3 = clip_polygons(frames[2][1], geom)
    lad_c = clip_polygons(lad, geom)
    inter = gpd.overlay(
        lad_c[["jur_id", "geometry"]],
        nuts3[["jur_id", "geometry"]].rename(columns={"jur_id": "n3"}),
        how="intersection",
        keep_geom_type=True,
    )
    inter["a"] = area_km2(inter)
    best = inter.sort_values("a", ascending=False).drop_duplicates("jur_id")
    parent = dict(zip(best["jur_id"], best["n3"], strict=True))
    lad["parent_id"] = lad["jur_id"].map(parent).fillna("")
    shares = inter.groupby("jur_id")["a"].max() / inter.groupby("jur_id")["a"].sum()
    lad["parent_share"] = lad["jur_id"].map(shares).round(4)
    lad = lad[lad["jur_id"].isin(parent)]
    frames.append(("lad", lad))
    jur = jurisdiction_frame(frames, geom)
    b.facts["thames_area"] = float(basin["area_km2"].iloc[0])
    b.facts["thames_levels"] = level_summary(jur)
    b.facts["thames_lad_min_parent_share"] = float(shares.min())
    b.write_gpkg(
        "boundaries/thames.gpkg",
        {"basin": basin, "jurisdictions": jur},
        ["thames_derived", "thames_dem", "uk_geojson"],
        "basin = DEM-derived Kingston catchment (derived=1); NUTS 2012 levels 1-3 and "
        "LAD 2013 decoded from TopoJSON and clipped; LAD parent = NUTS3 holding most of "
        "its clipped area (computed; share in parent_share); names as in the source except "
        + "; ".join(
            f"NUTS{lv} {code} {broken!r} corrected to {fixed!r} ({why})"
            for lv, code, broken, fixed, why in NUTS_NAME_FIXES
        )
        + stripped_names_text(jur),
    )
    return geom


#: NUTS 2012 names the UK-GeoJSON TopoJSON (``NUTS<level>12NM``) misspells: (level, NUTS
#: code, the source's name, the name given, what is wrong). The names reach the output
#: tables and maps. :func:`fix_nuts_names` checks each against the source, so a fix the
#: source no longer needs stops the build instead of passing silently.
NUTS_NAME_FIXES = (
    (1, "UKK", "South West (England", "South West (England)", "closing parenthesis missing in "
     "the source; the other English regions read 'East Midlands (England)' etc."),
)  # fmt: skip


def fix_nuts_names(g: gpd.GeoDataFrame, level: int) -> None:
    """Give the NUTS units of :data:`NUTS_NAME_FIXES` at one level their corrected names.

    Parameters
    ----------
    g
        One NUTS level as read from ``eurostat_ew_topo_nuts<level>.json``, with ``jur_id``
        and ``name``; changed in place.
    level
        NUTS level (1, 2 or 3).

    Raises
    ------
    ValueError
        If a listed unit is missing or no longer has the listed (misspelt) name: the
        source changed, and the list must be checked again.
    """
    for lv, code, broken, fixed, _ in NUTS_NAME_FIXES:
        if lv != level:
            continue
        rows = g.index[g["jur_id"] == code]
        found = g.loc[rows, "name"].tolist()
        if found != [broken]:
            msg = (
                f"NUTS{lv} unit {code} in eurostat_ew_topo_nuts{lv}.json is named {found} "
                f"(one unit named {broken!r} expected); check NUTS_NAME_FIXES"
            )
            raise ValueError(msg)
        g.loc[rows, "name"] = fixed


def osgb_to_en(ref: str) -> tuple[float, float]:
    """Convert an OS National Grid reference to the easting/northing of its square centre.

    Parameters
    ----------
    ref
        Grid reference such as ``"TQ177698"``.

    Returns
    -------
    tuple of float
        Easting and northing (EPSG:27700) of the centre of the referenced square.

    Examples
    --------
    >>> osgb_to_en("TQ177698")
    (517750.0, 169850.0)
    """
    ref = ref.replace(" ", "").upper()
    l1, l2 = ord(ref[0]) - ord("A"), ord(ref[1]) - ord("A")
    l1 -= l1 > 7  # the grid alphabet skips I
    l2 -= l2 > 7
    e100 = ((l1 - 2) % 5) * 5 + (l2 % 5)
    n100 = (19 - (l1 // 5) * 5) - (l2 // 5)
    digits = ref[2:]
    half = len(digits) // 2
    scale = 10 ** (5 - half)
    east = e100 * 100000 + int(digits[:half]) * scale + scale / 2
    north = n100 * 100000 + int(digits[half:]) * scale + scale / 2
    return float(east), float(north)


#: DCW lines that carry another river's name, each checked against published coordinates:
#: (dcw_fid, NAM, the name given, what the line is, a published point one of its ends must
#: lie near, or None for a stretch of the Thames, which must lie along Natural Earth's
#: Thames). DCW names several stretches after the tributary that joins at one of their
#: ends. ``NAM`` keeps DCW's text; :func:`fix_dcw_names` checks each line. The Cole's line
#: is not renamed: its 2 km naming buffer (thames.toml) would give the name to the Coln's
#: last reach too.
DCW_NAME_FIXES = (
    (26, "RIVER KENNET", "", "the Thames below Kennet Mouth at Reading (0.9 km)", None),
    (29, "RIVER LODDON", "", "the Thames from Sonning to Shiplake (4.8 km)", None),
    (30, "RIVER MOLE", "", "the Thames from the Wey mouth past Walton and Sunbury to the Mole "
     "mouth at East Molesey (8.6 km), while the Mole itself flows north from Cobham", None),
    (21, "RIVER WHITEWATER", "", "the Blackwater, from the Whitewater's mouth south-east of "
     "Swallowfield (51.3663 N, 0.9361 W; en.wikipedia 'River Whitewater') east towards "
     "Yateley (8.6 km), while the Whitewater flows in from Greywell in the south-west",
     (-0.9361, 51.3663)),
    (84, "RIVER COLN", "", "the Cole, from Swindon north to its mouth above Buscot "
     "Lock (51.6886 N, 1.6769 W; en.wikipedia 'River Cole, Wiltshire', source 51.5726 N, "
     "1.7252 W) (22.7 km), while the Coln flows in from the Cotswolds in the north-west "
     "(mouth at Lechlade, 51.688 N, 1.705 W)", (-1.67694, 51.68861)),
)  # fmt: skip
#: Largest distance (m) of any vertex of a Thames stretch from Natural Earth's 1:10M
#: Thames, and of a line's nearest end from its published point.
NAME_FIX_MAX_M = 1500.0


def fix_dcw_names(b: Builder, dcw: gpd.GeoDataFrame, ne: gpd.GeoDataFrame) -> None:
    """Give the DCW lines of :data:`DCW_NAME_FIXES` their names (blank or corrected).

    Parameters
    ----------
    b
        Builder (the lines go into its facts).
    dcw
        DCW lines with ``dcw_fid``, ``NAM`` and ``name``; changed in place.
    ne
        Natural Earth's Thames line(s).

    Raises
    ------
    ValueError
        If a listed line is missing, has another name, or no longer lies where the list
        says (along the Thames, or with an end near its published point): the source
        changed, and the list must be checked again.
    """
    thames = shapely.union_all(ne.to_crs(PROJECTED_CRS).geometry.to_numpy())
    lines = dcw.to_crs(PROJECTED_CRS)
    done = []
    for fid, nam, name, what, point in DCW_NAME_FIXES:
        rows = lines.index[lines["dcw_fid"] == fid]
        if len(rows) != 1 or lines.loc[rows[0], "NAM"] != nam:
            msg = f"DCW line dcw_fid={fid} is not the one line named {nam!r}; check the list"
            raise ValueError(msg)
        line = lines.geometry[rows[0]]
        if point is None:
            xy = shapely.points(shapely.get_coordinates(line))
            far = float(shapely.distance(xy, thames).max())
            where = "from the Thames"
        else:
            at = gpd.GeoSeries([shapely.Point(point)], crs="EPSG:4326").to_crs(PROJECTED_CRS)[0]
            ends = shapely.points([line.coords[0], line.coords[-1]])
            far = float(shapely.distance(ends, at).min())
            where = f"from {point}"
        if far > NAME_FIX_MAX_M:
            msg = f"DCW line {fid} ({nam}) lies {far:.0f} m {where}; check the list"
            raise ValueError(msg)
        dcw.loc[rows, "name"] = name
        done.append((nam, name, what, far, point is None))
    b.facts["thames_dcw_fixed"] = done


def hydrography(b: Builder, basin: shapely.Geometry) -> None:
    """Write the Thames hydrography (DCW lines, DEM streams, NE main stem, DEM, NRFA check).

    Parameters
    ----------
    b
        Builder.
    basin
        Basin polygon in EPSG:4326.
    """
    sup = b.src / "supplements/thames_network_dem"
    dcw = read(sup / "thames_rivers_dcw_vmap0_1to1M.gpkg")
    dcw["dcw_fid"] = np.arange(len(dcw))
    parts, index = shapely.get_parts(dcw.geometry.values, return_index=True)
    dcw = gpd.GeoDataFrame(
        dcw.drop(columns="geometry").iloc[index].reset_index(drop=True),
        geometry=gpd.GeoSeries(parts, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    dcw["part"] = dcw.groupby("dcw_fid").cumcount()
    dcw["name"] = dcw["NAM"].fillna("").replace("UNK", "").str.strip()
    streams = read(sup / "thames_streams_dem30s_derived_ge25km2.gpkg")
    streams["derived"] = 1
    ne = ne_lines(
        b,
        ["ne_10m_rivers_lake_centerlines.json", "ne_10m_rivers_europe.json"],
        buffered(basin, PROJECTED_CRS),
    )
    ne = ne[ne["name"] == "Thames"].reset_index(drop=True)  # drop a Great Ouse headwater bit
    ne["in_basin_share"] = in_basin_share(ne, basin)
    fix_dcw_names(b, dcw, ne)
    b.facts["thames_counts"] = {
        "dcw_source_lines": int(index.max() + 1),
        "dcw_linestrings": len(dcw),
        "dem_streams": len(streams),
        "ne_rivers": len(ne),
        "ne_names": sorted(set(ne["name"])),
    }
    b.write_gpkg(
        "hydrography/thames.gpkg",
        {"dcw_rivers": dcw, "dem_streams": streams, "ne_rivers": ne},
        ["dcw", "thames_derived", "ne"],
        "dcw_rivers: 133 DCW lines exploded to LineStrings (dcw_fid, part), name = NAM "
        "with 'UNK' blanked and 5 names DCW gives to other rivers fixed (see Hydrography), "
        "no direction; dem_streams: the 194 DEM-derived streams "
        "(idx, idx_ds, uparea, strord) unchanged plus derived=1; ne_rivers: NE main stem "
        "clipped to basin + 2 km",
    )
    b.copy(
        "supplements/thames_network_dem/thames_dem_30s_diva_srtm.tif",
        "hydrography/thames_dem.tif",
        ["thames_dem"],
        "none (byte copy of the clip; int16 m, nodata -9999, deflate)",
        "EPSG:4326",
    )
    check = pd.read_csv(sup / "dem_delineation_check_vs_nrfa.csv", dtype={"nrfa_id": str})
    en = np.array([osgb_to_en(r) for r in check["nrfa_grid_ref"]])
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(en[:, 0], en[:, 1])
    check["easting"], check["northing"] = en[:, 0], en[:, 1]
    check["lon"], check["lat"] = np.round(lon, 6), np.round(lat, 6)
    sites = pd.read_csv(
        b.src / "supplements/thames_sites/thames_initiative_sites.csv", dtype={"nrfa_id": str}
    )
    sites["nrfa_id"] = sites["nrfa_id"].str.replace(r"\.0$", "", regex=True)
    ref = sites.dropna(subset=["nrfa_lat"]).drop_duplicates("nrfa_id").set_index("nrfa_id")
    common = check[check["nrfa_id"].isin(ref.index)]
    if len(common):
        d = np.hypot(
            common["lat"].to_numpy() - ref.loc[common["nrfa_id"], "nrfa_lat"].to_numpy(),
            common["lon"].to_numpy() - ref.loc[common["nrfa_id"], "nrfa_lon"].to_numpy(),
        )
        b.facts["thames_nrfa_coord_check"] = (len(common), float(d.max()))
    b.write_csv(
        "hydrography/thames_nrfa_check.csv",
        check,
        ["thames_derived", "nrfa"],
        "copy of dem_delineation_check_vs_nrfa.csv plus easting/northing (centre of the "
        "100 m square of nrfa_grid_ref) and lon/lat converted from them with pyproj "
        "EPSG:27700->4326",
        crs="EPSG:27700 (easting/northing), EPSG:4326 (lon/lat)",
    )


#: Thames Initiative column -> (parameter, unit, factor). Metals, F, SO4, Si, alkalinity,
#: conductivity, redox and field pH are not carried over.
THAMES_PARAMS: dict[str, tuple[str, str, float]] = {
    "Total phosphorus (ug/L)": ("TP", "mg/L P", 1e-3),
    "Soluble reactive phosphorus (ug/L)": ("SRP", "mg/L P", 1e-3),
    "Total dissolved phosphorus (ug/L)": ("TDP", "mg/L P", 1e-3),
    "Dissolved ammonium (NH4) (mg/l)": ("NH4", "mg/L N", NH4_TO_N),
    "Dissolved nitrate (NO3)": ("NO3-N", "mg/L N", NO3_TO_N),
    "Dissolved nitrite (mg NO2/L)": ("NO2-N", "mg/L N", NO2_TO_N),
    "Total dissolved nitrogen (mg N/L)": ("TDN", "mg/L N", 1.0),
    "Dissolved chloride (mg Cl/L)": ("Cl", "mg/L", 1.0),
    "Suspended solids mg/L": ("SS", "mg/L", 1.0),
    "Lab pH": ("pH", "pH", 1.0),
    "Dissolved organic carbon (mg/L)": ("DOC", "mg/L", 1.0),
    "Chlorophyll-a (ug/L)": ("chl_a", "ug/L", 1.0),
    "Temperature (oC)": ("temperature", "degC", 1.0),
    "Mean daily flow (m3/s)": ("Q", "m3/s", 1.0),
}

#: Water temperatures above this (degC) are flagged: far above any English river's.
MAX_WATER_TEMPERATURE_C = 40.0


def implausible(param: str, num: pd.Series) -> pd.Series:
    """Mark the values no measurement can have; the build flags them ``implausible_in_source``.

    Every negative value (no concentration, of SS, chlorophyll-a or a nutrient, is below
    zero, and flowing fresh water is not measurably colder than its freezing point, 0
    degC), and every water temperature above :data:`MAX_WATER_TEMPERATURE_C`. The values
    stay as published; the monitoring stage leaves them out of its assessments.

    Parameters
    ----------
    param
        Parameter code of the column (``"temperature"``, ``"SS"``, ...).
    num
        Its values (NaN where not numeric).

    Returns
    -------
    pandas.Series
        True where the value is flagged.
    """
    too_warm = (param == "temperature") & (num > MAX_WATER_TEMPERATURE_C)
    return (num < 0) | too_warm


def monitoring(b: Builder) -> None:
    """Write the Thames Initiative stations and observations.

    Parameters
    ----------
    b
        Builder.
    """
    sites = pd.read_csv(
        b.src / "supplements/thames_sites/thames_initiative_sites.csv", dtype={"nrfa_id": str}
    )
    sites["site_name"] = sites["site_name"].str.strip()
    sites = sites.drop_duplicates("site_code")
    status = np.select(
        [sites["lat"].notna(), sites["nrfa_lat"].notna()],
        ["gauge_proxy", "nearby_gauge_proxy"],
        "unlocated",
    )
    lon = sites["lon"].fillna(sites["nrfa_lon"]).round(6)
    lat = sites["lat"].fillna(sites["nrfa_lat"]).round(6)
    nrfa_id = sites["nrfa_id"].fillna("").str.replace(r"\.0$", "", regex=True)
    gauge = np.where(nrfa_id != "", "NRFA " + nrfa_id + " " + sites["nrfa_name"].fillna(""), "")
    st = pd.DataFrame(
        {
            "station_id": sites["site_code"],
            "name": sites["site_name"],
            "lon": lon.where(status != "unlocated"),
            "lat": lat.where(status != "unlocated"),
            "location_status": status,
            "source": "UKCEH Thames Initiative; location = "
            + pd.Series(
                np.where(
                    status == "unlocated", "not found", "NRFA gauge (proxy, not the sampling point)"
                ),
                index=sites.index,
            ),
            "eidc_code": sites["eidc_code"],
            "proxy_gauge": gauge,
        }
    )
    # NRFA catchment area of the proxy gauge, where the NRFA extract has it: lets the
    # monitoring stage snap a gauge to the stream whose drained area matches
    nrfa = pd.read_csv(
        b.src / "supplements/thames_network_dem/dem_delineation_check_vs_nrfa.csv",
        dtype={"nrfa_id": str},
    ).set_index("nrfa_id")["nrfa_area_km2"]
    st["proxy_gauge_area_km2"] = nrfa_id.map(nrfa).where(status != "unlocated").to_numpy()
    b.facts["thames_station_areas"] = int(st["proxy_gauge_area_km2"].notna().sum())
    b.facts["thames_station_status"] = st["location_status"].value_counts().to_dict()
    b.write_csv(
        "monitoring/thames_stations.csv",
        st,
        ["thames_sites", "nrfa"],
        "one row per site code (the trailing-space 'Sonning' variant merged); lon/lat = "
        "same-name NRFA gauge (gauge_proxy) or nearest-named gauge on the same river "
        "(nearby_gauge_proxy, offsets of km), empty when unlocated; proxy_gauge_area_km2 = "
        "NRFA catchment area of that gauge (from dem_delineation_check_vs_nrfa.csv), "
        "where listed",
        crs="EPSG:4326",
    )

    raw = pd.read_csv(
        b.src / "monitoring/thames/ceh_thames_initiative_2009_2017_weekly.csv", dtype=str
    )
    date = pd.to_datetime(raw["Sampling Date"], format="%d/%m/%Y")
    tod = raw["Time of sampling"].fillna("").str.strip()
    ok_time = tod.str.fullmatch(r"\d{1,2}:\d{2}")
    time = date.dt.strftime("%Y-%m-%d")
    time = time.where(~ok_time, time + "T" + tod.str.zfill(5))
    frames = []
    dropped = 0
    for col, (param, unit, factor) in THAMES_PARAMS.items():
        text = raw[col].fillna("").str.strip()
        below = text.str.startswith("<")
        num = pd.to_numeric(text.str.lstrip("<").str.strip(), errors="coerce")
        dropped += int(((text != "") & num.isna()).sum())
        m = num.notna()
        flag = pd.Series(np.where(below, "<", ""), index=raw.index)
        # values kept as published; physically impossible ones are flagged, not changed
        flag = flag.where(~implausible(param, num), "implausible_in_source")
        frames.append(
            pd.DataFrame(
                {
                    "station_id": raw.loc[m, "Thames Initiative site code"],
                    "time": time[m],
                    "parameter": param,
                    "value": (num[m] * factor).round(6),
                    "unit": unit,
                    "flag": flag[m],
                }
            )
        )
    obs = pd.concat(frames, ignore_index=True).sort_values(["station_id", "time", "parameter"])
    b.facts["thames_obs"] = (len(obs), dropped)
    flagged = obs[obs["flag"] == "implausible_in_source"]
    b.facts["thames_implausible"] = len(flagged)
    # (parameter, unit, flagged values) in the order of THAMES_PARAMS, for the README
    b.facts["thames_implausible_by"] = [
        (param, unit, sorted(flagged.loc[flagged["parameter"] == param, "value"].tolist()))
        for param, unit, _ in THAMES_PARAMS.values()
        if (flagged["parameter"] == param).any()
    ]
    b.write_csv(
        "monitoring/thames_observations.csv",
        obs,
        ["thames_initiative"],
        "wide -> long; 14 columns mapped to codes and converted (see 'Parameter "
        "mapping'); '<x' -> value x, flag '<'; time = sampling date + time (local)",
    )
