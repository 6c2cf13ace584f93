"""The watch from a terminal: ``pooldrift watch`` (a foreground loop, or ``--once`` for cron),
``pooldrift history POOL``, and the "drifting since" that ``pooldrift check`` adds when a watch
has seen the pool (read-only: a check never creates state).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from datetime import UTC, datetime
from typing import Any

from prometheus_client import start_http_server

from ..client import WorkspaceClient
from ..errors import InvalidInputError, PooldriftError, PoolLookupError
from ..render import table
from ..text import safe
from ..validation import is_pool_id, validate_pool_ref
from .engine import Watch
from .models import KINDS, Event, at_least, duration, trend
from .settings import WatchSettings, load_watch_settings, parse_interval, require_interval
from .slack import SlackWeb
from .state import open_reader, open_store
from .store import WatchStateError

__all__ = ["drifting_since", "history", "watch"]

log = logging.getLogger("pooldrift.watch")
EXIT_OK, EXIT_ERROR = 0, 1


def _interval(args: argparse.Namespace) -> float | None:
    """``--interval`` checked as an argument: a bad one is a usage error (exit 2), before any call."""
    given = getattr(args, "interval", None)
    if given is None:
        return None
    try:
        return parse_interval(given)
    except ValueError as exc:
        raise InvalidInputError(f"--interval: {exc}", field="interval") from None


def _settings(args: argparse.Namespace) -> WatchSettings:
    return load_watch_settings(
        interval=_interval(args),
        regions=getattr(args, "region", None) or None,
        all_projects=True if getattr(args, "all_projects", False) else None,
    )


def _scope(settings: WatchSettings, client: WorkspaceClient) -> str:
    if settings.all_projects:
        return "every project" + (f" in {', '.join(settings.regions)}" if settings.regions else "")
    if settings.regions:
        return f"the projects of {', '.join(settings.regions)}"
    return f"project {client.project_id or '(looked up)'} in {client.region}"


def _where(settings: WatchSettings) -> str:
    return "Redis (POOLDRIFT_REDIS_URL)" if settings.redis_url else str(settings.state_path)


async def watch(args: argparse.Namespace) -> int:
    """``pooldrift watch``: every interval until SIGINT/SIGTERM (exit 0), or ``--once``."""
    try:
        return await _watch(args)
    except WatchStateError as exc:  # the CLI's one-line error, exit 1
        raise PooldriftError(exc.message) from None


async def _watch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    interval = None if args.once else require_interval(settings)
    if args.metrics_port is not None:
        server, _ = start_http_server(args.metrics_port, addr=args.metrics_host)
        # the port it bound: with --metrics-port 0 the system chose one
        log.info("metrics on http://%s:%d/metrics", args.metrics_host, server.server_address[1])
    client = WorkspaceClient(project_id=args.project_id, endpoint=args.endpoint)
    # the Slack client first (no I/O): without slack_sdk it says so before a state file is made
    slack = SlackWeb(settings.slack_bot_token, settings.slack_api_url) if settings.slack_bot_token else None
    store = await open_store(settings)
    try:
        async with client:
            watcher = Watch(settings, client, store, slack=slack)
            told = (
                f"alerts to {settings.channel}"
                if watcher.deliverer
                else "no Slack alerts (POOLDRIFT_WATCH_CHANNEL)"
            )
            every = "once" if interval is None else f"every {interval:g} s"
            log.info(
                "watching %s %s; state in %s; %s", _scope(settings, client), every, _where(settings), told
            )
            if args.once:
                done = await watcher.once()
                if done is None:
                    log.warning("another watch holds the lease: nothing done")
                    return EXIT_OK
                report, delivered = done
                log.info("cycle: %s; %s", report.line(), delivered.line())
                return EXIT_ERROR if report.failures else EXIT_OK
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            try:
                await watcher.run(stop)
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            log.info("stopped")
            return EXIT_OK
    finally:
        if slack is not None:
            await slack.aclose()
        await store.aclose()


async def history(args: argparse.Namespace) -> str:
    """``pooldrift history POOL``: the pool's changes as the watch recorded them (the text to print)."""
    try:
        return await _history(args)
    except WatchStateError as exc:
        raise PooldriftError(exc.message) from None


async def _history(args: argparse.Namespace) -> str:
    ref = validate_pool_ref(args.pool)
    settings = load_watch_settings()
    store = await open_reader(settings)
    if store is None:
        raise PooldriftError(f"no watch state at {settings.state_path} yet: `pooldrift watch` writes it")
    try:
        pool_id, name = await _resolve(store, ref)
        now = datetime.now(UTC)
        changes = await store.history(pool_id, args.days, now)
        state = await store.state(pool_id)
    finally:
        await store.aclose()
    name = name or next((c.pool_name for c in reversed(changes) if c.pool_name), None)
    since = state.drifting_since if state else None
    if args.json:
        body: dict[str, Any] = {
            "pool_id": pool_id,
            "pool_name": name,
            "watched": state is not None,
            "drifting_since": since.isoformat() if since else None,
            "trend": trend(changes),
            "changes": [json.loads(c.model_dump_json()) for c in changes],
        }
        return json.dumps(body, indent=2, ensure_ascii=False)
    return render_history(pool_id, name, changes, since, watched=state is not None, days=args.days, now=now)


async def _resolve(store: Any, ref: str) -> tuple[str, str | None]:
    if is_pool_id(ref):
        state = await store.state(ref)
        return ref, state.pool_name if state else None
    found = await store.find(ref)
    if not found:
        # as `pooldrift check` does for a pool the API does not have: exit 1, not a usage error
        raise PoolLookupError(f"the watch has no pool named {ref!r}: give its id", ref=ref, candidates=[])
    if len(found) > 1:
        ids = ", ".join(s.key for s in found)
        raise PoolLookupError(
            f"several watched pools are named {ref!r} ({ids}): give an id",
            ref=ref,
            candidates=[(s.key, s.pool_name or "") for s in found],
        )
    return found[0].key, found[0].pool_name


def render_history(
    pool_id: str,
    name: str | None,
    changes: list[Event],
    since: datetime | None,
    *,
    watched: bool,
    days: float,
    now: datetime,
) -> str:
    lines = [f"Pool      {name} ({pool_id})" if name else f"Pool      {pool_id}"]
    if since is not None:
        lines.append(
            f"Drifting  since {since:%Y-%m-%d %H:%M} UTC ({duration((now - since).total_seconds())})"
        )
    elif watched:
        lines.append("Drifting  no (as of the watch's last cycle)")
    else:
        lines.append("Drifting  unknown: the watch does not watch this pool (now)")
    if not changes:
        lines += ["", f"No changes in the last {days:g} days."]
        return "\n".join(safe(line) for line in lines)
    lines.append(f"Trend     {trend(changes)}")
    rows = [
        (
            f"{c.at:%Y-%m-%d %H:%M:%S}",
            c.kind.value,
            at_least(c.counts) if c.scope == "pool" else "",
            *("?" if c.counts.get(k.field) is None else c.counts[k.field] for k in KINDS),
        )
        for c in changes
    ]
    head = ("Time (UTC)", "Event", "Drifted ≥", *(k.label for k in KINDS))
    return "\n".join([*(safe(line) for line in lines), "", table(head, rows, right={2, 3, 4, 5, 6})])


async def drifting_since(pool_id: str) -> datetime | None:
    """Since when the watch has seen the pool drifting; None when there is no watch state, the
    pool is not drifting there, or it cannot be read. Opens nothing for writing."""
    try:
        store = await open_reader(load_watch_settings())
        if store is None:
            return None
        try:
            return await store.since(pool_id)
        finally:
            await store.aclose()
    except (PooldriftError, WatchStateError) as exc:
        log.debug("no drift history for the check: %s", exc.message)
        return None
