"""The drift watch from Slack, end to end: signed ``/pooldrift mute|unmute`` and pool checks over
loopback HTTP to the served bot, the emulator upstream, and a real watch (its own SQLite state in
a temporary file, its alerts to the fake Slack Web API) whose cycles the test runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pooldrift_slack.blocks import REFRESH_ACTION
from prometheus_client import REGISTRY

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from pooldrift.watch.engine import Watch
from pooldrift.watch.settings import load_watch_settings
from pooldrift.watch.slack import SlackWeb
from pooldrift.watch.state import open_store
from tests.bot.conftest import BotStarter
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import action_body, command_body
from tests.pooldrift.watch.slack_web import TOKEN, Posted, SlackWebApi

CHANNEL = "C0WATCH01"


@pytest.fixture(autouse=True)
def _no_default_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default state file (under ~) is this test's own: absent unless a test makes it."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def web(slack_web: SlackWebApi) -> SlackWebApi:
    """The fake Slack Web API the watch posts its alerts to (``slack`` here is the bot's fake)."""
    return slack_web


@asynccontextmanager
async def watching(web: SlackWebApi, state: Path) -> AsyncIterator[Watch]:
    """A watch on the emulator with its state in ``state`` (made by the watch's own store)."""
    settings = load_watch_settings(
        interval="1", channel=CHANNEL, slack_bot_token=TOKEN, slack_api_url=web.api_url, state_path=state
    )
    assert settings.slack_bot_token is not None
    store = await open_store(settings)
    try:
        async with (
            WorkspaceClient() as client,
            SlackWeb(settings.slack_bot_token, settings.slack_api_url) as slack,
        ):
            yield Watch(settings, client, store, slack=slack)
    finally:
        await store.aclose()


async def turn(watch: Watch) -> None:
    await watch.cycle()
    await watch.deliver()


def alerts_for(web: SlackWebApi, pool_id: str) -> list[Posted]:
    return [m for m in web.top() if (m.metadata or {}).get("event_payload", {}).get("pool_id") == pool_id]


def calls(operation: str, outcome: str) -> float:
    labels = {"front": "slack", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("pooldrift_calls_total", labels) or 0.0


class Audited(logging.Handler):
    """Sets ``done`` once an audit record of ``operation`` is written (just after its post)."""

    def __init__(self, operation: str) -> None:
        super().__init__(logging.INFO)
        self.operation = operation
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "operation", None) == self.operation:
            self.done.set()


@contextmanager
def audited(operation: str) -> Iterator[Audited]:
    logger = logging.getLogger("pooldrift.audit")
    handler, level = Audited(operation), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def text_of(body: dict[str, Any]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in body["blocks"] if b["type"] == "section")


async def ask(bot: Any, slack: FakeSlack, text: str, key: str) -> dict[str, Any]:
    """The command's answer posted to its response URL (after an ephemeral ack)."""
    response = await bot.send(command_body(text, slack.response_url(key)))
    assert response.status_code == 200 and response.json()["response_type"] == "ephemeral"
    (post,) = await slack.wait_posts(key)
    body: dict[str, Any] = post.body
    return body


async def test_a_muted_pool_is_not_announced_until_unmuted(
    start_bot: BotStarter, slack: FakeSlack, web: SlackWebApi, emulator: EmulatorServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    bot = start_bot(POOLDRIFT_STATE=str(state))
    data = emulator.data
    muted = data.pool_named("finance-win11")
    in_line = [p for p in data.pools if data.desktops_of(p.id) and not any(data.statics(p.id).values())]
    other = next(p for p in in_line if p != muted)
    assert not any(data.statics(muted.id).values())
    async with watching(web, state) as watch:
        await turn(watch)  # the demo's drifted pools are announced; these two are in line
        web.reset()
        before = calls("mute", "ok")

        with audited("mute") as audit:
            answer = await ask(bot, slack, "mute finance-win11 2h", "m")
            assert await asyncio.to_thread(audit.done.wait, 5), "the mute is audited"
        assert answer["response_type"] == "ephemeral"
        assert f"Muted *finance-win11* `{muted.id}` for 2 h, until" in text_of(answer)
        assert calls("mute", "ok") == before + 1
        mutes = await watch.store.muted(watch.clock())
        assert set(mutes) == {muted.id}
        assert timedelta(minutes=119) < mutes[muted.id] - watch.clock() <= timedelta(hours=2)
        assert f"until {mutes[muted.id]:%Y-%m-%d %H:%M} UTC" in text_of(answer)

        emulator.data.set_drift(muted.id, "image_id", 3)
        emulator.data.set_drift(other.id, "image_id", 2)
        await turn(watch)
        assert len(alerts_for(web, other.id)) == 1, "the watch still posts about the others"
        assert alerts_for(web, muted.id) == [], "nothing about the muted pool"

        answer = await ask(bot, slack, f"unmute {muted.id}", "u")
        assert f"Unmuted *finance-win11* `{muted.id}`" in text_of(answer)
        assert await watch.store.muted(watch.clock()) == {}
        answer = await ask(bot, slack, "unmute finance-win11", "u2")
        assert "was not muted" in text_of(answer)

        emulator.data.set_drift(muted.id, "image_id", 5)
        await turn(watch)
        assert len(alerts_for(web, muted.id)) == 1, "unmuted: its next change is announced"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("mute finance-win11 2x", "'2x' is not a duration"),
        ("mute finance-win11 2", "'2' is not a duration"),
        ("mute finance-win11", "say which pool and for how long"),
        ("mute finance-win11 0m", "from 1 minute up to 30 days"),
        ("mute finance-win11 31d", "from 1 minute up to 30 days"),
        ("mute 2h", "say which pool and for how long"),
        ("mute fin/ance 2h", "invalid pool reference"),
        ("unmute", "say which pool"),
        ("unmute fin$ance", "invalid pool reference"),
    ],
)
async def test_bad_durations_and_pools_are_refused_before_any_request(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer, tmp_path: Path, text: str, said: str
) -> None:
    state = tmp_path / "state.db"
    bot = start_bot(POOLDRIFT_STATE=str(state))
    operation = text.split()[0]
    before = calls(operation, "invalid_input")
    with audited(operation) as audit:
        response = await bot.send(command_body(text, slack.response_url("k")))
        assert await asyncio.to_thread(audit.done.wait, 5), "the refusal is audited"
    ack = response.json()
    assert ack["response_type"] == "ephemeral" and said in ack["text"]
    assert slack.posts == [] and len(emulator.requests) == 0
    assert calls(operation, "invalid_input") == before + 1
    assert not state.exists(), "nothing stored"


async def test_mute_is_refused_when_the_watch_keeps_no_state(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer, tmp_path: Path
) -> None:
    bot = start_bot()  # no POOLDRIFT_STATE, no POOLDRIFT_REDIS_URL, no default file
    for text in ("mute finance-win11 2h", "unmute finance-win11"):
        ack = (await bot.send(command_body(text, slack.response_url("k")))).json()
        assert "Muting needs the drift watch's state" in ack["text"] and "`POOLDRIFT_STATE`" in ack["text"]
    assert slack.posts == [] and len(emulator.requests) == 0
    assert not (tmp_path / "home").exists(), "no state file made from Slack"


async def test_a_bad_watch_setting_is_said_and_never_breaks_a_check(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer, tmp_path: Path
) -> None:
    bot = start_bot(POOLDRIFT_STATE=str(tmp_path / "state.db"), POOLDRIFT_HISTORY_DAYS="0")
    ack = (await bot.send(command_body("mute finance-win11 2h", slack.response_url("k")))).json()
    assert "The drift watch's settings are wrong" in ack["text"] and "POOLDRIFT_HISTORY_DAYS" in ack["text"]
    assert slack.posts == [] and len(emulator.requests) == 0
    body = await ask(bot, slack, "dev-ubuntu22", "c")
    assert "has drifted" in body["blocks"][0]["text"]["text"] and "Drifting since" not in text_of(body)


async def test_an_unknown_pool_is_not_muted(
    start_bot: BotStarter, slack: FakeSlack, web: SlackWebApi, emulator: EmulatorServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    bot = start_bot(POOLDRIFT_STATE=str(state))
    async with watching(web, state) as watch:
        answer = await ask(bot, slack, "mute no-such-pool 1d", "k")
        assert "No pool is named `no-such-pool`" in text_of(answer)
        assert await watch.store.muted(watch.clock()) == {}


async def test_the_answer_says_since_when_a_pool_drifts_once_the_watch_has_seen_it(
    start_bot: BotStarter, slack: FakeSlack, web: SlackWebApi, emulator: EmulatorServer, tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    bot = start_bot(POOLDRIFT_STATE=str(state))
    pool = emulator.data.pool_named("finance-win11")
    async with watching(web, state) as watch:
        await turn(watch)
        assert "Drifting since" not in text_of(await ask(bot, slack, "finance-win11", "a")), "in line"
        emulator.data.set_drift(pool.id, "image_id", 3)
        await turn(watch)
        emulator.data.set_drift(pool.id, "product_id", 7)
        await turn(watch)
        since = await watch.store.since(pool.id)
        assert since is not None
    text = text_of(await ask(bot, slack, "finance-win11", "b"))
    assert f"Drifting since {since:%Y-%m-%d %H:%M} UTC (" in text
    assert "Trend: 0 → 3 → 7 since" in text
    await bot.send(action_body(REFRESH_ACTION, pool.id, slack.response_url("r")))
    (refreshed,) = await slack.wait_posts("r")
    assert f"Drifting since {since:%Y-%m-%d %H:%M} UTC (" in text_of(refreshed.body), "the buttons too"


async def test_without_the_watchs_state_the_answer_has_nothing_extra(
    start_bot: BotStarter, slack: FakeSlack, emulator: EmulatorServer, tmp_path: Path
) -> None:
    absent = tmp_path / "absent.db"
    for key, env in (("a", {}), ("b", {"POOLDRIFT_STATE": str(absent)})):
        bot = start_bot(**env)
        body = await ask(bot, slack, "dev-ubuntu22", key)
        assert "has drifted" in body["blocks"][0]["text"]["text"]
        assert "Drifting since" not in text_of(body) and "Trend" not in text_of(body)
        assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context", "actions"]
    assert not absent.exists() and not (tmp_path / "home").exists(), "no state file made from Slack"
