"""python -m app demo: the service with a simulated market and a paper execution bot.

- `market`: underlyings under GBM and a market maker's option book, as API bodies
- `feed`: the market's prices as ticks over the ingest WebSocket
- `paper_bot`: the paper execution bot (also `scripts/paper_bot.py`)
- `signals`: where the bot reads signals: the Redis stream or the signal WebSocket
- `board`: the live risk table
- `output`: where its lines go: the table on a terminal, plain lines elsewhere
- `interrupts`: Ctrl-C and SIGTERM noted from the first instant
- `service`: the service in-process on a pre-bound socket
- `cli`: the command itself

`main` imports the command lazily, so the paper bot alone does not load the service; it
notes stop signals before that import, which takes seconds.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from app.demo.interrupts import note_stop_signals

    note_stop_signals()
    from app.demo.cli import main as run

    return run(argv)
