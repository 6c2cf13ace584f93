"""The plan of a fix: against the emulator, its desktops and actions are the emulator's own
drift; on the vendor's answer shapes, what is left to a person and why (logged in, periodic,
ERROR, frozen, in maintenance, a task running, disks that would have to shrink), the batches
within the vendor's limits, the policy's bounds, the fingerprint and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.records import drift_of
from pooldrift.errors import InvalidInputError
from pooldrift.fix.plan import BATCH, Operation, build_plan, plan, validate_plan_id
from pooldrift.fix.policy import load_fix_policy
from pooldrift.kinds import InconsistentType as K
from pooldrift.payloads import DesktopPool, PoolDesktop

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
POOL: dict[str, Any] = {
    "id": "00000000-0000-4000-8000-0000000000f1",
    "name": "sales-win11",
    "product": {"product_id": "workspace.x86.ultimate.large2"},
    "image_id": "img-pool",
    "root_volume": {"type": "SAS", "size": 80},
    "data_volumes": [{"type": "SAS", "size": 100}, {"type": "SAS", "size": 50}],
}


def desktop(number: int, drift: list[str], **fields: Any) -> dict[str, Any]:
    """A desktop body as ListPoolDesktopsDetail answers it, in line unless ``fields`` say otherwise."""
    body: dict[str, Any] = {
        "desktop_id": f"00000000-0000-4000-9000-{number:012d}",
        "computer_name": f"SALES{number:03d}",
        "status": "ACTIVE",
        "product_id": POOL["product"]["product_id"],
        "metadata": {"metering.image_id": "img-pool", "charging_mode": "1"},
        "root_volume": {"id": f"sys-{number}", "type": "SAS", "size": 80},
        "data_volumes": [
            {"id": f"d1-{number}", "type": "SAS", "size": 100},
            {"id": f"d2-{number}", "type": "SAS", "size": 50},
        ],
        "login_status": "REGISTERED",
        "user_name": f"user{number}",
        "attach_user_infos": [{"user_name": f"user{number}", "type": "USER"}],
        "task_status": "",
        "inconsistent_types": drift,
    }
    body.update(fields)
    return body


def built(
    *bodies: dict[str, Any], pool: dict[str, Any] | None = None, only: list[K] | None = None, **policy: Any
) -> Any:
    return build_plan(
        DesktopPool.model_validate(pool or POOL),
        [PoolDesktop.model_validate(b) for b in bodies],
        kinds=only or list(K),
        policy=load_fix_policy(**policy),
        project_id="0" * 32,
        region="cn-north-4",
        now=NOW,
        plan_id="fp_00000000000000aa",
    )


async def test_a_plan_of_an_emulated_pool_is_its_drift_desktop_by_desktop(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    members = emulator.data.desktops_of(pool.id)
    drifted = {d.desktop_id: d for d in members if drift_of(d, pool)}
    found = await plan(client, "sales-win11", policy=load_fix_policy(max_desktops=1000), now=NOW)

    assert (found.pool_id, found.pool_name, found.region) == (pool.id, pool.name, "cn-north-4")
    assert found.project_id == emulator.project_id
    assert {p.desktop_id for p in found.desktops} == set(drifted)
    for planned in found.desktops:
        truth = drifted[planned.desktop_id]
        assert [k.value for k in planned.drift] == drift_of(truth, pool)
        assert planned.users == ([truth.user_name] if truth.user_name else [])
        left = {m.kind for m in planned.manual}
        fixed = {f.kind for f in planned.fixes}
        if truth.status == "ERROR":
            assert not fixed and [m.reason for m in planned.manual] == ["error_state"]
            continue
        assert fixed | left == set(planned.drift) and not fixed & left
        if truth.charge_mode == "period" and K.PRODUCT_ID in planned.drift:
            assert K.PRODUCT_ID in left, "a periodic desktop's package is a change order"
    assert found.totals.touched == sum(1 for p in found.desktops if p.fixes)
    assert found.totals.vendor_calls == len(found.calls) > 0
    assert found.expires_at == NOW + timedelta(minutes=30) and not found.expired(NOW)
    assert found.expired(NOW + timedelta(minutes=30))
    assert emulator.requests.count("/rebuild") == 0, "planning sends no write"


async def test_the_emulators_logged_in_busy_and_frozen_desktops_are_left_with_why(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    """Desktop states set in the emulator reach the plan through the API's own fields."""
    pool = emulator.data.pool_named("sales-win11")
    image = sorted(
        (
            d
            for d in emulator.data.desktops_of(pool.id)
            if drift_of(d, pool) == ["IMAGE_ID"] and d.status != "ERROR"
        ),
        key=lambda d: d.computer_name,
    )
    assert len(image) >= 2, "the demo pool has desktops drifted by image alone"
    on, busy = image[0], image[1]
    emulator.data.set_desktop(on.desktop_id, login_status="CONNECTED", user_name="li.wei")
    emulator.data.set_desktop(busy.desktop_id, task_status="rebuilding")
    found = await plan(client, pool.name, kinds=["image_id"], policy=load_fix_policy(max_desktops=1000))
    by_id = {p.desktop_id: p for p in found.desktops}
    assert by_id[on.desktop_id].logged_in and by_id[on.desktop_id].users == ["li.wei"]
    assert [m.reason for m in by_id[on.desktop_id].manual] == ["logged_in"]
    assert [m.reason for m in by_id[busy.desktop_id].manual] == ["task_running"]
    assert "rebuilding" in by_id[busy.desktop_id].manual[0].why
    rebuilt = {i for c in found.calls for i in c.desktop_ids}
    assert on.desktop_id not in rebuilt and busy.desktop_id not in rebuilt
    assert found.totals.logged_in_skipped == 1

    included = await plan(client, pool.id, kinds=["IMAGE_ID"], include_logged_in=True)
    told = [c for c in included.calls if c.operation is Operation.NOTIFY_DESKTOPS]
    assert [c.desktop_ids for c in told] == [[on.desktop_id]]
    assert included.totals.logged_in_touched == 1


def test_each_kind_gets_its_action_and_the_user_is_told_what_they_will_feel() -> None:
    image = desktop(1, ["IMAGE"], metadata={"metering.image_id": "img-old", "charging_mode": "1"})
    package = desktop(2, ["PRODUCT"], product_id="workspace.x86.ultimate.small")
    fewer = desktop(3, ["DISK_NUM", "DISK_SIZE"], data_volumes=[{"id": "d1-3", "type": "SAS", "size": 100}])
    smaller = desktop(
        4,
        ["DISK_SIZE"],
        root_volume={"id": "sys-4", "type": "SAS", "size": 60},
        data_volumes=[{"id": "d1-4", "type": "SAS", "size": 100}, {"id": "d2-4", "type": "SAS", "size": 40}],
    )
    found = built(image, package, fewer, smaller)
    by_name = {p.computer_name: p for p in found.desktops}
    assert [(f.kind, f.action) for f in by_name["SALES001"].fixes] == [(K.IMAGE_ID, "rebuild_system_disk")]
    assert by_name["SALES001"].fixes[0].detail == "rebuild the system disk onto the pool's image"
    assert by_name["SALES001"].disruption == ["system disk erased", "restarts"]
    assert [(f.kind, f.action) for f in by_name["SALES002"].fixes] == [(K.PRODUCT_ID, "resize")]
    assert by_name["SALES002"].disruption == ["restarts"]
    assert by_name["SALES002"].fixes[0].detail == "resize to package workspace.x86.ultimate.large2"
    assert by_name["SALES003"].disruption == ["disks grow (data kept)"]
    assert [(f.kind, f.action, f.detail) for f in by_name["SALES003"].fixes] == [
        (K.DISK_NUM, "add_data_disks", "add 1 data disk (50 GB)")
    ], "the added disk makes up the capacity: nothing to expand"
    alone = built(fewer, only=[K.DISK_SIZE]).desktops[0]
    assert not alone.fixes and [(m.kind, m.reason) for m in alone.manual] == [(K.DISK_SIZE, "disks_missing")]
    assert [(f.kind, f.detail) for f in by_name["SALES004"].fixes] == [
        (K.DISK_SIZE, "expand system disk 60 → 80 GB, data disk 2 40 → 50 GB")
    ]
    calls = {c.operation: c for c in found.calls}
    assert list(calls) == [
        Operation.REBUILD_POOL,
        Operation.RESIZE_DESKTOPS,
        Operation.ADD_VOLUMES,
        Operation.EXPAND_VOLUMES,
    ], "users are told nothing: nobody is logged in"
    rebuild = calls[Operation.REBUILD_POOL]
    assert rebuild.path == f"/v2/{'0' * 32}/desktop-pools/{POOL['id']}/rebuild"
    assert rebuild.body == {
        "image_id": "img-pool",
        "is_fix": True,
        "image_type": "gold",
        "delay_time": 5,
        "message": rebuild.body["message"],
    }
    assert calls[Operation.RESIZE_DESKTOPS].body == {
        "desktops": [{"desktop_id": package["desktop_id"]}],
        "product_id": "workspace.x86.ultimate.large2",
        "mode": "STOP_DESKTOP",
        "desktop_pool_id": POOL["id"],
    }
    assert calls[Operation.ADD_VOLUMES].body == {
        "desktop_volumes": [{"desktop_id": fewer["desktop_id"], "volumes": [{"type": "SAS", "size": 50}]}]
    }
    assert calls[Operation.EXPAND_VOLUMES].body == {
        "desktop_volumes_expansion": [
            {"desktop_id": smaller["desktop_id"], "volume_id": "sys-4", "new_size": 80},
            {"desktop_id": smaller["desktop_id"], "volume_id": "d2-4", "new_size": 50},
        ]
    }
    assert found.totals.model_dump() == {
        "drifted": 4, "touched": 4, "logged_in_touched": 0, "logged_in_skipped": 0,
        "manual": 0, "vendor_calls": 4,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "ERROR"}, "error_state"),
        ({"is_freeze": True}, "frozen"),
        ({"in_maintenance_mode": True}, "maintenance"),
        ({"task_status": "rebuilding"}, "task_running"),
        ({"login_status": "CONNECTED"}, "logged_in"),
    ],
)
def test_a_desktop_that_cannot_be_touched_now_is_listed_with_why_and_sent_nothing(
    fields: dict[str, Any], reason: str
) -> None:
    stuck = desktop(1, ["IMAGE"], metadata={"metering.image_id": "img-old"}, **fields)
    other = desktop(2, ["IMAGE"], metadata={"metering.image_id": "img-old"})
    found = built(stuck, other)
    (left,) = [p for p in found.desktops if p.desktop_id == stuck["desktop_id"]]
    assert not left.fixes and [m.reason for m in left.manual] == [reason] and left.manual[0].kind is None
    # the pool's own rebuild would take every desktop whose image differs: per desktop instead
    (call,) = found.calls
    assert call.operation is Operation.REBUILD_DESKTOPS and call.desktop_ids == [other["desktop_id"]]
    assert found.totals.manual == 1 and found.totals.touched == 1


def test_logged_in_users_are_told_first_when_the_policy_includes_them() -> None:
    on = desktop(1, ["PRODUCT"], product_id="small", login_status="CONNECTED")
    off = desktop(2, ["PRODUCT"], product_id="small", login_status="DISCONNECTED")
    skipped = built(on, off)
    assert skipped.totals.logged_in_skipped == 1 and skipped.totals.touched == 1
    included = built(on, off, include_logged_in=True, delay_minutes=10, message="Restarting at noon.")
    assert included.totals.logged_in_touched == 1 and included.totals.touched == 2
    first, resize = included.calls
    assert first.operation is Operation.NOTIFY_DESKTOPS and first.desktop_ids == [on["desktop_id"]]
    assert first.body == {"desktop_ids": [on["desktop_id"]], "notifications": "Restarting at noon."}
    assert resize.desktop_ids == [on["desktop_id"], off["desktop_id"]]
    assert included.fingerprint != skipped.fingerprint


def test_what_only_a_person_can_fix_is_manual_with_the_reason() -> None:
    periodic = desktop(1, ["PRODUCT"], product_id="small", order_id="CS2412010000")
    more = desktop(
        2,
        ["DISK_NUM", "DISK_SIZE"],
        data_volumes=[{"id": f"x{i}", "type": "SAS", "size": s} for i, s in enumerate((100, 50, 10))],
    )
    larger = desktop(3, ["DISK_SIZE"], root_volume={"id": "sys-3", "type": "SAS", "size": 120})
    found = built(periodic, more, larger, POOLDRIFT_FIX_KINDS="PRODUCT_ID,DISK_NUM,DISK_SIZE")
    reasons = {p.computer_name: [(m.kind, m.reason) for m in p.manual] for p in found.desktops}
    assert reasons == {
        "SALES001": [(K.PRODUCT_ID, "periodic_package")],
        "SALES002": [(K.DISK_NUM, "disks_never_shrink"), (K.DISK_SIZE, "disks_never_shrink")],
        "SALES003": [(K.DISK_SIZE, "disks_never_shrink")],
    }
    assert found.calls == [] and found.totals.touched == 0 and found.totals.manual == 3
    off = built(desktop(4, ["IMAGE"], metadata={"metering.image_id": "img-old"}), kinds="PRODUCT_ID")
    assert [(m.kind, m.reason) for m in off.desktops[0].manual] == [(K.IMAGE_ID, "kind_not_allowed")]
    assert "POOLDRIFT_FIX_KINDS" in off.desktops[0].manual[0].why and off.calls == []


def test_batches_stay_within_the_vendors_limit_and_the_policy_bounds_the_fix() -> None:
    many = [desktop(n, ["PRODUCT"], product_id="small") for n in range(1, 2 * BATCH + 6)]
    found = built(*many, max_desktops=1000)
    assert [len(c.desktop_ids) for c in found.calls] == [BATCH, BATCH, 5]
    assert [len(c.body["desktops"]) for c in found.calls] == [BATCH, BATCH, 5]
    assert found.refused is None
    bounded = built(*many)  # the default: 50
    assert bounded.refused is not None and "touch 205 desktops" in bounded.refused
    assert "allows 50 (POOLDRIFT_FIX_MAX_DESKTOPS)" in bounded.refused


def test_the_fingerprint_follows_the_actions_and_the_pool_only() -> None:
    a = desktop(1, ["IMAGE"], metadata={"metering.image_id": "img-old"})
    first, again = built(a), built(a)
    assert first.fingerprint == again.fingerprint
    moved = built(a, pool={**POOL, "image_id": "img-newer"})
    assert moved.fingerprint != first.fingerprint
    more = built(a, desktop(2, ["IMAGE"], metadata={"metering.image_id": "img-old"}))
    assert more.fingerprint != first.fingerprint


@pytest.mark.parametrize(
    "bad", ["", "fp_123", "fp_00000000000000zz", "../fp_0000000000000000", 7, None, "x" * 500]
)
def test_a_hostile_plan_id_is_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="not a plan id"):
        validate_plan_id(bad)
    assert validate_plan_id(" FP_00000000000000AA ") == "fp_00000000000000aa"


@pytest.mark.parametrize(
    ("pool", "kinds"), [("bad\nname", None), ("x" * 300, None), ("sales-win11", ["COLOUR"])]
)
async def test_hostile_pools_and_kinds_are_refused_before_any_request(
    client: WorkspaceClient, emulator: EmulatorServer, pool: str, kinds: list[str] | None
) -> None:
    with pytest.raises(InvalidInputError):
        await plan(client, pool, kinds=kinds)
    assert len(emulator.requests) == 0


def test_a_desktop_whose_disks_are_not_reported_gets_no_disks_added() -> None:
    """An answer without ``data_volumes`` is an unknown count (as the drill-down reads it), not
    zero disks to make up."""
    bare = desktop(1, ["DISK_NUM", "DISK_SIZE"])
    del bare["data_volumes"]
    found = built(bare)
    assert found.calls == []
    assert [(m.kind, m.reason) for m in found.desktops[0].manual] == [
        (K.DISK_NUM, "not_reported"), (K.DISK_SIZE, "not_reported"),
    ]  # fmt: skip
