"""``/pooldrift`` end to end: signed requests over loopback HTTP to the served bot, the emulator
upstream, the fake Slack capturing what is posted to each ``response_url``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from prometheus_client import REGISTRY

from pooldrift.emulator import EmulatorServer
from pooldrift.models import InconsistentType
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import BOT_TOKEN, CHANNEL, TEAM, USER, SlackSender, command_body
from tests.bot.settle import listen, settled

STATICS = "inconsistent-statics"


def fields_of(body: dict[str, Any]) -> list[str]:
    (section,) = [b for b in body["blocks"] if b["type"] == "section" and "fields" in b]
    return [f["text"] for f in section["fields"]]


def check_report(body: dict[str, Any], emulator: EmulatorServer, name: str) -> None:
    """The blocks carry the emulator's numbers for pool ``name``, one field per kind."""
    pool = emulator.data.pool_named(name)
    expected = emulator.data.statics(pool.id)
    header = body["blocks"][0]
    assert header["type"] == "header"
    assert name in header["text"]["text"]
    for kind, text in zip(InconsistentType, fields_of(body), strict=True):
        count = expected[kind.field]
        assert kind.label in text
        if count:
            assert f"*{count}* drifted" in text
        else:
            assert "in line" in text
    drifted = any(expected.values())
    assert ("has drifted" if drifted else "is consistent") in header["text"]["text"]
    buttons = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [pool.id] * (2 if drifted else 1)
    assert buttons[0]["action_id"] == "pooldrift_refresh"
    context = next(b for b in body["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert emulator.project_id in context and "cn-north-4" in context and f"<@{USER}>" in context
    assert body["text"] and name in body["text"]


async def test_a_pool_by_name_gets_its_drift_counts_in_channel(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    response = await bot.send(command_body("sales-win11", slack.response_url("k1")))
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "ephemeral" and "Checking pool `sales-win11`" in ack["text"]
    (post,) = await slack.wait_posts("k1")
    assert post.body["response_type"] == "in_channel"
    check_report(post.body, emulator, "sales-win11")
    await settled(caplog, answered=1)
    assert len(slack.posts_for("k1")) == 1, "exactly one answer"
    # the Web API (the fake, via SLACK_API_URL) is asked only Bolt's auth.test, with the bot token
    assert slack.api_methods() == ["auth.test"]
    assert slack.calls[0].headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_auth_test_is_asked_once(bot: SlackSender, slack: FakeSlack) -> None:
    for key in ("a", "b", "c"):
        await bot.send(command_body("hr-win10", slack.response_url(key)))
        await slack.wait_posts(key)
    assert slack.api_methods() == ["auth.test"]


async def test_without_a_bot_token_the_signature_is_enough(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    bot = start_bot()
    await bot.send(command_body("hr-win10", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    check_report(post.body, emulator, "hr-win10")
    assert slack.api_methods() == []


@pytest.mark.parametrize("name", ["finance-win11", "dev-ubuntu22", "qa-win11"])
async def test_every_pool_shows_its_own_numbers(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, name: str
) -> None:
    pool = emulator.data.pool_named(name)
    await bot.send(command_body(pool.id.upper(), slack.response_url("k")))  # ids in any case
    (post,) = await slack.wait_posts("k")
    check_report(post.body, emulator, name)


async def test_results_can_be_ephemeral(start_bot: Any, slack: FakeSlack, emulator: EmulatorServer) -> None:
    bot = start_bot(POOLDRIFT_SLACK_RESULTS_IN_CHANNEL="false")
    await bot.send(command_body("hr-win10", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert post.body["response_type"] == "ephemeral"
    check_report(post.body, emulator, "hr-win10")


@pytest.mark.parametrize("text", ["", "help", "  HELP "])
async def test_help_and_empty_answer_with_usage_and_fetch_nothing(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    listen(caplog)
    response = await bot.send(command_body(text, slack.response_url("k")))
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "ephemeral"
    assert "/pooldrift pools" in ack["text"] and "/pooldrift help" in ack["text"]
    assert "*/pooldrift <pool>*" in json.dumps(ack["blocks"])
    (line,) = await settled(caplog, answered=1)  # the ack was the answer
    assert line["outcome"] == "help" and slack.posts == [] and len(emulator.requests) == 0


async def test_pools_lists_the_projects_pools(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    response = await bot.send(command_body("pools", slack.response_url("k")))
    assert "Listing" in response.json()["text"]
    (post,) = await slack.wait_posts("k")
    text = json.dumps(post.body["blocks"])
    assert post.body["response_type"] == "in_channel"
    for pool in emulator.data.pools:
        assert pool.name in text and pool.id in text
    assert f"{len(emulator.data.pools)} desktop pools" in post.body["text"]


async def test_pools_are_capped_with_a_count_of_the_rest(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_SLACK_MAX_LISTED="5")
    await bot.send(command_body("pools", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    listed = [p for p in emulator.data.pools if f"`{p.id}`" in json.dumps(post.body["blocks"])]
    assert len(listed) == 5
    assert f"{len(emulator.data.pools) - 5} more not listed" in json.dumps(post.body["blocks"])


async def test_an_unknown_pool_gets_the_closest_names(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    await bot.send(command_body("sales-win12", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert post.body["response_type"] == "ephemeral"
    text = post.body["blocks"][0]["text"]["text"]
    assert "No pool is named `sales-win12`" in text and "`sales-win11`" in text
    assert emulator.requests.count(STATICS) == 0


async def test_a_malformed_reference_is_refused_in_the_ack_without_a_request(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    response = await bot.send(command_body("../etc/passwd", slack.response_url("k")))
    ack = response.json()
    assert ack["response_type"] == "ephemeral"
    assert "invalid pool reference" in ack["text"] and "/pooldrift pools" in ack["text"]
    (line,) = await settled(caplog, answered=1)
    assert line["outcome"] == "invalid_input" and slack.posts == [] and len(emulator.requests) == 0


async def test_one_audit_line_per_command(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pooldrift.audit")
    await bot.send(command_body("sales-win11", slack.response_url("a")))
    await bot.send(command_body("help", slack.response_url("b")))
    await bot.send(command_body("nope-pool", slack.response_url("c")))
    await slack.wait_posts("a")
    await slack.wait_posts("c")
    lines = await settled(caplog, answered=3)
    assert sorted(line["outcome"] for line in lines) == ["help", "ok", "pool_not_found"]
    assert sorted(line["operation"] for line in lines) == ["check", "check", "help"]
    ok = next(line for line in lines if line["outcome"] == "ok")
    assert ok["team"] == TEAM and ok["channel"] == CHANNEL and ok["user"] == USER
    assert ok["pool"] == "sales-win11" and ok["event"] == "command" and ok["delivered"] is True
    assert ok["latency_ms"] > 0 and ok["request_id"]
    assert 'pool="sales-win11" outcome="ok"' in next(
        r.getMessage() for r in caplog.records if r.name == "pooldrift.audit" and r.outcome == "ok"
    )


async def test_an_ambiguous_name_lists_the_ids(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    await bot.send(command_body("Lab-A", slack.response_url("k")))  # lab-a and LAB-A both match
    (post,) = await slack.wait_posts("k")
    text = post.body["blocks"][0]["text"]["text"]
    assert post.body["response_type"] == "ephemeral" and "Several pools are named `Lab-A`" in text
    for name in ("lab-a", "LAB-A"):
        assert f"`{emulator.data.pool_named(name).id}`" in text
    assert emulator.requests.count(STATICS) == 0


def calls(operation: str, outcome: str) -> float:
    labels = {"front": "slack", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("pooldrift_calls_total", labels) or 0.0


async def test_every_answer_is_counted_by_operation_and_outcome(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    asked = [
        ("sales-win11", "check", "ok"),
        ("help", "help", "help"),
        ("nope-pool", "check", "pool_not_found"),
    ]
    asked += [("pools", "pools", "ok")]
    before = {(op, outcome): calls(op, outcome) for _, op, outcome in asked}
    duration = (
        REGISTRY.get_sample_value(
            "pooldrift_call_duration_seconds_count", {"front": "slack", "operation": "check"}
        )
        or 0.0
    )
    for i, (text, _, _) in enumerate(asked):
        await bot.send(command_body(text, slack.response_url(f"k{i}")))
    await settled(caplog, answered=len(asked))  # each answer counted before its audit line
    for key, count in before.items():
        expected = count + sum(1 for _, op, outcome in asked if (op, outcome) == key)
        assert calls(*key) == expected, key
    after = REGISTRY.get_sample_value(
        "pooldrift_call_duration_seconds_count", {"front": "slack", "operation": "check"}
    )
    assert after == duration + 2
