"""What the drift watch remembers, for the MCP tools: the ``pool_drift_history`` tool, and the
"drifting since" that ``pool_inconsistency`` adds when the watch's state knows the pool.

Both only read: the running watch's store, or the state the environment points at (never
created here). ``pooldrift.watch`` is imported at the first call, off the start-up path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from pooldrift.errors import ConfigurationError, InvalidInputError, PooldriftError
from pooldrift.validation import is_pool_id, shown, validate_pool_ref

from .models import Output, PoolInconsistency
from .runtime import Runtime

if TYPE_CHECKING:
    from pooldrift.watch.store import StateStore

__all__ = ["PoolDriftHistory", "pool_drift_history", "with_since"]

log = logging.getLogger("pooldrift.server")

#: the most recent changes a history answer lists (the trend still covers all of them)
MAX_CHANGES = 30
MAX_DAYS = 90

NO_STATE = (
    "the drift watch has no state here: set POOLDRIFT_WATCH_INTERVAL (e.g. 5m) on pooldrift-server "
    "so it watches, or point POOLDRIFT_STATE (the SQLite file) or POOLDRIFT_REDIS_URL at the "
    "state a running watch writes"
)

ChangeEvent = Literal["drifted", "worse", "better", "resolved", "pool_gone", "scan_failing", "scan_recovered"]


class DriftChange(Output):
    at: datetime
    event: ChangeEvent
    counts: dict[str, int | None]


class PoolDriftHistory(Output):
    """A pool's drift as the watch recorded it."""

    summary: str = Field(description="Quote it.")
    pool_id: str
    pool_name: str | None
    drifting_since: datetime | None
    trend: str | None = Field(description="Drifted desktops after each change.")
    changes: list[DriftChange] = Field(description=f"The last {MAX_CHANGES}, oldest first.")
    total_changes: int


async def pool_drift_history(
    ctx: Context[Runtime, Any],
    pool: Annotated[str, Field(description="Pool id or exact name.")],
    days: Annotated[int, Field(ge=1, le=MAX_DAYS, description="Days back.")] = 7,
) -> PoolDriftHistory:
    """A pool's drift changes as the drift watch saw them: since when, how long, how often,
    getting worse?"""
    async with Runtime.call("pool_drift_history", doing=f"reading the drift history of {shown(pool)}"):
        ref = validate_pool_ref(pool)
        async with _reader(ctx.request_context.lifespan_context) as store:
            if store is None:
                raise ConfigurationError(NO_STATE)
            return await _history(store, ref, days)


async def _history(store: StateStore, ref: str, days: int) -> PoolDriftHistory:
    from pooldrift.watch.models import duration, trend

    pool_id, name = await _resolve(store, ref)
    now = datetime.now(UTC)
    state = await store.state(pool_id)
    changes = [c for c in await store.history(pool_id, days, now) if c.scope == "pool"]
    name = name or next((c.pool_name for c in reversed(changes) if c.pool_name), None)
    since = state.drifting_since if state else None
    label = name or pool_id
    if state is None and not changes:
        summary = f"The drift watch has no record of pool {label} (not in its scope, or not yet)."
    elif since is not None:
        lasted = duration((now - since).total_seconds())
        summary = f"Pool {label} has been drifting since {since:%Y-%m-%d %H:%M} UTC ({lasted})."
    else:
        summary = f"Pool {label} is not drifting, as the watch last saw it."
    if changes:
        plural = "s" if len(changes) != 1 else ""
        summary += f" {len(changes)} change{plural} in {days} days: {trend(changes)}."
    return PoolDriftHistory(
        summary=summary,
        pool_id=pool_id,
        pool_name=name,
        drifting_since=since,
        trend=trend(changes) or None,
        changes=[DriftChange(at=c.at, event=c.kind.value, counts=c.counts) for c in changes[-MAX_CHANGES:]],
        total_changes=len(changes),
    )


async def _resolve(store: StateStore, ref: str) -> tuple[str, str | None]:
    """The pool id and name for an id or an exact name the watch knows."""
    if is_pool_id(ref):
        state = await store.state(ref.lower())
        return ref.lower(), state.pool_name if state else None
    found = await store.find(ref)
    if not found:
        raise InvalidInputError(
            f"the drift watch knows no pool named {shown(ref)}; give its id (list_desktop_pools)",
            field="pool",
        )
    if len(found) > 1:
        ids = ", ".join(s.key for s in found)
        raise InvalidInputError(
            f"several watched pools are named {shown(ref)} ({ids}); give an id", field="pool"
        )
    return found[0].key, found[0].pool_name


async def with_since(result: PoolInconsistency, runtime: Runtime) -> PoolInconsistency:
    """``result`` with since when the watch has seen the pool drifting, when its state knows;
    unchanged when it does not, or when there is no state (a check must never fail for it)."""
    if result.drifted_desktops_at_least == 0:
        return result
    try:
        async with _reader(runtime) as store:
            since = await store.since(result.pool_id) if store is not None else None
    except Exception as exc:
        log.debug("no drift history for %s: %s", result.pool_id, exc)
        return result
    if since is None:
        return result
    from pooldrift.watch.models import duration

    lasted = duration((datetime.now(UTC) - since).total_seconds())
    summary = f"{result.summary} It has been drifting since {since:%Y-%m-%d %H:%M} UTC ({lasted})."
    return result.model_copy(update={"drifting_since": since, "summary": summary})


@asynccontextmanager
async def _reader(runtime: Runtime) -> AsyncIterator[StateStore | None]:
    """The running watch's store, or one opened only to read (closed after); None: no state."""
    if runtime.watch_store is not None:
        yield runtime.watch_store
        return
    # deferred: the watch's stores are read only by these tools' calls
    from pooldrift.watch.state import open_reader
    from pooldrift.watch.store import WatchStateError

    try:
        store = await open_reader(runtime.watch_settings())
    except WatchStateError as exc:
        raise PooldriftError(exc.message) from None
    if store is None:
        yield None
        return
    try:
        yield store
    finally:
        await store.aclose()
