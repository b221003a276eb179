"""Moved to :mod:`basingov.network.hydrology`; kept as an import shim for one release."""

from basingov.network.hydrology import *  # noqa: F403
