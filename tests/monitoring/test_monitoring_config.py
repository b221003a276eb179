"""The [monitoring] config section: new keys, their types and checked values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from basingov.config import load_config
from basingov.datasets import get_path, load_basin
from basingov.errors import ConfigError
from basingov.monitoring import assess

MINIMAL = """
[basin]
name = "toy"
title = "Toy"
crs = "EPSG:3035"
outlet = [4.0, 52.0]
network = "main"

[boundaries]
path = "bounds.gpkg"
levels = ["country"]

[networks.main]
builder = "next_down"
path = "rivers.gpkg"
next_down_column = "NEXT_DOWN"

[monitoring]
stations = "st.csv"
observations = "obs.csv"
"""


def write(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "toy.toml"
    p.write_text(MINIMAL + extra, encoding="utf-8")
    return p


def test_defaults_and_paths(tmp_path: Path) -> None:
    full = load_config(write(tmp_path, 'proxy_locations = "sub/px.csv"\n'))
    cfg = full.monitoring
    assert cfg.proxy_locations == (tmp_path / "sub" / "px.csv").resolve()
    assert (cfg.standard, cfg.target_class, cfg.period) == ("GB3838-2002", "III", "year")
    assert (cfg.snap_tolerance_m, cfg.section_tolerance_m) == (2000.0, 2000.0)
    # the proxy table is an input: summary.json lists it with its sha256
    assert cfg.proxy_locations in full.input_paths()


def test_bad_values_are_reported_together(tmp_path: Path) -> None:
    text = 'period = "week"\nsection_tolerance_m = "far"\nsnap_tolerance_m = -5\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    msg = str(info.value)
    assert "[monitoring].section_tolerance_m must be a number, got 'far'" in msg
    assert "[monitoring].period must be one of ['year', 'month'], got 'week'" in msg
    assert "[monitoring].snap_tolerance_m must be >= 0 metres, got -5" in msg
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['standrad'\] in \[monitoring\]"):
        load_config(write(tmp_path, 'standrad = "GB3838-2002"\n'))


def test_assess_checks_standard_and_class() -> None:
    b = load_basin("taihu")
    cfg = dataclasses.replace(b.config.monitoring, standard="WFD", target_class="VI")
    with pytest.raises(ConfigError, match=r"\[monitoring\]\.standard must be one of \['GB3838"):
        assess(b, None, None, config=cfg)
    cfg = dataclasses.replace(b.config.monitoring, target_class="VI")
    with pytest.raises(ConfigError, match=r"target_class must be a class of GB3838-2002"):
        assess(b, None, None, config=cfg)
    cfg = dataclasses.replace(b.config.monitoring, observations=None)
    with pytest.raises(ConfigError, match="needs both 'stations' and 'observations'"):
        assess(b, None, None, config=cfg)


@pytest.mark.parametrize("name", ["rhine", "taihu", "tennessee", "thames"])
def test_shipped_monitoring_files_exist(name: str) -> None:
    mon = load_config(get_path(name)).monitoring
    for p in (mon.stations, mon.observations, mon.proxy_locations):
        assert p is None or p.is_file()
    assert mon.stations is not None
