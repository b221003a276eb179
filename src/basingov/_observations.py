"""Canonical parameter codes and unit conversion of long-format observations.

Every table, config and API of basingov uses the same parameter codes (DESIGN §2.7):
``DO, CODMn, COD, BOD5, NH3-N, NH4, NO3-N, TN, TP, Cl, pH, SS, Q``. Concentrations are
stored in mg/L, nitrogen species as N and phosphorus as P; ``Q`` is m³/s. Readers map
their source names onto the codes, and :func:`normalise_observations` checks and converts
the units, refusing the classic traps: ammonium given as the NH4 ion where nitrogen is
meant (a factor 1.29), µg/L read as mg/L (a factor 1,000), or a unit left empty. ``Q``
may be given in ``m3/s``, ``l/s`` or ``ft3/s`` (``cfs``; 1 ft³ = 0.028316846592 m³).

The monitoring stage (re-exported by :mod:`basingov.monitoring.units`) and the gauges of
``[hydraulics] gauges_from_monitoring`` (:func:`basingov.network.gauge_table`) both read
observations with :func:`read_observations`, so a gauge's discharge is the one the
monitoring stage uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from basingov._checks import require_columns
from basingov._tables import blank_text, read_table, text
from basingov.errors import InputError

__all__ = [
    "CODES",
    "EXCLUDED_FLAGS",
    "OBSERVATION_COLUMNS",
    "PARAMETERS",
    "Parameter",
    "canonical_unit",
    "conversion_factor",
    "discharge_samples",
    "normalise_observations",
    "not_used",
    "read_observation_rows",
    "read_observations",
]

#: Molar masses (g/mol) of the species whose concentrations are converted to N or P.
MOLAR_MASS = {
    "N": 14.0067,
    "P": 30.973762,
    "NH4": 18.03846,
    "NH3": 17.03052,
    "NO3": 62.0049,
    "NO2": 46.0055,
    "PO4": 94.971362,
}


@dataclass(frozen=True)
class Parameter:
    """One canonical parameter.

    Attributes
    ----------
    code
        The canonical code.
    unit
        The canonical unit values are stored in.
    element
        ``"N"`` or ``"P"`` when the value is expressed as that element, else ``""``.
    species
        Ion formulas whose mass concentrations may be converted to ``element``.
    description
        Plain-language name.
    plausible_median_max
        A sanity bound in the canonical unit: a station's median above it means the unit
        is almost certainly wrong (typically µg/L written as mg/L). It is set above the
        strength of raw municipal sewage or of sea water, not at any standard.
    """

    code: str
    unit: str
    element: str
    species: tuple[str, ...]
    description: str
    plausible_median_max: float


#: The canonical parameters, by code.
PARAMETERS: dict[str, Parameter] = {
    p.code: p
    for p in (
        Parameter("DO", "mg/L", "", (), "dissolved oxygen", 25.0),
        Parameter("CODMn", "mg/L", "", (), "permanganate index (CODMn)", 200.0),
        Parameter("COD", "mg/L", "", (), "chemical oxygen demand (dichromate)", 2000.0),
        Parameter("BOD5", "mg/L", "", (), "five-day biochemical oxygen demand", 1000.0),
        Parameter(
            "NH3-N", "mg/L N", "N", ("NH3", "NH4"), "ammonia nitrogen (NH3 + NH4+ as N)", 100.0
        ),
        Parameter("NH4", "mg/L N", "N", ("NH4", "NH3"), "ammonium as N", 100.0),
        Parameter("NO3-N", "mg/L N", "N", ("NO3",), "nitrate as N", 100.0),
        Parameter("TN", "mg/L N", "N", (), "total nitrogen as N", 150.0),
        Parameter("TP", "mg/L P", "P", ("PO4",), "total phosphorus as P", 20.0),
        Parameter("Cl", "mg/L", "", (), "chloride", 25000.0),
        Parameter("pH", "pH", "", (), "pH", 14.0),
        Parameter("SS", "mg/L", "", (), "suspended solids", 50000.0),
        Parameter("Q", "m3/s", "", (), "discharge", np.inf),
    )
}
#: The canonical codes, in the order of DESIGN §2.7.
CODES: tuple[str, ...] = tuple(PARAMETERS)

#: Source parameter names that mean a canonical code, and the element the name states
#: (``"NH4-N"`` is ammonium *as N*; ``"NH4"`` alone does not say).
ALIASES: dict[str, tuple[str, str]] = {
    "NH4-N": ("NH4", "N"),
    "NH4_N": ("NH4", "N"),
    "NH4N": ("NH4", "N"),
    "NH3_N": ("NH3-N", "N"),
    "NH3N": ("NH3-N", "N"),
    "NO3_N": ("NO3-N", "N"),
    "NO3N": ("NO3-N", "N"),
    "TSS": ("SS", ""),
    "O2": ("DO", ""),
}
#: Codes whose name already states the element (a plain "mg/L" is then unambiguous).
_NAMED_AS_ELEMENT = frozenset({"NH3-N", "NO3-N", "TN", "TP"})

#: Columns of the long observation format (DESIGN §2.1).
OBSERVATION_COLUMNS = ("station_id", "time", "parameter", "value", "unit", "flag")
#: How to fix a table lacking one of :data:`OBSERVATION_COLUMNS`.
_LONG_FORMAT = (
    f"the long format needs {list(OBSERVATION_COLUMNS)} (one row per station, time and parameter)"
)
#: Flags of values that are not used in assessments (kept as published in the data).
EXCLUDED_FLAGS = frozenset({"implausible_in_source"})

_MASS = {"mg/l": 1.0, "ug/l": 1e-3, "g/m3": 1.0, "ng/l": 1e-6, "g/l": 1e3}
_SHOWN = {"mg/l": "mg/L", "ug/l": "ug/L", "g/m3": "g/m3", "ng/l": "ng/L", "g/l": "g/L"}
_FLOW = {"m3/s": 1.0, "l/s": 1e-3, "ft3/s": 0.028316846592, "cfs": 0.028316846592}
_PH = frozenset({"ph", "ph units", "ph unit", "-", "unitless", "dimensionless"})


def canonical_unit(code: str) -> str:
    """Return the unit basingov stores a canonical parameter in.

    Raises
    ------
    InputError
        If ``code`` is not a canonical code.

    Examples
    --------
    >>> canonical_unit("NH4"), canonical_unit("TP"), canonical_unit("Q")
    ('mg/L N', 'mg/L P', 'm3/s')
    """
    if code not in PARAMETERS:
        msg = f"unknown parameter code {code!r}; the canonical codes are {list(CODES)}"
        raise InputError(msg)
    return PARAMETERS[code].unit


def _parse(unit: str) -> tuple[str, str]:
    """Split a unit text into (base, species): ``"mg N/L"`` -> ``("mg/l", "N")``."""
    u = unit.strip().replace("µ", "u").replace("μ", "u").replace("³", "3")
    u = re.sub(r"\s+", " ", u)
    low = u.lower()
    if low in _PH:
        return "ph", ""
    # "mg/L as N", "mg/L N", "mg N/L", "mg-N/L", "mgN/L", "mg/L NH4", "mg NO3/L"
    m = re.fullmatch(
        r"(?P<pre>[munμ]?g)\s*[- ]?(?P<s1>[A-Za-z0-9]*)\s*/\s*(?P<vol>l|m3)"
        r"(?:\s*(?:as\s+)?[- ]?(?P<s2>[A-Za-z0-9]+))?",
        u,
        flags=re.IGNORECASE,
    )
    if m:
        base = f"{m.group('pre').lower()}/{m.group('vol').lower()}"
        species = (m.group("s1") or m.group("s2") or "").upper()
        species = {"PH": "", "": ""}.get(species, species)
        return base, species
    return low.replace(" ", ""), ""


def conversion_factor(code: str, unit: str, *, stated_element: str = "") -> float:
    """Factor turning values in ``unit`` into :func:`canonical_unit` of ``code``.

    Parameters
    ----------
    code
        Canonical parameter code.
    unit
        The unit as written in the source, e.g. ``"ug/L"``, ``"mg/L NH4"``, ``"mg N/L"``.
    stated_element
        ``"N"`` or ``"P"`` when the source *parameter name* already says the value is
        expressed as that element (``"NH4-N"``).

    Returns
    -------
    float

    Raises
    ------
    InputError
        If the unit is empty, unknown, of the wrong kind, or ambiguous (NH4 in a plain
        ``"mg/L"``). The message says which unit to write instead.

    Examples
    --------
    >>> conversion_factor("TP", "ug/L")
    0.001
    >>> round(conversion_factor("NH4", "mg/L NH4"), 4)
    0.7765
    >>> conversion_factor("NH4", "mg/L", stated_element="N")
    1.0
    >>> conversion_factor("NH4", "mg/L")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: NH4 in 'mg/L' is ambiguous: NH4 is stored as nitrogen; ...
    """
    p = PARAMETERS.get(code)
    if p is None:
        msg = f"unknown parameter code {code!r}; the canonical codes are {list(CODES)}"
        raise InputError(msg)
    text = "" if unit is None or (isinstance(unit, float) and np.isnan(unit)) else str(unit)
    if not text.strip():
        msg = f"{code} has no unit; write {p.unit!r}" + (
            " (or the unit the values are in, e.g. 'ug/L', converted here)" if p.element else ""
        )
        raise InputError(msg)
    base, species = _parse(text)
    if code == "pH":
        if base != "ph":
            msg = f"pH has unit {text!r}; pH is dimensionless: write 'pH'"
            raise InputError(msg)
        return 1.0
    if code == "Q":
        if base not in _FLOW:
            msg = f"Q (discharge) has unit {text!r}; write one of {sorted(_FLOW)}"
            raise InputError(msg)
        return _FLOW[base]
    if base not in _MASS:
        msg = (
            f"{code} has unit {text!r}, which is not a mass concentration; write {p.unit!r} "
            "(mg/L, ug/L and g/m3 are converted)"
        )
        raise InputError(msg)
    scale = _MASS[base]
    if not p.element:
        if species:
            msg = f"{code} has unit {text!r}; {code} is not expressed as an element: write 'mg/L'"
            raise InputError(msg)
        return scale
    el = p.element
    if species == el or (not species and (stated_element == el or code in _NAMED_AS_ELEMENT)):
        return scale
    if species in p.species:
        return scale * MOLAR_MASS[el] / MOLAR_MASS[species]
    shown = _SHOWN[base]
    if not species:
        ion = p.species[0]
        factor = f"x {MOLAR_MASS[el]}/{MOLAR_MASS[ion]}"
        element_name = "nitrogen" if el == "N" else "phosphorus"
        msg = (
            f"{code} in {text!r} is ambiguous: {code} is stored as {element_name}; "
            f"write '{shown} {el}' if the values are {code} as {el} (or name the parameter "
            f"'{code}-{el}'), or '{shown} {ion}' if they are the {ion} ion (converted {factor})"
        )
        raise InputError(msg)
    msg = (
        f"{code} has unit {text!r}: species {species!r} cannot be {code}; write "
        f"'{shown} {el}'" + (f" or '{shown} {p.species[0]}'" if p.species else "")
    )
    raise InputError(msg)


def _rows(
    df: pd.DataFrame,
    mask: np.ndarray,
    n: int = 3,
    *,
    cols: tuple[str, str] = ("station_id", "time"),
) -> str:
    sub = df.loc[mask, list(cols)].head(n)
    ex = ", ".join(f"{a} {b}" for a, b in zip(sub[cols[0]], sub[cols[1]], strict=True))
    return f"{int(mask.sum()):,} row(s), e.g. {ex}"


def parameter_stations(df: pd.DataFrame, mask: np.ndarray, n: int = 10) -> str:
    """Say which parameters at which stations the rows of ``mask`` are, with their counts.

    Examples
    --------
    >>> df = pd.DataFrame({"station_id": ["A", "A", "B", "A"],
    ...     "parameter": ["SS", "SS", "SS", "TP"]})
    >>> parameter_stations(df, np.array([True, True, True, False]))
    'SS at A (2), B (1)'
    """
    sub = df.loc[mask, ["parameter", "station_id"]].astype(str)
    parts = []
    for param, g in sub.groupby("parameter", sort=True)["station_id"]:
        counts = g.value_counts().sort_index()
        shown = ", ".join(f"{s} ({c})" for s, c in counts.head(n).items())
        more = f" and {len(counts) - n} more station(s)" if len(counts) > n else ""
        parts.append(f"{param} at {shown}{more}")
    return "; ".join(parts)


def not_used(obs: pd.DataFrame) -> np.ndarray:
    """Mark the rows whose ``flag`` is one of :data:`EXCLUDED_FLAGS`.

    Such values stay in the table as published; the classes, trends, mass balance and
    the gauges' flows leave them out. A table without a ``flag`` column has none.

    Examples
    --------
    >>> not_used(pd.DataFrame({"flag": ["", "implausible_in_source", "<"]})).tolist()
    [False, True, False]
    >>> not_used(pd.DataFrame({"value": [1.0]})).tolist()
    [False]
    """
    if "flag" not in obs.columns:
        return np.zeros(len(obs), dtype=bool)
    return obs["flag"].isin(list(EXCLUDED_FLAGS)).to_numpy(dtype=bool)


def _impossible_values(df: pd.DataFrame, canon: np.ndarray) -> list[str]:
    """Problems of values no measurement can have: negative concentrations, infinities.

    Rows flagged with one of :data:`EXCLUDED_FLAGS` are kept as published and not used,
    so they are not problems.
    """
    used = ~not_used(df)
    v = df["value"].to_numpy(dtype=np.float64)
    conc = canon & ~df["parameter"].isin(["pH", "Q"]).to_numpy()
    out = []
    with np.errstate(invalid="ignore"):
        neg = used & conc & (v < 0)
    if neg.any():
        out.append(
            f"column 'value' is negative in {_rows(df, neg)} ({parameter_stations(df, neg)}): "
            "a concentration cannot be negative; correct the values, or keep them as "
            f"published with flag {sorted(EXCLUDED_FLAGS)[0]!r} (then they are not used)"
        )
    inf = used & np.isinf(v)
    if inf.any():
        out.append(
            f"column 'value' is infinite in {_rows(df, inf)} ({parameter_stations(df, inf)}); "
            "write the measured number, or leave the cell empty where there is none"
        )
    return out


def _group_medians(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``np.median`` of the finite ``values`` of each group ``0 .. size - 1`` (NaN if none).

    One sort of all values instead of a median per group: the middle value, or the mean
    of the two middle values, as :func:`numpy.median` takes them.
    """
    fin = np.isfinite(values)
    g, v = groups[fin], values[fin]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    n = np.bincount(g, minlength=size)
    start = np.cumsum(n) - n
    has = n > 0
    lo = (start + (n - 1) // 2)[has]
    hi = (start + n // 2)[has]
    med = np.full(size, np.nan)
    with np.errstate(over="ignore"):
        med[has] = np.where(lo == hi, v[lo], (v[lo] + v[hi]) / 2)
    return med


def _implausible_values(df: pd.DataFrame, conc: np.ndarray) -> list[str]:
    """Problems of stations whose values of a parameter cannot be right for their unit.

    pH outside 0-14; a median of the finite values of another concentration above the
    parameter's :attr:`Parameter.plausible_median_max`. ``conc`` marks the rows checked;
    stations and parameters come in sorted order.
    """
    rows = np.flatnonzero(conc)
    sid_code, sids = pd.factorize(df["station_id"].to_numpy(dtype=object)[rows], sort=True)
    par_code, pars = pd.factorize(df["parameter"].to_numpy(dtype=object)[rows], sort=True)
    keys, group = np.unique(sid_code * len(pars) + par_code, return_inverse=True)
    v = df["value"].to_numpy(dtype=np.float64)[rows]
    med = _group_medians(group, v, keys.size)
    with np.errstate(invalid="ignore"):
        outside = np.bincount(group, weights=(v < 0) | (v > 14), minlength=keys.size)
    problems = []
    for k, key in enumerate(keys):
        sid, c = str(sids[key // len(pars)]), str(pars[key % len(pars)])
        lim = PARAMETERS[c].plausible_median_max
        if c == "pH":
            if outside[k] > 0:
                problems.append(
                    f"column 'value' has pH outside 0-14 at station {sid} "
                    f"({int(outside[k])} row(s)); check the parameter and unit columns"
                )
        elif med[k] > lim:
            at = rows[group == k]
            src_units = sorted(set(df["source_unit"].iloc[at].astype(str)))
            problems.append(
                f"column 'value': station {sid} {c} has a median of {med[k]:g} "
                f"{PARAMETERS[c].unit} (unit column {src_units}), implausible for "
                f"surface water (> {lim:g}); the "
                f"values look like ug/L: write 'ug/L' in column 'unit' if they are"
            )
    return problems


def normalise_observations(
    observations: pd.DataFrame,
    *,
    source: str = "observations",
    parameter_map: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Map parameter names onto canonical codes and convert values to canonical units.

    Rows of other parameters (e.g. ``DOC``, ``chl_a``, ``class_GB3838``) are kept as they
    are. Every problem is collected and raised at once. A value no measurement can have
    (a negative concentration, an infinity) is refused unless its flag is one of
    :data:`EXCLUDED_FLAGS`: such rows are kept as published and the assessments leave
    them out.

    Parameters
    ----------
    observations
        Long table ``station_id, time, parameter, value, unit, flag`` (+ extras).
    source
        Name of the table in messages (e.g. its file name).
    parameter_map
        Source parameter name -> canonical code, for names :data:`ALIASES` does not know.

    Returns
    -------
    pandas.DataFrame
        The same rows with ``parameter``, ``value`` and ``unit`` canonical, ``time`` as
        datetime64, and the source's ``source_parameter`` and ``source_unit`` kept.

    Raises
    ------
    InputError
        Naming the column (``station_id``, ``parameter``, ``unit``, ``value`` or
        ``time``), the rows and the fix: a missing column, a blank station id or
        parameter, an empty, unknown or ambiguous unit, a non-numeric
        or infinite value, a negative concentration (any canonical code but pH and Q),
        an unreadable time, or values implausible for their unit.

    Examples
    --------
    >>> obs = pd.DataFrame({"station_id": ["A", "A"], "time": ["2020-01-01", "2020-02-01"],
    ...     "parameter": ["TP", "NH4-N"], "value": [120.0, 0.5], "unit": ["ug/L", "mg/L"],
    ...     "flag": ["", ""]})
    >>> out = normalise_observations(obs)
    >>> out[["parameter", "value", "unit"]].values.tolist()
    [['TP', 0.12, 'mg/L P'], ['NH4', 0.5, 'mg/L N']]
    """
    require_columns(observations, OBSERVATION_COLUMNS, what=source, hint=_LONG_FORMAT)
    df = observations.reset_index(drop=True)
    problems: list[str] = []
    # a blank id became the station or parameter "nan" (or "None"), named nowhere else
    for col, shown, fix in (
        ("station_id", ("time", "parameter"), "the id of its station in the station table"),
        ("parameter", ("station_id", "time"), "the parameter measured, e.g. 'TP' or 'NH4-N'"),
    ):
        blank = blank_text(df[col])
        if blank.any():
            problems.append(
                f"column {col!r} is blank in {_rows(df, blank, cols=shown)}; write in every "
                f"row {fix}"
            )
    df["station_id"] = df["station_id"].astype(str)
    df["flag"] = text(df["flag"])
    try:
        time = pd.to_datetime(df["time"], errors="coerce", format="ISO8601")
    except ValueError:  # UTC offsets that differ between rows, or rows with and without one
        problems.append(
            "column 'time' mixes time zones (different UTC offsets, or some times with an "
            "offset and some without); write every time in one zone, e.g. all with "
            "'+08:00' or all without an offset"
        )
        time = pd.to_datetime(df["time"], errors="coerce", format="ISO8601", utc=True)
    bad_t = time.isna().to_numpy()
    if bad_t.any():
        problems.append(
            f"column 'time' is not an ISO 8601 date in {_rows(df, bad_t)}; write e.g. "
            "'2020-05-31' or '2020-05-31T09:25'"
        )
    value = pd.to_numeric(df["value"], errors="coerce")
    bad_v = (value.isna() & df["value"].notna()).to_numpy()
    if bad_v.any():
        problems.append(
            f"column 'value' is not numeric in {_rows(df, bad_v)}; store '<x' as x with flag '<'"
        )
    df["source_parameter"] = df["parameter"].astype(str)
    df["source_unit"] = df["unit"]
    pmap = {**{k: v[0] for k, v in ALIASES.items()}, **dict(parameter_map or {})}
    stated = {k: v[1] for k, v in ALIASES.items()}
    names = pd.unique(df["source_parameter"])
    code = df["source_parameter"].map({p: pmap.get(p, p) for p in names})
    unit_text = df["unit"].where(df["unit"].notna(), "").astype(str)
    factor = np.ones(len(df))
    canon = code.isin(list(PARAMETERS)).to_numpy()
    keys = pd.DataFrame({"p": df["source_parameter"], "c": code, "u": unit_text})[canon]
    for key, idx in keys.groupby(["p", "c", "u"], sort=True).groups.items():
        sp, c, u = (str(k) for k in cast("tuple[Any, ...]", key))
        try:
            f = conversion_factor(str(c), str(u), stated_element=stated.get(str(sp), ""))
        except InputError as exc:
            mask = df.index.isin(idx)
            what = f"parameter {sp!r}" + (f" (code {c})" if sp != c else "")
            problems.append(f"column 'unit' is {u!r} for {what} in {_rows(df, mask)}: {exc}")
            continue
        factor[df.index.get_indexer(idx)] = f
    df["parameter"] = code.to_numpy()
    df["value"] = value.to_numpy() * factor
    problems += _impossible_values(df, canon)
    units = {c: p.unit for c, p in PARAMETERS.items()}
    df.loc[canon, "unit"] = df.loc[canon, "parameter"].map(units)
    df["time"] = time
    problems += _implausible_values(df, canon & ~bad_v & (df["parameter"] != "Q").to_numpy())
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        msg = f"{source}: {len(problems)} problem(s):\n{lines}"
        raise InputError(msg)
    return df


def read_observation_rows(path: str | Path) -> pd.DataFrame:
    """Read a long-format observation CSV as it is, checked as every user table is.

    :func:`basingov._tables.read_table` refuses a missing, empty, non-UTF-8 (Latin-1,
    UTF-16), zip or binary file, a header line naming a column twice and a file lacking
    one of :data:`OBSERVATION_COLUMNS` (saying so when it seems separated by ``;``); a
    file with a header line and no rows is refused too (nothing to assess);
    ``basingov validate`` reads the table with this function too, so that both say the
    same. :func:`read_observations` then normalises the rows.

    Raises
    ------
    InputError
        Naming the file (``Observation table <name>``) and the fix.
    """
    df = read_table(
        path,
        what="Observation table",
        dtype={"station_id": str, "flag": str, "unit": str},
        required_columns=OBSERVATION_COLUMNS,
        hint=_LONG_FORMAT,
    )
    if df.empty:  # the run stopped on an internal error; validate said "no problems"
        msg = (
            f"Observation table {Path(path).name} has no rows: the monitoring stage has no "
            "value to assess; give one row per station, time and parameter "
            f"({', '.join(OBSERVATION_COLUMNS)}), or remove the [monitoring] section"
        )
        raise InputError(msg)
    return df


def read_observations(
    path: str | Path, *, parameter_map: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Read a long-format observation CSV and normalise it.

    Parameters
    ----------
    path
        CSV with ``station_id, time, parameter, value, unit, flag`` (+ extras).
    parameter_map
        See :func:`normalise_observations`.

    Returns
    -------
    pandas.DataFrame
        As :func:`normalise_observations`.

    Raises
    ------
    InputError
        As :func:`read_observation_rows` (a missing or unreadable file) and
        :func:`normalise_observations`.

    Examples
    --------
    >>> from basingov.datasets import data_dir
    >>> obs = read_observations(data_dir() / "monitoring" / "tennessee_observations.csv")
    >>> sorted(set(obs.loc[obs["parameter"].isin(["TN", "TP"]), "unit"]))
    ['mg/L N', 'mg/L P']
    """
    key = _file_key(path) if parameter_map is None else None
    if key is not None and key in _LAST_READ:
        return _LAST_READ[key].copy()
    df = read_observation_rows(path)
    obs = normalise_observations(df, source=str(path), parameter_map=parameter_map)
    if key is not None:
        _LAST_READ.clear()
        _LAST_READ[key] = obs.copy()
    return obs


#: The last observation file read (:func:`read_observations`, no ``parameter_map``), by
#: :func:`_file_key`: a run reads its observations twice, for the gauges of
#: ``[hydraulics] gauges_from_monitoring`` and in the monitoring stage (the Thames: 4.8 MB,
#: about 0.1 s each). The second read returns a copy of the first; a file changed since
#: (size or modification time) is read again.
_LAST_READ: dict[tuple[Any, ...], pd.DataFrame] = {}


def _file_key(path: str | Path) -> tuple[Any, ...] | None:
    """Identify a file's content by path, size and modification time (None if missing)."""
    try:
        st = Path(path).stat()
    except OSError:
        return None  # read_observation_rows names the problem
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, pd.get_option(_STORAGE))


#: pandas' text storage, which the rows' dtypes depend on (basingov._runtime).
_STORAGE = "mode.string_storage"


def discharge_samples(path: str | Path) -> pd.DataFrame:
    r"""Read the discharge values of an observation file that the assessments use.

    The rows of parameter ``Q`` of :func:`read_observations` (so every check of the
    monitoring stage, and the units converted to m³/s), without the values flagged with
    one of :data:`EXCLUDED_FLAGS` and the empty ones. A negative value is kept, as the
    monitoring stage keeps it (a tidal river flows backwards): a mean of them is the net
    flow. The gauges of ``[hydraulics] gauges_from_monitoring`` average them.

    Raises
    ------
    InputError
        As :func:`read_observations`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "obs.csv"
    >>> _ = p.write_text("station_id,time,parameter,value,unit,flag\n"
    ...     "A,2020-01-01,Q,100,cfs,\nA,2020-01-02,Q,9e9,m3/s,implausible_in_source\n"
    ...     "A,2020-01-03,Q,,m3/s,\nA,2020-01-01,TP,0.1,mg/L P,\n")
    >>> discharge_samples(p)[["station_id", "value", "unit"]].values.tolist()
    [['A', 2.8316846592, 'm3/s']]
    """
    obs = read_observations(path)
    used = (obs["parameter"] == "Q") & ~not_used(obs)
    return obs[used & obs["value"].notna()]
