"""Compare two run folders of the same basin: tables, GeoPackage layers, map and summary.

Run as a script::

    .venv/bin/python benchmarks/compare_runs.py REF_DIR NEW_DIR [--rtol 1e-9]

Every ``tables/*.csv`` must be equal byte for byte, except the tables computed from the
Monte Carlo runs (``--mc-tables``), whose numbers may differ by rounding: each within
``--rtol`` of the other, or within ``--atol-share`` of the column's largest magnitude
(cells that are rounding noise, e.g. 1e-13 kg/day, in one run and exactly 0 in the other,
where a row may be missing from one run). Every
GeoPackage layer must be equal (QGIS style times aside), ``map.html`` equal but for
folium's random element ids, and ``summary.json`` equal but for timings and the config
path (and the data folder in warnings). Exits 1 if anything differs beyond that. Used
to check issue 14's speed-ups against a run of the previous version (docs/performance.md,
P4).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio


def _table(ref: Path, new: Path, rtol: float, atol_share: float) -> str | None:
    """Return how two CSV tables of Monte Carlo figures differ beyond rounding, or None."""
    if ref.read_bytes() == new.read_bytes():
        return None
    a = pd.read_csv(ref, keep_default_na=False, dtype=str)
    b = pd.read_csv(new, keep_default_na=False, dtype=str)
    if list(a.columns) != list(b.columns):
        return f"columns differ: {list(a.columns)} vs {list(b.columns)}"
    # columns of floats (as pandas writes them: a '.' or an exponent) are compared as
    # numbers; the others (ids such as "01033", names, counts) as text
    num = [c for c in a.columns if _floats(a[c]) and _floats(b[c])]
    keys = [c for c in a.columns if c not in num]
    if keys:
        m = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    else:
        if len(a) != len(b):
            return f"{len(a)} vs {len(b)} rows"
        m = a.add_suffix("_a").join(b.add_suffix("_b"))
        m["_merge"] = "both"
    for c in num:
        x = pd.to_numeric(m[f"{c}_a"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(m[f"{c}_b"], errors="coerce").to_numpy(float)
        x = np.where(m["_merge"] == "right_only", 0.0, x)
        y = np.where(m["_merge"] == "left_only", 0.0, y)
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return f"column {c}: missing values differ"
        ok = ~np.isnan(x)
        x, y = x[ok], y[ok]
        atol = atol_share * max(_abs_max(a[c]), _abs_max(b[c]))
        bad = np.abs(x - y) > np.maximum(rtol * np.maximum(np.abs(x), np.abs(y)), atol)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return f"column {c}: {x[i]!r} vs {y[i]!r} (and {int(bad.sum()) - 1} more)"
    return None


def _floats(s: pd.Series) -> bool:
    text = s[s != ""]
    if text.empty or not text.str.contains(r"[.eE]|nan|inf", regex=True).any():
        return False
    return bool(pd.to_numeric(text, errors="coerce").notna().all())


def _abs_max(s: pd.Series) -> float:
    v = pd.to_numeric(s.replace("", np.nan), errors="coerce").abs()
    return float(v.max()) if v.notna().any() else 0.0


#: Tables computed from the Monte Carlo runs (rounding may differ between versions).
MC_TABLES = ("spillover_bands", "transfers", "compensation_positions", "settlement")


def compare(
    ref: Path,
    new: Path,
    *,
    rtol: float = 1e-9,
    atol_share: float = 1e-12,
    mc_tables: tuple[str, ...] = MC_TABLES,
) -> list[str]:
    """Return the differences between two run folders (empty: equal)."""
    problems: list[str] = []
    notes: list[str] = []
    names = sorted(p.name for p in (ref / "tables").glob("*.csv"))
    if names != sorted(p.name for p in (new / "tables").glob("*.csv")):
        problems.append("the runs hold different tables")
    for name in names:
        a, b = ref / "tables" / name, new / "tables" / name
        if not b.exists():
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        if name[:-4] not in mc_tables:
            problems.append(f"tables/{name}: not byte for byte equal")
            continue
        why = _table(a, b, rtol, atol_share)
        if why:
            problems.append(f"tables/{name}: {why}")
        else:
            notes.append(f"tables/{name}: Monte Carlo figures equal to rounding, not bytes")
    gpkg = [p.name for p in ref.glob("*.gpkg")]
    for g in gpkg:
        la = [str(n) for n, _ in pyogrio.list_layers(ref / g)]
        lb = [str(n) for n, _ in pyogrio.list_layers(new / g)]
        if la != lb:
            problems.append(f"{g}: layers {la} vs {lb}")
            continue
        for layer in la:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x = pyogrio.read_dataframe(ref / g, layer=layer)
                y = pyogrio.read_dataframe(new / g, layer=layer)
            if layer == "layer_styles":
                x, y = x.drop(columns="update_time"), y.drop(columns="update_time")
            try:
                pd.testing.assert_frame_equal(x, y, check_exact=True)
            except AssertionError as exc:
                problems.append(f"{g} layer {layer}: {str(exc).splitlines()[0]}")
    if (ref / "map.html").exists():
        ids = re.compile(r"_[0-9a-f]{32}")
        ma = ids.sub("_ID", (ref / "map.html").read_text(encoding="utf-8"))
        mb = ids.sub("_ID", (new / "map.html").read_text(encoding="utf-8"))
        if ma != mb:
            problems.append("map.html differs (folium element ids aside)")
    sa = json.loads((ref / "summary.json").read_text(encoding="utf-8"))
    sb = json.loads((new / "summary.json").read_text(encoding="utf-8"))
    for s in (sa, sb):
        s.pop("timings_s", None)
        s.pop("config", None)
        # the data folder of each checkout (e.g. /work/main/data vs /work/wt-x/data) may
        # appear in warnings: compared as <data>/...
        roots = {
            i["path"].rsplit("/data/", 1)[0] for i in s.get("inputs", []) if "/data/" in i["path"]
        }
        s["inputs"] = [i["sha256"] for i in s.get("inputs", [])]
        if "warnings" in s:
            text = json.dumps(s["warnings"])
            for root in roots:
                text = text.replace(root + "/data/", "<data>/")
            s["warnings"] = json.loads(text)
    if sa != sb:
        problems.append("summary.json differs (timings, config path and data folder aside)")
    for n in notes:
        print("  " + n)
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ref", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-9, help="relative, Monte Carlo tables")
    ap.add_argument(
        "--atol-share", type=float, default=1e-12, help="of the column's largest magnitude"
    )
    ap.add_argument("--mc-tables", default=",".join(MC_TABLES))
    args = ap.parse_args()
    problems = compare(
        args.ref, args.new, rtol=args.rtol, atol_share=args.atol_share,
        mc_tables=tuple(args.mc_tables.split(",")),
    )  # fmt: skip
    for p in problems:
        print("DIFFERS: " + p)
    print(f"{args.new}: {'equal' if not problems else f'{len(problems)} difference(s)'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
