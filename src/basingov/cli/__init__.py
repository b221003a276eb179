"""Command-line interface: a thin click group that parses, calls the library and prints.

One module per command (``run``, ``validate``, ``datasets``, ``spill``, ``query_*``); the group,
its global options and the entry point are in :mod:`basingov.cli.main`.
"""

from basingov.cli.main import cli, main, query

__all__ = ["cli", "main", "query"]
