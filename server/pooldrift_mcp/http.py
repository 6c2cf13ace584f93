"""``pooldrift-server``: the HTTP service (``pooldrift_mcp.app``) under uvicorn, announced on
stdout once it accepts connections, and stopped by SIGTERM or SIGINT with a bounded drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from pooldrift.errors import ConfigurationError
from pooldrift.logs import configure_logging
from pooldrift.version import __version__

from .app import Drain, create_app
from .settings import ServerSettings, base_url, load_server_settings

log = logging.getLogger("pooldrift.server")

DESCRIPTION = """\
Serve MCP Streamable HTTP at /mcp, Slack at /slack/events (when pooldrift-slack is installed
and SLACK_SIGNING_SECRET is set), and /healthz, /readyz, /metrics.

Configuration comes from the environment (or secret files in POOLDRIFT_SECRETS_DIR):
POOLDRIFT_HOST, POOLDRIFT_PORT, POOLDRIFT_MCP_TOKEN, POOLDRIFT_MCP_ALLOWED_HOSTS,
POOLDRIFT_MCP_MAX_SESSIONS, POOLDRIFT_MCP_SESSION_IDLE, POOLDRIFT_SHUTDOWN_GRACE,
POOLDRIFT_METRICS_TOKEN, and the client's HUAWEICLOUD_SDK_AK/SK, POOLDRIFT_REGION, ...
Exit status 2 when the configuration is refused.
"""


class _Server(uvicorn.Server):
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
    server = _Server(config, drain)
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind
        return int(exc.code or 1)
    return 0 if server.started else 1


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="pooldrift-server", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("-V", "--version", action="version", version=f"pooldrift-server {__version__}")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    parser().parse_args(argv)
    try:
        configure_logging()
        settings = load_server_settings()
        drain = Drain(settings.shutdown_grace)
        app = create_app(settings, drain=drain)
    except ConfigurationError as exc:
        sys.stderr.write(f"pooldrift-server: {exc.message}\n")
        return 2
    # what start-up built (modules, schemas, Bolt) lives as long as the process: keep full
    # collections from walking it mid-burst (a ~70 ms stall every request waits out)
    gc.freeze()
    return asyncio.run(serve(app, settings, drain))


if __name__ == "__main__":
    sys.exit(main())
