"""Drive a basingov map in headless Chromium: open offline, measure, click, collect logs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By

# Returns, for every entry of the layer control, its name, whether it is on and how many
# features its layer drew (SVG paths, or canvas-rendered paths) once switched on.
_LAYER_STATE = """
var m = window.bgMap, out = [];
m.eachLayer(function () {});
var inputs = document.querySelectorAll('.leaflet-control-layers-list label');
inputs.forEach(function (lab) {
  var input = lab.querySelector('input');
  out.push({name: lab.textContent.trim(), on: input.checked,
            kind: input.type});
});
return out;
"""

_COUNT = """
var m = window.bgMap, n = 0;
m.eachLayer(function (l) { if (l.feature) { n += 1; } });
return n;
"""

# A crossing marker that is not hidden under a panel: screen position of its centre.
_FIND_MARKER = """
var m = window.bgMap, found = null;
m.eachLayer(function (l) {
  if (found || !l.feature || !(l instanceof L.CircleMarker) || !l._path) { return; }
  if (l.options.pane !== 'bg_points') { return; }
  var r = l._path.getBoundingClientRect();
  var x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (document.elementFromPoint(x, y) === l._path) { found = [x, y, l.feature.properties.t]; }
});
return found;
"""


def open_map(driver: Any, path: Path, *, timeout: float = 60.0) -> float:
    """Load ``path`` and return the time to first render (ms, from navigation start)."""
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        rendered = driver.execute_script("return window.bgRendered || null")
        if rendered:
            return float(rendered)
        time.sleep(0.1)
    msg = f"{path} did not render within {timeout} s"
    raise AssertionError(msg)


def layer_entries(driver: Any) -> list[dict[str, Any]]:
    """Entries of the layer control: name, on/off, radio or checkbox."""
    return list(driver.execute_script(_LAYER_STATE))


def switch_on_each_layer(driver: Any) -> dict[str, int]:
    """Switch every layer of the control on in turn; return features on the map after each."""
    counts: dict[str, int] = {}
    labels = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-list label")
    for lab in labels:
        name = lab.text.strip()
        box = lab.find_element(By.TAG_NAME, "input")
        if name.startswith("Online map tiles"):
            continue  # needs the network by design; off by default
        if not box.is_selected():
            driver.execute_script("arguments[0].click();", box)
        counts[name] = int(driver.execute_script(_COUNT))
    return counts


def click_a_crossing(driver: Any) -> str:
    """Click a crossing marker like a user and return the text of the popup that opens."""
    found = driver.execute_script(_FIND_MARKER)
    if not found:
        msg = "no visible crossing marker to click"
        raise AssertionError(msg)
    x, y, _ = found
    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(int(x), int(y))
    action.pointer_action.click()
    action.perform()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        pops = driver.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
        # the whole text, not Selenium's visible text: a long popup scrolls, and what is
        # scrolled out of its box (the heading of a crossing's popup) is not "visible"
        text = pops[0].get_attribute("textContent") if pops else None
        if text and text.strip():
            return str(text)
        time.sleep(0.1)
    msg = "clicking a crossing opened no popup"
    raise AssertionError(msg)


def console_errors(driver: Any) -> list[str]:
    """Console messages of level SEVERE since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requests_made(driver: Any) -> list[str]:
    """URLs of every request the page started since the last call (CDP performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls
