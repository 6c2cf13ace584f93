"""Builds the Bolt ``AsyncApp`` both modes serve: Web API at ``SLACK_API_URL``, ``Deps`` in
every request's context, retry de-duplication, and the listeners.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from .deps import CONTEXT_KEY, Deps
from .listeners import actions, commands
from .quiet import library_logger
from .retries import DropRetries, SeenStore, open_seen_store
from .settings import secret

__all__ = ["UNHANDLED", "ProvideDeps", "build_app", "unhandled"]

log = logging.getLogger("pooldrift.slack")

#: What a signed request Bolt could not make sense of is answered (400, never a 500).
UNHANDLED = "this request could not be handled"
_KIND = re.compile(r"[a-z_]{1,40}")


class ProvideDeps(AsyncMiddleware):
    """A Bolt global middleware: the listeners find ``Deps`` in their ``context``."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,  # noqa: ARG002 - Bolt passes it by name
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        req.context[CONTEXT_KEY] = self._deps
        return await next()


async def _signature_only(
    enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)


def build_app(deps: Deps, *, seen: SeenStore | None = None) -> AsyncApp:
    """The Bolt app. Answers go to each request's ``response_url``; the Web API (at
    ``SLACK_API_URL``) is only asked ``auth.test``, once, by Bolt's single-workspace
    authorization when a bot token is set. Without one, requests are let through on the
    signature alone (HTTP mode needs nothing else).

    Bolt's own signature check is off: the HTTP route verifies each request before Bolt reads
    it (so Bolt never parses or logs an unsigned body), and Socket Mode frames come over an
    authenticated websocket."""
    settings = deps.settings
    bot_token = secret(settings.bot_token)
    app = AsyncApp(
        # Bolt names its per-request and listener loggers after the app and sets their level:
        # under slack_bolt they stay with the library's, never touching our "pooldrift" loggers
        name="slack_bolt.pooldrift",
        token=bot_token,
        signing_secret=secret(settings.signing_secret) or "",
        authorize=None if bot_token else _signature_only,
        request_verification_enabled=False,
        logger=library_logger(),
    )
    # set on Bolt's own client (passing one would make Bolt warn that SLACK_BOT_TOKEN is
    # unused): every per-request client copies its base URL, and so does Socket Mode
    app.client.base_url = settings.api_url
    app.use(ProvideDeps(deps))
    app.use(DropRetries(seen or open_seen_store(secret(settings.redis_url)), settings.retry_ttl))
    commands.register(app)
    actions.register(app)
    app.error(_bolt_failed)
    return app


def unhandled(body: Any, error: BaseException) -> BoltResponse:
    """The answer to a signed request whose payload Bolt could not handle (its matchers and
    middleware index fields unchecked): one log line with the payload's type and the error's
    class, never the payload, the error's text (which may quote it) or a traceback, and a 400."""
    kind = body.get("type") or body.get("command") if isinstance(body, dict) else None
    if not (isinstance(kind, str) and _KIND.fullmatch(kind.lstrip("/"))):
        kind = "unrecognised"
    log.warning(
        "refused a signed %s payload Bolt could not handle (%s): HTTP 400", kind, type(error).__name__
    )
    return BoltResponse(status=400, body=UNHANDLED)


async def _bolt_failed(error: Exception, body: dict[str, Any]) -> BoltResponse:
    # Bolt calls this for an exception in its middleware, matchers or a listener before it
    # acknowledged; the listeners catch their own, so what comes here is a payload's shape
    return unhandled(body, error)
