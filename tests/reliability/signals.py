"""Start the processes of the signal tests with the default handling of the signals sent."""

from __future__ import annotations

import signal

#: The signals the tests send to a basingov process.
SENT = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


def default_signals() -> None:
    """``preexec_fn`` of a test's subprocess: the signals it is sent act as in a terminal.

    A process started in the background by a shell without job control (``make test &``,
    ``nohup``, some CI runners) inherits SIGINT ignored, and under ``nohup`` SIGHUP too;
    Python then keeps them ignored and basingov rightly leaves them so. What the tests
    check is basingov's handling of a signal that reaches it, not how the test process
    itself was started.
    """
    for sig in SENT:
        signal.signal(sig, signal.SIG_DFL)
