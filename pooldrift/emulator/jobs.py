"""The vendor's asynchronous jobs: every accepted write is a job with one sub-job per desktop, which
waits, runs and ends over ``seconds``, and only then changes its desktop.

A job advances when anything asks (every API request, or ``Jobs.advance()`` in-process), never on a
thread of its own: what a test sees follows the clock, and nothing runs between two of its calls.
While a sub-job has not ended its desktop shows the operation as ``task_status``; when it succeeds the
desktop really changes (its image, package or disks), so the next ``inconsistent-statics`` drops.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .data import Desktop, EmulatorData, Pool

__all__ = ["FAILED", "RUNNING", "STATUSES", "SUCCESS", "WAITING", "Job", "Jobs", "SubJob"]

#: The sub-job statuses the vendor documents; the main job's terminal ones are SUCCESS and FAILED.
WAITING, RUNNING, SUCCESS, FAILED = "WAITING", "RUNNING", "SUCCESS", "FAILED"
STATUSES = (WAITING, RUNNING, SUCCESS, FAILED)
#: A job waits this share of its time before it runs.
WAITING_SHARE = 0.25
#: The error code of a sub-job that failed (the vendor's codes per failure are not documented).
SUB_JOB_ERROR = "WKS.0500"
#: Jobs kept (the oldest ended ones are let go first), like the request log's bound.
DEFAULT_LIMIT = 10_000

#: What a succeeded sub-job does to its desktop.
Change = Callable[[Desktop], None]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SubJob:
    """One desktop's part of a job."""

    id: str
    job: Job
    pool: Pool
    desktop: Desktop
    change: Change | None
    #: Decided when the job is accepted (a fault): why it will fail, "" when it will succeed.
    will_fail: str = ""
    status: str = WAITING
    end_time: str = ""
    error_code: str = ""
    fail_reason: str = ""

    @property
    def ended(self) -> bool:
        return self.status in (SUCCESS, FAILED)

    def to_api(self, progress: int) -> dict[str, Any]:
        """``JobDetailInfo``."""
        d = self.desktop
        return {
            "id": self.id,
            "job_id": self.job.id,
            "job_type": self.job.job_type,
            "entity": d.desktop_id,
            "entities": {
                "desktop_id": d.desktop_id,
                "product_id": d.product_id,
                "user_name": d.user_name or "",
                "desktop_name": d.computer_name,
                "ip_address": d.ip,
            },
            "status": self.status,
            "error_code": self.error_code,
            "fail_reason": self.fail_reason,
            "begin_time": self.job.begin_time,
            "end_time": self.end_time,
            "process": 100 if self.ended else progress,
            "attach_user": d.user_name or "",
            "host": "",
            "ip_address": d.ip,
            "project_id": self.job.project_id,
        }


@dataclass
class Job:
    """An accepted write: its type, the operation its desktops show while it runs, and its sub-jobs."""

    id: str
    job_type: str
    project_id: str
    pool_id: str | None
    #: The desktops' ``task_status`` while it runs ("": it shows none, as a notification).
    task: str
    started: float
    begin_time: str
    sub_jobs: list[SubJob] = field(default_factory=list)
    #: A fault: its sub-jobs run and never end.
    endless: bool = False
    end_time: str = ""
    #: WAITING or RUNNING for a job without sub-jobs (it follows the clock alone).
    phase: str = WAITING

    @property
    def status(self) -> str:
        """WAITING until a sub-job runs, RUNNING until all ended, then SUCCESS, or FAILED if any failed."""
        if not self.sub_jobs:
            return self.phase
        states = {s.status for s in self.sub_jobs}
        if states <= {SUCCESS, FAILED}:
            return FAILED if FAILED in states else SUCCESS
        return WAITING if states == {WAITING} else RUNNING

    def to_api(self, progress: int) -> dict[str, Any]:
        """``ShowJobResponse``: a failed job names how many desktops failed, and the first one's code."""
        failed = [s for s in self.sub_jobs if s.status == FAILED]
        status = self.status
        return {
            "id": self.id,
            "job_type": self.job_type,
            "begin_time": self.begin_time,
            "end_time": self.end_time,
            "status": status,
            "job_error_code": failed[0].error_code if failed and status == FAILED else "",
            "fail_reason": (
                f"{len(failed)} of {len(self.sub_jobs)} desktops failed: {failed[0].fail_reason}"
                if failed and status == FAILED
                else ""
            ),
            "sub_jobs_total": len(self.sub_jobs),
            "sub_jobs": [s.to_api(progress) for s in self.sub_jobs],
        }


class Jobs:
    """The jobs of one emulator. ``seconds``: how long a job takes (a run-time switch; ``reset()``
    restores the configured one). Every method takes the data set's lock."""

    def __init__(
        self,
        data: EmulatorData,
        seconds: float = 2.0,
        *,
        wall: Callable[[], datetime] | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        if seconds < 0:
            raise ValueError("a job takes at least 0 seconds")
        self.data = data
        self.configured_seconds = seconds
        self.seconds = seconds
        self.limit = limit
        self._wall = wall or (lambda: datetime.now(UTC))
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._active: list[Job] = []

    def reset(self) -> None:
        """No jobs (the desktops they held are the data set's to restore), the configured time."""
        with self.data.lock:
            self._jobs.clear()
            self._active.clear()
            self.seconds = self.configured_seconds

    def update(self, **values: Any) -> None:
        """Run-time settings: ``seconds``."""
        unknown = sorted(set(values) - {"seconds"})
        if unknown:
            raise ValueError(f"unknown job settings: {', '.join(unknown)}")
        if "seconds" in values:
            seconds = float(values["seconds"])
            if not 0 <= seconds <= 3600:
                raise ValueError("seconds must be from 0 to 3600")
            self.seconds = seconds

    def submit(
        self,
        *,
        project_id: str,
        job_type: str,
        task: str,
        targets: Sequence[tuple[Pool, Desktop, Change | None]],
        failures: dict[str, str] | None = None,
        pool_id: str | None = None,
    ) -> Job:
        """Accept a job on ``targets`` (each desktop with what its success changes); ``failures``:
        desktop id → the reason its sub-job will fail. Its desktops show ``task`` from now on."""
        failures = failures or {}
        with self.data.lock:
            job = Job(
                id=str(uuid.uuid4()),
                job_type=job_type,
                project_id=project_id,
                pool_id=pool_id,
                task=task,
                started=time.monotonic(),
                begin_time=_stamp(self._wall()),
            )
            for pool, desktop, change in targets:
                job.sub_jobs.append(
                    SubJob(
                        str(uuid.uuid4()), job, pool, desktop, change, failures.get(desktop.desktop_id, "")
                    )
                )
                if task:
                    desktop.task_status = task
            self._jobs[job.id] = job
            self._active.append(job)
            self._trim()
            self._advance(job, time.monotonic())
            return job

    def make_endless(self, job_id: str) -> None:
        """A fault: the job runs and never ends (its desktops stay busy)."""
        with self.data.lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.endless = True

    def advance(self) -> None:
        """Bring every unended job to where the clock says: its ended sub-jobs change their desktops."""
        if not self._active:  # every request asks: without a running job, not even the lock
            return
        with self.data.lock:
            if not self._active:
                return
            now = time.monotonic()
            for job in list(self._active):
                self._advance(job, now)
            self._active = [job for job in self._active if not job.end_time]

    def settle(self, timeout: float = 10.0) -> bool:
        """Advance until every job has ended (False: some still run after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            self.advance()
            with self.data.lock:
                if not self._active or all(job.endless for job in self._active):
                    return not self._active
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.02, max(0.001, self.seconds / 10)))

    def job(self, job_id: str, project_id: str | None = None) -> Job | None:
        with self.data.lock:
            job = self._jobs.get(job_id.lower())
            if job is None or (project_id is not None and job.project_id != project_id):
                return None
            return job

    def progress(self, job: Job) -> int:
        """How far along a running job is (0–99)."""
        if self.seconds <= 0:
            return 99
        return min(99, int(100 * (time.monotonic() - job.started) / self.seconds))

    def sub_jobs(
        self,
        project_id: str,
        *,
        job_id: str | None = None,
        status: str | None = None,
        job_type: str | None = None,
        pool_id: str | None = None,
    ) -> list[SubJob]:
        """The project's sub-jobs, oldest job first, filtered as ``ListItaSubJobs`` does."""
        with self.data.lock:
            return [
                sub
                for job in self._jobs.values()
                if job.project_id == project_id
                and (job_id is None or job.id == job_id.lower())
                and (job_type is None or job.job_type == job_type)
                and (pool_id is None or sub_pool(job, pool_id))
                for sub in job.sub_jobs
                if (status is None or sub.status == status)
                and (pool_id is None or sub.pool.id == pool_id.lower())
            ]

    def __len__(self) -> int:
        with self.data.lock:
            return len(self._jobs)

    def to_dict(self) -> dict[str, Any]:
        with self.data.lock:
            counts: dict[str, int] = {}
            for job in self._jobs.values():
                counts[job.status] = counts.get(job.status, 0) + 1
            return {"seconds": self.seconds, "jobs": len(self._jobs), "by_status": counts}

    # -- inside the lock ------------------------------------------------------------------

    def _advance(self, job: Job, now: float) -> None:
        elapsed = now - job.started
        if job.end_time or elapsed < self.seconds * WAITING_SHARE:
            return
        running = job.endless or elapsed < self.seconds
        job.phase = RUNNING
        for sub in job.sub_jobs:
            if sub.ended:
                continue
            if running:
                sub.status = RUNNING
                continue
            self._end(sub)
        if not running:
            job.end_time = _stamp(self._wall())
            job.phase = SUCCESS

    def _end(self, sub: SubJob) -> None:
        desktop = sub.desktop
        if sub.will_fail:
            sub.status, sub.error_code, sub.fail_reason = FAILED, SUB_JOB_ERROR, sub.will_fail
        else:
            if sub.change is not None:
                sub.change(desktop)
            sub.status = SUCCESS
        sub.end_time = _stamp(self._wall())
        if sub.job.task and desktop.task_status == sub.job.task:
            desktop.task_status = ""

    def _trim(self) -> None:
        while len(self._jobs) > self.limit:
            oldest = next((key for key, job in self._jobs.items() if job.end_time), None)
            if oldest is None:
                return
            del self._jobs[oldest]


def sub_pool(job: Job, pool_id: str) -> bool:
    """Whether the job touches the pool (its own pool, or a desktop of it)."""
    key = pool_id.lower()
    return job.pool_id == key or any(sub.pool.id == key for sub in job.sub_jobs)
