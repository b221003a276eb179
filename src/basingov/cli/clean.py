"""``basingov clean``: remove what killed runs left beside an output folder."""

from __future__ import annotations

from pathlib import Path

import click

from basingov.io import clean_outputs

__all__ = ["clean"]


@click.command("clean")
@click.argument("folder", type=click.Path(path_type=Path))
def clean(folder: Path) -> None:
    """Remove temporary folders and lock files of dead runs to FOLDER (and inside it).

    A run builds its outputs in a hidden folder ``.NAME.basingov-<pid>-*.tmp`` beside
    FOLDER and renames it at the end; a killed run leaves it behind. The next run to the
    same folder removes it; this command does it now, for FOLDER and, for the parent
    folder of ``basingov run all``, for every output folder inside it. Leftovers of runs
    that are still running are kept.
    """
    removed = clean_outputs(folder)
    for p in removed:
        click.echo(f"removed {p}", err=True)
    click.echo(f"{len(removed)} leftover(s) removed", err=True)
