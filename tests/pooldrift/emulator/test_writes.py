"""The emulated writes: checked as the vendor checks them, accepted as jobs whose sub-jobs change the
desktops when they end, so the pool's drift counts drop; refused for desktops that cannot be touched."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import drift_of
from tests.pooldrift.emulator.writing import accepted, follow, post, statics

MESSAGE = "Your desktop restarts in 5 minutes for maintenance."


def _desktop_list(raw: httpx2.Client, project: str, pool_id: str) -> dict[str, dict[str, Any]]:
    response = raw.get(f"{project}/desktop-pools/{pool_id}/desktops", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {d["desktop_id"]: d for d in response.json()["pool_desktops"]}


def _nothing_applied(emulator: EmulatorServer) -> None:
    assert emulator.writes.count(applied=True) == 0
    assert len(emulator.jobs) == 0


# -- the image ----------------------------------------------------------------------------------


def test_a_pool_rebuild_with_is_fix_rebuilds_only_the_desktops_on_another_image(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    emulator = quick_jobs
    pool = emulator.data.pool_named("sales-win11")
    drifted = {d.desktop_id for d in emulator.data.drifted(pool.id, "IMAGE_ID")}
    before = statics(raw, project, pool.id)
    assert before["image_id"] == len(drifted) == 7
    body = {"image_id": pool.image_id, "is_fix": True, "delay_time": 5, "message": MESSAGE}
    job_id = accepted(raw, f"{project}/desktop-pools/{pool.id}/rebuild", body)

    busy = {i for i, d in _desktop_list(raw, project, pool.id).items() if d["task_status"]}
    assert busy == drifted
    job, _ = follow(raw, project, job_id)
    assert job["status"] == "SUCCESS" and job["job_type"] == "rebuildDesktopPool"
    assert job["sub_jobs_total"] == 7 and {s["entity"] for s in job["sub_jobs"]} == drifted
    assert {s["status"] for s in job["sub_jobs"]} == {"SUCCESS"}
    after = statics(raw, project, pool.id)
    assert after["image_id"] == 0
    assert {k: v for k, v in after.items() if k != "image_id"} == {
        k: v for k, v in before.items() if k != "image_id"
    }
    assert not any(d["task_status"] for d in _desktop_list(raw, project, pool.id).values())
    [write] = emulator.writes
    assert write.applied and write.job_id == job_id and write.status == 200 and write.body == body


def test_a_job_waits_runs_and_succeeds_in_that_order(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    emulator.jobs.update(seconds=1.0)
    pool = emulator.data.pool_named("design-gpu-win11")
    job_id = accepted(
        raw, f"{project}/desktop-pools/{pool.id}/rebuild", {"image_id": pool.image_id, "is_fix": True}
    )
    job, seen = follow(raw, project, job_id)
    assert seen == ["WAITING", "RUNNING", "SUCCESS"]
    assert job["begin_time"] and job["end_time"] >= job["begin_time"]
    assert all(s["process"] == 100 and s["end_time"] for s in job["sub_jobs"])


def test_a_pool_rebuild_to_a_new_image_moves_the_pool_and_then_its_desktops(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("lab-a")
    members = quick_jobs.data.desktops_of(pool.id)
    new_image = next(d.image_id for d in members if d.image_id != pool.image_id)
    job_id = accepted(raw, f"{project}/desktop-pools/{pool.id}/rebuild", {"image_id": new_image})
    assert pool.image_id == new_image
    assert statics(raw, project, pool.id)["image_id"] == len(members) - 1  # until their sub-jobs end
    job, _ = follow(raw, project, job_id)
    assert job["sub_jobs_total"] == len(members)
    assert statics(raw, project, pool.id)["image_id"] == 0


def test_batch_rebuild_moves_the_named_desktops_onto_the_image(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("design-gpu-win11")
    drifted = [d.desktop_id for d in quick_jobs.data.drifted(pool.id, "IMAGE_ID")]
    body = {"desktop_ids": drifted[:3], "image_id": pool.image_id, "image_type": "private", "delay_time": 0}
    job, _ = follow(raw, project, accepted(raw, f"{project}/desktops/rebuild", body))
    assert job["job_type"] == "rebuildDesktops" and job["sub_jobs_total"] == 3
    assert statics(raw, project, pool.id)["image_id"] == len(drifted) - 3


REBUILD_REFUSED = [
    ({"image_id": "x", "image_type": "gold"}, "desktop_ids is required"),
    ({"desktop_ids": [], "image_id": "x", "image_type": "gold"}, "1 to 100"),
    ({"desktop_ids": ["d"] * 101, "image_id": "x", "image_type": "gold"}, "1 to 100"),
    ({"desktop_ids": ["a", "A"], "image_id": "x", "image_type": "gold"}, "twice"),
    ({"desktop_ids": ["a"], "image_type": "gold"}, "image_id is required"),
    ({"desktop_ids": ["a"], "image_id": "x"}, "image_type is required"),
    ({"desktop_ids": ["a"], "image_id": "x", "image_type": "public"}, "gold, private, market"),
    ({"desktop_ids": ["a"], "image_id": "x", "image_type": "gold", "delay_time": 16}, "0 to 15"),
    ({"desktop_ids": ["a"], "image_id": "x", "image_type": "gold", "delay_time": "5"}, "0 to 15"),
    ({"desktop_ids": ["a"], "image_id": "x", "image_type": "gold", "message": "m" * 401}, "at most 400"),
    (
        {"desktop_ids": ["a"], "image_id": "x", "image_type": "gold", "handle_type": "ALL"},
        "FOR_EXPAND_AND_ALL",
    ),
    ({"desktop_ids": ["a"], "image_id": "x", "image_type": "gold", "encrypt_type": "ENCRYPTED"}, "kms_id"),
    ({"desktop_ids": ["a"], "image_id": "x", "image_type": "gold", "is_fix": True}, "is_fix"),
    ({"desktop_ids": ["no-such-desktop"], "image_id": "x", "image_type": "gold"}, "does not exist"),
    (["not", "an", "object"], "JSON object"),
]


@pytest.mark.parametrize(("body", "says"), REBUILD_REFUSED, ids=[s for _, s in REBUILD_REFUSED])
def test_batch_rebuild_refuses_what_the_vendor_refuses(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str, body: Any, says: str
) -> None:
    status, answer = post(raw, f"{project}/desktops/rebuild", body)
    assert (status, answer["error_code"]) == (400, "WKS.0001")
    assert says in answer["error_msg"]
    _nothing_applied(quick_jobs)
    assert quick_jobs.writes.count("/desktops/rebuild", applied=False) == 1


def test_a_pool_rebuild_refuses_an_unknown_pool_a_foreign_desktop_and_an_empty_list(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("lab-a")
    other = quick_jobs.data.desktops_of(quick_jobs.data.pool_named("LAB-A").id)[0]
    url = f"{project}/desktop-pools/{pool.id}/rebuild"
    for target, body, says in [
        (f"{project}/desktop-pools/no-such-pool/rebuild", {"image_id": pool.image_id}, "does not exist"),
        (url, {"is_fix": True}, "image_id is required"),
        (url, {"image_id": pool.image_id, "desktop_ids": [other.desktop_id]}, "is not in the desktop pool"),
        (url, {"image_id": pool.image_id, "desktop_ids": []}, "1 to 100"),
        (url, {"image_id": pool.image_id, "is_fix": "yes"}, "true or false"),
    ]:
        status, answer = post(raw, target, body)
        assert (status, answer["error_code"]) == (400, "WKS.0001"), body
        assert says in answer["error_msg"], body
    _nothing_applied(quick_jobs)


# -- desktops that cannot be touched -----------------------------------------------------------------


def test_a_desktop_being_operated_is_refused_until_its_job_ends(
    emulator: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    emulator.jobs.update(seconds=60)
    pool = emulator.data.pool_named("design-gpu-win11")
    desktop = emulator.data.drifted(pool.id, "IMAGE_ID")[0]
    body = {"desktop_ids": [desktop.desktop_id], "image_id": pool.image_id, "image_type": "gold"}
    accepted(raw, f"{project}/desktops/rebuild", body)
    status, answer = post(raw, f"{project}/desktops/rebuild", body)
    assert (status, answer["error_code"]) == (400, "WKS.0407")
    assert "rebuilding" in answer["error_msg"]
    status, answer = post(raw, f"{project}/volumes", {
        "desktop_volumes": [{"desktop_id": desktop.desktop_id, "volumes": [{"type": "SAS", "size": 10}]}]
    })  # fmt: skip
    assert (status, answer["error_code"]) == (400, "WKS.0407")
    assert emulator.writes.count(applied=True) == 1 and len(emulator.writes) == 3


def test_a_frozen_desktop_or_one_running_a_task_is_refused(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("design-gpu-win11")
    frozen, busy = quick_jobs.data.drifted(pool.id, "IMAGE_ID")[:2]
    quick_jobs.data.set_desktop(frozen.desktop_id, is_freeze=True)
    quick_jobs.data.set_desktop(busy.desktop_id, task_status="powering-on")
    for desktop, code, says in [(frozen, "WKS.0001", "frozen"), (busy, "WKS.0407", "powering-on")]:
        body = {"desktop_ids": [desktop.desktop_id], "image_id": pool.image_id, "image_type": "gold"}
        status, answer = post(raw, f"{project}/desktops/rebuild", body)
        assert (status, answer["error_code"]) == (400, code)
        assert says in answer["error_msg"]
    status, answer = post(
        raw, f"{project}/desktop-pools/{pool.id}/rebuild", {"image_id": pool.image_id, "is_fix": True}
    )
    assert (status, answer["error_code"]) == (400, "WKS.0001")
    _nothing_applied(quick_jobs)
    assert busy.task_status == "powering-on" and frozen.image_id != pool.image_id


# -- the package ------------------------------------------------------------------------------------


def test_resize_moves_on_demand_desktops_to_the_package_and_refuses_periodic_ones(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("hr-win10")
    drifted = quick_jobs.data.drifted(pool.id, "PRODUCT_ID")
    periodic = [d for d in drifted if d.charge_mode == "period"]
    on_demand = [d for d in drifted if d.charge_mode != "period"]
    assert periodic and on_demand
    url = f"{project}/desktops/resize"
    status, answer = post(raw, url, {
        "desktops": [{"desktop_id": d.desktop_id} for d in drifted], "product_id": pool.product_id,
        "mode": "STOP_DESKTOP",
    })  # fmt: skip
    assert (status, answer["error_code"]) == (400, "WKS.0001") and "change order" in answer["error_msg"]
    _nothing_applied(quick_jobs)

    body = {
        "desktops": [{"desktop_id": d.desktop_id} for d in on_demand],
        "product_id": pool.product_id,
        "mode": "STOP_DESKTOP",
        "desktop_pool_id": pool.id,
    }
    status, answer = post(raw, url, body)
    assert status == 200, answer
    assert answer["jobs"] == [{"desktop_id": d.desktop_id, "job_id": answer["job_id"]} for d in on_demand]
    assert {_desktop_list(raw, project, pool.id)[d.desktop_id]["task_status"] for d in on_demand} == {
        "resize_prep"
    }
    job, _ = follow(raw, project, answer["job_id"])
    assert job["status"] == "SUCCESS" and job["job_type"] == "resizeDesktops"
    assert statics(raw, project, pool.id)["product_id"] == len(periodic)


RESIZE_REFUSED = [
    ({"product_id": "p", "mode": "STOP_DESKTOP"}, "desktops is required"),
    ({"desktops": [], "product_id": "p", "mode": "STOP_DESKTOP"}, "1 to 100"),
    ({"desktops": [{"desktop_id": "a"}] * 101, "product_id": "p", "mode": "STOP_DESKTOP"}, "1 to 100"),
    ({"desktops": ["a"], "product_id": "p", "mode": "STOP_DESKTOP"}, "JSON object"),
    ({"desktops": [{"id": "a"}], "product_id": "p", "mode": "STOP_DESKTOP"}, "does not have: id"),
    ({"desktops": [{"desktop_id": "a"}], "mode": "STOP_DESKTOP"}, "product_id is required"),
    ({"desktops": [{"desktop_id": "a"}], "product_id": "p"}, "mode is required"),
    ({"desktops": [{"desktop_id": "a"}], "product_id": "p", "mode": "FORCE"}, "STOP_DESKTOP"),
    (
        {
            "desktops": [{"desktop_id": "a"}],
            "product_id": "p",
            "mode": "STOP_DESKTOP",
            "auto_placement": "yes",
        },
        "on, off",
    ),
    ({"desktops": [{"desktop_id": "a"}], "product_id": "p", "mode": "STOP_DESKTOP"}, "does not exist"),
]


@pytest.mark.parametrize(("body", "says"), RESIZE_REFUSED, ids=[s for _, s in RESIZE_REFUSED])
def test_resize_refuses_what_the_vendor_refuses(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str, body: Any, says: str
) -> None:
    status, answer = post(raw, f"{project}/desktops/resize", body)
    assert (status, answer["error_code"]) == (400, "WKS.0001")
    assert says in answer["error_msg"]
    _nothing_applied(quick_jobs)


# -- the data disks ---------------------------------------------------------------------------------


def _disk_pool(emulator: EmulatorServer) -> tuple[str, list[Any]]:
    pool = emulator.data.create_pool("disk-lab", 4, data_sizes=[100, 100])
    members = emulator.data.desktops_of(pool.id)
    members[0].data_sizes = [100]  # a disk short: count and size drift
    members[1].data_sizes = [100, 50]  # a disk too small: size drift
    return pool.id, members


def test_adding_the_missing_disk_ends_count_and_size_drift(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool_id, members = _disk_pool(quick_jobs)
    assert statics(raw, project, pool_id) == {"product_id": 0, "image_id": 0, "disk_num": 1, "disk_size": 2}
    body = {
        "desktop_volumes": [{"desktop_id": members[0].desktop_id, "volumes": [{"type": "SAS", "size": 100}]}]
    }
    job, _ = follow(raw, project, accepted(raw, f"{project}/volumes", body))
    assert job["status"] == "SUCCESS" and job["job_type"] == "addVolumes"
    assert members[0].data_sizes == [100, 100]
    assert statics(raw, project, pool_id) == {"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 1}


def test_expanding_the_small_disk_ends_size_drift_and_a_disk_never_shrinks(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool_id, members = _disk_pool(quick_jobs)
    small = _desktop_list(raw, project, pool_id)[members[1].desktop_id]["data_volumes"][1]
    assert small["size"] == 50
    url = f"{project}/volumes/expand"
    entry = {"desktop_id": members[1].desktop_id, "volume_id": small["id"]}
    for new_size, says in [
        (40, "never shrink"),
        (50, "never shrink"),
        (55, "multiple of 10"),
        (32770, "32760"),
    ]:
        status, answer = post(raw, url, {"desktop_volumes_expansion": [{**entry, "new_size": new_size}]})
        assert (status, answer["error_code"]) == (400, "WKS.0001"), new_size
        assert says in answer["error_msg"], new_size
    other = {**entry, "volume_id": members[2].volume_id(1), "new_size": 100}
    status, answer = post(raw, url, {"desktop_volumes_expansion": [other]})
    assert status == 400 and "not a disk of the desktop" in answer["error_msg"]
    _nothing_applied(quick_jobs)

    job, _ = follow(
        raw, project, accepted(raw, url, {"desktop_volumes_expansion": [{**entry, "new_size": 100}]})
    )
    assert job["status"] == "SUCCESS" and job["job_type"] == "expandVolumes" and job["sub_jobs_total"] == 1
    assert members[1].data_sizes == [100, 100]
    assert statics(raw, project, pool_id)["disk_size"] == 1  # the desktop a disk short


ADD_REFUSED = [
    ({}, "desktop_volumes is required"),
    ({"desktop_volumes": [{"desktop_id": "a"}]}, "volumes is required"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"size": 10}]}]}, "type is required"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"type": "HDD", "size": 10}]}]}, "SAS, SSD, GPSSD"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"type": "SAS"}]}]}, "10 to 32760"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"type": "SAS", "size": 5}]}]}, "10 to 32760"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"type": "SAS", "size": 32770}]}]}, "10 to 32760"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"type": "SAS", "size": 15}]}]}, "multiple of 10"),
    ({"desktop_volumes": [{"desktop_id": "a", "volumes": [{"type": "SAS", "size": 10}] * 11}]}, "1 to 10"),
    ({"desktop_volumes": [{"volumes": [{"type": "SAS", "size": 10}]}]}, "desktop_id is required"),
]


@pytest.mark.parametrize(("body", "says"), ADD_REFUSED, ids=[s for _, s in ADD_REFUSED])
def test_adding_disks_refuses_what_the_vendor_refuses(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str, body: Any, says: str
) -> None:
    status, answer = post(raw, f"{project}/volumes", body)
    assert (status, answer["error_code"]) == (400, "WKS.0001")
    assert says in answer["error_msg"]
    _nothing_applied(quick_jobs)


def test_a_desktop_holds_at_most_ten_data_disks(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    _, members = _disk_pool(quick_jobs)
    members[3].data_sizes = [10] * 9
    body = {
        "desktop_volumes": [
            {"desktop_id": members[3].desktop_id, "volumes": [{"type": "SSD", "size": 10}] * 2}
        ]
    }
    status, answer = post(raw, f"{project}/volumes", body)
    assert status == 400 and "at most 10" in answer["error_msg"]
    _nothing_applied(quick_jobs)
    body["desktop_volumes"][0]["volumes"] = [{"type": "SSD", "size": 10}]
    follow(raw, project, accepted(raw, f"{project}/volumes", body))
    assert len(members[3].data_sizes) == 10


# -- telling users ------------------------------------------------------------------------------------


def test_notifications_are_jobs_that_change_no_desktop(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("sales-win11")
    members = quick_jobs.data.desktops_of(pool.id)
    before = statics(raw, project, pool.id)
    job, _ = follow(
        raw,
        project,
        accepted(raw, f"{project}/desktop-pools/{pool.id}/notifications", {"notifications": MESSAGE}),
    )
    assert job["status"] == "SUCCESS" and job["sub_jobs_total"] == len(members)
    some = [d.desktop_id for d in members[:3]]
    job, _ = follow(
        raw,
        project,
        accepted(raw, f"{project}/desktops/notifications", {"desktop_ids": some, "notifications": MESSAGE}),
    )
    assert sorted(s["entity"] for s in job["sub_jobs"]) == sorted(some)
    assert statics(raw, project, pool.id) == before
    for target, body, says in [
        (f"{project}/desktops/notifications", {"desktop_ids": some}, "notifications is required"),
        (f"{project}/desktops/notifications", {"notifications": MESSAGE}, "desktop_ids is required"),
        (f"{project}/desktop-pools/{pool.id}/notifications", {}, "notifications is required"),
        (f"{project}/desktop-pools/{pool.id}/notifications", {"notifications": ""}, "non-empty"),
    ]:
        status, answer = post(raw, target, body)
        assert (status, answer["error_code"]) == (400, "WKS.0001"), body
        assert says in answer["error_msg"], body
    assert quick_jobs.writes.count(applied=True) == 2 and len(quick_jobs.writes) == 6


# -- following jobs -------------------------------------------------------------------------------------


def test_sub_jobs_list_filters_and_pages(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("sales-win11")
    fix = accepted(
        raw, f"{project}/desktop-pools/{pool.id}/rebuild", {"image_id": pool.image_id, "is_fix": True}
    )
    note = accepted(raw, f"{project}/desktop-pools/{pool.id}/notifications", {"notifications": MESSAGE})
    follow(raw, project, fix)
    follow(raw, project, note)
    url = f"{project}/workspace-sub-jobs"
    everything = raw.get(url).json()
    assert everything["total_count"] == 7 + len(quick_jobs.data.desktops_of(pool.id))
    mine = raw.get(url, params={"job_id": fix, "status": "SUCCESS", "limit": 5, "offset": 5}).json()
    assert mine["total_count"] == 7 and len(mine["jobs"]) == 2
    assert {j["job_id"] for j in mine["jobs"]} == {fix}
    assert raw.get(url, params={"job_type": "rebuildDesktopPool"}).json()["total_count"] == 7
    assert (
        raw.get(url, params={"desktop_pool_id": pool.id}).json()["total_count"] == everything["total_count"]
    )
    assert raw.get(url, params={"status": "FAILED"}).json() == {"total_count": 0, "jobs": []}
    for params in ({"limit": 1001}, {"offset": -1}, {"status": "DONE"}):
        response = raw.get(url, params=params)
        assert response.status_code == 400 and response.json()["error_code"] == "WKS.0001", params


def test_an_unknown_job_is_refused(quick_jobs: EmulatorServer, raw: httpx2.Client, project: str) -> None:
    response = raw.get(f"{project}/workspace-jobs/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 400 and response.json()["error_code"] == "WKS.0001"


def test_a_fix_through_the_writes_leaves_the_pool_in_line(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    """Image, package and disk drift of one pool, each fixed by its write: every count drops to 0."""
    data = quick_jobs.data
    pool = data.create_pool("fix-all", 6, data_sizes=[100])
    members = data.desktops_of(pool.id)
    members[0].image_id = "0e2a9d41-7c55-4b8e-a3f2-91d0c4b7e612"
    members[1].product_id = "workspace.x86.general.xlarge2"
    members[2].data_sizes = []
    members[2].root_size = pool.root_size
    members[3].data_sizes = [60]
    assert statics(raw, project, pool.id) == {"product_id": 1, "image_id": 1, "disk_num": 1, "disk_size": 2}
    resize = {"desktops": [{"desktop_id": members[1].desktop_id}], "product_id": pool.product_id}
    add = {"desktop_id": members[2].desktop_id, "volumes": [{"type": "SAS", "size": 100}]}
    grow = {"desktop_id": members[3].desktop_id, "volume_id": members[3].volume_id(1), "new_size": 100}
    jobs = [
        accepted(
            raw, f"{project}/desktop-pools/{pool.id}/rebuild", {"image_id": pool.image_id, "is_fix": True}
        ),
        accepted(raw, f"{project}/desktops/resize", {**resize, "mode": "STOP_DESKTOP"}),
        accepted(raw, f"{project}/volumes", {"desktop_volumes": [add]}),
        accepted(raw, f"{project}/volumes/expand", {"desktop_volumes_expansion": [grow]}),
    ]
    for job_id in jobs:
        assert follow(raw, project, job_id)[0]["status"] == "SUCCESS"
    assert statics(raw, project, pool.id) == {"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 0}
    assert not any(drift_of(d, pool) for d in members)
