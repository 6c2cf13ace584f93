"""``/pooldrift``: help, ``pools``, or one pool's drift. ``ack()`` comes first, then the client,
then a pure builder, then one post to the ``response_url``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.errors import InvalidInputError
from pooldrift.validation import validate_pool_ref

from ..answer import Payload, answer
from ..audit import Audit, Who, refusal
from ..blocks import COMMAND, checking_text, error_message, help_message, pools_message, report_message
from ..deps import Deps, deps_of
from ..words import describe

__all__ = ["on_pooldrift", "register"]


def _operation(word: str) -> str:
    return "help" if word in ("", "help") else "pools" if word == "pools" else "check"


async def on_pooldrift(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: dict[str, Any]
) -> None:
    deps = deps_of(context)
    with deps.in_flight.answering():
        await _pooldrift(deps, ack, command, respond)


async def _pooldrift(deps: Deps, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
    settings = deps.settings
    who = Who.from_command(command)
    text = str(command.get("text") or "").strip()
    word = text.lower()
    audit = Audit("command", who, _operation(word), pool=text or None)
    refused = refusal(settings, who)
    if refused is not None:
        await ack(**error_message(refused.text))
        audit.write("refused")
        return
    if audit.operation == "help":
        await ack(**help_message())
        audit.write("help")
        return
    if audit.operation == "pools":
        await ack(text=":mag: Listing the desktop pools…", response_type="ephemeral")

        async def list_pools(client: WorkspaceClient) -> Payload:
            listing = await client.list_pools(max_items=settings.max_listed)
            return pools_message(
                listing,
                project_id=await client.get_project_id(),
                region=client.region,
                limit=settings.max_listed,
                in_channel=settings.results_in_channel,
            )

        await answer(list_pools, deps, respond, audit)
        return
    try:
        ref = validate_pool_ref(text)
    except InvalidInputError as exc:  # refused before any request: the ack is the answer
        await ack(**error_message(describe(exc).text))
        audit.write(exc.outcome)
        return
    await ack(text=checking_text(ref), response_type="ephemeral")

    async def check(client: WorkspaceClient) -> Payload:
        report = await client.check(ref)
        audit.request_id = report.request_id
        return report_message(
            report, who=who.user, elapsed_ms=audit.elapsed_ms(), in_channel=settings.results_in_channel
        )

    await answer(check, deps, respond, audit)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(on_pooldrift)
