"""Water-quality standards as versioned data tables, and classification against them.

Each standard is a CSV file shipped in ``basingov/monitoring/standards/`` and built by
``scripts/build_standards.py`` from the byte copies in ``data/monitoring/thresholds/``
(sources and sha256 in ``data/README.md``; the ``source`` column of every row repeats
them). One row holds a limit: ``parameter, unit, water_body, river_type, class, rank,
bound, limit, statistic``. A value belongs to a class when it satisfies every bound of
that class (``<=``, ``<``, ``>=``, ``>``); its class is the best (lowest rank) such
class, else the standard's ``worse_label``. A value equal to a ``<=`` limit therefore
belongs to the better class, as GB 3838 limits are "≤", and DO, whose bounds are
``>=``, is "higher is better".

Shipped:

- ``GB3838-2002``: China's surface-water standard, classes I-V and "worse than V", for
  DO, CODMn, COD, BOD5, NH3-N (also applied to basingov's NH4, ammonium as N, the same
  determinand), TP (river and lake limits) and TN (lakes and reservoirs only).
- ``OGewV-2016``: Germany's good-status values for river types (Anlage 7 no. 2.1.2);
  one class, "good", else "worse than good".

UK WFD and US EPA criteria are not shipped: no source for them is in ``data/``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from basingov._checks import check_choice
from basingov.errors import InputError

__all__ = [
    "WATER_BODIES",
    "Standard",
    "WaterBody",
    "available_standards",
    "class_rank",
    "classify",
    "classify_values",
    "exceedance_ratio",
    "get_standard",
]

WaterBody = Literal["river", "lake"]
#: Water bodies a standard may distinguish.
WATER_BODIES: tuple[str, ...] = get_args(WaterBody)

#: Relative tolerance of the limit comparisons, so that a value equal to a limit up to
#: floating-point noise (0.1 + 0.2 vs 0.3) counts as equal.
REL_TOL = 1e-9

_OPS = {
    "<=": lambda v, lim: v <= lim * (1 + REL_TOL) + 1e-300,
    "<": lambda v, lim: v < lim * (1 - REL_TOL),
    ">=": lambda v, lim: v >= lim * (1 - REL_TOL),
    ">": lambda v, lim: v > lim * (1 + REL_TOL),
}


@dataclass(frozen=True, eq=False)
class Standard:
    """One standard: its limit rows and class ladder.

    Attributes
    ----------
    name
        Its name, e.g. ``"GB3838-2002"``.
    table
        The limit rows (see the module docstring).
    classes
        Class labels, best first.
    worse_label
        The label of a value outside every class.
    """

    name: str
    table: pd.DataFrame
    classes: tuple[str, ...]
    worse_label: str

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label, best first, ending with :attr:`worse_label`."""
        return (*self.classes, self.worse_label)

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources named in the table."""
        return tuple(sorted(set(self.table["source"])))

    def check_target(self, target: str) -> None:
        """Raise if ``target`` is not one of :attr:`classes` (a target class to assess against).

        Raises
        ------
        InputError
            If it is not; the message lists the classes.
        """
        if target not in self.classes:
            msg = (
                f"target class {target!r} is not a class of {self.name}; "
                f"use one of {list(self.classes)}"
            )
            raise InputError(msg)

    def river_types(self) -> tuple[str, ...]:
        """Return the river-type groups with their own limits (empty when none)."""
        return tuple(t for t in dict.fromkeys(self.table["river_type"]) if t)

    def _resolve_type(self, river_type: str | None) -> str:
        types = self.river_types()
        if not types:
            return ""
        if river_type is None:
            msg = (
                f"{self.name} sets limits per river type; pass river_type= one of "
                f"{list(types)} (or a type number that appears in exactly one of them)"
            )
            raise InputError(msg)
        if river_type in types:
            return river_type
        hits = [t for t in types if river_type in [p.strip().split(" ")[0] for p in t.split(",")]]
        if len(hits) == 1:
            return hits[0]
        msg = (
            f"river_type {river_type!r} matches {len(hits)} river-type groups of {self.name}"
            f"{' (' + '; '.join(hits) + ')' if hits else ''}; pass one of {list(types)}"
        )
        raise InputError(msg)

    def rows(
        self, parameter: str, *, water_body: WaterBody = "river", river_type: str | None = None
    ) -> pd.DataFrame:
        """Return the limit rows for one parameter and water body.

        Raises
        ------
        InputError
            If the standard has no limit for the parameter in that water body.
        """
        check_choice(water_body, WATER_BODIES, name="water_body")
        rt = self._resolve_type(river_type)
        t = self.table
        # NumPy masks: the same rows as the pandas comparisons, without their overhead
        # (a run asks for the rows of each parameter several times)
        body = t["water_body"].to_numpy(dtype=object)
        sel = t[
            (t["parameter"].to_numpy(dtype=object) == parameter)
            & ((body == water_body) | (body == "all"))
            & (t["river_type"].to_numpy(dtype=object) == rt)
        ]
        if sel.empty:
            present = t[(t["parameter"] == parameter) & (t["river_type"] == rt)]
            if len(present):
                bodies = sorted(set(present["water_body"]))
                msg = (
                    f"{self.name} has no {water_body} limit for {parameter} (only for "
                    f"{bodies}); pass water_body={bodies[0]!r} for a lake or reservoir"
                )
            else:
                msg = (
                    f"{self.name} has no limit for {parameter!r}; it assesses "
                    f"{self.parameters(water_body=water_body, river_type=river_type)}"
                )
            raise InputError(msg)
        own = sel["water_body"].to_numpy(dtype=object) == water_body
        if own.any():
            sel = sel[own]
        return sel

    def parameters(
        self, *, water_body: WaterBody = "river", river_type: str | None = None
    ) -> list[str]:
        """Parameters the standard assesses in a water body."""
        check_choice(water_body, WATER_BODIES, name="water_body")
        rt = self._resolve_type(river_type)
        t = self.table
        sel = t[t["water_body"].isin([water_body, "all"]) & (t["river_type"] == rt)]
        return list(dict.fromkeys(sel["parameter"]))

    def statistic(
        self, parameter: str, *, water_body: WaterBody = "river", river_type: str | None = None
    ) -> str:
        """Return the period statistic the limits of a parameter apply to (mean, min or p10)."""
        rows = self.rows(parameter, water_body=water_body, river_type=river_type)
        return str(rows["statistic"].iloc[0])


def available_standards() -> list[str]:
    """Names of the shipped standards.

    Examples
    --------
    >>> available_standards()
    ['GB3838-2002', 'OGewV-2016']
    """
    files = resources.files("basingov.monitoring").joinpath("standards").iterdir()
    return sorted(f.name.removesuffix(".csv") for f in files if f.name.endswith(".csv"))


@functools.cache
def get_standard(name: str) -> Standard:
    """Load one shipped standard.

    Raises
    ------
    InputError
        If no standard has that name (the message lists them).

    Examples
    --------
    >>> get_standard("GB3838-2002").labels
    ('I', 'II', 'III', 'IV', 'V', 'worse than V')
    """
    names = available_standards()
    if name not in names:
        msg = f"unknown standard {name!r}; available standards are {names}"
        raise InputError(msg)
    path = resources.files("basingov.monitoring").joinpath("standards", f"{name}.csv")
    with resources.as_file(path) as p:
        table = pd.read_csv(
            p,
            dtype={"river_type": str, "note": str, "class": str},
            keep_default_na=False,
            na_values={"limit": [""]},
        )
    table["limit"] = table["limit"].astype(float)
    ladder = table.drop_duplicates("class").sort_values("rank")
    return Standard(
        name=name,
        table=table,
        classes=tuple(ladder["class"]),
        worse_label=str(table["worse_label"].iloc[0]),
    )


def classify_values(
    values: Any,
    parameter: str,
    *,
    standard: str = "GB3838-2002",
    water_body: WaterBody = "river",
    river_type: str | None = None,
) -> np.ndarray:
    """Class label of each value (vectorised :func:`classify`); NaN gives ``""``.

    Raises
    ------
    InputError
        As :func:`classify`.

    Examples
    --------
    >>> classify_values([0.1, 0.2, 0.25, np.nan], "TP").tolist()
    ['II', 'III', 'IV', '']
    """
    std = get_standard(standard)
    rows = std.rows(parameter, water_body=water_body, river_type=river_type)
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        neg = v < 0
    if neg.any():  # it would take the best class
        msg = (
            f"cannot classify {int(neg.sum())} negative {parameter} value(s) (e.g. "
            f"{float(v[neg].flat[0]):g}): a measured {parameter} is never below 0"
        )
        raise InputError(msg)
    out = np.full(v.shape, std.worse_label, dtype=object)
    done = np.isnan(v)
    out[done] = ""
    row_class = rows["class"].to_numpy(dtype=object)
    bounds = rows["bound"].to_numpy(dtype=object)
    limits = rows["limit"].to_numpy(dtype=np.float64)
    for cls in std.classes:  # best first
        at = np.flatnonzero(row_class == cls)
        if at.size == 0:
            continue
        ok = np.ones(v.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            for k in at:
                ok &= _OPS[bounds[k]](v, float(limits[k]))
        hit = ok & ~done
        out[hit] = cls
        done |= hit
    return out


def classify(
    value: float,
    parameter: str,
    *,
    standard: str = "GB3838-2002",
    water_body: WaterBody = "river",
    river_type: str | None = None,
) -> str:
    """Class of one value under a water-quality standard.

    Parameters
    ----------
    value
        Concentration in basingov's canonical unit (mg/L; N or P for the nutrients).
    parameter
        Canonical code, e.g. ``"NH3-N"``, ``"TP"``, ``"DO"``.
    standard
        A name of :func:`available_standards`.
    water_body
        ``"river"`` or ``"lake"``; GB 3838 has lake limits for TP and TN.
    river_type
        The river type, for standards with limits per type (OGewV 2016).

    Returns
    -------
    str
        ``"I"`` … ``"V"`` or ``"worse than V"`` for GB 3838 (``"good"`` or
        ``"worse than good"`` for OGewV). A value on a limit takes the better class.

    Raises
    ------
    InputError
        On an unknown standard or water body, a parameter the standard does not assess
        in that water body (e.g. TN in rivers under GB 3838), or a NaN or negative value.

    Examples
    --------
    >>> classify(0.5, "NH3-N")            # on the class II limit (<= 0.5)
    'II'
    >>> classify(0.51, "NH3-N")
    'III'
    >>> classify(5.0, "DO"), classify(4.99, "DO"), classify(1.9, "DO")
    ('III', 'IV', 'worse than V')
    >>> classify(0.05, "TP", water_body="lake"), classify(0.05, "TP")
    ('III', 'II')
    >>> classify(0.08, "TP", standard="OGewV-2016", river_type="10")
    'good'
    """
    v = float(value)
    if np.isnan(v):
        msg = f"cannot classify a NaN {parameter} value"
        raise InputError(msg)
    out = classify_values(
        [v], parameter, standard=standard, water_body=water_body, river_type=river_type
    )
    return str(out[0])


def class_rank(label: str, *, standard: str = "GB3838-2002") -> int:
    """Rank of a class label: 1 for the best class, ``len(classes) + 1`` for worse.

    Raises
    ------
    InputError
        If the label is not one of the standard's.

    Examples
    --------
    >>> class_rank("III"), class_rank("worse than V")
    (3, 6)
    """
    labels = get_standard(standard).labels
    if label not in labels:
        msg = f"{label!r} is not a class of {standard}; its classes are {list(labels)}"
        raise InputError(msg)
    return labels.index(label) + 1


def exceedance_ratio(
    value: Any,
    parameter: str,
    *,
    target: str = "III",
    standard: str = "GB3838-2002",
    water_body: WaterBody = "river",
    river_type: str | None = None,
) -> np.ndarray:
    r"""How far values are from the limit of a target class; above 1 means it is missed.

    For a "lower is better" limit :math:`L` this is :math:`C/L`; for a "higher is better"
    one (DO) it is :math:`L/C`. A two-sided limit (a pH range) gives NaN.

    Examples
    --------
    >>> exceedance_ratio([0.3, 1.5], "NH3-N").tolist()       # class III: <= 1.0
    [0.3, 1.5]
    >>> exceedance_ratio([2.5], "DO").tolist()               # class III: >= 5
    [2.0]
    """
    std = get_standard(standard)
    rows = std.rows(parameter, water_body=water_body, river_type=river_type)
    std.check_target(target)
    r = rows[rows["class"] == target]
    v = np.asarray(value, dtype=np.float64)
    if len(r) != 1:
        return np.full(v.shape, np.nan)
    bound, lim = str(r["bound"].iloc[0]), float(r["limit"].iloc[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return v / lim if bound in ("<=", "<") else lim / v
