"""The bot tests' fake Slack (``tests.bot.fake_slack``) extended with what the watch uses:
``chat.postMessage`` and ``chat.update`` kept as a channel of messages with threads, and
answers that fail on purpose for the next calls (429 ``ratelimited`` with Retry-After, 500,
or ``ok: false`` with an error), to show delivery is late but never lost or doubled.

Strict about encodings, as Slack is: only the write methods (``JSON_METHODS``) read a JSON body,
and only with the token in a bearer header; every other method (``conversations.history``,
``.replies``, ``auth.test``) reads the query string and a form body, ignores a JSON body (so
answers ``invalid_arguments`` when its required arguments were only in one), and takes the token
from the header or a ``token`` argument. ``received`` records how each call came.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.bot.fake_slack import BOT_USER_ID, TEAM_ID, ApiCall, FakeSlack
from tests.bot.limits import slack_problems

TOKEN = "xoxb-watch-test-token"
#: the methods Slack documents a JSON body for (its write methods); the rest read form fields
JSON_METHODS = frozenset({"chat.postMessage", "chat.update"})
#: what each read method cannot do without
_REQUIRED: dict[str, tuple[str, ...]] = {
    "conversations.history": ("channel",),
    "conversations.replies": ("channel", "ts"),
    "auth.test": (),
}


@dataclass(frozen=True)
class Received:
    """How one call of the watch's methods came: the HTTP verb, the body's content type, the
    arguments by where they were, and where the token was (``header``, ``query``, ``form`` or
    None); the token itself is not kept."""

    method: str
    verb: str
    content_type: str
    query: dict[str, str]
    form: dict[str, str]
    json: dict[str, Any] | None
    token_in: str | None


def _flag(value: object) -> bool:
    """A boolean argument as Slack reads one: ``true`` / ``1`` (form and query carry text)."""
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true"))


@dataclass
class Posted:
    """A message as the channel now shows it (top-level, or a reply when ``thread_ts`` is set)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: list[str] = field(default_factory=list)  # the texts it had before each chat.update

    def button_values(self) -> dict[str, str]:
        return {
            element["action_id"]: element["value"]
            for block in self.blocks
            if block["type"] == "actions"
            for element in block["elements"]
        }


class SlackWebApi(FakeSlack):
    """Start with ``start()`` or as a context manager; inspect ``top()``, ``thread(ts)``."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Posted] = []
        self._failures: list[tuple[int, float | None, str] | None] = []  # None: answer normally
        self._ts = itertools.count(1)
        self._holds: list[float] = []
        self._drops = 0
        self._released: asyncio.Event | None = None  # set: every held answer goes now
        #: False: conversations.history and .replies answer missing_scope (no channels:history)
        self.history_scope = True
        #: how each call of JSON_METHODS and the read methods came, in order
        self.received: list[Received] = []

    # -- what tests set --------------------------------------------------------------------

    def fail_next(
        self, count: int, *, status: int = 429, retry_after: float | None = 0.2, after: int = 0
    ) -> None:
        """The ``count`` chat calls after the next ``after`` answer ``status`` (429: ``ratelimited``
        with Retry-After)."""
        with self._lock:
            self._failures += [None] * after + [
                (status, retry_after, "ratelimited" if status == 429 else "")
            ] * count

    def refuse_next(self, count: int, error: str = "channel_not_found") -> None:
        """The next ``count`` chat calls answer 200 ``{"ok": false, "error": error}``."""
        with self._lock:
            self._failures += [(200, None, error)] * count

    def hold_next(self, seconds: float, *, after: int = 0) -> None:
        """The chat call after the next ``after`` is carried out at once, its answer sent only
        after ``seconds``: a watch killed meanwhile never learns that Slack took it."""
        with self._lock:
            self._holds = [0.0] * after + [seconds]

    def drop_next(self, count: int = 1) -> None:
        """The next ``count`` chat calls are carried out, then their connection is closed before
        any answer: the client cannot tell whether Slack took them."""
        with self._lock:
            self._drops = count

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._drops = 0
            self.messages.clear()
            self.received.clear()
            self._failures.clear()
            self._holds = []
            self.history_scope = True
            released, self._released = self._released, None
        if released is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(released.set)

    # -- what tests read -------------------------------------------------------------------

    def top(self) -> list[Posted]:
        with self._lock:
            return [m for m in self.messages if m.thread_ts is None]

    def thread(self, ts: str) -> list[Posted]:
        with self._lock:
            return [m for m in self.messages if m.thread_ts == ts]

    def chat_calls(self) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method.startswith("chat.")]

    async def wait_for(self, what: Callable[[], bool], within: float = 20.0, why: str = "") -> None:
        """Until ``what()`` holds (AssertionError naming ``why`` after ``within`` seconds)."""
        deadline = time.monotonic() + within
        while not what():
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {within} s: {why}; messages: {self.messages!r}")
            await asyncio.sleep(0.01)

    def calls_of(self, method: str) -> list[Received]:
        """How each call of ``method`` came, in order."""
        with self._lock:
            return [r for r in self.received if r.method == method]

    # -- the server ------------------------------------------------------------------------

    async def _arguments(self, method: str, request: web.Request) -> tuple[dict[str, Any], str | None]:
        """The call's arguments and token, read where Slack reads them for ``method``."""
        query = dict(request.query)
        raw = await request.text()
        form: dict[str, str] = {}
        body: dict[str, Any] | None = None
        if request.content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw, keep_blank_values=True))
        elif request.content_type == "application/json" and raw:
            body = json.loads(raw)
        token, token_in = None, None
        bearer = request.headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            token, token_in = bearer.removeprefix("Bearer "), "header"
        elif "token" in form or "token" in query:
            token_in = "form" if "token" in form else "query"
            token = form.get("token") or query.get("token")
        with self._lock:
            self.received.append(
                Received(method, request.method, request.content_type, query, form, body, token_in)
            )
        args: dict[str, Any] = {**query, **form}
        if method in JSON_METHODS and body is not None:
            args.update(body)  # a JSON body's own "token" is ignored, as Slack ignores it
        for name in ("blocks", "metadata"):  # form fields carry these as JSON text
            if isinstance(args.get(name), str):
                args[name] = json.loads(args[name])
        args.pop("token", None)
        return args, token

    @staticmethod
    def _refusal(token: str | None, args: Mapping[str, Any], method: str) -> web.Response | None:
        """Slack's answer to a call without a valid token or its required arguments."""
        if token is None:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        missing = [name for name in _REQUIRED.get(method, ()) if not args.get(name)]
        if missing:
            messages = [f"[ERROR] missing required field: {name}" for name in missing]
            return web.json_response(
                {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": messages}}
            )
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method in _REQUIRED:
            return await self._read(method, request)
        if method not in JSON_METHODS:
            return await super()._api(request)
        args, token = await self._arguments(method, request)
        with self._lock:
            self.calls.append(ApiCall(method, args, dict(request.headers)))
            failure = self._failures.pop(0) if self._failures else None
        refused = self._refusal(token, args, method)
        if refused is not None:
            return refused
        if failure is not None:
            status, retry_after, error = failure
            if status == 429:
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                return web.json_response({"ok": False, "error": error}, status=429, headers=headers)
            if status >= 500:
                return web.Response(status=status, text="upstream connect error")
            return web.json_response({"ok": False, "error": error})
        if slack_problems(args):
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        with self._lock:
            answer = self._post(args) if method == "chat.postMessage" else self._update(args)
            hold = self._holds.pop(0) if self._holds else 0.0
            drop, self._drops = self._drops > 0, max(0, self._drops - 1)
        if drop and request.transport is not None:
            request.transport.close()  # carried out, and the connection closed before any answer
            return answer
        if hold:
            # held until the time is up or the next reset (so a stop never waits on it)
            if self._released is None:
                self._released = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), hold)
        return answer

    async def _read(self, method: str, request: web.Request) -> web.Response:
        """conversations.history (newest first, since ``oldest``), .replies (the thread) and
        auth.test."""
        args, token = await self._arguments(method, request)
        with self._lock:
            self.calls.append(ApiCall(method, args, dict(request.headers)))
        refused = self._refusal(token, args, method)
        if refused is not None:
            return refused
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0BOT0001"}
            )
        with self._lock:
            if not self.history_scope:
                return web.json_response(
                    {"ok": False, "error": "missing_scope", "needed": "channels:history"}
                )
            if method == "conversations.history":
                found = [
                    m
                    for m in self.messages
                    if m.channel == args.get("channel")
                    and m.thread_ts is None
                    and float(m.ts) >= float(args.get("oldest", 0))
                ][::-1]
            else:
                found = [m for m in self.messages if m.ts == args.get("ts") or m.thread_ts == args.get("ts")]
            shown = [
                {
                    "ts": m.ts,
                    "text": m.text,
                    **({"metadata": m.metadata} if _flag(args.get("include_all_metadata")) else {}),
                }
                for m in found
            ]
        return web.json_response({"ok": True, "messages": shown, "has_more": False})

    def _post(self, args: dict[str, Any]) -> web.Response:
        channel, thread_ts = args.get("channel"), args.get("thread_ts")
        if not isinstance(channel, str) or not channel:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if thread_ts is not None and not any(
            m.ts == thread_ts and m.channel == channel for m in self.messages
        ):
            return web.json_response({"ok": False, "error": "thread_not_found"})
        ts = f"{int(time.time())}.{next(self._ts):06d}"  # Slack's form: seconds, then a unique part
        self.messages.append(
            Posted(channel, ts, args.get("text", ""), args.get("blocks", []), thread_ts, args.get("metadata"))
        )
        return web.json_response({"ok": True, "channel": channel, "ts": ts})

    def _update(self, args: dict[str, Any]) -> web.Response:
        found = next(
            (m for m in self.messages if m.ts == args.get("ts") and m.channel == args.get("channel")), None
        )
        if found is None:
            return web.json_response({"ok": False, "error": "message_not_found"})
        found.edits.append(found.text)
        found.text, found.blocks = args.get("text", ""), args.get("blocks", [])
        return web.json_response({"ok": True, "channel": found.channel, "ts": found.ts})
