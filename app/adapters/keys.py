"""Stream entry ids of the signal bus (the names themselves are in `app.bus_names`)."""

from __future__ import annotations


def stream_id(seq: int) -> str:
    """Stream entry ids are the signal's seq: the stream then refuses a second copy of a
    signal (XADD with an id not above the last fails), which makes re-publishing after a
    timeout exactly-once, and its last id tells which seq it holds."""
    return f"{seq}-1"


def seq_of(entry_id: str | bytes) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])
