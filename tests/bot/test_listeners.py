"""The listeners are plain module-level functions: called here directly, as Bolt would call
them, with Bolt's own ``AsyncAck`` and ``AsyncRespond``, ``Deps`` in the context, the emulator
upstream and the fake Slack's response URLs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pooldrift_slack.deps import CONTEXT_KEY, Deps, deps_of
from pooldrift_slack.listeners.actions import on_show_drifted
from pooldrift_slack.listeners.commands import on_pooldrift
from pooldrift_slack.settings import load_slack_settings
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import CHANNEL, TEAM, USER


@pytest.fixture
async def context(client: WorkspaceClient) -> AsyncIterator[dict[str, Any]]:
    deps = Deps(settings=load_slack_settings(POOLDRIFT_SLACK_MAX_LISTED=5), get_client=lambda: client)
    yield {CONTEXT_KEY: deps}
    assert len(deps.in_flight) == 0  # every answer finished its count


def command(text: str) -> dict[str, Any]:
    return {"team_id": TEAM, "channel_id": CHANNEL, "user_id": USER, "command": "/pooldrift", "text": text}


async def test_help_is_the_ack(context: dict[str, Any], slack: FakeSlack) -> None:
    ack = AsyncAck()
    await on_pooldrift(ack, command("help"), AsyncRespond(response_url=slack.response_url("k")), context)
    assert ack.response is not None and ack.response.status == 200
    assert "/pooldrift <pool>" in json.dumps(json.loads(ack.response.body))
    assert slack.posts == []


async def test_a_pool_is_acked_then_answered(
    context: dict[str, Any], slack: FakeSlack, emulator: EmulatorServer
) -> None:
    ack = AsyncAck()
    await on_pooldrift(
        ack, command("sales-win11"), AsyncRespond(response_url=slack.response_url("k")), context
    )
    assert ack.response is not None and "Checking pool" in ack.response.body
    (post,) = slack.posts_for("k")  # the listener returns once its one answer is posted
    assert post.body["blocks"][0]["type"] == "header" and "sales-win11" in post.body["text"]


async def test_a_click_is_answered(
    context: dict[str, Any], slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool_id = emulator.data.pool_named("callcenter-win10").id
    body = {"team": {"id": TEAM}, "channel": {"id": CHANNEL}, "user": {"id": USER}}
    ack = AsyncAck()
    respond = AsyncRespond(response_url=slack.response_url("click"))
    await on_show_drifted(ack, body, {"value": pool_id}, respond, context)
    assert ack.response is not None and ack.response.status == 200
    (post,) = slack.posts_for("click")
    assert "desktops of pool callcenter-win10 differ" in post.body["text"]


def test_a_context_without_deps_says_how_to_build_the_app() -> None:
    with pytest.raises(LookupError, match="build_app"):
        deps_of({})
