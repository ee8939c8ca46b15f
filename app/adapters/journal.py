"""The SQLite journal: a write-ahead record of every command and fill, and every signal.

One connection on one thread of its own (the event loop never waits on disk except where a
promise needs it: a fill is acknowledged only once it is committed). WAL mode;
`synchronous=FULL` so a committed fill survives power loss, not just `kill -9`.

Schema (versioned in `meta`):
- `events(id, kind, body, wall)`: underlyings, positions loads, fills, policies, halts,
  resumes, cancels, in the order they were applied; replaying them rebuilds the book.
- `fills(exec_id, event_id, payload, result)`: dedup on exec_id.
- `signals(seq, id, body)`: every signal with its seq.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.codec import dumps, loads

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body BLOB NOT NULL,
  wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
  exec_id TEXT PRIMARY KEY, event_id INTEGER NOT NULL, payload TEXT NOT NULL,
  result BLOB);
CREATE TABLE IF NOT EXISTS signals (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body BLOB NOT NULL);
"""


class SqliteJournal:
    def __init__(self, path: str) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._db: sqlite3.Connection | None = None
        self._error: str | None = None

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"journal schema {row[0]} is not {SCHEMA_VERSION}: migrate first")
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    async def _run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            out = await loop.run_in_executor(self._pool, fn, *args)
        except sqlite3.Error as exc:
            self._error = f"journal: {exc}"
            raise
        self._error = None
        return out

    async def problem(self) -> str | None:
        if self._db is None:
            return "journal: not open"
        try:
            await self._run(self._db.execute, "SELECT 1")
        except sqlite3.Error:
            pass
        return self._error

    # --- writes ---------------------------------------------------------------------------

    async def append(self, kind: str, body: dict[str, Any]) -> int:
        return int(await self._run(self._append, kind, dumps(body)))

    def _append(self, kind: str, body: bytes) -> int:
        assert self._db is not None
        cur = self._db.execute(
            "INSERT INTO events (kind, body, wall) VALUES (?, ?, ?)", (kind, body, time.time())
        )
        return int(cur.lastrowid or 0)

    async def append_fill(self, exec_id: str, payload: str, body: dict[str, Any]) -> int:
        return int(await self._run(self._append_fill, exec_id, payload, dumps(body)))

    def _append_fill(self, exec_id: str, payload: str, body: bytes) -> int:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT INTO events (kind, body, wall) VALUES ('fill', ?, ?)", (body, time.time())
            )
            event_id = int(cur.lastrowid or 0)
            db.execute("INSERT INTO fills (exec_id, event_id, payload) VALUES (?, ?, ?)",
                       (exec_id, event_id, payload))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return event_id

    async def append_signals(self, rows: list[tuple[int, str, bytes]]) -> None:
        await self._run(self._append_signals, rows)

    def _append_signals(self, rows: list[tuple[int, str, bytes]]) -> None:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR IGNORE INTO signals (seq, id, body) VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- reads (on the journal thread too: one connection, one thread) --------------------

    async def replay(self) -> list[tuple[str, dict[str, Any]]]:
        return list(await self._run(self._replay))

    async def fill_payloads(self) -> dict[str, str]:
        return dict(await self._run(self._fill_payloads))

    async def signals_after(self, seq: int, limit: int) -> list[bytes]:
        return list(await self._run(self._signals_after, seq, limit))

    async def max_seq(self) -> int:
        return int(await self._run(self._max_seq))

    def _replay(self) -> list[tuple[str, dict[str, Any]]]:
        assert self._db is not None
        rows = self._db.execute("SELECT kind, body FROM events ORDER BY id").fetchall()
        return [(kind, loads(body)) for kind, body in rows]

    def _fill_payloads(self) -> dict[str, str]:
        assert self._db is not None
        return dict(self._db.execute("SELECT exec_id, payload FROM fills").fetchall())

    def _signals_after(self, seq: int, limit: int) -> list[bytes]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT body FROM signals WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def _max_seq(self) -> int:
        assert self._db is not None
        row = self._db.execute("SELECT MAX(seq) FROM signals").fetchone()
        return int(row[0] or 0)
