"""The vendor's own Python SDK against the emulator: same paths, same signature, same numbers.

This cross-checks the emulator (and through it our client) with the SDK the API's users run.
The SDK is a test-only dependency (``.[dev]``); pooldrift itself never imports it. It raises no
warning here, so no ``filterwarnings`` exception is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkworkspace.v2 import (
    ListDesktopPoolsRequest,
    ListInconsistentStaticsRequest,
    ListPoolDesktopsDetailRequest,
    ShowDesktopPoolDetailRequest,
)
from huaweicloudsdkworkspace.v2 import WorkspaceClient as SdkClient

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorConfig, EmulatorServer, FleetSpec


def _config() -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 10)
    config.retry_times = 0
    return config


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Iterator[Any]:
    """The SDK with a project id, pointed at the emulator."""
    credentials = BasicCredentials(emulator.access_key, emulator.secret_key, emulator.project_id)
    yield (
        SdkClient.new_builder()
        .with_http_config(_config())
        .with_credentials(credentials)
        .with_endpoints([emulator.base_url])
        .build()
    )


def test_sdk_inconsistent_statics_match_the_data(emulator: EmulatorServer, sdk: Any) -> None:
    for pool in emulator.data.pools:
        answer = sdk.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool.id))
        expected = emulator.data.statics(pool.id)
        got = {k: getattr(answer, k) for k in ("product_id", "image_id", "disk_num", "disk_size")}
        assert got == expected, pool.name


def test_sdk_lists_pools_with_the_name_filter(emulator: EmulatorServer, sdk: Any) -> None:
    everything = sdk.list_desktop_pools(ListDesktopPoolsRequest())
    assert everything.total_count == len(emulator.data.pools)
    assert [p.name for p in everything.desktop_pools] == [p.name for p in emulator.data.pools]
    assert all(p.product.product_id for p in everything.desktop_pools)
    labs = sdk.list_desktop_pools(ListDesktopPoolsRequest(name="LAB-a"))
    assert sorted(p.name for p in labs.desktop_pools) == ["LAB-A", "lab-a"]


def test_sdk_shows_one_pool(emulator: EmulatorServer, sdk: Any) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    answer = sdk.show_desktop_pool_detail(ShowDesktopPoolDetailRequest(pool_id=pool.id))
    assert (answer.id, answer.name, answer.desktop_count) == (pool.id, pool.name, 137)
    assert answer.product.product_id == pool.product_id
    assert answer.image_id == pool.image_id
    assert answer.root_volume.size == pool.root_size
    assert [v.size for v in answer.data_volumes] == pool.data_sizes


@pytest.mark.parametrize("kind", ["PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE"])
def test_sdk_desktop_filter_agrees_with_the_statics(emulator: EmulatorServer, sdk: Any, kind: str) -> None:
    pool = emulator.data.pool_named("sales-win11")
    answer = sdk.list_pool_desktops_detail(
        ListPoolDesktopsDetailRequest(pool_id=pool.id, inconsistent_type=kind, limit=100)
    )
    assert answer.total_count == emulator.data.statics(pool.id)[kind.lower()] > 0
    # a desktop's own field: PRODUCT / IMAGE only, as the SDK documents it; disk drift only via the filter
    own = {"PRODUCT_ID": "PRODUCT", "IMAGE_ID": "IMAGE"}.get(kind)
    for desktop in answer.pool_desktops:
        assert set(desktop.inconsistent_types or []) <= {"PRODUCT", "IMAGE"}
        assert own is None or own in desktop.inconsistent_types
        assert desktop.desktop_type == "POOLED"
    assert all(d.metadata["metering.image_id"] for d in answer.pool_desktops)


def test_sdk_pages_through_a_big_pool(emulator: EmulatorServer, sdk: Any) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    seen: list[str] = []
    while True:
        page = sdk.list_pool_desktops_detail(
            ListPoolDesktopsDetailRequest(pool_id=pool.id, offset=len(seen), limit=100)
        )
        seen += [d.desktop_id for d in page.pool_desktops]
        if len(seen) >= page.total_count:
            break
    assert seen == [d.desktop_id for d in emulator.data.desktops_of(pool.id)]


def test_sdk_finds_the_project_through_iam(emulator: EmulatorServer) -> None:
    credentials = BasicCredentials(emulator.access_key, emulator.secret_key).with_iam_endpoint(
        emulator.base_url
    )
    client = (
        SdkClient.new_builder()
        .with_http_config(_config())
        .with_credentials(credentials)
        .with_region(Region("cn-north-4", emulator.base_url))
        .build()
    )
    pool = emulator.data.pool_named("qa-win11")
    answer = client.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool.id))
    assert answer.image_id == emulator.data.statics(pool.id)["image_id"]
    assert emulator.requests[0].path == "/v3/projects"


def test_sdk_sees_the_gateway_errors(emulator: EmulatorServer) -> None:
    credentials = BasicCredentials(emulator.access_key, "not-the-secret", emulator.project_id)
    client = (
        SdkClient.new_builder()
        .with_http_config(_config())
        .with_credentials(credentials)
        .with_endpoints([emulator.base_url])
        .build()
    )
    pool = emulator.data.pools[0]
    with pytest.raises(ClientRequestException) as refused:
        client.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool.id))
    assert (refused.value.status_code, refused.value.error_code) == (401, "APIGW.0301")
    assert refused.value.request_id


async def test_sdk_and_our_client_agree(emulator: EmulatorServer, sdk: Any, client: WorkspaceClient) -> None:
    # the SDK call is blocking, but a short one against a local server: fine in a test
    for pool in emulator.data.pools:
        ours = await client.inconsistent_statics(pool.id)
        theirs = sdk.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool.id))
        assert (ours.product_id, ours.image_id, ours.disk_num, ours.disk_size) == (
            theirs.product_id,
            theirs.image_id,
            theirs.disk_num,
            theirs.disk_size,
        )


def test_sdk_reads_a_generated_fleet_in_every_project() -> None:
    """The vendor's Workspace and IAM clients against a generated fleet: the projects IAM lists
    (``MOS`` among them), and each project's pools and counts under its own project id."""
    from huaweicloudsdkcore.auth.credentials import GlobalCredentials
    from huaweicloudsdkiam.v3 import IamClient, KeystoneListAuthProjectsRequest

    spec = FleetSpec(pools=25, desktops_per_pool=4, projects=3, seed=8)
    with EmulatorServer(EmulatorConfig(fleet=spec)) as fleet:
        iam = (
            IamClient.new_builder()
            .with_http_config(_config())
            .with_credentials(GlobalCredentials(fleet.access_key, fleet.secret_key, fleet.config.domain_id))
            .with_endpoints([fleet.base_url])
            .build()
        )
        listed = iam.keystone_list_auth_projects(KeystoneListAuthProjectsRequest()).projects
        assert [p.name for p in listed] == ["MOS", "cn-north-4", "cn-east-3", "cn-south-1"]
        for project in listed[1:]:
            sdk = (
                SdkClient.new_builder()
                .with_http_config(_config())
                .with_credentials(BasicCredentials(fleet.access_key, fleet.secret_key, project.id))
                .with_endpoints([fleet.base_url])
                .build()
            )
            pools = sdk.list_desktop_pools(ListDesktopPoolsRequest()).desktop_pools
            assert [p.id for p in pools] == [p.id for p in fleet.data.pools_of(project.id)]
            for pool in pools:
                answer = sdk.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool.id))
                got = {k: getattr(answer, k) for k in ("product_id", "image_id", "disk_num", "disk_size")}
                assert got == fleet.data.statics(pool.id), pool.name
            assert any(sum(fleet.data.statics(p.id).values()) for p in pools)  # some pools drift
