"""Checks a run makes after loading the config and boundaries, before any long work.

:func:`basingov.config.load_config` checks each value on its own and
:func:`basingov.datasets.load_basin` checks the boundary layers; what needs both, or the
load stage's vocabulary, is checked here, so that a bad ``[loads]`` or ``[spillover]``
value stops the run in its first second rather than after the network and overlay.
"""

from __future__ import annotations

from typing import Any

from basingov import loads
from basingov._checks import raise_problems
from basingov._validate import LayerReport, missing_file
from basingov.datasets import load_basin
from basingov.errors import BasingovError, ConfigError
from basingov.loads import diffuse
from basingov.loads.build import makes_sewage, sewage_removal
from basingov.monitoring.assess import standard_problems
from basingov.spillover import MC_MEMORY_BYTES

__all__ = ["MONTE_CARLO_MEMORY_BYTES", "preflight", "preflight_report"]

#: Largest memory the values of the Monte Carlo runs may take
#: (:data:`basingov.spillover.MC_MEMORY_BYTES`).
MONTE_CARLO_MEMORY_BYTES = MC_MEMORY_BYTES


def preflight(basin: Any) -> None:
    """Raise one :class:`~basingov.errors.ConfigError` listing what would fail later.

    Parameters
    ----------
    basin
        A loaded :class:`basingov.datasets.Basin`.

    Raises
    ------
    ConfigError
        For an unknown load parameter or coefficient, a load source or monitoring file
        that does not exist, an export-coefficient table without rows for
        ``[loads] export_region`` or the parameter, a ``[loads] deposition_region`` without
        rows in the deposition table, a treatment-plant table or treatment removal the
        sewage loads would refuse (:func:`basingov.loads.build.sewage_removal`), Monte
        Carlo runs that would not fit in memory, or an unknown water-quality standard or
        target class.

    Examples
    --------
    >>> from basingov.datasets import load_basin
    >>> preflight(load_basin("thames"))
    """
    cfg = basin.config
    problems: list[str] = []
    ld = cfg.loads
    if ld.sources:
        try:
            loads.emitted_per_capita_g_day(ld.parameter, coefficients=ld.coefficients)
        except BasingovError as exc:
            problems.append(f"[loads]: {exc}")
        for kind in ("population_raster", "point_sources", "jurisdiction_table"):
            if kind in ld.sources:
                problems += missing_file("loads", kind, getattr(ld, kind))
        if "landcover" in ld.sources:  # the region and parameter of the coefficient table
            try:
                table = diffuse.read_export_table(ld.export_coefficients)
                diffuse.export_coefficients(ld.parameter, region=ld.export_region, table=table)
            except BasingovError as exc:
                problems.append(f"[loads].export_region: {exc}")
        if "deposition" in ld.sources:  # the shipped deposition table
            try:
                diffuse.deposition_rate(ld.parameter, region=ld.deposition_region)
            except BasingovError as exc:
                problems.append(f"[loads].deposition_region: {exc}")
        if makes_sewage(ld):  # the plant tables and the removal per treatment country
            try:
                sewage_removal(basin)
            except BasingovError as exc:
                problems.append(f"[loads] treatment removal: {exc}")
        runs = cfg.spillover.monte_carlo_runs
        if runs > 0:
            # each run stores at least the diagonal of every level (its units and the
            # "outside" unit); the exact count of pairs, known once the network is
            # routed, is checked by the spillover stage (check_samples_memory)
            counts = basin.jurisdictions["level_name"].value_counts()
            least = int((counts + 1).sum()) if len(counts) else 1
            need = runs * least * 8
            if need > MONTE_CARLO_MEMORY_BYTES:
                most = max(1, MONTE_CARLO_MEMORY_BYTES // (least * 8))
                problems.append(
                    f"[spillover].monte_carlo_runs = {runs} would need at least "
                    f"{need / 1024**3:.1f} GiB ({least:,} units over the levels; each run "
                    "stores a value per unit and per origin-receptor pair the network "
                    f"connects, runs x pairs x 8 bytes); at most {most:,} runs fit "
                    f"in {MONTE_CARLO_MEMORY_BYTES / 1024**3:.0f} GiB"
                )
    mon = cfg.monitoring
    if mon.stations is not None and mon.observations is not None:  # the stage runs
        for key in ("stations", "observations", "proxy_locations"):
            problems += missing_file("monitoring", key, getattr(mon, key))
    problems += standard_problems(mon)  # the monitoring stage comes late
    raise_problems(problems, f"Invalid basin config {cfg.source}", error=ConfigError)


def preflight_report(cfg: Any) -> tuple[Any, Any]:
    """Return what :func:`preflight` finds as a ``basingov validate`` report, with the basin.

    ``basingov validate`` adds the report when the inputs themselves are fine, so that
    validate flags what a run would refuse in its first second.

    Returns
    -------
    (LayerReport or None, Basin or None)
        ``(None, basin)`` when the basin loads and passes (the loaded
        :class:`basingov.datasets.Basin`, for validate's further checks), else the report
        and None.

    Examples
    --------
    >>> from basingov.config import load_config
    >>> from basingov.datasets import get_path
    >>> preflight_report(load_config(get_path("taihu")))[0] is None
    True
    """
    try:
        basin = load_basin(cfg.source)
        preflight(basin)
    except BasingovError as exc:
        rep = LayerReport(what="checks a run makes first", path=cfg.source, problems=[str(exc)])
        return rep, None
    return None, basin
