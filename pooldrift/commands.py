"""The work behind each ``pooldrift`` command: one client call, then a table or ``--json``.

``pooldrift.cli`` parses the arguments and imports this module only once a command needs it:
the client's imports (httpx2, aiohttp, pydantic models, prometheus-client) take ~0.3 s that
``--help``, ``--version`` and a usage error should not pay.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from .client import WorkspaceClient, gather_all
from .config import Settings, load_settings
from .fleet import Progress, drill_down, scan_fleet
from .models import annotate_drift
from .regions import DEFAULT_REGION, REGIONS
from .render import (
    render_desktops,
    render_drilldown,
    render_pools,
    render_regions,
    render_report,
    render_scan,
)

__all__ = [
    "check", "demo", "desktops", "fix_apply", "fix_list", "fix_plan", "fix_status", "history", "pools",
    "regions", "scan", "watch",
]  # fmt: skip

EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 3


def emit(text: str) -> None:
    """Print to stdout; a reader that went away (``| head``) ends the output, not the program."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # nothing more can be shown; point stdout at nothing so the interpreter's own final
        # flush does not raise again (the Python docs' recipe for SIGPIPE)
        devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
        os.dup2(devnull.fileno(), sys.stdout.fileno())


def _dump(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return TypeAdapter(type(value)).dump_json(value, indent=2).decode()


def _client(args: argparse.Namespace, region: str | None = None) -> WorkspaceClient:
    region = region or (args.region if isinstance(args.region, str) else None)
    return WorkspaceClient(region=region, project_id=args.project_id, endpoint=args.endpoint)


async def check(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        report = await client.check(args.pool)
    since = await _drifting_since(report.pool_id) if report.drifted else None
    if args.json:
        shown = json.loads(_dump(report))
        if since is not None:
            shown["drifting_since"] = since.isoformat()
        emit(json.dumps(shown, indent=2, ensure_ascii=False) if since else _dump(report))
    else:
        emit(render_report(report) + (f"\n{render_since(since)}" if since else ""))
    return EXIT_DRIFT if args.fail_on_drift and report.drifted else EXIT_OK


async def fix_plan(args: argparse.Namespace) -> int:
    """``pooldrift fix plan``: what fixing a pool would do, kept for ``fix apply ID``; no change sent."""
    from .fix.cli import plan_command
    from .fix.render import render_plan

    async with _client(args) as client:
        found = await plan_command(client, args)
    if args.json:
        emit(_dump(found))
    else:
        emit(render_plan(found) + f"\nApply it: pooldrift fix apply {found.id}")
    return EXIT_OK


async def fix_apply(args: argparse.Namespace) -> int:
    from .fix.cli import apply_command

    async with _client(args) as client:
        return await apply_command(client, args, emit)


async def fix_status(args: argparse.Namespace) -> int:
    from .fix.cli import status_command

    async with _client(args) as client:
        emit(await status_command(client, args))
    return EXIT_OK


async def fix_list(args: argparse.Namespace) -> int:
    del args
    from .fix.cli import list_command

    emit(await list_command())
    return EXIT_OK


async def _drifting_since(pool_id: str) -> datetime | None:
    """What the watch's state (when there is one) says; the watch's modules only load here."""
    from .watch.cli import drifting_since

    return await drifting_since(pool_id)


def render_since(since: datetime) -> str:
    from .watch.models import duration

    lasted = duration((datetime.now(UTC) - since).total_seconds())
    return f"Drifting since {since:%Y-%m-%d %H:%M} UTC ({lasted}), as the watch saw it."


async def watch(args: argparse.Namespace) -> int:
    from .watch import cli

    return await cli.watch(args)


async def history(args: argparse.Namespace) -> int:
    from .watch import cli

    emit(await cli.history(args))
    return EXIT_OK


async def scan(args: argparse.Namespace) -> int:
    regions: list[str] = args.region or []
    # one region: its project may be the given one; several (or all projects): looked up
    client = _client(args, regions[0] if len(regions) == 1 else None)
    async with client, _progress(enabled=not args.json) as progress:
        found = await scan_fleet(
            client,
            regions=regions if len(regions) > 1 or args.all_projects else (),
            project_id=args.project_id if not args.all_projects else None,
            all_projects=args.all_projects,
            name=args.name,
            progress=progress,
        )
    emit(_dump(found) if args.json else render_scan(found))
    if found.failures:
        return EXIT_ERROR
    return EXIT_DRIFT if args.fail_on_drift and found.totals.drifted_pools else EXIT_OK


@asynccontextmanager
async def _progress(*, enabled: bool) -> AsyncIterator[Progress | None]:
    """A progress bar on stderr while a scan runs, when stderr is a terminal (not piped, not --json)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar = RichProgress(
        TextColumn("Scanning pools"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("scan", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


async def pools(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        listing = await client.list_pools(name=args.name, max_items=args.limit)
    emit(_dump(listing) if args.json else render_pools(listing))
    return EXIT_OK


async def desktops(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        if args.all:
            pool = await client.resolve_pool(args.pool)
            # a desktop reports only package and image drift itself: the disk kinds come from the
            # filtered listings, so both are read
            everything, drifted = await gather_all(
                client.list_pool_desktops(pool.id, max_items=args.limit),
                client.list_drifted_desktops(pool.id),
            )
            found = annotate_drift(everything, drifted)
            emit(_dump(found) if args.json else render_desktops(found))
            return EXIT_OK
        detail = await drill_down(client, args.pool, kind=args.type, limit=args.limit)
    emit(_dump(detail) if args.json else render_drilldown(detail))
    return EXIT_OK


def regions(args: argparse.Namespace) -> int:
    settings = load_settings()
    overrides = _endpoint_overrides(settings)
    if args.json:
        rows = [
            {
                "region": r.id,
                "workspace_endpoint": r.workspace_endpoint,
                "iam_endpoint": r.iam_endpoint,
                # where this region's calls really go: the vendor's endpoints unless overridden
                "workspace_calls_go_to": settings.workspace_endpoint(r.id),
                "iam_calls_go_to": settings.iam_base(r.id),
                "overridden_by": [name for name, _value, _what in overrides],
            }
            for r in REGIONS.values()
        ]
        emit(_dump(rows))
        return EXIT_OK
    emit(render_regions(list(REGIONS.values()), DEFAULT_REGION))
    for name, value, what in overrides:
        emit(f"\n{name}={value} is set: {what} of every region go to it instead of the endpoints above.")
    return EXIT_OK


def _endpoint_overrides(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, its value, which calls it takes) for each endpoint override that is set."""
    found: list[tuple[str, str, str]] = []
    if settings.endpoint:
        what = "Workspace calls" if settings.iam_endpoint else "Workspace and IAM calls"
        found.append(("POOLDRIFT_ENDPOINT", settings.endpoint, what))
    if settings.iam_endpoint:
        found.append(
            ("HUAWEICLOUD_SDK_IAM_ENDPOINT", settings.iam_endpoint, "IAM calls (the project lookup)")
        )
    return found


def demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(json_output=args.json, keep=args.keep)
