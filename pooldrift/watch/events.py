"""The pure heart of the watch: a fleet scan against the last known states gives the events
(drifted, worse, better, resolved, pool gone, scan failing, scan recovered) and the next states.

No I/O and no clock: the same inputs always give the same events, episodes and sequences, so a
restarted or another replica compares with the stored states and neither repeats nor misses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..fleet import FleetScan, PoolDrift, ScanFailure
from .models import KINDS, Counts, Event, EventKind, SubjectState, drifted

__all__ = ["Step", "diff", "project_key", "step"]


@dataclass
class Step:
    """What one cycle changes: its events in order, the states to keep, the keys to forget."""

    events: list[Event] = field(default_factory=list)
    states: dict[str, SubjectState] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def project_key(region: str, project_id: str | None) -> str:
    return f"project:{region}:{project_id or '-'}"


def diff(
    previous: Mapping[str, SubjectState], scan: FleetScan, now: datetime, *, failures: int = 3
) -> list[Event]:
    """The events between the stored states and a new scan (see ``step`` for the states too)."""
    return step(previous, scan, now, failures=failures).events


def step(
    previous: Mapping[str, SubjectState],
    scan: FleetScan,
    now: datetime,
    *,
    failures: int = 3,
    complete: bool = True,
) -> Step:
    """Compare ``scan`` with ``previous`` (the stored states): the events and the next states.

    A count the API did not report keeps its last known value: unknown is neither drift nor a
    fix. A pool or project that failed ``failures`` cycles in a row is "scan failing" once, and
    "recovered" when it answers again. A pool is gone only when its project listed fine and the
    pool was neither listed nor failing. With ``complete`` False (the scope itself could not be
    listed) nothing is gone and nothing recovers: only the failures count.
    """
    out = Step()
    for pool in scan.pools:
        _pool(out, previous.get(pool.pool_id), pool, now)
    failed_pools: set[str] = set()
    failed_projects: set[str] = set()
    for failure in scan.failures:
        if failure.scope == "pool" and failure.pool_id:
            failed_pools.add(failure.pool_id)
            _failed(out, previous.get(failure.pool_id), failure, failure.pool_id, now, failures)
        elif failure.scope == "project":
            key = project_key(failure.region, failure.project_id)
            failed_projects.add(key)
            _failed(out, previous.get(key), failure, key, now, failures)
    listed = {pool.pool_id for pool in scan.pools}
    for key, state in previous.items() if complete else ():
        if key in listed or key in failed_pools or key in failed_projects:
            continue
        if state.scope == "project":
            if project_key(state.region, None) in failed_projects:
                out.states[key] = state  # the region's IAM lookup failed: nothing known of it
            else:
                _project_answers(out, state, now)
        elif not _project_failed(state, failed_projects):
            _gone(out, state, now)
    return out


def _emit(out: Step, state: SubjectState, kind: EventKind, now: datetime, **values: object) -> SubjectState:
    """Record one event for ``state`` and return the state with its sequence advanced."""
    state = state.model_copy(update={"sequence": state.sequence + 1})
    event = Event(
        **state.subject(),
        kind=kind,
        at=now,
        sequence=state.sequence,
        desktop_count=state.desktop_count,
        counts=dict(state.counts),
        **values,
    )
    out.events.append(event)
    return state


def _counts(pool: PoolDrift, last: Counts) -> Counts:
    """The scan's counts, an unreported one keeping its last known value."""
    counts: Counts = {}
    for name in _FIELDS:
        value = getattr(pool.report, name)
        counts[name] = value if value is not None else last.get(name)
    return counts


_FIELDS = tuple(kind.field for kind in KINDS)


def _pool(out: Step, prev: SubjectState | None, pool: PoolDrift, now: datetime) -> None:
    before: Counts = dict(prev.counts) if prev else {}
    state = (prev or SubjectState(key=pool.pool_id, region=pool.region, seen_at=now)).model_copy(
        update={
            "pool_id": pool.pool_id,
            "pool_name": pool.pool_name,
            "project_id": pool.project_id,
            "region": pool.region,
            "desktop_count": pool.desktop_count,
            "counts": _counts(pool, before),
            "last_ok": now,
            "seen_at": now,
            "failures": 0,
        }
    )
    if prev is not None and prev.failing_episode is not None:
        state = _emit(
            out,
            state,
            EventKind.SCAN_RECOVERED,
            now,
            episode=prev.failing_episode,
            since=prev.failing_since,
            before=before,
            failures=prev.failures,
        )
        state = state.model_copy(update={"failing_episode": None, "failing_since": None})
    now_drifted = drifted(state.counts)
    if state.episode is None and now_drifted:
        episode = f"{state.key}/{now.isoformat()}"
        state = state.model_copy(update={"episode": episode, "drifting_since": now})
        state = _emit(out, state, EventKind.DRIFTED, now, episode=episode, since=now, before=before)
    elif state.episode is not None and not now_drifted:
        state = _emit(
            out,
            state,
            EventKind.RESOLVED,
            now,
            episode=state.episode,
            since=state.drifting_since,
            before=before,
        )
        state = state.model_copy(update={"episode": None, "drifting_since": None})
    elif state.episode is not None and state.counts != before:
        rose = any((state.counts.get(k) or 0) > (before.get(k) or 0) for k in state.counts)
        kind = EventKind.WORSE if rose else EventKind.BETTER
        state = _emit(out, state, kind, now, episode=state.episode, since=state.drifting_since, before=before)
    out.states[state.key] = state


def _failed(
    out: Step, prev: SubjectState | None, failure: ScanFailure, key: str, now: datetime, threshold: int
) -> None:
    state = prev or SubjectState(
        key=key,
        scope=failure.scope,
        pool_id=failure.pool_id,
        pool_name=failure.pool_name,
        project_id=failure.project_id,
        project_name=failure.project_name,
        region=failure.region,
        seen_at=now,
    )
    state = state.model_copy(update={"failures": state.failures + 1, "seen_at": now})
    if state.failures >= threshold and state.failing_episode is None:
        episode = f"{key}/failing/{now.isoformat()}"
        state = state.model_copy(update={"failing_episode": episode, "failing_since": now})
        state = _emit(
            out,
            state,
            EventKind.SCAN_FAILING,
            now,
            episode=episode,
            since=now,
            before=dict(state.counts),
            failures=state.failures,
            message=failure.message,
        )
    out.states[key] = state


def _project_answers(out: Step, state: SubjectState, now: datetime) -> None:
    """A project that had failed is no longer failing: say so if it was reported, then forget it."""
    if state.failing_episode is not None:
        _emit(
            out,
            state,
            EventKind.SCAN_RECOVERED,
            now,
            episode=state.failing_episode,
            since=state.failing_since,
            failures=state.failures,
        )
    out.removed.append(state.key)


def _project_failed(state: SubjectState, failed_projects: set[str]) -> bool:
    """Whether the pool's project could not be listed this cycle (then its pools are not gone)."""
    return bool(
        {project_key(state.region, state.project_id), project_key(state.region, None)} & failed_projects
    )


def _gone(out: Step, state: SubjectState, now: datetime) -> None:
    """The pool went away: one event closing each open episode (drift, failure), else one plain."""
    episodes: list[tuple[str | None, datetime | None]] = [
        (state.episode, state.drifting_since),
        (state.failing_episode, state.failing_since),
    ]
    open_ones = [pair for pair in episodes if pair[0] is not None] or [(None, None)]
    for episode, since in open_ones:
        state = _emit(
            out, state, EventKind.POOL_GONE, now, episode=episode, since=since, before=dict(state.counts)
        )
    out.removed.append(state.key)
