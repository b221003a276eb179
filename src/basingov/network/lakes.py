"""Lakes and reservoirs on a river network: reaches inside lake polygons become lake nodes.

A river line that runs through a mapped lake or reservoir polygon is not a river there: the
load it carries mixes into the water body, and a spill is held there for the lake's
residence time (DESIGN §2.6, §2.9). :func:`lake_polygons` turns a lake layer into one row per
lake with its area, volume and the source of that volume; :func:`mark_lakes` marks the
reaches inside each lake (``is_lake``) and, where only part of a long reach lies in a lake
(coarse networks such as Natural Earth), splits the reach at the lake shore so that the part
inside becomes its own lake reach.

Lake reaches carry ``lake_id``, ``lake_name``, ``lake_area_km2``, ``lake_volume_km3``,
``lake_volume_source`` and ``lake_outlet`` (the lake reach(es) the water leaves the lake
through). River reaches have ``lake_id = -1``. Retention and residence time follow from these
columns and the discharge at the outlet (:mod:`basingov.spillover.decay`).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from basingov._checks import lonlat, projected_crs, require_columns
from basingov.errors import BasingovWarning, CRSError, InputError
from basingov.network._container import RiverNetwork, network_from_table

__all__ = [
    "DEFAULT_MIN_INSIDE_SHARE",
    "DEFAULT_MIN_SPLIT_KM",
    "LAKE_COLUMNS",
    "LakeInfo",
    "lake_polygons",
    "lake_reaches",
    "mark_lakes",
]

logger = logging.getLogger(__name__)

#: Columns :func:`mark_lakes` adds to the reach table.
LAKE_COLUMNS: tuple[str, ...] = (
    "lake_id",
    "lake_name",
    "lake_area_km2",
    "lake_volume_km3",
    "lake_volume_source",
    "lake_outlet",
)

#: A reach with at least this share of its length inside a lake polygon is a lake reach as a
#: whole (a rule of thumb: the majority of the reach is lake, so it behaves as lake).
DEFAULT_MIN_INSIDE_SHARE = 0.5

#: A reach with less than :data:`DEFAULT_MIN_INSIDE_SHARE` inside a lake, but at least this
#: many km of it inside, is split at the lake shore. Shorter passages (a line clipping a bay
#: or the shore) stay river. 1 km is an assumption of the order of the lake polygons'
#: generalisation (Natural Earth 1:10M).
DEFAULT_MIN_SPLIT_KM = 1.0


@dataclass(frozen=True)
class LakeInfo:
    """What is known of one lake beyond its polygon (from the basin config ``[[lakes.lake]]``).

    Parameters
    ----------
    name
        Name of the lake as in the lake layer, or a new name for an unnamed polygon found
        with ``at``.
    volume_km3
        Published volume (km³).
    volume_source
        Where the volume comes from.
    at
        ``(lon, lat)`` of a point inside the polygon, to find an unnamed polygon.
    """

    name: str
    volume_km3: float | None = None
    volume_source: str = ""
    at: tuple[float, float] | None = None


def lake_polygons(
    lakes: gpd.GeoDataFrame,
    crs: Any,
    *,
    name_column: str = "name",
    info: Sequence[LakeInfo] = (),
    assumed_mean_depth_m: float | None = None,
) -> gpd.GeoDataFrame:
    """One row per lake: ``lake_id, name, area_km2, volume_km3, volume_source, geometry``.

    Parts sharing a non-empty name are dissolved into one lake (the layers are exploded).
    Unnamed polygons are named by the ``LakeInfo`` whose ``at`` point lies in them, else
    ``"unnamed lake <n>"``. The volume is the ``LakeInfo`` volume where one is given, else
    the area times ``assumed_mean_depth_m``, labelled as an assumption in
    ``volume_source``, else unknown (NaN).

    Parameters
    ----------
    lakes
        Lake polygons with a CRS.
    crs
        Projected CRS of the network; areas are measured in it.
    name_column
        Column holding the lake names.
    info
        Volumes and names from the basin config.
    assumed_mean_depth_m
        Mean depth (m) assumed where no volume is given.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per lake, in ``crs``.

    Raises
    ------
    InputError
        If ``name_column`` is missing, a ``LakeInfo`` names no lake of the layer or its
        ``at`` is no ``(lon, lat)`` pair of numbers, or a depth or volume is not positive.
    CRSError
        If ``lakes`` has no CRS or ``crs`` is not projected (areas need metres).

    Examples
    --------
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"name": ["A", ""]}, geometry=[box(0, 0, 2000, 1000),
    ...     box(5000, 0, 6000, 1000)], crs="EPSG:3035")
    >>> t = lake_polygons(g, "EPSG:3035", info=[LakeInfo("A", 0.01, "a survey")],
    ...                   assumed_mean_depth_m=5.0)
    >>> t[["name", "area_km2", "volume_km3"]].values.tolist()
    [['A', 2.0, 0.01], ['unnamed lake 1', 1.0, 0.005]]
    """
    if name_column not in lakes.columns:
        msg = (
            f"the lake layer has no column {name_column!r}; its columns are "
            f"{sorted(map(str, lakes.columns))}; set [lakes] name_column"
        )
        raise InputError(msg)
    if assumed_mean_depth_m is not None and not assumed_mean_depth_m > 0:
        msg = f"assumed_mean_depth_m must be > 0 (m), got {assumed_mean_depth_m}"
        raise InputError(msg)
    # a geographic crs measured lake areas in square degrees; no CRS raised a raw ValueError
    crs = projected_crs(crs, what=f"crs={crs!r} (the network's CRS)")
    if lakes.crs is None:
        msg = "the lake layer has no CRS; set it with lakes.set_crs(...) (e.g. 'EPSG:4326')"
        raise CRSError(msg)
    g = lakes[[name_column, "geometry"]].to_crs(crs)
    names = g[name_column].fillna("").astype(str).str.strip()
    g = gpd.GeoDataFrame({"name": names.to_numpy()}, geometry=g.geometry.to_numpy(), crs=g.crs)
    named = g[g["name"] != ""].dissolve(by="name", sort=True).reset_index()
    unnamed = g[g["name"] == ""].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        pd.concat([named, unnamed], ignore_index=True), geometry="geometry", crs=g.crs
    )
    for li in info:
        if li.at is None:
            continue
        # text ('120.1') and bools (True: 1 degree) went into the Point as numbers
        at = lonlat(li.at, name=f"LakeInfo({li.name!r}).at")
        pt = gpd.GeoSeries([shapely.Point(at)], crs="EPSG:4326").to_crs(crs).iloc[0]
        hit = np.flatnonzero(out.geometry.contains(pt).to_numpy() & (out["name"] == "").to_numpy())
        if hit.size == 0:
            msg = (
                f"lake {li.name!r}: no unnamed lake polygon contains the point at={li.at}; "
                "give a point inside the polygon, or drop 'at' if the layer names the lake"
            )
            raise InputError(msg)
        out.loc[hit[0], "name"] = li.name
    for k, pos in enumerate(np.flatnonzero((out["name"] == "").to_numpy())):
        out.loc[pos, "name"] = f"unnamed lake {k + 1}"
    out["area_km2"] = out.geometry.area.to_numpy() / 1e6
    by_name = {li.name: li for li in info}
    unknown = sorted(set(by_name) - set(out["name"]))
    if unknown:
        msg = f"[[lakes.lake]] name(s) {unknown} are not in the lake layer; its lakes are " + (
            f"{sorted(out['name'].tolist())}"
        )
        raise InputError(msg)
    vol = np.full(len(out), np.nan)
    src = np.full(len(out), "unknown (no volume given and no assumed depth)", dtype=object)
    for i, nm in enumerate(out["name"]):
        given = by_name.get(nm)
        if given is not None and given.volume_km3 is not None:
            if not given.volume_km3 > 0:
                msg = f"lake {nm!r}: volume_km3 must be > 0, got {given.volume_km3}"
                raise InputError(msg)
            vol[i] = given.volume_km3
            src[i] = given.volume_source or "given in the basin config (no source stated)"
        elif assumed_mean_depth_m is not None:
            vol[i] = out["area_km2"].iloc[i] * assumed_mean_depth_m / 1000.0
            src[i] = (
                f"ASSUMPTION: polygon area x {assumed_mean_depth_m:g} m assumed mean depth "
                "(no published volume used)"
            )
    out["volume_km3"] = vol
    out["volume_source"] = src
    out.insert(0, "lake_id", np.arange(len(out), dtype=np.int64))
    return out[["lake_id", "name", "area_km2", "volume_km3", "volume_source", "geometry"]]


def _intervals(
    line: Any, polys: list[tuple[int, Any]], min_m: float
) -> list[tuple[float, float, int]]:
    """Lake intervals ``(s0, s1, lake_id)`` along ``line`` (metres), non-overlapping, sorted."""
    found = []
    for lid, poly in polys:
        inter = line.intersection(poly)
        if inter.is_empty or inter.length < min_m:
            continue
        parts = list(getattr(inter, "geoms", [inter]))
        ss = []
        for p in parts:
            if p.length <= 0:
                continue
            coords = np.asarray(p.coords) if hasattr(p, "coords") else None
            if coords is None or len(coords) < 2:
                continue
            ss.append(line.project(shapely.Point(coords[0])))
            ss.append(line.project(shapely.Point(coords[-1])))
        if ss:
            found.append((min(ss), max(ss), lid, inter.length))
    found.sort(key=lambda t: -t[3])
    kept: list[tuple[float, float, int]] = []
    for s0, s1, lid, _ in found:
        if all(s1 <= a or s0 >= b for a, b, _ in kept):
            kept.append((s0, s1, lid))
    return sorted(kept)


def mark_lakes(
    net: RiverNetwork,
    lakes: gpd.GeoDataFrame,
    *,
    min_inside_share: float = DEFAULT_MIN_INSIDE_SHARE,
    min_split_km: float = DEFAULT_MIN_SPLIT_KM,
) -> RiverNetwork:
    """Mark the reaches inside lake polygons as lake nodes, splitting reaches at the shore.

    A reach with at least ``min_inside_share`` of its length inside a lake becomes a lake
    reach of the lake holding most of it. A reach with a smaller share but at least
    ``min_split_km`` inside is split where it enters and leaves the lake: the upstream
    piece keeps the reach id (so upstream links stay valid), the following pieces get new
    ids (above the largest id), the last piece keeps the reach's downstream links. Local
    area is shared by length; upstream area grows along the reach by that share; discharge
    scales with upstream area (unchanged where upstream area is unknown); velocity is kept.

    Parameters
    ----------
    net
        A line network in a projected CRS.
    lakes
        Output of :func:`lake_polygons`.
    min_inside_share, min_split_km
        The two thresholds above.

    Returns
    -------
    RiverNetwork
        With ``is_lake`` and the :data:`LAKE_COLUMNS`; unchanged topology where no reach was
        split.

    Raises
    ------
    InputError
        If the network's geometries are not lines, a threshold is out of range, or
        ``lakes`` lacks the columns of :func:`lake_polygons` output.
    CRSError
        If ``lakes`` has no CRS.

    Examples
    --------
    A reach of 10 km whose middle 4 km lie in a lake is split into river, lake, river:

    >>> from shapely import box
    >>> from basingov.examples import example_network
    >>> net = example_network([-1], length_m=10000, columns={"local_area_km2": [100.0]})
    >>> lk = lake_polygons(gpd.GeoDataFrame({"name": ["L"]},
    ...     geometry=[box(3000, -500, 7000, 500)], crs="EPSG:3035"), "EPSG:3035")
    >>> out = mark_lakes(net, lk)
    >>> out.reaches[["reach_id", "downstream_id", "is_lake", "length_km"]].values.tolist()
    [[1, 2, False, 3.0], [2, 3, True, 4.0], [3, -1, False, 3.0]]
    >>> out.reaches["upstream_area_km2"].round(1).tolist()
    [30.0, 70.0, 100.0]
    """
    if not 0 < min_inside_share <= 1:
        msg = f"min_inside_share must lie in (0, 1], got {min_inside_share}"
        raise InputError(msg)
    if not min_split_km >= 0:
        msg = f"min_split_km must be >= 0, got {min_split_km}"
        raise InputError(msg)
    # a raw lake layer raised a KeyError 'lake_id' (no CRS: a raw ValueError)
    require_columns(
        lakes,
        ("lake_id", "name", "area_km2", "volume_km3", "volume_source"),
        what="the lake layer",
        hint="pass the output of lake_polygons(layer, crs)",
    )
    if lakes.crs is None:
        msg = "the lake layer has no CRS; set it with lakes.set_crs(...) and pass it again"
        raise CRSError(msg)
    r = net.reaches
    gtypes = set(r.geom_type.unique())
    if not gtypes <= {"LineString", "MultiLineString"}:
        msg = (
            f"lakes can only be marked on a line network; this one has {sorted(gtypes)} "
            "geometries (e.g. HydroBASINS polygons): use a river-line network"
        )
        raise InputError(msg)
    lk = lakes.to_crs(net.crs) if lakes.crs != net.crs else lakes
    li_, ri_ = r.sindex.query(lk.geometry, predicate="intersects")
    n = len(r)
    length_m = r.geometry.length.to_numpy()
    whole = np.full(n, -1, dtype=np.int64)
    split: dict[int, list[tuple[float, float, int]]] = {}
    geoms = r.geometry.to_numpy()
    lgeoms = lk.geometry.to_numpy()
    lids = lk["lake_id"].to_numpy()
    cand: dict[int, list[tuple[int, Any]]] = {}
    for a, b in zip(li_, ri_, strict=True):
        cand.setdefault(int(b), []).append((int(lids[a]), lgeoms[a]))
    for i, polys in cand.items():
        inside = [(lk_id, geoms[i].intersection(p).length) for lk_id, p in polys]
        best_id, best = max(inside, key=lambda t: t[1])
        if length_m[i] > 0 and best / length_m[i] >= min_inside_share:
            whole[i] = best_id
            continue
        line = shapely.line_merge(geoms[i]) if geoms[i].geom_type == "MultiLineString" else geoms[i]
        if line.geom_type != "LineString":
            continue
        iv = _intervals(line, polys, min_split_km * 1000.0)
        if iv:
            split[i] = iv
    table, bif = _split_table(net, split, whole)
    if split:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "the river network has", BasingovWarning)
            out = network_from_table(
                table,
                bifurcations=bif,
                allow_cycles=net.has_cycles,
                source=net.source,
                derived=net.derived,
            )
    else:
        out = dataclasses.replace(net, reaches=table)
    t = out.reaches
    lid = _fill_gaps(out, t["lake_id"].to_numpy(dtype=np.int64))
    t["lake_id"] = lid
    info = lk.set_index("lake_id")
    on = lid >= 0
    t["is_lake"] = t["is_lake"].to_numpy(dtype=bool) | on
    t["lake_name"] = np.where(on, info["name"].reindex(lid).to_numpy(), "")
    for col, src in (("lake_area_km2", "area_km2"), ("lake_volume_km3", "volume_km3")):
        t[col] = np.where(on, info[src].reindex(lid).to_numpy(dtype=float), np.nan)
    t["lake_volume_source"] = np.where(on, info["volume_source"].reindex(lid).to_numpy(), "")
    t["lake_outlet"] = _outlets(out, lid)
    n_split = len(split)
    note = (
        f"{int(on.sum())} reach(es) in {np.unique(lid[on]).size} lake(s) marked as lake nodes"
        + (f" ({n_split} reach(es) split at the lake shore)" if n_split else "")
    )
    logger.info(note)
    missing = sorted(set(lk["name"]) - set(t.loc[on, "lake_name"]))
    if missing:
        logger.info("lakes without any reach of the network: %s", ", ".join(missing))
    return dataclasses.replace(
        out, reaches=t, source=f"{out.source}; {note}" if out.source else note
    )


#: A river gap shorter than this (km) between two reaches of the same lake along the flow
#: (a line leaving a generalised shore polygon and re-entering it) is part of the lake.
MAX_LAKE_GAP_KM = 5.0


def _fill_gaps(net: RiverNetwork, lid: np.ndarray) -> np.ndarray:
    """Relabel short river gaps between reaches of the same lake along ``idx_ds``.

    Without this, a flow line that leaves a generalised lake polygon and re-enters it would
    have two lake outlets on one path, and the lake would retain twice.
    """
    lid = lid.copy()
    ds = net.idx_ds
    length = net.reaches["length_km"].to_numpy(dtype=np.float64)
    for c in np.flatnonzero(lid >= 0):
        lake = lid[c]
        j = ds[c]
        if j < 0 or lid[j] == lake:
            continue
        gap: list[int] = []
        km = 0.0
        while j >= 0 and km <= MAX_LAKE_GAP_KM:
            if lid[j] == lake:
                lid[gap] = lake
                break
            if lid[j] >= 0:
                break
            gap.append(int(j))
            km += length[j]
            j = ds[j]
    return lid


def _outlets(net: RiverNetwork, lid: np.ndarray) -> np.ndarray:
    """Lake reaches whose water leaves the lake for good.

    A lake reach is an outlet if it ends the network, or if a downstream link leaves the
    lake and the main path from there never comes back into the same lake (a shore reach
    whose line only runs outside the generalised polygon for a while and re-enters it
    further down is not an outlet: its water ends up in the lake).
    """
    on = lid >= 0
    src, dst, _ = net.edges
    out = on & (np.bincount(src, minlength=net.n) == 0)
    leaves = on[src] & ((dst < 0) | (lid[np.maximum(dst, 0)] != lid[src]))
    ds = net.idx_ds
    for a, b in zip(src[leaves], dst[leaves], strict=True):
        lake, j = lid[a], b
        while j >= 0 and lid[j] != lake:
            j = ds[j]
        if j < 0:
            out[a] = True
    return out


def _split_table(
    net: RiverNetwork, split: dict[int, list[tuple[float, float, int]]], whole: np.ndarray
) -> tuple[gpd.GeoDataFrame, pd.DataFrame | None]:
    r = net.reaches.copy()
    r["lake_id"] = whole
    bif = net.bifurcations
    if not split:
        return r, bif
    ids = r["reach_id"].to_numpy()
    next_id = int(ids.max()) + 1
    rows: list[dict[str, Any]] = []
    remap: dict[int, int] = {}  # original id -> id of its last piece (for bifurcations)
    keep = np.ones(len(r), dtype=bool)
    for i, iv in split.items():
        row = r.iloc[i]
        line = row.geometry
        line = shapely.line_merge(line) if line.geom_type == "MultiLineString" else line
        total = line.length
        cuts = [0.0]
        kinds: list[int] = []
        pos = 0.0
        for s0, s1, lid in iv:
            if s0 - pos > 1.0:  # a river piece before the lake
                kinds.append(-1)
                cuts.append(s0)
            kinds.append(lid)
            pos = total if total - s1 <= 1.0 else s1
            cuts.append(pos)
        if total - pos > 1.0:
            kinds.append(-1)
            cuts.append(total)
        else:
            cuts[-1] = total
        if len(kinds) == 1:  # the whole reach is the lake after all
            r.iloc[i, r.columns.get_loc("lake_id")] = kinds[0]
            continue
        keep[i] = False
        local = float(row.get("local_area_km2", np.nan))
        up = float(row.get("upstream_area_km2", np.nan))
        q = float(row.get("discharge_m3s", np.nan))
        piece_ids = [int(row["reach_id"])] + [next_id + k for k in range(len(kinds) - 1)]
        next_id += len(kinds) - 1
        remap[int(row["reach_id"])] = piece_ids[-1]
        for k, lid in enumerate(kinds):
            a, b = cuts[k], cuts[k + 1]
            frac_end = b / total
            d = row.to_dict()
            d["reach_id"] = piece_ids[k]
            d["downstream_id"] = piece_ids[k + 1] if k + 1 < len(kinds) else row["downstream_id"]
            d["geometry"] = substring(line, a, b)
            d["length_km"] = (b - a) / 1000.0
            d["local_area_km2"] = local * (b - a) / total
            up_k = up - local * (1.0 - frac_end) if np.isfinite(up) and np.isfinite(local) else up
            d["upstream_area_km2"] = up_k
            if np.isfinite(q) and np.isfinite(up) and up > 0 and np.isfinite(up_k):
                d["discharge_m3s"] = q * up_k / up
            d["lake_id"] = lid
            rows.append(d)
    new = gpd.GeoDataFrame(rows, geometry="geometry", crs=r.crs)
    out = gpd.GeoDataFrame(
        pd.concat([r[keep], new], ignore_index=True), geometry="geometry", crs=r.crs
    )
    drop = [c for c in ("upstream_length_km", "distance_to_outlet_km") if c in out.columns]
    out = out.drop(columns=drop)
    if bif is not None and len(bif):
        bif = bif.copy()
        bif["reach_id"] = [remap.get(int(x), int(x)) for x in bif["reach_id"]]
    return out, bif


def lake_reaches(net: RiverNetwork) -> pd.DataFrame:
    """List the lakes of a marked network: one row per lake with its reaches and outlet(s).

    Columns ``lake_id, lake_name, area_km2, volume_km3, volume_source, n_reaches,
    outlet_reach_ids, outflow_m3s`` (sum of ``discharge_m3s`` over the outlet reaches), or
    an empty table when no reach is a lake.

    Examples
    --------
    Reach 1 of two 1 km reaches lies in lake L and flows out at 5 m³/s:

    >>> from shapely import box
    >>> from basingov.examples import example_network
    >>> net = example_network([2, -1], columns={"discharge_m3s": [5.0, 6.0]})
    >>> lk = lake_polygons(gpd.GeoDataFrame({"name": ["L"]},
    ...     geometry=[box(-10, -10, 1010, 10)], crs="EPSG:3035"), "EPSG:3035")
    >>> lake_reaches(mark_lakes(net, lk))[["lake_name", "outflow_m3s"]].values.tolist()
    [['L', 5.0]]
    """
    cols = ["lake_id", "lake_name", "area_km2", "volume_km3", "volume_source", "n_reaches",
            "outlet_reach_ids", "outflow_m3s"]  # fmt: skip
    r = net.reaches
    if "lake_id" not in r.columns or not (r["lake_id"] >= 0).any():
        return pd.DataFrame(columns=cols)
    on = r[r["lake_id"] >= 0]
    rows = []
    for lid, g in on.groupby("lake_id", sort=True):
        outl = g[g["lake_outlet"].to_numpy(dtype=bool)]
        rows.append(
            {
                "lake_id": int(lid),
                "lake_name": str(g["lake_name"].iloc[0]),
                "area_km2": float(g["lake_area_km2"].iloc[0]),
                "volume_km3": float(g["lake_volume_km3"].iloc[0]),
                "volume_source": str(g["lake_volume_source"].iloc[0]),
                "n_reaches": len(g),
                "outlet_reach_ids": " ".join(str(int(x)) for x in outl["reach_id"]),
                "outflow_m3s": float(outl["discharge_m3s"].sum()),
            }
        )
    return pd.DataFrame(rows, columns=cols)
