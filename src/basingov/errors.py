"""Exception and warning tree for basingov."""

from __future__ import annotations

__all__ = [
    "BasingovError",
    "BasingovWarning",
    "CRSError",
    "ConfigError",
    "EmptyResultError",
    "EngineError",
    "InputError",
    "OutputError",
    "OutputExistsError",
    "OutputLockedError",
    "SingularSystemError",
    "TopologyError",
]


class BasingovError(Exception):
    """Base class of every error raised by basingov."""


class InputError(BasingovError, ValueError):
    """Input data (a file, layer, column or value) is unusable as given."""


class CRSError(InputError):
    """A coordinate reference system is missing or unsuitable for the operation."""


class TopologyError(InputError):
    """A river network is not a valid directed network (cycle, dangling id, ...)."""


class ConfigError(InputError):
    """A basin configuration file is invalid."""


class EmptyResultError(BasingovError):
    """An operation produced no result where one was required."""


class EngineError(BasingovError, RuntimeError):
    """A scale-out engine (a local dask cluster) could not be started."""


class OutputError(BasingovError):
    """An output location is unusable (a file in the way, not writable, the current folder)."""


class OutputExistsError(OutputError, FileExistsError):
    """An output already exists and ``overwrite`` was not requested (or may not replace it)."""


class OutputLockedError(OutputError):
    """Another basingov run is writing the same output folder."""


class SingularSystemError(BasingovError, ArithmeticError):
    """A linear routing system (I - A) cannot be solved because it is singular."""


class BasingovWarning(UserWarning):
    """The single warning category emitted by basingov (always with ``stacklevel=2``)."""
