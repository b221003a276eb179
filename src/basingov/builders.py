"""Moved to :mod:`basingov.network.builders`; kept as an import shim for one release."""

from basingov.network.builders import *  # noqa: F403
