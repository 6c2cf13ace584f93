"""``pooldrift-mcp`` as a real subprocess over stdio: the SDK's client, and a raw legacy handshake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from pooldrift.emulator import EmulatorServer, FleetSpec
from pooldrift.version import __version__
from tests.helpers import LineReader, stop_process, subprocess_env
from tests.server.support import (
    TOOLS,
    check_drift,
    check_listing,
    expected_drift,
    expected_drifted,
    expected_pool_rows,
)

PROGRAM = str(Path(sys.executable).with_name("pooldrift-mcp"))


def params(env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=PROGRAM, env=subprocess_env(env))


async def test_both_tools_over_stdio(
    emulator: EmulatorServer, emulator_env: dict[str, str], tmp_path: Path
) -> None:
    errlog = tmp_path / "stderr.txt"
    with errlog.open("w") as err:
        async with Client(stdio_client(params(emulator_env), errlog=err)) as client:
            listed = await client.list_tools()
            drift = await client.call_tool("pool_inconsistency", {"pool": "sales-win11"})
            pools = await client.call_tool("list_desktop_pools", {"limit": 5})
            failed = await client.call_tool("pool_inconsistency", {"pool": "sales"})
    assert {tool.name for tool in listed.tools} == TOOLS
    check_drift(drift.structured_content, emulator, emulator.data.pool_named("sales-win11"))
    check_listing(pools.structured_content, emulator, limit=5)
    assert failed.is_error and "no pool named 'sales'" in str(failed.content)
    logged = errlog.read_text()
    assert emulator.secret_key not in logged


async def test_the_fleet_tools_over_stdio_with_progress(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    emulator.data.generate(FleetSpec(pools=150, desktops_per_pool=4, seed=2))
    broken = emulator.data.pools[7]
    emulator.faults.update(paths=f"{broken.id}/inconsistent-statics", error_rate=1.0, error_status=500)
    seen: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, _: str | None) -> None:
        seen.append((done, total))

    async with Client(params(emulator_env)) as client:
        scan = await client.call_tool("scan_pool_drift", {"limit": 10}, progress_callback=progress)
        assert scan.structured_content is not None
        worst = scan.structured_content["pools"][0]
        drifted = await client.call_tool("drifted_desktops", {"pool": worst["id"], "limit": 100})
    structured = scan.structured_content
    rows = [r for r in expected_pool_rows(emulator) if r["id"] != broken.id]
    assert structured["pools"] == rows[:10] and structured["more_available"] is True
    assert structured["totals"]["pools"] == 150 and structured["totals"]["failed_pools"] == 1
    [failure] = structured["failures"]
    assert failure["pool_id"] == broken.id and failure["outcome"] == "server_error"
    assert 2 <= len(seen) <= 20 and seen[-1] == (150, 150)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    pool = emulator.data.pool(worst["id"])
    assert pool is not None
    expected = expected_drifted(emulator, pool)
    answer = drifted.structured_content
    assert answer is not None and answer["expected"] == expected["expected"]
    assert {row["id"]: row for row in answer["desktops"]} == expected["desktops"]


async def test_legacy_client_mode_over_stdio(emulator: EmulatorServer, emulator_env: dict[str, str]) -> None:
    async with Client(params(emulator_env), mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        result = await client.call_tool("pool_inconsistency", {"pool": "qa-win11"})
    check_drift(result.structured_content, emulator, emulator.data.pool_named("qa-win11"))


async def test_the_legacy_api_version_over_stdio(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    emulator.shape.update(api_version="legacy", nulls=True)
    async with Client(params(emulator_env)) as client:
        result = await client.call_tool("pool_inconsistency", {"pool": "dev-ubuntu22"})
    structured = result.structured_content
    assert structured is not None and not result.is_error
    statics = emulator.data.statics(emulator.data.pool_named("dev-ubuntu22").id)
    counts = [c["count"] for c in structured["counts"]]
    assert counts == [statics["product_id"], statics["image_id"], None, None]
    assert "not reported by the API" in structured["summary"]


class RawSession:
    """Newline-delimited JSON-RPC over the pipes, as a 2024 client would speak it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [PROGRAM],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(env),
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self.out, self.err = LineReader(self.proc.stdout), LineReader(self.proc.stderr)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        self.proc.stdin.flush()

    def request(self, request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.send({"id": request_id, "method": method, "params": params})
        self.out.wait_for(rf'"id":\s*{request_id}\b', timeout=20)
        for line in reversed(self.out.lines):
            message = json.loads(line)
            if message.get("id") == request_id:
                return dict(message)
        raise AssertionError(f"no answer to {request_id}")

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # end of input: the server exits on its own
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            code = stop_process(self.proc)
        for reader, pipe in ((self.out, self.proc.stdout), (self.err, self.proc.stderr)):
            reader.text(settle=5.0)  # the reader thread has seen the end of the pipe
            assert pipe is not None
            pipe.close()
        return code


def test_raw_2024_11_05_handshake_and_pure_stdout(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    session = RawSession(emulator_env)
    try:
        init = session.request(
            1,
            "initialize",
            {
                "protocolVersion": "2024-11-05",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        )
        assert init["result"]["protocolVersion"] == "2024-11-05"
        assert init["result"]["serverInfo"]["name"] == "pooldrift"
        session.send({"method": "notifications/initialized"})
        tools = session.request(2, "tools/list", {})["result"]["tools"]
        assert {tool["name"] for tool in tools} == TOOLS
        pool = emulator.data.pool_named("dev-ubuntu22")
        answer = session.request(
            3, "tools/call", {"name": "pool_inconsistency", "arguments": {"pool": pool.id}}
        )
        result = answer["result"]
        assert result.get("isError") is not True
        content = json.loads(result["content"][0]["text"])
        assert {key: content[key] for key in expected_drift(emulator, pool)} == expected_drift(emulator, pool)
        bad = session.request(4, "tools/call", {"name": "pool_inconsistency", "arguments": {"pool": "a b"}})
        assert (
            bad["result"]["isError"] is True
            and "Invalid argument `pool`" in bad["result"]["content"][0]["text"]
        )
    finally:
        code = session.close()
    assert code == 0
    for line in session.out.lines:  # stdout carries the protocol and nothing else
        assert json.loads(line)["jsonrpc"] == "2.0"
    assert emulator.secret_key not in session.err.text()


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # stdin is closed: a server started by mistake would end at once with status 0 and no output
    return subprocess.run(
        [PROGRAM, *args], env=subprocess_env(env), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_version_help_and_usage() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout == f"pooldrift-mcp {__version__}\n"
    helped = run("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: pooldrift-mcp")
    assert "HUAWEICLOUD_SDK_AK" in helped.stdout and helped.stderr == ""
    wrong = run("--nope")
    assert wrong.returncode == 2 and "usage: pooldrift-mcp" in wrong.stderr and wrong.stdout == ""


def test_a_bad_log_level_is_one_line_and_status_2() -> None:
    done = run(env={"POOLDRIFT_LOG_LEVEL": "chatty"})
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "POOLDRIFT_LOG_LEVEL" in done.stderr
