"""Slack redelivers a request it thinks went unanswered (``X-Slack-Retry-Num``); Bolt does not
de-duplicate, so this remembers each delivery for a while and drops the repeats.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from pooldrift.errors import ConfigurationError

if TYPE_CHECKING:  # redis is an optional extra: only its type is needed here
    from redis.asyncio import Redis

__all__ = ["DropRetries", "MemorySeenStore", "RedisSeenStore", "SeenStore", "delivery_key", "open_seen_store"]

log = logging.getLogger("pooldrift.slack")

_MAX_KEYS = 100_000


class SeenStore(Protocol):
    """Remembers keys for a while; ``first_time`` is atomic across everyone sharing the store."""

    async def first_time(self, key: str, ttl: float) -> bool:
        """True the first time ``key`` is offered within ``ttl`` seconds, False after."""
        ...

    async def aclose(self) -> None: ...


class MemorySeenStore:
    """One process: a dict of key → expiry, oldest first, bounded in size."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = _MAX_KEYS) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._expiry: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, key: str, ttl: float) -> bool:
        now = self._clock()
        # entries go in with the same ttl, so the oldest expire first
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)
        if key in self._expiry:
            return False
        if len(self._expiry) >= self._max_keys:
            self._expiry.popitem(last=False)
        self._expiry[key] = now + ttl
        return True

    async def aclose(self) -> None:
        self._expiry.clear()

    def __len__(self) -> int:
        return len(self._expiry)


class RedisSeenStore:
    """Several replicas: ``SET key 1 NX EX ttl`` decides who saw a delivery first."""

    def __init__(self, redis: Redis, *, prefix: str = "pooldrift:slack:seen:") -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> RedisSeenStore:
        # redis is an optional extra: imported only when POOLDRIFT_REDIS_URL asks for it
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigurationError(
                "POOLDRIFT_REDIS_URL is set but the redis package is not installed: "
                "pip install 'pooldrift-slack[redis]'"
            ) from None
        return cls(Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0))

    async def first_time(self, key: str, ttl: float) -> bool:
        try:
            created = await self._redis.set(self._prefix + key, b"1", nx=True, px=max(1, int(ttl * 1000)))
        except Exception as exc:  # any Redis failure: a repeat is better than a silent drop
            log.warning(
                "retry de-duplication store unavailable (%s); handling the delivery", type(exc).__name__
            )
            return True
        return bool(created)

    async def aclose(self) -> None:
        await self._redis.aclose()


def open_seen_store(redis_url: str | None) -> SeenStore:
    return RedisSeenStore.from_url(redis_url) if redis_url else MemorySeenStore()


def delivery_key(body: dict[str, Any], raw_body: str) -> str:
    """What is the same in a delivery and its retries, and different between two deliveries:
    ``trigger_id`` (each command or click has its own), else the event id, else the bytes."""
    for name in ("trigger_id", "event_id"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return f"{name}:{value}"
    # Socket Mode hands Bolt a parsed body (raw_body is then empty)
    data = raw_body or json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


class DropRetries(AsyncMiddleware):
    """A Bolt global middleware. It runs after signature verification, so an unsigned request
    cannot mark a key as seen. A repeat is acknowledged (Slack stops retrying) and dropped."""

    def __init__(self, store: SeenStore, ttl: float) -> None:
        self._store = store
        self._ttl = ttl

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,  # noqa: ARG002 - Bolt passes it by name
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        if await self._store.first_time(delivery_key(req.body, req.raw_body), self._ttl):
            return await next()
        retry = (req.headers.get("x-slack-retry-num") or ["0"])[0]
        log.info("dropped a repeated Slack delivery (retry %s, %s)", retry, req.body.get("type", "command"))
        return BoltResponse(status=200, body="")
