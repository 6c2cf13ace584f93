"""The watch's Block Kit, as plain data: what each event says, the buttons the Slack bot
answers, unknown counts never shown as 0, and foreign text that cannot ping or link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pooldrift_slack.blocks import REFRESH_ACTION, SHOW_DRIFTED_ACTION

from pooldrift.watch import messages
from pooldrift.watch.models import Event, EventKind
from tests.bot.limits import slack_problems, within_limits

UTC_ZONE = ZoneInfo("UTC")
SINCE = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
POOL = "aaaaaaaa-0000-4000-8000-000000000001"
HOSTILE_NAME = "<!here>|<https://x.test|click> *_~" + "é" * 3000


def event(
    kind: EventKind, *, name: str = "hr-win10", after: timedelta = timedelta(0), **values: object
) -> Event:
    defaults: dict[str, object] = {
        "key": POOL,
        "pool_id": POOL,
        "pool_name": name,
        "project_id": "0123456789abcdef0123456789abcdef",
        "region": "cn-north-4",
        "at": SINCE + after,
        "episode": f"{POOL}/x",
        "sequence": 1,
        "since": SINCE,
        "desktop_count": 30,
        "before": {"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 0},
        "counts": {"product_id": 0, "image_id": 12, "disk_num": None, "disk_size": 0},
    }
    return Event(kind=kind, **{**defaults, **values})  # type: ignore[arg-type]


def texts(message: dict[str, object]) -> str:
    return repr(message)


def test_the_buttons_are_the_slack_bots_own() -> None:
    assert (messages.REFRESH_ACTION, messages.SHOW_DRIFTED_ACTION) == (REFRESH_ACTION, SHOW_DRIFTED_ACTION)
    alert = messages.alert(event(EventKind.DRIFTED), zone=UTC_ZONE)
    (actions,) = [b for b in alert["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (REFRESH_ACTION, POOL),
        (SHOW_DRIFTED_ACTION, POOL),
    ]


def test_a_drifted_pool_says_what_counts_and_since_when() -> None:
    alert = messages.alert(event(EventKind.DRIFTED), zone=ZoneInfo("Asia/Shanghai"))
    header, summary, fields, context = alert["blocks"][:4]
    assert header["text"]["text"] == "⚠️ hr-win10 has drifted"
    assert summary["text"]["text"] == (
        "At least *12* of 30 desktops differ from the pool's configuration (12 with a different image)."
    )
    shown = [f["text"] for f in fields["fields"]]
    assert shown[1] == "*Image*\n:warning: *12* drifted" and shown[0].endswith(":white_check_mark: in line")
    assert shown[2].endswith(":grey_question: not reported"), "unknown is never 0"
    assert context["elements"][0]["text"].startswith("Drifting since 2024-05-01 10:00 CST")
    assert alert["text"].startswith("Pool hr-win10 has drifted: at least 12 of 30 desktops differ")


def test_changes_and_the_end_of_an_episode() -> None:
    worse = event(
        EventKind.WORSE,
        after=timedelta(minutes=30),
        before={"product_id": 0, "image_id": 12, "disk_num": 0, "disk_size": 0},
        counts={"product_id": 3, "image_id": 14, "disk_num": 0, "disk_size": 0},
    )
    assert messages.reply(worse, zone=UTC_ZONE)["text"] == (
        "⬆️ Worse: package 0 → 3, image 12 → 14; at least 14 desktops drift (was 12)."
    )
    assert "last change 2024-05-01 02:30 UTC" in texts(messages.alert(worse, zone=UTC_ZONE))
    resolved = event(
        EventKind.RESOLVED,
        after=timedelta(hours=3, minutes=20),
        before={"image_id": 2},
        counts={"product_id": 0, "image_id": 0, "disk_num": 0, "disk_size": 0},
    )
    top = messages.alert(resolved, zone=UTC_ZONE)
    assert top["blocks"][0]["text"]["text"] == "✅ hr-win10: drift resolved after 3 h 20 min"
    assert [e["action_id"] for e in top["blocks"][-1]["elements"]] == [REFRESH_ACTION]
    assert messages.reply(resolved, zone=UTC_ZONE)["text"] == (
        "✅ Resolved after 3 h 20 min: every desktop is back in line (image 2 → 0)."
    )
    gone = messages.alert(event(EventKind.POOL_GONE, after=timedelta(hours=1)), zone=UTC_ZONE)
    assert gone["blocks"][0]["text"]["text"] == "🗑️ hr-win10 is gone"
    assert not any(b["type"] == "actions" for b in gone["blocks"]), "nothing left to refresh"


def test_failing_scans_of_a_project() -> None:
    failing = event(
        EventKind.SCAN_FAILING,
        key="project:cn-north-4:0123456789abcdef0123456789abcdef",
        scope="project",
        pool_id=None,
        pool_name=None,
        project_name="cn-north-4",
        failures=3,
        message="the API answered 403 <!channel>",
    )
    alert = messages.alert(failing, zone=UTC_ZONE)
    assert alert["blocks"][0]["text"]["text"] == "❗ Cannot check project cn-north-4 (cn-north-4)"
    assert "3 checks in a row failed: the API answered 403 &lt;!channel&gt;" in texts(alert)
    assert not any(b["type"] == "actions" for b in alert["blocks"])
    recovered = event(EventKind.SCAN_RECOVERED, after=timedelta(minutes=12), failures=4)
    assert messages.reply(recovered, zone=UTC_ZONE)["text"] == "✅ Checks answer again after 12 min."


def test_foreign_names_cannot_mention_or_link() -> None:
    alert = messages.alert(event(EventKind.DRIFTED, name="<!here>|<https://x.test|click>"), zone=UTC_ZONE)
    assert "<!here>" not in alert["text"] and "&lt;!here&gt;" in alert["text"]
    long = messages.alert(event(EventKind.DRIFTED, name="p" * 400), zone=UTC_ZONE)
    assert len(long["blocks"][0]["text"]["text"]) <= 150


@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize("name", ["hr-win10", "p" * 5000, HOSTILE_NAME, "`" * 300 + "<!channel>" * 200])
def test_every_alert_and_reply_is_a_message_slack_takes(kind: EventKind, name: str) -> None:
    values: dict[str, object] = {
        "name": name,
        "after": timedelta(days=400),
        "message": name,
        "failures": 10**9,
    }
    values["project_name"] = name
    if kind in (EventKind.SCAN_FAILING, EventKind.SCAN_RECOVERED):
        values |= {"scope": "project", "pool_id": None, "key": "project:cn-north-4:x"}
    for message in (
        messages.alert(event(kind, **values), zone=UTC_ZONE),
        messages.reply(event(kind, **values), zone=UTC_ZONE),
    ):
        if "blocks" in message:
            within_limits(dict(message))
        assert slack_problems(message) == []
