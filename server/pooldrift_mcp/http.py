"""``pooldrift-server``: one Starlette app — MCP Streamable HTTP at /mcp, Slack beside it when
the Slack package is installed and configured, /healthz, /readyz and /metrics — and its command.

One WorkspaceClient per process, opened in the app's lifespan and shared by the MCP tools and
the Slack routes; on the way down, Slack's answers in flight get what is left of the grace.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.errors import ConfigurationError
from pooldrift.logs import configure_logging
from pooldrift.version import __version__

from . import hangup
from .auth import StaticTokenVerifier, transport_security
from .probes import UpstreamHealth, probe_routes
from .runtime import Runtime
from .serving import Drain, serve
from .settings import ServerSettings, load_server_settings
from .tools import build_server

if TYPE_CHECKING:
    from .watching import ServerWatch

__all__ = ["SlackMount", "create_app", "main", "slack_from_environment"]

DESCRIPTION = """\
Serve MCP Streamable HTTP at /mcp, Slack at /slack/events (when pooldrift-slack is installed
and SLACK_SIGNING_SECRET is set), and /healthz, /readyz, /metrics.

Configuration comes from the environment (or secret files in POOLDRIFT_SECRETS_DIR):
POOLDRIFT_HOST, POOLDRIFT_PORT, POOLDRIFT_MCP_TOKEN, POOLDRIFT_MCP_ALLOWED_HOSTS,
POOLDRIFT_MCP_MAX_SESSIONS, POOLDRIFT_MCP_SESSION_IDLE, POOLDRIFT_SHUTDOWN_GRACE,
POOLDRIFT_METRICS_TOKEN, and the client's HUAWEICLOUD_SDK_AK/SK, POOLDRIFT_REGION, ...
With POOLDRIFT_WATCH_INTERVAL set it also runs the drift watch (POOLDRIFT_WATCH_CHANNEL,
SLACK_BOT_TOKEN, POOLDRIFT_STATE or POOLDRIFT_REDIS_URL, ...), its gauges on /metrics.
Exit status 2 when the configuration is refused.
"""


class SlackMount(Protocol):
    """What the Slack package mounts (``pooldrift_slack.http.SlackEndpoint``)."""

    @property
    def routes(self) -> list[BaseRoute]: ...

    async def aclose(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for answers in flight, then close what it holds."""
        ...


#: makes the Slack mount from a function returning the shared client
SlackFactory = Callable[[Callable[[], WorkspaceClient]], SlackMount | None]


@dataclass
class _State:
    runtime: Runtime | None = None


def create_app(
    settings: ServerSettings | None = None,
    client_settings: Settings | None = None,
    *,
    slack: SlackFactory | None = None,
    drain: Drain | None = None,
) -> Starlette:
    """The whole HTTP service. ``slack`` (default: ``slack_from_environment``) gets a function
    returning the shared client and returns the Slack mount, or None for no Slack."""
    settings = settings or load_server_settings()
    settings.check()
    drain = drain or Drain(settings.shutdown_grace)
    state = _State()
    watch = _watch(settings)

    def current() -> Runtime:
        if state.runtime is None:
            raise RuntimeError("pooldrift-server is not running")
        return state.runtime

    verifier = StaticTokenVerifier(settings.tokens) if settings.tokens else None
    # static bearer tokens: no authorization server, so no protected-resource metadata either
    auth = AuthSettings(issuer_url=AnyHttpUrl(settings.url), resource_server_url=None) if verifier else None
    mcp = build_server(shared=current, token_verifier=verifier, auth=auth)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        # SSE, for scan_pool_drift's progress: a 2026-07-28 call still gets one JSON answer unless
        # it sends a notification (the SDK commits to SSE only then); a 2025 session's calls are
        # each an SSE stream, as that version of the spec lets a server answer
        json_response=False,
        transport_security=transport_security(settings),
        host=settings.host,
        # each idle session holds ~42 KiB (bench_mcp.py, section 5): bound how many, and for how long
        max_sessions=settings.max_sessions,
        session_idle_timeout=settings.session_idle,
    )
    endpoint = (slack or slack_from_environment)(lambda: current().require_client())
    health = UpstreamHealth()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        light = endpoint is None and watch is None  # MCP alone (Runtime.open says why)
        async with Runtime.open(client_settings, light=light) as runtime:
            state.runtime = runtime
            running: AbstractAsyncContextManager[None] = (
                watch.running(runtime, drain) if watch is not None else nullcontext()
            )
            try:
                # the watch stops first, within the grace; the MCP sessions after it
                async with mcp.session_manager.run(), running:
                    yield
            finally:
                # before the client closes: Slack's answers in flight still need it
                if endpoint is not None:
                    await endpoint.aclose(drain.left())
                await health.aclose()
                state.runtime = None

    routes: list[BaseRoute] = [
        *probe_routes(lambda: state.runtime, health, metrics_token=settings.metrics_token),
        *(endpoint.routes if endpoint is not None else []),
        # last: /mcp with its bearer-token middleware; a 2025 session's call ends with its POST
        Mount("", app=drain.track(hangup.guard(mcp_app))),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _watch(settings: ServerSettings) -> ServerWatch | None:
    """The watch when POOLDRIFT_WATCH_INTERVAL is set, its settings checked now (a bad one stops
    the start); otherwise None, and nothing of ``pooldrift.watch`` is imported."""
    if settings.watch_interval is None:
        return None
    from .watching import ServerWatch

    return ServerWatch.load()


def slack_from_environment(get_client: Callable[[], WorkspaceClient]) -> SlackMount | None:
    """The Slack endpoint when the Slack package is installed and its settings enable it."""
    try:
        # optional: pooldrift-mcp installed without the [slack] extra serves no Slack
        from pooldrift_slack.settings import load_slack_settings
    except ImportError:
        return None
    slack_settings = load_slack_settings()
    if slack_settings.signing_secret is None:
        return None
    # deferred: Bolt and slack_sdk add ~17 MiB of RSS (pooldrift-server at start: 72 → 88 MiB)
    # and ~0.6 s of start-up, paid only by deployments that enable Slack
    from pooldrift_slack.http import slack_endpoint

    return slack_endpoint(get_client, settings=slack_settings)


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
