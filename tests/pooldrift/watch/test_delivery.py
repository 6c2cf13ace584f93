"""The outbox's promises, the watch in this process against the emulator and the fake Slack Web
API on each store: an alert due now goes now; a rate limit stops the whole pass; a post whose
answer never came is looked for, not sent again; closing an episode nobody was told of says
nothing; a muted pool's waiting alerts are dropped; a scan of a scope that could not be listed
changes no episode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.watch.engine import Watch
from pooldrift.watch.models import EventKind
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.slack import SlackWeb
from pooldrift.watch.state import StateStore
from tests.pooldrift.watch.slack_web import Posted, SlackWebApi

Open = Callable[..., Any]


class FixedClock:
    """A clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def open_watch(watch_env: dict[str, str], store: StateStore, clock: FixedClock) -> Open:
    """``async with open_watch(slack_timeout=…, **settings) as watch``: a watch on the test's store."""

    @asynccontextmanager
    async def opened(slack_timeout: float = 10.0, **overrides: Any) -> AsyncIterator[Watch]:
        settings = load_watch_settings(**{"interval": "1", **overrides})
        assert settings.slack_bot_token is not None
        async with (
            WorkspaceClient() as client,
            SlackWeb(settings.slack_bot_token, settings.slack_api_url, timeout=slack_timeout) as web,
        ):
            yield Watch(settings, client, store, slack=web, clock=clock)

    return opened


async def settle(watch: Watch, slack: SlackWebApi) -> None:
    """The first cycle announces the demo set's drifted pools: done, and Slack's record emptied
    (so the tests drift pools the demo set has in line: finance-win11 and LAB-A)."""
    await watch.cycle()
    assert (await watch.deliver()).pending == 0
    slack.reset()


def alerts_of(slack: SlackWebApi, pool_id: str) -> list[Posted]:
    return [m for m in slack.top() if (m.metadata or {}).get("event_payload", {}).get("pool_id") == pool_id]


async def test_an_alert_due_exactly_now_is_sent_now(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: FixedClock
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    async with open_watch() as watch:
        await settle(watch, slack)
        emulator.data.set_drift(pool.id, "image_id", 3)
        assert (await watch.cycle()).queued == 1
        (waiting,) = await store.due(clock())
        assert waiting.due == clock(), "queued due now, and the clock has not moved"
        assert (await watch.deliver()).delivered == 1
    assert len(alerts_of(slack, pool.id)) == 1 and await store.pending() == 0


async def test_a_rate_limit_holds_every_other_alert_for_the_rest_of_the_pass(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: FixedClock
) -> None:
    first, second = emulator.data.pool_named("finance-win11"), emulator.data.pool_named("LAB-A")
    async with open_watch() as watch:
        await settle(watch, slack)
        for found in (first, second):
            emulator.data.set_drift(found.id, "image_id", 2)
        assert (await watch.cycle()).queued == 2, "two episodes, one channel"
        slack.fail_next(1, status=429, retry_after=30)
        report = await watch.deliver()
        assert (report.delivered, report.retried, report.pending) == (0, 1, 2)
        assert len(slack.chat_calls()) == 1, "nothing else was posted while Slack said wait"
        clock.advance(31)
        assert (await watch.deliver()).delivered == 2
    assert len(alerts_of(slack, first.id)) == 1 and len(alerts_of(slack, second.id)) == 1


async def test_a_post_whose_answer_timed_out_is_looked_for_and_not_sent_again(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: FixedClock
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    async with open_watch(slack_timeout=1.0) as watch:
        await settle(watch, slack)
        emulator.data.set_drift(pool.id, "image_id", 3)
        await watch.cycle()
        slack.hold_next(5)  # Slack takes the post; its answer comes after the client gave up
        report = await watch.deliver()
        assert (report.delivered, report.retried) == (0, 1)
        (unsure,) = await store.due(clock())
        assert unsure.unsure and unsure.error == "timeout"
        await slack.wait_for(lambda: len(alerts_of(slack, pool.id)) == 1, why="Slack took it")
        clock.advance(5)
        assert (await watch.deliver()).delivered == 1
    assert len(alerts_of(slack, pool.id)) == 1, "found by its delivery key, not posted twice"
    assert "conversations.history" in [c.method for c in slack.calls]
    assert await store.message(unsure.event.episode or "") is not None, "the found post is the episode's"


async def test_closing_an_episode_that_was_never_announced_posts_nothing(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: FixedClock
) -> None:
    pool = emulator.data.pool_named("LAB-A")
    async with open_watch() as watch:
        await settle(watch, slack)
        await store.mute(pool.id, clock() + timedelta(hours=1))
        emulator.data.set_drift(pool.id, "image_id", 2)
        assert (await watch.cycle()).queued == 0, "muted: history only"
        assert await store.unmute(pool.id)
        emulator.data.set_drift(pool.id, "image_id", 0)
        report = await watch.cycle()
        assert report.queued == 1, "the resolution is queued like any event"
        assert (await watch.deliver()).delivered == 1
    assert slack.chat_calls() == [], "nobody was told it began, so nobody is told it ended"
    kinds = [e.kind for e in await store.history(pool.id, 1, clock())]
    assert kinds == [EventKind.DRIFTED, EventKind.RESOLVED] and await store.pending() == 0


async def test_a_muted_pools_waiting_alerts_are_dropped_not_posted_when_the_mute_ends(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: FixedClock
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    async with open_watch() as watch:
        await settle(watch, slack)
        emulator.data.set_drift(pool.id, "image_id", 3)
        assert (await watch.cycle()).queued == 1
        await store.mute(pool.id, clock() + timedelta(minutes=10))
        report = await watch.deliver()
        assert (report.delivered, report.pending) == (0, 0), "dropped at the pass after the mute"
        clock.advance(11 * 60)
        assert await store.muted(clock()) == {}
        assert (await watch.deliver()).delivered == 0
    assert slack.chat_calls() == []


@pytest.mark.parametrize(
    ("scope", "failing"),
    [({}, r"/desktop-pools$"), ({"all_projects": True}, r"/v3/auth/projects$")],
    ids=["its-project", "every-project"],
)
async def test_a_scope_that_cannot_be_listed_neither_removes_pools_nor_resolves_episodes(
    open_watch: Open,
    emulator: EmulatorServer,
    slack: SlackWebApi,
    store: StateStore,
    clock: FixedClock,
    scope: dict[str, Any],
    failing: str,
) -> None:
    """The project's pool listing fails, or (all projects) IAM's listing of the projects: the
    pools it did not list are not gone, and an open episode stays open."""
    pool = emulator.data.pool_named("finance-win11")
    async with open_watch(**scope) as watch:
        await settle(watch, slack)
        emulator.data.set_drift(pool.id, "image_id", 3)
        await watch.cycle()
        await watch.deliver()
        before = await store.load()
        slack.reset()
        emulator.faults.update(error_rate=1.0, error_status=503, paths=failing)
        clock.advance(60)
        report = await watch.cycle()
        assert report.pools == 0 and report.failures == 1
        await watch.deliver()
        after = await store.load()
    pools_before = {k for k, s in before.items() if s.scope == "pool"}
    assert pools_before and pools_before <= set(after), "no pool taken for gone"
    assert after[pool.id].drifting and after[pool.id].drifting_since == before[pool.id].drifting_since
    kinds = {e.kind for e in await store.history(pool.id, 1, clock())}
    assert EventKind.RESOLVED not in kinds and EventKind.POOL_GONE not in kinds
    assert slack.chat_calls() == [], "nothing resolved, nothing gone"
