"""Benchmark P5: size of each basin map and its first render in headless Chromium.

Run as a script from the repository root::

    .venv/bin/python benchmarks/bench_maps.py [--runs out] [--repeat 5] [--write]

For each of the four shipped basins the map is built from a run folder (``RUNS/<basin>``
if it holds a finished run, otherwise the basin is run first into a temporary folder)
with the default 5 MB budget. The script records the page size, the simplification
tolerance and rivers drawn that fitted the budget, and the Python build time. Each page
is then opened ``--repeat`` times in headless Debian Chromium with the network off
(``/usr/bin/chromium`` driven by ``/usr/bin/chromedriver``), and the first render time is
read from the page (``window.bgRendered``: ms from navigation start to the second
animation frame after the last layer was added, i.e. once Leaflet has painted). Targets
(DESIGN §2.10, issue 12): at most 5 MB and at most 3 s. ``--write`` rewrites the P5
section of ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from basingov import maps, pipeline
from basingov.errors import BasingovWarning

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- P5:start -->", "<!-- P5:end -->"
BASINS = ("taihu", "rhine", "thames", "tennessee")
MAX_BYTES = 5_000_000
MAX_MS = 3_000.0


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} logical cores{mem}, {cpu}, Python {platform.python_version()}"


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,900",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    return driver


def first_render_ms(driver, page: Path) -> float:
    driver.get("about:blank")
    driver.get(page.resolve().as_uri())
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        ms = driver.execute_script("return window.bgRendered || null")
        if ms:
            return float(ms)
        time.sleep(0.05)
    msg = f"{page} did not render in 120 s"
    raise RuntimeError(msg)


def run_dir(runs: Path, basin: str, tmp: Path) -> Path:
    own = runs / basin
    if (own / "summary.json").is_file() and (own / f"{basin}.gpkg").is_file():
        return own
    out = tmp / basin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BasingovWarning)
        pipeline.run(basin, out_dir=out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=ROOT / "out", help="folder of run folders")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="rewrite P5 in docs/performance.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        pages = {}
        for basin in BASINS:
            run = run_dir(args.runs, basin, tmp)
            t = time.perf_counter()
            m = maps.basin_map(run, max_bytes=MAX_BYTES)
            page = maps.save_map(m, tmp / f"{basin}.html")
            build = time.perf_counter() - t
            info = m._basingov_info
            pages[basin] = (page, info, build)
            print(f"{basin}: {page.stat().st_size:,} bytes, built in {build:.1f} s, {info}")
        driver = browser()
        try:
            load = os.getloadavg()[0]
            for basin, (page, info, build) in pages.items():
                first_render_ms(driver, page)  # warm the browser's caches of the engine
                times = [first_render_ms(driver, page) for _ in range(args.repeat)]
                med, best = statistics.median(times), min(times)
                size = page.stat().st_size
                ok = size <= MAX_BYTES and med <= MAX_MS
                rows.append((basin, size, info, build, med, best, ok))
                print(
                    f"{basin}: first render median {med:.0f} ms, best {best:.0f} ms "
                    f"({'meets' if ok else 'MISSES'} the targets)"
                )
            load_after = os.getloadavg()[0]
        finally:
            driver.quit()
    if args.write:
        write_doc(rows, args.repeat, load, load_after)


def write_doc(rows, repeat: int, load: float, load_after: float) -> None:
    lines = [
        START,
        "## P5: basin map size and first render in headless Chromium (`benchmarks/bench_maps.py`)",
        "",
        "Workload: the basin map of each shipped basin, built from its run folder with the "
        "default budget (5 MB), then opened in headless Debian Chromium "
        "(`/usr/bin/chromium`, Selenium, network off) "
        f"{repeat} times after one warm-up; first render is read from the page "
        "(`window.bgRendered`: navigation start to the second animation frame after the "
        "last layer was added). Targets: at most 5 MB and at most 3 s.",
        "",
        "| basin | page size | simplification tolerance | rivers drawn | build (Python) "
        "| first render, median (best) | targets |",
        "|---|---|---|---|---|---|---|",
    ]
    for basin, size, info, build, med, best, ok in rows:
        lines.append(
            f"| {basin} | {size / 1e6:.2f} MB | {float(info['tolerance_m']):.0f} m "
            f"| {info['rivers_drawn']:,} of {info['rivers_total']:,} | {build:.1f} s "
            f"| {med / 1000:.2f} s ({best / 1000:.2f} s) | {'met' if ok else 'missed'} |"
        )
    lines += [
        "",
        f"Machine: {machine()}; Chromium {chromium_version()}. One-minute load average "
        f"{load:.1f} before and {load_after:.1f} after the browser runs (other jobs shared "
        "the machine; render times scale with the load).",
        "",
        "Where the bytes go (MB of data in each page; the rest is Leaflet, about 0.15 MB, "
        "and the legend panel):",
        "",
        "| basin | border polygons | rivers | arrows (with popups) | crossings (with popups) |",
        "|---|---|---|---|---|",
        *[
            f"| {basin} | {info['bytes_polygons'] / 1e6:.2f} | {info['bytes_rivers'] / 1e6:.2f} "
            f"| {info['bytes_arrows'] / 1e6:.2f} | {info['bytes_crossings'] / 1e6:.2f} |"
            for basin, _, info, *_ in rows
        ],
        "",
        "Layers that are off at start (finer levels, other choropleths) are built only when "
        "switched on, the data are parsed with `JSON.parse`, and at most 5,000 river reaches "
        "are drawn: these keep the first render short.",
        END,
    ]
    section = "\n".join(lines)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# basingov performance\n"
    if START in text and END in text:
        text = re.sub(
            re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S
        )
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"\nwrote {DOC.relative_to(ROOT)}")


def chromium_version() -> str:
    import subprocess

    try:
        out = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return "unknown"
    m = re.search(r"(\d+\.\d+\.\d+\.\d+)", out)
    return m.group(1) if m else "unknown"


if __name__ == "__main__":
    main()
