"""The watch's settings: intervals in the forms people write them, quiet hours across midnight,
scope lists, and a bad value stopped at start with one line that names the variable."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from pooldrift.errors import ConfigurationError
from pooldrift.watch.settings import (
    DEFAULT_STATE,
    load_watch_settings,
    parse_interval,
    parse_quiet_hours,
    require_interval,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("90", 90.0),
        ("0.2", 0.2),
        (".5", 0.5),
        ("250ms", 0.25),
        (" 1.5M ", 90.0),
        (12, 12.0),
    ],
)
def test_intervals(text: str | int, seconds: float) -> None:
    assert parse_interval(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "0", "0s", "-5m", "5 minutes", "5x", "1e3", "inf", "nan", "m"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration|at least"):
        parse_interval(text)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("1ms", "at least 10 s, not 0.001 s"),
        ("0.000001", "at least 10 s"),
        ("9.99", "at least 10 s"),
        ("1.5d", "at most 1d (86400 s), not 129600 s"),
        ("1" + "0" * 20, "at most 1d (86400 s), not 1e+20 s"),
        ("9" * 400, "at most 1d (86400 s), not too long to count"),
        ("1e400", "not a duration: '1e400'"),
        ("inf", "not a duration: 'inf'"),
        ("nan", "not a duration: 'nan'"),
        (float("inf"), "at most 1d"),
        (float("nan"), "not a duration"),
    ],
)
def test_an_interval_outside_10s_to_1d_is_refused_naming_the_bounds(
    monkeypatch: pytest.MonkeyPatch, value: str | float, said: str
) -> None:
    monkeypatch.delenv("POOLDRIFT_TEST_INTERVAL_FLOOR")
    with pytest.raises(ValueError, match="from 10s to 1d") as info:
        parse_interval(value)
    assert said in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "seconds"), [("10s", 10.0), ("10", 10.0), ("1d", 86400.0), ("24h", 86400.0)]
)
def test_the_bounds_themselves_are_accepted_and_fit_the_lease(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
) -> None:
    monkeypatch.delenv("POOLDRIFT_TEST_INTERVAL_FLOOR")
    monkeypatch.setenv("POOLDRIFT_WATCH_INTERVAL", value)
    settings = load_watch_settings()
    assert settings.interval == seconds
    # Redis takes the lease's TTL in whole ms (PX): far inside its 64-bit range
    assert 1000 <= round(settings.lease_ttl * 1000) <= 2**31


def test_defaults_watch_off() -> None:
    settings = load_watch_settings()
    assert settings.interval is None and settings.channel is None and not settings.alerts
    assert settings.state_path == DEFAULT_STATE.expanduser() and settings.history_days == 30
    assert settings.failures == 3 and settings.regions == [] and settings.all_projects is False
    assert settings.slack_api_url == "https://slack.com/api/" and settings.quiet is None
    with pytest.raises(ConfigurationError, match="POOLDRIFT_WATCH_INTERVAL is not set"):
        require_interval(settings)


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name, value in {
        "POOLDRIFT_WATCH_INTERVAL": "5m",
        "POOLDRIFT_WATCH_CHANNEL": "C0123ABCD",
        "SLACK_BOT_TOKEN": "xoxb-not-a-real-token",
        "SLACK_API_URL": "http://127.0.0.1:9/api",
        "POOLDRIFT_STATE": "~/watch/state.db",
        "POOLDRIFT_HISTORY_DAYS": "7",
        "POOLDRIFT_WATCH_FAILURES": "2",
        "POOLDRIFT_WATCH_QUIET_HOURS": "22:00-07:00",
        "POOLDRIFT_WATCH_TIMEZONE": "Asia/Shanghai",
        "POOLDRIFT_WATCH_REGIONS": "cn-north-4, cn-east-3,",
        "POOLDRIFT_WATCH_ALL_PROJECTS": "true",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_watch_settings()
    assert require_interval(settings) == 300.0 and settings.alerts
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.state_path.parts[-2:] == ("watch", "state.db") and "~" not in str(settings.state_path)
    assert (settings.history_days, settings.failures) == (7, 2)
    assert settings.regions == ["cn-north-4", "cn-east-3"] and settings.all_projects
    assert "xoxb-not-a-real-token" not in repr(settings)
    quiet = settings.quiet
    assert quiet is not None and str(quiet) == "22:00-07:00 Asia/Shanghai"
    # 23:30 in Shanghai is 15:30 UTC: quiet until 07:00 Shanghai, 23:00 UTC
    now = datetime(2024, 5, 1, 15, 30, tzinfo=UTC)
    assert quiet.contains(now) and quiet.ends_after(now) == datetime(2024, 5, 1, 23, 0, tzinfo=UTC)
    assert not quiet.contains(datetime(2024, 5, 1, 23, 0, tzinfo=UTC))
    assert settings.lease_ttl == 450.0


def test_quiet_hours_within_a_day_and_across_midnight() -> None:
    day = parse_quiet_hours("12:00-13:30", ZoneInfo("UTC"))
    assert day.contains(datetime(2024, 1, 1, 12, 0, tzinfo=UTC))
    assert not day.contains(datetime(2024, 1, 1, 13, 30, tzinfo=UTC))
    night = parse_quiet_hours("22:00-07:00", ZoneInfo("UTC"))
    assert night.contains(datetime(2024, 1, 1, 2, 0, tzinfo=UTC))
    assert night.ends_after(datetime(2024, 1, 1, 22, 30, tzinfo=UTC)) == datetime(2024, 1, 2, 7, tzinfo=UTC)
    outside = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert not night.contains(outside) and night.ends_after(outside) == outside


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("POOLDRIFT_WATCH_INTERVAL", "soon", "POOLDRIFT_WATCH_INTERVAL: .*not a duration"),
        ("POOLDRIFT_WATCH_INTERVAL", "-1", "POOLDRIFT_WATCH_INTERVAL"),
        ("POOLDRIFT_WATCH_CHANNEL", "#alerts", "POOLDRIFT_WATCH_CHANNEL: .*channel id"),
        ("POOLDRIFT_HISTORY_DAYS", "0", "POOLDRIFT_HISTORY_DAYS"),
        ("POOLDRIFT_WATCH_FAILURES", "none", "POOLDRIFT_WATCH_FAILURES"),
        ("POOLDRIFT_WATCH_QUIET_HOURS", "22-7", "quiet hours look like 22:00-07:00"),
        ("POOLDRIFT_WATCH_QUIET_HOURS", "07:00-07:00", "same minute"),
        ("POOLDRIFT_WATCH_TIMEZONE", "Mars/Olympus", "POOLDRIFT_WATCH_TIMEZONE: .*unknown time zone"),
        ("POOLDRIFT_WATCH_REGIONS", "cn-north-4,mars-1", "POOLDRIFT_WATCH_REGIONS: .*unknown region"),
        ("SLACK_API_URL", "slack.com", "SLACK_API_URL"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=problem) as info:
        load_watch_settings()
    assert "\n" not in info.value.message


def test_a_channel_needs_the_bot_token_and_secrets_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLDRIFT_WATCH_CHANNEL", "C0123ABCD")
    with pytest.raises(ConfigurationError, match="SLACK_BOT_TOKEN is not"):
        load_watch_settings()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.setenv("POOLDRIFT_REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    monkeypatch.setenv("POOLDRIFT_WATCH_INTERVAL", "later")
    with pytest.raises(ConfigurationError) as info:
        load_watch_settings()
    assert "xoxb-secret-value" not in info.value.message and "hunter2" not in info.value.message
