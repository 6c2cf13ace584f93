"""What ``pooldrift watch`` does with a stored value it cannot use (corrupt, another
application's, or out of range), over a real redis-server or SQLite file: a pool's state is one
line naming the key and exit 1, as the SQLite store's corrupt row is; an alert, a history line
or a mute that does not decode is skipped with one warning naming it, and the rest goes on; a
mute ending past what a time holds is a mute without end."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from pooldrift.emulator import EmulatorServer
from pooldrift.watch.state import RedisStore, SqliteStore, StateStore
from tests.helpers import process_env
from tests.pooldrift.watch.conftest import CHANNEL
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi
from tests.pooldrift.watch.test_watch_process import Running, alerts, refused, run

PREFIX = "pooldrift:watch:"


@pytest.fixture
def env(emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path, redis_url: str) -> dict[str, str]:
    return process_env(
        emulator,
        POOLDRIFT_WATCH_INTERVAL="10",
        POOLDRIFT_WATCH_CHANNEL=CHANNEL,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        POOLDRIFT_REDIS_URL=redis_url,
        POOLDRIFT_STATE=str(tmp_path / "unused.db"),
        POOLDRIFT_DEADLINE="10",
    )


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    async with Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


def drifted(emulator: EmulatorServer) -> int:
    return sum(1 for p in emulator.data.pools if any(emulator.data.statics(p.id).values()))


def once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = run(env, "watch", "--once")
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("state", "{not json", "a corrupt value in pooldrift:watch:state (field '{pool}'): Invalid JSON"),
        ("state", "42", "in pooldrift:watch:state (field '{pool}'): Input should be an object"),
        ("version", "seven", "pooldrift:watch:version holds 'seven', not a layout number"),
        ("mutes", "a string", "holds another kind of value than the watch writes (WRONGTYPE)"),
    ],
)
async def test_a_pools_state_that_does_not_decode_is_one_line_naming_its_key(
    env: dict[str, str],
    emulator: EmulatorServer,
    slack: SlackWebApi,
    redis: Redis,
    key: str,
    value: str,
    said: str,
) -> None:
    assert once(env).returncode == 0
    pool = emulator.data.pool_named("analytics-win11").id
    if key == "state":
        await redis.hset(PREFIX + key, pool, value)
    else:
        await redis.set(PREFIX + key, value)
    emulator.data.set_drift(pool, "disk_size", 9)  # a change that would be posted
    if key == "mutes":  # found by the cycle, not at start: one error line after the first
        done = once(env)
        assert done.returncode == 1 and said in done.stderr.splitlines()[-1], done.stderr
    else:
        refused(env, slack, said.format(pool=pool))


async def test_a_state_corrupted_under_a_running_watch_fails_its_cycles_not_the_process(
    env: dict[str, str], emulator: EmulatorServer, redis: Redis
) -> None:
    watch = Running({**env, "POOLDRIFT_WATCH_INTERVAL": "0.3"})
    try:
        watch.cycles(1)
        pool = emulator.data.pool_named("hr-win10").id
        await redis.hset(PREFIX + "state", pool, '{"key": 1}')
        watch.err.wait_for(
            rf"ERROR pooldrift\.watch: cycle failed: the watch's Redis has a corrupt value in "
            rf"pooldrift:watch:state \(field '{pool}'\)"
        )
        await redis.hdel(PREFIX + "state", pool)
        watch.cycles(2)  # and it goes on once the value is gone
        assert watch.stop() == 0
        assert "Traceback" not in watch.err.text()
    finally:
        if watch.proc.poll() is None:
            watch.proc.kill()
            watch.proc.wait(10)


async def test_an_alert_that_does_not_decode_is_set_aside_and_the_others_are_posted(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, redis: Redis
) -> None:
    await redis.zadd(PREFIX + "outbox", {"bad#1": 1})  # first in line
    await redis.hset(PREFIX + "outbox:items", "bad#1", "{nope")
    done = once(env)
    assert done.returncode == 0, done.stderr
    assert len(slack.top()) == drifted(emulator), "every other alert posted"
    (warning,) = [line for line in done.stderr.splitlines() if "does not decode" in line]
    assert (
        "pooldrift:watch:outbox:items field 'bad#1'" in warning
        and "pooldrift:watch:outbox:unreadable" in warning
    )
    assert await redis.hget(PREFIX + "outbox:unreadable", "bad#1") == "{nope", "kept for a look"
    assert await redis.zcard(PREFIX + "outbox") == 0


async def test_a_mute_that_is_not_a_time_is_said_once_and_the_pool_alerted(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, redis: Redis
) -> None:
    pool = emulator.data.pool_named("hr-win10").id
    await redis.hset(PREFIX + "mutes", pool, "tomorrow")
    done = once(env)
    assert done.returncode == 0, done.stderr
    assert len(alerts(slack, pool)) == 1, "a mute nobody can read holds no alert back"
    said = [line for line in done.stderr.splitlines() if "skipped a mute" in line]
    assert len(said) == 1 and f"pooldrift:watch:mutes field '{pool}'" in said[0], done.stderr


async def test_a_history_line_that_does_not_decode_is_skipped_and_the_others_shown(
    env: dict[str, str], emulator: EmulatorServer, redis: Redis
) -> None:
    pool = emulator.data.pool_named("hr-win10").id
    assert once(env).returncode == 0
    await redis.zadd(f"{PREFIX}history:{pool}", {"not an event": datetime.now(UTC).timestamp()})
    shown = run(env, "history", pool)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert "drifted" in shown.stdout
    assert f"skipped a history line in the watch's Redis (pooldrift:watch:history:{pool})" in shown.stderr


@pytest.fixture(params=["sqlite", "redis"])
async def mute_store(
    request: pytest.FixtureRequest, env: dict[str, str], tmp_path: Path
) -> AsyncIterator[tuple[dict[str, str], StateStore]]:
    """The watch's environment and its store, opened as the Slack bot opens it to mute."""
    if request.param == "sqlite":
        env = {**env, "POOLDRIFT_STATE": str(tmp_path / "state.db")}
        del env["POOLDRIFT_REDIS_URL"]
        store: StateStore = await SqliteStore(tmp_path / "state.db").open()
    else:
        store = await RedisStore(env["POOLDRIFT_REDIS_URL"]).open()
    yield env, store
    await store.aclose()


@pytest.mark.parametrize("until", ["datetime.max", "1e20", "inf"])
async def test_a_mute_ending_past_what_a_time_holds_mutes_the_pool_without_end(
    mute_store: tuple[dict[str, str], StateStore],
    emulator: EmulatorServer,
    slack: SlackWebApi,
    tmp_path: Path,
    until: str,
) -> None:
    env, store = mute_store
    pool = emulator.data.pool_named("hr-win10").id
    if until == "datetime.max":
        await store.mute(pool, datetime.max.replace(tzinfo=UTC))
    elif isinstance(store, SqliteStore):
        with closing(sqlite3.connect(tmp_path / "state.db")) as conn, conn:
            conn.execute("INSERT INTO mutes (pool_id, until) VALUES (?, ?)", (pool, float(until)))
    else:
        async with Redis.from_url(env["POOLDRIFT_REDIS_URL"]) as redis:
            await redis.hset(PREFIX + "mutes", pool, until)
    done = once(env)
    assert done.returncode == 0, done.stderr
    assert alerts(slack, pool) == [], "muted"
    assert len(slack.top()) == drifted(emulator) - 1, "the others alerted"
