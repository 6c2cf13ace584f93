"""The Slack Web API calls the watch makes — ``chat.postMessage``, ``chat.update``, and
``conversations.history`` / ``.replies`` to look for a post that may be there already — through
slack_sdk's ``AsyncWebClient`` (the ``pooldrift[watch]`` extra), which encodes each as Slack
documents it: the write methods as JSON with the bearer token, the read methods as query
parameters (Slack ignores a JSON body there).

What Slack answers is sorted into "try again later" (HTTP 429 with Retry-After, 5xx,
``ratelimited``, timeouts, no connection) and "refused" (``ok: false``). slack_sdk's own retries
are off: whether and when to try again is the outbox's call (``delivery``), which knows that a
post without an answer may have been taken.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

from pydantic import SecretStr

from ..errors import ConfigurationError, parse_retry_after

if TYPE_CHECKING:
    from collections.abc import Awaitable

    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

__all__ = ["SlackRefusedError", "SlackRetryLaterError", "SlackWeb"]

log = logging.getLogger("pooldrift.watch.slack")
#: handed to slack_sdk: its debug lines carry whole messages, and it skips them at this level
_SDK_LOG = logging.getLogger("pooldrift.watch.slack.sdk")

#: ``ok: false`` errors that say "not now" rather than "never"
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
#: seconds to open a connection, within the call's whole timeout
_CONNECT_TIMEOUT = 5.0


class SlackRetryLaterError(Exception):
    """Slack did not take the call now (rate limit, outage, no answer); try it again later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class SlackRefusedError(Exception):
    """Slack answered ``ok: false`` (``channel_not_found``, ``not_in_channel``, ``invalid_auth``...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackWeb:
    """The watch's calls at ``base_url`` (``SLACK_API_URL``) with ``token``; one connection pool,
    opened at the first call (inside the running loop) and closed by ``aclose``."""

    def __init__(self, token: SecretStr, base_url: str, *, timeout: float = 10.0) -> None:
        try:
            import slack_sdk.web.async_client  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "SLACK_BOT_TOKEN is set but the slack_sdk package is missing: install pooldrift[watch]"
            ) from None
        self._token = token
        self._base = base_url if base_url.endswith("/") else base_url + "/"
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        _SDK_LOG.setLevel(logging.WARNING)

    def __repr__(self) -> str:
        return f"SlackWeb(base_url={self._base!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()

    def _web(self) -> AsyncWebClient:
        if self._client is None:
            import aiohttp
            from slack_sdk.web.async_client import AsyncWebClient

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self._timeout, sock_connect=min(_CONNECT_TIMEOUT, self._timeout)
                )
            )
            self._client = AsyncWebClient(
                token=self._token.get_secret_value(),
                base_url=self._base,
                session=self._session,
                retry_handlers=[],  # ours decide (delivery): a post retried blindly may show twice
                logger=_SDK_LOG,
            )
        return self._client

    async def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Post a message (a thread reply with ``thread_ts``); its ``ts``."""
        answer = await self._call(
            self._web().chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                thread_ts=thread_ts,
                metadata=metadata,
            )
        )
        ts = answer.get("ts")
        if not isinstance(ts, str):
            raise SlackRetryLaterError("malformed_answer")
        return ts

    async def find(
        self, channel: str, delivery: str, *, oldest: float, thread_ts: str | None = None
    ) -> str | None:
        """The ``ts`` of the message posted with ``delivery`` in its metadata (among the channel's
        messages since ``oldest``, or the replies of ``thread_ts``); None when there is none.
        Needs ``channels:history`` (``groups:history`` in a private channel)."""
        web = self._web()
        if thread_ts:
            read = web.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        else:
            read = web.conversations_history(
                channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200
            )
        answer = await self._call(read)
        for message in answer.get("messages") or []:
            if not isinstance(message, dict):
                continue
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("delivery") == delivery:
                ts = message.get("ts")
                return ts if isinstance(ts, str) else None
        return None

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message's text and blocks in place."""
        await self._call(self._web().chat_update(channel=channel, ts=ts, text=text, blocks=blocks))

    async def _call(self, call: Awaitable[AsyncSlackResponse]) -> dict[str, Any]:
        import aiohttp
        from slack_sdk.errors import SlackApiError

        try:
            response = await call
        except SlackApiError as exc:
            raise _sorted(exc.response) from None
        except TimeoutError:  # aiohttp's timeouts are TimeoutErrors too
            raise SlackRetryLaterError("timeout") from None
        except aiohttp.ClientError as exc:
            raise SlackRetryLaterError(f"unreachable ({type(exc).__name__})") from None
        answer = response.data
        if not isinstance(answer, dict):
            raise SlackRetryLaterError(f"malformed_answer (HTTP {response.status_code})")
        return answer


def _sorted(response: Any) -> SlackRetryLaterError | SlackRefusedError:
    """What a failed answer means: later, or refused. ``response`` is slack_sdk's (or, for a body
    that is not JSON, aiohttp's own, which names the status ``status``)."""
    status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if status == 429:
        return SlackRetryLaterError("ratelimited", retry_after)
    if status >= 500:
        return SlackRetryLaterError(f"http_{status}")
    answer = getattr(response, "data", None)
    if not isinstance(answer, dict) or "ok" not in answer:
        return SlackRetryLaterError(f"malformed_answer (HTTP {status})")
    error = str(answer.get("error") or f"http_{status}")[:100]
    if error in _TRANSIENT:
        return SlackRetryLaterError(error, retry_after)
    return SlackRefusedError(error)
