"""The pure diff: each kind of event from stored states and a scan, episodes and sequences that
key deliveries, and unknown counts that are neither drift nor resolution."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pooldrift.fleet import FleetScan, FleetTotals, PoolDrift, ScanFailure
from pooldrift.models import DriftReport
from pooldrift.watch.events import diff, project_key, step
from pooldrift.watch.models import Event, EventKind, SubjectState, duration, trend

PROJECT = "0123456789abcdef0123456789abcdef"
A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
ZERO = {"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 0}


def pool(pool_id: str, name: str, **counts: int | None) -> PoolDrift:
    values = {**ZERO, **counts}
    report = DriftReport(pool_id=pool_id, project_id=PROJECT, region="cn-north-4", fetched_at=T0, **values)
    return PoolDrift(
        pool_id=pool_id,
        pool_name=name,
        project_id=PROJECT,
        region="cn-north-4",
        desktop_count=20,
        report=report,
    )


def failure(pool_id: str | None = None, *, project: str | None = PROJECT) -> ScanFailure:
    return ScanFailure(
        scope="pool" if pool_id else "project",
        region="cn-north-4",
        project_id=project,
        pool_id=pool_id,
        pool_name="lab" if pool_id else None,
        outcome="server_error",
        message="the API answered 503",
    )


def scan(*pools: PoolDrift, failures: tuple[ScanFailure, ...] = ()) -> FleetScan:
    totals = FleetTotals(
        projects=1,
        failed_projects=0,
        pools=len(pools),
        drifted_pools=0,
        consistent_pools=0,
        unknown_pools=0,
        failed_pools=0,
        desktops=0,
        drifted_desktops_at_least=0,
    )
    return FleetScan(pools=list(pools), failures=list(failures), totals=totals, scanned_at=T0)


class Run:
    """Cycles one after another, each a minute later, carrying the states like the engine does."""

    def __init__(self, failures: int = 3) -> None:
        self.states: dict[str, SubjectState] = {}
        self.now = T0
        self.failures = failures

    def cycle(self, found: FleetScan) -> list[Event]:
        result = step(self.states, found, self.now, failures=self.failures)
        assert diff(self.states, found, self.now, failures=self.failures) == result.events
        self.states = {k: v for k, v in {**self.states, **result.states}.items() if k not in result.removed}
        self.now += timedelta(minutes=1)
        return result.events


def kinds(events: list[Event]) -> list[tuple[str, EventKind]]:
    return [(e.key, e.kind) for e in events]


def test_a_consistent_pool_seen_first_is_no_event_and_unchanged_cycles_are_silent() -> None:
    run = Run()
    assert run.cycle(scan(pool(A, "hr"))) == []
    assert run.states[A].counts == ZERO and run.states[A].episode is None
    assert run.cycle(scan(pool(A, "hr"))) == []
    assert run.states[A].last_ok == T0 + timedelta(minutes=1)


def test_one_episode_drifted_worse_better_resolved() -> None:
    run = Run()
    run.cycle(scan(pool(A, "hr")))
    (drifted,) = run.cycle(scan(pool(A, "hr", image_id=3)))
    assert drifted.kind == EventKind.DRIFTED and drifted.before == ZERO and drifted.counts["image_id"] == 3
    assert drifted.since == T0 + timedelta(minutes=1) and drifted.episode is not None
    assert run.states[A].drifting_since == drifted.since
    assert run.cycle(scan(pool(A, "hr", image_id=3))) == []
    (worse,) = run.cycle(scan(pool(A, "hr", image_id=3, product_id=2)))
    (better,) = run.cycle(scan(pool(A, "hr", image_id=1, product_id=2)))
    # a count rose while another fell: something got worse
    (mixed,) = run.cycle(scan(pool(A, "hr", image_id=0, product_id=4)))
    (resolved,) = run.cycle(scan(pool(A, "hr")))
    assert [e.kind for e in (worse, better, mixed, resolved)] == ["worse", "better", "worse", "resolved"]
    episode = {e.episode for e in (drifted, worse, better, mixed, resolved)}
    assert episode == {drifted.episode}, "one episode, one Slack message"
    keys = [e.delivery_key for e in (drifted, worse, better, mixed, resolved)]
    assert len(set(keys)) == 5 and [e.sequence for e in (drifted, worse, better, mixed, resolved)] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert resolved.since == drifted.since and resolved.before["product_id"] == 4
    assert run.states[A].episode is None and run.states[A].drifting_since is None
    # drifting again is a new episode
    (again,) = run.cycle(scan(pool(A, "hr", disk_num=1)))
    assert again.kind == EventKind.DRIFTED and again.episode != drifted.episode and again.sequence == 6


def test_a_pool_first_seen_drifted_alerts_once() -> None:
    run = Run()
    (event,) = run.cycle(scan(pool(A, "hr", disk_size=4), pool(B, "qa")))
    assert event.kind == EventKind.DRIFTED and event.before == {} and event.key == A
    assert run.cycle(scan(pool(A, "hr", disk_size=4), pool(B, "qa"))) == []


def test_unknown_counts_are_neither_drift_nor_resolution() -> None:
    run = Run()
    assert run.cycle(scan(pool(A, "hr", image_id=None, disk_num=None))) == []
    assert run.states[A].counts["image_id"] is None
    (drifted,) = run.cycle(scan(pool(A, "hr", image_id=5)))
    # the image count goes unreported: it keeps 5, no "resolved", no "better"
    assert run.cycle(scan(pool(A, "hr", image_id=None))) == []
    assert run.states[A].counts["image_id"] == 5 and run.states[A].episode == drifted.episode
    # all four unreported: nothing changes
    assert run.cycle(scan(pool(A, "hr", product_id=None, image_id=None, disk_num=None, disk_size=None))) == []
    (resolved,) = run.cycle(scan(pool(A, "hr", image_id=0, disk_num=None)))
    assert resolved.kind == EventKind.RESOLVED


def test_pool_gone_closes_its_episode_and_is_forgotten() -> None:
    run = Run()
    run.cycle(scan(pool(A, "hr", image_id=2), pool(B, "qa")))
    events = run.cycle(scan())
    assert sorted(kinds(events)) == [(A, EventKind.POOL_GONE), (B, EventKind.POOL_GONE)]
    gone_a = next(e for e in events if e.key == A)
    gone_b = next(e for e in events if e.key == B)
    assert gone_a.episode == run_episode(events, A) and gone_a.since == T0
    assert gone_b.episode is None, "a pool that was in line had no alert to close"
    assert run.states == {}


def run_episode(events: list[Event], key: str) -> str | None:
    return next(e.episode for e in events if e.key == key)


def test_a_project_that_fails_to_list_does_not_make_its_pools_gone() -> None:
    run = Run(failures=2)
    run.cycle(scan(pool(A, "hr", image_id=2)))
    assert run.cycle(scan(failures=(failure(),))) == []
    (failing,) = run.cycle(scan(failures=(failure(),)))
    key = project_key("cn-north-4", PROJECT)
    assert failing.kind == EventKind.SCAN_FAILING and failing.key == key and failing.failures == 2
    assert failing.scope == "project" and failing.message == "the API answered 503"
    assert run.cycle(scan(failures=(failure(),))) == [], "said once"
    # an IAM failure (no project id) protects the region's pools as well
    assert run.cycle(scan(failures=(failure(project=None),))) == []
    assert run.states[key].failing_episode == failing.episode and A in run.states
    (recovered,) = run.cycle(scan(pool(A, "hr", image_id=2)))
    assert recovered.kind == EventKind.SCAN_RECOVERED and recovered.episode == failing.episode
    assert set(run.states) == {A}


def test_scan_failing_after_n_cycles_then_recovered() -> None:
    run = Run(failures=3)
    run.cycle(scan(pool(A, "hr", image_id=1)))
    assert run.cycle(scan(failures=(failure(A),))) == []
    assert run.cycle(scan(failures=(failure(A),))) == []
    (failing,) = run.cycle(scan(failures=(failure(A),)))
    assert failing.kind == EventKind.SCAN_FAILING and failing.failures == 3 and failing.key == A
    assert failing.episode != run.states[A].episode, "its own message, beside the drift one"
    assert run.states[A].counts["image_id"] == 1, "a failure reports nothing about drift"
    assert run.cycle(scan(failures=(failure(A),))) == []
    events = run.cycle(scan(pool(A, "hr", image_id=4)))
    assert [e.kind for e in events] == ["scan_recovered", "worse"]
    assert events[0].episode == failing.episode and events[0].sequence + 1 == events[1].sequence
    assert run.states[A].failures == 0 and run.states[A].failing_episode is None


def test_a_new_pool_failing_from_the_start() -> None:
    run = Run(failures=1)
    (failing,) = run.cycle(scan(failures=(failure(B),)))
    assert failing.pool_name == "lab" and failing.scope == "pool"
    (recovered,) = run.cycle(scan(pool(B, "lab")))
    assert recovered.kind == EventKind.SCAN_RECOVERED


def test_a_project_recovers() -> None:
    run = Run(failures=1)
    run.cycle(scan(failures=(failure(),)))
    (recovered,) = run.cycle(scan(pool(A, "hr")))
    assert recovered.kind == EventKind.SCAN_RECOVERED and recovered.scope == "project"
    assert set(run.states) == {A}


def test_a_restart_compares_with_the_stored_state() -> None:
    """What a restarted watch does: the same stored states, a change made while it was down."""
    first = Run()
    first.cycle(scan(pool(A, "hr", image_id=2)))
    stored: Mapping[str, SubjectState] = {
        k: SubjectState.model_validate_json(v.model_dump_json()) for k, v in first.states.items()
    }
    later = T0 + timedelta(hours=1)
    assert diff(stored, scan(pool(A, "hr", image_id=2)), later) == []
    (event,) = diff(stored, scan(pool(A, "hr", image_id=9)), later)
    assert event.kind == EventKind.WORSE and event.since == T0


def test_trend_and_duration() -> None:
    run = Run()
    run.cycle(scan(pool(A, "hr")))
    history = [
        *run.cycle(scan(pool(A, "hr", image_id=5))),
        *run.cycle(scan(pool(A, "hr", image_id=12))),
        *run.cycle(scan(pool(A, "hr", image_id=0))),
    ]
    assert trend(history) == "0 → 5 → 12 → 0 since 2024-05-01 02:01 UTC"
    assert trend([]) == ""
    assert trend(run.cycle(scan())) == "gone since 2024-05-01 02:04 UTC"
    assert duration(3 * 3600 + 20 * 60) == "3 h 20 min"
    assert duration(2 * 86400 + 3600) == "2 d 1 h" and duration(45) == "45 s" and duration(600) == "10 min"
    assert duration(7200) == "2 h" and duration(86400) == "1 d"
