"""Slack settings from the environment: Bolt's names, comma-separated allow-lists, a base URL
that always ends in ``/``, and errors that never echo a value."""

from __future__ import annotations

import pytest
from pooldrift_slack.settings import DEFAULT_API_URL, load_slack_settings, secret

from pooldrift.errors import ConfigurationError


def test_defaults() -> None:
    settings = load_slack_settings()
    assert settings.signing_secret is None and settings.bot_token is None and settings.app_token is None
    assert settings.api_url == DEFAULT_API_URL
    assert settings.allowed_channels == frozenset() and settings.results_in_channel is True


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("POOLDRIFT_SLACK_ALLOWED_CHANNELS", " C1, C2 ,,")
    monkeypatch.setenv("POOLDRIFT_SLACK_ALLOWED_USERS", "U1")
    monkeypatch.setenv("POOLDRIFT_SLACK_RESULTS_IN_CHANNEL", "false")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "  ")
    settings = load_slack_settings()
    assert secret(settings.signing_secret) == "s3cr3t" and "s3cr3t" not in repr(settings)
    assert settings.api_url == "http://127.0.0.1:9999/api/"
    assert settings.allowed_channels == {"C1", "C2"} and settings.allowed_users == {"U1"}
    assert settings.allowed_teams == frozenset()
    assert settings.results_in_channel is False
    assert settings.bot_token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_API_URL", "ftp://files.example/secret-value"),
        ("POOLDRIFT_SLACK_MAX_LISTED", "0"),
        ("POOLDRIFT_SLACK_ANSWER_TIMEOUT", "-1"),
        ("POOLDRIFT_SLACK_RESULTS_IN_CHANNEL", "secret-value"),
    ],
)
def test_bad_values_name_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_slack_settings()
    assert name in caught.value.message
    assert "secret-value" not in caught.value.message
