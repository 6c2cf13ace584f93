"""The MCP tool against counts that cannot be true: a tool error naming the pool, no drift."""

from __future__ import annotations

from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from tests.server.test_tools import call, connect

POOL = "sales-win11"


async def test_the_mcp_tool_says_the_answer_cannot_be_true(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(count_value=10**30)
    async with connect(settings) as client:
        is_error, text, _ = await call(client, "pool_inconsistency", pool=POOL)
    assert is_error and "cannot be true" in text and f"pool {POOL} (" in text
    assert "Traceback" not in text
