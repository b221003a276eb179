"""``basingov compare``: the same indicators on several basins, side by side."""

from __future__ import annotations

from pathlib import Path

import click

from basingov.cli._common import output_options, path_option
from basingov.compare import compare as compare_basins
from basingov.compare import write_comparison
from basingov.io import check_output_folder

__all__ = ["compare"]


@click.command("compare")
@click.argument("items", nargs=-1, required=True)
@output_options(
    "--out",
    "out_dir",
    kind="folder",
    required=True,
    help_text="Output folder for comparison.csv, comparison.md, comparison.html, governance.csv.",
    overwrite_help="Replace an existing output folder (and runs).",
)
@path_option(
    "--runs-dir",
    kind="folder",
    output=True,
    help_text="Where to keep the runs of basin names (default: a temporary folder).",
)
@path_option(
    "--governance",
    kind="file",
    help_text="Governance metadata CSV (default: data/governance/basins.csv).",
)
@path_option(
    "--published",
    kind="file",
    help_text="Published figures CSV (default: data/governance/published.csv).",
)
@click.pass_context
def compare(
    ctx: click.Context,
    items: tuple[str, ...],
    out_dir: Path,
    overwrite: bool,
    runs_dir: Path | None,
    governance: Path | None,
    published: Path | None,
) -> None:
    """Compare basins: ITEMS are run folders (basingov run BASIN -o DIR), basin names or 'all'.

    Basin names and configs are run first. Prints the paths of the files written.
    """
    check_output_folder(out_dir, overwrite=overwrite)  # before any basin is run
    comp = compare_basins(
        list(items),
        runs_dir=runs_dir,
        overwrite=overwrite,
        progress=bool(ctx.obj.get("progress")),
        governance=governance,
        published=published,
    )
    paths = write_comparison(comp, out_dir, overwrite=overwrite)
    click.echo(f"compared {', '.join(comp.basins)}:", err=True)
    for p in paths.values():
        click.echo(str(p))
