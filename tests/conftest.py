"""Fixtures shared by the test packages: the small hand-built basins and the shipped ones."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pytest
from shapely import box

from basingov.network import RiverNetwork, network_from_table
from tests.shapes import jur_layer, reach_table

if TYPE_CHECKING:
    from basingov.pipeline import Results


@pytest.fixture
def two_states() -> gpd.GeoDataFrame:
    """West state A and east state B (1 km x 2 km each), both in country X."""
    return jur_layer(
        [
            ("X", "Xland", 0, "country", "", box(0, 0, 2000, 2000)),
            ("A", "Alpha", 1, "state", "X", box(0, 0, 1000, 2000)),
            ("B", "Beta", 1, "state", "X", box(1000, 0, 2000, 2000)),
        ]
    )


@pytest.fixture
def y_net() -> RiverNetwork:
    """Y confluence: 1 (in A) and 2 (B -> A) join at (800, 1000); 3 flows A -> B."""
    t = reach_table(
        {
            1: (3, [(100, 1800), (800, 1000)]),
            2: (3, [(1500, 1800), (800, 1000)]),
            3: (-1, [(800, 1000), (1800, 200)]),
        },
        local_area_km2=[10.0, 20.0, 6.0],
    )
    return network_from_table(t)


@pytest.fixture
def chain_abc() -> tuple[RiverNetwork, gpd.GeoDataFrame]:
    """Chain A -> B -> C of 1 km boxes; reaches meet at the borders and in the middle."""
    jur = jur_layer(
        [
            ("A", "A", 0, "county", "", box(0, 0, 1000, 1000)),
            ("B", "B", 0, "county", "", box(1000, 0, 2000, 1000)),
            ("C", "C", 0, "county", "", box(2000, 0, 3000, 1000)),
        ]
    )
    t = reach_table(
        {
            1: (2, [(100, 500), (1500, 500)]),
            2: (3, [(1500, 500), (2000, 500)]),  # ends exactly on the B/C border
            3: (-1, [(2000, 500), (2900, 500)]),
        },
        local_area_km2=[5.0, 5.0, 5.0],
    )
    return network_from_table(t), jur


_SHIPPED: dict[str, object] = {}
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def edited_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a shipped basin's config, data paths made absolute, after ``edit``, to tmp_path.

    ``edited_config("thames", lambda text: text.replace(...), name="x.toml")`` returns the
    path of the written config.
    """

    def write(basin: str, edit: Callable[[str], str] = str, *, name: str = "") -> Path:
        text = (DATA / "basins" / f"{basin}.toml").read_text(encoding="utf-8")
        path = tmp_path / (name or f"{basin}_edited.toml")
        path.write_text(edit(text.replace("../", f"{DATA}/")), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def shipped_overlay():
    """Load a shipped basin's overlay once per session: ``shipped_overlay("rhine")``."""
    from basingov.query import load_overlay

    def get(basin: str):
        if basin not in _SHIPPED:
            with warnings.catch_warnings():
                # the coarse Natural Earth / DCW networks drop disconnected lines with a warning
                warnings.simplefilter("ignore")
                _SHIPPED[basin] = load_overlay(basin)
        return _SHIPPED[basin]

    return get


@dataclass(frozen=True, eq=False)
class ShippedRun:
    """One single-process run of a shipped basin, written to disk.

    ``out`` is the run folder (as ``basingov run BASIN -o out`` writes it), ``results``
    what :func:`basingov.run` returned, ``warnings`` every warning the run issued (all
    BasingovWarning: any other warning fails the fixture).
    """

    out: Path
    results: Results
    warnings: tuple[warnings.WarningMessage, ...]

    @property
    def messages(self) -> list[str]:
        return [str(w.message) for w in self.warnings]


@pytest.fixture(scope="session")
def shipped_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ShippedRun]:
    """Run a shipped basin once per session: ``shipped_run("rhine").out``.

    A full run of each basin is the most expensive set-up of the suite; the tests that only
    read a plain run's outputs (tables, layers, summary, map, warnings) share this one.
    Tests must not write into ``out`` or change ``results`` (copy them first).
    """
    from basingov.errors import BasingovWarning
    from basingov.pipeline import run

    root = tmp_path_factory.mktemp("shipped-runs")
    done: dict[str, ShippedRun] = {}

    def get(basin: str) -> ShippedRun:
        if basin not in done:
            out = root / basin
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                res = run(basin, out_dir=out)
            other = [w for w in rec if not issubclass(w.category, BasingovWarning)]
            assert not other, [f"{w.category.__name__}: {w.message}" for w in other]
            done[basin] = ShippedRun(out, res, tuple(rec))
        return done[basin]

    return get
