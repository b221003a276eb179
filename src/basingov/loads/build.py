"""A basin's generated loads from its config: every source, treatment, census, calibration.

:func:`basin_loads` is what :func:`basingov.pipeline.run` calls for the ``loads`` stage. It
returns the load table routed by the spillover stage plus the tables that explain it:

- ``loads_by_source``: generated load per jurisdiction, level and source kind;
- ``treatment_removal``: removal per country with its status and source;
- ``census_factors``: census over grid population per unit of the census level;
- ``calibration`` and ``calibration_stations``: fitted coefficients with standard errors,
  observed vs predicted per station (:mod:`basingov.loads.calibration`).

Every row of the load table says how its number was obtained: ``load_status`` is
``modelled (prior coefficients)`` or ``modelled (calibrated coefficients)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from basingov import loads
from basingov._tables import (
    JURISDICTION_TABLE_CHECKS,
    check_table,
    jurisdiction_table_problems,
    read_table,
)
from basingov.errors import InputError
from basingov.loads import diffuse, sewage
from basingov.spillover import DecayModel, decay_model_from_config

if TYPE_CHECKING:
    from basingov.monitoring import MonitoringResult

__all__ = ["BasinLoads", "basin_loads"]


@dataclass(frozen=True, eq=False, kw_only=True)
class BasinLoads:
    """Generated loads of a basin and the tables that explain them.

    Attributes
    ----------
    table
        The load table (``load_kg_day, load_source``, location, ``origin_<level>``).
    tables
        Extra output tables by name.
    summary
        ``loads`` and ``calibration`` blocks of ``summary.json``.
    calibration
        The :class:`basingov.loads.calibration.CalibrationResult`.
    decay
        The decay model the spillover stage routes these loads with: the basin config's
        (:func:`basingov.spillover.decay_model_from_config`) with the calibrated river
        rates when the calibration fitted and applied them.
    """

    table: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    calibration: Any = None
    decay: DecayModel | None = None


def _file(ld: Any, key: str, kind: str) -> Path:
    path = getattr(ld, key)
    if path is None:  # load_config rejects this; kept for configs built in code
        msg = f"[loads].sources lists {kind!r} but [loads].{key} gives no file"
        raise InputError(msg)
    return Path(path)


def _jurisdiction_table(path: Path, basin: Any, level: str) -> pd.DataFrame:
    """Read ``[loads].jurisdiction_table``, checked, with ids known at ``level``."""
    what = f"[loads].jurisdiction_table {path.name}"
    table = read_table(path, what="[loads].jurisdiction_table", dtype={"jur_id": str})
    check_table(table, what=what, **JURISDICTION_TABLE_CHECKS)
    # ids known at the level, a row for every unit (the checks `basingov validate` makes)
    problems = jurisdiction_table_problems(table, basin.jurisdictions, level, what=what)
    if problems:
        raise InputError("; ".join(problems))
    return table


def makes_sewage(ld: Any) -> bool:
    """Return True when ``[loads]`` makes sewage loads: people with treatment per country.

    That is ``population_raster`` among the sources and ``treatment_level`` or
    ``treatment_country`` given; without them the population loads use the per-capita
    emission alone.
    """
    return "population_raster" in ld.sources and (
        ld.treatment_level is not None or bool(ld.treatment_country)
    )


def sewage_removal(basin: Any) -> tuple[Any, pd.DataFrame]:
    """Return the treatment countries of a basin's sewage loads and their removal.

    The countries are the ids of ``[loads] treatment_level`` (country codes) or
    ``treatment_country``; their removal is ``[loads.coefficients] treatment_removal``
    if given, else :func:`basingov.loads.sewage.treatment_removal` of the plants of
    ``treatment_plants`` (read with :func:`basingov.loads.sewage.read_plants`, also when
    the coefficient is given). The sewage loads use them, and the run's preflight
    (``basingov run``, ``basingov validate``) checks them before the work.

    Returns
    -------
    country_of, removal
        The ``country_of`` and ``removal`` arguments of
        :func:`basingov.loads.sewage.apply_sewage_factors`. A :class:`~basingov.Basin`
        keeps them (``basin.derived``): a second call returns the same objects.

    Raises
    ------
    InputError
        If a plant table or the removal is refused (:func:`~basingov.loads.sewage.read_plants`,
        :func:`~basingov.loads.sewage.treatment_removal`) or neither key is given.
    """
    kept = getattr(basin, "derived", None)  # a Basin keeps it from the preflight
    if kept is not None and "sewage_removal" in kept:
        return kept["sewage_removal"]
    ld = basin.config.loads
    if ld.treatment_level is not None:
        j = basin.jurisdictions
        codes = j.loc[j["level_name"] == ld.treatment_level, "jur_id"].astype(str).tolist()
        country_of: Any = {c: c for c in codes}
        countries = codes
    else:
        country_of = ld.treatment_country or ""
        countries = [country_of]
        if not country_of:
            msg = "[loads] needs treatment_level or treatment_country for per-country removal"
            raise InputError(msg)
    plants = sewage.read_plants(list(ld.treatment_plants)) if ld.treatment_plants else None
    if "treatment_removal" in ld.coefficients:  # an explicit override wins
        rem = pd.DataFrame(
            {
                "removal": float(ld.coefficients["treatment_removal"]),
                "removal_status": "assumed",
                "removal_source": "[loads.coefficients] treatment_removal in the basin config",
                "n_plants": 0,
                "pe_share_stage": np.nan,
            },
            index=pd.Index(countries, name="country"),
        )
    else:
        rem = sewage.treatment_removal(ld.parameter, countries, plants=plants)
    out = (country_of, rem)
    if kept is not None:
        kept["sewage_removal"] = out
    return out


def _sewage(basin: Any, pieces: Any, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cfg = basin.config
    ld = cfg.loads
    coeff = dict(ld.coefficients)
    coeff["treatment_removal"] = 0.0
    raw = loads.population_loads(
        pieces,
        _file(ld, "population_raster", "population_raster"),
        parameter=ld.parameter,
        band=ld.population_band,
        basin=basin.basin,
        coefficients=coeff,
        jurisdictions=basin.jurisdictions,
    )
    factors = None
    if ld.census is not None and ld.census_level is not None:
        census = sewage.read_census(
            ld.census, id_column=ld.census_id_column, value_column=ld.census_value_column
        )
        grid = raw.groupby(raw[f"origin_{ld.census_level}"].fillna("").astype(str))[
            "population"
        ].sum()
        jur = basin.jurisdictions.to_crs(cfg.basin.crs)
        factors = sewage.census_factors(
            grid,
            census,
            jur,
            basin.basin,
            level=ld.census_level,
            whole_units=ld.census_whole_unit_ids or ld.census_whole_units,
        )
        tables["census_factors"] = factors.reset_index()
    country_of, rem = sewage_removal(basin)
    tables["treatment_removal"] = rem.reset_index().assign(parameter=ld.parameter)
    return sewage.apply_sewage_factors(
        raw,
        removal=rem,
        country_of=country_of,
        country_level=ld.treatment_level,
        factors=factors,
        census_level=ld.census_level if factors is not None else None,
    )


@dataclass(frozen=True, eq=False)
class _Inputs:
    """What the loaders of :data:`_LOADERS` read: the basin, its network and pieces."""

    basin: Any
    net: Any
    pieces: Any
    tables: dict[str, pd.DataFrame]
    station_loads: pd.DataFrame | None

    @property
    def ld(self) -> Any:
        return self.basin.config.loads


def _population(x: _Inputs) -> pd.DataFrame:
    ld = x.ld
    if makes_sewage(ld):
        return _sewage(x.basin, x.pieces, x.tables)
    return loads.population_loads(
        x.pieces,
        _file(ld, "population_raster", "population_raster"),
        parameter=ld.parameter,
        band=ld.population_band,
        basin=x.basin.basin,
        coefficients=ld.coefficients,
        jurisdictions=x.basin.jurisdictions,
    )


def _point_sources(x: _Inputs) -> pd.DataFrame:
    ld = x.ld
    return loads.point_source_loads(
        x.net.reaches,
        _file(ld, "point_sources", "point_sources"),
        parameter=ld.parameter,
        tolerance_m=ld.point_tolerance_m,
        coefficients=ld.coefficients,
    )


def _by_jurisdiction(x: _Inputs) -> pd.DataFrame:
    ld = x.ld
    level = ld.jurisdiction_level or x.basin.config.boundaries.levels[-1]
    path = _file(ld, "jurisdiction_table", "jurisdiction_table")
    return loads.jurisdiction_loads(
        x.pieces,
        _jurisdiction_table(path, x.basin, level),
        level=level,
        by=ld.distribute_by,  # checked by load_config
        reaches=x.net.reaches,
    )


def _diffuse(
    x: _Inputs,
    kind: str,
    loads_of: Callable[..., pd.DataFrame],
    region: str,
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the loads of one diffuse kind, read from ``[loads].landcover_raster``.

    ``table`` None: the shipped coefficient table of that kind.
    """
    return loads_of(
        x.pieces,
        _file(x.ld, "landcover_raster", kind),
        parameter=x.ld.parameter,
        region=region,
        table=table,
        basin=x.basin.basin,
        jurisdictions=x.basin.jurisdictions,
    )


def _landcover(x: _Inputs) -> pd.DataFrame:
    table = diffuse.read_export_table(x.ld.export_coefficients)
    return _diffuse(x, "landcover", diffuse.landcover_loads, x.ld.export_region, table)


def _deposition(x: _Inputs) -> pd.DataFrame:
    return _diffuse(x, "deposition", diffuse.deposition_loads, x.ld.deposition_region)


def _monitoring(x: _Inputs) -> pd.DataFrame:
    # incremental loads C.Q between stations (the monitoring stage's mass balance)
    if x.station_loads is None:
        msg = (
            "[loads].sources: 'monitoring' needs the [monitoring] stations and observations "
            "files (the loads are the incremental loads C.Q between stations); add them "
            "or use another source"
        )
        raise InputError(msg)
    return x.station_loads


#: Source kind of ``[loads].sources`` -> its loader, in :data:`basingov.loads.SOURCES` order.
_LOADERS: dict[str, Callable[[_Inputs], pd.DataFrame]] = {
    "population_raster": _population,
    "point_sources": _point_sources,
    "jurisdiction_table": _by_jurisdiction,
    "monitoring": _monitoring,
    "landcover": _landcover,
    "deposition": _deposition,
}


def _prior_loads(
    basin: Any,
    net: Any,
    pieces: Any,
    tables: dict[str, pd.DataFrame],
    station_loads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    x = _Inputs(basin=basin, net=net, pieces=pieces, tables=tables, station_loads=station_loads)
    unknown = [k for k in x.ld.sources if k not in _LOADERS]
    if unknown:  # load_config rejects these; kept for configs built in code
        msg = f"[loads].sources: unknown kind(s) {unknown}; use some of {list(_LOADERS)}"
        raise InputError(msg)
    parts = [p for p in (_LOADERS[k](x) for k in x.ld.sources) if len(p)]
    if not parts:
        msg = "[loads].sources produced no load at all"
        raise InputError(msg)
    return pd.concat(parts, ignore_index=True)


def _calibrate(basin: Any, net: Any, prior: pd.DataFrame, decay: Any, monitoring: Any) -> Any:
    # deferred: calibration imports scipy.optimize (about half a second to import), which
    # `basingov --help` (it imports the pipeline) must not pay
    from basingov.loads import calibration as cal

    cfg = basin.config
    kinds = sorted(prior["load_source"].astype(str).unique())
    sec = cfg.calibration
    if sec is None:
        return cal.uncalibrated("no [calibration] section in the basin config", kinds)
    if not sec.enabled:
        return cal.uncalibrated(
            sec.reason,
            kinds,
            transferred=sec.transfer_multipliers,
            transfer_source=sec.transfer_source,
        )
    if monitoring is None:
        return cal.uncalibrated(
            "no monitoring stage ([monitoring] stations/observations) to calibrate on", kinds
        )
    param = sec.observed_parameter or cfg.loads.parameter
    stations = cal.station_load_table(
        net,
        monitoring.stations,
        monitoring.observations,
        parameter=param,
        flow=sec.flow,  # checked by load_config
        station_loads=monitoring.mass_balance.calibration_observations(param),
        min_samples=sec.min_samples,
        location_status=sec.location_status,
        station_filter=sec.station_filter or None,
        max_snap_distance_m=sec.snap_tolerance_m,
        area_column=cfg.monitoring.area_column,
    )
    if stations.empty:
        return cal.uncalibrated(f"no station with {param} loads snapped to the network", kinds)
    try:
        return cal.calibrate(
            net,
            prior,
            stations,
            fit_sources=sec.fit_sources,
            fit_decay=sec.fit_decay,
            decay=decay,
            cross_validation=sec.cross_validation,  # checked by load_config
            note=sec.note,
        )
    except InputError as exc:
        return cal.uncalibrated(f"calibration not possible: {exc}", kinds)


def basin_loads(
    basin: Any,
    net: Any,
    pieces: Any,
    *,
    station_loads: pd.DataFrame | None = None,
    monitoring: MonitoringResult | None = None,
) -> BasinLoads:
    """Build, calibrate and explain a basin's generated loads.

    Parameters
    ----------
    basin
        :class:`basingov.datasets.Basin`.
    net
        The network of the run.
    pieces
        The overlay's piece table.
    station_loads
        Incremental loads between stations from the monitoring stage (the ``monitoring``
        source of ``[loads] sources``), or None.
    monitoring
        The monitoring stage's result: its snapped stations and mass-balance loads are the
        calibration's observations. None: the basin is reported uncalibrated.

    Returns
    -------
    BasinLoads

    Raises
    ------
    InputError
        If a configured source cannot be built.
    """
    cfg = basin.config
    tables: dict[str, pd.DataFrame] = {}
    prior = _prior_loads(basin, net, pieces, tables, station_loads)
    base_decay = decay_model_from_config(cfg)
    result = _calibrate(basin, net, prior, base_decay, monitoring)
    table = prior.copy()
    table["load_kg_day_prior"] = table["load_kg_day"].to_numpy(dtype=float)
    mult = result.multipliers
    apply = result.status == "calibrated" and (cfg.calibration is None or cfg.calibration.apply)
    transferred = bool(result.skill.get("transferred_multipliers"))
    m = table["load_source"].astype(str).map(mult).fillna(1.0).to_numpy(dtype=float)
    if apply or transferred:
        table["load_kg_day"] = table["load_kg_day_prior"] * m
    table["coefficient_multiplier"] = m if apply or transferred else 1.0
    decay = result.fitted_decay(base_decay) if apply else base_decay
    table["load_status"] = (
        "modelled (calibrated coefficients)"
        if apply
        else "modelled (coefficients transferred from another basin's calibration)"
        if transferred
        else "modelled (prior coefficients)"
    )
    levels = list(cfg.boundaries.levels)
    tables["loads_by_source"] = diffuse.loads_by_source(table, pieces, levels)
    if not result.coefficients.empty:
        tables["calibration"] = result.coefficients.assign(
            load_parameter=cfg.loads.parameter, calibration_status=result.status
        )
    if not result.stations.empty:
        tables["calibration_stations"] = result.stations.drop(columns="position")
    by_kind = table.groupby("load_source")["load_kg_day"].sum()
    total = float(by_kind.sum())
    summary = {
        "loads": {
            "parameter": cfg.loads.parameter,
            "generated_kg_day": total,
            "by_source_kg_day": {str(k): float(v) for k, v in by_kind.items()},
            "by_source_share": {str(k): float(v) / total for k, v in by_kind.items()}
            if total
            else {},
            "status": table["load_status"].iloc[0],
            "explained_share_at_stations": (
                result.skill.get("fit", {}).get("explained_share")
                if result.status == "calibrated"
                else None
            ),
            "explained_share_at_stations_prior": (
                result.skill.get("prior", {}).get("explained_share")
                if result.status == "calibrated"
                else None
            ),
        },
        "calibration": {
            **dict(result.skill),
            "multipliers": result.multipliers,
            "decay_per_day": result.decay_per_day,
            "applied_to_loads": bool(apply),
            "note": "" if cfg.calibration is None else cfg.calibration.note,
        },
    }
    summary["calibration"]["decay_applied_to_spillover"] = decay is not base_decay
    return BasinLoads(table=table, tables=tables, summary=summary, calibration=result, decay=decay)
