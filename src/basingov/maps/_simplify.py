"""Topology-preserving simplification and compact GeoJSON for size-budgeted maps."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "compact_json",
    "coordinate_digits",
    "feature_collection",
    "feature_texts",
    "simplify_coverage",
    "simplify_lines",
]

logger = logging.getLogger(__name__)


class _NotACoverage(Exception):
    """Polygons overlap: not a coverage."""


def simplify_coverage(
    gdf: gpd.GeoDataFrame, tolerance_m: float, *, by: str | None = "level_name"
) -> gpd.GeoDataFrame:
    """Simplify polygons as a coverage: a border shared by two neighbours stays shared.

    Each group of ``by`` (one administrative level) is simplified with
    :func:`shapely.coverage_simplify`, which simplifies every shared edge once, so
    neighbours keep a common border with neither gaps nor overlaps (the TopoJSON idea).
    A group that is not a valid coverage (overlapping polygons) falls back to
    :func:`shapely.simplify` with ``preserve_topology=True`` per polygon.

    Parameters
    ----------
    gdf
        Polygons in a projected CRS (metres).
    tolerance_m
        Douglas-Peucker-like tolerance in metres; 0 returns a copy.
    by
        Column whose groups form one coverage each; None for one group.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with simplified geometries, same rows and order.

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    ...                      crs="EPSG:3035")
    >>> out = simplify_coverage(g, 100.0, by=None)
    >>> bool(out.geometry.iloc[0].intersection(out.geometry.iloc[1]).length == 1000)
    True
    """
    out = gdf.copy()
    if tolerance_m <= 0 or out.empty:
        return out
    groups = [out.index] if by is None or by not in out.columns else out.groupby(by).groups.values()
    geoms = out.geometry.to_numpy().copy()
    pos = pd.Series(np.arange(len(out)), index=out.index)
    for idx in groups:
        p = pos.loc[idx].to_numpy()
        part = geoms[p]
        try:
            if not shapely.coverage_is_valid(part):
                raise _NotACoverage
            simple = shapely.coverage_simplify(part, tolerance_m, simplify_boundary=True)
        except (_NotACoverage, shapely.errors.GEOSException) as exc:
            # GEOS refuses some coverages (e.g. slivers that collapse to one point)
            logger.info("coverage simplification not possible (%r); per polygon instead", exc)
            simple = shapely.simplify(part, tolerance_m, preserve_topology=True)
        geoms[p] = simple
    out[out.geometry.name] = geoms
    return out


def simplify_lines(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplify lines keeping their end points, so a river network stays connected.

    Examples
    --------
    >>> from shapely import LineString
    >>> g = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (500, 1), (1000, 0)])],
    ...                      crs="EPSG:3035")
    >>> len(simplify_lines(g, 10.0).geometry.iloc[0].coords)
    2
    """
    out = gdf.copy()
    if tolerance_m > 0 and not out.empty:
        out[out.geometry.name] = shapely.simplify(
            out.geometry.to_numpy(), tolerance_m, preserve_topology=True
        )
    return out


def coordinate_digits(tolerance_m: float) -> int:
    """Decimal places of degrees that keep a quarter of the tolerance (5 to 6 digits max).

    One degree of latitude is about 111 km, so 5 decimals are about 1 m.

    Examples
    --------
    >>> coordinate_digits(0), coordinate_digits(100), coordinate_digits(2000)
    (6, 4, 3)
    """
    if tolerance_m <= 0:
        return 6
    return int(min(6, max(2, math.ceil(-math.log10(tolerance_m / 4 / 111_000)))))


def _clean_float(f: float) -> float | None:
    """6 significant digits; NaN and inf become None (JSON has neither)."""
    return float(f"{f:.6g}") if math.isfinite(f) else None


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return _clean_float(float(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NA or v is None:
        return None
    return v


def feature_collection(
    gdf: gpd.GeoDataFrame,
    properties: Sequence[str] | None = None,
    *,
    digits: int = 5,
) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection in WGS84 with rounded coordinates and plain values.

    Parameters
    ----------
    gdf
        Any CRS; reprojected to EPSG:4326. Empty geometries are dropped.
    properties
        Columns to keep (default: none); floats keep 6 significant digits, NaN -> null.
    digits
        Decimal places of the coordinates.

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"v": [1.23456789]}, geometry=[Point(7.123456789, 47.5)],
    ...                      crs="EPSG:4326")
    >>> fc = feature_collection(g, ["v"], digits=3)
    >>> fc["features"][0]["geometry"]["coordinates"], fc["features"][0]["properties"]
    ([7.123, 47.5], {'v': 1.23457})
    """
    geoms, records = _features(gdf, properties, digits)
    # GEOS writes the rounded coordinates in their shortest form, several times faster
    # than shapely.geometry.mapping
    texts = shapely.to_geojson(geoms).tolist() if len(geoms) else []
    features = [
        {"type": "Feature", "geometry": json.loads(text), "properties": rec}
        for text, rec in zip(texts, records, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def feature_texts(
    gdf: gpd.GeoDataFrame,
    properties: Sequence[str] | None = None,
    *,
    digits: int = 5,
) -> list[str]:
    """Return the compact JSON text of each feature of :func:`feature_collection`.

    The text :func:`compact_json` writes of each feature, made without parsing the
    GeoJSON of points and lines into objects and writing them again (most of the work of
    encoding a large layer, see :func:`_geometry_texts`).

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"v": [1.23456789]}, geometry=[Point(7.123456789, 47.5)],
    ...                      crs="EPSG:4326")
    >>> feature_texts(g, ["v"], digits=3)
    ['{"type":"Feature","geometry":{"type":"Point","coordinates":[7.123,47.5]},"properties":{"v":1.23457}}']
    """
    geoms, records = _features(gdf, properties, digits)
    return [
        f'{{"type":"Feature","geometry":{text},"properties":{compact_json(rec)}}}'
        for text, rec in zip(_geometry_texts(geoms), records, strict=True)
    ]


def compact_json(obj: Any) -> str:
    """Return the compact JSON text of ``obj`` (no spaces, text as is), as a map page holds it.

    Examples
    --------
    >>> compact_json({"a": [1, 2.5], "b": "é"})
    '{"a":[1,2.5],"b":"é"}'
    """
    return _COMPACT.encode(obj)


#: One encoder for every text: json.dumps with options builds a new one on each call,
#: most of the time of encoding a small feature's properties.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


#: Shapely type ids of the geometries whose GeoJSON :func:`_geometry_texts` writes itself.
_POINT, _LINE = 0, 1


def _geometry_texts(geoms: np.ndarray) -> list[str]:
    """Return each geometry's GeoJSON as ``compact_json(json.loads(shapely.to_geojson(g)))``.

    That is GEOS's text with the numbers written by Python: GEOS's shortest-digits writer
    gives 17 significant digits for some numbers that fewer digits round-trip. Points and
    lines of finite x, y (most features of a map) are written by ``json`` from their
    coordinates, the numbers GEOS's text round-trips to, without parsing that text.
    """
    if not len(geoms):
        return []
    kind = shapely.get_type_id(geoms)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    count = np.bincount(index, minlength=len(geoms))
    finite = np.bincount(index, np.isfinite(coords).all(axis=1), minlength=len(geoms)) == count
    own = np.isin(kind, (_POINT, _LINE)) & finite & ~shapely.has_z(geoms)
    others = iter(shapely.to_geojson(geoms[~own]).tolist())
    parts = np.split(coords, np.cumsum(count)[:-1])
    out = []
    for k, mine, xy in zip(kind.tolist(), own.tolist(), parts, strict=True):
        if not mine:
            out.append(compact_json(json.loads(next(others))))
        elif k == _POINT:
            out.append(f'{{"type":"Point","coordinates":{compact_json(xy[0].tolist())}}}')
        else:
            out.append(f'{{"type":"LineString","coordinates":{compact_json(xy.tolist())}}}')
    return out


def _features(
    gdf: gpd.GeoDataFrame, properties: Sequence[str] | None, digits: int
) -> tuple[np.ndarray, Iterator[dict[str, Any]]]:
    """Return the non-empty geometries (WGS84, rounded) and the properties of each."""
    g = gdf if gdf.crs is None or gdf.crs.to_epsg() == 4326 else gdf.to_crs("EPSG:4326")
    keep = ~(g.geometry.isna() | g.geometry.is_empty)
    g = g[keep]
    geoms = shapely.transform(g.geometry.to_numpy(), lambda c: np.round(c, digits))
    cols = list(properties or [])
    values = [_clean_column(g[c]) for c in cols] if len(set(cols)) == len(cols) else [None]
    records: Iterator[dict[str, Any]]
    if not cols:
        records = ({} for _ in range(len(g)))
    elif all(v is not None for v in values):
        records = (dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True))
    else:
        records = (
            {k: _clean(v) for k, v in rec.items()} for rec in g[cols].to_dict(orient="records")
        )
    return geoms, records


def _clean_column(s: pd.Series) -> list[Any] | None:
    """Return ``[_clean(v) for v in s]`` as ``to_dict`` gives them, or None for other types.

    A whole column at once: float64 (6 significant digits, NaN and inf -> None), integer
    and bool columns, text (missing -> None) and objects (each value cleaned).
    """
    dtype = s.dtype
    if dtype == np.float64:
        return [_clean_float(f) for f in s.to_numpy().tolist()]
    if dtype == np.bool_ or (isinstance(dtype, np.dtype) and dtype.kind in "iu"):
        return s.to_numpy().tolist()
    if isinstance(dtype, pd.StringDtype):
        text = s.to_numpy(dtype=object, copy=True)
        text[s.isna().to_numpy()] = None
        return text.tolist()
    if dtype == np.dtype(object):
        return [_clean(v) for v in s.to_numpy().tolist()]
    return None
