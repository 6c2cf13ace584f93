"""What the watch reads from the environment: how often, where to post, where to keep state,
which quiet hours and which scope. Built with ``pooldrift.config.load`` like every settings model.

A bad value stops the watch at start with one line naming the variable (never echoing a secret).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from ..config import PooldriftSettings, load
from ..errors import ConfigurationError, InvalidInputError
from ..validation import shown, validate_region

__all__ = [
    "DEFAULT_STATE",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "QuietHours",
    "WatchSettings",
    "load_watch_settings",
    "parse_interval",
    "parse_quiet_hours",
]

DEFAULT_STATE = Path("~/.local/state/pooldrift/state.db")
DEFAULT_SLACK_API = "https://slack.com/api/"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_INTERVAL = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?", re.IGNORECASE)
# 10 s: a scan of a fleet takes seconds, so a shorter turn only loads the API; 1 day: the lease's
# TTL (1.5 intervals, in ms for Redis' PX) and its SQLite deadline stay small whole numbers.
MIN_INTERVAL, MAX_INTERVAL = 10.0, 86_400.0
# The test suite's own floor, so its watch subprocesses turn in a fraction of a second; not a
# setting (not documented): nobody runs a watch faster than the API in earnest.
_TEST_FLOOR = "POOLDRIFT_TEST_INTERVAL_FLOOR"
_BOUNDS = "from 10s to 1d, e.g. 30s, 5m or 1h"
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{6,20}")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def _floor() -> float:
    try:
        return max(0.01, float(os.environ[_TEST_FLOOR]))
    except (KeyError, ValueError):
        return MIN_INTERVAL


def parse_interval(value: str | float) -> float:
    """Seconds from ``30s``, ``5m``, ``1h``, ``250ms`` or a plain number of seconds (fractions
    too), from ``MIN_INTERVAL`` (10 s) to ``MAX_INTERVAL`` (1 day); anything else a one-line
    ``ValueError`` naming the bounds."""
    if isinstance(value, bool):
        raise ValueError(f"an interval is a duration {_BOUNDS}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _INTERVAL.fullmatch(value.strip())
        if found is None:
            raise ValueError(f"not a duration: {shown(value)} (use one {_BOUNDS}, or seconds)")
        seconds = float(found.group(1)) * _UNITS[(found.group(2) or "s").lower()]
    if math.isnan(seconds):
        raise ValueError(f"not a duration: {shown(str(value))} (use one {_BOUNDS}, or seconds)")
    floor = _floor()
    if seconds < floor:
        raise ValueError(f"an interval must be at least {floor:g} s, not {seconds:g} s ({_BOUNDS})")
    if seconds > MAX_INTERVAL:
        said = "too long to count" if math.isinf(seconds) else f"{seconds:g} s"
        raise ValueError(f"an interval must be at most 1d (86400 s), not {said} ({_BOUNDS})")
    return seconds


@dataclass(frozen=True)
class QuietHours:
    """A daily window (``start`` up to ``end``, local to ``zone``) when alerts wait; it may
    span midnight (22:00-07:00)."""

    start: time
    end: time
    zone: tzinfo

    def contains(self, now: datetime) -> bool:
        local = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime) -> datetime:
        """When the window ``now`` falls in ends (``now`` itself when outside it)."""
        if not self.contains(now):
            return now
        local = now.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.zone}"


def parse_quiet_hours(value: str, zone: tzinfo) -> QuietHours:
    """``22:00-07:00`` (any window within a day, or across midnight) in ``zone``."""
    start, sep, end = value.strip().partition("-")
    first, last = _CLOCK.fullmatch(start.strip()), _CLOCK.fullmatch(end.strip())
    if not sep or first is None or last is None:
        raise ValueError(f"quiet hours look like 22:00-07:00, not {shown(value)}")
    begin = time(int(first.group(1)), int(first.group(2)))
    finish = time(int(last.group(1)), int(last.group(2)))
    if begin == finish:
        raise ValueError("quiet hours must not start and end at the same minute")
    return QuietHours(begin, finish, zone)


class WatchSettings(PooldriftSettings):
    """The watch's settings; ``interval`` None means the watch is off."""

    interval: float | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_WATCH_INTERVAL"),
        description="How often to scan: 30s, 5m, 1h or seconds, from 10 s to 1 day; unset: off.",
    )  # fmt: skip
    channel: str | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_WATCH_CHANNEL"),
        description="Slack channel id the alerts go to (e.g. C0123ABCD); unset: no Slack alerts.",
    )  # fmt: skip
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_api_url: str = Field(default=DEFAULT_SLACK_API, validation_alias=_env("SLACK_API_URL"))
    state_path: Path = Field(
        default=DEFAULT_STATE, validation_alias=_env("POOLDRIFT_STATE"),
        description="SQLite file of the watch's state and history (when no Redis is set).",
    )  # fmt: skip
    redis_url: SecretStr | None = Field(
        default=None, validation_alias=_env("POOLDRIFT_REDIS_URL"),
        description="Redis holding the state instead of the file, and the lease of several replicas.",
    )  # fmt: skip
    history_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=30, validation_alias=_env("POOLDRIFT_HISTORY_DAYS")
    )
    failures: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=3, validation_alias=_env("POOLDRIFT_WATCH_FAILURES"),
        description="Failing cycles in a row before a pool or project is reported as failing.",
    )  # fmt: skip
    timezone: str = Field(default="UTC", validation_alias=_env("POOLDRIFT_WATCH_TIMEZONE"))
    quiet_hours: str | None = Field(default=None, validation_alias=_env("POOLDRIFT_WATCH_QUIET_HOURS"))
    regions: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("POOLDRIFT_WATCH_REGIONS"),
        description="Regions to watch (comma-separated); unset: the client's region.",
    )  # fmt: skip
    all_projects: bool = Field(default=False, validation_alias=_env("POOLDRIFT_WATCH_ALL_PROJECTS"))

    @field_validator("interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parse_interval(value)

    @field_validator("channel", "quiet_hours", "slack_bot_token", "redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if _CHANNEL.fullmatch(value) is None:
            raise ValueError(f"expected a Slack channel id such as C0123ABCD, not {shown(value)}")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("SLACK_API_URL must look like https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("state_path")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        value = value.strip() or "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {shown(value)} (use e.g. UTC or Europe/Berlin)") from None
        return value

    @field_validator("regions", mode="before")
    @classmethod
    def _region_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            try:
                return [validate_region(str(region)) for region in value]
            except InvalidInputError as exc:
                raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> WatchSettings:
        if self.quiet_hours is not None:
            parse_quiet_hours(self.quiet_hours, self.zone)  # raises ValueError when malformed
        if self.channel is not None and self.slack_bot_token is None:
            raise ValueError("POOLDRIFT_WATCH_CHANNEL is set but SLACK_BOT_TOKEN is not")
        return self

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet(self) -> QuietHours | None:
        return None if self.quiet_hours is None else parse_quiet_hours(self.quiet_hours, self.zone)

    @property
    def alerts(self) -> bool:
        """Whether Slack alerts are configured (a channel and a token)."""
        return self.channel is not None and self.slack_bot_token is not None

    @property
    def lease_ttl(self) -> float:
        """How long a replica's lease lasts without renewal: 1.5 intervals, so another replica
        takes over within two intervals of the leader's death (they look every quarter interval)."""
        return 1.5 * (self.interval or 60.0)


def load_watch_settings(**overrides: Any) -> WatchSettings:
    """The watch's settings from overrides, the environment and secret files; a bad value is a
    one-line ``ConfigurationError``."""
    settings = load(WatchSettings, what="watch settings", **overrides)
    return settings


def require_interval(settings: WatchSettings) -> float:
    if settings.interval is None:
        raise ConfigurationError(
            "POOLDRIFT_WATCH_INTERVAL is not set, so the watch is off: set it (e.g. 5m) or use --once"
        )
    return settings.interval
