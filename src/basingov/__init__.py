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
>>> up = basingov.query.upstream("taihu", (121.216, 31.255))  # Suzhou Creek, Shanghai
>>> [j["name"] for j in up.jurisdictions["province"]]
['Shanghai Municipality', 'Jiangsu Province', 'Zhejiang Province', 'Anhui Province']

``basingov.run("taihu")`` returns the same results as ``basingov run taihu`` writes; the
query functions also take those results, so nothing is computed twice.
"""

from __future__ import annotations

import _signal  # the C module: `signal` imports enum, which takes a while to load
import os
import sys


def _quiet_interrupt_while_the_command_starts() -> None:
    """Make a Ctrl-C while the ``basingov`` command loads its modules one line, exit 130.

    Only when this process is the command (the console script, or ``python -m
    basingov.cli``), never for a program that imports basingov; the command's own handling
    replaces this as soon as it runs (:func:`basingov.cli.main.main`). Before this line,
    only Python's own start-up (``site`` and the ``.pth`` files of the environment) can be
    interrupted with Python's traceback.
    """
    orig = list(getattr(sys, "orig_argv", []))
    via_m = any(
        a == "-m" and i + 1 < len(orig) and orig[i + 1].split(".")[0] == "basingov"
        for i, a in enumerate(orig)
    )
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if not (via_m or script in ("basingov", "basingov.exe", "basingov-script.py")):
        return
    if _signal.getsignal(_signal.SIGINT) is not _signal.default_int_handler:
        return  # someone else handles it (or ignores it): leave it

    def quiet(signum: int, frame: object) -> None:
        os.write(2, b"Interrupted; nothing was written.\n")
        os._exit(130)

    quiet._basingov_start = True  # type: ignore[attr-defined]
    _signal.signal(_signal.SIGINT, quiet)


_quiet_interrupt_while_the_command_starts()

import importlib  # noqa: E402
import logging  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from basingov import errors  # noqa: E402
from basingov.errors import *  # noqa: E402, F403 - the whole error tree (errors.__all__)

try:
    __version__ = version("basingov")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from basingov import compare, query, spill
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


# the whole error tree, then the API
__all__ = [
    *errors.__all__,
    "__version__",
    "compare",
    "load_basin",
    "query",
    "run",
    "spill",
    "validate",
]
