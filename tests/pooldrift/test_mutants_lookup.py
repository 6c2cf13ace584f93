"""The client's lookups word for word: pool names resolved, missed (with which candidates) or
ambiguous; scans of every pool; caps passed down; ids with spaces; answers of the wrong shape.
"""

from __future__ import annotations

import asyncio
import dataclasses

import httpx2
import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient, gather_all
from pooldrift.config import load_settings
from pooldrift.emulator import EmulatorServer, Pool
from pooldrift.models import InconsistentType

PROJECT = "0123456789abcdef0123456789abcdef"


def _add(emulator: EmulatorServer, names: list[str]) -> list[Pool]:
    template = emulator.data.pools[0]
    added = [
        dataclasses.replace(template, id=f"00000000-0000-4000-8000-{n:012d}", name=name)
        for n, name in enumerate(names)
    ]
    for pool in added:
        emulator.data.add_pool(pool)
    return added


async def test_a_name_in_another_case_resolves_to_its_one_pool(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    hr = emulator.data.pool_named("hr-win10")
    assert (await client.resolve_pool("HR-WIN10")).id == hr.id
    assert (await client.resolve_pool(f" {hr.id.upper()} ")).name == "hr-win10"
    lookups = [r.query for r in emulator.requests if r.path.endswith("/desktop-pools")]
    assert lookups == ["limit=1000&name=HR-WIN10&offset=0"]  # the name is filtered upstream


async def test_several_pools_of_one_name_are_listed_ten_at_most(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    twins = _add(emulator, ["twin"] * 12)
    with pytest.raises(errors.AmbiguousPoolError) as caught:
        await client.resolve_pool("twin")
    listed = ", ".join(f"twin ({p.id})" for p in twins[:10])
    assert caught.value.message == f"12 pools are named 'twin'; use one of their ids: {listed}"
    assert caught.value.ref == "twin" and len(caught.value.candidates) == 12


async def test_a_missed_name_offers_five_candidates_close_or_containing_it(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    _add(emulator, [f"kiosk-{n}" for n in range(1, 8)] + ["big-kiosk-room"])
    with pytest.raises(errors.PoolNotFoundError) as caught:
        await client.resolve_pool("KIOSK-0")
    names = [name for _, name in caught.value.candidates]
    assert len(names) == 5 and all(name.startswith("kiosk-") for name in names)
    assert caught.value.message == (
        f"no pool named 'KIOSK-0' in project {emulator.project_id} (cn-north-4); "
        f"closest names: {', '.join(names)}"
    )
    assert (caught.value.ref, caught.value.project_id, caught.value.region) == (
        "KIOSK-0",
        emulator.project_id,
        "cn-north-4",
    )
    with pytest.raises(errors.PoolNotFoundError) as room:
        await client.resolve_pool("room")  # too unlike any name, but contained in one
    assert [name for _, name in room.value.candidates] == ["big-kiosk-room"]


async def test_names_containing_the_ref_fill_the_candidates_up_to_five(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    _add(emulator, ["zzz"] + [f"lab-zz-room-{n}" for n in range(7)])
    with pytest.raises(errors.PoolNotFoundError) as caught:
        await client.resolve_pool("zz")
    names = [name for _, name in caught.value.candidates]
    assert names == ["zzz", "lab-zz-room-0", "lab-zz-room-1", "lab-zz-room-2", "lab-zz-room-3"]


async def test_a_missed_name_with_nothing_near_says_how_many_pools_there_are(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    with pytest.raises(errors.PoolNotFoundError) as caught:
        await client.resolve_pool("zzzzzzzz")
    assert caught.value.candidates == []
    assert caught.value.message == (
        f"no pool named 'zzzzzzzz' in project {emulator.project_id} (cn-north-4); "
        f"the project has {len(emulator.data.pools)} pools; list them to find the right one"
    )


async def test_candidates_are_sought_in_every_page_of_pools(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    _add(emulator, [f"bulk-{n:04d}" for n in range(1000)])
    with pytest.raises(errors.PoolNotFoundError):
        await client.resolve_pool("nothing-like-it")
    pages = [r.query for r in emulator.requests if r.path.endswith("/desktop-pools")]
    # the filtered lookup, then every pool page by page (offsets in pools, not pages)
    assert pages == [
        "limit=1000&name=nothing-like-it&offset=0",
        "limit=1000&offset=0",
        "limit=1000&offset=1000",
    ]


async def test_caps_and_ids_with_spaces_reach_every_listing(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    dev = emulator.data.pool_named("dev-ubuntu22")
    spaced = f"  {dev.id}\t"
    assert (await client.get_pool(spaced)).name == "dev-ubuntu22"
    assert len((await client.list_pool_desktops(spaced, max_items=130)).desktops) == 130
    drifted = await client.list_drifted_desktops(spaced, max_items=2)
    assert drifted.pool_id == dev.id
    emulator.requests.clear()
    assert len((await client.list_pool_desktops(dev.id, max_items=100)).desktops) == 100
    assert [r.query for r in emulator.requests] == ["limit=100&offset=0"]
    emulator.requests.clear()
    await client.list_pool_desktops(dev.id, max_items=130)
    assert [r.query for r in emulator.requests] == ["limit=100&offset=0", "limit=30&offset=100"]
    emulator.requests.clear()
    await client.list_drifted_desktops(dev.id, max_items=2)
    assert {r.query.split("&")[1] for r in emulator.requests} == {"limit=2"}
    assert (await client.inconsistent_statics(spaced)).pool_id == dev.id
    for call in (
        client.get_pool,
        client.list_pool_desktops,
        client.list_drifted_desktops,
        client.inconsistent_statics,
    ):
        with pytest.raises(errors.InvalidInputError):
            await call(None)  # type: ignore[operator]
    emulator.requests.clear()
    nothing = await client.list_pool_desktops(dev.id, max_items=0)
    assert (nothing.total_count, nothing.desktops, len(emulator.requests)) == (0, [], 0)


async def test_every_workspace_request_names_its_project(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    dev = emulator.data.pool_named("dev-ubuntu22")
    await client.check(dev.id)
    await client.list_pools(max_items=3)
    await client.list_pool_desktops(dev.id, "IMAGE_ID")
    workspace = [r for r in emulator.requests if r.path.startswith("/v2/")]
    assert {r.path.rsplit("/", 1)[-1] for r in workspace} >= {"desktop-pools", "desktops", dev.id}
    assert all(r.headers.get("x-project-id") == emulator.project_id for r in workspace)


async def test_an_unknown_drift_kind_is_refused_naming_the_known_ones(client: WorkspaceClient) -> None:
    with pytest.raises(errors.InvalidInputError) as caught:
        await client.list_pool_desktops("a130ab3a-72bf-4b71-baa9-af4987c8e338", "COLOUR")
    known = ", ".join(k.value for k in InconsistentType)
    assert caught.value.message == f"unknown inconsistent type 'COLOUR'; one of {known}"
    assert caught.value.field == "inconsistent_type"


def _mock(answer: httpx2.Response) -> WorkspaceClient:
    settings = load_settings(
        access_key="UNITAK", secret_key="unit-secret", project_id=PROJECT, endpoint="http://workspace.test"
    )
    return WorkspaceClient(settings, transport=httpx2.MockTransport(lambda request: answer))


async def test_a_wrong_answer_names_field_and_request_id(emulator: EmulatorServer) -> None:
    pool = emulator.data.pools[0]
    body = pool.to_api(emulator.data.desktops_of(pool.id))
    async with _mock(httpx2.Response(200, json=body)) as client:  # the detail is flat, as the vendor's
        assert (await client.get_pool(pool.id)).name == pool.name
    one_wrong = {"product_id": -1, "image_id": 0, "disk_num": 0, "disk_size": 0}
    async with _mock(httpx2.Response(200, json=one_wrong, headers={"X-Request-Id": "r-7"})) as client:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await client.inconsistent_statics(pool.id)
    assert caught.value.message == (
        f"the API answered product_id=-1 for pool {pool.id}, which is not a count of desktops"
        " (request id r-7)"
    )
    for call in (
        lambda c: c.get_pool(pool.id),
        lambda c: c.list_pools(),
        lambda c: c.list_pool_desktops(pool.id),
    ):
        async with _mock(httpx2.Response(200, json=[], headers={"X-Request-Id": "r-8"})) as client:
            with pytest.raises(errors.MalformedResponseError) as caught:
                await call(client)
        assert caught.value.request_id == "r-8" and caught.value.message.endswith("(request id r-8)")


async def test_gather_all_lets_every_call_finish_before_raising_the_first_failure() -> None:
    finished: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(0.05)
        finished.append("slow")
        return "slow"

    async def failing() -> str:
        raise errors.APIConnectionError("down")

    with pytest.raises(errors.APIConnectionError):
        await gather_all(failing(), slow())
    assert finished == ["slow"]
    assert await gather_all(slow(), slow()) == ("slow", "slow")


async def test_a_wrong_answer_names_the_nested_field_or_the_body() -> None:
    pools = {"total_count": 1, "desktop_pools": [{"id": 5, "name": "x"}]}
    async with _mock(httpx2.Response(200, json=pools)) as client:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await client.list_pools()
    assert caught.value.message.startswith("unexpected answer from the API (desktop_pools.0.id: ")
    assert (caught.value.status_code, caught.value.request_id) == (200, None)
    assert "request id" not in caught.value.message
    async with _mock(httpx2.Response(200, json=[1])) as client:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await client.inconsistent_statics("a130ab3a-72bf-4b71-baa9-af4987c8e338")
    assert caught.value.message.startswith("unexpected answer from the API (body: ")
    assert caught.value.message.endswith(")") and "request id" not in caught.value.message
