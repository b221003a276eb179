"""Builders for the tiny hand-built basins of the tests (made in code, projected)."""

from __future__ import annotations

import geopandas as gpd
import shapely
from shapely import LineString

#: Projected CRS of every hand-built layer (ETRS89 / LAEA Europe, metres).
CRS = "EPSG:3035"


def line(x0: float, y0: float, x1: float, y1: float) -> LineString:
    """Return a straight two-point line."""
    return LineString([(x0, y0), (x1, y1)])


def reach_table(
    lines: dict[int, tuple[int, list[tuple[float, float]]]], *, crs: str = CRS, **cols: list
) -> gpd.GeoDataFrame:
    """Build reaches from ``{reach_id: (downstream_id, [(x, y), ...])}`` and extra columns."""
    ids = list(lines)
    return gpd.GeoDataFrame(
        {"reach_id": ids, "downstream_id": [lines[i][0] for i in ids], **cols},
        geometry=[LineString(lines[i][1]) for i in ids],
        crs=crs,
    )


def jur_layer(
    rows: list[tuple[str, str, int, str, str, shapely.Geometry]], *, crs: str = CRS
) -> gpd.GeoDataFrame:
    """Build jurisdictions from ``(jur_id, name, level, level_name, parent_id, geom)`` rows."""
    jid, name, level, level_name, parent, geom = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"jur_id": jid, "name": name, "level": level, "level_name": level_name,
         "parent_id": parent},
        geometry=list(geom),
        crs=crs,
    )  # fmt: skip
