"""Counts that cannot be true, over loopback: a drift count or a pool size that is not a
non-negative integer (``true``, ``"3"``, ``1.5``, ``-5``), or a count above the pool's desktops,
is an upstream fault naming the pool on every front, never a drift shown as a fact."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.fleet import scan_fleet
from pooldrift.payloads import DesktopPool
from tests.pooldrift.test_cli import run

POOL = "sales-win11"
#: every value a count may take upstream that is not one: pydantic would read the first three
#: as 1, 3 and (refused, but worded as unreadable) 1; the last is no pool's size
NOT_COUNTS: list[Any] = [True, "3", 1.5, -5, 10**30]


def size_of(emulator: EmulatorServer, name: str = POOL) -> int:
    return len(emulator.data.desktops_of(emulator.data.pool_named(name).id))


@pytest.mark.parametrize("value", NOT_COUNTS, ids=repr)
async def test_a_drift_count_that_is_no_count_is_an_upstream_fault_naming_the_pool(
    client: WorkspaceClient, emulator: EmulatorServer, value: Any
) -> None:
    emulator.shape.update(count_value=value)
    pool = emulator.data.pool_named(POOL)
    for ref in (POOL, pool.id):  # by name, or by id (its name fetched beside the counts)
        with pytest.raises(errors.ImplausibleCountError) as caught:
            await client.check(ref)
        assert f"pool {POOL} ({pool.id})" in caught.value.message
        assert caught.value.pool == f"{POOL} ({pool.id})" and not caught.value.retryable
        assert "request id" in caught.value.message


async def test_a_count_above_the_pools_desktops_is_an_upstream_fault(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    size = size_of(emulator)
    emulator.shape.update(count_value=size + 1)
    with pytest.raises(errors.ImplausibleCountError) as caught:
        await client.check(POOL)
    assert f"pool {POOL} (" in caught.value.message
    assert f"{size + 1} desktops" in caught.value.message and f"has {size} desktops" in caught.value.message

    emulator.shape.update(count_value=size)  # every desktop drifted: plausible
    report = await client.check(POOL)
    assert report.drifted_desktops_at_least == size and report.desktop_count == size


@pytest.mark.parametrize("size", [-5, "3", True, 1.5], ids=repr)
async def test_a_pool_size_that_is_no_count_is_an_upstream_fault(
    client: WorkspaceClient, emulator: EmulatorServer, size: Any
) -> None:
    emulator.shape.update(desktop_count_value=size)
    with pytest.raises(errors.ImplausibleCountError) as caught:
        await client.check(POOL)
    assert f"desktop_count={json.dumps(size)} for pool {POOL} (" in caught.value.message
    # the listing still lists every pool, its size unknown rather than a wrong one
    pools = (await client.list_pools()).pools
    assert len(pools) == len(emulator.data.pools) and {p.desktop_count for p in pools} == {None}


async def test_the_scan_lists_an_implausible_pool_among_failures_not_as_drift(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named(POOL)
    emulator.shape.update(count_value=size_of(emulator) + 1)
    found = await scan_fleet(client)
    failed = {f.pool_id: f for f in found.failures}
    assert pool.id in failed and pool.id not in {p.pool_id for p in found.pools}
    assert failed[pool.id].outcome == errors.ImplausibleCountError.outcome
    assert f"pool {POOL} ({pool.id})" in failed[pool.id].message

    emulator.shape.update(count_value=None, desktop_count_value=-5)
    found = await scan_fleet(client)
    assert found.pools == [] and len(found.failures) == len(emulator.data.pools)
    assert all("desktop_count=-5" in f.message for f in found.failures)


def test_the_cli_says_it_in_one_line_naming_the_pool(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named(POOL)
    emulator.shape.update(desktop_count_value=-5)
    done = run(emulator_env, "check", POOL)
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("pooldrift: the API answered desktop_count=-5 for pool") and pool.id in line
    assert "Traceback" not in done.stderr and "-5 desktops" not in done.stderr

    emulator.shape.update(desktop_count_value=None, count_value=True)
    scan = run(emulator_env, "scan")
    said = scan.stdout + scan.stderr
    assert f"failed: pool {POOL} (" in said and f"product_id=true for pool {POOL} ({pool.id})" in said
    assert f"0 drifted, 0 consistent, {len(emulator.data.pools)} failed" in said
    assert "Traceback" not in scan.stderr


@pytest.mark.parametrize(
    ("size", "kept", "aside"),
    [(0, 0, None), (2**31 - 1, 2**31 - 1, None), (2**31, None, "2147483648"), (False, None, "false")],
)
def test_a_pool_size_past_the_vendors_integer_is_set_aside(
    size: Any, kept: int | None, aside: str | None
) -> None:
    pool = DesktopPool.model_validate({"id": "p", "desktop_count": size})
    assert (pool.desktop_count, pool.implausible_size) == (kept, aside)
    assert pool.model_copy().implausible_size == aside  # a copy keeps what was set aside
