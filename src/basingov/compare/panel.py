"""The comparison as a Markdown table and as an offline HTML panel with inlined plots."""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from basingov import __version__, maps
from basingov.compare.indicators import INDICATORS, MIN_SHARE

if TYPE_CHECKING:
    from basingov.compare import Comparison

__all__ = [
    "CHAIN_MIN_FLOW_SHARE",
    "CHART_INDICATORS",
    "chain_columns",
    "fmt",
    "html_panel",
    "markdown_table",
]

#: Dependency edges drawn: border flow at least this share of the basin's largest one.
CHAIN_MIN_FLOW_SHARE = 0.02

#: Indicators drawn as bar charts (top level), in order.
CHART_INDICATORS = (
    "area_km2",
    "main_stem_km",
    "outlet_discharge_m3s",
    "jurisdictions_1pct",
    "hhi_area",
    "main_stem_crossings_per_100km",
    "max_chain_depth",
    "generated_load_kg_day",
    "transboundary_share_gross",
    "transboundary_fraction",
    "monitored_crossings_share",
)


def fmt(value: Any, unit: str = "") -> str:
    """Format a number for a table: thousands separators, 3 significant digits below 10.

    The maps' :func:`basingov.maps.fmt` with the table's conventions: a count is a whole
    number, a value from 10 to 100 has one decimal, and a missing value reads ``-``.

    Examples
    --------
    >>> fmt(163646.2, "km2"), fmt(0.04362, "index 0-1"), fmt(float("nan")), fmt(3.0, "count")
    ('163,646', '0.0436', '-', '3')
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if unit == "count" and math.isfinite(v):
        return f"{v:,.0f}"
    if 10 <= abs(v) < 100:
        return f"{v:,.1f}"
    return maps.fmt(v, missing="-")


def _value(r: pd.Series) -> str:
    if r["status"] == "not available":
        return "not available"
    if str(r.get("value_text", "") or "") and r["indicator"] not in ("governance_body",):
        return str(r["value_text"])
    s = fmt(r["value"], r["unit"])
    if np.isfinite(_f(r.get("p5"))):
        s += f" [{fmt(r['p5'], r['unit'])}-{fmt(r['p95'], r['unit'])}]"
    elif np.isfinite(_f(r.get("bound_low"))) and not np.isclose(
        _f(r["bound_low"]), _f(r["bound_high"])
    ):
        s += f" ({fmt(r['bound_low'], r['unit'])} to {fmt(r['bound_high'], r['unit'])})"
    return s


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def _md_row(cells: Iterable[Any]) -> str:
    return "| " + " | ".join(_md_cell(x) for x in cells) + " |"


def _headline_rows(c: Comparison) -> list[list[str]]:
    t = c.table
    rows = []
    for key in INDICATORS:
        if key.startswith("governance") or key in (
            "area_share",
            "gauge_discharge_m3s",
            "station_load_kg_day",
        ):
            continue
        sub = t[(t["indicator"] == key) & (t["level"] <= 0)]
        if sub.empty:
            continue
        label, unit = INDICATORS[key]
        cells = [f"{label} ({unit})"]
        for b in c.basins:
            rb = sub[sub["basin"] == b]
            if rb.empty:
                cells.append("-")
                continue
            r = rb.iloc[0]
            text = _value(r)
            if np.isfinite(_f(r["published"])):
                text += f"; published {fmt(r['published'], r['unit'])}"
            cells.append(text)
        rows.append(cells)
    return rows


def _level_names(c: Comparison) -> dict[str, str]:
    t = c.table[c.table["level"] == 0]
    return {
        b: str(t.loc[t["basin"] == b, "level_name"].iloc[0]) if (t["basin"] == b).any() else ""
        for b in c.basins
    }


def _published_rows(c: Comparison) -> pd.DataFrame:
    t = c.table
    return t[np.isfinite(pd.to_numeric(t["published"], errors="coerce"))].copy()


def _governance_rows(c: Comparison) -> list[dict[Any, Any]]:
    """Return the governance facts as records, ``year`` as text (empty where none is cited)."""
    rows = c.governance.to_dict("records")
    for r in rows:
        r["year"] = "" if pd.isna(r["year"]) else str(int(r["year"]))
    return rows


def _band_basis(c: Comparison) -> str:
    """Return what the Monte Carlo bands rest on (empty if no row has a band)."""
    band = c.table.loc[c.table["band_basis"].astype(str) != "", "band_basis"]
    return str(band.iloc[0]) if len(band) else ""


def _md_computed_published(r: Mapping[Any, Any]) -> tuple[Any, ...]:
    """Return the cells basin, indicator, item, computed, published and discrepancy."""
    return (
        r["basin"],
        r["indicator"],
        r["item"],
        fmt(r["value"], r["unit"]),
        fmt(r["published"], r["unit"]),
        f"{r['discrepancy_pct']:+.1f} %",
    )


def markdown_table(c: Comparison) -> str:
    """Render the comparison as Markdown: headline table, published figures, levels, governance.

    Parameters
    ----------
    c
        A :class:`~basingov.compare.Comparison`.

    Returns
    -------
    str
        The Markdown text of ``comparison.md``.
    """
    t = c.table
    lines = [
        "# Basin comparison",
        "",
        f"basingov {__version__}. Same indicators, same code, on each basin's run folder "
        "(" + ", ".join(f"{b}: `{c.sources[b]}`" for b in c.basins) + ").",
        "Top level per basin: "
        + ", ".join(f"{b} = {lv}" for b, lv in _level_names(c).items())
        + ". Values in brackets are the Monte Carlo 5-95 % band; in parentheses, bounds. "
        "Read `comparison.csv` for every level and the notes.",
        "",
        "## Headline indicators (top level)",
        "",
        "| indicator | " + " | ".join(c.basins) + " |",
        "|---|" + "---|" * len(c.basins),
    ]
    for cells in _headline_rows(c):
        lines.append(_md_row(cells))
    lines += [
        "",
        "## Published figures beside computed ones",
        "",
        "| basin | indicator | item | computed | published | discrepancy | explanation | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in _published_rows(c).to_dict("records"):
        if r["indicator"] in ("gauge_discharge_m3s", "station_load_kg_day"):
            continue
        lines.append(
            _md_row(
                (
                    *_md_computed_published(r),
                    r["explanation"],
                    f"{r['published_source']} <{r['published_url']}>",
                )
            )
        )
    meas = _published_rows(c)
    meas = meas[meas["indicator"].isin(["gauge_discharge_m3s", "station_load_kg_day"])]
    lines += [
        "",
        "## Measured discharge and loads (held out of the fit)",
        "",
    ]
    if meas.empty:
        lines.append("No run folder has gauged discharges or station loads.")
    else:
        lines += [
            "| basin | what | site | held out | measured | discrepancy | fit | source |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in meas.to_dict("records"):
            lines.append(_md_row((*_md_computed_published(r), r["note"], r["published_source"])))
    lines += [
        "",
        "## Every level",
        "",
        "| basin | level | jurisdictions >= 1 % | HHI | main-stem crossings / 100 km "
        "| max chain depth | gross transboundary share [5-95 %] "
        "| fraction crossing a border | monitored crossings |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for b in c.basins:
        tb = t[(t["basin"] == b) & (t["level"] >= 0)]
        for lv, g in tb.groupby("level", sort=True):

            def cell(k: str, g: pd.DataFrame = g) -> str:
                r = g[g["indicator"] == k]
                r = r[r["item"] == r["item"].iloc[0]] if len(r) else r
                return _value(r.iloc[0]) if len(r) else "-"

            lines.append(
                f"| {b} | {lv} {g['level_name'].iloc[0]} | {cell('jurisdictions_1pct')} | "
                f"{cell('hhi_area')} | {cell('main_stem_crossings_per_100km')} | "
                f"{cell('max_chain_depth')} | {cell('transboundary_share_gross')} | "
                f"{cell('transboundary_fraction')} | {cell('monitored_crossings_share')} |"
            )
    lines += [
        "",
        "## Governance",
        "",
        "| basin | kind | what | year | source |",
        "|---|---|---|---|---|",
    ]
    for r in _governance_rows(c):
        lines.append(
            _md_row((r["basin"], r["field"], r["value"], r["year"], f"{r['source']} <{r['url']}>"))
        )
    na = t[t["status"] == "not available"]
    if len(na):
        lines += ["", "## Not available", ""]
        for r in na.to_dict("records"):
            lines.append(f"- {r['basin']}, {r['label']}: {r['note']}")
    notes = t[(t["note"].astype(str) != "") & (t["level"] <= 0) & (t["status"] == "computed")]
    if len(notes):
        lines += ["", "## Notes", ""]
        for r in notes.to_dict("records"):
            if r["indicator"] in ("area_share", "gauge_discharge_m3s", "station_load_kg_day"):
                continue
            lines.append(f"- {r['basin']}, {r['indicator']}: {r['note']}")
    if band := _band_basis(c):
        lines += ["", f"Bands: {band}."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------
# HTML panel
# ------------------------------------------------------------------------------------
def _png(fig: Any) -> str:
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _colors(n: int) -> list[Any]:
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _subplots(nrows: int, ncols: int, *, width: float, height: float) -> tuple[Any, Any]:
    """Return a figure of ``nrows`` x ``ncols`` axes, each ``width`` x ``height`` inches (Agg)."""
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)


def _bar_charts(c: Comparison) -> str:
    keys = [k for k in CHART_INDICATORS if (c.table["indicator"] == k).any()]
    ncol = 3
    nrow = max(1, math.ceil(len(keys) / ncol))
    fig, axes = _subplots(nrow, ncol, width=4.2, height=2.9)
    cols = _colors(len(c.basins))
    for ax, key in zip(axes.flat, keys, strict=False):
        label, unit = INDICATORS[key]
        sub = c.table[(c.table["indicator"] == key) & (c.table["level"] <= 0)]
        vals, lo, hi, pub = [], [], [], []
        for b in c.basins:
            r = sub[sub["basin"] == b]
            r0 = r.iloc[0] if len(r) else None
            v = _f(r0["value"]) if r0 is not None and r0["status"] == "computed" else np.nan
            vals.append(v)
            a, z = (_f(r0["p5"]), _f(r0["p95"])) if r0 is not None else (np.nan, np.nan)
            if not np.isfinite(a) and r0 is not None:
                a, z = _f(r0["bound_low"]), _f(r0["bound_high"])
            lo.append(v - a if np.isfinite(a) else 0.0)
            hi.append(z - v if np.isfinite(z) else 0.0)
            pub.append(_f(r0["published"]) if r0 is not None else np.nan)
        x = np.arange(len(c.basins))
        heights = np.nan_to_num(np.asarray(vals), nan=0.0)
        ax.bar(x, heights, color=cols, yerr=[lo, hi], capsize=4, ecolor="black")
        for i, v in enumerate(vals):
            if not np.isfinite(v):
                ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=8)
        if np.isfinite(pub).any():
            ax.plot(x, pub, "k_", markersize=22, markeredgewidth=2, label="published")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_xticks(x, list(c.basins), fontsize=8)
        ax.set_title(_wrap(label, 42), fontsize=8.5)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _chains(c: Comparison) -> str:
    fig, axes = _subplots(1, len(c.basins), width=3.6, height=3.4)
    for ax, b in zip(axes.flat, c.basins, strict=True):
        g = c.geometry[b]
        depth = dict(zip(g.depth["jur_id"].astype(str), g.depth["chain_depth"], strict=True))
        names = (
            dict(zip(g.depth["jur_id"].astype(str), g.depth["name"].astype(str), strict=True))
            if "name" in g.depth
            else {}
        )
        q_all = (
            pd.to_numeric(g.edges["discharge_m3s"], errors="coerce")
            if "discharge_m3s" in g.edges
            else pd.Series(np.nan, index=g.edges.index)
        )
        qmax = float(q_all.max()) if q_all.notna().any() else 0.0
        # small streams crossing generalised borders clutter the chain: keep the edges
        # carrying at least CHAIN_MIN_FLOW_SHARE of the largest border flow
        edges = g.edges[(q_all >= CHAIN_MIN_FLOW_SHARE * qmax).to_numpy()] if qmax > 0 else g.edges
        big = c.table[
            (c.table["basin"] == b)
            & (c.table["indicator"] == "area_share")
            & (pd.to_numeric(c.table["value"], errors="coerce") >= MIN_SHARE)
        ]
        nodes = sorted(
            set(edges["from_jur"].astype(str))
            | set(edges["to_jur"].astype(str))
            | set(big["item"].astype(str))
        )
        column, kept = chain_columns(edges, nodes, fallback=depth)
        by_depth: dict[int, list[str]] = {}
        for j in nodes:
            by_depth.setdefault(column[j], []).append(j)
        pos = {}
        for d, js in by_depth.items():
            for k, j in enumerate(sorted(js)):
                pos[j] = (float(d), k - (len(js) - 1) / 2)
        for e in edges.itertuples(index=False):
            if (str(e.from_jur), str(e.to_jur)) not in kept:
                continue
            a, z = pos[str(e.from_jur)], pos[str(e.to_jur)]
            q = _f(getattr(e, "discharge_m3s", np.nan))
            w = 0.6 + 4.0 * (q / qmax if np.isfinite(q) and qmax > 0 else 0.0)
            ax.annotate(
                "",
                xy=z,
                xytext=a,
                arrowprops={
                    "arrowstyle": "-|>",
                    "lw": w,
                    "color": "#3366aa",
                    "shrinkA": 11,
                    "shrinkB": 11,
                    "connectionstyle": f"arc3,rad={0.15 if a[0] != z[0] else 0.5}",
                },
            )
        for j, (x, y) in pos.items():
            ax.scatter([x], [y], s=380, color="#f2f2f2", edgecolors="#333333", zorder=3)
            ax.text(x, y, j, ha="center", va="center", fontsize=7, zorder=4)
            ax.text(x, y - 0.33, _wrap(names.get(j, ""), 16), ha="center", va="top", fontsize=6)
        ax.set_title(f"{b}: who drains into whom (downstream ->)", fontsize=9)
        xs = [p[0] for p in pos.values()] or [0.0]
        ys = [p[1] for p in pos.values()] or [0.0]
        ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
        ax.set_ylim(min(ys) - 1.0, max(ys) + 0.7)
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def chain_columns(
    edges: pd.DataFrame, nodes: list[str], *, fallback: dict[str, Any]
) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Column of each jurisdiction in the chain drawing: its position along the main flow.

    Of two opposite edges between the same pair (small streams crossing a generalised
    border both ways) only the one carrying more discharge is kept, and in a cycle through
    three or more units the link carrying least is dropped; the column is then the longest
    path from a source of that graph (``fallback``, the dependency stage's
    ``chain_depth``, if no acyclic graph remains).

    Examples
    --------
    >>> e = pd.DataFrame({"from_jur": ["A", "B", "C"], "to_jur": ["B", "A", "A"],
    ...                   "discharge_m3s": [10.0, 1.0, 5.0]})
    >>> cols, kept = chain_columns(e, ["A", "B", "C"], fallback={})
    >>> cols, sorted(kept)
    ({'A': 1, 'B': 2, 'C': 0}, [('A', 'B'), ('C', 'A')])
    """
    q = (
        pd.to_numeric(edges["discharge_m3s"], errors="coerce").fillna(0.0).to_numpy()
        if "discharge_m3s" in edges
        else np.zeros(len(edges))
    )
    flow: dict[tuple[str, str], float] = {}
    for a, z, v in zip(edges["from_jur"].astype(str), edges["to_jur"].astype(str), q, strict=True):
        flow[(a, z)] = flow.get((a, z), 0.0) + float(v)
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    for (a, z), v in flow.items():
        if a != z and v >= flow.get((z, a), -1.0) and not g.has_edge(z, a):
            g.add_edge(a, z)
    # a cycle through three or more units (generalised borders): drop its weakest link
    for _ in range(len(flow)):
        if nx.is_directed_acyclic_graph(g):
            break
        cyc = nx.find_cycle(g)
        a, z = min(((u, v) for u, v, *_ in cyc), key=lambda uv: flow.get(uv, 0.0))
        g.remove_edge(a, z)
    if not nx.is_directed_acyclic_graph(g):
        return {j: int(fallback.get(j, 0)) for j in nodes}, set(flow)
    col: dict[str, int] = {}
    for j in nx.topological_sort(g):
        col[j] = max((col[p] + 1 for p in g.predecessors(j)), default=0)
    return {j: col.get(j, 0) for j in nodes}, {(str(a), str(z)) for a, z in g.edges}


def _maps(c: Comparison) -> str:
    fig, axes = _subplots(1, len(c.basins), width=3.8, height=3.8)
    for ax, b in zip(axes.flat, c.basins, strict=True):
        g = c.geometry[b]
        jur = g.jurisdictions
        cols = _colors(len(jur))
        if len(jur):
            jur.plot(
                ax=ax, color=[(*cc[:3], 0.35) for cc in cols], edgecolor="#555555", linewidth=0.6
            )
            for (_, r), _cc in zip(jur.iterrows(), cols, strict=True):
                p = r.geometry.representative_point()
                ax.text(p.x, p.y, str(r["jur_id"]), fontsize=6.5, ha="center")
        riv = g.rivers
        if len(riv):
            q = pd.to_numeric(riv.get("discharge_m3s"), errors="coerce").fillna(0.0).to_numpy()
            w = 0.3 + 2.2 * np.sqrt(q / q.max()) if q.max() > 0 else np.full(len(riv), 0.5)
            riv.plot(ax=ax, color="#1f5fa8", linewidth=w)
        if len(g.main_stem):
            g.main_stem.plot(ax=ax, color="#d62728", linewidth=1.2)
        ax.set_title(f"{b}: top-level units, rivers, main stem (red)", fontsize=8.5)
        ax.set_axis_off()
        ax.set_aspect("equal")
    fig.tight_layout()
    return _png(fig)


_CSS = """
body{font-family:sans-serif;margin:1.5em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:0.6em 0 1.4em;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#eef2f7} td.num{text-align:right;white-space:nowrap}
.na{color:#999} img{max-width:100%} .small{font-size:11px;color:#555}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def html_panel(c: Comparison) -> str:
    """Render the comparison as one self-contained HTML page (plots as inlined PNG, no network).

    Parameters
    ----------
    c
        A :class:`~basingov.compare.Comparison`.

    Returns
    -------
    str
        The HTML text of ``comparison.html``.
    """
    t = c.table
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>basingov: basin comparison</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Basin comparison: " + _e(", ".join(c.basins)) + "</h1>",
        "<p class='small'>basingov " + _e(__version__) + ". The same indicators computed by the "
        "same code on each basin's run folder. Top level: "
        + _e(", ".join(f"{b} = {lv}" for b, lv in _level_names(c).items()))
        + ". Brackets: Monte Carlo 5-95 % band; parentheses: bounds. Black bars on the charts: "
        "published figures. Every number is in <code>comparison.csv</code> with its notes.</p>",
        "<h2>Headline indicators (top level)</h2><table><tr><th>indicator</th>"
        + "".join(f"<th>{_e(b)}</th>" for b in c.basins)
        + "</tr>",
    ]
    for cells in _headline_rows(c):
        parts.append(
            "<tr><td>"
            + _e(cells[0])
            + "</td>"
            + "".join(
                f"<td class='{'na' if x == 'not available' else 'num'}'>{_e(x)}</td>"
                for x in cells[1:]
            )
            + "</tr>"
        )
    parts.append("</table>")
    parts.append("<h2>Indicators</h2>")
    parts.append(f"<img alt='bar charts of the indicators' src='{_bar_charts(c)}'>")
    parts.append(
        "<h2>Published figures beside computed ones</h2><table><tr><th>basin</th>"
        "<th>indicator</th><th>item</th><th>computed</th><th>published</th>"
        "<th>discrepancy</th><th>explanation</th><th>source</th></tr>"
    )
    for r in _published_rows(c).to_dict("records"):
        parts.append(
            "<tr>"
            + "".join(f"<td>{_e(x)}</td>" for x in (r["basin"], r["indicator"], r["item"]))
            + f"<td class='num'>{_e(fmt(r['value'], r['unit']))}</td>"
            + f"<td class='num'>{_e(fmt(r['published'], r['unit']))}</td>"
            + f"<td class='num'>{r['discrepancy_pct']:+.1f} %</td>"
            + f"<td>{_e(r['explanation'] or r['note'])}</td>"
            + f"<td>{_e(r['published_source'])}"
            + (
                f" <span class='small'>{_e(r['published_url'])}</span>"
                if str(r["published_url"])
                else ""
            )
            + "</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<h2>Dependency chains (top level)</h2><p class='small'>An arrow A -> B: "
        "water flows from A into B; its width grows with the discharge crossing. "
        f"Edges carrying less than {CHAIN_MIN_FLOW_SHARE:.0%} of the largest border flow "
        "(small streams on generalised borders) are left out, and so is the weaker of two "
        "opposite links between a pair and the weakest link of a loop, so that the drawing "
        "reads from upstream (left) to downstream (right); every edge is in the "
        "run's dependency_edges layer.</p>"
    )
    parts.append(f"<img alt='dependency chains' src='{_chains(c)}'>")
    parts.append("<h2>Maps</h2>")
    parts.append(f"<img alt='maps of the basins' src='{_maps(c)}'>")
    parts.append(
        "<h2>Governance</h2><table><tr><th>basin</th><th>kind</th><th>what</th>"
        "<th>year</th><th>source</th></tr>"
    )
    for r in _governance_rows(c):
        parts.append(
            "<tr>"
            + "".join(f"<td>{_e(r[k])}</td>" for k in ("basin", "field", "value", "year"))
            + f"<td>{_e(r['source'])} <span class='small'>{_e(r['url'])}</span></td></tr>"
        )
    parts.append("</table>")
    na = t[t["status"] == "not available"]
    if len(na):
        parts.append("<h2>Not available</h2><ul>")
        parts += [
            f"<li>{_e(r['basin'])}, {_e(r['label'])}: {_e(r['note'])}</li>"
            for r in na.to_dict("records")
        ]
        parts.append("</ul>")
    if band := _band_basis(c):
        parts.append(f"<p class='small'>Bands: {_e(band)}.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
