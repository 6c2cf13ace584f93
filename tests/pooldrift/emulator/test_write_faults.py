"""Faults of the write side: sub-jobs that fail with a reason, writes applied and then answered 500 or
too late, writes refused with 429 before they are processed, jobs that never end; and the write record
that says which were applied."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from pooldrift.emulator import EmulatorServer
from tests.pooldrift.emulator.writing import accepted, follow, post, statics


def _fix_image(
    emulator: EmulatorServer, project: str, pool_name: str = "design-gpu-win11"
) -> tuple[str, dict[str, Any]]:
    pool = emulator.data.pool_named(pool_name)
    return f"{project}/desktop-pools/{pool.id}/rebuild", {"image_id": pool.image_id, "is_fix": True}


def test_named_sub_jobs_fail_with_their_reason_and_leave_their_desktops_as_they_were(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    pool = quick_jobs.data.pool_named("design-gpu-win11")
    failing = quick_jobs.data.drifted(pool.id, "IMAGE_ID")[0]
    quick_jobs.faults.update(
        sub_job_fail_desktops=[failing.desktop_id.upper()], sub_job_fail_reason="disk busy"
    )
    job, _ = follow(raw, project, accepted(raw, *_fix_image(quick_jobs, project)))
    assert job["status"] == "FAILED"
    assert job["fail_reason"] == "1 of 5 desktops failed: disk busy" and job["job_error_code"]
    [failed] = [s for s in job["sub_jobs"] if s["status"] == "FAILED"]
    assert (failed["entity"], failed["fail_reason"]) == (failing.desktop_id, "disk busy")
    assert failed["error_code"] and {s["status"] for s in job["sub_jobs"]} == {"SUCCESS", "FAILED"}
    assert statics(raw, project, pool.id)["image_id"] == 1
    assert failing.image_id != pool.image_id and failing.task_status == ""
    listed = raw.get(f"{project}/workspace-sub-jobs", params={"status": "FAILED"}).json()
    assert [j["entity"] for j in listed["jobs"]] == [failing.desktop_id]


def test_a_share_of_sub_jobs_fails(quick_jobs: EmulatorServer, raw: httpx2.Client, project: str) -> None:
    quick_jobs.faults.update(sub_job_fail_rate=1.0)
    pool = quick_jobs.data.pool_named("design-gpu-win11")
    job, _ = follow(raw, project, accepted(raw, *_fix_image(quick_jobs, project)))
    assert job["status"] == "FAILED" and {s["status"] for s in job["sub_jobs"]} == {"FAILED"}
    assert statics(raw, project, pool.id)["image_id"] == 5


def test_a_write_applied_then_answered_500_is_recorded_as_applied(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    quick_jobs.faults.update(write_fail_next=["error_after_apply"])
    url, body = _fix_image(quick_jobs, project)
    status, answer = post(raw, url, body)
    assert status == 500 and answer["error_code"] == "APIGW.0103" and "job_id" not in answer
    [write] = quick_jobs.writes
    assert (write.applied, write.status, write.fault) == (True, 500, "error_after_apply")
    assert write.job_id is not None
    job, _ = follow(raw, project, write.job_id)
    assert job["status"] == "SUCCESS"
    assert statics(raw, project, quick_jobs.data.pool_named("design-gpu-win11").id)["image_id"] == 0


def test_a_write_answered_after_the_client_gave_up_was_applied(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    quick_jobs.faults.update(write_fail_next=["timeout_after_apply"], write_delay=1.0)
    url, body = _fix_image(quick_jobs, project)
    with pytest.raises(httpx2.TimeoutException):
        raw.post(url, json=body, timeout=0.3)
    [write] = quick_jobs.writes
    assert write.applied and write.fault == "timeout_after_apply" and write.job_id is not None
    job, _ = follow(raw, project, write.job_id)
    assert job["status"] == "SUCCESS"
    assert statics(raw, project, quick_jobs.data.pool_named("design-gpu-win11").id)["image_id"] == 0


def test_a_429_on_a_write_comes_before_it_is_processed(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    quick_jobs.faults.update(write_fail_next=["rate_limit"], retry_after=2)
    url, body = _fix_image(quick_jobs, project)
    response = raw.post(url, json=body)
    assert response.status_code == 429 and response.json()["error_code"] == "APIGW.0308"
    assert response.headers["Retry-After"] == "2"
    pool = quick_jobs.data.pool_named("design-gpu-win11")
    assert len(quick_jobs.jobs) == 0 and not any(d.task_status for d in quick_jobs.data.desktops_of(pool.id))
    job, _ = follow(raw, project, accepted(raw, url, body))  # sent again: applied once
    assert job["status"] == "SUCCESS"
    assert [(w.applied, w.status, w.fault) for w in quick_jobs.writes] == [
        (False, 429, "rate_limit"),
        (True, 200, None),
    ]


def test_an_endless_job_keeps_running_after_a_later_job_ended(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    quick_jobs.faults.update(write_fail_next=["endless_job"])
    endless = accepted(raw, *_fix_image(quick_jobs, project))
    later, _ = follow(raw, project, accepted(raw, *_fix_image(quick_jobs, project, "lab-a")))
    assert later["status"] == "SUCCESS"
    job = raw.get(f"{project}/workspace-jobs/{endless}").json()
    assert job["status"] == "RUNNING" and {s["status"] for s in job["sub_jobs"]} == {"RUNNING"}
    pool = quick_jobs.data.pool_named("design-gpu-win11")
    assert sum(1 for d in quick_jobs.data.desktops_of(pool.id) if d.task_status == "rebuilding") == 5
    assert quick_jobs.jobs.settle(timeout=0.5) is False


def test_a_generic_fault_before_the_write_leaves_it_unapplied(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    quick_jobs.faults.fail_next_n("503")
    status, _ = post(raw, *_fix_image(quick_jobs, project))
    assert status == 503
    [write] = quick_jobs.writes
    assert (write.applied, write.status, write.fault, write.job_id) == (False, 503, "error", None)


def test_write_faults_and_the_write_record_through_the_control_api(
    quick_jobs: EmulatorServer, raw: httpx2.Client, project: str
) -> None:
    bad = raw.post("/_emulator/faults", json={"write_fail_next": ["explode"]})
    assert bad.status_code == 400 and "error_after_apply" in bad.json()["error_msg"]
    assert raw.post("/_emulator/faults", json={"sub_job_fail_rate": 2}).status_code == 400
    settings = raw.post("/_emulator/faults", json={"write_fail_next": "rate_limit", "write_delay": 5}).json()
    assert settings["write_fail_next"] == ["rate_limit"] and settings["write_delay"] == 5
    url, body = _fix_image(quick_jobs, project)
    assert raw.post(url, json=body).status_code == 429
    accepted(raw, url, body)
    record = raw.get("/_emulator/writes").json()
    assert (record["total"], record["applied"]) == (2, 1)
    assert [w["body"] for w in record["writes"]] == [body, body]
    assert [w["applied"] for w in record["writes"]] == [False, True]
    assert raw.delete("/_emulator/writes").json()["total"] == 0
    jobs = raw.post("/_emulator/jobs", json={"seconds": 0.5}).json()
    assert jobs["seconds"] == 0.5 and jobs["jobs"] == 1
    assert raw.post("/_emulator/jobs", json={"minutes": 1}).status_code == 400
