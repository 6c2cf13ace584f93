"""Slack over HTTP: the ``POST /slack/events`` route ``pooldrift-server`` mounts beside ``/mcp``,
and a small stand-alone app with just that route (tests, benchmarks, a bot-only deployment).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from pooldrift.client import WorkspaceClient
from pooldrift.errors import ConfigurationError

from .priority import AckFirst
from .retries import SeenStore, open_seen_store
from .settings import SlackSettings, load_slack_settings, secret

if TYPE_CHECKING:
    from pooldrift.config import Settings

__all__ = ["EVENTS_PATH", "create_app", "slack_routes"]

EVENTS_PATH = "/slack/events"
#: Slack's payloads are a few kB; refuse anything far bigger before reading it.
MAX_BODY = 1 << 20


def slack_routes(
    get_client: Callable[[], WorkspaceClient],
    *,
    settings: SlackSettings | None = None,
    seen: SeenStore | None = None,
) -> list[BaseRoute]:
    """``POST /slack/events`` when ``SLACK_SIGNING_SECRET`` is set, else no route at all.

    ``get_client`` is called once per answer (never at import or mount time) and may raise
    ``ConfigurationError``; the user is then told what the operator has to set. ``seen``
    remembers deliveries (default: Redis at ``POOLDRIFT_REDIS_URL``, else in memory).
    """
    settings = settings or load_slack_settings()
    if settings.signing_secret is None:
        return []
    # Bolt is imported only when Slack is enabled: a server without it starts faster
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

    from .app import build_app

    ack_first = AckFirst()
    handler = AsyncSlackRequestHandler(build_app(settings, get_client, seen=seen, ack_first=ack_first))

    async def slack_events(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return PlainTextResponse("payload too large", status_code=413)
        with ack_first.arriving():
            return await handler.handle(request)

    return [Route(EVENTS_PATH, slack_events, methods=["POST"], name="slack_events")]


def create_app(
    *, settings: SlackSettings | None = None, client_settings: Settings | None = None
) -> Starlette:
    """Just ``/slack/events``, with its own ``WorkspaceClient`` opened in the lifespan."""
    settings = settings or load_slack_settings()
    if settings.signing_secret is None:
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: Slack's requests cannot be verified")
    state: dict[str, WorkspaceClient | ConfigurationError] = {}
    seen = open_seen_store(secret(settings.redis_url))

    def get_client() -> WorkspaceClient:
        client = state.get("client")
        if isinstance(client, WorkspaceClient):
            return client
        raise client if isinstance(client, ConfigurationError) else ConfigurationError("not started")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            client = WorkspaceClient(client_settings)
        except ConfigurationError as exc:  # still serve: every answer says what to set
            state["client"] = exc
            try:
                yield
            finally:
                await seen.aclose()
            return
        state["client"] = client
        try:
            yield
        finally:
            await client.aclose()
            await seen.aclose()

    return Starlette(routes=slack_routes(get_client, settings=settings, seen=seen), lifespan=lifespan)
