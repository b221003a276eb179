"""Spatial queries on a basin: upstream, downstream, border crossings, one jurisdiction.

These are the library side of ``basingov query ...``; the CLI parses its arguments, calls
these functions and prints :meth:`NavigationResult.as_dict`,
:func:`crossing_records` or :meth:`JurisdictionReport.as_dict` as JSON.

Each function takes a shipped basin name or a config path, a loaded
:class:`~basingov.datasets.Basin`, or something that already holds a basin's network and
overlay (a :class:`BasinOverlay` from :func:`load_overlay`, or the
:class:`~basingov.pipeline.Results` of :func:`basingov.run`), so repeated queries need not
rebuild the network (see :func:`load_overlay`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from basingov._checks import did_you_mean, fold, lonlat
from basingov.datasets import Basin, load_basin, load_network
from basingov.dependency import DependencyResult, analyse
from basingov.errors import InputError
from basingov.io import to_jsonable
from basingov.network import (
    DOWNSTREAM_MODES,
    UPSTREAM_MODES,
    DownstreamMode,
    RiverNetwork,
    UpstreamMode,
    navigate,
    snap_point,
)
from basingov.overlay import (
    CROSSING_KEY_COLUMNS,
    OverlayResult,
    overlay_network,
    reach_jurisdictions,
    split_reaches,
)
from basingov.rivers import (
    alias_groups,
    match_rivers,
    no_river_message,
    river_chiefs,
    river_names,
)

__all__ = [
    "CROSSING_FIELDS",
    "BasinOverlay",
    "JurisdictionReport",
    "NavigationResult",
    "crossing_records",
    "crossings",
    "downstream",
    "find_jurisdiction",
    "jurisdiction",
    "load_overlay",
    "river",
    "upstream",
]

#: Fields of one crossing in the JSON of ``basingov query crossings|jurisdiction``.
CROSSING_FIELDS: tuple[str, ...] = (
    *CROSSING_KEY_COLUMNS,
    "lon",
    "lat",
    "upstream_area_km2",
    "discharge_m3s",
    "distance_to_outlet_km",
    "on_main_stem",
)

_INDICATORS = (
    "upstream_dependency",
    "downstream_exposure",
    "downstream_area_km2",
    "chain_depth",
    "betweenness",
)


class BasinOverlay(NamedTuple):
    """A basin with its configured network and the overlay of its jurisdictions."""

    basin: Basin
    network: RiverNetwork
    overlay: OverlayResult
    dependency: DependencyResult


@runtime_checkable
class _HasOverlay(Protocol):
    """Anything holding a basin, its network and its overlay (BasinOverlay, pipeline Results)."""

    @property
    def basin(self) -> Basin: ...

    @property
    def network(self) -> Any: ...

    @property
    def overlay(self) -> Any: ...

    @property
    def dependency(self) -> Any: ...


BasinLike = str | Path | Basin | _HasOverlay


def load_overlay(basin: str | Path | Basin) -> BasinOverlay:
    """Load a basin, build its configured network (with areas) and overlay its jurisdictions.

    Parameters
    ----------
    basin
        Shipped basin name, path to a basin config, or a loaded basin.

    Returns
    -------
    BasinOverlay
        ``(basin, network, overlay, dependency)``; pass it to the query functions to
        reuse it.

    Examples
    --------
    Load once, ask several questions (Lake Taihu, on its HydroRIVERS network):

    >>> taihu = load_overlay("taihu")
    >>> taihu.basin.name, taihu.network.n, taihu.overlay.levels
    ('taihu', 1641, ('province', 'prefecture'))
    >>> upstream(taihu, (121.216, 31.255)).reach_id, len(crossings(taihu))
    (40636807, 21)
    >>> jurisdiction(taihu, "CN031").all_upstream
    ['CN032', 'CN033', 'CN034']
    """
    b = basin if isinstance(basin, Basin) else load_basin(basin)
    net = load_network(b)
    ov = overlay_network(net, b.jurisdictions, b.basin, levels=list(b.config.boundaries.levels))
    return BasinOverlay(b, net, ov, analyse(ov, b.jurisdictions))


def _as_overlay(obj: BasinLike) -> BasinOverlay:
    if isinstance(obj, str | Path | Basin):
        return load_overlay(obj)
    if isinstance(obj, _HasOverlay) and isinstance(obj.overlay, OverlayResult):
        return BasinOverlay(obj.basin, obj.network, obj.overlay, obj.dependency)
    msg = (
        "expected a basin name, a config path, a Basin, a BasinOverlay (load_overlay) or the "
        f"Results of basingov.run; got {type(obj).__name__}"
    )
    raise InputError(msg)


# --- upstream / downstream ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NavigationResult:
    """What lies upstream or downstream of a point.

    Attributes
    ----------
    basin, network
        Basin name and ``[networks.<key>]`` key (None when a bare network was queried).
    derived_network
        Whether the network's topology was derived (e.g. oriented lines), not measured.
    mode, max_km
        The navigation mode (NLDI: UM, UT, DM, DD) and distance limit.
    at
        The query point (lon, lat).
    reach_id, snap_distance_m
        The reach the point snapped to, and how far away it was.
    upstream_area_km2, upstream_area_source
        Upstream area at the snapped point, and where the network's areas come from.
    reaches
        The reaches selected, upstream to downstream for downstream modes.
    jurisdictions
        Per level, the jurisdictions drained or crossed (``jur_id``, ``name``), in order.
    jurisdictions_note
        Why ``jurisdictions`` is empty, if it is.
    """

    basin: str | None
    network: str | None
    derived_network: bool
    mode: str
    max_km: float | None
    at: tuple[float, float]
    reach_id: int
    snap_distance_m: float
    upstream_area_km2: float
    upstream_area_source: str
    reaches: gpd.GeoDataFrame
    jurisdictions: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    jurisdictions_note: str = ""

    @property
    def n_reaches(self) -> int:
        """Number of reaches selected."""
        return len(self.reaches)

    @property
    def length_km(self) -> float:
        """Total length of the reaches selected."""
        return float(self.reaches["length_km"].sum())

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON summary of ``basingov query upstream|downstream`` (DESIGN §2.13)."""
        out: dict[str, Any] = {
            "basin": self.basin,
            "network": self.network,
            "derived_network": self.derived_network,
            "mode": self.mode,
            "max_km": to_jsonable(self.max_km),  # inf (no limit) is null, as None is
            "at": list(self.at),
            "reach_id": self.reach_id,
            "snap_distance_m": round(self.snap_distance_m, 1),
            "upstream_area_km2": _num(self.upstream_area_km2),
            "upstream_area_source": self.upstream_area_source,
            "n_reaches": self.n_reaches,
            "length_km": _num(self.length_km),
            "jurisdictions": self.jurisdictions,
        }
        if self.jurisdictions_note:
            out["jurisdictions_note"] = self.jurisdictions_note
        return out


def _num(v: float) -> float | None:
    return None if not math.isfinite(v) else round(v, 3)


def _navigate(
    where: BasinLike | RiverNetwork,
    at: Sequence[float],
    *,
    mode: str,
    max_km: float | None,
    network: str | None,
    tolerance_m: float,
) -> NavigationResult:
    # text ('7.5') and bools (True: 1 degree) went through float() here, unlike snap_point
    lon, lat = lonlat(at, name="at")
    b: Basin | None = None
    net: RiverNetwork
    key: str | None = network
    if isinstance(where, RiverNetwork):
        if network is not None:
            msg = "network= selects a basin's [networks.<key>]; it cannot be used with a network"
            raise InputError(msg)
        net = where
    elif isinstance(where, str | Path | Basin):
        b = where if isinstance(where, Basin) else load_basin(where)
    elif isinstance(where, _HasOverlay):
        b = where.basin
    else:
        msg = (
            "expected a basin name, a config path, a Basin, a RiverNetwork, a BasinOverlay or "
            f"the Results of basingov.run; got {type(where).__name__}"
        )
        raise InputError(msg)
    if b is not None:
        cfg = b.config
        key = network or cfg.basin.network
        if key not in cfg.networks:
            msg = f"network {key!r} is not in the basin config; available: {sorted(cfg.networks)}"
            raise InputError(msg)
        held = where.network if isinstance(where, _HasOverlay) else None
        if isinstance(held, RiverNetwork) and key == cfg.basin.network:
            net = held  # the network the overlay or run already built
        else:
            net = load_network(b, key=key)
    snap = snap_point(net, lon, lat, tolerance_m=tolerance_m)
    pos = navigate(net, snap.reach_id, mode=mode, max_km=max_km)  # type: ignore[arg-type]
    sel = net.reaches.iloc[pos].reset_index(drop=True)
    jurisdictions: dict[str, list[dict[str, str]]] = {}
    note = ""
    if b is None:
        note = "no jurisdictions: a bare network was queried; pass the basin to get them"
    elif len(sel):
        pieces = split_reaches(sel, b.jurisdictions, levels=list(b.config.boundaries.levels))
        jurisdictions = reach_jurisdictions(pieces, sel["reach_id"].to_numpy(dtype=np.int64))
    return NavigationResult(
        basin=b.name if b is not None else None,
        network=key,
        derived_network=bool(net.derived),
        mode=mode,
        max_km=max_km,
        at=(lon, lat),
        reach_id=snap.reach_id,
        snap_distance_m=snap.distance_m,
        upstream_area_km2=snap.upstream_area_km2,
        upstream_area_source=net.source,
        reaches=sel,
        jurisdictions=jurisdictions,
        jurisdictions_note=note,
    )


def _check_mode(mode: str, allowed: tuple[str, ...], other: str) -> None:
    if mode not in allowed:
        msg = f"mode must be one of {list(allowed)}, got {mode!r}; use {other}() for the others"
        raise InputError(msg)


def upstream(
    basin_or_network: BasinLike | RiverNetwork,
    at: Sequence[float],
    *,
    mode: UpstreamMode = "UT",
    max_km: float | None = None,
    network: str | None = None,
    tolerance_m: float = 2000.0,
) -> NavigationResult:
    """Everything upstream of a point: reaches, upstream area, jurisdictions drained.

    The point snaps to the nearest reach, preferring the larger river among near ties
    (:func:`basingov.network.snap_point`), and the network is navigated from there
    (:func:`basingov.network.navigate`).

    Parameters
    ----------
    basin_or_network
        A shipped basin name or config path, a :class:`~basingov.datasets.Basin`, a
        :class:`BasinOverlay`, the Results of :func:`basingov.run`, or a bare
        :class:`~basingov.network.RiverNetwork` (then no jurisdictions are reported).
    at
        The query point ``(lon, lat)`` in WGS84 degrees.
    mode
        ``"UT"``: every reach draining to the point; ``"UM"``: the upstream main stem.
    max_km
        Keep reaches beginning within this distance along the network.
    network
        Key of a ``[networks.<key>]`` table of the basin config; default: the basin's.
    tolerance_m
        Largest snapping distance.

    Returns
    -------
    NavigationResult
        ``as_dict()`` gives the JSON of ``basingov query upstream``.

    Raises
    ------
    InputError
        For a bad point, mode or network key.
    EmptyResultError
        If no reach lies within ``tolerance_m`` of the point.

    See Also
    --------
    downstream

    Examples
    --------
    Upstream of Suzhou Creek in Shanghai, where the main Taihu river system leaves the
    shipped HydroRIVERS extract (the lake, the Tiaoxi and Anhui's headwaters drain there):

    >>> r = upstream("taihu", (121.216, 31.255))
    >>> r.reach_id, r.n_reaches, round(r.upstream_area_km2, -2)
    (40636807, 1237, 19700.0)
    >>> [j["name"] for j in r.jurisdictions["province"]]
    ['Shanghai Municipality', 'Jiangsu Province', 'Zhejiang Province', 'Anhui Province']
    """
    _check_mode(mode, UPSTREAM_MODES, "downstream")
    return _navigate(
        basin_or_network, at, mode=mode, max_km=max_km, network=network, tolerance_m=tolerance_m
    )


def downstream(
    basin_or_network: BasinLike | RiverNetwork,
    at: Sequence[float],
    *,
    mode: DownstreamMode = "DM",
    max_km: float | None = None,
    network: str | None = None,
    tolerance_m: float = 2000.0,
) -> NavigationResult:
    """Everything downstream of a point: reaches to the outlet and jurisdictions crossed.

    Parameters
    ----------
    basin_or_network, at, max_km, network, tolerance_m
        As in :func:`upstream`.
    mode
        ``"DM"``: the main downstream path; ``"DD"``: every diversion too.

    Returns
    -------
    NavigationResult
        Reaches upstream to downstream; ``as_dict()`` gives the JSON of
        ``basingov query downstream``.

    Raises
    ------
    InputError, EmptyResultError
        As in :func:`upstream`.

    See Also
    --------
    upstream

    Examples
    --------
    Downstream of the West Tiaoxi in Huzhou (Zhejiang): through Lake Taihu to Shanghai.

    >>> r = downstream("taihu", (119.95, 30.80))
    >>> r.mode, r.n_reaches, [j["name"] for j in r.jurisdictions["province"]]
    ('DM', 46, ['Zhejiang Province', 'Jiangsu Province', 'Shanghai Municipality'])
    """
    _check_mode(mode, DOWNSTREAM_MODES, "upstream")
    return _navigate(
        basin_or_network, at, mode=mode, max_km=max_km, network=network, tolerance_m=tolerance_m
    )


# --- crossings / jurisdiction --------------------------------------------------------------


def crossing_records(crossings: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records of a crossing table, with the fields of :data:`CROSSING_FIELDS`.

    Examples
    --------
    >>> crossing_records(pd.DataFrame({"from_jur": ["A"], "to_jur": ["B"], "lon": [float("nan")],
    ...     "geometry": [None]}))
    [{'from_jur': 'A', 'to_jur': 'B', 'lon': None}]
    """
    cols = [c for c in CROSSING_FIELDS if c in crossings.columns]
    return [
        {str(k): to_jsonable(v) for k, v in row.items()}
        for row in crossings[cols].to_dict("records")
    ]


def find_jurisdiction(
    jurisdictions: pd.DataFrame, name_or_id: str, *, level: str | None = None
) -> pd.Series:
    """Find one jurisdiction by id, exact name or unique name prefix (case-insensitive).

    Names are compared with their accents too, then, if nothing matches, without them
    (``"Zurich"`` finds ``"Zürich"``); when still nothing matches, the error suggests the
    closest names.

    Parameters
    ----------
    jurisdictions
        A jurisdiction table (``jur_id, name, level_name``), e.g. ``Basin.jurisdictions``.
    name_or_id
        A ``jur_id``, a name, or a prefix of exactly one name.
    level
        Look at this level only.

    Returns
    -------
    pandas.Series
        The jurisdiction's row.

    Raises
    ------
    InputError
        If the level is unknown, or nothing or several jurisdictions match; the message
        lists candidates.

    Examples
    --------
    >>> j = pd.DataFrame({"jur_id": ["DE", "DEA"], "name": ["Deutschland", "Nordrhein"],
    ...     "level_name": ["country", "nuts1"]})
    >>> find_jurisdiction(j, "deutsch")["jur_id"]
    'DE'
    """
    if not isinstance(name_or_id, str):
        msg = (
            f"a jurisdiction is looked up by text (a jur_id, a name or a name prefix), got "
            f"{name_or_id!r} ({type(name_or_id).__name__}); pass it as text"
            + (
                f", e.g. '{name_or_id}' (with the jur_id's leading zeros, if any)"
                if isinstance(name_or_id, int | float)
                else ""
            )
        )
        raise InputError(msg)
    j = jurisdictions
    if level is not None:
        levels = sorted(set(j["level_name"]))
        if level not in levels:
            msg = f"level {level!r} is not a jurisdiction level; allowed levels are {levels}"
            raise InputError(msg)
        j = j[j["level_name"] == level]
    key = name_or_id.strip().casefold()
    folded = j["name"].astype(str).map(fold)
    for hit in (
        j[j["jur_id"].astype(str).str.casefold() == key],
        j[j["name"].astype(str).str.casefold() == key],
        j[j["name"].astype(str).str.casefold().str.startswith(key)],
        # accents ignored last ("Zurich" finds "Zürich")
        j[folded == fold(key)],
        j[folded.str.startswith(fold(key))],
    ):
        if len(hit) == 1:
            return hit.iloc[0]
        if len(hit) > 1:
            cands = [
                f"{a} ({b}, {c})"
                for a, b, c in zip(hit["jur_id"], hit["name"], hit["level_name"], strict=True)
            ]
            msg = (
                f"{name_or_id!r} matches {len(hit)} jurisdictions: {cands[:10]}; pass a jur_id "
                "or a level (--level)"
            )
            raise InputError(msg)
    msg = (
        f"no jurisdiction matches {name_or_id!r}"
        + (f" at level {level!r}" if level else "")
        + did_you_mean([name_or_id.strip()], j["name"])
        + "; pass a jur_id or a name from the basin's jurisdictions layer"
    )
    raise InputError(msg)


#: Longest unnamed run (km) between two reaches of one river that a river query bridges:
#: name transfer from generalised lines misses reaches where the mapped network and the
#: named line part (e.g. at Basel and Lauterbourg on the Rhine).
RIVER_GAP_KM = 30.0


def _fill_river_gaps(net: RiverNetwork, named: np.ndarray) -> np.ndarray:
    """Add the unnamed reaches on the flow path between two named reaches (<= RIVER_GAP_KM)."""
    out = named.copy()
    ds = np.asarray(net.idx_ds)
    length = net.reaches["length_km"].to_numpy(dtype=float)
    for start in np.flatnonzero(named):
        path, km, i = [], 0.0, int(ds[start])
        while i >= 0 and not named[i] and km <= RIVER_GAP_KM:
            path.append(i)
            km += length[i]
            i = int(ds[i])
        if i >= 0 and named[i] and path and km <= RIVER_GAP_KM:
            out[path] = True
    return out


def river_names_for(query: str, aliases: Sequence[str] = ()) -> list[str]:
    """Return the lower-case names a river query stands for, with their alias groups.

    Examples
    --------
    >>> river_names_for("Rhine", ["Rhine|Rhein|Rhin"])
    ['rhine', 'rhein', 'rhin']
    >>> river_names_for("Main|Neckar")
    ['main', 'neckar']
    """
    wanted = [w.strip().casefold() for w in query.split("|") if w.strip()]
    for group in aliases:
        names = [n.strip().casefold() for n in group.split("|") if n.strip()]
        if any(w in names for w in wanted):
            wanted.extend(n for n in names if n not in wanted)
    return wanted


def crossings(
    basin_or_overlay: BasinLike,
    *,
    level: str | None = None,
    river: str | None = None,
    between: tuple[str, str] | None = None,
    include_minor: bool = False,
) -> gpd.GeoDataFrame:
    """Where rivers pass from one jurisdiction into another, optionally filtered.

    Parameters
    ----------
    basin_or_overlay
        A shipped basin name or config path, a :class:`~basingov.datasets.Basin`, a
        :class:`BasinOverlay` (:func:`load_overlay`) or the Results of :func:`basingov.run`.
    level
        Only crossings of this jurisdiction level (default: every level).
    river
        Only crossings on reaches whose name contains this text (case-insensitive), or any
        name of its group in the network's ``river_aliases`` (e.g. Rhine, Rhein, Rhin);
        ``|`` separates alternatives.
    between
        Only crossings between these two jurisdictions, in either direction (ids, names or
        unique name prefixes; see :func:`find_jurisdiction`).
    include_minor
        Also list the crossings flagged ``minor`` by the overlay (small streams, see
        :data:`basingov.overlay.MINOR_AREA_SHARE`).

    Returns
    -------
    geopandas.GeoDataFrame
        The crossing inventory rows (DESIGN §2.13 ``crossings``); :func:`crossing_records`
        gives the JSON of ``basingov query crossings``.

    Raises
    ------
    InputError
        If the level is unknown, the network has no river names, no reach name matches
        ``river`` (the message suggests close names), or a jurisdiction of ``between``
        cannot be found.

    Examples
    --------
    The main Taihu system runs from Zhejiang into Jiangsu (the Tiaoxi into the lake) and from
    Jiangsu into Shanghai:

    >>> c = crossings("taihu", level="province")
    >>> c.loc[c["on_main_stem"], ["from_name", "to_name"]].values.tolist()
    [['Zhejiang Province', 'Jiangsu Province'], ['Jiangsu Province', 'Shanghai Municipality']]
    """
    b, net, ov, _ = _as_overlay(basin_or_overlay)
    c = ov.crossings_at(level) if level is not None else ov.crossings
    if not include_minor and "minor" in c.columns:
        c = c[~c["minor"].to_numpy(dtype=bool)]
    if river is not None:
        reaches = net.reaches
        if "name" not in reaches.columns:
            msg = (
                "filtering by river needs river names, but this basin's network has no 'name' "
                "column; set name_column in the basin config's [networks.<key>] table"
            )
            raise InputError(msg)
        names = reaches.set_index("reach_id")["name"].astype(str).str.casefold()
        wanted = river_names_for(river, b.config.network.river_aliases)
        hit = np.zeros(len(names), dtype=bool)
        for w in wanted:
            hit |= names.str.contains(w, regex=False).to_numpy()
        if not hit.any():
            raise InputError(no_river_message(river, reaches["name"].dropna().unique()))
        on = _fill_river_gaps(net, hit)
        c = c[c["reach_id"].isin(names.index[on])]
    if between is not None:
        try:
            if isinstance(between, str):
                raise TypeError
            first, second = between
        except (TypeError, ValueError):
            msg = (
                "between must be a pair of jurisdictions (ids, names or unique name prefixes), "
                f"e.g. ('DE', 'NL'); got {between!r}"
            )
            raise InputError(msg) from None
        a = find_jurisdiction(b.jurisdictions, first, level=level)["jur_id"]
        z = find_jurisdiction(b.jurisdictions, second, level=level)["jur_id"]
        pair = ((c["from_jur"] == a) & (c["to_jur"] == z)) | (
            (c["from_jur"] == z) & (c["to_jur"] == a)
        )
        c = c[pair]
    return c.reset_index(drop=True)


_LINK_COLUMNS = ["jur_id", "name", "upstream_area_km2", "discharge_m3s", "n_crossings"]


@dataclass(frozen=True, eq=False)
class JurisdictionReport:
    """What drains into a jurisdiction, where its water goes, its crossings and indicators.

    Attributes
    ----------
    jur_id, name, level, level_name
        The jurisdiction.
    area_km2, share
        Its area inside the basin and its share of the basin area at its level.
    drains_from, drains_to
        Neighbours upstream and downstream in the jurisdiction graph of its level:
        ``jur_id, name, upstream_area_km2, discharge_m3s, n_crossings``.
    all_upstream, all_downstream
        Every jurisdiction of its level upstream or downstream of it (sorted ids).
    crossings
        The crossings into or out of it.
    indicators
        Its dependency indicators (:mod:`basingov.dependency`); empty if it has none.
    """

    jur_id: str
    name: str
    level: int | None
    level_name: str
    area_km2: float
    share: float
    drains_from: pd.DataFrame
    drains_to: pd.DataFrame
    all_upstream: list[str]
    all_downstream: list[str]
    crossings: gpd.GeoDataFrame
    indicators: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON of ``basingov query jurisdiction``."""

        def links(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{str(k): to_jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]

        return {
            "jur_id": self.jur_id,
            "name": self.name,
            "level": self.level,
            "level_name": self.level_name,
            "area_km2": to_jsonable(self.area_km2),
            "share": to_jsonable(self.share),
            "drains_from": links(self.drains_from),
            "drains_to": links(self.drains_to),
            "all_upstream": list(self.all_upstream),
            "all_downstream": list(self.all_downstream),
            "crossings": crossing_records(self.crossings),
            "indicators": {k: to_jsonable(v) for k, v in self.indicators.items()},
        }


def jurisdiction(
    basin_or_overlay: BasinLike, name_or_id: str, *, level: str | None = None
) -> JurisdictionReport:
    """Report on one jurisdiction: what drains into it, where its water goes, indicators.

    Parameters
    ----------
    basin_or_overlay
        As :func:`crossings`.
    name_or_id
        A ``jur_id``, a name or a unique name prefix (:func:`find_jurisdiction`).
    level
        Look the name up at this level only.

    Returns
    -------
    JurisdictionReport
        ``as_dict()`` gives the JSON of ``basingov query jurisdiction``.

    Raises
    ------
    InputError
        If ``level`` is not a level of the jurisdictions (the allowed levels are listed),
        if ``name_or_id`` matches no jurisdiction, or if it matches several (they are
        listed; pass a ``jur_id`` or a ``level``).

    Examples
    --------
    Shanghai receives the Taihu rivers from Jiangsu and Zhejiang:

    >>> r = jurisdiction("taihu", "CN031")
    >>> r.jur_id, r.all_upstream, r.drains_from["n_crossings"].tolist()
    ('CN031', ['CN032', 'CN033', 'CN034'], [5, 4])
    """
    b, _, ov, dep_result = _as_overlay(basin_or_overlay)
    row = find_jurisdiction(b.jurisdictions, name_or_id, level=level)
    jid, lv = str(row["jur_id"]), str(row["level_name"])
    g: nx.DiGraph = dep_result.graphs[lv]
    names = nx.get_node_attributes(g, "name")

    def links(pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
        rows = [
            (
                other,
                names.get(other, ""),
                g.edges[a, z]["upstream_area_km2"],
                g.edges[a, z]["discharge_m3s"],
                g.edges[a, z]["n_crossings"],
            )
            for a, z, other in pairs
        ]
        return pd.DataFrame(rows, columns=_LINK_COLUMNS)

    shares = ov.unit_shares
    share = shares[(shares["jur_id"] == jid) & (shares["level_name"] == lv)]
    dep = dep_result.table
    ind = dep[(dep["jur_id"] == jid) & (dep["level_name"] == lv)]
    c = ov.crossings_at(lv)
    mine = c[(c["from_jur"] == jid) | (c["to_jur"] == jid)].reset_index(drop=True)
    inside = jid in g
    return JurisdictionReport(
        jur_id=jid,
        name=str(row["name"]),
        level=int(row["level"]) if "level" in row else None,
        level_name=lv,
        area_km2=float(share["area_km2"].iloc[0]) if len(share) else 0.0,
        share=float(share["share"].iloc[0]) if len(share) else 0.0,
        drains_from=links([(u, jid, u) for u in g.predecessors(jid)] if inside else []),
        drains_to=links([(jid, v, v) for v in g.successors(jid)] if inside else []),
        all_upstream=sorted(nx.ancestors(g, jid)) if inside else [],
        all_downstream=sorted(nx.descendants(g, jid)) if inside else [],
        crossings=mine,
        indicators={k: ind[k].iloc[0] for k in _INDICATORS} if len(ind) else {},
    )


def river(
    basin: BasinLike, name: str, *, level: str | None = None, all_courses: bool = False
) -> gpd.GeoDataFrame:
    """Return the River Chief stretches of the river(s) called ``name`` in a basin.

    ``name`` is matched ignoring case, exactly where a river has that name, else as a
    substring (:func:`basingov.rivers.match_rivers`); ``"Rhein|Rhin|Rhine"`` joins several
    names into one river, for a river whose name changes along the flow, and so does a
    name of a group in the network's ``river_aliases`` (on the Rhine, ``"Rhine"`` means
    all three, as in :func:`crossings`). Without ``all_courses`` only each river's main
    course (course 1) is kept.

    Raises
    ------
    InputError
        If the network has no names, nothing matches, or the level is unknown.

    Examples
    --------
    The reaches named Thames on the Thames DEM network (all upstream of the Colne at
    Staines) lie in the South East (UKJ):

    >>> t = river("thames", "Thames", level="nuts1")
    >>> t["level_name"].unique().tolist(), "UKJ" in set(t["jur_id"])
    (['nuts1'], True)
    """
    b, net, ov, _ = _as_overlay(basin)
    if level is not None and level not in ov.levels:
        msg = f"level {level!r} is not a level of {b.name}; allowed levels are {list(ov.levels)}"
        raise InputError(msg)
    own = [w.strip() for w in name.split("|") if w.strip()]
    wanted = river_names_for(name, b.config.network.river_aliases)
    names = river_names(net.reaches)
    # the query as typed (for the message if nothing matches), and the alias names it adds
    matched = match_rivers(names, "|".join(own + wanted[len(own) :]))
    # the rivers as the run's table has them (its alias groups joined), so that the
    # courses, and the rivers they join, are the same
    groups = alias_groups(names, b.config.network.river_aliases)
    if len(wanted) > 1 and len(matched) > 1:
        label = " | ".join(matched)
        groups = {k: v for k, v in groups.items() if not set(v) & set(matched)}
        groups[label] = matched
    label_of = {n: k for k, v in groups.items() for n in v}
    rivers = list(dict.fromkeys(label_of.get(m, m) for m in matched))
    levels = None if level is None else [level]
    gdf = river_chiefs(net, ov, levels=levels, rivers=rivers, aliases=groups)
    if not all_courses:
        gdf = gdf[gdf["course"] == 1]
    return gdf.reset_index(drop=True)
