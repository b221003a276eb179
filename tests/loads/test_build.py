"""The loads stage's table of loaders (``basingov.loads.build``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from basingov import loads
from basingov.errors import BasingovWarning, InputError
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
    pooled = r"for IT, LI: the pooled removal 0\.781 of all 2221 reporting UWWTD plants"
    with pytest.warns(BasingovWarning, match=pooled):
        first = build.sewage_removal(b)
    again = build.sewage_removal(b)
    assert again is first
    with pytest.warns(BasingovWarning, match=pooled):  # a new Basin reads again
        assert build.sewage_removal(load_basin("rhine")) is not first
    country_of, rem = first
    assert set(rem.index) == set(country_of)
    assert rem["removal"].between(0, 1).all()


def test_a_country_taking_the_pooled_removal_is_in_the_run_warnings(tmp_path, edited_config):
    # the Thames with treatment country IE: no Irish plant in the tables, no row in the
    # removal table, so IE takes the pooled removal of the 2,221 reporting plants; the run
    # said so nowhere (the preflight computes the removal before the run records warnings)
    cfg = edited_config(
        "thames", lambda t: t.replace('treatment_country = "GB"', 'treatment_country = "IE"')
    )
    with pytest.warns(BasingovWarning) as rec:
        run(cfg, out_dir=tmp_path / "out")
    pooled = "no treatment removal of TN from UWWTD plants or the removal table for IE: the "
    said = [str(w.message) for w in rec if str(w.message).startswith(pooled)]
    assert len(said) == 1  # once, to the caller
    assert "pooled removal 0.781 of all 2221 reporting UWWTD plants" in said[0]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert [m for m in summary["warnings"] if m.startswith(pooled)] == said
    log = (tmp_path / "out" / "run.log").read_text(encoding="utf-8")
    assert log.count(said[0]) == 1
    rem = pd.read_csv(tmp_path / "out" / "tables" / "treatment_removal.csv")
    assert rem.set_index("country").loc["IE", "removal_status"] == "assumed"
