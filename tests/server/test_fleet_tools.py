"""``scan_pool_drift`` and ``drifted_desktops`` in memory (``mcp.Client(server)``) against the
emulator: answers equal to its data, failures beside the rest, progress, caps, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pooldrift_mcp.fleet_models import MAX_FAILURES_SHOWN

from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer, FleetSpec
from pooldrift.errors import LIST_POOLS_ACTION, PROJECT_LOOKUP_ACTION, STATISTICS_ACTION
from tests.server.support import expected_drifted, expected_pool_rows, expected_totals
from tests.server.test_tools import call, connect

Progress = list[tuple[float, float | None, str | None]]


def recorder() -> tuple[Progress, Any]:
    seen: Progress = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    return seen, progress


def check_progress(seen: Progress, pools: int) -> None:
    """Notifications arrived, never went back, ended at every pool done, and were few."""
    assert 2 <= len(seen) <= 20, seen
    done = [d for d, _, _ in seen]
    assert done == sorted(done)
    assert seen[-1][:2] == (pools, pools)
    assert seen[-1][2] == f"{pools} of {pools} pools"


# -- scan_pool_drift ---------------------------------------------------------------------------


async def test_scan_ranks_every_pool_worst_first_as_the_emulator_counts(
    settings: Settings, emulator: EmulatorServer
) -> None:
    rows = expected_pool_rows(emulator)
    seen, progress = recorder()
    async with connect(settings) as client:
        result = await client.call_tool("scan_pool_drift", {"limit": 100}, progress_callback=progress)
    structured = result.structured_content
    assert not result.is_error and structured is not None
    assert structured["pools"] == rows
    assert [r["name"] for r in rows[:3]] == ["dev-ubuntu22", "sales-win11", "callcenter-win10"]
    assert structured["totals"] == expected_totals(emulator, rows)
    assert structured["more_available"] is False and structured["hint"] is None
    assert structured["failures"] == [] and structured["failures_by_outcome"] == {}
    assert structured["summary"] == (
        "12 pools in 1 project: 9 drifted (at least 47 desktops), 3 consistent. "
        "Worst: dev-ubuntu22 (at least 12 of 137)."
    )
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert json.loads(text) == structured and "\n" not in text  # compact: what the model reads
    check_progress(seen, 12)


@pytest.mark.parametrize("named", [1, 5])
async def test_the_summary_names_the_pools_not_fully_reported(
    settings: Settings, emulator: EmulatorServer, named: int
) -> None:
    """The pools with no drift reported but a count missing are named (the first three, worst
    first) where the model quotes them, not only counted."""
    for empty in [p for p in emulator.data.pools if not emulator.data.desktops_of(p.id)]:
        emulator.data.remove_pool(empty.id)
    unsure = sorted(p.name for p in emulator.data.pools)[:named]
    for pool in emulator.data.pools:  # the others still drift without disk_size
        for kind in ("product_id", "image_id", "disk_num", "disk_size"):
            emulator.data.set_drift(pool.id, kind, 0)
        if pool.name not in unsure:
            emulator.data.set_drift(pool.id, "image_id", 1)
    emulator.shape.update(unreported=("disk_size",))
    async with connect(settings) as client:
        _, _, structured = await call(client, "scan_pool_drift", limit=100)
    assert structured is not None
    unknown = [r["name"] for r in structured["pools"] if r["drifted_at_least"] == 0]
    assert sorted(unknown) == unsure and structured["totals"]["unknown_pools"] == named
    listed = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
    assert f", {named} not fully reported ({listed})" in structured["summary"]


async def test_scan_is_capped_with_more_available_and_filtered_by_name(
    settings: Settings, emulator: EmulatorServer
) -> None:
    async with connect(settings) as client:
        _, _, capped = await call(client, "scan_pool_drift", limit=3)
        _, _, named = await call(client, "scan_pool_drift", name="WIN11")
        _, _, none = await call(client, "scan_pool_drift", name="nothing-like-this")
    rows = expected_pool_rows(emulator)
    assert capped is not None and capped["pools"] == rows[:3]
    assert capped["more_available"] is True
    assert (
        capped["hint"]
        == "Showing the worst 3 of 12 pools; filter with `name` or raise `limit` (at most 100)."
    )
    assert capped["totals"] == expected_totals(emulator, rows)  # totals count every pool, listed or not
    assert named is not None and named["pools"] == expected_pool_rows(emulator, name="win11")
    assert {r["name"] for r in named["pools"]} == {
        "finance-win11", "design-gpu-win11", "analytics-win11", "sales-win11", "qa-win11"
    }  # fmt: skip
    assert none is not None and none["pools"] == [] and none["totals"]["pools"] == 0


@pytest.mark.parametrize(
    ("status", "outcome", "next_step"),
    [
        (403, "permission_denied", STATISTICS_ACTION),
        (404, "not_found", "may have been deleted"),
        (500, "server_error", "retry later"),
        (501, "server_error", "does not serve this request"),
    ],
)
async def test_a_failing_pool_is_reported_beside_every_other(
    settings: Settings, emulator: EmulatorServer, status: int, outcome: str, next_step: str
) -> None:
    broken = emulator.data.pool_named("sales-win11")
    emulator.faults.update(paths=f"{broken.id}/inconsistent-statics", error_rate=1.0, error_status=status)
    async with connect(settings) as client:
        is_error, text, structured = await call(client, "scan_pool_drift", limit=100)
    assert not is_error, text
    assert structured is not None
    assert structured["pools"] == [r for r in expected_pool_rows(emulator) if r["id"] != broken.id]
    [failure] = structured["failures"]
    assert failure["pool_id"] == broken.id and failure["pool_name"] == "sales-win11"
    assert failure["project_id"] == emulator.project_id and failure["region"] == "cn-north-4"
    assert failure["outcome"] == outcome and next_step in failure["next_step"]
    assert f"HTTP {status}" in failure["error"] and "request id" in failure["error"]
    assert structured["failures_by_outcome"] == {outcome: 1}
    assert structured["totals"]["failed_pools"] == 1 and structured["totals"]["pools"] == 12
    assert "1 could not be read" in structured["summary"]


async def test_a_failing_project_is_one_failure_with_its_next_step(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(paths=r"desktop-pools$", error_rate=1.0, error_status=403)
    async with connect(settings) as client:
        is_error, text, structured = await call(client, "scan_pool_drift")
    assert not is_error, text
    assert structured is not None and structured["pools"] == []
    [failure] = structured["failures"]
    assert failure["pool_id"] is None and failure["project_id"] == emulator.project_id
    assert failure["outcome"] == "permission_denied"
    assert f"needs the IAM action {LIST_POOLS_ACTION}." in failure["next_step"]
    assert structured["totals"]["failed_projects"] == 1
    assert "the projects could not be listed" in structured["summary"]


async def test_a_project_whose_id_lookup_is_refused_names_the_iam_action_of_the_lookup(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(paths=r"/v3/projects$", error_rate=1.0, error_status=403)
    async with connect(settings) as client:
        _, text, structured = await call(client, "scan_pool_drift")
    assert structured is not None, text
    [failure] = structured["failures"]
    assert failure["outcome"] == "permission_denied"
    assert f"needs the IAM action {PROJECT_LOOKUP_ACTION}." in failure["next_step"]
    assert LIST_POOLS_ACTION not in failure["next_step"]


async def test_failures_are_capped_and_counted_by_outcome(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(paths="inconsistent-statics", error_rate=1.0, error_status=403)
    async with connect(settings) as client:
        _, _, structured = await call(client, "scan_pool_drift")
    assert structured is not None and structured["pools"] == []
    assert len(structured["failures"]) == MAX_FAILURES_SHOWN
    assert structured["failures_by_outcome"] == {"permission_denied": 12}
    assert structured["totals"]["failed_pools"] == 12
    for failure in structured["failures"]:
        assert len(failure["error"]) <= 160 and failure["next_step"]


async def test_progress_at_scale_is_throttled_and_the_answer_stays_small(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.data.generate(FleetSpec(pools=1000, desktops_per_pool=2, seed=3))
    emulator.faults.update(paths="inconsistent-statics", error_rate=0.05, error_status=403)
    seen, progress = recorder()
    async with connect(settings) as client:
        result = await client.call_tool("scan_pool_drift", {}, progress_callback=progress)
    structured = result.structured_content
    assert not result.is_error and structured is not None
    failed = structured["totals"]["failed_pools"]
    assert 0 < failed < 200 and structured["failures_by_outcome"] == {"permission_denied": failed}
    assert len(structured["failures"]) == MAX_FAILURES_SHOWN
    assert structured["totals"]["pools"] == 1000 and len(structured["pools"]) == 20
    ranks = [(-r["drifted_at_least"]) for r in structured["pools"]]
    assert ranks == sorted(ranks) and structured["more_available"]
    check_progress(seen, 1000)
    answer = len("".join(getattr(block, "text", "") for block in result.content).encode())
    print(f"\nscan_pool_drift at 1,000 pools, 5 % failing: {answer:,} bytes of JSON")  # noqa: T201
    assert answer <= 12_000


async def test_every_project_the_credentials_reach(settings: Settings, emulator: EmulatorServer) -> None:
    emulator.data.generate(FleetSpec(pools=4, desktops_per_pool=3, projects=3, seed=5))
    async with connect(settings) as client:
        _, _, home = await call(client, "scan_pool_drift", limit=100)
        _, _, everything = await call(client, "scan_pool_drift", all_projects=True, limit=100)
        other = emulator.data.projects[2]
        _, _, one = await call(client, "scan_pool_drift", region=other.region, limit=100)
    rows = expected_pool_rows(emulator)
    assert everything is not None and everything["pools"] == rows
    assert everything["totals"] == expected_totals(emulator, rows, projects=3)
    assert {r["region"] for r in rows} == {"cn-north-4", "cn-east-3", "cn-south-1"}
    assert home is not None and home["pools"] == [r for r in rows if r["project_id"] == emulator.project_id]
    assert one is not None and one["pools"] == [r for r in rows if r["project_id"] == other.id]


# -- drifted_desktops ----------------------------------------------------------------------------


def check_drifted(structured: dict[str, Any] | None, expected: dict[str, Any], *, limit: int = 20) -> None:
    assert structured is not None
    truth = expected["desktops"]
    assert {k: structured[k] for k in ("pool_id", "pool_name", "expected")} == {
        k: expected[k] for k in ("pool_id", "pool_name", "expected")
    }
    assert len(structured["desktops"]) == min(limit, len(truth))
    for row in structured["desktops"]:
        assert row == truth[row["id"]]
    assert structured["more_available"] is (len(truth) > limit)
    if not structured["more_available"]:
        assert structured["total_count"] == len(truth)


@pytest.mark.parametrize("name", ["sales-win11", "qa-win11", "hr-win10", "dev-ubuntu22", "analytics-win11"])
async def test_drifted_desktops_are_the_emulators_expected_against_actual(
    settings: Settings, emulator: EmulatorServer, name: str
) -> None:
    pool = emulator.data.pool_named(name)
    async with connect(settings) as client:
        is_error, text, by_name = await call(client, "drifted_desktops", pool=name, limit=100)
        _, _, by_id = await call(client, "drifted_desktops", pool=pool.id.upper(), limit=100)
    assert not is_error, text
    check_drifted(by_name, expected_drifted(emulator, pool), limit=100)
    assert by_id == by_name


@pytest.mark.parametrize("kind", ["IMAGE_ID", "disk_num", "Disk_Size", "PRODUCT_ID"])
async def test_one_kind_of_drift(settings: Settings, emulator: EmulatorServer, kind: str) -> None:
    pool = emulator.data.pool_named("sales-win11")
    async with connect(settings) as client:
        _, _, structured = await call(client, "drifted_desktops", pool=pool.name, kind=kind)
    expected = expected_drifted(emulator, pool, kind.upper())
    check_drifted(structured, expected)
    assert structured is not None and structured["desktops"]
    for row in structured["desktops"]:
        assert [d["kind"] for d in row["differences"]] == [kind.upper()]


async def test_drifted_desktops_are_capped_with_the_count_of_the_rest(
    settings: Settings, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    async with connect(settings) as client:
        _, _, structured = await call(client, "drifted_desktops", pool=pool.name, limit=5)
        _, _, consistent = await call(client, "drifted_desktops", pool="finance-win11")
    check_drifted(structured, expected_drifted(emulator, pool), limit=5)
    assert structured is not None and structured["total_count"] >= 12  # a lower bound: the largest kind
    assert (
        structured["hint"] == "Showing 5 of 12 drifted desktops; pass `kind` or raise `limit` (at most 100)."
    )
    assert consistent is not None and consistent["desktops"] == [] and consistent["total_count"] == 0
    assert consistent["more_available"] is False
    assert consistent["hint"] == "No desktop of this pool is listed as drifted."


async def test_more_available_comes_from_the_apis_total_not_from_a_full_page(
    settings: Settings, emulator: EmulatorServer
) -> None:
    """Exactly ``limit`` drifted desktops: a full page, and nothing more to list."""
    pool = emulator.data.pool_named("sales-win11")
    truth = expected_drifted(emulator, pool)
    count = len(truth["desktops"])
    async with connect(settings) as client:
        _, _, exact = await call(client, "drifted_desktops", pool=pool.name, limit=count)
        _, _, short = await call(client, "drifted_desktops", pool=pool.name, limit=count - 1)
    check_drifted(exact, truth, limit=count)
    assert exact is not None and exact["more_available"] is False and exact["total_count"] == count
    assert exact["hint"] is None
    assert short is not None and short["more_available"] is True
    assert short["hint"].startswith(f"Showing {count - 1} of {count} drifted desktops")


async def test_an_older_api_says_which_kinds_it_cannot_list(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy")
    pool = emulator.data.pool_named("callcenter-win10")  # data-disk count drift only
    async with connect(settings) as client:
        is_error, text, structured = await call(client, "drifted_desktops", pool=pool.name)
    assert not is_error, text
    assert structured is not None and structured["desktops"] == []
    assert "cannot list desktops drifted by DISK_NUM, DISK_SIZE" in structured["hint"]


async def test_a_pool_in_another_project_and_region(settings: Settings, emulator: EmulatorServer) -> None:
    emulator.data.generate(FleetSpec(pools=3, desktops_per_pool=6, projects=2, seed=11))
    other = emulator.data.projects[1]
    rows = [r for r in expected_pool_rows(emulator) if r["project_id"] == other.id and r["drifted_at_least"]]
    pool = emulator.data.pool(rows[0]["id"])
    assert pool is not None
    async with connect(settings) as client:
        _, _, elsewhere = await call(
            client, "drifted_desktops", pool=pool.name, project_id=other.id, region=other.region
        )
        is_error, text, _ = await call(client, "drifted_desktops", pool=pool.id)  # not in the home project
    check_drifted(elsewhere, expected_drifted(emulator, pool))
    assert is_error and "not found" in text


# -- refusals -------------------------------------------------------------------------------------

HOSTILE = ["../../etc", "a b", "x" * 65, "sales%00", "sa\nles", "ｓales", "sales;DROP", "${jndi:x}"]


@pytest.mark.parametrize(
    ("tool", "arguments", "argument"),
    [
        *[("scan_pool_drift", {"name": bad}, "name") for bad in [*HOSTILE, "", "  "]],
        *[("drifted_desktops", {"pool": bad}, "pool") for bad in [*HOSTILE, ""]],
        ("drifted_desktops", {"pool": "sales-win11", "kind": "images"}, "kind"),
        ("drifted_desktops", {"pool": "sales-win11", "kind": "IMAGE_ID;x"}, "kind"),
        ("drifted_desktops", {"pool": "sales-win11", "kind": 2}, "kind"),
        ("drifted_desktops", {"pool": "sales-win11", "limit": 0}, "limit"),
        ("drifted_desktops", {"pool": "sales-win11", "limit": 101}, "limit"),
        ("drifted_desktops", {"pool": "sales-win11", "region": "mars-1"}, "region"),
        ("scan_pool_drift", {"limit": 101}, "limit"),
        ("scan_pool_drift", {"limit": True}, "limit"),
        ("scan_pool_drift", {"all_projects": "yes"}, "all_projects"),
        ("scan_pool_drift", {"region": "../cn-north-4"}, "region"),
        ("scan_pool_drift", {"project_id": "DEC0DE00DEC0DE00DEC0DE00DEC0DE00"}, "project_id"),
        (
            "scan_pool_drift",
            {"project_id": "dec0de00dec0de00dec0de00dec0de00", "all_projects": True},
            "project_id",
        ),
    ],
)
async def test_hostile_arguments_are_refused_before_any_request(
    settings: Settings, emulator: EmulatorServer, tool: str, arguments: dict[str, Any], argument: str
) -> None:
    async with connect(settings) as client:
        emulator.requests.clear()
        is_error, text, structured = await call(client, tool, **arguments)
    assert is_error and structured is None
    assert f"Invalid argument `{argument}`" in text and "Nothing was sent to the API" in text
    assert len(emulator.requests) == 0
