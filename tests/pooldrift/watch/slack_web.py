"""The bot tests' fake Slack (``tests.bot.fake_slack``) extended with what the watch uses:
``chat.postMessage`` and ``chat.update`` kept as a channel of messages with threads, and
answers that fail on purpose for the next calls (429 ``ratelimited`` with Retry-After, 500,
or ``ok: false`` with an error), to show delivery is late but never lost or doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.bot.fake_slack import ApiCall, FakeSlack
from tests.bot.limits import slack_problems

TOKEN = "xoxb-watch-test-token"


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
        self._released: asyncio.Event | None = None  # set: every held answer goes now
        #: False: conversations.history and .replies answer missing_scope (no channels:history)
        self.history_scope = True

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

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.messages.clear()
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

    # -- the server ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method in ("conversations.history", "conversations.replies"):
            return await self._read(method, request)
        if method not in ("chat.postMessage", "chat.update"):
            return await super()._api(request)
        args: dict[str, Any] = json.loads(await request.text() or "{}")
        with self._lock:
            self.calls.append(ApiCall(method, args, dict(request.headers)))
            failure = self._failures.pop(0) if self._failures else None
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
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
        if hold:
            # held until the time is up or the next reset (so a stop never waits on it)
            if self._released is None:
                self._released = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), hold)
        return answer

    async def _read(self, method: str, request: web.Request) -> web.Response:
        """conversations.history (newest first, since ``oldest``) and .replies (the thread)."""
        args: dict[str, Any] = json.loads(await request.text() or "{}")
        with self._lock:
            self.calls.append(ApiCall(method, args, dict(request.headers)))
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
                    **({"metadata": m.metadata} if args.get("include_all_metadata") else {}),
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
