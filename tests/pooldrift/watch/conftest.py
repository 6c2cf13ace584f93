"""Fixtures of the watch's tests: each state store (SQLite in a temporary file, and a real
redis-server on loopback when this machine has the binary), emptied for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from pooldrift.watch.state import RedisStore, SqliteStore, StateStore
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi

CHANNEL = "C0WATCH01"


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


class Clock:
    """The watch's clock in a test: real time plus however far the test moved it on."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def slack(slack_web: SlackWebApi) -> SlackWebApi:
    """The fake Slack Web API (``slack_web``), as these tests name it."""
    return slack_web


@pytest.fixture
def watch_env(
    emulator_env: dict[str, str], slack: SlackWebApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Variables (also set here) of a watch on the emulator, alerting the fake Slack, its state
    in a fresh file."""
    extra = {
        "POOLDRIFT_WATCH_CHANNEL": CHANNEL,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.api_url,
        "POOLDRIFT_STATE": str(tmp_path / "state.db"),
    }
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    return {**emulator_env, **extra}
