"""Orchestration: validate a basin config and run every stage, writing the output contract."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from tqdm.auto import tqdm

from basingov import (
    __version__,
    dependency,
    governance,
    maps,
    monitoring,
    overlay,
    scale,
    spillover,
)
from basingov._outdir import check_output_dir, clean, signals_deferred, temporaries
from basingov._preflight import preflight, preflight_report
from basingov._runtime import computing
from basingov._validate import GAUGE_REPORT, LayerReport, gauge_fit_notes, validate_config_inputs
from basingov._values import check_file_name
from basingov.config import load_config
from basingov.datasets import Basin, load_basin, resolve_config
from basingov.dependency import DependencyResult
from basingov.errors import BasingovError, BasingovWarning, ConfigError, InputError
from basingov.governance import GovernanceResult
from basingov.io import atomic_dir, sha256, write_csv, write_gpkg, write_json
from basingov.loads.build import BasinLoads, basin_loads
from basingov.monitoring import MonitoringResult
from basingov.network import RiverNetwork
from basingov.network.assemble import assemble_network, regionalise_to_gauges
from basingov.overlay import OverlayResult
from basingov.spillover import SpilloverResult

__all__ = ["Results", "run", "run_many", "validate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Results:
    """Everything one basin run produced.

    Attributes
    ----------
    basin
        The loaded inputs (config, basin polygon, jurisdictions).
    network
        The river network the run used.
    overlay
        Pieces, piece graph, crossings, boundary reaches and unit shares.
    dependency
        Jurisdiction graphs and indicators per level.
    monitoring
        Stations, border sections, classes and trends, or None when the basin's
        ``[monitoring]`` gives no stations and observations.
    loads
        The generated loads with their breakdowns and calibration, or None when the
        basin's ``[loads]`` lists no source.
    spillover
        Routing results and the source-receptor matrices, or None when the basin's
        ``[loads]`` lists no source.
    governance
        Compensation transfers and settlement, the River Chief table and priorities.
    tables
        Output tables by name (``unit_shares``, ``crossings``, ``dependency``, ...).
    layers
        Output GeoPackage layers by name.
    summary
        The run summary written to ``summary.json``.
    out_dir
        Where the outputs were written, or None.
    """

    basin: Basin
    network: RiverNetwork
    overlay: OverlayResult
    dependency: DependencyResult
    monitoring: MonitoringResult | None
    loads: BasinLoads | None
    spillover: SpilloverResult | None
    governance: GovernanceResult
    tables: dict[str, pd.DataFrame]
    layers: dict[str, gpd.GeoDataFrame]
    summary: dict[str, object]
    out_dir: Path | None = None


class _Timer:
    """Time the pipeline stages, log them, and drive an optional progress bar."""

    def __init__(self, *, progress: bool = False, label: str = "") -> None:
        self.timings: dict[str, float] = {}
        self.bar = tqdm(
            total=len(_STAGES), desc=label, unit="stage", disable=not progress, leave=False
        )

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        logger.info("stage %s ...", name)
        self.bar.set_postfix_str(name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 3)
        self.bar.update(1)
        logger.info("stage %s done in %.2f s", name, self.timings[name])

    def close(self) -> None:
        """Remove the progress bar."""
        self.bar.close()


#: Pipeline stages in order (``monitoring`` runs when ``[monitoring]`` gives its tables,
#: ``loads`` and ``spillover`` when ``[loads]`` lists sources).
_STAGES = (
    "load", "network", "overlay", "dependency", "monitoring", "loads", "spillover",
    "governance", "write",
)  # fmt: skip


@contextlib.contextmanager
def _recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record warnings raised in the block, log them, then re-issue them to the caller.

    The run log and ``summary.json`` thus keep every warning (e.g. disconnected network
    pieces), while the caller's own warning filters still apply afterwards.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
    for w in caught:
        logger.info("warning (%s): %s", w.category.__name__, w.message)
    _reissue(caught)


def _reissue(caught: list[warnings.WarningMessage]) -> None:
    """Issue recorded warnings again, where they were first issued."""
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def validate(name_or_config: str | Path) -> list[LayerReport]:
    """Check every input of a basin and return one report per layer.

    When every input passes, also what a run checks before its work (a report of its
    own if that fails) and, for a basin with gauges, the runoff fit on the network as a
    run builds it: the gauge report then notes which gauges the fit uses and which it
    leaves out, and why (:func:`basingov._validate.gauge_fit_notes`).

    Parameters
    ----------
    name_or_config
        A shipped basin name or a path to a TOML config.

    Returns
    -------
    list of LayerReport

    Examples
    --------
    >>> reports = validate("thames")
    >>> all(r.ok for r in reports)
    True
    """
    cfg = load_config(resolve_config(name_or_config))
    reports = validate_config_inputs(cfg)
    if not all(r.ok for r in reports):
        return reports
    extra, basin = preflight_report(cfg)  # what a run checks before its work
    if extra is not None:
        return [*reports, extra]
    gauges = [r for r in reports if r.what == GAUGE_REPORT]
    if gauges:  # which gauges the run's fit leaves out
        gauge_fit_notes(gauges[0], cfg, basin.basin)
    return reports


@dataclass(frozen=True, kw_only=True)
class _Scale:
    """How a partitioned run spreads its work (None in ``_analyse``: one process)."""

    eng: scale.Engine
    partitions: int
    spatial_min_reaches: int


def _analyse(basin: Basin, timer: _Timer, sc: _Scale | None = None) -> Results:
    cfg = basin.config
    with timer.stage("network"):
        net = assemble_network(cfg, basin.basin)
        net, discharge_check = regionalise_to_gauges(cfg, net)
    levels = list(cfg.boundaries.levels)
    with timer.stage("overlay"):
        if sc is None or sc.eng.whole:
            # a basin of run all on a cluster with no worker to spare runs whole
            # (scale.worker_engine): the same tables without the cost of the split
            ov = overlay.overlay_network(net, basin.jurisdictions, basin.basin, levels=levels)
        else:
            ov = scale.overlay_partitioned(
                net,
                basin.jurisdictions,
                basin.basin,
                levels=levels,
                eng=sc.eng,
                partitions=sc.partitions,
                spatial_min_reaches=sc.spatial_min_reaches,
            )
    with timer.stage("dependency"):
        dep = dependency.analyse(ov, basin.jurisdictions)
    tables: dict[str, pd.DataFrame] = {"dependency": dep.table}
    if discharge_check is not None:
        tables["discharge_check"] = discharge_check
    layers: dict[str, gpd.GeoDataFrame] = {"dependency_edges": dep.edges}
    tables["unit_shares"] = ov.unit_shares
    crossings = ov.crossings
    tables["crossings"] = pd.DataFrame(crossings.drop(columns="geometry"))
    layers["reaches"] = net.reaches
    # shared_<level> and shared_name_<level> (pieces on the exact border of two units) fed
    # the boundary stretches, which stretch_<level> records: working columns, not written
    shared = [c for c in ov.pieces.columns if c.startswith(overlay.SHARED_PREFIX)]
    layers["pieces"] = ov.pieces.drop(columns=shared)
    layers["jurisdictions"] = basin.jurisdictions
    layers["basin"] = basin.basin
    layers["crossings"] = crossings
    layers["boundary_reaches"] = ov.boundary_reaches
    layers["boundary_crossings"] = ov.boundary_crossings
    layers["boundary_stretches"] = ov.boundary_stretches
    mon: MonitoringResult | None = None
    if _has_monitoring(basin):
        with timer.stage("monitoring"):
            mon = monitoring.assess(basin, net, ov)
        tables.update(mon.tables())
        layers["stations"] = mon.stations
        layers["sections"] = mon.sections
    sp: SpilloverResult | None = None
    bl: BasinLoads | None = None
    if cfg.loads.sources:
        with timer.stage("loads"):
            station_loads = (
                mon.mass_balance.load_table(cfg.loads.parameter)
                if mon is not None and "monitoring" in cfg.loads.sources
                else None
            )
            with contextlib.nullcontext() if sc is None else scale.spread_loads(sc.eng):
                bl = basin_loads(basin, net, ov.pieces, station_loads=station_loads, monitoring=mon)
            load_table = bl.table
        with timer.stage("spillover"):
            decay = bl.decay or spillover.decay_model_from_config(cfg)
            sp = spillover.spillover_tables(
                net,
                ov.piece_graph,
                load_table,
                level_names=levels,
                decay=decay,
                monte_carlo_runs=cfg.spillover.monte_carlo_runs,
                seed=cfg.spillover.seed,
            )
        tables["loads"] = load_table
        tables.update(bl.tables)
        tables["spillover_matrix"] = sp.matrix_long
        tables["crossing_flux"] = sp.crossing_flux
        tables["spillover_indicators"] = sp.indicators.reset_index()
        tables["load_balance"] = sp.balance.reset_index()
        if len(sp.bands):
            tables["spillover_bands"] = sp.bands
        tables["marginal_benefit"] = _marginal_benefit(sp, levels)
        lakes = spillover.lake_table(net, decay)
        if len(lakes):
            tables["lakes"] = lakes
        reach_loads = sp.reach_loads
        if "reach_id" in reach_loads.columns:
            layers["reaches"] = net.reaches.merge(
                reach_loads.drop(columns=[c for c in ("geometry",) if c in reach_loads]),
                on="reach_id",
                how="left",
            )
    with timer.stage("governance"):
        gov = governance.governance_stage(
            basin,
            net,
            ov,
            spillover=sp,
            sections=mon.crossing_sections() if mon is not None else None,
        )
    tables.update(gov.tables)
    layers.update(gov.layers)
    return Results(
        basin=basin,
        network=net,
        overlay=ov,
        dependency=dep,
        monitoring=mon,
        loads=bl,
        spillover=sp,
        governance=gov,
        tables=tables,
        layers=layers,
        summary={},
    )


#: Load cut (percent of each origin's generated load) of the marginal-benefit table.
MARGINAL_CUT_PCT = 10.0


def _marginal_benefit(sp: SpilloverResult, levels: list[str]) -> pd.DataFrame:
    """Long table: load avoided in each receptor if an origin cuts its load by 10 %."""
    rows = []
    for lv in levels:
        mb = sp.marginal_benefit(lv, cut_pct=MARGINAL_CUT_PCT)
        long = mb.stack().rename("avoided_kg_day").reset_index()  # type: ignore[call-overload]
        long.columns = ["origin", "receptor", "avoided_kg_day"]
        long.insert(2, "level_name", lv)
        long.insert(3, "cut_pct", MARGINAL_CUT_PCT)
        rows.append(long[long["avoided_kg_day"] > 0])
    return pd.concat(rows, ignore_index=True)


def _has_monitoring(basin: Basin) -> bool:
    mon = basin.config.monitoring
    return mon.stations is not None and mon.observations is not None


def _summary(basin: Basin, res: Results, timings: dict[str, float]) -> dict[str, object]:
    cfg = basin.config
    net = res.network
    shares = res.tables["unit_shares"]
    top_level = cfg.boundaries.levels[0]
    top = shares[shares["level"] == 0] if "level" in shares else shares
    key: dict[str, Any] = {
        "basin_area_km2": float(basin.basin.geometry.area.sum() / 1e6),
        "published_area_km2": cfg.basin.area_km2_published,
        f"jurisdictions_{top_level}_with_1pct": sorted(
            top.loc[top["share"] >= 0.01, "jur_id"].astype(str).tolist()
        ),
        "crossings_per_level": {
            str(k): int(v) for k, v in res.tables["crossings"]["level"].value_counts().items()
        },
    }
    if "spillover_matrix" in res.tables:
        m = res.tables["spillover_matrix"]
        m = m[m["level_name"] == top_level]
        generated = float(res.tables["loads"]["load_kg_day"].sum())
        cross = m.loc[m["origin"].astype(str) != m["receptor"].astype(str), "load_kg_day"].sum()
        ind = res.tables["spillover_indicators"]
        ind = ind[ind["level_name"] == top_level]
        key["load_parameter"] = cfg.loads.parameter
        key["generated_load_kg_day"] = generated
        # a fraction in [0, 1]: the load that crosses at least one border of the level
        # (measured where it first crosses), over the load generated (spillover.indicators)
        away = ind["exported_first"].sum()
        key[f"transboundary_share_{top_level}"] = float(away) / generated if generated else None
        # the gross figure: sum over o != r of S[o, r] / generated, every border crossed
        # counted each time (so it exceeds 1 on long chains); not a share
        key[f"border_crossing_load_ratio_{top_level}"] = (
            float(cross) / generated if generated else None
        )
        sp = res.spillover
        if sp is not None:
            # decay classes and lake settling velocities used, with their sources
            key["decay"] = {
                k: v
                for k, v in sp.parameters.items()
                if k.startswith(("parameter", "decay_classes", "lake_settling"))
            }
        if "lakes" in res.tables:
            lk = res.tables["lakes"]
            key["lakes"] = {
                str(r["lake_name"]): {
                    "retention": float(r["retention"]),
                    "residence_days": float(r["residence_days"]),
                    "volume_source": str(r["volume_source"]),
                }
                for _, r in lk.iterrows()
            }
        key[f"net_spillover_balance_{top_level}_kg_day"] = {
            str(j): float(v) for j, v in zip(ind["jur_id"], ind["net_balance"], strict=True)
        }
    extra: dict[str, object] = dict(res.loads.summary) if res.loads is not None else {}
    if "discharge_check" in res.tables:
        d = res.tables["discharge_check"]
        extra["discharge"] = {
            "regionalised_to_gauges": int(d["modelled_m3s"].notna().sum()),
            "gauges": {
                str(r["gauge_id"]): {
                    "observed_m3s": float(r["observed_m3s"]),
                    "uniform_runoff_m3s": float(r["uniform_m3s"]),
                    "regionalised_m3s": float(r["modelled_m3s"]),
                    "held_out_m3s": float(r["heldout_m3s"]),
                }
                for r in d.dropna(subset=["modelled_m3s"]).to_dict("records")
            },
        }
    if res.monitoring is not None:
        # DESIGN 2.11: share of crossing sections with a water-quality station, per level
        key["monitoring_gap"] = {
            lv: v["share_with_station"] for lv, v in res.monitoring.monitoring_gap.items()
        }
    return {
        **extra,
        "basin": cfg.basin.name,
        "title": cfg.basin.title,
        "config": str(cfg.source),
        "basingov_version": __version__,
        "crs": cfg.basin.crs,
        "network": {
            "key": cfg.network.key,
            "builder": cfg.network.builder,
            "derived": bool(cfg.network.derived),
            "description": cfg.network.description,
            "source": net.source,
        },
        "inputs": [{"path": str(p), "sha256": sha256(p)} for p in cfg.input_paths() if p.is_file()],
        "counts": {
            "reaches": int(net.n),
            "jurisdictions": {
                lv: int((basin.jurisdictions["level_name"] == lv).sum())
                for lv in cfg.boundaries.levels
            },
            "crossings": len(res.layers["crossings"]),
            "boundary_reaches": len(res.layers["boundary_reaches"]),
            "boundary_stretches": len(res.layers["boundary_stretches"]),
            "dependency_edges": len(res.layers["dependency_edges"]),
        },
        "key_indicators": key,
        "decisions": (
            governance.summary_block(res.governance) if res.governance is not None else None
        ),
        **({"monitoring": res.monitoring.summary()} if res.monitoring is not None else {}),
        "timings_s": timings,
        "governance": {
            "body": cfg.basin.governance_body,
            "instruments": list(cfg.basin.governance_instruments),
            "source": cfg.basin.governance_source,
        },
    }


def _write(res: Results, out: Path, eng: scale.Engine | None = None) -> None:
    # a Basin built in code skips load_config: the name becomes a file name, check it here too
    name = check_file_name(res.basin.name, where="the basin name")
    # indicators joined onto the GIS layers, real types for empty layers, QGIS styles
    layers = maps.gis_layers(res.layers, res.tables)
    write_gpkg(layers, out / f"{name}.gpkg", geometry_types=maps.LAYER_GEOMETRY_TYPES)
    maps.write_layer_styles(out / f"{name}.gpkg", layers)
    write_json(res.summary, out / "summary.json")
    tables = out / "tables"
    tables.mkdir()
    # the map is built from the GeoPackage and the tables it reads (written first) by
    # Engine.task: on a cluster a worker builds it while this process writes the other
    # tables; in one process (no engine, or "synchronous") it is built here when asked
    # for, after them. This process writes map.html, so a failure anywhere leaves nothing
    # behind (the folder is temporary)
    eng = eng or scale.Engine("synchronous", 1)
    first = [t for t in res.tables if t in maps.MAP_TABLES]
    for tname in first:
        write_csv(res.tables[tname], tables / f"{tname}.csv")
    with eng.task(maps.run_map_page, str(out), list(res.tables), first) as page:
        if eng.distributed:
            logger.info("map of %s on a dask worker; writing the other tables", name)
        for tname, df in res.tables.items():
            if tname not in first:
                write_csv(df, tables / f"{tname}.csv")
        if eng.distributed:
            logger.info("tables written; waiting for the map")
        built = page()
    if built is not None and eng.distributed:
        logger.info("basin map %s built on a dask worker: %s", name, built[1])
    maps.write_run_map(out, page=None if built is None else built[0])


def run(
    name_or_config: str | Path,
    *,
    out_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    partitions: int | None = None,
    scheduler: str | None = None,
    spatial_min_reaches: int = scale.DEFAULT_SPATIAL_MIN_REACHES,
) -> Results:
    """Run the whole pipeline for one basin and write the output contract.

    Outputs are built in a temporary folder beside ``out_dir`` and renamed into place
    only when every stage succeeded, so a failed run leaves no partial output. The run
    log is written to ``out_dir/run.log``.

    With ``partitions`` or ``scheduler`` the run is spread over dask.distributed
    (:mod:`basingov.scale`): the overlay runs as one task per sub-basin (or, for a reach
    layer of ``spatial_min_reaches`` reaches or more, per spatial partition made by
    dask-geopandas) and the loads' raster-cell geometry in blocks; everything is
    stitched back so that every output table is identical to the single-process run.

    Parameters
    ----------
    name_or_config
        A shipped basin name or a path to a TOML config.
    out_dir
        Output folder; None computes the results without writing them.
    overwrite
        Replace an existing ``out_dir``.
    progress
        Show progress bars (the CLI turns them on).
    partitions
        Number of sub-basins the overlay is split into (default: one per worker thread
        when ``scheduler`` is given, else no split: a plain single-process run).
    scheduler
        ``"local"`` (a :class:`distributed.LocalCluster`, the default when
        ``partitions`` is given), ``"synchronous"`` (the partitioned run in this
        process), or the address of a running dask scheduler (``tcp://host:8786``).
    spatial_min_reaches
        Reach layers this large are partitioned in space by dask-geopandas instead of
        by sub-basin (:data:`basingov.scale.DEFAULT_SPATIAL_MIN_REACHES`).

    Returns
    -------
    Results

    Raises
    ------
    OutputExistsError
        If ``out_dir`` exists and ``overwrite`` is false, or holds files basingov did not
        write (checked before any work, and again before the rename).
    OutputLockedError
        If another run is writing ``out_dir``.
    OutputError
        If ``out_dir`` is unusable (the current folder, a file, below a file, not writable).
    InputError
        If an input is invalid, ``partitions`` is not a whole number >= 1, or the
        scheduler is not an accepted value or cannot be reached.
    EngineError
        If a local dask cluster (``scheduler="local"``) cannot start its workers.

    Examples
    --------
    Without ``out_dir`` the results are computed and returned, nothing is written:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # e.g. stations the network does not reach
    ...     res = run("taihu")
    >>> res.out_dir is None, res.summary["counts"]["crossings"]
    (True, 138)
    >>> res.tables["unit_shares"].query("level_name == 'province'")["share"].sum().round(6)
    np.float64(1.0)
    """
    _check_scale_options(partitions, scheduler, spatial_min_reaches)
    if out_dir is not None:
        check_output_dir(out_dir, overwrite=overwrite)
    resolve_config(name_or_config)  # an unknown basin or a missing config: before any bar
    label = Path(str(name_or_config)).stem
    if partitions is None and scheduler is None:
        timer = _Timer(progress=progress, label=label)
        try:
            return _run(name_or_config, timer, out_dir=out_dir, overwrite=overwrite)
        finally:
            timer.close()
    # the engine first: an unreachable scheduler fails before any progress bar or work
    with scale.engine(scheduler or "local", n_workers=partitions) as eng:
        sc = _Scale(
            eng=eng, partitions=partitions or eng.n_workers, spatial_min_reaches=spatial_min_reaches
        )
        timer = _Timer(progress=progress, label=label)
        try:
            return _run(name_or_config, timer, out_dir=out_dir, overwrite=overwrite, sc=sc)
        finally:
            timer.close()


def _check_scale_options(
    partitions: int | None, scheduler: str | None, spatial_min_reaches: int
) -> None:
    """Refuse bad scale-out options before any work."""
    for name, v in (("partitions", partitions), ("spatial_min_reaches", spatial_min_reaches)):
        if v is None and name == "partitions":
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            msg = f"{name} must be a whole number >= 1, got {v!r}"
            raise InputError(msg)
    if scheduler is not None:
        scale.check_scheduler(scheduler)


def _load(name_or_config: str | Path, timer: _Timer) -> tuple[Basin, list[warnings.WarningMessage]]:
    """Load the basin and check it; return it with the warnings issued meanwhile.

    The preflight computes what later stages reuse (the treatment removal, whose countries
    without a value of their own take a pooled one, with a warning), before the run log is
    open: the run issues these warnings again inside its record (log and summary.json).
    """
    said: list[warnings.WarningMessage] = []
    try:
        with timer.stage("load"), warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            basin = load_basin(name_or_config)
            preflight(basin)  # what would fail late, checked before the long work
    except BasingovError:
        _reissue(said)
        raise
    if not basin.config.loads.sources:
        timer.bar.total -= 2
    if not _has_monitoring(basin):
        timer.bar.total -= 1
    return basin, said


# every run, in one process or as a basin of run_many on a worker, computes inside
# computing() (basingov._runtime); the tasks it sends are made inside it and run so too
@computing()
def _run(
    name_or_config: str | Path,
    timer: _Timer,
    *,
    out_dir: str | Path | None,
    overwrite: bool,
    sc: _Scale | None = None,
) -> Results:
    if out_dir is None:
        basin, said = _load(name_or_config, timer)
        with _recorded_warnings() as caught:
            _reissue(said)
            res = _analyse(basin, timer, sc)
        res.summary.update(_summary(basin, res, timer.timings))
        res.summary["warnings"] = [str(w.message) for w in caught]
        res.summary["execution"] = _execution(sc)
        return res
    out_dir = Path(out_dir)
    # the output folder is locked (and checked again) before the inputs are read
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        basin, said = _load(name_or_config, timer)
        handler = logging.FileHandler(tmp / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG)
        # only this basin's thread: in `run all` a worker process runs other basins' tasks
        # (their maps, sub-basins) in other threads while this basin logs here
        this_thread = threading.get_ident()
        handler.addFilter(lambda record: record.thread == this_thread)
        root = logging.getLogger("basingov")
        old_level = root.level
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        try:
            logger.info("basingov %s: running basin %s into %s", __version__, basin.name, out_dir)
            with _recorded_warnings() as caught:
                _reissue(said)
                res = _analyse(basin, timer, sc)
            with timer.stage("write"):
                res.summary.update(_summary(basin, res, timer.timings))
                res.summary["warnings"] = [str(w.message) for w in caught]
                res.summary["execution"] = _execution(sc)
                _write(res, tmp, None if sc is None else sc.eng)
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            handler.close()
    return dataclasses.replace(res, out_dir=out_dir)


def _execution(sc: _Scale | None) -> dict[str, Any]:
    """How the run was spread (``summary.json``); the tables do not depend on it."""
    if sc is None:
        return {"scheduler": None, "partitions": 1, "worker_threads": 1}
    return {
        "scheduler": sc.eng.scheduler,
        "partitions": sc.partitions,
        "worker_threads": sc.eng.n_workers,
        "spatial_min_reaches": sc.spatial_min_reaches,
    }


def _run_one(
    name: str,
    out_dir: str,
    overwrite: bool,
    partitions: int | None = None,
    spatial_min_reaches: int = scale.DEFAULT_SPATIAL_MIN_REACHES,
    in_worker: bool = False,
    spread: bool = False,
) -> dict[str, Any]:
    """Run one basin and return its summary (a dask task; must be picklable).

    Warnings are already in the run log and the summary; they are not printed again by
    the worker process. With ``partitions`` the basin's own tasks go to the cluster
    running this task (``in_worker``) or run in this process; ``spread`` lets other
    workers take them (:func:`basingov.scale.worker_engine`). On a cluster a basin
    without partitions runs whole, and its map page is a task all the same, which a
    worker that has run out of basins builds (:meth:`basingov.scale.Engine.task`).
    """
    if partitions is None and not in_worker:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BasingovWarning)
            return run(name, out_dir=out_dir, overwrite=overwrite).summary
    if partitions is None:
        partitions, spread = 1, False  # whole (scale.worker_engine), the map a task
    elif not in_worker:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BasingovWarning)
            return _run_partitioned(
                name, out_dir, overwrite, partitions, spatial_min_reaches, spread=False
            )
    # deferred: dask.distributed is an optional dependency (basingov[dask])
    from distributed import rejoin, secede

    # While this basin waits for its sub-basin tasks it leaves the worker's thread pool,
    # and the worker may start another basin in a new thread of this process. Warning
    # capture and the run log are per process (not thread-safe), so basins take turns
    # here; one waiting for its turn leaves the pool too, so that the sub-tasks can run.
    if not _BASIN_TURN.acquire(blocking=False):
        secede()
        _BASIN_TURN.acquire()
        rejoin()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BasingovWarning)
            return _run_partitioned(
                name, out_dir, overwrite, partitions, spatial_min_reaches, spread=spread
            )
    finally:
        _BASIN_TURN.release()


def _basin_slots(client: Any) -> list[str]:
    """Worker addresses, one per worker process, for ``run_many``'s basins."""
    return list(client.nthreads())


#: One basin at a time per worker process in ``run_many`` on a cluster (see ``_run_one``).
_BASIN_TURN = threading.Lock()


def _run_partitioned(
    name: str,
    out_dir: str,
    overwrite: bool,
    partitions: int,
    spatial_min_reaches: int,
    *,
    spread: bool,
) -> dict[str, Any]:
    """One basin of ``run_many`` with its sub-basin tasks on the cluster running it."""
    # deferred: dask.distributed is an optional dependency (basingov[dask])
    from distributed import get_worker

    try:
        get_worker()
        in_worker = True
    except ValueError:
        in_worker = False
    timer = _Timer(label=Path(name).stem)
    try:
        ctx = scale.worker_engine(spread=spread) if in_worker else scale.engine("synchronous")
        with ctx as eng:
            sc = _Scale(eng=eng, partitions=partitions, spatial_min_reaches=spatial_min_reaches)
            return _run(name, timer, out_dir=out_dir, overwrite=overwrite, sc=sc).summary
    finally:
        timer.close()


def run_many(
    names: list[str],
    *,
    out_dir: str | Path,
    overwrite: bool = False,
    scheduler: str | None = "local",
    progress: bool = False,
    partitions: int | None = None,
    spatial_min_reaches: int = scale.DEFAULT_SPATIAL_MIN_REACHES,
) -> dict[str, dict[str, Any]]:
    """Run several basins, each as one task on dask.distributed.

    Parameters
    ----------
    names
        Shipped basin names or config paths; each writes to ``out_dir/<basin name>``.
    out_dir
        Parent output folder.
    overwrite
        Replace existing basin folders.
    scheduler
        ``"local"`` starts a :class:`distributed.LocalCluster` (one process per core),
        ``"synchronous"`` (or None) runs in this process, and any other value is the
        address of a running dask scheduler (``tcp://host:8786``).
    progress
        Show a progress bar over the basins.
    partitions
        Split each basin into this many sub-basins whose tasks go to the same cluster
        as the basins (see :func:`run`); None runs each basin as one task.
    spatial_min_reaches
        See :func:`run`.

    Returns
    -------
    dict
        Run summaries keyed by basin name. The outputs are identical whichever
        scheduler is used.

    Raises
    ------
    OutputExistsError
        If a basin folder exists and ``overwrite`` is false (checked before any work).
    InputError
        If ``scheduler`` or ``partitions`` is not an accepted value (before any work),
        or the scheduler cannot be reached.
    EngineError
        If a local dask cluster (``scheduler="local"``) cannot start its workers.
    """
    _check_scale_options(partitions, scheduler, spatial_min_reaches)
    out = Path(out_dir)
    jobs: list[tuple[str, str]] = []
    seen: dict[str, Path] = {}
    for n in names:
        cfg_path = resolve_config(n)
        basin_name = load_config(cfg_path).basin.name
        if basin_name in seen:
            msg = (
                f"{cfg_path} and {seen[basin_name]} both name their basin {basin_name!r}; "
                f"both would write {out / basin_name}. Give each config its own [basin].name"
            )
            raise ConfigError(msg)
        seen[basin_name] = cfg_path
        target = out / basin_name
        check_output_dir(target, overwrite=overwrite)
        jobs.append((str(cfg_path), str(target)))

    bar = tqdm(total=len(jobs), desc="basins", unit="basin", disable=not progress, leave=False)
    if scheduler in (None, "synchronous"):
        summaries = []
        for c, t in jobs:
            summaries.append(_run_one(c, t, overwrite, partitions, spatial_min_reaches))
            bar.update(1)
    else:
        # without partitions a worker per basin is enough; with them, one per core
        n_workers = None if partitions else min(len(jobs), 2)
        try:
            summaries = _run_on_cluster(
                jobs, scheduler, n_workers, overwrite, partitions, spatial_min_reaches, bar
            )
        except BaseException:
            # interrupted or failed: a basin whose worker was killed mid-run left its
            # temporary folder and lock (a LocalCluster's workers are killed by then,
            # scale.engine); what no live process holds goes, as `basingov clean` does
            with signals_deferred():  # a second Ctrl-C does not cut it short
                _clean_after(jobs)
            raise
    bar.close()
    return {s["basin"]: s for s in summaries}


def _clean_after(jobs: list[tuple[str, str]]) -> None:
    removed = []
    for _, target in jobs:
        with contextlib.suppress(BasingovError, OSError):
            removed += clean(target)
    if removed:
        logger.info("removed what the stopped basins left: %s", [str(p) for p in removed])
    # a basin still running on a cluster started separately (not basingov's to stop)
    running = [Path(t).name for _, t in jobs if temporaries(Path(t))]
    if running:
        logger.warning(
            "still running on the dask cluster: %s; each goes on to the end and writes its "
            "folder (stop its workers to stop it; `basingov clean` then removes what it left)",
            ", ".join(running),
        )


def _run_on_cluster(
    jobs: list[tuple[str, str]],
    scheduler: str,
    n_workers: int | None,
    overwrite: bool,
    partitions: int | None,
    spatial_min_reaches: int,
    bar: Any,
) -> list[dict[str, Any]]:
    # deferred: dask.distributed is an optional dependency (basingov[dask])
    from distributed import as_completed

    with scale.engine(scheduler, n_workers=n_workers) as eng:
        client = eng.client
        todo = iter(jobs)
        futures: list[Any] = []
        slot_of: dict[str, str] = {}
        running = as_completed()

        def submit_next(slot: str) -> None:
            job = next(todo, None)
            if job is not None:
                futures.append(client.submit(
                    _run_one, *job, overwrite, partitions, spatial_min_reaches, True,
                    spread, pure=False, workers=[slot], allow_other_workers=True,
                ))  # fmt: skip
                slot_of[futures[-1].key] = slot
                running.add(futures[-1])

        # Each basin goes to a worker process that is free, the next one to the worker
        # of the basin that finished (as many basins in flight as slots, in the given
        # order). Handed to the scheduler all at once, basins were queued two to a
        # worker by guessed durations (the Rhine and another on one worker while a
        # third idled). A basin waiting for its map or its sub-tasks leaves its
        # worker's thread pool, and a second basin placed there would wait for its
        # turn (_BASIN_TURN) while another worker idles: one basin per worker process.
        # With more workers than basins a basin's parts go to the cluster, placed on
        # its worker first, and idle workers take some over; otherwise each basin runs
        # whole on its worker (scale.worker_engine).
        slots = _basin_slots(client)
        spread = len(slots) > len(jobs)
        for slot in slots:
            submit_next(slot)
        for f in running:
            bar.update(1)
            submit_next(slot_of.pop(f.key))
        return list(client.gather(futures))
