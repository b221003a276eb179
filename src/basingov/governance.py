"""The decision stage of a basin run: compensation, River Chief table and priority together.

:func:`governance_stage` runs :mod:`basingov.compensation`, :mod:`basingov.rivers` and
:mod:`basingov.priority` on the results of the earlier stages and returns the tables and
layers of the output contract (``transfers``, ``settlement``, ``priority``,
``river_chiefs``; DESIGN §2.13). :func:`jurisdiction_money` and
:func:`jurisdiction_stretches` answer, for one jurisdiction, what it pays and receives and
which stretches it answers for (``basingov query jurisdiction``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from basingov._checks import require_columns
from basingov._tables import read_table
from basingov.compensation import CompensationResult, evaluate_rules
from basingov.errors import InputError
from basingov.priority import PriorityResult, priority
from basingov.rivers import RIVER_CHIEF_COLUMNS, alias_groups, river_chiefs, river_names

__all__ = [
    "GovernanceResult",
    "governance_stage",
    "jurisdiction_money",
    "jurisdiction_stretches",
    "read_run_tables",
    "summary_block",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class GovernanceResult:
    """Tables and layers of the decision stage.

    Attributes
    ----------
    compensation
        :class:`basingov.compensation.CompensationResult` of the basin's rule sets.
    priority
        :class:`basingov.priority.PriorityResult`.
    river_chiefs
        River Chief table (:func:`basingov.rivers.river_chiefs`); empty when the network
        has no river names.
    tables
        Output tables by name: ``transfers``, ``settlement``, ``compensation_positions``,
        ``compensation_rules``, ``priority``, ``priority_stability``, ``river_chiefs``.
    layers
        GeoPackage layers: ``priority``, ``river_chiefs``.
    notes
        What could not be computed, and why (also logged and put in the run summary).
    """

    compensation: CompensationResult
    priority: PriorityResult
    river_chiefs: gpd.GeoDataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _observations(path: Path | None) -> pd.DataFrame | None:
    if path is None or not Path(path).is_file():
        return None
    return read_table(
        path,
        what="[monitoring].observations",
        dtype={"station_id": str, "parameter": str, "unit": str},
    )


def governance_stage(
    basin: Any,
    net: Any,
    overlay: Any,
    *,
    spillover: Any = None,
    sections: pd.DataFrame | None = None,
) -> GovernanceResult:
    """Run compensation, the River Chief table and priority on one basin's results.

    Parameters
    ----------
    basin
        The loaded basin (:class:`basingov.datasets.Basin`: config, jurisdictions, basin
        polygon).
    net
        Its river network.
    overlay
        Its :class:`basingov.overlay.OverlayResult`.
    spillover
        Its :class:`basingov.spillover.SpilloverResult`, or None when the config has no
        load sources (then matrix-based rules are not evaluated and loads are unknown).
    sections
        The monitoring stage's section table (see :data:`basingov.priority.SECTION_COLUMNS`),
        or None.

    Returns
    -------
    GovernanceResult

    Raises
    ------
    InputError
        If a compensation rule or the priority settings do not fit the basin.
    """
    cfg = basin.config
    notes: list[str] = []
    needs_obs = any(
        r.kind == "section_index" and r.station is not None for r in cfg.compensation.rules
    )
    obs = _observations(cfg.monitoring.observations) if needs_obs else None
    comp = evaluate_rules(
        cfg.compensation.rules,
        spillover=spillover,
        observations=obs,
        jurisdictions=basin.jurisdictions["jur_id"].astype(str).tolist(),
    )
    for r in comp.rules.itertuples():
        if r.status != "evaluated":
            notes.append(f"compensation rule {r.rule!r} not evaluated: {r.detail}")
    if not cfg.compensation.rules:
        notes.append("no [[compensation.rules]] in the basin config: no transfers")
    area = float(basin.basin.geometry.area.sum() / 1e6) if len(basin.basin) else None
    prio = priority(
        net,
        overlay,
        crossing_flux=None if spillover is None else spillover.crossing_flux,
        sections=sections,
        settings=cfg.priority,
        basin_area_km2=area,
        seed=cfg.spillover.seed,
    )
    if sections is None:
        notes.append(
            "priority: no monitoring sections table, so exceedance is unknown (left out of "
            "the score) and no station is known at any section"
        )
    if spillover is None:
        notes.append("priority: no loads, so transboundary load is unknown (left out)")
    # the names read once: a network with a name column whose names are all blank has none
    names = river_names(net.reaches) if "name" in net.reaches else []
    if names:
        # a river whose name changes along the flow (the config's river_aliases) is one
        # river: the Rhine's Rhein, Rhin and Rhine
        groups = alias_groups(names, cfg.network.river_aliases)
        rc = river_chiefs(net, overlay, aliases=groups)
    else:
        rc = _empty_river_chiefs(net.reaches.crs)
        notes.append("river chiefs: the network has no river names, so the table is empty")
    for n in notes:
        logger.info("%s", n)
    tr = comp.transfers.table
    tables = {
        "transfers": tr,
        "settlement": comp.settlement.transfers,
        "compensation_positions": comp.settlement.positions,
        "compensation_rules": comp.rules,
        "priority": pd.DataFrame(prio.table.drop(columns="geometry")),
        "priority_stability": prio.stability,
        "river_chiefs": pd.DataFrame(rc.drop(columns="geometry")),
    }
    layers = {"priority": prio.table, "river_chiefs": rc}
    return GovernanceResult(
        compensation=comp,
        priority=prio,
        river_chiefs=rc,
        tables=tables,
        layers=layers,
        notes=notes,
    )


def _empty_river_chiefs(crs: Any) -> gpd.GeoDataFrame:
    """Return an empty River Chief table with its columns."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in RIVER_CHIEF_COLUMNS})
    return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs))


def jurisdiction_money(
    transfers: pd.DataFrame, settlement: pd.DataFrame, jur_id: str
) -> dict[str, Any]:
    """Report what one jurisdiction pays and receives, why, and its netted position.

    Parameters
    ----------
    transfers
        Transfer table (``tables/transfers.csv``).
    settlement
        Netted settlement (``tables/settlement.csv``).
    jur_id
        The jurisdiction.

    Returns
    -------
    dict
        ``pays`` and ``receives`` (one entry per transfer: the other party, amount,
        currency, rule, basis, band, illustrative), ``net`` per currency (received - paid)
        and ``settlement`` (its netted payments).

    Examples
    --------
    >>> t = pd.DataFrame({"payer": ["A"], "payee": ["B"], "amount": [5.0],
    ...     "currency": ["EUR"], "basis": ["x"], "rule": ["r"]})
    >>> jurisdiction_money(t, t, "B")["net"]
    {'EUR': 5.0}
    """
    need = ["payer", "payee", "amount", "currency"]
    for name, df in (("transfers", transfers), ("settlement", settlement)):
        require_columns(df, need, what=f"the {name} table")

    def entries(df: pd.DataFrame, side: str, other: str) -> list[dict[str, Any]]:
        sub = df[df[side].astype(str) == jur_id]
        out = []
        for r in sub.to_dict("records"):
            e: dict[str, Any] = {
                "party": str(r[other]),
                "amount": float(r["amount"]),
                "currency": str(r["currency"]),
            }
            for k in ("rule", "kind", "basis", "amount_p5", "amount_p50", "amount_p95",
                      "illustrative", "source"):  # fmt: skip
                if k in r and not (isinstance(r[k], float) and pd.isna(r[k])):
                    v = r[k]
                    e[k] = v.item() if hasattr(v, "item") else v
                    if k == "illustrative":
                        e[k] = bool(e[k])
            out.append(e)
        return out

    pays = entries(transfers, "payer", "payee")
    receives = entries(transfers, "payee", "payer")
    net: dict[str, float] = {}
    for e in receives:
        net[e["currency"]] = net.get(e["currency"], 0.0) + e["amount"]
    for e in pays:
        net[e["currency"]] = net.get(e["currency"], 0.0) - e["amount"]
    settled = [
        {
            "payer": str(r["payer"]),
            "payee": str(r["payee"]),
            "amount": float(r["amount"]),
            "currency": str(r["currency"]),
        }
        for r in settlement.to_dict("records")
        if jur_id in (str(r["payer"]), str(r["payee"]))
    ]
    return {"pays": pays, "receives": receives, "net": net, "settlement": settled}


def jurisdiction_stretches(
    table: pd.DataFrame, jur_id: str, *, level: str | None = None
) -> list[dict[str, Any]]:
    """List the River Chief stretches one jurisdiction answers for, alone or jointly.

    Examples
    --------
    >>> t = pd.DataFrame({"river": ["R", "R"], "course": [1, 1], "level_name": ["c", "c"],
    ...     "seq": [1, 2], "jur_id": ["A", "A|B"], "jur_a": ["", "A"], "jur_b": ["", "B"],
    ...     "shared": [False, True], "length_km": [3.0, 2.0]})
    >>> [(s["seq"], s["shared"]) for s in jurisdiction_stretches(t, "A")]
    [(1, False), (2, True)]
    """
    if table.empty:
        return []
    own = table["jur_id"].astype(str) == jur_id
    joint = (table["jur_a"].astype(str) == jur_id) | (table["jur_b"].astype(str) == jur_id)
    sub = table[own | joint]
    if level is not None:
        sub = sub[sub["level_name"] == level]
    cols = [c for c in ("river", "course", "level_name", "seq", "jur_id", "shared",
                        "length_km", "entry", "entry_crossing_id", "exit",
                        "exit_crossing_id") if c in sub.columns]  # fmt: skip
    out = []
    for r in sub[cols].to_dict("records"):
        out.append({str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
    return out


def read_run_tables(run_dir: str | Path) -> Mapping[str, pd.DataFrame]:
    """Read ``transfers``, ``settlement`` and ``river_chiefs`` from a finished run folder.

    Raises
    ------
    InputError
        If a table is missing (the run predates these outputs, or the folder is wrong).
    """
    tables = Path(run_dir) / "tables"
    out: dict[str, pd.DataFrame] = {}
    for name in ("transfers", "settlement", "river_chiefs"):
        p = tables / f"{name}.csv"
        if not p.is_file():
            msg = f"{p} does not exist; pass the output folder of 'basingov run' (-o DIR)"
            raise InputError(msg)
        out[name] = pd.read_csv(
            p,
            dtype={"payer": str, "payee": str, "jur_id": str, "jur_a": str, "jur_b": str},
            keep_default_na=False,
            na_values=[""],
        )
        for c in ("payer", "payee", "jur_id", "jur_a", "jur_b"):
            if c in out[name]:
                out[name][c] = out[name][c].fillna("")
    return out


def summary_block(res: GovernanceResult) -> dict[str, Any]:
    """Key figures of the decision stage for ``summary.json``."""
    t = res.compensation.transfers.table
    by_cur = {str(c): float(v) for c, v in t.groupby("currency")["amount"].sum().items()}
    top = res.priority.table
    firsts = {}
    for (lv, kind), g in top.groupby(["level_name", "kind"], sort=False):
        firsts[f"{lv}/{kind}"] = str(g.iloc[0]["section_or_pair"])
    return {
        "transfers": len(t),
        "transfer_total_by_currency": by_cur,
        "settlement_payments": len(res.compensation.settlement.transfers),
        "rules": json.loads(res.compensation.rules.to_json(orient="records")),
        "priority_top": firsts,
        "priority_stability": json.loads(res.priority.stability.to_json(orient="records")),
        "river_chief_stretches": len(res.river_chiefs),
        "notes": list(res.notes),
    }
