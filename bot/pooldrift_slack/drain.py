"""Answers in flight, so that a stopping process finishes them: each request counts from its
arrival to its last post; ``drain`` waits a grace period, then makes the rest give up in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

__all__ = ["NOTICE_SECONDS", "CutShort", "InFlight"]

log = logging.getLogger("pooldrift.slack")

#: after the grace period, how long the answers cut short may take to post their notice
NOTICE_SECONDS = 2.0

_T = TypeVar("_T")


class CutShort(Exception):
    """The process is stopping and the grace period for this answer's work ran out."""


class InFlight:
    """Counts requests between arrival and answer, and runs the work behind each answer so
    that ``drain`` can stop waiting for it (the answer then says the bot is restarting)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._cut: asyncio.Future[None] | None = None
        #: work given up on, kept referenced until its cancellation completes
        self._abandoned: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return self._count

    @property
    def cut_short(self) -> bool:
        return self._cut is not None and self._cut.done()

    def _cut_future(self) -> asyncio.Future[None]:
        if self._cut is None:
            self._cut = asyncio.get_running_loop().create_future()
        return self._cut

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around one request, from before its ack until its answer was posted."""
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def run(self, work: Awaitable[_T], within: float) -> _T:
        """``work``'s result; ``TimeoutError`` past ``within`` seconds; ``CutShort`` once
        ``drain``'s grace ran out. The work is cancelled then, but never waited for: a call
        that is slow to give up cannot hold the answer back."""
        task = asyncio.ensure_future(work)
        cut = self._cut_future()
        either: set[asyncio.Future[Any]] = {task, cut}
        try:
            await asyncio.wait(either, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                self._abandoned.add(task)
                task.add_done_callback(self._forget)
        if task.done():
            return task.result()
        if cut.done():
            raise CutShort
        raise TimeoutError

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: what it failed with no longer matters

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for every answer; then end the wait of those left (each
        still posts a notice, for up to ``NOTICE_SECONDS`` more). How many were cut short."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._idle.wait()
        left = self._count
        if left == 0:
            return 0
        cut = self._cut_future()
        if not cut.done():
            cut.set_result(None)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(NOTICE_SECONDS):
                await self._idle.wait()
        log.warning("stopped with %d Slack answers cut short after %g s of grace", left, grace)
        return left
