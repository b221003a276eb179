"""Scale-out on dask.distributed: sub-basins and blocks of work as tasks, identical results.

A basin run with ``partitions`` (:func:`basingov.pipeline.run`) uses an :class:`Engine`:

- **overlay**: the network is cut into drainage units (:func:`basingov.network.sub_basins`)
  and the reach-by-reach part of the overlay (:func:`basingov.overlay.reach_overlay`:
  cutting at borders, border pieces, boundary reaches) runs as one task per unit. When the
  reach layer has at least ``spatial_min_reaches`` reaches it is instead partitioned in
  space: dask-geopandas orders it along a Hilbert curve (``hilbert_distance``) and runs of
  that order are the partitions. Parts go to the workers a few at a time. They are
  stitched (:func:`basingov.overlay.combine_reach_overlays`) and the work along the
  network (crossings, stretches, shares) runs once;
- **loads**: the cell-level geometry of the raster sources (raster cells clipped to the
  basin and to the jurisdictions, river length per cell) runs in blocks of cells
  (:mod:`basingov._parallel`). A cell's people may go to a piece in another sub-basin (the
  nearest piece of their jurisdiction), so cells, not sub-basins, are the unit there;
- **map**: the basin map's page is built by a task (:meth:`Engine.task`,
  :func:`basingov.maps.run_map_page`) from the GeoPackage and the tables it reads, while
  the calling process writes the other tables.

Every reach, cell and element gets exactly the numbers it gets in one process, and the
parts are put back in the single-process order, so all output tables are identical
(tested byte for byte on the shipped basins).

Engines: ``"local"`` starts a :class:`distributed.LocalCluster` (one single-threaded
worker process per core), ``"synchronous"`` runs the same tasks one after another in this
process (for debugging), and any other value is the address of a running scheduler
(``tcp://host:8786``; see ``docs/scale.md``). Inside a dask task (``basingov run all``),
:func:`worker_engine` submits to the cluster that runs the task.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import functools
import gc
import importlib
import logging
import os
import re
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from basingov import _parallel, overlay
from basingov._runtime import same_runtime
from basingov.errors import BasingovWarning, EngineError, InputError
from basingov.network import sub_basins
from basingov.overlay import OverlayResult, ReachOverlay

__all__ = [
    "DEFAULT_SPATIAL_MIN_REACHES",
    "LOCAL_HTTP",
    "SCHEDULER_TIMEOUT_S",
    "SPATIAL_CHUNK_REACHES",
    "START_METHOD_ENV",
    "Engine",
    "check_scheduler",
    "engine",
    "hilbert_order",
    "overlay_partitioned",
    "start_method",
    "trim_memory",
    "worker_engine",
]

logger = logging.getLogger(__name__)

#: Seconds to wait for a dask scheduler given by address.
SCHEDULER_TIMEOUT_S = 10

#: Reach layers with at least this many reaches are overlaid in spatial partitions made by
#: dask-geopandas rather than one task per sub-basin (``spatial_min_reaches``). A
#: continental HydroRIVERS layer (millions of reaches) takes this path; the shipped basins
#: (at most ~30,000 reaches) do not.
DEFAULT_SPATIAL_MIN_REACHES = 1_000_000

#: Reaches per spatial partition on the dask-geopandas path (at least ``partitions`` of them).
SPATIAL_CHUNK_REACHES = 250_000

#: Where a LocalCluster's scheduler serves its HTTP pages (metrics, dashboard): a free port
#: on this machine, so that two runs (or another dask cluster on port 8787) never clash.
LOCAL_HTTP = "127.0.0.1:0"

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d+)?/?$")


def check_scheduler(scheduler: str) -> None:
    """Refuse a scheduler value that is not ``local``, ``synchronous`` or a dask address.

    Raises
    ------
    InputError
        Naming the value and the accepted forms.

    See Also
    --------
    engine : opens the engine a checked value names.

    Examples
    --------
    >>> check_scheduler("tcp://127.0.0.1:8786")
    >>> check_scheduler("http://x:1")
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: --scheduler 'http://x:1' is not 'local', 'synchronous' or a \
dask scheduler address such as tcp://127.0.0.1:8786
    """
    if scheduler in ("local", "synchronous"):
        return
    if not isinstance(scheduler, str) or not _ADDRESS.match(scheduler):
        msg = (
            f"--scheduler {scheduler!r} is not 'local', 'synchronous' or a dask scheduler "
            "address such as tcp://127.0.0.1:8786"
        )
        raise InputError(msg)


def _connect(address: str) -> Any:
    """Connect to a running dask scheduler, or raise a one-line error."""
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    from distributed import Client

    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        msg = (
            f"cannot reach the dask scheduler at {address} within {SCHEDULER_TIMEOUT_S} s "
            f"({type(exc).__name__}: {exc}); start one with `dask scheduler`, or use "
            "--scheduler local (a local cluster) or --scheduler synchronous"
        )
        raise InputError(msg) from exc


#: dask configuration of the worker processes basingov starts. dask's nannies set
#: ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker by default (to hand freed memory back
#: to the OS); setting it also turns off glibc's adaptive mmap threshold, so every large
#: NumPy array is mapped and unmapped afresh and its pages faulted in again: the stages
#: of a Rhine run took 1.2-1.6x longer (20 s -> 26 s in one process with the variable
#: set, the same slowdown as on a dask worker; docs/performance.md, P6). basingov frees
#: memory where it matters itself (:func:`trim_memory` after the partitioned overlay), so
#: its workers keep glibc's defaults. A value of the variable in the environment still
#: wins (dask's rule), and ``dask worker`` can be given the same setting (docs/scale.md).
#: dask's statistical profiler is off too: every 10 ms it takes the GIL to walk the
#: running task's stack, and basingov's tasks are long Python and pandas calls that hold
#: the GIL themselves. With it off the four shipped basins on two workers ran 5 % faster
#: (P6: 9.13 s against 9.60 s, mean of four runs each, alternated); the dashboard's
#: profile page of such a cluster stays empty.
WORKER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}


#: The environment variable of dask's setting ``distributed.worker.multiprocessing-method``;
#: when it is set, a LocalCluster basingov starts uses its method (see :func:`start_method`).
START_METHOD_ENV = "DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD"


def _distributed_defaults() -> None:
    """Import distributed, and put its defaults back into dask's configuration if lost.

    A ``dask.config.set({"distributed....": ...})`` block entered before ``distributed``
    is first imported, and left after it, removes the whole ``distributed`` section when it
    ends (the section did not exist when it began), the defaults that ``distributed`` merged
    in on import included. Every later ``dask.config.get("distributed....")`` then raises
    ``KeyError: 'distributed'``, in basingov and in distributed itself. The defaults are put
    back under whatever the configuration still holds, with a :class:`BasingovWarning`.
    """
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    import dask
    import distributed  # noqa: F401  (its import merges its defaults into dask.config)

    if dask.config.get("distributed.worker.multiprocessing-method", None) is not None:
        return
    defaults = sys.modules["distributed.config"].defaults
    dask.config.update(dask.config.config, copy.deepcopy(defaults), priority="old")
    msg = (
        "dask's configuration had lost distributed's defaults (a dask.config.set block "
        "naming distributed.* settings was entered before distributed was first imported); "
        "basingov put them back. Import distributed before such a block to keep them"
    )
    warnings.warn(msg, BasingovWarning, stacklevel=2)


def start_method() -> str:
    """How the worker processes of a LocalCluster that basingov starts are made.

    ``"fork"`` on Linux: each worker is a copy of this process, so it starts with
    basingov, geopandas and the compiled kernels already imported (the calling process
    imported them) instead of importing them again (``spawn``, dask's default: about 3 s
    a worker on the P6 machine, paid by every ``basingov run all``; docs/performance.md,
    P6). Elsewhere (macOS and Windows, where forking a process that runs threads is not
    safe or not possible) dask's setting is kept, as it is when the environment variable
    :data:`START_METHOD_ENV` is set (``spawn`` there restores dask's default) or when
    dask's configuration names another method than its default.

    Examples
    --------
    >>> start_method() in ("fork", "spawn", "forkserver")
    True
    """
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    import dask

    _distributed_defaults()
    configured = str(dask.config.get("distributed.worker.multiprocessing-method"))
    if os.environ.get(START_METHOD_ENV) or configured != "spawn" or sys.platform != "linux":
        return configured
    return "fork"


@contextlib.contextmanager
def _one_blas_thread(*, forking: bool) -> Iterator[None]:
    """Limit this process's BLAS to one thread while it forks its workers (``forking``).

    dask starts its workers with ``OPENBLAS_NUM_THREADS=1`` (and MKL's and OpenMP's), but
    a forked worker has the BLAS library this process loaded, with its threads (one per
    core): each worker then runs its matrix products (the Monte Carlo loads) on two
    threads that contend with the other workers. A forked copy keeps the limit; this
    process gets its own back when the block ends.
    """
    if not forking:
        yield
        return
    try:
        # deferred: threadpoolctl comes with the dask extra (basingov[dask])
        from threadpoolctl import threadpool_limits
    except ImportError:  # dask installed without the extra: the workers share BLAS threads
        logger.info(
            "threadpoolctl is not installed (pip install 'basingov[dask]'): the forked dask "
            "workers keep this process's BLAS threads"
        )
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _local_cluster(cluster_cls: Any, n_workers: int) -> Any:
    """Start a LocalCluster of ``n_workers`` processes, or raise a one-line EngineError."""
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    import dask

    method = start_method()
    try:
        # the method is read when each nanny starts its process, inside this block
        with (
            dask.config.set({**WORKER_CONFIG, "distributed.worker.multiprocessing-method": method}),
            _one_blas_thread(forking=method == "fork"),
        ):
            return cluster_cls(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=LOCAL_HTTP,
            )
    except (RuntimeError, OSError, TimeoutError) as exc:
        # e.g. "Nanny failed to start." when a worker process dies while starting (a
        # failing dask preload, no memory, a broken environment); its log above says why
        msg = (
            f"the local dask cluster could not start its {n_workers} worker process(es) "
            f"({type(exc).__name__}: {exc}); the messages of dask above say why. Run in "
            "this process with --scheduler synchronous, or start a scheduler and workers "
            "yourself (`dask scheduler`, `dask worker ADDRESS`; docs/scale.md) and pass "
            "--scheduler ADDRESS"
        )
        raise EngineError(msg) from exc


@dataclass
class Engine:
    """Where the tasks of a partitioned run go (make one with :func:`engine`).

    Attributes
    ----------
    scheduler
        ``"synchronous"``, ``"local"``, the scheduler address, or ``"worker"`` inside a
        dask task.
    n_workers
        Worker threads of the cluster (1 for ``"synchronous"``).
    client
        The :class:`distributed.Client`, or None (synchronous, or inside a task).
    home
        Inside a task (``"worker"``): the address of the worker running it.
    spread
        With ``home``: the parts of :meth:`map` go to the cluster, placed on ``home``
        first, and other workers may take them over (dask's work stealing). Without it
        they run in the calling task (see :func:`worker_engine`).
    """

    scheduler: str
    n_workers: int
    client: Any = None
    home: str | None = None
    spread: bool = False

    def _placement(self, worker: str | None = None) -> dict[str, Any]:
        """``workers=`` keywords preferring ``worker``, else :attr:`home` (none outside a task)."""
        if self.home is None:
            return {}
        return {"workers": [worker or self.home], "allow_other_workers": True}

    def _task_placement(self, client: Any) -> dict[str, Any]:
        """:meth:`_placement` for :meth:`task`: a worker with nothing to do, if any.

        Inside a task the calling basin keeps its worker busy until it waits for the
        result, and dask's work stealing moved a task placed there to an idle worker in
        some runs only (the Rhine's map, 1.5 s, once ran on the Rhine's worker after
        its tables while the other worker had been idle for a second). So a worker that
        processes no task when the task is submitted takes it; else :attr:`home`.
        """
        if self.home is None:
            return {}
        idle = [w for w, keys in client.processing().items() if not keys and w != self.home]
        return self._placement(idle[0] if idle else None)

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        if self.scheduler == "worker":
            # deferred: dask is the optional `dask` extra, imported only by runs that use it
            from distributed import worker_client

            # secede from the worker's thread pool while the sub-tasks run
            with worker_client() as c:
                yield c
        else:
            yield self.client

    @property
    def distributed(self) -> bool:
        """True when tasks go to a dask cluster (not run in this process)."""
        return self.scheduler != "synchronous"

    @property
    def whole(self) -> bool:
        """True inside a task that runs its basin unsplit (``home`` without ``spread``)."""
        return self.home is not None and not self.spread

    @property
    def parts_here(self) -> bool:
        """True when :meth:`map` runs its items in this process (not spread out)."""
        return not self.distributed or self.whole

    def map(
        self,
        fn: Callable[..., Any],
        items: Sequence[Any],
        *shared: Any,
        then: Callable[[int, Any], Any] | None = None,
    ) -> list[Any]:
        """``[fn(item, *shared) for item in items]``, each call a task.

        ``shared`` objects are sent to every worker once. ``then(i, result)``, if given,
        turns each result as it arrives (here, in the calling process) into what is kept.
        The task functions of this module raise no warnings: ``warnings.catch_warnings``
        is not thread-safe, and a worker may run a task beside a basin run (``run all``)
        that records its own.
        """
        if not items:
            return []
        if self.parts_here:
            return [
                fn(it, *shared) if then is None else then(i, fn(it, *shared))
                for i, it in enumerate(items)
            ]
        # deferred: dask is the optional `dask` extra, imported only by runs that use it
        from distributed import as_completed

        out: list[Any] = [None] * len(items)
        at = self._placement()
        with self._client() as c:
            sh = [c.scatter(s, broadcast=True, hash=False) for s in shared]
            todo = iter(range(len(items)))
            where: dict[str, int] = {}
            running = as_completed()

            def submit_next() -> None:
                i = next(todo, None)
                if i is not None:
                    item = c.scatter(items[i], hash=False, workers=at.get("workers"))
                    f = c.submit(same_runtime(fn), item, *sh, pure=False, **at)
                    where[f.key] = i
                    running.add(f)

            # a window of items in flight: workers hold a few parts, not the whole layer,
            # and each result is fetched and released as soon as it is done
            for _ in range(2 * self.n_workers):
                submit_next()
            for f in running:
                i = where.pop(f.key)
                out[i] = f.result() if then is None else then(i, f.result())
                f.release()
                submit_next()
        return out

    @contextlib.contextmanager
    def task(self, fn: Callable[..., Any], *args: Any) -> Iterator[Callable[[], Any]]:
        """Run ``fn(*args)`` as one task while the block runs; yield a function to get its result.

        On a cluster the task starts at once, beside the work of the block; leaving the
        block without asking for the result cancels it. Without a cluster
        (``"synchronous"``) ``fn`` runs in this process when the result is asked for.

        Examples
        --------
        >>> with engine("synchronous") as eng, eng.task(divmod, 7, 4) as result:
        ...     result()
        (1, 3)
        """
        if not self.distributed:
            yield lambda: fn(*args)
            return
        # deferred: dask is the optional `dask` extra, imported only by runs that use it
        from distributed import get_client

        # inside a task (run all) the calling task keeps its thread until it waits; the
        # task goes before queued ones (other basins of run all), as the caller waits on it
        client = get_client() if self.scheduler == "worker" else self.client
        future = client.submit(
            same_runtime(fn), *args, pure=False, priority=1, **self._task_placement(client)
        )

        def result() -> Any:
            with self._client():  # a task waiting leaves its worker's thread pool
                return future.result()

        try:
            yield result
        finally:
            future.cancel()

    def map_blocks(self, fn: Callable[..., Any], blocks: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``[fn(*block) for block in blocks]`` as tasks (a :class:`_parallel.BlockMapper`)."""
        return self.map(_star, blocks, fn)

    def trim_workers(self) -> None:
        """Run :func:`trim_memory` on every worker (nothing when the tasks run here).

        After a large map, a worker process otherwise keeps the memory its finished tasks
        freed (about 0.45 GiB a worker after the overlay of 1M reaches) for the rest of
        the run.
        """
        if not self.parts_here:
            with self._client() as c:
                c.run(trim_memory)


def trim_memory() -> int:
    """Collect garbage and hand the heap memory freed since to the operating system.

    Python and numpy free memory into the C allocator, and glibc keeps freed heap pages
    mapped: a process that peaked at several GiB still holds them, and they count in its
    resident memory while the next stages run. ``malloc_trim(0)`` returns them. This is the
    remedy the dask documentation gives for such "unmanaged memory"
    (https://distributed.dask.org/en/stable/worker-memory.html, "Manually trim memory").

    pandas keeps its string columns in pyarrow's own memory pool (mimalloc), which
    ``malloc_trim`` does not reach: that pool is asked to return its unused memory too
    (0.06-0.07 GB a worker after the overlay of 1M reaches).

    Returns
    -------
    int
        1 if memory was returned by the C library, 0 if none was, or if the C library is
        not glibc (then only the garbage is collected and pyarrow's pool trimmed).

    Examples
    --------
    >>> trim_memory() in (0, 1)
    True
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl)
        return 0
    return int(trim(0))


def _warm() -> None:
    """Import the overlay, loads and map stages and load their numba kernels (on a worker)."""
    # importing the loads stage here is the point: it warms a worker's imports and kernels
    import basingov.loads  # noqa: F401

    with contextlib.suppress(ImportError):  # folium, of the optional maps extra
        importlib.import_module("basingov.maps._basin")

    jur = gpd.GeoDataFrame(
        {"jur_id": ["A", "B"], "name": ["A", "B"], "level": [0, 0],
         "level_name": ["l", "l"], "parent_id": ["", ""]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        crs=3035,
    )  # fmt: skip
    r = gpd.GeoDataFrame(
        {"reach_id": [1]}, geometry=[shapely.LineString([(100, 500), (1900, 500)])], crs=3035
    )
    overlay.reach_overlay(r, jur)


def _star(block: tuple[Any, ...], fn: Callable[..., Any]) -> Any:
    return fn(*block)


@contextlib.contextmanager
def engine(scheduler: str = "local", *, n_workers: int | None = None) -> Iterator[Engine]:
    """Open an engine for a partitioned run and close it afterwards.

    Parameters
    ----------
    scheduler
        ``"local"`` starts a :class:`distributed.LocalCluster` of ``n_workers``
        single-threaded worker processes (default: the number of cores, at most 4);
        ``"synchronous"`` runs every task in this process; any other value is the
        address of a running dask scheduler (``tcp://host:8786``).
    n_workers
        Workers of the local cluster, at most one per core (ignored otherwise).

    Yields
    ------
    Engine

    Raises
    ------
    InputError
        If ``scheduler`` is not an accepted value, or the scheduler cannot be reached
        within :data:`SCHEDULER_TIMEOUT_S` seconds.
    EngineError
        If the local cluster cannot start its worker processes.

    Examples
    --------
    >>> with engine("synchronous") as eng:
    ...     eng.map(divmod, [7, 9], 4)
    [(1, 3), (2, 1)]
    """
    check_scheduler(scheduler)
    if scheduler == "synchronous":
        yield Engine("synchronous", 1)
        return
    _distributed_defaults()
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler == "local":
        cores = os.cpu_count() or 1
        n = min(cores, 4) if n_workers is None else min(n_workers, cores)
        cluster = _local_cluster(LocalCluster, max(1, int(n)))
        client = Client(cluster)
    else:
        client = _connect(scheduler)
    try:
        nthreads = sum(client.nthreads().values()) or 1
        logger.info("dask engine %s: %d worker threads", scheduler, nthreads)
        # import the stages and load the compiled kernels on every worker while this
        # process reads the inputs (not waited for; held until the engine closes)
        warm = [
            client.submit(_warm, pure=False, workers=[w], allow_other_workers=False)
            for w in client.scheduler_info(n_workers=-1)["workers"]
        ]
        yield Engine(scheduler=scheduler, n_workers=int(nthreads), client=client)
        del warm
    except BaseException:
        if cluster is not None:
            # an interrupt or an error: the workers' unfinished tasks are void. Closed
            # gracefully, each worker waited 4 s for its running task (a thread dask
            # cannot stop), then was killed with a warning; killed now, the caller can
            # remove what their tasks left (pipeline.run_many). The client goes first,
            # so that the scheduler wants none of their results
            client.close()
            with _quiet_teardown():
                _kill_workers(cluster)
                cluster.close()
        raise
    finally:
        client.close()  # a second close of either does nothing
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _quiet_teardown() -> Iterator[None]:
    """Hide the warnings of dask's scheduler and nannies while basingov kills the workers.

    They say what is intended (workers gone, their tasks lost, "to be recomputed
    elsewhere": they are not); an error is still shown.
    """
    names = ("distributed.scheduler", "distributed.nanny", "distributed.core")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _kill_workers(cluster: Any) -> None:
    """Kill the worker processes of a LocalCluster this process started.

    Their nannies then find them gone, and :meth:`LocalCluster.close` reaps them at once.
    """
    for nanny in list(cluster.workers.values()):
        pid = nanny.pid  # None while a worker process is not started
        if isinstance(pid, int) and pid > 0:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def worker_engine(*, spread: bool = False) -> Iterator[Engine]:
    """Yield the engine of the dask cluster running the current task (``run all``).

    Parameters
    ----------
    spread
        Submit the basin's parts (sub-basins, blocks of cells) to the same cluster,
        placed on this task's worker first (while they run, the calling task leaves its
        worker's thread pool, so a thread is free there) and taken over by idle workers
        (dask's work stealing). Right when the cluster has more workers than basins to
        run. Without it (every worker runs a basin) the basin is not split
        (:attr:`Engine.whole`; the pipeline then runs the overlay whole): sent to
        the cluster, the parts queued behind the other basins' long single-process
        stages (a waiting basin's worker looks idle to the scheduler, which hands it
        other work), and kept on the basin's worker they only added the cost of the
        trips and of the split (about 5 s of the Rhine's 22 s; docs/performance.md,
        P6). Either way the map page (:meth:`Engine.task`) is a task, which a worker
        that processes nothing when it is sent (out of basins) builds; else this worker.

    Yields
    ------
    Engine
    """
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    from distributed import get_client, get_worker

    n = sum(get_client().nthreads().values()) or 1
    yield Engine("worker", int(n), home=get_worker().address, spread=spread)


@contextlib.contextmanager
def spread_loads(eng: Engine) -> Iterator[None]:
    """Within the block, the loads' cell-level geometry runs in blocks on ``eng``."""
    if eng.parts_here:
        # one process: blocks would change nothing but add copies
        yield
        return
    with _parallel.spread_over(eng.map_blocks, 2 * eng.n_workers):
        yield


def _overlay_task(
    reaches: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame, levels: list[str]
) -> ReachOverlay:
    return overlay.reach_overlay(reaches, jurisdictions, levels=levels)


@dataclass(frozen=True)
class _PackedFrame:
    """A (Geo)DataFrame made compact for the trip back from a worker (:func:`_pack`).

    Object columns travel as integer codes and their distinct values; the geometry is
    dropped where the receiver has it already (``from_reaches``: the rows' own reach
    line); everything else travels as it is.
    """

    rest: pd.DataFrame
    columns: list[str]
    codes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    geometry: np.ndarray
    from_reaches: np.ndarray
    crs: Any


def _pack(df: gpd.GeoDataFrame, reach_geoms: np.ndarray, rpos: np.ndarray) -> _PackedFrame:
    """Pack ``df``; rows whose geometry equals their reach line ``reach_geoms[rpos]`` lose it."""
    geoms = df.geometry.to_numpy()
    same = shapely.equals_exact(geoms, reach_geoms[rpos], tolerance=0.0)
    obj = [c for c in df.columns if c != df.geometry.name and df[c].dtype == object]
    codes = {}
    for c in obj:
        vals = df[c].to_numpy(dtype=object)
        k, uniq = pd.factorize(vals)
        na = np.flatnonzero(k < 0)  # missing values travel as they are (None stays None)
        codes[c] = (k.astype(np.int32), np.asarray(uniq, dtype=object), na, vals[na])
    kept = np.array(geoms, dtype=object)
    kept[same] = None
    return _PackedFrame(
        rest=pd.DataFrame(df.drop(columns=[*obj, df.geometry.name])),
        columns=list(df.columns),
        codes=codes,
        geometry=kept,
        from_reaches=same,
        crs=df.crs,
    )


def _unpack(pf: _PackedFrame, reach_geoms: np.ndarray, rpos: np.ndarray) -> gpd.GeoDataFrame:
    """Inverse of :func:`_pack`: the same frame, reach lines shared with ``reach_geoms``."""
    out = pf.rest.copy()
    for c, (k, uniq, na, na_vals) in pf.codes.items():
        vals = uniq[np.maximum(k, 0)] if uniq.size else np.full(k.size, None, dtype=object)
        vals[na] = na_vals
        out[c] = vals
    geoms = pf.geometry.copy()
    geoms[pf.from_reaches] = reach_geoms[rpos[pf.from_reaches]]
    out["geometry"] = geoms
    return gpd.GeoDataFrame(out[pf.columns], geometry="geometry", crs=pf.crs)


def _overlay_task_packed(
    reaches: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame, levels: list[str]
) -> tuple[_PackedFrame, _PackedFrame]:
    """:func:`_overlay_task` on a worker, packed for the trip back (see :func:`_pack`)."""
    ro = overlay.reach_overlay(reaches, jurisdictions, levels=levels)
    rg = reaches.geometry.to_numpy()
    where = pd.Series(np.arange(len(reaches)), index=reaches["reach_id"].to_numpy())
    bpos = where.reindex(ro.boundary_reaches["reach_id"].to_numpy()).to_numpy(dtype=np.int64)
    return (
        _pack(ro.pieces, rg, ro.pieces["reach_pos"].to_numpy(dtype=np.int64)),
        _pack(ro.boundary_reaches, rg, bpos),
    )


def _unpack_overlay(
    packed: tuple[_PackedFrame, _PackedFrame], reaches: gpd.GeoDataFrame
) -> ReachOverlay:
    """Rebuild the :class:`ReachOverlay` of a packed part computed on ``reaches``."""
    pp, bp = packed
    rg = reaches.geometry.to_numpy()
    pieces = _unpack(pp, rg, pp.rest["reach_pos"].to_numpy(dtype=np.int64))
    where = pd.Series(np.arange(len(reaches)), index=reaches["reach_id"].to_numpy())
    if "reach_id" in bp.rest.columns:
        bids = bp.rest["reach_id"].to_numpy()
    else:  # an empty table, whose columns are all of object type
        k, uniq, _, _ = bp.codes["reach_id"]
        bids = uniq[k] if uniq.size else np.zeros(0, dtype=np.int64)
    bpos = where.reindex(bids).to_numpy(dtype=np.int64) if len(bids) else bids.astype(np.int64)
    return ReachOverlay(pieces=pieces, boundary_reaches=_unpack(bp, rg, bpos))


def _unpack_nth(subsets: Sequence[gpd.GeoDataFrame], i: int, packed: Any) -> ReachOverlay:
    """:func:`_unpack_overlay` of the ``i``-th part (an :meth:`Engine.map` ``then``)."""
    return _unpack_overlay(packed, subsets[i])


def hilbert_order(reaches: gpd.GeoDataFrame) -> np.ndarray:
    """Reach positions along a Hilbert curve over the layer (dask-geopandas).

    The distances are dask-geopandas' ``hilbert_distance`` (level 16, over the layer's
    total bounds), computed in this process: only the order is needed to cut spatial
    partitions, so the layer is not shuffled between workers.

    Examples
    --------
    >>> from shapely import LineString
    >>> r = gpd.GeoDataFrame(geometry=[LineString([(9, 9), (10, 10)]),
    ...     LineString([(0, 0), (1, 1)]), LineString([(0, 9), (1, 10)])], crs=3035)
    >>> hilbert_order(r).tolist()
    [1, 2, 0]
    """
    # deferred: dask is the optional `dask` extra, imported only by runs that use it
    import dask_geopandas

    g = gpd.GeoDataFrame(geometry=reaches.geometry.to_numpy(), crs=reaches.crs)
    dg = dask_geopandas.from_geopandas(g, npartitions=max(1, -(-len(g) // 1_000_000)))
    bounds = tuple(float(v) for v in reaches.total_bounds)
    dist = dg.hilbert_distance(total_bounds=bounds, level=16).compute(scheduler="synchronous")
    return np.argsort(np.asarray(dist, dtype=np.int64), kind="stable")


def overlay_partitioned(
    net: Any,
    jurisdictions: gpd.GeoDataFrame,
    basin: gpd.GeoDataFrame,
    *,
    levels: Sequence[str],
    eng: Engine,
    partitions: int,
    spatial_min_reaches: int = DEFAULT_SPATIAL_MIN_REACHES,
) -> OverlayResult:
    """:func:`basingov.overlay.overlay_network` with the reach-by-reach work as tasks.

    Parameters
    ----------
    net
        The river network.
    jurisdictions, basin
        As in :func:`basingov.overlay.overlay_network`.
    levels
        Level names, coarsest first.
    eng
        Where the tasks run (:func:`engine`).
    partitions
        Number of sub-basins (:func:`basingov.network.sub_basins`), one task each.
    spatial_min_reaches
        From this many reaches on, dask-geopandas partitions the reach layer in space
        instead (``max(partitions, n / SPATIAL_CHUNK_REACHES)`` partitions).

    Returns
    -------
    OverlayResult
        Identical to :func:`basingov.overlay.overlay_network` on the whole network.

    Raises
    ------
    InputError
        If ``partitions`` or ``spatial_min_reaches`` is not a whole number >= 1.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from shapely import LineString
    >>> from basingov.examples import example_basin, example_jurisdictions
    >>> jur = example_jurisdictions(["A", "B"])  # A west, B east of x = 1000
    >>> tributary = LineString([(100, 900), (500, 500)])
    >>> main = LineString([(500, 500), (1900, 500)])
    >>> r = gpd.GeoDataFrame(dict(reach_id=[1, 2], length_km=[0.6, 1.4],
    ...     upstream_area_km2=[2.0, 5.0], local_area_km2=[2.0, 3.0]),
    ...     geometry=[tributary, main], crs=3035)
    >>> net = SimpleNamespace(reaches=r, idx_ds=np.array([1, -1]))  # 1 flows into 2
    >>> basin = example_basin()  # the union of A and B
    >>> with engine("synchronous") as eng:
    ...     ov = overlay_partitioned(net, jur, basin, levels=["country"], eng=eng, partitions=2)
    >>> ov.crossings[["from_jur", "to_jur", "reach_id"]].values.tolist()
    [['A', 'B', 2]]
    >>> ov.pieces.equals(overlay.overlay_network(net, jur, basin, levels=["country"]).pieces)
    True
    """
    for name, v in (("partitions", partitions), ("spatial_min_reaches", spatial_min_reaches)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            msg = f"{name} must be a whole number >= 1, got {v!r}"
            raise InputError(msg)
    levels_ = list(levels)
    reaches = net.reaches
    n = len(reaches)
    slim = gpd.GeoDataFrame(
        {"reach_id": reaches["reach_id"].to_numpy()},
        geometry=reaches.geometry.to_numpy(),
        crs=reaches.crs,
    )
    if n >= spatial_min_reaches:
        n_parts = max(int(partitions), -(-n // SPATIAL_CHUNK_REACHES))
        logger.info("overlay: %d reaches in %d spatial partitions (dask-geopandas)", n, n_parts)
        # runs of the Hilbert order: compact on the map, each in reach order
        groups = [np.sort(g) for g in np.array_split(hilbert_order(slim), n_parts) if g.size]
    else:
        label = sub_basins(net, int(partitions))
        order = np.argsort(label, kind="stable")
        cuts = np.flatnonzero(np.diff(label[order])) + 1
        groups = np.split(order, cuts)
        logger.info(
            "overlay: %d reaches in %d sub-basins of %s reaches",
            n,
            len(groups),
            "/".join(str(len(g)) for g in groups),
        )
    items = [slim.iloc[g].reset_index(drop=True) for g in groups]
    if eng.distributed:
        # parts come back packed (shared strings, no copy of the reach lines) and are
        # unpacked as they arrive: the caller never holds the bulky form of all of them
        results = eng.map(
            _overlay_task_packed, items, jurisdictions, levels_,
            then=functools.partial(_unpack_nth, items),
        )  # fmt: skip
    else:
        results = eng.map(_overlay_task, items, jurisdictions, levels_)
    # the workers are done with this overlay: hand what their tasks freed back
    eng.trim_workers()
    part = overlay.combine_reach_overlays(slim, list(zip(groups, results, strict=True)))
    # the parts are stitched: free them (and the reach subsets) before the work along the
    # network, which holds every piece of the basin
    del results, items
    trim_memory()
    return overlay.overlay_network(net, jurisdictions, basin, levels=levels_, reach_part=part)
