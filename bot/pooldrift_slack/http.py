"""Slack over HTTP: the ``POST /slack/events`` endpoint ``pooldrift-server`` mounts beside ``/mcp``
(with its ``aclose`` for the server's shutdown), and a stand-alone app with just that route.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.errors import ConfigurationError

from .app import build_app, unhandled
from .deps import Deps
from .guard import MAX_BODY, Refused, check_shape, read_body, verify
from .retries import SeenStore, open_seen_store
from .settings import SlackSettings, load_slack_settings, secret

__all__ = ["EVENTS_PATH", "MAX_BODY", "SlackEndpoint", "create_app", "slack_endpoint", "slack_routes"]

log = logging.getLogger("pooldrift.slack")

EVENTS_PATH = "/slack/events"


@dataclass
class SlackEndpoint:
    """The Slack route(s) to mount, and how to stop them: ``aclose(grace)`` in the server's
    lifespan shutdown, after it stopped taking requests."""

    routes: list[BaseRoute]
    deps: Deps | None = None
    seen: SeenStore | None = None
    _closed: bool = field(default=False, repr=False)

    async def aclose(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the answers in flight (those still working then
        post a "restarting" notice), then close the seen store."""
        if self._closed:
            return
        self._closed = True
        if self.deps is not None:
            await self.deps.in_flight.drain(grace)
        if self.seen is not None:
            await self.seen.aclose()


def _events(app: AsyncApp, deps: Deps, verifier: SignatureVerifier) -> Route:
    async def slack_events(request: Request) -> Response:
        try:
            body = await read_body(request.headers.get("content-length"), request.stream())
            if _is_ssl_check(body):  # Slack's probe of the URL: nothing to verify or answer
                return Response(status_code=200)
            text = verify(verifier, request.headers, body)
            try:
                bolt_request = AsyncBoltRequest(
                    body=text, query=request.url.query, headers=dict(request.headers)
                )
            except (ValueError, TypeError, AttributeError, LookupError, RecursionError):  # not an object
                raise Refused(400, "the body is not a JSON object or a form") from None
            check_shape(bolt_request.body)
        except Refused as refused:
            log.info("refused a request to %s: HTTP %d (%s)", EVENTS_PATH, refused.status, refused.reason)
            # what is left of a body too large is never held: uvicorn discards it once answered
            return PlainTextResponse(refused.reason, refused.status)
        with deps.ack_first.arriving(), deps.in_flight.answering():
            try:
                answer = await app.async_dispatch(bolt_request)
            except Exception as exc:  # the last resort: Bolt builds its context before its guard
                answer = unhandled(bolt_request.body, exc)
            return to_starlette_response(answer)

    return Route(EVENTS_PATH, slack_events, methods=["POST"], name="slack_events")


def _is_ssl_check(body: bytes) -> bool:
    if b"ssl_check=" not in body[:200]:
        return False
    return dict(parse_qsl(body[:200].decode("ascii", "replace"))).get("ssl_check") == "1"


def slack_endpoint(
    get_client: Callable[[], WorkspaceClient], *, settings: SlackSettings, seen: SeenStore | None = None
) -> SlackEndpoint:
    """``POST /slack/events`` when ``SLACK_SIGNING_SECRET`` is set, else no route at all.

    ``get_client`` is called once per answer (never at import or mount time) and may raise
    ``ConfigurationError``; the user is then told what the operator has to set. ``seen``
    remembers deliveries (default: Redis at ``POOLDRIFT_REDIS_URL``, else in memory); the
    endpoint closes it in ``aclose``.
    """
    signing_secret = secret(settings.signing_secret)
    if signing_secret is None:
        return SlackEndpoint(routes=[], seen=seen)
    seen = seen or open_seen_store(secret(settings.redis_url))
    deps = Deps(settings=settings, get_client=get_client)
    app = build_app(deps, seen=seen)
    return SlackEndpoint(routes=[_events(app, deps, SignatureVerifier(signing_secret))], deps=deps, seen=seen)


def slack_routes(
    get_client: Callable[[], WorkspaceClient],
    *,
    settings: SlackSettings | None = None,
    seen: SeenStore | None = None,
) -> list[BaseRoute]:
    """The routes of ``slack_endpoint`` alone, for a caller that neither drains nor closes."""
    return slack_endpoint(get_client, settings=settings or load_slack_settings(), seen=seen).routes


def create_app(
    *, settings: SlackSettings | None = None, client_settings: Settings | None = None
) -> Starlette:
    """Just ``/slack/events``, with its own ``WorkspaceClient`` opened in the lifespan; on
    shutdown the answers in flight get ``POOLDRIFT_SHUTDOWN_GRACE`` seconds to finish.
    A bot-only deployment serves it with ``uvicorn --factory pooldrift_slack.http:create_app``."""
    settings = settings or load_slack_settings()
    if settings.signing_secret is None:
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: Slack's requests cannot be verified")
    state: dict[str, WorkspaceClient | ConfigurationError] = {}

    def get_client() -> WorkspaceClient:
        client = state.get("client")
        if isinstance(client, WorkspaceClient):
            return client
        raise client if isinstance(client, ConfigurationError) else ConfigurationError("not started")

    endpoint = slack_endpoint(get_client, settings=settings)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        client: WorkspaceClient | None = None
        try:
            client = WorkspaceClient(client_settings)
        except ConfigurationError as exc:  # still serve: every answer says what to set
            state["client"] = exc
        else:
            state["client"] = client
        try:
            yield
        finally:
            await endpoint.aclose(settings.shutdown_grace)
            if client is not None:
                await client.aclose()

    return Starlette(routes=endpoint.routes, lifespan=lifespan)
