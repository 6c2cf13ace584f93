"""Helpers of the write-side tests: send a signed write, follow its job, read a pool's counts."""

from __future__ import annotations

import time
from typing import Any

import httpx2


def post(raw: httpx2.Client, url: str, body: Any) -> tuple[int, dict[str, Any]]:
    """A signed write: its status and JSON answer."""
    response = raw.post(url, json=body)
    answer = response.json()
    assert isinstance(answer, dict), response.text
    return response.status_code, answer


def accepted(raw: httpx2.Client, url: str, body: Any) -> str:
    """A write that must be accepted: its job id."""
    status, answer = post(raw, url, body)
    assert status == 200, answer
    job_id = answer["job_id"]
    assert isinstance(job_id, str) and job_id
    return job_id


def follow(
    raw: httpx2.Client, project: str, job_id: str, timeout: float = 10.0
) -> tuple[dict[str, Any], list[str]]:
    """Poll ShowJob until the job ends: its last answer and the statuses seen, in order, once each."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        response = raw.get(f"{project}/workspace-jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in ("SUCCESS", "FAILED"):
            return job, seen
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        time.sleep(0.02)


def statics(raw: httpx2.Client, project: str, pool_id: str) -> dict[str, int]:
    response = raw.get(f"{project}/desktop-pools/{pool_id}/inconsistent-statics")
    assert response.status_code == 200, response.text
    counts = response.json()
    assert isinstance(counts, dict)
    return counts
