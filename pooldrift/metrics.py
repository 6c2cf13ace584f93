"""Prometheus metrics of the whole process (prometheus-client's default registry, with its
process and GC collectors): calls per front and outcome, and the upstream traffic under them.

The client records the upstream families itself; a front records one call per answer with
``record_call`` and serves ``render()`` at ``/metrics``. Outcome labels are the errors' own
(``PooldriftError.outcome``), so every front's lines can be joined.
"""

from __future__ import annotations

import math

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "BUDGET_EXHAUSTED",
    "BUDGET_WAIT_SECONDS",
    "CALLS",
    "CALL_SECONDS",
    "UPSTREAM_IN_FLIGHT",
    "UPSTREAM_REQUESTS",
    "UPSTREAM_RETRIES",
    "UPSTREAM_SECONDS",
    "UPSTREAM_STALE_CONNECTIONS",
    "UPSTREAM_THROTTLED",
    "UPSTREAM_UP",
    "record_call",
    "render",
]

#: seconds: a loopback emulator answers in ~1 ms, a real region in 50–500 ms, a retried call in seconds
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CALLS = Counter(
    "pooldrift_calls",
    "Answers given by each front (mcp, slack, cli), by operation and outcome (ok or the error's label).",
    ["front", "operation", "outcome"],
)
CALL_SECONDS = Histogram(
    "pooldrift_call_duration_seconds",
    "Time from a request reaching a front to its answer.",
    ["front", "operation"],
    buckets=_BUCKETS,
)
UPSTREAM_REQUESTS = Counter(
    "pooldrift_upstream_requests",
    "HTTP requests to the Workspace and IAM APIs, by answer status (or unreachable / timeout; "
    "cancelled: given up by pooldrift's caller before an answer, not an upstream failure).",
    ["status"],
)
UPSTREAM_SECONDS = Histogram(
    "pooldrift_upstream_request_duration_seconds",
    "Time of one upstream HTTP request (one attempt), answered or not.",
    buckets=_BUCKETS,
)
UPSTREAM_RETRIES = Counter(
    "pooldrift_upstream_retries",
    "Attempts made again after a retryable failure, by that failure's outcome label.",
    ["reason"],
)
UPSTREAM_STALE_CONNECTIONS = Counter(
    "pooldrift_upstream_stale_connections",
    "Requests sent again at once on another connection because the server had closed the kept-alive "
    "one as it was reused (its keep-alive ran out); not upstream failures, no retry counted.",
)
UPSTREAM_THROTTLED = Counter(
    "pooldrift_upstream_throttled",
    "429 answers from the API (APIGW.0308 and the like).",
)
UPSTREAM_IN_FLIGHT = Gauge(
    "pooldrift_upstream_in_flight",
    "Upstream HTTP requests under way now (bounded by POOLDRIFT_MAX_IN_FLIGHT).",
)
UPSTREAM_UP = Gauge(
    "pooldrift_upstream_up",
    "Whether the Workspace and IAM APIs answer this process: 1 after any answer below HTTP 500 "
    "(a 4xx too: reachable, and the error is counted where it is returned), 0 after a call whose "
    "every attempt met no connection, a timeout or a 5xx; NaN until a first call ends. "
    "Cancelled calls leave it as it was.",
)
UPSTREAM_UP.set(math.nan)  # unknown, not down: a process that has asked nothing yet pages nobody
BUDGET_WAIT_SECONDS = Histogram(
    "pooldrift_budget_wait_seconds",
    "Time a request waited for pooldrift's own request budget (POOLDRIFT_REQUESTS_PER_MINUTE).",
    buckets=(0.001, 0.01, 0.1, 1.0, 5.0, 15.0, 30.0, 60.0),
)
BUDGET_EXHAUSTED = Counter(
    "pooldrift_budget_exhausted",
    "Calls refused because the request budget would not free a slot before their deadline.",
)

FIXES = Counter(
    "pooldrift_fixes",
    "Fixes applied, by outcome: done, partly_done (a desktop failed, or a write may have been "
    "applied), failed, running (its jobs outlived the following).",
    ["outcome"],
)
FIX_WRITES = Counter(
    "pooldrift_fix_writes",
    "A fix's writes by operation and what came of them: submitted (a job), refused (not taken), "
    "unknown (may have been applied; never sent again).",
    ["operation", "status"],
)
FIX_JOB_SECONDS = Histogram(
    "pooldrift_fix_job_duration_seconds",
    "Time from a fix's write to the end of its job, as followed.",
    buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)


def record_call(front: str, operation: str, outcome: str, seconds: float) -> None:
    """One answered request of a front: its outcome and how long it took."""
    CALLS.labels(front, operation, outcome).inc()
    CALL_SECONDS.labels(front, operation).observe(seconds)


def render() -> tuple[bytes, str]:
    """The body and content type of a ``/metrics`` answer."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
