"""The fix ledger in both stores (a SQLite file, a real Redis): plans kept whole, a step claimed
once however many replicas race for it, a step settled only from the status its writer saw, an
audit that only grows, all of it still there after the store is opened again; and a state file
of the layout before the ledger upgraded in place with its history kept."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pooldrift.fix.records import AuditEntry, PlanEntry, StepRecord
from pooldrift.watch.sqlite_store import _MIGRATIONS
from pooldrift.watch.state import SCHEMA_VERSION, RedisStore, SqliteStore, StateStore

AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
PLAN = "fp_00000000000000a1"


def entry(plan_id: str = PLAN, minutes: int = 0) -> PlanEntry:
    return PlanEntry(
        plan_id=plan_id, pool_id="p1", pool_name="sales-win11", created_at=AT + timedelta(minutes=minutes)
    )


def step(owner: str, number: int = 0, **fields: object) -> StepRecord:
    values: dict[str, object] = {
        "plan_id": PLAN, "step": number, "operation": "ResizeDesktop", "desktop_ids": ["d1", "d2"],
        "status": "submitting", "owner": owner, "claimed_at": AT, "updated_at": AT,
    }  # fmt: skip
    values.update(fields)
    return StepRecord.model_validate(values)


async def another(store: StateStore, tmp_path: Path, request: pytest.FixtureRequest) -> StateStore:
    """A second connection to the same store, as a second replica has."""
    if isinstance(store, SqliteStore):
        return await SqliteStore(tmp_path / "state.db").open()
    return await RedisStore(request.getfixturevalue("redis_server")).open()


async def test_plans_are_kept_whole_listed_newest_first_and_never_replaced(store: StateStore) -> None:
    await store.save_plan(entry(), '{"id": "first"}')
    await store.save_plan(entry(), '{"id": "second"}')  # the same id again: the first stands
    await store.save_plan(entry("fp_00000000000000a2", minutes=5), '{"id": "later"}')
    assert await store.load_plan(PLAN) == '{"id": "first"}'
    assert await store.load_plan("fp_00000000000000ff") is None
    assert [p.plan_id for p in await store.plans()] == ["fp_00000000000000a2", PLAN]
    assert [p.plan_id for p in await store.plans(limit=1)] == ["fp_00000000000000a2"]


async def test_of_many_replicas_claiming_a_step_at_once_exactly_one_wins(
    store: StateStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    others = [await another(store, tmp_path, request) for _ in range(3)]
    try:
        replicas = [store, *others]
        claims = [r.claim_step(step(f"owner-{n}-{k}")) for n, r in enumerate(replicas) for k in range(5)]
        results = await asyncio.gather(*claims)
    finally:
        for other in others:
            await other.aclose()
    owners = {r.owner for r in results}
    assert len(owners) == 1, f"the step was claimed by {owners}"
    (stored,) = await store.steps(PLAN)
    assert stored.owner in owners and stored.status == "submitting"


async def test_a_step_is_settled_only_from_the_status_its_writer_saw(store: StateStore) -> None:
    mine = await store.claim_step(step("a"))
    sent = mine.model_copy(
        update={"status": "submitted", "job_id": "job-1", "updated_at": AT + timedelta(seconds=2)}
    )
    assert await store.settle_step(sent, was="submitting")
    late = mine.model_copy(update={"status": "unknown", "error": "timed out"})
    assert not await store.settle_step(late, was="submitting"), (
        "a second writer must not overwrite the job id"
    )
    assert (await store.claim_step(step("b"))).job_id == "job-1", "a later claim sees the recorded job"
    await store.claim_step(step("a", number=2))
    await store.claim_step(step("a", number=1))
    assert [(s.step, s.status, s.job_id) for s in await store.steps(PLAN)] == [
        (0, "submitted", "job-1"), (1, "submitting", None), (2, "submitting", None),
    ]  # fmt: skip
    assert not await store.settle_step(step("a", number=7, status="submitted"), was="submitting")
    assert await store.steps("fp_00000000000000ff") == []


async def test_the_audit_only_grows_in_order_and_outlives_the_process(
    store: StateStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    events = ["fix.planned", "fix.write.submitting", "fix.write.submitted", "fix.job.done", "fix.proof"]
    for n, event in enumerate(events):
        await store.audit(
            AuditEntry(plan_id=PLAN, at=AT + timedelta(seconds=n), event=event, detail={"n": n})
        )
    await store.audit(AuditEntry(plan_id="fp_00000000000000a2", at=AT, event="fix.planned"))
    await store.save_plan(entry(), "{}")
    await store.claim_step(step("a"))
    reopened = await another(store, tmp_path, request)
    try:
        log = await reopened.audit_log(PLAN)
        assert [(e.event, e.detail) for e in log] == [(e, {"n": n}) for n, e in enumerate(events)]
        assert await reopened.load_plan(PLAN) == "{}" and len(await reopened.steps(PLAN)) == 1
    finally:
        await reopened.aclose()


async def test_a_state_file_of_the_layout_before_the_ledger_is_upgraded_with_its_history(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.executescript(_MIGRATIONS[0])
    conn.execute(
        "INSERT INTO mutes (pool_id, until) VALUES ('p1', ?)", ((AT + timedelta(days=1)).timestamp(),)
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    async with SqliteStore(path) as store:
        assert await store.muted(AT) == {"p1": AT + timedelta(days=1)}
        await store.save_plan(entry(), "{}")
        assert [p.plan_id for p in await store.plans()] == [PLAN]
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    finally:
        check.close()
