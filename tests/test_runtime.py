"""basingov computes with Python-stored strings and a frozen heap, and writes the same outputs."""

from __future__ import annotations

import gc
import threading
import warnings
import weakref
from pathlib import Path

import pandas as pd
import pytest

from basingov import _runtime
from basingov._runtime import computing, same_runtime
from tests.runs import assert_same_run

OPTION = "mode.string_storage"


def _storage() -> str:
    return str(pd.Series(["DE1"]).dtype.storage)


def test_the_settings_hold_in_the_block_and_are_undone_after() -> None:
    before = pd.get_option(OPTION)
    assert gc.get_freeze_count() == 0
    with computing():
        assert _storage() == "python"
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with computing():  # re-entrant: nothing frozen again
            assert _storage() == "python"
            assert gc.get_freeze_count() == frozen
        assert _storage() == "python"
    assert pd.get_option(OPTION) == before
    assert gc.get_freeze_count() == 0


def test_the_settings_are_undone_after_an_error() -> None:
    before = pd.get_option(OPTION)

    def fail() -> None:
        with computing():
            msg = "boom"
            raise ValueError(msg)

    with pytest.raises(ValueError, match="boom"):
        fail()
    assert pd.get_option(OPTION) == before
    assert gc.get_freeze_count() == 0


def test_threads_share_the_settings_until_the_last_one_leaves() -> None:
    """Two runs in two threads: the first to finish must not undo the other's settings."""
    before = pd.get_option(OPTION)
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen: dict[str, object] = {}

    def first() -> None:
        with computing():
            inside.wait()
        first_left.set()

    def second() -> None:
        with computing():
            inside.wait()
            first_left.wait()
            seen["storage"] = _storage()
            seen["frozen"] = gc.get_freeze_count()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["storage"] == "python"
    assert isinstance(seen["frozen"], int)
    assert seen["frozen"] > 0
    assert pd.get_option(OPTION) == before
    assert gc.get_freeze_count() == 0


def test_a_task_runs_as_the_code_that_made_it() -> None:
    default = _storage()
    with computing():
        made_in_a_run = same_runtime(_storage)
    made_outside = same_runtime(_storage)
    assert made_in_a_run() == "python"
    assert made_outside() == default
    assert made_in_a_run.__name__ == "_storage"  # the name dask shows for the task


class _Node:
    other: object = None


def test_cycles_made_before_the_run_are_collected_after_it() -> None:
    """Frozen during the run, handed back to the collector when it ends."""
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    gone = threading.Event()
    weakref.finalize(a, gone.set)
    with computing():
        del a, b
        gc.collect()
        assert not gone.is_set()  # frozen: the run's collections do not walk it
    gc.collect()
    assert gone.is_set()


def test_a_run_returns_python_strings_and_undoes_the_settings(shipped_run) -> None:  # type: ignore[no-untyped-def]
    res = shipped_run("taihu").results
    assert pd.get_option(OPTION) != "python"
    assert gc.get_freeze_count() == 0
    crossings = res.tables["crossings"]
    text = [c for c in crossings.columns if isinstance(crossings[c].dtype, pd.StringDtype)]
    assert text, crossings.dtypes
    assert {crossings[c].dtype.storage for c in text} == {"python"}


@pytest.mark.slow
def test_arrow_strings_and_a_live_heap_write_the_same_run(
    shipped_run,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Taihu run with pandas' Arrow storage and no frozen heap writes the same run.

    The four basins were compared by hand as well (docs/performance.md, P4).
    """
    from basingov.pipeline import run

    monkeypatch.setattr(_runtime, "STORAGE", "pyarrow")
    monkeypatch.setattr(_runtime.gc, "freeze", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run("taihu", out_dir=tmp_path / "taihu")
    assert {
        df[c].dtype.storage
        for df in res.tables.values()
        for c in df.columns
        if isinstance(df[c].dtype, pd.StringDtype)
    } == {"pyarrow"}
    assert_same_run(shipped_run("taihu").out, tmp_path / "taihu")


def test_a_partitioned_basin_of_run_many_computes_inside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A basin of ``run_many`` with partitions (on a worker, or here) runs as ``run`` does.

    Its task is made outside any run (``run_many`` called from a library), so the
    settings must come from the basin's own code path (seen failing before).
    """
    from basingov import pipeline

    seen: dict[str, object] = {}
    real = pipeline._analyse

    def spy(*args: object, **kwargs: object) -> object:
        seen["storage"] = pd.get_option(OPTION)
        seen["frozen"] = gc.get_freeze_count() > 0
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_analyse", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = pipeline._run_partitioned(
            "taihu", str(tmp_path / "taihu"), False, 2, 10_000, spread=False
        )
    assert summary["basin"] == "taihu"
    assert seen == {"storage": "python", "frozen": True}
    assert gc.get_freeze_count() == 0


def test_the_compiler_lock_guard_holds_the_handlers_and_puts_them_back():
    """While the main thread holds numba's compiler lock its Python handlers are held."""
    import signal

    from basingov._runtime import _CompilerLockGuard, _Held

    def mine(signum, frame):
        raise KeyboardInterrupt

    def other(signum, frame):
        raise KeyboardInterrupt

    guard = _CompilerLockGuard()
    before = signal.signal(signal.SIGINT, mine)
    term = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        guard.on_start(None)
        guard.on_start(None)  # the lock is re-entrant
        held = signal.getsignal(signal.SIGINT)
        assert isinstance(held, _Held)
        assert held.handler is mine
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # no Python handler
        guard.on_end(None)
        assert signal.getsignal(signal.SIGINT) is held
        guard.on_end(None)
        assert signal.getsignal(signal.SIGINT) is mine
        guard.on_end(None)  # an unmatched end changes nothing
        assert signal.getsignal(signal.SIGINT) is mine
        # a handler the program sets while a kernel loads is kept
        guard.on_start(None)
        signal.signal(signal.SIGINT, other)
        guard.on_end(None)
        assert signal.getsignal(signal.SIGINT) is other
    finally:
        signal.signal(signal.SIGINT, before)
        signal.signal(signal.SIGTERM, term)
