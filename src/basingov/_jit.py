"""numba's ``njit`` for basingov's kernels, with the guard against signals while they load.

Every module with compiled kernels imports ``njit`` from here. Importing it registers
:func:`basingov._runtime.guard_compiler`: a Ctrl-C (or SIGTERM, SIGHUP) that comes while
the main thread loads a kernel from numba's cache or compiles it is held until the kernel
is ready, whatever Python handler is in place, instead of landing in LLVM's callback into
numba and crashing the process.
"""

from __future__ import annotations

from numba import njit

from basingov._runtime import guard_compiler

__all__ = ["njit"]

guard_compiler()
