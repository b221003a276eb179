"""Scale-out on dask (basingov.scale): partitioned runs give the single-process tables."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from benchmarks.synthetic import synthetic_basin
from shapely import LineString, box

import basingov
from basingov import _parallel, overlay, scale
from basingov.cli import main
from basingov.errors import EngineError, InputError
from basingov.network import network_from_table, sub_basins, upstream_first_order
from basingov.pipeline import run, run_many
from basingov.scale import LOCAL_HTTP
from tests.runs import assert_same_run
from tests.shapes import jur_layer

LEVELS = ["region", "unit"]
OVERLAY_FRAMES = (
    "pieces",
    "crossings",
    "boundary_reaches",
    "unit_shares",
    "boundary_crossings",
    "boundary_stretches",
)


def _random_tree(n: int, seed: int) -> np.ndarray:
    """idx_ds of a random tree: reach i >= 1 drains into a random reach below it."""
    rng = np.random.default_rng(seed)
    idx = (rng.random(n) * np.arange(n)).astype(np.int64)
    idx[0] = -1
    return idx


# --- sub-basins -------------------------------------------------------------------------
def test_upstream_first_order_puts_each_catchment_just_before_its_reach() -> None:
    idx = _random_tree(300, seed=3)
    order = upstream_first_order(idx)
    assert sorted(order.tolist()) == list(range(300))
    rank = np.empty(300, dtype=np.int64)
    rank[order] = np.arange(300)
    children: dict[int, list[int]] = {}
    for i, d in enumerate(idx):
        children.setdefault(int(d), []).append(i)
    for i in range(300):
        up, todo = {i}, [i]
        while todo:  # the catchment of i, by a plain graph search
            for c in children.get(todo.pop(), []):
                up.add(c)
                todo.append(c)
        # a contiguous run of the order that ends at i
        assert sorted(rank[list(up)].tolist()) == list(range(rank[i] - len(up) + 1, rank[i] + 1))


def test_upstream_first_order_refuses_pointers_that_are_no_positions() -> None:
    # a pointer past the end was written out of bounds by the numba kernel; -2 (an unknown
    # id of ids_to_positions) was taken as an outlet
    for bad, shown in (([5, -1], r"\[5\] at reach position\(s\) \[0\]"), ([-1, -2], r"\[-2\]")):
        with pytest.raises(InputError, match=rf"idx_ds must be 1-D positions 0..1 or -1.*{shown}"):
            upstream_first_order(np.array(bad))
    assert upstream_first_order(np.array([1, 0, -1])).tolist() == [2, 0, 1]  # a loop: last


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_sub_basins_cover_every_reach_with_balanced_units(n: int) -> None:
    reaches, _, _ = synthetic_basin(4000, 10, 2)
    net = network_from_table(reaches)
    label = sub_basins(net, n)
    assert label.shape == (net.n,)
    assert sorted(np.unique(label).tolist()) == list(range(n))
    length = net.reaches["length_km"].to_numpy()
    per_unit = np.bincount(label, weights=length)
    # cut at the middle of a reach: each unit is off the target by at most one reach
    assert np.abs(per_unit - length.sum() / n).max() <= length.max() + 1e-9


@pytest.mark.parametrize("n", [0, -1, 2.5, True])
def test_sub_basins_refuse_a_bad_count(n: object) -> None:
    reaches, _, _ = synthetic_basin(100, 4, 1)
    with pytest.raises(InputError, match=r"number of sub-basins must be a whole number >= 1"):
        sub_basins(network_from_table(reaches), n)  # type: ignore[arg-type]


def test_sub_basins_refuse_pointers_that_are_no_positions() -> None:
    # sub_basins takes anything with idx_ds and reaches: float pointers were truncated
    # (2.5 read as reach 2; NaN was refused as -9223372036854775808)
    reaches, _, _ = synthetic_basin(100, 4, 1)
    net = network_from_table(reaches)
    ds = net.idx_ds.astype(float)
    ds[0] += 0.5
    for bad in (ds, np.where(net.idx_ds < 0, np.nan, net.idx_ds)):
        with pytest.raises(
            InputError, match=r"idx_ds must hold whole-number positions, got dtype float64"
        ):
            sub_basins(SimpleNamespace(idx_ds=bad, reaches=net.reaches), 2)  # type: ignore[arg-type]
    with pytest.raises(
        InputError, match=r"idx_ds must be 1-D positions 0\.\.99 or -1 .* got \[100\] at reach"
    ):
        sub_basins(SimpleNamespace(idx_ds=np.r_[100, net.idx_ds[1:]], reaches=net.reaches), 2)  # type: ignore[arg-type]
    as_list = SimpleNamespace(idx_ds=net.idx_ds.tolist(), reaches=net.reaches)
    assert sub_basins(as_list, 2).tolist() == sub_basins(net, 2).tolist()  # type: ignore[arg-type]


# --- stitching --------------------------------------------------------------------------
@pytest.fixture
def two_boxes() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    jur = jur_layer(
        [
            ("A", "A", 0, "country", "", box(0, 0, 1000, 1000)),
            ("B", "B", 0, "country", "", box(1000, 0, 2000, 1000)),
        ]
    )
    r = gpd.GeoDataFrame(
        {"reach_id": [1, 2, 3]},
        geometry=[
            LineString([(100, 500), (1900, 500)]),
            LineString([(990, 900), (990, 100)]),
            LineString([(100, 100), (200, 200)]),
        ],
        crs=jur.crs,
    )
    return r, jur


def test_combine_refuses_parts_that_miss_or_repeat_reaches(
    two_boxes: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    r, jur = two_boxes
    part = overlay.reach_overlay(r.iloc[[0, 1]], jur)
    with pytest.raises(InputError, match=r"cover 2 reach positions for 3 reaches"):
        overlay.combine_reach_overlays(r, [(np.array([0, 1]), part)])
    with pytest.raises(InputError, match=r"every reach must be in exactly one part"):
        overlay.combine_reach_overlays(r, [(np.array([0, 0, 1]), overlay.reach_overlay(r, jur))])


def test_combined_parts_equal_the_whole_in_any_split(
    two_boxes: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    r, jur = two_boxes
    tol = overlay.ReachTolerances(border=100, stretch=100)
    whole = overlay.reach_overlay(r, jur, tolerances=tol)
    for split in ([[0], [1], [2]], [[2, 0], [1]], [[1, 2], [0]]):
        parts = [
            (np.array(p), overlay.reach_overlay(r.iloc[p], jur, tolerances=tol)) for p in split
        ]
        got = overlay.combine_reach_overlays(r, parts)
        pd.testing.assert_frame_equal(got.pieces, whole.pieces)
        pd.testing.assert_frame_equal(got.boundary_reaches, whole.boundary_reaches)
    assert len(whole.boundary_reaches) == 1  # the split really has a boundary reach to place


def test_reach_part_of_other_levels_is_refused(
    two_boxes: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    r, jur = two_boxes
    r = r.assign(upstream_area_km2=1.0, local_area_km2=1.0)
    part = overlay.reach_overlay(r, jur)
    part = overlay.ReachOverlay(part.pieces.rename(columns={"jur_country": "jur_x"}),
                                part.boundary_reaches)  # fmt: skip
    from types import SimpleNamespace

    net = SimpleNamespace(reaches=r, idx_ds=np.array([-1, -1, -1]))
    basin = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 1000)], crs=jur.crs)
    with pytest.raises(InputError, match=r"reach_part has the levels \['x'\]"):
        overlay.overlay_network(net, jur, basin, reach_part=part)


# --- a synthetic large network ----------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic() -> tuple[object, gpd.GeoDataFrame, gpd.GeoDataFrame, overlay.OverlayResult]:
    """SYNTHETIC basin (benchmarks/synthetic.py): 6,000 lattice reaches, 120 units."""
    reaches, jur, basin = synthetic_basin(6000, 120, 6)
    net = network_from_table(reaches)
    return net, jur, basin, overlay.overlay_network(net, jur, basin, levels=LEVELS)


def _assert_same_overlay(a: overlay.OverlayResult, b: overlay.OverlayResult) -> None:
    for name in OVERLAY_FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.piece_graph.src.tolist() == b.piece_graph.src.tolist()
    assert a.piece_graph.dst.tolist() == b.piece_graph.dst.tolist()


@pytest.mark.parametrize("partitions", [2, 5])
def test_sub_basin_overlay_equals_the_plain_one_on_a_synthetic_network(
    synthetic: tuple, partitions: int, caplog: pytest.LogCaptureFixture
) -> None:
    net, jur, basin, plain = synthetic
    # the synthetic borders make every kind of row: boundary reaches, stretches, gaps
    assert len(plain.boundary_reaches) > 100
    assert len(plain.boundary_stretches) > 10
    assert len(plain.crossings) > 500
    with caplog.at_level(logging.INFO, logger="basingov.scale"), scale.engine("synchronous") as eng:
        got = scale.overlay_partitioned(
            net, jur, basin, levels=LEVELS, eng=eng, partitions=partitions
        )
    assert f"in {partitions} sub-basins" in caplog.text
    _assert_same_overlay(plain, got)


def test_dask_geopandas_overlay_equals_the_plain_one(
    synthetic: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    net, jur, basin, plain = synthetic
    with caplog.at_level(logging.INFO, logger="basingov.scale"), scale.engine("synchronous") as eng:
        # the threshold lowered below the layer's size: the spatial path really runs
        got = scale.overlay_partitioned(
            net, jur, basin, levels=LEVELS, eng=eng, partitions=3, spatial_min_reaches=1000
        )
    assert f"{net.n} reaches in 3 spatial partitions (dask-geopandas)" in caplog.text
    _assert_same_overlay(plain, got)


def test_parts_packed_for_the_trip_back_unpack_to_the_same_frames(synthetic: tuple) -> None:
    import pickle

    net, jur, _, _ = synthetic
    part = net.reaches[["reach_id", "geometry"]].iloc[1000:2500].reset_index(drop=True)
    want = overlay.reach_overlay(part, jur, levels=LEVELS)
    packed = pickle.loads(pickle.dumps(scale._overlay_task_packed(part, jur, LEVELS)))
    # most pieces are whole reaches: their lines do not travel
    assert packed[0].from_reaches.mean() > 0.5
    got = scale._unpack_overlay(packed, part)
    pd.testing.assert_frame_equal(got.pieces, want.pieces, check_exact=True)
    pd.testing.assert_frame_equal(got.boundary_reaches, want.boundary_reaches, check_exact=True)
    # and they are the reach's own line objects again, as in a single run
    whole = got.pieces["geometry"].to_numpy()[packed[0].from_reaches]
    lines = part.geometry.to_numpy()[got.pieces["reach_pos"].to_numpy()[packed[0].from_reaches]]
    assert all(a is b for a, b in zip(whole, lines, strict=True))


@pytest.mark.parametrize(("partitions", "spatial"), [(0, 10), (2, 0), (1.5, 10)])
def test_bad_partition_options_are_refused(
    synthetic: tuple, partitions: object, spatial: object
) -> None:
    net, jur, basin, _ = synthetic
    with (
        scale.engine("synchronous") as eng,
        pytest.raises(InputError, match=r"must be a whole number >= 1"),
    ):
        scale.overlay_partitioned(
            net, jur, basin, levels=LEVELS, eng=eng, partitions=partitions,  # type: ignore[arg-type]
            spatial_min_reaches=spatial,  # type: ignore[arg-type]
        )  # fmt: skip


def test_loads_in_blocks_equal_the_plain_loads(
    monkeypatch: pytest.MonkeyPatch,
    shipped_overlay,
) -> None:
    res = shipped_overlay("thames")
    basin = res.basin
    from basingov.loads.build import basin_loads

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", basingov.errors.BasingovWarning)  # partial raster cover
        plain = basin_loads(basin, res.network, res.overlay.pieces)
    calls: list[int] = []

    def serial(fn, blocks):  # type: ignore[no-untyped-def]
        calls.append(len(blocks))
        return [fn(*b) for b in reversed(blocks)][::-1]  # any order of work, results in order

    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 40)  # the Thames arrays are small
    with _parallel.spread_over(serial, 7), warnings.catch_warnings():
        warnings.simplefilter("ignore", basingov.errors.BasingovWarning)
        got = basin_loads(basin, res.network, res.overlay.pieces)
    assert len(calls) >= 3
    assert max(calls) == 7
    pd.testing.assert_frame_equal(plain.table, got.table, check_exact=True)
    assert plain.tables.keys() == got.tables.keys()
    for name in plain.tables:
        pd.testing.assert_frame_equal(plain.tables[name], got.tables[name], check_exact=True)


# --- shipped basins on a dask cluster ---------------------------------------------------
@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """Start a 2-worker LocalCluster for the module; tests connect to it by address."""
    import dask
    from distributed import LocalCluster

    # as basingov starts its own (scale.WORKER_CONFIG: glibc's malloc defaults kept); the
    # nannies read the setting when they start, the other tests see dask's own
    with dask.config.set(scale.WORKER_CONFIG):
        c = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=LOCAL_HTTP
        )
    with c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def plain_run(shipped_run):  # type: ignore[no-untyped-def]
    """Return a factory giving a shipped basin's single-process run folder (conftest)."""

    def get(basin: str) -> Path:
        return shipped_run(basin).out

    return get


@pytest.mark.parametrize(
    ("basin", "partitions", "spatial", "blocks"),
    [("thames", 3, None, False), ("tennessee", 2, None, True), ("taihu", 2, 50, False)],
)
def test_partitioned_run_on_a_cluster_writes_identical_tables(
    basin: str,
    partitions: int,
    spatial: int | None,
    blocks: bool,
    cluster: str,
    plain_run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    if blocks:
        # the shipped rasters are small: lower the threshold so that the loads' cell
        # geometry really runs in blocks on the workers
        monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 40)
        real = scale.Engine.map_blocks

        def counted(self, fn, blocks):  # type: ignore[no-untyped-def]
            calls.append(len(blocks))
            return real(self, fn, blocks)

        monkeypatch.setattr(scale.Engine, "map_blocks", counted)
    out = tmp_path / basin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(
            basin,
            out_dir=out,
            partitions=partitions,
            scheduler=cluster,
            spatial_min_reaches=spatial or scale.DEFAULT_SPATIAL_MIN_REACHES,
        )
    assert res.summary["execution"] == {
        "scheduler": cluster,
        "partitions": partitions,
        "worker_threads": 2,
        "spatial_min_reaches": spatial or scale.DEFAULT_SPATIAL_MIN_REACHES,
    }
    assert_same_run(plain_run(basin), out)
    assert bool(calls) == blocks
    # the output rules hold: manifest, no temporary folder or lock left beside it
    assert (out / ".basingov-manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [basin]


def test_a_failure_while_a_worker_builds_the_map_leaves_no_output(
    cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from basingov import maps, pipeline

    real = pipeline.write_csv
    started: list[str] = []

    def failing(df: pd.DataFrame, path: Path, **kw: object) -> Path:
        if Path(path).stem not in maps.MAP_TABLES:  # written while the map task runs
            started.append(Path(path).stem)
            msg = "disk gone"
            raise OSError(msg)
        return real(df, path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "write_csv", failing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OSError, match="disk gone"):
            run("taihu", out_dir=tmp_path / "taihu", partitions=2, scheduler=cluster)
    assert started
    assert list(tmp_path.iterdir()) == []  # no output, no temporary folder, no lock


def test_a_task_beside_the_work_of_a_block_gives_its_result_or_is_cancelled(
    cluster: str,
) -> None:
    with scale.engine(cluster) as eng:
        with eng.task(divmod, 7, 4) as result:
            assert result() == (1, 3)
        with pytest.raises(ZeroDivisionError), eng.task(divmod, 1, 0) as result:
            result()

        def fail_beside_a_task() -> None:
            with eng.task(time.sleep, 2):
                msg = "the block fails"
                raise KeyError(msg)

        with pytest.raises(KeyError, match="fails"):
            fail_beside_a_task()

        # leaving the block without the result cancelled the task: it is not left on any
        # worker (other tasks of the module's cluster, e.g. the engine's warm-up, may be)
        def sleeping() -> list[str]:
            return [
                str(k) for ks in eng.client.processing().values() for k in ks
                if str(k).startswith("sleep-")
            ]  # fmt: skip

        deadline = time.monotonic() + 30
        while sleeping() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not sleeping()


def _where_it_runs(i: int) -> tuple[int, str, int]:
    from distributed import get_worker

    return i, str(get_worker().address), threading.get_ident()


def _where_sub_tasks_ran(
    n: int, spread: bool
) -> tuple[str | None, int, list[tuple[int, str, int]]]:
    with scale.worker_engine(spread=spread) as eng:
        return eng.home, threading.get_ident(), eng.map(_where_it_runs, list(range(n)))


def _where_the_map_task_ran() -> tuple[str, str]:
    # a basin of run all without partitions (whole) hands its map page to Engine.task
    with scale.worker_engine(spread=False) as eng:
        assert eng.whole
        assert eng.home is not None
        with eng.task(_where_it_runs, 0) as result:
            return eng.home, result()[1]


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def test_a_basins_map_task_goes_to_a_worker_with_nothing_to_do(cluster: str) -> None:
    # run all: the basin that finishes last (the Rhine) built its map on its own worker
    # after its tables while the other worker, out of basins, idled (dask's work stealing
    # moved the task in some runs only)
    from distributed import Client

    with Client(cluster) as c:
        a, b = list(c.nthreads())
        home, ran = c.submit(_where_the_map_task_ran, workers=[a], pure=False).result()
        assert (home, ran) == (a, b)
        # the other worker busy (another basin): the task waits for the basin's own
        # worker, which the basin leaves while it waits
        busy = c.submit(_sleep, 3, workers=[b], pure=False)
        try:
            time.sleep(0.5)
            home, ran = c.submit(_where_the_map_task_ran, workers=[a], pure=False).result()
            assert (home, ran) == (a, a)
        finally:
            busy.result()  # a running task cannot be cancelled: the module's cluster is free


@pytest.mark.parametrize("spread", [False, True])
def test_sub_tasks_of_a_basin_on_a_busy_cluster_run_in_its_task(cluster: str, spread: bool) -> None:
    # run all: when every worker runs a basin, a basin's sub-tasks run in its own task
    # (sent out they queued behind other basins' long stages); with workers to spare
    # they are tasks of the cluster, placed on the basin's worker first
    from distributed import Client

    with Client(cluster) as c:
        workers = list(c.nthreads())
        assert len(workers) == 2
        for w in workers:
            f = c.submit(_where_sub_tasks_ran, 6, spread, workers=[w], pure=False)
            home, thread, ran = f.result()
            assert home == w
            assert [i for i, _, _ in ran] == list(range(6))
            assert {where for _, where, _ in ran} <= set(workers)
            if spread:  # each a task of its own, in a thread of a worker's pool
                assert all(t != thread for _, _, t in ran)
            else:  # in the calling task, on its worker
                assert all((where, t) == (w, thread) for _, where, t in ran)
        # run_many's slots: one basin per worker process
        from basingov.pipeline import _basin_slots

        assert _basin_slots(c) == workers


@pytest.mark.slow
def test_run_all_with_partitions_nests_sub_basin_tasks(
    cluster: str, plain_run, tmp_path: Path
) -> None:
    # basins are tasks, and so are their map pages (worker_client). With as many basins
    # as workers a basin runs whole in its task; with workers to spare its sub-basins are
    # tasks of the same cluster
    busy = run_many(
        ["taihu", "tennessee"], out_dir=tmp_path / "busy", scheduler=cluster, partitions=2
    )
    spare = run_many(["taihu"], out_dir=tmp_path / "spare", scheduler=cluster, partitions=2)
    for basin, other in (("taihu", "tennessee"), ("tennessee", "taihu")):
        assert busy[basin]["execution"]["scheduler"] == "worker"
        assert_same_run(plain_run(basin), tmp_path / "busy" / basin)
        log = (tmp_path / "busy" / basin / "run.log").read_text(encoding="utf-8")
        assert "sub-basins" not in log
        assert f"basin map {basin} built on a dask worker" in log
        # a worker may build another basin's map beside a basin: its run.log keeps the
        # basin's own lines
        assert f"basin map {other}" not in log
    assert spare["taihu"]["execution"]["scheduler"] == "worker"
    assert_same_run(plain_run("taihu"), tmp_path / "spare" / "taihu")
    log = (tmp_path / "spare" / "taihu" / "run.log").read_text(encoding="utf-8")
    assert "in 2 sub-basins" in log
    assert "basin map taihu built on a dask worker" in log


@pytest.fixture(scope="module")
def larger_synthetic() -> tuple[object, gpd.GeoDataFrame, gpd.GeoDataFrame, overlay.OverlayResult]:
    """SYNTHETIC (benchmarks/synthetic.py): 60,000 lattice reaches, 1,000 units."""
    reaches, jur, basin = synthetic_basin(60_000, 1000, 20)
    net = network_from_table(reaches)
    return net, jur, basin, overlay.overlay_network(net, jur, basin, levels=LEVELS)


@pytest.mark.slow
@pytest.mark.parametrize("spatial", [None, 10_000])
def test_larger_synthetic_network_on_a_cluster_equals_the_plain_overlay(
    cluster: str, spatial: int | None, larger_synthetic: tuple
) -> None:
    """The larger synthetic network on 2 workers: the plain overlay, computed once."""
    net, jur, basin, plain = larger_synthetic
    with scale.engine(cluster) as eng:
        got = scale.overlay_partitioned(
            net, jur, basin, levels=LEVELS, eng=eng, partitions=4,
            spatial_min_reaches=spatial or scale.DEFAULT_SPATIAL_MIN_REACHES,
        )  # fmt: skip
    assert len(plain.crossings) > 5000
    _assert_same_overlay(plain, got)


@pytest.mark.slow
def test_rhine_partitioned_on_a_cluster_writes_identical_tables(
    cluster: str, plain_run, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run("rhine", out_dir=tmp_path / "rhine", partitions=4, scheduler=cluster)
    assert_same_run(plain_run("rhine"), tmp_path / "rhine")


def test_unreachable_scheduler_for_one_basin_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(scale, "SCHEDULER_TIMEOUT_S", 1)
    monkeypatch.setattr(
        "sys.argv",
        ["basingov", "run", "thames", "-o", str(tmp_path / "o"), "--scheduler",
         "tcp://127.0.0.1:9", "--partitions", "2"],
    )  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 1
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(
        "Error: cannot reach the dask scheduler at tcp://127.0.0.1:9 within 1 s"
    )
    assert list(tmp_path.iterdir()) == []


@contextlib.contextmanager
def _workers_that_cannot_start(tmp_path: Path) -> Iterator[None]:
    """Every dask worker process started in the block dies while starting.

    A worker preload that does not exist makes the nanny fail, as a broken worker
    environment does ("Nanny failed to start.").
    """
    import dask

    with dask.config.set({"distributed.worker.preload": [str(tmp_path / "no_such_preload.py")]}):
        yield


def _malloc_trim_threshold() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_cluster_workers_keep_glibc_malloc_defaults_and_no_profiler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dask
    import distributed  # noqa: F401 - puts distributed's defaults into dask.config

    # dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers unless told not to,
    # and its workers sample the stack of their running task every 10 ms
    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") == 65536
    assert dask.config.get("distributed.worker.profile.enabled") is True
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with scale.engine("local", n_workers=1) as eng:
        assert eng.client is not None
        assert list(eng.client.run(_malloc_trim_threshold).values()) == [None]
        profiled = eng.client.run(dask.config.get, "distributed.worker.profile.enabled")
        assert list(profiled.values()) == [False]
    # the caller's dask configuration is as it was
    assert dask.config.get("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_") == 65536
    assert dask.config.get("distributed.worker.profile.enabled") is True
    # a value set in the environment still reaches the workers (dask's rule)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    with scale.engine("local", n_workers=1) as eng:
        assert eng.client is not None
        assert list(eng.client.run(_malloc_trim_threshold).values()) == ["131072"]


#: Set in the test process while a LocalCluster starts: a forked worker has it, a spawned
#: one (a fresh interpreter importing this module) has the module's own value.
_BORN_HERE = "no"


def _born_here() -> str:
    return _BORN_HERE


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_forking_without_threadpoolctl_keeps_the_blas_threads(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # dask installed without basingov's dask extra: the cluster still starts
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import raises ImportError
    with (
        caplog.at_level(logging.INFO, logger="basingov.scale"),
        scale._one_blas_thread(forking=True),
    ):
        pass
    assert "threadpoolctl is not installed (pip install 'basingov[dask]')" in caplog.text


@pytest.mark.skipif(sys.platform != "linux", reason="basingov forks its workers on Linux only")
def test_forked_workers_run_blas_and_basingov_on_one_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threadpoolctl import threadpool_limits

    from basingov import _threads

    monkeypatch.delenv(scale.START_METHOD_ENV, raising=False)
    monkeypatch.delenv(_threads.THREADS_ENV, raising=False)
    # this process's BLAS has two threads here (one per core of the P6 machine)
    with threadpool_limits(limits=2, user_api="blas"):
        mine = _blas_threads()
        assert set(mine) == {2}
        with scale.engine("local", n_workers=1) as eng:
            assert eng.client is not None
            # a forked copy would have two as well; dask's OPENBLAS_NUM_THREADS=1 reaches
            # only spawned workers
            # (numpy and scipy each load a BLAS)
            assert [set(t) for t in eng.client.run(_blas_threads).values()] == [{1}]
            assert eng.client.submit(_threads.workers, pure=False).result() == 1
        # this process has its own back
        assert _blas_threads() == mine
        # in a task of a worker when the user says so
        monkeypatch.setenv(_threads.THREADS_ENV, "3")
        with scale.engine("local", n_workers=1) as eng:
            assert eng.client is not None
            assert eng.client.submit(_threads.workers, pure=False).result() == 3


_LOST_DEFAULTS = """
import warnings
import dask
with dask.config.set({"distributed.scheduler.work-stealing": False}):
    import distributed  # first imported inside the block: its defaults go when it ends
try:
    dask.config.get("distributed.worker.multiprocessing-method")
except KeyError:
    print("lost")
from basingov import scale
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with scale.engine("local", n_workers=1) as eng:
        print(eng.map(divmod, [7, 9], 4))
print(dask.config.get("distributed.worker.multiprocessing-method"))
print([str(w.message)[:40] for w in caught])
"""


def test_an_engine_puts_back_distributed_defaults_a_config_block_removed() -> None:
    # a user's dask.config.set block entered before distributed was imported removes
    # distributed's defaults when it ends (dask behaviour): the engine still starts
    done = subprocess.run(
        [sys.executable, "-c", _LOST_DEFAULTS],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "lost"
    assert lines[1] == "[(1, 3), (2, 1)]"
    assert lines[2] in ("fork", "spawn", "forkserver")
    assert lines[3] == '["dask\'s configuration had lost distribute"]'


@pytest.mark.skipif(sys.platform != "linux", reason="basingov forks its workers on Linux only")
def test_local_cluster_workers_are_forked_from_the_calling_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(scale.START_METHOD_ENV, raising=False)
    assert scale.start_method() == "fork"
    monkeypatch.setattr(sys.modules[__name__], "_BORN_HERE", "yes")
    with scale.engine("local", n_workers=1) as eng:
        assert eng.client is not None
        # the worker is a copy of this process: what this process set is there already
        assert list(eng.client.run(_born_here).values()) == ["yes"]
    # dask's own setting in the environment is kept (here: its default, spawn)
    monkeypatch.setenv(scale.START_METHOD_ENV, "spawn")
    assert scale.start_method() == "spawn"
    with scale.engine("local", n_workers=1) as eng:
        assert eng.client is not None
        assert list(eng.client.run(_born_here).values()) == ["no"]


def test_local_cluster_whose_workers_cannot_start_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # was "Error: internal error RuntimeError: Nanny failed to start. This is a bug ..."
    out = tmp_path / "o"
    monkeypatch.setattr(
        "sys.argv", ["basingov", "run", "taihu", "-o", str(out), "--partitions", "2"]
    )
    with _workers_that_cannot_start(tmp_path), pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert "internal error" not in err
    # dask logs the worker's own failure first (its traceback, from the nanny); basingov
    # adds one line, the last, and no traceback of its own
    errors = [ln for ln in err.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, err
    assert err.rstrip().splitlines()[-1] == errors[0]
    assert "basingov/" not in err.split("Error:")[0].replace("no_such_preload", "")
    assert re.match(
        r"Error: the local dask cluster could not start its \d worker process\(es\) "
        r"\(RuntimeError: Nanny failed to start\.\); the messages of dask above say why\. "
        r"Run in this process with --scheduler synchronous, or start a scheduler and "
        r"workers yourself \(`dask scheduler`, `dask worker ADDRESS`; docs/scale\.md\) "
        r"and pass --scheduler ADDRESS$",
        errors[0],
    ), errors[0]
    assert not out.exists()


def test_run_all_on_a_local_cluster_whose_workers_cannot_start_is_an_engine_error(
    tmp_path: Path,
) -> None:
    with (
        _workers_that_cannot_start(tmp_path),
        pytest.raises(
            EngineError, match=r"could not start its \d worker process.*--scheduler synchronous"
        ),
    ):
        run_many(["taihu", "thames"], out_dir=tmp_path / "o", scheduler="local")
    assert not (tmp_path / "o" / "taihu").exists()


def test_bad_scheduler_for_one_basin_is_refused_before_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"'http://x:1' is not 'local', 'synchronous'"):
        run("thames", out_dir=tmp_path / "o", scheduler="http://x:1")
    with pytest.raises(InputError, match=r"partitions must be a whole number >= 1, got 0"):
        run("thames", out_dir=tmp_path / "o", partitions=0)
    assert list(tmp_path.iterdir()) == []


# --- a scheduler and workers started by hand, as a user would --------------------------
def _scheduler_address(file: Path, proc: subprocess.Popen[bytes], log: Path) -> str:
    """Return the address ``dask scheduler --port 0`` chose (from its --scheduler-file)."""
    deadline = time.monotonic() + 120
    while not file.is_file() or not file.read_text().strip():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go, but let a slow disk finish
    return str(json.loads(file.read_text())["address"])


@pytest.mark.slow
def test_run_against_a_scheduler_and_workers_started_by_hand(plain_run, tmp_path: Path) -> None:
    dask_cli = Path(sys.executable).parent / "dask"
    env = dict(os.environ)
    # the workers import basingov from this checkout, as an installed package would be
    src = str(Path(basingov.__file__).parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        sched_log = stack.enter_context((logs / "scheduler.log").open("wb"))
        worker_log = stack.enter_context((logs / "worker.log").open("wb"))
        try:
            # as docs/scale.md tells a user: a scheduler on a port it picks, then workers
            procs.append(subprocess.Popen(
                [str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0",
                 "--dashboard-address", LOCAL_HTTP,
                 "--scheduler-file", str(logs / "scheduler.json")],
                env=env, stdout=subprocess.DEVNULL, stderr=sched_log,
            ))  # fmt: skip
            address = _scheduler_address(logs / "scheduler.json", procs[0], logs / "scheduler.log")
            assert address.startswith("tcp://127.0.0.1:")
            # the workers with the dask configuration docs/scale.md gives (DASK_CONFIG)
            conf = tmp_path / "dask-config"
            conf.mkdir()
            (conf / "workers.yaml").write_text(
                "distributed:\n  nanny:\n    pre-spawn-environ:\n"
                "      MALLOC_TRIM_THRESHOLD_: null\n"
                "  worker:\n    profile:\n      enabled: false\n",
                encoding="utf-8",
            )
            worker_env = {**env, "DASK_CONFIG": str(conf)}
            worker_env.pop("MALLOC_TRIM_THRESHOLD_", None)
            procs.append(subprocess.Popen(
                [str(dask_cli), "worker", address, "--nworkers", "2", "--nthreads", "1",
                 "--dashboard-address", LOCAL_HTTP],
                env=worker_env, stdout=subprocess.DEVNULL, stderr=worker_log,
            ))  # fmt: skip
            _use_hand_started_cluster(address, env, plain_run, tmp_path)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def _use_hand_started_cluster(  # type: ignore[no-untyped-def]
    address: str, env: dict[str, str], plain_run, tmp_path: Path
) -> None:
    """Wait for the two workers, run the Thames with the CLI, compare the tables."""
    import dask
    from distributed import Client

    deadline = time.monotonic() + 120
    while True:
        try:
            with Client(address, timeout=5) as c:
                c.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                # docs/scale.md's configuration reached them: glibc's malloc defaults kept
                kept = c.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
                # (dask.config.get: the workers cannot import this test module)
                profiled = c.run(dask.config.get, "distributed.worker.profile.enabled")
            assert list(kept.values()) == [None, None]
            assert list(profiled.values()) == [False, False]
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    out = tmp_path / "thames"
    done = subprocess.run(
        [sys.executable, "-m", "basingov.cli", "-q", "run", "thames", "-o", str(out),
         "--scheduler", address, "--partitions", "3", "--json"],
        env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"scheduler": "' + address + '"' in done.stdout
    assert_same_run(plain_run("thames"), out)
