"""Who asked (from a command or a click), whether they may, and one audit record per answer.

The record goes to the ``pooldrift.audit`` logger as fields (``extra``), so a JSON log has them
as keys: ids, the pool asked about, the outcome and the latency — never a token, a secret or a
response URL. The same answer is counted in ``pooldrift_calls{front="slack"}``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pooldrift.metrics import record_call

from .settings import SlackSettings
from .words import Words, refused

__all__ = ["Audit", "Who", "refusal"]

audit_log = logging.getLogger("pooldrift.audit")

_MAX_SHOWN = 80


def _text(value: Any) -> str | None:
    return value[:_MAX_SHOWN] if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Who:
    """The workspace, channel and user a request came from (Slack ids)."""

    team: str | None
    channel: str | None
    user: str | None

    @classmethod
    def from_command(cls, command: dict[str, Any]) -> Who:
        return cls(
            _text(command.get("team_id")), _text(command.get("channel_id")), _text(command.get("user_id"))
        )

    @classmethod
    def from_action(cls, body: dict[str, Any]) -> Who:
        def pick(key: str) -> dict[str, Any]:
            value = body.get(key)
            return value if isinstance(value, dict) else {}

        team = pick("team").get("id") or pick("user").get("team_id")
        return cls(_text(team), _text(pick("channel").get("id")), _text(pick("user").get("id")))


def refusal(settings: SlackSettings, who: Who) -> Words | None:
    """Why this request may not be answered, or None; an empty allow-list allows everyone."""
    if settings.allowed_teams and who.team not in settings.allowed_teams:
        return refused("workspace")
    if settings.allowed_channels and who.channel not in settings.allowed_channels:
        return refused("channel")
    if settings.allowed_users and who.user not in settings.allowed_users:
        return refused("user")
    return None


@dataclass
class Audit:
    """One audit record: opened when a request arrives, written once when it is answered.

    ``event`` is the kind of request (command, refresh, show_drifted); ``operation`` what was
    asked (check, pools, help, refresh, show_drifted), the label metrics count by."""

    event: str
    who: Who
    operation: str
    pool: str | None = None
    #: the upstream X-Request-Id of the answer, when there was one
    request_id: str | None = None
    started: float = field(default_factory=time.perf_counter)
    written: bool = False

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def write(self, outcome: str, *, request_id: str | None = None, delivered: bool = True) -> None:
        if self.written:
            return
        self.written = True
        seconds = time.perf_counter() - self.started
        record_call("slack", self.operation, outcome, seconds)
        record = {
            "event": self.event,
            "operation": self.operation,
            "team": self.who.team,
            "channel": self.who.channel,
            "user": self.who.user,
            "pool": _text(self.pool),
            "outcome": outcome,
            "latency_ms": round(seconds * 1000, 1),
            "request_id": request_id or self.request_id,
            "delivered": delivered,
        }
        # the text form quotes every value, so a pool name cannot forge a second line
        text = " ".join(f"{key}={json.dumps(value, ensure_ascii=True)}" for key, value in record.items())
        audit_log.info("audit %s", text, extra=record)
