"""Where the demo's lines go. A terminal gets the live table; anything else — a pipe, a file,
a log shipper — gets plain lines (a status line per interval, a line per fill), each flushed
as it is written.

`FallbackStdout` is stdout until its reader goes away, stderr after. Piped through
`scripts/demo | tee demo.log`, a Ctrl-C stops `tee` as well as the demo: the demo still stops
cleanly, its summary goes to stderr (the terminal), and it exits 0 — not 1 on a BrokenPipeError.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Protocol, TextIO


class Lines(Protocol):
    """What the demo writes its plain lines to (`print(file=)`, `logging.StreamHandler`)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class FallbackStdout:
    """A write-only text stream (enough for `print` and `logging.StreamHandler`): each write
    goes to `primary` and is flushed; once `primary` is broken, to `fallback` from then on."""

    def __init__(self, primary: TextIO | None = None, fallback: TextIO | None = None) -> None:
        self.primary = sys.stdout if primary is None else primary
        self.fallback = sys.stderr if fallback is None else fallback
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                written = self.primary.write(text)
                self.primary.flush()
                return written
            except (BrokenPipeError, ValueError):  # the reader is gone, or stdout was closed
                self._abandon_primary()
        written = self.fallback.write(text)
        self.fallback.flush()
        return written

    def flush(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            (self.fallback if self.broken else self.primary).flush()

    def _abandon_primary(self) -> None:
        """From now on write to `fallback`. The bytes still buffered for `primary` would fail
        again when the interpreter flushes it at exit (and turn the exit status into 120):
        point its descriptor at /dev/null, where that flush succeeds."""
        self.broken = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.primary.fileno())
            finally:
                os.close(devnull)
