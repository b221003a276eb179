"""Per-basin report (HTML and Markdown): key tables and plots, linked to the basin map.

:func:`write_report` reads a finished run folder (``basingov run BASIN -o DIR``) and
writes ``report.html`` (plots inlined as PNG data), ``report.md`` (plots as files in
``figures/``) and ``map.html`` beside them. Plots: the dependency chain between the top
jurisdictions, a heatmap of the spillover source-receptor matrix and, when the run has
them, section classes over time (``sections``) and calibration observed vs predicted
(``calibration.csv``).
"""

from __future__ import annotations

import base64
import html
import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from basingov._checks import level_names
from basingov.io import atomic_dir, check_output_folder
from basingov.maps import (
    CLASS_ORDER,
    RunData,
    display_names,
    fmt,
    jurisdiction_indicators,
    latest_sections,
    pair_loads,
    parameter_label,
    priority_rows,
    read_run,
    write_basin_map,
)

__all__ = ["Figure", "Table", "report_content", "write_report"]


@dataclass(frozen=True)
class Table:
    """A report table: title, a note on what the numbers are, and the data."""

    title: str
    note: str
    data: pd.DataFrame


@dataclass(frozen=True)
class Figure:
    """A report plot as PNG bytes, with a caption."""

    name: str
    caption: str
    png: bytes


def _png(fig: Any) -> bytes:
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _new_figure(w: float, h: float) -> Any:
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(w, h))
    fig.set_layout_engine("constrained")
    return fig


def _levels(data: RunData) -> list[str]:
    return level_names(data.layers["jurisdictions"])


def _dependency_chain(data: RunData, level: str, names: dict[str, str], unit: str) -> Figure | None:
    jur = data.layers["jurisdictions"]
    edges = data.layers["dependency_edges"]
    edges = edges[edges["level_name"].astype(str) == level]
    if edges.empty:
        return None
    pl = pair_loads(data)
    fig = _new_figure(7.5, 6.0)
    ax = fig.add_subplot()
    polys = jur[jur["level_name"].astype(str) == level]
    polys.plot(ax=ax, color="#f2f0e6", edgecolor="#777", linewidth=0.6)
    data.layers["basin"].boundary.plot(ax=ax, color="#2b6c9e", linewidth=1.2)
    weight = None
    if pl is not None:
        idx = pl[pl["level_name"] == level].set_index(["from_jur", "to_jur"])["load_kg_day"]
        weight = [
            float(idx.get((str(a), str(b)), 0.0))
            for a, b in zip(edges["from_jur"], edges["to_jur"], strict=True)
        ]
    wmax = max(weight) if weight and max(weight) > 0 else 0.0
    for i, rec in enumerate(edges.itertuples()):
        (x0, y0), (x1, y1) = rec.geometry.coords[0], rec.geometry.coords[-1]
        w = 1.0 + 7.0 * np.sqrt(weight[i] / wmax) if weight and wmax else 1.5
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#54278f",
                "lw": w,
                "alpha": 0.75,
                "connectionstyle": "arc3,rad=0.15",
                "mutation_scale": 10 + 2 * w,
            },
        )
    pts = polys.geometry.representative_point()
    for jid, p in zip(polys["jur_id"].astype(str), pts, strict=True):
        ax.text(
            p.x,
            p.y,
            names.get(jid, jid),
            fontsize=7,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.7},
        )
    ax.set_axis_off()
    ax.set_title(f"Who drains into whom ({level}); arrow width = load passing ({unit})", fontsize=9)
    return Figure(
        name="dependency_chain",
        caption=(
            f"Dependency chain between the {level} units: an arrow from A to B means a river "
            "flows from A into B; its width is the modelled load passing (each river counted "
            "once, at its last crossing of that border)."
        ),
        png=_png(fig),
    )


def _heatmap(data: RunData, level: str, names: dict[str, str], unit: str) -> Figure | None:
    m = data.tables.get("spillover_matrix")
    if m is None:
        return None
    m = m[(m["level_name"].astype(str) == level) & m["origin"].notna() & m["receptor"].notna()]
    m = m[(m["origin"].astype(str) != "") & (m["receptor"].astype(str) != "")]
    if m.empty:
        return None
    mat = m.pivot_table(index="origin", columns="receptor", values="load_kg_day", aggfunc="sum")
    keep = mat.sum(axis=1).sort_values(ascending=False).index[:25]
    cols = mat.sum(axis=0).sort_values(ascending=False).index[:25]
    mat = mat.loc[keep, cols].fillna(0.0)
    # deferred: matplotlib is an optional dependency (basingov[maps]) and slow to import
    from matplotlib.colors import LogNorm

    fig = _new_figure(1.6 + 0.38 * len(cols), 1.4 + 0.32 * len(keep))
    ax = fig.add_subplot()
    vals = mat.to_numpy()
    pos = vals[vals > 0]
    norm = (
        LogNorm(vmin=max(float(pos.min()), float(pos.max()) * 1e-4), vmax=float(pos.max()))
        if len(pos)
        else None
    )
    im = ax.imshow(np.where(vals > 0, vals, np.nan), cmap="YlOrRd", norm=norm, aspect="auto")
    ax.set_xticks(
        range(len(cols)),
        [names.get(str(c), str(c))[:22] for c in cols],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    ax.set_yticks(range(len(keep)), [names.get(str(r), str(r))[:22] for r in keep], fontsize=7)
    ax.set_xlabel("receptor (where the load arrives)")
    ax.set_ylabel("origin (where it is generated)")
    fig.colorbar(im, ax=ax, label="kg/day (log scale)")
    ax.set_title(f"Spillover matrix S ({level}): {unit}", fontsize=9)
    return Figure(
        name="spillover_heatmap",
        caption=(
            f"Source-receptor matrix at the {level} level: load generated in each origin (row) "
            "that reaches each receptor (column), after in-stream decay (modelled). The "
            "diagonal is load that stays at home."
        ),
        png=_png(fig),
    )


def _class_series(data: RunData) -> Figure | None:
    sec = data.optional("section_classes")
    if sec is None or sec.empty:
        return None
    sec = pd.DataFrame(sec.drop(columns="geometry", errors="ignore"))
    classes = [c for c in CLASS_ORDER if c in set(sec["class"].astype(str))]
    others = sorted(set(sec["class"].astype(str)) - set(classes))
    order = classes + others
    rank = {c: i for i, c in enumerate(order)}
    # one time axis for all sections: categorical strings would be placed in the order
    # each section first shows them, so a section starting earlier would plot backwards
    periods = sorted(set(sec["period"].astype(str)))
    pos = {p: i for i, p in enumerate(periods)}
    fig = _new_figure(8.0, 4.2)
    ax = fig.add_subplot()
    for cid, g in list(sec.groupby("crossing_id"))[:20]:
        g = g.sort_values("period", key=lambda s: s.astype(str))
        ax.plot(
            g["period"].astype(str).map(pos),
            g["class"].astype(str).map(rank),
            marker="o",
            ms=3,
            lw=1,
            label=str(cid),
        )
    ax.set_xticks(range(len(periods)), periods)
    ax.set_yticks(range(len(order)), order)
    ax.invert_yaxis()
    ax.set_ylabel("class (best at top)")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    ax.legend(fontsize=6, ncol=2, loc="best")
    ax.set_title("Water-quality class of the crossing sections over time", fontsize=9)
    return Figure(
        name="section_classes",
        caption="Measured class of each monitored crossing section per period.",
        png=_png(fig),
    )


def _calibration(data: RunData) -> Figure | None:
    cal = data.optional("calibration_stations")
    if cal is None:
        return None
    obs = pd.to_numeric(cal["observed_kg_day"], errors="coerce")
    pred = pd.to_numeric(cal["predicted_kg_day"], errors="coerce")
    ok = obs.notna() & pred.notna()
    if not ok.any():
        return None
    fig = _new_figure(4.8, 4.6)
    ax = fig.add_subplot()
    ax.scatter(obs[ok], pred[ok], s=16, color="#2171b5")
    lo = float(min(obs[ok].min(), pred[ok].min()))
    hi = float(max(obs[ok].max(), pred[ok].max()))
    ax.plot([lo, hi], [lo, hi], color="#555", lw=1, ls="--", label="1:1")
    o, p = obs[ok].to_numpy(), pred[ok].to_numpy()
    nse = (
        1 - float(np.sum((o - p) ** 2) / np.sum((o - o.mean()) ** 2))
        if len(o) > 1 and np.var(o) > 0
        else float("nan")
    )
    ax.set_xlabel("observed")
    ax.set_ylabel("predicted")
    ax.legend(fontsize=7)
    ax.set_title(f"Calibration: observed vs predicted (NSE {nse:.2f})", fontsize=9)
    return Figure(
        name="calibration",
        caption="Calibration of the load model against measured river loads (calibration.csv).",
        png=_png(fig),
    )


def report_content(run: str | Path | RunData) -> tuple[dict[str, Any], list[Table], list[Figure]]:
    """Collect the report's facts, tables and figures from a run.

    Returns
    -------
    tuple
        ``(facts, tables, figures)``: facts is a dict of headline values with their
        provenance, tables a list of :class:`Table`, figures a list of :class:`Figure`.
    """
    data = run if isinstance(run, RunData) else read_run(run)
    s = data.summary
    levels = _levels(data)
    top, finest = levels[0], levels[-1]
    names_df = display_names(data.layers["jurisdictions"])
    names = dict(zip(names_df["jur_id"], names_df["label"], strict=True))
    # plots use the English name (matplotlib's default font has no CJK glyphs); the
    # tables keep both names
    plot_names = {
        j: (en if isinstance(en, str) and all(ord(c) < 0x2000 for c in en) else j)
        for j, en in zip(names_df["jur_id"], names_df["name_en"], strict=True)
    }
    key = s.get("key_indicators", {})
    unit = parameter_label(key.get("load_parameter"))
    facts = {
        "title": s.get("title", data.basin),
        "basin": data.basin,
        "unit": unit,
        "area_km2": key.get("basin_area_km2"),
        "published_area_km2": key.get("published_area_km2"),
        "generated_load_kg_day": key.get("generated_load_kg_day"),
        "network": s.get("network", {}),
        "governance": s.get("governance", {}),
        "counts": s.get("counts", {}),
        "warnings": s.get("warnings", []),
        "version": s.get("basingov_version"),
        "levels": levels,
    }
    tables: list[Table] = []
    ind = jurisdiction_indicators(data)
    for lv in dict.fromkeys([top, finest]):
        sub = ind[ind["level_name"] == lv].copy()
        once = "imported_gross_kg_day" in sub.columns
        cols = {
            "label": "jurisdiction",
            "upstream_dependency": "upstream dependency",
            "imported_share": "imported load share",
            "generated_kg_day": "generated kg/day",
            "imported_kg_day": IMPORTED_ONCE if once else IMPORTED_COLUMN,
            "net_balance_kg_day": "net balance kg/day" + (" (counted once)" if once else ""),
            "priority_class": "priority",
        }
        have = [c for c in cols if c in sub.columns]
        sort_by = "imported_kg_day" if "imported_kg_day" in sub.columns else "upstream_dependency"
        sub = sub.sort_values(sort_by, ascending=False, na_position="last")
        t = sub[have].rename(columns=cols).head(25 if lv == finest and lv != top else 100)
        tables.append(
            Table(
                title=f"Jurisdictions ({lv})",
                note="Upstream dependency: share of the water from upstream jurisdictions (by "
                "area). Loads are modelled (see the summary), not measured; net balance > 0 "
                "means it sends more load across its borders than it receives."
                + _import_note(sub, key.get("generated_load_kg_day"))
                + (" The 25 with most imported load are listed." if lv != top else ""),
                data=t,
            )
        )
    pl = pair_loads(data)
    if pl is not None and len(pl):
        pl = pl.copy()
        pl["from"] = pl["from_jur"].map(lambda j: names.get(j, j))
        pl["to"] = pl["to_jur"].map(lambda j: names.get(j, j))
        for lv in dict.fromkeys([top, finest]):
            sub = pl[pl["level_name"] == lv].sort_values("load_kg_day", ascending=False).head(10)
            tables.append(
                Table(
                    title=f"Largest loads passing a border ({lv})",
                    note=f"kg/day of {unit}, modelled; each river is counted once, at its last "
                    "crossing of that border (gross: the sum over all its crossings).",
                    data=sub[["from", "to", "n_crossings", "load_kg_day", "gross_kg_day"]].rename(
                        columns={
                            "n_crossings": "crossings",
                            "load_kg_day": "load kg/day",
                            "gross_kg_day": "gross kg/day",
                        }
                    ),
                )
            )
    pr = priority_rows(data)
    if pr is not None:
        tables.append(
            Table(
                title="Priority for joint prevention and compensation",
                note="From the priority stage (priority.csv): score, class, recommended mechanism.",
                data=pr.sort_values("score", ascending=False)[
                    ["section_or_pair", "score", "class", "mechanism", "reason"]
                ].head(20),
            )
        )
    tr = data.optional("transfers")
    if tr is not None:
        t = tr[["payer", "payee", "amount", "currency", "basis"]].copy()
        t["payer"] = t["payer"].map(lambda j: names.get(str(j), j))
        t["payee"] = t["payee"].map(lambda j: names.get(str(j), j))
        tables.append(
            Table(title="Compensation transfers", note="From transfers.csv.", data=t.head(30))
        )
    sec = latest_sections(data)
    if sec is not None:
        tables.append(
            Table(
                title="Crossing sections: latest class",
                note="From the monitoring stage (sections).",
                data=sec.reset_index().head(30),
            )
        )
    figures = [
        f
        for f in (
            _dependency_chain(data, top, plot_names, unit),
            _heatmap(data, top, plot_names, unit),
            _class_series(data),
            _calibration(data),
        )
        if f is not None
    ]
    return facts, tables, figures


def _fmt_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            pct = "share" in str(c) or "dependency" in str(c)
            out[c] = [
                ("n/a" if not np.isfinite(v) else f"{100 * v:.0f} %") if pct else fmt(v)
                for v in out[c]
            ]
    return out.fillna("")


def _markdown(facts: dict[str, Any], tables: list[Table], figures: list[Figure]) -> str:
    lines = [
        f"# {facts['title']}: basin report",
        "",
        "Interactive map: [map.html](map.html) (opens offline).",
        "",
    ]
    lines += _summary_lines(facts, md=True)
    for f in figures:
        lines += ["", f"![{f.caption}](figures/{f.name}.png)", "", f"*{f.caption}*"]
    for t in tables:
        lines += ["", f"## {t.title}", "", t.note, ""]
        frame = _fmt_frame(t.data)
        lines.append("| " + " | ".join(str(c) for c in frame.columns) + " |")
        lines.append("|" + "---|" * len(frame.columns))
        for row in frame.itertuples(index=False):
            lines.append("| " + " | ".join(str(v).replace("|", "/") for v in row) + " |")
    return "\n".join(lines) + "\n"


def _summary_lines(facts: dict[str, Any], *, md: bool) -> list[str]:
    net = facts["network"]
    gov = facts["governance"]
    area = facts["area_km2"]
    pub = facts["published_area_km2"]
    items = [
        f"Basin area {fmt(area)} km² (published: {fmt(pub)} km²)." if area else "",
        f"Rivers: {net.get('source', '')}" + (" (derived)." if net.get("derived") else "."),
        f"Generated load: {fmt(facts['generated_load_kg_day'])} kg/day of {facts['unit']} "
        "(modelled)."
        if facts.get("generated_load_kg_day")
        else "No loads were computed in this run.",
        f"Governance: {gov.get('body', '')}." if gov.get("body") else "",
        f"Border crossings: {facts['counts'].get('crossings', 'n/a')}; "
        f"levels: {', '.join(facts['levels'])}.",
    ]
    items += [f"Warning from the run: {w}" for w in facts["warnings"]]
    return [f"- {x}" for x in items if x]


def _html(facts: dict[str, Any], tables: list[Table], figures: list[Figure]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(str(facts['title']))}: basin report</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:62em;padding:0 1em}"
        "table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{padding:3px 8px;"
        "border-bottom:1px solid #ddd;text-align:left}img{max-width:100%}"
        ".note{color:#555;font-size:13px}</style></head><body>",
        f"<h1>{e(str(facts['title']))}: basin report</h1>",
        "<p><a href='map.html'><b>Open the interactive map</b></a> (one file, works offline).</p>",
        "<ul>" + "".join(f"<li>{e(x[2:])}</li>" for x in _summary_lines(facts, md=False)) + "</ul>",
    ]
    for f in figures:
        b64 = base64.b64encode(f.png).decode("ascii")
        parts.append(
            f"<figure><img alt='{e(f.caption)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption class='note'>{e(f.caption)}</figcaption></figure>"
        )
    for t in tables:
        parts.append(f"<h2>{e(t.title)}</h2><p class='note'>{e(t.note)}</p>")
        parts.append(_fmt_frame(t.data).to_html(index=False, escape=True, border=0))
    parts.append(f"<p class='note'>basingov {e(str(facts.get('version', '')))}</p></body></html>")
    return "\n".join(parts)


def write_report(
    run: str | Path | RunData, out_dir: str | Path, *, overwrite: bool = False
) -> Path:
    """Write the basin report of a run: ``report.html``, ``report.md``, figures, ``map.html``.

    Parameters
    ----------
    run
        A finished run folder (or its :class:`basingov.maps.RunData`).
    out_dir
        Report folder (created; replaced only with ``overwrite``).
    overwrite
        Replace an existing ``out_dir``.

    Returns
    -------
    pathlib.Path
        ``out_dir/report.html``.

    Raises
    ------
    OutputExistsError
        If ``out_dir`` exists and ``overwrite`` is false (checked before any work).
    InputError
        If the run folder is incomplete or an optional table lacks its columns.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from basingov import pipeline
    >>> tmp = tempfile.mkdtemp()
    >>> with warnings.catch_warnings():  # Taihu stations published without coordinates
    ...     warnings.filterwarnings("ignore", message=".*left unsnapped")
    ...     _ = pipeline.run("taihu", out_dir=tmp + "/run")
    >>> page = write_report(tmp + "/run", tmp + "/report")
    >>> sorted(p.name for p in page.parent.iterdir())
    ['.basingov-manifest.json', 'figures', 'map.html', 'report.html', 'report.md']
    """
    out = check_output_folder(out_dir, overwrite=overwrite)
    data = run if isinstance(run, RunData) else read_run(run)
    facts, tables, figures = report_content(data)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "figures").mkdir()
        for f in figures:
            (tmp / "figures" / f"{f.name}.png").write_bytes(f.png)
        (tmp / "report.md").write_text(_markdown(facts, tables, figures), encoding="utf-8")
        (tmp / "report.html").write_text(_html(facts, tables, figures), encoding="utf-8")
        own = data.run_dir / "map.html" if data.run_dir is not None else None
        if own is not None and own.is_file():
            shutil.copyfile(own, tmp / "map.html")
        else:
            write_basin_map(data, tmp / "map.html")
    return out / "report.html"


#: The report's column of imported load: each load counted once, where it first enters the
#: jurisdiction's waters (``imported_first`` of ``spillover_indicators.csv``).
IMPORTED_ONCE = "imported kg/day (counted once)"
#: The same from a run written before ``imported_first`` existed: the spillover matrix
#: counts a load at every border it crosses into a jurisdiction (docs/guide.md,
#: "Spillover: what the matrix counts").
IMPORTED_COLUMN = "imported kg/day (each crossing in)"


def _import_note(rows: pd.DataFrame, basin_load: Any) -> str:
    """Say how imports are counted, naming any that exceed the basin's generated load.

    Examples
    --------
    >>> rows = pd.DataFrame({"label": ["A", "B"], "imported_kg_day": [150.0, 20.0]})
    >>> _import_note(rows, 100.0)[:60]
    ' Imported load is counted at every crossing into the jurisdi'
    >>> "A imports 150 kg/day" in _import_note(rows, 100.0)
    True
    >>> "more than the basin" in _import_note(rows, 1000.0)
    False
    >>> once = rows.assign(imported_gross_kg_day=[150.0, 20.0], imported_kg_day=[60.0, 20.0])
    >>> print(_import_note(once, 100.0)[:84])
     Imported load and net balance count each load once, where it first enters or leaves
    >>> "A: 150 kg/day" in _import_note(once, 100.0)
    True
    """
    if "imported_kg_day" not in rows.columns:
        return ""
    try:
        total = float(basin_load)
    except (TypeError, ValueError):
        total = float("nan")
    once = "imported_gross_kg_day" in rows.columns
    # the imports counted at every crossing in: the report's column, or beside it
    col = "imported_gross_kg_day" if once else "imported_kg_day"
    gross = pd.to_numeric(rows[col], errors="coerce")
    over = rows[gross > total] if total > 0 else rows.iloc[:0]
    top = over.iloc[int(np.argmax(gross[over.index].to_numpy()))] if len(over) else None
    if once:
        note = (
            " Imported load and net balance count each load once, where it first enters or "
            "leaves the jurisdiction's waters (spillover_indicators.csv: imported_first, "
            "net_balance_first)."
        )
        if top is not None:
            note += (
                " Counted at every crossing in, as the source-receptor matrix counts them "
                f"('imported'), {len(over)} would import more than the whole basin generates "
                f"({total:,.0f} kg/day; {top['label']}: {top[col]:,.0f} "
                "kg/day): a river winds back and forth across their borders."
            )
        return note
    note = (
        " Imported load is counted at every crossing into the jurisdiction, as the "
        "source-receptor matrix counts it: where a river winds back and forth across a "
        "border, the same load counts each time it enters, and the net balance with it."
    )
    if top is not None:
        note += (
            f" So {len(over)} import more than the whole basin generates ({total:,.0f} kg/day;"
            f" {top['label']} imports {top[col]:,.0f} kg/day): read them as "
            "how often the load passes in, not how much."
        )
    return note
