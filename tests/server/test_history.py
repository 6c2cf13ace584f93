"""``pool_drift_history`` and the "since when" of ``pool_inconsistency`` in memory, over state a
real watch wrote from the emulator's changes: the cap, the order, strict arguments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from pooldrift_mcp.history import MAX_CHANGES
from pooldrift_mcp.tools import build_server

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import Pool
from pooldrift.watch.engine import Watch
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.state import open_store


@pytest.fixture
async def watch(
    client: WorkspaceClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Watch]:
    """A watch without Slack, its state in a fresh file the tools read too (POOLDRIFT_STATE)."""
    monkeypatch.setenv("POOLDRIFT_STATE", str(tmp_path / "state.db"))
    settings = load_watch_settings()
    store = await open_store(settings)
    yield Watch(settings, client, store)
    await store.aclose()


async def call(settings: Settings, tool: str, **arguments: Any) -> tuple[bool, str, dict[str, Any] | None]:
    async with Client(build_server(settings)) as mcp:
        result = await mcp.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    return result.is_error, text, result.structured_content


async def test_the_latest_changes_capped_oldest_first_with_since_and_trend(
    settings: Settings, emulator: EmulatorServer, watch: Watch
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    await watch.cycle()
    # each cycle sees a change: drifted, then worse/better; not periodic in MAX_CHANGES, so the
    # first 30 and the last 30 differ
    counts = [1, 2, 3, 4, 5] * 7 + [2]
    for count in counts:
        emulator.data.set_drift(pool.id, "image_id", count)
        await watch.cycle()
    since = await watch.store.since(pool.id)
    assert since is not None

    is_error, text, found = await call(settings, "pool_drift_history", pool=pool.name, days=1)
    assert not is_error, text
    assert found is not None and found["total_changes"] == len(counts)
    changes = found["changes"]
    assert len(changes) == MAX_CHANGES < len(counts)
    assert [c["counts"]["image_id"] for c in changes] == counts[-MAX_CHANGES:]
    assert [c["at"] for c in changes] == sorted(c["at"] for c in changes)
    assert found["trend"].startswith("0 → 1 → 2 → 3 → 4 → 5 → 1")
    assert found["drifting_since"] == since.isoformat().replace("+00:00", "Z")
    assert found["summary"].startswith(f"Pool {pool.name} has been drifting since {since:%Y-%m-%d %H:%M} UTC")

    is_error, text, checked = await call(settings, "pool_inconsistency", pool=pool.id)
    assert not is_error and checked is not None
    assert checked["drifting_since"] == found["drifting_since"]
    assert checked["summary"].endswith(").") and "It has been drifting since" in checked["summary"]


async def test_a_pool_the_watch_saw_consistent_has_no_since(
    settings: Settings, emulator: EmulatorServer, watch: Watch
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    await watch.cycle()
    is_error, _, found = await call(settings, "pool_drift_history", pool=pool.id)
    assert not is_error and found is not None
    assert found["drifting_since"] is None and found["changes"] == [] and found["trend"] is None
    assert found["summary"] == f"Pool {pool.name} is not drifting, as the watch last saw it."


@pytest.mark.parametrize("days", [0, 91, True, "7", 1.5])
async def test_days_is_a_strict_integer_from_1_to_90(settings: Settings, watch: Watch, days: object) -> None:
    await watch.cycle()
    is_error, text, _ = await call(settings, "pool_drift_history", pool="finance-win11", days=days)
    assert is_error and text.startswith("Invalid argument") and "`days`" in text


async def test_a_name_two_watched_pools_share_is_an_error_naming_both(
    settings: Settings, emulator: EmulatorServer, watch: Watch
) -> None:
    template = emulator.data.pool_named("finance-win11")
    twin = Pool.configured_like(template, id="00000000-0000-4000-8000-0000000007a1", name=template.name)
    emulator.data.add_pool(twin, [])
    await watch.cycle()
    is_error, text, found = await call(settings, "pool_drift_history", pool=template.name)
    assert is_error and found is None
    assert "several watched pools are named" in text and "give an id" in text
    assert template.id in text and twin.id in text
    is_error, _, by_id = await call(settings, "pool_drift_history", pool=twin.id)
    assert not is_error and by_id is not None and by_id["pool_id"] == twin.id
