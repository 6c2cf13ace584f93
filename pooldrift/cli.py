"""``pooldrift``: check, scan, pools, desktops, emulator and demo from a terminal.

Exit status: 0 fine, 1 the API or the configuration failed, 2 bad arguments, 3 drift found
(only with ``--fail-on-drift``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import ConfigurationError, InvalidInputError, PooldriftError

if TYPE_CHECKING:
    from .client import DesktopPools, ScanEntry, WorkspaceClient
    from .models import DriftReport, PoolDesktops
    from .regions import Region

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3


# -- rendering (pure) ------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], right: set[int] | None = None) -> str:
    """A plain aligned text table; columns in ``right`` are right-aligned."""
    right = right or set()
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join(line(row) for row in cells)


def render_report(report: DriftReport) -> str:
    from .models import InconsistentType

    name = f"{report.pool_name} ({report.pool_id})" if report.pool_name else report.pool_id
    head = [
        f"Pool      {name}",
        f"Project   {report.project_id} ({report.region})",
    ]
    if report.desktop_count is not None:
        head.append(f"Desktops  {report.desktop_count}")
    rows = [(kind.label, *_count_cells(report.count(kind))) for kind in InconsistentType]
    foot = f"request id {report.request_id or '-'}, fetched {report.fetched_at:%Y-%m-%d %H:%M:%S} UTC"
    return "\n".join(
        [*head, "", table(("Drift", "Desktops", "Status"), rows, right={1}), "", report.summary(), foot]
    )


def _count_cells(count: int | None) -> tuple[object, str]:
    """A count and its status: a count the API did not report is unknown, never 0."""
    if count is None:
        return "-", "not reported"
    return count, "drifted" if count else "in line"


def _or_unknown(count: int | None) -> object:
    return "?" if count is None else count


def _status(report: DriftReport) -> str:
    if report.drifted:
        return f"drifted (≥ {report.drifted_desktops_at_least})"
    if report.consistent:
        return "consistent"
    return f"unknown ({len(report.unreported_kinds)} not reported)"


def render_scan(entries: Sequence[ScanEntry]) -> str:
    from .models import InconsistentType

    rows: list[tuple[object, ...]] = []
    for e in entries:
        r = e.report
        if r is None:
            rows.append((e.pool_name, "-", "-", "-", "-", "-", f"error: {e.error}"))
        else:
            count = r.desktop_count if r.desktop_count is not None else "-"
            counts = [_or_unknown(r.count(kind)) for kind in InconsistentType]
            rows.append((e.pool_name, count, *counts, _status(r)))
    headers = ("Pool", "Desktops", "Package", "Image", "Disk count", "Disk size", "Status")
    reports = [e.report for e in entries if e.report is not None]
    drifted = sum(1 for r in reports if r.drifted)
    consistent = sum(1 for r in reports if r.consistent)
    unknown = len(reports) - drifted - consistent
    failed = len(entries) - len(reports)
    summary = f"{len(entries)} pools: {drifted} drifted, {consistent} consistent"
    summary += f", {unknown} unknown" if unknown else ""
    summary += f", {failed} failed" if failed else ""
    if any(r.unreported_kinds for r in reports):
        summary += "\n?: not reported by the API (unknown, not 0)"
    return table(headers, rows, right={1, 2, 3, 4, 5}) + "\n\n" + summary


def render_pools(listing: DesktopPools) -> str:
    rows = [
        (
            p.id,
            p.name,
            p.type or "-",
            p.desktop_count if p.desktop_count is not None else "-",
            p.status or "-",
        )
        for p in listing.pools
    ]
    out = table(("Id", "Name", "Type", "Desktops", "Status"), rows, right={3})
    more = f" (showing {len(listing.pools)})" if listing.truncated else ""
    return f"{out}\n\n{listing.total_count} pools{more}"


def render_desktops(found: PoolDesktops) -> str:
    note = ""
    if found.unavailable_kinds:
        kinds = ", ".join(k.label.lower() for k in found.unavailable_kinds)
        note = (
            f"Which desktops differ in {kinds}: not reported (this Workspace endpoint, an older API "
            "version, cannot list desktops by that kind of drift)."
        )
    if found.total_count is None and not found.desktops:
        return note
    rows = [
        (
            d.computer_name or "-",
            d.desktop_id,
            d.status or "-",
            ", ".join(k.label for k in d.drift) or "in line",
        )
        for d in found.desktops
    ]
    out = table(("Computer", "Desktop id", "Status", "Differs in"), rows)
    more = f", showing {len(found.desktops)}" if found.truncated else ""
    return f"{out}\n\n{found.total_count} desktops{more}" + (f"\n{note}" if note else "")


def render_regions(rows: Sequence[Region], default: str) -> str:
    table_rows = [
        (r.id + (" (default)" if r.id == default else ""), r.workspace_endpoint, r.iam_endpoint) for r in rows
    ]
    return table(("Region", "Workspace endpoint", "IAM endpoint (project lookup)"), table_rows)


def _dump(value: Any) -> str:
    from pydantic import BaseModel, TypeAdapter

    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return TypeAdapter(type(value)).dump_json(value, indent=2).decode()


# -- commands --------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> WorkspaceClient:
    from .client import WorkspaceClient

    return WorkspaceClient(region=args.region, project_id=args.project_id, endpoint=args.endpoint)


async def _check(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        report = await client.check(args.pool)
    print(_dump(report) if args.json else render_report(report))
    return EXIT_DRIFT if args.fail_on_drift and report.drifted else EXIT_OK


async def _scan(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        entries = await client.scan()
    print(_dump(entries) if args.json else render_scan(entries))
    if any(e.report is None for e in entries):
        return EXIT_ERROR
    drifted = any(e.report is not None and e.report.drifted for e in entries)
    return EXIT_DRIFT if args.fail_on_drift and drifted else EXIT_OK


async def _pools(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        listing = await client.list_pools(name=args.name, max_items=args.limit)
    print(_dump(listing) if args.json else render_pools(listing))
    return EXIT_OK


async def _desktops(args: argparse.Namespace) -> int:
    from .client import gather_all
    from .models import annotate_drift

    async with _client(args) as client:
        pool = await client.resolve_pool(args.pool)
        if args.type is not None:
            found = await client.list_pool_desktops(pool.id, args.type, max_items=args.limit)
        elif args.all:
            # a desktop reports only package and image drift itself: the disk kinds come from the
            # filtered listings, so both are read
            everything, drifted = await gather_all(
                client.list_pool_desktops(pool.id, max_items=args.limit),
                client.list_drifted_desktops(pool.id),
            )
            found = annotate_drift(everything, drifted)
        else:
            found = await client.list_drifted_desktops(pool.id, max_items=args.limit)
    print(_dump(found) if args.json else render_desktops(found))
    return EXIT_OK


def _regions(args: argparse.Namespace) -> int:
    import os

    from .regions import DEFAULT_REGION, REGIONS

    if args.json:
        rows = [
            {"region": r.id, "workspace_endpoint": r.workspace_endpoint, "iam_endpoint": r.iam_endpoint}
            for r in REGIONS.values()
        ]
        print(_dump(rows))
        return EXIT_OK
    print(render_regions(list(REGIONS.values()), DEFAULT_REGION))
    for name, what in (
        ("POOLDRIFT_ENDPOINT", "Workspace and IAM calls"),
        ("HUAWEICLOUD_SDK_IAM_ENDPOINT", "IAM calls"),
    ):
        if os.environ.get(name, "").strip():
            print(f"\n{name} is set: {what} go to it instead of the endpoints above.")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(json_output=args.json)


# -- wiring ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pooldrift",
        description="Has this Huawei Cloud Workspace desktop pool drifted from its configuration?",
        epilog="Credentials come from HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (see the README). "
        "Exit status: 0 fine, 1 API or configuration error, 2 bad arguments, 3 drift found "
        "(with --fail-on-drift).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def api_command(name: str, help_: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_, description=help_)
        cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
        cmd.add_argument("--region", help="region (default: POOLDRIFT_REGION or cn-north-4)")
        cmd.add_argument("--project-id", help="project id (default: HUAWEICLOUD_SDK_PROJECT_ID or IAM)")
        cmd.add_argument("--endpoint", help="Workspace endpoint override (default: POOLDRIFT_ENDPOINT)")
        return cmd

    check = api_command("check", "drift counts of one pool")
    check.add_argument("pool", metavar="POOL", help="pool id (UUID) or exact pool name")
    check.add_argument("--fail-on-drift", action="store_true", help="exit 3 when the pool has drifted")
    check.set_defaults(run=_check)

    scan = api_command("scan", "drift counts of every pool in the project")
    scan.add_argument("--fail-on-drift", action="store_true", help="exit 3 when any pool has drifted")
    scan.set_defaults(run=_scan)

    pools = api_command("pools", "list the desktop pools of the project")
    pools.add_argument("--name", help="only pools whose name contains this")
    pools.add_argument("--limit", type=int, default=None, help="at most this many pools")
    pools.set_defaults(run=_pools)

    desktops = api_command("desktops", "list the drifted desktops of a pool, and how each differs")
    desktops.add_argument("pool", metavar="POOL", help="pool id (UUID) or exact pool name")
    desktops.add_argument(
        "--type",
        choices=["product_id", "image_id", "disk_num", "disk_size"],
        type=str.lower,
        help="only desktops drifted in this way",
    )
    desktops.add_argument("--all", action="store_true", help="include desktops that are in line")
    desktops.add_argument("--limit", type=int, default=100, help="at most this many desktops (100)")
    desktops.set_defaults(run=_desktops)

    regions = sub.add_parser(
        "regions",
        help="the known regions and where each one's calls go",
        description="Each region pooldrift knows, with its Workspace endpoint and the IAM endpoint "
        "of its project lookup (the vendor SDK's tables).",
    )
    regions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    regions.set_defaults(sync=_regions)

    sub.add_parser(
        "emulator",
        help="run the local Workspace API emulator (see `pooldrift emulator --help`)",
        add_help=False,
    )

    demo = sub.add_parser("demo", help="start the emulator, check its pools, stop it")
    demo.add_argument("--json", action="store_true", help="print JSON instead of tables")
    demo.set_defaults(sync=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:  # its own parser: flags after the word belong to it
        from . import emulator

        return emulator.main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        if hasattr(args, "sync"):
            code: int = args.sync(args)
            return code
        run: Callable[[argparse.Namespace], Awaitable[int]] = args.run
        return asyncio.run(run(args))  # type: ignore[arg-type]
    except (InvalidInputError, ConfigurationError) as exc:
        print(f"pooldrift: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, InvalidInputError) else EXIT_ERROR
    except PooldriftError as exc:
        print(f"pooldrift: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
