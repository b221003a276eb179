"""Shared input checks: columns, CRSs, choices, known names, jurisdiction schema, piece levels.

Every stage checks its inputs with these, so that one kind of problem always reads the same
way: what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import difflib
import numbers
import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from basingov.errors import CRSError, InputError

__all__ = [
    "JURISDICTION_COLUMNS",
    "check_choice",
    "check_piece_level",
    "did_you_mean",
    "expand_user",
    "fold",
    "is_lonlat",
    "is_real",
    "level_names",
    "lonlat",
    "missing_columns",
    "piece_levels",
    "projected_crs",
    "raise_problems",
    "require_columns",
    "require_known",
    "require_projected",
    "select_levels",
]

#: Columns every jurisdiction layer carries (one row per unit, all levels in one layer).
JURISDICTION_COLUMNS: tuple[str, ...] = ("jur_id", "name", "level", "level_name", "parent_id")


def fold(text: str) -> str:
    """Fold a name for matching: case and accents dropped (``"Zürich"`` -> ``"zurich"``).

    Examples
    --------
    >>> fold("Zürich"), fold("Île-de-France"), fold("太湖")
    ('zurich', 'ile-de-france', '太湖')
    """
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (a numpy one too); not text, None or a bool.

    Examples
    --------
    >>> is_real(5), is_real(np.float32(0.5)), is_real(float("inf"))
    (True, True, True)
    >>> is_real("5"), is_real(True), is_real(np.bool_(False)), is_real(None)
    (False, False, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_lonlat(lon: Any, lat: Any) -> bool:
    """Whether ``lon, lat`` are WGS84 degrees: finite real numbers within ±180 and ±90.

    Real numbers as :func:`is_real` takes them: not text, None or bools.

    Examples
    --------
    >>> is_lonlat(7.59, 47.56), is_lonlat(np.float32(-180), 90)
    (True, True)
    >>> is_lonlat("7.59", 47.56), is_lonlat(True, 47.56), is_lonlat(float("nan"), 0)
    (False, False, False)
    >>> is_lonlat(47.56, 97.59), is_lonlat(float("inf"), 0)
    (False, False)
    """
    # NaN fails the comparisons and inf the ranges
    return is_real(lon) and is_real(lat) and -180 <= lon <= 180 and -90 <= lat <= 90


def lonlat(point: Any, *, name: str = "at", also: str = "") -> tuple[float, float]:
    """Return ``point``, a ``(lon, lat)`` pair of WGS84 degrees, as floats.

    The one check of a point given to a library function: both numbers as
    :func:`is_lonlat` takes them, so numbers as text (``"7.5"``, once taken through
    ``float()``) and bools (``True``, once 1 degree) are refused, as
    :func:`basingov.network.snap_point` refuses them. The CLI parses ``"LON,LAT"`` text
    itself (:func:`basingov.cli._common.parse_lonlat`).

    Parameters
    ----------
    point
        The pair (a tuple, list or array; numpy numbers are taken).
    name
        The argument that holds it, named in the error (``at=``, ``outlet=``).
    also
        What else the argument may be, for the error (``", or a shapely Point"``).

    Raises
    ------
    InputError
        Naming ``name`` and the value.

    Examples
    --------
    >>> lonlat((7, np.float64(47.5)))
    (7.0, 47.5)
    >>> lonlat(("7.5", "47"))
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: at must be a (lon, lat) pair of WGS84 degrees as numbers \
(not text or bools), finite, lon within ±180 and lat within ±90, e.g. (7.59, 47.56); got \
at=('7.5', '47')
    """
    try:
        lon, lat = point
    except (TypeError, ValueError):  # no pair: None, a number, three values
        lon = lat = None
    if not is_lonlat(lon, lat):
        msg = (
            f"{name} must be a (lon, lat) pair of WGS84 degrees as numbers (not text or "
            "bools), finite, lon within ±180 and lat within ±90, e.g. (7.59, 47.56)"
            f"{also}; got {name}={point!r}"
        )
        raise InputError(msg)
    return float(lon), float(lat)


def did_you_mean(queries: Iterable[str], names: Iterable[Any], *, n: int = 3) -> str:
    """Return ``" (did you mean 'A' or 'B'?)"`` for the names most like any of ``queries``.

    Case and accents are ignored; the closest names of each query come first, each name
    once. An empty string when no name is close.

    Examples
    --------
    >>> did_you_mean(["Themes"], ["THAMES", "RIVER COLNE", "RIVER CHURN"])
    " (did you mean 'THAMES'?)"
    >>> did_you_mean(["Elbe"], ["THAMES"])
    ''
    """
    by_fold: dict[str, str] = {}
    for name in names:
        by_fold.setdefault(fold(name), str(name))
    close: dict[str, None] = {}
    for q in queries:
        for h in difflib.get_close_matches(fold(q), list(by_fold), n=n, cutoff=0.6):
            close.setdefault(by_fold[h])
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def missing_columns(df: pd.DataFrame, cols: Iterable[str | None]) -> list[str]:
    """Return the names in ``cols`` (None entries skipped) that ``df`` lacks, in order."""
    return [c for c in cols if c is not None and c not in df.columns]


def require_columns(
    df: pd.DataFrame,
    cols: Iterable[str | None],
    *,
    what: str,
    hint: str = "",
    error: type[InputError] = InputError,
) -> None:
    """Raise one error naming every column of ``cols`` that ``df`` lacks.

    Parameters
    ----------
    df
        The table to check.
    cols
        Required column names (None entries are skipped: optional columns left unset).
    what
        How to name the table in the message (e.g. ``"the reach table"``).
    hint
        How to fix it, appended to the message.
    error
        The error class (an :class:`~basingov.errors.InputError` subclass).

    Raises
    ------
    InputError
        If any column is missing; the message lists them and the columns present.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b"], what="t")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: t lacks column(s) ['b']; its columns are ['a']
    """
    missing = missing_columns(df, cols)
    if missing:
        msg = f"{what} lacks column(s) {missing}; its columns are {list(map(str, df.columns))}"
        raise error(f"{msg}; {hint}" if hint else msg)


def projected_crs(crs: Any, *, what: str = "layer") -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS` if it is projected, else raise.

    Raises
    ------
    CRSError
        If ``crs`` is None, not a CRS pyproj knows, or geographic; the message says how to
        project the data.

    Examples
    --------
    >>> projected_crs("EPSG:3035").to_epsg()
    3035
    """
    if crs is None:
        msg = (
            f"{what} has no CRS; set it with gdf.set_crs(...) (e.g. 'EPSG:4326' for lon/lat "
            "data) and project it, e.g. gdf.to_crs(gdf.estimate_utm_crs()), before computing "
            "lengths or areas"
        )
        raise CRSError(msg)
    try:
        out = CRS.from_user_input(crs)
    except ProjCRSError as exc:
        msg = f"cannot interpret the CRS of {what} ({crs!r}): {exc}"
        raise CRSError(msg) from exc
    if not out.is_projected:
        msg = (
            f"{what} is in the geographic CRS {out.to_string()}; lengths and areas need a "
            "projected CRS: use gdf.to_crs(gdf.estimate_utm_crs()) or the basin's configured CRS"
        )
        raise CRSError(msg)
    return out


def require_projected(gdf: gpd.GeoDataFrame, *, what: str = "layer") -> CRS:
    """Check that a GeoDataFrame is in a projected CRS before metric work.

    Parameters
    ----------
    gdf
        The data to check.
    what
        How to name the data in the error message.

    Returns
    -------
    pyproj.CRS
        The projected CRS.

    Raises
    ------
    CRSError
        If the CRS is missing or geographic.
    """
    return projected_crs(gdf.crs, what=what)


def check_choice(
    value: object,
    allowed: Iterable[object],
    *,
    name: str,
    error: type[InputError] = InputError,
) -> None:
    """Raise if ``value`` is not one of ``allowed``, naming the allowed values.

    ``error`` is the error class (an :class:`~basingov.errors.InputError` subclass).

    Examples
    --------
    >>> check_choice("UT", ("UM", "UT"), name="mode")
    >>> check_choice("XX", ("UM", "UT"), name="mode")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: mode must be one of ['UM', 'UT'], got 'XX'
    """
    options = list(allowed)
    if value not in options:
        msg = f"{name} must be one of {options}, got {value!r}"
        raise error(msg)


def require_known(
    values: Iterable[Any],
    known: Iterable[Any],
    message: str,
    *,
    shown: int = 20,
) -> None:
    """Raise one error naming every value of ``values`` that is not one of ``known``.

    Parameters
    ----------
    values
        The values given (names of levels, rivers, indicators ...).
    known
        The values allowed, in the order to show them.
    message
        The error text, with the fields ``{unknown}`` (the values not known, in the order
        given) and ``{known}`` (the first ``shown`` known values, and how many more there
        are). No other braces: build it from fixed text, not from user input.
    shown
        How many known values the message lists at most.

    Raises
    ------
    InputError
        If any value is not known.

    Examples
    --------
    >>> require_known(["a"], ["a", "b"], "level(s) {unknown} are unknown; levels are {known}")
    >>> require_known(["c", "a", "d"], "abc", "{unknown} not found; use one of {known}", shown=2)
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: ['d'] not found; use one of ['a', 'b'] and 1 more
    """
    allowed = list(known)
    member = set(allowed)
    unknown = [v for v in values if v not in member]
    if unknown:
        more = len(allowed) - shown
        listed = f"{allowed[:shown]}" + (f" and {more} more" if more > 0 else "")
        raise InputError(message.format(unknown=unknown, known=listed))


def expand_user(value: str | Path, *, what: str = "path") -> Path:
    """Return ``value`` as a Path with a leading ``~`` expanded to the home folder.

    Raises
    ------
    InputError
        If ``value`` starts with ``~`` and the home folder is unknown (``HOME`` unset and no
        password-database entry, as in some CI containers and service accounts), or holds
        bytes that are not UTF-8 (GDAL cannot open such a name).

    Examples
    --------
    >>> expand_user("out/rhine").as_posix()
    'out/rhine'
    """
    try:
        str(value).encode("utf-8")
    except UnicodeEncodeError as exc:  # undecodable bytes in a file name (os.fsdecode)
        raw = os.fsencode(str(value))
        msg = (
            f"{what} {raw!r} is not UTF-8 text (byte 0x{ord(str(value)[exc.start]) & 0xFF:02x}); "
            "GDAL reads and writes only UTF-8 file names: rename the file or folder"
        )
        raise InputError(msg) from None
    try:
        return Path(value).expanduser()
    except RuntimeError:
        msg = (
            f"{what} {str(value)!r} starts with '~' but the home folder is unknown "
            "(HOME is not set); give the full path instead"
        )
        raise InputError(msg) from None


def level_names(jurisdictions: pd.DataFrame) -> list[str]:
    """Return the level names of a jurisdiction table, coarsest (smallest ``level``) first.

    Examples
    --------
    >>> jur = pd.DataFrame({"level": [1, 0, 1], "level_name": ["state", "country", "state"]})
    >>> level_names(jur)
    ['country', 'state']
    """
    order = jurisdictions[["level", "level_name"]].drop_duplicates().sort_values("level")
    return [str(x) for x in order["level_name"]]


def piece_levels(pieces: pd.DataFrame) -> list[str]:
    """Return the level names of a piece table, coarsest first.

    Parameters
    ----------
    pieces
        A piece table from :func:`~basingov.overlay.split_reaches`.

    Returns
    -------
    list of str
        The ``<level_name>`` of every ``jur_<level_name>`` column.

    Examples
    --------
    >>> piece_levels(pd.DataFrame(columns=["reach_id", "jur_country", "jur_state"]))
    ['country', 'state']
    """
    return [c[4:] for c in pieces.columns if c.startswith("jur_")]


def check_piece_level(pieces: pd.DataFrame, level: str) -> str:
    """Return ``level`` if the piece table has its ``jur_<level>`` column, else raise.

    Raises
    ------
    InputError
        If ``level`` is not a level of ``pieces``; the message lists the levels it has.

    Examples
    --------
    >>> check_piece_level(pd.DataFrame(columns=["jur_country"]), "state")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: level 'state' is not in the piece table; allowed levels are ['country']
    """  # noqa: E501
    allowed = piece_levels(pieces)
    if level not in allowed:
        msg = f"level {level!r} is not in the piece table; allowed levels are {allowed}"
        raise InputError(msg)
    return level


def select_levels(levels: Iterable[str] | None, allowed: Sequence[str]) -> list[str]:
    """Return ``levels`` (all of ``allowed`` for None) after checking each is allowed.

    Raises
    ------
    InputError
        If a level is not one of ``allowed`` (the overlay's levels).

    Examples
    --------
    >>> select_levels(None, ["country", "state"])
    ['country', 'state']
    >>> select_levels(["county"], ["country", "state"])
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: level(s) ['county'] are not overlay levels; allowed levels are ['country', 'state']
    """  # noqa: E501
    allowed = list(allowed)
    chosen = allowed if levels is None else list(levels)
    require_known(
        chosen, allowed, "level(s) {unknown} are not overlay levels; allowed levels are {known}"
    )
    return chosen


def raise_problems(
    problems: Sequence[str], header: str, *, error: type[InputError] = InputError
) -> None:
    """Raise one error listing every problem, one a line, if there is any.

    Raises
    ------
    InputError
        Or the subclass ``error``, if ``problems`` is not empty.

    Examples
    --------
    >>> raise_problems([], "Invalid table t.csv")
    >>> raise_problems(["column 'a' is blank", "no rows"], "Invalid table t.csv")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: Invalid table t.csv:
      - column 'a' is blank
      - no rows
    """
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        msg = f"{header}:\n{lines}"
        raise error(msg)
