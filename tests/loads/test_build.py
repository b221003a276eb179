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
