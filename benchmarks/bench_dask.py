"""Benchmark P6: basingov on dask.distributed, two workers against one process.

Run as a script: ``.venv/bin/python benchmarks/bench_dask.py [--write]``
(``--skip-continental`` or ``--skip-basins`` runs one part, and ``--write`` then keeps the
other part as last written; ``--reaches``/``--units`` size the continental case).

Part 1, the four shipped basins (``make demo``'s ``run all``):

- *sequential*: ``run_many(..., scheduler="synchronous")``, every basin in this process;
- *2 workers, LocalCluster*: ``run_many(..., scheduler="local", partitions=P)``, which starts
  a LocalCluster of 2 single-threaded worker processes (counted in the time) and runs the
  basins as tasks, each basin's sub-basins as tasks too;
- *2 workers, running cluster*: the same against a 2-worker cluster started beforehand
  (as with ``dask scheduler`` / ``dask worker``; start-up not counted).

Then the machine's own ceiling, without dask: one ``run("thames")`` in a plain
process alone, then two at once in two processes (:func:`two_processes`).

Each run writes its tables; the script checks that every ``tables/*.csv`` is byte-identical
to the sequential run. The numba caches are warm (one Thames run first, not timed).

Part 2, a SYNTHETIC continental case (``benchmarks/synthetic.py``, built in code; no real
data): a lattice river network of ``--reaches`` reaches (default 5,000,000) with one
outlet, ``--units`` Voronoi units (default 10,000) in 100 regions. On the 2-worker
LocalCluster that ``basingov run --partitions 2`` starts (``basingov.scale.engine``, opened
before the layers are built, as a run opens it before reading its inputs): the network
(``network_from_table``), the overlay partitioned in space by dask-geopandas
(``basingov.scale.overlay_partitioned``; the reach layer is above ``spatial_min_reaches``),
the spillover tables of the regions and units with a synthetic load of 1 kg/day per km of
river, the dependency stage and the units' Monte Carlo bands (see the P6 text for what is
not run and why), each computed as a run's stages compute (``basingov._runtime.computing``).
Memory: peak RSS of the client process (``getrusage`` at the end; the LocalCluster's
scheduler and nannies live in the client process) and of each worker, and the peaks of
their summed RSS and summed PSS sampled every 0.2 s (:class:`RssSampler`; the workers are
forked from the client, so the RSS sum counts the pages they share with it more than
once); the budget is 8 GB (8e9 bytes) in total.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import synthetic_basin  # noqa: E402

BASINS = ["rhine", "taihu", "tennessee", "thames"]
GIB = 2**30
#: The continental case's memory budget: 8 GB (decimal, 8e9 bytes).
BUDGET_BYTES = 8e9


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / GIB:.0f} GiB RAM, Python {platform.python_version()}"
    )


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def same_tables(a: Path, b: Path) -> tuple[int, list[str]]:
    """Count ``a``'s tables and GeoPackage layers; list those that differ in ``b``."""
    names = sorted(p.name for p in (a / "tables").glob("*.csv"))
    other = sorted(p.name for p in (b / "tables").glob("*.csv"))
    bad = [n for n in names if (a / "tables" / n).read_bytes() != (b / "tables" / n).read_bytes()]
    layers, bad_layers = _same_layers(next(a.glob("*.gpkg")), next(b.glob("*.gpkg")))
    return len(names) + layers, bad + sorted(set(names) ^ set(other)) + bad_layers


def _same_layers(ga: Path, gb: Path) -> tuple[int, list[str]]:
    """Compare every layer of two GeoPackages (values, and geometry as WKB bytes)."""
    import pyogrio

    def frame(path: Path, layer: str) -> pd.DataFrame:
        # layer_styles.update_time is when the styles were written, not a result
        df = pyogrio.read_dataframe(path, layer=layer).drop(columns="update_time", errors="ignore")
        if "geometry" in df:
            df = pd.DataFrame(df).assign(geometry=df.geometry.to_wkb())
        return df

    names = [str(n) for n in pyogrio.list_layers(ga)[:, 0]]
    other = {str(n) for n in pyogrio.list_layers(gb)[:, 0]}
    bad = [f"{n} (layer)" for n in names if n not in other or not frame(ga, n).equals(frame(gb, n))]
    return len(names), bad + [f"{n} (layer)" for n in sorted(other - set(names))]


def four_basins(partitions: int, rounds: int = 3) -> dict[str, Any]:
    import dask
    from distributed import LocalCluster

    from basingov import run
    from basingov.pipeline import run_many
    from basingov.scale import LOCAL_HTTP, WORKER_CONFIG

    tmp = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    res: dict[str, Any] = {"partitions": partitions, "load_before": load()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run("thames")  # warm the numba caches and imports; not timed
            # the machine's speed drifts by 10 % and more within minutes: the sequential
            # run and the two LocalCluster runs go in turn, `rounds` times, and the table
            # gives their medians (stage times: the last round)
            runs: dict[str, list[float]] = {"seq": [], "local": [], "local_whole": []}
            for k in range(rounds):
                last = k == rounds - 1
                for key, kwargs in (
                    ("seq", {"scheduler": "synchronous"}),
                    ("local", {"scheduler": "local", "partitions": partitions}),
                    ("local_whole", {"scheduler": "local"}),
                ):
                    gc.collect()
                    out = tmp / (key if last else f"{key}_{k}")
                    t0 = time.perf_counter()
                    done = run_many(BASINS, out_dir=out, **kwargs)
                    runs[key].append(time.perf_counter() - t0)
                    if not last:
                        shutil.rmtree(out, ignore_errors=True)
                    elif key == "seq":
                        res["per_basin_s"] = {
                            b: sum(s["timings_s"].values()) for b, s in done.items()
                        }
                        res["stages_s"] = {b: dict(s["timings_s"]) for b, s in done.items()}
                    elif key == "local":
                        res["local_stages_s"] = {b: dict(s["timings_s"]) for b, s in done.items()}
            res["rounds"] = {k: [round(v, 2) for v in vals] for k, vals in runs.items()}
            res["sequential_s"] = statistics.median(runs["seq"])
            res["local_cluster_s"] = statistics.median(runs["local"])
            res["local_whole_s"] = statistics.median(runs["local_whole"])
            gc.collect()
            # started as docs/scale.md tells a user to start workers (scale.WORKER_CONFIG)
            with (
                dask.config.set(WORKER_CONFIG),
                LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=LOCAL_HTTP
                ) as cluster,
            ):
                addr = cluster.scheduler_address
                t0 = time.perf_counter()
                run_many(BASINS, out_dir=tmp / "running", scheduler=addr, partitions=partitions)
                res["running_cluster_s"] = time.perf_counter() - t0
                # the same cluster again: its workers have imported basingov, loaded the
                # numba kernels and read the shipped data once, as the sequential process had
                t0 = time.perf_counter()
                warm = run_many(BASINS, out_dir=tmp / "warm", scheduler=addr, partitions=partitions)
                res["warm_cluster_s"] = time.perf_counter() - t0
                res["warm_stages_s"] = {b: dict(s["timings_s"]) for b, s in warm.items()}
                t0 = time.perf_counter()
                run_many(BASINS, out_dir=tmp / "warm_whole", scheduler=addr)
                res["warm_whole_s"] = time.perf_counter() - t0
        checks = {}
        for variant in ("local", "local_whole", "running", "warm", "warm_whole"):
            for b in BASINS:
                n, bad = same_tables(tmp / "seq" / b, tmp / variant / b)
                checks[f"{variant}/{b}"] = (n, bad)
        res["checks"] = checks
        res["identical"] = all(not bad for _, bad in checks.values())
        res["n_tables"] = sum(n for n, _ in checks.values()) // 2
        res["commands_s"] = commands(partitions, tmp)
        res["hardware"] = two_processes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["load_after"] = load()
    return res


#: The child of :func:`two_processes`: warm up, say "ready", wait for "go", time one run.
_PROBE = """
import sys, time, warnings
warnings.simplefilter("ignore")
from basingov import run
run("taihu")  # imports, numba caches and data reads warm; not timed
print("ready", flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
run(sys.argv[1])
print(time.perf_counter() - t0, flush=True)
"""


def commands(partitions: int, tmp: Path) -> dict[str, float]:
    """Time ``basingov run all`` as a user types it: one process, then on a LocalCluster.

    Python's start, the imports and the reading of the data count in every variant, as
    they do for a user; the worker processes' start counts in the cluster ones.
    """
    exe = Path(sys.executable).with_name("basingov")
    variants = {
        "synchronous": ["--scheduler", "synchronous"],
        "local": [],
        "local_partitions": ["--partitions", str(partitions)],
    }
    out = {}
    for key, extra in variants.items():
        t0 = time.perf_counter()
        subprocess.run(
            [str(exe), "run", "all", "-o", str(tmp / f"cmd_{key}"), *extra],
            check=True,
            capture_output=True,
        )
        out[key] = time.perf_counter() - t0
    return out


def two_processes(basin: str = "thames") -> dict[str, Any]:
    """Time one ``run(basin)`` alone, then two at once in two plain processes (no dask).

    What the machine gives two processes that share nothing: ``2 * alone / together``
    is the throughput of its two cores relative to one, the ceiling of any 2-worker
    speed-up on it, whatever the engine.
    """

    def timed(n: int) -> list[float]:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _PROBE, basin],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                line = p.stdout.readline()
                if line.strip() != "ready":
                    msg = f"probe process failed before its run: {line!r}"
                    raise RuntimeError(msg)
            for p in procs:  # both start within microseconds of each other
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            out = [float(p.communicate(timeout=1800)[0].strip()) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        return out

    res: dict[str, Any] = {"basin": basin, "load_before": load()}
    res["alone_s"] = timed(1)[0]
    res["together_s"] = timed(2)
    res["throughput"] = 2 * res["alone_s"] / max(res["together_s"])
    res["load_after"] = load()
    return res


class RssSampler:
    """Sample the memory of this process and its children every ``dt`` seconds.

    Three sums, each with its peak: RSS (a page shared by several processes counts in each:
    a worker forked from this process counts every page it still shares with it again),
    PSS (a shared page split between the processes sharing it: the memory the processes
    hold together) and the machine's memory in use (``total - available``) above its level
    when sampling began (other processes on the machine included).
    """

    def __init__(self, dt: float = 0.2) -> None:
        self.dt = dt
        self.peak = 0
        self.peak_pss = 0
        self.peak_used = 0
        self.step_peak = 0
        self.step_peak_pss = 0
        self.step_client = 0  # this process's RSS when the step's summed peak was sampled
        self.last_client = 0.0
        self.last_pss = 0.0
        self.peak_by_pid: dict[int, int] = {}
        self.pss_by_pid: dict[int, int] = {}
        self._used0 = _used()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = client = pss_total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    info = p.memory_full_info()
                except psutil.Error:
                    continue
                rss, pss = info.rss, info.pss
                total += rss
                pss_total += pss
                client = rss if p.pid == me.pid else client
                self.peak_by_pid[p.pid] = max(self.peak_by_pid.get(p.pid, 0), rss)
                self.pss_by_pid[p.pid] = max(self.pss_by_pid.get(p.pid, 0), pss)
            self.peak = max(self.peak, total)
            self.peak_pss = max(self.peak_pss, pss_total)
            self.step_peak_pss = max(self.step_peak_pss, pss_total)
            self.peak_used = max(self.peak_used, _used() - self._used0)
            if total > self.step_peak:
                self.step_peak, self.step_client = total, client
            self._stop.wait(self.dt)

    def step(self) -> float:
        """Return the peak of the summed RSS since the last call (GiB) and start anew.

        :attr:`last_client` is then this process's share of that peak (GiB), and
        :attr:`last_pss` the peak of the summed PSS since the last call (GiB).
        """
        peak, self.step_peak = self.step_peak, 0
        self.last_client, self.step_client = self.step_client / GIB, 0
        self.last_pss, self.step_peak_pss = self.step_peak_pss / GIB, 0
        return peak / GIB

    def __enter__(self) -> RssSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def _used() -> int:
    """Return the machine's memory in use: total less available (bytes)."""
    vm = psutil.virtual_memory()
    return int(vm.total - vm.available)


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _pid() -> int:
    return os.getpid()


def _rss_gib() -> float:
    return psutil.Process().memory_info().rss / GIB


def continental(n_reaches: int, n_units: int, n_regions: int, mc_runs: int = 200) -> dict[str, Any]:
    from basingov import dependency, scale, spillover
    from basingov._runtime import computing
    from basingov.network import network_from_table

    res: dict[str, Any] = {"load_before": load()}
    times: dict[str, float] = {}
    rss_after: dict[str, float] = {}
    peak_sum: dict[str, float] = {}  # peak of the summed RSS (client + workers) per step
    peak_client: dict[str, float] = {}  # the client's RSS at that peak
    peak_pss: dict[str, float] = {}  # peak of the summed PSS (shared pages split) per step

    def record(step: str, t0: float) -> None:
        """Record a step that began at ``t0``: wall time, client RSS after, memory peaks."""
        times[step] = time.perf_counter() - t0
        rss_after[step] = _rss_gib()
        peak_sum[step] = rss.step()
        peak_client[step] = rss.last_client
        peak_pss[step] = rss.last_pss

    # the engine first, as `basingov run --partitions` opens it before reading any input:
    # its workers are forked from this process (scale.start_method), and a fork made after
    # the layers exist would keep a copy of every page of them that this process frees.
    # Then every step computes as a run's stages do, inside computing() (Python-stored
    # strings, a frozen heap; the tasks sent from inside it run so on the workers too)
    with RssSampler() as rss, scale.engine("local", n_workers=2) as eng, computing():
        client = eng.client
        t0 = time.perf_counter()
        reaches, jur, basin = synthetic_basin(n_reaches, n_units, n_regions)
        record("build synthetic layers", t0)
        res["reaches"] = len(reaches)
        res["units"] = int((jur["level_name"] == "unit").sum())
        res["regions"] = int((jur["level_name"] == "region").sum())
        t0 = time.perf_counter()
        net = network_from_table(reaches)
        del reaches
        gc.collect()
        record("network", t0)
        t0 = time.perf_counter()
        ov = scale.overlay_partitioned(
            net, jur, basin, levels=["region", "unit"], eng=eng, partitions=2
        )
        record("overlay (partitioned, dask-geopandas)", t0)
        res["pieces"] = len(ov.pieces)
        res["crossings"] = len(ov.crossings)
        res["boundary_reaches"] = len(ov.boundary_reaches)
        res["boundary_stretches"] = len(ov.boundary_stretches)
        t0 = time.perf_counter()
        pieces = ov.piece_graph.pieces
        loads = pd.DataFrame(
            {
                "piece_id": pieces["piece_id"].to_numpy(),
                "load_kg_day": pieces["length_km"].to_numpy(),  # SYNTHETIC: 1 kg/day/km
                "load_source": "synthetic",
            }
        )
        sp = spillover.spillover_tables(net, ov.piece_graph, loads, level_names=["region", "unit"])
        record("spillover tables (regions and units)", t0)
        res["unit_crossings"] = int((ov.crossings["level_name"] == "unit").sum())
        res["crossing_flux_rows"] = len(sp.crossing_flux)
        t0 = time.perf_counter()
        dep = dependency.analyse(ov, jur)
        record("dependency (regions and units)", t0)
        res["dependency_rows"] = len(dep.table)
        res["matrix_cells"] = len(sp.matrix_long)
        res["balance_max_residual"] = float(sp.balance["relative_residual"].max())
        if mc_runs:
            # the Monte Carlo runs of the units, as a run with [spillover]
            # monte_carlo_runs makes them (stored by connected pair), after the
            # deterministic tables are let go
            del sp, dep
            gc.collect()
            t0 = time.perf_counter()
            pn = spillover.piece_network(net, pieces)
            mc = spillover.monte_carlo_samples(
                net, pn, spillover.origin_loads(pn, loads, "unit"), level="unit",
                runs=mc_runs, seed=0, graph=ov.piece_graph,
            )  # fmt: skip
            bands = mc.bands()
            step = f"Monte Carlo runs of the units ({mc_runs} runs) and their bands"
            record(step, t0)
            res["mc_runs"] = mc_runs
            res["mc_pairs"] = int(mc.origin.size)
            res["mc_values_gib"] = mc.values.nbytes / GIB
            res["mc_band_rows"] = len(bands)
            res["mc_dense_gib"] = mc_runs * len(mc.ids) ** 2 * 8 / GIB
            del mc, bands, pn
        # sampled, not ru_maxrss: a worker process is forked by the nanny in this
        # process and inherits its high-water mark at that moment
        worker_pids = client.run(_pid)
        workers = {w: rss.peak_by_pid.get(pid, 0) for w, pid in worker_pids.items()}
    res["times"] = times
    res["client_rss_after_gib"] = rss_after
    res["peak_sum_by_step_gib"] = peak_sum
    res["peak_client_by_step_gib"] = peak_client
    res["peak_pss_by_step_gib"] = peak_pss
    res["sampled_pss_peak_gib"] = rss.peak_pss / GIB
    res["machine_used_peak_gib"] = rss.peak_used / GIB
    res["worker_pss_peak_gib"] = sorted(
        rss.pss_by_pid.get(pid, 0) / GIB for pid in worker_pids.values()
    )
    res["client_pss_peak_gib"] = rss.pss_by_pid.get(os.getpid(), 0) / GIB
    res["client_peak_gib"] = _maxrss() / GIB
    res["worker_peak_gib"] = sorted(v / GIB for v in workers.values())
    res["sampled_total_peak_gib"] = rss.peak / GIB
    res["sum_of_peaks_gib"] = res["client_peak_gib"] + sum(res["worker_peak_gib"])
    res["load_after"] = load()
    return res


def section(basins: dict[str, Any] | None, cont: dict[str, Any] | None) -> str:
    lines = [
        "<!-- P6:start -->",
        "## P6: scale-out on dask.distributed (`benchmarks/bench_dask.py`)",
        "",
        f"Machine: {machine()}; shared with other work while measured (load average "
        "1/5/15 min given per part). Regenerate with "
        "`.venv/bin/python benchmarks/bench_dask.py --write` (`make bench`). How the work is "
        "split and why the tables are identical: `docs/scale.md`.",
        "",
    ]
    if basins is not None:
        b = basins
        seq = b["sequential_s"]
        p = b["partitions"]
        lines += [
            "### The four shipped basins: 2 workers against one process",
            "",
            "`run all` of Rhine, Taihu, Tennessee and Thames, writing every output; numba "
            "caches warm. Sequential: every basin in one process, after one untimed run "
            "(imports, numba kernels and data reads warm). 2 workers: basins as tasks, one "
            "per worker at a time, on 2 single-threaded worker processes (a LocalCluster the "
            "run starts forks them from the benchmark's process: `basingov.scale."
            "start_method`; the cluster already running was started as docs/scale.md tells "
            "a user, its workers spawned); each basin's map "
            f"page is a task too. With `--partitions {p}` a basin is split into {p} "
            "sub-basins only when workers are to spare: here, four basins on two workers, "
            "each runs whole on its worker (docs/scale.md), so the runs with and without "
            "partitions do the same work.",
            "",
            "| run | wall (s) | speed-up |",
            "|---|---:|---:|",
            f"| sequential, one process | {seq:.1f} | 1.00x |",
            *[
                f"| {label} | {b[key]:.1f} | {seq / b[key]:.2f}x |"
                for key, label in _variants(p)
                if key in b
            ],
            "",
            *_rounds(b),
            *_commands(b),
            "Sequential per basin (sum of stage timings, s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in b["per_basin_s"].items())
            + f". Load average before/after: {b['load_before']} / {b['load_after']}.",
            "",
            *_per_basin(b),
            *_ceiling(b),
            f"Outputs compared: {b['n_tables']} `tables/*.csv` files and "
            "GeoPackage layers over the four basins, per variant: "
            + (
                "all identical to the sequential run (CSV bytes; layer values and geometry WKB)."
                if b["identical"]
                else f"DIFFERENCES: {b['checks']}"
            ),
            "",
        ]
    if cont is not None:
        c = cont
        lines += [
            "### SYNTHETIC continental case, partitioned (2 workers)",
            "",
            f"Synthetic data built in code (`benchmarks/synthetic.py`): {c['reaches']:,} "
            f"lattice reaches (one outlet), {c['units']:,} units in {c['regions']} regions. "
            f"Overlay in spatial partitions by dask-geopandas; {c['pieces']:,} pieces, "
            f"{c['crossings']:,} crossings, {c['boundary_reaches']:,} boundary reaches, "
            f"{c['boundary_stretches']:,} boundary stretches ({c['unit_crossings']:,} unit "
            "crossings); the spillover tables of the regions and of the units with a "
            "synthetic load of 1 kg/day per km: "
            f"{c['matrix_cells']:,} non-zero source-receptor cells, "
            f"{c['crossing_flux_rows']:,} rows of flux by origin per crossing (load balance "
            f"residual <= {c['balance_max_residual']:.1e}); "
            + (
                f"the units' Monte Carlo bands: {c['mc_runs']} runs stored by the "
                f"{c['mc_pairs']:,} origin-receptor pairs the network connects "
                f"({c['mc_values_gib']:.2f} GiB; a dense runs x {c['units']:,} x "
                f"{c['units']:,} stack would be {c['mc_dense_gib']:,.0f} GiB), "
                f"{c['mc_band_rows']:,} band rows"
                if "mc_pairs" in c
                else "no Monte Carlo bands"
            )
            + (
                f"; the dependency stage of both levels ({c['dependency_rows']:,} "
                "jurisdiction rows)."
                if "dependency_rows" in c
                else "."
            ),
            "",
            "Not run here, and why: raster loads (the synthetic basin has no rasters)"
            + ("" if "dependency_rows" in c else "; the dependency stage")
            + ".",
            "",
            "| step | wall (s) | client RSS after (GiB) | peak of client + workers during "
            "the step, RSS (GiB) | the client's part of that peak (GiB) | peak of client + "
            "workers during the step, PSS (GiB) |",
            "|---|---:|---:|---:|---:|---:|",
            *[
                f"| {k} | {v:.1f} | {c['client_rss_after_gib'][k]:.2f} | "
                + (
                    f"{c['peak_sum_by_step_gib'][k]:.2f} |"
                    if k in c.get("peak_sum_by_step_gib", {})
                    else "not recorded |"
                )
                + (
                    f" {c['peak_client_by_step_gib'][k]:.2f} |"
                    if k in c.get("peak_client_by_step_gib", {})
                    else " not recorded |"
                )
                + (
                    f" {c['peak_pss_by_step_gib'][k]:.2f} |"
                    if k in c.get("peak_pss_by_step_gib", {})
                    else " not recorded |"
                )
                for k, v in c["times"].items()
            ],
            "",
            *_memory(c),
            *_mc_note(c),
        ]
    lines.append("<!-- P6:end -->")
    return "\n".join(lines) + "\n"


def _memory(c: dict[str, Any]) -> list[str]:
    """Return the continental case's memory table and its verdict on the 8 GB budget."""
    pss = "sampled_pss_peak_gib" in c
    lines = [
        "| memory | peak RSS (GiB) |" + (" peak PSS (GiB) |" if pss else ""),
        "|---|---:|" + ("---:|" if pss else ""),
        "| client process (synthetic layers, network, stitching, the along-network "
        "overlay, spillover, dependency; the LocalCluster's scheduler and nannies run "
        f"in it too) | {c['client_peak_gib']:.2f} |"
        + (f" {c['client_pss_peak_gib']:.2f} |" if pss else ""),
        *[
            f"| worker {i + 1} | {v:.2f} |"
            + (f" {c['worker_pss_peak_gib'][i]:.2f} |" if pss else "")
            for i, v in enumerate(c["worker_peak_gib"])
        ],
        "| **total, sampled every 0.2 s (peak of the sum)** | "
        f"**{c['sampled_total_peak_gib']:.2f}** |"
        + (f" **{c['sampled_pss_peak_gib']:.2f}** |" if pss else ""),
        f"| total, sum of the per-process peaks (upper bound) | {c['sum_of_peaks_gib']:.2f} |"
        + (" |" if pss else ""),
        "",
    ]
    rss = c["sampled_total_peak_gib"]
    if not pss:
        return [
            *lines,
            f"Budget: 8 GB (8e9 bytes) in total: {_met(rss)} "
            f"({rss:.2f} GiB = {rss * GIB / 1e9:.2f} GB, the peak of the RSS sum). "
            f"Load average before/after: {c['load_before']} / {c['load_after']}.",
            "",
        ]
    total = c["sampled_pss_peak_gib"]
    used = c["machine_used_peak_gib"]
    return [
        *lines,
        "RSS counts a page in every process that maps it; the workers are forked from the "
        "client process (`basingov.scale.start_method`), so the pages they still share with "
        "it count twice or three times in the RSS sum. PSS (proportional set size, "
        "`/proc/PID/smaps_rollup`) splits a shared page between the processes sharing it, so "
        "the PSS sum is the memory the processes hold together. Cross-check from the whole "
        "machine: memory in use (total less available) rose by at most "
        f"{used:.2f} GiB ({used * GIB / 1e9:.2f} GB) above its level before the case began "
        "(other work on the machine included).",
        "",
        f"Budget: 8 GB (8e9 bytes) in total: {_met(total)} "
        f"({total:.2f} GiB = {total * GIB / 1e9:.2f} GB, the peak of the PSS sum; the peak "
        f"of the RSS sum, which counts shared pages more than once, was {rss:.2f} GiB = "
        f"{rss * GIB / 1e9:.2f} GB). "
        f"{_margin(total)}"
        f"Load average before/after: {c['load_before']} / {c['load_after']}.",
        "",
    ]


def _met(gib: float) -> str:
    """Return whether a peak of ``gib`` GiB meets the budget: ``"met"`` or ``"NOT met"``."""
    return "met" if gib * GIB <= BUDGET_BYTES else "NOT met"


def _margin(gib: float) -> str:
    """Say how far a peak of ``gib`` GiB lies from the 8 GB budget, in GB."""
    left = (BUDGET_BYTES - gib * GIB) / 1e9
    if left >= 0:
        return (
            f"It is {left:.2f} GB under the budget, a narrow margin (the P6 notes give how "
            "far runs of the same code have differed). "
            if left < 0.25
            else f"It is {left:.2f} GB under the budget. "
        )
    return f"It is {-left:.2f} GB over the budget. "


def _mc_note(c: dict[str, Any]) -> list[str]:
    """Return what the Monte Carlo step adds to the continental case's memory."""
    if "mc_pairs" not in c:
        return []
    key = "peak_pss_by_step_gib" if "peak_pss_by_step_gib" in c else "peak_sum_by_step_gib"
    what = "PSS" if key == "peak_pss_by_step_gib" else "RSS"
    steps = c[key]
    mc = next(v for k, v in steps.items() if k.startswith("Monte Carlo"))
    rest = max(v for k, v in steps.items() if not k.startswith("Monte Carlo"))
    return [
        f"The Monte Carlo runs are a step of their own here, after the deterministic "
        f"tables were let go: the peak of the {what} sum without them is {rest:.2f} GiB "
        f"({rest * GIB / 1e9:.2f} GB), with them {mc:.2f} GiB ({mc * GIB / 1e9:.2f} GB). "
        f"A `basingov run` with `[spillover] monte_carlo_runs = {c['mc_runs']}` keeps the "
        f"runs' values ({c['mc_values_gib']:.2f} GiB) while the spillover step holds its "
        f"tables, so it would need at least {rest + c['mc_values_gib']:.1f} GiB on this "
        + (
            "case: over the budget (fewer runs fit: the values grow with the runs)."
            if (rest + c["mc_values_gib"]) * GIB > BUDGET_BYTES
            else "case: within the budget."
        ),
        "",
    ]


def _commands(b: dict[str, Any]) -> list[str]:
    """Return the lines on ``basingov run all`` timed as commands."""
    c = b.get("commands_s")
    if c is None:
        return []
    seq = c["synchronous"]
    return [
        "As commands (`basingov run all -o DIR`, Python's start, imports and first reads "
        "included in each, and the worker processes' start in the cluster runs): "
        f"`--scheduler synchronous` {seq:.1f} s; the default LocalCluster of 2 workers "
        f"{c['local']:.1f} s ({seq / c['local']:.2f}x); with `--partitions {b['partitions']}` "
        f"{c['local_partitions']:.1f} s ({seq / c['local_partitions']:.2f}x).",
        "",
    ]


def _rounds(b: dict[str, Any]) -> list[str]:
    """Return the line listing every round of the runs that were repeated in turn."""
    r = b.get("rounds")
    if not r:
        return []
    seq, loc, whole = r["seq"], r["local"], r["local_whole"]
    return [
        f"The sequential run and the two LocalCluster runs went in turn, {len(seq)} rounds; "
        "the table gives their medians (the machine's speed drifts by 10 % and more within "
        "minutes). Every round, s: sequential "
        + ", ".join(f"{v:.1f}" for v in seq)
        + f"; `--partitions {b['partitions']}` "
        + ", ".join(f"{v:.1f}" for v in loc)
        + "; `run all` "
        + ", ".join(f"{v:.1f}" for v in whole)
        + "; speed-up of `run all` per round "
        + ", ".join(f"{s / w:.2f}x" for s, w in zip(seq, whole, strict=True))
        + ".",
        "",
    ]


def _variants(p: int) -> list[tuple[str, str]]:
    """Return the 2-worker runs of :func:`four_basins`: result key and table label."""
    return [
        ("local_cluster_s", f"2 workers, LocalCluster started by the run "
         f"(`run all --partitions {p}`)"),
        ("local_whole_s", "2 workers, LocalCluster started by the run (`run all`)"),
        ("running_cluster_s", f"2 workers, cluster already running, workers fresh "
         f"(`--scheduler ADDRESS --partitions {p}`)"),
        ("warm_cluster_s", f"2 workers, the same cluster again, workers warm "
         f"(`--partitions {p}`)"),
        ("warm_whole_s", "2 workers, the same cluster again, workers warm (no partitions)"),
    ]  # fmt: skip


def _per_basin(b: dict[str, Any]) -> list[str]:
    """Return a table of each basin's stage times, sequential and on 2 workers."""
    if "local_stages_s" not in b:
        return []
    seq, loc = b["stages_s"], b["local_stages_s"]
    warm = b.get("warm_stages_s", {})
    rows = [
        f"| {n} | {sum(seq[n].values()):.1f} | {sum(loc[n].values()):.1f} | "
        + (f"{sum(warm[n].values()):.1f} |" if n in warm else "not measured |")
        for n in seq
    ]
    return [
        "Stage times per basin (s; the sum of the summary's `timings_s`, writing "
        "included; with partitions a basin's overlay and loads include its sub-tasks):",
        "",
        "| basin | sequential | 2 workers, LocalCluster, partitions | 2 workers, warm "
        "cluster, partitions |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ]


def _ceiling(b: dict[str, Any]) -> list[str]:
    """Return the lines on the best 2-worker time the stage times allow, and the verdict."""
    per = b["per_basin_s"]
    total = sum(per.values())
    big = max(per, key=per.__getitem__)
    best = max(per[big], total / 2)
    key, label = min(
        ((k, lab) for k, lab in _variants(b["partitions"]) if k in b), key=lambda v: b[v[0]]
    )
    got = b["sequential_s"] / b[key]
    # the best variant alone would hide the others: say which runs fall short of the goal
    ratios = [(lab, b["sequential_s"] / b[k]) for k, lab in _variants(b["partitions"]) if k in b]
    short = [f"{lab}: {r:.2f}x" for lab, r in ratios if r < 1.6] if got >= 1.6 else []
    verdict = "NOT met" if got < 1.6 else "met only by some runs" if short else "met"
    below = f" Below the goal: {'; '.join(short)}." if short else ""
    hw = b.get("hardware")
    machine_lines = []
    if hw is not None:
        together = " and ".join(f"{t:.1f}" for t in hw["together_s"])
        machine_lines = [
            f"What this machine gives two processes that share nothing (no dask): one "
            f'`run("{hw["basin"]}")` (computed, not written) alone took {hw["alone_s"]:.1f} s; '
            f"two at once, in two plain Python processes started together, took {together} s. "
            "Two cores "
            f"did {hw['throughput']:.2f}x the work of one in the same time"
            + (
                # the probe runs after the basins: a load that changed in between makes
                # it a snapshot of the machine then, not a bound on the runs above
                f", less than the {got:.2f}x measured above with dask: the machine was "
                "busier with other work while this probe ran, so it bounds nothing."
                if got > hw["throughput"]
                else f", so {hw['throughput']:.2f}x is the ceiling of any 2-worker "
                "speed-up at that moment, whatever the engine"
                + (": below the 1.6x goal." if hw["throughput"] < 1.6 else ".")
            )
            + f" Load average before/after: {hw['load_before']} / {hw['load_after']}.",
            "",
        ]
    return [
        f"Goal >= 1.6x: **{verdict}** (best measured {got:.2f}x: {label}).{below} "
        "Ceiling from the "
        f"sequential stage times: the basins add up to {total:.1f} s; with one basin per "
        "worker at a time, each run whole on its worker, the largest basin, "
        f"{big} ({per[big]:.1f} s), runs on one worker while the other runs the rest, so "
        f"two workers need at least max({per[big]:.1f}, {total:.1f}/2) = {best:.1f} s: at "
        f"most {total / best:.2f}x, before the cost of starting worker processes (on "
        "Linux a LocalCluster basingov starts forks them from the calling process, which "
        "has imported basingov; workers started otherwise import geopandas and basingov "
        "and load the numba kernels first) and of moving layers and results between "
        "processes. The machine was shared with other work (load averages above): a load "
        "that changes between the runs moves their ratios more than the engine does.",
        "",
        *machine_lines,
    ]


def _parts(block: str) -> tuple[str, dict[str, str]]:
    """Split a P6 block into its text before the first ``###`` part and the parts by heading."""
    body = block.replace("<!-- P6:end -->", "").rstrip("\n") + "\n"
    pieces = re.split(r"(?m)^(?=### )", body)
    return pieces[0], {p.splitlines()[0]: p.rstrip("\n") + "\n\n" for p in pieces[1:]}


def keep_skipped_parts(text: str, old_block: str) -> str:
    """Return ``text`` with the parts of ``old_block`` it lacks (a part skipped this run).

    ``--skip-continental --write`` re-measures the four basins and keeps the continental
    part as it was written by its last run (which says when it was measured).
    """
    head, new = _parts(text)
    _, old = _parts(old_block)
    order = list(old) + [h for h in new if h not in old]
    return head + "".join(new.get(h, old.get(h, "")) for h in order) + "<!-- P6:end -->\n"


def write(text: str) -> None:
    path = ROOT / "docs" / "performance.md"
    doc = path.read_text(encoding="utf-8")
    pat = re.compile(r"<!-- P6:start -->.*?<!-- P6:end -->\n?", re.S)
    found = pat.search(doc)
    if found:
        text = keep_skipped_parts(text, found.group(0))
    doc = pat.sub(lambda _: text, doc) if found else doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc, encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partitions", type=int, default=2, help="sub-basins per basin (part 1)")
    ap.add_argument(
        "--rounds", type=int, default=3, help="rounds of the runs repeated in turn (part 1)"
    )
    ap.add_argument("--reaches", type=int, default=5_000_000, help="continental reaches")
    ap.add_argument("--units", type=int, default=10_000, help="continental units")
    ap.add_argument("--regions", type=int, default=100, help="continental regions")
    ap.add_argument(
        "--mc-runs", type=int, default=200, help="continental Monte Carlo runs (0: none)"
    )
    ap.add_argument(
        "--skip-basins", action="store_true", help="with --write, keep the written four-basin part"
    )
    ap.add_argument(
        "--skip-continental",
        action="store_true",
        help="with --write, keep the written continental part",
    )
    ap.add_argument("--write", action="store_true", help="update docs/performance.md (P6)")
    ap.add_argument(
        "--results", type=Path, default=None, help="also save the measurements as JSON here"
    )
    ap.add_argument(
        "--render", type=Path, default=None, help="write the section from saved JSON; no runs"
    )
    args = ap.parse_args()
    if args.render is not None:
        saved = json.loads(args.render.read_text(encoding="utf-8"))
        text = section(saved["basins"], saved["continental"])
        print(text)
        if args.write:
            write(text)
        return
    basins = None if args.skip_basins else four_basins(args.partitions, args.rounds)
    if basins is not None:
        print(
            f"four basins: sequential {basins['sequential_s']:.1f} s, LocalCluster "
            f"{basins['local_cluster_s']:.1f} s, running cluster "
            f"{basins['running_cluster_s']:.1f} s, identical tables: {basins['identical']}"
        )
    cont = None
    if not args.skip_continental:
        cont = continental(args.reaches, args.units, args.regions, args.mc_runs)
        print(cont)
    if args.results is not None:
        args.results.write_text(
            json.dumps({"basins": basins, "continental": cont}, indent=1, default=str),
            encoding="utf-8",
        )
    text = section(basins, cont)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
