"""``pooldrift-server`` as a real subprocess on loopback: MCP over Streamable HTTP, auth, Host checks,
strict arguments, probes and metrics, and the refusals at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from prometheus_client.parser import text_string_to_metric_families

from pooldrift.emulator import EmulatorServer, FleetSpec
from pooldrift.version import __version__
from tests.helpers import LineReader, process_env, start_process
from tests.server.support import (
    TOOLS,
    check_drift,
    check_listing,
    expected_drift,
    expected_drifted,
    expected_pool_rows,
    rpc_answer,
    stop_and_close,
)

PROGRAM = str(Path(sys.executable).with_name("pooldrift-server"))
TOKEN = "first-token-0123456789abcdef"
ROTATED = "second-token-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def server_env(emulator: EmulatorServer, **extra: str) -> dict[str, str]:
    """Built by hand, not from the fixture: a module fixture runs before the clean-env one."""
    base = {
        "POOLDRIFT_PORT": "0",
        "POOLDRIFT_MCP_TOKEN": f"{TOKEN},{ROTATED}",
        "POOLDRIFT_METRICS_TOKEN": METRICS_TOKEN,
    }
    return process_env(emulator, **{**base, **extra})


class Running:
    def __init__(self, proc: subprocess.Popen[str], out: LineReader, err: LineReader, url: str) -> None:
        self.proc, self.out, self.err, self.url = proc, out, err, url

    @property
    def mcp(self) -> str:
        return f"{self.url}/mcp"


@pytest.fixture(scope="module")
def server(emulator_server: EmulatorServer) -> Iterator[Running]:
    proc, out, err, url = start_process([PROGRAM], server_env(emulator_server))
    assert url is not None
    yield Running(proc, out, err, url)
    stop_and_close(proc, out, err)
    assert emulator_server.secret_key not in err.text()


def authed(token: str = TOKEN) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def test_both_tools_over_http(server: Running, emulator: EmulatorServer) -> None:
    async with authed() as http, Client(streamable_http_client(server.mcp, http_client=http)) as client:
        assert client.protocol_version == "2026-07-28"
        listed = await client.list_tools()
        drift = await client.call_tool("pool_inconsistency", {"pool": "callcenter-win10"})
        pools = await client.call_tool("list_desktop_pools", {"name": "win10"})
    assert {tool.name for tool in listed.tools} == TOOLS
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in listed.tools)
    check_drift(drift.structured_content, emulator, emulator.data.pool_named("callcenter-win10"))
    check_listing(pools.structured_content, emulator, name="win10")


def test_mcp_alone_sends_through_httpx2s_own_transport(server: Running) -> None:
    """No Slack and no watch: the server stays within its memory budget (Runtime.open says why)."""
    server.err.wait_for("upstream requests go through httpx2's own transport")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_fleet_tools_over_http_with_progress(
    server: Running, emulator: EmulatorServer, mode: str
) -> None:
    emulator.data.generate(FleetSpec(pools=120, desktops_per_pool=3, projects=2, seed=4))
    seen: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, _: str | None) -> None:
        seen.append((done, total))

    client_mode: Any = mode
    async with (
        authed() as http,
        Client(streamable_http_client(server.mcp, http_client=http), mode=client_mode) as client,
    ):
        scan = await client.call_tool("scan_pool_drift", {"all_projects": True}, progress_callback=progress)
        assert scan.structured_content is not None, scan.content
        worst = scan.structured_content["pools"][0]
        arguments = {"pool": worst["name"], "project_id": worst["project_id"], "region": worst["region"]}
        drifted = await client.call_tool("drifted_desktops", {**arguments, "kind": "image_id", "limit": 3})
    rows = expected_pool_rows(emulator)
    structured = scan.structured_content
    assert structured["pools"] == rows[:20] and structured["more_available"] is True
    assert structured["totals"]["projects"] == 2 and structured["totals"]["pools"] == 240
    assert 2 <= len(seen) <= 20 and seen[-1] == (240, 240)
    pool = emulator.data.pool(worst["id"])
    assert pool is not None
    expected = expected_drifted(emulator, pool, "IMAGE_ID")
    answer = drifted.structured_content
    assert answer is not None and answer["expected"] == expected["expected"]
    assert len(answer["desktops"]) == min(3, len(expected["desktops"]))
    for row in answer["desktops"]:
        assert row == expected["desktops"][row["id"]]


async def test_legacy_session_client_and_rotated_token(server: Running, emulator: EmulatorServer) -> None:
    async with (
        authed(ROTATED) as http,
        Client(streamable_http_client(server.mcp, http_client=http), mode="legacy") as client,
    ):
        assert client.protocol_version == "2025-11-25"
        drift = await client.call_tool("pool_inconsistency", {"pool": "analytics-win11"})
        failed = await client.call_tool("pool_inconsistency", {"pool": "analytics"})
    check_drift(drift.structured_content, emulator, emulator.data.pool_named("analytics-win11"))
    assert failed.is_error and "call list_desktop_pools" in str(failed.content).lower()


async def test_raw_2025_03_26_handshake(server: Running, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("design-gpu-win11")
    async with authed() as http:

        async def rpc(body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx2.Response:
            return await http.post(
                server.mcp, json={"jsonrpc": "2.0", **body}, headers={**MCP_HEADERS, **(headers or {})}
            )

        init = await rpc(
            {
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-03-26",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        )
        assert init.status_code == 200, init.text
        assert rpc_answer(init)["result"]["protocolVersion"] == "2025-03-26"
        session = {"mcp-session-id": init.headers["mcp-session-id"], "mcp-protocol-version": "2025-03-26"}
        assert (await rpc({"method": "notifications/initialized"}, session)).status_code == 202
        answer = await rpc(
            {
                "id": 2,
                "method": "tools/call",
                "params": {"name": "pool_inconsistency", "arguments": {"pool": pool.name}},
            },
            session,
        )
        assert answer.status_code == 200, answer.text
        result = rpc_answer(answer)["result"]
        assert result.get("isError") is not True
        structured = result.get("structuredContent") or json.loads(result["content"][0]["text"])
        assert {k: structured[k] for k in expected_drift(emulator, pool)} == expected_drift(emulator, pool)
        stranger = await rpc(
            {"id": 3, "method": "tools/list"}, {**session, "Authorization": f"Bearer {ROTATED}"}
        )
        assert stranger.status_code in (403, 404)  # a session belongs to the token that opened it


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789abcdef"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_mcp_needs_a_valid_token(server: Running, headers: dict[str, str]) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        response = await http.post(
            server.mcp,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**MCP_HEADERS, **headers},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Host": "attacker.example:8080"}, 421), ({"Origin": "http://attacker.example"}, 403)],
    ids=["host", "origin"],
)
async def test_dns_rebinding_is_refused(server: Running, headers: dict[str, str], status: int) -> None:
    async with authed() as http:
        response = await http.post(
            server.mcp,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**MCP_HEADERS, **headers},
        )
    assert response.status_code == status


def calls(text: str, tool: str, outcome: str) -> float:
    """``pooldrift_calls_total`` of the MCP front for ``tool`` and ``outcome`` in a /metrics answer."""
    wanted = {"front": "mcp", "operation": tool, "outcome": outcome}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "pooldrift_calls_total" and sample.labels == wanted:
                return sample.value
    return 0.0


async def test_probes_and_metrics(server: Running, emulator: EmulatorServer) -> None:
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with httpx2.AsyncClient(base_url=server.url, timeout=10) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        refused = [await http.get("/metrics"), await http.get("/metrics", headers={"Authorization": TOKEN})]
        before = (await http.get("/metrics", headers=scrape)).text
        async with (
            authed() as mcp_http,
            Client(streamable_http_client(server.mcp, http_client=mcp_http)) as client,
        ):
            await client.call_tool("pool_inconsistency", {"pool": "hr-win10"})
            await client.call_tool("pool_inconsistency", {"pool": "no-such-pool"})
            await client.call_tool("list_desktop_pools", {})
            await client.call_tool("list_desktop_pools", {"limit": True})
        after = await http.get("/metrics", headers=scrape)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json()["ready"] is True and "upstream" in ready.json()
    assert [r.status_code for r in refused] == [401, 401] and METRICS_TOKEN not in refused[0].text
    assert after.headers["content-type"].startswith("text/plain")
    for tool, outcome in [
        ("pool_inconsistency", "ok"),
        ("pool_inconsistency", "pool_not_found"),
        ("list_desktop_pools", "ok"),
        ("list_desktop_pools", "invalid_input"),
    ]:
        assert calls(after.text, tool, outcome) == calls(before, tool, outcome) + 1, (tool, outcome)
    for family in ("pooldrift_call_duration_seconds_bucket", "pooldrift_upstream_requests_total",
                   "process_resident_memory_bytes", "pooldrift_upstream_up"):  # fmt: skip
        assert family in after.text, family


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [({"pool": "hr-win10", "limit": True}, "limit"), ({"limit": "50"}, "limit"), ({"name": 7}, "name")],
)
async def test_argument_types_are_strict(
    server: Running, emulator: EmulatorServer, arguments: dict[str, Any], argument: str
) -> None:
    arguments.pop("pool", None)
    async with authed() as http, Client(streamable_http_client(server.mcp, http_client=http)) as client:
        emulator.requests.clear()
        result = await client.call_tool("list_desktop_pools", arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error and text.startswith(f"Invalid argument `{argument}`: "), text
    assert "pydantic" not in text and "https://" not in text
    assert len(emulator.requests) == 0


async def test_unconfigured_server_starts_and_says_what_to_set(emulator: EmulatorServer) -> None:
    env = server_env(emulator)
    del env["HUAWEICLOUD_SDK_AK"], env["HUAWEICLOUD_SDK_SK"]
    proc, out, err, url = start_process([PROGRAM], env)
    try:
        async with httpx2.AsyncClient(base_url=str(url), timeout=10) as http:
            health = await http.get("/healthz")
            ready = await http.get("/readyz")
        async with (
            authed() as mcp_http,
            Client(streamable_http_client(f"{url}/mcp", http_client=mcp_http)) as client,
        ):
            result = await client.call_tool("pool_inconsistency", {"pool": "hr-win10"})
    finally:
        stop_and_close(proc, out, err)
    assert health.status_code == 200
    assert ready.status_code == 503 and "HUAWEICLOUD_SDK_AK" in ready.json()["reason"]
    assert result.is_error and "HUAWEICLOUD_SDK_AK" in str(result.content)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"POOLDRIFT_HOST": "0.0.0.0", "POOLDRIFT_MCP_TOKEN": ""}, "without a token"),
        ({"POOLDRIFT_HOST": "192.0.2.10", "POOLDRIFT_MCP_TOKEN": ""}, "without a token"),
        (
            {"POOLDRIFT_MCP_ALLOWED_HOSTS": "*", "POOLDRIFT_MCP_TOKEN": ""},
            "ALLOWED_HOSTS='*' without a token",
        ),
        ({"POOLDRIFT_MCP_TOKEN": "short"}, "shorter than 16"),
        ({"POOLDRIFT_PORT": "eighty"}, "POOLDRIFT_PORT"),
        ({"POOLDRIFT_MCP_SESSION_IDLE": "never"}, "POOLDRIFT_MCP_SESSION_IDLE"),
        ({"POOLDRIFT_LOG_LEVEL": "chatty"}, "POOLDRIFT_LOG_LEVEL"),
    ],
)
def test_refuses_to_start_exposed_or_misconfigured(
    emulator: EmulatorServer, extra: dict[str, str], message: str
) -> None:
    done = subprocess.run(
        [PROGRAM], env=server_env(emulator, **extra), capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "listening" not in done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line, no traceback


#: pooldrift-server on an install without the redis package (the [redis] extra)
WITHOUT_REDIS = (
    "import sys; sys.modules['redis'] = None; from pooldrift_mcp.http import main; sys.exit(main())"
)


@pytest.mark.parametrize(
    "extra",
    [{"SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef", "SLACK_BOT_TOKEN": "xoxb-1"}, {}],
    ids=["slack", "mcp-only"],
)
def test_a_redis_url_without_the_redis_package_is_one_clear_line(
    emulator: EmulatorServer, extra: dict[str, str]
) -> None:
    env = server_env(emulator, POOLDRIFT_REDIS_URL="redis://:hunter2@127.0.0.1:1/0", **extra)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_REDIS],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "pooldrift-server: POOLDRIFT_REDIS_URL is set but the redis package is not installed: "
        "install it with `pip install 'pooldrift[redis]'`, or unset the variable"
    ]
    assert "listening" not in done.stdout


@pytest.mark.parametrize("flag", ["--version", "-V", "--help", "-h"])
def test_version_and_help_start_nothing(flag: str) -> None:
    # a server started by mistake would serve until the timeout fails the test
    done = subprocess.run([PROGRAM, flag], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "listening" not in done.stdout
    if flag in ("--version", "-V"):
        assert done.stdout == f"pooldrift-server {__version__}\n"
    else:
        assert done.stdout.startswith("usage: pooldrift-server") and "POOLDRIFT_MCP_TOKEN" in done.stdout
    wrong = subprocess.run([PROGRAM, "--nope"], capture_output=True, text=True, timeout=60, check=False)
    assert wrong.returncode == 2 and "usage: pooldrift-server" in wrong.stderr
