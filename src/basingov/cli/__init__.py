"""Command-line interface: a thin click group that parses, calls the library and prints.

One module per command (``run``, ``validate``, ``datasets``, ``spill``, ``clean``,
``query_*``); the group, its global options and the entry point are in
:mod:`basingov.cli.main`. This package imports them on first use, so that the console
script can turn a Ctrl-C while the libraries load into a one-line message.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from basingov.cli.main import cli, query

__all__ = ["cli", "main", "query"]


def _module() -> ModuleType:
    module = importlib.import_module("basingov.cli.main")
    globals()["main"] = _entry  # importing the submodule rebinds the package's "main"
    return module


def main() -> None:
    """Entry point of the ``basingov`` console script (see :func:`basingov.cli.main.main`)."""
    try:
        module = _module()
    except KeyboardInterrupt:
        print("Interrupted; nothing was written.", file=sys.stderr)
        sys.exit(130)
    module.main()


_entry = main


def __getattr__(name: str) -> Any:
    """Import the click group on first use (PEP 562)."""
    if name in ("cli", "query"):
        return getattr(_module(), name)
    msg = f"module 'basingov.cli' has no attribute {name!r}"
    raise AttributeError(msg)
