"""The SQLite journal: a write-ahead record of every command and fill, and every signal.

One connection on one thread of its own (the event loop never waits on disk except where a
promise needs it: a fill is acknowledged only once it is committed). WAL mode;
`synchronous=FULL` so a committed fill survives power loss, not just `kill -9`.

Schema (versioned in `meta`):
- `events(id, kind, body, wall)`: underlyings, positions loads, fills, policies, halts,
  resumes, cancels, in the order they were applied; replaying them rebuilds the book.
- `fills(exec_id, event_id, payload, result)`: dedup on exec_id.
- `signals(seq, id, body)`: every signal with its seq.
- `snapshots(event_id, body)`: the core's state right after event `event_id`; start-up
  restores the latest and replays only the events after it.
- `last_ticks(symbol, body)`: the last accepted tick state per underlying, checkpointed every
  HEDGE_TICK_CHECKPOINT_S and at a clean stop (ticks are not journaled one by one).
- `meta`: the schema version, and `announced_seq`, the highest seq announced on the signal
  channel (written a moment after the announcement, without an fsync of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
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
  result BLOB, busted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS signals (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (event_id INTEGER PRIMARY KEY, body BLOB NOT NULL,
  wall REAL NOT NULL);
CREATE TABLE IF NOT EXISTS last_ticks (symbol TEXT PRIMARY KEY, body BLOB NOT NULL,
  wall REAL NOT NULL);
"""
KEEP_SNAPSHOTS = 2


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
        with contextlib.suppress(sqlite3.Error):  # a failure is recorded in self._error
            await self._run(self._db.execute, "SELECT 1")
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

    async def append_fills(self, fills: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
        """Fills (exec_id, payload, body) in one transaction and one fsync — the fills that
        queued up while the last commit was syncing go together. Returns their event ids."""
        rows = [(exec_id, payload, dumps(body)) for exec_id, payload, body in fills]
        return list(await self._run(self._append_fills, rows))

    def _append_fills(self, rows: list[tuple[str, str, bytes]]) -> list[int]:
        assert self._db is not None
        db = self._db
        ids = []
        db.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            for exec_id, payload, body in rows:
                cur = db.execute("INSERT INTO events (kind, body, wall) VALUES ('fill', ?, ?)",
                                 (body, now))
                event_id = int(cur.lastrowid or 0)
                db.execute("INSERT INTO fills (exec_id, event_id, payload) VALUES (?, ?, ?)",
                           (exec_id, event_id, payload))
                ids.append(event_id)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return ids

    async def append_signals(
        self, rows: list[tuple[int, str, bytes]], events: list[dict[str, Any]]
    ) -> None:
        """Signals and their pending-order events in one transaction: a restart never finds a
        signal without the pending order that stops it being hedged twice."""
        await self._run(self._append_signals, rows, [dumps(e) for e in events])

    def _append_signals(self, rows: list[tuple[int, str, bytes]], events: list[bytes]) -> None:
        # No fsync of its own (synchronous=NORMAL for this commit): WAL frames are ordered,
        # so the next fill's (FULL) commit makes these durable too — a fill that names a
        # signal is never durable without it — and a crash of the process loses nothing.
        assert self._db is not None
        db = self._db
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR IGNORE INTO signals (seq, id, body) VALUES (?, ?, ?)", rows)
                now = time.time()
                db.executemany("INSERT INTO events (kind, body, wall) VALUES ('signal', ?, ?)",
                               [(e, now) for e in events])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.execute("PRAGMA synchronous=FULL")

    # --- reads (on the journal thread too: one connection, one thread) --------------------

    async def replay(self) -> tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]:
        """(the latest snapshot or None, the events after it in order)."""
        snap, events = await self._run(self._replay)
        return snap, list(events)

    async def fill_records(self, limit: int) -> dict[str, tuple[str, dict[str, Any] | None]]:
        """exec_id → (payload, the answer given, when recorded) of the latest `limit` fills,
        oldest first."""
        return dict(await self._run(self._fill_records, limit))

    async def fill_lookup(self, exec_id: str) -> tuple[str, dict[str, Any] | None] | None:
        """(payload, answer) of one fill, or None."""
        return await self._run(self._fill_lookup, exec_id)  # type: ignore[no-any-return]

    async def fill_record(self, exec_id: str) -> tuple[dict[str, Any], bool] | None:
        """(the journaled fill, busted?) or None."""
        return await self._run(self._fill_record, exec_id)  # type: ignore[no-any-return]

    async def recent_fills(self, limit: int) -> list[tuple[dict[str, Any], bool]]:
        """(the journaled fill, busted?) of the latest `limit` fills, newest first."""
        return list(await self._run(self._recent_fills, limit))

    def _recent_fills(self, limit: int) -> list[tuple[dict[str, Any], bool]]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT e.body, f.busted FROM fills f JOIN events e ON e.id = f.event_id "
            "ORDER BY f.event_id DESC LIMIT ?", (limit,)).fetchall()
        return [(loads(body), bool(busted)) for body, busted in rows]

    async def set_fill_result(self, exec_id: str, result: dict[str, Any]) -> None:
        await self._run(self._set_fill_result, exec_id, dumps(result))

    async def append_bust(self, exec_id: str, body: dict[str, Any]) -> int:
        return int(await self._run(self._append_bust, exec_id, dumps(body)))

    async def write_snapshot(self, event_id: int, body: dict[str, Any]) -> None:
        await self._run(self._write_snapshot, event_id, dumps(body))

    async def signals_after(self, seq: int, limit: int) -> list[bytes]:
        return list(await self._run(self._signals_after, seq, limit))

    async def write_ticks(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        """Upsert the last tick state of some underlyings (no fsync: a kill -9 keeps it)."""
        await self._run(self._write_ticks, [(sym, dumps(body)) for sym, body in rows])

    async def last_ticks(self) -> dict[str, dict[str, Any]]:
        return dict(await self._run(self._last_ticks))

    async def max_seq(self) -> int:
        return int(await self._run(self._max_seq))

    async def last_event_id(self) -> int:
        return int(await self._run(self._last_event_id))

    async def announced_seq(self) -> int:
        return int(await self._run(self._announced_seq))

    async def set_announced_seq(self, seq: int) -> None:
        await self._run(self._set_announced_seq, seq)

    def _announced_seq(self) -> int:
        assert self._db is not None
        row = self._db.execute("SELECT value FROM meta WHERE key='announced_seq'").fetchone()
        return 0 if row is None else int(row[0])

    def _set_announced_seq(self, seq: int) -> None:
        # a high-water mark, never lowered; no fsync of its own (the next fill's commit makes
        # it durable, and a process crash loses nothing of what was committed)
        assert self._db is not None
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('announced_seq', ?) ON CONFLICT(key) "
                "DO UPDATE SET value = excluded.value WHERE CAST(value AS INTEGER) < ?",
                (str(seq), seq))
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def _replay(self) -> tuple[dict[str, Any] | None, list[tuple[str, dict[str, Any]]]]:
        assert self._db is not None
        row = self._db.execute(
            "SELECT event_id, body FROM snapshots ORDER BY event_id DESC LIMIT 1").fetchone()
        after, snap = (0, None) if row is None else (int(row[0]), loads(row[1]))
        rows = self._db.execute(
            "SELECT kind, body FROM events WHERE id > ? ORDER BY id", (after,)).fetchall()
        return snap, [(kind, loads(body)) for kind, body in rows]

    def _fill_records(self, limit: int) -> dict[str, tuple[str, dict[str, Any] | None]]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT exec_id, payload, result FROM (SELECT * FROM fills ORDER BY event_id DESC "
            "LIMIT ?) ORDER BY event_id", (limit,)).fetchall()
        return {e: (p, None if r is None else loads(r)) for e, p, r in rows}

    def _fill_lookup(self, exec_id: str) -> tuple[str, dict[str, Any] | None] | None:
        assert self._db is not None
        row = self._db.execute("SELECT payload, result FROM fills WHERE exec_id = ?",
                               (exec_id,)).fetchone()
        return None if row is None else (row[0], None if row[1] is None else loads(row[1]))

    def _fill_record(self, exec_id: str) -> tuple[dict[str, Any], bool] | None:
        assert self._db is not None
        row = self._db.execute(
            "SELECT e.body, f.busted FROM fills f JOIN events e ON e.id = f.event_id "
            "WHERE f.exec_id = ?", (exec_id,)).fetchone()
        return None if row is None else (loads(row[0]), bool(row[1]))

    def _set_fill_result(self, exec_id: str, result: bytes) -> None:
        # the answer is a cache (a start-up without it recomputes it from the fill): no
        # fsync of its own, so it never doubles the fsyncs per fill
        assert self._db is not None
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("UPDATE fills SET result = ? WHERE exec_id = ?", (result, exec_id))
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def _append_bust(self, exec_id: str, body: bytes) -> int:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute("INSERT INTO events (kind, body, wall) VALUES ('bust', ?, ?)",
                             (body, time.time()))
            db.execute("UPDATE fills SET busted = 1 WHERE exec_id = ?", (exec_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return int(cur.lastrowid or 0)

    def _write_snapshot(self, event_id: int, body: bytes) -> None:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)",
                       (event_id, body, time.time()))
            db.execute("DELETE FROM snapshots WHERE event_id NOT IN (SELECT event_id FROM "
                       "snapshots ORDER BY event_id DESC LIMIT ?)", (KEEP_SNAPSHOTS,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _write_ticks(self, rows: list[tuple[str, bytes]]) -> None:
        assert self._db is not None
        db = self._db
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                db.executemany("INSERT OR REPLACE INTO last_ticks VALUES (?, ?, ?)",
                               [(sym, body, now) for sym, body in rows])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.execute("PRAGMA synchronous=FULL")

    def _last_ticks(self) -> dict[str, dict[str, Any]]:
        assert self._db is not None
        return {sym: loads(body)
                for sym, body in self._db.execute("SELECT symbol, body FROM last_ticks")}

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

    def _last_event_id(self) -> int:
        assert self._db is not None
        row = self._db.execute("SELECT MAX(id) FROM events").fetchone()
        return int(row[0] or 0)
