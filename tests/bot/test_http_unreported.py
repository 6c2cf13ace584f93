"""``/pooldrift`` and its buttons against the legacy API version and sparse answers: the known
counts shown, the unknown ones "not reported" (never 0), drifted desktops listed by what the
endpoint can filter, the rest said to be unknown."""

from __future__ import annotations

import json
from typing import Any

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, action_body, command_body
from tests.bot.test_http_command import fields_of


def header_of(body: dict[str, Any]) -> str:
    text: str = body["blocks"][0]["text"]["text"]
    return text


def buttons_of(body: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_known_counts_shown_unknown_ones_not_reported(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy", nulls=True)
    pool = emulator.data.pool_named("sales-win11")
    statics = emulator.data.statics(pool.id)
    await bot.send(command_body("sales-win11", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert "has drifted" in header_of(post.body)
    package, image, disks, capacity = fields_of(post.body)
    assert f"*{statics['product_id']}* drifted" in package and f"*{statics['image_id']}* drifted" in image
    assert disks == "*Data-disk count*\n:grey_question: not reported"
    assert capacity == "*Disk capacity*\n:grey_question: not reported"
    assert "not reported by the API" in post.body["text"]
    assert buttons_of(post.body) == ["pooldrift_refresh", "pooldrift_show_drifted"]


async def test_no_known_drift_is_neither_consistent_nor_drifted(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy")
    await bot.send(command_body("callcenter-win10", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert header_of(post.body) == "❔ callcenter-win10: drift not fully reported"
    assert [f.split("\n")[1] for f in fields_of(post.body)] == [
        ":white_check_mark: in line",
        ":white_check_mark: in line",
        ":grey_question: not reported",
        ":grey_question: not reported",
    ]
    assert "not known to be consistent" in json.dumps(post.body["blocks"])
    assert buttons_of(post.body) == ["pooldrift_refresh"]  # nothing known to list


async def test_show_drifted_says_which_kinds_it_cannot_list(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy", nulls=True)
    pool = emulator.data.pool_named("qa-win11")
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    text = "\n".join(b["text"]["text"] for b in post.body["blocks"] if b["type"] == "section")
    kinds = ("PRODUCT_ID", "IMAGE_ID")
    expected = {d.computer_name for k in kinds for d in emulator.data.drifted(pool.id, k)}
    listed = [line for line in text.splitlines() if line.startswith("•")]
    assert len(listed) == len(expected) and all(f"*{name}*" in text for name in expected)
    notes = [b["elements"][0]["text"] for b in post.body["blocks"] if b["type"] == "context"]
    assert any("data-disk count and disk capacity: not reported" in n for n in notes)

    # once the endpoint is known to be legacy, a pool drifted only in its disks lists nothing known
    disks = emulator.data.pool_named("analytics-win11")
    await bot.send(action_body("pooldrift_show_drifted", disks.id, slack.response_url("d")))
    (only_disks,) = await slack.wait_posts("d")
    assert "differs in package or image now" in only_disks.body["text"]
    assert "not reported" in json.dumps(only_disks.body["blocks"])
