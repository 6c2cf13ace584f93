"""The lease's promises, on each store and through the watch itself: a replica that lost or let
expire its lease cannot commit; a renewal really extends it, and a long cycle renews it well
before it runs out; a stopped watch hands it back at once and leaves nothing behind that could
take it again; a store that stops answering makes the watch stop leading."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.watch.engine import Watch
from pooldrift.watch.events import step
from pooldrift.watch.redis_store import DEFAULT_PREFIX
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.state import LeaseLostError, RedisStore, StateStore
from pooldrift.watch.store import StoreUnavailableError
from tests.helpers import running_redis
from tests.pooldrift.watch.test_events import A, pool, scan
from tests.pooldrift.watch.test_store import NOW

Open = Callable[..., Any]


def leader_gauge() -> float | None:
    return REGISTRY.get_sample_value("pooldrift_watch_leader")


async def until(what: Callable[[], Any], within: float = 15.0, why: str = "") -> None:
    """Wait for ``what()`` (a value or an awaitable) to be true, at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = what()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, f"timed out waiting: {why}"
        await asyncio.sleep(0.05)


async def seize(store_kind: str, tmp_path: Path, redis_url: str | None, owner: str, ttl: float) -> None:
    """Another replica takes the lease out from under its holder (as after a long pause of the
    holder's process, when the lease ran out and was taken): written in the store directly."""
    if store_kind == "sqlite":
        with sqlite3.connect(tmp_path / "state.db") as conn:
            conn.execute("UPDATE lease SET owner = ?, until = ?", (owner, time.time() + ttl))
            assert conn.total_changes == 1, "the watch held the lease in the file"
    else:
        assert redis_url is not None
        async with Redis.from_url(redis_url) as redis:
            assert await redis.set(DEFAULT_PREFIX + "lease", owner, px=round(ttl * 1000), xx=True)


@pytest.fixture
def redis_url_or_none(store_kind: str, request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue("redis_server")) if store_kind == "redis" else None


@pytest.fixture
def open_watch(watch_env: dict[str, str], store: StateStore) -> Open:
    """``async with open_watch(**settings) as watch``: a watch without Slack on the test's store."""

    @asynccontextmanager
    async def opened(**overrides: Any) -> AsyncIterator[Watch]:
        settings = load_watch_settings(**{"interval": "1", **overrides})
        async with WorkspaceClient() as client:
            yield Watch(settings, client, store)

    return opened


# -- the stores -------------------------------------------------------------------------------


async def test_a_lease_left_to_expire_cannot_commit_even_when_nobody_took_it(store: StateStore) -> None:
    found = step({}, scan(pool(A, "hr", image_id=3)), NOW)
    assert await store.lease("paused", 0.3)
    await asyncio.sleep(0.45)  # the holder's process stood still past its lease
    with pytest.raises(LeaseLostError):
        await store.commit(found, [], NOW, keep_days=30, owner="paused")
    assert await store.load() == {}, "nothing of the late cycle was written"


async def test_a_renewal_extends_the_lease_past_its_first_expiry(store: StateStore) -> None:
    assert await store.lease("holder", 0.8)
    await asyncio.sleep(0.5)
    assert await store.lease("holder", 0.8), "renewed"
    await asyncio.sleep(0.5)  # past the first lease's end, within the renewed one
    assert not await store.lease("rival", 30), "the renewal counted: nobody else may take it yet"
    found = step({}, scan(pool(A, "hr", image_id=3)), NOW)
    await store.commit(found, [], NOW, keep_days=30, owner="holder")
    assert set(await store.load()) == {A}


# -- the watch --------------------------------------------------------------------------------


async def test_the_holders_own_renewals_never_drop_its_commits(store: StateStore) -> None:
    """The watch renews its lease while it commits (its keepalive): a renewal between a Redis
    commit's WATCH and EXEC aborted the commit as if the lease had changed hands."""
    assert await store.lease("me", 30)
    done = asyncio.Event()

    async def keepalive() -> int:
        renewed = 0
        while not done.is_set():
            assert await store.lease("me", 30)
            renewed += 1
            await asyncio.sleep(0)
        return renewed

    renewing = asyncio.create_task(keepalive())
    try:
        for _ in range(50):
            await store.commit(
                step({}, scan(pool(A, "hr", image_id=3)), NOW), [], NOW, keep_days=7, owner="me"
            )
    finally:
        done.set()
    assert await renewing > 0, "renewed meanwhile"


async def test_a_cycle_longer_than_the_lease_keeps_it_and_commits(
    open_watch: Open, emulator: EmulatorServer, store: StateStore
) -> None:
    """Interval 1 s: a lease of 1.5 s, and a scan of about 3 s (each request waits 1 s). The
    watch renews the lease while it scans, so a rival trying all along never gets it."""
    emulator.faults.update(latency=1.0)
    taken: list[float] = []

    async def rival() -> None:
        while True:
            if await store.lease("rival", 30):
                taken.append(time.monotonic())
                return
            await asyncio.sleep(0.05)

    async with open_watch() as watch:
        started = time.monotonic()
        trying = asyncio.create_task(rival())
        try:
            done = await watch.once()
        finally:
            trying.cancel()
        took = time.monotonic() - started
    assert took > 1.5 * 1.5, f"the cycle outlasted the lease ({took:.1f} s)"
    assert done is not None and done[0].pools > 0
    assert taken == [] or taken[0] - started >= took - 0.1, "the rival took it only once it was handed back"
    assert len(await store.load()) >= done[0].pools, "the cycle's results were written"


async def test_a_cycle_whose_lease_was_taken_meanwhile_writes_nothing(
    open_watch: Open,
    emulator: EmulatorServer,
    store: StateStore,
    store_kind: str,
    tmp_path: Path,
    redis_url_or_none: str | None,
) -> None:
    emulator.faults.update(latency=0.3)
    async with open_watch() as watch:
        cycle = asyncio.create_task(watch.once())
        await until(lambda: emulator.requests.count("desktop-pools") > 0, why="the cycle is scanning")
        await seize(store_kind, tmp_path, redis_url_or_none, "rival", 30)
        with pytest.raises(LeaseLostError):
            await cycle
    assert await store.load() == {} and await store.pending() == 0
    assert not await store.lease(watch.owner, 30), "the rival still holds it: not taken back"


async def test_once_hands_the_lease_back_and_leaves_no_renewal_running(
    open_watch: Open, emulator: EmulatorServer, store: StateStore
) -> None:
    async with open_watch() as watch:
        assert await watch.once() is not None
        assert leader_gauge() == 0
        assert await store.lease("next", 0.2), "handed back at once, not left to expire"
        renewals = [t for t in asyncio.all_tasks() if "_keepalive" in repr(t.get_coro())]
        assert renewals == [], "no renewal left running that could take the lease again"
        await store.release("next")
        # and a watch that ran once takes nothing on its own afterwards: the lease stays free
        assert await store.lease("after", 30)


async def test_a_stopped_watch_hands_the_lease_back_at_once(
    open_watch: Open, emulator: EmulatorServer, store: StateStore
) -> None:
    stop = asyncio.Event()
    async with open_watch() as watch:
        running = asyncio.create_task(watch.run(stop))
        await until(lambda: leader_gauge() == 1, why="the watch leads")
        await until(lambda: emulator.requests.count("inconsistent-statics") > 0, why="its first cycle ran")
        stop.set()
        await asyncio.wait_for(running, 10)
    assert leader_gauge() == 0
    assert await store.lease("next", 30), "handed back at once (the lease lasts 1.5 s otherwise)"
    assert [t for t in asyncio.all_tasks() if "_keepalive" in repr(t.get_coro())] == []


async def test_a_store_that_stops_answering_makes_the_watch_stop_leading(
    watch_env: dict[str, str], emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis of its own, stopped under a running watch: the watch says it cannot reach it and
    stops leading (gauge 0) instead of going on as the leader; once() on it is an error."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary on this machine: a store that stops is tested where there is one")
    caplog.set_level(logging.INFO, "pooldrift.watch")
    stop = asyncio.Event()
    redis = running_redis(binary)
    url = redis.__enter__()
    stopped = False
    store = await RedisStore(url).open()
    async with WorkspaceClient() as client:
        watch = Watch(load_watch_settings(interval="1"), client, store)
        running = asyncio.create_task(watch.run(stop))
        try:
            await until(lambda: leader_gauge() == 1, why="the watch leads")
            redis.__exit__(None, None, None)  # redis-server stops
            stopped = True
            await until(lambda: leader_gauge() == 0, why="the watch stops leading")
            assert "cannot reach the watch's state store" in caplog.text
            with pytest.raises(StoreUnavailableError):
                await watch.once()
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 15)
            await store.aclose()
            if not stopped:
                redis.__exit__(None, None, None)
