"""Two ``pooldrift watch`` processes sharing a real Redis: one leads at a time and each alert is
posted once; the leader killed with SIGKILL (mid-delivery, its alert waiting out a rate limit)
hands over to the other, which neither loses nor doubles an alert."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from tests.helpers import process_env, stop_process
from tests.pooldrift.watch.conftest import CHANNEL
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi
from tests.pooldrift.watch.test_watch_process import Running, alerts

LEADING = re.compile(r"INFO pooldrift\.watch: leading the watch")
INTERVAL = 1.0


@pytest.fixture
def replicas(
    emulator: EmulatorServer, slack: SlackWebApi, redis_url: str, tmp_path: Path
) -> Iterator[list[Running]]:
    env = process_env(
        emulator,
        POOLDRIFT_WATCH_INTERVAL=f"{INTERVAL:g}",
        POOLDRIFT_WATCH_CHANNEL=CHANNEL,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        POOLDRIFT_REDIS_URL=redis_url,
        POOLDRIFT_STATE=str(tmp_path / "unused.db"),
        POOLDRIFT_DEADLINE="10",
    )
    started = [Running(env), Running(env)]
    yield started
    for watch in started:
        stop_process(watch.proc)
    assert not (tmp_path / "unused.db").exists(), "with Redis, no state file"


def leader(replicas: list[Running], within: float = 30.0) -> tuple[Running, Running]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        leading = [w for w in replicas if LEADING.search(w.err.text())]
        if leading:
            assert len(leading) == 1, "two replicas led at once"
            (first,) = leading
            return first, next(w for w in replicas if w is not first)
        time.sleep(0.05)
    raise AssertionError("no replica took the lease")


async def test_one_replica_leads_and_a_killed_leader_hands_over_without_loss_or_double(
    replicas: list[Running], emulator: EmulatorServer, slack: SlackWebApi
) -> None:
    drifted = sum(1 for p in emulator.data.pools if any(emulator.data.statics(p.id).values()))
    await slack.wait_for(lambda: len(slack.top()) == drifted, why="the first cycle's alerts")
    first, second = leader(replicas)
    first.cycles(2)
    assert "cycle:" not in second.err.text(), "the other replica only waits"
    assert len(slack.top()) == drifted, "each alert once"

    pool = emulator.data.pool_named("finance-win11")
    emulator.data.set_drift(pool.id, "image_id", 3)
    await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="the alert")
    (message,) = alerts(slack, pool.id)

    # the next change meets a rate limit: it waits in the outbox when the leader dies
    calls = len(slack.chat_calls())
    slack.fail_next(1, status=429, retry_after=2)
    emulator.data.set_drift(pool.id, "image_id", 8)
    await slack.wait_for(lambda: len(slack.chat_calls()) == calls + 1, why="the rate-limited update")
    first.proc.send_signal(signal.SIGKILL)
    assert first.proc.wait(10) == -signal.SIGKILL
    killed = time.monotonic()
    second.err.wait_for(LEADING, timeout=30)
    taken = time.monotonic() - killed
    # the bound, two intervals, plus half a second for the log line to reach this test
    assert taken <= 2 * INTERVAL + 0.5, f"took over {taken:.2f} s after the leader died"
    await slack.wait_for(
        lambda: len(slack.thread(message.ts)) == 1, why="the waiting reply, after the takeover"
    )

    emulator.data.set_drift(pool.id, "image_id", 0)
    await slack.wait_for(lambda: len(slack.thread(message.ts)) == 2, why="resolved by the new leader")
    second.cycles(3)
    assert len(slack.top()) == drifted + 1, f"nothing posted twice (took over in {taken:.1f} s)"
    replies = [r.text for r in slack.thread(message.ts)]
    assert (
        replies[0] == "⬆️ Worse: image 3 → 8; at least 8 desktops drift (was 3)."
        and "resolved" in message.text
    )
    assert replies[1].startswith("✅ Resolved after")
    assert second.stop() == 0
