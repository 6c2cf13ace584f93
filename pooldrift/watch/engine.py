"""The watch itself: ``cycle()`` scans the scope, diffs against the stored states, writes states,
history and Slack deliveries at once and sets the gauges; ``deliver()`` drains the outbox to
Slack; ``run(stop)`` does both every interval, on one replica at a time (the lease).

A store that lost its history (its marker gone, or emptied where this watch knew states) is said
once, in the log and in Slack, and the drift of that cycle's scan is taken as already known: a
Redis restarted without its data does not re-announce the whole fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..client import WorkspaceClient
from ..errors import PooldriftError
from ..fleet import FleetScan, ScanFailure, scan_fleet
from .delivery import Deliverer, DeliveryReport
from .events import Step, step
from .metrics import CYCLE_SECONDS, CYCLES, EVENTS, LEADER, OUTBOX, POOLS
from .models import EventKind, HistoryMarker, OutboxItem, SubjectState
from .settings import WatchSettings, require_interval
from .slack import SlackWeb
from .store import LeaseLostError, StateStore, StoreUnavailableError

__all__ = ["CycleReport", "Watch"]

log = logging.getLogger("pooldrift.watch")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CycleReport:
    """What one cycle saw and did (the line the watch logs)."""

    pools: int
    drifted: int
    failures: int
    events: int
    queued: int
    seconds: float
    cpu_seconds: float
    scan: FleetScan

    def line(self) -> str:
        return (
            f"{self.pools} pools ({self.drifted} drifted, {self.failures} failed), "
            f"{self.events} events, {self.queued} alerts queued, {self.seconds:.2f} s "
            f"({self.cpu_seconds:.2f} s CPU)"
        )


class Watch:
    """One watcher: its settings, a client for the scans, a state store and (optional) Slack."""

    def __init__(
        self,
        settings: WatchSettings,
        client: WorkspaceClient,
        store: StateStore,
        *,
        slack: SlackWeb | None = None,
        clock: Clock = _utc_now,
        owner: str | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self.clock = clock
        #: who holds the lease: host, process and a random part (two watches on one host differ)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.deliverer = Deliverer(settings, store, slack, clock=clock) if slack and settings.alerts else None
        self._leading = False
        #: the store's marker last seen in this process's life: gone later, the history was lost
        self._marker: HistoryMarker | None = None
        #: open drift episodes after this watch's last cycle while it leads (None: not known)
        self._episodes: int | None = None
        #: the subjects after that cycle, and after a loss those of them not scanned since: the
        #: first drift of each is the new baseline (a project that did not list then lists later)
        self._keys: set[str] = set()
        self._unscanned: set[str] = set()

    # -- one cycle -----------------------------------------------------------------------------

    async def _scan(self) -> tuple[FleetScan, bool]:
        """The scope's scan; when the scope itself cannot be listed, one failure for it (incomplete)."""
        try:
            found = await scan_fleet(
                self.client, regions=self.settings.regions, all_projects=self.settings.all_projects
            )
            return found, True
        except PooldriftError as exc:
            failure = ScanFailure.of(
                exc, region=self.client.region, project_id=None, project_name="the scope"
            )
            return FleetScan.of(0, [], [failure], self.clock()), False

    async def cycle(self) -> CycleReport:
        """Scan, diff with the stored states, and write states, history and deliveries at once."""
        started, cpu = time.perf_counter(), time.process_time()
        found, complete = await self._scan()
        now = self.clock()
        stored = await self.store.marker()
        previous = await self.store.load()
        lost = self._lost(stored, previous)
        if lost:
            self._unscanned = set(self._keys)
        result = step(previous, found, now, failures=self.settings.failures, complete=complete)
        muted = await self.store.muted(now) if self.settings.alerts else {}
        channel = self.settings.channel
        # after a loss, drift the store no longer knew is the new baseline, not news
        baseline = set(self._unscanned)
        if lost:
            baseline |= {key for key in result.states if key not in previous}
        queued = [
            OutboxItem(key=event.delivery_key, channel=channel, event=event, due=now)
            for event in result.events
            if channel is not None
            and event.episode is not None
            and event.key not in muted
            and not (event.kind == EventKind.DRIFTED and event.key in baseline)
        ]
        fresh = HistoryMarker(began=now, by=self.owner) if stored is None else None
        try:
            await self.store.commit(
                result,
                queued,
                now,
                keep_days=self.settings.history_days,
                owner=self.owner if self._leading else None,
                marker=fresh,
            )
        except LeaseLostError:
            CYCLES.labels("lease_lost").inc()
            raise
        if lost:
            self._say_lost(result, previous)
        self._unscanned -= {pool.pool_id for pool in found.pools}
        self._marker = stored or fresh
        states = {**previous, **result.states}
        kept = [s for key, s in states.items() if key not in result.removed]
        self._episodes = sum(1 for s in kept if s.episode)
        self._keys = {s.key for s in kept if s.scope == "pool"}
        POOLS.update(found, states, result.removed, now.timestamp())
        for event in result.events:
            EVENTS.labels(event.kind.value).inc()
        seconds = time.perf_counter() - started
        CYCLES.labels("ok" if complete else "failed").inc()
        CYCLE_SECONDS.observe(seconds)
        return CycleReport(
            pools=found.totals.pools,
            drifted=found.totals.drifted_pools,
            failures=len(found.failures),
            events=len(result.events),
            queued=len(queued),
            seconds=seconds,
            cpu_seconds=time.process_time() - cpu,
            scan=found,
        )

    def _lost(self, stored: HistoryMarker | None, previous: dict[str, SubjectState]) -> bool:
        """Whether the store lost its history since this watch last looked: the marker it saw is
        gone, or the store is empty where this watch's last cycle left states. A store without a
        marker that this process never saw one in (a first start, or a store from before the
        marker) is not a loss: the marker is written and that is all."""
        knew_states = self._episodes is not None and bool(self._keys)
        if stored is None:
            return self._marker is not None or knew_states
        return knew_states and not previous

    def _say_lost(self, result: Step, previous: dict[str, SubjectState]) -> None:
        """One warning line and (with Slack) one message: the history is gone, this scan is the
        new baseline."""
        known = (len(self._keys), self._episodes) if self._episodes is not None else None
        marker = self._marker
        pools, episodes = known or (0, 0)
        knew = (
            f"{pools} pools and {episodes} open drift episodes it knew"
            if known is not None
            else "what another replica knew"
        )
        baseline = sum(1 for k, s in result.states.items() if k not in previous and s.episode is not None)
        log.warning(
            "the watch's state store %r lost its history (its marker%s is gone): %s, their Slack "
            "messages and waiting alerts are forgotten; the drift found now (%d drifted pools in "
            "this scan) is taken as already known, not announced again",
            self.store,
            f" of {marker.began:%Y-%m-%d %H:%M:%S} UTC" if marker and marker.began else "",
            knew,
            baseline,
        )
        if self.deliverer is not None and self.settings.channel is not None:
            self.deliverer.tell(
                self.settings.channel,
                ":warning: The drift watch lost its history: its state store no longer holds it "
                f"(a Redis restarted without its data?), so it forgot {knew}. The drift it finds "
                f"now ({baseline} drifted pools in this scan) is taken as already known, not "
                "announced again; new drift and resolutions are announced as before.",
            )

    async def deliver(self) -> DeliveryReport:
        """Drain the outbox to Slack in order, as far as Slack and the quiet hours let it."""
        if self.deliverer is None:
            return DeliveryReport()
        report = await self.deliverer.deliver(self.owner if self._leading else None)
        OUTBOX.set(report.pending)
        return report

    async def once(self) -> tuple[CycleReport, DeliveryReport] | None:
        """One cycle and its deliveries under the lease (``pooldrift watch --once``, cron); None
        when another watch holds the lease, so a cron job never runs beside a running watch. A
        store that cannot give the lease is its error (``StoreUnavailableError``), not a holder."""
        if not await self._lead(strict=True):
            return None
        keepalive = asyncio.create_task(self._keepalive())
        try:
            return await self.cycle(), await self.deliver()
        finally:
            keepalive.cancel()
            await self.store.release(self.owner)
            self._leading = False
            LEADER.set(0)

    # -- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Every interval until ``stop`` is set: a cycle and a delivery, while this watch holds
        the lease. Others look every quarter interval and take over once it expires."""
        interval = require_interval(self.settings)
        poll = interval / 4
        loop = asyncio.get_running_loop()
        next_cycle = loop.time()
        try:
            while not stop.is_set():
                if await self._lead():
                    if loop.time() >= next_cycle:
                        next_cycle = max(next_cycle + interval, loop.time())
                        await self._turn()
                    elif self.deliverer is not None and await self.store.pending():
                        await self.deliver()
                    wake = min(next_cycle, loop.time() + poll)
                else:
                    await self._note_marker()
                    next_cycle = loop.time()  # on taking over: a cycle at once
                    wake = loop.time() + poll  # meanwhile, look at the lease's pace, not at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, wake - loop.time()))
        finally:
            if self._leading:
                await self.store.release(self.owner)
                self._leading = False
                LEADER.set(0)

    async def _note_marker(self) -> None:
        """While another replica leads: the store's marker (one GET), so that this replica, taking
        over a store that lost it meanwhile, knows the history was lost rather than never kept."""
        try:
            stored = await self.store.marker()
        except StoreUnavailableError:
            return
        if stored is not None:
            self._marker = stored

    async def _lead(self, *, strict: bool = False) -> bool:
        """Take or renew the lease; say when this watch starts or stops leading. ``strict``: a
        store that does not answer is raised rather than taken as not leading."""
        try:
            leading = await self.store.lease(self.owner, self.settings.lease_ttl)
            if not leading:
                self._episodes = None  # another replica's cycles change the states: this is stale
        except StoreUnavailableError as exc:  # the store is down: nobody can lead safely from here
            if strict:
                raise
            log.warning("cannot reach the watch's state store (%s); not watching for now", exc.message)
            leading = False
        if leading != self._leading:
            log.info("%s the watch (%s)", "leading" if leading else "another replica leads", self.owner)
            LEADER.set(1 if leading else 0)
        self._leading = leading
        return leading

    async def _turn(self) -> None:
        """One cycle and a delivery, the lease renewed meanwhile; failures are logged, not raised."""
        keepalive = asyncio.create_task(self._keepalive())
        try:
            report = await self.cycle()
            delivered = await self.deliver()
            log.info("cycle: %s; %s", report.line(), delivered.line())
        except LeaseLostError:
            log.warning("lost the lease during a cycle; its results were dropped")
            self._leading = False
            LEADER.set(0)
        except (PooldriftError, StoreUnavailableError) as exc:
            CYCLES.labels("failed").inc()
            log.error("cycle failed: %s", exc.message)
        finally:
            keepalive.cancel()

    async def _keepalive(self) -> None:
        """Renew the lease every quarter interval while a long cycle runs."""
        poll = self.settings.lease_ttl / 6
        while True:
            await asyncio.sleep(poll)
            try:
                await self.store.lease(self.owner, self.settings.lease_ttl)
            except StoreUnavailableError as exc:
                log.debug("lease renewal failed: %s", exc.message)
