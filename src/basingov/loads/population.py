"""Population-raster zonal machinery: raster cells, jurisdiction parts, people on pieces."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov.errors import InputError


def _populated_cells(
    pieces: gpd.GeoDataFrame,
    data: np.ndarray,
    transform: Any,
    rcrs: Any,
    basin: gpd.GeoDataFrame | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the populated cells as boxes in the pieces' CRS and their people."""
    vals = np.ma.filled(data, 0.0)
    rows, cols = np.nonzero(vals > 0)
    pop = vals[rows, cols]
    tr = transform
    x0 = tr.a * cols + tr.b * rows + tr.c
    y0 = tr.d * cols + tr.e * rows + tr.f
    x1 = tr.a * (cols + 1) + tr.b * (rows + 1) + tr.c
    y1 = tr.d * (cols + 1) + tr.e * (rows + 1) + tr.f
    cells = gpd.GeoSeries(shapely.box(x0, y1, x1, y0), crs=rcrs).to_crs(pieces.crs)
    cg = cells.to_numpy()
    if not np.isfinite(shapely.get_coordinates(cg)).all():
        msg = (
            f"population raster cells cannot be projected from {rcrs} to {pieces.crs}: the "
            "raster lies outside the area the basin's CRS covers; check its CRS label"
        )
        raise InputError(msg)
    if basin is not None:
        bpoly = basin.to_crs(pieces.crs).union_all()
        w = shapely.area(shapely.intersection(cg, bpoly)) / shapely.area(cg)
        pop = pop * w
    keep = pop > 0
    cg, pop = cg[keep], pop[keep]
    return cg, pop


def _population_on_pieces(
    pieces: gpd.GeoDataFrame, cg: np.ndarray, pop: np.ndarray, e: float
) -> pd.DataFrame:
    """Spread each cell's people over its pieces by length (lone cell: nearest piece)."""
    pg = pieces.geometry.to_numpy()
    tree = shapely.STRtree(pg)
    ci, pi = tree.query(cg, predicate="intersects")
    length = shapely.length(shapely.intersection(cg[ci], pg[pi]))
    ok = length > 0
    ci, pi, length = ci[ok], pi[ok], length[ok]
    tot = np.bincount(ci, weights=length, minlength=cg.size)
    share = length / tot[ci]
    lone = np.flatnonzero(tot == 0)
    if lone.size:
        near = tree.query_nearest(shapely.centroid(cg[lone]), return_distance=False)
        # query_nearest returns (input index, tree index); keep one piece per cell
        first = np.unique(near[0], return_index=True)[1]
        ci = np.concatenate([ci, lone[near[0][first]]])
        pi = np.concatenate([pi, near[1][first]])
        share = np.concatenate([share, np.ones(first.size)])
    people = np.bincount(pi, weights=pop[ci] * share, minlength=pg.size)
    out = pd.DataFrame(
        {
            "piece_id": pieces["piece_id"].to_numpy(),
            "reach_id": pieces["reach_id"].to_numpy(),
            "population": people,
            "load_kg_day": people * e / 1000.0,
            "load_source": "population_raster",
        }
    )
    return out[out["population"] > 0].reset_index(drop=True)


def _origin_table(jurisdictions: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Finest-level ids with their ``origin_<level_name>`` at every level (parent chain)."""
    need = ["jur_id", "level", "level_name", "parent_id"]
    missing = [c for c in need if c not in jurisdictions.columns]
    if missing:
        msg = f"jurisdictions lack column(s) {missing}; they need {need}"
        raise InputError(msg)
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
    origins, finest = _origin_table(jurisdictions)
    jur = jurisdictions if jurisdictions.crs == pieces.crs else jurisdictions.to_crs(pieces.crs)
    fj = jur[jur["level_name"].astype(str) == finest]
    fids = fj["jur_id"].astype(str).to_numpy(dtype=object)
    jg = fj.geometry.to_numpy()
    if bclip is not None:
        jg = shapely.intersection(jg, bclip)
    ci, ji = shapely.STRtree(jg).query(cg, predicate="intersects")
    part = shapely.intersection(cg[ci], jg[ji])
    area = shapely.area(part)
    ok = area > 0
    ci, ji, part, area = ci[ok], ji[ok], part[ok], area[ok]
    cover = np.bincount(ci, weights=area, minlength=cg.size)
    people = pop[ci] * area / cover[ci]
    # people of cells outside every jurisdiction: the rule without jurisdictions
    out_cells = np.flatnonzero(cover == 0)
    geoms = np.concatenate([part, cg[out_cells]])
    people = np.concatenate([people, pop[out_cells]])
    home = np.concatenate([ji, np.full(out_cells.size, -1, dtype=np.int64)])
    pg = pieces.geometry.to_numpy()
    tree = shapely.STRtree(pg)
    qi, pi = tree.query(geoms, predicate="intersects")
    length = shapely.length(shapely.intersection(geoms[qi], pg[pi]))
    sel = length > 0
    qi, pi, length = qi[sel], pi[sel], length[sel]
    tot = np.bincount(qi, weights=length, minlength=geoms.size)
    share = length / tot[qi]
    lone = np.flatnonzero(tot == 0)
    col = f"jur_{finest}"
    pj = (
        pieces[col].astype(str).to_numpy(dtype=object)
        if col in pieces.columns
        else np.full(len(pieces), "", dtype=object)
    )
    lone_jur = np.where(home[lone] >= 0, fids[np.maximum(home[lone], 0)], "")
    has_piece = np.isin(lone_jur, pj[pj != ""])
    add_q, add_p = [], []
    for jid in np.unique(lone_jur[has_piece]):  # one small tree per jurisdiction
        which = lone[lone_jur == jid]
        mine = np.flatnonzero(pj == jid)
        near = shapely.STRtree(pg[mine]).query_nearest(
            shapely.centroid(geoms[which]), return_distance=False
        )
        first = np.unique(near[0], return_index=True)[1]
        add_q.append(which[near[0][first]])
        add_p.append(mine[near[1][first]])
    rest = lone[~has_piece]
    if rest.size:
        near = tree.query_nearest(shapely.centroid(geoms[rest]), return_distance=False)
        first = np.unique(near[0], return_index=True)[1]
        add_q.append(rest[near[0][first]])
        add_p.append(near[1][first])
    if add_q:
        extra_q = np.concatenate(add_q)
        qi = np.concatenate([qi, extra_q])
        pi = np.concatenate([pi, np.concatenate(add_p)])
        share = np.concatenate([share, np.ones(extra_q.size)])
    contrib = pd.DataFrame({"piece": pi, "home": home[qi], "population": people[qi] * share})
    agg = contrib.groupby(["piece", "home"], sort=True)["population"].sum().reset_index()
    agg = agg[agg["population"] > 0]
    piece = agg["piece"].to_numpy()
    hj = agg["home"].to_numpy()
    out = pd.DataFrame(
        {
            "piece_id": pieces["piece_id"].to_numpy()[piece],
            "reach_id": pieces["reach_id"].to_numpy()[piece],
            "population": agg["population"].to_numpy(),
            "load_kg_day": agg["population"].to_numpy() * e / 1000.0,
            "load_source": "population_raster",
        }
    )
    org = origins.reindex(np.where(hj >= 0, fids[np.maximum(hj, 0)], "").astype(object))
    for c in origins.columns:
        out[c] = org[c].to_numpy(dtype=object)
    return out.reset_index(drop=True)
