"""``pooldrift-server``: one Starlette app — MCP Streamable HTTP at /mcp, Slack beside it, probes.

One WorkspaceClient per process, opened in the app's lifespan and shared by the MCP tools
and the Slack routes; /healthz, /readyz and /metrics for the platform.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from pooldrift import __version__
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.errors import ConfigurationError, PooldriftError

from . import metrics
from .auth import HttpConfig, StaticTokenVerifier
from .runtime import Runtime
from .stdio import configure_logging
from .tools import build_server

#: /readyz asks the API at most this often (probes must not eat the request budget)
READY_CACHE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 5.0


@dataclass
class _State:
    runtime: Runtime | None = None
    ready_at: float = field(default=-1e9)
    ready_error: str | None = None


def create_app(
    config: HttpConfig | None = None,
    settings: Settings | None = None,
    *,
    slack_routes: Callable[[Callable[[], WorkspaceClient]], Sequence[BaseRoute]] | None = None,
) -> Starlette:
    """The whole HTTP service. ``slack_routes`` (default ``pooldrift_slack.http.slack_routes``) gets a
    function returning the shared client, and returns the Slack route(s) to mount."""
    config = config or HttpConfig()
    config.check()
    state = _State()
    closers: list[Callable[[], Awaitable[None]]] = []

    def current() -> Runtime:
        if state.runtime is None:
            raise RuntimeError("pooldrift-server is not running")
        return state.runtime

    verifier = StaticTokenVerifier(config.tokens) if config.tokens else None
    # static bearer tokens: no authorization server, so no protected-resource metadata either
    auth = AuthSettings(issuer_url=AnyHttpUrl(config.url), resource_server_url=None) if verifier else None
    mcp = build_server(shared=current, token_verifier=verifier, auth=auth)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,  # one request, one answer: the tools send no progress or notifications
        transport_security=config.transport_security(),
        host=config.host,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with Runtime.open(settings) as runtime:
            state.runtime = runtime
            try:
                async with mcp.session_manager.run():
                    yield
            finally:
                state.runtime = None
                for close in closers:
                    await close()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        runtime = state.runtime
        client = runtime.connect() if runtime else None
        if runtime is None or client is None:
            reason = runtime.config_error.message if runtime and runtime.config_error else "starting"
            return JSONResponse({"ready": False, "reason": reason}, status_code=503)
        if time.monotonic() - state.ready_at > READY_CACHE_SECONDS:
            state.ready_error = await _probe(client)
            state.ready_at = time.monotonic()
        if state.ready_error is not None:
            return JSONResponse({"ready": False, "reason": state.ready_error}, status_code=503)
        return JSONResponse({"ready": True})

    async def metrics_endpoint(_: Request) -> Response:
        text = state.runtime.metrics.render() if state.runtime else ""
        return PlainTextResponse(text, media_type=metrics.CONTENT_TYPE)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *_slack(slack_routes, lambda: current().require_client(), closers),
        Mount("", app=mcp_app),  # last: /mcp with its bearer-token middleware
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _slack(
    slack_routes: Callable[[Callable[[], WorkspaceClient]], Sequence[BaseRoute]] | None,
    get_client: Callable[[], WorkspaceClient],
    closers: list[Callable[[], Awaitable[None]]],
) -> list[BaseRoute]:
    """``POST /slack/events`` beside /mcp when SLACK_SIGNING_SECRET is set (pooldrift_slack.http decides)."""
    if slack_routes is None:
        if not os.environ.get("SLACK_SIGNING_SECRET"):
            return []  # without importing pooldrift_slack.http: Bolt and slack_sdk cost ~20 MB of RSS
        from pooldrift_slack.http import slack_routes as routes_for
        from pooldrift_slack.retries import open_seen_store
        from pooldrift_slack.settings import load_slack_settings, secret

        slack_settings = load_slack_settings()
        seen = open_seen_store(secret(slack_settings.redis_url))  # Redis when configured
        closers.append(seen.aclose)
        return routes_for(get_client, settings=slack_settings, seen=seen)
    return list(slack_routes(get_client))


async def _probe(client: WorkspaceClient) -> str | None:
    """None when the API answers a one-pool listing, else why not (safe to show)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await client.list_pools(max_items=1)
    except TimeoutError:
        return f"the Workspace API did not answer within {READY_TIMEOUT_SECONDS:g} s"
    except PooldriftError as exc:
        return exc.message
    return None


class _Server(uvicorn.Server):
    """uvicorn, announcing on stdout once its socket accepts connections (tests and scripts
    wait for that line; with port 0 it carries the port picked)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            port = self.servers[0].sockets[0].getsockname()[1]
            url = HttpConfig(host=self.config.host, port=port).url
            sys.stdout.write(f"pooldrift-server listening on {url} (MCP at {url}/mcp)\n")
            sys.stdout.flush()


async def serve(app: Starlette, config: HttpConfig) -> int:
    """Serve until SIGINT/SIGTERM; the exit status for ``main``."""
    server = _Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="warning", lifespan="on")
    )
    try:
        await server.serve()
    except SystemExit as exc:  # uvicorn exits this way when it cannot bind
        return int(exc.code or 1)
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pooldrift-server",
        description="MCP Streamable HTTP at /mcp, the Slack bot at /slack/events (when "
        "SLACK_SIGNING_SECRET is set), /healthz, /readyz and /metrics.",
        epilog="Configuration comes from the environment: POOLDRIFT_HOST and POOLDRIFT_PORT "
        "(default 127.0.0.1:8080), POOLDRIFT_MCP_TOKEN, POOLDRIFT_MCP_ALLOWED_HOSTS and the "
        "client's variables (see docs/mcp.md).",
    )
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    parser.parse_args(argv)  # --help and --version answer here, before anything is read or bound
    configure_logging()
    try:
        config = HttpConfig.from_env()
        app = create_app(config)
    except ConfigurationError as exc:
        sys.stderr.write(f"pooldrift-server: {exc.message}\n")
        return 2
    # what start-up built (modules, schemas, Bolt) lives as long as the process: keep full
    # collections from walking it mid-burst (a ~70 ms stall every request waits out)
    gc.freeze()
    try:
        return asyncio.run(serve(app, config))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
