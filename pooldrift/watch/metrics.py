"""The watch's Prometheus metrics (the process's default registry, beside ``pooldrift.metrics``):
per pool, its drifted desktops by kind, desktops, last successful check and failing checks; and
the watch's own cycles, events, Slack deliveries, outbox and leadership.

Pool series carry ``pool_id``, ``pool_name``, ``project_id`` and ``region``; they are made at
scrape time from the last cycle's view, so a gone pool's series go, and no rule fires on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ..fleet import FleetScan
from .models import KINDS, SubjectState

__all__ = [
    "CYCLES",
    "CYCLE_SECONDS",
    "DELIVERIES",
    "EVENTS",
    "LEADER",
    "OUTBOX",
    "POOLS",
    "PoolCollector",
]

_POOL = ["pool_id", "pool_name", "project_id", "region"]
_FAMILIES = {
    "drifted": (
        "pooldrift_pool_drifted_desktops",
        "Desktops of the pool that differ from its configuration in this way (kind: product_id, "
        "image_id, disk_num, disk_size); absent when the API did not report it.",
    ),
    "desktops": ("pooldrift_pool_desktops", "Desktops in the pool, as last reported."),
    "last_ok": (
        "pooldrift_pool_last_success_timestamp_seconds",
        "When the watch last read the pool's drift counts (Unix time).",
    ),
    "failures": (
        "pooldrift_pool_scan_failures",
        "Checks of the pool that failed in a row (0 after a success).",
    ),
}


@dataclass(frozen=True)
class _Pool:
    labels: tuple[str, str, str, str]
    counts: dict[str, int | None]
    desktops: int | None
    last_ok: float | None
    failures: int


class PoolCollector(Collector):
    """The per-pool series, made at scrape time from the last cycle's view of each pool: a cycle
    replaces one dict (no series object per pool to keep in step), and a pool gone from it is
    gone from ``/metrics``."""

    def __init__(self) -> None:
        self._pools: dict[str, _Pool] = {}

    def describe(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(*_FAMILIES["drifted"], labels=[*_POOL, "kind"])
        for key in ("desktops", "last_ok", "failures"):
            yield GaugeMetricFamily(*_FAMILIES[key], labels=_POOL)

    def collect(self) -> Iterable[Metric]:
        pools = self._pools  # one read: a cycle swaps in a whole new dict
        drifted = GaugeMetricFamily(*_FAMILIES["drifted"], labels=[*_POOL, "kind"])
        desktops = GaugeMetricFamily(*_FAMILIES["desktops"], labels=_POOL)
        last_ok = GaugeMetricFamily(*_FAMILIES["last_ok"], labels=_POOL)
        failures = GaugeMetricFamily(*_FAMILIES["failures"], labels=_POOL)
        for pool in pools.values():
            labels = list(pool.labels)
            for kind, count in pool.counts.items():
                if count is not None:
                    drifted.add_metric([*labels, kind], count)
            if pool.desktops is not None:
                desktops.add_metric(labels, pool.desktops)
            if pool.last_ok is not None:
                last_ok.add_metric(labels, pool.last_ok)
            failures.add_metric(labels, pool.failures)
        yield from (drifted, desktops, last_ok, failures)

    def update(
        self, scan: FleetScan, states: dict[str, SubjectState], removed: list[str], now: float
    ) -> None:
        """The pools of ``scan`` as they are now; failing ones keep their last counts; ``removed`` go."""
        pools = dict(self._pools)
        for found in scan.pools:
            report = found.report
            pools[found.pool_id] = _Pool(
                labels=(found.pool_id, found.pool_name, found.project_id, found.region),
                counts={field: getattr(report, field) for field in _FIELDS},
                desktops=found.desktop_count,
                last_ok=now,
                failures=0,
            )
        for failure in scan.failures:
            state = states.get(failure.pool_id or "")
            if failure.scope != "pool" or state is None:
                continue
            before = pools.get(state.key)
            pools[state.key] = _Pool(
                labels=(state.key, state.pool_name or "", state.project_id or "", state.region),
                counts=before.counts if before else {},
                desktops=before.desktops if before else state.desktop_count,
                last_ok=state.last_ok.timestamp() if state.last_ok else None,
                failures=state.failures,
            )
        for key in removed:
            pools.pop(key, None)
        self._pools = pools


_FIELDS = tuple(kind.field for kind in KINDS)
#: registered once per process; every watch in it reports its pools here
POOLS = PoolCollector()
REGISTRY.register(POOLS)

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
