"""The [monitoring] config section: new keys, their types and checked values."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from basingov.config import load_config
from basingov.datasets import data_dir, get_path, load_basin
from basingov.errors import ConfigError, InputError
from basingov.monitoring import assess
from basingov.pipeline import run, validate

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


@pytest.mark.parametrize(
    ("drop", "match"),
    [
        ("stations", r"gives observations = '.*obs\.csv', proxy_locations = '.*px\.csv' but no "
         r"stations: .*; set stations, or remove observations and proxy_locations$"),
        ("observations", r"gives stations = '.*st\.csv', proxy_locations = '.*px\.csv' but no "
         r"observations: .*; set observations, or remove stations and proxy_locations$"),
    ],
)  # fmt: skip
def test_monitoring_files_without_their_pair_are_refused(tmp_path: Path, drop: str, match: str):
    # a run skipped [monitoring] without a word when one of the two tables was missing,
    # proxy_locations included; validate (which loads the config first) said no problems
    text = (MINIMAL + 'proxy_locations = "px.csv"\n').replace(f'{drop} = "', f'#{drop} = "')
    p = tmp_path / "toy.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[monitoring\] " + match.replace("$", "")):
        load_config(p)
    only = MINIMAL.replace('stations = "st.csv"\nobservations = "obs.csv"\n', "")
    p.write_text(only + 'proxy_locations = "px.csv"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"but no stations or observations: .*; set stations "
                       r"and observations, or remove proxy_locations"):  # fmt: skip
        load_config(p)


def _proxy_problems(cfg: Path) -> list[str]:
    return [p for r in validate(cfg) if r.what == "monitoring proxy_locations" for p in r.problems]


def test_validate_checks_proxy_locations(tmp_path: Path, edited_config) -> None:
    px = tmp_path / "px.csv"

    def config(path: Path, name: str, key: str = "proxy_locations") -> Path:
        def edit(text: str) -> str:
            return re.sub(rf'\n{key} = ".*"', f'\n{key} = "{path}"', text)

        return edited_config("taihu", edit, name=name)

    # a missing file: validate filed it under the station table ('Station table ...nope.csv
    # does not exist'), the run failed after the network and overlay; both name the key now
    cfg = config(tmp_path / "nope.csv", "missing.toml")
    missing = r"\[monitoring\]\.proxy_locations = '.*nope\.csv' does not exist \(paths are"
    assert len(_proxy_problems(cfg)) == 1
    assert re.match(missing, _proxy_problems(cfg)[0])
    with pytest.raises(ConfigError, match=missing):
        run(cfg)  # in its first second
    # the checks the monitoring stage makes, named by key: unknown stations, rows without
    # a location (the station became a proxy without one)
    rows = (data_dir() / "monitoring" / "taihu_sections_geocoded.csv").read_text(encoding="utf-8")
    px.write_text(rows.replace("\nTBA004,", "\nTBAXXX,"), encoding="utf-8")
    (problem,) = _proxy_problems(config(px, "unknown.toml"))
    assert re.match(
        r"\[monitoring\]\.proxy_locations = '.*px\.csv': proxy table px\.csv: station_id\(s\) "
        r"\['TBAXXX'\] are not in the station table$",
        problem,
    ), problem
    px.write_text(rows.replace(",121.097955,30.816451,", ",,,"), encoding="utf-8")
    (problem,) = _proxy_problems(config(px, "blank.toml"))
    assert "station_id(s) ['TBA004'] have no lon/lat" in problem
    # rows for stations the station table locates are not used: said so in a note
    st = tmp_path / "st.csv"
    stations = (data_dir() / "monitoring" / "taihu_stations.csv").read_text(encoding="utf-8")
    lines = stations.splitlines(keepends=True)
    head = lines[0].rstrip("\n").split(",")
    (i,) = [k for k, line in enumerate(lines) if line.startswith("TBA004,")]
    cells = lines[i].rstrip("\n").split(",")
    cells[head.index("lon")], cells[head.index("lat")] = "121.1", "30.8"
    cells[head.index("location_status")] = "measured"
    lines[i] = ",".join(cells) + "\n"
    st.write_text("".join(lines), encoding="utf-8")
    cfg = config(st, "st.toml", key="stations")
    (rep,) = [r for r in validate(cfg) if r.what == "monitoring proxy_locations"]
    assert rep.ok
    assert rep.notes == [
        "10 unlocated station(s) located by proxy; 10 proxies in all with the table's own",
        "1 row(s) not used: their stations have a location in the station table (['TBA004'])",
    ]
    # a station table without location_status: the run refused it, validate said nothing
    st.write_text(stations.replace("location_status", "status"), encoding="utf-8")
    (rep,) = [r for r in validate(cfg) if r.what == "stations"]
    assert any("lacks column(s) ['location_status']" in p for p in rep.problems), rep.problems
    with pytest.raises(InputError, match=r"lacks column\(s\) \['location_status'\]"):
        run(cfg)


@pytest.mark.parametrize(
    ("row", "match"),
    [  # validate checked the observations' columns only, and said "no problems"
        ("TAIHU_LAKE_MEAN,2012-01-01,TP,-0.05,mg/L P,,x",
         r"column 'value' is negative in 1 row\(s\), e\.g\. TAIHU_LAKE_MEAN 2012-01-01"),
        (",2012-01-01,TP,0.05,mg/L P,,x", r"column 'station_id' is blank in 1 row\(s\)"),
        ("TAIHU_LAKE_MEAN,2012-01-01,NH4,0.5,mg/L,,x", r"NH4 in 'mg/L' is ambiguous"),
        ("TBA999,2012-01-01,TP,0.05,mg/L P,,x",
         r"column 'station_id' names 1 station\(s\) not in .*taihu_stations\.csv: \['TBA999'\]"),
    ],
    ids=["negative", "blank station", "NH4 unit", "unknown station"],
)  # fmt: skip
def test_validate_refuses_the_observations_a_run_refuses(
    tmp_path: Path, edited_config, row: str, match: str
) -> None:
    obs = tmp_path / "obs.csv"
    shipped = (data_dir() / "monitoring" / "taihu_observations.csv").read_text(encoding="utf-8")
    obs.write_text(shipped + row + "\n", encoding="utf-8")
    cfg = edited_config(
        "taihu", lambda t: re.sub(r'\nobservations = ".*"', f'\nobservations = "{obs}"', t)
    )
    (rep,) = [r for r in validate(cfg) if r.what == "observations"]
    assert any(re.search(match, p) for p in rep.problems), rep.problems
    with pytest.raises(InputError, match=match):
        run(cfg)


_GOOD = "station_id,time,parameter,value,unit,flag\nTAIHU_LAKE_MEAN,2012-01-01,TP,0.05,mg/L P,\n"


def _zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("sheet.xml", _GOOD)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "match"),
    [  # the run said "Cannot read observation table ... 'utf-8' codec can't decode byte",
       # read NUL bytes as blank cells or used the first of two 'value' columns, silently;
       # validate said what read_table says (or raised it, for a file it could not read)
        (_GOOD.replace("TAIHU", "TÄIHU").encode("latin-1"), r"obs\.csv is not UTF-8 text"),
        (_GOOD.encode("utf-16"), r"obs\.csv is UTF-16 text, not UTF-8"),
        (_zip(), r"obs\.csv is a zip archive \(an Excel workbook\?\)"),
        (_GOOD.encode() + b"\x00\x00\n", r"obs\.csv holds NUL bytes"),
        (b"\n", r"obs\.csv is empty"),
        (_GOOD.replace("value,", "value,value,").replace("0.05,", "0.05,9,").encode(),
         r"obs\.csv repeats column\(s\) \['value'\] in its header line"),
        (_GOOD.replace(",", ";").encode(),
         r"obs\.csv lacks column\(s\) .* the file seems to be separated by ';', not commas"),
        # validate said "no problems", the run stopped on an internal TypeError
        (_GOOD.splitlines(keepends=True)[0].encode(), r"obs\.csv has no rows"),
    ],
    ids=["latin-1", "utf-16", "zip", "nul", "empty", "repeated column", "semicolons",
         "header only"],
)  # fmt: skip
def test_run_and_validate_say_the_same_of_a_bad_observation_file(
    tmp_path: Path, edited_config, content: bytes, match: str
) -> None:
    from basingov.monitoring import read_observations

    obs = tmp_path / "obs.csv"
    obs.write_bytes(content)
    cfg = edited_config(
        "taihu", lambda t: re.sub(r'\nobservations = ".*"', f'\nobservations = "{obs}"', t)
    )
    (rep,) = [r for r in validate(cfg) if r.what == "observations"]
    assert len(rep.problems) == 1, rep.problems
    assert re.search(match, rep.problems[0]), rep.problems
    with pytest.raises(InputError) as info:  # what the monitoring stage reads it with
        read_observations(obs)
    assert str(info.value) == rep.problems[0]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (_GOOD.replace("TAIHU", "TÄIHU").encode("latin-1"),
         r"Observation table obs\.csv is not UTF-8 text \(byte 0xc4 at"),
        # the run stopped on "internal error TypeError: Cannot cast DatetimeArray to dtype
        # float64"; validate said "no problems"
        (_GOOD.splitlines(keepends=True)[0].encode(),
         r"Observation table obs\.csv has no rows: the monitoring stage has no value to "
         r"assess; give one row per station, time and parameter"),
    ],
    ids=["latin-1", "header only"],
)  # fmt: skip
def test_a_run_refuses_a_bad_observation_file_as_validate_does(
    tmp_path: Path, edited_config, content: bytes, match: str
):
    obs = tmp_path / "obs.csv"
    obs.write_bytes(content)
    cfg = edited_config(
        "taihu", lambda t: re.sub(r'\nobservations = ".*"', f'\nobservations = "{obs}"', t)
    )
    (rep,) = [r for r in validate(cfg) if r.what == "observations"]
    with pytest.raises(InputError) as info:
        run(cfg)
    assert str(info.value) == rep.problems[0]
    assert re.match(match, rep.problems[0])
