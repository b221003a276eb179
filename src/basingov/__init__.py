"""basingov: river-basin governance analysis across administrative borders."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

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

__all__ = [
    "BasingovError",
    "BasingovWarning",
    "CRSError",
    "ConfigError",
    "EmptyResultError",
    "InputError",
    "TopologyError",
    "__version__",
]
