"""How ``pooldrift-server`` runs its app: uvicorn, announced on stdout once it accepts
connections, and stopped by SIGTERM or SIGINT with a drain bounded by POOLDRIFT_SHUTDOWN_GRACE.
"""

from __future__ import annotations

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
from starlette.applications import Starlette

from .settings import ServerSettings, base_url

__all__ = ["Drain", "serve"]

log = logging.getLogger("pooldrift.server")


@dataclass
class Drain:
    """How long a stop may still wait for answers in flight, counted from the first signal."""

    grace: float
    since: float | None = None
    #: called once, at the first signal (from the signal handler: they must only schedule work)
    listeners: list[Callable[[], object]] = field(default_factory=list)

    def begin(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
            for listener in self.listeners:
                listener()

    def left(self) -> float:
        if self.since is None:
            return self.grace
        return max(0.0, self.grace - (time.monotonic() - self.since))


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
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind
        return int(exc.code or 1)
    return 0 if server.started else 1
