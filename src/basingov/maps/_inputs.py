"""The run outputs a map or report is built from: read a run folder, check optional tables."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from basingov._checks import require_columns
from basingov._outdir import RUN_TEXT_COLUMNS, read_run_files, read_run_table
from basingov.errors import InputError

__all__ = ["MAP_LAYER_COLUMNS", "MAP_TABLES", "OPTIONAL_INPUTS", "RunData", "RunTables", "read_run"]


#: GeoPackage layers a map needs from every run (DESIGN §2.13).
REQUIRED_LAYERS = ("jurisdictions", "basin", "reaches", "crossings", "dependency_edges")
#: Layers read when present.
OPTIONAL_LAYERS = ("stations", "priority")
#: The attributes a map and the report read of the required layers: :func:`read_run`
#: checks them.
REQUIRED_LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "jurisdictions": ("jur_id", "name", "level", "level_name"),
    "reaches": ("reach_id", "downstream_id"),
    "crossings": ("crossing_id", "from_jur", "to_jur", "level_name", "reach_id", "fraction"),
    "dependency_edges": ("from_jur", "to_jur", "level_name", "n_crossings"),
}

#: The attributes a basin map reads of a layer of which it reads few: the river names,
#: sizes and loads drawn and the network :func:`pair_loads` walks of ``reaches`` (the
#: others, some twenty, are never drawn). :func:`read_run` reads only these for a map.
MAP_LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "reaches": (
        "reach_id", "downstream_id", "name",
        "upstream_area_km2", "discharge_m3s", "strahler", "flux_kg_day",
    ),
}  # fmt: skip

#: Tables of a run the basin map reads (when present); of the others it only asks whether
#: they exist (``loads``). A distributed run writes these first and builds the map on a
#: worker while it writes the rest (:func:`basingov.maps.run_map_page`).
MAP_TABLES = (
    "dependency", "spillover_indicators", "crossing_flux",
    "priority", "stations", "section_classes", "trends", "transfers",
)  # fmt: skip

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
        Tables by name (``tables/*.csv`` without the suffix); a run folder's are read on
        first use (:class:`RunTables`).
    run_dir
        The run folder, or None for results held in memory.
    """

    basin: str
    summary: dict[str, Any]
    layers: dict[str, gpd.GeoDataFrame]
    tables: Mapping[str, pd.DataFrame]
    run_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    #: Results derived from these outputs, kept for the next caller (:func:`priority_rows`
    #: is asked for by the jurisdiction and the crossing indicators and the map's list).
    derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

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

#: The columns the maps and the report read of the tables every run writes (the optional
#: ones are :data:`OPTIONAL_INPUTS`): :class:`RunTables` checks them when it reads one.
#: ``spillover_indicators`` of a run written before ``imported_first`` existed lacks the
#: three ``*_first`` columns; a table with ``imported_first`` needs the other two.
RUN_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "dependency": ("jur_id",),
    "spillover_indicators": (
        "jur_id", "level_name", "generated", "imported", "imported_share", "exported",
        "net_balance",
    ),
    "crossing_flux": ("crossing_id", "origin", "load_kg_day"),
    "spillover_matrix": ("origin", "receptor", "level_name", "load_kg_day"),
}  # fmt: skip


def read_layer(
    gpkg: Path, name: str, columns: Collection[str] | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a GeoPackage layer with pyogrio's Arrow reader, as its row reader reads it.

    The Arrow reader is several times faster on a large layer (a basin's reaches); the two
    give the same frame but for a text column without any value, which the row reader
    gives as objects (None) and the Arrow reader as strings (NaN). That column is made
    objects again, so that a map reads what it always read. ``columns``, if given, are
    the attributes read (those of them the layer has, in the layer's order), else all.
    """
    cols = None if columns is None else list(columns)
    df = pyogrio.read_dataframe(gpkg, layer=name, columns=cols, use_arrow=True)
    for col in df.columns:
        if isinstance(df[col].dtype, pd.StringDtype) and not df[col].notna().any():
            df[col] = pd.Series([None] * len(df), index=df.index, dtype=object)
    return df


class RunTables(Mapping[str, pd.DataFrame]):
    r"""The tables of a run folder by name, each read (:func:`read_run_table`) on first use.

    A map looks most tables up by name only (is there a ``loads`` table?) and reads a
    few; the large ones are thus never parsed. ``ready``, if given, names the tables
    that may be read (a run still writing the others, :func:`basingov.maps.run_map_page`):
    reading another is an error, never a half-written file.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("jur_id,x\n001,1.5\n", encoding="utf-8")
    >>> t = RunTables(d, ["a", "b"], ready=["a"])
    >>> list(t), "b" in t, t["a"].to_dict("records")
    (['a', 'b'], True, [{'jur_id': '001', 'x': 1.5}])
    >>> t["b"]
    Traceback (most recent call last):
    ...
    RuntimeError: tables/b.csv is read before it is written (ready: ['a'])
    """

    def __init__(
        self, folder: Path, names: Collection[str], *, ready: Collection[str] | None = None
    ) -> None:
        self._folder = Path(folder)
        self._names = list(names)
        self._ready = None if ready is None else set(ready)
        self._read: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._read:
            if self._ready is not None and name not in self._ready:
                msg = (
                    f"tables/{name}.csv is read before it is written (ready: {sorted(self._ready)})"
                )
                raise RuntimeError(msg)
            path = self._folder / f"{name}.csv"
            df = read_run_table(path)
            need = RUN_TABLE_COLUMNS.get(name, ())
            if "imported_first" in df.columns:
                need = (*need, "exported_first", "net_balance_first")
            run = self._folder.parent
            hint = f"re-run the basin into it (basingov run BASIN -o {run} --overwrite)"
            require_columns(df, need, what=str(path), hint=hint)
            self._read[name] = df
        return self._read[name]

    def __contains__(self, name: object) -> bool:  # without reading the table
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


#: The sections of ``summary.json`` the maps and the report read, and their JSON type
#: (each may be missing: the map and the report then leave out what it says).
_SUMMARY_SECTIONS: dict[str, type] = {
    "key_indicators": dict, "counts": dict, "network": dict, "governance": dict,
    "warnings": list,
}  # fmt: skip

#: The values of ``summary.json`` the maps and the report read, by key (``section.key``
#: within a section), and their JSON type; each may be missing or null (left out, or
#: shown as n/a).
_SUMMARY_VALUES: dict[str, str] = {
    "title": "string", "config": "string", "basingov_version": "string",
    "network.key": "string", "network.source": "string", "network.derived": "boolean",
    "governance.body": "string", "key_indicators.load_parameter": "string",
    "key_indicators.basin_area_km2": "number", "key_indicators.published_area_km2": "number",
    "key_indicators.generated_load_kg_day": "number", "counts.crossings": "number",
}  # fmt: skip


def _json_kind(value: Any) -> str:
    """Return the JSON type of a parsed JSON value (``true`` is a boolean, not a number).

    Examples
    --------
    >>> [_json_kind(v) for v in ({}, [], "a", 1, 2.5, True, None)]
    ['object', 'array', 'string', 'number', 'number', 'boolean', 'null']
    """
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number" if isinstance(value, int | float) else "other")


def _check_summary(summary: dict[str, Any], sfile: Path, hint: str) -> None:
    """Raise one InputError naming every section or value of the wrong JSON type."""
    problems = []
    for key, kind in _SUMMARY_SECTIONS.items():
        if key in summary and not isinstance(summary[key], kind):
            problems.append((key, summary[key], "object" if kind is dict else "array"))
    for key, want in _SUMMARY_VALUES.items():
        *section, name = key.split(".")
        within = summary.get(section[0], {}) if section else summary
        if isinstance(within, dict) and _json_kind(within.get(name)) not in (want, "null"):
            problems.append((key, within[name], want))
    if problems:
        shown = "; ".join(
            f"{key!r} is {json.dumps(value)[:60]}, not a JSON {want}"
            for key, value, want in problems
        )
        msg = f"{sfile}: {shown}; {hint}"
        raise InputError(msg)


def read_run(
    run_dir: str | Path,
    *,
    tables: Collection[str] | None = None,
    ready: Collection[str] | None = None,
    columns: Mapping[str, Collection[str]] | None = None,
) -> RunData:
    """Read what ``basingov run BASIN -o DIR`` wrote, for a map or a report.

    Reads ``DIR/summary.json``, the GeoPackage layers a map needs (:data:`REQUIRED_LAYERS`
    and, when present, :data:`OPTIONAL_LAYERS`); the tables ``DIR/tables/*.csv`` are
    read when first used (:class:`RunTables`).

    Parameters
    ----------
    run_dir
        A finished run folder.
    tables, ready
        For a run folder still being written: the names of all its tables (default:
        those in ``DIR/tables``), and of those already written (default: all).
    columns
        The attributes to read of some layers (:data:`MAP_LAYER_COLUMNS` for a map,
        which reads few of the reaches'); the others are read whole (default: all).

    Returns
    -------
    RunData

    Raises
    ------
    InputError
        If the folder, ``summary.json``, the GeoPackage or a required layer is missing, or
        a section or value of ``summary.json`` the maps and the report read is of the
        wrong JSON type (a title 5, an area given as text).

    Examples
    --------
    >>> read_run("no/such/run")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: run folder no/such/run does not exist; write it with ...
    """
    run, summary, basin, gpkg = read_run_files(run_dir)
    hint = f"re-run the basin: basingov run {basin} -o {run} --overwrite"
    _check_summary(summary, run / "summary.json", hint)
    present = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
    missing = [lv for lv in REQUIRED_LAYERS if lv not in present]
    if missing:
        msg = f"{gpkg} lacks layer(s) {missing} (has {sorted(present)}); {hint}"
        raise InputError(msg)
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in (*REQUIRED_LAYERS, *OPTIONAL_LAYERS):
        if name in present:
            df = read_layer(gpkg, name, None if columns is None else columns.get(name))
            need = REQUIRED_LAYER_COLUMNS.get(name, ())
            require_columns(df, need, what=f"GeoPackage layer {name!r} of {gpkg}", hint=hint)
            for col in RUN_TEXT_COLUMNS:
                if col in df.columns:
                    df[col] = df[col].astype("string").astype(object).where(df[col].notna())
            layers[name] = df
    if tables is None:
        tables = [p.stem for p in sorted((run / "tables").glob("*.csv"))]
    lazy = RunTables(run / "tables", tables, ready=ready)
    return RunData(basin=basin, summary=summary, layers=layers, tables=lazy, run_dir=run)
