"""``pooldrift-server`` running the drift watch, as real processes on loopback: the emulator
changed through its control API, a fake Slack Web API, MCP over Streamable HTTP, /metrics,
SIGTERM; and the same server without the watch (no state: no error, no "since")."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from pooldrift.emulator import EmulatorServer, Pool
from tests.helpers import process_env, redis_server, start_process, stop_process
from tests.pooldrift.watch.slack_web import TOKEN, Posted, SlackWebApi
from tests.server.support import stop_and_close

PROGRAM = str(Path(sys.executable).with_name("pooldrift-server"))
CHANNEL = "C0WATCH02"
CYCLE = re.compile(r"INFO pooldrift\.watch: cycle: ")


@pytest.fixture
def slack(slack_web: SlackWebApi) -> SlackWebApi:
    return slack_web


@pytest.fixture
def watch_env(emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path) -> dict[str, str]:
    return process_env(
        emulator,
        POOLDRIFT_PORT="0",
        POOLDRIFT_WATCH_INTERVAL="0.3",
        POOLDRIFT_WATCH_CHANNEL=CHANNEL,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        POOLDRIFT_STATE=str(tmp_path / "state.db"),
        POOLDRIFT_DEADLINE="10",
        POOLDRIFT_SHUTDOWN_GRACE="5",
    )


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc, self.out, self.err, url = start_process([PROGRAM], env)
        assert url is not None
        self.url = url

    def cycles(self, count: int = 1) -> None:
        """Until ``count`` more of its watch's cycles have ended (the watch logs each)."""
        for _ in range(count):
            self.err.wait_for(CYCLE, timeout=30)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx2.get(f"{self.url}/metrics", timeout=10).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def client(self) -> Client:
        return Client(streamable_http_client(f"{self.url}/mcp"))


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        stop_and_close(server.proc, server.out, server.err)


def alerts(slack: SlackWebApi, pool_id: str) -> list[Posted]:
    return [m for m in slack.top() if (m.metadata or {}).get("event_payload", {}).get("pool_id") == pool_id]


def drifted_pools(emulator: EmulatorServer) -> int:
    return sum(1 for p in emulator.data.pools if any(emulator.data.statics(p.id).values()))


def make_drift(emulator: EmulatorServer, pool: Pool, kind: str, count: int) -> None:
    """Through the emulator's control API, as an operator's script would."""
    url = f"{emulator.base_url}/_emulator/pools/{pool.id}/drift"
    answer = httpx2.post(url, json={"kind": kind, "count": count}, timeout=10)
    assert answer.status_code == 200, answer.text


def pool_value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    emulator: EmulatorServer,
    name: str,
    pool: Pool,
    **extra: str,
) -> float | None:
    labels = {"pool_id": pool.id, "pool_name": pool.name, "project_id": emulator.project_id}
    return samples.get((name, tuple(sorted({**labels, "region": "cn-north-4", **extra}.items()))))


async def test_the_server_watches_alerts_once_exports_gauges_and_stops_on_sigterm(
    watch_env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, servers: list[Server]
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    assert not any(emulator.data.statics(pool.id).values())
    server = Server(watch_env)
    servers.append(server)
    server.err.wait_for("upstream requests go through aiohttp")  # the scans' CPU per request counts
    server.err.wait_for(r"watching every 0\.3 s; state in .*state\.db; alerts to C0WATCH02")
    server.cycles(1)
    await slack.wait_for(lambda: len(slack.top()) == drifted_pools(emulator), why="the first cycle's alerts")
    told = len(slack.top())

    make_drift(emulator, pool, "image_id", 4)
    await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="the alert")
    server.cycles(3)
    assert len(alerts(slack, pool.id)) == 1 and len(slack.top()) == told + 1, "exactly one alert"
    assert slack.thread(alerts(slack, pool.id)[0].ts) == []

    samples = server.metrics()
    for each in emulator.data.pools:
        for kind, count in emulator.data.statics(each.id).items():
            assert pool_value(samples, emulator, "pooldrift_pool_drifted_desktops", each, kind=kind) == count
        desktops = len(emulator.data.desktops_of(each.id))
        assert pool_value(samples, emulator, "pooldrift_pool_desktops", each) == desktops
    assert pool_value(samples, emulator, "pooldrift_pool_drifted_desktops", pool, kind="image_id") == 4
    assert samples[("pooldrift_watch_leader", ())] == 1

    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(15) == 0
    assert time.monotonic() - started < 5, "stopped within the grace"
    assert TOKEN not in server.err.text(1.0) and emulator.secret_key not in server.err.text()


async def test_mcp_says_since_when_once_the_watch_has_seen_the_drift(
    watch_env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, servers: list[Server]
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    server = Server(watch_env)
    servers.append(server)
    server.cycles(1)
    async with server.client() as client:
        before = await client.call_tool("pool_drift_history", {"pool": pool.name})
        make_drift(emulator, pool, "image_id", 4)
        await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="the watch saw the drift")
        now = await client.call_tool("pool_inconsistency", {"pool": pool.id})
        history = await client.call_tool("pool_drift_history", {"pool": pool.name, "days": 1})
        bad = await client.call_tool("pool_drift_history", {"pool": pool.name, "days": "7"})
        unknown = await client.call_tool("pool_drift_history", {"pool": "no-such-pool"})

    assert not before.is_error and before.structured_content is not None
    assert before.structured_content["drifting_since"] is None and before.structured_content["changes"] == []
    assert "is not drifting" in before.structured_content["summary"]

    assert not now.is_error and now.structured_content is not None
    since = now.structured_content["drifting_since"]
    assert since is not None and "It has been drifting since" in now.structured_content["summary"]

    assert not history.is_error and history.structured_content is not None
    found: dict[str, Any] = history.structured_content
    assert found["pool_id"] == pool.id and found["pool_name"] == pool.name
    assert found["drifting_since"] == since
    assert [c["event"] for c in found["changes"]] == ["drifted"] and found["total_changes"] == 1
    assert found["changes"][0]["counts"] == {"product_id": 0, "image_id": 4, "disk_num": 0, "disk_size": 0}
    assert found["trend"].startswith("0 → 4 since ")
    assert f"since {datetime.fromisoformat(since):%Y-%m-%d %H:%M} UTC" in found["summary"]

    assert bad.is_error and "Invalid argument" in bad.content[0].text  # type: ignore[union-attr]
    assert unknown.is_error and "knows no pool named" in unknown.content[0].text  # type: ignore[union-attr]


async def test_without_state_no_error_and_no_since(
    emulator: EmulatorServer, tmp_path: Path, servers: list[Server]
) -> None:
    """No watch on this server and no state file: pool_inconsistency answers as ever, the history
    tool says what to set, nothing of the watch is loaded, and no state file is created."""
    state = tmp_path / "state.db"
    server = Server(process_env(emulator, POOLDRIFT_PORT="0", POOLDRIFT_STATE=str(state)))
    servers.append(server)
    pool = emulator.data.pool_named("hr-win10")  # drifted in the demo data
    async with server.client() as client:
        now = await client.call_tool("pool_inconsistency", {"pool": pool.name})
        history = await client.call_tool("pool_drift_history", {"pool": pool.name})
    assert not now.is_error and now.structured_content is not None
    assert now.structured_content["drifted_desktops_at_least"] > 0
    assert "drifting_since" not in now.structured_content and "since" not in now.structured_content["summary"]
    text = history.content[0].text  # type: ignore[union-attr]
    assert history.is_error and "POOLDRIFT_WATCH_INTERVAL" in text and "POOLDRIFT_STATE" in text
    assert not state.exists(), "a read never creates the state"
    assert not any(name.startswith("pooldrift_pool_") for name, _ in server.metrics())


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"POOLDRIFT_WATCH_INTERVAL": "soon"}, "POOLDRIFT_WATCH_INTERVAL"),
        ({"POOLDRIFT_WATCH_INTERVAL": "5m", "POOLDRIFT_WATCH_CHANNEL": "#alerts"}, "POOLDRIFT_WATCH_CHANNEL"),
    ],
)
def test_a_bad_watch_setting_is_one_line_and_exit_2(
    emulator: EmulatorServer, variables: dict[str, str], named: str
) -> None:
    env = process_env(emulator, POOLDRIFT_PORT="0", **variables)
    done = subprocess.run([PROGRAM], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("pooldrift-server: ")
    assert named in done.stderr


async def test_two_replicas_on_redis_post_each_alert_once(
    watch_env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, servers: list[Server]
) -> None:
    with redis_server("the replicas' shared watch state") as url:
        env = {**watch_env, "POOLDRIFT_REDIS_URL": url}
        first, second = Server(env), Server(env)
        servers += [first, second]
        await slack.wait_for(lambda: len(slack.top()) == drifted_pools(emulator), why="the first alerts")
        pool = emulator.data.pool_named("finance-win11")
        make_drift(emulator, pool, "disk_size", 2)
        await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="the alert")
        leaders = [s.metrics()[("pooldrift_watch_leader", ())] for s in (first, second)]
        assert sorted(leaders) == [0, 1], "one replica leads"
        leader = (first, second)[leaders.index(1)]
        leader.cycles(3)
        assert len(alerts(slack, pool.id)) == 1 and len(slack.top()) == drifted_pools(emulator)
        for server in (first, second):
            stop_process(server.proc)


def test_sigterm_during_a_slow_cycle_stops_within_the_grace(
    watch_env: dict[str, str], emulator: EmulatorServer, servers: list[Server]
) -> None:
    """A cycle stuck on a slow API gets what is left of the grace, then is cancelled: exit 0."""
    env = {**watch_env, "POOLDRIFT_SHUTDOWN_GRACE": "1", "POOLDRIFT_DEADLINE": "120"}
    server = Server(env)
    servers.append(server)
    server.cycles(1)
    emulator.faults.update(latency=60.0)
    emulator.requests.clear()
    deadline = time.monotonic() + 15
    while len(emulator.requests) == 0:  # the next cycle's first request is now held
        assert time.monotonic() < deadline, "no cycle started"
        time.sleep(0.01)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(15) == 0
    assert time.monotonic() - started < 10, "not waiting for the 60 s answer"
    assert "did not end within the grace: cancelled" in server.err.text(1.0)


@pytest.mark.parametrize("state", ["inside-a-file", "another-application"])
async def test_a_state_the_watch_cannot_keep_is_one_log_line_and_the_server_still_serves(
    watch_env: dict[str, str], emulator: EmulatorServer, tmp_path: Path, servers: list[Server], state: str
) -> None:
    if state == "inside-a-file":
        (tmp_path / "plain").write_text("not a folder\n")
        path, said = tmp_path / "plain" / "state.db", "is a file, not a folder"
    else:
        path, said = tmp_path / "other.db", "is not a pooldrift state file"
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    server = Server({**watch_env, "POOLDRIFT_STATE": str(path)})
    servers.append(server)
    line = server.err.wait_for(r"ERROR pooldrift\.watch: the watch is off: (.*)\n", timeout=30)
    assert said in line.group(1) and str(path) in line.group(1)
    pool = emulator.data.pool_named("hr-win10")
    async with server.client() as client:
        answer = await client.call_tool("pool_inconsistency", {"pool": pool.name})
    assert not answer.is_error
    assert "Traceback" not in server.err.text()
