"""Checks of input layers shared by ``basingov validate`` and ``basingov run``.

Both commands call the same functions, so a run refuses every input that ``validate``
flags: :func:`check_layer` (any vector layer), :func:`jurisdiction_problems` (the
jurisdiction layer: ids, levels, parents, overlaps) and :func:`basin_problems` (the basin
polygon). Each returns a list of problems (empty if none) naming ids and the fix.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._filters import apply_filter
from basingov.errors import ConfigError

__all__ = [
    "MIN_BASIN_COVER",
    "MIN_INSIDE_PARENT",
    "OVERLAP_TOLERANCE",
    "basin_jurisdiction_problems",
    "basin_problems",
    "check_layer",
    "coordinate_problems",
    "jurisdiction_problems",
    "network_layer_problems",
]

#: Largest overlap of two jurisdictions of one level, as a share of the smaller one's area,
#: accepted as digitising noise (the shipped layers overlap by exactly 0).
OVERLAP_TOLERANCE = 1e-3
#: Smallest share of a unit's area inside the unit its ``parent_id`` names (the shipped
#: layers: 0.9986 or more); below it the parent is probably the wrong one.
MIN_INSIDE_PARENT = 0.5
#: Smallest share of the basin polygon the coarsest level's units must cover; below it
#: the layers do not describe the same place (a CRS or extent mistake), and every share
#: would go to the area outside all units.
MIN_BASIN_COVER = 0.01


def _blank(s: pd.Series) -> np.ndarray:
    """Return True where a value is missing or blank text."""
    return (s.isna() | s.astype(str).str.strip().isin(["", "nan", "None", "<NA>"])).to_numpy()


def coordinate_problems(gdf: gpd.GeoDataFrame, *, key: str = "row") -> list[str]:
    """Non-finite coordinates, and lon/lat out of range in a geographic CRS.

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(7, 47), Point(4.5e5, 5.3e6)], crs=4326)
    >>> coordinate_problems(g)[0].split(" although")[0]
    'coordinates outside lon ±180 / lat ±90 at row [1]'
    """
    geoms = gdf.geometry.to_numpy()
    if len(geoms) == 0:
        return []
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    labels = gdf[key].to_numpy() if key in gdf.columns else np.arange(len(gdf))
    out = []
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        rows = np.unique(idx[bad])
        out.append(
            f"non-finite (NaN or infinite) coordinates at {key} {labels[rows][:10].tolist()}; "
            "fix or drop those vertices"
        )
    crs = gdf.crs
    if crs is not None and crs.is_geographic:
        ok = np.isfinite(coords).all(axis=1)
        far = ok & ((np.abs(coords[:, 0]) > 180.0 + 1e-9) | (np.abs(coords[:, 1]) > 90.0 + 1e-9))
        if far.any():
            rows = np.unique(idx[far])
            out.append(
                f"coordinates outside lon ±180 / lat ±90 at {key} {labels[rows][:10].tolist()} "
                f"although the layer's CRS {crs.to_string()} is geographic; the data are "
                "probably in a projected CRS: set the true CRS (gdf.set_crs(..., "
                "allow_override=True)) and save again"
            )
    return out


def check_layer(
    gdf: gpd.GeoDataFrame,
    *,
    required_columns: Sequence[str] = (),
    id_column: str | None = None,
    geometry_types: Iterable[str] | None = None,
) -> list[str]:
    """Return every problem found in a vector layer (empty list if none).

    Checks: emptiness, missing CRS, missing columns, repeated ids, null/empty or
    invalid geometries, unexpected geometry types, non-finite coordinates and, in a
    geographic CRS, coordinates out of range. Problems name the ids (or row numbers)
    concerned and the fix.

    Examples
    --------
    >>> from shapely.geometry import Polygon
    >>> bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[bowtie], crs="EPSG:3035")
    >>> check_layer(gdf, id_column="id")
    ['1 invalid geometry at id [1]; repair with shapely.make_valid or `ogr2ogr -makevalid`']
    """
    problems: list[str] = []
    if gdf.crs is None:
        problems.append("no CRS; set it with gdf.set_crs(...) or add a .prj file")
    if len(gdf) == 0:
        problems.append("the layer is empty")
        return problems
    missing = [c for c in required_columns if c not in gdf.columns]
    if missing:
        problems.append(
            f"missing column(s) {missing}; available: {[c for c in gdf.columns if c != 'geometry']}"
        )
    if id_column and id_column in gdf.columns:
        labels = gdf[id_column]
        dup = labels[labels.duplicated() & labels.notna()].unique().tolist()
        if dup:
            problems.append(f"repeated {id_column} values {dup[:10]}")
    else:
        labels = pd.Series(np.arange(len(gdf)), index=gdf.index)
    key = id_column if id_column and id_column in gdf.columns else "row"
    geom = gdf.geometry
    null = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    if null.any():
        problems.append(
            f"{int(null.sum())} null or empty geometr{'y' if null.sum() == 1 else 'ies'} at "
            f"{key} {labels[null].tolist()[:10]}"
        )
    problems += coordinate_problems(gdf, key=key)
    valid = geom.is_valid.to_numpy() | null
    if not valid.all():
        n = int((~valid).sum())
        problems.append(
            f"{n} invalid geometr{'y' if n == 1 else 'ies'} at {key} "
            f"{labels[~valid].tolist()[:10]}; "
            "repair with shapely.make_valid or `ogr2ogr -makevalid`"
        )
    if geometry_types is not None:
        allowed = set(geometry_types)
        types = geom[~null].geom_type.unique()  # not set(Series): a walk over Arrow strings
        wrong = sorted(set(types) - allowed)
        if wrong:
            problems.append(f"unexpected geometry type(s) {wrong}; expected {sorted(allowed)}")
    return problems


def jurisdiction_problems(jur: gpd.GeoDataFrame, levels: Sequence[str]) -> list[str]:
    """Problems of a jurisdiction layer beyond :func:`check_layer`.

    Checks: blank ``jur_id`` or ``level_name``; levels of the config absent from the
    layer; levels listed in another order than the layer's ``level`` numbers give them
    (:func:`_level_order_problems`); ``parent_id`` naming no jurisdiction, or one that is
    not of a coarser level; polygons of one level that overlap (by more than
    :data:`OVERLAP_TOLERANCE` of the smaller one), which would count the overlap twice.

    Parameters
    ----------
    jur
        The layer as read (``jur_id, name, level, level_name, parent_id``).
    levels
        ``[boundaries].levels``, coarsest first.

    Returns
    -------
    list of str
    """
    problems: list[str] = []
    if len(jur) == 0 or "jur_id" not in jur.columns or "level_name" not in jur.columns:
        return problems
    blank = _blank(jur["jur_id"])
    if blank.any():
        problems.append(
            f"{int(blank.sum())} jurisdiction(s) without a jur_id (rows "
            f"{np.flatnonzero(blank)[:10].tolist()}, names "
            f"{jur['name'][blank].astype(str).tolist()[:10] if 'name' in jur else []}); every "
            "unit needs its own id, or it would be merged with the area outside all units"
        )
    nolevel = _blank(jur["level_name"])
    if nolevel.any():
        problems.append(
            f"{int(nolevel.sum())} jurisdiction(s) without a level_name: jur_id "
            f"{jur['jur_id'][nolevel].astype(str).tolist()[:10]}"
        )
    present = set(jur["level_name"].dropna().astype(str))
    missing = [lv for lv in levels if lv not in present]
    if missing:
        problems.append(
            f"levels {missing} from [boundaries].levels are absent (layer has {sorted(present)})"
        )
    wanted = {lv.strip().casefold(): lv for lv in levels}
    for other in sorted(present - set(levels)):
        lv = wanted.get(other.strip().casefold())
        if lv is not None:  # other levels are ignored on purpose; this one is a typo
            ids_of = jur.loc[jur["level_name"].astype(str) == other, "jur_id"].astype(str)
            problems.append(
                f"level_name {other!r} of jur_id {ids_of.tolist()[:10]} differs from the "
                f"level {lv!r} of [boundaries].levels only by case or spaces; those units "
                f"would be left out: write {lv!r}"
            )
    if "level" in jur.columns:
        problems += _level_order_problems(jur, levels)
    ids = jur["jur_id"].astype(str)
    rank = {lv: i for i, lv in enumerate(levels)}
    if "parent_id" in jur.columns:
        parents = jur["parent_id"].where(~pd.Series(_blank(jur["parent_id"]), index=jur.index), "")
        parents = parents.astype(str)
        has = parents != ""
        orphan = has & ~parents.isin(set(ids))
        if orphan.any():
            problems.append(
                f"parent_id refers to unknown jurisdictions for jur_id "
                f"{ids[orphan].tolist()[:10]} (parent_id {parents[orphan].tolist()[:10]}); "
                "fix the ids or leave parent_id empty at the coarsest level"
            )
        level_of = dict(zip(ids, jur["level_name"].astype(str), strict=False))
        inverted = [
            i
            for i, p, lv in zip(
                ids[has & ~orphan],
                parents[has & ~orphan],
                jur["level_name"][has & ~orphan].astype(str),
                strict=True,
            )
            if lv in rank and level_of.get(p) in rank and rank[level_of[p]] >= rank[lv]
        ]
        if inverted:
            problems.append(
                f"parent_id of jur_id {inverted[:10]} is not of a coarser level; a parent "
                "must belong to a level listed before its child's in [boundaries].levels"
            )
    # every unit made valid once (a parent is the parent of many children)
    drawn = ~(jur.geometry.isna().to_numpy() | jur.geometry.is_empty.to_numpy())
    valid = jur.geometry.to_numpy().copy()
    valid[drawn] = shapely.make_valid(valid[drawn])
    if "parent_id" in jur.columns:
        problems += _parent_geometry_problems(valid, drawn, ids, parents, has & ~orphan)
    ok = ~blank & ~nolevel & drawn
    for lv in levels:
        sel = ok & (jur["level_name"].astype(str) == lv).to_numpy()
        geoms = valid[sel]
        lids = ids.to_numpy()[sel]
        if geoms.size < 2:
            continue
        a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        # neighbours share a border: only pairs whose interiors meet (DE-9IM, exact
        # predicates) can overlap by an area; the others' intersections are lines or points
        keep = shapely.relate_pattern(geoms[a], geoms[b], "2********")
        a, b = a[keep], b[keep]
        if a.size == 0:
            continue
        inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
        small = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
        bad = inter > OVERLAP_TOLERANCE * np.where(small > 0, small, np.inf)
        if bad.any():
            pairs = [f"{lids[i]}/{lids[j]}" for i, j in zip(a[bad], b[bad], strict=True)]
            problems.append(
                f"{int(bad.sum())} pair(s) of {lv!r} units overlap: {pairs[:10]}; units of one "
                "level must not overlap (their shares would be counted twice); fix the "
                "boundaries, e.g. with a topology-aware simplification (mapshaper)"
            )
    return problems


def _level_order_problems(jur: gpd.GeoDataFrame, levels: Sequence[str]) -> list[str]:
    """Return problems if the layer's ``level`` column orders the configured levels otherwise.

    A run numbers the levels in the order of ``[boundaries].levels`` (coarsest first); a
    layer whose ``level`` column says otherwise (``lad`` listed before ``nuts2``, a
    finer level before the coarser one that contains it) was run with its levels
    silently renumbered. A level name with several numbers is an error of the layer.

    Examples
    --------
    >>> j = gpd.GeoDataFrame({"level": [0, 2, 1], "level_name": ["a", "c", "b"]})
    >>> _level_order_problems(j, ["a", "b", "c"])
    []
    >>> _level_order_problems(j, ["a", "c", "b"])[0].split(":")[0]
    "[boundaries].levels ['a', 'c', 'b'] are not coarsest first"
    """
    number = pd.to_numeric(jur["level"], errors="coerce")
    names = jur["level_name"].astype(str).to_numpy()
    problems: list[str] = []
    numbers: dict[str, float] = {}
    for lv in levels:
        seen = np.unique(number[names == lv].dropna().to_numpy())
        if seen.size > 1:
            problems.append(
                f"level_name {lv!r} has several level numbers "
                f"({', '.join(f'{v:g}' for v in seen)}); give all its units one number in "
                "the level column"
            )
        elif seen.size == 1:
            numbers[lv] = float(seen[0])
    listed = [lv for lv in levels if lv in numbers]
    if any(numbers[a] >= numbers[b] for a, b in itertools.pairwise(listed)):
        ordered = sorted(listed, key=lambda lv: numbers[lv])
        problems.append(
            f"[boundaries].levels {listed} are not coarsest first: the layer's level column "
            f"gives {', '.join(f'{lv} {numbers[lv]:g}' for lv in listed)}; list them as "
            f"{ordered} (or fix the level column)"
        )
    return problems


def _parent_geometry_problems(
    valid: np.ndarray, ok: np.ndarray, ids: pd.Series, parents: pd.Series, has: pd.Series
) -> list[str]:
    """Units lying mostly outside the unit their ``parent_id`` names (balances per parent).

    ``valid`` holds the units' geometries made valid, ``ok`` marks those not missing or
    empty.
    """
    pos = {j: i for i, j in enumerate(ids) if ok[i]}
    child = np.flatnonzero(has.to_numpy() & ok)
    par = np.array([pos.get(p, -1) for p in parents.to_numpy()[child]], dtype=np.int64)
    child, par = child[par >= 0], par[par >= 0]
    if child.size == 0:
        return []
    a = valid[child]
    inside = shapely.area(shapely.intersection(a, valid[par]))
    area = shapely.area(a)
    bad = (area > 0) & (inside < MIN_INSIDE_PARENT * area)
    if not bad.any():
        return []
    pairs = [
        f"{ids.iloc[c]} in {parents.iloc[c]} ({100 * i / ar:.0f}% inside)"
        for c, i, ar in zip(child[bad], inside[bad], area[bad], strict=True)
    ]
    return [
        f"{len(pairs)} unit(s) lie mostly outside the unit their parent_id names: "
        f"{pairs[:10]}; fix parent_id (balances are summed per parent)"
    ]


def basin_jurisdiction_problems(
    basin: gpd.GeoDataFrame, jur: gpd.GeoDataFrame, levels: Sequence[str]
) -> list[str]:
    """Return a problem if the basin polygon and the units describe different places.

    A basin polygon that the coarsest level's units cover for less than
    :data:`MIN_BASIN_COVER` of its area (none at all, typically: another place, or a wrong
    CRS label) would give every share to the area outside all units, with exit 0.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame(geometry=[box(100, 10, 101, 11)], crs=4326)
    >>> j = gpd.GeoDataFrame({"level_name": ["c"]}, geometry=[box(7, 47, 8, 48)], crs=4326)
    >>> basin_jurisdiction_problems(b, j, ["c"])[0].split(" (")[0]
    "the units of level 'c' cover 0% of the basin polygon"
    """
    if not levels or len(basin) == 0 or basin.crs is None or jur.crs is None:
        return []
    top = jur[(jur["level_name"].astype(str) == levels[0]).to_numpy()]
    top = top[top.geometry.notna() & ~top.geometry.is_empty]
    if len(top) == 0:
        return []
    if top.crs != basin.crs:
        top = top.to_crs(basin.crs)
    bpoly = shapely.make_valid(shapely.union_all(basin.geometry.dropna().to_numpy()))
    cover = shapely.make_valid(shapely.union_all(shapely.make_valid(top.geometry.to_numpy())))
    total = shapely.area(bpoly)
    share = shapely.area(shapely.intersection(bpoly, cover)) / total if total > 0 else 1.0
    if share >= MIN_BASIN_COVER:
        return []

    def ext(g: gpd.GeoDataFrame) -> str:
        return "[" + ", ".join(f"{v:.6g}" for v in g.total_bounds) + "]"

    return [
        f"the units of level {levels[0]!r} cover {100 * share:.0f}% of the basin polygon "
        f"(basin extent {ext(basin)}, units {ext(top)} in {basin.crs.to_string()}); the "
        "layers describe different places: check the basin layer and both layers' CRS"
    ]


def basin_problems(basin: gpd.GeoDataFrame) -> list[str]:
    """Problems of the basin layer: :func:`check_layer` plus exactly one polygon.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> basin_problems(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)] * 2, crs=3035))
    ['must hold exactly one polygon, found 2']
    """
    problems = check_layer(basin, geometry_types={"Polygon", "MultiPolygon"})
    if len(basin) != 1:
        problems.append(f"must hold exactly one polygon, found {len(basin)}")
    return problems


#: Options of each vector network builder that name a column of its layer.
_NETWORK_COLUMN_OPTIONS: dict[str, tuple[str, ...]] = {
    "next_down": ("next_down_column", "area_column", "upstream_area_column"),
    "from_to_nodes": ("from_node_column", "to_node_column"),
    "lines_outlet": (),
}
_LINES = {"LineString", "MultiLineString"}
_POLYGONS = {"Polygon", "MultiPolygon"}


def network_layer_problems(
    gdf: gpd.GeoDataFrame, section: Any, *, include_filter: bool = True
) -> list[str]:
    """Problems of the vector layer of a ``[networks.<key>]`` section (empty list if none).

    :func:`check_layer` with every column the section names (``id_column``,
    ``name_column``, ``discharge_column`` and the builder's column options), the geometry
    types the builder reads (lines; for ``next_down`` only lines or only polygons), and,
    with ``include_filter``, the section's ``filter`` applied to the layer (columns it
    names, types it compares, and that it leaves features; the builders apply it
    themselves, raising :class:`~basingov.errors.ConfigError`). ``basingov validate`` and
    the builders call it, so a run refuses whatever validate flags and the reverse.

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> from basingov.config import NetworkSection
    >>> sec = NetworkSection(key="r", builder="lines_outlet", id_column="rid")
    >>> g = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[LineString([(0, 0), (1, 0)]),
    ...     Point(1, 1)], crs=3035)
    >>> network_layer_problems(g, sec)  # doctest: +NORMALIZE_WHITESPACE
    ["missing column(s) ['rid']; available: ['id']",
     "unexpected geometry type(s) ['Point']; expected ['LineString', 'MultiLineString']"]
    """
    opts = section.options
    required = [opts[o] for o in _NETWORK_COLUMN_OPTIONS.get(section.builder, ()) if o in opts]
    required += [c for c in (section.id_column, section.name_column, section.discharge_column) if c]
    lines_only = section.builder in ("lines_outlet", "from_to_nodes")
    problems = check_layer(
        gdf,
        required_columns=list(dict.fromkeys(required)),
        id_column=section.id_column,
        geometry_types=_LINES if lines_only else None,
    )
    if section.builder == "next_down" and len(gdf):
        types = set(gdf.geometry[gdf.geometry.notna()].geom_type)
        if not (types <= _LINES or types <= _POLYGONS):
            problems.append(
                f"mixed geometry types {sorted(types)}; the next_down builder reads only lines "
                "(rivers) or only polygons (sub-catchments)"
            )
    if include_filter and section.filter and len(gdf):
        where = f"[networks.{section.key}].filter"
        try:
            keep = apply_filter(gdf, section.filter, where=where)
        except ConfigError as exc:
            problems.append(str(exc))
        else:
            if not keep.any():
                problems.append(f"{where} {section.filter!r} leaves no features")
    return problems
