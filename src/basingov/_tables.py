"""Reading and checking CSV tables from users: encoding, columns, numbers, ids, coordinates.

:func:`read_table` reads a CSV as UTF-8 (with or without a byte-order mark) and refuses,
with the fix, files that are empty, not UTF-8 (e.g. Latin-1 from Excel) or not CSV.
:func:`check_table` then checks a table (read from a file or given as a DataFrame) and
lists every problem at once: missing columns, text in number columns, blanks, negative or
infinite numbers, repeated ids and coordinates out of range. Row numbers in messages are
the file's line numbers (the header is line 1).
"""

from __future__ import annotations

import codecs
import csv
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from basingov._checks import require_columns
from basingov.errors import InputError

__all__ = [
    "JURISDICTION_TABLE_CHECKS",
    "MAX_LOAD_KG_DAY",
    "check_table",
    "factorize_text",
    "jurisdiction_table_problems",
    "read_csv_rows",
    "read_table",
    "text",
]

#: Largest load a table may give for one row, kg/day: a million tonnes a day, far above any
#: basin (world fertiliser N use is about 3e8 kg/day); larger values are typing errors, and
#: sums of values near the float limit overflow to infinity.
MAX_LOAD_KG_DAY = 1e12
#: What :func:`check_table` checks in a ``[loads] jurisdiction_table`` (load stage, validate).
JURISDICTION_TABLE_CHECKS: dict[str, Any] = {
    "numeric": ["load_kg_day"],
    "nonnegative": ["load_kg_day"],
    "id_column": "jur_id",
    "maximum": {"load_kg_day": MAX_LOAD_KG_DAY},
}


def text(values: Any) -> np.ndarray:
    """Values as strings, with missing values (None, NaN, NA) as ``""``.

    Examples
    --------
    >>> text(pd.Series(["a", None, float("nan")])).tolist()
    ['a', '', '']
    """
    s = pd.Series(values, dtype=object)
    return np.where(s.isna().to_numpy(), "", s.astype(str).to_numpy()).astype(object)


def factorize_text(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize`` of a column of text, hashing its Python strings as an object array.

    The same codes (-1 for missing values) and uniques (in the column's dtype) as
    ``pd.factorize(column)``, about three times faster than through pandas' string array.

    Examples
    --------
    >>> codes, uniques = factorize_text(pd.Series(["b", "a", None, "b"], dtype="str"))
    >>> codes.tolist(), uniques.tolist()
    ([0, 1, -1, 0], ['b', 'a'])
    """
    codes, uniques = pd.factorize(column.to_numpy(dtype=object))
    return codes, pd.Index(uniques, dtype=column.dtype)


def blank_text(values: Any) -> np.ndarray:
    """Mark the values missing or empty once stripped of white space.

    ``pd.Series(text(values)).str.strip().eq("")``, with one strip per distinct value
    rather than per row (an id or parameter column of a long table repeats a few values);
    in a column of numbers only the missing values are blank (a number's text never is).

    Examples
    --------
    >>> blank_text(pd.Series(["a", " ", None, "a", float("nan"), " b"])).tolist()
    [False, True, True, False, True, False]
    >>> blank_text(pd.Series([1.5, float("nan")])).tolist()
    [False, True]
    """
    s = pd.Series(values)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.isna().to_numpy(dtype=bool)
    try:
        codes, uniques = pd.factorize(s)
    except TypeError:  # unhashable values (lists): their text, row by row
        return pd.Series(text(s), dtype=object).str.strip().eq("").to_numpy(dtype=bool)
    # code -1 (a missing value) takes the last entry: blank
    flags = [u.strip() == "" for u in text(uniques)] + [True]
    return np.array(flags, dtype=bool)[codes]


def read_table(
    path: str | Path,
    *,
    what: str,
    dtype: Mapping[str, type] | None = None,
    required_columns: Iterable[str] = (),
    hint: str = "",
) -> pd.DataFrame:
    """Read a CSV file as UTF-8 text into a DataFrame, with clear errors.

    Parameters
    ----------
    path
        The CSV file.
    what
        How to name the table in errors, e.g. ``"[loads].jurisdiction_table"``.
    dtype
        Column types, e.g. ``{"jur_id": str}`` to keep ids as text.
    required_columns
        Columns the table must have (:func:`basingov._checks.require_columns`).
    hint
        How to fix a missing column, appended to that message.

    Returns
    -------
    pandas.DataFrame
        The table as read (no column renamed or dropped).

    Raises
    ------
    InputError
        If the file does not exist, cannot be opened, is empty, is not UTF-8, cannot be
        parsed as CSV or lacks one of ``required_columns``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_bytes("jur_id,name,x,Zürich,1".encode("latin-1"))
    >>> read_table(p, what="the table")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: the table t.csv is not UTF-8 text (byte 0xfc at position 15); re-save it as UTF-8 (Excel: "CSV UTF-8"; or, for Latin-1 text, iconv -f latin1 -t utf-8 t.csv > t_utf8.csv)
    """  # noqa: E501
    path = Path(path)
    name = f"{what} {path.name}"
    if not path.is_file():
        msg = f"{what} {path} does not exist (paths in a config are relative to the config file)"
        raise InputError(msg)
    try:
        _check_utf8(path, name)
        _check_header(path, name)
        df = read_csv_rows(path, name, encoding="utf-8-sig", dtype=dict(dtype or {}))
    except InputError:
        raise
    except OSError as exc:
        msg = f"cannot read {what} {path}: {exc}"
        raise InputError(msg) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        msg = f"{name} cannot be read as CSV: {exc}"
        raise InputError(msg) from None
    sep = _separator_hint(df.columns)
    require_columns(
        df, required_columns, what=f"{what} {path}", hint="; ".join(filter(None, [hint, sep]))
    )
    return df


def _separator_hint(columns: Iterable[Any]) -> str:
    """Say so when a table's only column name holds ``;``, tabs or ``|`` (else ``""``)."""
    cols = [str(c) for c in columns]
    sep = next((c for c in (";", "\t", "|") if len(cols) == 1 and c in cols[0]), None)
    if sep is None:
        return ""
    return (
        f"the file seems to be separated by {sep!r}, not commas: save it as comma-separated "
        "CSV (Excel: 'CSV UTF-8 (comma delimited)')"
    )


def read_csv_rows(path: Path, name: str, **kwargs: Any) -> pd.DataFrame:
    r"""``pandas.read_csv`` that keeps every column under its own header name.

    When every row has one field more than the header (each line ends in a comma, as some
    spreadsheet exports write them, or a column lacks its name), pandas takes the first
    column for the row labels and moves every value one column to the left, under the
    wrong names. Here a trailing empty field is ignored, and a row with more values than
    the header names is an error naming the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("jur_id,load_kg_day,\nA,1.5,\n", encoding="utf-8")
    >>> read_csv_rows(p, "the table t.csv").to_dict("records")
    [{'jur_id': 'A', 'load_kg_day': 1.5}]
    >>> _ = p.write_text("jur_id,load_kg_day\nA,1.5,kg\n", encoding="utf-8")
    >>> read_csv_rows(p, "the table t.csv")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: the table t.csv has rows with more values than its header line names columns (2: jur_id, load_kg_day); name every column in the header, or remove the extra values
    """  # noqa: E501
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            df = pd.read_csv(path, index_col=False, low_memory=False, **kwargs)
        except pd.errors.ParserWarning:
            header = pd.read_csv(path, nrows=0, **kwargs).columns
            msg = (
                f"{name} has rows with more values than its header line names columns "
                f"({len(header)}: {', '.join(map(str, header))}); name every column in the "
                "header, or remove the extra values"
            )
            raise InputError(msg) from None
    # a trailing comma on every line (header too) adds a column named 'Unnamed: N' and
    # left empty: not a column of the table
    extra = [c for c in df.columns if str(c).startswith("Unnamed: ") and df[c].isna().all()]
    return df.drop(columns=extra) if extra else df


def _check_header(path: Path, name: str) -> None:
    """Refuse a header line naming a column twice (pandas would use the first silently)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        msg = f"{name} repeats column(s) {repeated} in its header line; keep one of each"
        raise InputError(msg)


def _not_utf8(path: Path, name: str, block: bytes, seen: int, at: int) -> str:
    """Say what a file that is not UTF-8 seems to be, and how to make it a UTF-8 CSV."""
    redo = f"{path.stem}_utf8.csv"
    if seen == 0 and block[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return (
            f'{name} is UTF-16 text, not UTF-8; re-save it as UTF-8 (Excel: "CSV UTF-8"; '
            f"or iconv -f utf-16 -t utf-8 {path.name} > {redo})"
        )
    if seen == 0 and block[:4] == b"PK\x03\x04":
        return (
            f"{name} is a zip archive (an Excel workbook?), not a CSV text file; export the "
            'sheet as "CSV UTF-8"'
        )
    if b"\x00" in block[: at + 1]:
        return f"{name} holds NUL bytes: it is not a text CSV (a binary file?)"
    return (
        f"{name} is not UTF-8 text (byte 0x{block[at]:02x} at position {seen + at}); re-save "
        f'it as UTF-8 (Excel: "CSV UTF-8"; or, for Latin-1 text, iconv -f latin1 -t utf-8 '
        f"{path.name} > {redo})"
    )


def _check_utf8(path: Path, name: str, *, chunk: int = 1 << 20) -> None:
    """Stream the file through a UTF-8 decoder: refuse empty, non-UTF-8 or binary files."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    blank = True
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise InputError(_not_utf8(path, name, block, seen, exc.start)) from None
            if "\x00" in text:
                msg = f"{name} holds NUL bytes: it is not a text CSV (UTF-16 or a binary file?)"
                raise InputError(msg)
            blank = blank and not text.lstrip("\ufeff").strip()
            seen += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        msg = f"{name} is not UTF-8 text (it ends inside a multi-byte character)"
        raise InputError(msg) from None
    if blank:
        msg = f"{name} is empty; it needs a header line and one row per record"
        raise InputError(msg)


def _lines(mask: np.ndarray) -> list[int]:
    return (np.flatnonzero(mask) + 2)[:10].tolist()


def check_table(
    df: pd.DataFrame,
    *,
    what: str,
    required: Iterable[str] = (),
    numeric: Iterable[str] = (),
    nonnegative: Iterable[str] = (),
    positive: Iterable[str] = (),
    blank_ok: Iterable[str] = (),
    id_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    maximum: Mapping[str, float] | None = None,
) -> None:
    """Check a table and raise one :class:`~basingov.errors.InputError` listing every problem.

    Parameters
    ----------
    df
        The table.
    what
        How to name it in the message (file or argument).
    required
        Columns that must exist.
    numeric
        Columns that must hold finite numbers (blank cells allowed only if in ``blank_ok``).
    nonnegative
        Numeric columns that must be >= 0.
    positive
        Numeric columns that must be > 0 (areas).
    blank_ok
        Numeric columns where a blank cell means "not reported".
    id_column
        Column whose values must be present and unique.
    lon_column, lat_column
        WGS84 coordinate columns: present, numbers, within ±180 / ±90.
    maximum
        Largest value allowed in numeric columns, e.g. ``{"load_kg_day": MAX_LOAD_KG_DAY}``.

    Raises
    ------
    InputError
        Naming each column, the lines concerned and the fix.

    Examples
    --------
    >>> t = pd.DataFrame({"jur_id": ["A", "A"], "load_kg_day": ["1.5", "lots"]})
    >>> check_table(t, what="loads.csv", numeric=["load_kg_day"], id_column="jur_id")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: loads.csv: column 'load_kg_day' holds text where numbers belong at line(s) [3] (values ['lots']); repeated jur_id values ['A'] at line(s) [3]
    """  # noqa: E501
    cols = [str(c) for c in df.columns]
    need = list(required) + [c for c in (id_column, lon_column, lat_column) if c is not None]
    need += [c for c in numeric if c not in need]
    missing = [c for c in dict.fromkeys(need) if c not in df.columns]
    if missing:
        sep = _separator_hint(cols)
        msg = f"{what} lacks column(s) {missing}; its columns are {cols}"
        raise InputError(f"{msg}; {sep}" if sep else msg)
    problems: list[str] = []
    if len(df) == 0:
        problems.append("has a header but no rows")
    blanks_allowed = set(blank_ok)
    coords = [c for c in (lon_column, lat_column) if c is not None]
    nums: dict[str, pd.Series] = {}
    for c in list(dict.fromkeys([*numeric, *coords])):
        col = df[c]
        blank = blank_text(col)
        num = pd.to_numeric(col.where(~blank), errors="coerce")
        text = ~blank & num.isna().to_numpy()
        if text.any():
            vals = col[text].astype(str).tolist()[:5]
            problems.append(
                f"column {c!r} holds text where numbers belong at line(s) {_lines(text)} "
                f"(values {vals})"
            )
        if blank.any() and c not in blanks_allowed:
            problems.append(
                f"column {c!r} is blank at line(s) {_lines(blank)}; give a number (0 if none)"
            )
        inf = np.isinf(num.to_numpy(dtype=np.float64, na_value=np.nan))
        if inf.any():
            problems.append(f"column {c!r} holds infinite values at line(s) {_lines(inf)}")
        nums[c] = num
    for c in nonnegative:
        neg = (nums[c] < 0).to_numpy() if c in nums else np.zeros(len(df), dtype=bool)
        if neg.any():
            problems.append(
                f"column {c!r} is negative at line(s) {_lines(neg)}; loads and counts are >= 0"
            )
    for c in positive:
        v = nums[c].to_numpy(dtype=np.float64, na_value=np.nan) if c in nums else np.array([])
        low = v <= 0
        if low.any():
            problems.append(
                f"column {c!r} is 0 or negative at line(s) {_lines(low)} (values "
                f"{v[low].tolist()[:5]}); it must be > 0"
            )
    for c, top in (maximum or {}).items():
        v = nums[c].to_numpy(dtype=np.float64, na_value=np.nan) if c in nums else np.array([])
        big = np.isfinite(v) & (v > top)  # infinite values are reported above
        if big.any():
            problems.append(
                f"column {c!r} is above {top:g} at line(s) {_lines(big)} (values "
                f"{v[big].tolist()[:5]}); check the unit and the number"
            )
    if id_column is not None:
        ids = df[id_column]
        blank = blank_text(ids)
        if blank.any():
            problems.append(f"column {id_column!r} is blank at line(s) {_lines(blank)}")
        dup = (ids.duplicated() & ~blank).to_numpy()
        if dup.any():
            problems.append(
                f"repeated {id_column} values {ids[dup].astype(str).unique().tolist()[:10]} at "
                f"line(s) {_lines(dup)}"
            )
    for cc, limit in ((lon_column, 180.0), (lat_column, 90.0)):
        if cc is None:
            continue
        out = (nums[cc].abs() > limit).to_numpy()
        if out.any():
            problems.append(
                f"column {cc!r} is outside ±{limit:g} degrees at line(s) {_lines(out)} "
                f"(values {nums[cc][out].tolist()[:5]}); give WGS84 longitude/latitude, "
                "longitude first"
            )
    if problems:
        msg = f"{what}: " + "; ".join(problems)
        raise InputError(msg)


def jurisdiction_table_problems(
    table: pd.DataFrame, jurisdictions: pd.DataFrame, level: str, *, what: str
) -> list[str]:
    """Problems of a table of one row per jurisdiction of ``level`` (``jur_id`` column).

    Ids that are not units of ``level`` in the jurisdiction layer (a typo, another level,
    ``'A '`` or ``'a'`` for ``'A'``), and units of ``level`` without a row: their load
    would silently be 0, as a blank cell would (give 0 if they have none). Used by
    ``basingov validate`` and by the load stage.

    Examples
    --------
    >>> jur = pd.DataFrame({"jur_id": ["A", "B", "A1"], "level_name": ["c", "c", "p"]})
    >>> jurisdiction_table_problems(pd.DataFrame({"jur_id": ["A", "a"]}), jur, "c", what="t")
    ["t: jur_id ['a'] are not 'c' units of the boundaries (e.g. ['A', 'B']); use the jur_id values of the jurisdiction layer", "t: no row for 'c' unit(s) ['B']; give every unit of the level a row (load_kg_day 0 if it has none)"]
    """  # noqa: E501
    known = set(
        jurisdictions.loc[jurisdictions["level_name"].astype(str) == level, "jur_id"].astype(str)
    )
    given = set(table["jur_id"].astype(str)) if "jur_id" in table.columns else set()
    problems = []
    unknown = sorted(given - known)
    if unknown:
        problems.append(
            f"{what}: jur_id {unknown[:10]} are not {level!r} units of the boundaries "
            f"(e.g. {sorted(known)[:5]}); use the jur_id values of the jurisdiction layer"
        )
    absent = sorted(known - given)
    if absent:
        problems.append(
            f"{what}: no row for {level!r} unit(s) {absent[:10]}"
            f"{' and more' if len(absent) > 10 else ''}; give every unit of the level a row "
            "(load_kg_day 0 if it has none)"
        )
    return problems
