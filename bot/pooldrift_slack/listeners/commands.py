"""``/pooldrift``: help, ``pools``, ``scan [name]``, ``mute``/``unmute`` (in ``mute``), or one
pool's drift. ``ack()`` comes first, then the client, then a pure builder, then one post to the
``response_url``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.errors import InvalidInputError
from pooldrift.fleet import scan_fleet
from pooldrift.validation import validate_pool_name, validate_pool_ref

from ..answer import Payload, answer
from ..audit import Audit, Who, refusal
from ..blocks import COMMAND, checking_text, error_message, help_message, pools_message, report_message
from ..deps import Deps, deps_of
from ..first_line import FirstLine
from ..scan_blocks import counted_message, scan_message, scanning_text
from ..watch_blocks import since_lines
from ..words import describe
from .mute import MUTE, UNMUTE, mute_or_unmute

__all__ = ["on_pooldrift", "register"]


_VERBS = ("scan", MUTE, UNMUTE)


def _operation(word: str) -> str:
    if word in ("", "help", "pools"):
        return word or "help"
    first = word.split(maxsplit=1)[0]
    return first if first in _VERBS else "check"


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
    operation = _operation(word)
    # a scan's audit record names its filter, if any, where the others name the pool asked about
    asked = text.split(maxsplit=1)[1:] if operation in _VERBS else [text] if text else []
    audit = Audit("command", who, operation, pool=asked[0] if asked else None)
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
    if audit.operation == "scan":
        await _scan(deps, ack, respond, audit, wanted=audit.pool)
        return
    if audit.operation in (MUTE, UNMUTE):
        await mute_or_unmute(deps, ack, respond, audit, audit.pool or "")
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
        known = await deps.watch.since(report.pool_id)
        return report_message(
            report,
            who=who.user,
            elapsed_ms=audit.elapsed_ms(),
            in_channel=settings.results_in_channel,
            history=since_lines(known.since, known.trend, now=known.now, zone=known.zone) if known else "",
        )

    await answer(check, deps, respond, audit)


async def _scan(
    deps: Deps, ack: AsyncAck, respond: AsyncRespond, audit: Audit, *, wanted: str | None
) -> None:
    """``wanted``: the part of a pool name to keep the pools by, as typed."""
    settings = deps.settings
    everywhere = settings.scan_all_projects
    try:  # refused before any request: the ack is the answer
        name = validate_pool_name(wanted) if wanted else None
    except InvalidInputError as exc:
        await ack(**error_message(describe(exc).text))
        audit.write(exc.outcome)
        return
    await ack(text=scanning_text(name, all_projects=everywhere), response_type="ephemeral")

    async def scan(client: WorkspaceClient) -> Payload:
        # across projects the count grows as each project is listed: no one number to announce
        first = FirstLine(respond, lambda total: counted_message(total, name), enabled=not everywhere)
        async with first:
            found = await scan_fleet(client, all_projects=everywhere, name=name, progress=first.progress)
        return scan_message(
            found,
            limit=settings.max_listed,
            region=client.region,
            who=audit.who.user,
            elapsed_ms=audit.elapsed_ms(),
            in_channel=settings.results_in_channel,
            name=name,
            all_projects=everywhere,
        )

    await answer(scan, deps, respond, audit)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(on_pooldrift)
