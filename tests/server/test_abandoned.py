"""A call no one waits for any more stops sending upstream: the real servers (``pooldrift-server``
over Streamable HTTP, ``pooldrift-mcp`` over stdio) scanning a slow emulator's fleet, and a
client that goes away mid-scan — hangs up, cancels, or ends its input.

Each test waits for the scan to be under way, drops it, then polls the emulator's request log
until nothing has arrived for a while (bounded): the last request must have arrived within a
second of the drop (half a second more for a loaded machine), and no more of them than could
already be in flight.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from pooldrift.emulator import EmulatorServer, FleetSpec
from tests.helpers import LineReader, process_env, start_process, subprocess_env
from tests.server.support import stop_and_close

SERVER = str(Path(sys.executable).with_name("pooldrift-server"))
STDIO = str(Path(sys.executable).with_name("pooldrift-mcp"))
TOKEN = "abandon-token-0123456789abcdef"
METRICS_TOKEN = "abandon-metrics-0123456789abcdef"
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "Authorization": f"Bearer {TOKEN}",
}
#: the server's in-flight bound: at most this many requests can be under way when a client goes
IN_FLIGHT = 8
#: the latency of every emulator answer: the fleet below takes ~50 s to scan at that pace
LATENCY = 0.2
CANCELLED = r"scan_pool_drift cancelled after [\d.]+ s"


@pytest.fixture
def slow_fleet(emulator: EmulatorServer) -> EmulatorServer:
    emulator.data.generate(FleetSpec(pools=2000, desktops_per_pool=1, seed=16))
    emulator.faults.update(latency=LATENCY)
    return emulator


class Server:
    def __init__(self, proc: subprocess.Popen[str], out: LineReader, err: LineReader, url: str) -> None:
        self.proc, self.out, self.err, self.url = proc, out, err, url


@pytest.fixture
def server(slow_fleet: EmulatorServer) -> Iterator[Server]:
    env = process_env(
        slow_fleet,
        POOLDRIFT_PORT="0",
        POOLDRIFT_MCP_TOKEN=TOKEN,
        POOLDRIFT_METRICS_TOKEN=METRICS_TOKEN,
        POOLDRIFT_MAX_IN_FLIGHT=str(IN_FLIGHT),
    )
    proc, out, err, url = start_process([SERVER], env)
    assert url is not None
    yield Server(proc, out, err, url)
    stop_and_close(proc, out, err)


def statics_asked(emulator: EmulatorServer) -> int:
    return sum(1 for r in emulator.requests.snapshot() if r.path.endswith("/inconsistent-statics"))


def under_way(emulator: EmulatorServer, pools: int = 2 * IN_FLIGHT) -> None:
    """Returns once the scan has asked for ``pools`` pools' counts (at most 30 s of polling)."""
    deadline = time.monotonic() + 30
    while statics_asked(emulator) < pools:
        assert time.monotonic() < deadline, f"the scan asked for {statics_asked(emulator)} pools' counts"
        time.sleep(0.05)


def arrivals_after(
    emulator: EmulatorServer, since: float, *, quiet: float = 1.5, within: float = 10.0
) -> list[float]:
    """When the requests that reached the emulator after ``since`` (Unix time) arrived, read once
    none has arrived for ``quiet`` seconds, or after ``within`` seconds of polling."""
    deadline = time.monotonic() + within
    while True:
        arrivals = [r.at for r in emulator.requests.snapshot() if r.at > since]
        if time.time() - max(arrivals, default=since) >= quiet or time.monotonic() > deadline:
            return arrivals
        time.sleep(0.1)


def assert_stopped(arrivals: list[float], gone: float) -> None:
    # 1 s, and half a second for a loaded machine's scheduling: a call left running sends
    # hundreds more in the seconds polled
    late = [round(at - gone, 1) for at in arrivals if at > gone + 1.5]
    assert not late, f"{len(arrivals)} requests after the client went, {len(late)} more than 1.5 s after"
    assert len(arrivals) <= IN_FLIGHT, f"{len(arrivals)} requests after the client went"


def metric(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def statuses(text: str) -> set[str]:
    return {
        sample.labels["status"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "pooldrift_upstream_requests_total" and sample.value
    }


async def hang_up_2025_session(url: str, emulator: EmulatorServer) -> int:
    """A 2025-11-25 session's scan, its POST's connection closed mid-answer (no cancellation
    sent: a client killed or cut off)."""
    async with httpx2.AsyncClient(timeout=30) as http:

        async def rpc(body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx2.Response:
            return await http.post(
                url, json={"jsonrpc": "2.0", **body}, headers={**MCP_HEADERS, **(headers or {})}
            )

        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        }
        init = await rpc({"id": 1, "method": "initialize", "params": hello})
        assert init.status_code == 200, init.text
        session = {"mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        assert (await rpc({"method": "notifications/initialized"}, session)).status_code == 202
        call = {"id": 2, "method": "tools/call", "params": {"name": "scan_pool_drift", "arguments": {}}}
        async with http.stream(
            "POST", url, content=json.dumps({"jsonrpc": "2.0", **call}), headers={**MCP_HEADERS, **session}
        ) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            await anyio.to_thread.run_sync(under_way, emulator)
        # the stream closed unread: its connection cannot be reused, so it closes
    return 1


async def cancel_2025_calls_and_leave(url: str, emulator: EmulatorServer) -> int:
    """The SDK's 2025-11-25 client giving up on a scan and leaving: it POSTs
    ``notifications/cancelled`` and, as it leaves, its session's DELETE, both at once (six
    sessions: the two racing do not always collide)."""
    for _ in range(6):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
        ):
            assert client.protocol_version == "2025-11-25"
            asked = statics_asked(emulator)
            async with anyio.create_task_group() as calls:
                calls.start_soon(client.call_tool, "scan_pool_drift", {})
                await anyio.to_thread.run_sync(under_way, emulator, asked + 2 * IN_FLIGHT)
                calls.cancel_scope.cancel()
    return 6


async def cancel_2026_call(url: str, emulator: EmulatorServer) -> int:
    """The SDK's 2026-07-28 client giving up on a scan: at that version it closes the call's
    answer stream (the spec's way to cancel over HTTP)."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        assert client.protocol_version == "2026-07-28"
        async with anyio.create_task_group() as calls:
            calls.start_soon(client.call_tool, "scan_pool_drift", {})
            await anyio.to_thread.run_sync(under_way, emulator)
            calls.cancel_scope.cancel()
    return 1


def cancellations(err: LineReader, calls: int) -> list[str]:
    """The log's lines of cancelled scans, read once there are ``calls`` (or after 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in err.text().splitlines() if "scan_pool_drift cancelled" in line]
        if len(lines) >= calls or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize(
    "drop",
    [hang_up_2025_session, cancel_2025_calls_and_leave, cancel_2026_call],
    ids=["2025-hang-up", "2025-cancel-and-leave", "2026-cancel"],
)
async def test_a_scan_whose_http_client_went_away_stops_sending_within_a_second(
    server: Server, slow_fleet: EmulatorServer, drop: Any
) -> None:
    dropped = await drop(f"{server.url}/mcp", slow_fleet)
    gone = time.time()
    assert_stopped(await anyio.to_thread.run_sync(arrivals_after, slow_fleet, gone), gone)
    logged = await anyio.to_thread.run_sync(cancellations, server.err, dropped)
    assert len(logged) == dropped and all(re.search(CANCELLED, line) for line in logged), logged
    async with httpx2.AsyncClient(timeout=10) as http:
        scraped = await http.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
    calls = {"front": "mcp", "operation": "scan_pool_drift"}
    assert metric(scraped.text, "pooldrift_calls_total", **calls, outcome="cancelled") == dropped
    assert metric(scraped.text, "pooldrift_calls_total", **calls) == dropped
    # the requests cut short are counted cancelled: none of them is an upstream failure
    assert statuses(scraped.text) <= {"200", "cancelled"}
    assert "Traceback" not in server.err.text()


def stdio_env(emulator: EmulatorServer) -> dict[str, str]:
    return subprocess_env(process_env(emulator, POOLDRIFT_MAX_IN_FLIGHT=str(IN_FLIGHT)))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_cancelled_stdio_call_stops_sending_and_the_server_serves_on(
    slow_fleet: EmulatorServer, tmp_path: Path, mode: Any
) -> None:
    """Cancelling the call's task makes the SDK's client send ``notifications/cancelled`` for
    its request id (on stdio, at either protocol version)."""
    errlog = tmp_path / "stderr.txt"
    with errlog.open("w") as err:
        params = StdioServerParameters(command=STDIO, env=stdio_env(slow_fleet))
        async with Client(stdio_client(params, errlog=err), mode=mode) as client:
            async with anyio.create_task_group() as calls:
                calls.start_soon(client.call_tool, "scan_pool_drift", {})
                await anyio.to_thread.run_sync(under_way, slow_fleet)
                calls.cancel_scope.cancel()
            gone = time.time()
            assert_stopped(await anyio.to_thread.run_sync(arrivals_after, slow_fleet, gone), gone)
            slow_fleet.faults.update(latency=0)
            listed = await client.call_tool("list_desktop_pools", {"limit": 1})
    assert not listed.is_error and listed.structured_content is not None
    logged = errlog.read_text()
    assert len([line for line in logged.splitlines() if "scan_pool_drift cancelled" in line]) == 1
    assert "Traceback" not in logged


def test_a_stdio_server_whose_input_ends_mid_scan_stops_sending_and_exits(
    slow_fleet: EmulatorServer,
) -> None:
    proc = subprocess.Popen(
        [STDIO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=stdio_env(slow_fleet),
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out, err = LineReader(proc.stdout), LineReader(proc.stderr)
    try:
        hello = {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        }
        for message in (
            {"id": 1, "method": "initialize", "params": hello},
            {"method": "notifications/initialized"},
            {"id": 2, "method": "tools/call", "params": {"name": "scan_pool_drift", "arguments": {}}},
        ):
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
            proc.stdin.flush()
        under_way(slow_fleet)
        proc.stdin.close()  # the client is gone: its end of the pipe closed
        gone = time.time()
        assert_stopped(arrivals_after(slow_fleet, gone), gone)
        code = proc.wait(10)
    finally:
        stop_and_close(proc, out, err)
    assert code == 0
    logged = err.text()
    assert len([line for line in logged.splitlines() if "scan_pool_drift cancelled" in line]) == 1, logged
    assert "Traceback" not in logged
