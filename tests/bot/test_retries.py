"""Retry de-duplication stores: in memory (always), Redis (when a redis-server binary is here),
and the key that tells a delivery's retries from a new delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pooldrift_slack.retries import MemorySeenStore, RedisSeenStore, delivery_key, open_seen_store

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import command_body
from tests.bot.settle import listen, settled
from tests.helpers import free_port, redis_server


async def test_memory_store_remembers_for_the_ttl() -> None:
    now = [100.0]
    store = MemorySeenStore(clock=lambda: now[0])
    assert await store.first_time("a", 10) is True
    assert await store.first_time("a", 10) is False
    assert await store.first_time("b", 10) is True
    now[0] += 10.5
    assert await store.first_time("a", 10) is True, "forgotten after the ttl"
    assert len(store) == 1, "expired keys are dropped"


async def test_memory_store_is_bounded() -> None:
    store = MemorySeenStore(max_keys=3)
    for key in "abcd":
        assert await store.first_time(key, 60)
    assert len(store) == 3
    assert await store.first_time("a", 60) is True, "the oldest went first"
    assert await store.first_time("d", 60) is False


async def test_memory_store_is_atomic_under_concurrency() -> None:
    store = MemorySeenStore()
    results = await asyncio.gather(*(store.first_time("same", 60) for _ in range(50)))
    assert results.count(True) == 1


def test_delivery_key() -> None:
    assert delivery_key({"trigger_id": "1.2.abc", "text": "x"}, "raw") == "trigger_id:1.2.abc"
    assert delivery_key({"event_id": "Ev1"}, "raw") == "event_id:Ev1"
    raw = delivery_key({}, "a=1")
    assert raw.startswith("sha256:") and raw == delivery_key({}, "a=1") != delivery_key({}, "a=2")
    # Socket Mode: no raw body, the parsed one is hashed (in a stable order)
    assert delivery_key({"a": 1, "b": 2}, "") == delivery_key({"b": 2, "a": 1}, "") != delivery_key({}, "")


def test_the_store_follows_the_redis_url() -> None:
    assert isinstance(open_seen_store(None), MemorySeenStore)
    assert isinstance(open_seen_store("redis://127.0.0.1:1/0"), RedisSeenStore)


async def test_an_unreachable_redis_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisSeenStore.from_url(f"redis://:hunter2-password@127.0.0.1:{free_port()}/0")
    try:
        assert await store.first_time("k", 60) is True
        assert await store.first_time("k", 60) is True, "a repeat beats a dropped answer"
    finally:
        await store.aclose()
    assert "de-duplication store unavailable" in caplog.text
    assert "hunter2" not in caplog.text


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server("the shared retry store") as url:
        yield url


@pytest.fixture
async def redis_stores(redis_url: str) -> AsyncIterator[tuple[RedisSeenStore, RedisSeenStore]]:
    # two stores, as two replicas would have
    one, two = RedisSeenStore.from_url(redis_url), RedisSeenStore.from_url(redis_url)
    yield one, two
    await one.aclose()
    await two.aclose()


async def test_redis_store_is_shared_between_replicas(
    redis_stores: tuple[RedisSeenStore, RedisSeenStore], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    one, two = redis_stores
    key = f"test-{time.monotonic_ns()}"
    results = await asyncio.gather(*(store.first_time(key, 60) for store in (one, two) * 10))
    assert results.count(True) == 1
    assert await one.first_time(key + "-short", 0.2) is True
    await asyncio.sleep(0.4)
    assert await two.first_time(key + "-short", 0.2) is True, "forgotten after the ttl"
    assert "unavailable" not in caplog.text


async def test_two_replicas_sharing_redis_answer_a_retried_delivery_once(
    redis_url: str,
    start_bot: Any,
    slack: FakeSlack,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    listen(caplog)
    first, second = start_bot(POOLDRIFT_REDIS_URL=redis_url), start_bot()
    body = command_body("hr-win10", slack.response_url("k"))
    assert (await first.send(body)).status_code == 200
    assert (await second.send(body, retry=1)).status_code == 200  # the retry reached another replica
    await slack.wait_posts("k")
    await settled(caplog, answered=1, repeats=1)  # the second replica dropped it
    assert len(slack.posts_for("k")) == 1
    assert emulator.requests.count("inconsistent-statics") == 1
