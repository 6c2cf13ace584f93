"""The drift watch's pieces of the bot's answers as plain data: mute durations, the mute and
unmute answers, and the "drifting since" lines (pure, so every case is cheap)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pooldrift_slack.watch_blocks import muted_message, since_lines, unmuted_message
from pooldrift_slack.watch_state import parse_mute_duration

from pooldrift.errors import InvalidInputError
from tests.bot.limits import within_limits

NOW = datetime(2026, 11, 30, 5, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "length"),
    [("30m", timedelta(minutes=30)), ("90min", timedelta(minutes=90)), ("2h", timedelta(hours=2)),
     (" 1D ", timedelta(days=1)), ("30d", timedelta(days=30)), ("1m", timedelta(minutes=1))],
)  # fmt: skip
def test_mute_durations(text: str, length: timedelta) -> None:
    assert parse_mute_duration(text) == length


@pytest.mark.parametrize("text", ["", "2", "2x", "h", "-1h", "1.5h", "2h30m", "0m", "31d", "721h", "99999d"])
def test_bad_mute_durations(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_mute_duration(text)
    assert caught.value.field == "duration"


def test_since_lines() -> None:
    since = NOW - timedelta(hours=3, minutes=20)
    text = since_lines(since, "0 → 5 → 12 since 2026-11-30 02:00 UTC", now=NOW, zone=UTC)
    assert text == (
        ":clock3: Drifting since 2026-11-30 02:00 UTC (3 h 20 min)\n"
        ":chart_with_upwards_trend: Trend: 0 → 5 → 12 since 2026-11-30 02:00 UTC"
    )
    assert since_lines(None, "5 → 0 since 2026-11-30 02:00 UTC", now=NOW, zone=UTC).startswith(":chart")
    assert since_lines(None, "", now=NOW, zone=UTC) == ""
    berlin = since_lines(since, "", now=NOW, zone=ZoneInfo("Europe/Berlin"))
    assert berlin == ":clock3: Drifting since 2026-11-30 03:00 CET (3 h 20 min)"


def test_mute_answers_are_ephemeral_and_escaped() -> None:
    muted = muted_message("<!channel>", "p-1", until=NOW, length=timedelta(hours=2), zone=UTC)
    assert muted["response_type"] == "ephemeral"
    assert "*&lt;!channel&gt;* `p-1` for 2 h, until 2026-11-30 05:20 UTC" in muted["text"]
    assert "<!channel>" not in str(muted)
    assert "was not muted" in unmuted_message("a", "p-1", was_muted=False)["text"]
    assert "Unmuted *a*" in unmuted_message("a", "p-1", was_muted=True)["text"]


@pytest.mark.parametrize("name", ["sales", "<!channel> *x* `y`", "财务-" * 3000, "\u202egnp.exe" * 500])
def test_mute_answers_are_messages_slack_takes(name: str) -> None:
    length = timedelta(days=30)
    within_limits(muted_message(name, "p-1", until=NOW + length, length=length, zone=UTC))
    within_limits(unmuted_message(name, "p-1", was_muted=True))
    within_limits(unmuted_message(name, "p-1", was_muted=False))
