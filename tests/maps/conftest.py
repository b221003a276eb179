"""Fixtures for the maps and report tests: real runs of the shipped basins, a browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Screenshots are also kept here (git-ignored) so CI can keep them as artefacts.
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def taihu_run(shipped_run) -> Path:
    """Return the Taihu run folder (the fastest shipped basin), run once per session."""
    return shipped_run("taihu").out


@pytest.fixture(scope="session")
def basin_run(shipped_run):
    """Return a factory giving any shipped basin's run folder, run once per session."""

    def make(basin: str) -> Path:
        return shipped_run(basin).out

    return make


@pytest.fixture
def staged_run(taihu_run: Path, tmp_path: Path) -> Path:
    """Copy the Taihu run and add the tables later stages will write (test values).

    priority, sections, trends, transfers, calibration and a stations layer are written
    with the columns documented in basingov.maps.OPTIONAL_INPUTS. Their values are made
    up for the test: they exercise the optional layers, they are not results.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    run = tmp_path / "staged"
    shutil.copytree(taihu_run, run)
    cx = pd.read_csv(run / "tables" / "crossings.csv", dtype={"from_jur": str, "to_jur": str})
    # a crossing between two mapped jurisdictions: on the HydroRIVERS network the first
    # crossings enter from outside the boundary data (empty from_jur), and a transfer or a
    # priority pair needs both sides
    both = cx.dropna(subset=["from_jur", "to_jur"])
    assert len(both), "the Taihu run has no crossing between two jurisdictions"
    first = both.iloc[0]
    tables = run / "tables"
    pd.DataFrame(
        {
            "section_or_pair": [first["crossing_id"], f"{first['from_jur']}->{first['to_jur']}"],
            "score": [0.91, 0.55],
            "class": ["high", "medium"],
            "mechanism": ["joint monitoring station", "information sharing"],
            "reason": ["largest load crossing with no station", "shared river"],
        }
    ).to_csv(tables / "priority.csv", index=False)
    pd.DataFrame(
        {
            "crossing_id": [first["crossing_id"]] * 3,
            "period": ["2016", "2017", "2018"],
            "class": ["V", "IV", "III"],
            "station_id": ["S1"] * 3,
        }
    ).to_csv(tables / "section_classes.csv", index=False)
    pd.DataFrame({"station_id": ["S1"], "parameter": ["TP"], "trend": ["improving"]}).to_csv(
        tables / "trends.csv", index=False
    )
    pd.DataFrame(
        {
            "payer": [first["to_jur"]],
            "payee": [first["from_jur"]],
            "amount": [1.0e8],
            "currency": ["CNY"],
            "basis": ["section index below threshold"],
        }
    ).to_csv(tables / "transfers.csv", index=False)
    pd.DataFrame(
        {
            "station_id": ["S1", "S2", "S3"],
            "observed_kg_day": [10.0, 20.0, 30.0],
            "predicted_kg_day": [12.0, 18.0, 33.0],
        }
    ).to_csv(tables / "calibration_stations.csv", index=False)
    st = gpd.GeoDataFrame(
        {
            "station_id": ["S1"],
            "name": ["Test station"],
            "is_proxy": [True],
            "crossing_id": [first["crossing_id"]],
        },
        geometry=gpd.points_from_xy([first["lon"]], [first["lat"]]),
        crs="EPSG:4326",
    )
    gpkg = run / f"{json.loads((run / 'summary.json').read_text())['basin']}.gpkg"
    # replace the run's own stations layer with this hand-made one
    pyogrio.write_dataframe(
        st, gpkg, layer="stations", driver="GPKG", layer_options={"OVERWRITE": "YES"}
    )
    (run / "map.html").unlink(missing_ok=True)
    return run


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Selenium, with the network cut three ways."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "browser tests need the Debian packages 'chromium' and 'chromium-driver' "
            "(apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        # any request that still tried to leave would hit a closed local port
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    yield driver
    driver.quit()
