"""The `basingov` click group, its global options, and the entry point."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import TextIO

import click

from basingov import __version__
from basingov.errors import BasingovError

__all__ = ["cli", "main", "query"]

_LEVELS = [logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="basingov")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("-q", "--quiet", count=True, help="Less log output (errors only).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """basingov: river-basin governance across administrative borders.

    Human-readable output goes to stderr; JSON goes to stdout where a command offers it.
    """
    level = _LEVELS[max(0, min(len(_LEVELS) - 1, 1 + verbose - quiet))]
    root = logging.getLogger("basingov")
    handler = next((h for h in root.handlers if getattr(h, "_basingov_cli", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._basingov_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # the handler filters what the terminal shows; a run may lower the logger's own level
    # to write its run.log, which must not make the terminal chattier
    handler.setLevel(level)
    root.setLevel(level)
    ctx.ensure_object(dict)
    ctx.obj["progress"] = quiet == 0


@cli.group()
def query() -> None:
    """Spatial queries: upstream, downstream, crossings, jurisdiction, river, station."""


# --- command registration: one import + add_command per command module ---------------
# (keep this block as plain lines so several modules can be added independently)
from basingov.cli.datasets import datasets  # noqa: E402
from basingov.cli.run import run  # noqa: E402
from basingov.cli.spill import spill  # noqa: E402
from basingov.cli.validate import validate  # noqa: E402

cli.add_command(datasets)
cli.add_command(validate)
cli.add_command(run)
cli.add_command(spill)
from basingov.cli.query_overlay import crossings, jurisdiction  # noqa: E402

query.add_command(crossings)
query.add_command(jurisdiction)
from basingov.cli.query_network import downstream, upstream  # noqa: E402

query.add_command(upstream)
query.add_command(downstream)
from basingov.cli.query_river import river  # noqa: E402

query.add_command(river)
from basingov.cli.query_station import station  # noqa: E402

query.add_command(station)
# ---------------------------------------------------------------------------------------


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Print a warning as one line, without the source line Python adds."""
    click.echo(f"Warning: {message}", err=True)


def main() -> None:
    """Entry point of the ``basingov`` console script; maps errors to one-paragraph messages."""
    warnings.showwarning = _show_warning
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except BasingovError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
