"""The cheap cut of raster cells (``_cut``) gives the very geometries of the plain one.

``_cut`` cuts the elements that the other geometry contains properly by a plain box
instead (see its docstring). The loads tables must stay the same to the last bit, so the
comparison here is vertex for vertex (``equals_exact`` with tolerance 0) and the areas and
lengths are compared with ``==``.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from basingov._threads import THREADS_ENV
from basingov.loads.population import _clipped_lengths, _cut


def _quads(rng: np.random.Generator, n: int, span: float, size: float) -> np.ndarray:
    """Return slightly skewed quadrilaterals (as raster cells projected to a metric CRS)."""
    x = rng.uniform(-span, span, n)
    y = rng.uniform(-span, span, n)
    dx, dy = rng.uniform(-0.1, 0.1, (2, n)) * size
    ring = np.stack(
        [
            np.stack([x, y], 1),
            np.stack([x + size, y + dy], 1),
            np.stack([x + size + dx, y + size + dy], 1),
            np.stack([x + dx, y + size], 1),
        ],
        1,
    )
    return np.asarray(shapely.polygons(ring), dtype=object)


def _blob(rng: np.random.Generator, n: int, radius: float) -> shapely.Polygon:
    """Return a star-shaped polygon with ``n`` jagged vertices (as a basin outline)."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * rng.uniform(0.6, 1.0, n)
    return shapely.Polygon(np.stack([r * np.cos(ang), r * np.sin(ang)], 1))


def _walks(rng: np.random.Generator, n: int, span: float, step: float) -> np.ndarray:
    """Return random-walk lines of 3 to 30 vertices (as river pieces)."""
    out = []
    for _ in range(n):
        k = int(rng.integers(3, 31))
        xy = rng.uniform(-span, span, 2) + np.cumsum(rng.normal(0, step, (k, 2)), 0)
        out.append(shapely.LineString(xy))
    return np.asarray(out, dtype=object)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert bool(shapely.equals_exact(a, b, tolerance=0).all())
    assert (shapely.area(a) == shapely.area(b)).all()
    assert (shapely.length(a) == shapely.length(b)).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cells_cut_by_one_polygon(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = _quads(rng, 600, 1200.0, 37.0)
    outline = _blob(rng, 1000, 1000.0)
    inner = shapely.contains_properly(outline, cells)
    assert inner.any()  # both paths are taken
    assert (~inner).any()
    fast = _cut(cells, outline, threads=False)
    _same(fast, shapely.intersection(cells, outline))
    # the weights as _Cells computes them: identical, and some differ from 1 in the last
    # bit (so returning the cell itself for inner cells would not do)
    w = shapely.area(fast) / shapely.area(cells)
    assert (w[inner] != 1.0).any()


def test_a_few_cells_cut_by_one_outline_on_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # a short array cut by one large polygon is split into threads too (the Rhine's
    # outline cells): the pieces come back in order, the same geometries
    monkeypatch.setenv(THREADS_ENV, "3")
    rng = np.random.default_rng(9)
    cells = _quads(rng, 90, 1200.0, 37.0)
    outline = _blob(rng, 2000, 1000.0)
    assert (~shapely.contains_properly(outline, cells)).sum() >= 3 * 16  # three slices
    _same(_cut(cells, outline), shapely.intersection(cells, outline))


@pytest.mark.parametrize("seed", [3, 4])
def test_cells_cut_by_their_own_polygons_threads(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cells = _quads(rng, 3000, 1500.0, 20.0)
    polys = np.asarray([_blob(rng, 300, r) for r in (400.0, 900.0, 1400.0)], dtype=object)
    polys = shapely.difference(polys, np.roll(polys, 1))  # rings with holes among them
    which = rng.integers(0, 3, cells.size)
    b = polys[which]
    shapely.prepare(b)
    assert shapely.contains_properly(b, cells).any()
    _same(_cut(cells, b), shapely.intersection(cells, b))


@pytest.mark.parametrize("seed", [5, 6])
def test_lines_cut_by_cells(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = _walks(rng, 800, 400.0, 4.0)
    cells = _quads(rng, 800, 400.0, 60.0)
    lines = np.concatenate([lines, shapely.reverse(lines[:50])])  # either direction
    cells = np.concatenate([cells, cells[:50]])
    inner = shapely.contains_properly(cells, lines)
    assert inner.any()
    assert (~inner).any()
    plain = shapely.length(shapely.intersection(cells, lines))
    assert (_clipped_lengths(cells, lines) == plain).all()
    # lines first (the census test cuts unit outlines by a ring around the basin's)
    _same(_cut(lines, cells, threads=False), shapely.intersection(lines, cells))


@pytest.mark.parametrize("seed", [7, 8])
def test_line_lengths_inside_a_cell_are_those_of_the_plain_cut(seed: int) -> None:
    # _clipped_lengths takes the own length of a simple open LineString strictly inside
    # its polygon; crossing, touching, closed, repeated-point and multi-part lines are here too
    rng = np.random.default_rng(seed)
    walks = _walks(rng, 1500, 300.0, 3.0)
    coords = [shapely.get_coordinates(w) for w in walks[:300]]
    doubled = [shapely.LineString(np.repeat(c, 2, axis=0)) for c in coords[:100]]
    closed = [shapely.LineString([*c, c[0]]) for c in coords[100:200]]
    multi = [shapely.MultiLineString([c[:2], c[1:]]) for c in coords[200:300]]
    lines = np.concatenate([walks, shapely.reverse(walks[:200]), doubled, closed, multi])
    cells = np.asarray([_blob(rng, 40, 150.0) for _ in range(40)], dtype=object)
    cells = shapely.transform(cells, lambda xy: xy + rng.uniform(-250, 250, 2))
    li, ci = shapely.STRtree(cells).query(lines, predicate="intersects")
    lines, cells = lines[li], cells[ci]
    shapely.prepare(cells)
    inner = shapely.contains_properly(cells, lines)
    simple = shapely.is_simple(lines) & (shapely.get_type_id(lines) == 1)
    simple &= ~shapely.is_closed(lines)  # basingov._geometry.whole_inside
    for taken in (inner & simple, inner & ~simple, ~inner):  # each path is taken
        assert taken.sum() > 20
    plain = shapely.length(shapely.intersection(cells, lines))
    got = _clipped_lengths(cells, lines)
    assert got.tobytes() == plain.tobytes()
    # a line crossing itself is noded by the overlay: its own length is not always the same
    # bits, so those lines must keep the cut
    crossing = inner & ~simple & (shapely.get_type_id(lines) == 1)
    assert (shapely.length(lines[crossing]) != plain[crossing]).any()


@pytest.mark.slow
def test_shipped_rhine_cells_outline_and_jurisdictions() -> None:
    from basingov.datasets import data_dir, load_basin
    from basingov.io import read_raster
    from basingov.loads.population import _project_cells

    basin = load_basin("rhine")
    crs = basin.basin.crs
    rb = read_raster(data_dir() / "loads" / "rhine_mcd12c1_2019_igbp_0p05deg.tif", what="x")
    rows, cols = np.nonzero(np.ma.filled(rb.data.astype(np.int64), -1) >= 0)
    rows, cols = rows[::4], cols[::4]  # a quarter of the cells keeps the test short
    t = rb.transform
    boxes = shapely.box(
        t.c + t.a * cols, t.f + t.e * (rows + 1), t.c + t.a * (cols + 1), t.f + t.e * rows
    )
    cells = _project_cells(boxes, rb.crs, crs).to_numpy()
    outline = basin.basin.union_all()
    cells = cells[shapely.intersects(outline, cells)]
    _same(_cut(cells, outline, threads=False), shapely.intersection(cells, outline))

    jur = basin.jurisdictions.to_crs(crs)
    fine = jur[jur["level"] == jur["level"].max()].geometry.to_numpy()
    # the finest units (multipolygons) clipped by the basin, as _JurPlan does
    whole = shapely.contains_properly(outline, fine)
    assert whole.any()
    assert (~whole).any()
    fast = _cut(fine, outline, threads=False)
    fine = shapely.intersection(fine, outline)
    _same(fast, fine)
    ci, ji = shapely.STRtree(fine).query(cells, predicate="intersects")
    shapely.prepare(fine)
    parts = _cut(cells[ci], fine[ji], threads=False)
    assert shapely.contains_properly(fine[ji], cells[ci]).sum() > 500
    _same(parts, shapely.intersection(cells[ci], fine[ji]))

    # river-like lines: a line 2.5 km inside the basin outline cut into short stretches,
    # against the cells' parts
    ring = shapely.get_coordinates(shapely.boundary(shapely.buffer(outline, -2500.0)))
    lines = np.asarray(
        [shapely.LineString(ring[i : i + 8]) for i in range(0, len(ring) - 8, 5)], dtype=object
    )
    parts = parts[shapely.area(parts) > 0]
    li, pi = shapely.STRtree(parts).query(lines, predicate="intersects")
    shapely.prepare(parts)
    assert shapely.contains_properly(parts[pi], lines[li]).any()
    plain = shapely.length(shapely.intersection(parts[pi], lines[li]))
    assert (_clipped_lengths(parts[pi], lines[li]) == plain).all()
