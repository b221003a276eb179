"""GeoPackage layers for the GIS analyst: indicators joined on, real geometry types."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from basingov.maps._indicators import (
    crossing_indicators,
    jurisdiction_indicators,
    pair_loads,
)
from basingov.maps._inputs import RunData

__all__ = ["JURISDICTION_INDICATORS", "LAYER_GEOMETRY_TYPES", "gis_layers"]

#: Geometry type of each GeoPackage layer of the output contract (DESIGN §2.13), so a
#: layer that is empty in a run (no boundary reaches in Taihu) still has its real type.
LAYER_GEOMETRY_TYPES: dict[str, str] = {
    "reaches": "LineString",
    "pieces": "LineString",
    "jurisdictions": "MultiPolygon",
    "basin": "MultiPolygon",
    "crossings": "Point",
    "boundary_reaches": "LineString",
    "boundary_crossings": "Point",
    "boundary_stretches": "MultiLineString",
    "dependency_edges": "LineString",
    "stations": "Point",
    "sections": "Point",
    "river_chiefs": "MultiLineString",
}

#: Indicator columns joined onto the ``jurisdictions`` layer (and, for the finest level,
#: onto ``pieces``), when the run has them.
JURISDICTION_INDICATORS = (
    "name_local",
    "name_en",
    "upstream_dependency",
    "downstream_exposure",
    "chain_depth",
    "generated_kg_day",
    "imported_kg_day",
    "imported_share",
    "exported_kg_day",
    "net_balance_kg_day",
    "priority_score",
    "priority_class",
    "priority_mechanism",
)

_CROSSING_COLUMNS = (
    "river_name",
    "flux_kg_day",
    "top_origin",
    "top_origin_share",
    "class",
    "period",
    "trend",
    "priority_score",
    "priority_class",
    "mechanism",
    "reason",
)


def gis_layers(
    layers: Mapping[str, gpd.GeoDataFrame], tables: Mapping[str, pd.DataFrame]
) -> dict[str, gpd.GeoDataFrame]:
    """Copy the output layers with every indicator joined on, so QGIS styles them directly.

    - ``jurisdictions``: :data:`JURISDICTION_INDICATORS` (dependency, spillover balance,
      names in the local language and English, priority when a priority table exists);
    - ``crossings``: load crossing (``flux_kg_day``), its largest origin and share, river
      name, and the section class, trend and priority when those stages ran;
    - ``pieces``: ``discharge_m3s``, ``flux_kg_day`` (load carried by its reach),
      ``generated_kg_day`` (load generated on the piece) and the finest level's
      jurisdiction indicators (``indicator_level`` names the level);
    - ``dependency_edges``: the load passing along the edge, each river counted once
      (``flux_kg_day``), the sum over its crossings (``gross_kg_day``) and the net load
      after what flows back (``net_kg_day``).

    Other layers are passed through. Inputs are not modified.

    Parameters
    ----------
    layers
        The run's GeoPackage layers by name (``reaches, jurisdictions, crossings, ...``).
    tables
        The run's tables by name (``dependency, spillover_indicators, crossing_flux,
        loads``, and ``priority, sections, trends`` when present).

    Returns
    -------
    dict of GeoDataFrame
        Same keys and rows as ``layers``.
    """
    out = dict(layers)
    needed = ("jurisdictions", "crossings", "reaches")
    if not all(k in layers for k in needed):
        return out
    data = RunData(basin="", summary={}, layers=dict(layers), tables=dict(tables))
    ind = jurisdiction_indicators(data)
    jur = layers["jurisdictions"]
    add = [c for c in JURISDICTION_INDICATORS if c in ind.columns and c not in jur.columns]
    key = pd.MultiIndex.from_arrays([jur["jur_id"].astype(str), jur["level_name"].astype(str)])
    ind_idx = ind.set_index(["jur_id", "level_name"])
    enriched = jur.copy()
    for col in add:
        enriched[col] = ind_idx[col].reindex(key).to_numpy()
    out["jurisdictions"] = enriched

    cx = crossing_indicators(data)
    cx_layer = layers["crossings"].copy()
    top = [o[0] if o else (None, np.nan) for o in cx["origins"]]
    cx["top_origin"] = [t[0] for t in top]
    share = [
        (t[1] / f if f and np.isfinite(f) and f > 0 else np.nan)
        for t, f in zip(top, cx["flux_kg_day"], strict=True)
    ]
    cx["top_origin_share"] = share
    for col in _CROSSING_COLUMNS:
        if col in cx.columns and col not in cx_layer.columns:
            cx_layer[col] = cx[col].to_numpy()
    out["crossings"] = cx_layer

    if "pieces" in layers:
        out["pieces"] = _pieces(layers, tables, ind)
    if "dependency_edges" in layers:
        edges = layers["dependency_edges"].copy()
        pl = pair_loads(data)
        if pl is not None:
            idx = pl.set_index(["level_name", "from_jur", "to_jur"])
            k = pd.MultiIndex.from_arrays(
                [edges[c].astype(str) for c in ("level_name", "from_jur", "to_jur")]
            )
            back = pd.MultiIndex.from_arrays(
                [edges[c].astype(str) for c in ("level_name", "to_jur", "from_jur")]
            )
            edges["flux_kg_day"] = idx["load_kg_day"].reindex(k).to_numpy()
            edges["gross_kg_day"] = idx["gross_kg_day"].reindex(k).to_numpy()
            edges["net_kg_day"] = (
                edges["flux_kg_day"] - idx["load_kg_day"].reindex(back).fillna(0.0).to_numpy()
            )
        out["dependency_edges"] = edges
    return out


def _pieces(
    layers: Mapping[str, gpd.GeoDataFrame], tables: Mapping[str, pd.DataFrame], ind: pd.DataFrame
) -> gpd.GeoDataFrame:
    pieces = layers["pieces"].copy()
    reaches = layers["reaches"].drop_duplicates("reach_id").set_index("reach_id")
    for col in ("discharge_m3s", "flux_kg_day"):
        if col in reaches.columns and col not in pieces.columns:
            pieces[col] = pieces["reach_id"].map(reaches[col]).to_numpy()
    loads = tables.get("loads")
    if loads is not None and "piece_id" in loads.columns and "piece_id" in pieces.columns:
        gen = loads.groupby("piece_id")["load_kg_day"].sum()
        pieces["generated_kg_day"] = pieces["piece_id"].map(gen).fillna(0.0).to_numpy()
    jur_cols = [c for c in pieces.columns if c.startswith("jur_")]
    if jur_cols:
        finest = jur_cols[-1][4:]
        sub = ind[ind["level_name"] == finest].set_index("jur_id")
        pieces["indicator_level"] = finest
        for col in ("upstream_dependency", "imported_share", "net_balance_kg_day"):
            if col in sub.columns:
                pieces[col] = pieces[f"jur_{finest}"].astype(str).map(sub[col]).to_numpy()
        if "priority_class" in sub.columns:
            pieces["priority_class"] = (
                pieces[f"jur_{finest}"].astype(str).map(sub["priority_class"]).to_numpy()
            )
    return pieces
