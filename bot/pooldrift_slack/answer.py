"""The one answer behind every accepted request: run the work within a bound, turn any failure
into words, post exactly once to the ``response_url``, and write the audit record.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.webhook.async_client import AsyncWebhookClient

from pooldrift.client import WorkspaceClient
from pooldrift.errors import PooldriftError

from .audit import Audit
from .blocks import error_message
from .deps import Deps
from .drain import CutShort
from .quiet import library_logger
from .words import Words, describe, new_ref, stopping, timed_out, unexpected

__all__ = ["Payload", "answer", "error_payload", "post", "post_error"]

log = logging.getLogger("pooldrift.slack")

Payload = dict[str, Any]


async def post(respond: AsyncRespond, payload: Payload) -> bool:
    """Post to the response URL; a failure is logged (by kind, never by URL) and reported back."""
    if not respond.response_url:
        log.warning("the request carries no response URL: nothing to answer on")
        return False
    # our own client rather than respond(): its logger never writes the URL or the payload
    client = AsyncWebhookClient(respond.response_url, logger=library_logger())
    try:
        response = await client.send_dict(payload)
    except Exception as exc:  # the network or Slack: nothing left to tell the user through
        log.warning("could not post the answer to Slack: %s", type(exc).__name__)
        return False
    if response.status_code != 200:
        log.warning("Slack refused the answer: HTTP %s %s", response.status_code, (response.body or "")[:100])
        return False
    return True


def error_payload(words: Words) -> Payload:
    payload = error_message(words.text, ref=words.ref)
    # an error never replaces the message a button sits on: the last good numbers stay
    payload["replace_original"] = False
    return payload


async def post_error(respond: AsyncRespond, words: Words, audit: Audit, outcome: str) -> None:
    """An answer that is only words (a refusal, a bad button value), posted and audited."""
    delivered = await post(respond, error_payload(words))
    audit.write(outcome, delivered=delivered)


async def answer(
    work: Callable[[WorkspaceClient], Awaitable[Payload]], deps: Deps, respond: AsyncRespond, audit: Audit
) -> None:
    """Exactly one post for the request, whatever happens upstream; then one audit record."""
    request_id: str | None = None
    within = deps.settings.answer_timeout
    await deps.ack_first.wait_turn()
    try:
        payload = await deps.in_flight.run(work(deps.get_client()), within)
        outcome = "ok"
    except PooldriftError as exc:
        payload, outcome = error_payload(describe(exc)), exc.outcome
        request_id = getattr(exc, "request_id", None)
    except CutShort:
        payload, outcome = error_payload(stopping()), "shutdown"
    except TimeoutError:
        payload, outcome = error_payload(timed_out(within)), "timeout"
    except Exception as exc:  # the last resort: still one answer, and a reference to find the log by
        payload, outcome = _unexpected(exc, audit), "internal_error"
    delivered = await post(respond, payload)
    audit.write(outcome, request_id=request_id, delivered=delivered)


def _unexpected(exc: BaseException, audit: Audit) -> Payload:
    ref = new_ref()
    log.error("unexpected %s while answering %s (ref %s)", type(exc).__name__, audit.event, ref, exc_info=exc)
    return error_payload(unexpected(ref))
