"""The buttons under a report: Refresh (replaces the message with fresh numbers) and Show
drifted desktops (an ephemeral list of which desktops differ, and how).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.errors import InvalidInputError
from pooldrift.validation import validate_pool_id

from ..answer import Payload, answer, post_error
from ..audit import Audit, Who, refusal
from ..blocks import REFRESH_ACTION, SHOW_DRIFTED_ACTION, drifted_message, report_message
from ..deps import Deps, deps_of
from ..drifted import fetch_drifted
from ..words import describe

__all__ = ["on_refresh", "on_show_drifted", "register"]


def _value(action: dict[str, Any]) -> str:
    return str(action.get("value") or "")


async def _admitted(deps: Deps, action: dict[str, Any], respond: AsyncRespond, audit: Audit) -> str | None:
    """The pool id of a click that may be answered; otherwise the refusal is posted."""
    refused = refusal(deps.settings, audit.who)
    if refused is not None:
        await post_error(respond, refused, audit, "refused")
        return None
    try:
        return validate_pool_id(_value(action))
    except InvalidInputError as exc:
        await post_error(respond, describe(exc), audit, exc.outcome)
        return None


async def on_refresh(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    context: dict[str, Any],
) -> None:
    deps = deps_of(context)
    with deps.in_flight.answering():
        await ack()
        audit = Audit("refresh", Who.from_action(body), "refresh", pool=_value(action) or None)
        pool_id = await _admitted(deps, action, respond, audit)
        if pool_id is None:
            return

        async def refresh(client: WorkspaceClient) -> Payload:
            report = await client.check(pool_id)
            audit.request_id = report.request_id
            payload = report_message(
                report, who=audit.who.user, elapsed_ms=audit.elapsed_ms(), in_channel=False, refreshed=True
            )
            # the replaced message keeps its visibility; only the content changes
            del payload["response_type"]
            payload["replace_original"] = True
            return payload

        await answer(refresh, deps, respond, audit)


async def on_show_drifted(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    context: dict[str, Any],
) -> None:
    deps = deps_of(context)
    with deps.in_flight.answering():
        await ack()
        audit = Audit("show_drifted", Who.from_action(body), "show_drifted", pool=_value(action) or None)
        pool_id = await _admitted(deps, action, respond, audit)
        if pool_id is None:
            return
        limit = deps.settings.max_listed

        async def show(client: WorkspaceClient) -> Payload:
            found = await fetch_drifted(client, pool_id, limit=limit)
            payload = drifted_message(found, limit=limit)
            payload["replace_original"] = False
            return payload

        await answer(show, deps, respond, audit)


def register(app: AsyncApp) -> None:
    app.action(REFRESH_ACTION)(on_refresh)
    app.action(SHOW_DRIFTED_ACTION)(on_show_drifted)
