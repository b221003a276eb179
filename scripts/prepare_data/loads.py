"""Load inputs: population grids, land cover, admin populations, UWWTD plants, coefficients.

Writes everything under ``loads/``.
"""

from __future__ import annotations

import pandas as pd
import shapely

from .common import Builder
from .literature import LITERATURE


def write(b: Builder, basins: dict[str, shapely.Geometry]) -> None:
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
