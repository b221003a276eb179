"""Population-raster zonal machinery: raster cells, jurisdiction parts, people on pieces."""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError

from basingov._checks import require_columns
from basingov._geometry import whole_inside
from basingov._parallel import elementwise, spreading
from basingov._threads import MIN_CHUNKED, chunked
from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.network import csr_reverse

#: Share of the basin a load raster must cover to pass without a warning: outside its
#: footprint no people and no land are counted (the shared Thames land-cover window
#: covered 94 % of the basin and the Tennessee windows 98.9 %, until the data build grew
#: them to the basin's bounds).
MIN_RASTER_COVER = 0.99

#: Shortest array cut by one large polygon that is split into threads (the Rhine's 104
#: units and 1,077 outline cells, each cut by the basin outline, took 0.04-0.19 s a call
#: in one thread).
_MIN_SPLIT_ONE_POLYGON = 16


def _project_cells(geoms: Any, rcrs: Any, target: Any) -> Any:
    """Project raster cells (or their footprint) to ``target``, as a CRSError if impossible."""
    try:
        return gpd.GeoSeries(geoms, crs=rcrs).to_crs(target)
    except (ProjError, ProjCRSError) as exc:
        msg = (
            f"raster cells cannot be projected from its CRS {rcrs} to {target} ({exc}); "
            "write the raster's true geographic or projected CRS into it (e.g. with "
            "gdal_edit.py -a_srs EPSG:4326)"
        )
        raise CRSError(msg) from None


def raster_cover(
    shape: tuple[int, ...], transform: Any, rcrs: Any, basin: gpd.GeoDataFrame
) -> float:
    """Return the share of the basin polygon inside a raster's footprint (0 to 1).

    Examples
    --------
    >>> from affine import Affine
    >>> b = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2, 1)], crs=4326)
    >>> raster_cover((10, 10), Affine(0.1, 0, 0, 0, -0.1, 1), "EPSG:4326", b)
    0.5
    """
    rows, cols = shape[-2], shape[-1]
    t = transform
    corners = [
        (t.a * c + t.b * r + t.c, t.d * c + t.e * r + t.f)
        for c, r in ((0, 0), (cols, 0), (cols, rows), (0, rows))
    ]
    footprint = shapely.segmentize(shapely.Polygon(corners), _segment(transform))
    fp = _project_cells([footprint], rcrs, basin.crs).iloc[0]
    bpoly = shapely.make_valid(basin.union_all())
    total = float(shapely.area(bpoly))
    if total <= 0:
        return 1.0
    return round(
        float(shapely.area(shapely.intersection(bpoly, shapely.make_valid(fp)))) / total, 6
    )


def _segment(transform: Any) -> float:
    return max(abs(transform.a), abs(transform.e), 1e-9) * 10


def warn_partial_cover(
    what: str, raster: Any, cover: float, shape: tuple[int, ...], transform: Any
) -> None:
    """Warn that a load raster leaves part of the basin out (nothing is counted there)."""
    if cover < MIN_RASTER_COVER:
        warnings.warn(
            f"{what} {raster} covers {100 * cover:.1f}% of the basin polygon; nothing is "
            f"counted in the other {100 * (1 - cover):.1f}% (its extent, "
            f"{_extent_text(shape, transform)}, ends inside the basin): use a raster "
            "that covers the whole basin",
            BasingovWarning,
            stacklevel=3,
        )


def _extent_text(shape: tuple[int, ...], t: Any) -> str:
    xs = [t.c, t.c + t.a * shape[-1]]
    ys = [t.f, t.f + t.e * shape[-2]]
    return f"[{min(xs):.6g}, {min(ys):.6g}, {max(xs):.6g}, {max(ys):.6g}]"


def _clipped_length(a: np.ndarray, b: Any) -> np.ndarray:
    """Length of ``a & b``, element-wise (a module-level function: dask tasks run it)."""
    return np.asarray(shapely.length(shapely.intersection(a, b)), dtype=np.float64)


def _clipped_lengths(polys: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """``shapely.length(shapely.intersection(polys, lines))`` element-wise, the same bits.

    A line that is its own intersection with its polygon (strictly inside, simple and
    open: :func:`basingov._geometry.whole_inside`) takes its own length. Other lines
    strictly inside are cut by a box instead, as in :func:`_cut`; the rest are cut on
    threads (or dask tasks) that return only the lengths.
    ``tests/loads/test_loads_fastcut.py`` checks all three against the plain cut.
    """
    shapely.prepare(polys)
    inner = shapely.contains_properly(polys, lines)
    whole = whole_inside(polys, lines, inside=inner)
    out = np.empty(len(lines), dtype=np.float64)
    out[whole] = shapely.length(lines[whole])
    boxed = inner & ~whole
    if boxed.any():
        li = lines[boxed]
        out[boxed] = _each(_clipped_length, _clear_boxes(li), li)
    rest = ~inner
    if rest.any():
        out[rest] = _each(_clipped_length, polys[rest], lines[rest])
    return out


def _clear_boxes(a: np.ndarray) -> np.ndarray:
    """Return a rectangle around each geometry of ``a``, clear of it on every side."""
    x0, y0, x1, y1 = shapely.bounds(a).T
    d = np.maximum(x1 - x0, y1 - y0) + 1.0
    return shapely.box(x0 - d, y0 - d, x1 + d, y1 + d)


def _cut(a: np.ndarray, b: Any, *, threads: bool = True) -> np.ndarray:
    """``shapely.intersection(a, b)`` element-wise, the same geometries, cheaper.

    Where ``b`` contains ``a`` properly (``a``'s boundary wholly inside ``b``'s interior),
    GEOS's overlay builds the result from ``a``'s own edges alone, which no edge of ``b``
    touches; cut by any such container it comes out the same, vertex for vertex. Those
    elements are cut by a plain rectangle around ``a`` (:func:`_clear_boxes`) instead of
    the intricate ``b`` (a basin outline, a jurisdiction or a cell's part of one, with
    thousands of vertices); only the others meet ``b`` itself (on threads, :func:`_each`,
    unless ``threads`` is False). ``tests/loads/test_loads_fastcut.py`` checks the equality,
    vertex for vertex, on random polygons and on the shipped basins.

    Examples
    --------
    >>> cells = shapely.box(np.arange(4.0), 0.0, np.arange(4.0) + 1, 1.0)
    >>> tri = shapely.Polygon([(-1, -1), (3.5, -1), (-1, 8)])
    >>> fast, plain = _cut(cells, tri), shapely.intersection(cells, tri)
    >>> bool(shapely.equals_exact(fast, plain, tolerance=0).all())
    True
    """
    b_each = isinstance(b, np.ndarray)
    if not b_each:
        shapely.prepare(b)
    inner = shapely.contains_properly(b, a)
    out = np.empty(len(a), dtype=object)
    cut = _each if threads else (lambda f, x, y, **_: f(x, y))
    if inner.any():
        out[inner] = cut(shapely.intersection, a[inner], _clear_boxes(a[inner]))
    rest = ~inner
    if rest.any():
        if b_each:
            out[rest] = cut(shapely.intersection, a[rest], b[rest])
        else:
            # every element meets all of one large polygon (a basin outline): few
            # elements are already much work, so even a short array is split
            out[rest] = cut(shapely.intersection, a[rest], b, min_size=_MIN_SPLIT_ONE_POLYGON)
    return out


def _each(fn: Any, a: np.ndarray, *others: Any, min_size: int = MIN_CHUNKED) -> np.ndarray:
    """``fn(a, *others)`` element-wise: in dask blocks within a scale-out run, else threads.

    Either way each element is computed by the same call, so the result is the same.
    Arrays shorter than ``min_size`` are not split into threads.
    """
    if spreading():
        return np.asarray(elementwise(fn, a, *others))
    n = len(a)
    aligned = [isinstance(o, np.ndarray) and o.ndim >= 1 and len(o) == n for o in others]

    def call(x: np.ndarray, *xs: np.ndarray) -> Any:
        it = iter(xs)
        return fn(x, *(next(it) if al else o for o, al in zip(others, aligned, strict=True)))

    return chunked(
        call, a, *(o for o, al in zip(others, aligned, strict=True) if al), min_size=min_size
    )


class _Cells:
    """Raster cells as boxes in the pieces' CRS with their share inside the basin.

    ``rows, cols`` in the raster's row-major order, ``geoms`` the projected boxes and
    ``weight`` the share of each box's area inside the basin (1 without a basin). Several
    densities on one raster (the land-cover kinds) share one :class:`_Cells`: each cell's
    box and weight are computed once, with the same operations as for any one of them.
    """

    def __init__(
        self,
        pieces: gpd.GeoDataFrame,
        mask: np.ndarray,
        transform: Any,
        rcrs: Any,
        basin: gpd.GeoDataFrame | None,
    ) -> None:
        rows, cols = np.nonzero(mask)
        tr = transform
        x0 = tr.a * cols + tr.b * rows + tr.c
        y0 = tr.d * cols + tr.e * rows + tr.f
        x1 = tr.a * (cols + 1) + tr.b * (rows + 1) + tr.c
        y1 = tr.d * (cols + 1) + tr.e * (rows + 1) + tr.f
        cells = _project_cells(shapely.box(x0, y1, x1, y0), rcrs, pieces.crs)
        cg = cells.to_numpy()
        if not np.isfinite(shapely.get_coordinates(cg)).all():
            msg = (
                f"population raster cells cannot be projected from {rcrs} to {pieces.crs}: the "
                "raster lies outside the area the basin's CRS covers; check its CRS label"
            )
            raise InputError(msg)
        w = np.ones(cg.size)
        if basin is not None:
            bpoly = basin_clip(pieces, basin)
            shapely.prepare(bpoly)
            # a cell that does not meet the basin has an empty intersection: weight 0
            hit = shapely.intersects(bpoly, cg)
            w[~hit] = 0.0
            # the same area(cell & basin) / area(cell), the cut made by _cut
            part = _cut(cg[hit], bpoly)
            w[hit] = shapely.area(part) / shapely.area(cg[hit])
        self.rows, self.cols, self.geoms, self.weight = rows, cols, cg, w
        self.shape = mask.shape
        self.has_basin = basin is not None
        self._plan: tuple[Any, ...] | None = None

    def select(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (ascending) of the cells holding people in ``data``, and their people.

        As :func:`_populated_cells`: people times the basin weight, cells without any left
        out.

        Raises
        ------
        InputError
            If ``data`` holds people in a cell that is not one of these cells.
        """
        vals = np.ma.filled(data, 0.0)
        flat = self.rows * self.shape[1] + self.cols
        sel = np.flatnonzero((vals > 0).ravel()[flat])
        outside = int((vals > 0).sum()) - sel.size
        if outside:
            msg = f"{outside} populated cell(s) are not among the given cells"
            raise InputError(msg)
        pop = vals[self.rows[sel], self.cols[sel]]
        if self.has_basin:
            pop = pop * self.weight[sel]
        keep = pop > 0
        return sel[keep], pop[keep]

    def plan(
        self, pieces: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame, bclip: Any
    ) -> tuple[_JurPlan, np.ndarray]:
        """Return the :class:`_JurPlan` of every cell inside the basin, and each cell's row.

        Computed once per :class:`_Cells` (the same pieces, jurisdictions and basin every
        time: those of the call that made it).
        """
        if self._plan is None:
            inside = np.flatnonzero(self.weight > 0)
            at = np.full(self.geoms.size, -1, dtype=np.int64)
            at[inside] = np.arange(inside.size)
            self._plan = (_JurPlan(pieces, self.geoms[inside], jurisdictions, bclip), at)
        return self._plan


def _populated_cells(
    pieces: gpd.GeoDataFrame,
    data: np.ndarray,
    transform: Any,
    rcrs: Any,
    basin: gpd.GeoDataFrame | None,
    *,
    cells: _Cells | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the populated cells as boxes in the pieces' CRS and their people.

    ``cells`` (the same raster, a superset of the populated cells) saves recomputing the
    boxes and their basin weights.
    """
    if cells is None:
        cells = _Cells(pieces, np.ma.filled(data, 0.0) > 0, transform, rcrs, basin)
    sel, pop = cells.select(data)
    return cells.geoms[sel], pop


def _length_shares(
    geoms: np.ndarray, tree: shapely.STRtree, pg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Share of each geometry's river length that lies on each piece.

    Returns the (geometry, piece) index pairs, the share of each pair, and the geometries
    that hold no river length (their pairs are missing).
    """
    gi, pi = tree.query(geoms, predicate="intersects")
    length = _clipped_lengths(geoms[gi], pg[pi])
    ok = length > 0
    gi, pi, length = gi[ok], pi[ok], length[ok]
    tot = np.bincount(gi, weights=length, minlength=geoms.size)
    return gi, pi, length / tot[gi], np.flatnonzero(tot == 0)


def _nearest(
    tree: shapely.STRtree, geoms: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Find the item of ``tree`` nearest to the centroid of each ``geoms[which]``.

    Returns the geometry indices and the tree indices (ties: the first item).
    """
    near = tree.query_nearest(shapely.centroid(geoms[which]), return_distance=False)
    # query_nearest returns (input index, tree index); keep one item per geometry
    first = np.unique(near[0], return_index=True)[1]
    return which[near[0][first]], near[1][first]


def _load_rows(pieces: gpd.GeoDataFrame, piece: Any, people: np.ndarray, e: float) -> pd.DataFrame:
    """Load rows of the pieces ``pieces.iloc[piece]`` from their ``people``."""
    return pd.DataFrame(
        {
            "piece_id": pieces["piece_id"].to_numpy()[piece],
            "reach_id": pieces["reach_id"].to_numpy()[piece],
            "population": people,
            "load_kg_day": people * e / 1000.0,
            "load_source": "population_raster",
        }
    )


def _population_on_pieces(
    pieces: gpd.GeoDataFrame, cg: np.ndarray, pop: np.ndarray, e: float
) -> pd.DataFrame:
    """Spread each cell's people over its pieces by length (lone cell: nearest piece)."""
    pg = pieces.geometry.to_numpy()
    tree = shapely.STRtree(pg)
    ci, pi, share, lone = _length_shares(cg, tree, pg)
    if lone.size:
        lone_c, lone_p = _nearest(tree, cg, lone)
        ci = np.concatenate([ci, lone_c])
        pi = np.concatenate([pi, lone_p])
        share = np.concatenate([share, np.ones(lone_c.size)])
    people = np.bincount(pi, weights=pop[ci] * share, minlength=pg.size)
    has = np.flatnonzero(people > 0)
    return _load_rows(pieces, has, people[has], e)


def _origin_table(jurisdictions: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Finest-level ids with their ``origin_<level_name>`` at every level (parent chain)."""
    need = ["jur_id", "level", "level_name", "parent_id"]
    require_columns(jurisdictions, need, what="the jurisdiction table", hint=f"it needs {need}")
    j = pd.DataFrame(jurisdictions[need]).astype({"jur_id": str, "level_name": str})
    j["parent_id"] = j["parent_id"].fillna("").astype(str)
    names = j.drop_duplicates("level").sort_values("level")["level_name"].tolist()
    finest = j.loc[j["level"] == j["level"].max(), "level_name"].iloc[0]
    parent = pd.Series(j["parent_id"].to_numpy(), index=j["jur_id"].to_numpy())
    level_of = pd.Series(j["level_name"].to_numpy(), index=j["jur_id"].to_numpy())
    ids = j.loc[j["level_name"] == finest, "jur_id"].to_numpy(dtype=object)
    out = pd.DataFrame({f"origin_{lv}": pd.Series([None] * ids.size, dtype=object) for lv in names})
    cur = pd.Series(ids, dtype=object)
    for _ in names:  # walk up the parent chain, one level per step
        lv = level_of.reindex(cur.to_numpy()).to_numpy(dtype=object)
        for name in names:
            sel = lv == name
            out.loc[sel, f"origin_{name}"] = cur.to_numpy()[sel]
        cur = pd.Series(parent.reindex(cur.to_numpy()).to_numpy(dtype=object), dtype=object)
    out.index = pd.Index(ids)
    return out, finest


def _population_by_jurisdiction(
    pieces: gpd.GeoDataFrame,
    cg: np.ndarray,
    pop: np.ndarray,
    jurisdictions: gpd.GeoDataFrame,
    bclip: Any,
    e: float,
) -> pd.DataFrame:
    """Cells cut by the finest jurisdictions; people go to pieces of their own part."""
    plan = _JurPlan(pieces, cg, jurisdictions, bclip)
    return plan.loads(np.arange(cg.size), pop, e)


def require_pieces(pieces: gpd.GeoDataFrame) -> None:
    """Refuse an empty piece table: a raster's loads would have no piece to go to."""
    if len(pieces) == 0:
        msg = (
            "the piece table is empty: the raster's loads have no river piece to go to; "
            "pass the pieces of basingov.overlay.split_reaches for the basin's network"
        )
        raise InputError(msg)


def basin_clip(pieces: gpd.GeoDataFrame, basin: gpd.GeoDataFrame | None) -> Any:
    """Return the basin polygon in the pieces' CRS as one geometry (None without a basin)."""
    return None if basin is None else basin.to_crs(pieces.crs).union_all()


def place_on_pieces(
    pieces: gpd.GeoDataFrame,
    cg: np.ndarray,
    amount: np.ndarray,
    e: float,
    *,
    jurisdictions: gpd.GeoDataFrame | None,
    basin: gpd.GeoDataFrame | None,
) -> pd.DataFrame:
    """Put each cell's amount on pieces: rows of :func:`_load_rows` (``population`` = amount).

    With ``jurisdictions`` the cells are cut by the finest jurisdictions, clipped to
    ``basin``, and each part's amount stays in its own jurisdiction
    (:func:`_population_by_jurisdiction`); without, each cell's amount is spread over its
    pieces by length (:func:`_population_on_pieces`). ``e`` is the load per unit of
    amount in g/day (``1000.0`` for amounts already in kg/day).
    """
    if jurisdictions is None:
        return _population_on_pieces(pieces, cg, amount, e)
    bclip = basin_clip(pieces, basin)
    return _population_by_jurisdiction(pieces, cg, amount, jurisdictions, bclip, e)


class _JurPlan:
    """The geometry of :func:`_population_by_jurisdiction` for a set of cells.

    The cells' parts in the finest jurisdictions, their river length on each piece and
    the nearest pieces of parts that no river crosses depend on the cells only, not on
    what they hold. Several densities on the same cells (the land-cover kinds) take their
    subsets of it (:meth:`loads`): the rows, in the same order, and so the same sums, as
    a run of :func:`_population_by_jurisdiction` on each subset.
    """

    def __init__(
        self, pieces: gpd.GeoDataFrame, cg: np.ndarray, jurisdictions: gpd.GeoDataFrame, bclip: Any
    ) -> None:
        origins, finest = _origin_table(jurisdictions)
        jur = jurisdictions if jurisdictions.crs == pieces.crs else jurisdictions.to_crs(pieces.crs)
        fj = jur[jur["level_name"].astype(str) == finest]
        fids = fj["jur_id"].astype(str).to_numpy(dtype=object)
        jg = fj.geometry.to_numpy()
        if bclip is not None:
            jg = _cut(jg, bclip)  # units wholly inside the basin: cut by a box
        ci, ji = shapely.STRtree(jg).query(cg, predicate="intersects")
        shapely.prepare(jg)
        part = _cut(cg[ci], jg[ji])
        area = shapely.area(part)
        ok = area > 0
        ci, ji, part, area = ci[ok], ji[ok], part[ok], area[ok]
        cover = np.bincount(ci, weights=area, minlength=cg.size)
        # cells outside every jurisdiction: the rule without jurisdictions
        out_cells = np.flatnonzero(cover == 0)
        geoms = np.concatenate([part, cg[out_cells]])
        home = np.concatenate([ji, np.full(out_cells.size, -1, dtype=np.int64)])
        pg = pieces.geometry.to_numpy()
        tree = shapely.STRtree(pg)
        qi, pi, share, lone = _length_shares(geoms, tree, pg)
        col = f"jur_{finest}"
        pj = (
            pieces[col].astype(str).to_numpy(dtype=object)
            if col in pieces.columns
            else np.full(len(pieces), "", dtype=object)
        )
        lone_jur = np.where(home[lone] >= 0, fids[np.maximum(home[lone], 0)], "")
        # the pieces of each jurisdiction (set and dict lookups: comparing object arrays
        # element by element is slow)
        codes, uniq = pd.factorize(pj)
        bounds, srt = csr_reverse(np.arange(codes.size, dtype=np.int64), codes, uniq.size)
        by_jur = {u: srt[bounds[c] : bounds[c + 1]] for c, u in enumerate(uniq.tolist())}
        present = {j for j in by_jur if j != ""}
        has_piece = np.fromiter((j in present for j in lone_jur), dtype=bool, count=lone_jur.size)
        add_q, add_p = [], []
        for jid in np.unique(lone_jur[has_piece]):  # one small tree per jurisdiction
            which = lone[lone_jur == jid]
            mine = np.asarray(by_jur[jid], dtype=np.int64)
            q, p = _nearest(shapely.STRtree(pg[mine]), geoms, which)
            add_q.append(q)
            add_p.append(mine[p])
        rest = lone[~has_piece]
        if rest.size:
            q, p = _nearest(tree, geoms, rest)
            add_q.append(q)
            add_p.append(p)
        if add_q:
            extra_q = np.concatenate(add_q)
            qi = np.concatenate([qi, extra_q])
            pi = np.concatenate([pi, np.concatenate(add_p)])
            share = np.concatenate([share, np.ones(extra_q.size)])
        self.pieces, self.origins, self.fids = pieces, origins, fids
        self.n_cells = cg.size
        self.ci, self.area, self.cover, self.out_cells = ci, area, cover, out_cells
        self.geom_cell = np.concatenate([ci, out_cells])
        self.home, self.qi, self.pi, self.share = home, qi, pi, share

    def loads(self, cells: np.ndarray, pop: np.ndarray, e: float) -> pd.DataFrame:
        """Load rows of the people ``pop`` of the plan's cells at positions ``cells``.

        ``cells`` ascending: the rows are those :func:`_population_by_jurisdiction` makes
        from these cells alone.
        """
        p_all = np.zeros(self.n_cells)
        p_all[cells] = pop
        inside = np.zeros(self.n_cells, dtype=bool)
        inside[cells] = True
        ci = self.ci
        people = np.concatenate([p_all[ci] * self.area / self.cover[ci], p_all[self.out_cells]])
        rows = inside[self.geom_cell][self.qi]
        qi = self.qi[rows]
        contrib = pd.DataFrame(
            {
                "piece": self.pi[rows],
                "home": self.home[qi],
                "population": people[qi] * self.share[rows],
            }
        )
        agg = contrib.groupby(["piece", "home"], sort=True)["population"].sum().reset_index()
        agg = agg[agg["population"] > 0]
        piece = agg["piece"].to_numpy()
        hj = agg["home"].to_numpy()
        out = _load_rows(self.pieces, piece, agg["population"].to_numpy(), e)
        fids, origins = self.fids, self.origins
        org = origins.reindex(np.where(hj >= 0, fids[np.maximum(hj, 0)], "").astype(object))
        for c in origins.columns:
            out[c] = org[c].to_numpy(dtype=object)
        return out.reset_index(drop=True)
