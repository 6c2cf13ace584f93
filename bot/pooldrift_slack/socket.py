"""``pooldrift-slack --socket``: the Slack bot over Socket Mode, for installs with no public URL.

HTTP mode is not here: ``pooldrift-server`` serves ``/slack/events`` beside ``/mcp``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from typing import TYPE_CHECKING

from pooldrift import __version__
from pooldrift.errors import ConfigurationError

from .settings import SlackSettings, load_slack_settings, secret

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from pooldrift.client import WorkspaceClient
    from pooldrift.config import Settings

__all__ = ["build_handler", "check_socket_settings", "main", "serve"]

log = logging.getLogger("pooldrift.slack")

HTTP_MODE = (
    "pooldrift-slack only runs Socket Mode: start it with --socket "
    "(needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN).\n"
    "For HTTP mode, run pooldrift-server with SLACK_SIGNING_SECRET set: it serves Slack at "
    "/slack/events beside /mcp."
)


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


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


def build_handler(settings: SlackSettings, client: WorkspaceClient) -> AsyncSocketModeHandler:
    """The Bolt app behind an aiohttp Socket Mode handler; both talk to ``SLACK_API_URL``.
    Each envelope counts as arriving until its ack frame is sent, so answers follow acks."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.socket_mode.aiohttp import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

    from .app import build_app
    from .priority import AckFirst

    app_token, _ = check_socket_settings(settings)
    ack_first = AckFirst()

    class AckFirstHandler(AsyncSocketModeHandler):
        async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
            with ack_first.arriving():
                await super().handle(client, req)

    app = build_app(settings, lambda: client, socket_mode=True, ack_first=ack_first)
    return AckFirstHandler(app, app_token=app_token)


async def serve(
    settings: SlackSettings, *, client_settings: Settings | None = None, stop: asyncio.Event | None = None
) -> int:
    """Connect, answer until ``stop`` is set (or SIGINT/SIGTERM), then close; the exit status."""
    from pooldrift.client import WorkspaceClient

    try:
        _, bot_token = check_socket_settings(settings)
        client = WorkspaceClient(client_settings)
    except ConfigurationError as exc:
        _say(f"pooldrift-slack: {exc.message}")
        return 2
    async with client:
        handler = build_handler(settings, client)
        try:
            # a wrong bot token is found here, at start, rather than by the first user
            who = await handler.app.client.auth_test(token=bot_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
        except Exception as exc:  # reported by kind and base URL only: never with a token
            _say(
                f"pooldrift-slack: could not connect to Slack at {settings.api_url} ({type(exc).__name__})",
            )
            await handler.close_async()  # type: ignore[no-untyped-call]
            return 1
        log.info("connected to Slack over Socket Mode as %s (team %s)", who.get("user"), who.get("team"))
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
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
    except ConfigurationError as exc:
        _say(f"pooldrift-slack: {exc.message}")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from . import app  # noqa: F401  (Bolt and the listeners: imported before the freeze below)

    # what start-up built lives as long as the process: keep full collections from walking it
    # while acks are due (a ~70 ms stall every pending ack would wait out)
    gc.freeze()
    return asyncio.run(serve(settings))
