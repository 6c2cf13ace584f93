"""The drift watch inside ``pooldrift-server``: run in the app's lifespan when
POOLDRIFT_WATCH_INTERVAL is set, on the server's one client, and stopped within the grace.

Imported only then, so a server without the watch loads nothing of ``pooldrift.watch``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pooldrift.errors import PooldriftError
from pooldrift.watch.engine import Watch
from pooldrift.watch.settings import WatchSettings, load_watch_settings
from pooldrift.watch.slack import SlackWeb
from pooldrift.watch.state import open_store
from pooldrift.watch.store import WatchStateError

from .runtime import Runtime
from .serving import Drain

__all__ = ["ServerWatch"]

log = logging.getLogger("pooldrift.watch")


class ServerWatch:
    """The watch of one server process; ``load`` reads and checks its settings (a bad value is
    a ``ConfigurationError``, which ``pooldrift-server`` turns into one line and exit 2)."""

    def __init__(self, settings: WatchSettings) -> None:
        self.settings = settings

    @classmethod
    def load(cls) -> ServerWatch:
        return cls(load_watch_settings())

    @asynccontextmanager
    async def running(self, runtime: Runtime, drain: Drain) -> AsyncIterator[None]:
        """The watch's loop as a task while the app serves. It stops starting cycles at the first
        signal; on the way down a cycle under way gets what is left of the grace, then is cancelled
        (its writes are one transaction: nothing half-written, and the next start redoes it)."""
        client = runtime.connect()
        if client is None:
            # the server still answers with what to set, as its tools do; the watch cannot scan
            log.error("the watch is off: pooldrift is not configured (see the error above)")
            yield
            return
        token = self.settings.slack_bot_token
        try:
            # the Slack client first: without slack_sdk it says so, and no store is left open
            slack = SlackWeb(token, self.settings.slack_api_url) if token is not None else None
            store = await open_store(self.settings)
        except (PooldriftError, WatchStateError) as exc:
            log.error("the watch is off: %s", exc.message)
            yield
            return
        watch = Watch(self.settings, client, store, slack=slack)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        drain.listeners.append(lambda: loop.call_soon_threadsafe(stop.set))
        task = asyncio.create_task(watch.run(stop), name="pooldrift-watch")
        task.add_done_callback(_report_end)
        runtime.watch_store = store
        where = "Redis (POOLDRIFT_REDIS_URL)" if self.settings.redis_url else str(self.settings.state_path)
        told = f"alerts to {self.settings.channel}" if watch.deliverer else "no Slack alerts"
        log.info("watching every %g s; state in %s; %s", self.settings.interval, where, told)
        try:
            yield
        finally:
            runtime.watch_store = None
            stop.set()
            done, _ = await asyncio.wait({task}, timeout=drain.left())
            if not done:
                log.warning("the watch's cycle did not end within the grace: cancelled")
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            if slack is not None:
                await slack.aclose()
            await store.aclose()


def _report_end(task: asyncio.Task[None]) -> None:
    # Watch.run logs its own failures; anything escaping it is a bug that stopped the watch
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the watch stopped unexpectedly", exc_info=exc)
