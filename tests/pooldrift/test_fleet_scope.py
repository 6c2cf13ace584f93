"""Which projects a fleet scan of every project reaches: IAM's disabled projects are left out
(nothing is sent to them), and ``regions`` narrows the scan to the projects of those regions."""

from __future__ import annotations

from dataclasses import replace

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.generate import FleetSpec
from pooldrift.fleet import scan_fleet


def _pools_of(emulator: EmulatorServer, *project_ids: str) -> set[str]:
    return {p.id for project_id in project_ids for p in emulator.data.pools_of(project_id)}


async def test_a_disabled_project_is_neither_scanned_nor_counted(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    emulator.data.generate(FleetSpec(pools=3, desktops_per_pool=2, projects=3, seed=5))
    home, disabled, third = emulator.data.projects
    emulator.data.projects[1] = replace(disabled, enabled=False)
    emulator.requests.clear()

    found = await scan_fleet(client, all_projects=True)

    assert {p.pool_id for p in found.pools} == _pools_of(emulator, home.id, third.id)
    assert found.failures == [] and found.totals.projects == 2
    assert emulator.requests.count(f"/v2/{disabled.id}/") == 0, "a request reached the disabled project"
    assert emulator.requests.count(f"/v2/{third.id}/") > 0


async def test_regions_narrow_a_scan_of_every_project_to_their_projects(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    # 40 projects: one per region of the vendor's list, then subprojects, so a region has two
    emulator.data.generate(FleetSpec(pools=1, desktops_per_pool=1, projects=40, seed=8))
    projects = emulator.data.projects
    region = projects[1].region
    inside = [p for p in projects if p.region == region]
    assert len(inside) >= 2 and len(inside) < len(projects)
    emulator.requests.clear()

    found = await scan_fleet(client, all_projects=True, regions=[region])

    assert {p.pool_id for p in found.pools} == _pools_of(emulator, *(p.id for p in inside))
    assert {p.region for p in found.pools} == {region}
    assert found.totals.projects == len(inside) and found.failures == []
    outside = [p for p in projects if p.region != region]
    assert all(emulator.requests.count(f"/v2/{p.id}/") == 0 for p in outside)
