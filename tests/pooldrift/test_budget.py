"""The requests-per-minute budget: in memory per process, or shared through a real Redis
(started here on a free loopback port when a redis-server binary is on this machine)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from pooldrift import errors
from pooldrift.budget import MemoryBudget, RedisBudget, budget_key, open_budget
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, load_settings
from pooldrift.emulator import EmulatorServer
from tests.helpers import free_port

PASSWORD = "hunter2-budget-pw"


def budget_settings(emulator: EmulatorServer, per_minute: int, redis_url: str | None = None) -> Settings:
    # the project id is given, so the IAM lookup does not spend the budget
    return load_settings(requests_per_minute=per_minute, redis_url=redis_url, project_id=emulator.project_id)


def pool_ids(emulator: EmulatorServer, count: int) -> list[str]:
    ids = [pool.id for pool in emulator.data.pools][:count]
    assert len(ids) == count, "the demo data set has enough pools"
    return ids


async def test_two_clients_sharing_redis_share_one_budget(
    emulator: EmulatorServer, emulator_env: dict[str, str], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pooldrift.budget")
    settings = budget_settings(emulator, 3, redis_url)
    (pool,) = pool_ids(emulator, 1)
    started = time.monotonic()
    # two clients, two budgets, as two replicas would have
    async with WorkspaceClient(settings) as one, WorkspaceClient(settings) as two:
        await one.inconsistent_statics(pool)
        await two.inconsistent_statics(pool)
        await one.inconsistent_statics(pool)
        for client in (two, one):
            # a slot frees in ~60 s, past the 10 s deadline: said at once, nothing sent
            with pytest.raises(errors.BudgetExhaustedError, match="POOLDRIFT_REQUESTS_PER_MINUTE") as info:
                await client.inconsistent_statics(pool)
            assert info.value.retry_after is not None and 50 < info.value.retry_after <= 61
            assert "budget of 3 requests a minute" in info.value.message
    assert time.monotonic() - started < 8
    assert emulator.requests.count("inconsistent-statics") == 3
    assert len(emulator.requests) == 3
    assert "unavailable" not in caplog.text, "Redis answered every time"
    async with Redis.from_url(redis_url) as redis:
        keys = await redis.keys("pooldrift:budget:*")
        assert len(keys) == 1 and await redis.zcard(keys[0]) == 3
        assert emulator.access_key not in keys[0].decode()
        assert 0 < await redis.pttl(keys[0]) <= 61_000, "the window's key expires on its own"


async def test_the_shared_budget_is_atomic_under_concurrency(
    emulator: EmulatorServer, emulator_env: dict[str, str], redis_url: str
) -> None:
    settings = budget_settings(emulator, 4, redis_url)
    pools = pool_ids(emulator, 5)
    async with WorkspaceClient(settings) as one, WorkspaceClient(settings) as two:
        # distinct calls (identical ones under way at once would share one request)
        calls = [client.get_pool(pool) for pool in pools for client in (one, two)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    exhausted = [r for r in results if isinstance(r, errors.BudgetExhaustedError)]
    assert len(results) - len(exhausted) == 4, results
    assert all(not isinstance(r, BaseException) or r in exhausted for r in results), results
    assert len(emulator.requests) == 4


async def test_in_memory_budget_without_redis_is_per_process(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    settings = budget_settings(emulator, 2)
    assert settings.redis_url is None
    (pool,) = pool_ids(emulator, 1)
    started = time.monotonic()
    async with WorkspaceClient(settings) as one, WorkspaceClient(settings) as two:
        for client in (one, two):
            await client.inconsistent_statics(pool)
            await client.inconsistent_statics(pool)
            with pytest.raises(errors.BudgetExhaustedError, match="POOLDRIFT_REQUESTS_PER_MINUTE"):
                await client.inconsistent_statics(pool)
    assert time.monotonic() - started < 8
    # each process has its own budget: 2 each
    assert emulator.requests.count("inconsistent-statics") == 4


async def test_an_unreachable_redis_fails_open_without_showing_the_password(
    emulator: EmulatorServer,
    emulator_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    settings = budget_settings(emulator, 2, url)
    (pool,) = pool_ids(emulator, 1)
    shown: list[str] = [repr(settings), str(settings), str(settings.model_dump())]
    async with WorkspaceClient(settings) as client:
        budget = open_budget(settings)  # what the client built from the same settings
        assert isinstance(budget, RedisBudget)
        shown += [repr(client), repr(budget)]
        await budget.aclose()
        await client.inconsistent_statics(pool)  # went through: the outage did not stop it
        await client.inconsistent_statics(pool)
        # the process's own count still holds the line while Redis is away
        with pytest.raises(errors.BudgetExhaustedError) as info:
            await client.inconsistent_statics(pool)
        shown += [str(info.value), repr(info.value)]
    assert emulator.requests.count("inconsistent-statics") == 2
    warnings = [r for r in caplog.records if r.name == "pooldrift.budget" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, "one warning per outage, not one per call"
    assert "shared request budget unavailable" in warnings[0].getMessage()
    shown.append(caplog.text)
    for text in shown:
        assert PASSWORD not in text


async def test_a_redis_error_fails_open_and_redis_is_used_again_once_it_answers(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pooldrift.budget")
    key = "pooldrift:budget:test-recovery"
    budget = RedisBudget.from_url(redis_url, 5, key=key, cooldown=0.0)  # every call asks Redis
    loop = asyncio.get_running_loop()
    try:
        async with Redis.from_url(redis_url) as redis:
            await redis.set(key, b"not a sorted set")  # every script call now errors
            await budget.acquire(loop.time() + 5)  # fails open: no error
            await budget.acquire(loop.time() + 5)
            warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1 and "unavailable (ResponseError)" in warnings[0].getMessage()
            assert await redis.get(key) == b"not a sorted set"
            await redis.delete(key)
            await budget.acquire(loop.time() + 5)
            assert await redis.zcard(key) == 1, "counted in Redis again"
            assert "answers again" in caplog.text
    finally:
        await budget.aclose()


async def test_the_budget_waits_for_a_slot_within_the_deadline(redis_url: str) -> None:
    budget = RedisBudget.from_url(redis_url, 1, key="pooldrift:budget:test-wait")
    try:
        loop = asyncio.get_running_loop()
        await budget.acquire(loop.time() + 5)
        async with Redis.from_url(redis_url) as redis:
            # age the start by 59.7 s: the next slot frees in ~0.3 s, within the deadline
            (member, score), *_ = await redis.zrange(budget.key, 0, 0, withscores=True)
            await redis.zadd(budget.key, {member: score - 59_700})
        started = time.monotonic()
        await budget.acquire(loop.time() + 5)
        assert time.monotonic() - started < 4
        with pytest.raises(errors.BudgetExhaustedError):
            await budget.acquire(loop.time() + 5)
    finally:
        await budget.aclose()


async def test_the_budget_follows_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    base: dict[str, Any] = {"access_key": "AK-ONE", "secret_key": "sk"}
    assert open_budget(load_settings(**base)) is None, "no budget by default"
    assert isinstance(open_budget(load_settings(**base, requests_per_minute=5)), MemoryBudget)
    monkeypatch.setenv("POOLDRIFT_REDIS_URL", "  ")
    assert load_settings(**base).redis_url is None, "blank is unset"
    monkeypatch.setenv("POOLDRIFT_REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:1/0")
    settings = load_settings(**base, requests_per_minute=5)
    assert settings.redis_url is not None and PASSWORD not in repr(settings)
    assert open_budget(load_settings(**base)) is None, "Redis alone does not make a budget"
    budget = open_budget(settings)
    assert isinstance(budget, RedisBudget)
    await budget.aclose()
    assert budget.key.startswith("pooldrift:budget:") and "AK-ONE" not in budget.key
    assert PASSWORD not in repr(budget)
    assert budget.key == budget_key(load_settings(access_key="AK-ONE", secret_key="other"))
    assert budget.key != budget_key(load_settings(access_key="AK-TWO", secret_key="sk"))
    monkeypatch.setenv("POOLDRIFT_REDIS_URL", f"http://:{PASSWORD}@127.0.0.1:1/0")
    with pytest.raises(errors.ConfigurationError, match="POOLDRIFT_REDIS_URL") as info:
        open_budget(load_settings(**base, requests_per_minute=5))
    assert PASSWORD not in str(info.value)
