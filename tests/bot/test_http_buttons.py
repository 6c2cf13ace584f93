"""The buttons under a report, clicked as Slack sends them (``block_actions`` payloads, signed)."""

from __future__ import annotations

import json
import re
from typing import Any

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import KINDS
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, action_body, command_body
from tests.bot.test_http_command import check_report


def drifted_names(emulator: EmulatorServer, pool_id: str) -> set[str]:
    return {d.computer_name for kind in KINDS for d in emulator.data.drifted(pool_id, kind)}


async def test_refresh_replaces_the_message_with_fresh_numbers(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    await bot.send(command_body("sales-win11", slack.response_url("first")))
    (first,) = await slack.wait_posts("first")
    assert "has drifted" in first.body["blocks"][0]["text"]["text"]
    # someone fixes every desktop of the pool
    for desktop in emulator.data.desktops_of(pool.id):
        desktop.product_id, desktop.image_id = pool.product_id, pool.image_id
        desktop.root_size, desktop.data_sizes = pool.root_size, list(pool.data_sizes)
    refresh = next(e for b in first.body["blocks"] if b["type"] == "actions" for e in b["elements"])
    response = await bot.send(
        action_body(refresh["action_id"], refresh["value"], slack.response_url("click"))
    )
    assert response.status_code == 200
    (post,) = await slack.wait_posts("click")
    assert post.body["replace_original"] is True and "response_type" not in post.body
    check_report(post.body, emulator, "sales-win11")
    assert "is consistent" in post.body["blocks"][0]["text"]["text"]
    assert "refreshed by" in json.dumps(post.body["blocks"])


async def test_show_drifted_lists_each_drifted_desktop_and_how_it_differs(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert post.body["response_type"] == "ephemeral" and post.body["replace_original"] is False
    text = "\n".join(b["text"]["text"] for b in post.body["blocks"] if b["type"] == "section")
    expected = drifted_names(emulator, pool.id)
    assert expected and all(f"*{name}*" in text for name in expected)
    listed = [line for line in text.splitlines() if line.startswith("•")]
    assert len(listed) == len(expected)
    assert f"{len(expected)} desktops differ" in text
    # how: e.g. a desktop with another image names both images
    other_image = next(d for d in emulator.data.drifted(pool.id, "IMAGE_ID"))
    line = next(line for line in listed if f"*{other_image.computer_name}*" in line)
    assert f"image `{other_image.image_id}` (pool: `{pool.image_id}`)" in line


async def test_show_drifted_is_capped_with_a_count_of_the_rest(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_SLACK_MAX_LISTED="5")
    pool = emulator.data.pool_named("dev-ubuntu22")
    expected = drifted_names(emulator, pool.id)
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    blocks = post.body["blocks"]
    listed = [
        line
        for b in blocks
        if b["type"] == "section"
        for line in b["text"]["text"].splitlines()
        if line[:1] == "•"
    ]
    assert len(listed) == 5
    rest = blocks[-1]["elements"][0]["text"]
    assert "more not listed" in rest
    # five per kind were fetched, so the bot knows a lower bound of the rest: a true one
    found = re.search(r"at least (\d+) more", rest)
    assert found, rest
    assert 1 <= int(found.group(1)) <= len(expected) - 5


async def test_show_drifted_on_a_consistent_pool_says_so(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    await bot.send(action_body("pooldrift_show_drifted", pool.id, slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert "No desktop of pool finance-win11 differs" in post.body["text"]


async def test_a_forged_button_value_is_refused_without_a_request(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    await bot.send(action_body("pooldrift_refresh", "../../v3/projects", slack.response_url("k")))
    (post,) = await slack.wait_posts("k")
    assert "invalid pool id" in post.body["text"] and post.body["response_type"] == "ephemeral"
    assert len(emulator.requests) == 0
