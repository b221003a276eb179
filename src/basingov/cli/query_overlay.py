"""``basingov query crossings`` and ``basingov query jurisdiction``: border questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import networkx as nx
import pandas as pd

from basingov.dependency import DependencyResult, analyse
from basingov.errors import InputError
from basingov.io import to_jsonable
from basingov.overlay import OverlayResult

__all__ = ["crossings", "find_jurisdiction", "jurisdiction", "load_overlay"]

_CROSSING_FIELDS = [
    "crossing_id",
    "from_jur",
    "to_jur",
    "from_name",
    "to_name",
    "level",
    "level_name",
    "reach_id",
    "lon",
    "lat",
    "upstream_area_km2",
    "discharge_m3s",
    "distance_to_outlet_km",
    "on_main_stem",
]


def load_overlay(basin: str | Path) -> tuple[Any, Any, OverlayResult]:
    """Load a basin, build its configured network (with areas) and overlay its jurisdictions.

    Parameters
    ----------
    basin
        Shipped basin name or path to a basin config.

    Returns
    -------
    tuple
        ``(Basin, RiverNetwork, OverlayResult)``.
    """
    from basingov.datasets import load_basin, load_network
    from basingov.overlay import overlay_network

    b = load_basin(basin)
    cfg = b.config
    net = load_network(b)
    ov = overlay_network(net, b.jurisdictions, b.basin, levels=list(cfg.boundaries.levels))
    return b, net, ov


def _records(df: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    cols = [c for c in cols if c in df.columns]
    return [{str(k): to_jsonable(v) for k, v in row.items()} for row in df[cols].to_dict("records")]


def find_jurisdiction(
    jurisdictions: pd.DataFrame, name_or_id: str, *, level: str | None = None
) -> pd.Series:
    """Find one jurisdiction by id, exact name or unique name prefix (case-insensitive).

    Raises
    ------
    InputError
        If nothing or several jurisdictions match; the message lists candidates.

    Examples
    --------
    >>> j = pd.DataFrame({"jur_id": ["DE", "DEA"], "name": ["Deutschland", "Nordrhein"],
    ...     "level_name": ["country", "nuts1"]})
    >>> find_jurisdiction(j, "deutsch")["jur_id"]
    'DE'
    """
    j = jurisdictions
    if level is not None:
        levels = sorted(set(j["level_name"]))
        if level not in levels:
            msg = f"level {level!r} is not a jurisdiction level; allowed levels are {levels}"
            raise InputError(msg)
        j = j[j["level_name"] == level]
    key = name_or_id.strip().casefold()
    for hit in (
        j[j["jur_id"].astype(str).str.casefold() == key],
        j[j["name"].astype(str).str.casefold() == key],
        j[j["name"].astype(str).str.casefold().str.startswith(key)],
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
                "or --level"
            )
            raise InputError(msg)
    msg = (
        f"no jurisdiction matches {name_or_id!r}"
        + (f" at level {level!r}" if level else "")
        + "; pass a jur_id or a name from the basin's jurisdictions layer"
    )
    raise InputError(msg)


def select_crossings(
    result: OverlayResult,
    reaches: pd.DataFrame,
    jurisdictions: pd.DataFrame,
    *,
    level: str | None = None,
    river: str | None = None,
    between: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Filter the crossing inventory by level, river name and pair of jurisdictions.

    Raises
    ------
    InputError
        If the level is unknown, the network has no river names, or a jurisdiction of
        ``between`` cannot be found.
    """
    c = result.crossings_at(level) if level is not None else result.crossings
    if river is not None:
        if "name" not in reaches.columns:
            msg = (
                "--river needs river names, but this basin's network has no 'name' column; "
                "set name_column in the basin config's [networks.<key>] table"
            )
            raise InputError(msg)
        names = reaches.set_index("reach_id")["name"].astype(str).str.casefold()
        ok = names[names.str.contains(river.casefold(), regex=False)].index
        c = c[c["reach_id"].isin(ok)]
    if between is not None:
        a = find_jurisdiction(jurisdictions, between[0], level=level)["jur_id"]
        b = find_jurisdiction(jurisdictions, between[1], level=level)["jur_id"]
        pair = ((c["from_jur"] == a) & (c["to_jur"] == b)) | (
            (c["from_jur"] == b) & (c["to_jur"] == a)
        )
        c = c[pair]
    return c.reset_index(drop=True)


@click.command("crossings")
@click.argument("basin")
@click.option("--level", "level", default=None, help="Jurisdiction level (default: all).")
@click.option("--river", default=None, help="Only reaches whose name contains this text.")
@click.option(
    "--between", nargs=2, default=None, help="Only crossings between these two jurisdictions."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to .csv, .gpkg or .geojson instead of printing JSON.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def crossings(
    basin: str,
    level: str | None,
    river: str | None,
    between: tuple[str, str] | None,
    output: Path | None,
    overwrite: bool,
) -> None:
    """List where rivers of BASIN pass from one jurisdiction into another.

    BASIN is a shipped basin name or a config path. Without -o, JSON goes to stdout.
    """
    from basingov.io import write_vector

    if output is not None and output.suffix.lower() not in {".csv", ".gpkg", ".geojson"}:
        msg = f"Cannot write {output}: use a .csv, .gpkg or .geojson file name"
        raise InputError(msg)
    b, net, ov = load_overlay(basin)
    sel = select_crossings(
        ov, net.reaches, b.jurisdictions, level=level, river=river, between=between
    )
    if output is not None:
        write_vector(sel, output, layer="crossings", overwrite=overwrite)
        click.echo(f"wrote {len(sel)} crossings to {output}", err=True)
        return
    click.echo(json.dumps(_records(sel, _CROSSING_FIELDS), indent=2))


def jurisdiction_report(
    result: OverlayResult,
    dep_result: DependencyResult,
    jurisdictions: pd.DataFrame,
    name_or_id: str,
    *,
    level: str | None,
) -> dict[str, Any]:
    """Build the JSON report of one jurisdiction (see ``basingov query jurisdiction``)."""
    row = find_jurisdiction(jurisdictions, name_or_id, level=level)
    jid, lv = str(row["jur_id"]), str(row["level_name"])
    g: nx.DiGraph = dep_result.graphs[lv]
    names = nx.get_node_attributes(g, "name")

    def link(a: str, b: str, other: str) -> dict[str, Any]:
        d = g.edges[a, b]
        return {
            "jur_id": other,
            "name": names.get(other, ""),
            "upstream_area_km2": to_jsonable(d["upstream_area_km2"]),
            "discharge_m3s": to_jsonable(d["discharge_m3s"]),
            "n_crossings": d["n_crossings"],
        }

    shares = result.unit_shares
    share = shares[(shares["jur_id"] == jid) & (shares["level_name"] == lv)]
    dep = dep_result.table
    ind = dep[(dep["jur_id"] == jid) & (dep["level_name"] == lv)]
    c = result.crossings_at(lv)
    mine = c[(c["from_jur"] == jid) | (c["to_jur"] == jid)]
    return {
        "jur_id": jid,
        "name": str(row["name"]),
        "level": int(row["level"]) if "level" in row else None,
        "level_name": lv,
        "area_km2": to_jsonable(share["area_km2"].iloc[0]) if len(share) else 0.0,
        "share": to_jsonable(share["share"].iloc[0]) if len(share) else 0.0,
        "drains_from": [link(u, jid, u) for u in g.predecessors(jid)] if jid in g else [],
        "drains_to": [link(jid, v, v) for v in g.successors(jid)] if jid in g else [],
        "all_upstream": sorted(nx.ancestors(g, jid)) if jid in g else [],
        "all_downstream": sorted(nx.descendants(g, jid)) if jid in g else [],
        "crossings": _records(mine, _CROSSING_FIELDS),
        "indicators": (
            {
                k: to_jsonable(ind[k].iloc[0])
                for k in (
                    "upstream_dependency",
                    "downstream_exposure",
                    "downstream_area_km2",
                    "chain_depth",
                    "betweenness",
                )
            }
            if len(ind)
            else {}
        ),
    }


@click.command("jurisdiction")
@click.argument("basin")
@click.argument("name_or_id")
@click.option("--level", "level", default=None, help="Look the name up at this level only.")
def jurisdiction(basin: str, name_or_id: str, level: str | None) -> None:
    """Show what drains into a jurisdiction, where its water goes, its crossings and indicators.

    BASIN is a shipped basin name or a config path; NAME_OR_ID is a jur_id, a name or a
    unique name prefix. JSON goes to stdout.
    """
    b, _, ov = load_overlay(basin)
    click.echo(
        json.dumps(
            jurisdiction_report(
                ov, analyse(ov, b.jurisdictions), b.jurisdictions, name_or_id, level=level
            ),
            indent=2,
        )
    )
