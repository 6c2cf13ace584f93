"""The watch's Prometheus metrics (the process's default registry, beside ``pooldrift.metrics``):
per pool, its drifted desktops by kind, desktops, last successful check and failing checks; and
the watch's own cycles, events, Slack deliveries, outbox and leadership.

Pool series carry ``pool_id``, ``pool_name``, ``project_id`` and ``region``; a pool that is gone
(or renamed) has its old series removed, so an alert rule never fires on a pool that is no more.
"""

from __future__ import annotations

import contextlib

from prometheus_client import Counter, Gauge, Histogram

from ..fleet import FleetScan
from .models import KINDS, SubjectState

__all__ = [
    "CYCLES",
    "CYCLE_SECONDS",
    "DELIVERIES",
    "EVENTS",
    "LEADER",
    "OUTBOX",
    "POOL_DESKTOPS",
    "POOL_DRIFTED",
    "POOL_LAST_SUCCESS",
    "POOL_SCAN_FAILURES",
    "PoolGauges",
]

_POOL = ("pool_id", "pool_name", "project_id", "region")

POOL_DRIFTED = Gauge(
    "pooldrift_pool_drifted_desktops",
    "Desktops of the pool that differ from its configuration in this way (kind: product_id, image_id, "
    "disk_num, disk_size); absent when the API did not report it.",
    [*_POOL, "kind"],
)
POOL_DESKTOPS = Gauge("pooldrift_pool_desktops", "Desktops in the pool, as last reported.", _POOL)
POOL_LAST_SUCCESS = Gauge(
    "pooldrift_pool_last_success_timestamp_seconds",
    "When the watch last read the pool's drift counts (Unix time).",
    _POOL,
)
POOL_SCAN_FAILURES = Gauge(
    "pooldrift_pool_scan_failures", "Checks of the pool that failed in a row (0 after a success).", _POOL
)
CYCLES = Counter("pooldrift_watch_cycles", "Watch cycles, by outcome (ok, failed, lease_lost).", ["outcome"])
CYCLE_SECONDS = Histogram(
    "pooldrift_watch_cycle_duration_seconds",
    "Time of one watch cycle: the scan, the diff and the writes.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
EVENTS = Counter("pooldrift_watch_events", "Changes the watch found, by event.", ["event"])
DELIVERIES = Counter(
    "pooldrift_watch_slack_deliveries",
    "Slack deliveries from the outbox, by outcome (delivered, retried, refused, dropped, muted).",
    ["outcome"],
)
OUTBOX = Gauge("pooldrift_watch_outbox_pending", "Slack deliveries waiting in the outbox.")
LEADER = Gauge("pooldrift_watch_leader", "1 while this process holds the watch's lease and runs its cycles.")


class PoolGauges:
    """Sets the per-pool series after each cycle and removes those of pools no longer watched."""

    def __init__(self) -> None:
        self._labels: dict[str, tuple[str, str, str, str]] = {}

    def update(
        self, scan: FleetScan, states: dict[str, SubjectState], removed: list[str], now: float
    ) -> None:
        for pool in scan.pools:
            labels = (pool.pool_id, pool.pool_name, pool.project_id, pool.region)
            self._relabel(pool.pool_id, labels)
            for kind in KINDS:
                count = pool.report.count(kind)
                if count is None:
                    _remove(POOL_DRIFTED, *labels, kind.field)
                else:
                    POOL_DRIFTED.labels(*labels, kind.field).set(count)
            if pool.desktop_count is None:
                _remove(POOL_DESKTOPS, *labels)
            else:
                POOL_DESKTOPS.labels(*labels).set(pool.desktop_count)
            POOL_LAST_SUCCESS.labels(*labels).set(now)
            POOL_SCAN_FAILURES.labels(*labels).set(0)
        for failure in scan.failures:
            state = states.get(failure.pool_id or "")
            if failure.scope != "pool" or state is None:
                continue
            labels = (state.key, state.pool_name or "", state.project_id or "", state.region)
            self._relabel(state.key, labels)
            POOL_SCAN_FAILURES.labels(*labels).set(state.failures)
        for key in removed:
            self._forget(key)

    def _relabel(self, pool_id: str, labels: tuple[str, str, str, str]) -> None:
        if self._labels.get(pool_id, labels) != labels:
            self._forget(pool_id)  # renamed (or moved): the old series would linger
        self._labels[pool_id] = labels

    def _forget(self, pool_id: str) -> None:
        labels = self._labels.pop(pool_id, None)
        if labels is None:
            return
        for kind in KINDS:
            _remove(POOL_DRIFTED, *labels, kind.field)
        for gauge in (POOL_DESKTOPS, POOL_LAST_SUCCESS, POOL_SCAN_FAILURES):
            _remove(gauge, *labels)

    def clear(self) -> None:
        for pool_id in list(self._labels):
            self._forget(pool_id)


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set
        gauge.remove(*labels)
