"""``basingov map``: the offline HTML map of a run folder or a basin."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click

from basingov import maps, pipeline
from basingov.cli._common import output_options
from basingov.config import load_config
from basingov.datasets import available, resolve_config
from basingov.errors import InputError
from basingov.io import check_overwrite

__all__ = ["map_", "resolve_run"]


def resolve_run(source: str, stack: contextlib.ExitStack, *, progress: bool = False) -> Path:
    """Return a run folder: ``source`` itself if it holds a finished run, else run it.

    A basin name or config is run into a temporary folder that ``stack`` removes.
    """
    path = Path(source)
    if not path.exists() and ("/" in source or os.sep in source):
        msg = (
            f"{source} does not exist; pass a run folder (basingov run BASIN -o FOLDER), a "
            f"basin config (.toml) or a shipped basin name ({', '.join(available())})"
        )
        raise InputError(msg)
    if path.is_dir():
        if (path / "summary.json").is_file():
            return path
        msg = (
            f"{path} is a folder but not a finished run folder (it has no summary.json); "
            f"pass the folder of `basingov run BASIN -o FOLDER`, a basin name or a config"
        )
        raise InputError(msg)

    cfg = load_config(resolve_config(source))
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="basingov-")))
    click.echo(f"running {cfg.basin.name} first (no run folder given) ...", err=True)
    out = tmp / cfg.basin.name
    pipeline.run(source, out_dir=out, progress=progress)
    return out


@click.command("map")
@click.argument("sources", nargs=-1, required=True)
@output_options(
    "--out",
    "out",
    kind="file or folder",
    required=True,
    help_text="FILE.html for one map; a folder for several (one BASIN.html each, plus index.html).",
    overwrite_help="Replace existing files.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=100_000),
    default=None,
    help="Size budget of one map in bytes (default 5,000,000).",
)
@click.option(
    "--level",
    "levels",
    multiple=True,
    help="Level with choropleths, crossings and arrows (repeat; default: coarsest and finest).",
)
@click.pass_context
def map_(
    ctx: click.Context,
    sources: tuple[str, ...],
    out: Path,
    overwrite: bool,
    max_bytes: int | None,
    levels: tuple[str, ...],
) -> None:
    """Write the offline HTML map of SOURCES (run folders, basin names or configs).

    A run folder (written by 'basingov run BASIN -o DIR') is mapped from its outputs; a
    basin name or config is run first into a temporary folder. The map needs no network.
    """
    progress = bool((ctx.obj or {}).get("progress"))
    names = list(available()) if sources == ("all",) else list(sources)
    single = len(names) == 1 and out.suffix.lower() in (".html", ".htm")
    if len(names) > 1 and out.suffix:
        msg = f"-o must be a folder when mapping several runs, got {out}"
        raise click.UsageError(msg)
    if single:
        check_overwrite(out, overwrite=overwrite)
    with contextlib.ExitStack() as stack:
        runs = [resolve_run(s, stack, progress=progress) for s in names]
        if single:
            path = maps.write_basin_map(
                runs[0], out, overwrite=overwrite, max_bytes=max_bytes, levels=levels or None
            )
            click.echo(f"map written: {path} ({path.stat().st_size / 1e6:.2f} MB)", err=True)
        else:
            index = maps.write_map_folder(runs, out, overwrite=overwrite)
            click.echo(f"{len(runs)} map(s) and {index} written", err=True)
