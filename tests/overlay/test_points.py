"""Compiled points along lines and points in polygons give GEOS's answers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import LineString, MultiLineString, Polygon, box

from basingov.overlay._points import PointLocator, interpolate


def _geos_interpolate(lines, which, frac):
    pts = shapely.line_interpolate_point(lines[which], frac, normalized=True)
    return shapely.get_coordinates(pts)


def _geos_within(polys, xy):
    pi, pj = shapely.STRtree(polys).query(shapely.points(xy), predicate="within")
    out = np.full(len(xy), -1)
    first = np.unique(pi, return_index=True)[1]
    out[pi[first]] = pj[first]
    return out


def test_interpolate_golden():
    # an L of length 3 + 4 = 7: 0.5 -> 3.5 along, 0.5 up the second leg; 0.25 -> 1.75
    line = np.array([LineString([(0, 0), (3, 0), (3, 4)])])
    got = interpolate(line, np.array([0, 0, 0, 0]), np.array([0.5, 0.25, 0.0, 1.0]))
    assert got.tolist() == [[3.0, 0.5], [1.75, 0.0], [0.0, 0.0], [3.0, 4.0]]


def test_interpolate_equals_geos_bitwise():
    rng = np.random.default_rng(4)
    lines = []
    for _ in range(300):
        n = int(rng.integers(2, 12))
        xy = np.cumsum(rng.normal(0, 1000, (n, 2)), axis=0) + 4e6
        if rng.random() < 0.2:  # a repeated vertex (zero-length segment)
            k = int(rng.integers(0, n))
            xy = np.insert(xy, k, xy[k], axis=0)
        lines.append(LineString(xy))
    lines.append(LineString([(5.0, 5.0), (5.0, 5.0)]))  # zero length
    lines.append(MultiLineString([[(0, 0), (1, 0)], [(5, 5), (5, 7)]]))  # GEOS walks parts
    lines = np.array(lines, dtype=object)
    which = rng.integers(0, lines.size, 20000)
    frac = rng.random(20000)
    frac[:50] = [0.0, 1.0, -0.25, 1.5, 0.5] * 10
    which[:5] = lines.size - 1
    got = interpolate(lines, which, frac)
    np.testing.assert_array_equal(got, _geos_interpolate(lines, which, frac))


def test_interpolate_long_lines_equal_geos_bitwise():
    # lines of hundreds of vertices sampled densely, as the bank samples of a long reach:
    # the segment found by bisection over the running totals is the one GEOS walks to,
    # zero-length segments and positions at vertices included
    rng = np.random.default_rng(11)
    walks = [np.cumsum(rng.normal(0, 300, (n, 2)), axis=0) + 4e6 for n in range(50, 450, 10)]
    # every vertex once, some twice (zero-length segments)
    twice = [np.repeat(w, 1 + (rng.random(len(w)) < 0.02), axis=0) for w in walks]
    lines = np.array([LineString(w) for w in twice], dtype=object)
    which = rng.integers(0, lines.size, 30000)
    frac = rng.random(30000)
    # positions at the vertices themselves, and just either side of them
    at = np.flatnonzero(rng.random(30000) < 0.3)
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    for j in at:
        pts = coords[idx == which[j]]
        seg = np.hypot(*np.diff(pts, axis=0).T)
        run = np.concatenate([[0.0], np.cumsum(seg)])
        v = int(rng.integers(0, run.size))
        frac[j] = run[v] / run[-1] + float(rng.choice([-1e-16, 0.0, 1e-16]))
    got = interpolate(lines, which, frac)
    np.testing.assert_array_equal(got, _geos_interpolate(lines, which, frac))


def test_locate_golden():
    # two unit boxes side by side and one with a hole: a point on the shared edge, in the
    # hole and outside belong to none
    polys = np.array(
        [
            box(0, 0, 1, 1),
            box(1, 0, 2, 1),
            Polygon([(3, 0), (6, 0), (6, 3), (3, 3)], [[(4, 1), (5, 1), (5, 2), (4, 2)]]),
        ]
    )
    xy = np.array([[0.5, 0.5], [1.5, 0.5], [1.0, 0.5], [4.5, 1.5], [3.5, 0.5], [9.0, 9.0]])
    assert PointLocator(polys).locate(xy).tolist() == [0, 1, -1, -1, 2, -1]


@pytest.mark.parametrize("seed", [1, 2])
def test_locate_equals_geos(seed):
    # random polygons (a Voronoi tessellation, holes, multipolygons, overlaps, an invalid
    # bow-tie), points anywhere, on vertices, on edges and a hair off them
    rng = np.random.default_rng(seed)
    seeds = shapely.multipoints(rng.uniform(0, 1e5, (60, 2)) + 4e6)
    cells = list(
        shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box(*shapely.bounds(seeds))))
    )
    cells[0] = cells[0].difference(shapely.buffer(cells[0].centroid, 500))  # a hole
    cells[1] = shapely.union(cells[1], cells[2].buffer(-2000))  # overlaps cell 2
    cells[3] = shapely.MultiPolygon([cells[3], box(3.9e6, 3.9e6, 3.91e6, 3.91e6)])
    b0, b1, b2, b3 = shapely.bounds(cells[4])
    cells[4] = Polygon([(b0, b1), (b2, b3), (b2, b1), (b0, b3)])  # invalid bow-tie
    polys = np.array(cells, dtype=object)
    bb = shapely.total_bounds(polys)
    xy = [np.column_stack([rng.uniform(bb[0], bb[2], 20000), rng.uniform(bb[1], bb[3], 20000)])]
    ring = shapely.get_coordinates(shapely.boundary(polys))
    xy.append(ring)  # vertices
    xy.append((ring[:-1] + ring[1:]) / 2)  # on (or next to) edges
    xy.append(ring + rng.normal(0, 1e-7, ring.shape))  # a hair off the border
    xy = np.vstack(xy)
    got = PointLocator(polys).locate(xy)
    np.testing.assert_array_equal(got, _geos_within(polys, xy))


def test_locate_empty():
    assert PointLocator(np.array([], dtype=object)).locate(np.zeros((2, 2))).tolist() == [-1, -1]
    assert PointLocator(np.array([box(0, 0, 1, 1)])).locate(np.zeros((0, 2))).size == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_near_any_equals_the_dwithin_tree_query(seed):
    # mark_boundary_pieces finds the pieces near a border by boxes and shapely.dwithin; the
    # same pieces as STRtree's dwithin query, pairs at exactly the distance included
    from basingov.overlay.boundary import _near_any

    rng = np.random.default_rng(seed)
    segs = shapely.linestrings(rng.uniform(0, 5000, (400, 2, 2)))
    walks = np.cumsum(rng.normal(0, 40, (1500, 6, 2)), axis=1) + rng.uniform(0, 5000, (1500, 1, 2))
    lines = shapely.linestrings(walks)
    # lines at exactly 30 m from a segment's end (the distance tested), and an empty line
    ends = shapely.get_coordinates(segs)[::2][:50]
    exact = [LineString([(x + 30.0, y), (x + 30.0, y + 1.0)]) for x, y in ends]
    lines = np.concatenate([lines, exact, [LineString()]])
    for d in (30.0, 150.0, 1e-9):
        want = np.unique(shapely.STRtree(segs).query(lines, predicate="dwithin", distance=d)[0])
        got = _near_any(lines, segs, d)
        assert got.tolist() == want.tolist()
        assert 0 < want.size < lines.size or d < 1
