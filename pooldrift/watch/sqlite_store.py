"""The watch's state in one SQLite file (the default, ``POOLDRIFT_STATE``): the standard library's
``sqlite3`` in write-ahead-log mode, each call run off the event loop by ``asyncio.to_thread``.

The layout is versioned with ``PRAGMA user_version``; a newer file is refused, an older upgraded.
Every cycle's writes are one transaction, so a crash leaves the previous cycle or the new one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self, TypeVar

from ..errors import ConfigurationError
from .events import Step
from .models import Event, OutboxItem, SlackMessage, SubjectState
from .store import SCHEMA_VERSION, LeaseLostError, StoreUnavailableError, pools_named

__all__ = ["SqliteStore"]

_T = TypeVar("_T")
_LEASE = "watch"

#: each entry upgrades the layout by one version (index 0: from nothing to version 1)
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE subjects (key TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, at REAL NOT NULL, body TEXT NOT NULL
    );
    CREATE INDEX changes_by_key ON changes (key, at);
    CREATE INDEX changes_by_time ON changes (at);
    CREATE TABLE mutes (pool_id TEXT PRIMARY KEY, until REAL NOT NULL);
    CREATE TABLE outbox (key TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL);
    CREATE INDEX outbox_order ON outbox (position);
    CREATE TABLE messages (episode TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
    """,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (the write lock now, so two writers queue instead of failing later)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SqliteStore:
    """The state in the SQLite file at ``path``; ``readonly`` opens an existing file only to read."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.readonly = readonly
        self._conn: sqlite3.Connection | None = None
        # one connection, used by one thread at a time
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    async def open(self) -> Self:
        await asyncio.to_thread(self._connect)
        return self

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _connect(self) -> None:
        if self._conn is not None:
            return
        try:
            if self.readonly:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            self._migrate(conn)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the state file {str(self.path)!r}: {exc}") from None
        self._conn = conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            conn.close()
            raise ConfigurationError(
                f"the state file {str(self.path)!r} was written by a newer pooldrift "
                f"(layout {version}; this one knows {SCHEMA_VERSION})"
            )
        if self.readonly:
            if version < SCHEMA_VERSION:
                conn.close()
                raise ConfigurationError(
                    f"the state file {str(self.path)!r} has not been written by the watch yet"
                )
            return
        for number in range(version, SCHEMA_VERSION):
            with _transaction(conn):
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")

    async def _call(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def run() -> _T:
            with self._lock:
                if self._conn is None:
                    raise RuntimeError("the state store is closed")
                try:
                    return work(self._conn)
                except sqlite3.Error as exc:
                    raise StoreUnavailableError(f"the state file {str(self.path)!r}: {exc}") from None

        return await asyncio.to_thread(run)

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

        await asyncio.to_thread(close)

    # -- state and history -----------------------------------------------------------------

    async def load(self) -> dict[str, SubjectState]:
        rows = await self._call(lambda c: c.execute("SELECT body FROM subjects").fetchall())
        states = (SubjectState.model_validate_json(body) for (body,) in rows)
        return {state.key: state for state in states}

    async def state(self, key: str) -> SubjectState | None:
        row = await self._call(
            lambda c: c.execute("SELECT body FROM subjects WHERE key = ?", (key,)).fetchone()
        )
        return SubjectState.model_validate_json(row[0]) if row else None

    async def commit(
        self, step: Step, outbox: list[OutboxItem], now: datetime, *, keep_days: int, owner: str | None = None
    ) -> None:
        states = [(s.key, s.model_dump_json()) for s in step.states.values()]
        changes = [(e.key, _ts(e.at), e.model_dump_json()) for e in step.events]
        items = [(item.key, item.model_dump_json()) for item in outbox]
        cutoff = _ts(now - timedelta(days=keep_days))

        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                if owner is not None and not self._holds(conn, owner):
                    raise LeaseLostError("another watch holds the lease; this cycle's results are dropped")
                conn.executemany("INSERT OR REPLACE INTO subjects (key, body) VALUES (?, ?)", states)
                conn.executemany("DELETE FROM subjects WHERE key = ?", [(key,) for key in step.removed])
                conn.executemany("INSERT INTO changes (key, at, body) VALUES (?, ?, ?)", changes)
                for key, body in items:
                    conn.execute(
                        "INSERT OR IGNORE INTO outbox (key, position, body) "
                        "VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM outbox), ?)",
                        (key, body),
                    )
                conn.execute("DELETE FROM changes WHERE at < ?", (cutoff,))

        await self._call(write)

    async def since(self, pool_id: str) -> datetime | None:
        state = await self.state(pool_id.lower())
        return state.drifting_since if state else None

    async def history(self, pool_id: str, days: float, now: datetime | None = None) -> list[Event]:
        cutoff = _ts((now or datetime.now(UTC)) - timedelta(days=days))
        rows = await self._call(
            lambda c: c.execute(
                "SELECT body FROM changes WHERE key = ? AND at >= ? ORDER BY at, id",
                (pool_id.lower(), cutoff),
            ).fetchall()
        )
        return [Event.model_validate_json(body) for (body,) in rows]

    async def find(self, ref: str) -> list[SubjectState]:
        return pools_named(await self.load(), ref)

    # -- mutes -----------------------------------------------------------------------------

    async def mute(self, pool_id: str, until: datetime) -> None:
        await self._call(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO mutes (pool_id, until) VALUES (?, ?)", (pool_id.lower(), _ts(until))
            )
        )

    async def unmute(self, pool_id: str) -> bool:
        cursor = await self._call(
            lambda c: c.execute("DELETE FROM mutes WHERE pool_id = ?", (pool_id.lower(),))
        )
        return cursor.rowcount > 0

    async def muted(self, now: datetime) -> dict[str, datetime]:
        def read(conn: sqlite3.Connection) -> list[tuple[str, float]]:
            if not self.readonly:
                conn.execute("DELETE FROM mutes WHERE until <= ?", (_ts(now),))
            return conn.execute("SELECT pool_id, until FROM mutes WHERE until > ?", (_ts(now),)).fetchall()

        return {pool_id: _at(until) for pool_id, until in await self._call(read)}

    # -- the outbox and the episodes' messages ----------------------------------------------

    async def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        del now  # every pending item is returned: the caller keeps each episode in order
        rows = await self._call(
            lambda c: c.execute(
                "SELECT position, body FROM outbox ORDER BY position LIMIT ?", (limit,)
            ).fetchall()
        )
        return [OutboxItem.model_validate_json(body).model_copy(update={"order": pos}) for pos, body in rows]

    async def pending(self) -> int:
        row = await self._call(lambda c: c.execute("SELECT COUNT(*) FROM outbox").fetchone())
        return int(row[0])

    async def retry(self, item: OutboxItem) -> None:
        await self._call(
            lambda c: c.execute(
                "UPDATE outbox SET body = ? WHERE key = ?", (item.model_dump_json(), item.key)
            )
        )

    async def finish(self, key: str, *, forget_episode: str | None = None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute("DELETE FROM outbox WHERE key = ?", (key,))
                if forget_episode is not None:
                    conn.execute("DELETE FROM messages WHERE episode = ?", (forget_episode,))

        await self._call(write)

    async def message(self, episode: str) -> SlackMessage | None:
        row = await self._call(
            lambda c: c.execute("SELECT body FROM messages WHERE episode = ?", (episode,)).fetchone()
        )
        return SlackMessage.model_validate_json(row[0]) if row else None

    async def save_message(self, message: SlackMessage) -> None:
        await self._call(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO messages (episode, body) VALUES (?, ?)",
                (message.episode, message.model_dump_json()),
            )
        )

    # -- the lease (two watches on one file take turns, as replicas do on Redis) ------------

    @staticmethod
    def _holds(conn: sqlite3.Connection, owner: str) -> bool:
        row = conn.execute("SELECT owner, until FROM lease WHERE name = ?", (_LEASE,)).fetchone()
        return row is not None and row[0] == owner and row[1] > time.time()

    async def lease(self, owner: str, ttl: float) -> bool:
        def take(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                row = conn.execute("SELECT owner, until FROM lease WHERE name = ?", (_LEASE,)).fetchone()
                now = time.time()
                if row is not None and row[0] != owner and row[1] > now:
                    return False
                conn.execute(
                    "INSERT OR REPLACE INTO lease (name, owner, until) VALUES (?, ?, ?)",
                    (_LEASE, owner, now + ttl),
                )
                return True

        return await self._call(take)

    async def release(self, owner: str) -> None:
        await self._call(
            lambda c: c.execute("DELETE FROM lease WHERE name = ? AND owner = ?", (_LEASE, owner))
        )
