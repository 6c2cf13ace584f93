"""Slack settings from the environment: Bolt's names, comma-separated allow-lists, a base URL
that always ends in ``/``, and errors that never echo a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pooldrift_slack.settings import DEFAULT_API_URL, load_slack_settings, secret

from pooldrift.errors import ConfigurationError


def test_defaults() -> None:
    settings = load_slack_settings()
    assert settings.signing_secret is None and settings.bot_token is None and settings.app_token is None
    assert settings.api_url == DEFAULT_API_URL
    assert settings.allowed_channels == frozenset() and settings.results_in_channel is True
    assert settings.scan_all_projects is False


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("POOLDRIFT_SLACK_ALLOWED_CHANNELS", " C1, C2 ,,")
    monkeypatch.setenv("POOLDRIFT_SLACK_ALLOWED_USERS", "U1")
    monkeypatch.setenv("POOLDRIFT_SLACK_RESULTS_IN_CHANNEL", "false")
    monkeypatch.setenv("POOLDRIFT_SLACK_SCAN_ALL_PROJECTS", "true")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "  ")
    settings = load_slack_settings()
    assert secret(settings.signing_secret) == "s3cr3t" and "s3cr3t" not in repr(settings)
    assert settings.api_url == "http://127.0.0.1:9999/api/"
    assert settings.allowed_channels == {"C1", "C2"} and settings.allowed_users == {"U1"}
    assert settings.allowed_teams == frozenset()
    assert settings.results_in_channel is False and settings.scan_all_projects is True
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


def test_secrets_from_files_a_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a Kubernetes secret volume: one file per variable
    (tmp_path / "SLACK_SIGNING_SECRET").write_text("signing-from-a-file\n")
    (tmp_path / "SLACK_BOT_TOKEN").write_text("xoxb-from-a-file")
    (tmp_path / "POOLDRIFT_REDIS_URL").write_text("redis://:pw@redis:6379/0")
    monkeypatch.setenv("POOLDRIFT_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    settings = load_slack_settings()
    assert secret(settings.signing_secret) == "signing-from-a-file"
    assert secret(settings.bot_token) == "xoxb-from-the-environment"
    assert secret(settings.redis_url) == "redis://:pw@redis:6379/0"


def test_a_missing_secrets_dir_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POOLDRIFT_SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match="POOLDRIFT_SECRETS_DIR"):
        load_slack_settings()


def test_shutdown_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_slack_settings().shutdown_grace == 25
    monkeypatch.setenv("POOLDRIFT_SHUTDOWN_GRACE", "40")
    assert load_slack_settings().shutdown_grace == 40
    monkeypatch.setenv("POOLDRIFT_SHUTDOWN_GRACE", "-1")
    with pytest.raises(ConfigurationError, match="POOLDRIFT_SHUTDOWN_GRACE"):
        load_slack_settings()
