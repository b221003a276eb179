"""The run outputs a map or report is built from: read a run folder, check optional tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from basingov._checks import require_columns
from basingov._outdir import RUN_TEXT_COLUMNS, read_run_files, read_run_table
from basingov.errors import InputError

__all__ = ["OPTIONAL_INPUTS", "RunData", "read_run"]


#: GeoPackage layers a map needs from every run (DESIGN §2.13).
REQUIRED_LAYERS = ("jurisdictions", "basin", "reaches", "crossings", "dependency_edges")
#: Layers read when present.
OPTIONAL_LAYERS = ("stations", "priority")

#: Tables and layers that later stages add to a run, and the columns the maps and the
#: report read from them. Each is used when present and left out otherwise; present but
#: without these columns is an error naming the file and the missing columns.
OPTIONAL_INPUTS: dict[str, dict[str, Any]] = {
    "priority": {
        "where": "tables/priority.csv or GeoPackage layer 'priority'",
        "required": ("section_or_pair", "score", "class", "mechanism", "reason"),
        "optional": ("level_name",),
        "meaning": "section_or_pair is a crossing_id (a section) or a pair of jur_ids "
        "written 'FROM->TO' (directed) or 'A|B' (either way); class is high/medium/low",
    },
    "stations": {
        "where": "GeoPackage layer 'stations' (points) or tables/stations.csv with lon, lat",
        "required": ("station_id",),
        "optional": ("name", "is_proxy", "crossing_id", "reach_id", "snap_distance_m", "source"),
        "meaning": "is_proxy true where the location is a proxy, not the surveyed site",
    },
    "section_classes": {
        "where": "tables/section_classes.csv (the monitoring stage)",
        "required": ("crossing_id", "period", "class"),
        "optional": ("station_id", "max_exceedance_ratio", "standard"),
        "meaning": "one row per crossing section and period; the latest period is shown",
    },
    "trends": {
        "where": "tables/trends.csv",
        "required": ("station_id", "parameter", "trend"),
        "optional": ("sen_slope", "p_value", "unit"),
        "meaning": "Mann-Kendall trend per station and parameter (improving / worsening ...)",
    },
    "transfers": {
        "where": "tables/transfers.csv",
        "required": ("payer", "payee", "amount", "currency", "basis"),
        "optional": ("p5", "p50", "p95", "scheme"),
        "meaning": "payer and payee are jur_ids",
    },
    "calibration_stations": {
        "where": "tables/calibration_stations.csv (the loads calibration)",
        "required": ("observed_kg_day", "predicted_kg_day"),
        "optional": ("station_id", "heldout_kg_day"),
        "meaning": "observed vs predicted load per station (kg/day)",
    },
}


@dataclass(frozen=True, eq=False)
class RunData:
    """One basin's run outputs, as the maps and the report read them.

    Attributes
    ----------
    basin
        Basin name (``summary["basin"]``).
    summary
        The run summary (``summary.json``).
    layers
        GeoPackage layers by name (see :data:`REQUIRED_LAYERS`).
    tables
        Tables by name (``tables/*.csv`` without the suffix).
    run_dir
        The run folder, or None for results held in memory.
    """

    basin: str
    summary: dict[str, Any]
    layers: dict[str, gpd.GeoDataFrame]
    tables: dict[str, pd.DataFrame]
    run_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    def optional(self, name: str) -> pd.DataFrame | None:
        """Return an optional input (a layer first, else a table) after checking its columns."""
        df: pd.DataFrame | None = self.layers.get(name)
        where = f"GeoPackage layer {name!r}"
        if df is None:
            df = self.tables.get(name)
            where = f"tables/{name}.csv"
        if df is None:
            return None
        if self.run_dir is not None:
            where = f"{where} in {self.run_dir}"
        require_columns(df, OPTIONAL_INPUTS[name]["required"], what=where, hint=_COLUMN_HINT)
        return df


#: How to fix a run output that lacks a column the maps and the report read.
_COLUMN_HINT = "rename the columns or rerun the stage that writes it"


def read_run(run_dir: str | Path) -> RunData:
    """Read what ``basingov run BASIN -o DIR`` wrote, for a map or a report.

    Reads ``DIR/summary.json``, the GeoPackage layers a map needs (:data:`REQUIRED_LAYERS`
    and, when present, :data:`OPTIONAL_LAYERS`) and every ``DIR/tables/*.csv``.

    Parameters
    ----------
    run_dir
        A finished run folder.

    Returns
    -------
    RunData

    Raises
    ------
    InputError
        If the folder, ``summary.json``, the GeoPackage or a required layer is missing.

    Examples
    --------
    >>> read_run("no/such/run")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: run folder no/such/run does not exist; write it with ...
    """
    run, summary, basin, gpkg = read_run_files(run_dir)
    hint = f"re-run the basin: basingov run {basin} -o {run} --overwrite"
    present = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
    missing = [lv for lv in REQUIRED_LAYERS if lv not in present]
    if missing:
        msg = f"{gpkg} lacks layer(s) {missing} (has {sorted(present)}); {hint}"
        raise InputError(msg)
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS):
        if name in present:
            df = pyogrio.read_dataframe(gpkg, layer=name)
            for col in RUN_TEXT_COLUMNS:
                if col in df.columns:
                    df[col] = df[col].astype("string").astype(object).where(df[col].notna())
            layers[name] = df
    tables = {p.stem: read_run_table(p) for p in sorted((run / "tables").glob("*.csv"))}
    return RunData(basin=basin, summary=summary, layers=layers, tables=tables, run_dir=run)
