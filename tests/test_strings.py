"""basingov computes with pandas' Python string storage, and writes the same outputs."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pandas as pd
import pytest

from basingov import _strings
from basingov._strings import python_strings, same_strings
from tests.runs import assert_same_run

OPTION = "mode.string_storage"


def _storage() -> str:
    return str(pd.Series(["DE1"]).dtype.storage)


def test_the_option_is_set_in_the_block_and_restored_after() -> None:
    before = pd.get_option(OPTION)
    with python_strings():
        assert _storage() == "python"
        with python_strings():  # re-entrant
            assert _storage() == "python"
        assert _storage() == "python"
    assert pd.get_option(OPTION) == before


def test_the_option_is_restored_after_an_error() -> None:
    before = pd.get_option(OPTION)

    def fail() -> None:
        with python_strings():
            msg = "boom"
            raise ValueError(msg)

    with pytest.raises(ValueError, match="boom"):
        fail()
    assert pd.get_option(OPTION) == before


def test_threads_share_the_option_until_the_last_one_leaves() -> None:
    """Two runs in two threads: the first to finish must not switch the other back."""
    before = pd.get_option(OPTION)
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen: dict[str, str] = {}

    def first() -> None:
        with python_strings():
            inside.wait()
        first_left.set()

    def second() -> None:
        with python_strings():
            inside.wait()
            first_left.wait()
            seen["second"] = _storage()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["second"] == "python"
    assert pd.get_option(OPTION) == before


def test_a_task_computes_with_the_storage_of_the_code_that_made_it() -> None:
    default = _storage()
    with python_strings():
        made_in_a_run = same_strings(_storage)
    made_outside = same_strings(_storage)
    assert made_in_a_run() == "python"
    assert made_outside() == default
    assert made_in_a_run.__name__ == "_storage"  # the name dask shows for the task


def test_a_run_returns_python_strings_and_leaves_the_option(shipped_run) -> None:  # type: ignore[no-untyped-def]
    res = shipped_run("taihu").results
    assert pd.get_option(OPTION) != "python"
    crossings = res.tables["crossings"]
    text = [c for c in crossings.columns if isinstance(crossings[c].dtype, pd.StringDtype)]
    assert text, crossings.dtypes
    assert {crossings[c].dtype.storage for c in text} == {"python"}


@pytest.mark.slow
def test_arrow_strings_write_the_same_run(
    shipped_run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """The Taihu run with pandas' Arrow storage writes what the default run wrote.

    The four basins were compared by hand as well (docs/performance.md, P4).
    """
    from basingov.pipeline import run

    monkeypatch.setattr(_strings, "STORAGE", "pyarrow")
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
