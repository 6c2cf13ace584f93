"""What the fix engine records in the watch's store, durably: each plan, each write's step (the
exactly-once record: *submitting* before the write, its ``job_id`` after) and an append-only
audit of every event. Plain models both stores write as JSON; pure.

A step's life: ``submitting`` (claimed; the write may be under way), then ``submitted`` (the
vendor answered a ``job_id``), ``refused`` (the vendor certainly did not take it: a 4xx, a
refused connection) or ``unknown`` (it may have arrived: a timeout, a reset, a process killed
between the two records). An ``unknown`` step is reconciled from the vendor's own records, or
reported as "check job X"; it is never sent again blindly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["STEP_STATUSES", "AuditEntry", "PlanEntry", "StepRecord", "StepStatus"]

StepStatus = Literal["submitting", "submitted", "refused", "unknown"]
STEP_STATUSES: tuple[StepStatus, ...] = ("submitting", "submitted", "refused", "unknown")


class StepRecord(BaseModel):
    """One write of a plan, as the ledger knows it."""

    plan_id: str
    step: int = Field(ge=0, description="Its place among the plan's calls.")
    operation: str
    desktop_ids: list[str]
    status: StepStatus
    owner: str = Field(description="The process that claimed it (host and pid).")
    claimed_at: datetime
    updated_at: datetime
    job_id: str | None = None
    error: str | None = Field(default=None, description="Why it was refused or is unknown.")


class PlanEntry(BaseModel):
    """A plan as listed: the plan itself is kept whole beside it."""

    plan_id: str
    pool_id: str
    pool_name: str
    created_at: datetime


class AuditEntry(BaseModel):
    """One event of a fix's life, append-only, with a stable name (``fix.planned``,
    ``fix.write.submitting``, ``fix.write.submitted``, ``fix.job.done``, ``fix.proof`` …)."""

    plan_id: str
    at: datetime
    event: str
    detail: dict[str, Any] = Field(default_factory=dict)
