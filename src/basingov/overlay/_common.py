"""Shared pieces of the overlay modules: constants, input checks, level lookups."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from basingov._checks import JURISDICTION_COLUMNS, level_names, require_columns
from basingov.errors import CRSError, InputError
from basingov.io import require_projected
from basingov.network import downstream_sum, upstream_sum

if TYPE_CHECKING:
    from numpy.typing import NDArray


#: Jurisdiction id given to river stretches lying outside every jurisdiction of a level.
OUTSIDE = ""

#: A stretch of river in jurisdiction B between two stretches in A (A, B, A along one reach)
#: that is shorter than this is merged back into A, so that a meander looping over a border
#: (or a river wobbling along a border digitised at another scale) does not count as two
#: crossings. 250 m is about the positional accuracy of 1:100k-1:1M boundary and river data
#: (GISCO NUTS 1:1M, CCM2, Natural Earth 10m are all coarser than that).
DEFAULT_MEANDER_TOLERANCE_M = 250.0

#: A river point is *on a border* when the points offset this far (or nearer, at
#: ``BANK_OFFSETS`` of it) to its left and to its right bank fall in different
#: jurisdictions (so the border is at most this far away).
DEFAULT_BORDER_TOLERANCE_M = 500.0

#: Spacing of the sample points used to find boundary reaches (at least 3 per reach).
DEFAULT_SAMPLE_SPACING_M = 250.0

#: Farthest bank offset (m) used to find the pieces that run along a border, for boundary
#: stretches (:func:`mark_boundary_pieces`; the bank points are also taken nearer, at
#: ``BANK_OFFSETS`` of it). Larger than :data:`DEFAULT_BORDER_TOLERANCE_M` because the
#: shipped borders are generalised (GISCO NUTS 1:20M, Natural Earth 10m, GAUL): 0.1 mm at
#: 1:20M is 2 km, and on the Rhine a single 500 m offset found only fragments of the
#: Hochrhein and Oberrhein (41 short stretches, 226 country crossings) where a single 3 km
#: one found them along most of their length (113 country crossings; 109 with the nearer
#: offsets too, 2026-12-06).
DEFAULT_STRETCH_TOLERANCE_M = 3000.0

#: Shortest boundary stretch (m): a river running along a border for less than this (e.g.
#: touching it at a bend) keeps its raw crossings; a border river whose neighbour changes
#: at tri-points is measured over its whole chain of pairs. Twice the stretch tolerance;
#: pieces on either side within half of it (along the river) are taken into a stretch, and
#: interruptions of a pair shorter than half of it are bridged.
DEFAULT_MIN_STRETCH_M = 2 * DEFAULT_STRETCH_TOLERANCE_M

#: Separator of the jurisdiction ids in a ``border_<level>`` piece column (``"A|B"``) and in
#: a ``shared_<level>`` one (``"B|C"``).
BORDER_SEP = "|"

#: Prefix of the piece-table columns ``shared_<level>``: the other unit(s) of the level
#: whose polygon also holds the piece, which lies exactly on their common border
#: (:func:`~basingov.overlay.split_reaches`), ``""`` for none. The boundary-stretch rule
#: counts such a piece on both sides; these columns and the ``shared_name_<level>`` ones
#: are not written to the GeoPackage.
SHARED_PREFIX = "shared_"

#: Prefix of the piece-table working columns ``shared_name_<level>``: the names of the
#: units of ``shared_<level>``, as a JSON object ``{"B": "Bb"}`` (``""`` for none), so that
#: a unit whose only river is a shared border (holding no piece) is named (:func:`_names`).
_SHARED_NAME_PREFIX = f"{SHARED_PREFIX}name_"

#: Shortest gap (m) between two jurisdiction pieces that is reported as an outside piece.
_MIN_GAP_M = 1e-3

#: Polygons with more vertices than this are clipped to a reach's box before intersecting.
_CLIP_MIN_VERTICES = 256

_JUR_COLUMNS = JURISDICTION_COLUMNS
OnEmpty = Literal["raise", "warn", "ignore"]
_ON_EMPTY: tuple[str, ...] = get_args(OnEmpty)


class _NetworkLike(Protocol):
    """What :func:`crossings` needs from a :class:`basingov.network.RiverNetwork`."""

    @property
    def reaches(self) -> gpd.GeoDataFrame: ...

    @property
    def idx_ds(self) -> NDArray[np.int64]: ...


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _require_projected(gdf: gpd.GeoDataFrame, what: str) -> CRS:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"{what} must be a GeoDataFrame, got {type(gdf).__name__}"
        raise InputError(msg)
    if len(gdf) == 0:
        msg = f"{what} is empty (0 rows); pass a layer with at least one feature"
        raise InputError(msg)
    return require_projected(gdf, what=what)


def _same_crs(a: CRS, b: gpd.GeoDataFrame, what_a: str, what_b: str) -> None:
    if not a.equals(CRS.from_user_input(b.crs)):
        msg = (
            f"{what_a} ({a.to_string()}) and {what_b} ({CRS.from_user_input(b.crs).to_string()}) "
            f"are in different CRSs; project one onto the other, e.g. "
            f"{what_b}.to_crs({what_a}.crs)"
        )
        raise CRSError(msg)


def _check_reaches(reaches: gpd.GeoDataFrame) -> CRS:
    crs = _require_projected(reaches, "reaches")
    require_columns(reaches, ["reach_id"], what="reaches")
    types = set(shapely.get_type_id(reaches.geometry.values)) - {1, 5}
    if types:
        bad = reaches["reach_id"][
            ~reaches.geometry.geom_type.isin(["LineString", "MultiLineString"])
        ]
        msg = (
            f"reaches must be (Multi)LineStrings; reach_id {bad.tolist()[:10]} are not. "
            "Drop or repair them before the overlay"
        )
        raise InputError(msg)
    dup = reaches["reach_id"][reaches["reach_id"].duplicated()].unique().tolist()
    if dup:
        msg = f"reaches has repeated reach_id values {dup[:10]}; reach ids must be unique"
        raise InputError(msg)
    # a NaN or infinite vertex makes the length non-finite (cheaper than the coordinates)
    bad = ~np.isfinite(shapely.length(reaches.geometry.to_numpy()))
    if bad.any():
        msg = (
            f"reaches has non-finite (NaN or infinite) coordinates at reach_id "
            f"{reaches['reach_id'][bad].tolist()[:10]}; fix or drop those vertices"
        )
        raise InputError(msg)
    return crs


def _check_jurisdictions(jurisdictions: gpd.GeoDataFrame) -> CRS:
    crs = _require_projected(jurisdictions, "jurisdictions")
    require_columns(jurisdictions, _JUR_COLUMNS, what="jurisdictions")
    problems: list[str] = []
    for col in ("jur_id", "level", "level_name"):
        missing = jurisdictions[col].isna().to_numpy()
        if missing.any():
            where = (
                f"row(s) {np.flatnonzero(missing).tolist()[:10]}"
                if col == "jur_id"
                else f"jur_id {jurisdictions['jur_id'][missing].tolist()[:10]}"
            )
            problems.append(f"missing {col} at {where}; give every jurisdiction a {col}")
    level = pd.to_numeric(jurisdictions["level"], errors="coerce").to_numpy(dtype=float)
    odd = ~np.isnan(level) & (level != np.round(level))
    odd |= np.isnan(level) & jurisdictions["level"].notna().to_numpy()
    if odd.any():
        problems.append(
            f"level values {jurisdictions['level'][odd].unique().tolist()[:10]} are not whole "
            "numbers (level orders the levels: 0 for the coarsest, then 1, 2, ...)"
        )
    dup = jurisdictions["jur_id"][jurisdictions["jur_id"].duplicated()].unique().tolist()
    if dup:
        problems.append(f"repeated jur_id values {dup[:10]} (ids must be unique across levels)")
    if (jurisdictions["jur_id"].astype(str) == OUTSIDE).any():
        problems.append("an empty jur_id ('' is reserved for 'outside every jurisdiction')")
    polygonal = jurisdictions.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        problems.append(
            f"non-polygon geometries for jur_id {jurisdictions['jur_id'][~polygonal].tolist()[:10]}"
        )
    finite = np.isfinite(shapely.area(jurisdictions.geometry.to_numpy()))
    if not (finite | ~polygonal.to_numpy()).all():  # a NaN or infinite vertex
        problems.append(
            "non-finite (NaN or infinite) coordinates at jur_id "
            f"{jurisdictions['jur_id'][~finite & polygonal.to_numpy()].tolist()[:10]}; fix or "
            "drop those vertices"
        )
    per_level = jurisdictions.groupby("level_name")["level"].nunique()
    if (per_level > 1).any():
        problems.append(
            f"level_name values {per_level[per_level > 1].index.tolist()} map to several "
            "'level' numbers"
        )
    if not problems:  # levels are known: check their numbers and the parents
        names = jurisdictions.groupby("level")["level_name"].unique()
        shared = names[names.map(len) > 1]
        if len(shared):
            problems.append(
                f"levels {[sorted(map(str, v)) for v in shared][:5]} share the level "
                f"number(s) {shared.index.tolist()[:5]}; give each level its own (0 for the "
                "coarsest, then 1, 2, ...)"
            )
        number = pd.Series(level.astype(np.int64), index=jurisdictions["jur_id"].to_numpy())
        pnum = jurisdictions["parent_id"].map(number).to_numpy(dtype=float)  # NaN: no parent
        inverted = pnum >= level  # a parent naming no unit is looked up on the map instead
        if inverted.any():
            problems.append(
                f"parent_id of jur_id {jurisdictions['jur_id'][inverted].tolist()[:10]} is not "
                "of a coarser level (a smaller level number); fix the parent_id or the levels"
            )
    if problems:
        msg = "jurisdictions: " + "; ".join(problems)
        raise InputError(msg)
    return crs


def _invalid_polygons(
    exc: shapely.errors.GEOSException, ids: pd.Series, geoms: NDArray[Any], what: str
) -> InputError | None:
    """Return the error to raise when GEOS failed on a layer's invalid polygons, or None.

    Validity is checked only once GEOS has failed (a self-intersecting ring gives a
    TopologyException): the layers the loaders give have been checked already.
    """
    bad = ids[~np.asarray(shapely.is_valid(geoms), dtype=bool)].tolist()
    if not bad:
        return None
    msg = (
        f"{what} has invalid polygons at {ids.name} {bad[:10]} ({exc}); repair them with "
        "shapely.make_valid or `ogr2ogr -makevalid`"
    )
    return InputError(msg)


@contextlib.contextmanager
def _naming_invalid_polygons(ids: pd.Series, geoms: NDArray[Any], what: str) -> Iterator[None]:
    """Turn a GEOS error inside the block into :func:`_invalid_polygons`' InputError.

    A GEOS error with every polygon valid is raised as it is.
    """
    try:
        yield
    except shapely.errors.GEOSException as exc:
        err = _invalid_polygons(exc, ids, geoms, what)
        if err is None:
            raise
        raise err from exc


def _resolve_levels(jurisdictions: gpd.GeoDataFrame, levels: Sequence[str] | None) -> list[str]:
    order = level_names(jurisdictions)
    if levels is None:
        return order
    if isinstance(levels, str):
        levels = [levels]
    unknown = [lv for lv in levels if lv not in order]
    if unknown or not levels:
        msg = f"levels {list(levels)} are not all jurisdiction levels; allowed levels are {order}"
        raise InputError(msg)
    return sorted(dict.fromkeys(levels), key=order.index)


def _objects(column: pd.Series) -> NDArray[Any]:
    """``column.to_numpy(dtype=object)``, making no Python string per row.

    A pandas string column held by pyarrow (pandas' default ``str`` dtype) makes a new
    Python string for every row when turned into an object array: 0.34 GB for 5 million
    rows of a piece table, several such arrays at once in a continental overlay. Its
    values are factorized first, so only the distinct strings are made (the rows of one
    value share one object). Equal values and missing values (the column's own missing
    value) as ``to_numpy`` gives them; other columns, and string columns in Python
    storage (which hold their strings already), go through ``to_numpy`` unchanged.

    Examples
    --------
    >>> a = _objects(pd.Series(["A", "B", None, "A"], dtype="str"))
    >>> a.tolist()[:2], a[0] is a[3], pd.isna(a[2])
    (['A', 'B'], True, True)
    """
    if not isinstance(column.dtype, pd.StringDtype) or column.dtype.storage == "python":
        # Python storage (what basingov computes with, basingov._runtime) holds the
        # strings already: to_numpy copies the references, no string is made
        return column.to_numpy(dtype=object)
    codes, uniques = pd.factorize(column)
    out: NDArray[Any] = np.asarray(uniques, dtype=object)[codes]
    out[codes < 0] = column.dtype.na_value
    return out


def _names(pieces: pd.DataFrame, level: str, *, text: bool = True) -> dict[Any, Any]:
    """``{jur_<level>: name_<level>}`` of a piece table (the last name of an id wins).

    Keys in the order ids first occur, as ``dict(zip(ids, names))`` gives them, then the
    units named only in ``shared_name_<level>`` (on a shared border, holding no piece;
    :func:`_shared_names`). Only the last row of each id is turned into Python objects:
    a piece table has millions of rows and thousands of ids.

    Examples
    --------
    >>> p = pd.DataFrame({"jur_state": ["A", "A"], "name_state": ["Aa", "Aa"],
    ...     "shared_name_state": ['{"B": "Bb"}', ""]})
    >>> _names(p, "state")
    {'A': 'Aa', 'B': 'Bb'}
    """
    ids = pieces[f"jur_{level}"]
    codes, _ = pd.factorize(ids, use_na_sentinel=False)
    # the last row of each id, in the order the ids first occur (codes number them so)
    last = np.zeros(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    np.maximum.at(last, codes, np.arange(codes.size, dtype=np.int64))
    names = pieces[f"name_{level}"].iloc[last]
    if text:
        names = names.astype(str)
    keys = _objects(ids.iloc[last])
    out = dict(zip(keys, names.to_numpy(dtype=object), strict=True))
    col = f"{_SHARED_NAME_PREFIX}{level}"
    if col in pieces:
        cells = pieces[col]
        cells = cells[cells.notna() & (cells != "")]  # pieces on a shared border: few
        for cell in pd.unique(cells.astype(str)):
            for j, nm in json.loads(cell).items():
                out.setdefault(j, nm)
    return out


def _shared_names(shared: NDArray[Any], names: dict[Any, str]) -> NDArray[Any]:
    """Return the ``shared_name_<level>`` column of a ``shared_<level>`` one.

    Each ``"B|C"`` becomes the JSON object of its units' ``names`` (``{"B": "Bb", "C":
    "Cc"}``, a name may hold any character), ``""`` stays ``""``.

    Examples
    --------
    >>> _shared_names(np.array(["", "B|C"], dtype=object), {"B": "Bb", "C": "C|c"}).tolist()
    ['', '{"B": "Bb", "C": "C|c"}']
    """
    out = np.full(shared.size, "", dtype=object)
    rows = np.flatnonzero(shared != "")
    out[rows] = [
        json.dumps({j: names.get(j, j) for j in str(v).split(BORDER_SEP)}, ensure_ascii=False)
        for v in shared[rows]
    ]
    return out


def _level_numbers(jurisdictions: pd.DataFrame) -> dict[str, int]:
    lv = jurisdictions[["level_name", "level"]].drop_duplicates("level_name")
    return {str(a): int(b) for a, b in zip(lv["level_name"], lv["level"], strict=True)}


def _check_min_stretch(min_stretch_m: float) -> None:
    if not min_stretch_m >= 0:  # NaN too
        msg = f"min_stretch_m must be >= 0, got {min_stretch_m}"
        raise InputError(msg)


def _level_maps(
    jur: gpd.GeoDataFrame, levels: list[str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Map each finest-level id to its ancestor at every level through ``parent_id``.

    Ids whose parent chain does not reach a level are missing from that level's map.
    """
    finest = levels[-1]
    parent = dict(zip(jur["jur_id"], jur["parent_id"], strict=True))
    level_of = dict(zip(jur["jur_id"], jur["level_name"], strict=True))
    names = dict(zip(jur["jur_id"], jur["name"].astype(str), strict=True))
    maps: dict[str, dict[str, str]] = {lv: {} for lv in levels}
    for jid in jur.loc[jur["level_name"] == finest, "jur_id"]:
        cur: str | None = jid
        seen: set[str] = set()
        while cur and cur in level_of and cur not in seen:
            seen.add(cur)
            lv = level_of[cur]
            if lv in maps:
                maps[lv][jid] = cur
            cur = parent.get(cur) or None
    return maps, names


def _assign_levels(
    finest_ids: NDArray[Any],
    points: NDArray[Any],
    jur: gpd.GeoDataFrame,
    levels: list[str],
) -> dict[str, NDArray[Any]]:
    """Jurisdiction of every level for items known at the finest level.

    Coarser levels come from the ``parent_id`` chain of the finest unit. Where the chain
    does not reach a level (hierarchies that do not nest, a missing parent, or an item
    outside every finest unit), the level's polygon containing the item's point (or the
    midpoint of a line item) is used instead; no polygon gives :data:`OUTSIDE`.
    """
    maps, _ = _level_maps(jur, levels)
    out: dict[str, NDArray[Any]] = {}
    finest_ids = np.asarray(finest_ids, dtype=object)
    for lv in levels:
        if lv == levels[-1]:
            out[lv] = finest_ids
            continue
        mapped = pd.Series(finest_ids).map(maps[lv]).to_numpy(dtype=object)
        todo = np.flatnonzero(pd.isna(mapped))
        if todo.size:
            sub = jur[jur["level_name"] == lv]
            tree = shapely.STRtree(sub.geometry.values)
            pts = points[todo]
            lines = shapely.get_type_id(pts) != 0
            if lines.any():  # line parts: use their midpoints
                pts = pts.copy()
                pts[lines] = shapely.line_interpolate_point(pts[lines], 0.5, normalized=True)
            pi, pj = tree.query(pts, predicate="within")
            found = np.full(todo.size, OUTSIDE, dtype=object)
            # first hit wins where polygons overlap
            first = np.unique(pi, return_index=True)[1]
            found[pi[first]] = sub["jur_id"].to_numpy(dtype=object)[pj[first]]
            mapped[todo] = found
        out[lv] = mapped
    return out


# --------------------------------------------------------------------------------------
# network helpers
# --------------------------------------------------------------------------------------


def _distance_to_outlet(
    reaches: gpd.GeoDataFrame, idx_ds: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Distance (km) from each reach's downstream end to its outlet, along the flow path."""
    return downstream_sum(np.asarray(idx_ds, dtype=np.int64), _reach_lengths(reaches))


def _reach_lengths(reaches: gpd.GeoDataFrame) -> NDArray[np.float64]:
    if "length_km" in reaches.columns:
        return reaches["length_km"].to_numpy(dtype=float)
    return np.asarray(shapely.length(reaches.geometry.to_numpy()) / 1000.0, dtype=float)


def _upstream_sum(idx_ds: NDArray[np.int64], weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum of ``weight`` over each reach and everything upstream of it (main branches)."""
    return upstream_sum(np.asarray(idx_ds, dtype=np.int64), weight)


def _fractions(
    lines: NDArray[Any], parts: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalised positions of each part's ends along its parent line (start < end).

    The end points come from one coordinate array (cheaper than ``get_point`` per part).
    """
    if len(parts) == 0:
        return np.empty(0), np.empty(0)
    ncoord = shapely.get_num_coordinates(parts)
    coords = shapely.get_coordinates(parts)
    last = np.cumsum(ncoord) - 1
    first = last - ncoord + 1
    a = shapely.line_locate_point(lines, shapely.points(coords[first]), normalized=True)
    b = shapely.line_locate_point(lines, shapely.points(coords[last]), normalized=True)
    return np.minimum(a, b), np.maximum(a, b)


def _levels_and_finest(
    jurisdictions: gpd.GeoDataFrame, levels_: list[str]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Select the jurisdictions of ``levels_`` (ids as text, no missing parent) and the finest."""
    jur = jurisdictions.assign(
        jur_id=jurisdictions["jur_id"].astype(str),
        parent_id=jurisdictions["parent_id"].fillna("").astype(str),
    )
    jur = jur[jur["level_name"].isin(levels_)]
    return jur, jur[jur["level_name"] == levels_[-1]]
