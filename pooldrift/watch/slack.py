"""The two Slack Web API calls the watch makes — ``chat.postMessage`` and ``chat.update``, JSON
POSTs with the bot token — over httpx2.

Hand-written on purpose: the core distribution cannot depend on slack_sdk (it is the Slack
front's), and two calls need no SDK. What Slack answers is sorted into "try again later"
(HTTP 429 with Retry-After, 5xx, ``ratelimited``, timeouts) and "refused" (``ok: false``).
"""

from __future__ import annotations

import logging
from typing import Any, Self

import httpx2
from pydantic import SecretStr

from ..errors import parse_retry_after

__all__ = ["SlackRefusedError", "SlackRetryLaterError", "SlackWeb"]

log = logging.getLogger("pooldrift.watch.slack")

#: ``ok: false`` errors that say "not now" rather than "never"
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


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
    """``chat.postMessage`` and ``chat.update`` at ``base_url`` (``SLACK_API_URL``) with ``token``."""

    def __init__(self, token: SecretStr, base_url: str, *, timeout: float = 10.0) -> None:
        self._token = token
        self._base = base_url if base_url.endswith("/") else base_url + "/"
        self._http = httpx2.AsyncClient(timeout=httpx2.Timeout(timeout, connect=5.0), follow_redirects=False)

    def __repr__(self) -> str:
        return f"SlackWeb(base_url={self._base!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

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
        body: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread_ts is not None:
            body["thread_ts"] = thread_ts
        if metadata is not None:
            body["metadata"] = metadata
        answer = await self._call("chat.postMessage", body)
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
        method = "conversations.replies" if thread_ts else "conversations.history"
        body: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": 200}
        body.update({"ts": thread_ts} if thread_ts else {"oldest": f"{oldest:.6f}"})
        answer = await self._call(method, body)
        for message in answer.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if isinstance(message, dict) and payload.get("delivery") == delivery:
                ts = message.get("ts")
                return ts if isinstance(ts, str) else None
        return None

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message's text and blocks in place."""
        await self._call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            response = await self._http.post(self._base + method, json=body, headers=headers)
        except httpx2.TimeoutException:
            raise SlackRetryLaterError("timeout") from None
        except httpx2.TransportError as exc:
            raise SlackRetryLaterError(f"unreachable ({type(exc).__name__})") from None
        if response.status_code == 429:
            raise SlackRetryLaterError("ratelimited", parse_retry_after(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            raise SlackRetryLaterError(f"http_{response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise SlackRetryLaterError(f"malformed_answer (HTTP {response.status_code})")
        if answer.get("ok") is True:
            return answer
        error = str(answer.get("error") or f"http_{response.status_code}")[:100]
        if error in _TRANSIENT:
            raise SlackRetryLaterError(error, parse_retry_after(response.headers.get("Retry-After")))
        raise SlackRefusedError(error)
