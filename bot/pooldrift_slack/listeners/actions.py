"""The buttons: under a report, Refresh (replaces the message with fresh numbers) and Show drifted
desktops (an ephemeral list of which desktops differ, expected against actual); under a scan, one
per pool, which opens that pool's report for whoever clicked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from pooldrift.client import WorkspaceClient
from pooldrift.errors import InvalidInputError
from pooldrift.fleet import drill_down

from ..address import PoolAddress, parse_address
from ..answer import Payload, answer, post_error
from ..audit import Audit, Who, refusal
from ..blocks import OPEN_POOL_ROUTE, REFRESH_ACTION, SHOW_DRIFTED_ACTION, report_message
from ..deps import Deps, deps_of
from ..drilldown_blocks import drilldown_message
from ..watch_blocks import since_lines
from ..words import describe

__all__ = ["on_open_pool", "on_refresh", "on_show_drifted", "register"]


def _value(action: dict[str, Any]) -> str:
    return str(action.get("value") or "")


async def _admitted(
    deps: Deps, action: dict[str, Any], respond: AsyncRespond, audit: Audit
) -> PoolAddress | None:
    """The pool of a click that may be answered; otherwise the refusal is posted."""
    refused = refusal(deps.settings, audit.who)
    if refused is not None:
        await post_error(respond, refused, audit, "refused")
        return None
    try:
        return parse_address(_value(action), other_projects=deps.settings.scan_all_projects)
    except InvalidInputError as exc:
        await post_error(respond, describe(exc), audit, exc.outcome)
        return None


async def _report(
    deps: Deps, address: PoolAddress, client: WorkspaceClient, audit: Audit, *, refreshed: bool = False
) -> Payload:
    report = await address.view(client).check(address.pool_id)
    audit.request_id = report.request_id
    known = await deps.watch.since(report.pool_id)
    return report_message(
        report,
        who=audit.who.user,
        elapsed_ms=audit.elapsed_ms(),
        in_channel=False,
        refreshed=refreshed,
        value=address.value,
        history=since_lines(known.since, known.trend, now=known.now, zone=known.zone) if known else "",
    )


_Answer = Callable[[WorkspaceClient], Awaitable[Payload]]
#: what a click asks for, given the admitted pool: the work behind its one answer
_Work = Callable[[Deps, PoolAddress, Audit], _Answer]


async def _on_click(
    operation: str,
    work: _Work,
    body: dict[str, Any],
    action: dict[str, Any],
    ack: AsyncAck,
    respond: AsyncRespond,
    context: dict[str, Any],
) -> None:
    """Every button the same way: ack, audit, admit the pool, then one answer."""
    deps = deps_of(context)
    with deps.in_flight.answering():
        await ack()
        audit = Audit(operation, Who.from_action(body), operation, pool=_value(action) or None)
        address = await _admitted(deps, action, respond, audit)
        if address is None:
            return
        await answer(work(deps, address, audit), deps, respond, audit)


def _refresh(deps: Deps, address: PoolAddress, audit: Audit) -> _Answer:
    async def refresh(client: WorkspaceClient) -> Payload:
        payload = await _report(deps, address, client, audit, refreshed=True)
        # the replaced message keeps its visibility; only the content changes
        del payload["response_type"]
        payload["replace_original"] = True
        return payload

    return refresh


def _open_pool(deps: Deps, address: PoolAddress, audit: Audit) -> _Answer:
    async def open_pool(client: WorkspaceClient) -> Payload:
        payload = await _report(deps, address, client, audit)
        payload["replace_original"] = False
        return payload

    return open_pool


def _show_drifted(deps: Deps, address: PoolAddress, _audit: Audit) -> _Answer:
    limit = deps.settings.max_listed

    async def show(client: WorkspaceClient) -> Payload:
        found = await drill_down(address.view(client), address.pool_id, limit=limit)
        payload = drilldown_message(found, limit=limit)
        payload["replace_original"] = False
        return payload

    return show


_Listener = Callable[
    [AsyncAck, dict[str, Any], dict[str, Any], AsyncRespond, dict[str, Any]], Awaitable[None]
]


def _button(operation: str, work: _Work) -> _Listener:
    """The Bolt listener of one button (Bolt passes the arguments by these names)."""

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        context: dict[str, Any],
    ) -> None:
        await _on_click(operation, work, body, action, ack, respond, context)

    listener.__name__ = f"on_{operation}"
    return listener


on_refresh = _button("refresh", _refresh)
#: the report ``/pooldrift <pool>`` gives, for the clicker alone: the scan it came from stays in
#: place for everyone who sees it, and each pool opened adds its own message
on_open_pool = _button("open_pool", _open_pool)
on_show_drifted = _button("show_drifted", _show_drifted)


def register(app: AsyncApp) -> None:
    app.action(REFRESH_ACTION)(on_refresh)
    app.action(SHOW_DRIFTED_ACTION)(on_show_drifted)
    app.action(OPEN_POOL_ROUTE)(on_open_pool)
