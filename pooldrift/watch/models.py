"""What the watch remembers and reports: each pool's (or failing project's) last state, the
events a cycle found, the Slack deliveries waiting in the outbox, and ``trend`` over a history.

Plain pydantic models, stored as JSON by both stores, so the fronts read the same shapes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..kinds import InconsistentType

__all__ = [
    "KINDS",
    "Change",
    "Counts",
    "Event",
    "EventKind",
    "HistoryMarker",
    "OutboxItem",
    "SlackMessage",
    "Subject",
    "SubjectState",
    "at_least",
    "drifted",
    "duration",
    "trend",
]

#: the counts in the order the API and every table show them
KINDS: tuple[InconsistentType, ...] = tuple(InconsistentType)
#: count per kind (``product_id``, ``image_id``, ``disk_num``, ``disk_size``); None: never reported
Counts = dict[str, int | None]


def at_least(counts: Counts) -> int:
    """Drifted desktops at least: the kinds overlap, so the largest count is the bound."""
    return max((value or 0 for value in counts.values()), default=0)


def drifted(counts: Counts) -> bool:
    return any((value or 0) > 0 for value in counts.values())


class EventKind(StrEnum):
    """What changed for a pool (or a project) between two cycles."""

    DRIFTED = "drifted"  # no drift known → some
    WORSE = "worse"  # some count rose
    BETTER = "better"  # counts changed, none rose, some drift left
    RESOLVED = "resolved"  # every drifted kind reported 0 again
    POOL_GONE = "pool_gone"  # no longer listed by a project that was scanned
    SCAN_FAILING = "scan_failing"  # failed N cycles in a row
    SCAN_RECOVERED = "scan_recovered"  # answered again after failing


class Subject(BaseModel):
    """What a state or an event is about: a pool, or a project while it fails to list."""

    key: str = Field(description="The pool id, or project:{region}:{project id} for a project.")
    scope: Literal["pool", "project"] = "pool"
    pool_id: str | None = None
    pool_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    region: str

    @property
    def label(self) -> str:
        if self.scope == "project":
            return f"project {self.project_name or self.project_id or '?'} ({self.region})"
        return self.pool_name or self.pool_id or self.key

    def subject(self) -> dict[str, Any]:
        """Its identity, to make another model about the same subject."""
        return {name: getattr(self, name) for name in Subject.model_fields}


class SubjectState(Subject):
    """The last known state of a pool, or of a project while it fails to list."""

    desktop_count: int | None = None
    counts: Counts = Field(
        default_factory=dict, description="Last reported count per kind; an unreported count keeps its last."
    )
    drifting_since: datetime | None = Field(default=None, description="Start of the open drift episode.")
    episode: str | None = Field(default=None, description="Id of the open drift episode, if any.")
    sequence: int = Field(default=0, description="Events so far for this subject (keys deliveries).")
    failures: int = Field(default=0, description="Failing cycles in a row.")
    failing_since: datetime | None = None
    failing_episode: str | None = Field(default=None, description="Id of the open failure episode.")
    last_ok: datetime | None = Field(default=None, description="Last successful check.")
    seen_at: datetime

    @property
    def drifting(self) -> bool:
        return self.episode is not None


class Event(Subject):
    """One change found by a cycle: also one line of a pool's history."""

    kind: EventKind
    at: datetime = Field(description="When the cycle saw the change (UTC).")
    episode: str | None = Field(
        default=None, description="The alert episode it belongs to (one Slack message each); None: none."
    )
    sequence: int = Field(description="Per subject, increasing: (episode, sequence) keys a delivery.")
    since: datetime | None = Field(default=None, description="When the episode began.")
    before: Counts = Field(default_factory=dict, description="Counts before the change.")
    counts: Counts = Field(default_factory=dict, description="Counts after the change.")
    desktop_count: int | None = None
    failures: int = 0
    message: str | None = Field(default=None, description="What failed (scan failures).")

    @property
    def delivery_key(self) -> str:
        return f"{self.episode}#{self.sequence}"

    @property
    def at_least(self) -> int:
        return at_least(self.counts)


#: a pool's history is its events
Change = Event


class OutboxItem(BaseModel):
    """A Slack delivery waiting to be made: one event of an episode, in order."""

    key: str = Field(description="episode#sequence: the delivery's identity.")
    order: int = Field(default=0, description="Enqueue order (set by the store).")
    channel: str
    event: Event
    due: datetime = Field(description="Not before this time (retries, Retry-After).")
    attempts: int = 0
    unsure: bool = Field(
        default=False,
        description="A post was under way and its answer never came (a crash, a timeout): Slack may "
        "have it, so look before posting again.",
    )
    error: str | None = None


class SlackMessage(BaseModel):
    """The one message of an episode, which later events update in place and reply under."""

    episode: str
    channel: str
    ts: str
    posted_at: datetime


class HistoryMarker(BaseModel):
    """When, and by which watch, a store's history began: written with the watch's first writes,
    so a store that had one and has none now (a Redis restarted without its data) lost its history."""

    began: datetime | None = Field(default=None, description="None: a marker that does not decode.")
    by: str = Field(description="The watch that wrote it (host:pid:random), or what the store is.")


def duration(seconds: float) -> str:
    """``3 h 20 min``, ``12 min``, ``45 s``, ``2 d 4 h``: the words of alerts and history."""
    seconds = max(0, round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def trend(changes: list[Event]) -> str:
    """One line from a pool's changes, oldest first: ``0 → 5 → 12 since 02:00`` (drifted
    desktops at least, after each change; ``gone`` when the pool went away); "" when none."""
    steps: list[str] = []
    first: datetime | None = None
    for change in changes:
        if change.scope != "pool" or change.kind in (EventKind.SCAN_FAILING, EventKind.SCAN_RECOVERED):
            continue
        if first is None:
            first = change.at
            if change.kind == EventKind.DRIFTED:
                steps.append(str(at_least(change.before)))
        value = "gone" if change.kind == EventKind.POOL_GONE else str(change.at_least)
        if not steps or steps[-1] != value:
            steps.append(value)
    if first is None:
        return ""
    return f"{' → '.join(steps)} since {first:%Y-%m-%d %H:%M} UTC"
