"""The MCP tools against answers with unreported counts and ``null`` values (the legacy API version,
a sparse answer): the known counts, ``null`` for the unknown ones, and "not reported" in words."""

from __future__ import annotations

import json
from typing import Any

from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from tests.server.support import check_listing
from tests.server.test_tools import call, connect


def counts_of(structured: dict[str, Any]) -> dict[str, int | None]:
    return {c["kind"]: c["count"] for c in structured["counts"]}


async def test_unreported_counts_are_null_and_said_so(settings: Settings, emulator: EmulatorServer) -> None:
    emulator.shape.update(api_version="legacy", nulls=True)
    pool = emulator.data.pool_named("sales-win11")
    statics = emulator.data.statics(pool.id)
    async with connect(settings) as client:
        is_error, text, structured = await call(client, "pool_inconsistency", pool="sales-win11")
    assert not is_error, text
    assert structured is not None and json.loads(text) == structured
    assert counts_of(structured) == {
        "PRODUCT_ID": statics["product_id"],
        "IMAGE_ID": statics["image_id"],
        "DISK_NUM": None,
        "DISK_SIZE": None,
    }
    assert structured["consistent"] is False
    assert structured["drifted_desktops_at_least"] == max(statics["product_id"], statics["image_id"])
    assert "has drifted" in structured["summary"]
    assert "Data-disk count and disk capacity: not reported by the API." in structured["summary"]


async def test_no_known_drift_is_not_called_consistent(settings: Settings, emulator: EmulatorServer) -> None:
    emulator.shape.update(api_version="legacy")
    async with connect(settings) as client:
        _, _, disks_only = await call(client, "pool_inconsistency", pool="callcenter-win10")
        emulator.shape.update(unreported="product_id,image_id")
        _, _, nothing = await call(client, "pool_inconsistency", pool="finance-win11")
    assert disks_only is not None and nothing is not None
    assert counts_of(disks_only) == {"PRODUCT_ID": 0, "IMAGE_ID": 0, "DISK_NUM": None, "DISK_SIZE": None}
    assert disks_only["consistent"] is False and disks_only["drifted_desktops_at_least"] == 0
    assert "not known to be consistent" in disks_only["summary"]
    assert "is consistent" not in disks_only["summary"]
    assert set(counts_of(nothing).values()) == {None}
    assert "drift counts not reported by the API" in nothing["summary"]


async def test_listing_with_null_totals_and_lists(settings: Settings, emulator: EmulatorServer) -> None:
    emulator.shape.update(nulls=True)
    async with connect(settings) as client:
        _, _, everything = await call(client, "list_desktop_pools")
        _, _, named = await call(client, "list_desktop_pools", name="win11")
        _, _, none = await call(client, "list_desktop_pools", name="nothing-like-this")
    check_listing(everything, emulator)
    check_listing(named, emulator, name="win11")
    check_listing(none, emulator, name="nothing-like-this")


async def test_names_resolve_under_an_exact_case_sensitive_filter(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(name_filter="exact")
    async with connect(settings) as client:
        _, _, found = await call(client, "pool_inconsistency", pool="HR-WIN10")
        is_error, text, _ = await call(client, "pool_inconsistency", pool="Lab-A")
    assert found is not None and found["pool_name"] == "hr-win10"
    assert is_error
    assert emulator.data.pool_named("lab-a").id in text and emulator.data.pool_named("LAB-A").id in text
