"""A long tool call's progress as MCP ``notifications/progress``: the fleet scan's synchronous
``progress(done, total)`` callback, relayed by a task to ``ctx.report_progress``, throttled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

log = logging.getLogger("pooldrift.server")

#: ``ctx.report_progress(progress, total, message)``; a no-op when the client sent no token
Report = Callable[[float, float | None, str | None], Awaitable[None]]
#: At most this many notifications a call, the last one included: a scan of 1,000 pools would
#: otherwise send 1,000 messages a client mostly redraws over.
MOST = 20


class ProgressRelay:
    """Called synchronously by the scan; a task (``run``) sends what is due.

    A notification is due when pools are first found, when ``done`` has moved about a
    twentieth of ``total`` since the last one (``total`` grows as projects are listed), and
    when the scan ends; never more than ``most`` in all. Bursts coalesce: the task always sends
    the latest numbers, so a slow client sees fewer messages, never stale ones.
    """

    def __init__(self, report: Report, *, most: int = MOST) -> None:
        self._report = report
        self._most = most
        self._latest = (0, 0)
        self._last: tuple[int, int] | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._broken = False
        #: notifications handed to ``report``
        self.sent = 0

    def __call__(self, done: int, total: int) -> None:
        self._latest = (done, total)
        if self._due():
            self._wake.set()

    def _due(self) -> bool:
        done, total = self._latest
        if self._broken or total == 0 or self.sent >= self._most - 1:  # one kept for the end
            return False
        if self._last is None:
            return True  # the first count of pools found
        step = max(1, math.ceil(total / (self._most - 2)))
        return done - self._last[0] >= step

    def close(self) -> None:
        """The scan is over: ``run`` sends the final numbers (unless already sent) and returns."""
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = asyncio.Event()
            if (
                not self._broken
                and self._latest[1]
                and self._latest != self._last
                and (self._closed or self._due())
            ):
                await self._send(*self._latest)
            if self._closed:
                return

    async def _send(self, done: int, total: int) -> None:
        self._last = (done, total)
        self.sent += 1
        try:
            await self._report(done, total, f"{done} of {total} pools")
        except Exception:
            # progress is a courtesy: a client that cannot take it still gets its answer
            self._broken = True
            log.debug("progress notification not delivered; no more for this call", exc_info=True)


@asynccontextmanager
async def relayed(report: Report, *, most: int = MOST) -> AsyncIterator[ProgressRelay]:
    """A relay whose task runs while the block does; on a clean exit the final numbers are sent
    before the block's result is (so a client sees ``done == total`` before the answer).

    A plain asyncio task, not a task group: an error of the block (a ``PooldriftError`` the
    caller words) must come out as itself, not wrapped in an ``ExceptionGroup``.
    """
    relay = ProgressRelay(report, most=most)
    task = asyncio.create_task(relay.run(), name="pooldrift-progress")
    try:
        yield relay
    except BaseException:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    relay.close()
    await task
