"""Answers in flight, so that a stopping process finishes them: each request counts from its
arrival to its last post; ``drain`` waits a grace period, then makes the rest give up in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

__all__ = ["NOTICE_SECONDS", "InFlight"]

log = logging.getLogger("pooldrift.slack")

#: after the grace period, how long the answers cut short may take to post their notice
NOTICE_SECONDS = 2.0


class InFlight:
    """Counts requests between arrival and answer, and holds each answer's time bound, so that
    ``drain`` can bring the bound forward to now (the answer then says the bot is restarting)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._bounds: set[asyncio.Timeout] = set()
        #: set once ``drain``'s grace ran out: answers still working give up
        self.cut_short = False

    def __len__(self) -> int:
        return self._count

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

    @contextlib.contextmanager
    def bounded(self, bound: asyncio.Timeout) -> Iterator[None]:
        """While the work behind an answer runs under ``bound``: ``drain`` may end it early."""
        if self.cut_short:
            bound.reschedule(asyncio.get_running_loop().time())
        self._bounds.add(bound)
        try:
            yield
        finally:
            self._bounds.discard(bound)

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for every answer; then end the work of those left (each
        still posts a notice, for up to ``NOTICE_SECONDS`` more). How many were cut short."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._idle.wait()
        left = self._count
        if left == 0:
            return 0
        self.cut_short = True
        now = asyncio.get_running_loop().time()
        for bound in list(self._bounds):
            bound.reschedule(now)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(NOTICE_SECONDS):
                await self._idle.wait()
        log.warning("stopped with %d Slack answers cut short after %g s of grace", left, grace)
        return left
