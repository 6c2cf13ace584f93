"""Settings of the Slack front: Bolt's own variable names for Slack, ``POOLDRIFT_SLACK_*`` for ours.

Tokens and the signing secret are ``SecretStr``; only ``secret()`` below unwraps them, at the edge.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from pooldrift.config import PooldriftSettings, load

__all__ = ["SlackSettings", "load_slack_settings", "secret"]

DEFAULT_API_URL = "https://slack.com/api/"

_IdSet = Annotated[frozenset[str], NoDecode]


class SlackSettings(PooldriftSettings):
    """Everything the bot reads from the environment or secret files; build with ``load_slack_settings()``."""

    signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
        description="Verifies that HTTP requests come from Slack; enables /slack/events.",
    )  # fmt: skip
    bot_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN"),
        description="xapp- token with connections:write, for Socket Mode.",
    )  # fmt: skip
    api_url: str = Field(
        default=DEFAULT_API_URL, validation_alias=AliasChoices("SLACK_API_URL"),
        description="Slack Web API base URL (a local fake in tests, a proxy in air-gapped installs).",
    )  # fmt: skip
    allowed_channels: _IdSet = Field(
        default=frozenset(), validation_alias=AliasChoices("POOLDRIFT_SLACK_ALLOWED_CHANNELS")
    )
    allowed_users: _IdSet = Field(
        default=frozenset(), validation_alias=AliasChoices("POOLDRIFT_SLACK_ALLOWED_USERS")
    )
    allowed_teams: _IdSet = Field(
        default=frozenset(), validation_alias=AliasChoices("POOLDRIFT_SLACK_ALLOWED_TEAMS")
    )
    results_in_channel: bool = Field(
        default=True, validation_alias=AliasChoices("POOLDRIFT_SLACK_RESULTS_IN_CHANNEL"),
        description="Post results for the whole channel to see (errors and help stay ephemeral).",
    )  # fmt: skip
    answer_timeout: float = Field(
        default=60.0, gt=0, le=1800, validation_alias=AliasChoices("POOLDRIFT_SLACK_ANSWER_TIMEOUT"),
        description="Upper bound on the work behind one answer; past it the user is told to retry.",
    )  # fmt: skip
    max_listed: int = Field(
        default=20, ge=1, le=100, validation_alias=AliasChoices("POOLDRIFT_SLACK_MAX_LISTED"),
        description="How many pools or drifted desktops one message lists.",
    )  # fmt: skip
    scan_all_projects: bool = Field(
        default=False, validation_alias=AliasChoices("POOLDRIFT_SLACK_SCAN_ALL_PROJECTS"),
        description="`/pooldrift scan` covers every project the credentials reach, not only its own.",
    )  # fmt: skip
    retry_ttl: float = Field(
        default=600.0, gt=0, validation_alias=AliasChoices("POOLDRIFT_SLACK_RETRY_TTL"),
        description="How long a delivery is remembered, so Slack's retries of it are dropped.",
    )  # fmt: skip
    shutdown_grace: float = Field(
        default=25.0, ge=0, le=600, validation_alias=AliasChoices("POOLDRIFT_SHUTDOWN_GRACE"),
        description="On SIGTERM, how long answers in flight may still take before they give up.",
    )  # fmt: skip
    redis_url: SecretStr | None = Field(default=None, validation_alias=AliasChoices("POOLDRIFT_REDIS_URL"))

    @field_validator("allowed_channels", "allowed_users", "allowed_teams", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("api_url", mode="before")
    @classmethod
    def _api_url(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_API_URL
        if isinstance(value, str):
            value = value.strip()
            if not value.startswith(("http://", "https://")):
                raise ValueError("SLACK_API_URL must start with http:// or https://")
            # slack_sdk joins method names onto the base URL: without the slash they'd be glued on
            return value if value.endswith("/") else value + "/"
        return value

    @field_validator("signing_secret", "bot_token", "app_token", "redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def load_slack_settings(**overrides: Any) -> SlackSettings:
    """``SlackSettings`` from overrides, the environment and secret files (``POOLDRIFT_SECRETS_DIR``);
    a bad value is a ConfigurationError that names the variable but never echoes its value."""
    return load(SlackSettings, what="Slack settings", **overrides)
