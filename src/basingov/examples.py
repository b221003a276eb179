"""Tiny made-up layers (reaches, jurisdictions, basin) for the docstring examples and tests.

Everything here is **toy geometry drawn in code**, in a projected CRS (metres), not real
data: a few straight reaches and one or two rectangular jurisdictions, small enough that
each result can be checked by hand. The shipped basins are in :mod:`basingov.datasets`.

The layers have the columns the pipeline reads, so they can be passed straight to
:func:`basingov.network.network_from_table`, :func:`basingov.overlay.split_reaches`,
:func:`basingov.overlay.overlay_network` and the other stages::

    reaches        reach_id, downstream_id, extra columns, geometry (LineString)
    jurisdictions  jur_id, name, level, level_name, parent_id, geometry (Polygon)
    basin          geometry (one Polygon)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Sized
from itertools import pairwise
from typing import TYPE_CHECKING, Literal, TypedDict, Unpack

import geopandas as gpd
import numpy as np
from shapely import LineString, Polygon, box

from basingov._checks import check_choice, raise_problems
from basingov.network import OUTLET_ID, network_from_table

if TYPE_CHECKING:
    from basingov.network import RiverNetwork

__all__ = [
    "EXAMPLE_CRS",
    "example_basin",
    "example_border_river",
    "example_jurisdictions",
    "example_network",
    "example_reaches",
]

#: CRS of every example layer: ETRS89 / LAEA Europe, metres.
EXAMPLE_CRS = "EPSG:3035"

Direction = Literal["east", "north", "west", "south"]
_STEP: dict[str, tuple[float, float]] = {
    "east": (1.0, 0.0),
    "north": (0.0, 1.0),
    "west": (-1.0, 0.0),
    "south": (0.0, -1.0),
}


class ReachLayout(TypedDict, total=False):
    """The keyword options of :func:`example_reaches`, passed on by :func:`example_network`."""

    reach_id: Sequence[int] | None
    length_m: float | Sequence[float]
    origin: tuple[float, float]
    direction: Direction
    columns: Mapping[str, Sequence[object]] | None
    crs: str


def _positive(value: float | Sequence[float], n: int, *, name: str) -> tuple[np.ndarray, list[str]]:
    """Broadcast one number, or check a sequence, to ``n`` positive floats; list problems."""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        return arr, [f"{name} has {arr.size} values for {n} items; give one number or {n}"]
    if not (np.isfinite(arr) & (arr > 0)).all():
        return arr, [f"{name} must be finite and > 0, got {arr.tolist()}"]
    return arr, []


def _count_problems(values: Mapping[str, Sized], n: int, items: str) -> list[str]:
    """List the entries of ``values`` that do not hold exactly ``n`` values."""
    return [
        f"{what} has {len(v)} values for {n} {items}; give one value for each"
        for what, v in values.items()
        if len(v) != n
    ]


def example_reaches(
    downstream_id: Sequence[int],
    *,
    reach_id: Sequence[int] | None = None,
    length_m: float | Sequence[float] = 1000.0,
    origin: tuple[float, float] = (0.0, 0.0),
    direction: Direction = "east",
    columns: Mapping[str, Sequence[object]] | None = None,
    crs: str = EXAMPLE_CRS,
) -> gpd.GeoDataFrame:
    """Build a toy reach table: straight reaches drawn end to end from ``origin``.

    Reach ``k`` is a straight line of ``length_m[k]`` metres that starts where reach
    ``k - 1`` ends and runs towards ``direction``, so a chain (each reach flowing into the
    next) is drawn connected. The topology is the ``downstream_id`` column, not the
    drawing: for a tree (a confluence) the lines are still drawn in a row, which is
    enough for every result that depends on lengths and ids only.

    Parameters
    ----------
    downstream_id
        Downstream reach id of each reach, ``-1`` at an outlet.
    reach_id
        Reach ids (default ``1, 2, ..., n``).
    length_m
        Length of each reach in metres: one number for all, or one per reach.
    origin
        Start of the first reach, in the units of ``crs``.
    direction
        Direction the reaches are drawn in: ``"east"``, ``"north"``, ``"west"`` or
        ``"south"``.
    columns
        Extra columns, one value per reach (e.g. ``{"velocity_ms": [1.0, 0.5]}``).
    crs
        A projected CRS (default ETRS89 / LAEA Europe).

    Returns
    -------
    geopandas.GeoDataFrame
        ``reach_id, downstream_id``, the extra columns and the lines, in ``crs``.

    Raises
    ------
    InputError
        Listing every problem: ``reach_id``, ``length_m`` or a column of ``columns``
        whose number of values is not the number of reaches (give one value per reach),
        a length that is not a positive number, or a ``direction`` that is not one of
        the four allowed.

    See Also
    --------
    example_network : The same reaches as a validated :class:`~basingov.network.RiverNetwork`.

    Examples
    --------
    A chain of two 1 km reaches, 1 flowing into 2:

    >>> r = example_reaches([2, -1], columns={"velocity_ms": [1.0, 0.5]})
    >>> r["reach_id"].tolist(), r["downstream_id"].tolist(), r["velocity_ms"].tolist()
    ([1, 2], [2, -1], [1.0, 0.5])
    >>> [line.coords[:] for line in r.geometry]
    [[(0.0, 0.0), (1000.0, 0.0)], [(1000.0, 0.0), (2000.0, 0.0)]]
    """
    check_choice(direction, tuple(_STEP), name="direction")
    down = [int(d) for d in downstream_id]
    n = len(down)
    ids = list(range(1, n + 1)) if reach_id is None else [int(i) for i in reach_id]
    extra = dict(columns or {})
    counted = {"reach_id": ids} | {f"column {k!r}": v for k, v in extra.items()}
    lengths, bad = _positive(length_m, n, name="length_m")
    raise_problems(_count_problems(counted, n, "reaches") + bad, "Cannot build the example reaches")
    dx, dy = _STEP[direction]
    ends = np.concatenate([[0.0], np.cumsum(lengths)])
    x0, y0 = origin
    lines = [
        LineString([(x0 + dx * a, y0 + dy * a), (x0 + dx * b, y0 + dy * b)])
        for a, b in pairwise(ends)
    ]
    data = {"reach_id": ids, "downstream_id": down, **{k: list(v) for k, v in extra.items()}}
    return gpd.GeoDataFrame(data, geometry=lines, crs=crs)


def example_network(downstream_id: Sequence[int], **layout: Unpack[ReachLayout]) -> RiverNetwork:
    """Build a toy :class:`~basingov.network.RiverNetwork` from :func:`example_reaches`.

    The table goes through :func:`~basingov.network.network_from_table`, so the network is
    validated and its missing quantities (``length_km``, ``upstream_area_km2``,
    discharge and velocity estimates, ...) are filled as for a real network.

    Parameters
    ----------
    downstream_id
        Downstream reach id of each reach, ``-1`` at an outlet.
    **layout
        The keyword options of :func:`example_reaches` (``reach_id``, ``length_m``,
        ``origin``, ``direction``, ``columns``, ``crs``).

    Returns
    -------
    RiverNetwork

    Raises
    ------
    InputError
        As in :func:`example_reaches`.
    TopologyError
        If ``downstream_id`` names an id that is not a reach (other than ``-1``) or makes
        a cycle.

    Examples
    --------
    A Y confluence: reaches 1 and 2 flow into 3.

    >>> net = example_network([3, 3, -1], columns={"local_area_km2": [10.0, 20.0, 5.0]})
    >>> net.idx_ds.tolist(), net.reaches["upstream_area_km2"].tolist()
    ([2, 2, -1], [10.0, 20.0, 35.0])
    """
    return network_from_table(example_reaches(downstream_id, **layout))


def example_jurisdictions(
    jur_id: Sequence[str] = ("A", "B"),
    *,
    name: Sequence[str] | None = None,
    level_name: str = "country",
    width_m: float | Sequence[float] = 1000.0,
    height_m: float = 1000.0,
    crs: str = EXAMPLE_CRS,
) -> gpd.GeoDataFrame:
    """Build toy jurisdictions: rectangles side by side from west to east, one level.

    Unit ``k`` is the box from ``x = sum(width_m[:k])`` to ``sum(width_m[:k + 1])`` and
    from ``y = 0`` to ``height_m``, so neighbours share a straight north-south border.

    Parameters
    ----------
    jur_id
        Jurisdiction ids, west to east.
    name
        Their names (default: the ids).
    level_name
        Name of the one level (``level`` is 0, ``parent_id`` empty).
    width_m
        Width of each unit in metres: one number for all, or one per unit.
    height_m
        Height of every unit in metres.
    crs
        A projected CRS (default ETRS89 / LAEA Europe).

    Returns
    -------
    geopandas.GeoDataFrame
        ``jur_id, name, level, level_name, parent_id`` and the boxes, in ``crs``.

    Raises
    ------
    InputError
        Listing every problem: ``name`` or ``width_m`` whose number of values is not the
        number of units (give one per unit), or a width or height that is not a positive
        number.

    See Also
    --------
    example_basin : A basin polygon to go with them.

    Examples
    --------
    >>> jur = example_jurisdictions(["W", "E"], name=["West", "East"], level_name="state")
    >>> jur[["jur_id", "name", "level_name"]].values.tolist()
    [['W', 'West', 'state'], ['E', 'East', 'state']]
    >>> [g.bounds for g in jur.geometry]
    [(0.0, 0.0, 1000.0, 1000.0), (1000.0, 0.0, 2000.0, 1000.0)]
    """
    ids = [str(j) for j in jur_id]
    n = len(ids)
    names = ids if name is None else [str(x) for x in name]
    widths, bad_width = _positive(width_m, n, name="width_m")
    bad_height = _positive(height_m, 1, name="height_m")[1]
    problems = _count_problems({"name": names}, n, "units") + bad_width + bad_height
    raise_problems(problems, "Cannot build the example jurisdictions")
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    boxes = [box(a, 0.0, b, height_m) for a, b in pairwise(edges)]
    data = {"jur_id": ids, "name": names, "level": 0, "level_name": level_name, "parent_id": ""}
    return gpd.GeoDataFrame(data, geometry=boxes, crs=crs)


def example_basin(
    *, width_m: float = 2000.0, height_m: float = 1000.0, crs: str = EXAMPLE_CRS
) -> gpd.GeoDataFrame:
    """Build a toy basin: one rectangle from ``(0, 0)`` to ``(width_m, height_m)``.

    With the defaults it is exactly the union of the default
    :func:`example_jurisdictions`; make it wider to leave part of the basin outside every
    jurisdiction.

    Parameters
    ----------
    width_m, height_m
        Size in metres.
    crs
        A projected CRS (default ETRS89 / LAEA Europe).

    Returns
    -------
    geopandas.GeoDataFrame
        One row, geometry only.

    Raises
    ------
    InputError
        If ``width_m`` or ``height_m`` is not a positive number.

    Examples
    --------
    >>> example_basin(width_m=5000).geometry.iloc[0].bounds
    (0.0, 0.0, 5000.0, 1000.0)
    """
    problems = _positive(width_m, 1, name="width_m")[1] + _positive(height_m, 1, name="height_m")[1]
    raise_problems(problems, "Cannot build the example basin")
    return gpd.GeoDataFrame(geometry=[box(0.0, 0.0, width_m, height_m)], crs=crs)


def example_border_river(
    *, level_name: str = "state", crs: str = EXAMPLE_CRS
) -> tuple[gpd.GeoDataFrame, RiverNetwork]:
    """Build a toy river lying on a border that zigzags across it (a border river).

    One straight reach (id 1, an outlet) runs 3 km east from ``(0, 0)``. Jurisdiction
    ``A`` (name ``"Aa"``) lies south of it and ``B`` (``"Bb"``) north, but their border
    steps 20 m to either side of the river: it lies north of the river for the first and
    last km and south of it for the middle km. So the river is never more than 20 m from
    the border, and it lies in A, then B, then A: it crosses the border twice.

    Parameters
    ----------
    level_name
        Name of the one jurisdiction level.
    crs
        A projected CRS (default ETRS89 / LAEA Europe).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, RiverNetwork)
        ``(jurisdictions, network)``, both in ``crs``; the jurisdictions reach 1 km from
        the river on each side.

    Examples
    --------
    >>> jur, net = example_border_river()
    >>> river = net.reaches.geometry.iloc[0]
    >>> [jur.geometry.iloc[k].intersection(river).length for k in (0, 1)]
    [2000.0, 1000.0]
    """
    a = Polygon(
        [(0, -1000), (3000, -1000), (3000, 20), (2000, 20), (2000, -20), (1000, -20),
         (1000, 20), (0, 20)]
    )  # fmt: skip
    b = Polygon(
        [(0, 20), (1000, 20), (1000, -20), (2000, -20), (2000, 20), (3000, 20), (3000, 1000),
         (0, 1000)]
    )  # fmt: skip
    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B"], "name": ["Aa", "Bb"], "level": 0, "level_name": level_name,
         "parent_id": ""},
        geometry=[a, b],
        crs=crs,
    )  # fmt: skip
    return jur, example_network([OUTLET_ID], length_m=3000.0, crs=crs)
