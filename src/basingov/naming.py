"""Moved to :mod:`basingov.network.naming`; kept as an import shim for one release."""

from basingov.network.naming import *  # noqa: F403
