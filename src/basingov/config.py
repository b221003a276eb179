"""Basin configuration: strict TOML files loaded into frozen dataclasses."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from basingov._values import config_value_problems
from basingov.errors import ConfigError

__all__ = [
    "BUILDERS",
    "BasinConfig",
    "BasinSection",
    "BoundariesSection",
    "HydraulicsSection",
    "LoadsSection",
    "MonitoringSection",
    "NetworkSection",
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
    names_column: str = "name"
    names_tolerance_m: float = 1000.0
    derived: bool = False
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HydraulicsSection:
    """``[hydraulics]``: discharge and velocity model (DESIGN §2.2).

    Discharge, where not measured, is upstream area times runoff; velocity follows
    hydraulic geometry :math:`v = a Q^b`. Defaults are documented in :mod:`basingov.network`.
    """

    runoff_mm_year: float | None = None
    velocity_a: float | None = None
    velocity_b: float | None = None
    lake_velocity_ms: float | None = None


@dataclass(frozen=True)
class MonitoringSection:
    """``[monitoring]``: station and observation tables."""

    stations: Path | None = None
    observations: Path | None = None
    snap_tolerance_m: float = 2000.0


#: Load-source kinds accepted in ``[loads] sources`` (also :data:`basingov.loads.SOURCES`).
LoadSource = Literal["population_raster", "point_sources", "jurisdiction_table", "monitoring"]
LOAD_SOURCES: tuple[str, ...] = get_args(LoadSource)


@dataclass(frozen=True)
class LoadsSection:
    """``[loads]``: which load sources are used and coefficient overrides.

    ``sources`` lists the kinds used (:data:`LOAD_SOURCES`); each needs its file
    (``population_raster``, ``point_sources``, ``jurisdiction_table``). ``coefficients``
    overrides ``per_capita_g_day`` and ``treatment_removal`` (see :mod:`basingov.loads`).
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


@dataclass(frozen=True)
class SpilloverSection:
    """``[spillover]``: decay and uncertainty settings."""

    decay_per_day: float | None = None
    lake_decay_per_day: float | None = None
    dispersion_m2_s: float | None = None
    monte_carlo_runs: int = 0
    seed: int = 0


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
        for sec in (self.monitoring, self.loads):
            for f in dataclasses.fields(sec):
                v = getattr(sec, f.name)
                if isinstance(v, Path):
                    paths.append(v)
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
        if self.problems:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            msg = f"Invalid basin config {self.path}:\n{lines}"
            raise ConfigError(msg)


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
    p = Path(value).expanduser()
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
    for k, v in table.items():
        if k not in allowed:
            continue
        if k in path_keys:
            kwargs[k] = _resolve(base, v, f"{where}.{k}", errs)
        elif k in tuple_keys:
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                errs.add(f"{where}.{k} must be an array of strings, got {v!r}")
                continue
            kwargs[k] = tuple(v)
        else:
            expected = _scalar_types(cls).get(k)
            if expected is not None and not _is_instance(v, expected):
                errs.add(f"{where}.{k} must be {_KIND_NAMES[expected[0]]}, got {v!r}")
                continue
            kwargs[k] = v
    kwargs.update(extra or {})
    try:
        return cls(**kwargs)
    except TypeError as exc:  # wrong argument shape
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


def _network_section(key: str, table: Any, base: Path, errs: _Collector) -> NetworkSection | None:
    where = f"[networks.{key}]"
    if not isinstance(table, Mapping):
        errs.add(f"{where} must be a table")
        return None
    builder = table.get("builder")
    if builder not in BUILDERS:
        errs.add(f"{where}.builder must be one of {list(BUILDERS)}, got {builder!r}")
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
    return _section(
        NetworkSection,
        core,
        where,
        errs,
        base=base,
        path_keys=frozenset({"path", "names_path"}),
        exclude=frozenset({"key", "options"}),
        extra={"key": key, "options": options},
    )


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
    if not path.is_file():
        msg = f"Basin config {path} does not exist; pass a .toml file or a shipped basin name"
        raise ConfigError(msg)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
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
        "hydraulics": (HydraulicsSection, frozenset(), frozenset()),
        "monitoring": (MonitoringSection, frozenset({"stations", "observations"}), frozenset()),
        "loads": (
            LoadsSection,
            frozenset({"population_raster", "point_sources", "jurisdiction_table"}),
            frozenset({"sources"}),
        ),
        "spillover": (SpilloverSection, frozenset(), frozenset()),
    }
    for name, (cls, pkeys, tkeys) in specs.items():
        if name in raw:
            sec = _section(
                cls, raw[name], f"[{name}]", errs, base=base, path_keys=pkeys, tuple_keys=tkeys
            )
            if sec is not None:
                optional[name] = sec
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
