"""Overlay jurisdictions on a river network: pieces, crossings, boundary reaches, unit shares.

The public entry points live here; the work is split by concern:

- :mod:`basingov.overlay.split`: cutting reaches at borders, levels, meander merging;
- :mod:`basingov.overlay.boundary`: boundary reaches (left/right bank) and border pieces;
- :mod:`basingov.overlay.stretches`: the :class:`PieceGraph` (pieces along the flow, the
  hand-off to spillover), boundary stretches and outside gaps;
- :mod:`basingov.overlay.crossings`: the crossing inventory and the main stem;
- :mod:`basingov.overlay.shares`: unit shares and jurisdiction lookups.

:func:`overlay_network` runs the stage in two parts: the work done reach by reach
(:func:`reach_overlay`: pieces, border pieces, boundary reaches), which gives the same rows
for a reach whatever other reaches it is computed with, and the work along the network
(outside gaps, the piece graph, crossings, stretches, shares). The first part can thus
run on sub-basins in parallel and be stitched back (:func:`combine_reach_overlays`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_choice, piece_levels
from basingov.errors import BasingovWarning, EmptyResultError, InputError
from basingov.overlay._common import (
    _ON_EMPTY,
    DEFAULT_BORDER_TOLERANCE_M,
    DEFAULT_MEANDER_TOLERANCE_M,
    DEFAULT_MIN_STRETCH_M,
    DEFAULT_SAMPLE_SPACING_M,
    DEFAULT_STRETCH_TOLERANCE_M,
    OUTSIDE,
    SHARED_PREFIX,
    OnEmpty,
    _check_jurisdictions,
    _level_numbers,
    _NetworkLike,
    _resolve_levels,
)
from basingov.overlay.boundary import boundary_reaches, mark_boundary_pieces
from basingov.overlay.crossings import (
    CROSSING_KEY_COLUMNS,
    crossings,
    graph_and_crossings,
    main_stem,
    piece_graph,
)
from basingov.overlay.shares import reach_jurisdictions, unit_shares
from basingov.overlay.split import split_reaches
from basingov.overlay.stretches import (
    PieceGraph,
    Stretches,
    boundary_stretches,
    fill_outside_gaps,
    piece_stretches,
)

__all__ = [
    "CROSSING_KEY_COLUMNS",
    "DEFAULT_BORDER_TOLERANCE_M",
    "DEFAULT_MEANDER_TOLERANCE_M",
    "DEFAULT_MIN_STRETCH_M",
    "DEFAULT_SAMPLE_SPACING_M",
    "DEFAULT_STRETCH_TOLERANCE_M",
    "MINOR_AREA_SHARE",
    "OUTSIDE",
    "SHARED_PREFIX",
    "OverlayResult",
    "PieceGraph",
    "ReachOverlay",
    "ReachTolerances",
    "Stretches",
    "boundary_reaches",
    "boundary_stretches",
    "combine_reach_overlays",
    "crossings",
    "fill_outside_gaps",
    "main_stem",
    "mark_boundary_pieces",
    "overlay_network",
    "piece_graph",
    "piece_levels",
    "piece_stretches",
    "reach_jurisdictions",
    "reach_overlay",
    "split_reaches",
    "unit_shares",
]

logger = logging.getLogger(__name__)

#: Share of the basin area below which a crossing's river counts as *minor*: small streams
#: crossing generalised (1:1M-1:20M) border lines, often zig-zag artefacts of the border
#: data, which headline lists leave out (1 % of the Rhine is ~1,600 km2, a river the size
#: of the Ill at Strasbourg or the Lahn).
MINOR_AREA_SHARE = 0.01


@dataclass(frozen=True, eq=False, kw_only=True)
class OverlayResult:
    """Everything the overlay stage produces for one basin.

    Attributes
    ----------
    levels
        Level names, coarsest first.
    pieces
        Piece table (:func:`split_reaches`, with its ``shared_<level>`` and
        ``shared_name_<level>`` columns), with ``stretch_<level>``: the boundary stretch
        holding the piece at that level (:func:`piece_stretches`), or ``""``.
    crossings
        Crossing sections of every level (:func:`crossings`), concatenated: the main
        inventory, without boundary crossings (DESIGN §2.13 ``crossings``), with ``minor``
        (the river drains less than ``minor_area_km2``) and ``lake`` (the lake whose
        water the crossing lies in, ``""`` on a river).
    boundary_reaches
        Boundary reaches of every level (:func:`boundary_reaches`), with
        ``n_boundary_crossings``: the boundary crossings on that reach at that level.
    unit_shares
        Area and river-length shares (:func:`unit_shares`).
    piece_graph
        Pieces along the flow with the boundary stretches of every level and the crossing
        ids on the border links (:class:`PieceGraph`): what the spillover stage routes on.
    boundary_crossings
        The zig-zag crossings along boundary stretches (``on_boundary=True``), left out of
        :attr:`crossings` and of the graphs but kept for inspection.
    boundary_stretches
        Boundary stretches of every level (:func:`boundary_stretches`).
    """

    levels: tuple[str, ...]
    pieces: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    boundary_reaches: gpd.GeoDataFrame
    unit_shares: pd.DataFrame
    piece_graph: PieceGraph
    boundary_crossings: gpd.GeoDataFrame
    boundary_stretches: gpd.GeoDataFrame

    def crossings_at(self, level: str) -> gpd.GeoDataFrame:
        """Crossings of one level.

        Raises
        ------
        InputError
            If ``level`` is not one of :attr:`levels`.
        """
        if level not in self.levels:
            msg = f"level {level!r} is not an overlay level; allowed levels are {list(self.levels)}"
            raise InputError(msg)
        return self.crossings[self.crossings["level_name"] == level].reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class ReachOverlay:
    """The reach-by-reach part of the overlay (:func:`reach_overlay`).

    Attributes
    ----------
    pieces
        Piece table (:func:`split_reaches`) with the ``border_<level>`` columns of
        :func:`mark_boundary_pieces`; ``reach_pos`` are positions in the reach table the
        part was computed on.
    boundary_reaches
        Boundary reaches of every level (:func:`boundary_reaches`).
    """

    pieces: gpd.GeoDataFrame
    boundary_reaches: gpd.GeoDataFrame


@dataclass(frozen=True, kw_only=True)
class ReachTolerances:
    """Tolerances of the reach-by-reach overlay in metres, as in :func:`overlay_network`.

    ``meander`` is ``meander_tolerance_m``, ``border`` is ``border_tolerance_m`` and
    ``stretch`` is ``stretch_tolerance_m`` there.
    """

    meander: float = DEFAULT_MEANDER_TOLERANCE_M
    border: float = DEFAULT_BORDER_TOLERANCE_M
    stretch: float = DEFAULT_STRETCH_TOLERANCE_M


def reach_overlay(
    reaches: gpd.GeoDataFrame,
    jurisdictions: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    tolerances: ReachTolerances | None = None,
) -> ReachOverlay:
    """Cut reaches at borders, mark border pieces and find boundary reaches.

    The part of :func:`overlay_network` done reach by reach: :func:`split_reaches`,
    :func:`mark_boundary_pieces` and :func:`boundary_reaches`. A reach gets the same rows
    whatever other reaches are in ``reaches``, so the work can be split over any subsets
    (sub-basins, spatial partitions) and put together with :func:`combine_reach_overlays`.

    Parameters
    ----------
    reaches
        Reach table (``reach_id``, lines digitised downstream), projected.
    jurisdictions
        Jurisdiction polygons of every level, in the same CRS.
    levels
        Level names to use, coarsest first (default: all).
    tolerances
        The tolerances (default: those of :func:`overlay_network`).

    Returns
    -------
    ReachOverlay
        Pieces and boundary reaches; raises as :func:`split_reaches` does (InputError,
        CRSError) on unusable layers.

    Examples
    --------
    >>> from shapely import LineString
    >>> from basingov.examples import example_jurisdictions
    >>> jur = example_jurisdictions(["A", "B"])  # A west, B east of x = 1000
    >>> lines = [LineString([(100, 500), (1900, 500)]), LineString([(990, 900), (990, 100)])]
    >>> r = gpd.GeoDataFrame({"reach_id": [1, 2]}, geometry=lines, crs=3035)
    >>> ro = reach_overlay(r, jur, tolerances=ReachTolerances(border=100, stretch=100))
    >>> ro.pieces[["reach_id", "jur_country", "border_country"]].values.tolist()
    [[1, 'A', ''], [1, 'B', ''], [2, 'A', 'A|B']]
    >>> ro.boundary_reaches[["reach_id", "left_jur", "right_jur"]].values.tolist()
    [[2, 'B', 'A']]
    """
    tol = ReachTolerances() if tolerances is None else tolerances
    _check_jurisdictions(jurisdictions)  # before its levels are read
    levels_ = _resolve_levels(jurisdictions, levels)
    pieces = split_reaches(reaches, jurisdictions, levels=levels_, meander_tolerance_m=tol.meander)
    pieces = mark_boundary_pieces(pieces, jurisdictions, border_tolerance_m=tol.stretch)
    bnd = boundary_reaches(reaches, jurisdictions, levels=levels_, border_tolerance_m=tol.border)
    return ReachOverlay(pieces=pieces, boundary_reaches=bnd)


def combine_reach_overlays(
    reaches: gpd.GeoDataFrame, parts: Sequence[tuple[np.ndarray, ReachOverlay]]
) -> ReachOverlay:
    """Stitch reach overlays computed on subsets of ``reaches`` into that of all of them.

    Parameters
    ----------
    reaches
        The whole reach table.
    parts
        ``(positions, part)`` pairs: ``part`` is :func:`reach_overlay` of
        ``reaches.iloc[positions]``. Every position must be in exactly one part.

    Returns
    -------
    ReachOverlay
        Equal, row for row, to :func:`reach_overlay` of ``reaches``: pieces ordered by
        reach position then piece with ``piece_id`` renumbered, boundary reaches ordered
        by level then reach position.

    Raises
    ------
    InputError
        If the parts do not cover every reach exactly once.

    See Also
    --------
    basingov.scale.overlay_partitioned : computes the parts as dask tasks.

    Examples
    --------
    >>> from shapely import LineString
    >>> from basingov.examples import example_jurisdictions
    >>> jur = example_jurisdictions(["A", "B"])
    >>> r = gpd.GeoDataFrame({"reach_id": [1, 2, 3]}, geometry=[
    ...     LineString([(100, 500), (1900, 500)]), LineString([(1000, 900), (1000, 100)]),
    ...     LineString([(100, 100), (200, 200)])], crs=3035)
    >>> whole = reach_overlay(r, jur)
    >>> parts = [(np.array(p), reach_overlay(r.iloc[p], jur)) for p in ([0, 2], [1])]
    >>> combine_reach_overlays(r, parts).pieces.equals(whole.pieces)
    True
    """
    n = len(reaches)
    if not parts:
        msg = "no reach overlay parts to combine; pass at least one (positions, part) pair"
        raise InputError(msg)
    levels = [piece_levels(part.pieces) for _, part in parts]
    odd = [lv for lv in levels if lv != levels[0]]
    if odd:
        msg = (
            f"the reach overlay parts have different levels ({levels[0]} and {odd[0]}); "
            "compute every part with the same reach_overlay(..., levels=...)"
        )
        raise InputError(msg)
    pos_all = np.concatenate(
        [np.zeros(0, dtype=np.int64)] + [np.asarray(p, dtype=np.int64) for p, _ in parts]
    )
    ok = pos_all.size == n and ((pos_all >= 0) & (pos_all < n)).all()
    if not ok or (n and not (np.bincount(pos_all, minlength=n) == 1).all()):
        msg = (
            f"the reach overlay parts cover {len(pos_all)} reach positions for {n} reaches; "
            "every reach must be in exactly one part"
        )
        raise InputError(msg)
    crs = reaches.crs
    pieces = []
    bnds = []
    for pos, part in parts:
        pos = np.asarray(pos, dtype=np.int64)
        p = part.pieces
        pieces.append(p.assign(reach_pos=pos[p["reach_pos"].to_numpy(dtype=np.int64)]))
        if len(part.boundary_reaches):
            bnds.append(part.boundary_reaches)
    pc = pd.concat(pieces, ignore_index=True)
    del pieces
    order = np.lexsort((pc["piece"].to_numpy(), pc["reach_pos"].to_numpy()))
    pc = pc.iloc[order].reset_index(drop=True)
    for c in pc.columns:
        if c != "geometry" and pc[c].dtype == object:
            # parts computed elsewhere (dask workers) bring their own copy of every id and
            # name string: share one object per distinct value, as a single run does
            vals = pc[c].to_numpy(dtype=object)
            codes, uniques = pd.factorize(vals)
            known = codes >= 0  # missing values keep their own object (None stays None)
            vals[known] = np.asarray(uniques, dtype=object)[codes[known]]
            pc[c] = vals
    pc["piece_id"] = np.arange(len(pc), dtype=np.int64)
    # a piece that is a whole reach holds the reach's own line (the same object in a
    # single run); parts computed elsewhere bring an equal copy: share the reach's again
    rgeoms = reaches.geometry.to_numpy()
    pgeoms = pc["geometry"].to_numpy()
    rpos = pc["reach_pos"].to_numpy(dtype=np.int64)
    whole = (pc["fraction_start"].to_numpy() == 0.0) & (pc["fraction_end"].to_numpy() == 1.0)
    whole[whole] = shapely.equals_exact(pgeoms[whole], rgeoms[rpos[whole]], tolerance=0.0)
    if whole.any():
        pgeoms = pgeoms.copy()
        pgeoms[whole] = rgeoms[rpos[whole]]
        pc["geometry"] = pgeoms
    all_pieces = gpd.GeoDataFrame(pc, geometry="geometry", crs=crs)
    if not bnds:
        bnd = parts[0][1].boundary_reaches if parts else gpd.GeoDataFrame()
        return ReachOverlay(pieces=all_pieces, boundary_reaches=bnd)
    b = pd.concat(bnds, ignore_index=True)
    where = pd.Series(np.arange(n, dtype=np.int64), index=reaches["reach_id"].to_numpy())
    bpos = where.reindex(b["reach_id"].to_numpy()).to_numpy()
    order = np.lexsort((bpos, b["level"].to_numpy()))
    b = b.iloc[order].reset_index(drop=True)
    b["geometry"] = rgeoms[bpos[order].astype(np.int64)]  # the reach's line, as in one run
    return ReachOverlay(
        pieces=all_pieces, boundary_reaches=gpd.GeoDataFrame(b, geometry="geometry", crs=crs)
    )


def overlay_network(
    net: _NetworkLike,
    jurisdictions: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    meander_tolerance_m: float = DEFAULT_MEANDER_TOLERANCE_M,
    border_tolerance_m: float = DEFAULT_BORDER_TOLERANCE_M,
    stretch_tolerance_m: float = DEFAULT_STRETCH_TOLERANCE_M,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
    minor_area_km2: float | None = None,
    on_empty: OnEmpty = "warn",
    reach_part: ReachOverlay | None = None,
) -> OverlayResult:
    """Run the whole overlay stage on one basin.

    Steps: :func:`split_reaches`, :func:`fill_outside_gaps`, :func:`mark_boundary_pieces`,
    the :class:`PieceGraph` of the pieces, then per level its boundary stretches,
    :func:`crossings` and :func:`boundary_stretches`; :func:`boundary_reaches` and
    :func:`unit_shares`. The dependency stage (:func:`basingov.dependency.analyse`) takes
    the result from here.

    Parameters
    ----------
    net
        The river network (:class:`basingov.network.RiverNetwork`).
    jurisdictions
        Jurisdiction polygons of every level, in the network's CRS.
    basin
        The basin polygon, in the network's CRS.
    levels
        Level names to use, coarsest first (default: all levels of ``jurisdictions``).
    meander_tolerance_m
        See :func:`split_reaches`.
    border_tolerance_m
        See :func:`boundary_reaches`.
    stretch_tolerance_m
        ``border_tolerance_m`` of :func:`mark_boundary_pieces`.
    min_stretch_m
        See :func:`crossings`.
    minor_area_km2
        Crossings draining less than this (km²) are flagged ``minor`` (default:
        :data:`MINOR_AREA_SHARE` of the basin area; unknown areas count as minor).
    on_empty
        What to do when no reach lies in any jurisdiction: ``"raise"`` an
        :class:`~basingov.errors.EmptyResultError`, ``"warn"`` or ``"ignore"``.
    reach_part
        The reach-by-reach part already computed (:func:`reach_overlay` of
        ``net.reaches`` with the same options, or the parts of it stitched by
        :func:`combine_reach_overlays`); None computes it here.

    Returns
    -------
    OverlayResult

    Raises
    ------
    InputError, CRSError
        As :func:`split_reaches`; also if ``on_empty`` is not an allowed value.
    EmptyResultError
        If ``on_empty="raise"`` and no reach lies in any jurisdiction.

    See Also
    --------
    split_reaches, crossings, boundary_reaches, unit_shares, basingov.dependency.analyse

    Examples
    --------
    >>> from basingov.examples import example_basin, example_jurisdictions, example_network
    >>> net = example_network([-1], length_m=1800, origin=(100, 500),
    ...     columns={"local_area_km2": [2.0]})  # from A (west) into B (east)
    >>> res = overlay_network(net, example_jurisdictions(["A", "B"]), example_basin())
    >>> res.crossings[["from_jur", "to_jur"]].to_records(index=False).tolist()
    [('A', 'B')]
    """
    check_choice(on_empty, _ON_EMPTY, name="on_empty")
    if minor_area_km2 is not None and not minor_area_km2 >= 0:  # NaN flagged every crossing
        msg = f"minor_area_km2 must be >= 0 (or None for the default), got {minor_area_km2}"
        raise InputError(msg)
    reaches = net.reaches
    _check_jurisdictions(jurisdictions)  # before its levels are read
    levels_ = _resolve_levels(jurisdictions, levels)
    if reach_part is None:
        tol = ReachTolerances(
            meander=meander_tolerance_m, border=border_tolerance_m, stretch=stretch_tolerance_m
        )
        reach_part = reach_overlay(reaches, jurisdictions, levels=levels_, tolerances=tol)
    elif piece_levels(reach_part.pieces) != levels_:
        msg = (
            f"reach_part has the levels {piece_levels(reach_part.pieces)}, the overlay asks "
            f"for {levels_}; compute it with reach_overlay(..., levels={levels_})"
        )
        raise InputError(msg)
    pieces = reach_part.pieces
    if (pieces[f"jur_{levels_[-1]}"] == OUTSIDE).all():
        msg = (
            f"no reach lies in any jurisdiction (levels {levels_}); check that reaches and "
            "jurisdictions cover the same area in the same CRS"
        )
        if on_empty == "raise":
            raise EmptyResultError(msg)
        if on_empty == "warn":
            warnings.warn(msg, BasingovWarning, stacklevel=2)
    # border_<level> columns (mark_boundary_pieces) depend on the geometry only, not on
    # the jur_<level> labels that fill_outside_gaps changes
    pieces = fill_outside_gaps(net, pieces)
    numbers = _level_numbers(jurisdictions)
    g, every = graph_and_crossings(
        net, pieces, levels=levels_, level_numbers=numbers, min_stretch_m=min_stretch_m
    )
    cross = [c[~c["on_boundary"]].reset_index(drop=True) for c in every]
    all_cross = gpd.GeoDataFrame(pd.concat(cross, ignore_index=True), crs=reaches.crs)
    basin_km2 = float(basin.geometry.area.sum() / 1e6) if len(basin) else 0.0
    threshold = basin_km2 * MINOR_AREA_SHARE if minor_area_km2 is None else minor_area_km2
    area = all_cross["upstream_area_km2"].to_numpy(dtype=float)
    # a crossing of a small stream (or of unknown size) is kept but flagged; headline lists
    # (query crossings, priority) leave it out
    all_cross["minor"] = ~(np.nan_to_num(area, nan=0.0) >= threshold)
    # a crossing on a lake reach lies in open water, where a border line may be
    # conventional or not agreed at all (Lake Constance): say which lake
    all_cross["lake"] = _lake_names(reaches, all_cross["reach_id"].to_numpy())
    on_bnd = gpd.GeoDataFrame(
        pd.concat([c[c["on_boundary"]] for c in every], ignore_index=True), crs=reaches.crs
    )
    stretches = gpd.GeoDataFrame(
        pd.concat(
            [
                boundary_stretches(net, pieces, level=lv, min_stretch_m=min_stretch_m, graph=g)
                for lv in levels_
            ],
            ignore_index=True,
        ),
        crs=reaches.crs,
    )
    pieces = pieces.assign(
        **{
            f"stretch_{lv}": piece_stretches(
                net, pieces, level=lv, min_stretch_m=min_stretch_m, graph=g
            )
            for lv in levels_
        }
    )
    bnd = reach_part.boundary_reaches
    counts = on_bnd.groupby(["reach_id", "level_name"]).size()
    key = pd.MultiIndex.from_arrays([bnd["reach_id"], bnd["level_name"]])
    bnd = bnd.assign(n_boundary_crossings=counts.reindex(key).fillna(0).astype(np.int64).to_numpy())
    shares = unit_shares(jurisdictions, basin, pieces, levels=levels_)
    logger.info(
        "overlay: %d pieces, %d crossings (%d more along %d boundary stretches), "
        "%d boundary reaches over levels %s",
        len(pieces),
        len(all_cross),
        len(on_bnd),
        len(stretches),
        len(bnd),
        levels_,
    )
    return OverlayResult(
        levels=tuple(levels_),
        pieces=pieces,
        crossings=all_cross,
        boundary_reaches=bnd,
        unit_shares=shares,
        piece_graph=g,
        boundary_crossings=on_bnd,
        boundary_stretches=stretches,
    )


def _lake_names(reaches: pd.DataFrame, reach_ids: np.ndarray) -> np.ndarray:
    """Lake name of each reach id (``""`` for river reaches or without lake columns)."""
    if "lake_name" not in reaches.columns or not len(reach_ids):
        return np.full(len(reach_ids), "", dtype=object)
    names = pd.Series(reaches["lake_name"].to_numpy(), index=reaches["reach_id"].to_numpy())
    out = names.reindex(reach_ids).fillna("").to_numpy(dtype=object)
    return out
