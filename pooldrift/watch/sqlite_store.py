"""The watch's state in one SQLite file (the default, ``POOLDRIFT_STATE``): the standard library's
``sqlite3`` in write-ahead-log mode, each call run off the event loop by ``asyncio.to_thread``.

The layout is versioned with ``PRAGMA user_version``; a newer file is refused, an older upgraded.
Every cycle's writes are one transaction, so a crash leaves the previous cycle or the new one.

Opening for writing checks the file up front, each failure one line naming the file: a folder
that cannot be made, a read-only file or folder, another application's SQLite file (or a layout
other than ours), a row that does not decode. So the watch never starts on state it cannot keep.
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

from pydantic import BaseModel, ValidationError

from ..errors import ConfigurationError
from ..fix.records import AuditEntry, PlanEntry, StepRecord, StepStatus
from .events import Step
from .models import Event, HistoryMarker, OutboxItem, SlackMessage, SubjectState
from .store import SCHEMA_VERSION, LeaseLostError, StoreUnavailableError, mute_end, pools_named, why

__all__ = ["SqliteStore"]

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)
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
    """
    CREATE TABLE fix_plans (
        id TEXT PRIMARY KEY, created REAL NOT NULL, entry TEXT NOT NULL, body TEXT NOT NULL
    );
    CREATE TABLE fix_steps (
        plan_id TEXT NOT NULL, step INTEGER NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (plan_id, step)
    );
    CREATE TABLE fix_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id TEXT NOT NULL, at REAL NOT NULL, body TEXT NOT NULL
    );
    CREATE INDEX fix_audit_by_plan ON fix_audit (plan_id, id);
    """,
)
assert len(_MIGRATIONS) == SCHEMA_VERSION

#: the JSON column of each table read back every cycle: table, model, the column naming a row, query
_BODIES: tuple[tuple[str, type[BaseModel], str, str], ...] = (
    ("subjects", SubjectState, "key", "SELECT key, body FROM subjects"),
    ("outbox", OutboxItem, "key", "SELECT key, body FROM outbox"),
    ("messages", SlackMessage, "episode", "SELECT episode, body FROM messages"),
)
#: the numeric columns (SQLite stores what it is given, whatever the declared type)
_NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("mutes", "pool_id", "SELECT pool_id, until FROM mutes"),
    ("lease", "name", "SELECT name, until FROM lease"),
    ("outbox", "key", "SELECT key, position FROM outbox"),
)


def _tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Each table of the file (SQLite's own left out) and its columns, in order."""
    names = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}  # another app's names
    return {name: [row[1] for row in conn.execute(f"PRAGMA table_info({quoted[name]})")] for name in names}


def _layout(version: int = SCHEMA_VERSION) -> dict[str, list[str]]:
    """The tables and columns the migrations make: what a state file of ``version`` holds."""
    conn = sqlite3.connect(":memory:")
    try:
        for migration in _MIGRATIONS[:version]:
            conn.executescript(migration)
        return _tables(conn)
    finally:
        conn.close()


#: what a state file holds at each layout, 0 (a new file) to this one
_LAYOUTS = [_layout(v) for v in range(SCHEMA_VERSION + 1)]
_LAYOUT = _LAYOUTS[SCHEMA_VERSION]


def _ts(moment: datetime) -> float:
    return moment.timestamp()


#: how long a replica waits for another's lock (SQLite's busy timeout, and the WAL switch's)
_BUSY_S = 10.0


def _write_ahead(conn: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode = WAL``, tried again while another connection holds the file: the
    switch takes no busy timeout, so two replicas creating the file at once had one fail with
    "database is locked"."""
    deadline = time.monotonic() + _BUSY_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


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
        self._opened = HistoryMarker(by=f"the state file {str(self.path)!r}")
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
        conn: sqlite3.Connection | None = None
        try:
            if self.readonly:
                uri = self.path.resolve().as_uri() + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            else:
                self._make_folder()
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_S * 1000:.0f}")
            if not self.readonly:
                _write_ahead(conn)
                conn.execute("PRAGMA synchronous = FULL")
            self._migrate(conn)
            if not self.readonly:
                # a write that changes nothing: a file opened read-only fails here, not at the lease
                with _transaction(conn):
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._check_rows(conn)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise ConfigurationError(self._cannot_open(exc)) from None
        except (ConfigurationError, StoreUnavailableError) as exc:
            if conn is not None:
                conn.close()
            raise ConfigurationError(exc.message) from None
        self._conn = conn

    def _make_folder(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except FileExistsError:
            raise ConfigurationError(
                f"cannot create the state file {str(self.path)!r}: {str(folder)!r} is a file, not a folder"
            ) from None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the state file {str(self.path)!r}: {exc.strerror or exc}"
            ) from None

    def _cannot_open(self, exc: sqlite3.Error) -> str:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code == sqlite3.SQLITE_READONLY:
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY_DIRECTORY":
                return f"the folder of the state file {str(self.path)!r} is read-only: the watch writes there"
            return f"the state file {str(self.path)!r} is read-only: the watch writes to it"
        return f"cannot open the state file {str(self.path)!r}: {exc}"

    def _corrupt(self, table: str, column: str, row: object, why: str) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the state file {str(self.path)!r} has a corrupt row in {table} ({column} {row!r}): {why}"
        )

    def _decode(self, model: type[_M], body: object, table: str, column: str, row: object) -> _M:
        """A JSON column's model, or the one-line error naming the table and the row."""
        if not isinstance(body, str | bytes):
            raise self._corrupt(table, column, row, f"body is {type(body).__name__}, not JSON text")
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise self._corrupt(table, column, row, why(exc)) from None

    def _number(self, value: object, table: str, column: str, row: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._corrupt(table, column, row, f"{value!r} is not a number")
        return float(value)

    def _check_rows(self, conn: sqlite3.Connection) -> None:
        """Decode every row the watch reads back at each cycle (the history is read on demand)."""
        for table, model, column, query in _BODIES:
            for row, body in conn.execute(query):
                self._decode(model, body, table, column, row)
        for table, column, query in _NUMBERS:
            for row, number in conn.execute(query):
                self._number(number, table, column, row)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the state file {str(self.path)!r} was written by a newer pooldrift "
                f"(layout {version}; this one knows {SCHEMA_VERSION})"
            )
        if self.readonly:
            if version < SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the state file {str(self.path)!r} has not been written by the watch yet"
                )
            self._check_layout(conn)
            return
        # the version read again under the write lock: two replicas starting on a new file at once
        # both saw 0, and the second must not run the migrations the first has just run
        with _transaction(conn):
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the state file {str(self.path)!r} was written by a newer pooldrift "
                    f"(layout {version}; this one knows {SCHEMA_VERSION})"
                )
            if (found := _tables(conn)) != _LAYOUTS[version]:
                # never add our tables to another application's file, nor to a layout not ours
                raise self._foreign(found)
            for number in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
        self._check_layout(conn)

    def _check_layout(self, conn: sqlite3.Connection) -> None:
        found = _tables(conn)
        if found != _LAYOUT:
            raise self._foreign(found)

    def _foreign(self, found: dict[str, list[str]]) -> ConfigurationError:
        names = ", ".join(sorted(found)[:5]) + (", …" if len(found) > 5 else "")
        return ConfigurationError(
            f"the state file {str(self.path)!r} is not a pooldrift state file "
            f"(another application's, or another layout): its tables are {names or 'none'}"
        )

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
        rows = await self._call(lambda c: c.execute("SELECT key, body FROM subjects").fetchall())
        states = (self._decode(SubjectState, body, "subjects", "key", key) for key, body in rows)
        return {state.key: state for state in states}

    async def state(self, key: str) -> SubjectState | None:
        row = await self._call(
            lambda c: c.execute("SELECT body FROM subjects WHERE key = ?", (key,)).fetchone()
        )
        return self._decode(SubjectState, row[0], "subjects", "key", key) if row else None

    async def commit(
        self,
        step: Step,
        outbox: list[OutboxItem],
        now: datetime,
        *,
        keep_days: int,
        owner: str | None = None,
        marker: HistoryMarker | None = None,
    ) -> None:
        del marker  # the file is its own marker (see ``marker``)
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

    async def marker(self) -> HistoryMarker | None:
        # No marker row: the file cannot lose its history under the watch that holds it open. A
        # deleted file (and its -wal) stays readable and writable through the open connection,
        # so that watch still sees all of it; the next process finds no file, has no memory to
        # compare with, and starts as a first watch would. The open file is the marker.
        return self._opened

    async def since(self, pool_id: str) -> datetime | None:
        state = await self.state(pool_id.lower())
        return state.drifting_since if state else None

    async def history(self, pool_id: str, days: float, now: datetime | None = None) -> list[Event]:
        cutoff = _ts((now or datetime.now(UTC)) - timedelta(days=days))
        rows = await self._call(
            lambda c: c.execute(
                "SELECT id, body FROM changes WHERE key = ? AND at >= ? ORDER BY at, id",
                (pool_id.lower(), cutoff),
            ).fetchall()
        )
        return [self._decode(Event, body, "changes", "id", row) for row, body in rows]

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

        rows = await self._call(read)
        return {
            pool_id: mute_end(self._number(until, "mutes", "pool_id", pool_id)) for pool_id, until in rows
        }

    # -- the outbox and the episodes' messages ----------------------------------------------

    async def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        del now  # every pending item is returned: the caller keeps each episode in order
        rows = await self._call(
            lambda c: c.execute(
                "SELECT position, body FROM outbox ORDER BY position LIMIT ?", (limit,)
            ).fetchall()
        )
        return [
            self._decode(OutboxItem, body, "outbox", "position", pos).model_copy(update={"order": pos})
            for pos, body in rows
        ]

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
        return self._decode(SlackMessage, row[0], "messages", "episode", episode) if row else None

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

    # -- the fix ledger ----------------------------------------------------------------------

    async def save_plan(self, entry: PlanEntry, body: str) -> None:
        row = (entry.plan_id, _ts(entry.created_at), entry.model_dump_json(), body)
        await self._call(
            lambda c: c.execute(
                "INSERT OR IGNORE INTO fix_plans (id, created, entry, body) VALUES (?, ?, ?, ?)", row
            )
        )

    async def load_plan(self, plan_id: str) -> str | None:
        row = await self._call(
            lambda c: c.execute("SELECT body FROM fix_plans WHERE id = ?", (plan_id,)).fetchone()
        )
        return str(row[0]) if row else None

    async def plans(self, limit: int = 50) -> list[PlanEntry]:
        rows = await self._call(
            lambda c: c.execute(
                "SELECT id, entry FROM fix_plans ORDER BY created DESC LIMIT ?", (limit,)
            ).fetchall()
        )
        return [self._decode(PlanEntry, entry, "fix_plans", "id", key) for key, entry in rows]

    async def claim_step(self, record: StepRecord) -> StepRecord:
        def claim(conn: sqlite3.Connection) -> object:
            with _transaction(conn):
                conn.execute(
                    "INSERT OR IGNORE INTO fix_steps (plan_id, step, status, body) VALUES (?, ?, ?, ?)",
                    (record.plan_id, record.step, record.status, record.model_dump_json()),
                )
                row = conn.execute(
                    "SELECT body FROM fix_steps WHERE plan_id = ? AND step = ?", (record.plan_id, record.step)
                ).fetchone()
                return row[0]

        body = await self._call(claim)
        return self._decode(StepRecord, body, "fix_steps", "plan_id", f"{record.plan_id}/{record.step}")

    async def settle_step(self, record: StepRecord, *, was: StepStatus) -> bool:
        def settle(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                done = conn.execute(
                    "UPDATE fix_steps SET status = ?, body = ? WHERE plan_id = ? AND step = ? AND status = ?",
                    (record.status, record.model_dump_json(), record.plan_id, record.step, was),
                )
                return done.rowcount == 1

        return await self._call(settle)

    async def steps(self, plan_id: str) -> list[StepRecord]:
        rows = await self._call(
            lambda c: c.execute(
                "SELECT step, body FROM fix_steps WHERE plan_id = ? ORDER BY step", (plan_id,)
            ).fetchall()
        )
        return [
            self._decode(StepRecord, body, "fix_steps", "plan_id", f"{plan_id}/{step}") for step, body in rows
        ]

    async def audit(self, entry: AuditEntry) -> None:
        row = (entry.plan_id, _ts(entry.at), entry.model_dump_json())
        await self._call(
            lambda c: c.execute("INSERT INTO fix_audit (plan_id, at, body) VALUES (?, ?, ?)", row)
        )

    async def audit_log(self, plan_id: str) -> list[AuditEntry]:
        rows = await self._call(
            lambda c: c.execute(
                "SELECT id, body FROM fix_audit WHERE plan_id = ? ORDER BY id", (plan_id,)
            ).fetchall()
        )
        return [self._decode(AuditEntry, body, "fix_audit", "id", key) for key, body in rows]
