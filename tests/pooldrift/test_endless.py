"""Listings that never end, over loopback: pages always full with ``total_count`` null, or the
same page again whatever the offset. The listing stops at a repeated page (an upstream fault) and
at its bound (``POOLDRIFT_MAX_POOLS``, ``POOLDRIFT_MAX_DESKTOPS``), saying "more than N" and how to
narrow it, on the client and the CLI; each call ends well inside a few seconds."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, with_overrides
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import Pool
from pooldrift.emulator.records import in_line_desktop
from pooldrift.fleet import scan_fleet
from tests.pooldrift.test_cli import run

POOL = "sales-win11"
#: well past what any bounded listing below takes, short enough that an unbounded one ends
ENDS_WITHIN = 10.0


def pool_id(emulator: EmulatorServer, name: str = POOL) -> str:
    return emulator.data.pool_named(name).id


async def within(call: Any) -> Any:
    async with asyncio.timeout(ENDS_WITHIN):
        return await call


async def test_endless_pool_pages_stop_at_the_bound_saying_more_than_n(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    async with WorkspaceClient(with_overrides(settings, max_pools=250)) as client:
        with pytest.raises(errors.ListingTooLongError) as caught:
            await within(client.list_pools())
    assert caught.value.bound == 250 and caught.value.setting == "POOLDRIFT_MAX_POOLS"
    assert caught.value.message.startswith("more than 250 pools in project ")
    assert "narrow it with a name filter, or raise POOLDRIFT_MAX_POOLS" in caught.value.message
    assert caught.value.outcome == "listing_too_long" and not caught.value.retryable
    # one page past the bound, never more: 251 pools read in pages of at most 1000
    assert emulator.requests.count("/desktop-pools") == 1


async def test_a_listing_of_exactly_the_bound_is_no_error(
    settings: Settings, emulator: EmulatorServer
) -> None:
    count = len((await _all_pools(settings)).pools)
    async with WorkspaceClient(with_overrides(settings, max_pools=count)) as client:
        assert len((await client.list_pools()).pools) == count
    async with WorkspaceClient(with_overrides(settings, max_pools=count - 1)) as client:
        with pytest.raises(errors.ListingTooLongError, match=f"more than {count - 1} pools"):
            await client.list_pools()


async def _all_pools(settings: Settings) -> Any:
    async with WorkspaceClient(settings) as client:
        return await client.list_pools()


async def test_a_cap_below_the_bound_lists_the_first_pools_of_an_endless_listing(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    assert len((await within(client.list_pools(max_items=30))).pools) == 30


async def test_a_repeated_pool_page_is_an_upstream_fault_not_the_listing(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="repeat")
    with pytest.raises(errors.ListingRepeatsError) as caught:
        await within(client.list_pools())
    assert "repeats pages" in caught.value.message and caught.value.what == "pools"
    assert isinstance(caught.value, errors.MalformedResponseError) and not caught.value.retryable
    assert emulator.requests.count("/desktop-pools") == 2  # the first page, then its repeat


async def test_pages_of_one_item_under_a_total_never_reached_stop_at_the_page_bound(
    settings: Settings, emulator: EmulatorServer
) -> None:
    """Neither a repeated page nor the item bound stops it (each page is one new item, well under
    5,000): the bound on pages does, after exactly that many requests, for pools and desktops."""
    emulator.shape.update(pages="trickle")
    async with WorkspaceClient(with_overrides(settings, max_pages=40)) as client:
        with pytest.raises(errors.ListingTooLongError) as pools:
            await within(client.list_pools())
        assert emulator.requests.count("/desktop-pools") == 40
        emulator.requests.clear()
        with pytest.raises(errors.ListingTooLongError) as desktops:
            await within(client.list_pool_desktops(pool_id(emulator)))
        assert emulator.requests.count("/desktops") == 40
    for caught, what in ((pools, "pools"), (desktops, "desktops")):
        assert caught.value.setting == "POOLDRIFT_MAX_PAGES" and caught.value.bound == 40
        assert caught.value.what == what and not caught.value.retryable
        assert caught.value.message.startswith(f"the API answered 40 pages listing the {what} of ")
        assert f"(40 {what} of the 1000000000 it reports)" in caught.value.message
        assert caught.value.message.endswith("narrow the listing, or raise POOLDRIFT_MAX_PAGES")


async def test_a_listing_of_many_full_pages_within_the_page_bound_is_no_error(
    settings: Settings, emulator: EmulatorServer
) -> None:
    """The page bound counts pages that did not end the listing: 3 pages of 100 desktops and a
    last short one read whole with a bound of 4."""
    template = emulator.data.pool_named(POOL)
    pool = Pool.configured_like(template, id="00000000-0000-4000-8000-0000000003b1", name="big-pool")
    rng, at = random.Random(3), datetime(2026, 1, 5, tzinfo=UTC)
    members = [
        in_line_desktop(rng, pool, name=f"BIG{i:04d}", created=at, ip=f"10.9.{i // 250}.{i % 250 + 2}")
        for i in range(350)
    ]
    emulator.data.add_pool(pool, members)
    async with WorkspaceClient(with_overrides(settings, max_pages=4)) as client:
        assert len((await client.list_pool_desktops(pool.id)).desktops) == 350
    async with WorkspaceClient(with_overrides(settings, max_pages=3)) as client:
        with pytest.raises(errors.ListingTooLongError, match="answered 3 pages"):
            await client.list_pool_desktops(pool.id)


@pytest.mark.parametrize("pages", ["endless", "repeat"])
async def test_desktop_pages_that_never_end_stop(
    settings: Settings, emulator: EmulatorServer, pages: str
) -> None:
    emulator.shape.update(pages=pages)
    expected = errors.ListingTooLongError if pages == "endless" else errors.ListingRepeatsError
    async with WorkspaceClient(with_overrides(settings, max_desktops=300)) as client:
        with pytest.raises(expected) as caught:
            await within(client.list_pool_desktops(pool_id(emulator)))
        if pages == "endless":
            assert caught.value.message.startswith("more than 300 desktops in pool ")
            assert "POOLDRIFT_MAX_DESKTOPS" in caught.value.message
        # the drifted listings (one per kind) are bounded the same way
        with pytest.raises(expected):
            await within(client.list_drifted_desktops(pool_id(emulator)))
        # a cap of the fronts still lists the first desktops
        capped = await within(client.list_pool_desktops(pool_id(emulator), max_items=5))
        assert len(capped.desktops) == 5 or pages == "repeat"


async def test_finding_a_pool_by_name_uses_the_name_filter_first(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    emulator.shape.update(name_filter="exact")
    emulator.requests.clear()
    assert (await client.resolve_pool(POOL)).name == POOL
    listings = [r for r in emulator.requests.snapshot() if r.path.endswith("/desktop-pools")]
    assert listings and all(f"name={POOL}" in r.query for r in listings)


async def test_finding_a_pool_by_name_in_an_endless_listing_asks_for_its_id(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    async with WorkspaceClient(with_overrides(settings, max_pools=200)) as client:
        with pytest.raises(errors.ListingTooLongError) as caught:
            await within(client.check("nosuchpool"))
    assert "more than 200 pools" in caught.value.message and "by its id" in caught.value.message


async def test_the_scan_lists_the_endless_project_among_failures(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    async with WorkspaceClient(with_overrides(settings, max_pools=200)) as client:
        scan = await within(scan_fleet(client))
    (failure,) = scan.failures
    assert failure.scope == "project" and failure.outcome == "listing_too_long"
    assert "more than 200 pools" in failure.message and not scan.pools


def test_the_cli_says_more_than_n_pools_and_how_to_narrow_it(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.shape.update(pages="endless")
    env = {**emulator_env, "POOLDRIFT_MAX_POOLS": "300"}
    for args in (("pools",), ("check", "nosuchpool"), ("scan",)):
        done = run(env, *args, timeout=ENDS_WITHIN)
        assert done.returncode == 1, (args, done.stderr)
        said = done.stderr + done.stdout
        assert "more than 300 pools" in said and "POOLDRIFT_MAX_POOLS" in said, args
        assert "Traceback" not in said
    emulator.shape.update(pages="repeat")  # a page of 1000, then the same again
    done = run({**env, "POOLDRIFT_MAX_POOLS": "3000"}, "pools", timeout=ENDS_WITHIN)
    assert done.returncode == 1 and "repeats pages" in done.stderr and "Traceback" not in done.stderr


def test_the_cli_bound_defaults_to_5000_pools(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    emulator.shape.update(pages="endless")
    done = run(emulator_env, "pools", timeout=ENDS_WITHIN * 2)
    assert done.returncode == 1 and "more than 5000 pools" in done.stderr, done.stderr
