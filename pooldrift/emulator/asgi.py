"""The ASGI plumbing under the emulator's front door: read and replay a body, capture an answer to
send it whole or broken, tag it with a request id, and hang up on the client.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send


async def json_object(request: Request, what: str) -> dict[str, Any]:
    values = json.loads(await request.body() or b"{}")
    if not isinstance(values, dict):
        raise ValueError(f"the body must be a JSON object of {what}")
    return values


def body(chunk: bytes, *, more: bool = False) -> Message:
    return {"type": "http.response.body", "body": chunk, "more_body": more}


def gateway_error(code: str, message: str) -> dict[str, str]:
    return {"error_code": code, "error_msg": message}


def headers(scope: Scope) -> dict[str, str]:
    """Lowercase name → value (first one wins); UTF-8 as the vendor SDK sends it."""
    out: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        if name in out:
            continue
        try:
            out[name] = raw_value.decode("utf-8")
        except UnicodeDecodeError:
            out[name] = raw_value.decode("latin-1")
    return out


def with_request_id(send: Send, request_id: str) -> Send:
    async def tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
            headers.append((b"x-request-id", request_id.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return tagged


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def noop_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def capture(
    app: Callable[[Scope, Receive, Send], Awaitable[None]], scope: Scope, receive: Receive
) -> tuple[Message, bytes]:
    """Run an ASGI app and keep its answer, to send it as is or broken."""
    start: Message = {}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return start, b"".join(chunks)


async def render(response: Response, scope: Scope) -> tuple[Message, bytes]:
    return await capture(response, scope, noop_receive)


def abort(send: Send) -> bool:
    """Close the client's connection now; False when the server gives no way to (not uvicorn)."""
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        return False
    transport.close()
    # tell uvicorn the client is gone, so it neither logs an unfinished answer nor sends a 500
    if hasattr(cycle, "disconnected"):
        cycle.disconnected = True
    return True


def gone(send: Send) -> bool:
    """Whether the client has hung up (as far as the server tells: uvicorn does)."""
    return bool(getattr(getattr(send, "__self__", None), "disconnected", False))


async def close_connection(send: Send) -> None:
    """Close the client's connection at once, without (the rest of) an answer."""
    if not abort(send):
        raise ConnectionAbortedError("emulator fault: connection dropped")
