"""River Chief responsibility: who answers for each stretch of every named river, per level.

The River Chief System gives every stretch of river to the head of the jurisdiction it
runs through; a stretch that forms a border is held jointly by both banks. This module
makes that assignment from the overlay (:func:`basingov.overlay.overlay_network`): for
every named river and level, the ordered stretches along the flow, each with the
responsible jurisdiction (or the pair, for a boundary stretch), its length, and its entry
and exit sections (crossing ids where the overlay records a crossing, and the point).

It needs only the network and the overlay, not loads or money, so it lives apart from
:mod:`basingov.priority` (scoring) and :mod:`basingov.compensation` (transfers), and
``basingov query river`` runs without the spillover stage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import did_you_mean, require_columns, require_known, select_levels
from basingov.errors import InputError
from basingov.network import csr_reverse

__all__ = [
    "NAME_GAP_KM",
    "RIVER_CHIEF_COLUMNS",
    "SAME_NAME_MIN_RATIO",
    "alias_groups",
    "match_rivers",
    "no_river_message",
    "river_chiefs",
    "river_courses",
    "river_names",
    "select_river",
]

logger = logging.getLogger(__name__)

#: Columns of ``tables/river_chiefs.csv`` (the GeoPackage layer adds the geometry).
RIVER_CHIEF_COLUMNS: list[str] = [
    "river",
    "course",
    "level_name",
    "seq",
    "jur_id",
    "jur_name",
    "shared",
    "jur_a",
    "jur_b",
    "stretch_id",
    "length_km",
    "start_km",
    "end_km",
    "entry",
    "entry_crossing_id",
    "entry_lon",
    "entry_lat",
    "exit",
    "exit_crossing_id",
    "exit_lon",
    "exit_lat",
    "n_pieces",
]

#: A reach of the river's name is followed upstream only if it drains at least this share
#: of the largest upstream reach at the confluence (see :func:`river_courses`).
SAME_NAME_MIN_RATIO = 0.5

#: Where no upstream reach has the river's name (a reach left unnamed, or named after the
#: tributary, at a confluence), the walk looks this far up each large branch for the name
#: (see :func:`river_courses`). A CCM2 reach can be long: above Ettelbruck one unnamed
#: reach of 16.6 km lies between the Sauer and its name, and 10 km cut the Sauer and the
#: Alsatian Ill in two (docs/guide.md). 10, 20 and 30 km give the same courses elsewhere
#: in the four shipped basins.
NAME_GAP_KM = 20.0

#: What an outside run (river outside every jurisdiction polygon) is called in the table.
OUTSIDE_NAME = "(outside every jurisdiction)"


def _names(reaches: pd.DataFrame) -> np.ndarray:
    if "name" not in reaches.columns:
        msg = (
            "the network has no river names (no 'name' column); set name_column, or "
            "names_path/names_layer, in the basin config's [networks.<key>] table"
        )
        raise InputError(msg)
    return reaches["name"].fillna("").astype(str).str.strip().to_numpy(dtype=object)


def river_courses(
    net: Any, *, aliases: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[np.ndarray]]:
    """Order the reaches of every named river along the flow.

    A river's main course starts at its reach with the largest upstream area and walks
    upstream: at every confluence it follows the upstream reach of the same name with the
    largest upstream area, unless that reach drains less than
    :data:`SAME_NAME_MIN_RATIO` of the largest upstream reach (a brook that a name
    transfer named after the river beside it). Where no upstream reach has the name (a
    lake, a reach left unnamed, a reach at a confluence named after the tributary), it
    follows the branch on which the name comes back soonest, within :data:`NAME_GAP_KM`
    of reaches without it draining at least :data:`SAME_NAME_MIN_RATIO` of the largest
    upstream reach (lake reaches, ``is_lake``, count 0 km: a river is followed across its
    lake); if the name does not come back, it follows the upstream reach with
    the largest upstream area. It ends at the last reach of the name on that walk.
    Downstream, below its lowest reach of the name, it runs on through unnamed reaches
    that it mainly feeds (draining at least :data:`SAME_NAME_MIN_RATIO` of each) when
    they lead into a named river, the one it joins: a name source that leaves a river's
    last kilometres unnamed does not cut them off. (Unnamed reaches that lead elsewhere
    are not taken: on a plain of canals the flow a network routes may leave the named
    canal.)
    Reaches without the name inside a course are kept, so the course is continuous. A
    course's downstream end does not run on a larger river's main course: a reach below a
    confluence that the name source gave the tributary's name belongs to the main river
    that passes through it (rivers are taken largest first; a course made only of such
    reaches is dropped, unless it is all the river has).
    Reaches of the name left over (side branches, or another stream of the same name)
    form further courses, walked the same way. Courses are numbered from 1, the largest first
    (by the upstream area at their end), except that of courses ending in the same reach
    (two branches of the name at one confluence, of which one was named by mistake) the
    longest comes first.

    Parameters
    ----------
    net
        The river network (``reaches`` with ``name``, ``upstream_area_km2`` and
        ``length_km``, without which the walk does not look ahead over gaps; ``idx_ds``).
    aliases
        Rivers whose name changes along the flow: ``{"Rhine": ["Rhein", "Rhin",
        "Rhine"]}`` treats reaches of any of these names as one river called "Rhine".

    Returns
    -------
    dict
        River name -> list of courses, each an array of reach positions from upstream to
        downstream.

    Raises
    ------
    InputError
        If the network's reaches have no ``name`` column; the message says to set
        ``name_column`` (or ``names_path``/``names_layer``) in the basin config's
        ``[networks.<key>]`` table.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = pd.DataFrame({"name": ["Aa", "Aa", "", "Aa", "Aa"],
    ...     "upstream_area_km2": [1.0, 6.0, 5.0, 12.0, 15.0]})
    >>> net = SimpleNamespace(reaches=r, idx_ds=np.array([3, 3, 3, 4, -1]))
    >>> [c.tolist() for c in river_courses(net)["Aa"]]
    [[1, 3, 4], [0]]
    """
    return _courses(net, _names(net.reaches), aliases)


def _courses(
    net: Any, reach_names: np.ndarray, aliases: Mapping[str, Sequence[str]] | None
) -> dict[str, list[np.ndarray]]:
    """:func:`river_courses` with the reaches' names (:func:`_names`) already read."""
    reaches = net.reaches
    names = reach_names.copy()
    if aliases:
        for river, alts in aliases.items():
            names[np.isin(names, list(alts))] = river
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    n = len(reaches)
    # plain floats and ints: the walk reads them one at a time, several times slower
    # from numpy arrays
    area = _upstream_areas(reaches).tolist()
    down = idx_ds.tolist()
    ratio = SAME_NAME_MIN_RATIO
    has_ds = np.flatnonzero(idx_ds >= 0)
    ptr_a, kids_a = csr_reverse(has_ds, idx_ds[has_ds], n)  # upstream reaches of each reach
    ptr, kids = ptr_a.tolist(), kids_a.tolist()

    # without lengths the walk does not look ahead (every gap is infinitely long)
    length = (
        reaches["length_km"].fillna(0.0).to_numpy(dtype=float)
        if "length_km" in reaches
        else np.full(n, np.inf)
    )
    # a lake is crossed, not a gap in the name: its reaches cost nothing in the look ahead
    if "is_lake" in reaches:
        length = np.where(reaches["is_lake"].fillna(False).to_numpy(dtype=bool), 0.0, length)
    length = length.tolist()
    # a course's length, to number courses that end in the same reach (see _numbered)
    course_km = (
        reaches["length_km"].fillna(0.0).to_numpy(dtype=float)
        if "length_km" in reaches
        else np.ones(n)
    )

    def rank(q: int) -> tuple[float, int]:
        return (area[q], -q)

    def gap(q: int, named: set[int], big: float) -> float:
        """Length (km) of the reaches up branch ``q`` before a reach in ``named``.

        Only reaches draining at least SAME_NAME_MIN_RATIO of ``big`` are followed, and
        no further than NAME_GAP_KM (lake reaches count 0 km); ``inf`` if the name is
        not met.
        """
        best = np.inf
        stack = [(q, 0.0)]
        while stack:
            p, d = stack.pop()
            if p in named:
                best = min(best, d)
                continue
            d += length[p]
            if d > NAME_GAP_KM or d >= best:
                continue
            stack.extend(
                (k, d) for k in kids[ptr[p] : ptr[p + 1]] if area[k] >= SAME_NAME_MIN_RATIO * big
            )
        return float(best)

    out: dict[str, list[np.ndarray]] = {}
    codes, uniq = pd.factorize(names)
    code_of = {v: k for k, v in enumerate(uniq)}
    named = np.flatnonzero(names != "")
    # each name's reach positions, ascending (a stable counting sort, not a scan per river)
    at_ptr, at = csr_reverse(np.arange(codes.size), codes, len(uniq))
    for river in sorted(set(names[named])):
        c = code_of[river]
        pos = at[at_ptr[c] : at_ptr[c + 1]]
        left = set(pos.tolist())
        courses: list[np.ndarray] = []
        while left:
            start = max(left, key=rank)
            path = [start]
            last_named = 0
            cur = start
            seen = {start}
            while True:
                cand = [q for q in kids[ptr[cur] : ptr[cur + 1]] if q not in seen]
                if not cand:
                    break
                big = max(cand, key=rank)
                large = [q for q in cand if area[q] >= SAME_NAME_MIN_RATIO * area[big]]
                same = [q for q in large if q in left]
                if same:
                    cur = max(same, key=rank)
                else:
                    ahead = [(gap(q, left, area[big]), q) for q in large]
                    near = [(d, q) for d, q in ahead if d <= NAME_GAP_KM]
                    cur = min(near, key=lambda t: (t[0], -area[t[1]], t[1]))[1] if near else big
                seen.add(cur)
                path.append(cur)
                if cur in left:
                    last_named = len(path) - 1
            path = path[: last_named + 1]
            left.difference_update(path)
            # below its lowest reach of the name, on through unnamed reaches it mainly feeds
            # when they lead to a named river (the one it joins)
            tail = []
            cur = start
            while (d := down[cur]) >= 0 and names[d] == "" and area[cur] >= ratio * area[d]:
                tail.append(d)
                cur = d
            if not (d >= 0 and names[d] != ""):
                tail = []
            courses.append(np.asarray(path[::-1] + tail, dtype=np.int64))
        out[str(river)] = _numbered(courses, area, down, course_km)
    return _yield_to_larger(out, area, down, course_km)


def _upstream_areas(reaches: pd.DataFrame) -> np.ndarray:
    """Each reach's upstream area (km2), 0 where unknown or without the column."""
    if "upstream_area_km2" not in reaches:
        return np.zeros(len(reaches))
    return reaches["upstream_area_km2"].fillna(0.0).to_numpy(dtype=float)


def _numbered(
    courses: list[np.ndarray], area: Sequence[float], down: Sequence[int], km: np.ndarray
) -> list[np.ndarray]:
    """Courses largest first (upstream area at their end), but longest first where they meet.

    Two courses of one river that end in the same reach are two branches of the name at one
    confluence. One river cannot join another twice there: the longer is the river, the
    other a reach of the other branch that the name source gave the river's name (Natural
    Earth's generalised Glan line also names the Nahe's last 3 km above the Glan's mouth,
    which drain more than the Glan). Such courses swap places so that the longest comes
    first; every other course keeps its place.
    """
    order = sorted(courses, key=lambda c: -area[c[-1]])
    slots: dict[int, list[int]] = {}
    for i, c in enumerate(order):
        if (d := down[c[-1]]) >= 0:
            slots.setdefault(d, []).append(i)
    out = list(order)
    for at in slots.values():
        if len(at) > 1:
            longest = sorted((order[i] for i in at), key=lambda c: -float(km[c].sum()))
            for i, c in zip(at, longest, strict=True):
                out[i] = c
    return out


def _largest_first(courses: Mapping[str, list[np.ndarray]], area: Any) -> list[str]:
    """Rivers largest first: by ``area`` (per reach) at the end of their main course."""
    return sorted(courses, key=lambda r: (-area[courses[r][0][-1]], r))


def _yield_to_larger(
    courses: dict[str, list[np.ndarray]],
    area: Sequence[float],
    down: Sequence[int],
    km: np.ndarray,
) -> dict[str, list[np.ndarray]]:
    """Trim each course's downstream end where it runs on a larger river's main course.

    Rivers are taken largest first (by the upstream area at the end of their main course).
    A reach that a larger river's main course passes through (a reach below a confluence
    that a name source gave the tributary's name) is the larger river's: it leaves the
    downstream end of a smaller river's course, and a course made only of such reaches is
    dropped, unless the river has no other course (then its courses are kept as named).
    """
    claimed: set[int] = set()
    out: dict[str, list[np.ndarray]] = {}
    for river in _largest_first(courses, area):
        kept = []
        for c in courses[river]:
            end = len(c)
            while end > 0 and int(c[end - 1]) in claimed:
                end -= 1
            if end:
                kept.append(c[:end])
        kept = kept or list(courses[river])  # only reaches on a larger river: kept as named
        kept = _numbered(kept, area, down, km)
        out[river] = kept
        claimed.update(kept[0].tolist())
    return {r: out[r] for r in courses}


def _crossing_lookup(crossings: pd.DataFrame, level: str) -> dict[tuple[int, int, float], str]:
    c = crossings[crossings["level_name"] == level] if "level_name" in crossings else crossings
    look: dict[tuple[int, int, float], list[str]] = {}
    # Python values by tolist(): iterating the Series walks Arrow strings one by one
    cols = (c[k].tolist() for k in ("crossing_id", "reach_id", "to_reach_id", "fraction"))
    for cid, a, b, f in zip(*cols, strict=True):
        look.setdefault((int(a), int(b), round(float(f), 6)), []).append(str(cid))
    return {k: ";".join(v) for k, v in look.items()}


def river_chiefs(
    net: Any,
    overlay: Any,
    *,
    levels: Sequence[str] | None = None,
    rivers: Sequence[str] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> gpd.GeoDataFrame:
    """River Chief responsibility table: ordered stretches of every named river per level.

    Along each course (:func:`river_courses`), consecutive pieces held by the same
    jurisdiction form one stretch; pieces of a boundary stretch (``stretch_<level>`` of
    the overlay's pieces) form one *shared* stretch held jointly by both banks (``jur_id``
    ``"A|B"``, ``shared`` true), however often a generalised border line zig-zags across
    the river there. A stretch outside every jurisdiction polygon has ``jur_id`` ``""``.

    Entry and exit are the points where the stretch begins and ends (WGS84 lon/lat) with
    the crossing ids the overlay records there (several joined by ``;``; empty where the
    river enters or leaves a shared stretch of its own bank, which is not a crossing).
    ``entry`` / ``exit`` say what the point is: ``"river start"``, ``"border"``,
    ``"joins <river>"`` or ``"basin outlet"``.

    Parameters
    ----------
    net
        The river network (reach table with ``name``).
    overlay
        :class:`basingov.overlay.OverlayResult` of that network.
    levels
        Levels to report (default: all overlay levels).
    rivers
        River names to report (default: every named river); with ``aliases``, the
        alias names.
    aliases
        See :func:`river_courses`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`RIVER_CHIEF_COLUMNS` and the stretch geometry, in the network's
        CRS; ordered by river, course, level and ``seq`` (upstream first).

    Raises
    ------
    InputError
        If the network has no names, a level is not an overlay level, or a river is not
        found.

    Examples
    --------
    The river Big runs 18 km from A into B, 9 km in each:

    >>> from basingov.examples import example_basin, example_jurisdictions, example_network
    >>> from basingov.overlay import overlay_network
    >>> jur = example_jurisdictions(["A", "B"], name=["Aa", "Bb"], width_m=10000,
    ...     height_m=10000)
    >>> net = example_network([-1], length_m=18000, origin=(1000, 5000),
    ...     columns={"name": ["Big"], "local_area_km2": [5.0]})
    >>> ov = overlay_network(net, jur, example_basin(width_m=20000, height_m=10000))
    >>> t = river_chiefs(net, ov)
    >>> t[["seq", "jur_id", "length_km", "exit", "exit_crossing_id"]].values.tolist()
    [[1, 'A', 9.0, 'border', 'country-0'], [2, 'B', 9.0, 'basin outlet', '']]
    """
    reaches = net.reaches
    lv_list = select_levels(levels, overlay.levels)
    rnames = _names(reaches)
    courses = _courses(net, rnames, aliases)
    # the river a course joins: the one whose main course passes there, largest first
    main_of: dict[int, str] = {}
    for r in _largest_first(courses, _upstream_areas(reaches)):
        for q in courses[r][0].tolist():
            main_of.setdefault(q, r)
    if rivers is not None:
        require_known(
            rivers,
            sorted(courses),
            "no river named {unknown} in the network; named rivers include {known}",
        )
        courses = {r: courses[r] for r in rivers}
    pieces = overlay.pieces
    need = ["reach_pos", "fraction_start", "fraction_end", "length_km"]
    need += [f"jur_{lv}" for lv in lv_list]
    require_columns(
        pieces,
        need,
        what="the overlay's piece table",
        hint="run basingov.overlay.overlay_network",
    )
    p = pieces.sort_values(["reach_pos", "piece"] if "piece" in pieces else ["reach_pos"])
    p = p.reset_index(drop=True)
    rpos = p["reach_pos"].to_numpy(dtype=np.int64)
    first = np.searchsorted(rpos, np.arange(len(reaches)), side="left")
    last = np.searchsorted(rpos, np.arange(len(reaches)), side="right")
    fs = p["fraction_start"].to_numpy(dtype=float)
    fe = p["fraction_end"].to_numpy(dtype=float)
    plen = p["length_km"].to_numpy(dtype=float)
    pgeom = p.geometry.to_numpy()
    rgeom = reaches.geometry.to_numpy()
    rid = reaches["reach_id"].to_numpy()
    idx_ds = np.asarray(net.idx_ds, dtype=np.int64)
    jur_names: dict[str, str] = {}
    for lv in lv_list:
        if f"name_{lv}" in p:
            jur_names.update(
                zip(
                    p[f"jur_{lv}"].astype(str).to_numpy(dtype=object),
                    p[f"name_{lv}"].astype(str).to_numpy(dtype=object),
                    strict=True,
                )
            )
    st = overlay.boundary_stretches
    # a stretch's unit may hold no piece (its only river is the shared border): its name
    # is in the stretch table
    for c in ("a", "b"):
        if f"name_{c}" in st:
            jur_names.update(zip(map(str, st[f"jur_{c}"]), map(str, st[f"name_{c}"]), strict=True))
    pair = {
        str(s): (str(a), str(b))
        for s, a, b in zip(st.get("stretch_id", []), st.get("jur_a", []), st.get("jur_b", []),
                           strict=True)
    }  # fmt: skip
    per_level: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, dict[Any, str]]] = {}
    for lv in lv_list:
        jur_all = p[f"jur_{lv}"].fillna("").astype(str).to_numpy(dtype=object)
        scol = f"stretch_{lv}"
        sid_all = (
            p[scol].fillna("").astype(str).to_numpy(dtype=object)
            if scol in p
            else np.full(len(p), "", dtype=object)
        )
        holder = jur_all.copy()
        inside = sid_all != ""
        # inside a boundary stretch the holder is the pair "A|B" of the stretch
        holder[inside] = ["|".join(pair.get(x, ("", ""))) for x in sid_all[inside]]
        key_all = np.where(inside, "s:", "j:").astype(object) + holder
        per_level[lv] = (holder, sid_all, key_all, _crossing_lookup(overlay.crossings, lv))
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    pts_x: list[Any] = []
    for river, cs in courses.items():
        for k, course in enumerate(cs, start=1):
            seq_rows = np.concatenate([np.arange(first[r], last[r]) for r in course])
            if seq_rows.size == 0:
                continue
            cum = np.concatenate([[0.0], np.cumsum(plen[seq_rows])])
            # a stretch that a finer level does not split is the same run of pieces at
            # several levels: its geometry (a costly union) is made once per course
            merged: dict[tuple[int, int], Any] = {}
            for lv in lv_list:
                holder_all, sid_all, key_all, look = per_level[lv]
                key = key_all[seq_rows]
                brk = np.flatnonzero(key[1:] != key[:-1]) + 1
                starts = np.concatenate([[0], brk])
                ends = np.concatenate([brk, [seq_rows.size]])
                for n, (a, b) in enumerate(zip(starts, ends, strict=True), start=1):
                    first_p, last_p = seq_rows[a], seq_rows[b - 1]
                    jid = str(holder_all[first_p])
                    shared = str(key[a]).startswith("s:")
                    if shared:
                        ja, jb = jid.split("|", 1)
                        jname = f"{jur_names.get(ja, ja)} | {jur_names.get(jb, jb)}"
                        s_id = ";".join(dict.fromkeys(str(x) for x in sid_all[seq_rows[a:b]]))
                    else:
                        ja = jb = s_id = ""
                        jname = jur_names.get(jid, jid) if jid else OUTSIDE_NAME
                    if a == 0:
                        entry, entry_id = "river start", ""
                    else:
                        entry = "border"
                        entry_id = _edge_crossing(look, seq_rows[a - 1], first_p, rpos, fe, rid)
                    if b == seq_rows.size:
                        down = int(idx_ds[rpos[last_p]])
                        if down < 0:
                            exit_, exit_id = "basin outlet", ""
                        else:
                            joined = main_of.get(down) or rnames[down] or "an unnamed river"
                            exit_ = f"joins {joined}"
                            fp = int(first[down]) if first[down] < last[down] else -1
                            exit_id = (
                                _edge_crossing(look, last_p, fp, rpos, fe, rid) if fp >= 0 else ""
                            )
                    else:
                        exit_ = "border"
                        exit_id = _edge_crossing(look, last_p, seq_rows[b], rpos, fe, rid)
                    rows.append(
                        {
                            "river": river,
                            "course": k,
                            "level_name": lv,
                            "seq": n,
                            "jur_id": jid,
                            "jur_name": jname,
                            "shared": shared,
                            "jur_a": ja,
                            "jur_b": jb,
                            "stretch_id": s_id,
                            "length_km": float(cum[b] - cum[a]),
                            "start_km": float(cum[a]),
                            "end_km": float(cum[b]),
                            "entry": entry,
                            "entry_crossing_id": entry_id,
                            "exit": exit_,
                            "exit_crossing_id": exit_id,
                            "n_pieces": int(b - a),
                        }
                    )
                    pts_x.append((rgeom[rpos[first_p]], fs[first_p]))
                    pts_x.append((rgeom[rpos[last_p]], fe[last_p]))
                    if (a, b) not in merged:
                        merged[a, b] = shapely.line_merge(shapely.union_all(pgeom[seq_rows[a:b]]))
                    geoms.append(merged[a, b])
    if not rows:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in RIVER_CHIEF_COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=reaches.crs))
    out = pd.DataFrame(rows)
    ends = shapely.line_interpolate_point(
        np.asarray([g for g, _ in pts_x], dtype=object),
        np.asarray([f for _, f in pts_x], dtype=float),
        normalized=True,
    )
    ends_ll = gpd.GeoSeries(ends, crs=reaches.crs).to_crs("EPSG:4326")
    xs, ys = shapely.get_x(ends_ll.to_numpy()), shapely.get_y(ends_ll.to_numpy())
    out["entry_lon"], out["entry_lat"] = xs[0::2], ys[0::2]
    out["exit_lon"], out["exit_lat"] = xs[1::2], ys[1::2]
    gdf = gpd.GeoDataFrame(out[RIVER_CHIEF_COLUMNS], geometry=geoms, crs=reaches.crs)
    order = {lv: i for i, lv in enumerate(lv_list)}
    gdf["_lv"] = gdf["level_name"].map(order)
    gdf = gdf.sort_values(["river", "course", "_lv", "seq"], kind="stable").drop(columns="_lv")
    logger.info(
        "river chiefs: %d stretches on %d named rivers over levels %s",
        len(gdf),
        len(courses),
        lv_list,
    )
    return gdf.reset_index(drop=True)


def _edge_crossing(
    look: Mapping[tuple[int, int, float], str],
    up: int,
    down: int,
    rpos: np.ndarray,
    fe: np.ndarray,
    rid: np.ndarray,
) -> str:
    """Crossing ids on the link from piece ``up`` to piece ``down`` (``""`` if none)."""
    ra, rb = int(rpos[up]), int(rpos[down])
    frac = round(float(fe[up]), 6) if ra == rb else 1.0
    return look.get((int(rid[ra]), int(rid[rb]), frac), "")


def river_names(reaches: pd.DataFrame) -> list[str]:
    """Return the distinct river names of a reach table, sorted.

    Raises
    ------
    InputError
        If ``reaches`` has no ``name`` column (see :func:`river_courses` for the fix).

    Examples
    --------
    >>> river_names(pd.DataFrame({"name": ["Main", "", None, "Rhine", "Main"]}))
    ['Main', 'Rhine']
    """
    return sorted({str(n) for n in _names(reaches) if n})


def alias_groups(names: Sequence[str], groups: Sequence[str]) -> dict[str, list[str]]:
    """Join the names of one river: each group of ``groups`` with two or more ``names``.

    ``groups`` are a config's ``river_aliases`` (``"Rhine|Rhein|Rhin"``), matched ignoring
    case. The label is the names found, in the order of ``names``, joined by " | ".

    Examples
    --------
    >>> alias_groups(["Main", "Rhein", "Rhin", "Rhine"], ["Rhine|Rhein|Rhin", "Lahn|Ohm"])
    {'Rhein | Rhin | Rhine': ['Rhein', 'Rhin', 'Rhine']}
    """
    out: dict[str, list[str]] = {}
    for group in groups:
        wanted = {w.strip().casefold() for w in group.split("|") if w.strip()}
        found = [n for n in names if str(n).casefold() in wanted]
        if len(found) > 1:
            out[" | ".join(found)] = found
    return out


def no_river_message(query: str, names: Iterable[Any]) -> str:
    """Say that ``query`` matches no river name: the closest names, then the names.

    Examples
    --------
    >>> no_river_message("Themes", ["THAMES", "RIVER COLNE", ""])
    "no river matches 'Themes' (did you mean 'THAMES'?); named rivers are ['RIVER COLNE', 'THAMES']"
    """
    names = sorted({str(n) for n in names if str(n).strip()})
    hint = did_you_mean([w.strip() for w in query.split("|") if w.strip()], names)
    return f"no river matches {query!r}{hint}; named rivers are {names[:30]}"


def match_rivers(names: Sequence[str], query: str) -> list[str]:
    """Names matching ``query``: exact (ignoring case) where any is, else by substring.

    ``query`` may list alternatives separated by ``|`` (``"Rhein|Rhin|Rhine"``).

    Raises
    ------
    InputError
        If nothing matches; the message lists the names.

    Examples
    --------
    >>> match_rivers(["Main", "Rhein", "Rhin", "Rhine"], "rhine|RHEIN")
    ['Rhein', 'Rhine']
    >>> match_rivers(["Main", "Rhein"], "ai")
    ['Main']
    """
    wanted = [w.strip().casefold() for w in query.split("|") if w.strip()]
    low = [(n, str(n).casefold()) for n in names]
    hit = [n for n, lc in low if lc in wanted]
    if not hit:
        hit = [n for n, lc in low if any(w in lc for w in wanted)]
    if not hit:
        raise InputError(no_river_message(query, names))
    return list(dict.fromkeys(hit))


def select_river(table: pd.DataFrame, name: str, *, level: str | None = None) -> pd.DataFrame:
    """Rows of a River Chief table for one river name (see :func:`match_rivers`) and level.

    Raises
    ------
    InputError
        If no river matches, listing the named rivers; ``level`` is unknown; or a
        column is missing.

    Examples
    --------
    >>> t = pd.DataFrame({"river": ["Main", "Rhine", "Rhein"], "level_name": ["c"] * 3})
    >>> select_river(t, "rhine")["river"].tolist()
    ['Rhine']
    """
    need = ["river"] if level is None else ["river", "level_name"]
    require_columns(table, need, what="the River Chief table", hint=f"it needs {need}")
    rivers = table["river"].astype(str)
    keep = match_rivers(list(dict.fromkeys(rivers)), name)
    out = table[rivers.isin(keep)]
    if level is not None:
        levels = sorted(set(table["level_name"].astype(str)))
        if level not in levels:
            msg = f"level {level!r} is not in the table; allowed levels are {levels}"
            raise InputError(msg)
        out = out[out["level_name"] == level]
    return out.reset_index(drop=True)
