"""Acks before answers: under a burst of commands, the work behind earlier answers would
otherwise take the event loop from later acks (Slack gives an ack 3 s, an answer 30 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__all__ = ["AckFirst"]


class AckFirst:
    """Counts Slack requests between arrival and ack. Answers wait until none has been in
    progress for ``settle`` seconds (the gaps inside a burst are shorter), but never longer
    than ``max_wait`` seconds in all, so a steady stream cannot starve them."""

    def __init__(self, *, settle: float = 0.02, max_wait: float = 0.5) -> None:
        self.settle = settle
        self.max_wait = max_wait
        self._arriving = 0
        self._arrivals = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._none_arriving = asyncio.Event()
        self._none_arriving.set()

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Around the handling of one request, up to its HTTP response (the ack)."""
        self._arriving += 1
        self._arrivals += 1
        self._quiet.clear()
        self._none_arriving.clear()
        try:
            yield
        finally:
            self._arriving -= 1
            if self._arriving == 0:
                self._none_arriving.set()
                asyncio.get_running_loop().call_later(self.settle, self._settled, self._arrivals)

    def _settled(self, arrivals: int) -> None:
        if self._arriving == 0 and arrivals == self._arrivals:  # nothing came in meanwhile
            self._quiet.set()

    async def all_acked(self) -> None:
        """Returns once no request is between its arrival and its ack."""
        await self._none_arriving.wait()

    async def wait_turn(self) -> None:
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait):
                await self._quiet.wait()
