"""Helpers shared by the CLI command modules: option decorators and argument checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import click

from basingov._checks import check_choice
from basingov.errors import InputError
from basingov.io import check_overwrite

__all__ = [
    "VECTOR_SUFFIXES",
    "check_output_file",
    "check_suffix",
    "choice_option",
    "output_options",
    "parse_lonlat",
    "path_option",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Suffixes the query commands write their reaches, crossings or stretches to (``-o``).
VECTOR_SUFFIXES = (".csv", ".gpkg", ".geojson")


def parse_lonlat(value: str, *, option: str = "--at") -> tuple[float, float]:
    """Parse ``"LON,LAT"`` in WGS84 degrees.

    Raises
    ------
    InputError
        If ``value`` is not two comma-separated numbers, or lon is outside ±180 or lat
        outside ±90 (often LAT,LON given the wrong way round); the message names
        ``option`` and shows the expected form ``7.59,47.56``.

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


def check_output_file(path: Path, suffixes: Sequence[str], *, overwrite: bool) -> None:
    """Check an output file (``-o``) before any work: its suffix, then what exists there.

    A command calls this before it loads the basin (after checking its other options, as
    ``spill`` does), so a wrong name or an existing file is refused before anything is
    read or computed.

    Raises
    ------
    InputError
        If the suffix of ``path`` is not one of ``suffixes`` (:func:`check_suffix`).
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false (:func:`basingov.io.check_overwrite`).
    OutputError
        If ``path`` is a folder or cannot be written (:func:`basingov.io.check_overwrite`).
    """
    check_suffix(path, suffixes)
    check_overwrite(path, overwrite=overwrite)


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


PathKind = Literal["file", "folder", "file or folder"]


def path_option(
    *decls: str, kind: PathKind, help_text: str, required: bool = False, output: bool = False
) -> Callable[[F], F]:
    """Make an option taking a path: a file, a folder or either (``kind``), None if not given.

    With ``output`` click does not check what exists at the path: the library's output
    checks refuse a file where a folder belongs or the reverse (an ``OutputError``, exit
    1, as docs/errors.md says), not click (a usage error, exit 2).

    Raises
    ------
    InputError
        If ``kind`` is not one of :data:`PathKind`.
    """
    check_choice(kind, get_args(PathKind), name="kind")
    if output:
        path = click.Path(path_type=Path)
    else:
        path = click.Path(file_okay=kind != "folder", dir_okay=kind != "file", path_type=Path)
    return click.option(*decls, type=path, required=required, default=None, help=help_text)


def output_options(
    *decls: str,
    help_text: str,
    kind: PathKind = "file",
    required: bool = False,
    overwrite_help: str = "Replace an existing output file.",
) -> Callable[[F], F]:
    """Add the output options of a writing command: ``-o`` (``decls``) and ``--overwrite``.

    ``-o`` takes a file name, a folder, or either (``kind``); the command refuses to
    replace what exists unless ``--overwrite`` is given.

    Raises
    ------
    InputError
        If ``kind`` is not one of :data:`PathKind`.
    """
    out = path_option("-o", *decls, kind=kind, help_text=help_text, required=required, output=True)

    def deco(f: F) -> F:
        return out(click.option("--overwrite", is_flag=True, help=overwrite_help)(f))

    return deco
