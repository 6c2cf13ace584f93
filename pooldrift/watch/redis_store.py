"""The watch's state in Redis (``POOLDRIFT_REDIS_URL``), shared by replicas: hashes of states,
mutes, deliveries and messages, a sorted set of history per pool, the lease one replica holds,
and the marker of when the history began (a Redis restarted without its data has none).

A cycle's writes are one MULTI/EXEC, watched on the lease key: a replica that lost its lease
while it scanned writes nothing (``LeaseLostError``). The URL is never logged (it may hold a password).

A value that does not decode (corrupt, or another application's under our prefix) is never a
traceback. What the watch cannot do without is one line naming the key (a pool's state: skipping
it would forget an open episode and announce its drift again); what it can go on without is
skipped with one warning naming the key (an alert, an episode's message, a history line, a mute).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ConfigurationError
from ..fix.records import AuditEntry, PlanEntry, StepRecord, StepStatus
from .events import Step
from .models import Event, HistoryMarker, OutboxItem, SlackMessage, SubjectState
from .store import SCHEMA_VERSION, LeaseLostError, StoreUnavailableError, mute_end, pools_named, why

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "RedisStore"]

log = logging.getLogger("pooldrift.watch")
_M = TypeVar("_M", bound=BaseModel)

DEFAULT_PREFIX = "pooldrift:watch:"

# KEYS[1] the lease; ARGV: owner, ttl (ms). 1 when the owner holds it afterwards.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisStore:
    """The state in the Redis at ``url``, under keys starting with ``prefix``."""

    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 5.0, readonly: bool = False
    ) -> None:
        self._url = url
        self.readonly = readonly
        self._timeout = timeout
        self._prefix = prefix
        self._client: Redis | None = None
        self._told: set[str] = set()  # keys whose bad value was said already
        # a renewal of our own lease (PEXPIRE) between a commit's WATCH and EXEC would abort that
        # commit as if another replica had taken the lease: the two take turns
        self._lease_turn = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self._prefix!r})"

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    @property
    def _redis(self) -> Any:
        # Any: redis-py's types cannot say that decode_responses makes every answer a str
        if self._client is None:
            raise RuntimeError("the state store is not open")
        return self._client

    async def open(self) -> Self:
        try:
            from redis.asyncio import Redis
            from redis.exceptions import RedisError
        except ImportError:
            raise ConfigurationError.redis_missing() from None
        try:
            client = Redis.from_url(
                self._url,
                decode_responses=True,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
        except (ValueError, TypeError):
            raise ConfigurationError(
                "POOLDRIFT_REDIS_URL is not a Redis URL (redis://, rediss:// or unix://)"
            ) from None
        try:
            version = await client.get(self._key("version"))
            if version is not None and not str(version).isdigit():
                raise ConfigurationError(
                    f"the watch's Redis key {self._key('version')} holds {str(version)[:40]!r}, not a "
                    "layout number: is another application using the prefix?"
                )
            if version is not None and int(version) > SCHEMA_VERSION:
                raise ConfigurationError(
                    f"the watch's Redis state was written by a newer pooldrift (layout {version!s}; "
                    f"this one knows {SCHEMA_VERSION})"
                )
            if not self.readonly:
                await client.set(self._key("version"), SCHEMA_VERSION)
                # as the SQLite store does: never start on states the cycles could not read
                states: dict[str, str] = await client.hgetall(self._key("state"))  # type: ignore[assignment]
                for field, body in states.items():
                    self._decode(SubjectState, body, "state", field)
        except RedisError as exc:
            await client.aclose()
            # the type only: a message could name the host, and the URL may hold a password
            raise ConfigurationError(f"cannot use POOLDRIFT_REDIS_URL ({type(exc).__name__})") from None
        except ConfigurationError:
            await client.aclose()
            raise
        except StoreUnavailableError as exc:
            await client.aclose()
            raise ConfigurationError(exc.message) from None
        self._client = client
        return self

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- values that may not decode --------------------------------------------------------

    def _decode(self, model: type[_M], body: str, key: str, field: str) -> _M:
        """``body`` as a ``model``, or the one-line error naming the key and the field."""
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise StoreUnavailableError(
                f"the watch's Redis has a corrupt value in {self._key(key)} (field {field!r}): {why(exc)}"
            ) from None

    def _skip(self, what: str, where: str, why: str) -> None:
        """Say once per key that a value was skipped."""
        if where not in self._told:
            self._told.add(where)
            log.warning("skipped %s in the watch's Redis (%s): %s", what, where, why)

    # -- state and history -----------------------------------------------------------------

    async def load(self) -> dict[str, SubjectState]:
        rows: dict[str, str] = await self._redis.hgetall(self._key("state"))
        return {key: self._decode(SubjectState, body, "state", key) for key, body in rows.items()}

    async def state(self, key: str) -> SubjectState | None:
        body = await self._redis.hget(self._key("state"), key)
        return self._decode(SubjectState, body, "state", key) if body else None

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
        from redis.exceptions import WatchError

        lease = self._key("lease")
        historied = self._key("historied")
        cutoff = (now - timedelta(days=keep_days)).timestamp()
        base = round(now.timestamp() * 1000) * 1000
        try:
            async with self._lease_turn, self._redis.pipeline(transaction=True) as pipe:
                if owner is not None:
                    await pipe.watch(lease)
                    if await pipe.get(lease) != owner:
                        raise LeaseLostError(
                            "another watch holds the lease; this cycle's results are dropped"
                        )
                with_history: set[str] = set(await self._redis.smembers(historied))
                pipe.multi()
                if step.states:
                    pipe.hset(
                        self._key("state"), mapping={k: s.model_dump_json() for k, s in step.states.items()}
                    )
                if step.removed:
                    pipe.hdel(self._key("state"), *step.removed)
                for event in step.events:
                    pipe.zadd(
                        self._key("history", event.key), {event.model_dump_json(): event.at.timestamp()}
                    )
                    pipe.sadd(historied, event.key)
                for index, item in enumerate(outbox):
                    pipe.hsetnx(self._key("outbox", "items"), item.key, item.model_dump_json())
                    pipe.zadd(self._key("outbox"), {item.key: base + index}, nx=True)
                for key in with_history:
                    pipe.zremrangebyscore(self._key("history", key), "-inf", f"({cutoff}")
                if marker is not None:
                    pipe.set(self._key("marker"), marker.model_dump_json(), nx=True)
                await pipe.execute()
        except WatchError:
            raise LeaseLostError(
                "the lease changed hands during the cycle; its results are dropped"
            ) from None
        await self._forget_empty_histories()

    async def _forget_empty_histories(self) -> None:
        historied = self._key("historied")
        keys: list[str] = sorted(await self._redis.smembers(historied))
        if not keys:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.exists(self._key("history", key))
            present = await pipe.execute()
        gone = [key for key, there in zip(keys, present, strict=True) if not there]
        if gone:
            await self._redis.srem(historied, *gone)

    async def marker(self) -> HistoryMarker | None:
        body: str | None = await self._redis.get(self._key("marker"))
        if body is None:
            return None
        try:
            return HistoryMarker.model_validate_json(body)
        except ValidationError:
            # whatever it holds, the key is there, so the history was not lost with it
            return HistoryMarker(by="a marker that does not decode")

    async def since(self, pool_id: str) -> datetime | None:
        state = await self.state(pool_id.lower())
        return state.drifting_since if state else None

    async def history(self, pool_id: str, days: float, now: datetime | None = None) -> list[Event]:
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).timestamp()
        rows: list[str] = await self._redis.zrangebyscore(
            self._key("history", pool_id.lower()), cutoff, "+inf"
        )
        key = self._key("history", pool_id.lower())
        events = []
        for body in rows:
            # a history is read to be shown: one unreadable line does not hide the others
            try:
                events.append(Event.model_validate_json(body))
            except ValidationError as exc:
                self._skip("a history line", key, f"{why(exc)}: {body[:60]!r}")
        return sorted(events, key=lambda e: (e.at, e.sequence))

    async def find(self, ref: str) -> list[SubjectState]:
        return pools_named(await self.load(), ref)

    # -- mutes -----------------------------------------------------------------------------

    async def mute(self, pool_id: str, until: datetime) -> None:
        await self._redis.hset(self._key("mutes"), pool_id.lower(), str(until.timestamp()))

    async def unmute(self, pool_id: str) -> bool:
        return bool(await self._redis.hdel(self._key("mutes"), pool_id.lower()))

    def _until(self, pool_id: str, value: str) -> datetime | None:
        """A mute's end (``mute_end``: one out of range is indefinite). Not a number at all: not
        muted, said once, for a value nobody can read should not hold alerts back."""
        try:
            seconds = float(value)
        except ValueError:
            seconds = math.nan
        if math.isnan(seconds):
            self._skip("a mute", f"{self._key('mutes')} field {pool_id!r}", f"{value[:40]!r} is not a time")
            return None
        return mute_end(seconds)

    async def muted(self, now: datetime) -> dict[str, datetime]:
        rows: dict[str, str] = await self._redis.hgetall(self._key("mutes"))
        ends = {key: self._until(key, until) for key, until in rows.items()}
        live = {key: until for key, until in ends.items() if until is not None}
        expired = [key for key, until in live.items() if until <= now]
        if expired and not self.readonly:
            await self._redis.hdel(self._key("mutes"), *expired)
        return {key: until for key, until in live.items() if until > now}

    # -- the outbox and the episodes' messages ----------------------------------------------

    async def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        del now  # every pending item is returned: the caller keeps each episode in order
        ranked: list[tuple[str, float]] = await self._redis.zrange(
            self._key("outbox"), 0, limit - 1, withscores=True
        )
        if not ranked:
            return []
        bodies: list[Any] = await self._redis.hmget(self._key("outbox", "items"), [k for k, _ in ranked])
        items = []
        for (key, score), body in zip(ranked, bodies, strict=True):
            if body is None:
                continue
            try:
                items.append(OutboxItem.model_validate_json(body).model_copy(update={"order": int(score)}))
            except ValidationError as exc:
                await self._set_aside(key, body, why(exc))
        return items

    async def _set_aside(self, key: str, body: str, fault: str) -> None:
        """An alert that does not decode can never be posted; left in place it would wait in
        the outbox forever. It is moved, as it was, to ``outbox:unreadable`` for a look."""
        aside = self._key("outbox", "unreadable")
        log.warning(
            "an alert in the watch's Redis does not decode (%s field %r: %s); moved to %s",
            self._key("outbox", "items"),
            key,
            fault,
            aside,
        )
        if self.readonly:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(aside, key, body)
            pipe.zrem(self._key("outbox"), key)
            pipe.hdel(self._key("outbox", "items"), key)
            await pipe.execute()

    async def pending(self) -> int:
        return int(await self._redis.zcard(self._key("outbox")))

    async def retry(self, item: OutboxItem) -> None:
        await self._redis.hset(self._key("outbox", "items"), item.key, item.model_dump_json())

    async def finish(self, key: str, *, forget_episode: str | None = None) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._key("outbox"), key)
            pipe.hdel(self._key("outbox", "items"), key)
            if forget_episode is not None:
                pipe.hdel(self._key("messages"), forget_episode)
            await pipe.execute()

    async def message(self, episode: str) -> SlackMessage | None:
        body = await self._redis.hget(self._key("messages"), episode)
        if not body:
            return None
        try:
            return SlackMessage.model_validate_json(body)
        except ValidationError as exc:
            # as if never posted: the episode's next change posts a new message rather than none
            self._skip("an episode's Slack message", f"{self._key('messages')} field {episode!r}", why(exc))
            return None

    async def save_message(self, message: SlackMessage) -> None:
        await self._redis.hset(self._key("messages"), message.episode, message.model_dump_json())

    # -- the lease -------------------------------------------------------------------------

    async def lease(self, owner: str, ttl: float) -> bool:
        async with self._lease_turn:
            taken = await self._redis.eval(_TAKE, 1, self._key("lease"), owner, max(1, round(ttl * 1000)))
        return bool(taken)

    async def release(self, owner: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._key("lease"), owner)

    async def holder(self) -> str | None:
        """Who holds the lease now (for tests and logs)."""
        value: str | None = await self._redis.get(self._key("lease"))
        return value

    # -- the fix ledger ----------------------------------------------------------------------

    async def save_plan(self, entry: PlanEntry, body: str) -> None:
        if await self._redis.set(self._key("fix", "plan", entry.plan_id), body, nx=True):
            await self._redis.zadd(
                self._key("fix", "plans"), {entry.model_dump_json(): entry.created_at.timestamp()}
            )

    async def load_plan(self, plan_id: str) -> str | None:
        body: str | None = await self._redis.get(self._key("fix", "plan", plan_id))
        return body

    async def plans(self, limit: int = 50) -> list[PlanEntry]:
        entries: list[str] = await self._redis.zrevrange(self._key("fix", "plans"), 0, max(0, limit - 1))
        return [self._decode(PlanEntry, e, "fix:plans", "member") for e in entries]

    async def claim_step(self, record: StepRecord) -> StepRecord:
        key, field = self._key("fix", "steps", record.plan_id), str(record.step)
        await self._redis.hsetnx(key, field, record.model_dump_json())  # of two claims, one wins
        body: str = await self._redis.hget(key, field)
        return self._decode(StepRecord, body, f"fix:steps:{record.plan_id}", field)

    async def settle_step(self, record: StepRecord, *, was: StepStatus) -> bool:
        key = self._key("fix", "steps", record.plan_id)
        done = await self._redis.eval(_SETTLE, 1, key, str(record.step), was, record.model_dump_json())
        return bool(done)

    async def steps(self, plan_id: str) -> list[StepRecord]:
        found: dict[str, str] = await self._redis.hgetall(self._key("fix", "steps", plan_id))
        records = [
            self._decode(StepRecord, body, f"fix:steps:{plan_id}", step) for step, body in found.items()
        ]
        return sorted(records, key=lambda r: r.step)

    async def audit(self, entry: AuditEntry) -> None:
        await self._redis.rpush(self._key("fix", "audit", entry.plan_id), entry.model_dump_json())

    async def audit_log(self, plan_id: str) -> list[AuditEntry]:
        lines: list[str] = await self._redis.lrange(self._key("fix", "audit", plan_id), 0, -1)
        return [
            self._decode(AuditEntry, line, f"fix:audit:{plan_id}", str(n)) for n, line in enumerate(lines)
        ]


#: a step replaced only while its status is still the one its writer saw (compare and set)
_SETTLE = """
local body = redis.call('HGET', KEYS[1], ARGV[1])
if not body then return 0 end
if cjson.decode(body)['status'] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _guarded(method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """Redis failures as ``StoreUnavailableError``, naming the error's type only (never the URL)."""

    @functools.wraps(method)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        from redis.exceptions import RedisError, ResponseError

        try:
            return await method(*args, **kwargs)
        except ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):
                raise StoreUnavailableError(
                    "a key of the watch's Redis holds another kind of value than the watch writes "
                    "(WRONGTYPE): is another application using its prefix?"
                ) from None
            raise StoreUnavailableError(f"the watch's Redis did not answer ({type(exc).__name__})") from None
        except RedisError as exc:
            raise StoreUnavailableError(f"the watch's Redis did not answer ({type(exc).__name__})") from None

    return call


for _name, _method in list(vars(RedisStore).items()):
    if inspect.iscoroutinefunction(_method) and not _name.startswith("_") and _name not in ("open", "aclose"):
        setattr(RedisStore, _name, _guarded(_method))
