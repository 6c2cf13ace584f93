"""The platform's routes of ``pooldrift-server``: ``/healthz`` (the process is up), ``/readyz``
(configured and able to serve; the upstream's health in the body) and ``/metrics``.

Readiness never turns on the upstream API: bad keys or an outage would take every replica out
of the load balancer at once, and users would get a proxy's 503 instead of a worded answer.
``pooldrift_upstream_up`` is the client's (every call's answer sets it); a check cut short by
its own timeout sets it to 0.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pooldrift import metrics
from pooldrift.client import WorkspaceClient
from pooldrift.errors import PooldriftError
from pooldrift.metrics import render

from .auth import bearer_matches
from .runtime import Runtime

__all__ = ["UPSTREAM_UP", "UpstreamHealth", "probe_routes"]

log = logging.getLogger("pooldrift.server")

#: the upstream is asked at most this often (probes must not eat the request budget)
CHECK_EVERY_SECONDS = 15.0
CHECK_TIMEOUT_SECONDS = 5.0

UPSTREAM_UP = metrics.UPSTREAM_UP


class UpstreamHealth:
    """The last answer of a one-pool listing, refreshed in the background when it is stale, so
    ``/readyz`` answers at once whatever the API does."""

    def __init__(self, *, every: float = CHECK_EVERY_SECONDS, timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
        self._every = every
        self._timeout = timeout
        self._checked_at: float | None = None
        self._problem: str | None = None
        self._task: asyncio.Task[None] | None = None

    def refresh(self, client: WorkspaceClient) -> None:
        """Start a check unless one is under way or the last one is recent."""
        fresh = self._checked_at is not None and time.monotonic() - self._checked_at < self._every
        if fresh or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.create_task(self._check(client), name="pooldrift-upstream-check")

    async def _check(self, client: WorkspaceClient) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await client.list_pools(max_items=1)
        except TimeoutError:
            self._problem = f"the Workspace API did not answer within {self._timeout:g} s"
            # the call was cancelled, which leaves the gauge alone; no answer this long is "down"
            UPSTREAM_UP.set(0)
        except PooldriftError as exc:
            self._problem = exc.message
        else:
            self._problem = None
        self._checked_at = time.monotonic()
        if self._problem:
            log.warning("upstream check failed: %s", self._problem)

    def report(self) -> dict[str, Any]:
        if self._checked_at is None:
            return {"ok": None, "reason": "not checked yet"}
        age = round(time.monotonic() - self._checked_at, 1)
        if self._problem is None:
            return {"ok": True, "checked_seconds_ago": age}
        return {"ok": False, "reason": self._problem, "checked_seconds_ago": age}

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def probe_routes(
    runtime: Callable[[], Runtime | None], health: UpstreamHealth, *, metrics_token: SecretStr | None
) -> list[Route]:
    """The three routes; ``runtime`` returns the running runtime (None while starting or stopping)."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        current = runtime()
        client = current.connect() if current else None
        if current is None or client is None:
            reason = current.config_error.message if current and current.config_error else "starting"
            return JSONResponse({"ready": False, "reason": reason}, status_code=503)
        health.refresh(client)
        return JSONResponse({"ready": True, "upstream": health.report()})

    async def metrics(request: Request) -> Response:
        offered = request.headers.get("authorization")
        if metrics_token is not None and not bearer_matches(offered, metrics_token):
            return JSONResponse(
                {"error": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        body, content_type = render()
        return Response(body, media_type=content_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
