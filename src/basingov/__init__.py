"""basingov: river-basin governance analysis across administrative borders.

The top-level API (DESIGN §2.13):

- :func:`load_basin` loads a basin's inputs (:func:`basingov.datasets.load_basin`);
- :func:`run` runs the whole pipeline and returns its results (:func:`basingov.pipeline.run`);
- :func:`validate` checks every input of a basin (:func:`basingov.pipeline.validate`);
- :mod:`basingov.query` asks upstream, downstream, crossings and jurisdiction questions;
- :mod:`basingov.spill` computes who to warn after an accidental release;
- :func:`compare` compares basins (:mod:`basingov.compare`; the package is callable).

They are imported on first use, so ``import basingov`` stays light.

Examples
--------
>>> import basingov
>>> basingov.load_basin("taihu").name
'taihu'
>>> all(r.ok for r in basingov.validate("taihu"))
True
>>> up = basingov.query.upstream("taihu", (120.645, 30.974))
>>> [j["name"] for j in up.jurisdictions["province"]]
['Jiangsu Province', 'Zhejiang Province']

``basingov.run("taihu")`` returns the same results as ``basingov run taihu`` writes; the
query functions also take those results, so nothing is computed twice.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from basingov.errors import (
    BasingovError,
    BasingovWarning,
    ConfigError,
    CRSError,
    EmptyResultError,
    InputError,
    TopologyError,
)

try:
    __version__ = version("basingov")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from basingov import query, spill
    from basingov.datasets import load_basin
    from basingov.pipeline import run, validate

#: Public names imported on first access: name -> (module, attribute or None for the module).
_LAZY: dict[str, tuple[str, str | None]] = {
    "load_basin": ("basingov.datasets", "load_basin"),
    "run": ("basingov.pipeline", "run"),
    "validate": ("basingov.pipeline", "validate"),
    "query": ("basingov.query", None),
    "spill": ("basingov.spill", None),
    "compare": ("basingov.compare", None),
}


def __getattr__(name: str) -> Any:
    """Import the top-level API on first use (PEP 562)."""
    if name not in _LAZY:
        msg = f"module 'basingov' has no attribute {name!r}"
        raise AttributeError(msg)
    module, attr = _LAZY[name]
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BasingovError",
    "BasingovWarning",
    "CRSError",
    "ConfigError",
    "EmptyResultError",
    "InputError",
    "TopologyError",
    "__version__",
    "compare",
    "load_basin",
    "query",
    "run",
    "spill",
    "validate",
]
