"""What the bot refuses: unsigned or stale requests, Slack's retries of a delivery, people and
places outside the allow-lists — and what it never says: secrets.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import BOT_TOKEN, SIGNING_SECRET, SlackSender, action_body, command_body
from tests.bot.settle import listen, settled


async def genuine_after(
    bot: SlackSender,
    slack: FakeSlack,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    *,
    trigger_id: str,
) -> None:
    """The refused request's delivery again, signed: it is answered, so the refused one neither
    claimed its trigger (the repeat filter runs after the signature check) nor started any work."""
    await bot.send(command_body("sales-win11", slack.response_url("genuine"), trigger_id=trigger_id))
    (post,) = await slack.wait_posts("genuine")
    assert "sales-win11" in post.body["text"]
    (line,) = await settled(caplog, answered=1)
    assert line["outcome"] == "ok" and emulator.requests.count("inconsistent-statics") == 1


@pytest.mark.parametrize(
    "signing",
    [
        {"secret": "not-the-signing-secret"},
        {"timestamp": int(time.time()) - 301},  # older than Slack's five minutes
        {"timestamp": int(time.time()) + 400},
    ],
    ids=["bad-signature", "too-old", "from-the-future"],
)
async def test_unverified_requests_get_401_and_fetch_nothing(
    bot: SlackSender,
    slack: FakeSlack,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    signing: dict[str, Any],
) -> None:
    listen(caplog)
    response = await bot.send(
        command_body("sales-win11", slack.response_url("k"), trigger_id="1.2"), **signing
    )
    assert response.status_code == 401
    await genuine_after(bot, slack, emulator, caplog, trigger_id="1.2")
    assert slack.posts_for("k") == []


async def test_an_unsigned_request_gets_401(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    body = command_body("sales-win11", slack.response_url("k"), trigger_id="3.4")
    response = await bot.http.post(
        f"{bot.url}/slack/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 401
    await genuine_after(bot, slack, emulator, caplog, trigger_id="3.4")
    assert slack.posts_for("k") == []


async def test_a_huge_body_is_refused_before_it_is_read(bot: SlackSender) -> None:
    response = await bot.http.post(f"{bot.url}/slack/events", content=b"x" * (2 << 20))
    assert response.status_code == 413


async def test_a_retried_delivery_posts_once(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    body = command_body("sales-win11", slack.response_url("k"))
    first = await bot.send(body)
    second = await bot.send(body, retry=1)
    third = await bot.send(body, retry=2)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    await slack.wait_posts("k")
    await settled(caplog, answered=1, repeats=2)
    assert len(slack.posts_for("k")) == 1
    assert emulator.requests.count("inconsistent-statics") == 1


async def test_a_retried_click_posts_once(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    body = action_body("pooldrift_refresh", emulator.data.pool_named("hr-win10").id, slack.response_url("k"))
    await bot.send(body)
    await bot.send(body, retry=1)
    await slack.wait_posts("k")
    await settled(caplog, answered=1, repeats=1)
    assert len(slack.posts_for("k")) == 1


async def test_two_commands_with_the_same_text_both_answer(bot: SlackSender, slack: FakeSlack) -> None:
    await bot.send(command_body("hr-win10", slack.response_url("a")))
    await bot.send(command_body("hr-win10", slack.response_url("b")))
    await slack.wait_posts("a")
    await slack.wait_posts("b")


@pytest.mark.parametrize(
    ("env", "what"),
    [
        ({"POOLDRIFT_SLACK_ALLOWED_CHANNELS": "C0OTHER01, C0OTHER02"}, "channel"),
        ({"POOLDRIFT_SLACK_ALLOWED_USERS": "U0SOMEONE"}, "user"),
        ({"POOLDRIFT_SLACK_ALLOWED_TEAMS": "T0ELSEWHERE"}, "workspace"),
    ],
)
async def test_refused_people_and_places_fetch_nothing(
    start_bot: Any,
    slack: FakeSlack,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    env: dict[str, str],
    what: str,
) -> None:
    listen(caplog)
    bot = start_bot(**env)
    response = await bot.send(command_body("sales-win11", slack.response_url("k")))
    ack = response.json()
    assert response.status_code == 200 and ack["response_type"] == "ephemeral"
    assert f"not enabled for this {what}" in ack["text"]
    pool_id = emulator.data.pool_named("sales-win11").id
    await bot.send(action_body("pooldrift_show_drifted", pool_id, slack.response_url("click")))
    (post,) = await slack.wait_posts("click")
    assert f"not enabled for this {what}" in post.body["text"]
    lines = await settled(caplog, answered=2)
    assert [line["outcome"] for line in lines] == ["refused", "refused"]
    assert len(emulator.requests) == 0 and slack.posts_for("k") == []


async def test_allowed_people_and_places_get_answers(start_bot: Any, slack: FakeSlack) -> None:
    bot = start_bot(
        POOLDRIFT_SLACK_ALLOWED_CHANNELS="C0OTHER01,C0CHAN001",
        POOLDRIFT_SLACK_ALLOWED_USERS="U0USER001",
        POOLDRIFT_SLACK_ALLOWED_TEAMS="T0TEAM001",
    )
    await bot.send(command_body("hr-win10", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert "hr-win10" in post.body["text"]


async def test_secrets_never_reach_a_message_or_a_log(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = start_bot()
    pool_id = emulator.data.pool_named("sales-win11").id
    await bot.send(command_body("sales-win11", slack.response_url("ok")))
    await bot.send(command_body("pools", slack.response_url("pools")))
    await bot.send(action_body("pooldrift_show_drifted", pool_id, slack.response_url("drifted")))
    await bot.send(command_body("nope-pool", slack.response_url("unknown")))
    await bot.send(command_body("x", slack.response_url("bad")), secret="wrong")
    for key in ("ok", "pools", "drifted", "unknown"):
        await slack.wait_posts(key)
    emulator.faults.update(error_rate=1.0, error_status=401)
    await bot.send(command_body("sales-win11", slack.response_url("401")))
    await slack.wait_posts("401")
    await settled(caplog, answered=5)  # the badly signed one is never answered
    secrets = [emulator.secret_key, BOT_TOKEN, SIGNING_SECRET]
    posted = "\n".join(p.raw for p in slack.posts)
    logged = caplog.text + "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert len(slack.posts) == 5 and "pooldrift.audit" in logged
    for secret in secrets:
        assert secret not in posted
        assert secret not in logged
