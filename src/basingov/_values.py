"""Range and type checks of basin-config values, run by :func:`basingov.config.load_config`.

:mod:`basingov.config` checks the TOML shape (sections, keys, value types); this module
checks what the values mean: names usable as file names, CRSs that exist and are
projected, finite coordinates, counts >= 1, seeds >= 0, booleans given as booleans,
builder options of the right type and range, filters that parse. Every problem is
returned as one line naming the key and the fix; ``load_config`` lists them all in one
:class:`~basingov.errors.ConfigError`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from basingov._checks import is_lonlat
from basingov._filters import parse_filter
from basingov.errors import ConfigError

__all__ = [
    "MAX_MONTE_CARLO_RUNS",
    "check_file_name",
    "config_value_problems",
    "network_problems",
]

#: Largest ``[spillover] monte_carlo_runs``: every run keeps a jurisdiction x jurisdiction
#: matrix per level in memory (runs x n² x 8 bytes), so 10,000 runs on 300 units need 7 GB.
MAX_MONTE_CARLO_RUNS = 10_000

_NAME_RE = re.compile(r"[^\W_][\w.-]*")
_MAX_NAME = 100
#: Device names Windows reserves in every folder (also with an extension: ``nul.txt``).
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10)}
)


def check_file_name(name: Any, *, where: str) -> str:
    """Return ``name`` if it is safe as a single file or folder name, else raise.

    A safe name is one path component: letters, digits, ``_``, ``-`` and ``.``, starting
    with a letter or digit and not ending with ``.``, at most 100 characters, and not a
    device name Windows reserves (``CON``, ``nul.gpkg``, ``COM1``, ...). So ``../x``,
    ``/etc/x``, ``.hidden``, ``a/b``, ``C:x`` and names with spaces or control characters
    (also a trailing newline) are refused.

    Raises
    ------
    ConfigError
        If ``name`` breaks one of these rules; the message gives ``where`` (the config
        key), the name received and the rule, e.g. "use letters, digits, '_', '-' and '.'
        only" or "Windows reserves it for a device".

    Examples
    --------
    >>> check_file_name("rhine", where="[basin].name")
    'rhine'
    >>> check_file_name("../x", where="[basin].name")
    Traceback (most recent call last):
    ...
    basingov.errors.ConfigError: [basin].name = '../x' cannot be used as a file name: use letters, digits, '_', '-' and '.' only, starting with a letter or digit (e.g. 'my_basin'); outputs are named after it
    """  # noqa: E501
    if (
        not isinstance(name, str)
        or not _NAME_RE.fullmatch(name)  # fullmatch: "$" would accept a final newline
        or len(name) > _MAX_NAME
        or name.endswith(".")
    ):
        msg = (
            f"{where} = {name!r} cannot be used as a file name: use letters, digits, '_', '-' "
            "and '.' only, starting with a letter or digit (e.g. 'my_basin'); outputs are "
            "named after it"
        )
        raise ConfigError(msg)
    if name.split(".")[0].lower() in _WINDOWS_DEVICES:
        msg = (
            f"{where} = {name!r} cannot be used as a file name: Windows reserves it for a "
            "device (CON, PRN, AUX, NUL, COM1-9, LPT1-9), so the outputs could not be copied "
            "to Windows; choose another name"
        )
        raise ConfigError(msg)
    return name


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _number(
    v: Any,
    where: str,
    out: list[str],
    *,
    low: float | None = None,
    strict: bool = False,
    high: float | None = None,
    integer: bool = False,
) -> None:
    """Append a problem unless ``v`` is a finite number (integer) in the range."""
    if v is None:
        return
    kind = "an integer" if integer else "a number"
    if integer and (not isinstance(v, int) or isinstance(v, bool)):
        out.append(f"{where} must be {kind}, got {v!r}")
        return
    if not _is_number(v):
        out.append(f"{where} must be {kind}, got {v!r} ({type(v).__name__})")
        return
    if not math.isfinite(v):
        out.append(f"{where} must be a finite number, got {v!r}")
        return
    if low is not None and (v <= low if strict else v < low):
        out.append(f"{where} must be {'>' if strict else '>='} {low:g}, got {v!r}")
    if high is not None and v > high:
        out.append(f"{where} must be <= {high:g}, got {v!r}")


def _string(v: Any, where: str, out: list[str]) -> None:
    if v is not None and (not isinstance(v, str) or not v.strip()):
        out.append(f"{where} must be a non-empty string, got {v!r}")


def _boolean(v: Any, where: str, out: list[str]) -> None:
    if v is not None and not isinstance(v, bool):
        out.append(f"{where} must be true or false (a TOML boolean, not quoted), got {v!r}")


def _crs(v: Any, where: str, out: list[str]) -> None:
    try:
        crs = CRS.from_user_input(v)
    except (ProjCRSError, TypeError, ValueError) as exc:
        out.append(
            f"{where} = {v!r} is not a coordinate reference system pyproj knows ({exc}); "
            "give an EPSG code such as 'EPSG:3035' (Europe) or 'EPSG:32617' (UTM 17N)"
        )
        return
    if not crs.is_projected:
        out.append(
            f"{where} = {v!r} is not projected; lengths and areas need a projected CRS in "
            "metres, e.g. the UTM zone of the basin ('EPSG:326xx')"
        )
        return
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        out.append(f"{where} = {v!r} has axis unit {unit!r}; use a CRS in metres")


def _wgs84_point(point: Any, where: str, out: list[str]) -> None:
    pair: Any = None if isinstance(point, str) else point  # text: no pair of characters
    try:
        lon, lat = pair
    except (TypeError, ValueError):  # a section built in code
        out.append(f"{where} must be [lon, lat] in degrees, got {point!r}")
        return
    # the check of basingov._checks.lonlat: text ('7.5', from a section built in code)
    # and bools went through float()
    if not is_lonlat(lon, lat):
        out.append(
            f"{where} = [{lon!r}, {lat!r}] is not a WGS84 point: give [lon, lat] in "
            "degrees as numbers (not text or bools), lon within ±180 and lat within ±90"
        )


_Check = Callable[[Any, str, list[str]], None]


def _num(**kw: Any) -> _Check:
    return lambda v, where, out: _number(v, where, out, **kw)


#: Builder options: one check each (config.BUILDER_OPTIONS lists which builder takes which).
_OPTION_CHECKS: dict[str, _Check] = {
    "next_down_column": _string,
    "area_column": _string,
    "upstream_area_column": _string,
    "outlet_value": _num(integer=True),
    "from_node_column": _string,
    "to_node_column": _string,
    "tolerance_m": _num(low=0.0, high=1e6),
    "threshold_km2": _num(low=0.0, strict=True),
    "clip_to_outlet": _boolean,
    "outlet_area_km2": _num(low=0.0, strict=True),
    "burn_layer": _string,
    "burn_depth_m": _num(low=0.0, high=1e4),
}


_MISSING = object()

#: (section, key, range) of the numbers in a config; checked when the section has the key.
_RANGES: list[tuple[str, str, dict[str, Any]]] = [
    ("hydraulics", "runoff_mm_year", {"low": 0.0, "high": 1e4}),
    ("hydraulics", "velocity_a", {"low": 0.0, "strict": True}),
    ("hydraulics", "velocity_b", {"low": 0.0, "high": 1.0}),
    ("hydraulics", "lake_velocity_ms", {"low": 0.0, "strict": True}),
    ("hydraulics", "gauge_min_samples", {"low": 1, "integer": True}),
    ("hydraulics", "gauge_snap_tolerance_m", {"low": 0.0}),
    ("hydraulics", "flow_duration_sigma_ln", {"low": 0.0}),
    ("monitoring", "snap_tolerance_m", {"low": 0.0}),
    ("monitoring", "section_tolerance_m", {"low": 0.0}),
    ("loads", "population_band", {"low": 1, "integer": True}),
    ("loads", "point_tolerance_m", {"low": 0.0, "high": 1e6}),
    ("spillover", "decay_per_day", {"low": 0.0, "high": 1e3}),
    ("spillover", "lake_decay_per_day", {"low": 0.0, "high": 1e3}),
    ("spillover", "dispersion_m2_s", {"low": 0.01, "high": 1e4}),  # spill.DISPERSION_RANGE_M2_S
    ("spillover", "monte_carlo_runs", {"low": 0, "integer": True}),
    ("spillover", "seed", {"low": 0, "high": 2**63 - 1, "integer": True}),
    ("calibration", "min_samples", {"low": 1, "integer": True}),
    ("calibration", "snap_tolerance_m", {"low": 0.0}),
]
#: Config keys holding a row filter besides ``[networks.<key>].filter``.
_FILTER_KEYS: list[tuple[str, str]] = [
    ("calibration", "station_filter"),
    ("monitoring", "lake_stations"),
]
#: (section, key, upper bound or a function of the entry's name) of tables of numbers >= 0.
_NUMBER_TABLES: list[tuple[str, str, Any]] = [
    ("loads", "coefficients", lambda k: 1.0 if k == "treatment_removal" else None),
    ("spillover", "lake_settling_velocity_m_yr", 1e4),
]


def network_problems(net: Any) -> list[str]:
    """Return the ill-typed or out-of-range values of one ``[networks.<key>]`` section.

    Used by :func:`config_value_problems` and by
    :func:`basingov.network.builders.build_network` for sections built in code.

    Examples
    --------
    >>> from basingov.config import NetworkSection
    >>> network_problems(NetworkSection(key="d", builder="dem", options={"clip_to_outlet": "no"}))
    ["[networks.d].clip_to_outlet must be true or false (a TOML boolean, not quoted), got 'no'"]
    """
    out: list[str] = []
    where = f"[networks.{net.key}]"
    for col in ("layer", "id_column", "name_column", "discharge_column", "names_column"):
        _string(getattr(net, col, None), f"{where}.{col}", out)
    _number(net.names_tolerance_m, f"{where}.names_tolerance_m", out, low=0.0)
    if net.outlet is not None:
        _wgs84_point(net.outlet, f"{where}.outlet", out)
    for opt, value in net.options.items():
        check = _OPTION_CHECKS.get(opt)
        if check is not None:
            check(value, f"{where}.{opt}", out)
    if net.filter is not None:
        try:
            parse_filter(net.filter, where=f"{where}.filter")
        except ConfigError as exc:
            out.append(str(exc))
    return out


def config_value_problems(cfg: Any) -> list[str]:
    """Return every out-of-range or ill-typed value of a loaded config (one line each).

    Parameters
    ----------
    cfg
        A :class:`basingov.config.BasinConfig` whose shape has been checked.

    Returns
    -------
    list of str
        Empty when every value is usable.
    """
    out: list[str] = []
    b = cfg.basin
    try:
        check_file_name(b.name, where="[basin].name")
    except ConfigError as exc:
        out.append(str(exc))
    _crs(b.crs, "[basin].crs", out)
    _wgs84_point(b.outlet, "[basin].outlet", out)
    _number(b.area_km2_published, "[basin].area_km2_published", out, low=0.0, strict=True)

    bd = cfg.boundaries
    dup = sorted({lv for lv in bd.levels if list(bd.levels).count(lv) > 1})
    if dup:
        out.append(f"[boundaries].levels repeats {dup}; list each level once, coarsest first")
    for lv in bd.levels:
        if not lv.strip():
            out.append("[boundaries].levels holds an empty level name")
    for key in ("layer", "basin_layer"):
        _string(getattr(bd, key), f"[boundaries].{key}", out)

    for net in cfg.networks.values():
        out += network_problems(net)

    # numbers by section and key; keys a section does not (or no longer) have are skipped,
    # so that the table keeps working while the config schema grows
    for sec_name, key, kw in _RANGES:
        sec = getattr(cfg, sec_name, None)
        value = getattr(sec, key, _MISSING)
        if value is not _MISSING:
            _number(value, f"[{sec_name}].{key}", out, **kw)
    for sec_name, key, high in _NUMBER_TABLES:
        table = getattr(getattr(cfg, sec_name, None), key, None)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            out.append(f"[{sec_name}].{key} must be a table of numbers, got {table!r}")
            continue
        for k, v in table.items():
            top = high(k) if callable(high) else high
            _number(v, f"[{sec_name}].{key}.{k}", out, low=0.0, high=top)

    for sec_name, key in _FILTER_KEYS:  # every expression in a config is a parsed filter
        text = getattr(getattr(cfg, sec_name, None), key, None)
        if text:
            try:
                parse_filter(text, where=f"[{sec_name}].{key}")
            except ConfigError as exc:
                out.append(str(exc))

    ld = cfg.loads
    _string(ld.parameter, "[loads].parameter", out)
    jl = getattr(ld, "jurisdiction_level", None)
    if jl is not None and jl not in bd.levels:
        out.append(
            f"[loads].jurisdiction_level = {jl!r} is not one of [boundaries].levels "
            f"{list(bd.levels)}"
        )
    runs = getattr(cfg.spillover, "monte_carlo_runs", 0)
    if isinstance(runs, int) and runs > MAX_MONTE_CARLO_RUNS:
        out.append(
            f"[spillover].monte_carlo_runs = {runs} is more than {MAX_MONTE_CARLO_RUNS:,}: each "
            "run keeps a value per connected origin-receptor pair in memory; 200-1,000 runs "
            "give stable 5-95 % bands"
        )
    return out
