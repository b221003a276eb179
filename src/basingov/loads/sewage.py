r"""Domestic sewage with treatment removal per country and census-rescaled population.

The emitted load of a person living in jurisdiction :math:`j` of country :math:`n` is

.. math:: e_j = c_{raw}\, (1 - r_n)\, f_j

with :math:`c_{raw}` the raw per-capita load (:data:`basingov.loads.PER_CAPITA_G_DAY`),
:math:`r_n` the treatment removal of the country (:func:`treatment_removal`) and
:math:`f_j` the census factor of the jurisdiction (:func:`census_factors`): census
population over the population the grid puts in it.

Treatment removal, in order of preference (column ``removal_status``):

- ``measured``: a country whose plants report incoming and discharged loads in EEA
  Waterbase UWWTD v6: :math:`r = 1 - \sum D / \sum I` over its active plants;
- ``derived``: a country with plants but no reported loads (France, the Netherlands,
  Austria, Great Britain): the population-equivalent share :math:`s` of its plants with
  the relevant treatment stage (N removal for TN, P removal for TP, secondary treatment
  otherwise) times the pooled removal of reporting plants with and without that stage,
  :math:`r = s\,r_1 + (1 - s)\,r_0`;
- ``published`` / ``derived`` from ``basingov/loads/data/treatment_removal.csv`` (China,
  the United States), each row with its source;
- ``assumed``: the pooled removal of every reporting plant, for a country with neither;
  one :class:`~basingov.errors.BasingovWarning` per call names these countries.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from basingov._checks import check_choice, require_columns, require_projected
from basingov._tables import blank_text, check_table, read_table
from basingov.errors import BasingovWarning, InputError
from basingov.loads.population import _cut

logger = logging.getLogger(__name__)
__all__ = [
    "UWWTD_LOAD_COLUMNS",
    "UWWTD_STAGE_COLUMNS",
    "apply_sewage_factors",
    "census_factors",
    "read_census",
    "read_plants",
    "treatment_removal",
]


#: UWWTD v6 columns of the incoming and discharged load (t/year) of each parameter.
UWWTD_LOAD_COLUMNS: dict[str, tuple[str, str]] = {
    "TN": ("uwwNIncoming", "uwwNDischarge"),
    "TP": ("uwwPIncoming", "uwwPDischarge"),
    "COD": ("uwwCODIncoming", "uwwCODDischarge"),
    "BOD5": ("uwwBODIncoming", "uwwBODDischarge"),
}
#: UWWTD v6 flag of the treatment stage that removes each parameter.
UWWTD_STAGE_COLUMNS: dict[str, str] = {
    "TN": "uwwNRemoval",
    "TP": "uwwPRemoval",
    "COD": "uwwSecondaryTreatment",
    "BOD5": "uwwSecondaryTreatment",
}


#: UWWTD v6 columns of numbers >= 0 (t/year, population equivalents); blank: not reported.
_PLANT_NUMBERS: tuple[str, ...] = (
    "uwwLoadEnteringUWWTP",
    *(c for pair in UWWTD_LOAD_COLUMNS.values() for c in pair),
)
#: UWWTD v6 treatment-stage flags: 1 the plant has the stage, 0 not; blank: not reported.
_PLANT_FLAGS: tuple[str, ...] = tuple(dict.fromkeys(UWWTD_STAGE_COLUMNS.values()))
#: The code columns of a plant table: the codes each may hold, whether a cell may be blank
#: and what the message says the codes mean. ``uwwState`` 2, held by 137 German plants of
#: the shipped Rhine table, is UWWTD v6's third state: not active, as 0.
_PLANT_CODES: dict[str, tuple[tuple[int, ...], bool, str]] = {
    **dict.fromkeys(_PLANT_FLAGS, ((0, 1), True, "must be a flag, 0 or 1 (blank: not reported)")),
    "uwwState": (
        (0, 1, 2),
        False,
        "must be 1 for an active plant, 0 (or UWWTD's 2) for one that is not, never blank",
    ),
    "in_basin": ((0, 1), False, "must be 1 for a plant in the basin, 0 otherwise, never blank"),
}


def _plant_codes(f: pd.DataFrame, what: str, columns: Sequence[str]) -> pd.DataFrame:
    """Return ``f`` with its code ``columns`` as numbers ("1" is 1); refuse a code not allowed.

    A code written as text compared unequal to 1, and one such as "yes" or "active" was
    neither 0 nor 1: a stage flag counted as "without the stage" (the stage share of a
    country, silently wrong) and a plant state or ``in_basin`` left the plant out.
    """
    problems = []
    codes = {}
    for c in (c for c in columns if c in f.columns):
        allowed, blank_ok, rule = _PLANT_CODES[c]
        col = f[c]
        blank = pd.Series(blank_text(col), index=col.index)
        v = pd.to_numeric(col.where(~blank), errors="coerce")
        bad = (~v.isin(allowed) & ~(blank & blank_ok)).to_numpy()
        if bad.any():
            problems.append(
                f"column {c!r} {rule}; bad at line(s) "
                f"{(np.flatnonzero(bad) + 2)[:10].tolist()} (values {col[bad].tolist()[:5]})"
            )
        codes[c] = v
    if problems:
        raise InputError(f"{what}: " + "; ".join(problems))
    return f.assign(**codes)


def _active_plants(
    f: pd.DataFrame, what: str, *, columns: Sequence[str] = tuple(_PLANT_CODES)
) -> pd.DataFrame:
    """Check the code ``columns`` of plant table ``f``; keep its active plants in the basin.

    That is ``uwwState`` 1 and ``in_basin`` 1, each where ``f`` has the column (and
    ``columns`` names it).

    Raises
    ------
    InputError
        If a code is not one :data:`_PLANT_CODES` allows; the message names ``what`` (the
        file), the column, the lines and values, and the codes to write.
    """
    f = _plant_codes(f, what, columns)
    for c in ("uwwState", "in_basin"):
        if c in columns and c in f.columns:
            f = f[f[c] == 1]
    return f


def read_plants(paths: Sequence[str | Path] | pd.DataFrame) -> pd.DataFrame:
    """Read UWWTD v6 plant tables (active plants; ``in_basin == 1`` where that column exists).

    Raises
    ------
    InputError
        If a file cannot be read or lacks ``rptMStateKey`` / ``uwwLoadEnteringUWWTP``, its
        p.e. or incoming/discharged loads hold text, infinite or negative values, or a
        treatment-stage flag (``uwwNRemoval``, ``uwwPRemoval``, ``uwwSecondaryTreatment``)
        is not 0 or 1 (blank cells are "not reported"), ``uwwState`` is not 1 (active),
        0 or 2 (not active) or ``in_basin`` not 1 or 0 (blank, "yes" or "active" left the
        plant out); codes written as text, "1", are read as numbers.
    """
    if isinstance(paths, pd.DataFrame):
        named = [(paths, "the treatment-plant table")]
    else:
        named = [
            (read_table(p, what="treatment-plant table"), f"treatment-plant table {p}")
            for p in paths
        ]
    out = []
    for f, what in named:
        require_columns(
            f,
            ("rptMStateKey", "uwwLoadEnteringUWWTP"),
            what="treatment-plant table",
            hint="expected the UWWTD v6 layout",
        )
        # before the rows are selected, so that the lines are the file's; text ("1,234.5")
        # or a negative load silently dropped a plant or shifted its country's removal
        nums = [c for c in _PLANT_NUMBERS if c in f.columns]
        if len(f):  # a header alone: no plant
            check_table(f, what=what, numeric=nums, nonnegative=nums, blank_ok=nums)
        out.append(_active_plants(f, what))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _packaged_removal() -> pd.DataFrame:
    p = Path(str(resources.files("basingov.loads") / "data" / "treatment_removal.csv"))
    return pd.read_csv(p, dtype={"country": str, "parameter": str})


def _check_removal(removal: pd.Series, *, what: str, fix: str) -> pd.Series:
    """Return ``removal`` as numbers; refuse one that is not a share in [0, 1] (NaN, text).

    ``removal`` is indexed by what to name in the message (countries, or country and
    parameter); ``fix`` says how to correct it.
    """
    r = pd.to_numeric(removal, errors="coerce")
    bad = ~((r >= 0) & (r <= 1)).to_numpy()
    if bad.any():
        keys = [list(k) if isinstance(k, tuple) else k for k in removal.index[bad][:10]]
        vals = [
            round(float(x), 4) if np.isfinite(x) else v
            for v, x in zip(removal[bad][:10], r[bad][:10], strict=True)
        ]
        msg = f"{what}: removal must be a share in [0, 1]; bad for {keys}: {vals}; {fix}"
        raise InputError(msg)
    return r


def _checked_removal_table(table: pd.DataFrame) -> pd.DataFrame:
    """Refuse a removal table with missing columns, bad removals or two rows for one key."""
    need = ["country", "parameter", "removal", "status", "source", "url"]
    require_columns(table, need, what="the treatment-removal table", hint=f"it needs {need}")
    r = _check_removal(
        pd.Series(
            table["removal"].to_numpy(),
            index=pd.MultiIndex.from_frame(table[["country", "parameter"]]),
        ),
        what="treatment-removal table",
        fix="write a share, e.g. 0.823 for 82.3 %",
    )
    dup = table.duplicated(["country", "parameter"], keep=False)
    if dup.any():
        msg = (
            f"treatment-removal table: several rows for country and parameter "
            f"{table.loc[dup, ['country', 'parameter']].drop_duplicates().head(10).values.tolist()}"
            "; keep one row each"
        )
        raise InputError(msg)
    return table.assign(removal=r.to_numpy())


def treatment_removal(
    parameter: str,
    countries: Sequence[str],
    *,
    plants: pd.DataFrame | None = None,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Treatment removal per country, with how it was obtained and its source.

    Parameters
    ----------
    parameter
        ``TN``, ``TP``, ``COD`` or ``BOD5``.
    countries
        Country codes to report (ISO 3166 alpha-2 as in UWWTD ``rptMStateKey``; ``GB``
        for the United Kingdom).
    plants
        Active UWWTD v6 plants (:func:`read_plants`), or None.
    table
        Sourced removal table (default ``basingov/loads/data/treatment_removal.csv``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``country``: ``removal, removal_status, removal_source, n_plants,
        pe_share_stage``.

    Raises
    ------
    InputError
        If a country has no value at all (no plants, no table row and no reporting plant
        to pool), ``table`` lacks a column, has a removal outside [0, 1] or two rows for
        one country and parameter, ``plants`` lacks ``rptMStateKey``, or the removal
        the plants give a country is outside [0, 1] (they discharge more than they take
        in).

    Warns
    -----
    BasingovWarning
        Once per call, naming the countries that take the pooled removal of all reporting
        plants (``removal_status`` ``assumed``: no plants of their own, no table row) and
        that removal; also logged.

    Examples
    --------
    >>> r = treatment_removal("TN", ["CN"])
    >>> float(r.loc["CN", "removal"]), str(r.loc["CN", "removal_status"])
    (0.655, 'published')
    """
    check_choice(parameter, UWWTD_LOAD_COLUMNS, name="parameter")
    inc_c, dis_c = UWWTD_LOAD_COLUMNS[parameter]
    stage_c = UWWTD_STAGE_COLUMNS[parameter]
    tab = _packaged_removal() if table is None else _checked_removal_table(table)
    tab = tab[tab["parameter"] == parameter].set_index("country")
    if plants is not None and len(plants):
        require_columns(
            plants,
            ["rptMStateKey"],
            what="the treatment-plant table",
            hint="read it with read_plants",
        )
    rep = pd.DataFrame()
    r1 = r0 = pooled = np.nan
    if plants is not None and len(plants) and inc_c in plants.columns and dis_c in plants.columns:
        inc = pd.to_numeric(plants[inc_c], errors="coerce")
        dis = pd.to_numeric(plants[dis_c], errors="coerce")
        rep = plants[(inc > 0) & dis.notna()].assign(_inc=inc, _dis=dis)
        if len(rep):
            pooled = 1.0 - rep["_dis"].sum() / rep["_inc"].sum()
            if stage_c in rep.columns:  # 1 also when written as text ("1")
                st = pd.to_numeric(rep[stage_c], errors="coerce") == 1
                if st.any() and (~st).any():
                    r1 = 1.0 - rep.loc[st, "_dis"].sum() / rep.loc[st, "_inc"].sum()
                    r0 = 1.0 - rep.loc[~st, "_dis"].sum() / rep.loc[~st, "_inc"].sum()
    rows = {}
    took_pooled: list[str] = []
    for c in countries:
        mine = rep[rep["rptMStateKey"] == c] if len(rep) else rep
        allp = plants[plants["rptMStateKey"] == c] if plants is not None and len(plants) else None
        if len(mine):
            r = 1.0 - mine["_dis"].sum() / mine["_inc"].sum()
            src = f"EEA Waterbase UWWTD v6: 1 - discharged/incoming over {len(mine)} plants"
            rows[c] = (r, "measured", src, len(mine), np.nan)
        elif allp is not None and len(allp) and np.isfinite(r1) and stage_c in allp.columns:
            pe = pd.to_numeric(allp["uwwLoadEnteringUWWTP"], errors="coerce").fillna(0.0)
            on = pd.to_numeric(allp[stage_c], errors="coerce") == 1
            s = float(pe[on].sum() / pe.sum()) if pe.sum() > 0 else 0.0
            r = s * r1 + (1 - s) * r0
            rows[c] = (r, "derived", f"UWWTD v6: {len(allp)} plants without reported loads; "
                       f"p.e. share {s:.2f} with {stage_c} x pooled removal {r1:.3f} of "
                       f"reporting plants with it, {r0:.3f} without", len(allp), s)  # fmt: skip
        elif c in tab.index:
            row = tab.loc[c]
            rows[c] = (float(cast(float, row["removal"])), str(row["status"]),
                       f"{row['source']} ({row['url']})", 0, np.nan)  # fmt: skip
        elif np.isfinite(pooled):
            rows[c] = (pooled, "assumed", f"no plant data or published value for {c}: pooled "
                       f"removal of all {len(rep)} reporting UWWTD plants", 0, np.nan)  # fmt: skip
            took_pooled.append(c)
        else:
            msg = (
                f"no treatment removal for country {c!r} and parameter {parameter}: give UWWTD "
                "plants ([loads] treatment_plants) or add a row to treatment_removal.csv"
            )
            raise InputError(msg)
    out = pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["removal", "removal_status", "removal_source", "n_plants", "pe_share_stage"],
    )
    out.index.name = "country"
    # the table's rows are checked above; a removal from the plants is 1 - discharged /
    # incoming, below 0 where they discharge more than they take in (swapped columns)
    _check_removal(
        out["removal"],
        what=f"treatment removal of {parameter} from the plants",
        fix=f"the plants discharge more {parameter} than they take in, or a negative amount: "
        f"check that {inc_c} and {dis_c} hold the incoming and discharged loads (t/year) "
        "and are not swapped, or set [loads.coefficients] treatment_removal",
    )
    if took_pooled:
        names = ", ".join(dict.fromkeys(took_pooled))
        msg = (
            f"no treatment removal of {parameter} from UWWTD plants or the removal table for "
            f"{names}: the pooled removal {pooled:.3f} of all {len(rep)} reporting UWWTD "
            "plants is used (removal_status 'assumed'); give their plants ([loads] "
            "treatment_plants) or add rows to treatment_removal.csv"
        )
        warnings.warn(msg, BasingovWarning, stacklevel=2)
        logger.info(msg)
    return out


def read_census(path: str | Path, *, id_column: str, value_column: str) -> pd.Series:
    """Census population per jurisdiction id from a CSV table.

    Raises
    ------
    InputError
        If the file cannot be read, lacks a column, has no positive value, a value that is
        not a number, or several different values for one unit.
    """
    t = read_table(
        path,
        what="census table",
        dtype={id_column: str},
        required_columns=(id_column, value_column),
        hint="set [loads] census_id_column and census_value_column to columns of the table",
    )
    v = pd.to_numeric(t[value_column], errors="coerce")
    text = v.isna() & t[value_column].notna()
    if text.any():
        msg = (
            f"census table {path}: column {value_column!r} holds values that are not numbers "
            f"in row(s) {[int(i) + 2 for i in t.index[text][:10]]} (file line numbers): "
            f"{t.loc[text, value_column].head(5).tolist()}; write plain numbers (no thousands "
            "separators) and leave a missing count blank"
        )
        raise InputError(msg)
    s = pd.Series(v.to_numpy(), index=t[id_column].astype(str).str.strip().to_numpy())
    s = s[s > 0]
    if s.empty:
        msg = f"census table {path}: column {value_column!r} has no positive population"
        raise InputError(msg)
    twice = s.groupby(level=0).nunique() > 1
    if twice.any():
        msg = (
            f"census table {path}: unit(s) {twice.index[twice][:10].tolist()} have several "
            f"different {value_column!r} values; keep one row per unit (a table of several "
            "years or groups: set census_value_column to one year's column)"
        )
        raise InputError(msg)
    return s[~s.index.duplicated()]


def census_factors(
    grid_people: pd.Series,
    census: pd.Series,
    jurisdictions: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    *,
    level: str,
    whole_units: bool | Sequence[str] = False,
    outline_tolerance_m: float = 250.0,
    partial_share: float = 0.02,
) -> pd.DataFrame:
    r"""Census rescaling factor per jurisdiction of one level.

    For a unit wholly inside the basin the factor is :math:`f_j = C_j / G_j` (census over
    grid population), so the unit holds its census population, spread as the grid spreads
    it. A unit cut by the basin outline has a census count for its whole area but grid
    people only for its part inside, so its ratio says nothing; it keeps the grid
    (factor 1, ``factor_status = "not rescaled: cut by the basin outline"``). Pooling the
    ratio of whole units onto cut ones was tried and rejected: at 0.5° the grid smears
    towns over their rural surroundings, so whole (often urban) units have ratios above 1
    and rural edge units below 1. A unit counts as cut when more than ``partial_share`` of
    its outline lies within ``outline_tolerance_m`` of the basin outline, unless
    ``whole_units`` says the basin is a union of whole units (True), or lists the ids of the
    units known to lie wholly in it (the others are then never rescaled: a derived basin
    made of some whole units and some parts, like the Taihu county composite).

    Parameters
    ----------
    grid_people
        People the grid puts in each unit (index ``jur_id``).
    census
        Census population (index ``jur_id``).
    jurisdictions
        Jurisdictions (projected CRS of the basin) with ``jur_id, level_name, parent_id``.
    basin
        Basin polygon.
    level
        Level name of the census units.
    whole_units, outline_tolerance_m, partial_share
        See above.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``jur_id``: ``grid_people, census_people, whole, factor, factor_status``
        (``census`` for whole units; otherwise why the grid is kept).

    Raises
    ------
    InputError
        If the level has no jurisdictions, a census count is negative or infinite,
        ``partial_share`` is not in [0, 1] or ``outline_tolerance_m`` is not a finite
        distance >= 0.
    CRSError
        If ``whole_units`` is False and ``jurisdictions`` have no CRS or a geographic one.

    Warns
    -----
    BasingovWarning
        Naming units of the level without census value.
    """
    # a share given as a percentage (2 for 2 %) counted every cut unit as whole, and a
    # negative or NaN tolerance left the outline unseen: cut units rescaled, silently
    if not 0 <= partial_share <= 1:
        msg = f"partial_share must be a share in [0, 1] (0.02 for 2 %), got {partial_share}"
        raise InputError(msg)
    if not 0 <= outline_tolerance_m < np.inf:
        msg = f"outline_tolerance_m must be a distance >= 0 in metres, got {outline_tolerance_m}"
        raise InputError(msg)
    j = jurisdictions[jurisdictions["level_name"].astype(str) == level]
    if j.empty:
        msg = f"census level {level!r} has no jurisdictions"
        raise InputError(msg)
    ids = j["jur_id"].astype(str).to_numpy()
    parent = pd.Series(j["parent_id"].fillna("").astype(str).to_numpy(), index=ids)
    if not isinstance(whole_units, bool):
        whole = np.isin(ids, np.asarray(list(whole_units), dtype=str))
    elif whole_units:
        whole = np.ones(ids.size, dtype=bool)
    else:  # the outline tolerance is in metres
        require_projected(j, what="the jurisdictions (census_factors measures in metres)")
        outline = basin.to_crs(j.crs).union_all().boundary
        ring = shapely.buffer(outline, outline_tolerance_m)
        bnd = shapely.boundary(j.geometry.to_numpy())
        # length of each outline near the basin's: 0 where it does not meet the ring
        shapely.prepare(ring)
        meets = shapely.intersects(ring, bnd)
        on = np.zeros(bnd.size)
        on[meets] = shapely.length(_cut(bnd[meets], ring))
        whole = on <= partial_share * np.maximum(shapely.length(bnd), 1e-9)
    g = grid_people.reindex(ids).fillna(0.0).to_numpy(dtype=float)
    c = census.reindex(ids).to_numpy(dtype=float)
    bad = ~(np.isnan(c) | ((c >= 0) & np.isfinite(c)))  # a negative count: a negative factor
    if bad.any():
        msg = (
            f"census population must be a finite number >= 0; bad for {level} unit(s) "
            f"{ids[bad][:10].tolist()}: {c[bad][:10].tolist()}; give NaN (or no entry) for a "
            "unit without a count (read_census drops counts <= 0)"
        )
        raise InputError(msg)
    missing = ids[np.isnan(c)]
    if missing.size:
        warnings.warn(
            f"{missing.size} {level} unit(s) have no census value (e.g. {missing[:5].tolist()}); "
            "their grid population is kept",
            BasingovWarning,
            stacklevel=2,
        )
    out = pd.DataFrame(
        {"grid_people": g, "census_people": c, "whole": whole, "parent_id": parent.to_numpy()},
        index=pd.Index(ids, name="jur_id"),
    )
    ok = out["whole"] & out["census_people"].notna() & (out["grid_people"] > 0)
    out["factor"] = np.where(ok, out["census_people"] / out["grid_people"].where(ok, 1.0), np.nan)
    out["factor_status"] = np.where(
        ok,
        "census",
        np.where(
            ~out["whole"],
            "not rescaled: cut by the basin outline",
            "not rescaled: no census value or no grid people",
        ),
    )
    out["factor"] = out["factor"].fillna(1.0)
    return out.drop(columns="parent_id")


def apply_sewage_factors(
    raw: pd.DataFrame,
    *,
    removal: pd.DataFrame,
    country_of: Mapping[str, str] | str,
    country_level: str | None,
    factors: pd.DataFrame | None = None,
    census_level: str | None = None,
) -> pd.DataFrame:
    """Turn raw per-person loads on pieces into emitted loads (census factor x treatment).

    Parameters
    ----------
    raw
        Output of :func:`basingov.loads.population_loads` with ``treatment_removal = 0``
        and ``jurisdictions`` (rows with ``population, load_kg_day, origin_<level>``).
    removal
        :func:`treatment_removal` output indexed by country (which warned of the countries
        taking the pooled removal; their ``removal_status`` ``assumed`` is copied here).
    country_of
        A country code for the whole basin, or a mapping jur_id -> country code of the
        jurisdictions of ``country_level``.
    country_level
        Level whose ``origin_<level>`` gives the country (None: use ``country_of`` as a
        code).
    factors, census_level
        :func:`census_factors` output and its level (None: no rescaling).

    Returns
    -------
    pandas.DataFrame
        ``raw`` with ``population`` rescaled and ``load_kg_day`` emitted, plus
        ``population_grid, census_factor, census_status, country, treatment_removal,
        removal_status``.

    Raises
    ------
    InputError
        If a country has no removal in ``removal`` or several rows, a removal is not a
        share in [0, 1], or ``raw`` lacks the ``origin_<level>`` column of ``census_level`` or
        ``country_level``.

    Examples
    --------
    >>> raw = pd.DataFrame({"piece_id": [1], "population": [100.0], "load_kg_day": [1.0]})
    >>> rem = pd.DataFrame({"removal": [0.75], "removal_status": ["measured"]},
    ...     index=pd.Index(["DE"], name="country"))
    >>> apply_sewage_factors(raw, removal=rem, country_of="DE", country_level=None)[
    ...     "load_kg_day"].item()
    0.25
    """
    out = raw.copy()
    n = len(out)
    f = np.ones(n)
    status = np.full(n, "not rescaled: no census", dtype=object)
    if factors is not None and census_level is not None:
        col = f"origin_{census_level}"
        if col not in out.columns:
            msg = (
                f"the raw sewage table has no {col} column; pass jurisdictions to population_loads"
            )
            raise InputError(msg)
        key = out[col].fillna("").astype(str).to_numpy()
        f = factors["factor"].reindex(key).fillna(1.0).to_numpy(dtype=float)
        status = (
            factors["factor_status"]
            .reindex(key)
            .fillna(f"not rescaled: outside every {census_level} unit")
            .to_numpy(dtype=object)
        )
    if isinstance(country_of, str):
        country = np.full(n, country_of, dtype=object)
    else:
        col = f"origin_{country_level}"
        if col not in out.columns:
            msg = f"the raw sewage table has no {col} column for the treatment country"
            raise InputError(msg)
        cmap = pd.Series(dict(country_of))
        country = cmap.reindex(out[col].fillna("").astype(str).to_numpy()).to_numpy(dtype=object)
    shares = _check_removal(
        removal["removal"],
        what="the removal table of apply_sewage_factors",
        fix="write a share, e.g. 0.823 for 82.3 % (as treatment_removal returns it)",
    )
    twice = removal.index[removal.index.duplicated()]
    if len(twice):  # pandas cannot reindex on it (a raw ValueError)
        msg = (
            f"the removal table of apply_sewage_factors: several rows for country/countries "
            f"{sorted({str(c) for c in twice})[:10]}; keep one row per country (as "
            "treatment_removal returns it)"
        )
        raise InputError(msg)
    rem = shares.reindex(country).to_numpy(dtype=float)
    rstat = removal["removal_status"].reindex(country).to_numpy(dtype=object)
    if np.isnan(rem).any():
        bad = sorted({str(c) for c in country[np.isnan(rem)]})
        msg = f"no treatment removal for country/countries {bad}"
        raise InputError(msg)
    out["population_grid"] = out["population"].to_numpy(dtype=float)
    out["census_factor"] = f
    out["census_status"] = status
    out["population"] = out["population_grid"] * f
    out["country"] = country
    out["treatment_removal"] = rem
    out["removal_status"] = rstat
    out["load_kg_day"] = out["load_kg_day"].to_numpy(dtype=float) * f * (1.0 - rem)
    return out
