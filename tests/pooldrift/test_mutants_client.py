"""The client's paging and project lookup, counted request by request: offsets past the first page
of pools, no request for a page past the end, and IAM answers that list other projects too.
"""

from __future__ import annotations

import dataclasses

import httpx2
import pytest

from pooldrift.client import WorkspaceClient
from pooldrift.config import load_settings
from pooldrift.emulator import EmulatorServer, Pool
from pooldrift.errors import ProjectLookupError


def _more_pools(emulator: EmulatorServer, count: int) -> list[Pool]:
    """``count`` more pools (copies of the first, with their own ids and names), in list order."""
    template = emulator.data.pools[0]
    added = [
        dataclasses.replace(template, id=f"00000000-0000-4000-8000-{n:012d}", name=f"bulk-{n:04d}")
        for n in range(count)
    ]
    for pool in added:
        emulator.data.add_pool(pool)
    return added


def _queries(emulator: EmulatorServer, path_end: str) -> list[str]:
    return [r.query for r in emulator.requests if r.path.endswith(path_end)]


async def test_more_than_a_page_of_pools_is_listed_whole(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    _more_pools(emulator, 1100)
    everything = await client.list_pools()
    expected = [p.id for p in emulator.data.pools]
    assert len(expected) > 1000
    assert [p.id for p in everything.pools] == expected  # no page twice, none skipped
    assert everything.total_count == len(expected) and not everything.truncated
    assert _queries(emulator, "/desktop-pools") == ["limit=1000&offset=0", "limit=1000&offset=1000"]

    emulator.requests.clear()
    capped = await client.list_pools(max_items=1004)
    assert [p.id for p in capped.pools] == expected[:1004]
    assert _queries(emulator, "/desktop-pools") == ["limit=1000&offset=0", "limit=4&offset=1000"]


async def test_no_request_for_a_page_past_the_end(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    await client.get_project_id()
    dev = emulator.data.pool_named("dev-ubuntu22")  # 137 desktops: two pages of 100
    listing = await client.list_pool_desktops(dev.id)
    assert len(listing.desktops) == listing.total_count == len(emulator.data.desktops_of(dev.id)) == 137
    assert _queries(emulator, "/desktops") == ["limit=100&offset=0", "limit=100&offset=100"]

    emulator.requests.clear()
    pool = emulator.data.pool_named("hr-win10")
    members = emulator.data.desktops_of(pool.id)
    members.extend(
        dataclasses.replace(members[0], desktop_id=f"{n:08d}-0000-4000-8000-000000000000") for n in range(70)
    )
    assert len(members) == 100  # exactly one full page
    assert len((await client.list_pool_desktops(pool.id)).desktops) == 100
    assert _queries(emulator, "/desktops") == ["limit=100&offset=0"]

    emulator.requests.clear()
    assert len((await client.list_pools()).pools) == len(emulator.data.pools) < 1000
    assert _queries(emulator, "/desktop-pools") == ["limit=1000&offset=0"]


def _iam(projects: list[dict[str, str]], seen: list[httpx2.Request]) -> httpx2.MockTransport:
    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"projects": projects, "links": {"self": "/v3/projects"}})

    return httpx2.MockTransport(answer)


def _client(transport: httpx2.MockTransport, region: str = "cn-north-4") -> WorkspaceClient:
    settings = load_settings(
        access_key="UNITAK", secret_key="unit-secret", region=region, endpoint="http://iam.test"
    )
    return WorkspaceClient(settings, transport=transport)


async def test_the_project_is_the_one_named_after_the_region() -> None:
    wanted = "b" * 32
    projects = [
        {"id": "a" * 32, "name": "cn-north-4_subproject", "domain_id": "d"},
        {"id": wanted, "name": "cn-north-4", "domain_id": "d"},
        {"id": "c" * 32, "name": "cn-east-3", "domain_id": "d"},
        {"id": "d" * 32, "name": "MOS", "domain_id": "d"},  # a system project IAM lists too
    ]
    seen: list[httpx2.Request] = []
    async with _client(_iam(projects, seen)) as client:
        assert await client.get_project_id() == wanted
        assert await client.with_options(region="cn-east-3").get_project_id() == "c" * 32
    assert [(r.url.path, r.url.params["name"]) for r in seen] == [
        ("/v3/projects", "cn-north-4"),
        ("/v3/projects", "cn-east-3"),
    ]


@pytest.mark.parametrize(
    ("projects", "found"),
    [
        ([{"id": "a" * 32, "name": "cn-north-4_sub"}], "no project"),
        ([{"id": "a" * 32, "name": "cn-north-4"}, {"id": "b" * 32, "name": "cn-north-4"}], "2 projects"),
    ],
)
async def test_no_project_or_several_with_the_name_is_said_so(
    projects: list[dict[str, str]], found: str
) -> None:
    async with _client(_iam(projects, [])) as client:
        with pytest.raises(ProjectLookupError) as caught:
            await client.get_project_id()
    assert caught.value.message == (
        f"IAM has {found} named cn-north-4 for these credentials; set HUAWEICLOUD_SDK_PROJECT_ID"
    )


async def test_a_view_asks_its_own_regions_hosts() -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path == "/v3/projects":
            name = request.url.params["name"]
            return httpx2.Response(200, json={"projects": [{"id": "e" * 32, "name": name}]})
        return httpx2.Response(200, json={"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 0})

    settings = load_settings(access_key="UNITAK", secret_key="unit-secret", region="cn-north-4")
    async with WorkspaceClient(settings, transport=httpx2.MockTransport(answer)) as client:
        view = client.with_options(region="cn-east-3")
        await view.inconsistent_statics("a130ab3a-72bf-4b71-baa9-af4987c8e338")
    hosts = [r.url.host for r in seen]
    assert len(hosts) == 2 and all(".cn-east-3." in host for host in hosts), hosts
    assert hosts[1] == "workspace.cn-east-3.myhuaweicloud.com"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"projects": None}, "IAM answered the project lookup without a project list"),
        (["not", "an", "object"], "IAM answered the project lookup without a project list"),
        (
            {"projects": [{"id": "NOT-A-PROJECT-ID", "name": "cn-north-4"}]},
            "IAM returned a project id of an unexpected form",
        ),
        ({"projects": ["cn-north-4", {"id": "a" * 32, "name": "cn-north-4"}]}, None),
    ],
)
async def test_iam_answers_of_the_wrong_shape_are_said_so(answer: object, message: str | None) -> None:
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=answer))
    async with _client(transport) as client:
        if message is None:  # entries that are not objects are skipped
            assert await client.get_project_id() == "a" * 32
            return
        with pytest.raises(ProjectLookupError) as caught:
            await client.get_project_id()
    assert caught.value.message == message


async def test_a_view_takes_nothing_of_its_own_but_region_and_project() -> None:
    async with _client(_iam([], [])) as client:
        shared = client._shared
        for extra in (
            {"settings": client.settings},
            {"http_client": httpx2.AsyncClient()},
            {"transport": httpx2.MockTransport(lambda request: httpx2.Response(200))},
            {"clock": lambda: None},
            {"deadline": 3.0},
        ):
            with pytest.raises(TypeError, match=r"^a view takes its settings and connections from `shared`$"):
                WorkspaceClient(shared=shared, **extra)  # type: ignore[arg-type]
            if "http_client" in extra:
                await extra["http_client"].aclose()  # type: ignore[union-attr]
        view = WorkspaceClient(shared=shared, region="cn-east-3", project_id="f" * 32)
        await view.aclose()  # a view closes nothing it borrowed
        assert (view.region, await view.get_project_id()) == ("cn-east-3", "f" * 32)


async def test_region_and_project_given_by_name_win_over_the_settings() -> None:
    settings = load_settings(access_key="A", secret_key="S", region="cn-north-4", project_id="a" * 32)
    async with WorkspaceClient(settings, region="cn-east-3", project_id="b" * 32) as client:
        assert (client.region, client.settings.region, client.settings.project_id) == (
            "cn-east-3",
            "cn-east-3",
            "b" * 32,
        )
    async with WorkspaceClient(access_key="A", secret_key="S", region="cn-east-3") as loaded:
        assert loaded.region == "cn-east-3"
