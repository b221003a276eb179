"""Rebuild basingov's shipped ``data/`` tree from the raw inputs in ``../shared/data-sources``.

Usage::

    python scripts/prepare_data.py --source ../shared/data-sources --out data [--overwrite]
    python scripts/prepare_data.py --out data --check

(``python -m prepare_data ...`` with ``scripts/`` on ``sys.path`` is the same thing.)

The package clips, cleans and renames the raw inputs; it never invents values. Every
output file is written under a temporary name and then renamed into place, and
``data/README.md`` (with one row per file, including its sha256) is regenerated at the
end from ``README.template.md``, so the README always matches the files. ``--check``
verifies those sha256 values.

Modules: ``common`` (output registry, atomic writes, sha256, check), ``geometry``
(read/clip helpers), ``sources`` (provenance table), one module per basin (``rhine``,
``tennessee``, ``thames``, ``taihu``: boundaries, hydrography and monitoring of that basin),
``thresholds``, ``loads`` with ``literature``, ``readme`` and ``build`` (entry point).
Importing the package has no side effects; ``OGR_CURRENT_DATE`` is pinned only while
:func:`build` writes.
"""

from __future__ import annotations

from .build import build, main
from .common import check, sha256

__all__ = ["build", "check", "main", "sha256"]
