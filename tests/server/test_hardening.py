"""``pooldrift-server`` under pressure, as a real subprocess: the MCP session cap and idle timeout,
and a stop (SIGTERM) that lets tool calls and Slack answers in flight finish within the grace and
exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, command_body
from tests.bot.processes import server, slack_env
from tests.helpers import process_env, start_process
from tests.server.support import expected_drift, rpc_answer, stop_and_close

PROGRAM = str(Path(sys.executable).with_name("pooldrift-server"))
TOKEN = "hardening-token-0123456789abcdef"
HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "Authorization": f"Bearer {TOKEN}",
}
HELLO = {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}


def env(emulator: EmulatorServer, **extra: str) -> dict[str, str]:
    return process_env(emulator, POOLDRIFT_PORT="0", POOLDRIFT_MCP_TOKEN=TOKEN, **extra)


class Sessions:
    """Raw MCP over Streamable HTTP as a 2025-03-26 client speaks it: one session per initialize."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self.http, self.url = http, f"{url}/mcp"

    async def open(self) -> httpx2.Response:
        hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO}
        return await self.http.post(self.url, json=hello, headers=HEADERS)

    async def send(self, session: str, body: dict[str, Any]) -> httpx2.Response:
        headers = {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-03-26"}
        return await self.http.post(self.url, json={"jsonrpc": "2.0", **body}, headers=headers)

    async def ready(self) -> str:
        opened = await self.open()
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        assert (await self.send(session, {"method": "notifications/initialized"})).status_code == 202
        return session

    async def tools(self, session: str) -> int:
        return (await self.send(session, {"id": 2, "method": "tools/list"})).status_code


async def test_sessions_are_capped_and_the_open_ones_keep_working(emulator: EmulatorServer) -> None:
    proc, out, err, url = start_process([PROGRAM], env(emulator, POOLDRIFT_MCP_MAX_SESSIONS="3"))
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            sessions = Sessions(http, str(url))
            opened = [await sessions.ready() for _ in range(3)]
            refused = await sessions.open()
            still = [await sessions.tools(session) for session in opened]
            ended = await http.delete(sessions.url, headers={**HEADERS, "mcp-session-id": opened[0]})
            room_again = await sessions.open()
    finally:
        stop_and_close(proc, out, err)
    assert refused.status_code == 503 and "Too many open sessions" in refused.text
    assert still == [200, 200, 200]
    assert ended.status_code == 200 and room_again.status_code == 200  # a session that ends frees its place


async def test_idle_sessions_are_closed(emulator: EmulatorServer) -> None:
    proc, out, err, url = start_process([PROGRAM], env(emulator, POOLDRIFT_MCP_SESSION_IDLE="1"))
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            sessions = Sessions(http, str(url))
            idle, busy = await sessions.ready(), await sessions.ready()
            statuses = []
            for _ in range(5):  # ~2.5 s: busy stays alive by asking every 0.5 s, idle does not ask
                await asyncio.sleep(0.5)
                statuses.append(await sessions.tools(busy))
            gone = await sessions.tools(idle)
    finally:
        stop_and_close(proc, out, err)
    assert statuses == [200] * 5
    assert gone == 404  # the client has to initialize a new session


async def test_sigterm_lets_the_call_in_flight_finish_and_exits_0(emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("hr-win10")
    emulator.faults.update(paths="inconsistent-statics", latency=2.0)
    proc, out, err, url = start_process([PROGRAM], env(emulator, POOLDRIFT_SHUTDOWN_GRACE="20"))
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            sessions = Sessions(http, str(url))
            session = await sessions.ready()
            answer = asyncio.create_task(sessions.send(session, check(pool.id)))
            await until(lambda: emulator.requests.count("inconsistent-statics") == 1)
            proc.send_signal(signal.SIGTERM)
            response = await answer
        code = proc.wait(30)
    finally:
        stop_and_close(proc, out, err)
    assert response.status_code == 200, response.text
    result = rpc_answer(response)["result"]
    assert result.get("isError") is not True, result
    structured = result["structuredContent"]
    assert {k: structured[k] for k in expected_drift(emulator, pool)} == expected_drift(emulator, pool)
    assert code == 0, err.text()
    assert "Traceback" not in err.text()


async def test_sigterm_drains_mcp_and_slack_answers_together(emulator: EmulatorServer) -> None:
    # four pools: identical requests in flight would share one upstream request
    names = ("sales-win11", "hr-win10", "dev-ubuntu22", "qa-win11")
    pool, *others = [emulator.data.pool_named(name) for name in names]
    emulator.faults.update(paths="inconsistent-statics", latency=2.0)
    extra = {"POOLDRIFT_MCP_TOKEN": TOKEN, "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id}
    with FakeSlack() as slack, server(slack_env(emulator, slack, **extra)) as running:
        async with httpx2.AsyncClient(timeout=30) as http:
            session = await Sessions(http, running.url).ready()
            call = asyncio.create_task(Sessions(http, running.url).send(session, check(pool.id)))
            bot = SlackSender(running.url, http)
            bodies = [command_body(o.id, slack.response_url(f"k{i}")) for i, o in enumerate(others)]
            acks = [await bot.send(body) for body in bodies]
            await until(lambda: emulator.requests.count("inconsistent-statics") == 4)
            assert slack.posts == [], "the answers came before the stop"
            code = await asyncio.to_thread(running.terminate)
            answered = await call
        output = running.output()
    assert code == 0, output
    assert [ack.status_code for ack in acks] == [200, 200, 200]
    for i, other in enumerate(others):
        posts = slack.posts_for(f"k{i}")
        assert len(posts) == 1 and f"Pool {other.name}" in str(posts[0].body), output
    assert answered.status_code == 200 and rpc_answer(answered)["result"].get("isError") is not True


async def test_the_grace_bounds_a_stop(emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("hr-win10")
    emulator.faults.update(paths="inconsistent-statics", latency=60.0)
    proc, out, err, url = start_process([PROGRAM], env(emulator, POOLDRIFT_SHUTDOWN_GRACE="1"))
    try:
        async with httpx2.AsyncClient(timeout=90) as http:
            sessions = Sessions(http, str(url))
            session = await sessions.ready()
            stuck = asyncio.create_task(sessions.send(session, check(pool.id)))
            await until(lambda: emulator.requests.count("inconsistent-statics") == 1)
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, 15)  # 1 s of grace, not the 60 s the call needs
            outcome = (await asyncio.gather(stuck, return_exceptions=True))[0]
    finally:
        stop_and_close(proc, out, err)
    assert code == 0, err.text()
    assert isinstance(outcome, httpx2.HTTPError) or outcome.status_code >= 500  # cut off, not answered


async def test_sigterm_lets_a_streamed_scan_finish_and_ends_an_idle_get_stream(
    emulator: EmulatorServer,
) -> None:
    emulator.faults.update(paths="inconsistent-statics", latency=1.0)
    proc, out, err, url = start_process([PROGRAM], env(emulator, POOLDRIFT_SHUTDOWN_GRACE="30"))
    try:
        async with httpx2.AsyncClient(timeout=60) as http:
            sessions = Sessions(http, str(url))
            session = await sessions.ready()
            listen = {**HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-03-26"}
            async with http.stream("GET", sessions.url, headers=listen) as standing:
                assert standing.status_code == 200  # the stream a 2025 client keeps open for the server
                params = {"name": "scan_pool_drift", "arguments": {}, "_meta": {"progressToken": "scan-1"}}
                call = asyncio.create_task(
                    sessions.send(session, {"id": 4, "method": "tools/call", "params": params})
                )
                await until(lambda: emulator.requests.count("inconsistent-statics") >= 1)
                stopped = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                response = await call
                # cut (as sse-starlette ends a stream) once the call is answered, not at the grace
                with contextlib.suppress(httpx2.RemoteProtocolError):
                    async for _ in standing.aiter_bytes():
                        pass
            code = await asyncio.to_thread(proc.wait, 30)
            took = time.monotonic() - stopped
    finally:
        stop_and_close(proc, out, err)
    assert code == 0, err.text()
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert (
        '"method":"notifications/progress"' in response.text and '"progressToken":"scan-1"' in response.text
    )
    structured = rpc_answer(response)["result"]["structuredContent"]
    assert structured["totals"]["pools"] == 12 and structured["failures"] == []
    assert took < 15, took  # the idle GET stream did not hold the stop for the 30 s of grace


def check(pool_id: str) -> dict[str, Any]:
    params = {"name": "pool_inconsistency", "arguments": {"pool": pool_id}}
    return {"id": 3, "method": "tools/call", "params": params}


async def until(condition: Any) -> None:
    """Wait (up to 15 s) for ``condition()`` to hold, checking every 10 ms."""
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.01)
