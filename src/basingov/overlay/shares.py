"""Jurisdiction shares of a basin (area, river length) and jurisdiction lookups."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_choice, check_piece_level, piece_levels, require_columns
from basingov.errors import InputError
from basingov.overlay._common import (
    _SHARED_NAME_PREFIX,
    OUTSIDE,
    _check_jurisdictions,
    _invalid_polygons,
    _level_numbers,
    _naming_invalid_polygons,
    _require_projected,
    _resolve_levels,
    _same_crs,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["reach_jurisdictions", "unit_shares"]


def unit_shares(
    jurisdictions: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    pieces: pd.DataFrame | None = None,
    *,
    levels: Sequence[str] | None = None,
) -> pd.DataFrame:
    r"""Area and river length of each jurisdiction inside the basin, at every level.

    This generalises the TFDD basin-country unit to any level. The part of the basin
    outside every jurisdiction of a level is reported as a row with ``jur_id == ""``,
    so shares sum to 1 per level unless jurisdictions of one level overlap.

    .. math:: s_j = \frac{|P_j \cap B|}{|B|}, \qquad
              s_{\varnothing} = \frac{|B \setminus \bigcup_j P_j|}{|B|}

    Parameters
    ----------
    jurisdictions
        Jurisdiction polygons (projected CRS).
    basin
        The basin polygon(s), same CRS; several rows are unioned.
    pieces
        Piece table from :func:`split_reaches` for river lengths (optional).
    levels
        Level names (default: all).

    Returns
    -------
    pandas.DataFrame
        ``jur_id, name, level, level_name, area_km2, share, river_length_km,
        river_length_share`` (NaN without ``pieces``); jurisdictions with no area in the
        basin are left out; ordered by level then decreasing share.

    Raises
    ------
    InputError
        On empty layers, missing columns or unknown levels.
    CRSError
        If a layer has no CRS, a geographic CRS, or the CRSs differ.

    Examples
    --------
    A 5 km basin, 3 km of it in A, 1 km in B and 1 km in no unit:

    >>> from basingov.examples import example_basin, example_jurisdictions
    >>> jur = example_jurisdictions(["A", "B"], width_m=[3000, 1000])
    >>> basin = example_basin(width_m=5000)
    >>> unit_shares(jur, basin)[["jur_id", "share"]].to_records(index=False).tolist()
    [('A', 0.6), ('B', 0.2), ('', 0.2)]
    """
    crs = _check_jurisdictions(jurisdictions)
    bcrs = _require_projected(basin, "basin")
    _same_crs(crs, basin, "jurisdictions", "basin")
    del bcrs
    levels_ = _resolve_levels(jurisdictions, levels)
    if pieces is not None:
        require_columns(pieces, ["length_km"], what="pieces")
    bgeoms = basin.geometry.to_numpy()
    rows = pd.Series(np.arange(len(basin)), name="row")
    with _naming_invalid_polygons(rows, bgeoms, "basin"):
        bgeom = shapely.union_all(bgeoms)
    barea = shapely.area(bgeom) / 1e6
    if not barea > 0:
        err = _invalid_polygons(shapely.errors.GEOSException("zero area"), rows, bgeoms, "basin")
        if err is not None:  # a bow-tie ring's two halves cancel out
            raise err
        msg = "basin has zero area; pass the basin polygon, not its outline"
        raise InputError(msg)
    shapely.prepare(bgeom)
    out = []
    numbers = _level_numbers(jurisdictions)
    for lv in levels_:
        lvnum = numbers[lv]
        sub = jurisdictions[jurisdictions["level_name"] == lv]
        g = sub.geometry.to_numpy()
        with _naming_invalid_polygons(sub["jur_id"], g, "jurisdictions"):
            inside = shapely.contains_properly(bgeom, g)
            inter = g.copy()
            inter[~inside] = shapely.intersection(g[~inside], bgeom)
            area = shapely.area(inter) / 1e6
            outside_area = max(0.0, barea - shapely.area(shapely.union_all(inter)) / 1e6)
        df = pd.DataFrame(
            {
                "jur_id": sub["jur_id"].astype(str).to_numpy(),
                "name": sub["name"].astype(str).to_numpy(),
                "level": lvnum,
                "level_name": lv,
                "area_km2": area,
            }
        )
        df = df[df["area_km2"] > 0]
        df = pd.concat(
            [
                df,
                pd.DataFrame(
                    {
                        "jur_id": [OUTSIDE],
                        "name": [OUTSIDE],
                        "level": [lvnum],
                        "level_name": [lv],
                        "area_km2": [outside_area],
                    }
                ),
            ],
            ignore_index=True,
        )
        df["share"] = df["area_km2"] / barea
        if pieces is not None and f"jur_{lv}" in pieces:
            rl = pieces.groupby(f"jur_{lv}")["length_km"].sum()
            df["river_length_km"] = df["jur_id"].map(rl).fillna(0.0)
            total = float(pieces["length_km"].sum())
            df["river_length_share"] = df["river_length_km"] / total if total > 0 else np.nan
        else:
            df["river_length_km"] = np.nan
            df["river_length_share"] = np.nan
        is_out = df["jur_id"] == OUTSIDE
        df = pd.concat(
            [df[~is_out].sort_values("share", ascending=False), df[is_out]], ignore_index=True
        )
        out.append(df)
    return pd.concat(out, ignore_index=True)


def reach_jurisdictions(
    pieces: pd.DataFrame,
    reaches: Iterable[int] | NDArray[np.int64],
    *,
    by: Literal["reach_id", "position"] = "reach_id",
    level: str | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Jurisdictions crossed by a set of reaches, per level, in order of first appearance.

    A reach lying exactly on the border of two units is held by one of them
    (:func:`split_reaches`); the other, named in the piece's ``shared_name_<level>``, is
    listed too, after it (a unit already listed keeps its place): the river is the border
    of both.

    Parameters
    ----------
    pieces
        Piece table from :func:`split_reaches`.
    reaches
        Reach ids (``by="reach_id"``) or reach-table positions (``by="position"``), in
        the order to report (e.g. upstream to downstream from a navigation query).
    by
        How ``reaches`` identifies reaches: ``"reach_id"`` or ``"position"``.
    level
        One level name, or ``None`` for every level.

    Returns
    -------
    dict
        ``{level_name: [{"jur_id": ..., "name": ...}, ...]}``, without :data:`OUTSIDE`.

    Raises
    ------
    InputError
        If ``by`` or ``level`` is not allowed.

    Examples
    --------
    >>> p = pd.DataFrame({"reach_id": [1, 1, 2], "reach_pos": [0, 0, 1], "piece": [0, 1, 0],
    ...     "jur_country": ["A", "B", "B"], "name_country": ["Aa", "Bb", "Bb"]})
    >>> reach_jurisdictions(p, [2, 1])
    {'country': [{'jur_id': 'B', 'name': 'Bb'}, {'jur_id': 'A', 'name': 'Aa'}]}
    """
    check_choice(by, ("reach_id", "position"), name="by")
    levels = [check_piece_level(pieces, level)] if level is not None else piece_levels(pieces)
    col = "reach_id" if by == "reach_id" else "reach_pos"
    require_columns(pieces, [col, *(f"name_{lv}" for lv in levels)], what="pieces")
    keys = pd.Index(np.asarray(list(reaches)).ravel())
    rank = pd.Series(np.arange(len(keys)), index=keys)
    rank = rank[~rank.index.duplicated()]
    sel = pieces[pieces[col].isin(rank.index)]
    sel = sel.assign(_rank=sel[col].map(rank).to_numpy())
    sel = sel.sort_values(["_rank", "piece"] if "piece" in sel else ["_rank"], kind="stable")
    result: dict[str, list[dict[str, str]]] = {}
    for lv in levels:
        pairs = _with_shared(sel, lv).drop_duplicates(f"jur_{lv}")
        pairs = pairs[pairs[f"jur_{lv}"] != OUTSIDE]
        result[lv] = [
            {"jur_id": str(j), "name": str(nm)}
            for j, nm in zip(pairs[f"jur_{lv}"], pairs[f"name_{lv}"], strict=True)
        ]
    return result


def _with_shared(sel: pd.DataFrame, lv: str) -> pd.DataFrame:
    """Rows ``jur_<lv>``, ``name_<lv>`` of ``sel``, each followed by its shared units."""
    pairs = sel[[f"jur_{lv}", f"name_{lv}"]]
    col = f"{_SHARED_NAME_PREFIX}{lv}"
    if col not in sel:
        return pairs
    cells = sel[col].fillna("").astype(str).to_numpy()
    if not (cells != "").any():  # no piece on an exact border: almost always
        return pairs
    rows: list[tuple[object, object]] = []
    for j, nm, cell in zip(pairs.iloc[:, 0], pairs.iloc[:, 1], cells, strict=True):
        rows.append((j, nm))
        if cell:
            rows.extend(json.loads(cell).items())
    return pd.DataFrame(rows, columns=pairs.columns)
