"""``/pooldrift scan`` end to end: signed requests to the served bot, the emulator upstream, the
fake Slack capturing each post; then the pool buttons of the answer, clicked as Slack sends them."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY

from pooldrift.emulator import EmulatorServer
from pooldrift.errors import LIST_POOLS_ACTION, STATISTICS_ACTION
from pooldrift.models import InconsistentType
from tests.bot.fake_slack import FakeSlack, Post
from tests.bot.harness import CHANNEL, USER, SlackSender, action_body, command_body, signed_headers
from tests.bot.test_http_command import STATICS, check_report

SHORT = {"product_id": "package", "image_id": "image", "disk_num": "data disks", "disk_size": "disk size"}


def worst_first(emulator: EmulatorServer, contains: str = "") -> list[str]:
    """The lines the answer should list, from the emulator's own data, worst first."""
    ranked = []
    for pool in emulator.data.pools:
        if contains.lower() not in pool.name.lower():
            continue
        counts = emulator.data.statics(pool.id)
        drifted = {kind: n for kind, n in counts.items() if n}
        if drifted:
            ranked.append(
                ((-max(drifted.values()), -len(drifted), pool.name.lower(), pool.id), pool, drifted)
            )
    ranked.sort(key=lambda r: r[0])
    lines = []
    for number, (_, pool, drifted) in enumerate(ranked, start=1):
        counts = ", ".join(
            f"{SHORT[k.field]} {drifted[k.field]}" for k in InconsistentType if k.field in drifted
        )
        size, most = len(emulator.data.desktops_of(pool.id)), max(drifted.values())
        lines.append(f"*{number}.* :warning: *{pool.name}* — at least {most} of {size} desktops: {counts}")
    return lines


def pool_lines(body: dict[str, Any]) -> list[str]:
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "text" in b]
    return [line for text in sections for line in text.splitlines() if line.startswith("*") and ".* " in line]


def pool_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


def fields(body: dict[str, Any]) -> dict[str, str]:
    found = next(b["fields"] for b in body["blocks"] if "fields" in b)
    return dict(f["text"].split("\n", 1) for f in found)


def failures_text(body: dict[str, Any]) -> str:
    return next(
        b["text"]["text"]
        for b in body["blocks"]
        if b.get("text", {}).get("text", "").startswith("*Could not scan*")
    )


async def scanned(slack: FakeSlack, key: str) -> tuple[Post, Post]:
    """The first line, then the answer (the first line always comes first)."""
    first, answer = await slack.wait_posts(key, 2)
    return first, answer


async def audit_record(
    caplog: pytest.LogCaptureFixture, operation: str, within: float = 10.0
) -> dict[str, Any]:
    """The audit record of ``operation``, once the bot (in its own thread) has written it."""
    deadline = time.monotonic() + within
    while True:
        for record in caplog.records:
            if record.name == "pooldrift.audit" and getattr(record, "operation", None) == operation:
                return record.__dict__
        assert time.monotonic() < deadline, f"no audit record of {operation}"
        await asyncio.sleep(0.01)


async def test_scan_answers_with_the_emulators_numbers_worst_first(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.faults.update(latency=0.3)  # every upstream answer comes after the ack
    response = await bot.send(command_body("scan", slack.response_url("k")))
    assert response.status_code == 200
    ack = response.json()
    assert ack == {"text": ":mag: Scanning the pools…", "response_type": "ephemeral"}
    assert slack.posts_for("k") == [], "the ack waited for no upstream call"
    first, answer = await scanned(slack, "k")
    pools = emulator.data.pools
    assert first.body["text"] == f":hourglass_flowing_sand: Scanning {len(pools)} pools…"
    assert first.body["response_type"] == "ephemeral"
    body = answer.body
    assert body["response_type"] == "in_channel"
    expected = worst_first(emulator)
    assert pool_lines(body) == expected
    drifted = [p for p in pools if any(emulator.data.statics(p.id).values())]
    desktops = sum(len(emulator.data.desktops_of(p.id)) for p in pools)
    at_least = sum(max(emulator.data.statics(p.id).values()) for p in pools)
    assert fields(body) == {
        "*Pools*": str(len(pools)),
        "*Drifted*": str(len(drifted)),
        "*Consistent*": str(len(pools) - len(drifted)),
        "*Not fully reported*": "0",
        "*Failed*": "0",
        "*Drifted desktops*": f"at least {at_least} of {desktops}",
    }
    assert body["blocks"][0]["text"]["text"] == f"⚠️ {len(drifted)} of {len(pools)} pools have drifted"
    by_name = {p.name: p.id for p in pools}
    names = [line.split("*")[3] for line in expected]
    assert [b["value"] for b in pool_buttons(body)] == [by_name[n] for n in names]
    context = body["blocks"][-1]["elements"][0]["text"]
    assert f"project `{emulator.project_id}`" in context and f"asked by <@{USER}>" in context
    assert emulator.requests.count(STATICS) == len(pools)


async def test_a_failing_pool_is_listed_beside_the_others(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    bot = start_bot(POOLDRIFT_MAX_ATTEMPTS="2", POOLDRIFT_BACKOFF_INITIAL="0.01")
    broken = emulator.data.pool_named("sales-win11")
    emulator.faults.update(paths=f"{broken.id}/{STATICS}", error_rate=1.0, error_status=500)
    await bot.send(command_body("scan", slack.response_url("k")))
    _, answer = await scanned(slack, "k")
    body = answer.body
    # sales-win11 would be among the worst: now it is a failure, and the others are as they are
    assert pool_lines(body) == _renumbered(
        [line for line in worst_first(emulator) if "*sales-win11*" not in line]
    )
    assert fields(body)["*Failed*"] == "1 pool" and fields(body)["*Pools*"] == str(len(emulator.data.pools))
    text = failures_text(body)
    assert "• *1 pool* — server error (HTTP 500 APIGW.0103): `sales-win11`." in text
    assert "The problem is on Huawei Cloud's side. Try again in a minute." in text
    assert "Request id `" in text
    assert broken.id not in json.dumps(pool_buttons(body))


def _renumbered(lines: list[str]) -> list[str]:
    return [f"*{n}.*" + line.split(".*", 1)[1] for n, line in enumerate(lines, start=1)]


async def test_a_project_whose_pools_cannot_be_listed_is_the_answer(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    emulator.faults.update(paths=r"/desktop-pools$", error_rate=1.0, error_status=403)
    await bot.send(command_body("scan", slack.response_url("k")))
    (answer,) = await slack.wait_posts("k")  # nothing listed: no first line
    body = answer.body
    assert body["blocks"][0]["text"]["text"] == "🚫 The pools could not be listed"
    text = failures_text(body)
    line = text.splitlines()[1]
    assert line.startswith("• *1 project* — permission denied (HTTP 403 APIGW.0302): ")
    assert f"`{emulator.project_id}` (cn-north-4)." in line or "the project in cn-north-4." in line
    assert f"give pooldrift's IAM user `{LIST_POOLS_ACTION}` there" in text
    assert STATISTICS_ACTION not in text  # the counts were never asked for
    assert emulator.requests.count(STATICS) == 0


async def test_the_name_filter_keeps_the_matching_pools(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    response = await bot.send(command_body("scan WIN11", slack.response_url("k")))
    assert response.json()["text"] == ":mag: Scanning the pools whose name contains `WIN11`…"
    first, answer = await scanned(slack, "k")
    matching = [p for p in emulator.data.pools if "win11" in p.name.lower()]
    assert (
        first.body["text"]
        == f":hourglass_flowing_sand: Scanning {len(matching)} pools whose name contains `WIN11`…"
    )
    assert pool_lines(answer.body) == worst_first(emulator, "win11")
    assert fields(answer.body)["*Pools*"] == str(len(matching))
    assert emulator.requests.count(STATICS) == len(matching)


async def test_a_pool_button_opens_that_pools_answer(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    await bot.send(command_body("scan", slack.response_url("scan")))
    _, answer = await scanned(slack, "scan")
    third = pool_buttons(answer.body)[2]
    name = next(p.name for p in emulator.data.pools if p.id == third["value"])
    response = await bot.send(action_body(third["action_id"], third["value"], slack.response_url("click")))
    assert response.status_code == 200
    (post,) = await slack.wait_posts("click")
    # the report /pooldrift <pool> gives, to the clicker alone, beside the scan (which stays)
    assert post.body["response_type"] == "ephemeral" and post.body["replace_original"] is False
    check_report(post.body, emulator, name)


@pytest.mark.parametrize(
    "text",
    ["scan ../../v3/projects", "scan a b", "scan " + "a" * 65, "scan <!channel>", "scan %2e%2e", "SCAN x/y"],
)
async def test_hostile_filters_are_refused_before_any_request(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.set_level(logging.INFO, logger="pooldrift.audit")
    response = await bot.send(command_body(text, slack.response_url("k")))
    ack = response.json()
    assert ack["response_type"] == "ephemeral"
    assert "`/pooldrift scan [part of a pool name]`" in ack["text"]
    assert "<!channel>" not in json.dumps(ack)
    record = await audit_record(caplog, "scan")
    assert record["outcome"] == "invalid_input"
    assert len(emulator.requests) == 0 and slack.posts == []


async def test_a_retried_delivery_still_posts_once(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    body = command_body("scan", slack.response_url("k"), trigger_id="1234.retried-scan")
    first = await bot.send(body)
    assert first.json()["text"] == ":mag: Scanning the pools…"
    again = await bot.http.post(
        f"{bot.url}/slack/events", content=body, headers=signed_headers(body, retry=1)
    )
    assert again.status_code == 200 and again.text == "", "the repeat was dropped before any listener"
    _, answer = await scanned(slack, "k")
    assert pool_lines(answer.body) == worst_first(emulator)
    assert emulator.requests.count(STATICS) == len(emulator.data.pools), "one scan, not two"
    assert len(slack.posts_for("k")) == 2


def calls(operation: str, outcome: str) -> float:
    labels = {"front": "slack", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("pooldrift_calls_total", labels) or 0.0


async def test_scan_and_open_pool_are_audited_and_counted(
    bot: SlackSender, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pooldrift.audit")
    before = calls("scan", "ok"), calls("open_pool", "ok")
    await bot.send(command_body("scan win", slack.response_url("scan")))
    _, answer = await scanned(slack, "scan")
    button = pool_buttons(answer.body)[0]
    await bot.send(action_body(button["action_id"], button["value"], slack.response_url("click")))
    await slack.wait_posts("click")
    scan, opened = await audit_record(caplog, "scan"), await audit_record(caplog, "open_pool")
    assert scan["outcome"] == "ok" and scan["pool"] == "win" and scan["event"] == "command"
    assert scan["channel"] == CHANNEL and scan["user"] == USER and scan["delivered"] is True
    assert opened["outcome"] == "ok" and opened["pool"] == button["value"] and opened["request_id"]
    assert (calls("scan", "ok"), calls("open_pool", "ok")) == (before[0] + 1, before[1] + 1)


async def test_the_allow_lists_hold_for_the_scan_and_its_buttons(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pooldrift.audit")
    bot = start_bot(POOLDRIFT_SLACK_ALLOWED_CHANNELS="C0OTHER01")
    response = await bot.send(command_body("scan", slack.response_url("k")))
    assert "not enabled for this channel" in response.json()["text"]
    pool = emulator.data.pool_named("hr-win10")
    await bot.send(action_body("pooldrift_open_pool", pool.id, slack.response_url("click")))
    (post,) = await slack.wait_posts("click")
    assert "not enabled for this channel" in post.body["text"] and post.body["replace_original"] is False
    assert (await audit_record(caplog, "scan"))["outcome"] == "refused"
    assert (await audit_record(caplog, "open_pool"))["outcome"] == "refused"
    assert len(emulator.requests) == 0 and slack.posts_for("k") == []


async def test_a_pool_of_another_project_opens_only_when_every_project_is_scanned(
    start_bot: Any, slack: FakeSlack, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("hr-win10")
    located = f"{pool.id}|cn-north-4|{emulator.project_id}"
    only_own = start_bot()
    await only_own.send(action_body("pooldrift_open_pool", located, slack.response_url("own")))
    (post,) = await slack.wait_posts("own")
    assert "another project" in post.body["text"] and len(emulator.requests) == 0
    everywhere = start_bot(POOLDRIFT_SLACK_SCAN_ALL_PROJECTS="true")
    await everywhere.send(action_body("pooldrift_open_pool", located, slack.response_url("all")))
    (post,) = await slack.wait_posts("all")
    # the report's own buttons carry the pool's project and region on to Refresh and Show drifted
    assert [b["value"] for b in pool_buttons(post.body)] == [located, located]
    refresh = pool_buttons(post.body)[0]
    await everywhere.send(action_body(refresh["action_id"], refresh["value"], slack.response_url("refresh")))
    (refreshed,) = await slack.wait_posts("refresh")
    assert refreshed.body["replace_original"] is True and "refreshed by" in json.dumps(refreshed.body)
    shown = pool_buttons(post.body)[1]
    await everywhere.send(action_body(shown["action_id"], shown["value"], slack.response_url("drifted")))
    (drifted,) = await slack.wait_posts("drifted")
    assert drifted.body["blocks"][0]["text"]["text"] == "Drifted desktops of hr-win10"
