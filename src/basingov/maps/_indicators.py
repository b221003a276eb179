"""Indicators joined onto jurisdictions and crossings, and names in two languages."""

from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from basingov._jit import njit
from basingov.errors import InputError
from basingov.maps._inputs import RunData
from basingov.network import csr_reverse

__all__ = [
    "CLASS_ORDER",
    "class_breaks",
    "crossing_indicators",
    "display_names",
    "fmt",
    "jurisdiction_indicators",
    "latest_sections",
    "pair_loads",
    "parameter_label",
    "priority_rows",
]

#: Local-language name columns looked for on the jurisdictions layer, in this order.
LOCAL_NAME_COLUMNS = ("name_local", "name_zh", "name_native")

#: GB 3838-2002 classes, best first; other standards' classes sort after these.
CLASS_ORDER = ("I", "II", "III", "IV", "V", "worse than V")

#: Readable names of the canonical parameter codes (DESIGN §2.7).
_PARAMETERS = {
    "TN": "total nitrogen",
    "TP": "total phosphorus",
    "NH3-N": "ammonia nitrogen",
    "NH4": "ammonium",
    "NO3-N": "nitrate nitrogen",
    "COD": "chemical oxygen demand",
    "CODMn": "permanganate index",
    "BOD5": "5-day biochemical oxygen demand",
    "DO": "dissolved oxygen",
    "Cl": "chloride",
    "SS": "suspended solids",
}


def parameter_label(code: str | None) -> str:
    """Return ``"kg TN/day"``-style units and the readable name of a load parameter.

    Examples
    --------
    >>> parameter_label("TN")
    'total nitrogen (TN)'
    """
    if not code:
        return "load"
    name = _PARAMETERS.get(code)
    return f"{name} ({code})" if name else code


def class_breaks(values: Any, *, k: int = 5) -> list[float]:
    """Upper bounds of Fisher-Jenks natural-break classes, ascending.

    NaN and infinite values are ignored; with fewer distinct values than ``k`` each
    distinct value is its own class. The classes minimise the sum of squared deviations
    from the class means (Fisher 1958), found exactly (:func:`_jenks`); these are the
    breaks of ``mapclassify.FisherJenks`` (which sums in float32 over all O(n²) spans)
    up to partitions whose sums agree to rounding.

    Examples
    --------
    >>> class_breaks([0.0, 0.0, 0.1, 0.12, 0.5, 0.55, 0.9], k=3)
    [0.12, 0.55, 0.9]
    >>> class_breaks([3.0, 3.0000000000001, 1.0])
    [1.0, 3.0000000000001]
    """
    y = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return []
    uniq = np.unique(np.round(y, 9))
    if len(uniq) <= k:
        out = [float(u) for u in uniq]
        out[-1] = float(y.max())
        return out
    return sorted(float(b) for b in _jenks(np.sort(y), k))


@njit(cache=True)
def _span_cost(p1: np.ndarray, p2: np.ndarray, a: int, b: int) -> float:  # pragma: no cover
    """Sum of squared deviations of the sorted values ``a..b`` (prefix sums ``p1, p2``)."""
    s1 = p1[b + 1] - p1[a]
    c = (p2[b + 1] - p2[a]) - s1 * s1 / (b - a + 1)
    return c if c > 0.0 else 0.0


@njit(cache=True)
def _jenks(x: np.ndarray, k: int) -> np.ndarray:  # pragma: no cover - compiled
    """Fisher-Jenks breaks of sorted ``x`` (more than ``k`` distinct values): O(k n log n).

    Dynamic programme over classes: ``cost[j][i]`` is the least sum of squared deviations
    of ``x[0..i]`` in ``j + 1`` classes, the last one starting at ``start[j][i]`` (the
    smallest such start, as mapclassify keeps it). The span cost is a Monge array, so the
    best starts do not decrease with ``i``, and each class count is solved by divide and
    conquer over ``i`` (Ckmeans.1d.dp, Wang & Song 2011). Values are centred on the
    median before the prefix sums. Returns the largest value of each class.
    """
    n = x.shape[0]
    shift = x[n // 2]
    p1 = np.zeros(n + 1)
    p2 = np.zeros(n + 1)
    for i in range(n):
        d = x[i] - shift
        p1[i + 1] = p1[i] + d
        p2[i + 1] = p2[i] + d * d
    cost = np.empty((k, n))
    start = np.zeros((k, n), dtype=np.int64)
    for i in range(n):
        cost[0, i] = _span_cost(p1, p2, 0, i)
    todo = np.empty((4 * n + 8, 4), dtype=np.int64)
    for j in range(1, k):
        cost[j, :] = np.inf
        top = 0
        todo[0] = (j, n - 1, j, n - 1)
        top = 1
        while top > 0:
            top -= 1
            ilo, ihi, alo, ahi = todo[top]
            if ilo > ihi:
                continue
            mid = (ilo + ihi) // 2
            best = np.inf
            arg = max(alo, j)
            for a in range(max(alo, j), min(ahi, mid) + 1):
                v = cost[j - 1, a - 1] + _span_cost(p1, p2, a, mid)
                if v < best:
                    best = v
                    arg = a
            cost[j, mid] = best
            start[j, mid] = arg
            todo[top] = (ilo, mid - 1, alo, arg)
            todo[top + 1] = (mid + 1, ihi, arg, ahi)
            top += 2
    out = np.empty(k)
    out[k - 1] = x[n - 1]
    i = n - 1
    for j in range(k - 1, 0, -1):
        a = start[j, i]
        out[j - 1] = x[a - 1]
        i = a - 1
    return out


def fmt(value: Any, *, digits: int = 3, missing: str = "n/a") -> str:
    """Format a number for a reader: thousands separators, a few significant digits.

    Text that is not a number is returned as it is; NaN and infinities give ``missing``.

    Examples
    --------
    >>> fmt(12345.678), fmt(0.04567), fmt(float("nan")), fmt(3.0)
    ('12,346', '0.0457', 'n/a', '3')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return missing
    if v == 0:
        return "0"
    if abs(v) >= 10 ** (digits - 1):
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


@cache
def _country_names_en() -> dict[str, str]:
    text = resources.files("basingov.maps").joinpath("country_names_en.csv").read_text("utf-8")
    rows = [ln.split(",", 1) for ln in text.splitlines() if ln and not ln.startswith("#")]
    return dict(rows[1:])


def display_names(jurisdictions: pd.DataFrame) -> pd.DataFrame:
    """Local-language and English name of each jurisdiction, and a label with both.

    The local name comes from the first of :data:`LOCAL_NAME_COLUMNS` present, else from
    ``name``. The English name comes from ``name_en`` if present; otherwise ``name`` is
    taken as English when a local-name column exists and differs from it (Taihu: OCHA
    COD-AB English and Chinese names). Countries with no English name in the data get
    the English short name of GISCO's country table (``country_names_en.csv`` beside this
    module). Where only one name is known it is used for both.

    Returns
    -------
    pandas.DataFrame
        ``jur_id, level_name, name_local, name_en, label``, in the input order.

    Examples
    --------
    >>> j = pd.DataFrame({"jur_id": ["CN031", "NL"], "level_name": ["province", "country"],
    ...                   "name": ["Shanghai", "Nederland"], "name_native": [None, "Nederland"],
    ...                   "name_zh": ["上海市", None]})
    >>> display_names(j)["label"].tolist()
    ['上海市 (Shanghai)', 'Nederland (Netherlands)']
    """
    name = jurisdictions["name"].astype(object).where(jurisdictions["name"].notna(), None)
    local = pd.Series([None] * len(jurisdictions), index=jurisdictions.index, dtype=object)
    for col in LOCAL_NAME_COLUMNS:
        if col in jurisdictions.columns:
            local = local.where(local.notna(), jurisdictions[col].where(jurisdictions[col] != ""))
    if "name_en" in jurisdictions.columns:
        english = jurisdictions["name_en"].astype(object)
    else:
        english = name.where(local.isna() | (name != local), None)
    lookup = _country_names_en()
    is_country = jurisdictions["level_name"].astype(str).str.lower() == "country"
    from_table = jurisdictions["jur_id"].astype(str).map(lookup)
    english = english.where(english.notna() | ~is_country, from_table)
    local = local.where(local.notna(), name)
    english = english.where(english.notna(), local)
    label = [
        (f"{lo} ({en})" if en and lo and en != lo else str(lo or en or j))
        for lo, en, j in zip(local, english, jurisdictions["jur_id"], strict=True)
    ]
    return pd.DataFrame(
        {
            "jur_id": jurisdictions["jur_id"].astype(str).to_numpy(),
            "level_name": jurisdictions["level_name"].astype(str).to_numpy(),
            "name_local": local.to_numpy(),
            "name_en": english.to_numpy(),
            "label": label,
        }
    )


_PAIR = re.compile(r"^\s*(?P<a>[^|>→]+?)\s*(?P<sep>->|→|\|)\s*(?P<b>[^|>→]+?)\s*$")


def priority_rows(data: RunData) -> pd.DataFrame | None:
    """Parse the priority table into sections and pairs, or None when there is none.

    The table is parsed once per ``data`` (kept in ``data.derived``); each call returns
    a copy.

    Returns
    -------
    pandas.DataFrame or None
        The priority rows with ``kind`` (``"section"`` or ``"pair"``), ``crossing_id``,
        ``jur_a``, ``jur_b`` and ``directed``.

    Raises
    ------
    InputError
        If a ``section_or_pair`` value is neither a crossing id nor a pair of jur_ids.
    """
    if "priority_rows" not in data.derived:
        data.derived["priority_rows"] = _priority_rows(data)
    pr = data.derived["priority_rows"]
    return None if pr is None else pr.copy()


def _priority_rows(data: RunData) -> pd.DataFrame | None:
    pr = data.optional("priority")
    if pr is None:
        return None
    pr = pd.DataFrame(pr.drop(columns="geometry", errors="ignore")).copy()
    crossings = set(data.layers["crossings"]["crossing_id"].astype(str))
    jurs = set(data.layers["jurisdictions"]["jur_id"].astype(str))
    kinds: list[str] = []
    cid: list[str | None] = []
    ja: list[str | None] = []
    jb: list[str | None] = []
    directed: list[bool] = []
    bad: list[str] = []
    for raw in pr["section_or_pair"].astype(str):
        # basingov.priority writes "section <crossing_id>" and "pair <FROM->TO>"
        v = raw.removeprefix("section ").removeprefix("pair ")
        m = _PAIR.match(v)
        if v in crossings:
            kinds.append("section")
            cid.append(v)
            ja.append(None)
            jb.append(None)
            directed.append(True)
        elif m and m["a"] in jurs and m["b"] in jurs:
            kinds.append("pair")
            cid.append(None)
            ja.append(m["a"])
            jb.append(m["b"])
            directed.append(m["sep"] != "|")
        else:
            bad.append(raw)
    if bad:
        msg = (
            f"priority section_or_pair value(s) {bad[:10]} are neither crossing ids of the "
            "'crossings' layer nor pairs of jur_ids written 'FROM->TO' or 'A|B'"
        )
        raise InputError(msg)
    pr["kind"] = kinds
    pr["crossing_id"] = cid
    pr["jur_a"] = ja
    pr["jur_b"] = jb
    pr["directed"] = directed
    pr["score"] = pd.to_numeric(pr["score"], errors="coerce")
    return pr


def _spill_table(data: RunData) -> pd.DataFrame | None:
    ind = data.tables.get("spillover_indicators")
    if ind is None:
        return None
    ind = ind[ind["jur_id"].notna() & (ind["jur_id"].astype(str) != "")]
    out = pd.DataFrame(
        {
            "jur_id": ind["jur_id"].astype(str),
            "level_name": ind["level_name"].astype(str),
            "generated_kg_day": ind["generated"],
            "imported_kg_day": ind["imported"],
            "imported_share": ind["imported_share"],
            "exported_kg_day": ind["exported"],
            "net_balance_kg_day": ind["net_balance"],
        }
    )
    if "imported_first" in ind.columns and ind["imported_first"].notna().all():
        # each load counted once, where it first enters or leaves a jurisdiction's waters
        # (spillover.indicators); the matrix's figures count every crossing and are kept
        # beside them for the popups
        gen = pd.to_numeric(ind["generated"])
        first = pd.to_numeric(ind["imported_first"])
        total = first + gen
        out["imported_gross_kg_day"] = ind["imported"]
        out["imported_kg_day"] = first
        out["imported_share"] = (first / total.where(total > 0)).to_numpy()
        out["exported_kg_day"] = ind["exported_first"]
        out["net_balance_kg_day"] = ind["net_balance_first"]
    return out


def jurisdiction_indicators(data: RunData) -> pd.DataFrame:
    """One row per jurisdiction and level with every indicator the map and GIS layers show.

    Columns: ``jur_id, level_name, name_local, name_en, label, upstream_dependency,
    downstream_exposure, chain_depth`` (from ``dependency``), ``generated_kg_day,
    imported_kg_day, imported_share, exported_kg_day, net_balance_kg_day`` (from
    ``spillover_indicators``, when loads ran: each load counted once, where it first
    enters or leaves the jurisdiction's waters, with ``imported_gross_kg_day`` counting
    every crossing in; a run written before those columns existed gives the gross
    figures, and no ``imported_gross_kg_day``) and ``priority_score, priority_class,
    priority_mechanism`` (the highest-scoring priority section or pair the jurisdiction
    is part of, when a priority table exists). Missing values are NaN, never 0.
    """
    jur = data.layers["jurisdictions"]
    out = display_names(jur)
    dep = data.tables.get("dependency")
    if dep is not None and "level_name" in dep.columns:
        cols = [
            c
            for c in ("upstream_dependency", "downstream_exposure", "chain_depth")
            if c in dep.columns
        ]
        d = dep[["jur_id", "level_name", *cols]].astype({"jur_id": str, "level_name": str})
        out = out.merge(d, on=["jur_id", "level_name"], how="left")
    sp = _spill_table(data)
    if sp is not None:
        out = out.merge(sp, on=["jur_id", "level_name"], how="left")
    pr = priority_rows(data)
    if pr is not None:
        cx = data.layers["crossings"].set_index("crossing_id")
        a = pr["jur_a"].where(pr["kind"] == "pair", pr["crossing_id"].map(cx["from_jur"]))
        b = pr["jur_b"].where(pr["kind"] == "pair", pr["crossing_id"].map(cx["to_jur"]))
        both = pd.concat(
            [pr.assign(jur_id=a.astype(str)), pr.assign(jur_id=b.astype(str))], ignore_index=True
        )
        both = both.sort_values("score", ascending=False).drop_duplicates("jur_id")
        best = both.set_index("jur_id")
        out["priority_score"] = out["jur_id"].map(best["score"])
        out["priority_class"] = out["jur_id"].map(best["class"].astype(str))
        out["priority_mechanism"] = out["jur_id"].map(best["mechanism"].astype(str))
    return out


def latest_sections(data: RunData) -> pd.DataFrame | None:
    """Return the latest period's class per crossing section (None without sections)."""
    sec = data.optional("section_classes")
    if sec is None:
        return None
    sec = pd.DataFrame(sec.drop(columns="geometry", errors="ignore"))
    sec = sec[sec["class"].notna()].sort_values(["crossing_id", "period"])
    return sec.groupby("crossing_id", sort=False).tail(1).set_index("crossing_id")


def crossing_indicators(data: RunData) -> pd.DataFrame:
    """Crossings with the load they carry, river name and, when present, class and priority.

    Columns added to the ``crossings`` layer's attributes: ``river_name``,
    ``flux_kg_day`` (modelled load crossing the border, all origins), ``origins`` (a list
    of ``(origin jur_id, load)`` pairs, largest first), and when those stages ran
    ``class, period, station_id, trend, priority_score, priority_class, mechanism,
    reason``.
    """
    cx = pd.DataFrame(data.layers["crossings"].drop(columns="geometry")).copy()
    cx["crossing_id"] = cx["crossing_id"].astype(str)
    reaches = data.layers["reaches"]
    if "name" in reaches.columns:
        names = reaches.set_index("reach_id")["name"]
        names = names[~names.index.duplicated()]
        cx["river_name"] = cx["reach_id"].map(names)
    else:
        cx["river_name"] = None
    flux = data.tables.get("crossing_flux")
    if flux is not None and len(flux):
        f = flux.assign(
            crossing_id=flux["crossing_id"].astype(str), origin=flux["origin"].astype(str)
        )
        # a crossing absent from the flux table carries no modelled load
        cx["flux_kg_day"] = (
            cx["crossing_id"].map(f.groupby("crossing_id")["load_kg_day"].sum()).fillna(0.0)
        )
        f = f.sort_values(["crossing_id", "load_kg_day"], ascending=[True, False])
        keys = f["crossing_id"].to_numpy(dtype=object)
        cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        # slices of two lists: thousands of small numpy arrays would cost more than the pairs
        org = f["origin"].to_numpy(dtype=object).tolist()
        val = f["load_kg_day"].to_numpy(dtype=float).tolist()
        starts = np.r_[0, cuts].tolist() if len(keys) else []
        ends = np.r_[cuts, len(keys)].tolist() if len(keys) else []
        origins = {
            keys[a]: list(zip(org[a:b], val[a:b], strict=True))
            for a, b in zip(starts, ends, strict=True)
        }
        cx["origins"] = cx["crossing_id"].map(lambda k: origins.get(k, []))
    else:
        cx["flux_kg_day"] = np.nan
        cx["origins"] = [[] for _ in range(len(cx))]
    sec = latest_sections(data)
    if sec is not None:
        cx["class"] = cx["crossing_id"].map(sec["class"].astype(str))
        cx["period"] = cx["crossing_id"].map(sec["period"].astype(str))
        if "station_id" in sec.columns:
            cx["station_id"] = cx["crossing_id"].map(sec["station_id"])
        trends = data.optional("trends")
        if trends is not None and "station_id" in cx.columns:
            txt = (
                trends.assign(
                    t=trends["parameter"].astype(object).fillna("").astype(str)
                    + " "
                    + trends["trend"].astype(object).fillna("not tested").astype(str)
                )
                .groupby(trends["station_id"].astype(str))["t"]
                .agg("; ".join)
            )
            cx["trend"] = cx["station_id"].astype(str).map(txt)
    pr = priority_rows(data)
    if pr is not None:
        s = pr[pr["kind"] == "section"].sort_values("score", ascending=False)
        s = s.drop_duplicates("crossing_id").set_index("crossing_id")
        cx["priority_score"] = cx["crossing_id"].map(s["score"])
        cx["priority_class"] = cx["crossing_id"].map(s["class"].astype(str))
        cx["mechanism"] = cx["crossing_id"].map(s["mechanism"].astype(str))
        cx["reason"] = cx["crossing_id"].map(s["reason"].astype(str))
    return cx


@njit(cache=True)
def _preorder(
    parent: np.ndarray, first: np.ndarray, kids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:  # pragma: no cover - compiled
    """Entry and exit times of a depth-first walk up the tree given by ``parent`` positions.

    ``parent[i]`` is the position of the reach below reach ``i``, or -1 at an outlet;
    ``kids[first[i]:first[i + 1]]`` are the tributaries of ``i`` (:func:`csr_reverse`).
    Every subtree is numbered contiguously: ``tin`` is a reach's place in the walk and
    ``tout = tin + size of its subtree``. Also returns how many reaches the walks from
    the outlets reached (fewer than all when ``parent`` runs in a circle).
    """
    n = parent.shape[0]
    tin = np.full(n, -1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)  # each reach is pushed once
    clock = 0
    for root in range(n):
        if parent[root] >= 0:
            continue
        stack[0] = root
        top = 1
        while top > 0:
            top -= 1
            r = stack[top]
            tin[r] = clock
            order[clock] = r
            clock += 1
            for j in range(first[r], first[r + 1]):
                stack[top] = kids[j]
                top += 1
    size = np.ones(n, dtype=np.int64)
    for k in range(clock - 1, -1, -1):  # tributaries before the reach they join
        r = order[k]
        if parent[r] >= 0:
            size[parent[r]] += size[r]
    return tin, tin + size, clock


def _tour(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Entry and exit times of a walk up the tree of reaches ``parent`` (:func:`_network`).

    Times are by position: reach ``u`` lies downstream of ``r`` (on its
    way to the outlet) exactly when ``tin[u] < tin[r]`` and ``tout[r] <= tout[u]``. None
    when following ``parent`` runs in a circle (not a tree).
    """
    flows = np.flatnonzero(parent >= 0)
    first, kids = csr_reverse(flows, parent[flows], len(parent))
    tin, tout, reached = _preorder(parent, first, kids)
    if reached != len(parent):  # a loop never reached from an outlet
        return None
    return tin, tout


def _network(reaches: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Return the reach ids and the position of the reach below each (-1 at an outlet).

    A reach listed twice takes its last downstream id, as a ``{reach: downstream}`` dict
    would; a reach draining to itself or to no listed reach is an outlet.
    """
    net = reaches[["reach_id", "downstream_id"]].drop_duplicates("reach_id", keep="last")
    ids = pd.Index(net["reach_id"])
    parent = ids.get_indexer(net["downstream_id"]).astype(np.int64)
    parent[parent == np.arange(len(ids))] = -1
    return ids, parent


def _downstream_in_group(codes: np.ndarray, tin: np.ndarray, tout: np.ndarray) -> np.ndarray:
    """Whether another item of the same group lies downstream of each item, by walk times.

    ``tin, tout`` are :func:`_tour` times of each item's reach. Among the items of a
    group entered before item ``i``, those downstream of it have ``tout >= tout[i]`` and
    the others ``tout <= tin[i] < tout[i]``: so the answer is whether the largest
    ``tout`` of the items entered strictly earlier (not on the same reach) reaches
    ``tout[i]``.
    """
    if not len(codes):
        return np.zeros(0, dtype=bool)
    order = np.lexsort((tin, codes))
    g, t0, t1 = codes[order], tin[order], tout[order]
    # one running maximum for all groups: each group's values lie above the previous'
    span = int(tout.max()) + 1
    run = np.maximum.accumulate(g * span + t1)
    before = np.r_[-1, run[:-1]]
    # items on one reach share tin: each looks at what came before the first of them
    new = np.r_[True, (g[1:] != g[:-1]) | (t0[1:] != t0[:-1])]
    first = np.maximum.accumulate(np.where(new, np.arange(len(g)), 0))
    prior = before[first] - g * span  # negative: no earlier item in the group
    out = np.empty(len(g), dtype=bool)
    out[order] = prior >= t1
    return out


def _has_downstream_crossing(
    codes: np.ndarray, rid: np.ndarray, reaches: pd.DataFrame
) -> np.ndarray:
    """Whether another crossing of the same group lies downstream of each crossing's reach."""
    ids, parent = _network(reaches)
    p = ids.get_indexer(pd.Index(rid))
    tour = _tour(parent)
    if tour is None:
        return _walk_downstream(codes, p, parent)
    tin, tout = tour
    known = p >= 0  # a reach missing from the network has nothing downstream
    out = np.zeros(len(rid), dtype=bool)
    out[known] = _downstream_in_group(codes[known], tin[p[known]], tout[p[known]])
    return out


def _walk_downstream(codes: np.ndarray, p: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """:func:`_has_downstream_crossing` by walking down ``parent`` (a network with loops).

    ``p`` holds the position of each crossing's reach (-1: not in the network).
    """
    at: dict[int, set[int]] = {}
    for k, r in zip(codes.tolist(), p.tolist(), strict=True):
        at.setdefault(k, set()).add(r)
    out = np.zeros(len(p), dtype=bool)
    for i, (k, r) in enumerate(zip(codes.tolist(), p.tolist(), strict=True)):
        seen, cur = {r}, int(parent[r]) if r >= 0 else -1
        while cur >= 0 and cur not in seen:
            if cur in at[k]:
                out[i] = True
                break
            seen.add(cur)
            cur = int(parent[cur])
    return out


def pair_loads(data: RunData) -> pd.DataFrame | None:
    """Load passing from each jurisdiction into a neighbour, each river counted once.

    A river that wanders along a border crosses it several times, and the load at a
    later crossing already contains the load of an earlier one on the same flow path.
    Summing the crossings ("gross") would count that load again at each crossing; here
    a crossing is left out when another crossing of the same pair lies downstream of it
    on the network, so each flow path counts once, at its last crossing of that border.

    Returns
    -------
    pandas.DataFrame or None
        ``level_name, from_jur, to_jur, n_crossings, load_kg_day, gross_kg_day``, or None
        when the run computed no loads.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> reaches = gpd.GeoDataFrame({"reach_id": [1, 2, 3], "downstream_id": [2, 3, -1]},
    ...                            geometry=[Point(0, 0)] * 3)
    >>> crossings = gpd.GeoDataFrame({"crossing_id": ["c1", "c2"], "level_name": ["x", "x"],
    ...     "from_jur": ["A", "A"], "to_jur": ["B", "B"], "reach_id": [1, 3],
    ...     "fraction": [0.5, 0.5]}, geometry=[Point(0, 0)] * 2)
    >>> flux = pd.DataFrame({"crossing_id": ["c1", "c2"], "level_name": ["x", "x"],
    ...     "from_jur": ["A", "A"], "to_jur": ["B", "B"], "origin": ["A", "A"],
    ...     "load_kg_day": [10.0, 12.0]})
    >>> run = RunData("t", {}, {"reaches": reaches, "crossings": crossings},
    ...               {"crossing_flux": flux})
    >>> pair_loads(run)[["n_crossings", "load_kg_day", "gross_kg_day"]].to_dict("records")
    [{'n_crossings': 2, 'load_kg_day': 12.0, 'gross_kg_day': 22.0}]
    """
    flux = data.tables.get("crossing_flux")
    if flux is None or not len(flux):
        return None
    per = (
        flux.assign(crossing_id=flux["crossing_id"].astype(str))
        .groupby("crossing_id")["load_kg_day"]
        .sum()
    )
    cx = pd.DataFrame(data.layers["crossings"].drop(columns="geometry"))
    cx = cx.assign(
        crossing_id=cx["crossing_id"].astype(str),
        level_name=cx["level_name"].astype(str),
        from_jur=cx["from_jur"].astype(str),
        to_jur=cx["to_jur"].astype(str),
    )
    cx["load"] = cx["crossing_id"].map(per).fillna(0.0)
    key = pd.MultiIndex.from_frame(cx[["level_name", "from_jur", "to_jur"]])
    codes, uniq = pd.factorize(key, sort=True)  # the groups of groupby(sort=True)
    rid = cx["reach_id"].to_numpy(dtype=object)
    frac = cx["fraction"].to_numpy(dtype=float)
    # another crossing of the pair further down the same reach, or further down the network
    further = pd.Series(frac).groupby([codes, rid]).transform("max").to_numpy()
    below = _has_downstream_crossing(codes, rid, data.layers["reaches"])
    keep = ~((frac < further) | below)
    members = pd.Series(np.arange(len(cx))).groupby(codes).indices
    load = cx["load"].to_numpy(dtype=float)
    rows = []
    for k, (lv, a, b) in enumerate(uniq):
        lg, kg = load[members[k]], keep[members[k]]
        rows.append((lv, a, b, len(lg), float(lg[kg].sum()), float(lg.sum())))
    return pd.DataFrame(
        rows,
        columns=["level_name", "from_jur", "to_jur", "n_crossings", "load_kg_day", "gross_kg_day"],
    )
