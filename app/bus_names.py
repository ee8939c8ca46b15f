"""Every Redis name of the signal bus in one place: the defaults of CONTRACT §6 (the names in
use come from Settings) and the names our own clients use. Part of the wire contract, so the
settings, the adapters and the execution bots all import it from here."""

from __future__ import annotations

DEFAULT_SIGNAL_CHANNEL = "hedge:signals"
DEFAULT_SIGNAL_STREAM = "hedge:signals:stream"
DEFAULT_ALERT_CHANNEL = "hedge:alerts"  # limit warnings, breaches, acks, halts and resumes
DEFAULT_ALERT_STREAM = "hedge:alerts:stream"
STREAM_FIELD = "data"  # the stream entry's field holding the signal's JSON
PAPER_BOT_GROUP = "paper-bot"  # the paper execution bot's consumer group
