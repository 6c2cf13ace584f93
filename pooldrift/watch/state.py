"""Where the watch keeps what it knows: each pool's last state, the history of changes, mutes,
the durable outbox of Slack deliveries, each episode's Slack message and the replicas' lease.

Two stores behind one protocol (``store.StateStore``): ``SqliteStore`` (a file, the default) and
``RedisStore`` (shared by replicas). ``open_store`` picks one; ``open_reader`` only reads.
"""

from __future__ import annotations

from .redis_store import RedisStore
from .settings import WatchSettings
from .sqlite_store import SqliteStore
from .store import SCHEMA_VERSION, LeaseLostError, StateStore

__all__ = [
    "SCHEMA_VERSION",
    "LeaseLostError",
    "RedisStore",
    "SqliteStore",
    "StateStore",
    "open_reader",
    "open_store",
]


async def open_store(settings: WatchSettings) -> StateStore:
    """Redis when ``POOLDRIFT_REDIS_URL`` is set, else the SQLite file ``POOLDRIFT_STATE``."""
    if settings.redis_url is not None:
        return await RedisStore(settings.redis_url.get_secret_value()).open()
    return await SqliteStore(settings.state_path).open()


async def open_reader(settings: WatchSettings) -> StateStore | None:
    """A store to read from without creating anything: None when there is no state yet."""
    if settings.redis_url is not None:
        return await RedisStore(settings.redis_url.get_secret_value(), readonly=True, timeout=2.0).open()
    path = settings.state_path
    if not path.is_file():
        return None
    return await SqliteStore(path, readonly=True).open()
