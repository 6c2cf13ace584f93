"""The watch in this process against the emulator and the fake Slack Web API, on each store:
one message per episode, updated in place with thread replies, resolved once, silence when
nothing changes, late-but-once delivery through rate limits and 5xx, mutes, quiet hours,
failing scans and the per-pool gauges."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from prometheus_client import REGISTRY

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.watch.delivery import REFUSED_TRIES
from pooldrift.watch.engine import Watch
from pooldrift.watch.models import EventKind
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.slack import SlackWeb
from pooldrift.watch.state import StateStore
from tests.pooldrift.watch.conftest import CHANNEL, Clock
from tests.pooldrift.watch.slack_web import Posted, SlackWebApi

Open = Callable[..., Any]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_watch(watch_env: dict[str, str], store: StateStore, clock: Clock) -> Open:
    """``async with open_watch(**settings) as watch``: a watch on the test's store."""

    @asynccontextmanager
    async def opened(**overrides: Any) -> AsyncIterator[Watch]:
        settings = load_watch_settings(interval="1", **overrides)
        assert settings.slack_bot_token is not None
        async with (
            WorkspaceClient() as client,
            SlackWeb(settings.slack_bot_token, settings.slack_api_url) as web,
        ):
            yield Watch(settings, client, store, slack=web, clock=clock)

    return opened


async def turn(watch: Watch) -> tuple[int, int]:
    """One cycle and one delivery: (events, deliveries made)."""
    report = await watch.cycle()
    delivered = await watch.deliver()
    return report.events, delivered.delivered


def alert_for(slack: SlackWebApi, pool_id: str) -> list[Posted]:
    """The pool's messages (the watch tags each with its pool in Slack's message metadata)."""
    return [m for m in slack.top() if (m.metadata or {}).get("event_payload", {}).get("pool_id") == pool_id]


async def test_one_episode_one_message_updated_in_place_and_resolved(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore
) -> None:
    pool = emulator.data.pool_named("finance-win11")  # in line in the demo data
    drifted_demo = [p for p in emulator.data.pools if any(emulator.data.statics(p.id).values())]
    async with open_watch() as watch:
        events, delivered = await turn(watch)
        assert events == delivered == len(slack.top()) == len(drifted_demo), "each drifted pool told once"
        assert {m.channel for m in slack.top()} == {CHANNEL}
        slack.reset()
        assert await turn(watch) == (0, 0) and slack.chat_calls() == [], "unchanged: nothing posted"

        emulator.data.set_drift(pool.id, "image_id", 3)
        assert await turn(watch) == (1, 1)
        (message,) = slack.top()
        assert message.button_values() == {"pooldrift_refresh": pool.id, "pooldrift_show_drifted": pool.id}
        assert "finance-win11 has drifted" in message.blocks[0]["text"]["text"]
        assert "At least *3* of 24 desktops" in message.blocks[1]["text"]["text"]
        assert message.metadata is not None and message.metadata["event_payload"]["pool_id"] == pool.id
        assert slack.thread(message.ts) == []

        emulator.data.set_drift(pool.id, "product_id", 2)
        assert await turn(watch) == (1, 1)
        emulator.data.set_drift(pool.id, "image_id", 1)
        assert await turn(watch) == (1, 1)
        assert slack.top() == [message] and len(message.edits) == 2, "updated in place, no new message"
        replies = [r.text for r in slack.thread(message.ts)]
        assert replies[0] == "⬆️ Worse: package 0 → 2; at least 3 desktops drift."
        assert replies[1] == "⬇️ Better: image 3 → 1; at least 2 desktops drift (was 3)."
        assert await turn(watch) == (0, 0)

        emulator.data.set_drift(pool.id, "image_id", 0)
        emulator.data.set_drift(pool.id, "product_id", 0)
        assert await turn(watch) == (1, 1)
        assert slack.top() == [message] and "drift resolved after" in message.text
        assert message.button_values() == {"pooldrift_refresh": pool.id}
        assert slack.thread(message.ts)[-1].text.startswith("✅ Resolved after")
        assert len(slack.thread(message.ts)) == 3
        assert await turn(watch) == (0, 0) and await store.pending() == 0
        history = await store.history(pool.id, 1, watch.clock())
        assert [c.kind for c in history] == ["drifted", "worse", "better", "resolved"]
        assert await store.since(pool.id) is None
        assert await store.message(history[0].episode or "") is None, (
            "a closed episode's message is forgotten"
        )


async def test_rate_limits_and_5xx_delay_an_alert_but_never_lose_or_double_it(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: Clock
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    async with open_watch() as watch:
        await turn(watch)
        slack.reset()
        emulator.data.set_drift(pool.id, "disk_size", 2)
        slack.fail_next(2, status=429, retry_after=30)
        assert await turn(watch) == (1, 0)
        assert slack.top() == [] and await store.pending() == 1
        (waiting,) = await store.due(clock())
        assert waiting.attempts == 1 and waiting.error == "ratelimited"
        assert (await watch.deliver()).delivered == 0 and len(slack.chat_calls()) == 1, "Retry-After honoured"
        clock.advance(31)
        assert (await watch.deliver()).delivered == 0 and len(slack.chat_calls()) == 2
        clock.advance(31)
        assert (await watch.deliver()).delivered == 1
        (message,) = slack.top()
        assert await store.pending() == 0 and (await watch.deliver()).delivered == 0
        assert len(alert_for(slack, pool.id)) == 1

        # the update goes through, the thread reply meets a 500: the retry repeats only the update
        emulator.data.set_drift(pool.id, "disk_size", 5)
        slack.fail_next(1, status=500, after=1)
        assert await turn(watch) == (1, 0)
        clock.advance(2)
        assert (await watch.deliver()).delivered == 1
        assert [c.method for c in slack.chat_calls()][-4:] == [
            "chat.update",
            "chat.postMessage",
            "chat.update",
            "chat.postMessage",
        ]
        assert len(slack.thread(message.ts)) == 1 and slack.top() == [message]

        # several changes waiting behind a rate limit go out in order, each once
        slack.fail_next(1, status=429, retry_after=5)
        emulator.data.set_drift(pool.id, "disk_size", 7)
        await turn(watch)
        emulator.data.set_drift(pool.id, "disk_size", 1)
        await turn(watch)
        clock.advance(6)
        assert (await watch.deliver()).delivered == 2
        replies = [r.text for r in slack.thread(message.ts)]
        assert [r.split(":")[0] for r in replies] == ["⬆️ Worse", "⬆️ Worse", "⬇️ Better"]
        assert "disk capacity 5 → 7" in replies[1] and "disk capacity 7 → 1" in replies[2]


async def test_a_refusal_is_logged_once_and_given_up_after_bounded_tries(
    open_watch: Open,
    emulator: EmulatorServer,
    slack: SlackWebApi,
    store: StateStore,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pooldrift.watch")
    pool = emulator.data.pool_named("finance-win11")
    async with open_watch() as watch:
        await turn(watch)
        slack.reset()
        emulator.data.set_drift(pool.id, "image_id", 1)
        slack.refuse_next(REFUSED_TRIES + 3, "not_in_channel")
        await turn(watch)
        for _ in range(REFUSED_TRIES):
            clock.advance(600)
            await watch.deliver()
        assert len(slack.chat_calls()) == REFUSED_TRIES and await store.pending() == 0
        warnings = [
            r for r in caplog.records if r.levelno == logging.WARNING and "not_in_channel" in r.message
        ]
        assert len(warnings) == 1, "said once, not every try"
        assert any("gave up" in r.message for r in caplog.records if r.levelno == logging.ERROR)
        assert "xoxb" not in caplog.text


async def test_a_muted_pool_is_not_announced_and_quiet_hours_hold_alerts(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore, clock: Clock
) -> None:
    quiet_pool = emulator.data.pool_named("finance-win11")
    muted_pool = emulator.data.pool_named("LAB-A")
    now = clock()
    window = f"{(now.hour - 1) % 24:02d}:00-{(now.hour + 2) % 24:02d}:00"  # now falls inside
    async with open_watch() as watch:
        await turn(watch)
    slack.reset()
    await store.mute(muted_pool.id, clock() + (now - now.replace(year=now.year - 1)))
    async with open_watch(quiet_hours=window) as watch:
        emulator.data.set_drift(muted_pool.id, "image_id", 2)
        emulator.data.set_drift(quiet_pool.id, "image_id", 2)
        report = await watch.cycle()
        assert report.events == 2 and report.queued == 1, "the muted pool's change is history only"
        held = await watch.deliver()
        assert held.held and held.pending == 1 and slack.chat_calls() == []
        clock.advance(4 * 3600)  # past the window's end
        assert (await watch.deliver()).delivered == 1
        assert len(alert_for(slack, quiet_pool.id)) == 1 and alert_for(slack, muted_pool.id) == []
        assert [c.kind for c in await store.history(muted_pool.id, 1, clock())] == ["drifted"]
        # unmuted: the next change announces the episode, once
        assert await store.unmute(muted_pool.id)
        emulator.data.set_drift(muted_pool.id, "image_id", 4)
        assert await turn(watch) == (1, 1)
        (message,) = alert_for(slack, muted_pool.id)
        assert "At least *4*" in message.blocks[1]["text"]["text"] and slack.thread(message.ts) == []


async def test_a_pool_failing_n_cycles_is_reported_once_then_recovered(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi
) -> None:
    pool = emulator.data.pool_named("hr-win10")
    async with open_watch(failures=2) as watch:
        await turn(watch)
        slack.reset()
        emulator.faults.update(error_rate=1.0, error_status=503, paths=f"{pool.id}/inconsistent-statics")
        assert await turn(watch) == (0, 0)
        assert await turn(watch) == (1, 1)
        (message,) = slack.top()
        assert "Cannot check hr-win10" in message.blocks[0]["text"]["text"]
        assert "2 checks in a row failed" in message.text
        assert await turn(watch) == (0, 0), "said once"
        emulator.faults.reset()
        assert await turn(watch) == (1, 1)
        assert "can be checked again" in message.text and len(slack.thread(message.ts)) == 1


@pytest.mark.parametrize("value", [True, 10**30], ids=repr)
async def test_implausible_counts_neither_open_nor_close_an_episode(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, value: object
) -> None:
    async with open_watch(failures=2) as watch:
        await turn(watch)  # the demo's drifted pools open their episodes
        slack.reset()
        emulator.shape.update(count_value=value)  # every pool: counts that cannot be true
        assert await turn(watch) == (0, 0), "a pool's implausible counts are a failed check"
        emulator.shape.update(count_value=None)
        assert await turn(watch) == (0, 0) and slack.chat_calls() == [], "nothing opened, nothing resolved"


def sample(name: str, pool: Any, emulator: EmulatorServer, **extra: str) -> float | None:
    labels = {
        "pool_id": pool.id,
        "pool_name": pool.name,
        "project_id": emulator.project_id,
        "region": "cn-north-4",
        **extra,
    }
    return REGISTRY.get_sample_value(name, labels)


async def test_per_pool_gauges_equal_the_emulators_counts_and_a_gone_pools_series_go(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi
) -> None:
    extra = emulator.data.create_pool("lab-gauge", 7)
    emulator.data.set_drift(extra.id, "disk_num", 3)
    async with open_watch() as watch:
        await turn(watch)
        for pool in emulator.data.pools:
            counts = emulator.data.statics(pool.id)
            for kind, count in counts.items():
                assert sample("pooldrift_pool_drifted_desktops", pool, emulator, kind=kind) == count
            assert sample("pooldrift_pool_desktops", pool, emulator) == len(
                emulator.data.desktops_of(pool.id)
            )
            assert sample("pooldrift_pool_scan_failures", pool, emulator) == 0
            seen = sample("pooldrift_pool_last_success_timestamp_seconds", pool, emulator)
            assert seen is not None and abs(seen - watch.clock().timestamp()) < 60
        emulator.data.set_drift(extra.id, "disk_num", 5)
        await turn(watch)
        assert sample("pooldrift_pool_drifted_desktops", extra, emulator, kind="disk_num") == 5
        assert emulator.data.remove_pool(extra.id)
        events, _ = await turn(watch)
        assert events == 1
        for kind in ("product_id", "image_id", "disk_num", "disk_size"):
            assert sample("pooldrift_pool_drifted_desktops", extra, emulator, kind=kind) is None
        assert sample("pooldrift_pool_desktops", extra, emulator) is None
        (message,) = alert_for(slack, extra.id)
        assert "lab-gauge is gone" in message.blocks[0]["text"]["text"]
        assert slack.thread(message.ts)[-1].text.startswith("🗑️ The pool is gone")


async def test_a_new_watch_on_the_same_state_repeats_nothing_and_sees_what_changed(
    open_watch: Open, emulator: EmulatorServer, slack: SlackWebApi, store: StateStore
) -> None:
    pool = emulator.data.pool_named("design-gpu-win11")
    async with open_watch() as first:
        await turn(first)
    told = len(slack.top())
    emulator.data.set_drift(pool.id, "image_id", 9)  # while no watch runs
    async with open_watch() as second:
        assert await turn(second) == (1, 1)
    assert len(slack.top()) == told, "nothing posted anew"
    (message,) = alert_for(slack, pool.id)
    assert slack.thread(message.ts)[0].text == "⬆️ Worse: image 5 → 9; at least 9 desktops drift (was 5)."
    assert [c.kind for c in await store.history(pool.id, 1, second.clock())] == [
        EventKind.DRIFTED,
        EventKind.WORSE,
    ]
