"""Shared fixtures: a clean environment, the running emulator, settings and a client pointed at it.

The emulator is one server per session; ``emulator`` resets its faults, request log and data first.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, load_settings
from pooldrift.emulator import EmulatorServer
from tests.helpers import emulator_variables
from tests.helpers import redis_server as start_redis
from tests.pooldrift.watch.slack_web import SlackWebApi

_OUR_PREFIXES = ("HUAWEICLOUD_", "POOLDRIFT_", "SLACK_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credential or setting of the machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith(_OUR_PREFIXES):
            monkeypatch.delenv(name)
    # the suite's watches turn in a fraction of a second, under the 10 s users get
    monkeypatch.setenv("POOLDRIFT_TEST_INTERVAL_FLOOR", "0.1")


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """The running emulator with no faults, an empty request log and the demo data set."""
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """One real redis-server for the session (skips where the machine has none)."""
    with start_redis("what Redis holds (the request budget, the watch's state and lease)") as url:
        yield url


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    """The test Redis, emptied: every test starts with nothing in it."""
    from redis.asyncio import Redis  # the redis extra: only tests that ask for Redis need it

    async with Redis.from_url(redis_server) as redis:
        await redis.flushdb()
    yield redis_server


@pytest.fixture(scope="session")
def slack_web_server() -> Iterator[SlackWebApi]:
    with SlackWebApi() as web:
        yield web


@pytest.fixture
def slack_web(slack_web_server: SlackWebApi) -> Iterator[SlackWebApi]:
    """The fake Slack Web API the watch posts to, with no messages, calls or planned failures."""
    slack_web_server.reset()
    yield slack_web_server
    slack_web_server.reset()


@pytest.fixture
def emulator_env(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Variables pointing pooldrift at the emulator (no project id: the IAM lookup runs)."""
    env = {
        **emulator_variables(emulator),
        "POOLDRIFT_DEADLINE": "10",
        "POOLDRIFT_READ_TIMEOUT": "2",
        "POOLDRIFT_CONNECT_TIMEOUT": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def settings(emulator_env: dict[str, str]) -> Settings:
    return load_settings()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[WorkspaceClient]:
    async with WorkspaceClient(settings) as workspace:
        yield workspace
