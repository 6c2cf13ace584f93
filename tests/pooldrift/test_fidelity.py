"""The client against every answer the vendor's definitions allow, over loopback: missing and
``null`` counts, ``null`` lists and totals, the legacy API version's filter values, and the name
filter's ways of matching."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx2
import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import load_settings
from pooldrift.emulator import EmulatorServer
from pooldrift.models import InconsistentType

KINDS = list(InconsistentType)
DISKS = [InconsistentType.DISK_NUM, InconsistentType.DISK_SIZE]


def filter_values(emulator: EmulatorServer) -> list[str]:
    """The ``inconsistent_type`` values the emulator was asked for, in order."""
    return [
        parse_qs(r.query)["inconsistent_type"][0]
        for r in emulator.requests
        if r.path.endswith("/desktops") and "inconsistent_type" in r.query
    ]


# -- counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("nulls", [False, True])
async def test_unreported_counts_are_unknown_not_zero(
    client: WorkspaceClient, emulator: EmulatorServer, nulls: bool
) -> None:
    emulator.shape.update(api_version="legacy", nulls=nulls)
    pool = emulator.data.pool_named("callcenter-win10")  # drifted in data-disk count only
    report = await client.check(pool.name)
    assert (report.product_id, report.image_id, report.disk_num, report.disk_size) == (0, 0, None, None)
    assert report.unreported_kinds == DISKS and report.drifted_kinds == []
    assert not report.consistent and not report.drifted and report.drifted_desktops_at_least == 0
    assert "not reported" in report.summary() and "consistent" in report.summary()
    assert "is consistent" not in report.summary()

    drifted = await client.check("sales-win11")
    assert drifted.drifted and drifted.disk_num is None and drifted.drifted_desktops_at_least == 7
    assert "has drifted" in drifted.summary() and "not reported" in drifted.summary()


async def test_a_count_alone_missing_says_which(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    emulator.shape.update(unreported="image_id")
    report = await client.check("finance-win11")
    assert report.image_id is None and report.product_id == report.disk_num == report.disk_size == 0
    assert report.unreported_kinds == [InconsistentType.IMAGE_ID] and not report.consistent
    assert report.summary() == (
        "Pool finance-win11: no desktop differs in package, data-disk count or disk capacity. "
        "Image: not reported by the API, so the pool is not known to be consistent."
    )
    emulator.shape.update(unreported="product_id,image_id,disk_num,disk_size")
    nothing = await client.check("finance-win11")
    assert nothing.unreported_kinds == KINDS and "not reported" in nothing.summary()


# -- null lists and totals: paging still ends, and counts the requests it needs ---------------------


async def test_null_totals_page_by_the_page_length(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    emulator.shape.update(nulls=True)
    pools = await client.list_pools()
    assert sorted(p.id for p in pools.pools) == sorted(p.id for p in emulator.data.pools)
    assert pools.total_count == len(emulator.data.pools)
    pool = emulator.data.pool_named("dev-ubuntu22")  # 137 desktops: a full page, then a short one
    emulator.requests.clear()
    every = await client.list_pool_desktops(pool.id)
    expected = [d.desktop_id for d in emulator.data.desktops_of(pool.id)]
    assert [d.desktop_id for d in every.desktops] == expected
    assert every.total_count == 137 and emulator.requests.count("/desktops") == 2
    assert all(d.metadata["os_bit"] == "64" for d in every.desktops)
    assert any(d.image_id for d in every.desktops)
    empty = await client.list_pool_desktops(emulator.data.pool_named("training-win10").id)
    assert empty.desktops == [] and empty.total_count == 0


async def test_a_reported_total_ends_paging_without_an_empty_page(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    await client.get_project_id()
    emulator.requests.clear()
    every = await client.list_pool_desktops(pool.id)
    assert len(every.desktops) == 137 and emulator.requests.count("/desktops") == 2


# -- drifted desktops: filtered listings, the legacy values, remembered -------------------------------


async def test_disk_drift_comes_from_the_filter(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("sales-win11")
    drifted = await client.list_drifted_desktops(pool.id)
    expected = {kind: {d.desktop_id for d in emulator.data.drifted(pool.id, kind.value)} for kind in KINDS}
    assert drifted.unavailable_kinds == []
    assert {d.desktop_id for d in drifted.desktops} == set().union(*expected.values())
    for desktop in drifted.desktops:
        assert {k for k in KINDS if desktop.desktop_id in expected[k]} == set(desktop.drift)
    assert any(InconsistentType.DISK_NUM in d.drift for d in drifted.desktops)
    assert sorted(filter_values(emulator)) == sorted(k.value for k in KINDS)  # the current values, once each


async def test_the_legacy_version_falls_back_once_and_remembers(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy")
    pool = emulator.data.pool_named("sales-win11")
    first = await client.list_drifted_desktops(pool.id)
    assert first.unavailable_kinds == DISKS
    assert set(first.kind_totals) == {InconsistentType.PRODUCT_ID, InconsistentType.IMAGE_ID}
    expected = {d.desktop_id for k in ("PRODUCT_ID", "IMAGE_ID") for d in emulator.data.drifted(pool.id, k)}
    assert {d.desktop_id for d in first.desktops} == expected
    asked = filter_values(emulator)
    assert sorted(asked) == sorted(["PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE", "PRODUCT", "IMAGE"])

    emulator.requests.clear()
    again = await client.with_options(project_id=emulator.project_id).list_drifted_desktops(pool.id)
    assert again == first
    assert sorted(filter_values(emulator)) == ["IMAGE", "PRODUCT"]  # remembered, shared by views
    only_disks = await client.list_pool_desktops(pool.id, "disk_num")
    assert only_disks.unavailable_kinds == [InconsistentType.DISK_NUM] and only_disks.total_count is None
    assert sorted(filter_values(emulator)) == ["IMAGE", "PRODUCT"]  # nothing more was asked


async def test_a_refusal_of_both_values_is_raised(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("sales-win11")
    await client.get_project_id()
    emulator.faults.update(paths="/desktops")
    emulator.faults.fail_next_n("400", 2)
    with pytest.raises(errors.BadRequestError):
        await client.list_pool_desktops(pool.id, "PRODUCT_ID")
    assert filter_values(emulator) == ["PRODUCT_ID", "PRODUCT"]
    emulator.requests.clear()
    await client.list_pool_desktops(pool.id, "PRODUCT_ID")  # not taken for a legacy endpoint
    assert filter_values(emulator) == ["PRODUCT_ID"]


async def test_the_legacy_memory_is_per_endpoint() -> None:
    """Two regions of one client: one answers as the older version, the other as the current one."""
    legacy_host = "workspace.cn-east-3.myhuaweicloud.com"
    pool = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
    asked: list[tuple[str, str]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        value = request.url.params.get("inconsistent_type", "")
        asked.append((request.url.host, value))
        if request.url.host == legacy_host and value not in ("PRODUCT", "IMAGE"):
            return httpx2.Response(400, json={"error_code": "WKS.0001", "error_msg": "bad inconsistent_type"})
        return httpx2.Response(200, json={"total_count": 0, "pool_desktops": []})

    settings = load_settings(access_key="A", secret_key="S", project_id="f" * 32)
    async with WorkspaceClient(settings, transport=httpx2.MockTransport(answer)) as client:
        east = client.with_options(region="cn-east-3", project_id="f" * 32)
        assert (await east.list_drifted_desktops(pool)).unavailable_kinds == DISKS
        assert (await client.list_drifted_desktops(pool)).unavailable_kinds == []
        asked.clear()
        await east.list_drifted_desktops(pool)
        await client.list_drifted_desktops(pool)
    assert sorted(v for h, v in asked if h == legacy_host) == ["IMAGE", "PRODUCT"]
    assert sorted(v for h, v in asked if h != legacy_host) == sorted(k.value for k in KINDS)


# -- pool names, whatever the upstream filter does ------------------------------------------------------


@pytest.mark.parametrize("mode", ["icontains", "contains", "iexact", "exact"])
async def test_names_resolve_the_same_under_every_filter(
    client: WorkspaceClient, emulator: EmulatorServer, mode: str
) -> None:
    emulator.shape.update(name_filter=mode)
    data = emulator.data
    assert (await client.resolve_pool("lab-a")).id == data.pool_named("lab-a").id
    assert (await client.resolve_pool("LAB-A")).id == data.pool_named("LAB-A").id
    assert (await client.resolve_pool("FINANCE-win11")).id == data.pool_named("finance-win11").id
    with pytest.raises(errors.AmbiguousPoolError) as ambiguous:
        await client.resolve_pool("Lab-A")
    assert {name for _, name in ambiguous.value.candidates} == {"lab-a", "LAB-A"}
    with pytest.raises(errors.PoolNotFoundError) as unknown:
        await client.resolve_pool("dev-ubuntu2")
    assert "dev-ubuntu22" in [name for _, name in unknown.value.candidates]
    with pytest.raises(errors.PoolNotFoundError):
        await client.resolve_pool("win11")  # a substring of several names is no name


async def test_an_exact_name_needs_one_filtered_request(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    await client.get_project_id()
    emulator.requests.clear()
    await client.resolve_pool("hr-win10")
    assert [parse_qs(r.query).get("name") for r in emulator.requests] == [["hr-win10"]]
    emulator.requests.clear()
    emulator.shape.update(name_filter="exact")
    await client.resolve_pool("HR-win10")  # the filter cannot show it: the whole list is read
    assert [parse_qs(r.query).get("name") for r in emulator.requests] == [["HR-win10"], None]
