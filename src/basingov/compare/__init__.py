"""Cross-basin comparison (DESIGN §2.11): the same indicators, the same code, side by side.

:func:`compare` reads finished run folders (``basingov run BASIN -o DIR``), or runs the
pipeline for shipped basin names and config files, computes every indicator of
:data:`INDICATORS` on each basin with :func:`basin_indicators`, puts the published figures
of ``data/governance/published.csv`` beside them with the discrepancy and its
explanation, and adds the governance metadata of ``data/governance/basins.csv``.
:func:`write_comparison` writes ``comparison.csv``, ``comparison.md`` and the offline
HTML panel ``comparison.html`` (bar charts with bands, the dependency chains and
small-multiple maps as inlined PNGs).

- :mod:`basingov.compare.indicators`: the indicator arithmetic, on a run folder's tables;
- :mod:`basingov.compare.reference`: the cited governance and published-figure files;
- :mod:`basingov.compare.panel`: the Markdown table and the HTML panel.
"""

from __future__ import annotations

import inspect
import shutil
import sys
import tempfile
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from basingov.compare import indicators
from basingov.compare.indicators import *  # noqa: F403 - the indicator API (indicators.__all__)
from basingov.compare.indicators import (
    COLUMNS,
    INDICATORS,
    RunFolder,
    _indicator_row,
    basin_indicators,
    main_stem_reaches,
    read_run,
)
from basingov.compare.panel import html_panel, markdown_table
from basingov.compare.reference import read_governance, read_published
from basingov.config import load_config
from basingov.datasets import available, resolve_config
from basingov.errors import InputError
from basingov.io import atomic_dir, check_output_folder, write_csv
from basingov.pipeline import run_many

# the indicator API, then the comparison
__all__ = [
    *indicators.__all__,
    "BasinGeometry",
    "Comparison",
    "compare",
    "read_governance",
    "read_published",
    "write_comparison",
]


#: Reaches drawn on the small-multiple maps: upstream area at least this share of the basin.
MAP_MIN_AREA_SHARE = 0.005


@dataclass(frozen=True, eq=False, kw_only=True)
class BasinGeometry:
    """What the panel draws of one basin (read from its GeoPackage, in its own CRS).

    Attributes
    ----------
    jurisdictions
        Top-level jurisdictions (``jur_id``, ``name``).
    rivers
        Reaches draining at least :data:`MAP_MIN_AREA_SHARE` of the basin
        (``discharge_m3s``).
    main_stem
        The main-stem reaches.
    edges
        Top-level dependency edges (``from_jur, to_jur, n_crossings, discharge_m3s``).
    depth
        Top-level chain depth per jurisdiction (``jur_id, name, chain_depth``).
    """

    jurisdictions: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    main_stem: gpd.GeoDataFrame
    edges: pd.DataFrame
    depth: pd.DataFrame


@dataclass(frozen=True, eq=False)
class Comparison:
    """The comparison of several basins.

    Attributes
    ----------
    table
        One row per basin, indicator, level and item (:data:`COLUMNS`), with the
        published figure, discrepancy and explanation where one exists.
    governance
        The governance metadata of the compared basins (one cited fact per row).
    geometry
        What the panel draws, by basin.
    basins
        Basin names in the order given.
    sources
        The run folder each basin was read from.
    """

    table: pd.DataFrame
    governance: pd.DataFrame
    geometry: dict[str, BasinGeometry]
    basins: tuple[str, ...]
    sources: dict[str, str]

    def headline(self) -> pd.DataFrame:
        """Return the headline indicators at the top level, one column per basin.

        Examples
        --------
        >>> import pandas as pd
        >>> t = pd.DataFrame({"basin": ["a", "b"], "indicator": ["area_km2"] * 2,
        ...     "level": [-1, -1], "item": ["", ""], "value": [1.0, 2.0], "status": "computed"})
        >>> Comparison(t, pd.DataFrame(), {}, ("a", "b"), {}).headline().loc["area_km2"].tolist()
        [1.0, 2.0]
        """
        t = self.table
        t = t[(t["level"] <= 0) & (t["item"].isin(["", *_params(t)]))]
        t = t[t["indicator"].isin([k for k in INDICATORS if not k.startswith("governance")])]
        wide = t.pivot_table(index="indicator", columns="basin", values="value", aggfunc="first")
        order = [k for k in INDICATORS if k in wide.index]
        return wide.reindex(index=order, columns=list(self.basins))


def _params(t: pd.DataFrame) -> list[str]:
    g = t.loc[t["indicator"] == "generated_load_kg_day", "item"]
    return sorted({str(x) for x in g if str(x)})


def _resolve(item: str | Path) -> tuple[str, Path | None]:
    """('run', folder) for a run folder, ('basin', None) for a name or config."""
    p = Path(item)
    if p.is_dir():
        return "run", p
    if str(item) in available() or p.suffix.lower() == ".toml":
        resolve_config(item)
        return "basin", None
    msg = (
        f"{item!r} is neither a run folder (written by `basingov run BASIN -o DIR`) nor a "
        f"shipped basin ({', '.join(available())}) nor a .toml config"
    )
    raise InputError(msg)


def compare(
    items: Sequence[str | Path],
    *,
    runs_dir: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    governance: str | Path | None = None,
    published: str | Path | None = None,
) -> Comparison:
    """Compare basins: the same indicators, computed the same way on each.

    Parameters
    ----------
    items
        Run folders (``basingov run BASIN -o DIR``), shipped basin names, config files,
        or ``"all"`` (every shipped basin). Names and configs are run first.
    runs_dir
        Where to write the runs of names and configs (``runs_dir/<basin>``); None runs
        them in a temporary folder that is removed afterwards.
    overwrite
        Replace existing run folders in ``runs_dir``.
    progress
        Show progress bars for the runs.
    governance, published
        The governance and published-figure files; None reads the shipped ones
        (``data/governance/basins.csv``, ``published.csv``).

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        If an item is neither a run folder nor a basin, a run folder is incomplete, two
        items are the same basin, or a reference file is malformed.

    Examples
    --------
    >>> c = compare(["taihu"])
    >>> row = c.table.query("indicator == 'area_km2'").iloc[0]
    >>> float(row["published"]), bool(abs(row["discrepancy_pct"]) < 15)
    (36895.0, True)
    """
    names = list(items)
    if not names:
        msg = "compare needs at least one run folder or basin name (or 'all')"
        raise InputError(msg)
    if "all" in [str(n) for n in names]:
        names = [n for n in names if str(n) != "all"] + [
            a for a in available() if a not in [str(n) for n in names]
        ]
    kinds = [_resolve(n) for n in names]
    gov = read_governance(governance)
    pub = read_published(published)
    to_run = [str(n) for n, (k, _) in zip(names, kinds, strict=True) if k == "basin"]
    base: Path | None = Path(runs_dir) if runs_dir is not None else None
    tmp: Path | None = None
    if to_run:
        if base is None:
            tmp = base = Path(tempfile.mkdtemp(prefix="basingov-compare-"))
        run_many(
            to_run, out_dir=base, overwrite=overwrite, scheduler="synchronous", progress=progress
        )
    try:
        folders: list[RunFolder] = []
        for n, (_, p) in zip(names, kinds, strict=True):
            if p is not None:
                folders.append(read_run(p))
                continue
            if base is None:
                msg = f"no folder to run {n!r} in"
                raise InputError(msg)
            bname = load_config(resolve_config(str(n))).basin.name
            folders.append(read_run(base / bname))
        seen: dict[str, str] = {}
        for f in folders:
            if f.name in seen:
                msg = f"basin {f.name!r} is given twice ({seen[f.name]} and {f.path})"
                raise InputError(msg)
            seen[f.name] = str(f.path)
        tables = [basin_indicators(f) for f in folders]
        geometry = {f.name: _geometry(f) for f in folders}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    table = pd.concat(tables, ignore_index=True)
    table = _with_published(table, pub)
    basins = tuple(f.name for f in folders)
    g = gov[gov["basin"].isin(basins)].reset_index(drop=True)
    table = pd.concat([table, _governance_rows(g, folders)], ignore_index=True)
    return Comparison(
        table=table[COLUMNS],
        governance=g,
        geometry=geometry,
        basins=basins,
        sources={
            f.name: str(f.path)
            if tmp is None or tmp not in f.path.parents
            else f"{f.path.name} (run in a temporary folder, not kept; use runs_dir to keep it)"
            for f in folders
        },
    )


def _with_published(table: pd.DataFrame, pub: pd.DataFrame) -> pd.DataFrame:
    """Fill published, source, discrepancy and explanation from the published file."""
    t = table.copy()
    records: dict[tuple[str, str, str], dict[str, Any]] = {
        (str(r["basin"]), str(r["indicator"]), str(r["item"])): {str(k): v for k, v in r.items()}
        for r in pub.to_dict("records")
    }
    basins = set(t["basin"].astype(str))
    have = set(
        zip(t["basin"].astype(str), t["indicator"].astype(str), t["item"].astype(str), strict=True)
    )
    # a published share of a jurisdiction the run does not list (below 1 % or absent)
    extra = []
    for key in records:
        b, ind, item = key
        if b not in basins or ind != "area_share" or key in have:
            continue
        extra.append(
            _indicator_row(
                b,
                str(t.loc[t["basin"] == b, "title"].iloc[0]),
                ind,
                level=0,
                level_name=_top_level(t, b),
                item=item,
                value=0.0,
                note="below 1 % of the shipped basin, or absent from it",
            )
        )
    if extra:
        t = pd.concat([t, pd.DataFrame(extra, columns=COLUMNS)], ignore_index=True)
    rows = t.to_dict("records")
    for r in rows:
        item = str(r["item"]) if r["indicator"] == "area_share" else ""
        p = records.get((str(r["basin"]), str(r["indicator"]), item))
        if p is None or r["status"] != "computed":
            continue
        r["published"] = float(p["value"])
        r["published_source"] = str(p["source"])
        r["published_url"] = str(p["url"])
        r["explanation"] = str(p["explanation"])
    t = pd.DataFrame(rows, columns=COLUMNS)
    pubv = pd.to_numeric(t["published"], errors="coerce").to_numpy(dtype=np.float64)
    val = pd.to_numeric(t["value"], errors="coerce").to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t["discrepancy_pct"] = np.where(pubv > 0, 100.0 * (val - pubv) / pubv, np.nan)
    order = {k: i for i, k in enumerate(INDICATORS)}
    t["_o"] = t["indicator"].map(order)
    t["_b"] = t["basin"].map({b: i for i, b in enumerate(dict.fromkeys(table["basin"]))})
    t = t.sort_values(["_b", "_o", "level"], kind="stable").drop(columns=["_o", "_b"])
    return t.reset_index(drop=True)


def _top_level(t: pd.DataFrame, basin: str) -> str:
    s = t[(t["basin"] == basin) & (t["level"] == 0)]["level_name"]
    return str(s.iloc[0]) if len(s) else ""


def _governance_rows(gov: pd.DataFrame, folders: list[RunFolder]) -> pd.DataFrame:
    titles = {f.name: f.title for f in folders}
    rows = []
    for r in gov.to_dict("records"):
        ind = "governance_body" if r["field"] == "body" else "governance_instrument"
        year = "" if pd.isna(r["year"]) else str(int(r["year"]))
        basin = str(r["basin"])
        rows.append(
            _indicator_row(
                basin,
                titles.get(basin, basin),
                ind,
                item=year,
                value=float(year) if year else np.nan,
                value_text=str(r["value"]),
                published_source=str(r["source"]),
                published_url=str(r["url"]),
                status="metadata",
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _geometry(run: RunFolder) -> BasinGeometry:
    jur = run.layer("jurisdictions", columns=["jur_id", "name", "level"])
    jur = jur[jur["level"] == 0].reset_index(drop=True)
    fields: list[str] = [
        c
        for c in ("reach_id", "downstream_id", "length_km", "upstream_area_km2", "discharge_m3s")
        if c in _reach_fields(run)
    ]
    reaches = run.layer("reaches", columns=fields)
    stem = main_stem_reaches(reaches)
    area = float(pd.to_numeric(reaches["upstream_area_km2"], errors="coerce").max())
    keep = pd.to_numeric(reaches["upstream_area_km2"], errors="coerce") >= (
        MAP_MIN_AREA_SHARE * area
    )
    rivers = reaches[keep.to_numpy()].reset_index(drop=True)
    edges = run.layer("dependency_edges")
    edges = pd.DataFrame(edges[edges["level"] == 0].drop(columns="geometry", errors="ignore"))
    dep = run.table("dependency")
    depth = dep.loc[
        dep["level"] == 0, [c for c in ("jur_id", "name", "chain_depth") if c in dep.columns]
    ].reset_index(drop=True)
    return BasinGeometry(
        jurisdictions=jur,
        rivers=rivers,
        main_stem=reaches.iloc[stem].reset_index(drop=True),
        edges=edges.reset_index(drop=True),
        depth=depth,
    )


def _reach_fields(run: RunFolder) -> list[str]:
    return [str(f) for f in pyogrio.read_info(run.gpkg, layer="reaches")["fields"]]


def write_comparison(
    comparison: Comparison, out_dir: str | Path, *, overwrite: bool = False
) -> dict[str, Path]:
    """Write ``comparison.csv``, ``comparison.md``, ``comparison.html`` and ``governance.csv``.

    The folder is built in a temporary folder and renamed into place only when every
    file is written.

    Parameters
    ----------
    comparison
        The result of :func:`compare`.
    out_dir
        Output folder.
    overwrite
        Replace an existing ``out_dir``.

    Returns
    -------
    dict
        File kind -> path.

    Raises
    ------
    OutputExistsError
        If ``out_dir`` exists and ``overwrite`` is false.
    """
    out = Path(out_dir)
    check_output_folder(out, overwrite=overwrite)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        write_csv(comparison.table, tmp / "comparison.csv")
        write_csv(comparison.governance, tmp / "governance.csv")
        (tmp / "comparison.md").write_text(markdown_table(comparison), encoding="utf-8")
        (tmp / "comparison.html").write_text(html_panel(comparison), encoding="utf-8")
    return {
        "csv": out / "comparison.csv",
        "markdown": out / "comparison.md",
        "html": out / "comparison.html",
        "governance": out / "governance.csv",
    }


class _CallableModule(types.ModuleType):
    """Make the package callable: ``basingov.compare(...)`` is :func:`compare`.

    ``basingov.compare`` is both the package (``basingov.compare.hhi`` ...) and, like
    ``basingov.run``, the top-level function; a module attribute cannot be both unless the
    module itself can be called.
    """

    __call__ = staticmethod(compare)
    __signature__ = inspect.signature(compare)  # what help() shows for the callable package


sys.modules[__name__].__class__ = _CallableModule
