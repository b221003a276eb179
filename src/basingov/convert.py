"""Moved to :mod:`basingov.network.convert`; kept as an import shim for one release."""

from basingov.network.convert import *  # noqa: F403
