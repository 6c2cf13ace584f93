"""The line a long answer posts before it: once a scan has listed its pools, "Scanning N pools…"
goes to the ``response_url``, and the answer waits for that post so it never arrives first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from slack_bolt.context.respond.async_respond import AsyncRespond

from .answer import Payload, post

__all__ = ["FirstLine"]


class FirstLine:
    """``progress`` for ``scan_fleet``: its first call with pools to scan posts ``build(total)``,
    once, never updated (no progress bar in a chat). Leaving the ``async with`` waits for that
    post; leaving it by an error or a cancellation cancels it."""

    def __init__(
        self, respond: AsyncRespond, build: Callable[[int], Payload], *, enabled: bool = True
    ) -> None:
        self._respond = respond
        self._build = build
        self._enabled = enabled
        self._task: asyncio.Task[bool] | None = None

    def progress(self, done: int, total: int) -> None:  # noqa: ARG002 - the scan's progress signature
        if self._enabled and self._task is None and total > 0:
            self._task = asyncio.ensure_future(post(self._respond, self._build(total)))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is None:
            return
        if kind is None:
            await self._task
        else:
            self._task.cancel()
