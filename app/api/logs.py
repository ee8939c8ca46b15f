"""What reaches the log: no API key, and no client text that could forge a line.

`install()` wraps the process's log record factory, so every record — uvicorn's access and
error loggers (a WebSocket handshake logs its URL there), ours, any library's — is cleaned
once, when it is made, whatever handler writes it later:

- a `name=value` pair whose name is a key's (`api_key` in any spelling the server decodes:
  percent-encoding of any character, `+`, double encoding, any case — anything whose decoded
  name contains `key`) has its value replaced by `***`;
- control characters (C0, DEL, C1), Unicode format characters (bidi overrides) and line
  separators in the arguments are escaped (`\\n`, `\\x1b`, `\\u202e`), so no client text can
  end a line, colour the terminal or reorder what it shows. Our own log calls pass client
  data only as arguments; a message template keeps its newlines and tabs.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

_PAIR = re.compile(r"(?P<name>[^\s?&=]+)=(?P<value>[^\s&]*)")
_MARK = "_dynhedge_clean"


def install() -> None:
    """Clean every log record made in this process from now on (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        clean(record)
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)


def clean(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = redact(escape(record.msg, keep="\n\t"))
    if isinstance(record.args, tuple):
        record.args = tuple(_clean_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _clean_arg(v) for k, v in record.args.items()}


def _clean_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, int | float):
        return arg
    if isinstance(arg, str):
        return redact(escape(arg))
    try:
        text = str(arg)
    except Exception:
        return arg
    cleaned = redact(escape(text))
    return arg if cleaned == text else cleaned


def escape(text: str, keep: str = "") -> str:
    """`text` with every non-printable character but those in `keep` escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep
                   else c.encode("unicode_escape").decode("ascii") for c in text)


def redact(text: str) -> str:
    """`text` with the value of every key-like `name=value` pair replaced by `***`."""
    if "=" not in text:
        return text
    return _PAIR.sub(_hide, text)


def _hide(m: re.Match[str]) -> str:
    return f"{m['name']}=***" if _is_key_name(m["name"]) else m.group(0)


def _is_key_name(name: str) -> bool:
    for _ in range(4):  # percent-encoded once, twice, …
        decoded = unquote_plus(name)
        if decoded == name:
            break
        name = decoded
    return "key" in name.casefold()
