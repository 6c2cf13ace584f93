"""Slack answers through signed HTTP: foreign text with a backtick inside code formatting, and
clicks whose payload has no ``team`` against an allow-list of workspaces.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import CHANNEL, TEAM, USER, action_body, command_body
from tests.bot.settle import listen, settled


async def test_a_backtick_in_a_pool_name_cannot_end_the_code_span(
    bot: Any, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    template = emulator.data.pools[0]
    odd = "qa`lab *bold* <!here>"  # upstream names are not ours to trust
    emulator.data.add_pool(dataclasses.replace(template, id="0badc0de-0000-4000-8000-000000000001", name=odd))
    await bot.send(command_body("lab", slack.response_url("k")))  # no pool is named just "lab"
    (post,) = await slack.wait_posts("k")
    await settled(caplog, answered=1)
    text = post.body["blocks"][0]["text"]["text"]
    assert "No pool is named `lab`" in text
    assert "`qa'lab *bold* &lt;!here&gt;`" in text  # one code span: the backtick became a quote
    assert "qa`lab" not in post.raw and "<!here>" not in post.raw


def teamless_click(pool_id: str, response_url: str, *, user_team: str | None) -> str:
    """A block_actions payload as some Enterprise Grid and shared-channel clicks come: no
    ``team`` object; the workspace only in ``user.team_id`` (or nowhere)."""
    payload = json.loads(dict(parse_qsl(action_body("pooldrift_refresh", pool_id, response_url)))["payload"])
    del payload["team"]
    if user_team is None:
        del payload["user"]["team_id"]
    else:
        payload["user"]["team_id"] = user_team
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize(
    ("user_team", "answered"),
    [(TEAM, True), ("T0ELSEWHERE", False), (None, False)],
    ids=["users-team-allowed", "users-team-not-allowed", "no-team-at-all"],
)
async def test_a_click_without_team_is_judged_by_the_users_team(
    start_bot: Any,
    slack: FakeSlack,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    user_team: str | None,
    answered: bool,
) -> None:
    listen(caplog)
    bot = start_bot(POOLDRIFT_SLACK_ALLOWED_TEAMS=f"T0OTHER01,{TEAM}")
    pool = emulator.data.pool_named("hr-win10")
    await bot.send(teamless_click(pool.id, slack.response_url("k"), user_team=user_team))
    (post,) = await slack.wait_posts("k")
    (line,) = await settled(caplog, answered=1)
    assert (line["team"], line["channel"], line["user"]) == (user_team, CHANNEL, USER)
    if answered:
        assert line["outcome"] == "ok" and "hr-win10" in post.body["blocks"][0]["text"]["text"]
        assert emulator.requests.count("inconsistent-statics") == 1
    else:
        assert line["outcome"] == "refused" and "not enabled for this workspace" in post.body["text"]
        assert len(emulator.requests) == 0
