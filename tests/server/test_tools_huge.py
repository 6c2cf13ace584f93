"""The MCP tools against an answer too large to read (the emulator's ``huge`` fault, 300 MiB):
a tool error naming how large it was, the limit and POOLDRIFT_MAX_RESPONSE_BYTES, or the scan's
failure with that next step, in seconds, instead of a server that holds the answer whole."""

from __future__ import annotations

import asyncio

from pooldrift.config import Settings, with_overrides
from pooldrift.emulator import EmulatorServer
from tests.server.test_tools import call, connect

#: reading the whole answer runs past it; a refused one ends well inside
ENDS_WITHIN = 10.0
LIMIT = 1 << 20


async def test_a_listing_too_large_to_read_is_a_tool_error_naming_the_setting(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(huge_rate=1, paths="desktop-pools$")
    limited = with_overrides(settings, max_response_bytes=LIMIT)
    async with connect(limited) as client, asyncio.timeout(ENDS_WITHIN):
        is_error, text, _ = await call(client, "list_desktop_pools")
    assert is_error and "the Workspace API's answer is too large to read" in text, text
    assert f"more than the {LIMIT} bytes (1 MiB) pooldrift reads of one answer" in text
    assert "POOLDRIFT_MAX_RESPONSE_BYTES" in text and "do not retry it" in text
    assert "Traceback" not in text and emulator.secret_key not in text
    assert emulator.requests.count("/desktop-pools") == 1


async def test_scan_pool_drift_lists_the_project_as_failed_with_the_setting_to_raise(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(huge_rate=1, paths="desktop-pools$")
    limited = with_overrides(settings, max_response_bytes=LIMIT)
    async with connect(limited) as client, asyncio.timeout(ENDS_WITHIN):
        _, text, structured = await call(client, "scan_pool_drift")
    said = text + str(structured)
    assert "response_too_large" in said and "can raise POOLDRIFT_MAX_RESPONSE_BYTES" in said, said[:2000]
