"""The ``pooldrift fix`` commands: ``plan`` (kept in the watch's store, so it can be applied by
its id), ``apply`` (the plan shown, the pool's name typed back unless ``--yes``, applied once,
followed, proven), ``status`` (what the ledger and the vendor's jobs say now) and ``list``.

Exit codes: 0 done (or nothing to do), 1 failed (or the API, the state, the configuration),
2 bad arguments or a plan refused before anything was sent, 4 partly done or still running.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ..client import WorkspaceClient
from ..errors import InvalidInputError
from ..render import table
from ..text import safe
from ..watch.settings import load_watch_settings
from ..watch.state import open_store
from .apply import FixOutcome, apply, keep_plan
from .plan import FixPlan, plan, validate_plan_id
from .policy import FixPolicy, load_fix_policy
from .render import render_plan

if TYPE_CHECKING:
    from ..watch.store import StateStore

__all__ = ["EXIT_PARTLY", "apply_command", "list_command", "plan_command", "status_command"]

EXIT_OK, EXIT_FAILED, EXIT_PARTLY = 0, 1, 4
_EXIT = {"done": EXIT_OK, "failed": EXIT_FAILED, "partly_done": EXIT_PARTLY, "running": EXIT_PARTLY}


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@asynccontextmanager
async def _ledger() -> AsyncIterator[StateStore]:
    """The watch's store, where plans, writes and audits are kept (POOLDRIFT_STATE / _REDIS_URL)."""
    store = await open_store(load_watch_settings())
    try:
        yield store
    finally:
        await store.aclose()


async def _planned(
    client: WorkspaceClient, store: StateStore, args: argparse.Namespace, pool: str, policy: FixPolicy
) -> FixPlan:
    """A new plan of ``pool``, kept for ``fix apply ID``."""
    found = await plan(client, pool, kinds=args.kind, policy=policy, include_logged_in=args.include_logged_in)
    await keep_plan(store, found)
    return found


async def plan_command(client: WorkspaceClient, args: argparse.Namespace) -> FixPlan:
    """The plan, kept in the state for ``fix apply ID``."""
    policy = load_fix_policy()  # a bad POOLDRIFT_FIX_* stops here, before any request
    async with _ledger() as store:
        return await _planned(client, store, args, args.pool, policy)


async def _chosen(
    client: WorkspaceClient, store: StateStore, args: argparse.Namespace, policy: FixPolicy
) -> FixPlan:
    target = args.target.strip()
    if not target.lower().startswith("fp_"):
        return await _planned(client, store, args, target, policy)
    plan_id = validate_plan_id(target)
    body = await store.load_plan(plan_id)
    if body is None:
        raise InvalidInputError(
            f"no plan {plan_id} in the state: plan again with `pooldrift fix plan`", field="plan"
        )
    return FixPlan.model_validate_json(body)


async def _confirmed(name: str) -> bool:
    """The pool's name typed back, as destructive commands ask it; False at the end of input."""
    _say(f"This changes the desktops above. Type the pool's name ({safe(name)}) to apply it:")
    try:
        typed: str = await asyncio.to_thread(sys.stdin.readline)
    except (OSError, ValueError):
        return False
    return typed.strip() == name


async def apply_command(
    client: WorkspaceClient, args: argparse.Namespace, emit: Callable[[str], None]
) -> int:
    """``pooldrift fix apply POOL|PLAN_ID``: exit 0 done, 1 failed, 4 partly done or running."""
    policy = load_fix_policy()
    async with _ledger() as store:
        chosen = await _chosen(client, store, args, policy)
        emit(render_plan(chosen, applying=True))
        if chosen.refused:
            raise InvalidInputError(f"the policy refuses this plan: {chosen.refused}", field="plan")
        if not chosen.calls:
            emit("Nothing to send.")
            return EXIT_OK
        if not args.yes and not await _confirmed(chosen.pool_name):
            raise InvalidInputError(
                "the name typed back is not the pool's: nothing was sent", field="confirm"
            )
        try:
            outcome = await apply(client, store, chosen, policy=policy, follow_for=args.follow)
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
            _say(f"stopped following: the jobs go on; `pooldrift fix status {chosen.id}` follows them")
            raise
    emit(render_outcome(outcome))
    return _EXIT[outcome.status]


def render_outcome(outcome: FixOutcome) -> str:
    rows = [
        (
            str(s.step + 1),
            s.operation,
            str(len(s.desktop_ids)),
            s.status + ("" if s.mine else " (earlier run)"),
            s.job_id or "-",
            s.job_status or "-",
            str(len(s.failed)),
        )
        for s in outcome.steps
    ]
    lines = [table(("Step", "Operation", "Desktops", "Write", "Job", "Job status", "Failed"), rows), ""]
    for s in outcome.steps:
        if s.note:
            lines.append(f"step {s.step + 1}: {safe(s.note)}")
        lines += [f"  failed {f.desktop_id}: {safe(f.reason)}" for f in s.failed]
    lines.append(f"Fix {outcome.plan_id} of {safe(outcome.pool_name)}: {outcome.summary}.")
    if outcome.status == "running":
        lines.append(f"Follow it: pooldrift fix status {outcome.plan_id}")
    return "\n".join(lines)


async def status_command(client: WorkspaceClient, args: argparse.Namespace) -> str:
    """What the ledger holds of a fix, and what the vendor says of its jobs now."""
    plan_id = validate_plan_id(args.plan_id)
    async with _ledger() as store:
        body = await store.load_plan(plan_id)
        if body is None:
            raise InvalidInputError(f"no plan {plan_id} in the state", field="plan")
        chosen = FixPlan.model_validate_json(body)
        steps = await store.steps(plan_id)
        log = await store.audit_log(plan_id)
    rows = []
    for s in steps:
        job = await client.show_job(s.job_id) if s.job_id else None
        rows.append((str(s.step + 1), s.operation, str(len(s.desktop_ids)), s.status, s.job_id or "-",
                     (job.status or "-") if job else "-"))  # fmt: skip
    when = f"{chosen.created_at:%Y-%m-%d %H:%M} UTC"
    lines = [f"Fix {chosen.id} of pool {safe(chosen.pool_name)} ({chosen.pool_id}), planned {when}"]
    if not steps:
        lines.append("Not applied yet.")
    else:
        lines += [table(("Step", "Operation", "Desktops", "Write", "Job", "Job now"), rows)]
    proof = [e for e in log if e.event == "fix.proof"]
    if proof:
        lines.append(f"Last proof: {proof[-1].detail.get('status')} at {proof[-1].at:%H:%M:%S} UTC")
    return "\n".join(lines)


async def list_command() -> str:
    async with _ledger() as store:
        plans = await store.plans()
    if not plans:
        return "No plans in the state."
    rows = [(p.plan_id, safe(p.pool_name), p.pool_id, f"{p.created_at:%Y-%m-%d %H:%M} UTC") for p in plans]
    return table(("Plan", "Pool", "Pool id", "Planned"), rows)
