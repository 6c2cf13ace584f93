"""The optional requests-per-minute budget (``POOLDRIFT_REQUESTS_PER_MINUTE``).

At most ``per_minute`` request starts in any sliding 60 s window: in this process
(``MemoryBudget``), or shared by every process using the same Redis (``RedisBudget``, when
``POOLDRIFT_REDIS_URL`` is set). Either way ``acquire(deadline)`` waits for a slot, or raises
``BudgetExhaustedError`` at once when the slot would come after the call's deadline.

A Redis outage never takes the service down: the call falls back to this process's own
budget, with one warning per outage (never the URL: it may hold a password).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Protocol

from .errors import BudgetExhaustedError, ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .config import Settings

__all__ = ["MemoryBudget", "RedisBudget", "RequestBudget", "budget_key", "open_budget"]

log = logging.getLogger("pooldrift.budget")

#: a slot frees a second after 60 s: a request leaves here before the gateway counts it (by
#: milliseconds, or more on a busy host), and a gateway counting the same 60 s would otherwise
#: see the next one too early; it costs under 2 % of the budget's rate
_WINDOW = 61.0
#: After a Redis failure, calls use the in-process budget this long before asking Redis again.
_REDIS_COOLDOWN = 5.0
_REDIS_TIMEOUT = 0.5

# KEYS[1] the window's ZSET; ARGV: limit, window (ms), a unique member.
# Returns 0 when a slot was taken, else the ms until the oldest start leaves the window.
_ACQUIRE = """
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
"""


class RequestBudget(Protocol):
    """Where request starts are counted; ``acquire`` takes a slot or says when there is none."""

    async def acquire(self, deadline: float) -> None:
        """Wait for a slot; if it would come after ``deadline`` (loop time), raise at once."""
        ...

    async def aclose(self) -> None: ...


def _exhausted(per_minute: int, wait: float) -> BudgetExhaustedError:
    return BudgetExhaustedError(
        f"pooldrift's own budget of {per_minute} requests a minute is spent "
        f"(POOLDRIFT_REQUESTS_PER_MINUTE); retry in {math.ceil(wait)} s",
        retry_after=wait,
    )


class MemoryBudget:
    """At most ``per_minute`` request starts in any sliding 60 s window, in this process."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self, deadline: float) -> None:
        """Wait for a slot; if it would come after ``deadline`` (loop time), say so at once."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._starts and now - self._starts[0] >= _WINDOW:
                    self._starts.popleft()
                if len(self._starts) < self._per_minute:
                    self._starts.append(now)
                    return
                wait = _WINDOW - (now - self._starts[0])
                if loop.time() + wait > deadline:
                    raise _exhausted(self._per_minute, wait)
                await asyncio.sleep(wait)

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"MemoryBudget(per_minute={self._per_minute})"


class RedisBudget:
    """At most ``per_minute`` request starts in any sliding 60 s window, shared by every
    process using the same Redis ``key``: one Lua script on a ZSET of start times taken from
    the Redis server's clock, so replicas' clocks do not matter.

    Fails open: when Redis is unreachable or errors, the call is counted by an in-process
    budget instead (one warning per outage; Redis is asked again after a short cooldown).
    """

    def __init__(self, redis: Redis, per_minute: int, *, key: str, cooldown: float = _REDIS_COOLDOWN) -> None:
        self._redis = redis
        #: after a failure, seconds to count in this process before asking Redis again
        self._cooldown = cooldown
        self._per_minute = per_minute
        self._key = key
        self._script = redis.register_script(_ACQUIRE)
        self._fallback = MemoryBudget(per_minute)
        self._down_until: float | None = None  # monotonic time; None while Redis answers

    @classmethod
    def from_url(
        cls,
        url: str,
        per_minute: int,
        *,
        key: str,
        timeout: float = _REDIS_TIMEOUT,
        cooldown: float = _REDIS_COOLDOWN,
    ) -> RedisBudget:
        """A budget on the Redis at ``url``; the URL is never put in a message or a log."""
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ConfigurationError.redis_missing() from None
        try:
            redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        except (ValueError, TypeError):
            raise ConfigurationError(
                "POOLDRIFT_REDIS_URL is not a Redis URL (redis://, rediss:// or unix://)"
            ) from None
        return cls(redis, per_minute, key=key, cooldown=cooldown)

    @property
    def key(self) -> str:
        return self._key

    async def acquire(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._down_until is not None and time.monotonic() < self._down_until:
                await self._fallback.acquire(deadline)
                return
            try:
                args: list[int | str] = [self._per_minute, int(_WINDOW * 1000), uuid.uuid4().hex]
                wait_ms = int(await self._script(keys=[self._key], args=args))
            except Exception as exc:  # any Redis failure: count here rather than fail the call
                self._went_down(exc)
                await self._fallback.acquire(deadline)
                return
            if self._down_until is not None:
                self._down_until = None
                log.info("the shared request budget's Redis answers again")
            if wait_ms <= 0:
                return
            wait = wait_ms / 1000
            if loop.time() + wait > deadline:
                raise _exhausted(self._per_minute, wait)
            await asyncio.sleep(wait)

    def _went_down(self, exc: Exception) -> None:
        if self._down_until is None:
            # the type only: a message could name the host, and the URL may hold a password
            log.warning(
                "shared request budget unavailable (%s); counting requests in this process for now",
                type(exc).__name__,
            )
        else:
            log.debug("shared request budget still unavailable (%s)", type(exc).__name__)
        self._down_until = time.monotonic() + self._cooldown

    async def aclose(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisBudget(per_minute={self._per_minute}, key={self._key!r})"


def budget_key(settings: Settings) -> str:
    """The Redis key of a budget: one per account (a hash of the access key, never the key)."""
    if settings.access_key is not None:
        identity = "ak:" + settings.access_key.get_secret_value()
    else:
        identity = "iam-token"  # tokens rotate: one budget for every token user of this Redis
    return "pooldrift:budget:" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def open_budget(settings: Settings) -> RequestBudget | None:
    """The configured budget: none, in this process, or shared through Redis."""
    per_minute = settings.requests_per_minute
    if not per_minute:
        return None
    if settings.redis_url is None:
        return MemoryBudget(per_minute)
    return RedisBudget.from_url(settings.redis_url.get_secret_value(), per_minute, key=budget_key(settings))
