"""The spill workflow as a library function: ``basingov.spill.warn``."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from basingov.cli import cli
from basingov.datasets import load_basin
from basingov.errors import BasingovWarning, InputError
from basingov.query import load_overlay
from basingov.spill import NOTIFICATION_COLUMNS, warn

# start of reach 2 of the Taihu network (the Grand Canal) in Changzhou
CHANGZHOU = (119.924, 31.781)


@pytest.fixture(scope="module")
def taihu():
    return load_basin("taihu")


def test_warn_follows_the_canal(taihu):
    # the Grand Canal network of the Taihu config (its main network is HydroRIVERS)
    r = warn(taihu, CHANGZHOU, 100.0, time="2026-11-23T08:00", network="nfgis")
    n = r.notifications
    assert list(n.columns[: len(NOTIFICATION_COLUMNS) + 1]) == [
        *NOTIFICATION_COLUMNS[:3],
        "level_name",
        *NOTIFICATION_COLUMNS[3:],
    ]
    # the canal runs Changzhou -> Wuxi -> Suzhou -> Jiaxing (docs/guide.md); the
    # jurisdictions holding the release are warned at once, the others in that order
    assert n["name"].tolist() == [
        "Jiangsu Province",
        "Changzhou",
        "Wuxi",
        "Suzhou",
        "Zhejiang Province",
        "Jiaxing",
    ]
    assert (n["arrival_hours"].iloc[:2] == 0).all()
    assert n["arrival_hours"].is_monotonic_increasing
    assert (n["peak_hours"] >= n["arrival_hours"]).all()
    # a conservative substance dilutes as it spreads and the flow grows downstream
    assert n["peak_mg_l"].iloc[2:].is_monotonic_decreasing
    assert r.network == "nfgis"
    assert r.dispersion_m2_s == 300.0  # the assumed default: taihu.toml sets none
    assert n["arrival_time"].iloc[0] == "2026-11-23T08:00:00"
    assert r.as_dict()["release"]["time"] == "2026-11-23T08:00"  # as given


def test_warn_equals_the_cli(taihu):
    r = warn("taihu", CHANGZHOU, 100.0, mode="DD", decay_per_day=0.2)
    res = CliRunner().invoke(
        cli, ["spill", "taihu", "--at", "119.924,31.781", "--mass", "100", "--mode", "DD",
              "--decay", "0.2"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == json.loads(json.dumps(r.as_dict(), allow_nan=False))
    # --mode is read in any case, as query's --mode is (it was a usage error in lower case)
    low = CliRunner().invoke(
        cli, ["spill", "taihu", "--at", "119.924,31.781", "--mass", "100", "--mode", "dd",
              "--decay", "0.2"],
    )  # fmt: skip
    assert low.exit_code == 0, low.output
    assert json.loads(low.stdout) == json.loads(res.stdout)
    # a datetime and its ISO text give the same times
    t = dt.datetime(2026, 11, 23, 8)
    a = warn(taihu, CHANGZHOU, 1.0, time=t).notifications["peak_time"]
    b = warn(taihu, CHANGZHOU, 1.0, time=t.isoformat()).notifications["peak_time"]
    assert a.tolist() == b.tolist()


def test_warn_errors(taihu):
    with pytest.raises(InputError, match=r"time must be an ISO 8601 date-time .* got 'noon'"):
        warn(taihu, CHANGZHOU, 1.0, time="noon")
    with pytest.raises(InputError, match=r"at must be a \(lon, lat\) pair .* got at=119.9"):
        warn(taihu, 119.9, 1.0)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"mode must be one of \['DM', 'DD'\], got 'UT'"):
        warn(taihu, CHANGZHOU, 1.0, mode="UT")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"mass_kg must be a finite number > 0, got 0"):
        warn(taihu, CHANGZHOU, 0.0)


def test_warn_refuses_a_point_as_text_or_bools(taihu):
    # warn turned the point into floats before snap_point saw it: ("119.924", "31.781")
    # was taken, and True as 1 degree
    for at in [tuple(map(str, CHANGZHOU)), (CHANGZHOU[0], True)]:
        with pytest.raises(
            InputError,
            match=r"^at must be a \(lon, lat\) pair of WGS84 degrees as numbers \(not text or "
            rf"bools\).*; got {re.escape(f'at={at!r}')}$",
        ):
            warn(taihu, at, 1.0)  # type: ignore[arg-type]


def test_warn_takes_what_the_queries_take(taihu):
    # a BasinOverlay (load_overlay), as the query functions take, raised AttributeError
    # ('BasinOverlay' object has no attribute 'config'), and so did anything else
    by_overlay = warn(load_overlay(taihu), CHANGZHOU, 1.0).notifications
    assert by_overlay.equals(warn(taihu, CHANGZHOU, 1.0).notifications)
    with pytest.raises(InputError, match=r"expected a basin name, a config path, .* got int"):
        warn(5, CHANGZHOU, 1.0)


def test_arrivals_beyond_any_date_are_an_error_with_a_release_time(taihu):
    # 0.1 L/s in the East Tiaoxi (1e-6 of its mean flow): Lake Taihu holds the plume for
    # 400,000 years; with a release time, datetime overflowed (an internal error)
    huzhou = (120.1, 30.87)
    with pytest.warns(
        BasingovWarning, match=r"0.0001 m3/s, is 1.\d+e-06 times .*, below the 0.002 to 11.6"
    ):
        r = warn(taihu, huzhou, 100.0, flow_m3s=1e-4)
    assert r.notifications["peak_hours"].max() > 1e9
    with (
        pytest.raises(InputError, match=r"the plume reaches CN031 \(Shanghai Municipality\) "),
        pytest.warns(BasingovWarning, match=r"below the 0.002 to 11.6 times"),
    ):
        warn(taihu, huzhou, 100.0, flow_m3s=1e-4, time="2026-01-01")
