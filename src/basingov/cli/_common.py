"""Helpers shared by the CLI command modules: option decorators and argument checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from basingov.errors import InputError

__all__ = ["check_suffix", "choice_option", "output_options", "output_path", "parse_lonlat"]

F = TypeVar("F", bound=Callable[..., Any])


def parse_lonlat(value: str, *, option: str = "--at") -> tuple[float, float]:
    """Parse ``"LON,LAT"`` in WGS84 degrees.

    Raises
    ------
    InputError
        If the text is not two numbers or they are out of range.

    Examples
    --------
    >>> parse_lonlat("7.59, 47.56")
    (7.59, 47.56)
    """
    try:
        lon_s, lat_s = value.split(",")
        lon, lat = float(lon_s), float(lat_s)
    except ValueError:
        msg = f"{option} must be LON,LAT in WGS84 degrees (e.g. 7.59,47.56), got {value!r}"
        raise InputError(msg) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"{option} {value!r} is out of range: LON,LAT order, lon within ±180, lat within ±90"
        raise InputError(msg)
    return lon, lat


def check_suffix(path: Path, suffixes: Sequence[str]) -> None:
    """Refuse an output file name whose (lower-case) suffix the command cannot write.

    Raises
    ------
    InputError
        If the suffix of ``path`` is not one of ``suffixes``; the message names the file
        and the suffixes allowed.

    Examples
    --------
    >>> check_suffix(Path("out.csv"), (".csv", ".gpkg"))
    >>> check_suffix(Path("out.txt"), (".csv", ".gpkg"))
    Traceback (most recent call last):
    ...
    basingov.errors.InputError: Cannot write out.txt: use a .csv or .gpkg file name
    """
    if path.suffix.lower() not in suffixes:
        *first, last = suffixes
        listed = f"{', '.join(first)} or {last}" if first else last
        msg = f"Cannot write {path}: use a {listed} file name"
        raise InputError(msg)


def choice_option(
    *decls: str,
    choices: Sequence[str],
    default: str,
    help_text: str,
    case_sensitive: bool = True,
) -> Callable[[F], F]:
    """Make a ``click.Choice`` option that shows its default in ``--help``."""
    return click.option(
        *decls,
        type=click.Choice(choices, case_sensitive=case_sensitive),
        default=default,
        show_default=True,
        help=help_text,
    )


def output_path(*, folder: bool = False) -> click.Path:
    """Return the click type of an output path: no existence checks (the library makes them).

    Examples
    --------
    >>> output_path(folder=True).dir_okay and output_path(folder=True).file_okay
    True
    """
    return click.Path(path_type=Path)


def output_options(
    *decls: str,
    help_text: str,
    folder: bool = False,
    overwrite_help: str = "Replace an existing output file.",
) -> Callable[[F], F]:
    """Add the output options of a writing command: ``-o`` (``decls``) and ``--overwrite``.

    ``-o`` takes a file name, or with ``folder=True`` a folder; the command refuses to
    replace what exists unless ``--overwrite`` is given. A file where a folder belongs (or
    the reverse) is refused by the library's output checks (an ``OutputError``, exit 1,
    as docs/errors.md says), not by click (a usage error, exit 2).
    """
    path = output_path(folder=folder)

    def deco(f: F) -> F:
        f = click.option("--overwrite", is_flag=True, help=overwrite_help)(f)
        return click.option("-o", *decls, type=path, default=None, help=help_text)(f)

    return deco
