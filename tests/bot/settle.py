"""Waiting until every Slack request a test sent has had its fate, instead of sleeping.

Each request the bot answers writes one ``pooldrift.audit`` line, after its post; each repeated
delivery it drops logs one "dropped a repeated Slack delivery" line. Once the lines add up to the
requests sent, nothing more can happen for them, so a count checked then is final: a late
duplicate cannot slip in after the check, as it could after a sleep.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

AUDIT = "pooldrift.audit"
DROPPED = "dropped a repeated Slack delivery"


def listen(caplog: pytest.LogCaptureFixture) -> None:
    """Capture the audit lines and the drop notices (call before sending anything)."""
    caplog.set_level(logging.INFO, logger=AUDIT)
    caplog.set_level(logging.INFO, logger="pooldrift.slack")


_FIELDS = (
    "event", "operation", "team", "channel", "user", "pool",
    "outcome", "latency_ms", "request_id", "delivered",
)  # fmt: skip


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The audit records' fields (they ride on the log record: a JSON formatter makes them keys)."""
    return [{k: r.__dict__[k] for k in _FIELDS} for r in caplog.records if r.name == AUDIT]


def dropped(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if r.name == "pooldrift.slack" and DROPPED in r.getMessage())


async def settled(
    caplog: pytest.LogCaptureFixture, *, answered: int, repeats: int = 0, within: float = 15.0
) -> list[dict[str, Any]]:
    """Wait for ``answered`` audit lines and ``repeats`` drop notices; then there must be exactly
    that many (AssertionError otherwise, or on timeout). Returns the audit lines."""
    deadline = time.monotonic() + within
    while len(audit_lines(caplog)) < answered or dropped(caplog) < repeats:
        if len(audit_lines(caplog)) > answered or dropped(caplog) > repeats:
            break  # already more than wanted: the assertion below says what
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(audit_lines(caplog))} answered and {dropped(caplog)} dropped after {within} s; "
                f"wanted {answered} and {repeats}"
            )
        await asyncio.sleep(0.01)
    lines = audit_lines(caplog)
    assert (len(lines), dropped(caplog)) == (answered, repeats), lines
    return lines
