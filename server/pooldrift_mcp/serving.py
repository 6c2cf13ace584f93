"""How ``pooldrift-server`` runs its app: uvicorn, announced on stdout once it accepts
connections, and stopped by SIGTERM or SIGINT with a drain bounded by POOLDRIFT_SHUTDOWN_GRACE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

import uvicorn
from sse_starlette.sse import AppStatus
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from .settings import ServerSettings, base_url

__all__ = ["Drain", "serve"]

log = logging.getLogger("pooldrift.server")


@dataclass
class Drain:
    """How long a stop may still wait for answers in flight, counted from the first signal; and
    the MCP calls in flight (``track``), whose SSE streams a stop lets finish."""

    grace: float
    since: float | None = None
    #: called once, at the first signal (from the signal handler: they must only schedule work)
    listeners: list[Callable[[], object]] = field(default_factory=list)
    calls: int = 0

    def __post_init__(self) -> None:
        self._idle: asyncio.Event | None = None
        self._closer: asyncio.Task[None] | None = None

    def begin(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
            for listener in self.listeners:
                listener()

    def left(self) -> float:
        if self.since is None:
            return self.grace
        return max(0.0, self.grace - (time.monotonic() - self.since))

    def track(self, app: ASGIApp) -> ASGIApp:
        """``app`` (the MCP endpoint), counting its POSTs under way: each is one call, answered
        with JSON or with an SSE stream that carries its progress and then its answer."""

        async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["method"] != "POST":
                await app(scope, receive, send)
                return
            self.calls += 1
            try:
                await app(scope, receive, send)
            finally:
                self.calls -= 1
                if self.calls == 0 and self._idle is not None:
                    self._idle.set()

        return tracked

    def close_streams_when_idle(self) -> None:
        """From the first signal: once no call is under way (or the grace is spent), end the SSE
        streams still open — a 2025 client's GET stream never ends by itself, and uvicorn would
        otherwise wait the whole grace for it. sse-starlette's own drain ends every stream at
        the signal, the calls' too, so ``serve`` turns it off."""
        if self._closer is None:
            self._closer = asyncio.get_running_loop().create_task(self._close_streams())

    async def _close_streams(self) -> None:
        self._idle = asyncio.Event()
        if self.calls:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.left())
        AppStatus.should_exit = True


class AnnouncingServer(uvicorn.Server):
    """uvicorn, announcing on stdout once its socket accepts connections (tests and scripts
    wait for that line; with port 0 it carries the port picked), and counting the drain from
    the first signal."""

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self.drain = drain

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            port = self.servers[0].sockets[0].getsockname()[1]
            url = base_url(self.config.host, port)
            sys.stdout.write(f"pooldrift-server listening on {url} (MCP at {url}/mcp)\n")
            sys.stdout.flush()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain.since is None:
            log.info("stopping: answers in flight get up to %g s", self.drain.grace)
            # a signal handler runs between two steps of the loop: start the closer from the loop
            asyncio.get_running_loop().call_soon_threadsafe(self.drain.close_streams_when_idle)
        self.drain.begin()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn raises the signal again once it has stopped, so a drained stop would end
        # with 143 (SIGTERM); a stop that drained is a success
        handlers = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


async def serve(app: Starlette, settings: ServerSettings, drain: Drain) -> int:
    """Serve until SIGINT/SIGTERM; the exit status for ``main``."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        # requests in flight finish within the grace; the lifespan gives Slack what is left
        # (typed int, but uvicorn waits with asyncio.wait_for, which takes any number of seconds)
        timeout_graceful_shutdown=max(settings.shutdown_grace, 0.1),  # type: ignore[arg-type]
    )
    server = AnnouncingServer(config, drain)
    # the drain ends the streams (Drain.close_streams_when_idle), not sse-starlette at the signal
    AppStatus.enable_automatic_graceful_drain = False
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind
        return int(exc.code or 1)
    return 0 if server.started else 1
