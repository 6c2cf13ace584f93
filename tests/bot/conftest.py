"""Fixtures of the Slack tests: the fake Slack (Web API + response URLs), the bot served over
real loopback HTTP against the emulator, and a sender of signed Slack requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx2
import pytest
from pooldrift_slack.http import create_app

from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import BOT_TOKEN, SIGNING_SECRET, ServedApp, SlackSender


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def slack(fake_slack_server: FakeSlack) -> Iterator[FakeSlack]:
    """The fake Slack with nothing recorded yet."""
    fake_slack_server.reset()
    yield fake_slack_server
    fake_slack_server.reset()


@pytest.fixture
def slack_env(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30.0) as client:
        yield client


BotStarter = Callable[..., SlackSender]


@pytest.fixture
def start_bot(
    emulator_env: dict[str, str],
    slack_env: dict[str, str],
    http: httpx2.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[BotStarter]:
    """Start ``pooldrift_slack.http.create_app`` under uvicorn with extra environment variables set first."""
    served: list[ServedApp] = []

    def start(**env: str) -> SlackSender:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        app = ServedApp(create_app()).start()
        served.append(app)
        return SlackSender(app.url, http)

    yield start
    for app in served:
        app.stop()


@pytest.fixture
def bot(start_bot: BotStarter) -> SlackSender:
    """The bot with the default settings (results in channel, no allow-lists)."""
    return start_bot()
