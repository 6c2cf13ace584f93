"""The MCP tools against listings that never end: a bounded answer saying "more than N pools"
and how to narrow it (a tool error the model can act on, or the scan's failure), in seconds."""

from __future__ import annotations

import asyncio

from pooldrift.config import Settings, with_overrides
from pooldrift.emulator import EmulatorServer
from tests.server.test_tools import call, connect

#: an unbounded listing runs past it; a bounded one ends well inside
ENDS_WITHIN = 10.0


async def test_pool_inconsistency_by_name_says_more_than_n_pools_and_asks_for_the_id(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    async with connect(with_overrides(settings, max_pools=200)) as client, asyncio.timeout(ENDS_WITHIN):
        is_error, text, _ = await call(client, "pool_inconsistency", pool="nosuchpool")
    assert is_error and "more than 200 pools" in text and "by its id" in text
    assert "`name`" in text and "POOLDRIFT_MAX_POOLS" in text and "Traceback" not in text


async def test_scan_pool_drift_lists_the_endless_project_as_failed_with_the_next_step(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    async with connect(with_overrides(settings, max_pools=200)) as client, asyncio.timeout(ENDS_WITHIN):
        _, text, structured = await call(client, "scan_pool_drift")
    said = text + str(structured)
    assert "more than 200 pools" in said and "Narrow the scan with `name`" in said, said[:2000]


async def test_a_repeated_page_is_a_tool_error_saying_so(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="repeat")
    async with connect(settings) as client, asyncio.timeout(ENDS_WITHIN):
        is_error, text, _ = await call(client, "pool_inconsistency", pool="nosuchpool")
    assert is_error and "repeats pages" in text and "Do not report the pools read as complete" in text


async def test_pages_of_one_item_stop_at_the_page_bound_with_the_setting_named(
    settings: Settings, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    emulator.shape.update(pages="trickle")
    async with connect(with_overrides(settings, max_pages=30)) as client, asyncio.timeout(ENDS_WITHIN):
        is_error, by_name, _ = await call(client, "pool_inconsistency", pool="nosuchpool")
        assert is_error
        is_error, desktops, _ = await call(client, "drifted_desktops", pool=pool.id, limit=100)
    assert is_error
    for text in (by_name, desktops):
        assert "the API answered 30 pages" in text and "POOLDRIFT_MAX_PAGES" in text, text
        assert "The same call will fail again." in text and "Traceback" not in text
    assert "`name` (part of the pool's name) or `pool` as an id" in by_name
    assert "`kind` or `limit`" in desktops
