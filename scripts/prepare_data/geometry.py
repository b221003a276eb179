"""Geometry helpers shared by the basin modules: reading, clipping, areas and stock layers.

Everything here works in EPSG:4326; areas are computed in the equal-area CRS
:data:`~prepare_data.common.EQUAL_AREA` and buffers in the basin's projected CRS.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .common import CLIP_BUFFER_M, EQUAL_AREA, MIN_PART_KM2, Builder

#: Folder of the Natural Earth GeoJSON files, relative to the source folder.
NE = "geodata/global/natural_earth"


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


def buffered(geom: shapely.Geometry, crs: str, metres: float = CLIP_BUFFER_M) -> shapely.Geometry:
    """Buffer an EPSG:4326 geometry by a distance in metres, computed in a projected CRS.

    Parameters
    ----------
    geom
        Geometry in EPSG:4326.
    crs
        Projected CRS of the basin (its module's ``PROJECTED_CRS``).
    metres
        Buffer distance.

    Returns
    -------
    shapely.Geometry
        Buffered geometry in EPSG:4326.
    """
    s = gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(crs).buffer(metres)
    return s.to_crs("EPSG:4326").iloc[0]


def basin_frame(
    geom: shapely.Geometry,
    name: str,
    source: str,
    *,
    derived: bool,
    published: tuple[float, str],
) -> gpd.GeoDataFrame:
    """Build the one-row ``basin`` layer.

    Parameters
    ----------
    geom
        Basin polygon in EPSG:4326.
    name
        Display name.
    source
        Free text naming the source or the derivation.
    derived
        Whether the polygon is derived rather than an official/mapped boundary.
    published
        Published basin area (km2) and its source (the basin module's ``PUBLISHED_AREA``).

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
    pub, pub_src = published
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
        Columns ``jur_id, name, level, level_name, parent_id, area_km2, ...``. The name
        columns (:func:`is_name_column`) are stripped of leading and trailing whitespace,
        which some sources carry (GISCO NUTS 2024 names ``"Meuse "``); the values changed
        are listed in ``attrs["names_stripped"]`` for :func:`stripped_names_text`.

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
    stripped = []
    for col in [c for c in out.columns if is_name_column(c)]:
        text = out[col].map(lambda v: v.strip() if isinstance(v, str) else v)
        changed = out[col].notna() & out[col].ne(text)
        stripped += [
            (j, col, v)
            for j, v in zip(out.loc[changed, "jur_id"], out.loc[changed, col], strict=True)
        ]
        out.loc[changed, col] = text[changed]
    out.attrs["names_stripped"] = stripped
    return out


def is_name_column(column: str) -> bool:
    """Whether a jurisdictions column holds names (``name``, ``name_*``, ``*_name``).

    Parameters
    ----------
    column
        Column name.

    Returns
    -------
    bool
        True for ``name``, ``name_native``, ``name_zh``, ``state_name``, ``level_name``...
    """
    return column == "name" or column.startswith("name_") or column.endswith("_name")


def stripped_names_text(jur: gpd.GeoDataFrame) -> str:
    """Describe the names :func:`jurisdiction_frame` stripped, for a file's 'changes' text.

    Parameters
    ----------
    jur
        A layer from :func:`jurisdiction_frame` (its ``attrs["names_stripped"]``).

    Returns
    -------
    str
        ``"; leading/trailing whitespace removed from the source's names of <jur_id>
        <name as in the source> (<columns>), ..."``, or ``""`` when no name was changed.
    """
    columns: dict[tuple[str, str], list[str]] = {}
    for jur_id, col, value in jur.attrs["names_stripped"]:
        columns.setdefault((jur_id, value), []).append(col)
    if not columns:
        return ""
    return "; leading/trailing whitespace removed from the source's names of " + ", ".join(
        f"{jur_id} {value!r} ({', '.join(cols)})" for (jur_id, value), cols in columns.items()
    )


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
