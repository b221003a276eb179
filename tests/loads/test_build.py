"""The loads stage's table of loaders (``basingov.loads.build``)."""

from __future__ import annotations

import pytest

from basingov import loads
from basingov.errors import InputError
from basingov.loads import build
from basingov.pipeline import run


def test_every_source_kind_has_one_loader_in_order():
    # [loads].sources accepts exactly the kinds the stage can load
    assert tuple(build._LOADERS) == loads.SOURCES


def test_monitoring_loads_without_a_monitoring_section_say_what_is_missing(tmp_path, edited_config):
    # the Thames config without its [monitoring] section, loads from the stations only (and
    # without the gauges of its monitoring tables, which the network stage would refuse)
    def edit(t: str) -> str:
        head = t.partition("[monitoring]")[0]
        head = "\n".join(ln for ln in head.splitlines() if not ln.startswith("gauge"))
        return head + '\n[loads]\nparameter = "TP"\nsources = ["monitoring"]\n'

    cfg = edited_config("thames", edit)
    with pytest.raises(InputError, match=r"'monitoring' needs the \[monitoring\] stations"):
        run(cfg, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_treatment_removal_is_read_once_per_basin():
    # the run's preflight checks it and the sewage loads use it: one read of the plant
    # tables (2,730 Rhine plants, about 0.2 s), not two
    from basingov.datasets import load_basin

    b = load_basin("rhine")
    first = build.sewage_removal(b)
    again = build.sewage_removal(b)
    assert again is first
    assert build.sewage_removal(load_basin("rhine")) is not first  # a new Basin reads again
    country_of, rem = first
    assert set(rem.index) == set(country_of)
    assert rem["removal"].between(0, 1).all()
