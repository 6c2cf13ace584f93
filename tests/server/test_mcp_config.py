"""``make mcp-config``: paste-ready client entries that run this checkout's pooldrift-mcp."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

import pooldrift
from pooldrift.emulator import EmulatorServer
from tests.helpers import subprocess_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "mcp_config.py"
CLIENTS = {"claude": "mcpServers", "vscode": "servers", "cursor": "mcpServers"}
TEMPLATES = {"claude": "claude_desktop_config.json", "vscode": "vscode-mcp.json", "cursor": "cursor-mcp.json"}


def printed(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def server_entry(client: str, *args: str) -> dict[str, Any]:
    config = json.loads(printed("--client", client, *args))
    entry: dict[str, Any] = config[CLIENTS[client]]["pooldrift"]
    return entry


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_each_entry_runs_the_checkouts_pooldrift_mcp(client: str) -> None:
    config = json.loads(printed("--client", client))
    entry = config[CLIENTS[client]]["pooldrift"]
    command = Path(entry["command"])
    assert command.is_absolute() and command.name == "pooldrift-mcp" and entry["args"] == []
    version = subprocess.run([command, "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert version.stdout.strip() == f"pooldrift-mcp {pooldrift.__version__}"
    # the rest is the committed (published-form) manifest: secrets still asked for, not written
    committed = json.loads((ROOT / "manifests" / "mcp" / TEMPLATES[client]).read_text())
    assert committed[CLIENTS[client]]["pooldrift"]["command"] == "uvx"
    committed[CLIENTS[client]]["pooldrift"].update(command=str(command), args=[])
    assert config == committed


def test_make_mcp_config_prints_every_client_as_json() -> None:
    text = printed()
    chunks = ["\n".join(x for x in c.splitlines() if not x.startswith("//")) for c in text.split("\n\n")]
    documents = [json.loads(chunk) for chunk in chunks if chunk.strip()]
    assert [sorted(d) for d in documents] == [["mcpServers"], ["inputs", "servers"], ["mcpServers"]]
    for document in documents:
        servers = document.get("servers") or document["mcpServers"]
        assert Path(servers["pooldrift"]["command"]).exists()
    assert "uvx pooldrift-mcp" in text  # and it says what changes once published


async def test_the_demo_entry_answers_from_the_emulator(emulator: EmulatorServer) -> None:
    entry = server_entry("cursor", "--demo")
    assert entry["env"]["POOLDRIFT_ENDPOINT"] == "http://127.0.0.1:8000"  # `pooldrift emulator`'s default
    env = {**entry["env"], "POOLDRIFT_ENDPOINT": emulator.base_url}  # the test's emulator has its own port
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=subprocess_env(env))
    async with Client(stdio_client(params)) as client:
        result = await client.call_tool("pool_inconsistency", {"pool": "sales-win11"})
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["pool_name"] == "sales-win11"
