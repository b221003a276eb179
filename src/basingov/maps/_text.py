"""Plain-language popups for officials: what a number means, and where it comes from."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from basingov.maps._indicators import fmt

__all__ = [
    "CROSSING_POPUP_KEYS",
    "OUTSIDE",
    "crossing_popup",
    "crossing_popup_records",
    "jur_label",
    "jurisdiction_popup",
    "level_label",
    "station_popup",
    "transfer_records",
]

_LEVEL_LABELS = {
    "country": "countries",
    "province": "provinces",
    "prefecture": "prefectures",
    "state": "states",
    "county": "counties",
    "lad": "local authority districts",
    "nuts1": "NUTS 1 regions",
    "nuts2": "NUTS 2 regions",
    "nuts3": "NUTS 3 regions",
}


def level_label(level_name: str) -> str:
    """Readable plural of a level name.

    Examples
    --------
    >>> level_label("nuts1"), level_label("canton")
    ('NUTS 1 regions', 'canton units')
    """
    return _LEVEL_LABELS.get(str(level_name).lower(), f"{level_name} units")


#: How a crossing's side outside every jurisdiction of the basin data is named.
OUTSIDE = "the area outside the mapped jurisdictions"


def jur_label(jur_id: Any, names: Mapping[str, str]) -> str:
    """Display name of a jur_id; an empty id (outside the boundary data) is said so.

    Examples
    --------
    >>> jur_label("", {}), jur_label("A", {"A": "Alpha"}), jur_label("B", {})
    ('the area outside the mapped jurisdictions', 'Alpha', 'B')
    """
    j = "" if jur_id is None else str(jur_id)
    if j in ("", "nan", "None", "<NA>"):
        return OUTSIDE
    return str(names.get(j, j))


def _e(s: Any) -> str:
    return html.escape(str(s))


def _ok(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _txt(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    s = str(v)
    return None if s in ("", "nan", "None", "<NA>") else s


def _f(v: Any) -> float:
    return float(v)


def _pct(v: Any) -> str:
    return f"{100 * float(v):.0f} %"


#: The values of a row that :func:`crossing_popup` reads (the others need not be given).
CROSSING_POPUP_KEYS = (
    "from_jur", "to_jur", "river_name", "level_name", "flux_kg_day", "origins",
    "discharge_m3s", "class", "period", "trend", "priority_class", "mechanism", "reason",
    "priority_score",
)  # fmt: skip


def crossing_popup(
    row: Mapping[str, Any],
    names: Mapping[str, str],
    *,
    unit: str,
    flow_note: str,
    transfers: pd.DataFrame | None = None,
) -> str:
    """Popup HTML of one crossing section, in plain words.

    Parameters
    ----------
    row
        A row of :func:`basingov.maps._indicators.crossing_indicators`.
    names
        Display label per jur_id.
    unit
        What the load is (e.g. ``"total nitrogen (TN)"``).
    flow_note
        How the flow was obtained (e.g. ``"estimated from upstream area x runoff"``).
    transfers
        The compensation transfer table, when it exists.

    Examples
    --------
    >>> row = {"from_jur": "A", "to_jur": "B", "level_name": "country", "river_name": "Rhine",
    ...        "flux_kg_day": 1234.5, "origins": [("C", 1000.0), ("A", 234.5)],
    ...        "discharge_m3s": 2300.0}
    >>> text = crossing_popup(row, {"A": "Alpha", "B": "Beta", "C": "Gamma"},
    ...                       unit="total nitrogen (TN)", flow_note="estimated")
    >>> "Upstream Alpha sends about 1,234 kg/day of total nitrogen (TN) into Beta" in text
    True
    >>> "81 % was generated in Gamma" in text
    True
    """
    a, b = str(row["from_jur"]), str(row["to_jur"])
    na, nb = _e(jur_label(a, names)), _e(jur_label(b, names))
    river = _txt(row.get("river_name"))
    head = f"<h3>{na} &rarr; {nb}</h3>"
    where = f"the {_e(river)}" if river else "the river"
    parts = [
        f"<p>Here {where} flows from {na} into {nb} "
        f"(a border between {level_label(str(row.get('level_name', '')))}).</p>"
    ]
    flux = row.get("flux_kg_day")
    if _ok(flux) and _f(flux) <= 0:
        parts.append(
            f"<p>No modelled load crosses here (0 kg/day of {_e(unit)}): the load model "
            "puts no source upstream of this crossing.</p>"
        )
    elif _ok(flux):
        parts.append(
            f"<p><b>Upstream {na} sends about {fmt(flux)} kg/day of {_e(unit)} into {nb} "
            "at this crossing</b> (modelled estimate, not a measurement).</p>"
        )
        origins = [(o, v) for o, v in (row.get("origins") or []) if _ok(v) and float(v) > 0]
        total = _f(flux)
        if origins and total > 0:
            top = origins[:3]
            bits = [
                f"{_pct(v / total)} was generated in {_e(jur_label(str(o), names))}" for o, v in top
            ]
            rest = total - sum(v for _, v in top)
            if len(origins) > 3 and rest > 0:
                bits.append(f"{_pct(rest / total)} in {len(origins) - 3} other(s)")
            parts.append("<p>Of this, " + "; ".join(bits) + ".</p>")
    if _ok(row.get("discharge_m3s")):
        parts.append(f"<p>Mean flow about {fmt(row['discharge_m3s'])} m³/s ({_e(flow_note)}).</p>")
    cls = _txt(row.get("class"))
    if cls:
        period = _txt(row.get("period"))
        when = f" in {_e(period)}" if period else ""
        parts.append(f"<p>Measured water-quality class <b>{_e(cls)}</b>{when}.</p>")
    trend = _txt(row.get("trend"))
    if trend:
        parts.append(f"<p>Trend: {_e(trend)}.</p>")
    pcls = _txt(row.get("priority_class"))
    if pcls:
        mech = _txt(row.get("mechanism")) or "no mechanism given"
        reason = _txt(row.get("reason"))
        parts.append(
            f"<p><b>Priority for joint action: {_e(pcls)}</b> "
            f"(score {fmt(row.get('priority_score'))})."
            f" Recommended: <b>{_e(mech)}</b>"
            + (f", because {_e(reason)}" if reason else "")
            + ".</p>"
        )
    if transfers is not None and len(transfers):
        recs = transfer_records(transfers).get((a, b), [])
    else:
        recs = []
    return head + "".join(parts) + _transfer_text(recs, names)


def transfer_records(transfers: pd.DataFrame) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Compensation transfer rows by jurisdiction pair, both ways (for crossing popups).

    ``(a, b)`` and ``(b, a)`` both list the transfers between ``a`` and ``b``, whichever
    pays, in table order.

    Examples
    --------
    >>> t = pd.DataFrame({"payer": ["A", "B"], "payee": ["B", "C"], "amount": [1.0, 2.0]})
    >>> [r["amount"] for r in transfer_records(t)[("B", "A")]]
    [1.0]
    """
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for raw in transfers.to_dict(orient="records"):
        rec = {str(k): v for k, v in raw.items()}
        p, q = str(rec["payer"]), str(rec["payee"])
        out.setdefault((p, q), []).append(rec)
        if q != p:
            out.setdefault((q, p), []).append(rec)
    return out


def crossing_popup_records(
    row: Mapping[str, Any],
    names: Mapping[str, str],
    *,
    unit: str,
    flow_note: str,
    records: Mapping[tuple[str, str], list[dict[str, Any]]],
) -> str:
    """:func:`crossing_popup` with the transfers already grouped (:func:`transfer_records`)."""
    text = crossing_popup(row, names, unit=unit, flow_note=flow_note, transfers=None)
    return text + _transfer_text(records.get((str(row["from_jur"]), str(row["to_jur"])), []), names)


def _transfer_text(recs: list[dict[str, Any]], names: Mapping[str, str]) -> str:
    parts = []
    for rec in recs:
        payer = _e(jur_label(str(rec["payer"]), names))
        payee = _e(jur_label(str(rec["payee"]), names))
        parts.append(
            f"<p>Compensation: {payer} pays {payee} {fmt(rec['amount'])} "
            f"{_e(rec['currency'])} ({_e(rec['basis'])}).</p>"
        )
    return "".join(parts)


def jurisdiction_popup(
    row: Mapping[str, Any], *, unit: str, names: Mapping[str, str], basis: str | None = None
) -> str:
    """Popup HTML of one jurisdiction: dependency, spillover balance, priority.

    Examples
    --------
    >>> row = {"label": "Gamma", "level_name": "nuts1", "upstream_dependency": 0.584,
    ...        "downstream_exposure": 4, "imported_kg_day": 137.8, "imported_share": 0.58,
    ...        "generated_kg_day": 98.1, "exported_kg_day": 100.4, "net_balance_kg_day": -37.4}
    >>> t = jurisdiction_popup(row, unit="total nitrogen (TN)", names={})
    >>> "58 % of the water" in t, "receives 37.4 kg/day more than it sends" in t
    (True, True)
    """
    parts = [f"<h3>{_e(row.get('label', row.get('jur_id', '')))}</h3>"]
    lvl = str(row.get("level_name", ""))
    parts.append(f'<p class="bg-note">One of the {level_label(lvl)} in the basin.</p>')
    dep = row.get("upstream_dependency")
    if _ok(dep):
        by = "drained area" if basis in (None, "area") else "river length"
        parts.append(
            f"<p><b>{_pct(dep)} of the water</b> flowing through it comes from upstream "
            f"jurisdictions (by {by}).</p>"
        )
    exp = row.get("downstream_exposure")
    if _ok(exp):
        n = int(_f(exp))
        parts.append(
            f"<p>{n} jurisdiction{'s' if n != 1 else ''} at this level lie downstream of it.</p>"
        )
    if _ok(row.get("generated_kg_day")):
        gen, imp = _f(row["generated_kg_day"]), row.get("imported_kg_day")
        parts.append(f"<p>Load of {_e(unit)} (modelled, kg/day): it generates {fmt(gen)}")
        if _ok(imp):
            share = row.get("imported_share")
            sh = f" ({_pct(share)} of all the load in its waters)" if _ok(share) else ""
            gross = row.get("imported_gross_kg_day")
            if _ok(gross):
                parts[-1] += f"; {fmt(imp)} more flows in from upstream{sh}, each load counted once"
                if _f(gross) > 1.01 * _f(imp):
                    parts[-1] += (
                        f" ({fmt(gross)} counting every crossing in: a river winds across "
                        "its border)"
                    )
            else:
                parts[-1] += (
                    f"; {fmt(imp)} more flows in from upstream{sh}, counted at every crossing "
                    "in (a river winding across the border counts each time)"
                )
        if _ok(row.get("exported_kg_day")):
            parts[-1] += (
                f"; it sends {fmt(row['exported_kg_day'])} of its own load across its borders"
            )
        parts[-1] += ".</p>"
        bal = row.get("net_balance_kg_day")
        if _ok(bal):
            b = _f(bal)
            if abs(b) < 1e-9:
                parts.append("<p>It sends as much as it receives.</p>")
            elif b > 0:
                parts.append(f"<p>Net: it <b>sends {fmt(b)} kg/day more than it receives</b>.</p>")
            else:
                parts.append(f"<p>Net: it <b>receives {fmt(-b)} kg/day more than it sends</b>.</p>")
    pcls = _txt(row.get("priority_class"))
    if pcls:
        mech = _txt(row.get("priority_mechanism")) or ""
        parts.append(
            f"<p>Highest priority of the sections and pairs it is part of: <b>{_e(pcls)}</b>"
            + (f" (recommended: {_e(mech)})" if mech else "")
            + ".</p>"
        )
    return "".join(parts)


def station_popup(row: Mapping[str, Any]) -> str:
    """Popup HTML of a monitoring station.

    Examples
    --------
    >>> "proxy" in station_popup({"station_id": "S1", "name": "Kingston", "proxy": 1})
    True
    """
    name = _txt(row.get("name")) or str(row.get("station_id"))
    parts = [f"<h3>Monitoring station {_e(name)}</h3>"]
    if _txt(row.get("name")):
        parts.append(f'<p class="bg-note">id {_e(row.get("station_id"))}</p>')
    proxy = row.get("proxy", row.get("is_proxy"))
    if isinstance(proxy, str):
        proxy = 1 if proxy.strip().lower() in ("true", "1") else 0
    if _ok(proxy) and _f(proxy) > 0:
        parts.append(
            "<p><b>Location is a proxy</b> (the site's coordinates are not published; "
            "placed at a nearby known point).</p>"
        )
    cls = _txt(row.get("class"))
    if cls:
        parts.append(f"<p>Water-quality class {_e(cls)}.</p>")
    cid = _txt(row.get("crossing_id"))
    if cid:
        parts.append(f"<p>Monitors border crossing {_e(cid)}.</p>")
    if _ok(row.get("snap_distance_m")):
        parts.append(f"<p>{fmt(row['snap_distance_m'])} m from the mapped river line.</p>")
    return "".join(parts)
