"""Applying a plan, exactly once, followed to the end and proven by the API's own counts.

Exactly once is ours: the vendor's writes take no idempotency key. Before each write its step
is claimed in the watch's store (*submitting*; of two claims of one step one wins, so a second
``apply`` of the plan, in this process or another replica, never sends it again); after it the
``job_id`` is recorded. A write that may have arrived without an answer saying so is *unknown*
and is never sent again (``Fetcher.post_json`` resends only what certainly did not arrive). A
step claimed by another run is only followed. Then every job is followed until it ends, and
the pool's ``inconsistent-statics`` are read again: before → after per kind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .. import metrics
from ..client import WorkspaceClient
from ..errors import FIX_ACTIONS, InvalidInputError, PooldriftError, WriteUnknownError
from ..kinds import InconsistentType
from ..payloads import Job
from ..watch.store import StateStore
from .plan import FixPlan, VendorCall, plan
from .policy import FixPolicy
from .records import AuditEntry, PlanEntry, StepRecord

__all__ = ["FixOutcome", "apply", "keep_plan", "new_owner"]

log = logging.getLogger("pooldrift.fix")

#: a job's terminal statuses (the vendor documents its sub-jobs'; its jobs' as Terraform reads them)
_DONE = {"SUCCESS"}
_FAILED = {"FAIL", "FAILED"}

FixStatus = Literal["done", "partly_done", "failed", "running"]


class FailedDesktop(BaseModel):
    desktop_id: str
    reason: str


class StepOutcome(BaseModel):
    step: int
    operation: str
    desktop_ids: list[str]
    status: str = Field(description="submitted, refused, unknown, or submitting (another run's).")
    mine: bool = Field(description="This run sent it (else an earlier run or another replica did).")
    job_id: str | None
    job_status: str | None = Field(description="SUCCESS, FAILED, or still running when followed.")
    failed: list[FailedDesktop]
    note: str | None


class KindProof(BaseModel):
    kind: InconsistentType
    before: int | None
    after: int | None
    manual: int = Field(description="Desktops of this kind the plan left for a person.")


class FixOutcome(BaseModel):
    """What applying a plan did, and what the API says now."""

    plan_id: str
    pool_id: str
    pool_name: str
    status: FixStatus
    steps: list[StepOutcome]
    proof: list[KindProof]
    summary: str


def new_owner() -> str:
    """This run's name in the ledger: host, process and a token (two runs of one process differ)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


async def apply(
    client: WorkspaceClient,
    store: StateStore,
    chosen: FixPlan,
    *,
    policy: FixPolicy,
    owner: str | None = None,
    follow_for: float = 600.0,
    poll: float = 2.0,
    now: datetime | None = None,
) -> FixOutcome:
    """Apply ``chosen`` once (see the module's docstring). A plan refused by the policy, expired,
    or whose pool changed since (its fingerprint no longer matches) sends nothing."""
    owner = owner or new_owner()
    moment = now or datetime.now(UTC)
    if chosen.refused:
        raise InvalidInputError(f"the policy refuses this plan: {chosen.refused}", field="plan")
    recorded = await store.steps(chosen.id)
    if not recorded:  # a first run: the plan must still be what the pool needs
        if chosen.expired(moment):
            raise InvalidInputError(
                f"plan {chosen.id} expired at {chosen.expires_at:%H:%M} UTC; plan again", field="plan"
            )
        fresh = await plan(
            client, chosen.pool_id, kinds=list(chosen.kinds), policy=policy, now=moment, plan_id=chosen.id
        )
        # another run may have started it meanwhile (its jobs change the pool): then follow that run
        if fresh.fingerprint != chosen.fingerprint and not await store.steps(chosen.id):
            await _audit(store, chosen.id, "fix.refused.changed", {"fingerprint": fresh.fingerprint})
            raise InvalidInputError(
                f"the pool {chosen.pool_name} changed since plan {chosen.id}; plan again", field="plan"
            )
    await keep_plan(store, chosen)
    await _audit(store, chosen.id, "fix.apply.started", {"owner": owner, "calls": len(chosen.calls)})
    until = asyncio.get_running_loop().time() + follow_for
    jobs: dict[str, Job] = {}
    steps: list[StepOutcome] = []
    for n, call in enumerate(chosen.calls):
        # a desktop with a task running takes no other: wait for the earlier jobs on its desktops
        busy = [s.job_id for s in steps if s.job_id and set(s.desktop_ids) & set(call.desktop_ids)]
        await _wait(client, busy, jobs, until=until, poll=poll)
        steps.append(await _step(client, store, chosen, n, call, owner))
    await _wait(client, [s.job_id for s in steps if s.job_id], jobs, until=until, poll=poll)
    followed = await _details(client, steps, jobs)
    for outcome in followed:
        if outcome.job_id is not None:
            await _audit(
                store,
                chosen.id,
                "fix.job.ended" if outcome.job_status in _DONE | _FAILED else "fix.job.running",
                {"step": outcome.step, "job_id": outcome.job_id, "status": outcome.job_status,
                 "failed": [f.model_dump() for f in outcome.failed]},
            )  # fmt: skip
    proof = await _proof(client, chosen)
    status = _status(followed, proof)
    result = FixOutcome(
        plan_id=chosen.id,
        pool_id=chosen.pool_id,
        pool_name=chosen.pool_name,
        status=status,
        steps=followed,
        proof=proof,
        summary=_summary(status, followed, proof),
    )
    await _audit(
        store, chosen.id, "fix.proof", {"status": status, "proof": [p.model_dump(mode="json") for p in proof]}
    )
    metrics.FIXES.labels(status).inc()
    log.info("fix %s of pool %s: %s", chosen.id, chosen.pool_name, result.summary)
    return result


async def keep_plan(store: StateStore, kept: FixPlan) -> None:
    """Keep ``kept`` in the ledger under its id (listed by ``plans``; one kept already stays)."""
    entry = PlanEntry(
        plan_id=kept.id, pool_id=kept.pool_id, pool_name=kept.pool_name, created_at=kept.created_at
    )
    await store.save_plan(entry, kept.model_dump_json())


async def _audit(store: StateStore, plan_id: str, event: str, detail: dict[str, Any]) -> None:
    await store.audit(AuditEntry(plan_id=plan_id, at=datetime.now(UTC), event=event, detail=detail))
    log.info(
        "%s",
        event,
        extra={"event": event, "plan_id": plan_id, **{k: v for k, v in detail.items() if k != "failed"}},
    )


async def _step(
    client: WorkspaceClient, store: StateStore, chosen: FixPlan, number: int, call: VendorCall, owner: str
) -> StepOutcome:
    """Claim the step, send it if the claim is ours, record what came of it."""
    now = datetime.now(UTC)
    claim = StepRecord(
        plan_id=chosen.id, step=number, operation=call.operation.value, desktop_ids=call.desktop_ids,
        status="submitting", owner=owner, claimed_at=now, updated_at=now,
    )  # fmt: skip
    held = await store.claim_step(claim)
    if held.owner != owner:  # an earlier run or another replica: follow it, never send again
        held = await _settled(store, held, within=client.settings.deadline + 2.0)
        if held.status in ("submitting", "unknown"):
            held = await _reconciled(client, store, chosen, held)
        return _outcome(held, mine=False, note=_elsewhere(held))
    await _audit(
        store, chosen.id, "fix.write.submitting", {"step": number, "operation": call.operation.value}
    )
    try:
        answer = await client.write(call.path, call.body, action=FIX_ACTIONS[call.operation.value])
    except WriteUnknownError as exc:
        settled = held.model_copy(
            update={"status": "unknown", "error": exc.message, "updated_at": datetime.now(UTC)}
        )
        await store.settle_step(settled, was="submitting")
        metrics.FIX_WRITES.labels(call.operation.value, "unknown").inc()
        await _audit(
            store, chosen.id, "fix.write.unknown", {"step": number, "cause": exc.cause, "error": exc.message}
        )
        found = await _reconciled(client, store, chosen, settled)
        if found.status == "submitted":  # the vendor has a job for it: that was the answer lost
            return _outcome(found, mine=True, note=_elsewhere(found))
        return _outcome(
            settled, mine=True, note="it may have been applied: not sent again; check the desktops"
        )
    except PooldriftError as exc:  # the vendor certainly did not take it (a 4xx, unreachable, a 429 spent)
        settled = held.model_copy(
            update={"status": "refused", "error": exc.message, "updated_at": datetime.now(UTC)}
        )
        await store.settle_step(settled, was="submitting")
        metrics.FIX_WRITES.labels(call.operation.value, "refused").inc()
        await _audit(
            store,
            chosen.id,
            "fix.write.refused",
            {"step": number, "outcome": exc.outcome, "error": exc.message},
        )
        return _outcome(settled, mine=True, note=exc.message)
    settled = held.model_copy(
        update={"status": "submitted", "job_id": answer.job_id, "updated_at": datetime.now(UTC)}
    )
    await store.settle_step(settled, was="submitting")
    metrics.FIX_WRITES.labels(call.operation.value, "submitted").inc()
    await _audit(store, chosen.id, "fix.write.submitted", {"step": number, "job_id": answer.job_id})
    return _outcome(settled, mine=True, note=None)


async def _reconciled(
    client: WorkspaceClient, store: StateStore, chosen: FixPlan, held: StepRecord
) -> StepRecord:
    """A step whose fate is not recorded (a lost answer, a run that stopped while sending), read
    from the vendor's own records: the one job that took up exactly its desktops on this pool
    since it was claimed. Found, the step is recorded as submitted with that job; else left as it
    is (never sent again: reported)."""
    try:
        subs = await client.list_sub_jobs(pool_id=chosen.pool_id)
    except PooldriftError as exc:
        log.info("could not read the pool's jobs to reconcile step %s: %s", held.step, exc.message)
        return held
    since = held.claimed_at.timestamp() - 120  # the vendor's clock may lag ours
    wanted = set(held.desktop_ids)
    jobs: dict[str, set[str]] = {}
    for sub in subs:
        begun = _moment(sub.begin_time)
        if sub.job_id and sub.desktop_id and (begun is None or begun >= since):
            jobs.setdefault(sub.job_id, set()).add(sub.desktop_id)
    taken = [job_id for job_id, desktops in jobs.items() if desktops == wanted]
    if len(taken) != 1:
        return held
    why = f"reconciled from the vendor's jobs ({held.status})"
    found = held.model_copy(
        update={"status": "submitted", "job_id": taken[0], "error": why, "updated_at": datetime.now(UTC)}
    )
    if not await store.settle_step(found, was=held.status):
        return held
    await _audit(
        store, chosen.id, "fix.write.reconciled", {"step": held.step, "job_id": taken[0], "was": held.status}
    )
    return found


def _moment(stamp: str | None) -> float | None:
    try:
        return datetime.fromisoformat(stamp or "").timestamp()
    except ValueError:
        return None


async def _settled(store: StateStore, held: StepRecord, *, within: float) -> StepRecord:
    """Another run's step as it settles: a replica sending it now records its job within its
    deadline (later writes on those desktops must wait for that job); one that stopped never does."""
    loop = asyncio.get_running_loop()
    until = loop.time() + within
    while held.status == "submitting" and loop.time() < until:
        await asyncio.sleep(0.2)
        held = next((r for r in await store.steps(held.plan_id) if r.step == held.step), held)
    return held


def _elsewhere(held: StepRecord) -> str:
    if held.status == "submitting":
        return f"being sent by {held.owner} (or it stopped while sending): not sent again"
    if held.status == "unknown":
        return f"may have been applied ({held.error}): not sent again; check the desktops"
    if held.status == "refused":
        return f"refused when {held.owner} sent it: {held.error}"
    if held.error and held.error.startswith("reconciled"):
        return f"its answer was lost; {held.error}: job {held.job_id}, not sent again"
    return f"sent by {held.owner}"


def _outcome(record: StepRecord, *, mine: bool, note: str | None) -> StepOutcome:
    return StepOutcome(
        step=record.step, operation=record.operation, desktop_ids=record.desktop_ids, status=record.status,
        mine=mine, job_id=record.job_id, job_status=None, failed=[], note=note,
    )  # fmt: skip


def _ended(job: Job | None) -> bool:
    return job is not None and (job.status or "").upper() in _DONE | _FAILED


async def _wait(
    client: WorkspaceClient, job_ids: list[str], jobs: dict[str, Job], *, until: float, poll: float
) -> None:
    """Follow ``job_ids`` (into ``jobs``) until each has ended or the loop's time passes ``until``."""
    loop = asyncio.get_running_loop()
    pending = sorted({j for j in job_ids if not _ended(jobs.get(j))})
    while pending:
        for job_id in pending:
            jobs[job_id] = await client.show_job(job_id)
        pending = [j for j in pending if not _ended(jobs[j])]
        if not pending or loop.time() + poll > until:
            return
        await asyncio.sleep(poll)


async def _details(
    client: WorkspaceClient, steps: list[StepOutcome], jobs: dict[str, Job]
) -> list[StepOutcome]:
    """Each step with its job's status and its failed desktops, with the vendor's reasons."""
    followed = []
    for s in steps:
        found = jobs.get(s.job_id) if s.job_id else None
        if found is None:
            followed.append(s)
            continue
        subs = found.sub_jobs or await client.list_sub_jobs(found.id)
        failed = [
            FailedDesktop(
                desktop_id=sub.desktop_id or "?", reason=sub.fail_reason or sub.error_code or "failed"
            )
            for sub in subs
            if (sub.status or "").upper() in _FAILED
        ]
        status = (found.status or "").upper() or None
        if s.mine and _ended(found) and (took := _took(found)) is not None:
            metrics.FIX_JOB_SECONDS.observe(took)
        note = (
            s.note
            if _ended(found)
            else f"job {found.id} still running: follow it with `pooldrift fix status`"
        )
        followed.append(s.model_copy(update={"job_status": status, "failed": failed, "note": note}))
    return followed


def _took(job: Job) -> float | None:
    """Seconds from the job's begin to its end, as the vendor stamps them (None: not stamped)."""
    try:
        begin = datetime.fromisoformat(job.begin_time or "")
        end = datetime.fromisoformat(job.end_time or "")
    except ValueError:
        return None
    return max(0.0, (end - begin).total_seconds())


async def _proof(client: WorkspaceClient, chosen: FixPlan) -> list[KindProof]:
    """Before (as planned) → after (the API now), per kind of the plan."""
    after = (await client.inconsistent_statics(chosen.pool_id)).model_dump()
    proof = []
    for kind in chosen.kinds:
        manual = sum(
            1 for p in chosen.desktops if kind in p.drift and any(m.kind in (None, kind) for m in p.manual)
        )
        proof.append(
            KindProof(
                kind=kind, before=chosen.before.get(kind.field), after=after.get(kind.field), manual=manual
            )
        )
    return proof


def _status(steps: list[StepOutcome], proof: list[KindProof]) -> FixStatus:
    if any(s.job_id and s.job_status not in _DONE | _FAILED for s in steps):
        return "running"
    if any(s.status in ("unknown", "submitting") for s in steps):
        return "partly_done"  # a write that may have been applied: never done, nor failed, on faith
    worked = [s for s in steps if s.job_status in _DONE]
    clean = (
        len(worked) == len(steps)
        and not any(s.failed for s in steps)
        and all(p.after is not None and p.after <= p.manual for p in proof)
    )
    if clean:
        return "done"
    return (
        "partly_done"
        if worked or any(s.job_status in _FAILED and len(s.failed) < len(s.desktop_ids) for s in steps)
        else "failed"
    )


def _summary(status: FixStatus, steps: list[StepOutcome], proof: list[KindProof]) -> str:
    def shown(value: int | None) -> str:
        return "?" if value is None else str(value)

    counts = "; ".join(
        f"{p.kind.label.lower()} {shown(p.before)} → {shown(p.after)}"
        + (f" ({p.manual} manual)" if p.manual else "")
        for p in proof
    )
    failed = sum(len(s.failed) for s in steps)
    words = {"done": "done", "partly_done": "partly done", "failed": "failed", "running": "still running"}
    tail = f"; {failed} desktop{'s' if failed != 1 else ''} failed" if failed else ""
    return f"{words[status]}: {counts}{tail}"
