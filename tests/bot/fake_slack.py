"""Slack's side of the conversation, on a loopback port: Web API methods, ``response_url``
capture, and a Socket Mode websocket. Records everything the bot sends it.

In tests: ``with FakeSlack() as slack`` (a background thread). In benchmarks:
``python -m tests.bot.fake_slack`` prints ``fake slack listening on URL``; ``GET /_stats``
(``?contains=word`` also counts the posts that carry ``word``), ``POST /_envelopes`` (a JSON
list of Socket Mode envelopes, sent to every connected client).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.bot.limits import slack_problems

BOT_USER_ID = "U0BOTUSER"
TEAM_ID = "T0TEAM001"


@dataclass(frozen=True)
class ApiCall:
    """One Web API call: its method, its arguments and its headers (Authorization kept, to check
    which token was used; the tests never print it)."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Post:
    """One message posted to a ``response_url``."""

    key: str
    body: dict[str, Any]
    raw: str
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    """Start with ``start()`` or as a context manager; ``reset()`` between tests."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self.calls: list[ApiCall] = []
        self.posts: list[Post] = []
        #: what was posted to a ``response_url`` and refused as ``invalid_blocks``, as Slack would
        self.refused: list[Post] = []
        self.respond_status = 200
        #: tokens Slack answers ``invalid_auth`` to, as it does a revoked or mistyped one
        self.revoked: set[str] = set()
        #: what the websocket received (Socket Mode acks), parsed
        self.socket_received: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    # -- what tests read ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.base_url}/respond/{key}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.posts.clear()
            self.refused.clear()
            self.socket_received.clear()
            self.respond_status = 200
            self.revoked.clear()

    def posts_for(self, key: str) -> list[Post]:
        with self._lock:
            return [p for p in self.posts if p.key == key]

    def api_methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    async def wait_posts(self, key: str, count: int = 1, within: float = 15.0) -> list[Post]:
        """The posts to ``key`` once there are at least ``count`` (AssertionError on timeout)."""
        deadline = time.monotonic() + within
        while True:
            found = self.posts_for(key)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} posts to {key!r} after {within} s; wanted {count}")
            await asyncio.sleep(0.01)

    # -- Socket Mode --------------------------------------------------------------------------

    def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Send a frame to every connected Socket Mode client (from any thread)."""
        assert self._loop is not None
        text = json.dumps(envelope)

        async def send() -> None:
            for ws in list(self._sockets):
                await ws.send_str(text)

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    def socket_clients(self) -> int:
        return len(self._sockets)

    # -- the server ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            args: dict[str, Any] = json.loads(raw)
        else:
            args = dict(parse_qsl(raw)) | dict(request.query)
        with self._lock:
            self.calls.append(ApiCall(method, args, dict(request.headers)))
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer x"):
            return web.json_response({"ok": False, "error": "not_authed"})
        if authorization.removeprefix("Bearer ") in self.revoked:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "apps.connections.open" and not authorization.startswith("Bearer xapp-"):
            return web.json_response({"ok": False, "error": "not_allowed_token_type"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://example.slack.com/",
                    "team": "Example",
                    "user": "pooldrift",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": "B0BOT0001",
                }
            )
        if method == "apps.connections.open":
            ws = f"ws://{self.host}:{self.port}/link"
            return web.json_response({"ok": True, "url": ws})
        if method in ("chat.postMessage", "chat.postEphemeral"):
            if slack_problems(args):
                return web.json_response({"ok": False, "error": "invalid_blocks"})
            return web.json_response({"ok": True, "channel": args.get("channel"), "ts": f"{time.time():.6f}"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _respond(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        if slack_problems(body):
            # as real Slack: the message is refused whole, and nothing reaches the user
            with self._lock:
                self.refused.append(Post(request.match_info["key"], body, raw))
            return web.Response(status=400, text="invalid_blocks")
        with self._lock:
            self.posts.append(Post(request.match_info["key"], body, raw))
            status = self.respond_status
        return web.Response(status=status, text="ok" if status == 200 else "invalid_payload")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP0001"}}
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    with self._lock:
                        self.socket_received.append(json.loads(msg.data))
        finally:
            self._sockets.discard(ws)
        return ws

    async def _stats(self, request: web.Request) -> web.Response:
        word = request.query.get("contains")
        with self._lock:
            keys = {p.key for p in self.posts}
            stats = {
                "posts": len(self.posts),
                "distinct": len(keys),
                "calls": len(self.calls),
                "socket_received": len(self.socket_received),
                "socket_clients": len(self._sockets),
            }
            if word:
                stats["containing"] = sum(1 for p in self.posts if word in p.raw)
        return web.json_response(stats)

    async def _envelopes(self, request: web.Request) -> web.Response:
        envelopes = await request.json()
        for ws in list(self._sockets):
            for envelope in envelopes:
                await ws.send_str(json.dumps(envelope))
        return web.json_response({"sent": len(envelopes), "clients": len(self._sockets)})

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/link", self._link)
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_envelopes", self._envelopes)
        return app

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._ready.set()
        await self._stop.wait()
        for ws in list(self._sockets):
            await ws.close()
        await self._runner.cleanup()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="fake-slack", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Slack did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    slack = FakeSlack(port=port).start()
    sys.stdout.write(f"fake slack listening on {slack.base_url}\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        slack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
