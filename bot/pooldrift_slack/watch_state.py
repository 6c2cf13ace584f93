"""The drift watch's state as the Slack front uses it: mutes written on request, and "since when"
read for a pool's answer without ever creating a state file (the watch owns its state).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from pooldrift.errors import ConfigurationError, InvalidInputError, PooldriftError
from pooldrift.validation import shown
from pooldrift.watch.models import trend
from pooldrift.watch.settings import WatchSettings, load_watch_settings
from pooldrift.watch.state import StateStore, open_reader, open_store
from pooldrift.watch.store import WatchStateError

__all__ = [
    "MAX_MUTE",
    "MIN_MUTE",
    "Since",
    "WatchState",
    "parse_mute_duration",
]

log = logging.getLogger("pooldrift.slack")

MIN_MUTE = timedelta(minutes=1)
MAX_MUTE = timedelta(days=30)
_DURATION = re.compile(r"(\d{1,5})\s*(m|min|mins|h|d)", re.IGNORECASE)
_UNIT = {"m": 60, "min": 60, "mins": 60, "h": 3600, "d": 86400}
#: how long the answer of a check may wait for the watch's state before it goes without
_READ_WITHIN = 2.0
#: the trend line covers at most this many changes (the latest), so it stays one line
_TREND_CHANGES = 12


def parse_mute_duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d`` (minutes, hours or days), from a minute up to 30 days."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise InvalidInputError(
            f"{shown(text)} is not a duration: give minutes, hours or days, e.g. 30m, 2h or 1d",
            field="duration",
        )
    length = timedelta(seconds=int(found.group(1)) * _UNIT[found.group(2).lower()])
    if not MIN_MUTE <= length <= MAX_MUTE:
        raise InvalidInputError("a mute lasts from 1 minute up to 30 days", field="duration")
    return length


@dataclass(frozen=True)
class Since:
    """What the watch knows of a pool: since when it drifts (None: not drifting) and its trend."""

    since: datetime | None
    trend: str
    now: datetime
    zone: tzinfo


def _configured(settings: WatchSettings) -> bool:
    """Redis, a state file named on purpose, or the default file once a watch has made it."""
    if settings.redis_url is not None or "state_path" in settings.model_fields_set:
        return True
    return settings.state_path.is_file()


class WatchState:
    """Opens the watch's state per answer (settings read then, so a watch set up after the bot
    started is found); ``clock`` is the time mutes start from."""

    def __init__(
        self,
        load: Callable[[], WatchSettings] = load_watch_settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._load = load
        self.clock = clock

    def for_mutes(self) -> WatchSettings | None:
        """The watch's settings when mutes can be stored, None when it keeps no state here;
        ``ConfigurationError`` when a watch setting is wrong."""
        settings = self._load()
        return settings if _configured(settings) else None

    @asynccontextmanager
    async def writer(self, settings: WatchSettings) -> AsyncIterator[StateStore]:
        """The watch's own store, to mute or unmute in; its failures are words for the user."""
        try:
            store = await open_store(settings)
        except WatchStateError as exc:
            raise PooldriftError(f"the drift watch's state could not be opened ({exc.message})") from None
        try:
            yield store
        except WatchStateError as exc:
            raise PooldriftError(f"the drift watch's state did not answer ({exc.message})") from None
        finally:
            await store.aclose()

    async def since(self, pool_id: str) -> Since | None:
        """Since when the pool drifts and its trend, read only; None when there is no state, the
        watch never saw the pool, or the state cannot be read in time (the answer goes without)."""
        try:
            async with asyncio.timeout(_READ_WITHIN):
                return await self._read(pool_id)
        except ConfigurationError:
            return None
        except Exception as exc:  # whatever the state's trouble, the drift answer still goes out
            log.warning("could not read the drift watch's state: %s", type(exc).__name__)
            return None

    async def _read(self, pool_id: str) -> Since | None:
        settings = self._load()
        store = await open_reader(settings)
        if store is None:
            return None
        try:
            now = self.clock()
            since = await store.since(pool_id)
            # the open episode from its start, else the last day: what "since when" is about
            days = (now - since).total_seconds() / 86400 + 1 / 1440 if since else 1.0
            changes = await store.history(pool_id, days, now)
        finally:
            await store.aclose()
        line = trend(changes[-_TREND_CHANGES:])
        if since is None and not line:
            return None
        return Since(since=since, trend=line, now=now, zone=settings.zone)
