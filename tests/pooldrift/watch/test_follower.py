"""A replica waiting for the lease (a second ``pooldrift watch`` on the same SQLite file or Redis)
looks at the lease at its own pace, a quarter interval: next to no CPU and a few Redis commands a
second, where it used to spin a core; and it still takes over within two intervals of the
leader's SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from redis import Redis

from pooldrift.emulator import EmulatorServer
from tests.helpers import process_env, stop_process
from tests.pooldrift.watch.test_replicas import LEADING, leader
from tests.pooldrift.watch.test_watch_process import Running

INTERVAL = 10.0  # a real interval: the lease lasts 1.5 of it, the follower looks every 2.5 s
WINDOW = 4.0  # how long the follower's cost is measured while it waits
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far, from /proc (fields 14 and 15 of stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def commands(redis: Redis) -> int:
    """Every command the Redis server has run so far, but this test's own INFO."""
    stats = redis.info("commandstats")
    return sum(int(entry["calls"]) for name, entry in stats.items() if name != "cmdstat_info")


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_replica_waiting_for_the_lease_costs_next_to_nothing_and_takes_over_within_two_intervals(
    kind: str, emulator: EmulatorServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    extra = {
        "POOLDRIFT_WATCH_INTERVAL": f"{INTERVAL:g}",
        "POOLDRIFT_STATE": str(tmp_path / "state.db"),
        "POOLDRIFT_DEADLINE": "10",
    }
    redis: Redis | None = None
    if kind == "redis":
        url = request.getfixturevalue("redis_server")  # skips where there is no redis-server
        redis = Redis.from_url(url)
        redis.flushdb()
        extra["POOLDRIFT_REDIS_URL"] = url
    env = process_env(emulator, **extra)
    replicas = [Running(env), Running(env)]
    try:
        first, second = leader(replicas)
        first.cycles(1)
        second.err.wait_for(r"INFO pooldrift\.watch: watching ")  # started, now waiting for the lease

        cpu, sent, started = cpu_seconds(second.proc.pid), commands(redis) if redis else 0, time.monotonic()
        time.sleep(WINDOW)  # the measured window (the assertions are on what it cost, not on silence)
        wall = time.monotonic() - started
        share = (cpu_seconds(second.proc.pid) - cpu) / wall
        # generous, as the machine is shared: it was 0.96 of a core
        assert share < 0.10, f"the waiting replica used {share:.0%} of a core"
        if redis is not None:
            # the leader's too (its renewals, maybe a cycle): it was ~9,600 a second
            rate = (commands(redis) - sent) / wall
            assert rate < 50, f"{rate:.0f} Redis commands a second while one replica waits"
        assert "cycle:" not in second.err.text(), "the other replica only waits"

        first.proc.send_signal(signal.SIGKILL)
        assert first.proc.wait(10) == -signal.SIGKILL
        killed = time.monotonic()
        second.err.wait_for(LEADING, timeout=2 * INTERVAL + 10)
        taken = time.monotonic() - killed
        # two intervals, plus half a second for the log line to reach this test
        assert taken <= 2 * INTERVAL + 0.5, f"took over {taken:.2f} s after the leader died"
        second.cycles(1)
        assert second.stop() == 0
    finally:
        for watch in replicas:
            stop_process(watch.proc)
        if redis is not None:
            redis.close()
