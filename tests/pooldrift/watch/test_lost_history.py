"""A Redis that comes back without its data (restarted with no persistence) has lost the watch's
history: the running ``pooldrift watch`` says so once, in its log and in one Slack message, and
takes the drift it then finds as already known instead of announcing every drifted pool again;
new drift is announced as before. A Redis with episodes but no marker (state from before the
marker) only gets its marker."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from pooldrift.emulator import EmulatorServer
from tests.helpers import free_port, process_env, running_redis, stop_process
from tests.pooldrift.watch.conftest import CHANNEL
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi
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
    # the Redis process is gone; a new one on the same port has none of its data
    with running_redis(redis_binary, port) as url:
        await slack.wait_for(lambda: len(slack.top()) > fleet, why="what the watch says after it")
        watch.cycles(3)
        posted = [m.text[:60] for m in slack.top()[fleet:]]
        assert len(posted) == 1, f"no drifted pool announced again: {posted}"
        assert len(notices(slack)) == 1
        (notice,) = notices(slack)
        assert "9 drifted pools of its next scan are taken as already known" in notice
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
