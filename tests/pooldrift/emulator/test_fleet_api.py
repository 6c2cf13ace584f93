"""A generated fleet served: each project's pools under its own id, IAM answering every project
(and the ``MOS`` one the client must skip), every region's calls reaching the one emulator,
faults aimed at one project, and the control API that regenerates the data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from pooldrift import regions
from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorConfig, EmulatorServer, FleetSpec
from pooldrift.emulator.api import MOS_PROJECT_NAME
from pooldrift.errors import ServerError
from tests.helpers import signed_client

#: One project per region and one subproject: ``cn-north-4_dev`` beside ``cn-north-4``.
SPEC = FleetSpec(pools=4, desktops_per_pool=3, projects=len(regions.KNOWN_REGIONS) + 1, seed=21)


@pytest.fixture(scope="module")
def fleet_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(fleet=SPEC)) as server:
        yield server


@pytest.fixture
def fleet(fleet_server: EmulatorServer) -> Iterator[EmulatorServer]:
    fleet_server.reset()
    yield fleet_server
    fleet_server.reset()


@pytest.fixture
def signed(fleet: EmulatorServer) -> Iterator[httpx2.Client]:
    with signed_client(fleet.base_url, fleet.access_key, fleet.secret_key) as client:
        yield client


def _get(client: httpx2.Client, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_project_serves_its_own_pools(fleet: EmulatorServer, signed: httpx2.Client) -> None:
    assert len(fleet.data.projects) == SPEC.projects
    for project in fleet.data.projects:
        body = _get(signed, f"/v2/{project.id}/desktop-pools")
        mine = fleet.data.pools_of(project.id)
        assert [p["id"] for p in body["desktop_pools"]] == [p.id for p in mine]
        assert body["total_count"] == SPEC.pools
        assert {p["availability_zone"][:-1] for p in body["desktop_pools"]} == {project.region}
        for pool in mine:
            statics = _get(signed, f"/v2/{project.id}/desktop-pools/{pool.id}/inconsistent-statics")
            assert statics == fleet.data.statics(pool.id)


def test_a_pool_asked_under_another_project_does_not_exist(
    fleet: EmulatorServer, signed: httpx2.Client
) -> None:
    home, other = fleet.data.projects[:2]
    pool = fleet.data.pools_of(other.id)[0]
    for suffix in ("", "/inconsistent-statics", "/desktops"):
        wrong = signed.get(f"/v2/{home.id}/desktop-pools/{pool.id}{suffix}")
        assert wrong.status_code == 400 and wrong.json()["error_code"] == "WKS.0001"
        assert signed.get(f"/v2/{other.id}/desktop-pools/{pool.id}{suffix}").status_code == 200


def test_an_unknown_project_is_answered_as_today(fleet: EmulatorServer, signed: httpx2.Client) -> None:
    response = signed.get("/v2/0123456789abcdef0123456789abcdef/desktop-pools")
    assert response.status_code == 401 and response.json()["error_code"] == "APIGW.0301"
    assert response.headers["X-Request-Id"]


def test_iam_names_exactly_the_projects_of_a_region(fleet: EmulatorServer, signed: httpx2.Client) -> None:
    by_name = {p.name: p for p in fleet.data.projects}
    own = _get(signed, "/v3/projects", name="cn-north-4")["projects"]
    assert [(p["id"], p["name"]) for p in own] == [(fleet.project_id, "cn-north-4")]
    sub = _get(signed, "/v3/projects", name="cn-north-4_dev")["projects"]
    assert [(p["id"], p["parent_id"]) for p in sub] == [(by_name["cn-north-4_dev"].id, fleet.project_id)]
    east = _get(signed, "/v3/projects", name="cn-east-3")["projects"]
    assert [p["id"] for p in east] == [by_name["cn-east-3"].id]
    assert _get(signed, "/v3/projects", name="nowhere-1")["projects"] == []


def test_iam_lists_every_project_the_key_pair_reaches(fleet: EmulatorServer, signed: httpx2.Client) -> None:
    body = _get(signed, "/v3/auth/projects")
    listed = body["projects"]
    assert [p["name"] for p in listed] == [MOS_PROJECT_NAME, *(p.name for p in fleet.data.projects)]
    assert [p["id"] for p in listed[1:]] == [p.id for p in fleet.data.projects]
    for project in listed:
        assert project["domain_id"] == fleet.config.domain_id and project["enabled"] is True
        assert project["links"]["self"] == f"{fleet.base_url}/v3/projects/{project['id']}"
    assert body["links"] == {"self": f"{fleet.base_url}/v3/auth/projects"}
    mos = listed[0]
    assert mos["parent_id"] == fleet.config.domain_id and mos["is_domain"] is False
    # signed like the other IAM call
    with httpx2.Client(base_url=fleet.base_url) as unsigned:
        refused = unsigned.get("/v3/auth/projects")
    assert refused.status_code == 401 and refused.json()["error_code"] == "APIGW.0301"


def test_the_demo_set_lists_its_one_project_beside_mos(emulator: EmulatorServer) -> None:
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as client:
        listed = _get(client, "/v3/auth/projects")["projects"]
    assert [(p["id"], p["name"]) for p in listed[1:]] == [(emulator.project_id, "cn-north-4")]
    assert listed[0]["name"] == MOS_PROJECT_NAME


@pytest.mark.parametrize("region", ["cn-north-4", "ap-southeast-1", "eu-west-101"])
async def test_every_regions_calls_reach_the_one_emulator(fleet: EmulatorServer, region: str) -> None:
    """POOLDRIFT_ENDPOINT stands for every region's Workspace and IAM endpoint: the project a
    region's lookup finds is that region's, and its pools answer."""
    async with WorkspaceClient(
        access_key=fleet.access_key, secret_key=fleet.secret_key, endpoint=fleet.base_url, region=region
    ) as client:
        project_id = await client.get_project_id()
        assert fleet.data.project(project_id) is not None
        assert fleet.data.project(project_id).name == region  # type: ignore[union-attr]
        pool = fleet.data.pools_of(project_id)[-1]
        report = await client.inconsistent_statics(pool.id)
    counts = fleet.data.statics(pool.id)
    assert (report.product_id, report.image_id, report.disk_num, report.disk_size) == (
        counts["product_id"],
        counts["image_id"],
        counts["disk_num"],
        counts["disk_size"],
    )


async def test_a_path_regex_makes_one_project_fail(fleet: EmulatorServer) -> None:
    broken, healthy = fleet.data.projects[1], fleet.data.projects[2]
    fleet.faults.update(error_rate=1.0, error_status=500, paths=f"^/v2/{broken.id}/")
    async with WorkspaceClient(
        access_key=fleet.access_key,
        secret_key=fleet.secret_key,
        endpoint=fleet.base_url,
        max_attempts=1,
    ) as client:
        with pytest.raises(ServerError) as failed:
            await client.with_options(project_id=broken.id).list_pools()
        assert failed.value.status_code == 500
        listed = await client.with_options(project_id=healthy.id).list_pools()
    assert len(listed.pools) == SPEC.pools
    assert fleet.requests.count(f"/v2/{broken.id}/") == 1


def test_the_control_api_regenerates_and_restores_the_data(emulator: EmulatorServer) -> None:
    with httpx2.Client(base_url=emulator.base_url) as control:
        made = control.post("/_emulator/data", json={"pools": 2, "projects": 3, "desktops_per_pool": 1})
        assert made.status_code == 200
        assert made.json()["fleet"] == {"pools": 2, "desktops_per_pool": 1, "projects": 3, "seed": 0}
        assert [p["pools"] for p in made.json()["projects"]] == [2, 2, 2]
        assert len(emulator.data.pools) == 6
        bad = control.post("/_emulator/data", json={"pools": -2})
        assert bad.status_code == 400 and "pools must be" in bad.json()["error_msg"]
        assert control.post("/_emulator/data", json=[1]).status_code == 400
        assert control.get("/_emulator/data").json()["pools"] == 6
        restored = control.delete("/_emulator/data").json()
    assert restored["fleet"] is None and restored["pools"] == 12 == len(emulator.data.pools)
