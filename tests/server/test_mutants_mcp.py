"""What the MCP tools say, through real client sessions: the permission a 403 on the pool listing
asks for, the outcome a 403 is counted under (scraped from /metrics), and the hint at the cap.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pooldrift_mcp.http import create_app
from pooldrift_mcp.settings import load_server_settings
from pooldrift_mcp.tools import build_server

from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import LIST_POOLS_ACTION, STATISTICS_ACTION
from tests.server.support import serving

TOKEN = "mutants-token-0123456789abcdef"
#: the pool listing only: the IAM lookup before it still succeeds
LISTING = "/desktop-pools$"


async def call(client: Client, tool: str, **arguments: Any) -> tuple[bool, str, dict[str, Any] | None]:
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    return result.is_error, text, result.structured_content


async def test_a_403_on_the_pool_listing_names_the_listing_action_not_the_statistics_action(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(paths=LISTING)
    emulator.faults.fail_next_n("403", 10)
    async with Client(build_server(settings)) as client:
        is_error, text, structured = await call(client, "list_desktop_pools")
    assert is_error and structured is None
    assert "permission denied" in text and "HTTP 403" in text and "request id " in text
    assert f"needs the IAM action {LIST_POOLS_ACTION}." in text
    assert STATISTICS_ACTION not in text  # that action is the drift counts', not the listing's


def _calls(metrics: str, tool: str, outcome: str) -> float:
    """The tool-call counter of ``tool`` with ``outcome``, whatever the family is named
    (``tool=`` or ``operation=`` labels): the sum over matching samples."""
    total = 0.0
    for line in metrics.splitlines():
        found = re.match(r"(\w+)\{(.*)\} (\S+)$", line)
        if not found or not found.group(1).endswith("calls_total"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2)))
        if tool in labels.values() and labels.get("outcome") == outcome:
            total += float(found.group(3))
    return total


async def test_a_403_is_counted_as_permission_denied(settings: Settings, emulator: EmulatorServer) -> None:
    app = create_app(load_server_settings(port=0, tokens=TOKEN), settings)
    with serving(app) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=10) as http:
            before = (await http.get("/metrics")).text
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as session,
                Client(streamable_http_client(f"{url}/mcp", http_client=session)) as client,
            ):
                assert (await call(client, "list_desktop_pools"))[0] is False
                emulator.faults.update(paths=LISTING)
                emulator.faults.fail_next_n("403", 10)
                assert (await call(client, "list_desktop_pools"))[0] is True
            after = (await http.get("/metrics")).text
    grew = {
        outcome: _calls(after, "list_desktop_pools", outcome) - _calls(before, "list_desktop_pools", outcome)
        for outcome in ("permission_denied", "ok", "error", "forbidden", "upstream_error")
    }
    assert grew == {"permission_denied": 1, "ok": 1, "error": 0, "forbidden": 0, "upstream_error": 0}


async def test_at_the_cap_the_hint_says_narrow_with_name_only(
    settings: Settings, emulator: EmulatorServer
) -> None:
    template = emulator.data.pools[0]
    for number in range(150):
        emulator.data.add_pool(
            dataclasses.replace(
                template, id=f"00000000-0000-4000-8000-{number:012d}", name=f"bulk-{number:03d}"
            )
        )
    total = len(emulator.data.pools)
    async with Client(build_server(settings)) as client:
        _, _, at_cap = await call(client, "list_desktop_pools", limit=100)
        _, _, below = await call(client, "list_desktop_pools", limit=99)
        _, _, everything = await call(client, "list_desktop_pools", name="bulk-14")
    assert at_cap is not None and at_cap["more_available"]
    assert at_cap["hint"] == f"Showing 100 of {total} pools; narrow with `name`."  # `limit` is at its maximum
    assert below is not None
    assert below["hint"] == f"Showing 99 of {total} pools; narrow with `name` or raise `limit` (at most 100)."
    assert everything is not None and not everything["more_available"] and everything["hint"] is None
    assert len(everything["pools"]) == everything["total_count"] == 10
