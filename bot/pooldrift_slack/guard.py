"""What ``/slack/events`` checks before Bolt sees a request, cheapest first: the size of the body
as it streams in, Slack's signature, and a body of the shape Bolt's matchers index into.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from slack_sdk.signature import SignatureVerifier

__all__ = ["MAX_BODY", "Refused", "check_shape", "read_body", "verify"]

#: Slack's payloads are a few kB; refuse anything far bigger before holding it
MAX_BODY = 1 << 20
_MAX_TIMESTAMP_DIGITS = 12


class Refused(Exception):
    """The request is answered with ``status`` and a short fixed ``reason`` (never its content)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(
    content_length: str | None, stream: AsyncIterator[bytes], *, limit: int = MAX_BODY
) -> bytes:
    """The body, counted as it arrives (chunked bodies carry no length): past ``limit`` bytes
    the rest is never read, so one request cannot take more than ``limit`` of memory."""
    if content_length is not None and (not content_length.isdigit() or int(content_length) > limit):
        raise Refused(413, "payload too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise Refused(413, "payload too large")
        chunks.append(chunk)
    return b"".join(chunks)


def verify(verifier: SignatureVerifier, headers: Mapping[str, str], body: bytes) -> str:
    """The body as text once its signature holds (``X-Slack-Signature`` over the timestamp and
    the bytes, within Slack's five minutes); else ``Refused`` with 400 or 401."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    # the verifier would int() the timestamp itself and fail on anything but digits
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise Refused(401, "invalid request")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    if not signature or not verifier.is_valid(text, timestamp, signature):
        raise Refused(401, "invalid request")
    return text


def check_shape(body: Any) -> None:
    """A parsed body Bolt can route: an object, a view payload carries a view object, no workflow
    step (the bot has none), and a click carries at least one action object with an
    ``action_id`` (Bolt's matchers index ``actions[0]["action_id"]`` unchecked)."""
    if not isinstance(body, dict):
        raise Refused(400, "the body is not a JSON object or a form")
    kind = body.get("type")
    if kind in ("view_submission", "view_closed") and not isinstance(body.get("view"), dict):
        # Bolt's view matchers index ``view["callback_id"]`` unchecked
        raise Refused(400, "a view payload without a view")
    if isinstance(kind, str) and kind.startswith("workflow_step"):
        # Bolt's workflow-step middleware indexes ``workflow_step`` unchecked; the bot has none
        raise Refused(400, "workflow steps are not handled")
    if kind in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            raise Refused(400, "an interaction without an action")
        if kind == "block_actions" and not isinstance(actions[0].get("action_id"), str):
            raise Refused(400, "an interaction without an action id")
