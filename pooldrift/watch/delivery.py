"""Slack delivery from the durable outbox: each episode's message posted once, updated in place
and replied to in its thread, in order; late rather than lost, and never twice.

An item leaves the outbox only once Slack has taken it. Rate limits (429 + Retry-After) and
Slack's 5xx keep it for later; an ``ok: false`` refusal is logged once and given up after a
few tries. Quiet hours hold everything until they end; a muted pool's items are dropped.

A notice of the watch itself (its history was lost) is no episode's: it waits in memory, goes
first in the next pass, and is tried again until Slack takes it or refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .messages import alert, reply
from .metrics import DELIVERIES
from .models import EventKind, OutboxItem, SlackMessage
from .settings import WatchSettings
from .slack import SlackRefusedError, SlackRetryLaterError, SlackWeb
from .store import StateStore

__all__ = ["REFUSED_TRIES", "Deliverer", "DeliveryReport"]

log = logging.getLogger("pooldrift.watch.slack")

#: an ``ok: false`` refusal (channel_not_found, not_in_channel...) is tried this many times in all
REFUSED_TRIES = 5
#: waits between tries after a 5xx or no answer: 1 s, 2 s, 4 s ... at most 5 minutes
_BACKOFF_FIRST, _BACKOFF_MAX = 1.0, 300.0
#: Slack never answered: whether it took a post is unknown
_NO_ANSWER = ("timeout", "unreachable")
_CLOSING = (EventKind.RESOLVED, EventKind.POOL_GONE, EventKind.SCAN_RECOVERED)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    dropped: int = 0
    pending: int = 0
    held: bool = False
    next_due: datetime | None = None

    def line(self) -> str:
        if self.held:
            return f"quiet hours: {self.pending} alerts held"
        text = f"{self.delivered} Slack deliveries, {self.pending} waiting"
        return text + (f" ({self.retried} to retry)" if self.retried else "")


def _backoff(attempts: int) -> float:
    return float(min(_BACKOFF_MAX, _BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


class Deliverer:
    """Drains the outbox to ``slack``; ``deliver()`` is called by the watch that holds the lease."""

    def __init__(
        self, settings: WatchSettings, store: StateStore, slack: SlackWeb, *, clock: Callable[[], datetime]
    ) -> None:
        self.settings = settings
        self.store = store
        self.slack = slack
        self.clock = clock
        self._told: set[str] = set()  # refusals already logged at warning level
        self._notices: list[tuple[str, str]] = []  # (channel, text), oldest first

    def tell(self, channel: str, text: str) -> None:
        """Post ``text`` to ``channel`` at the next pass (outside quiet hours), once."""
        self._notices.append((channel, text))

    async def _notify(self, report: DeliveryReport) -> bool:
        """The waiting notices, in order; False when Slack says to wait (the pass stops there)."""
        while self._notices:
            channel, text = self._notices[0]
            block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
            try:
                await self.slack.post(channel, text, [block])
            except SlackRetryLaterError as exc:
                report.retried += 1
                log.info("Slack said %s; the watch's notice waits", exc.reason)
                return False
            except SlackRefusedError as exc:
                log.warning("Slack refused the watch's notice to %s: %s", channel, exc.error)
            else:
                report.delivered += 1
            self._notices.pop(0)
        return True

    async def deliver(self, owner: str | None = None) -> DeliveryReport:
        """One pass over the outbox, oldest first; an episode stops at its first item that must wait.
        With ``owner``, each item is sent only while that owner still holds the lease."""
        report = DeliveryReport()
        now = self.clock()
        quiet = self.settings.quiet
        if quiet is not None and quiet.contains(now):
            report.held = True
            report.pending = await self.store.pending()
            report.next_due = quiet.ends_after(now)
            return report
        if not await self._notify(report):
            report.pending = await self.store.pending()
            return report
        muted = await self.store.muted(now)
        blocked: set[str | None] = set()
        for item in await self.store.due(now, limit=1000):
            episode = item.event.episode
            if episode in blocked:
                continue
            if item.due > now:
                blocked.add(episode)
                report.next_due = min(item.due, report.next_due or item.due)
                continue
            if item.event.key in muted:
                await self.store.finish(item.key)
                DELIVERIES.labels("muted").inc()
                continue
            if owner is not None and not await self.store.lease(owner, self.settings.lease_ttl):
                break  # another replica leads now: it delivers the rest
            outcome = await self._one(item, now)
            if outcome == "delivered":
                report.delivered += 1
            elif outcome == "dropped":
                report.dropped += 1
            else:
                report.retried += 1
                blocked.add(episode)
                if outcome == "ratelimited":
                    break  # Slack limits the whole method: nothing else goes through now
        report.pending = await self.store.pending()
        return report

    async def _one(self, item: OutboxItem, now: datetime) -> str:
        try:
            await self._send(item, now)
        except SlackRetryLaterError as exc:
            wait = exc.retry_after if exc.retry_after is not None else _backoff(item.attempts + 1)
            # no answer at all (a timeout, a broken connection): Slack may have taken the post
            await self._again(
                item, now, wait, exc.reason, unsure=item.unsure or exc.reason.startswith(_NO_ANSWER)
            )
            DELIVERIES.labels("retried").inc()
            log.info("Slack said %s; alert %s waits %.1f s", exc.reason, item.key, wait)
            return "ratelimited" if exc.reason == "ratelimited" else "retry"
        except SlackRefusedError as exc:
            DELIVERIES.labels("refused").inc()
            if exc.error not in self._told:
                self._told.add(exc.error)
                log.warning(
                    "Slack refused an alert to %s: %s (is the bot in the channel, with chat:write?)",
                    item.channel,
                    exc.error,
                )
            if item.attempts + 1 >= REFUSED_TRIES:
                await self.store.finish(item.key)
                log.error("gave up alert %s after %d refusals (%s)", item.key, item.attempts + 1, exc.error)
                DELIVERIES.labels("dropped").inc()
                return "dropped"
            await self._again(item, now, _backoff(item.attempts + 1), exc.error, unsure=item.unsure)
            return "retry"
        forget = item.event.episode if item.event.kind in _CLOSING else None
        await self.store.finish(item.key, forget_episode=forget)
        DELIVERIES.labels("delivered").inc()
        return "delivered"

    async def _again(
        self, item: OutboxItem, now: datetime, wait: float, error: str, *, unsure: bool = False
    ) -> None:
        later = item.model_copy(
            update={
                "attempts": item.attempts + 1,
                "due": now + timedelta(seconds=wait),
                "error": error,
                "unsure": unsure,
            }
        )
        await self.store.retry(later)

    async def _posted(self, item: OutboxItem, thread_ts: str | None = None) -> str | None:
        """After an attempt that may have reached Slack: the ts of what it posted, if it did.
        Without the history scopes Slack cannot say, and the post is made again (said once)."""
        if not item.unsure:
            return None
        try:
            oldest = item.event.at.timestamp() - 60
            return await self.slack.find(item.channel, item.key, oldest=oldest, thread_ts=thread_ts)
        except SlackRefusedError as exc:
            if "history" not in self._told:
                self._told.add("history")
                log.warning(
                    "cannot look for an alert that may be posted already (%s; it needs channels:history): "
                    "posting it again, it may show twice",
                    exc.error,
                )
            return None

    async def _mark(self, item: OutboxItem) -> OutboxItem:
        """Write, before a post, that one is under way: a crash before its answer leaves it unsure."""
        if not item.unsure:
            item = item.model_copy(update={"unsure": True})
            await self.store.retry(item)
        return item

    async def _send(self, item: OutboxItem, now: datetime) -> None:
        """The Slack calls of one item: a new episode's message, or the update and the thread reply.
        Each post carries its delivery key in Slack's message metadata, so an unsure one is found."""
        event = item.event
        assert event.episode is not None
        zone = self.settings.zone
        metadata = {
            "event_type": "pooldrift_watch_alert",
            "event_payload": {"delivery": item.key, "episode": event.episode, "pool_id": event.pool_id or ""},
        }
        known = await self.store.message(event.episode)
        if known is None:
            if event.kind in _CLOSING:
                return  # the episode was never announced (muted then): nothing to close
            ts = await self._posted(item)
            if ts is None:
                top = alert(event, zone=zone)
                item = await self._mark(item)
                ts = await self.slack.post(item.channel, top["text"], top["blocks"], metadata=metadata)
            message = SlackMessage(episode=event.episode, channel=item.channel, ts=ts, posted_at=now)
            await self.store.save_message(message)
            return
        # the update first: it is idempotent, so a retry after a failed reply repeats only it
        top = alert(event, zone=zone)
        await self.slack.update(known.channel, known.ts, top["text"], top["blocks"])
        if await self._posted(item, thread_ts=known.ts) is None:
            answer = reply(event, zone=zone)
            await self._mark(item)
            await self.slack.post(
                known.channel, answer["text"], answer["blocks"], thread_ts=known.ts, metadata=metadata
            )
