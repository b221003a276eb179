"""Governance metadata and published figures: cited data files, read and checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from basingov._checks import require_columns
from basingov.datasets import data_dir
from basingov.errors import InputError

__all__ = [
    "GOVERNANCE_COLUMNS",
    "GOVERNANCE_FIELDS",
    "PUBLISHED_COLUMNS",
    "default_governance_path",
    "default_published_path",
    "read_governance",
    "read_published",
]

#: Columns of ``data/governance/basins.csv``.
GOVERNANCE_COLUMNS = ["basin", "field", "value", "year", "source", "url"]
#: Allowed ``field`` values of the governance file.
GOVERNANCE_FIELDS = ("body", "instrument")
#: Columns of ``data/governance/published.csv``.
PUBLISHED_COLUMNS = ["basin", "indicator", "item", "value", "unit", "source", "url", "explanation"]


def default_governance_path() -> Path:
    """``data/governance/basins.csv`` of the shipped data.

    Examples
    --------
    >>> default_governance_path().name
    'basins.csv'
    """
    return data_dir() / "governance" / "basins.csv"


def default_published_path() -> Path:
    """``data/governance/published.csv`` of the shipped data.

    Examples
    --------
    >>> default_published_path().name
    'published.csv'
    """
    return data_dir() / "governance" / "published.csv"


def _read(path: Path, columns: list[str], what: str) -> pd.DataFrame:
    if not path.is_file():
        msg = f"{what} file {path} does not exist"
        raise InputError(msg)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    require_columns(df, columns, what=f"{what} file {path}")
    problems = []
    for c in ("basin", "source", "url"):
        blank = df.index[df[c].str.strip() == ""].tolist()
        if blank:
            problems.append(f"empty {c!r} in rows {[i + 2 for i in blank]}")
    if problems:
        msg = f"{what} file {path}: " + "; ".join(problems) + " (every row needs its source)"
        raise InputError(msg)
    return df


def read_governance(path: str | Path | None = None) -> pd.DataFrame:
    """Read the governance metadata (one cited fact per row).

    Parameters
    ----------
    path
        A CSV with :data:`GOVERNANCE_COLUMNS`; None reads the shipped
        ``data/governance/basins.csv``.

    Returns
    -------
    pandas.DataFrame
        ``year`` as an integer (``<NA>`` where empty).

    Raises
    ------
    InputError
        If a column is missing, a row has no source or URL, a ``field`` is not one of
        :data:`GOVERNANCE_FIELDS`, a year is not a whole number, or a basin has no body.

    Examples
    --------
    >>> g = read_governance()
    >>> int(g.query("basin == 'rhine' and field == 'body'")["year"].item())
    1950
    """
    p = Path(path) if path is not None else default_governance_path()
    df = _read(p, GOVERNANCE_COLUMNS, "governance")
    bad = sorted(set(df["field"]) - set(GOVERNANCE_FIELDS))
    if bad:
        msg = f"governance file {p}: field must be one of {list(GOVERNANCE_FIELDS)}, got {bad}"
        raise InputError(msg)
    years = pd.to_numeric(df["year"].replace("", np.nan), errors="coerce")
    wrong = df.loc[(df["year"] != "") & (years.isna() | (years % 1 != 0)), "year"].tolist()
    if wrong:
        msg = f"governance file {p}: year must be a whole number, got {wrong}"
        raise InputError(msg)
    df["year"] = years.astype("Int64")
    no_body = sorted(set(df["basin"]) - set(df.loc[df["field"] == "body", "basin"]))
    if no_body:
        msg = f"governance file {p}: basins {no_body} have no 'body' row"
        raise InputError(msg)
    return df


def read_published(path: str | Path | None = None) -> pd.DataFrame:
    """Read the published figures (one cited value per row).

    Parameters
    ----------
    path
        A CSV with :data:`PUBLISHED_COLUMNS`; None reads the shipped
        ``data/governance/published.csv``.

    Returns
    -------
    pandas.DataFrame
        ``value`` as float.

    Raises
    ------
    InputError
        If a column is missing, a row has no source or URL, a value is not a number, or
        a (basin, indicator, item) appears twice.

    Examples
    --------
    >>> p = read_published()
    >>> p.query("basin == 'tennessee' and indicator == 'main_stem_km'")["value"].item()
    1049.0
    """
    p = Path(path) if path is not None else default_published_path()
    df = _read(p, PUBLISHED_COLUMNS, "published figures")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = df.loc[values.isna(), "value"].tolist()
    if bad:
        msg = f"published figures file {p}: value must be a number, got {bad}"
        raise InputError(msg)
    df["value"] = values.astype(float)
    dup = df[df.duplicated(["basin", "indicator", "item"], keep=False)]
    if len(dup):
        keys = sorted(set(zip(dup["basin"], dup["indicator"], dup["item"], strict=True)))
        msg = f"published figures file {p}: duplicate (basin, indicator, item) rows {keys}"
        raise InputError(msg)
    return df
