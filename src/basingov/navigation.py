"""Moved to :mod:`basingov.network.navigation`; kept as an import shim for one release."""

from basingov.network.navigation import *  # noqa: F403
