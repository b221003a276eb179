"""Crossing sections: where flow passes from one jurisdiction into another; main stem."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_piece_level, piece_levels, require_columns
from basingov.overlay._common import (
    DEFAULT_MIN_STRETCH_M,
    _check_min_stretch,
    _distance_to_outlet,
    _names,
    _NetworkLike,
    _reach_lengths,
    _upstream_sum,
)
from basingov.overlay.stretches import (
    PieceGraph,
    Stretches,
    _link_pieces,
    _main_links,
    _passages,
    _stretches,
    graph_and_stretches,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["CROSSING_KEY_COLUMNS", "crossings", "main_stem"]

logger = logging.getLogger(__name__)


def main_stem(net: _NetworkLike) -> NDArray[np.int64]:
    """Positions of the main stem, from its source down to the main outlet.

    The main outlet is the outlet with the largest upstream area; walking upstream, the
    main stem follows at every confluence the upstream reach with the largest
    ``upstream_area_km2`` (ties: the longer reach, then the smaller position). Where
    areas are missing, upstream river length is used instead (logged).

    Parameters
    ----------
    net
        A river network (``reaches`` with ``upstream_area_km2``; ``idx_ds``).

    Returns
    -------
    numpy.ndarray
        Reach positions ordered upstream to downstream.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> r = pd.DataFrame({"upstream_area_km2": [5.0, 9.0, 20.0], "length_km": [1.0, 1.0, 1.0]})
    >>> main_stem(SimpleNamespace(reaches=r, idx_ds=np.array([2, 2, -1]))).tolist()
    [1, 2]
    """
    reaches = net.reaches
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    area = reaches["upstream_area_km2"].to_numpy(dtype=float)
    length = _reach_lengths(reaches) if "geometry" in reaches else reaches["length_km"].to_numpy()
    if not np.isfinite(area).all():
        logger.info("main stem: upstream areas are missing; following upstream river length")
        area = _upstream_sum(idx_ds, np.asarray(length, dtype=float))
    n = idx_ds.size
    pos = np.arange(n)
    outlets = pos[idx_ds < 0]
    if outlets.size == 0:
        return np.empty(0, dtype=np.int64)
    cur = int(outlets[np.lexsort((outlets, -length[outlets], -area[outlets]))[0]])
    has_ds = pos[idx_ds >= 0]
    # best upstream reach of each reach
    srt = has_ds[np.lexsort((-has_ds, length[has_ds], area[has_ds], idx_ds[has_ds]))]
    best = np.full(n, -1, dtype=np.int64)
    best[idx_ds[srt]] = srt  # last write wins: largest area, then longest, then smallest pos
    stem = [cur]
    seen = {cur}
    while best[cur] >= 0 and int(best[cur]) not in seen:
        cur = int(best[cur])
        seen.add(cur)
        stem.append(cur)
    return np.asarray(stem[::-1], dtype=np.int64)


#: The columns that say which crossing a row of :func:`crossings` is: its id, the
#: jurisdictions it leaves and enters (ids and names), their level, and its reach.
CROSSING_KEY_COLUMNS: tuple[str, ...] = (
    "crossing_id",
    "from_jur",
    "to_jur",
    "from_name",
    "to_name",
    "level",
    "level_name",
    "reach_id",
)

_CROSSING_COLUMNS = [
    *CROSSING_KEY_COLUMNS,
    "to_reach_id",
    "kind",
    "fraction",
    "lon",
    "lat",
    "upstream_area_km2",
    "discharge_m3s",
    "upstream_length_km",
    "distance_to_outlet_km",
    "on_main_stem",
    "on_boundary",
    "stretch_id",
    "gap_km",
]


def crossings(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    level: str,
    level_number: int | None = None,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
    graph: PieceGraph | None = None,
) -> gpd.GeoDataFrame:
    """Inventory of the points where flow passes from one jurisdiction to another.

    Consecutive pieces along the flow are compared inside a reach and at junctions (the
    last piece of a reach and the first of its downstream reach, including secondary
    branches listed in ``net.bifurcations``). Two rules, detailed in
    :mod:`basingov.overlay.stretches`, turn the raw jurisdiction changes into crossings:

    - **boundary stretches**: along a river that forms the border between A and B (pieces
      marked by :func:`mark_boundary_pieces`, falling on both sides, at least
      ``min_stretch_m`` long alone or with the stretches of other pairs that continue
      the border river past a tri-point), the zig-zag changes are *boundary crossings*
      (``on_boundary=True``); the stretch is held by A and B jointly, so a river from C
      entering it gives ``C -> A`` and ``C -> B``, and leaving it into A gives ``B -> A``;
    - **outside gaps**: a run outside every jurisdiction entered from A and left into B
      is one crossing ``A -> B`` (``kind="gap"``) at the middle of the gap; ``A -> "" ->
      A`` gives none. Runs outside at the network's ends keep their ``"" -> A`` or
      ``A -> ""`` crossing; the dependency graph ignores those.

    Without ``border_<level>`` columns in ``pieces`` there are no boundary stretches and
    every raw change is a crossing.

    Upstream area at a crossing at fraction :math:`f` of reach :math:`i` is interpolated
    assuming the local area accrues uniformly along the reach:

    .. math:: A(f) = A^{up}_i - A^{loc}_i (1 - f)

    discharge scales with it, :math:`Q(f) = Q_i A(f) / A^{up}_i`, and the upstream river
    length is :math:`L(f) = L^{up}_i - L_i (1 - f)`. Where the network has no areas, the
    area and discharge columns are NaN (not 0).

    Parameters
    ----------
    net
        The river network the pieces were cut from (``reaches`` and ``idx_ds``; optional
        ``bifurcations``).
    pieces
        Piece table from :func:`split_reaches` on ``net.reaches``, optionally with the
        ``border_<level>`` columns of :func:`mark_boundary_pieces`.
    level
        Level name (a ``jur_<level>`` column of ``pieces``).
    level_number
        Number written in the ``level`` column (default: position of ``level`` among the
        piece table's levels, coarsest 0).
    min_stretch_m
        Shortest boundary stretch, in metres.
    graph
        The pieces' :class:`~basingov.overlay.PieceGraph`; its stretches of ``level``
        are reused when it has them (default: built here).

    Returns
    -------
    geopandas.GeoDataFrame
        ``crossing_id`` (``"<level>-<k>"``, boundary crossings ``"<level>-b<k>"``),
        ``from_jur, to_jur, from_name, to_name, level, level_name, reach_id`` (reach
        where the crossing lies, or the upstream reach of a junction), ``to_reach_id``,
        ``kind`` (``"within"``, ``"junction"`` or ``"gap"``), ``fraction`` (along
        ``reach_id``), ``lon, lat`` (WGS84), ``upstream_area_km2``, ``discharge_m3s``
        (NaN without a discharge column), ``upstream_length_km``,
        ``distance_to_outlet_km`` (along the flow path), ``on_main_stem``,
        ``on_boundary``, ``stretch_id`` (boundary stretch entered, left or run along;
        ``""`` if none), ``gap_km`` (length of the outside gap of a ``"gap"`` crossing)
        and Point geometry in the network CRS; crossings first, then boundary
        crossings, each sorted by distance to the outlet, farthest first.

    Raises
    ------
    InputError
        If ``level`` is not a level of ``pieces``, a column is missing, or
        ``min_stretch_m`` is negative.

    Examples
    --------
    Reach 1 (10 km², in A) flows into reach 2 (20 km² of its own), which crosses from A
    into B 20% of the way along: the crossing drains 10 + 0.2 x 20 = 14 km².

    >>> from basingov.examples import example_jurisdictions, example_network
    >>> from basingov.overlay import split_reaches
    >>> jur = example_jurisdictions(["A", "B"], name=["Aa", "Bb"])
    >>> net = example_network([2, -1], length_m=[700, 1000], origin=(100, 500),
    ...     columns={"local_area_km2": [10.0, 20.0], "discharge_m3s": [1.0, 3.0]})
    >>> c = crossings(net, split_reaches(net.reaches, jur), level="country")
    >>> c[["from_jur", "to_jur", "reach_id", "upstream_area_km2"]].to_records(
    ...     index=False).tolist()
    [('A', 'B', 2, 14.0)]
    """
    return crossings_on_links(
        net, pieces, level=level, level_number=level_number, min_stretch_m=min_stretch_m,
        graph=graph,
    )[0]  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class _ReachTerms:
    """What the crossings of every level take from the network's reaches alone."""

    length: NDArray[np.float64]
    upstream_length: NDArray[np.float64]
    to_outlet: NDArray[np.float64]
    stem: NDArray[np.bool_]


def _reach_terms(net: _NetworkLike) -> _ReachTerms:
    """Reach lengths, upstream river length, distance to the outlet, main stem mask."""
    reaches = net.reaches
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    length = _reach_lengths(reaches)
    stem = np.zeros(len(reaches), dtype=bool)
    stem[main_stem(net)] = True
    return _ReachTerms(
        length=length,
        upstream_length=_upstream_sum(idx_ds, length),
        to_outlet=_distance_to_outlet(reaches, idx_ds),
        stem=stem,
    )


def crossings_on_links(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    level: str,
    level_number: int | None = None,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
    graph: PieceGraph | None = None,
    terms: _ReachTerms | None = None,
) -> tuple[gpd.GeoDataFrame, NDArray[np.int64]]:
    """:func:`crossings`, plus the piece-graph edge of each row (-1 for gap crossings).

    ``terms``: :func:`_reach_terms` of ``net``, when the caller made them for all levels.
    """
    level = check_piece_level(pieces, level)
    levels = piece_levels(pieces)
    lvnum = levels.index(level) if level_number is None else int(level_number)
    _check_min_stretch(min_stretch_m)
    reaches = net.reaches
    require_columns(reaches, ["reach_id", "upstream_area_km2"], what="net.reaches")
    require_columns(pieces, ["reach_pos", "fraction_end", f"name_{level}"], what="pieces")
    n = len(reaches)
    g, st = graph_and_stretches(net, pieces, level, min_stretch_m, graph)
    pas = _passages(g, level, st)
    names = _names(g.pieces, level)
    rpos, to_rpos, frac = pas.rpos, pas.to_rpos, pas.frac
    geoms = reaches.geometry.to_numpy()
    pts = shapely.line_interpolate_point(geoms[rpos], frac, normalized=True)
    area = reaches["upstream_area_km2"].to_numpy(dtype=float)
    local = (
        reaches["local_area_km2"].to_numpy(dtype=float)
        if "local_area_km2" in reaches
        else np.zeros(n)
    )
    a = area[rpos] - local[rpos] * (1.0 - frac)
    if "discharge_m3s" in reaches:
        q_r = reaches["discharge_m3s"].to_numpy(dtype=float)[rpos]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(area[rpos] > 0, q_r * a / area[rpos], q_r)
    else:
        q = np.full(rpos.size, np.nan)
    t = _reach_terms(net) if terms is None else terms
    length = t.length
    up_len = t.upstream_length[rpos] - length[rpos] * (1.0 - frac)
    dist = t.to_outlet[rpos] + length[rpos] * (1.0 - frac)
    stem = t.stem
    on_stem = stem[rpos] & (stem[to_rpos])
    reach_ids = reaches["reach_id"].to_numpy()
    gs = gpd.GeoSeries(pts, crs=reaches.crs)
    ll = gs.to_crs("EPSG:4326") if len(gs) else gs
    sid = np.full(rpos.size, "", dtype=object)
    has = pas.stretch >= 0
    sid[has] = st.ids[pas.stretch[has]]
    out = gpd.GeoDataFrame(
        {
            "from_jur": pas.from_jur,
            "to_jur": pas.to_jur,
            "from_name": [names.get(j, j) for j in pas.from_jur],
            "to_name": [names.get(j, j) for j in pas.to_jur],
            "level": np.full(rpos.size, lvnum, dtype=np.int64),
            "level_name": np.full(rpos.size, level, dtype=object),
            "reach_id": reach_ids[rpos],
            "to_reach_id": reach_ids[to_rpos],
            "kind": pas.kind,
            "fraction": frac,
            "lon": shapely.get_x(ll.to_numpy()) if len(gs) else np.empty(0),
            "lat": shapely.get_y(ll.to_numpy()) if len(gs) else np.empty(0),
            "upstream_area_km2": a,
            "discharge_m3s": q,
            "upstream_length_km": up_len,
            "distance_to_outlet_km": dist,
            "on_main_stem": on_stem,
            "on_boundary": pas.on_boundary,
            "stretch_id": sid,
            "gap_km": pas.gap_km,
            "_edge": pas.edge,
        },
        geometry=pts,
        crs=reaches.crs,
    )
    out = out.sort_values(
        ["on_boundary", "distance_to_outlet_km", "reach_id", "fraction", "from_jur", "to_jur"],
        ascending=[True, False, True, True, True, True],
        kind="stable",
    ).reset_index(drop=True)
    nb = int(out["on_boundary"].sum())
    nm = len(out) - nb
    ids = [f"{level}-{k}" for k in range(nm)] + [f"{level}-b{k}" for k in range(nb)]
    out.insert(0, "crossing_id", ids)
    if nb:
        logger.info(
            "crossings %s: %d crossings, %d boundary crossings along %d boundary stretches",
            level,
            nm,
            nb,
            st.ids.size,
        )
    edges = out.pop("_edge").to_numpy(dtype=np.int64)
    return out[[*_CROSSING_COLUMNS, "geometry"]], edges


def graph_and_crossings(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    levels: Sequence[str],
    level_numbers: Mapping[str, int],
    min_stretch_m: float,
) -> tuple[PieceGraph, list[gpd.GeoDataFrame]]:
    """Build the piece graph (stretches, link crossings) and every level's crossings."""
    g = _link_pieces(net, pieces)
    # the main links and the reach terms are the same at every level: made once
    main = _main_links(g, g.pieces["length_km"].to_numpy(dtype=float) * 1000.0)
    # finest level first: a level's stretches take in those of the next finer level
    stretches: dict[str, Stretches] = {}
    finer: Stretches | None = None
    for lv in reversed(levels):
        finer = stretches[lv] = _stretches(g, lv, float(min_stretch_m), main, finer)
    g = dataclasses.replace(g, stretches={lv: stretches[lv] for lv in levels})
    terms = _reach_terms(net)
    every, links = [], {}
    pid = g.pieces["piece_id"].to_numpy()
    for lv in levels:
        c, edge = crossings_on_links(
            net, pieces, level=lv, level_number=level_numbers[lv], min_stretch_m=min_stretch_m,
            graph=g, terms=terms,
        )  # fmt: skip
        every.append(c)
        on = (edge >= 0) & ~c["on_boundary"].to_numpy(dtype=bool)
        links[lv] = pd.DataFrame(
            {
                "src_piece_id": pid[g.src[edge[on]]],
                "dst_piece_id": pid[g.dst[edge[on]]],
                "crossing_id": c["crossing_id"].to_numpy()[on],
            }
        )
    return dataclasses.replace(g, link_crossings=links), every


def piece_graph(
    net: _NetworkLike,
    pieces: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] | None = None,
    min_stretch_m: float = DEFAULT_MIN_STRETCH_M,
) -> PieceGraph:
    """Build the :class:`PieceGraph` of a piece table, as :func:`overlay_network` does.

    Parameters
    ----------
    net
        The river network the pieces were cut from (``reaches``, ``idx_ds``, optional
        ``bifurcations``).
    pieces
        Piece table from :func:`split_reaches` on ``net.reaches``, optionally with the
        ``border_<level>`` columns of :func:`mark_boundary_pieces`.
    levels
        Levels whose stretches and crossing ids to add (default: every level of
        ``pieces``).
    min_stretch_m
        Shortest boundary stretch, in metres.

    Returns
    -------
    PieceGraph
        With the boundary stretches and link crossings of ``levels``.

    Raises
    ------
    InputError
        If a level is not in ``pieces``, a column is missing or ``min_stretch_m`` is
        negative.

    Examples
    --------
    One reach from A into B makes one crossing:

    >>> from basingov.examples import example_jurisdictions, example_network
    >>> from basingov.overlay import split_reaches
    >>> net = example_network([-1], length_m=1800, origin=(100, 500),
    ...     columns={"upstream_area_km2": [2.0]})
    >>> g = piece_graph(net, split_reaches(net.reaches, example_jurisdictions(["A", "B"])))
    >>> g.link_crossings["country"]["crossing_id"].tolist()
    ['country-0']
    """
    lvs = (
        piece_levels(pieces) if levels is None else [check_piece_level(pieces, lv) for lv in levels]
    )
    _check_min_stretch(min_stretch_m)
    numbers = {lv: i for i, lv in enumerate(piece_levels(pieces))}
    return graph_and_crossings(
        net, pieces, levels=lvs, level_numbers=numbers, min_stretch_m=min_stretch_m
    )[0]
