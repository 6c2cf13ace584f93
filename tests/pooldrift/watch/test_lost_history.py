"""A Redis that comes back without its data (restarted with no persistence) has lost the watch's
history: the running ``pooldrift watch`` says so once, in its log and in one Slack message, and
takes the drift it then finds as already known instead of announcing every drifted pool again;
new drift is announced as before. A Redis with episodes but no marker (state from before the
marker) only gets its marker."""

from __future__ import annotations

import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.watch.engine import Watch
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.slack import SlackWeb
from pooldrift.watch.state import RedisStore
from tests.helpers import free_port, process_env, running_redis, stop_process
from tests.pooldrift.watch.conftest import CHANNEL
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi
from tests.pooldrift.watch.test_replicas import leader
from tests.pooldrift.watch.test_watch_process import Running, alerts, run

LOST = re.compile(r"WARNING pooldrift\.watch: the watch's state store .* lost its history")
MARKER = "pooldrift:watch:marker"


@pytest.fixture
def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary on this machine: a Redis restart is tested where there is one")
    return binary


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def env(emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path, port: int) -> dict[str, str]:
    return process_env(
        emulator,
        POOLDRIFT_WATCH_INTERVAL="0.3",
        POOLDRIFT_WATCH_CHANNEL=CHANNEL,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        POOLDRIFT_REDIS_URL=f"redis://127.0.0.1:{port}/0",
        POOLDRIFT_STATE=str(tmp_path / "unused.db"),
        POOLDRIFT_DEADLINE="10",
    )


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for watch in started:
        stop_process(watch.proc)


def drifted(emulator: EmulatorServer) -> int:
    return sum(1 for p in emulator.data.pools if any(emulator.data.statics(p.id).values()))


def notices(slack: SlackWebApi) -> list[str]:
    return [m.text for m in slack.top() if "lost its history" in m.text]


async def test_a_redis_restarted_empty_is_said_once_and_its_drift_is_not_announced_again(
    emulator: EmulatorServer,
    slack: SlackWebApi,
    env: dict[str, str],
    port: int,
    redis_binary: str,
    running: list[Running],
) -> None:
    fleet = drifted(emulator)
    assert fleet == 9, "the demo data's drifted pools"
    with running_redis(redis_binary, port):
        watch = Running(env)
        running.append(watch)
        await slack.wait_for(lambda: len(slack.top()) == fleet, why="the first scan's alerts")
        watch.cycles(2)
        calls = len(slack.chat_calls())
        slack.fail_next(1, status=429, retry_after=0.2)  # the notice's first try waits
    # the Redis process is gone; a new one on the same port has none of its data
    with running_redis(redis_binary, port) as url:
        await slack.wait_for(lambda: len(slack.top()) > fleet, why="what the watch says after it")
        watch.cycles(3)
        posted = [m.text[:60] for m in slack.top()[fleet:]]
        assert len(posted) == 1, f"no drifted pool announced again: {posted}"
        assert len(notices(slack)) == 1
        assert len(slack.chat_calls()) == calls + 2, "the notice tried again after the 429, once"
        (notice,) = notices(slack)
        assert "The drift it finds now (9 drifted pools in this scan) is taken as already known" in notice
        assert "12 pools and 9 open drift episodes" in notice
        async with Redis.from_url(url) as redis:
            assert await redis.exists(MARKER), "the marker is written again"

        calm = next(p for p in emulator.data.pools if not any(emulator.data.statics(p.id).values()))
        emulator.data.set_drift(calm.id, "image_id", 2)
        await slack.wait_for(lambda: len(alerts(slack, calm.id)) == 1, why="the new drift")
        emulator.data.set_drift(calm.id, "image_id", 0)
        (message,) = alerts(slack, calm.id)
        await slack.wait_for(lambda: "resolved after" in message.text, why="its end")
        watch.cycles(2)
        assert len(slack.top()) == fleet + 2, "only the new drift announced, once"
        assert len(LOST.findall(watch.err.text())) == 1, "the loss said once in the log"
        assert watch.stop() == 0


async def test_episodes_without_a_marker_get_one_and_no_word_of_a_loss(
    emulator: EmulatorServer, slack: SlackWebApi, env: dict[str, str], redis_binary: str, port: int
) -> None:
    with running_redis(redis_binary, port) as url:
        first = run(env, "watch", "--once")
        assert first.returncode == 0, first.stderr
        told = len(slack.top())
        async with Redis.from_url(url) as redis:
            assert await redis.exists(MARKER), "the first writes write the marker"
            await redis.delete(MARKER)  # as a Redis written by a watch from before the marker
            assert await redis.hlen("pooldrift:watch:state") == 12

            again = run(env, "watch", "--once")
            assert again.returncode == 0, again.stderr
            assert "lost its history" not in again.stderr
            assert len(slack.top()) == told and not notices(slack)
            assert await redis.exists(MARKER), "the marker written, nothing else said"


async def test_a_replica_taking_over_a_redis_that_lost_its_history_says_so_once(
    emulator: EmulatorServer,
    slack: SlackWebApi,
    env: dict[str, str],
    port: int,
    redis_binary: str,
    running: list[Running],
) -> None:
    fleet = drifted(emulator)
    with running_redis(redis_binary, port):
        running += [Running(env), Running(env)]
        await slack.wait_for(lambda: len(slack.top()) == fleet, why="the first scan's alerts")
        first, second = leader(running)
        first.cycles(1)
        second.err.wait_for(r"INFO pooldrift\.watch: watching ")  # it waits, looking at the marker
        first.proc.send_signal(signal.SIGKILL)
        assert first.proc.wait(10) == -signal.SIGKILL
    with running_redis(redis_binary, port):
        second.err.wait_for(LOST, timeout=30)
        second.cycles(2)
        posted = [m.text[:60] for m in slack.top()[fleet:]]
        assert len(posted) == 1 and notices(slack), f"only the notice: {posted}"
        assert "what another replica knew" in notices(slack)[0]
        assert second.stop() == 0


async def test_a_state_emptied_under_the_watch_is_a_loss_too(
    emulator: EmulatorServer, slack: SlackWebApi, env: dict[str, str], redis_url: str, running: list[Running]
) -> None:
    fleet = drifted(emulator)
    watch = Running({**env, "POOLDRIFT_REDIS_URL": redis_url})
    running.append(watch)
    await slack.wait_for(lambda: len(slack.top()) == fleet, why="the first scan's alerts")
    watch.cycles(1)
    async with Redis.from_url(redis_url) as redis:
        assert await redis.delete("pooldrift:watch:state") == 1  # the marker stays
    watch.err.wait_for(LOST, timeout=30)
    watch.cycles(2)
    posted = [m.text[:60] for m in slack.top()[fleet:]]
    assert len(posted) == 1 and notices(slack), f"only the notice: {posted}"
    assert watch.stop() == 0


async def test_pools_not_listed_when_the_loss_is_found_take_their_first_scan_as_baseline(
    watch_env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, redis_url: str
) -> None:
    settings = load_watch_settings(interval="1")
    assert settings.slack_bot_token is not None
    async with (
        RedisStore(redis_url) as store,
        WorkspaceClient() as client,
        SlackWeb(settings.slack_bot_token, settings.slack_api_url) as web,
    ):
        watch = Watch(settings, client, store, slack=web)
        await watch.cycle()
        await watch.deliver()
        fleet = len(slack.top())
        assert fleet == drifted(emulator)
        async with Redis.from_url(redis_url) as redis:
            await redis.flushdb()
        emulator.faults.update(error_rate=1.0, error_status=503, paths=r"/desktop-pools$")
        failed = await watch.cycle()  # the loss is seen, but no pool is listed
        assert failed.failures == 1 and failed.pools == failed.queued == 0
        await watch.deliver()
        emulator.faults.reset()
        baseline = await watch.cycle()
        await watch.deliver()
        assert baseline.drifted == fleet and baseline.queued == 0, "their first scan is the baseline"
        (notice,) = notices(slack)
        assert len(slack.top()) == fleet + 1, "only the notice"
        assert "forgot 12 pools and 9 open drift episodes" in notice

        calm = next(p for p in emulator.data.pools if not any(emulator.data.statics(p.id).values()))
        emulator.data.set_drift(calm.id, "image_id", 2)
        assert (await watch.cycle()).queued == 1, "new drift is news again"
