"""One logging set-up for every entry point: the level from ``POOLDRIFT_LOG_LEVEL``, text or
one JSON object per line (``POOLDRIFT_LOG_FORMAT``, python-json-logger), records on stderr
(stdout may carry a protocol), and the HTTP libraries' per-request lines kept quiet.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pythonjsonlogger.json import JsonFormatter

from .config import PooldriftSettings, load

__all__ = ["LogSettings", "configure_logging"]

Level = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ["levelname", "name", "message"]
_JSON_NAMES = {"levelname": "level", "name": "logger"}
#: libraries that log every request (and its URL) at INFO or DEBUG
_CHATTY = ("httpx2", "httpcore2", "aiohttp.access", "slack_sdk", "slack_bolt")


class LogSettings(PooldriftSettings):
    level: Level = Field(
        default="INFO", validation_alias=AliasChoices("POOLDRIFT_LOG_LEVEL"),
        description="Least severe level written: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    )  # fmt: skip

    format: Literal["text", "json"] = Field(
        default="text", validation_alias=AliasChoices("POOLDRIFT_LOG_FORMAT"),
        description="text (a line a person reads) or json (one object per line, for a log pipeline); "
        "fields passed as `extra` (the Slack audit record) become JSON fields.",
    )  # fmt: skip

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def configure_logging(level: Level | None = None, *, default: Level = "INFO") -> LogSettings:
    """Set up the root logger once per process; ``level`` (a CLI flag) wins over the variable,
    which wins over ``default``. A bad variable raises ``ConfigurationError``."""
    settings = load(LogSettings, what="logging settings", level=level or None)
    if level is None and "level" not in settings.model_fields_set:
        settings = settings.model_copy(update={"level": default})
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, timestamp="time", rename_fields=_JSON_NAMES))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return settings
