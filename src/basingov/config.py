"""Basin configuration: strict TOML files loaded into frozen dataclasses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args

from basingov._checks import expand_user, raise_problems
from basingov._values import config_value_problems
from basingov.errors import ConfigError, InputError

__all__ = [
    "BUILDERS",
    "BasinConfig",
    "BasinSection",
    "BoundariesSection",
    "CalibrationSection",
    "CompensationRule",
    "CompensationSection",
    "HydraulicsSection",
    "LakeEntry",
    "LakesSection",
    "LoadsSection",
    "MonitoringSection",
    "NetworkSection",
    "PrioritySection",
    "SpilloverSection",
    "load_config",
]

Builder = Literal["next_down", "from_to_nodes", "lines_outlet", "dem"]
BUILDERS: tuple[str, ...] = get_args(Builder)

#: Options each network builder accepts, beyond the keys common to all builders.
BUILDER_OPTIONS: dict[str, frozenset[str]] = {
    "next_down": frozenset(
        {"next_down_column", "area_column", "upstream_area_column", "outlet_value"}
    ),
    "from_to_nodes": frozenset({"from_node_column", "to_node_column", "tolerance_m"}),
    "lines_outlet": frozenset({"tolerance_m"}),
    "dem": frozenset(
        {
            "d8_path",
            "elevation_path",
            "threshold_km2",
            "clip_to_outlet",
            "outlet_area_km2",
            "burn_path",
            "burn_layer",
            "burn_depth_m",
        }
    ),
}
_PATH_KEYS = frozenset({"path", "d8_path", "elevation_path", "burn_path"})


@dataclass(frozen=True)
class BasinSection:
    """``[basin]``: identity, outlet, projected CRS and governance metadata.

    Parameters
    ----------
    name
        Short basin name; must equal the config file's stem for shipped basins.
    title
        Display title.
    crs
        Projected CRS used for all metric work (lengths, areas), e.g. ``"EPSG:3035"``.
    outlet
        ``(lon, lat)`` of the basin outlet in WGS84.
    network
        Key of the ``[networks.<key>]`` table used by the pipeline.
    """

    name: str
    title: str
    crs: str
    outlet: tuple[float, float]
    network: str
    description: str = ""
    area_km2_published: float | None = None
    area_source: str = ""
    governance_body: str = ""
    governance_instruments: tuple[str, ...] = ()
    governance_source: str = ""


@dataclass(frozen=True)
class BoundariesSection:
    """``[boundaries]``: the jurisdiction layer and its levels, coarsest first."""

    path: Path
    levels: tuple[str, ...]
    layer: str = "jurisdictions"
    basin_layer: str = "basin"


@dataclass(frozen=True)
class NetworkSection:
    """``[networks.<key>]``: one river network source and how to build it.

    ``options`` holds the builder-specific keys (see ``BUILDER_OPTIONS``), with paths
    already resolved relative to the config file. ``filter`` optionally selects the
    features to use, e.g. ``"in_basin_share >= 0.5"`` to drop neighbouring rivers caught
    by a clipping buffer: column names, literals, comparisons, ``in [...]``, ``and``,
    ``or``, ``not`` and parentheses, parsed by :mod:`basingov._filters` and never
    evaluated as code.
    ``discharge_column`` names a measured mean discharge (m³/s) in the vector table, e.g.
    HydroRIVERS ``DIS_AV_CMS``; it becomes ``discharge_m3s`` (velocity follows from it) and
    only missing values are estimated from upstream area (not for the ``dem`` builder).
    ``names_path``/``names_layer`` name the reaches from a named line layer;
    ``names_more_layers`` lists further layers of the same file, each naming only the
    reaches the layers before it left unnamed (a main stem that the first layer leaves
    unnamed); a name equal to an earlier one but for case takes the earlier spelling.
    ``river_aliases`` lists groups of names of one river, ``"Rhine|Rhein|Rhin"``: a river
    query for any name of a group matches all of them (a river keeps its local name in
    each country it crosses).
    ``several_outlets = true`` says the network is known to drain to several outlets (a
    coastal plain, a clipped extract): the pieces are then logged, not warned about.
    ``outlet = [lon, lat]`` overrides ``[basin] outlet`` for this network (the point the
    ``lines_outlet`` and ``dem`` builders orient or clip towards).
    """

    key: str
    builder: str
    path: Path | None = None
    layer: str | None = None
    id_column: str | None = None
    name_column: str | None = None
    discharge_column: str | None = None
    filter: str | None = None
    names_path: Path | None = None
    names_layer: str | None = None
    names_more_layers: tuple[str, ...] = ()
    names_column: str = "name"
    names_tolerance_m: float = 1000.0
    river_aliases: tuple[str, ...] = ()
    derived: bool = False
    several_outlets: bool = False
    outlet: tuple[float, float] | None = None
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HydraulicsSection:
    """``[hydraulics]``: discharge and velocity model (DESIGN §2.2).

    Discharge, where not measured, is upstream area times runoff; velocity follows
    hydraulic geometry :math:`v = a Q^b`. Defaults are documented in :mod:`basingov.network`.
    ``gauges`` (a table of mean flows) and/or ``gauges_from_monitoring`` (mean sampled
    ``Q`` of stations with ``gauge_min_samples`` values) regionalise the runoff
    (:func:`basingov.network.regionalise_runoff`); ``gauge_areas`` with
    ``gauge_area_columns`` and ``gauge_ref_column`` give published areas for snapping.
    ``flow_duration_sigma_ln`` is the standard deviation of ln(daily flow) of a lognormal
    flow-duration curve (``basingov spill --flow-percentile``), with its source in
    ``flow_duration_source``.
    """

    runoff_mm_year: float | None = None
    velocity_a: float | None = None
    velocity_b: float | None = None
    lake_velocity_ms: float | None = None
    gauges: Path | None = None
    gauges_from_monitoring: bool = False
    gauge_min_samples: int = 50
    gauge_snap_tolerance_m: float = 3000.0
    gauge_areas: Path | None = None
    gauge_area_columns: tuple[str, ...] = ("gauge_id", "area_km2")
    gauge_ref_column: str | None = None
    flow_duration_sigma_ln: float | None = None
    flow_duration_source: str = ""


@dataclass(frozen=True)
class MonitoringSection:
    """``[monitoring]``: station and observation tables and how they are assessed.

    ``proxy_locations`` gives stand-in locations for unlocated stations (labelled
    proxies); ``area_column`` names a station column with a catchment area (km²) used to
    snap by drained area; ``lake_stations`` is a filter (the comparison language of
    :mod:`basingov._filters`, parsed, never evaluated as code) selecting the stations judged
    by lake limits. ``standard``, ``river_type``,
    ``target_class`` and ``period`` set the classification (:mod:`basingov.monitoring`);
    a station within ``section_tolerance_m`` along the river of a crossing monitors it.
    """

    stations: Path | None = None
    observations: Path | None = None
    proxy_locations: Path | None = None
    snap_tolerance_m: float = 2000.0
    section_tolerance_m: float = 2000.0
    area_column: str | None = None
    lake_stations: str | None = None
    standard: str = "GB3838-2002"
    river_type: str | None = None
    target_class: str = "III"
    period: str = "year"


#: Assessment periods accepted in ``[monitoring] period`` (also
#: :data:`basingov.monitoring.PERIODS`).
MonitoringPeriod = Literal["year", "month"]
MONITORING_PERIODS: tuple[str, ...] = get_args(MonitoringPeriod)


#: Load-source kinds accepted in ``[loads] sources`` (also :data:`basingov.loads.SOURCES`).
LoadSource = Literal[
    "population_raster",
    "point_sources",
    "jurisdiction_table",
    "monitoring",
    "landcover",
    "deposition",
]
LOAD_SOURCES: tuple[str, ...] = get_args(LoadSource)
#: ``load_source`` labels of the rows of a load table (``[calibration] fit_sources`` names
#: these): the kinds above, with ``landcover`` split by land use and the p.e. estimate of
#: point sources that report no discharge (basingov.loads.diffuse, basingov.loads).
LOAD_LABELS: tuple[str, ...] = (
    "population_raster",
    "point_sources",
    "point_sources_pe_estimate",
    "jurisdiction_table",
    "monitoring",
    "diffuse_agriculture",
    "diffuse_natural",
    "diffuse_urban",
    "deposition",
)


@dataclass(frozen=True)
class LoadsSection:
    """``[loads]``: which load sources are used and coefficient overrides.

    ``sources`` lists the kinds used (:data:`LOAD_SOURCES`); each needs its file
    (``population_raster``, ``point_sources``, ``jurisdiction_table``; ``landcover`` and
    ``deposition`` need ``landcover_raster``). ``coefficients`` overrides
    ``per_capita_g_day`` and ``treatment_removal`` (see :mod:`basingov.loads`).

    Diffuse loads (:mod:`basingov.loads.diffuse`): ``export_coefficients`` (a table, default
    the shipped one), ``export_region`` and ``deposition_region``. Sewage
    (:mod:`basingov.loads.sewage`): ``treatment_plants`` (UWWTD tables), ``treatment_level``
    (a level whose ids are country codes) or ``treatment_country`` (one code for the
    basin); ``census`` with ``census_level``, ``census_id_column``, ``census_value_column``
    and ``census_whole_units`` (every unit lies wholly in the basin) or
    ``census_whole_unit_ids`` (only these units lie wholly in it and are rescaled).
    """

    parameter: str = "TN"
    sources: tuple[str, ...] = ()
    population_raster: Path | None = None
    population_band: int | None = None
    point_sources: Path | None = None
    point_tolerance_m: float = 5000.0
    jurisdiction_table: Path | None = None
    jurisdiction_level: str | None = None
    distribute_by: str = "length"
    coefficients: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    landcover_raster: Path | None = None
    export_coefficients: Path | None = None
    export_region: str = "default"
    deposition_region: str = ""
    treatment_plants: tuple[Path, ...] = ()
    treatment_level: str | None = None
    treatment_country: str = ""
    census: Path | None = None
    census_level: str | None = None
    census_id_column: str = "jur_id"
    census_value_column: str = "population"
    census_whole_units: bool = False
    census_whole_unit_ids: tuple[str, ...] = ()


#: Flow used for station loads in calibration (``[calibration] flow``).
CALIBRATION_FLOWS: tuple[str, ...] = ("observed", "network")
#: Cross-validation schemes of the calibration (``[calibration] cross_validation``).
CROSS_VALIDATION: tuple[str, ...] = ("loo", "none")


@dataclass(frozen=True)
class CalibrationSection:
    """``[calibration]``: SPARROW-style fit of load coefficients to station loads.

    See :mod:`basingov.loads.calibration`. ``enabled = false`` with a ``reason`` marks a
    basin as uncalibrated (its outputs say so). ``observed_parameter`` is the observation
    code fitted (e.g. ``"TDN"`` as a proxy for TN on the Thames); ``flow`` is
    ``"observed"`` (C·Q from sampled flows) or ``"network"`` (mean concentration x the
    network's mean discharge, for survey data without flows); ``fit_sources`` lists the
    load sources whose coefficient multipliers are fitted (others stay at their prior);
    ``station_filter`` selects stations with the filter language of
    :mod:`basingov._filters` (e.g. ``"number(strahler_order) >= 5"`` to keep survey sites on
    rivers the network maps); it is parsed, never evaluated as code.

    A basin without usable observations can take ``transfer_multipliers`` (source kind ->
    multiplier, e.g. ``{ diffuse_agriculture = 3.27 }``) fitted on another basin, with
    ``transfer_source`` saying where from: they are applied as fixed priors and the
    outputs label the basin uncalibrated with transferred coefficients (SPARROW's regional
    transfer of coefficients to unmonitored areas).
    """

    enabled: bool = True
    reason: str = ""
    transfer_multipliers: Mapping[str, float] = field(default_factory=dict)
    transfer_source: str = ""
    observed_parameter: str = ""
    flow: str = "observed"
    min_samples: int = 1
    location_status: tuple[str, ...] = ("measured", "gauge_proxy", "nearby_gauge_proxy")
    fit_sources: tuple[str, ...] = ("population_raster", "diffuse_agriculture")
    fit_decay: bool = True
    apply: bool = True
    cross_validation: str = "loo"
    snap_tolerance_m: float = 3000.0
    station_filter: str = ""
    note: str = ""


@dataclass(frozen=True)
class SpilloverSection:
    """``[spillover]``: decay and uncertainty settings.

    ``decay_classes`` is a table ``{ thresholds_m3s = [...], k_per_day = [...], source =
    "..." }`` of river decay rates by class of mean flow (one rate more than thresholds;
    default :data:`basingov.spillover.DEFAULT_DECAY_CLASSES`); ``decay_per_day``, a single
    rate, overrides it. ``lake_settling_velocity_m_yr`` maps parameters to the lakes'
    apparent settling velocity (m/yr), e.g. ``{ TN = 6.45, TP = 42.2 }``, with its source in
    ``lake_settling_velocity_source``.
    """

    decay_per_day: float | None = None
    decay_classes: Mapping[str, Any] = field(default_factory=dict)
    lake_settling_velocity_m_yr: Mapping[str, float] = field(default_factory=dict)
    lake_settling_velocity_source: str = ""
    dispersion_m2_s: float | None = None
    monte_carlo_runs: int = 0
    seed: int = 0


#: Compensation rule kinds accepted in ``[[compensation.rules]] kind`` (DESIGN §2.8).
COMPENSATION_KINDS: tuple[str, ...] = ("section_index", "polluter_pays", "beneficiary_pays")
_RULE_COMMON = frozenset({"kind", "name", "level", "currency", "source", "illustrative", "note"})
#: Keys each compensation rule kind accepts beyond the common ones, and the ones it needs.
RULE_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "section_index": (
        frozenset(
            {
                "upstream",
                "downstream",
                "indicators",
                "k0",
                "threshold",
                "amount",
                "amount_if_exceeded",
                "concentrations",
                "baseline",
                "station",
                "period",
                "baseline_period",
            }
        ),
        frozenset({"upstream", "downstream", "amount"}),
    ),
    "polluter_pays": (
        frozenset({"price", "allowance_kg_day", "allowances", "days_per_year"}),
        frozenset({"level", "price"}),
    ),
    "beneficiary_pays": (
        frozenset({"payee", "cost", "payee_bears_own_share"}),
        frozenset({"level", "payee", "cost"}),
    ),
}


@dataclass(frozen=True)
class CompensationRule:
    """One ``[[compensation.rules]]`` table: a compensation scheme (:mod:`basingov.compensation`).

    ``kind`` is one of :data:`COMPENSATION_KINDS`; the keys each kind takes are in
    :data:`RULE_KEYS`. ``illustrative = true`` marks a rule whose amounts or prices are
    assumptions rather than published figures; it is carried into every output row.
    ``period`` and ``baseline_period`` are ``[start, end]`` ISO dates.
    """

    kind: str
    name: str
    currency: str
    level: str | None = None
    source: str = ""
    illustrative: bool = False
    note: str = ""
    upstream: str | None = None
    downstream: str | None = None
    indicators: tuple[str, ...] = ()
    k0: float = 0.85
    threshold: float | None = None
    amount: float | None = None
    amount_if_exceeded: float | None = None
    concentrations: Mapping[str, float] = field(default_factory=dict)
    baseline: Mapping[str, float] = field(default_factory=dict)
    station: str | None = None
    period: tuple[str, ...] = ()
    baseline_period: tuple[str, ...] = ()
    price: float | None = None
    allowance_kg_day: float = 0.0
    allowances: Path | None = None
    days_per_year: float = 365.0
    payee: str | None = None
    cost: float | None = None
    payee_bears_own_share: bool = True


@dataclass(frozen=True)
class CompensationSection:
    """``[compensation]``: the rule sets (``[[compensation.rules]]``), in order."""

    rules: tuple[CompensationRule, ...] = ()


#: Priority indicators (DESIGN §2.8), in the order of the ``[priority] weights`` table.
PRIORITY_INDICATORS: tuple[str, ...] = (
    "transboundary_load",
    "exceedance",
    "downstream_exposure",
    "jurisdictions",
    "monitoring_gap",
)
#: Default priority weights (sum 1); the basin config can override any of them.
DEFAULT_PRIORITY_WEIGHTS: dict[str, float] = {
    "transboundary_load": 0.35,
    "exceedance": 0.20,
    "downstream_exposure": 0.15,
    "jurisdictions": 0.15,
    "monitoring_gap": 0.15,
}


@dataclass(frozen=True)
class PrioritySection:
    """``[priority]``: weights, class limits and the minor-crossing rule (:mod:`basingov.priority`).

    ``weights`` maps :data:`PRIORITY_INDICATORS` to non-negative weights (missing ones
    keep :data:`DEFAULT_PRIORITY_WEIGHTS`). A score at least ``high`` is class high, at
    least ``medium`` medium. A crossing is minor when its upstream area is below
    ``minor_area_share`` of the basin area (or below ``minor_upstream_area_km2`` when
    given). An origin counts as involved at a section when it carries at least
    ``origin_share_min`` of the flux there. ``perturbation`` is the relative weight change
    of the rank-stability check.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_WEIGHTS))
    high: float = 0.6
    medium: float = 0.4
    minor_area_share: float = 0.01
    minor_upstream_area_km2: float | None = None
    origin_share_min: float = 0.05
    perturbation: float = 0.2


@dataclass(frozen=True)
class LakeEntry:
    """One ``[[lakes.lake]]`` entry: what is known of a lake beyond its polygon.

    ``name`` is the lake's name in the lake layer (or a new name for the unnamed polygon
    holding the point ``at = [lon, lat]``); ``volume_km3`` its published volume with
    ``volume_source``; ``settling_velocity_m_yr`` its own v_s per parameter (e.g.
    ``{ TP = 1.0 }``) with ``settling_velocity_source``.
    """

    name: str
    volume_km3: float | None = None
    volume_source: str = ""
    at: tuple[float, float] | None = None
    settling_velocity_m_yr: Mapping[str, float] = field(default_factory=dict)
    settling_velocity_source: str = ""


@dataclass(frozen=True)
class LakesSection:
    """``[lakes]``: the lake polygons whose reaches become lake nodes.

    ``path``/``layer`` name the polygon layer and ``name_column`` its names. A reach with at
    least ``min_inside_share`` of its length in a lake is a lake reach; one with at least
    ``min_split_km`` inside is split at the shore (:func:`basingov.network.mark_lakes`).
    Lakes without a published volume get ``area x assumed_mean_depth_m`` (an assumption,
    labelled as such; source in ``assumed_depth_source``). ``lakes`` holds the
    ``[[lakes.lake]]`` entries.
    """

    path: Path
    layer: str | None = None
    name_column: str = "name"
    min_inside_share: float = 0.5
    min_split_km: float = 1.0
    assumed_mean_depth_m: float | None = None
    assumed_depth_source: str = ""
    description: str = ""
    lakes: tuple[LakeEntry, ...] = ()


@dataclass(frozen=True)
class BasinConfig:
    """A whole basin configuration, with every path resolved against ``source``."""

    source: Path
    basin: BasinSection
    boundaries: BoundariesSection
    networks: Mapping[str, NetworkSection]
    hydraulics: HydraulicsSection = HydraulicsSection()
    monitoring: MonitoringSection = MonitoringSection()
    loads: LoadsSection = LoadsSection()
    spillover: SpilloverSection = SpilloverSection()
    calibration: CalibrationSection | None = None
    compensation: CompensationSection = CompensationSection()
    priority: PrioritySection = PrioritySection()
    lakes: LakesSection | None = None

    @property
    def network(self) -> NetworkSection:
        """The network section the pipeline uses (``[basin] network``)."""
        return self.networks[self.basin.network]

    def input_paths(self) -> list[Path]:
        """Every input file the config refers to, in a stable order."""
        paths: list[Path] = [self.boundaries.path]
        for net in self.networks.values():
            if net.path is not None:
                paths.append(net.path)
            if net.names_path is not None:
                paths.append(net.names_path)
            paths.extend(v for k, v in net.options.items() if k in _PATH_KEYS and v)
        if self.lakes is not None:
            paths.append(self.lakes.path)
        sections: list[Any] = [
            self.hydraulics,
            self.monitoring,
            self.loads,
            *self.compensation.rules,
        ]
        for sec in sections:
            for f in dataclasses.fields(sec):
                v = getattr(sec, f.name)
                if isinstance(v, Path):
                    paths.append(v)
                elif isinstance(v, tuple):
                    paths.extend(x for x in v if isinstance(x, Path))
        seen: dict[Path, None] = {}
        for p in paths:
            seen.setdefault(p, None)
        return list(seen)


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


class _Collector:
    """Collect every config problem, then raise one ConfigError listing them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def add(self, msg: str) -> None:
        self.problems.append(msg)

    def raise_if_any(self) -> None:
        raise_problems(self.problems, f"Invalid basin config {self.path}", error=ConfigError)


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str, errs: _Collector) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        errs.add(f"unknown key(s) {unknown} in {where}; allowed keys are {sorted(allowed)}")


def _resolve(base: Path, value: Any, where: str, errs: _Collector) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        errs.add(f"{where} must be a non-empty path string, got {value!r}")
        return None
    try:
        p = expand_user(value, what=where)
    except InputError as exc:
        errs.add(str(exc))
        return None
    return (p if p.is_absolute() else base / p).resolve()


def _section(
    cls: type,
    table: Any,
    where: str,
    errs: _Collector,
    *,
    base: Path,
    path_keys: frozenset[str] = frozenset(),
    required: frozenset[str] = frozenset(),
    tuple_keys: frozenset[str] = frozenset(),
    exclude: frozenset[str] = frozenset(),
    extra: Mapping[str, Any] | None = None,
) -> Any:
    if not isinstance(table, Mapping):
        errs.add(f"{where} must be a table, got {type(table).__name__}")
        return None
    allowed = _field_names(cls) - exclude
    _check_keys(table, allowed, where, errs)
    missing = sorted(required - set(table))
    if missing:
        errs.add(f"missing required key(s) {missing} in {where}")
        return None
    kwargs: dict[str, Any] = {}
    path_lists = {f.name for f in dataclasses.fields(cls) if str(f.type).startswith("tuple")}
    refused = False  # a value was refused above: the section cannot be built, already said
    for k, v in table.items():
        if k not in allowed:
            continue
        if k in path_keys and (k in path_lists) != isinstance(v, list):
            shape = "an array of path strings" if k in path_lists else "one path string"
            errs.add(f"{where}.{k} must be {shape}, got {v!r}")
            refused = True
            continue
        if k in path_keys and isinstance(v, list):  # a list of paths
            kwargs[k] = tuple(_resolve(base, x, f"{where}.{k}", errs) for x in v)
        elif k in path_keys:
            kwargs[k] = _resolve(base, v, f"{where}.{k}", errs)
        elif k in tuple_keys:
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                errs.add(f"{where}.{k} must be an array of strings, got {v!r}")
                refused = True
                continue
            kwargs[k] = tuple(v)
        else:
            expected = _scalar_types(cls).get(k)
            if expected is not None and not _is_instance(v, expected):
                errs.add(f"{where}.{k} must be {_KIND_NAMES[expected[0]]}, got {v!r}")
                refused = True
                continue
            if isinstance(v, float) and not math.isfinite(v):  # TOML allows nan and inf
                errs.add(f"{where}.{k} must be a finite number, got {v!r}")
                refused = True
                continue
            kwargs[k] = v
    kwargs.update(extra or {})
    try:
        return cls(**kwargs)
    except TypeError as exc:  # wrong argument shape
        if not refused:  # else the refused value is the reason, already reported
            errs.add(f"{where}: {exc}")
        return None


_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "float": (float, int),
    "int": (int,),
    "bool": (bool,),
}
_KIND_NAMES = {str: "a string", float: "a number", int: "an integer", bool: "true or false"}


def _scalar_types(cls: type) -> dict[str, tuple[type, ...]]:
    """Read the expected TOML value types of a section's scalar fields off its annotations."""
    out: dict[str, tuple[type, ...]] = {}
    for f in dataclasses.fields(cls):
        ann = str(f.type).replace(" ", "")
        base = ann.removesuffix("|None")
        if base in _SCALARS:
            out[f.name] = _SCALARS[base]
    return out


def _is_instance(value: Any, expected: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in expected:
        return False  # TOML true/false is not a number
    return isinstance(value, expected)


def _table_kind(
    table: Any, key: str, allowed: Sequence[str], where: str, errs: _Collector
) -> str | None:
    """Return ``table[key]`` if ``table`` is a table and that value is allowed, else None."""
    if not isinstance(table, Mapping):
        errs.add(f"{where} must be a table")
        return None
    kind = table.get(key)
    if kind not in allowed:
        errs.add(f"{where}.{key} must be one of {list(allowed)}, got {kind!r}")
        return None
    return str(kind)


def _network_section(key: str, table: Any, base: Path, errs: _Collector) -> NetworkSection | None:
    where = f"[networks.{key}]"
    builder = _table_kind(table, "builder", BUILDERS, where, errs)
    if builder is None:
        return None
    common = _field_names(NetworkSection) - {"key", "options"}
    opts_allowed = BUILDER_OPTIONS[builder]
    _check_keys(table, common | opts_allowed, where, errs)
    options: dict[str, Any] = {}
    for k in opts_allowed & set(table):
        v = table[k]
        options[k] = _resolve(base, v, f"{where}.{k}", errs) if k in _PATH_KEYS else v
    if builder == "dem":
        if "d8_path" not in options and "elevation_path" not in options:
            errs.add(f"{where}: the 'dem' builder needs 'd8_path' or 'elevation_path'")
    elif "path" not in table:
        errs.add(f"{where}: the {builder!r} builder needs 'path' (a vector file)")
    if builder == "next_down" and "next_down_column" not in table:
        errs.add(f"{where}: the 'next_down' builder needs 'next_down_column'")
    core = {k: v for k, v in table.items() if k in common}
    if "outlet" in core:
        out = core["outlet"]
        if (
            not isinstance(out, list)
            or len(out) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in out)
        ):
            errs.add(f"{where}.outlet must be [lon, lat], got {out!r}")
            core.pop("outlet")
        else:
            core["outlet"] = (float(out[0]), float(out[1]))
    return _section(
        NetworkSection,
        core,
        where,
        errs,
        base=base,
        path_keys=frozenset({"path", "names_path"}),
        tuple_keys=frozenset({"names_more_layers", "river_aliases"}),
        exclude=frozenset({"key", "options"}),
        extra={"key": key, "options": options},
    )


def _check_loads_extra(ld: LoadsSection, boundaries: Any, errs: _Collector) -> None:
    """Cross-key checks of the diffuse, treatment and census keys of ``[loads]``."""
    levels = tuple(boundaries.levels) if boundaries is not None else ()
    for kind in ("landcover", "deposition"):
        if kind in ld.sources and ld.landcover_raster is None:
            errs.add(f"[loads].sources lists {kind!r} but [loads].landcover_raster gives no file")
    if "deposition" in ld.sources and not ld.deposition_region:
        errs.add("[loads].sources lists 'deposition' but [loads].deposition_region is empty")
    for key in ("treatment_level", "census_level"):
        v = getattr(ld, key)
        if v is not None and levels and v not in levels:
            errs.add(f"[loads].{key} = {v!r} is not a level; levels are {list(levels)}")
    if ld.treatment_level is not None and ld.treatment_country:
        errs.add("[loads]: give treatment_level or treatment_country, not both")
    if ld.census is not None and ld.census_level is None:
        errs.add("[loads].census needs census_level (the level its ids belong to)")


def _check_monitoring_files(mon: MonitoringSection, errs: _Collector) -> None:
    """Refuse ``[monitoring]`` files a run would ignore: the stage needs both tables."""
    given = {
        k: getattr(mon, k)
        for k in ("stations", "observations", "proxy_locations")
        if getattr(mon, k) is not None
    }
    lacking = [k for k in ("stations", "observations") if k not in given]
    if given and lacking:
        shown = ", ".join(f"{k} = {str(v)!r}" for k, v in given.items())
        errs.add(
            f"[monitoring] gives {shown} but no {' or '.join(lacking)}: the monitoring "
            "stage needs both stations and observations (proxy_locations gives stand-in "
            "locations to stations of the station table), and a run without them skips it "
            f"without a word; set {' and '.join(lacking)}, or remove {' and '.join(given)}"
        )


def _number_table(
    value: Any,
    where: str,
    errs: _Collector,
    *,
    nonneg: bool = False,
    example: str = "(e.g. {TP = 0.05})",
) -> dict[str, float] | None:
    """Return a TOML table of finite numbers (>= 0 with ``nonneg``), or None once said why."""
    if not isinstance(value, Mapping) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()
    ):
        errs.add(f"{where} must be a table of numbers {example}, got {value!r}")
        return None
    # TOML allows nan and inf
    bad = {k: v for k, v in value.items() if not (math.isfinite(v) and (v >= 0 or not nonneg))}
    if bad:
        errs.add(f"{where} values must be finite numbers{' >= 0' if nonneg else ''}, got {bad}")
        return None
    return {str(k): float(v) for k, v in value.items()}


def _date_pair(value: Any, where: str, errs: _Collector) -> tuple[str, ...] | None:
    if not isinstance(value, list) or len(value) != 2:
        errs.add(f"{where} must be [start, end] ISO dates, got {value!r}")
        return None
    out: list[str] = []
    for v in value:
        if isinstance(v, dt.date):
            out.append(v.isoformat())
            continue
        try:
            out.append(dt.date.fromisoformat(str(v)).isoformat())
        except ValueError:
            errs.add(f"{where} must be [start, end] ISO dates (YYYY-MM-DD), got {value!r}")
            return None
    if out[0] > out[1]:
        errs.add(f"{where} starts after it ends: {value!r}")
        return None
    return tuple(out)


def _compensation_rule(i: int, table: Any, base: Path, errs: _Collector) -> CompensationRule | None:
    where = f"[[compensation.rules]] #{i + 1}"
    kind = _table_kind(table, "kind", COMPENSATION_KINDS, where, errs)
    if kind is None:
        return None
    extra_keys, needs = RULE_KEYS[kind]
    where = f"{where} ({kind})"
    _check_keys(table, set(_RULE_COMMON | extra_keys), where, errs)
    missing = sorted((needs | {"name", "currency"}) - set(table))
    if missing:
        errs.add(f"missing required key(s) {missing} in {where}")
        return None
    core = {k: v for k, v in table.items() if k in _RULE_COMMON | extra_keys}
    extra: dict[str, Any] = {}
    for key in ("concentrations", "baseline"):
        if key in core:
            tbl = _number_table(core.pop(key), f"{where}.{key}", errs)
            if tbl is not None:
                extra[key] = tbl
    for key in ("period", "baseline_period"):
        if key in core:
            pair = _date_pair(core.pop(key), f"{where}.{key}", errs)
            if pair is not None:
                extra[key] = pair
    if kind == "section_index":
        has_c = "concentrations" in table or ("station" in table and "period" in table)
        has_b = "baseline" in table or ("station" in table and "baseline_period" in table)
        if not (has_c and has_b):
            errs.add(
                f"{where} needs the period means: 'concentrations' (or 'station' + 'period') "
                "and the baseline: 'baseline' (or 'station' + 'baseline_period')"
            )
    rule = _section(
        CompensationRule,
        {k: v for k, v in core.items() if k in _RULE_COMMON | extra_keys},
        where,
        errs,
        base=base,
        path_keys=frozenset({"allowances"}),
        tuple_keys=frozenset({"indicators"}),
        extra=extra,
    )
    if rule is None:
        return None
    positive = {"amount": rule.amount, "price": rule.price, "cost": rule.cost,
                "k0": rule.k0, "threshold": rule.threshold, "days_per_year": rule.days_per_year,
                "amount_if_exceeded": rule.amount_if_exceeded}  # fmt: skip
    for key, v in positive.items():
        if v is not None and v < 0:
            errs.add(f"{where}.{key} must be >= 0, got {v}")
    if rule.allowance_kg_day < 0:
        errs.add(f"{where}.allowance_kg_day must be >= 0, got {rule.allowance_kg_day}")
    return rule


def _compensation_section(table: Any, base: Path, errs: _Collector) -> CompensationSection | None:
    if not isinstance(table, Mapping):
        errs.add("[compensation] must be a table holding [[compensation.rules]]")
        return None
    _check_keys(table, {"rules"}, "[compensation]", errs)
    rules_raw = table.get("rules", [])
    if not isinstance(rules_raw, list):
        errs.add("[compensation].rules must be an array of tables ([[compensation.rules]])")
        return None
    rules = [_compensation_rule(i, t, base, errs) for i, t in enumerate(rules_raw)]
    names = [r.name for r in rules if r is not None]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        errs.add(f"[[compensation.rules]] names must be unique; repeated: {dupes}")
    return CompensationSection(rules=tuple(r for r in rules if r is not None))


def _priority_section(table: Any, base: Path, errs: _Collector) -> PrioritySection | None:
    if not isinstance(table, Mapping):
        errs.add("[priority] must be a table")
        return None
    core = dict(table)
    extra: dict[str, Any] = {}
    if "weights" in core:
        w = _number_table(core.pop("weights"), "[priority].weights", errs)
        if w is not None:
            unknown = sorted(set(w) - set(PRIORITY_INDICATORS))
            if unknown:
                errs.add(
                    f"unknown indicator(s) {unknown} in [priority].weights; allowed: "
                    f"{list(PRIORITY_INDICATORS)}"
                )
            negative = sorted(k for k, v in w.items() if v < 0)
            if negative:
                errs.add(f"[priority].weights must be >= 0; negative: {negative}")
            merged = {**DEFAULT_PRIORITY_WEIGHTS, **w}
            if sum(merged.values()) <= 0:
                errs.add("[priority].weights must not all be zero")
            extra["weights"] = merged
    sec = _section(PrioritySection, core, "[priority]", errs, base=base, extra=extra)
    if sec is None:
        return None
    if not 0 <= sec.medium <= sec.high <= 1:
        errs.add(
            f"[priority] needs 0 <= medium <= high <= 1, got medium={sec.medium}, high={sec.high}"
        )
    for key in ("minor_area_share", "origin_share_min", "perturbation"):
        v = getattr(sec, key)
        if not 0 <= v < 1:
            errs.add(f"[priority].{key} must lie in [0, 1), got {v}")
    if sec.minor_upstream_area_km2 is not None and sec.minor_upstream_area_km2 < 0:
        errs.add(
            f"[priority].minor_upstream_area_km2 must be >= 0, got {sec.minor_upstream_area_km2}"
        )
    return sec


def _number_map(value: Any, where: str, errs: _Collector) -> dict[str, float] | None:
    """:func:`_number_table` of numbers >= 0 (rates, velocities, multipliers)."""
    return _number_table(
        value, where, errs, nonneg=True, example="such as { TN = 6.45, TP = 12.7 }"
    )


def _check_spillover(sp: SpilloverSection, errs: _Collector) -> None:
    where = "[spillover].decay_classes"
    dc = sp.decay_classes
    if dc:
        if not isinstance(dc, Mapping):
            errs.add(f"{where} must be a table {{ thresholds_m3s = [...], k_per_day = [...] }}")
        else:
            _check_keys(dc, {"thresholds_m3s", "k_per_day", "source"}, where, errs)
            th, k = dc.get("thresholds_m3s", []), dc.get("k_per_day")

            def nums(v: Any) -> TypeGuard[list[Any]]:  # finite, not true/false (TOML has nan)
                return isinstance(v, list) and all(
                    isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                    for x in v
                )

            if not nums(k):
                errs.add(f"{where}.k_per_day must be an array of rates (1/day), got {k!r}")
            elif not nums(th):
                errs.add(f"{where}.thresholds_m3s must be an array of flows (m3/s), got {th!r}")
            elif len(k) != len(th) + 1:
                errs.add(
                    f"{where} needs one rate more than thresholds: {len(th)} threshold(s) "
                    f"{th} and {len(k)} rate(s) {k}"
                )
            elif any(x < 0 for x in k) or any(x <= 0 for x in th) or th != sorted(set(th)):
                errs.add(f"{where}: rates must be >= 0 and thresholds > 0 and increasing")
    if sp.lake_settling_velocity_m_yr:
        _number_map(sp.lake_settling_velocity_m_yr, "[spillover].lake_settling_velocity_m_yr", errs)


def _lakes_section(table: Any, base: Path, errs: _Collector) -> LakesSection | None:
    where = "[lakes]"
    if not isinstance(table, Mapping):
        errs.add(f"{where} must be a table")
        return None
    entries_raw = table.get("lake", [])
    core = {k: v for k, v in table.items() if k != "lake"}
    sec = _section(
        LakesSection,
        core,
        where,
        errs,
        base=base,
        path_keys=frozenset({"path"}),
        required=frozenset({"path"}),
        exclude=frozenset({"lakes"}),
    )
    if not isinstance(entries_raw, list):
        errs.add(f"{where}.lake must be an array of tables ([[lakes.lake]])")
        return sec
    entries = []
    for i, e in enumerate(entries_raw):
        w = f"[[lakes.lake]] #{i + 1}"
        if not isinstance(e, Mapping):
            errs.add(f"{w} must be a table")
            continue
        e = dict(e)
        at = e.get("at")
        if at is not None:
            if (
                not isinstance(at, list)
                or len(at) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in at)
                or not (-180 <= at[0] <= 180 and -90 <= at[1] <= 90)  # also refuses nan
            ):
                errs.add(
                    f"{w}.at must be [lon, lat] in degrees (lon within ±180, lat within ±90), "
                    f"got {at!r}"
                )
                continue
            e["at"] = (float(at[0]), float(at[1]))
        vs = e.get("settling_velocity_m_yr")
        if vs is not None:
            m = _number_map(vs, f"{w}.settling_velocity_m_yr", errs)
            if m is None:
                continue
            e["settling_velocity_m_yr"] = m
        at_v = e.pop("at") if "at" in e else None
        ent = _section(LakeEntry, e, w, errs, base=base, required=frozenset({"name"}))
        if ent is not None:
            if ent.volume_km3 is not None and not ent.volume_km3 > 0:
                errs.add(f"{w}.volume_km3 must be > 0, got {ent.volume_km3}")
            entries.append(dataclasses.replace(ent, at=at_v))
    if sec is None:
        return None
    if not 0 < sec.min_inside_share <= 1:
        errs.add(f"{where}.min_inside_share must lie in (0, 1], got {sec.min_inside_share}")
    if sec.assumed_mean_depth_m is not None and not sec.assumed_mean_depth_m > 0:
        errs.add(f"{where}.assumed_mean_depth_m must be > 0 (m), got {sec.assumed_mean_depth_m}")
    return dataclasses.replace(sec, lakes=tuple(entries))


def _no_repeats(values: Any, where: str, why: str, errs: _Collector) -> None:
    rep = sorted({v for v in values if list(values).count(v) > 1})
    if rep:
        errs.add(f"{where} repeats {rep}; {why}")


def load_config(path: str | Path) -> BasinConfig:
    """Load and validate a basin config file.

    Unknown keys are errors that list the allowed keys; every path is resolved
    relative to the directory of the config file. All problems are collected and
    reported in one :class:`~basingov.errors.ConfigError`.

    Parameters
    ----------
    path
        A ``.toml`` basin config.

    Returns
    -------
    BasinConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, or has unknown, missing or
        ill-typed keys, or values out of range (see :mod:`basingov._values`).

    Examples
    --------
    >>> from basingov.datasets import get_path
    >>> cfg = load_config(get_path("rhine"))
    >>> cfg.basin.crs
    'EPSG:3035'
    """
    path = Path(path)
    try:
        if not path.is_file():
            msg = f"Basin config {path} does not exist; pass a .toml file or a shipped basin name"
            raise ConfigError(msg)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:  # a name too long, no permission to read, ...
        msg = f"Basin config {path} cannot be read ({exc.strerror or exc}); check the path"
        raise ConfigError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"Basin config {path} is not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"Basin config {path} is not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    base = path.resolve().parent
    errs = _Collector(path)
    sections = {
        "basin",
        "boundaries",
        "networks",
        "hydraulics",
        "monitoring",
        "loads",
        "spillover",
        "calibration",
        "compensation",
        "priority",
        "lakes",
    }
    _check_keys(raw, sections, "the top level", errs)
    for req in ("basin", "boundaries", "networks"):
        if req not in raw:
            errs.add(f"missing required section [{req}]")
    errs.raise_if_any()

    basin_tbl = dict(raw["basin"]) if isinstance(raw["basin"], Mapping) else raw["basin"]
    if isinstance(basin_tbl, dict) and "outlet" in basin_tbl:
        out = basin_tbl["outlet"]
        if (
            not isinstance(out, list)
            or len(out) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in out)
        ):
            errs.add(f"[basin].outlet must be [lon, lat], got {out!r}")
        else:
            basin_tbl["outlet"] = (float(out[0]), float(out[1]))
    basin = _section(
        BasinSection,
        basin_tbl,
        "[basin]",
        errs,
        base=base,
        required=frozenset({"name", "title", "crs", "outlet", "network"}),
        tuple_keys=frozenset({"governance_instruments"}),
    )
    boundaries = _section(
        BoundariesSection,
        raw["boundaries"],
        "[boundaries]",
        errs,
        base=base,
        path_keys=frozenset({"path"}),
        required=frozenset({"path", "levels"}),
        tuple_keys=frozenset({"levels"}),
    )
    networks: dict[str, NetworkSection] = {}
    if not isinstance(raw["networks"], Mapping) or not raw["networks"]:
        errs.add("[networks] must hold at least one [networks.<name>] table")
    else:
        for key, tbl in raw["networks"].items():
            sec = _network_section(key, tbl, base, errs)
            if sec is not None:
                networks[key] = sec
    optional: dict[str, Any] = {}
    specs: dict[str, tuple[type, frozenset[str], frozenset[str]]] = {
        "hydraulics": (
            HydraulicsSection,
            frozenset({"gauges", "gauge_areas"}),
            frozenset({"gauge_area_columns"}),
        ),
        "monitoring": (
            MonitoringSection,
            frozenset({"stations", "observations", "proxy_locations"}),
            frozenset(),
        ),
        "loads": (
            LoadsSection,
            frozenset(
                {
                    "population_raster",
                    "point_sources",
                    "jurisdiction_table",
                    "landcover_raster",
                    "export_coefficients",
                    "treatment_plants",
                    "census",
                }
            ),
            frozenset({"sources", "census_whole_unit_ids"}),
        ),
        "spillover": (SpilloverSection, frozenset(), frozenset()),
        "calibration": (
            CalibrationSection,
            frozenset(),
            frozenset({"location_status", "fit_sources"}),
        ),
    }
    for name, (cls, pkeys, tkeys) in specs.items():
        if name in raw:
            sec = _section(
                cls, raw[name], f"[{name}]", errs, base=base, path_keys=pkeys, tuple_keys=tkeys
            )
            if sec is not None:
                optional[name] = sec
    if "compensation" in raw:
        comp = _compensation_section(raw["compensation"], base, errs)
        if comp is not None:
            optional["compensation"] = comp
    if "priority" in raw:
        prio = _priority_section(raw["priority"], base, errs)
        if prio is not None:
            optional["priority"] = prio
    if "lakes" in raw:
        lakes = _lakes_section(raw["lakes"], base, errs)
        if lakes is not None:
            optional["lakes"] = lakes
    sp = optional.get("spillover")
    if sp is not None:
        _check_spillover(sp, errs)
    if basin is not None and networks and basin.network not in networks:
        errs.add(
            f"[basin].network = {basin.network!r} names no network; "
            f"defined networks are {sorted(networks)}"
        )
    ld = optional.get("loads")
    if ld is not None:
        bad = [x for x in ld.sources if x not in LOAD_SOURCES]
        if bad:
            errs.add(f"[loads].sources has unknown kind(s) {bad}; allowed: {list(LOAD_SOURCES)}")
        _no_repeats(ld.sources, "[loads].sources", "each source would be counted again", errs)
        needs = {
            "population_raster": ld.population_raster,
            "point_sources": ld.point_sources,
            "jurisdiction_table": ld.jurisdiction_table,
        }
        for kind, path_ in needs.items():
            if kind in ld.sources and path_ is None:
                errs.add(f"[loads].sources lists {kind!r} but [loads].{kind} gives no file")
        if ld.distribute_by not in ("length", "area"):
            errs.add(
                f"[loads].distribute_by must be one of ['length', 'area'], got {ld.distribute_by!r}"
            )
        _check_loads_extra(ld, boundaries, errs)
    cal = optional.get("calibration")
    if cal is not None:
        if cal.flow not in CALIBRATION_FLOWS:
            errs.add(
                f"[calibration].flow must be one of {list(CALIBRATION_FLOWS)}, got {cal.flow!r}"
            )
        if cal.cross_validation not in CROSS_VALIDATION:
            errs.add(
                f"[calibration].cross_validation must be one of {list(CROSS_VALIDATION)}, "
                f"got {cal.cross_validation!r}"
            )
        if not cal.enabled and not cal.reason:
            errs.add("[calibration].enabled = false needs a reason (shown in the outputs)")
        unknown = [x for x in cal.fit_sources if x not in LOAD_LABELS]
        if unknown:
            errs.add(
                f"[calibration].fit_sources has unknown load source(s) {unknown}; allowed: "
                f"{list(LOAD_LABELS)} (a name not in the load table would silently not be fitted)"
            )
        _no_repeats(cal.fit_sources, "[calibration].fit_sources", "list each once", errs)
        if cal.transfer_multipliers:
            tm = _number_map(cal.transfer_multipliers, "[calibration].transfer_multipliers", errs)
            if tm is not None and not all(v > 0 for v in tm.values()):
                errs.add(f"[calibration].transfer_multipliers must be > 0, got {tm}")
            if cal.enabled:
                errs.add(
                    "[calibration].transfer_multipliers apply to a basin that is not "
                    "calibrated: set enabled = false with a reason, or remove them"
                )
            if not str(cal.transfer_source).strip():
                errs.add(
                    "[calibration].transfer_multipliers need transfer_source (which fit "
                    "they come from; shown in the outputs)"
                )
        tms = cal.transfer_multipliers if isinstance(cal.transfer_multipliers, Mapping) else {}
        unknown = sorted(set(tms) - set(LOAD_LABELS))
        if unknown:
            errs.add(
                f"[calibration].transfer_multipliers has unknown load source(s) {unknown}; "
                f"allowed: {list(LOAD_LABELS)} (a name not in the load table would not apply)"
            )
    hyd = optional.get("hydraulics")
    if hyd is not None and len(hyd.gauge_area_columns) != 2:
        errs.add(
            "[hydraulics].gauge_area_columns must name two columns [id column, area column], "
            f"got {list(hyd.gauge_area_columns)}"
        )
    comp_sec = optional.get("compensation")
    if comp_sec is not None and boundaries is not None:
        for rule in comp_sec.rules:
            if rule.level is not None and rule.level not in boundaries.levels:
                errs.add(
                    f"compensation rule {rule.name!r}: level {rule.level!r} is not one of "
                    f"[boundaries].levels {list(boundaries.levels)}"
                )
    mon = optional.get("monitoring")
    if mon is not None:
        _check_monitoring_files(mon, errs)
        if mon.period not in MONITORING_PERIODS:
            errs.add(
                f"[monitoring].period must be one of {list(MONITORING_PERIODS)}, got {mon.period!r}"
            )
        for key in ("snap_tolerance_m", "section_tolerance_m"):
            if not getattr(mon, key) >= 0:
                errs.add(f"[monitoring].{key} must be >= 0 metres, got {getattr(mon, key)!r}")
    if boundaries is not None and not boundaries.levels:
        errs.add("[boundaries].levels must list at least one level name, coarsest first")
    errs.raise_if_any()
    cfg = BasinConfig(
        source=path.resolve(),
        basin=basin,
        boundaries=boundaries,
        networks=networks,
        **optional,
    )
    for problem in config_value_problems(cfg):  # ranges, CRSs, file names, filters
        errs.add(problem)
    errs.raise_if_any()
    return cfg
