"""Fixtures of the watch's tests: each state store (SQLite in a temporary file, and a real
redis-server on loopback when this machine has the binary), emptied for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from pooldrift.watch.state import RedisStore, SqliteStore, StateStore
from tests.helpers import redis_server as start_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    with start_redis("the watch's shared state and lease") as url:
        yield url


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    """The test Redis, emptied."""
    async with Redis.from_url(redis_server) as redis:
        await redis.flushdb()
    yield redis_server


@pytest.fixture(params=["sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    """Each store in turn: the same tests hold for both."""
    opened: StateStore
    if store_kind == "sqlite":
        opened = await SqliteStore(tmp_path / "state.db").open()
    else:
        url = request.getfixturevalue("redis_server")  # sync: skips where there is no redis-server
        async with Redis.from_url(url) as redis:
            await redis.flushdb()
        opened = await RedisStore(url).open()
    yield opened
    await opened.aclose()
