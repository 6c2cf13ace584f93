"""``/pooldrift``: help, ``pools``, or one pool's drift. ``ack()`` comes first, then the client,
then a pure builder, then one ``respond()``.
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
from ..app import Deps
from ..audit import Audit, Who, refusal
from ..blocks import COMMAND, checking_text, error_message, help_message, pools_message, report_message
from ..words import describe

__all__ = ["register"]


def register(app: AsyncApp, deps: Deps) -> None:
    settings = deps.settings

    async def on_pooldrift(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        who = Who.from_command(command)
        text = str(command.get("text") or "").strip()
        audit = Audit("command", who, pool=text or None)
        problem = refusal(settings, who)
        if problem is not None:
            await ack(**error_message(problem.text))
            audit.write(problem.outcome)
            return
        word = text.lower()
        if word in ("", "help"):
            await ack(**help_message())
            audit.write("help")
            return
        if word == "pools":
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
            problem = describe(exc)
            await ack(**error_message(problem.text))
            audit.write(problem.outcome)
            return
        await ack(text=checking_text(ref), response_type="ephemeral")

        async def check(client: WorkspaceClient) -> Payload:
            report = await client.check(ref)
            audit.request_id = report.request_id
            return report_message(
                report, who=who.user, elapsed_ms=audit.elapsed_ms(), in_channel=settings.results_in_channel
            )

        await answer(check, deps, respond, audit)

    app.command(COMMAND)(on_pooldrift)
