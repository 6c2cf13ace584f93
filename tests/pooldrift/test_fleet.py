"""The fleet scan and the drill-down against the emulator: worst first, failures beside the
rest, progress, filters refused before any request, and expected against actual per desktop."""

from __future__ import annotations

import asyncio

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, load_settings
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import Desktop, Pool, drift_of
from pooldrift.emulator.generate import FleetSpec
from pooldrift.errors import InvalidInputError
from pooldrift.fleet import (
    Baseline,
    Difference,
    DriftedDesktop,
    PoolDrilldown,
    drill_down,
    scan_fleet,
)
from pooldrift.kinds import InconsistentType
from pooldrift.payloads import DesktopPool, PoolDesktop, Volume
from pooldrift.render import render_drilldown

#: each upstream failure a scan must report beside the rest, and the outcome it is reported as
FAILURES = [
    ({"error_rate": 1.0, "error_status": 500}, "server_error"),
    ({"error_rate": 1.0, "error_status": 403}, "permission_denied"),
    ({"error_rate": 1.0, "error_status": 404}, "not_found"),
    ({"latency": 3.0}, "timeout"),
]


def _statics(emulator: EmulatorServer, pool_id: str) -> dict[str, int]:
    return emulator.data.statics(pool_id)


async def test_every_pool_worst_first_with_totals(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    seen: list[tuple[int, int]] = []
    found = await scan_fleet(client, progress=lambda done, total: seen.append((done, total)))
    assert found.failures == []
    assert {p.pool_id for p in found.pools} == {p.id for p in emulator.data.pools}
    for entry in found.pools:
        counts = {k.field: entry.report.count(k) for k in InconsistentType}
        assert counts == _statics(emulator, entry.pool_id)
        assert entry.project_id == emulator.project_id and entry.region == "cn-north-4"
    counts = [_statics(emulator, p.pool_id).values() for p in found.pools]
    worst = [(-max(c), -sum(1 for v in c if v)) for c in counts]
    assert worst == sorted(worst), "most drifted desktops first, then most kinds"
    names = [p.pool_name.lower() for p in found.pools if not p.report.drifted]
    assert names == sorted(names)
    totals = found.totals
    assert totals.pools == len(emulator.data.pools) and totals.projects == 1
    every = [_statics(emulator, p.id).values() for p in emulator.data.pools]
    assert totals.drifted_pools == sum(1 for c in every if any(c))
    assert totals.consistent_pools + totals.drifted_pools == totals.pools
    assert totals.desktops == sum(len(emulator.data.desktops_of(p.id)) for p in emulator.data.pools)
    assert totals.drifted_desktops_at_least == sum(max(c) for c in every)
    # progress: the total is learnt first, then every pool is counted once
    assert seen[-1] == (totals.pools, totals.pools)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


@pytest.mark.parametrize(("fault", "outcome"), FAILURES)
async def test_a_failing_pool_is_reported_beside_the_others(
    fault: dict[str, object], outcome: str, emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    broken = emulator.data.pool_named("hr-win10")
    emulator.faults.update(paths=f"{broken.id}/inconsistent-statics", **fault)
    settings = load_settings(read_timeout=0.5, deadline=1.5, max_attempts=2, backoff_initial=0.01)
    async with WorkspaceClient(settings) as client:
        found = await scan_fleet(client)
    (failure,) = found.failures
    assert failure.scope == "pool" and failure.pool_id == broken.id and failure.pool_name == "hr-win10"
    assert failure.outcome == outcome and failure.project_id == emulator.project_id
    if outcome != "timeout":
        assert failure.status_code == int(str(fault["error_status"])) and failure.request_id
    assert {p.pool_id for p in found.pools} == {p.id for p in emulator.data.pools} - {broken.id}
    assert found.totals.failed_pools == 1 and found.totals.pools == len(emulator.data.pools)
    assert emulator.secret_key not in failure.model_dump_json()


@pytest.mark.parametrize(("fault", "outcome"), FAILURES)
async def test_pools_and_a_project_failing_in_one_scan_of_every_project(
    fault: dict[str, object], outcome: str, emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    """Every project the credentials reach, two pools of one and the whole listing of another
    failing together: each failure is reported where it happened and every other pool is there."""
    emulator.data.generate(FleetSpec(pools=4, desktops_per_pool=3, projects=3, seed=11))
    home, down, third = emulator.data.projects
    broken = emulator.data.pools_of(third.id)[:2]
    ids = "|".join(p.id for p in broken)
    emulator.faults.update(paths=f"(({ids})/inconsistent-statics|/v2/{down.id}/desktop-pools)$", **fault)
    settings = load_settings(read_timeout=0.5, deadline=1.5, max_attempts=2, backoff_initial=0.01)
    async with WorkspaceClient(settings) as client:
        found = await scan_fleet(client, all_projects=True)
    project_failures = [f for f in found.failures if f.scope == "project"]
    pool_failures = [f for f in found.failures if f.scope == "pool"]
    listed = [(f.project_id, f.region, f.outcome) for f in project_failures]
    assert listed == [(down.id, down.region, outcome)]
    assert sorted((f.pool_id, f.project_id, f.outcome) for f in pool_failures) == sorted(
        (p.id, third.id, outcome) for p in broken
    )
    home_of = {p.id: project for project in (home, third) for p in emulator.data.pools_of(project.id)}
    assert {p.pool_id for p in found.pools} == set(home_of) - {p.id for p in broken}
    for entry in found.pools:
        assert {k.field: entry.report.count(k) for k in InconsistentType} == _statics(emulator, entry.pool_id)
        project = home_of[entry.pool_id]
        assert (entry.project_id, entry.region) == (project.id, project.region)
    assert found.totals.projects == 3 and found.totals.failed_projects == 1
    assert found.totals.failed_pools == 2 and found.totals.pools == len(home_of)


async def test_a_failing_project_is_reported_and_sinks_nothing_else(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    found = await scan_fleet(client, project_id="0" * 32)  # a project these credentials do not reach
    (failure,) = found.failures
    assert failure.scope == "project" and failure.project_id == "0" * 32 and failure.region == "cn-north-4"
    assert failure.outcome == "unauthenticated" and failure.status_code == 401
    assert found.pools == [] and found.totals.failed_projects == 1 and found.totals.pools == 0


async def test_a_project_whose_pools_cannot_be_listed_names_the_project_iam_gave(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    emulator.faults.update(paths="/desktop-pools$", error_rate=1.0, error_status=403)
    found = await scan_fleet(client)
    (failure,) = found.failures
    assert failure.scope == "project" and failure.outcome == "permission_denied"
    assert failure.project_id == emulator.project_id  # looked up through IAM first


async def test_the_name_filter_keeps_only_matching_pools(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    found = await scan_fleet(client, name="WIN11")
    expected = {p.id for p in emulator.data.pools if "win11" in p.name.lower()}
    assert {p.pool_id for p in found.pools} == expected and expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "../../v3/projects"},
        {"name": "x y"},
        {"name": "a" * 65},
        {"regions": ["mars-1"]},
        {"project_id": "ABC"},
        {"project_id": "0" * 32, "all_projects": True},
        {"project_id": "0" * 32, "regions": ["cn-north-4", "cn-east-3"]},
    ],
)
async def test_hostile_scopes_are_refused_before_any_request(
    kwargs: dict[str, object], client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    with pytest.raises(InvalidInputError):
        await scan_fleet(client, **kwargs)  # type: ignore[arg-type]
    assert len(emulator.requests) == 0


async def test_drill_down_shows_expected_against_actual(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    found = await drill_down(client, "sales-win11", limit=1000)
    assert found.pool_id == pool.id and found.project_id == emulator.project_id
    assert found.expected.product_id == pool.product_id and found.expected.image_id == pool.image_id
    assert found.expected.data_disk_count == len(pool.data_sizes)
    assert found.expected.total_disk_gb == pool.root_size + sum(pool.data_sizes)
    desktops = {d.desktop_id: d for d in emulator.data.desktops_of(pool.id)}
    drifted = {d for d, desktop in desktops.items() if drift_of(desktop, pool)}
    assert {d.desktop_id for d in found.desktops} == drifted and found.total_count == len(drifted)
    assert not found.more_available
    for row in found.desktops:
        desktop = desktops[row.desktop_id]
        assert [d.kind.value for d in row.differences] == drift_of(desktop, pool)
        actual = {
            InconsistentType.PRODUCT_ID: desktop.product_id,
            InconsistentType.IMAGE_ID: desktop.image_id,
            InconsistentType.DISK_NUM: len(desktop.data_sizes),
            InconsistentType.DISK_SIZE: desktop.root_size + sum(desktop.data_sizes),
        }
        for diff in row.differences:
            assert diff.actual == actual[diff.kind] and diff.actual != diff.expected


async def test_drill_down_caps_and_filters(client: WorkspaceClient, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    capped = await drill_down(client, pool.id, limit=3)
    assert len(capped.desktops) == 3 and capped.more_available and (capped.total_count or 0) > 3
    images = await drill_down(client, pool.id, kind="image_id", limit=100)
    assert images.kind is InconsistentType.IMAGE_ID
    wanted = {d.desktop_id for d in emulator.data.drifted(pool.id, "IMAGE_ID")}
    assert {d.desktop_id for d in images.desktops} == wanted
    assert all([x.kind for x in d.differences] == [InconsistentType.IMAGE_ID] for d in images.desktops)
    for bad in ({"kind": "colour"}, {"limit": 0}, {"limit": 5000}, {"limit": True}):
        emulator.requests.clear()
        with pytest.raises(InvalidInputError):
            await drill_down(client, pool.id, **bad)  # type: ignore[arg-type]
        assert len(emulator.requests) == 0


async def test_drill_down_reads_null_disks_as_none_and_absent_values_as_unknown(
    settings: Settings, emulator: EmulatorServer
) -> None:
    """The vendor's SDKs omit empty values: a ``null`` data-disk list is no data disks; a value
    the answer does not carry at all is unknown (None), never invented."""
    template = emulator.data.pool_named("sales-win11")
    assert template.data_sizes, "the template pool has data disks"
    pool = Pool.configured_like(template, id="00000000-0000-4000-8000-00000000d1ff", name="sparse")
    desktop = Desktop(
        desktop_id="00000000-0000-4000-9000-00000000d1ff",
        computer_name="SPARSE01",
        product_id="other-package",
        image_id=template.image_id,
        root_size=template.root_size,
        data_sizes=[],  # sent as null below
    )
    emulator.data.add_pool(pool, [desktop])
    emulator.shape.update(nulls=True)
    async with WorkspaceClient(settings) as client:
        found = await drill_down(client, "sparse")
    (row,) = found.desktops
    diffs = {d.kind: (d.expected, d.actual) for d in row.differences}
    assert diffs[InconsistentType.PRODUCT_ID] == (template.product_id, "other-package")
    assert diffs[InconsistentType.DISK_NUM] == (len(template.data_sizes), 0)
    assert diffs[InconsistentType.DISK_SIZE] == (
        template.root_size + sum(template.data_sizes),
        template.root_size,
    )
    # an answer without the disks at all: unknown on that side
    bare = PoolDesktop.model_validate({"desktop_id": "d", "product_id": "p"})
    assert Difference.of(InconsistentType.DISK_NUM, found.expected, bare).actual is None
    assert Difference.of(InconsistentType.DISK_SIZE, found.expected, bare).actual is None
    assert Difference.of(InconsistentType.IMAGE_ID, found.expected, bare).actual is None
    assert Baseline.of(DesktopPool.model_validate({"id": "x"})) == Baseline(
        product_id=None, image_id=None, data_disk_count=None, total_disk_gb=None
    )


def test_a_data_disk_of_unreported_size_is_not_reported_and_no_data_disks_is_zero() -> None:
    """A data volume the answer gives no size for leaves the capacity unknown (never counted as
    0 GB), while its count stands; an empty data-disk list is 0 disks, a known capacity."""
    pool = DesktopPool.model_validate(
        {"id": "p", "name": "p", "root_volume": {"size": 80}, "data_volumes": [{"size": 100}, {"size": 50}]}
    )
    expected = Baseline.of(pool)
    assert (expected.data_disk_count, expected.total_disk_gb) == (2, 230)
    sizeless = PoolDesktop.model_validate(
        {"desktop_id": "d1", "root_volume": {"size": 80}, "data_volumes": [{"size": 100}, {"id": "v"}]}
    )
    assert Difference.of(InconsistentType.DISK_SIZE, expected, sizeless).actual is None
    assert Difference.of(InconsistentType.DISK_NUM, expected, sizeless).actual == 2
    diskless = PoolDesktop.model_validate(
        {"desktop_id": "d2", "root_volume": {"size": 80}, "data_volumes": []}
    )
    assert Difference.of(InconsistentType.DISK_NUM, expected, diskless).actual == 0
    assert Difference.of(InconsistentType.DISK_SIZE, expected, diskless).actual == 80
    # the pool's own side alike: one sizeless data disk, an unknown capacity of a known count
    vague = Baseline.of(pool.model_copy(update={"data_volumes": [*pool.data_volumes, Volume()]}))
    assert (vague.data_disk_count, vague.total_disk_gb) == (3, None)
    bare = Baseline.of(pool.model_copy(update={"data_volumes": []}))
    assert (bare.data_disk_count, bare.total_disk_gb) == (0, 80)

    found = PoolDrilldown(
        pool_id="p",
        pool_name="p",
        project_id="0" * 32,
        region="cn-north-4",
        expected=bare,
        desktops=[
            DriftedDesktop(
                desktop_id=d.desktop_id,
                differences=[
                    Difference.of(k, bare, d) for k in (InconsistentType.DISK_NUM, InconsistentType.DISK_SIZE)
                ],
            )
            for d in (sizeless, diskless)
        ],
        total_count=2,
    )
    lines = render_drilldown(found).splitlines()
    assert "0 data disks, 80 GB in all" in lines[2]
    rows = [
        line.split("  ")[-1].strip() for line in lines if "Data-disk count" in line or "Disk capacity" in line
    ]
    assert rows == ["2", "not reported", "0", "80"]  # d1's count, d1's capacity, d2's count, d2's capacity


async def test_a_scan_queues_for_connections_without_its_calls_timing_out(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    """Two connections, 12 pools at 0.2 s each: the later calls wait ~1 s for a connection,
    longer than a call's 0.8 s deadline. A scan's calls queue with their deadline paused."""
    emulator.faults.update(latency=0.2, paths="inconsistent-statics")
    settings = load_settings(max_in_flight=2, deadline=0.8, read_timeout=0.5, max_attempts=1)
    async with WorkspaceClient(settings) as client:
        found = await scan_fleet(client)
        assert found.failures == [] and len(found.pools) == len(emulator.data.pools)
        # the same calls made one by one outside a scan keep their own deadline
        pools = [p.id for p in emulator.data.pools]
        calls = (client.inconsistent_statics(p) for p in pools)
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert any(isinstance(r, errors.APITimeoutError) for r in results)
