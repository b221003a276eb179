"""Build basingov's packaged water-quality standards from the shipped threshold tables.

Usage::

    python scripts/build_standards.py            # rewrite src/basingov/monitoring/standards/
    python scripts/build_standards.py --check    # compare the packaged tables with a rebuild

The inputs are the byte copies in ``data/monitoring/thresholds/`` (sources and sha256 in
``data/README.md``). The output is one long table per standard, one row per parameter,
water body, river type and class, with the comparison operator and the limit written out,
so that :mod:`basingov.monitoring.standards` reads data instead of if-chains. Nothing is
invented: every limit is a cell of an input table, converted only where its unit differs
from basingov's canonical unit (ug/L -> mg/L), and the conversion is named in ``note``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = ROOT / "data" / "monitoring" / "thresholds"
OUT = ROOT / "src" / "basingov" / "monitoring" / "standards"

COLUMNS = [
    "standard",
    "parameter",
    "unit",
    "water_body",
    "river_type",
    "class",
    "rank",
    "bound",
    "limit",
    "statistic",
    "worse_label",
    "source",
    "note",
]

GB_FILE = "cn_gb3838_2002_table1_selected.csv"
OGEWV_FILE = "de_ogewv2016_anlage7_2-1-2_rivers_good_status.csv"

#: GB 3838-2002 parameter names in the threshold table -> basingov code.
GB_CODES = {"DO": "DO", "CODMn": "CODMn", "COD": "COD", "BOD5": "BOD5", "NH3-N": "NH3-N"}
GB_CODES.update({"TP": "TP", "TN": "TN"})
GB_WATER_BODY = {
    "all surface water": "all",
    "rivers": "river",
    "lakes and reservoirs": "lake",
    "lakes and reservoirs only": "lake",
}
GB_UNITS = {"mg/L": "mg/L", "mg/L as P": "mg/L P", "mg/L as N": "mg/L N"}
GB_BOUND = {"min (>=)": ">=", "max (<=)": "<="}
GB_CLASSES = ["I", "II", "III", "IV", "V"]

#: OGewV 2016 Anlage 7 2.1.2 columns -> (code, canonical unit, factor to canonical unit).
OGEWV_COLUMNS = {
    "O2_min_mg_l": ("DO", "mg/L", 1.0),
    "BOD5_mg_l": ("BOD5", "mg/L", 1.0),
    "TOC_mg_l": ("TOC", "mg/L", 1.0),
    "Cl_mg_l": ("Cl", "mg/L", 1.0),
    "SO4_mg_l": ("SO4", "mg/L", 1.0),
    "pH_range": ("pH", "pH", 1.0),
    "Fe_mg_l": ("Fe", "mg/L", 1.0),
    "oPO4P_mg_l": ("oPO4-P", "mg/L P", 1.0),
    "TP_mg_l": ("TP", "mg/L P", 1.0),
    "NH4N_mg_l": ("NH4", "mg/L N", 1.0),
    "NH3N_ug_l": ("NH3-N_unionised", "mg/L N", 1e-3),
    "NO2N_ug_l": ("NO2-N", "mg/L N", 1e-3),
}
_EN_DASH = "\u2013"
_CMP = {"≤": "<=", "<": "<", ">": ">", "≥": ">="}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gb3838(thresholds: Path = THRESHOLDS) -> pd.DataFrame:
    """GB 3838-2002 Table 1 (selected items) as a long table.

    Parameters
    ----------
    thresholds
        Folder with the shipped threshold tables.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, water body and class (:data:`COLUMNS`).
    """
    path = thresholds / GB_FILE
    src = pd.read_csv(path, dtype=str, keep_default_na=False)
    source = f"GB 3838-2002 Table 1, via data/monitoring/thresholds/{GB_FILE} (sha256 {_sha(path)})"
    rows = []
    for _, r in src.iterrows():
        code = GB_CODES[r["parameter"]]
        for rank, cls in enumerate(GB_CLASSES, 1):
            rows.append(
                {
                    "standard": "GB3838-2002",
                    "parameter": code,
                    "unit": GB_UNITS[r["unit"]],
                    "water_body": GB_WATER_BODY[r["applies_to"]],
                    "river_type": "",
                    "class": cls,
                    "rank": rank,
                    "bound": GB_BOUND[r["direction"]],
                    "limit": float(r[f"class_{cls}"]),
                    "statistic": "mean",
                    "worse_label": "worse than V",
                    "source": source,
                    "note": r["note"],
                }
            )
            if code == "NH3-N":
                # GB 3838's "ammonia nitrogen" is NH3 + NH4+ as N (HJ 535-2009 measures both),
                # the quantity basingov's NH4 code holds (ammonium as N)
                rows.append(
                    {
                        **rows[-1],
                        "parameter": "NH4",
                        "note": "NH4 (ammonium as N) assessed as GB 3838 ammonia nitrogen "
                        "(NH3-N = NH3 + NH4+ as N)",
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def _ogewv_cell(text: str) -> list[tuple[str, float]]:
    """Parse ``"≤ 0.10"``, ``"> 8"`` or a range ``"7.0 - 8.5"`` into (bound, value) pairs.

    The source writes ranges and empty cells with an en dash (U+2013).
    """
    text = text.strip()
    if text in ("", _EN_DASH, "-"):
        return []
    m = re.fullmatch(r"([≤<>≥])\s*([0-9.]+)", text)
    if m:
        return [(_CMP[m.group(1)], float(m.group(2)))]
    m = re.fullmatch(r"([0-9.]+)\s*[\u2013-]\s*([0-9.]+)", text)
    if m:
        return [(">=", float(m.group(1))), ("<=", float(m.group(2)))]
    msg = f"cannot parse OGewV cell {text!r}"
    raise ValueError(msg)


def ogewv2016(thresholds: Path = THRESHOLDS) -> pd.DataFrame:
    """OGewV 2016 Anlage 7 no. 2.1.2 good-status values for river types, as a long table.

    Parameters
    ----------
    thresholds
        Folder with the shipped threshold tables.

    Returns
    -------
    pandas.DataFrame
        One row per river-type group, parameter and bound (:data:`COLUMNS`).
    """
    path = thresholds / OGEWV_FILE
    src = pd.read_csv(path, dtype=str, keep_default_na=False)
    source = (
        f"OGewV 2016 Anlage 7 no. 2.1.2, via data/monitoring/thresholds/{OGEWV_FILE} "
        f"(sha256 {_sha(path)})"
    )
    rows = []
    for _, r in src.iterrows():
        types = r["types"].strip()
        pct10 = "10th percentile" in types
        for col, (code, unit, factor) in OGEWV_COLUMNS.items():
            for bound, value in _ogewv_cell(r[col]):
                notes = []
                if factor != 1.0:
                    notes.append(f"source value {value:g} ug/L converted to mg/L")
                if code == "NH3-N_unionised":
                    notes.append("un-ionised ammonia NH3 as N, not GB 3838's NH3-N")
                stat = "mean"
                if code == "DO":
                    stat = "p10" if pct10 else "min"
                rows.append(
                    {
                        "standard": "OGewV-2016",
                        "parameter": code,
                        "unit": unit,
                        "water_body": "river",
                        "river_type": types,
                        "class": "good",
                        "rank": 1,
                        "bound": bound,
                        "limit": round(value * factor, 12),
                        "statistic": stat,
                        "worse_label": "worse than good",
                        "source": source,
                        "note": "; ".join(notes),
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


BUILDERS = {"GB3838-2002": gb3838, "OGewV-2016": ogewv2016}


def render(df: pd.DataFrame) -> str:
    """Return the CSV text of one table (UTF-8, Unix line ends, no index).

    Parameters
    ----------
    df
        A standards table.

    Returns
    -------
    str
        CSV text.
    """
    return df.to_csv(index=False, lineterminator="\n")


def main(argv: Iterable[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when ``--check`` finds a difference.
    """
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare instead of writing")
    args = p.parse_args(list(argv) if argv is not None else None)
    bad = 0
    for name, fn in BUILDERS.items():
        text = render(fn())
        path = OUT / f"{name}.csv"
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                print(f"{path} differs from a rebuild; run scripts/build_standards.py")
                bad = 1
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            print(f"wrote {path} ({len(text.splitlines()) - 1} rows)")
    return bad


if __name__ == "__main__":
    sys.exit(main())
