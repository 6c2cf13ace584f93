"""Builds the Bolt ``AsyncApp`` both modes serve: Web API at ``SLACK_API_URL``, retry
de-duplication, and the listeners; the shared ``WorkspaceClient`` comes from a getter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from pooldrift.client import WorkspaceClient

from .priority import AckFirst
from .retries import DropRetries, SeenStore, open_seen_store
from .settings import SlackSettings, secret

__all__ = ["Deps", "build_app"]


@dataclass(frozen=True)
class Deps:
    """What every listener needs; the client is fetched per answer, so a server can open it
    in its lifespan after the routes were built."""

    settings: SlackSettings
    get_client: Callable[[], WorkspaceClient]
    ack_first: AckFirst = field(default_factory=AckFirst)


def build_app(
    settings: SlackSettings,
    get_client: Callable[[], WorkspaceClient],
    *,
    socket_mode: bool = False,
    seen: SeenStore | None = None,
    ack_first: AckFirst | None = None,
) -> AsyncApp:
    """The Bolt app. Answers go to each request's ``response_url``; the Web API (at
    ``SLACK_API_URL``) is only asked ``auth.test``, once, by Bolt's single-workspace
    authorization when a bot token is set. Without one, ``authorize`` lets requests through
    on the signature alone (HTTP mode needs nothing else)."""
    from .listeners import actions, commands

    bot_token = secret(settings.bot_token)
    authorize = None
    if bot_token is None:

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    app = AsyncApp(
        name="pooldrift",
        token=bot_token,
        signing_secret=secret(settings.signing_secret) or "",
        authorize=authorize,
        # Socket Mode frames come over an authenticated websocket: there is nothing to sign
        request_verification_enabled=not socket_mode,
    )
    # set on Bolt's own client (passing one would make Bolt warn that SLACK_BOT_TOKEN is
    # unused): every per-request client copies its base URL, and so does Socket Mode
    app.client.base_url = settings.api_url
    app.use(DropRetries(seen or open_seen_store(secret(settings.redis_url)), settings.retry_ttl))
    deps = Deps(settings=settings, get_client=get_client, ack_first=ack_first or AckFirst())
    commands.register(app, deps)
    actions.register(app, deps)
    return app
