"""Load inputs: population grids, land cover, admin populations, UWWTD plants, coefficients.

Writes everything under ``loads/``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window

from .common import Builder
from .fetched import gpw_table, modis_global
from .literature import LITERATURE

#: Cell size of the MCD12C1 grid (degrees).
MODIS_CELL = 0.05
#: Cell size of the GPW v4 table of rmap (degrees).
GPW_CELL = 0.5
#: What the shipped population grids' bands hold (their descriptions are pop_count_<year>).
GPW_BANDS = "4 bands = 2000, 2005, 2010, 2015 persons per 0.5 deg cell"


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
        _population(b, basin, basins[basin])
        _landcover(b, basin, basins[basin])
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


def _population(b: Builder, basin: str, polygon: shapely.Geometry) -> None:
    """Write a basin's population grid: the shared window, grown to cover the basin.

    Where the shared box holds the basin's bounds, it is copied byte for byte. Otherwise
    the box grows to the bounds snapped outward to the 0.5 deg grid, and the cells are
    taken from rmap's global GPW v4 table (:func:`fetched.gpw_table`), after checking that
    the table holds the shared window's cells unchanged. The grown grid is written the way
    the shared copies were (same profile, data, then the file's tags, then the band
    descriptions), so that its bytes are the same on every rebuild.
    """
    src_rel = f"loads/population_grid/gpw4_popcount_0p5deg_2000_2015_{basin}.tif"
    rel = f"loads/{basin}_gpw4_popcount_0p5deg.tif"
    with rasterio.open(b.src / src_rel) as shared:
        box = shared.bounds
        profile = shared.profile.copy()
        cells = shared.read()
        tags = shared.tags()
        descriptions = shared.descriptions
    grown = _grown_box(tuple(box), polygon, GPW_CELL)
    if grown is None:
        b.copy(src_rel, rel, ["gpw"], f"renamed byte copy; {GPW_BANDS}", "EPSG:4326")
        return
    years = [re.fullmatch(r"pop_count_(\d{4})", d or "") for d in descriptions]
    if not all(years):
        msg = f"{src_rel}: band descriptions {descriptions} are not pop_count_<year>"
        raise RuntimeError(msg)
    table = gpw_table(b.cache)
    band_years = [m.group(1) for m in years if m]
    nodata = profile["nodata"]
    if not np.array_equal(_gpw_cells(table, tuple(box), band_years, nodata), cells):
        msg = f"{src_rel} is not the window {tuple(box)} of rmap's GPW table: check its source"
        raise RuntimeError(msg)
    data = _gpw_cells(table, grown, band_years, nodata)
    height, width = data.shape[1:]
    transform = Affine(GPW_CELL, 0.0, grown[0], 0.0, -GPW_CELL, grown[3])
    profile.update(width=width, height=height, transform=transform)
    profile.update(blockxsize=width, blockysize=height)  # one strip, as the shared copies
    # AREA_OR_POINT is the GeoTIFF's raster type, written from the profile; set again as a
    # tag it would also land in the file's GDAL metadata and change its bytes
    file_tags = {k: v for k, v in tags.items() if k != "AREA_OR_POINT"}

    def fill(dst: Any) -> None:
        dst.write(data)
        dst.update_tags(**file_tags)
        for i, text in enumerate(descriptions, 1):
            dst.set_band_description(i, text)

    _write_tif(b.target(rel), profile, fill)
    added = int(data[0].size - cells[0].size)
    people = float(data[-1][data[-1] != nodata].sum() - cells[-1][cells[-1] != nodata].sum())
    b.facts[f"{basin}_population_grown"] = (grown, added, round(people))
    x0, y0, x1, y1 = shapely.bounds(polygon).tolist()
    row, col = round((grown[3] - box.top) / GPW_CELL), round((box.left - grown[0]) / GPW_CELL)
    b.record(
        rel,
        ["gpw"],
        f"the shared box ({box.left:g}..{box.right:g} E, {box.bottom:g}..{box.top:g} N) ends "
        f"inside the basin ({x0:.2f}..{x1:.2f} E, {y0:.2f}..{y1:.2f} N): grown to "
        f"{grown[0]:g}..{grown[2]:g} E, {grown[1]:g}..{grown[3]:g} N ({added} more cells, "
        f"holding {people:,.0f} people in {band_years[-1]}) from the global table of the same "
        f"rmap file (sha256-checked; the shared cells sit unchanged at row {row}, column "
        f"{col}); {GPW_BANDS}, nodata {nodata:g}",
        "EPSG:4326",
    )


def _gpw_cells(
    table: pd.DataFrame, bounds: tuple[float, ...], years: list[str], nodata: float
) -> np.ndarray:
    """Return the GPW table's cells within ``bounds`` as a (year, row, column) float32 grid.

    ``bounds`` (left, bottom, right, top) lie on the 0.5 deg grid; cells the table lacks
    (ocean, no data) are ``nodata``.
    """
    left, bottom, right, top = bounds
    width, height = round((right - left) / GPW_CELL), round((top - bottom) / GPW_CELL)
    out = np.full((len(years), height, width), nodata, dtype=np.float32)
    for i, year in enumerate(years):
        t = table[table["x"] == year]
        col = np.floor((t["lon"].to_numpy() - left) / GPW_CELL).astype(int)
        row = np.floor((top - t["lat"].to_numpy()) / GPW_CELL).astype(int)
        inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
        flat = row[inside] * width + col[inside]
        if len(np.unique(flat)) != len(flat):
            msg = f"rmap's GPW table holds a cell twice in {bounds} for {year}"
            raise RuntimeError(msg)
        out[i].flat[flat] = t["value"].to_numpy()[inside].astype(np.float32)
    return out


def _grown_box(
    box: tuple[float, ...], polygon: shapely.Geometry, cell: float
) -> tuple[float, float, float, float] | None:
    """Return ``box`` grown to ``polygon``'s bounds snapped outward to ``cell``, or None.

    None when the box (left, bottom, right, top) already holds the polygon's bounds.
    """
    x0, y0, x1, y1 = shapely.bounds(polygon).tolist()
    left, bottom, right, top = box
    if left <= x0 and bottom <= y0 and right >= x1 and top >= y1:
        return None

    def snap(v: float, up: bool) -> float:
        n = v / cell
        return round((math.ceil(n - 1e-9) if up else math.floor(n + 1e-9)) * cell, 6)

    return (
        min(left, snap(x0, False)),
        min(bottom, snap(y0, False)),
        max(right, snap(x1, True)),
        max(top, snap(y1, True)),
    )


def _write_tif(path: Path, profile: dict[str, Any], fill: Callable[[Any], None]) -> None:
    """Write a GeoTIFF under a temporary name, ``fill`` writing its contents, then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            fill(dst)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _landcover(b: Builder, basin: str, polygon: shapely.Geometry) -> None:
    """Write a basin's land-cover raster: the shared window, grown to cover the basin.

    Where the shared box holds the basin's bounds, it is copied byte for byte. Otherwise
    the box grows to the bounds snapped outward to the grid, and the cells are read from
    the global grid (:func:`fetched.modis_global`), after checking that the global grid
    holds the shared window's cells unchanged.
    """
    src_rel = f"loads/landcover/mcd12c1_2019_igbp_0p05deg_{basin}.tif"
    rel = f"loads/{basin}_mcd12c1_2019_igbp_0p05deg.tif"
    with rasterio.open(b.src / src_rel) as shared:
        box = shared.bounds
        profile = shared.profile.copy()
        cells = shared.read(1)
    x0, y0, x1, y1 = shapely.bounds(polygon).tolist()
    grown = _grown_box(tuple(box), polygon, MODIS_CELL)
    if grown is None:
        b.copy(src_rel, rel, ["modis"], "renamed byte copy; IGBP classes, nodata 255", "EPSG:4326")
        return
    with rasterio.open(modis_global(b.cache)) as world:
        old = _window(world.transform, tuple(box))
        if not np.array_equal(world.read(1, window=old), cells):
            msg = f"{src_rel} is not the global MCD12C1 grid's window {old}: check its source"
            raise RuntimeError(msg)
        win = _window(world.transform, grown)
        data = world.read(1, window=win)
        t = world.transform
        transform = Affine(t.a, 0.0, t.c + win.col_off * t.a, 0.0, t.e, t.f + win.row_off * t.e)
    profile.update(width=data.shape[1], height=data.shape[0], transform=transform)
    profile.pop("blockysize", None)
    profile.pop("blockxsize", None)
    _write_tif(b.target(rel), profile, lambda dst: dst.write(data, 1))
    added = int(data.size - cells.size)
    b.facts[f"{basin}_landcover_grown"] = (tuple(round(v, 2) for v in grown), added)
    col, row = int(old.col_off - win.col_off), int(old.row_off - win.row_off)
    b.record(
        rel,
        ["modis"],
        f"the shared box ({box.left:g}..{box.right:g} E, {box.bottom:g}..{box.top:g} N) ends "
        f"inside the basin ({x0:.2f}..{x1:.2f} E, {y0:.2f}..{y1:.2f} N): grown to "
        f"{grown[0]:g}..{grown[2]:g} E, {grown[1]:g}..{grown[3]:g} N ({added} more cells) "
        f"from the global grid of the same wheel (sha256-checked; the shared cells sit "
        f"unchanged at row {row}, column {col}); IGBP classes, nodata 255",
        "EPSG:4326",
    )


def _window(t: Affine, bounds: tuple[float, ...]) -> Window:
    """Return the whole cells of a north-up grid ``t`` within ``bounds`` (l, b, r, t)."""
    left, bottom, right, top = bounds
    col, row = round((left - t.c) / t.a), round((top - t.f) / t.e)
    return Window(col, row, round((right - left) / t.a), round((bottom - top) / t.e))
