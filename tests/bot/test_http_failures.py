"""Upstream failures end as one ephemeral answer in words a person can act on; a slow upstream
never delays the ack.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, action_body, command_body
from tests.bot.settle import listen, settled


def answer_text(body: dict[str, Any]) -> str:
    return str(body["blocks"][0]["text"]["text"])


@pytest.mark.parametrize(
    ("faults", "words", "outcome_words"),
    [
        ({"error_rate": 1.0, "error_status": 401}, ["refused pooldrift's credentials", "HTTP 401 APIGW.0301"],
         ["access key pair", "clock"]),
        ({"error_rate": 1.0, "error_status": 403}, ["not allowed", "HTTP 403"], ["IAM"]),
        ({"rate_limit_rate": 1.0, "retry_after": 30}, ["throttling", "HTTP 429 APIGW.0308"], ["30 seconds"]),
        ({"error_rate": 1.0, "error_status": 500}, ["failing", "HTTP 500"], ["Huawei Cloud's side"]),
        ({"error_rate": 1.0, "error_status": 503}, ["failing", "HTTP 503"], ["try again in a minute"]),
        ({"malformed_rate": 1.0}, ["does not understand"], ["Try again"]),
    ],
)  # fmt: skip
async def test_upstream_errors_get_their_own_words(
    bot: SlackSender,
    slack: FakeSlack,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    faults: dict[str, Any],
    words: list[str],
    outcome_words: list[str],
) -> None:
    listen(caplog)
    pool = emulator.data.pool_named("hr-win10")
    emulator.faults.update(**faults)
    response = await bot.send(command_body(pool.id, slack.response_url("k")))
    assert response.status_code == 200 and "Checking" in response.json()["text"]
    (post,) = await slack.wait_posts("k")
    text = answer_text(post.body)
    assert post.body["response_type"] == "ephemeral"
    for word in [*words, *outcome_words]:
        assert word.lower() in text.lower(), text
    if "malformed_rate" not in faults:
        assert "Request id `" in text  # quoted so support can find the call
    assert "Traceback" not in post.raw
    await settled(caplog, answered=1)
    assert len(slack.posts_for("k")) == 1


async def test_an_upstream_timeout_still_gets_an_answer(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_DEADLINE="1", POOLDRIFT_READ_TIMEOUT="0.5")
    emulator.faults.update(latency=3)
    await bot.send(command_body(emulator.data.pool_named("hr-win10").id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k", within=20)
    assert "did not answer in time" in answer_text(post.body)


async def test_an_unreachable_upstream_gets_an_answer(start_bot: Any, slack: FakeSlack) -> None:
    bot = start_bot(POOLDRIFT_ENDPOINT="http://127.0.0.1:9", HUAWEICLOUD_SDK_PROJECT_ID="0" * 32)
    await bot.send(command_body("hr-win10", slack.response_url("k")))
    (post,) = await slack.wait_posts("k", within=20)
    assert "could not reach the Workspace API" in answer_text(post.body)


async def test_the_answer_bound_ends_a_slow_answer(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_SLACK_ANSWER_TIMEOUT="0.5", POOLDRIFT_READ_TIMEOUT="10")
    emulator.faults.update(latency=3)
    await bot.send(command_body("pools", slack.response_url("k")))
    (post,) = await slack.wait_posts("k", within=20)
    assert "within 0.5 seconds" in answer_text(post.body)


async def test_missing_credentials_are_explained(
    start_bot: Any, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUAWEICLOUD_SDK_SK")
    bot = start_bot()
    await bot.send(command_body("hr-win10", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    text = answer_text(post.body)
    assert "not set up" in text and "HUAWEICLOUD_SDK_SK" in text


async def test_a_button_error_keeps_the_original_message(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.faults.update(error_rate=1.0, error_status=500)
    pool = emulator.data.pool_named("hr-win10")
    await bot.send(action_body("pooldrift_refresh", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert post.body["replace_original"] is False and post.body["response_type"] == "ephemeral"
    assert "HTTP 500" in answer_text(post.body)


async def test_a_refused_post_is_logged_not_retried(
    bot: SlackSender, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    listen(caplog)
    slack.respond_status = 404  # the response URL expired
    await bot.send(command_body("hr-win10", slack.response_url("k")))
    await slack.wait_posts("k")
    (line,) = await settled(caplog, answered=1)
    assert line["delivered"] is False and len(slack.posts_for("k")) == 1
    assert any("Slack refused the answer: HTTP 404" in r.getMessage() for r in caplog.records)


async def test_with_a_slow_upstream_the_ack_comes_first_and_the_answer_later(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    # a project id spares the IAM lookup: the pool and its counts are fetched together
    bot = start_bot(
        HUAWEICLOUD_SDK_PROJECT_ID=emulator.project_id, POOLDRIFT_READ_TIMEOUT="10", POOLDRIFT_DEADLINE="20"
    )
    emulator.faults.update(latency=5)
    pool = emulator.data.pool_named("sales-win11")
    started = time.monotonic()
    response = await bot.send(command_body(pool.id, slack.response_url("k")))
    acked = time.monotonic()
    assert response.status_code == 200 and "Checking" in response.json()["text"]
    assert slack.posts_for("k") == [], "the ack came back before the answer"
    # a functional bound, not a benchmark: Slack drops an ack after 3 s, the upstream takes 5
    assert acked - started < 2.5, "the ack did not wait for the upstream"
    (post,) = await slack.wait_posts("k", within=30)
    assert post.at > acked
    assert post.at - started >= 5, "the answer waited for the slow upstream"
    assert "has drifted" in post.body["blocks"][0]["text"]["text"]


@pytest.mark.parametrize("advice", [float("inf"), float("nan"), 1e308])
async def test_any_retry_after_still_gets_one_worded_answer(
    start_bot: Any,
    slack: FakeSlack,
    emulator: EmulatorServer,
    advice: float,
    caplog: pytest.LogCaptureFixture,
) -> None:
    listen(caplog)
    # the emulator answers 429 with `Retry-After: inf` (or nan, or a huge number)
    bot = start_bot(POOLDRIFT_MAX_ATTEMPTS="1")
    emulator.faults.update(rate_limit_rate=1.0, retry_after=advice)
    await bot.send(command_body(emulator.data.pool_named("hr-win10").id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    text = answer_text(post.body)
    assert "throttling" in text and "HTTP 429" in text, text
    await settled(caplog, answered=1)
    assert len(slack.posts_for("k")) == 1
