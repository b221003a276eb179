"""Helpers shared by the network builders: CRS checks, projection, line clean-up, snapping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from basingov._checks import require_columns
from basingov.errors import CRSError, InputError
from basingov.network.hydrology import GIVEN_DISCHARGE


# ----------------------------------------------------------------------------------------
# shared helpers
# ----------------------------------------------------------------------------------------
def _project(gdf: gpd.GeoDataFrame, crs: CRS, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{what} must be a GeoDataFrame, got {type(gdf).__name__}"
        raise InputError(msg)
    if gdf.crs is None:
        msg = f"{what} has no CRS; set it first, e.g. gdf.set_crs('EPSG:4326')"
        raise CRSError(msg)
    if len(gdf) == 0:
        msg = f"{what} is empty: no features to build a network from"
        raise InputError(msg)
    missing_geom = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing_geom.any():
        msg = (
            f"{what} has {int(missing_geom.sum())} feature(s) without geometry at row(s) "
            f"{np.flatnonzero(missing_geom.to_numpy())[:20].tolist()}"
        )
        raise InputError(msg)
    _finite(gdf, what, "")
    out = gdf.to_crs(crs).reset_index(drop=True)
    _finite(out, what, f" after projecting to {crs.to_string()} (outside the area it covers?)")
    return out


def _finite(gdf: gpd.GeoDataFrame, what: str, when: str) -> None:
    """Refuse NaN or infinite vertices, which would silently drop or break a reach."""
    coords, idx = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        rows = np.unique(idx[bad])
        msg = (
            f"{what} has non-finite (NaN or infinite) coordinates{when} in {rows.size} "
            f"feature(s), row(s) {rows[:20].tolist()}; fix or drop those vertices"
        )
        raise InputError(msg)


def _input_layer(
    gdf: gpd.GeoDataFrame,
    target: CRS,
    columns: list[str | None],
    what: str,
    *,
    name_column: str | None,
    lines: bool,
) -> gpd.GeoDataFrame:
    """Check a builder's input layer and project it to ``target``.

    ``columns`` must be present (None entries are skipped). With ``lines``, only
    (Multi)LineStrings are accepted, merged and exploded (:func:`_lines_only`).
    ``name_column`` is copied to ``name``.
    """
    require_columns(gdf, columns, what=what)
    g = _project(gdf, target, what)
    if lines:
        g = _lines_only(g, what)
    return _name_col(g, name_column)


def _lines_only(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Merge multi-part lines where possible, then explode; keep the source row number."""
    types = set(gdf.geom_type.unique())
    bad = types - {"LineString", "MultiLineString"}
    if bad:
        msg = f"{what} must hold (Multi)LineStrings, got {sorted(bad)}"
        raise InputError(msg)
    g = gdf.copy()
    g["source_row"] = np.arange(len(g))
    multi = g.geom_type == "MultiLineString"
    if multi.any():
        g.loc[multi, g.geometry.name] = shapely.line_merge(g.geometry[multi].to_numpy())
    g = g.explode(index_parts=False).reset_index(drop=True)
    g = g[g.geom_type == "LineString"]
    return g[g.geometry.length > 0].reset_index(drop=True)


def _cluster_points(xy: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Label points so that points within ``tolerance_m`` (transitively) share a label."""
    n = xy.shape[0]
    if tolerance_m <= 0:
        _, lab = np.unique(xy, axis=0, return_inverse=True)
        return np.asarray(lab, dtype=np.int64).ravel()
    pairs = cKDTree(xy).query_pairs(tolerance_m, output_type="ndarray")
    g = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, lab = csgraph.connected_components(g, directed=False)
    return lab.astype(np.int64)


def _points_within(
    tree: shapely.STRtree, polys: np.ndarray, points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the pairs of ``tree.query(points, predicate="within")``, in its order.

    ``tree`` holds ``polys``. The query tests each point against the whole polygon; here
    the boxes come first and the point-in-polygon test then runs on the prepared polygons
    (large catchments), in a quarter of the time. ``polys`` are prepared in place.
    """
    ri, ci = tree.query(points)
    shapely.prepare(polys)
    inside = shapely.contains(polys[ci], points[ri])
    return ri[inside], ci[inside]


def _endpoints(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    last = shapely.get_coordinates(shapely.get_point(lines, -1))
    return first, last


def _name_col(g: gpd.GeoDataFrame, name_column: str | None) -> gpd.GeoDataFrame:
    if name_column is not None and name_column != "name":
        g = g.rename(columns={name_column: "name"})
    return g


def _measured_discharge(g: pd.DataFrame, column: str | None, what: str) -> np.ndarray | None:
    """Measured discharge (m³/s) from ``column``; negative values (nodata, e.g. -9999) are NaN."""
    if column is None:
        return None
    col = g[column]
    if not pd.api.types.is_numeric_dtype(col):
        msg = f"{what}: discharge_column {column!r} must be numeric (m3/s), got dtype {col.dtype}"
        raise InputError(msg)
    q = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(q >= 0, q, np.nan)


def _set_discharge(table: pd.DataFrame, q: np.ndarray | None) -> None:
    """Write the network's discharge into ``discharge_m3s`` and say where it came from."""
    if q is None:
        return
    table["discharge_m3s"] = q
    table["discharge_source"] = np.where(np.isnan(q), "estimated", GIVEN_DISCHARGE)


def _source_ids_aside(table: pd.DataFrame) -> pd.DataFrame:
    """Rename a layer's own ``reach_id``/``downstream_id`` to ``<name>_source``.

    The builder writes the network's ids under those names; a layer that already has them
    (e.g. a network written out before, read back without ``id_column``) keeps its values
    beside them instead of clashing.
    """
    clash = {c: f"{c}_source" for c in ("reach_id", "downstream_id") if c in table.columns}
    return table.rename(columns=clash) if clash else table


def _check_tolerance(tolerance_m: float) -> None:
    if not tolerance_m >= 0:
        msg = f"tolerance_m must be >= 0 metres, got {tolerance_m}"
        raise InputError(msg)
