"""A call of a 2025 MCP session whose POST hangs up before its answer is cancelled, as the
client would have cancelled it had it been able to.

In a session (``Mcp-Session-Id``, protocol versions up to 2025-11-25) the SDK runs each call in
the session's own task, not in the POST that carries it, and the 2025 spec says a closed
answer stream is not a cancellation: only ``notifications/cancelled`` is. A client that goes
away without sending one (killed, crashed, its network dropped) left its scan running to the
end, sending every upstream request of it (1,164 in the 8 s after ten such scans hung up;
bench_abandoned.py) for an answer no one could read, nor resume (this server keeps no event
store). So when such a POST ends on the client's hang-up before its answer went out, ``guard``
sends the session that notification on the client's behalf, through the same app: the bearer
token, the transport checks and the session's owner check apply to it as to the client's own.
A session's DELETE also waits for that session's notifications still being handed over
(``guard`` says why).

A 2026-07-28 call needs none of this (the SDK cancels it when its stream closes), nor stdio
(the end of input ends every call).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["guard"]

log = logging.getLogger("pooldrift.server")

#: A call's body is a few hundred bytes; a longer one is not copied (nor guarded)
_MOST_KEPT = 64 * 1024
_SESSION = b"mcp-session-id"
#: seconds the cancellation may take to reach the session (it is in this process: milliseconds)
_CANCEL_WITHIN = 2.0
#: seconds a DELETE waits for its session's notifications under way (milliseconds, normally)
_DELIVERY_WITHIN = 1.0


def guard(app: ASGIApp) -> ASGIApp:
    """``app`` (the MCP endpoint), cancelling the call of a session's POST whose client hung
    up before its answer was sent.

    And a session's DELETE waits (briefly) for the notifications of that session still being
    handed over: the SDK's client, leaving with a call under way, POSTs its cancellation and its
    DELETE at once, and a DELETE that closed the session in between had the SDK log the
    notification's failed delivery with two tracebacks.
    """
    posts: dict[bytes, set[_Watch]] = {}

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        session = _header(scope, _SESSION) if scope["type"] == "http" else None
        if session is not None and scope["method"] == "DELETE":
            with anyio.move_on_after(_DELIVERY_WITHIN):
                for watch in list(posts.get(session, ())):
                    await watch.delivered.wait()
        if session is None or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        watch = _Watch(receive, send)
        posts.setdefault(session, set()).add(watch)
        try:
            await app(scope, watch.receive, watch.send)
        finally:
            watch.delivered.set()
            watching = posts.get(session)
            if watching is not None:
                watching.discard(watch)
                if not watching:
                    del posts[session]
            if watch.hung_up and not watch.answered and (request_id := watch.request_id()) is not None:
                # shielded and bounded: a few ms in this process, owed even when this POST is
                # itself being cancelled (the server stopping)
                with anyio.move_on_after(_CANCEL_WITHIN, shield=True):
                    await _cancel(app, scope, request_id)

    return guarded


class _Watch:
    """What one POST saw: its body (a copy, when short), the client's hang-up, its answer's end;
    ``delivered`` once the session has what it carried (a call: as soon as its body is read)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive, self._send = receive, send
        self._body: list[bytes] | None = []
        self._kept = 0
        self.delivered = anyio.Event()
        self.hung_up = False
        self.answered = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.hung_up = True
        elif message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            self._kept += len(chunk)
            if self._body is not None:
                if self._kept > _MOST_KEPT:
                    self._body = None
                else:
                    self._body.append(chunk)
            if not message.get("more_body", False) and self.request_id() is not None:
                self.delivered.set()  # a call's POST lasts as long as the call: nothing to wait for
        return message

    async def send(self, message: Message) -> None:
        await self._send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.answered = True

    def request_id(self) -> str | int | None:
        """The id of the JSON-RPC request the body carried, if it was one that can be cancelled."""
        if not self._body:
            return None
        try:
            message = json.loads(b"".join(self._body))
        except ValueError:
            return None
        if not isinstance(message, dict) or message.get("method") in (None, "initialize"):
            return None  # a notification, a response, a batch; initialize is never cancelled
        request_id = message.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            return None
        return request_id


async def _cancel(app: ASGIApp, scope: Scope, request_id: str | int) -> None:
    """POST ``notifications/cancelled`` for ``request_id`` to ``app`` with the hung-up POST's
    headers (its session, protocol version and credentials), its answer dropped."""
    notification = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": request_id, "reason": "the client hung up before the answer"},
    }
    body = json.dumps(notification).encode()
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"transfer-encoding")]
    headers.append((b"content-length", str(len(body)).encode()))
    sent: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return sent.pop() if sent else {"type": "http.disconnect"}

    status: list[Any] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app({**scope, "headers": headers}, receive, send)
    log.debug("request %r: its client hung up; cancellation sent (HTTP %s)", request_id, status or "none")


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == name), None)
