"""Both state stores pass the same tests: states, history and its retention, "since when",
mutes, the outbox in order and keyed once, episodes' messages, and the lease with fencing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pooldrift.errors import ConfigurationError
from pooldrift.watch.events import Step, step
from pooldrift.watch.models import Event, EventKind, OutboxItem, SlackMessage
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.state import (
    SCHEMA_VERSION,
    LeaseLostError,
    RedisStore,
    SqliteStore,
    StateStore,
    open_reader,
)
from pooldrift.watch.store import StoreUnavailableError
from tests.pooldrift.watch.test_events import A, B, pool, scan

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def event(key: str, kind: EventKind, at: datetime, sequence: int, image: int = 0) -> Event:
    return Event(
        kind=kind,
        key=key,
        pool_id=key,
        pool_name="hr",
        region="cn-north-4",
        at=at,
        episode=f"{key}/ep",
        sequence=sequence,
        counts={"image_id": image},
    )


def item(key: str, channel: str = "C0123ABCD") -> OutboxItem:
    found = event(A, EventKind.DRIFTED, NOW, 1, 3)
    return OutboxItem(key=key, channel=channel, event=found, due=NOW)


async def test_states_round_trip_and_are_replaced_and_removed(store: StateStore) -> None:
    first = step({}, scan(pool(A, "hr", image_id=3), pool(B, "qa")), NOW)
    await store.commit(first, [], NOW, keep_days=30)
    loaded = await store.load()
    assert loaded == first.states
    assert await store.since(A) == NOW and await store.since(A.upper()) == NOW
    assert await store.since(B) is None and await store.since("cccccccc-0000-4000-8000-000000000003") is None
    later = NOW + timedelta(minutes=5)
    second = step(loaded, scan(pool(A, "hr", image_id=5)), later)
    await store.commit(second, [], later, keep_days=30)
    loaded = await store.load()
    assert set(loaded) == {A} and loaded[A].counts["image_id"] == 5 and loaded[A].drifting_since == NOW
    assert await store.state(B) is None and await store.state(A) == loaded[A]
    assert [s.key for s in await store.find("hr")] == [A] and [
        s.key for s in await store.find(A.upper())
    ] == [A]
    assert await store.find("qa") == []
    history = await store.history(A, 1, later)
    assert [e.kind for e in history] == ["drifted", "worse"]
    assert [e.kind for e in await store.history(B, 1, later)] == ["pool_gone"]
    assert len(await store.history(A, 365 * 30)) == 2, "now by default"


async def test_history_keeps_the_last_days_and_retention_deletes_older(store: StateStore) -> None:
    old = [
        event(A, EventKind.DRIFTED, NOW - timedelta(days=40), 1, 2),
        event(A, EventKind.WORSE, NOW - timedelta(days=10), 2, 4),
    ]
    await store.commit(Step(events=old), [], NOW - timedelta(days=10), keep_days=365)
    assert len(await store.history(A, 365, NOW)) == 2
    assert [e.sequence for e in await store.history(A, 20, NOW)] == [2], "days narrows what is read"
    recent = event(A, EventKind.BETTER, NOW, 3, 1)
    await store.commit(Step(events=[recent]), [], NOW, keep_days=30)
    assert [e.sequence for e in await store.history(A, 365, NOW)] == [2, 3], "older than 30 days: deleted"
    await store.commit(Step(), [], NOW + timedelta(days=31), keep_days=30)
    assert await store.history(A, 365, NOW + timedelta(days=31)) == []


async def test_the_outbox_keeps_order_and_each_key_once(store: StateStore) -> None:
    await store.commit(Step(), [item("ep#1"), item("ep#2")], NOW, keep_days=30)
    await store.commit(
        Step(), [item("ep#2", channel="C0OTHER00"), item("ep#3")], NOW + timedelta(seconds=1), keep_days=30
    )
    due = await store.due(NOW)
    assert [i.key for i in due] == ["ep#1", "ep#2", "ep#3"] and await store.pending() == 3
    assert due[1].channel == "C0123ABCD", "a key already queued is left as it was"
    assert due[0].order < due[1].order < due[2].order
    assert [i.key for i in await store.due(NOW, limit=2)] == ["ep#1", "ep#2"]
    retried = due[0].model_copy(
        update={"attempts": 2, "unsure": True, "error": "ratelimited", "due": NOW + timedelta(minutes=1)}
    )
    await store.retry(retried)
    again = (await store.due(NOW))[0]
    assert (again.attempts, again.unsure, again.error, again.due) == (
        2,
        True,
        "ratelimited",
        NOW + timedelta(minutes=1),
    )
    await store.save_message(SlackMessage(episode="ep", channel="C0123ABCD", ts="1.000100", posted_at=NOW))
    await store.finish("ep#1")
    assert await store.message("ep") is not None and await store.pending() == 2
    await store.finish("ep#2")
    await store.finish("ep#3", forget_episode="ep")
    assert await store.message("ep") is None and await store.due(NOW) == [] and await store.pending() == 0


async def test_mutes(store: StateStore) -> None:
    await store.mute(A.upper(), NOW + timedelta(hours=2))
    await store.mute(B, NOW + timedelta(minutes=1))
    assert await store.muted(NOW) == {A: NOW + timedelta(hours=2), B: NOW + timedelta(minutes=1)}
    assert await store.muted(NOW + timedelta(minutes=5)) == {A: NOW + timedelta(hours=2)}
    assert await store.unmute(A) is True and await store.unmute(A) is False
    assert await store.muted(NOW) == {}, "the expired mute was dropped, not kept"


async def test_a_mute_until_the_end_of_time_reads_as_muted_indefinitely(store: StateStore) -> None:
    forever = datetime.max.replace(tzinfo=UTC)  # its timestamp rounds up to year 10000
    await store.mute(A, forever)
    assert await store.muted(NOW) == {A: forever}
    assert await store.muted(NOW + timedelta(days=365 * 1000)) == {A: forever}, "and stays muted"
    assert await store.unmute(A) is True and await store.muted(NOW) == {}


async def test_the_lease_is_held_by_one_owner_and_taken_over_when_it_expires(store: StateStore) -> None:
    assert await store.lease("one", 30) and await store.lease("one", 30), "taken, then renewed"
    assert not await store.lease("two", 30)
    await store.release("two")  # not the holder: nothing happens
    assert not await store.lease("two", 30)
    await store.release("one")
    assert await store.lease("two", 0.3)
    assert not await store.lease("one", 30)
    deadline = time.monotonic() + 10
    while not await store.lease("one", 30):  # once two's 0.3 s run out, without a renewal
        assert time.monotonic() < deadline, "the lease never expired"
        await asyncio.sleep(0.05)
    assert not await store.lease("two", 30)


async def test_a_cycle_of_an_owner_without_the_lease_writes_nothing(store: StateStore) -> None:
    assert await store.lease("leader", 30)
    found = step({}, scan(pool(A, "hr", image_id=3)), NOW)
    with pytest.raises(LeaseLostError):
        await store.commit(found, [item("x#1")], NOW, keep_days=30, owner="stale")
    assert await store.load() == {} and await store.pending() == 0 and await store.history(A, 1, NOW) == []
    await store.commit(found, [item("x#1")], NOW, keep_days=30, owner="leader")
    assert set(await store.load()) == {A} and await store.pending() == 1


async def test_sqlite_is_durable_versioned_and_read_only_for_readers(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.db"
    async with SqliteStore(path) as store:
        await store.commit(step({}, scan(pool(A, "hr", image_id=3)), NOW), [item("x#1")], NOW, keep_days=30)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    async with SqliteStore(path, readonly=True) as reader:
        assert await reader.since(A) == NOW and await reader.pending() == 1
        with pytest.raises(StoreUnavailableError, match="readonly"):
            await reader.mute(A, NOW)
    settings = load_watch_settings(state_path=tmp_path / "none" / "state.db")
    assert await open_reader(settings) is None
    assert not (tmp_path / "none").exists(), "a reader creates nothing"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigurationError, match="newer pooldrift"):
        await SqliteStore(path).open()


def test_replicas_opening_a_new_state_file_at_once_both_open_it(tmp_path: Path) -> None:
    """Two replicas (threads here, each with its own connection) create the same new file at the
    same moment: the one that waited for the write lock finds the tables made, not "table
    subjects already exists"."""
    failures: list[BaseException] = []

    def opened(path: Path, start: threading.Barrier) -> None:
        async def go() -> None:
            start.wait()
            store = await SqliteStore(path).open()
            await store.aclose()

        try:
            asyncio.run(go())
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    for round_ in range(20):
        path, start = tmp_path / f"state-{round_}.db", threading.Barrier(2)
        replicas = [threading.Thread(target=opened, args=(path, start)) for _ in range(2)]
        for thread in replicas:
            thread.start()
        for thread in replicas:
            thread.join(30)
    assert failures == []


async def test_redis_refuses_a_newer_layout_and_never_shows_its_url(redis_url: str) -> None:
    async with RedisStore(redis_url) as store:
        await store.commit(step({}, scan(pool(A, "hr", image_id=3)), NOW), [], NOW, keep_days=30)
    from redis.asyncio import Redis

    async with Redis.from_url(redis_url) as redis:
        assert await redis.get("pooldrift:watch:version") == str(SCHEMA_VERSION).encode()
        await redis.set("pooldrift:watch:version", 99)
    with pytest.raises(ConfigurationError, match="newer pooldrift"):
        await RedisStore(redis_url).open()
    with pytest.raises(ConfigurationError, match="cannot use POOLDRIFT_REDIS_URL") as info:
        await RedisStore("redis://:hunter2@127.0.0.1:1/0", timeout=0.5).open()
    assert "hunter2" not in info.value.message and "127.0.0.1" not in info.value.message
