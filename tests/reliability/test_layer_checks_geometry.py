"""The jurisdiction layer's geometry checks give the problems of the plain implementation.

``jurisdiction_problems`` makes each unit valid once and intersects only the neighbours
whose interiors meet (``relate_pattern``); the reference below is the plain version it
replaced (every level's units made valid, every intersecting pair cut, each child and its
parent made valid per child). Both must report the same problems, in the same order.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity

from basingov import _layer_checks as lc
from basingov.datasets import load_basin


def _reference_geometry_problems(jur: gpd.GeoDataFrame, levels: list[str]) -> list[str]:
    """Return the parent and overlap problems as the checks found them before (plain GEOS)."""
    problems: list[str] = []
    ids = jur["jur_id"].astype(str)
    geoms = jur.geometry.to_numpy()
    ok = ~(jur.geometry.isna().to_numpy() | jur.geometry.is_empty.to_numpy())
    parents = jur["parent_id"].fillna("").astype(str)
    has = (parents != "") & parents.isin(set(ids))
    pos = {j: i for i, j in enumerate(ids) if ok[i]}
    child = np.flatnonzero(has.to_numpy() & ok)
    par = np.array([pos.get(p, -1) for p in parents.to_numpy()[child]], dtype=np.int64)
    child, par = child[par >= 0], par[par >= 0]
    if child.size:
        a = shapely.make_valid(geoms[child])
        inside = shapely.area(shapely.intersection(a, shapely.make_valid(geoms[par])))
        area = shapely.area(a)
        bad = (area > 0) & (inside < lc.MIN_INSIDE_PARENT * area)
        if bad.any():
            pairs = [
                f"{ids.iloc[c]} in {parents.iloc[c]} ({100 * i / ar:.0f}% inside)"
                for c, i, ar in zip(child[bad], inside[bad], area[bad], strict=True)
            ]
            problems.append(
                f"{len(pairs)} unit(s) lie mostly outside the unit their parent_id names: "
                f"{pairs[:10]}; fix parent_id (balances are summed per parent)"
            )
    for lv in levels:
        sel = ok & (jur["level_name"].astype(str) == lv).to_numpy()
        g = shapely.make_valid(geoms[sel])
        lids = ids.to_numpy()[sel]
        if g.size < 2:
            continue
        a, b = shapely.STRtree(g).query(g, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        if a.size == 0:
            continue
        inter = shapely.area(shapely.intersection(g[a], g[b]))
        small = np.minimum(shapely.area(g[a]), shapely.area(g[b]))
        bad = inter > lc.OVERLAP_TOLERANCE * np.where(small > 0, small, np.inf)
        if bad.any():
            pairs = [f"{lids[i]}/{lids[j]}" for i, j in zip(a[bad], b[bad], strict=True)]
            problems.append(
                f"{int(bad.sum())} pair(s) of {lv!r} units overlap: {pairs[:10]}; units of one "
                "level must not overlap (their shares would be counted twice); fix the "
                "boundaries, e.g. with a topology-aware simplification (mapshaper)"
            )
    return problems


def _geometry_problems(jur: gpd.GeoDataFrame, levels: list[str]) -> list[str]:
    keys = ("mostly outside the unit", "units overlap")
    return [p for p in lc.jurisdiction_problems(jur, levels) if any(k in p for k in keys)]


def _shipped(basin: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coarse networks drop lines with a warning
        b = load_basin(basin)
    return b.jurisdictions, list(b.config.boundaries.levels)


@pytest.mark.parametrize("basin", ["rhine", "taihu", "tennessee", "thames"])
def test_shipped_layers_pass_both_checks(basin: str) -> None:
    jur, levels = _shipped(basin)
    assert _geometry_problems(jur, levels) == _reference_geometry_problems(jur, levels) == []


@pytest.mark.parametrize("seed", range(6))
def test_moved_units_give_the_problems_of_the_plain_checks(seed: int) -> None:
    # units of the Tennessee moved by random amounts: overlaps of every size (below and
    # above the tolerance, touching only, none) and children leaving their parents
    jur, levels = _shipped("tennessee")
    rng = np.random.default_rng(seed)
    jur = jur.copy()
    geoms = jur.geometry.to_numpy().copy()
    moved = rng.choice(len(jur), size=max(3, len(jur) // 8), replace=False)
    for i in moved:
        g = geoms[i]
        x0, y0, x1, y1 = g.bounds
        size = max(x1 - x0, y1 - y0)
        f = rng.choice([1e-7, 1e-4, 2e-3, 0.05, 0.6])
        geoms[i] = affinity.translate(g, f * size * rng.normal(), f * size * rng.normal())
    # a bow tie (invalid: made valid by both) and a missing geometry
    geoms[moved[0]] = shapely.Polygon([(0, 0), (1e4, 1e4), (1e4, 0), (0, 1e4)])
    geoms[moved[1]] = None
    jur = jur.set_geometry(gpd.GeoSeries(geoms, index=jur.index, crs=jur.crs))
    want = _reference_geometry_problems(jur, levels)
    assert _geometry_problems(jur, levels) == want
    if seed == 0:
        assert any("units overlap" in p for p in want)
        assert any("mostly outside" in p for p in want)


def test_neighbours_touching_and_overlapping_by_a_sliver() -> None:
    # four squares: A|B share an edge, C overlaps A by 0.05 % (under the tolerance),
    # D overlaps B by 1 % (over it); B's parent is A, which it lies beside
    sq = [
        shapely.box(0, 0, 100, 100),
        shapely.box(100, 0, 200, 100),
        shapely.box(-100 + 0.05, 0, 0.05, 100),
        shapely.box(199.0, 0, 299.0, 100),
    ]
    jur = gpd.GeoDataFrame(
        {
            "jur_id": ["A", "B", "C", "D"],
            "level_name": ["l1"] * 4,
            "parent_id": pd.Series([None, "A", None, None], dtype=object),
        },
        geometry=sq,
        crs=3035,
    )
    want = _reference_geometry_problems(jur, ["l1"])
    assert _geometry_problems(jur, ["l1"]) == want
    assert len(want) == 2
    assert "['B/D']" in want[1]
    assert "B in A (0% inside)" in want[0]
