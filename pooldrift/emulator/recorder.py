"""A record of the requests the emulator received, so tests can assert what was (not) sent, and of
the writes among them: what each asked, whether it was applied, its job.

Credentials are left out of every record: ``Authorization``, ``X-Auth-Token`` and ``X-Security-Token``.
The log is a ring: it keeps the last ``limit`` records and counts the ones it dropped, so an
emulator that runs for days holds a bounded amount of memory.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

_SECRET_HEADERS = frozenset({"authorization", "x-auth-token", "x-security-token"})


@dataclass(frozen=True)
class RequestRecord:
    """One request as received: method, path, raw query, headers (lowercase, no secrets) and
    when (Unix time), so a benchmark can count what arrived in any minute."""

    method: str
    path: str
    query: str
    headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "at": self.at,
        }


#: Records kept by default: a test's or a benchmark's run, a few MB at most.
DEFAULT_LIMIT = 10_000


class RequestLog:
    """Thread-safe, list-like log of the last ``limit`` ``RequestRecord`` (control paths are not
    recorded); ``dropped`` counts the older ones it let go since the last ``clear()``."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"a request log keeps at least 1 record, not {limit}")
        self._lock = threading.Lock()
        self._items: deque[RequestRecord] = deque(maxlen=limit)
        self._dropped = 0

    @property
    def limit(self) -> int:
        return self._items.maxlen or 0

    @property
    def dropped(self) -> int:
        """How many records were let go to keep the log at ``limit``."""
        with self._lock:
            return self._dropped

    def record(self, method: str, path: str, query: str, headers: dict[str, str]) -> None:
        kept = {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self._dropped += 1
            self._items.append(RequestRecord(method, path, query, kept, time.time()))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._dropped = 0

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._items[index]

    def count(self, path_contains: str | None = None) -> int:
        """How many requests were received (whose path contains ``path_contains``)."""
        return sum(1 for r in self.snapshot() if path_contains is None or path_contains in r.path)

    def by_path(self) -> dict[str, int]:
        return dict(Counter(r.path for r in self.snapshot()))

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            items, dropped = list(self._items), self._dropped
        return {
            "total": len(items),
            "dropped": dropped,
            "limit": self.limit,
            "by_path": dict(Counter(r.path for r in items)),
            "requests": [r.to_dict() for r in items],
        }


@dataclass
class WriteRecord:
    """One write as received (any method but GET under ``/v2/``): its body, whether the emulator
    applied it (accepted it as a job that will change desktops), the job, the status it answered
    (``None`` while it has not; ``"dropped"`` when the connection was cut) and the fault it got."""

    method: str
    path: str
    query: str
    body: Any
    at: float
    applied: bool = False
    job_id: str | None = None
    status: int | str | None = None
    error_code: str | None = None
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "at": self.at,
            "applied": self.applied,
            "job_id": self.job_id,
            "status": self.status,
            "error_code": self.error_code,
            "fault": self.fault,
        }


#: A body kept as text when it is not JSON, cut to this many characters.
_RAW_BODY_LIMIT = 2000


class WriteLog:
    """Thread-safe log of the last ``limit`` writes, so a test can count exactly what was sent and
    what was applied; ``dropped`` counts the older ones let go since the last ``clear()``."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"a write log keeps at least 1 record, not {limit}")
        self._lock = threading.Lock()
        self._items: deque[WriteRecord] = deque(maxlen=limit)
        self._dropped = 0

    def record(self, method: str, path: str, query: str, body: bytes) -> WriteRecord:
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body[:_RAW_BODY_LIMIT].decode("utf-8", "replace")
        entry = WriteRecord(method, path, query, parsed, time.time())
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self._dropped += 1
            self._items.append(entry)
        return entry

    def update(self, entry: WriteRecord, **values: Any) -> None:
        """Fill in what became known of a write (``applied``, ``job_id``, ``status``, ...)."""
        with self._lock:
            for name, value in values.items():
                setattr(entry, name, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._dropped = 0

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    def snapshot(self) -> list[WriteRecord]:
        """Copies: a record changes while its write is answered."""
        with self._lock:
            return [replace(item) for item in self._items]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[WriteRecord]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> WriteRecord:
        with self._lock:
            return replace(self._items[index])

    def count(self, path_contains: str | None = None, *, applied: bool | None = None) -> int:
        """How many writes were received (whose path contains ``path_contains``; applied or not)."""
        return sum(
            1
            for r in self.snapshot()
            if (path_contains is None or path_contains in r.path)
            and (applied is None or r.applied == applied)
        )

    def to_dict(self) -> dict[str, Any]:
        items = self.snapshot()
        with self._lock:
            dropped = self._dropped
        return {
            "total": len(items),
            "applied": sum(1 for r in items if r.applied),
            "dropped": dropped,
            "limit": self._items.maxlen or 0,
            "writes": [r.to_dict() for r in items],
        }
