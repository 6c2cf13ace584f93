"""The protocol both state stores implement (``pooldrift.watch.state`` opens one), and what
they share: the schema version and the error of a replica that lost its lease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import ValidationError

from .models import Event, HistoryMarker, OutboxItem, SlackMessage, SubjectState

if TYPE_CHECKING:
    from ..fix.records import AuditEntry, PlanEntry, StepRecord, StepStatus
    from .events import Step

__all__ = [
    "SCHEMA_VERSION",
    "LeaseLostError",
    "StateStore",
    "StoreUnavailableError",
    "WatchStateError",
    "mute_end",
    "pools_named",
    "why",
]

#: the layout both stores write; a store written by a newer layout is refused, an older one upgraded
SCHEMA_VERSION = 2


class WatchStateError(Exception):
    """The watch's own failures around its state; apart from ``PooldriftError``, the tree of the
    API's failures that every front words, since no front ever answers with these."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LeaseLostError(WatchStateError):
    """Another replica holds the lease: this one must not write what it computed."""


class StoreUnavailableError(WatchStateError):
    """The state store did not answer (a locked or broken file, Redis down); the cycle waits."""


class StateStore(Protocol):
    """The watch's durable memory. Every method is a coroutine; times are aware UTC datetimes."""

    async def load(self) -> dict[str, SubjectState]:
        """Every subject's last state (pools, and projects while they fail)."""
        ...

    async def state(self, key: str) -> SubjectState | None: ...

    async def commit(
        self,
        step: Step,
        outbox: list[OutboxItem],
        now: datetime,
        *,
        keep_days: int,
        owner: str | None = None,
        marker: HistoryMarker | None = None,
    ) -> None:
        """At once: the new states, the events as history, the deliveries (an existing key is left
        as is), the ``marker`` when given (an existing one is left as is), and the history older
        than ``keep_days`` deleted. With ``owner``, only while that owner holds the lease
        (``LeaseLostError`` otherwise)."""
        ...

    async def marker(self) -> HistoryMarker | None:
        """The marker of the store's history; None when there is none (never written, or lost
        with the rest). A store that cannot lose its history under a running watch answers a
        marker of its own."""
        ...

    async def since(self, pool_id: str) -> datetime | None:
        """Since when the pool has been drifting (None: not drifting, or not known)."""
        ...

    async def history(self, pool_id: str, days: float, now: datetime | None = None) -> list[Event]:
        """The pool's changes from ``days`` before ``now`` (default: now) on, oldest first."""
        ...

    async def find(self, ref: str) -> list[SubjectState]:
        """Pools whose id is ``ref`` or whose name is exactly ``ref``."""
        ...

    async def mute(self, pool_id: str, until: datetime) -> None: ...

    async def unmute(self, pool_id: str) -> bool: ...

    async def muted(self, now: datetime) -> dict[str, datetime]:
        """Pools muted at ``now`` and until when (expired mutes are dropped)."""
        ...

    async def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        """Deliveries in enqueue order, the first ``limit`` (due or not: order matters per episode)."""
        ...

    async def pending(self) -> int: ...

    async def retry(self, item: OutboxItem) -> None:
        """Store an item's new attempt count, due time, step and error."""
        ...

    async def finish(self, key: str, *, forget_episode: str | None = None) -> None:
        """The delivery is made: drop it (and the episode's message, when the episode closed)."""
        ...

    async def message(self, episode: str) -> SlackMessage | None: ...

    async def save_message(self, message: SlackMessage) -> None: ...

    async def lease(self, owner: str, ttl: float) -> bool:
        """Take the lease, or renew it if ``owner`` holds it; False when another owner holds it."""
        ...

    async def release(self, owner: str) -> None: ...

    # -- the fix ledger (pooldrift.fix.records) --------------------------------------------

    async def save_plan(self, entry: PlanEntry, body: str) -> None:
        """Keep a plan (its JSON ``body``) under its id; one kept already is left as it is."""
        ...

    async def load_plan(self, plan_id: str) -> str | None: ...

    async def plans(self, limit: int = 50) -> list[PlanEntry]:
        """The plans kept, newest first."""
        ...

    async def claim_step(self, record: StepRecord) -> StepRecord:
        """Record ``record`` (``submitting``) unless its step of its plan is recorded already;
        the stored record either way. Atomic: of two claims of one step, one wins."""
        ...

    async def settle_step(self, record: StepRecord, *, was: StepStatus) -> bool:
        """Replace the stored step with ``record`` if its status is still ``was``; False if not."""
        ...

    async def steps(self, plan_id: str) -> list[StepRecord]:
        """The plan's recorded steps, in order."""
        ...

    async def audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to its plan's audit; never rewritten."""
        ...

    async def audit_log(self, plan_id: str) -> list[AuditEntry]: ...

    async def aclose(self) -> None: ...


def why(exc: ValidationError) -> str:
    """A stored value's first fault, as a store's one line says it: ``Field required at body``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return str(first["msg"]) + (f" at {where}" if where else "")


def mute_end(seconds: float) -> datetime:
    """A stored mute's end (seconds since the epoch) as a time. One past what a datetime holds
    (a hand-set 1e20, inf, or the end of ``datetime.max`` that rounds to year 10000) is the
    furthest time: the pool muted indefinitely, as whoever set it meant, until it is unmuted.
    Both stores read mutes every cycle, so an error here would stop all alerting for one pool."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return datetime.max.replace(tzinfo=UTC) if seconds > 0 else datetime.min.replace(tzinfo=UTC)


def pools_named(states: dict[str, SubjectState], ref: str) -> list[SubjectState]:
    """The pools among ``states`` whose id is ``ref`` (any case) or whose name is exactly ``ref``:
    ``StateStore.find`` of both stores."""
    return [
        s
        for s in states.values()
        if s.scope == "pool" and (s.key == ref.strip().lower() or s.pool_name == ref)
    ]
