"""A 401, 403 or 429 gets the same next step from every front: the CLI (a subprocess), the MCP
server (a real ``mcp.Client`` session) and the Slack bot (a signed request to its HTTP endpoint,
answered on a response URL) name the same variables for a 401, the IAM action of the call that
was refused for a 403, the same seconds for a 429, each in its own words, and no secret."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from pooldrift_mcp.tools import build_server
from pooldrift_slack.http import create_app

from pooldrift.config import load_settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import IAM_ACTIONS, LIST_DESKTOPS_ACTION, LIST_POOLS_ACTION, STATISTICS_ACTION
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import BOT_TOKEN, SIGNING_SECRET, ServedApp, SlackSender, action_body, command_body
from tests.helpers import process_env

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")
POOL = "hr-win10"
RETRY_AFTER = 7  # seconds the emulator's 429 asks for
#: one attempt per call: a 429's advice reaches the fronts instead of being waited out
ENV = {"POOLDRIFT_MAX_ATTEMPTS": "1", "POOLDRIFT_DEADLINE": "10"}


@dataclass(frozen=True)
class Case:
    """One refusal, the same command asked of each front, and the facts every answer names."""

    faults: dict[str, Any]
    cli: list[str]
    tool: tuple[str, dict[str, Any]]
    slack: str  # a slash command's text, or "button:<action id>" for a button on the pool
    facts: list[str]  # patterns
    #: patterns that must not match (another call's IAM action)
    not_facts: list[str] = field(default_factory=list)


def whole(name: str) -> str:
    """A pattern of ``name`` as a whole word (``…:list`` is not in ``…:listDesktops``)."""
    return rf"(?<![\w:]){re.escape(name)}(?![\w:])"


def refused(paths: str) -> dict[str, Any]:
    return {"paths": paths, "error_rate": 1.0, "error_status": 403}


def action_only(action: str) -> dict[str, list[str]]:
    return {"facts": [whole(action)], "not_facts": [whole(a) for a in IAM_ACTIONS if a != action]}


CHECK = (["check", POOL], ("pool_inconsistency", {"pool": POOL}), POOL)
LIST = (["pools"], ("list_desktop_pools", {}), "pools")
DRILL = (["desktops", POOL], ("drifted_desktops", {"pool": POOL}), "button:pooldrift_show_drifted")

CASES = {
    "401": Case(
        {"paths": "desktop-pools", "error_rate": 1.0, "error_status": 401},
        *CHECK,
        facts=[whole("HUAWEICLOUD_SDK_AK"), whole("HUAWEICLOUD_SDK_SK")],
    ),
    "403-statistics": Case(refused("inconsistent-statics"), *CHECK, **action_only(STATISTICS_ACTION)),
    "403-listing": Case(refused(r"desktop-pools$"), *LIST, **action_only(LIST_POOLS_ACTION)),
    "403-drill-down": Case(refused(r"/desktops$"), *DRILL, **action_only(LIST_DESKTOPS_ACTION)),
    "429": Case(
        {"paths": "desktop-pools", "rate_limit_rate": 1.0, "retry_after": RETRY_AFTER},
        *CHECK,
        facts=[rf"\b{RETRY_AFTER} s(econds)?\b"],  # "retry in 7 s", "Try again in 7 seconds"
    ),
}


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
async def bot(
    fake_slack: FakeSlack, emulator_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackSender]:
    fake_slack.reset()
    for name, value in {
        **ENV,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
    }.items():
        monkeypatch.setenv(name, value)
    app = ServedApp(create_app()).start()
    try:
        async with httpx2.AsyncClient(timeout=30.0) as http:
            yield SlackSender(app.url, http)
    finally:
        app.stop()
        fake_slack.reset()


def cli_answer(emulator: EmulatorServer, case: Case) -> str:
    done = subprocess.run(
        [POOLDRIFT, *case.cli], env=process_env(emulator, **ENV), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    return done.stderr + done.stdout


async def mcp_answer(case: Case) -> str:
    tool, arguments = case.tool
    async with Client(build_server(load_settings())) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    return "".join(getattr(block, "text", "") for block in result.content)


async def slack_answer(emulator: EmulatorServer, bot: SlackSender, slack: FakeSlack, case: Case) -> str:
    url = slack.response_url("k")
    if case.slack.startswith("button:"):
        body = action_body(case.slack.removeprefix("button:"), emulator.data.pool_named(POOL).id, url)
    else:
        body = command_body(case.slack, url)
    assert (await bot.send(body)).status_code == 200
    (post,) = await slack.wait_posts("k", within=30)
    return post.raw


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_every_front_names_the_same_next_step(
    emulator: EmulatorServer, bot: SlackSender, fake_slack: FakeSlack, case: Case
) -> None:
    emulator.faults.update(**case.faults)
    answers = {
        "cli": cli_answer(emulator, case),
        "mcp": await mcp_answer(case),
        "slack": await slack_answer(emulator, bot, fake_slack, case),
    }
    for front, text in answers.items():
        for fact in case.facts:
            assert re.search(fact, text), f"{front} lacks {fact}: {text}"
        for fact in case.not_facts:
            assert not re.search(fact, text), f"{front} names {fact}, not the refused call's action: {text}"
        for secret in (emulator.secret_key, SIGNING_SECRET, BOT_TOKEN):
            assert secret not in text, f"{front} leaks a secret"
