"""The one answer behind every accepted request: run the work within a bound, turn any failure
into words, post exactly once to the ``response_url``, and write the audit line.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.errors import PooldriftError

from .app import Deps
from .audit import Audit
from .blocks import error_message
from .words import Problem, describe, timed_out, unexpected

__all__ = ["Payload", "answer", "post"]

log = logging.getLogger("pooldrift.slack")

Payload = dict[str, Any]


async def post(respond: AsyncRespond, payload: Payload) -> bool:
    """Post to the response URL; a failure is logged (by kind, not by URL) and reported back."""
    try:
        response = await respond(**payload)
    except Exception as exc:  # the network or Slack: nothing left to tell the user through
        log.warning("could not post the answer to Slack: %s", type(exc).__name__)
        return False
    if response.status_code != 200:
        log.warning("Slack refused the answer: HTTP %s %s", response.status_code, (response.body or "")[:100])
        return False
    return True


def error_payload(problem: Problem, *, ref: str | None = None) -> Payload:
    payload = error_message(problem.text, ref=ref)
    # an error never replaces the message a button sits on: the last good numbers stay
    payload["replace_original"] = False
    return payload


async def answer(
    work: Callable[[WorkspaceClient], Awaitable[Payload]], deps: Deps, respond: AsyncRespond, audit: Audit
) -> None:
    """Exactly one post for the request, whatever happens upstream; then one audit line."""
    request_id: str | None = None
    within = deps.settings.answer_timeout
    await deps.ack_first.wait_turn()
    try:
        async with asyncio.timeout(within):
            payload = await work(deps.get_client())
        outcome = "ok"
    except PooldriftError as exc:
        problem = describe(exc)
        request_id = getattr(exc, "request_id", None)
        payload, outcome = error_payload(problem), problem.outcome
    except TimeoutError:
        problem = timed_out(within)
        payload, outcome = error_payload(problem), problem.outcome
    except Exception as exc:  # the last resort: still one answer, and a reference to find the log by
        ref = secrets.token_hex(4)
        log.error(
            "unexpected %s while answering %s (ref %s)", type(exc).__name__, audit.event, ref, exc_info=exc
        )
        problem = unexpected(ref)
        payload, outcome = error_payload(problem, ref=ref), problem.outcome
    delivered = await post(respond, payload)
    audit.write(outcome, request_id=request_id, delivered=delivered)
