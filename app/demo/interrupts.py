"""Ctrl-C (SIGINT) and SIGTERM from the demo's first instant. Until its event loop takes them
over, a signal is only noted; the loop then acts on what was noted. A demo stopped while it
still starts up — or as it ends — therefore stops as cleanly as one stopped while it runs:
summary printed, exit status 0. Standard library only: this is installed before the service's
modules load."""

from __future__ import annotations

import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_noted: list[int] = []


def _note(signum: int, _frame: FrameType | None) -> None:
    _noted.append(signum)


def note_stop_signals() -> None:
    """From now until an event loop installs its own handlers, SIGINT and SIGTERM are noted,
    not acted on (no KeyboardInterrupt, no death by SIGTERM)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _note)


def take_noted() -> list[int]:
    """The stop signals noted so far, oldest first; forgets them."""
    noted = list(_noted)
    _noted.clear()
    return noted
