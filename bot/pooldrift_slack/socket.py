"""``pooldrift-slack --socket``: the Slack bot over Socket Mode, for installs with no public URL.

HTTP mode is not here: ``pooldrift-server`` serves ``/slack/events`` beside ``/mcp``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.errors import ConfigurationError
from pooldrift.logs import configure_logging
from pooldrift.version import __version__

from .app import build_app
from .deps import Deps
from .quiet import library_logger
from .settings import SlackSettings, load_slack_settings, secret

__all__ = ["SocketHandler", "build_handler", "check_socket_settings", "main", "serve"]

log = logging.getLogger("pooldrift.slack")

HTTP_MODE = (
    "pooldrift-slack only runs Socket Mode: start it with --socket "
    "(needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN).\n"
    "For HTTP mode, run pooldrift-server with SLACK_SIGNING_SECRET set: it serves Slack at "
    "/slack/events beside /mcp."
)
#: on stop, how long envelopes already taken may take to be acknowledged (Slack allows 3 s)
ACK_WAIT_SECONDS = 3.0


#: Slack's answers to a token it will not take (auth.test, apps.connections.open)
TOKEN_REFUSED = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
     "not_allowed_token_type", "missing_scope", "no_permission", "invalid_token"}
)  # fmt: skip
#: where each token comes from, for the line that says which one Slack refused
TOKEN_REMEDY = {
    "SLACK_BOT_TOKEN": "set the app's Bot User OAuth Token (xoxb-…, OAuth & Permissions page)",
    "SLACK_APP_TOKEN": "set an app-level token (xapp-…) with connections:write (Basic Information page)",
}


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


def _refused_token(exc: SlackApiError, variable: str) -> str | None:
    """The one line for a token Slack refused (never the token), or None for other failures."""
    code = exc.response.get("error") if exc.response is not None else None
    if not isinstance(code, str) or code not in TOKEN_REFUSED:
        return None
    return f"pooldrift-slack: Slack refused {variable} ({code}): {TOKEN_REMEDY[variable]}"


def check_socket_settings(settings: SlackSettings) -> tuple[str, str]:
    """The app and bot tokens Socket Mode needs, or a ConfigurationError naming what is wrong."""
    app_token, bot_token = secret(settings.app_token), secret(settings.bot_token)
    missing = [
        name for name, value in (("SLACK_APP_TOKEN", app_token), ("SLACK_BOT_TOKEN", bot_token)) if not value
    ]
    if missing:
        raise ConfigurationError(f"Socket Mode needs {' and '.join(missing)}")
    assert app_token is not None and bot_token is not None
    if not app_token.startswith("xapp-"):
        raise ConfigurationError(
            "SLACK_APP_TOKEN must be an app-level token (it starts with xapp-; create one with the "
            "connections:write scope under Basic Information)"
        )
    return app_token, bot_token


class SocketHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, plus: each envelope counts as arriving until its ack frame
    is sent (so answers follow acks), and once stopping, envelopes are left to other
    connections (Slack redelivers what no one acknowledged)."""

    def __init__(self, app: object, deps: Deps, app_token: str) -> None:
        super().__init__(app, app_token=app_token, logger=library_logger())  # type: ignore[arg-type]
        self.deps = deps
        self.stopping = False

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if self.stopping:
            return
        with self.deps.ack_first.arriving(), self.deps.in_flight.answering():
            await super().handle(client, req)

    async def stop(self, grace: float) -> int:
        """Stop taking envelopes, let those taken be acknowledged, close the websocket, then
        give the answers in flight up to ``grace`` seconds. How many were cut short."""
        self.stopping = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ACK_WAIT_SECONDS):
                await self.deps.ack_first.all_acked()
        await self.client.close()  # type: ignore[no-untyped-call]
        return await self.deps.in_flight.drain(grace)


def build_handler(deps: Deps) -> SocketHandler:
    """The Bolt app behind an aiohttp Socket Mode handler; both talk to ``SLACK_API_URL``."""
    app_token, _ = check_socket_settings(deps.settings)
    return SocketHandler(build_app(deps), deps, app_token)


async def serve(
    settings: SlackSettings, *, client_settings: Settings | None = None, stop: asyncio.Event | None = None
) -> int:
    """Connect, answer until ``stop`` is set (or SIGINT/SIGTERM), drain, close; the exit status."""
    try:
        _, bot_token = check_socket_settings(settings)
        client = WorkspaceClient(client_settings)
    except ConfigurationError as exc:
        _say(f"pooldrift-slack: {exc.message}")
        return 2
    async with client:
        try:
            handler = build_handler(Deps(settings=settings, get_client=lambda: client))
        except ConfigurationError as exc:  # POOLDRIFT_REDIS_URL without the redis extra
            _say(f"pooldrift-slack: {exc.message}")
            return 2
        variable = "SLACK_BOT_TOKEN"
        try:
            # a wrong bot token is found here, at start, rather than by the first user
            who = await handler.app.client.auth_test(token=bot_token)
            variable = "SLACK_APP_TOKEN"  # apps.connections.open takes the app-level token
            # asked here once, since the client's own connect retries a refused token forever
            opened = await handler.client.web_client.apps_connections_open(app_token=handler.client.app_token)
            handler.client.wss_uri = opened["url"]
            await handler.connect_async()  # type: ignore[no-untyped-call]
        except SlackApiError as exc:
            line = _refused_token(exc, variable)
            _say(line or f"pooldrift-slack: could not connect to Slack at {settings.api_url} (SlackApiError)")
            await handler.close_async()  # type: ignore[no-untyped-call]
            return 2 if line else 1
        except Exception as exc:  # reported by kind and base URL only: never with a token
            _say(f"pooldrift-slack: could not connect to Slack at {settings.api_url} ({type(exc).__name__})")
            await handler.close_async()  # type: ignore[no-untyped-call]
            return 1
        log.info("connected to Slack over Socket Mode as %s (team %s)", who.get("user"), who.get("team"))
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
            log.info("stopping: finishing the answers in flight (up to %g s)", settings.shutdown_grace)
            await handler.stop(settings.shutdown_grace)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await handler.close_async()  # type: ignore[no-untyped-call]
    log.info("disconnected from Slack")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pooldrift-slack", description="The /pooldrift Slack bot over Socket Mode.", epilog=HTTP_MODE
    )
    parser.add_argument("--socket", action="store_true", help="connect to Slack over Socket Mode")
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    if not args.socket:
        _say(HTTP_MODE)
        return 2
    try:
        settings = load_slack_settings()
        check_socket_settings(settings)
        configure_logging()
    except ConfigurationError as exc:
        _say(f"pooldrift-slack: {exc.message}")
        return 2
    # what start-up built lives as long as the process: keep full collections from walking it
    # while acks are due (a ~70 ms stall every pending ack would wait out)
    gc.freeze()
    return asyncio.run(serve(settings))
