"""Applying a plan against the emulator's write side: the drift it can fix is gone by the next
counts, each write reaches the emulator exactly once (twice applied, two appliers at once, a
write that timed out or answered 500 after it was applied, a 429, a run that stopped between its
two records), a failed desktop is named with the vendor's reason, and a plan whose pool
changed, that expired or that the policy refuses sends nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, with_overrides
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.records import drift_of
from pooldrift.errors import InvalidInputError
from pooldrift.fix.apply import apply
from pooldrift.fix.plan import FixPlan, Operation, plan
from pooldrift.fix.policy import FixPolicy, load_fix_policy
from pooldrift.fix.records import StepRecord
from pooldrift.kinds import InconsistentType as K
from pooldrift.watch.state import SqliteStore

POOL = "sales-win11"


@pytest.fixture
def policy() -> FixPolicy:
    return load_fix_policy(max_desktops=1000)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "state.db") as opened:
        yield opened


@pytest.fixture(autouse=True)
def quick_jobs(emulator: EmulatorServer) -> None:
    emulator.jobs.update(seconds=0.2)


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def writes_counted(status: str) -> float:
    return sum(counted("pooldrift_fix_writes_total", operation=op.value, status=status) for op in Operation)


def writes(emulator: EmulatorServer) -> Counter[str]:
    """The writes the emulator received, by path (GETs are not writes)."""
    return Counter(w.path for w in emulator.writes.snapshot())


def applied(emulator: EmulatorServer) -> Counter[str]:
    return Counter(w.path for w in emulator.writes.snapshot() if w.applied)


async def left_by_a_stopped_run(store: SqliteStore, found: FixPlan, step: int) -> None:
    """What a process killed between claiming a write and recording its job leaves in the ledger."""
    call, at = found.calls[step], datetime.now(UTC)
    await store.claim_step(
        StepRecord(
            plan_id=found.id, step=step, operation=call.operation.value, desktop_ids=call.desktop_ids,
            status="submitting", owner="gone:1:dead", claimed_at=at, updated_at=at,
        )
    )  # fmt: skip


def planned(found: FixPlan) -> Counter[str]:
    return Counter(c.path for c in found.calls)


async def test_apply_fixes_what_it_can_and_the_next_counts_show_only_what_is_left(
    client: WorkspaceClient, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    pool = emulator.data.pool_named(POOL)
    found = await plan(client, POOL, kinds=["image_id", "product_id"], policy=policy)
    assert found.calls and found.totals.touched > 0
    done_before, sent_before = counted("pooldrift_fixes_total", outcome="done"), writes_counted("submitted")
    outcome = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    assert counted("pooldrift_fixes_total", outcome="done") == done_before + 1
    assert writes_counted("submitted") == sent_before + len(found.calls)

    assert outcome.status == "done", outcome.summary
    assert applied(emulator) == writes(emulator) == planned(found), "each write exactly once"
    counts = emulator.data.statics(pool.id)
    for proof in outcome.proof:
        assert proof.before == found.before[proof.kind.field]
        assert proof.after == counts[proof.kind.field] == proof.manual, proof
    fixed = {d.desktop_id for d in found.desktops if d.fixes}
    for desktop in emulator.data.desktops_of(pool.id):
        if desktop.desktop_id in fixed:
            left = {k for k in drift_of(desktop, pool) if k in ("IMAGE_ID", "PRODUCT_ID")}
            manual = {
                m.kind.value
                for p in found.desktops
                if p.desktop_id == desktop.desktop_id
                for m in p.manual
                if m.kind
            }
            assert left <= manual, f"{desktop.computer_name} still drifts in {left}"
    log = [e.event for e in await store.audit_log(found.id)]
    assert log[0] == "fix.apply.started" and log[-1] == "fix.proof"
    assert log.count("fix.write.submitted") == len(found.calls) == log.count("fix.job.ended")
    assert [s.status for s in await store.steps(found.id)] == ["submitted"] * len(found.calls)


async def test_a_plan_applied_twice_or_by_two_at_once_is_sent_once(
    settings: Settings, emulator: EmulatorServer, tmp_path: Path, policy: FixPolicy
) -> None:
    async with WorkspaceClient(settings) as first, WorkspaceClient(settings) as second:
        found = await plan(first, POOL, kinds=["image_id"], policy=policy)
        async with SqliteStore(tmp_path / "s.db") as a, SqliteStore(tmp_path / "s.db") as b:
            both = await asyncio.gather(
                apply(first, a, found, policy=policy, follow_for=30.0, poll=0.05),
                apply(second, b, found, policy=policy, follow_for=30.0, poll=0.05),
            )
            again = await apply(first, a, found, policy=policy, follow_for=30.0, poll=0.05)
    assert writes(emulator) == planned(found), "two appliers and a third run: each write once"
    mine = [[s.mine for s in outcome.steps] for outcome in both]
    assert sorted(mine) == sorted([[True] * len(found.calls), [False] * len(found.calls)])
    assert not any(s.mine for s in again.steps) and again.status == "done"
    assert {s.job_id for s in again.steps} == {s.job_id for o in both for s in o.steps if s.mine}


@pytest.mark.parametrize("fault", ["timeout_after_apply", "error_after_apply"])
async def test_a_write_applied_without_an_answer_is_found_among_the_vendors_jobs_never_sent_again(
    settings: Settings, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy, fault: str
) -> None:
    emulator.faults.update(write_fail_next=[fault], write_delay=5.0)
    quick = with_overrides(settings, deadline=1.5, read_timeout=1.0)
    async with WorkspaceClient(quick) as client:
        found = await plan(client, POOL, kinds=["image_id"], policy=policy)
        outcome = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
        again = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    (record,) = emulator.writes.snapshot()
    assert record.applied, "the emulator applied it once"
    (step,) = outcome.steps
    assert step.status == "submitted" and step.job_id == record.job_id, "its job, from the vendor's records"
    assert "answer was lost; reconciled from the vendor's jobs (unknown)" in (step.note or "")
    assert step.job_status == "SUCCESS" and outcome.status == "done"
    assert again.steps[0].job_id == record.job_id and not again.steps[0].mine
    assert len(emulator.writes.snapshot()) == 1, "neither run sent it again"
    log = [e.event for e in await store.audit_log(found.id)]
    assert log.count("fix.write.unknown") == 1 and log.count("fix.write.reconciled") == 1


async def test_a_429_on_a_write_is_retried_as_it_was_not_taken(
    client: WorkspaceClient, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    emulator.faults.update(write_fail_next=["rate_limit"])
    found = await plan(client, POOL, kinds=["image_id"], policy=policy)
    outcome = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    records = emulator.writes.snapshot()
    assert [(w.status, w.applied) for w in records] == [(429, False), (200, True)]
    assert outcome.steps[0].status == "submitted" and outcome.status == "done"


async def test_a_step_left_submitting_by_a_stopped_run_is_not_sent_again(
    settings: Settings, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    """What a process killed between claiming a write and recording its job leaves behind (it is
    waited for as long as a live one's write could take: the deadline, here 1 s)."""
    async with WorkspaceClient(with_overrides(settings, deadline=1.0)) as client:
        await _left_behind(client, emulator, store, policy)


async def _left_behind(
    client: WorkspaceClient, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    found = await plan(client, POOL, kinds=["image_id", "product_id"], policy=policy)
    assert len(found.calls) == 2
    await left_by_a_stopped_run(store, found, 0)
    outcome = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    first, second = outcome.steps
    assert not first.mine and first.status == "submitting" and "not sent again" in (first.note or "")
    assert second.mine and second.status == "submitted"
    assert writes(emulator) == Counter([found.calls[1].path]), "only the step nobody claimed was sent"
    assert outcome.status != "done"


async def test_a_failed_desktop_is_named_with_the_vendors_reason_and_the_fix_is_partly_done(
    client: WorkspaceClient, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    found = await plan(client, POOL, kinds=["image_id"], policy=policy)
    victim = found.calls[0].desktop_ids[0]
    emulator.faults.update(sub_job_fail_desktops=[victim], sub_job_fail_reason="The disk is busy.")
    outcome = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    assert outcome.status == "partly_done", outcome.summary
    (failed,) = [f for s in outcome.steps for f in s.failed]
    assert failed.desktop_id == victim and "The disk is busy." in failed.reason
    (image,) = outcome.proof
    assert image.after == image.manual + 1 and "1 desktop failed" in outcome.summary


async def test_a_plan_whose_pool_changed_that_expired_or_that_the_policy_refuses_sends_nothing(
    client: WorkspaceClient, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    pool = emulator.data.pool_named(POOL)
    found = await plan(client, POOL, kinds=["image_id"], policy=policy)
    emulator.data.set_drift(pool.id, "image_id", (found.before["image_id"] or 0) + 2)  # two more since
    with pytest.raises(InvalidInputError, match="changed since plan"):
        await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    emulator.reset()
    emulator.jobs.update(seconds=0.2)
    old = await plan(
        client, POOL, kinds=["image_id"], policy=policy, now=datetime.now(UTC) - timedelta(hours=1)
    )
    with pytest.raises(InvalidInputError, match="expired"):
        await apply(client, store, old, policy=policy, follow_for=30.0, poll=0.05)
    tight = load_fix_policy(max_desktops=1)
    refused = await plan(client, POOL, kinds=["image_id"], policy=tight)
    assert refused.refused is not None
    with pytest.raises(InvalidInputError, match="the policy refuses this plan"):
        await apply(client, store, refused, policy=tight, follow_for=30.0, poll=0.05)
    assert writes(emulator) == Counter() and refused.kinds == [K.IMAGE_ID]


async def test_a_left_step_is_not_taken_for_another_job_on_some_of_its_desktops(
    settings: Settings, emulator: EmulatorServer, store: SqliteStore, policy: FixPolicy
) -> None:
    """The image rebuild's job covers the resize's desktops and more: it is not the resize's."""
    async with WorkspaceClient(with_overrides(settings, deadline=1.0)) as client:
        found = await plan(client, POOL, kinds=["image_id", "product_id"], policy=policy)
        rebuild, resize = found.calls
        assert set(resize.desktop_ids) & set(rebuild.desktop_ids), "the demo pool's desktops overlap"
        await left_by_a_stopped_run(store, found, 1)
        outcome = await apply(client, store, found, policy=policy, follow_for=30.0, poll=0.05)
    first, second = outcome.steps
    assert first.mine and first.job_status == "SUCCESS"
    assert second.status == "submitting" and second.job_id is None, "no job of exactly its desktops"
    assert writes(emulator) == Counter([rebuild.path])
