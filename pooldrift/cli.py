"""``pooldrift``: check, scan, pools, desktops, emulator and demo from a terminal.

Exit status: 0 fine, 1 the API or the configuration failed, 2 bad arguments, 3 drift found
(only with ``--fail-on-drift``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ConfigurationError, InvalidInputError, PooldriftError
from .remedies import remedy
from .text import safe
from .validation import validate_project_id, validate_region
from .version import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3


def _checked(validate: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type from one of the client's validators: a bad value is a usage error (2)."""

    def check(value: str) -> str:
        try:
            return validate(value.strip())
        except InvalidInputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return check


def _at_least_one(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {safe(value[:20])!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


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

    def api_command(
        name: str, help_: str, *, many_regions: bool = False, under: Any = None
    ) -> argparse.ArgumentParser:
        cmd = (under or sub).add_parser(name, help=help_, description=help_)
        cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
        cmd.add_argument(
            "--region",
            type=_checked(validate_region),
            action="append" if many_regions else "store",
            help="region, repeatable (default: POOLDRIFT_REGION or cn-north-4)"
            if many_regions
            else "region (default: POOLDRIFT_REGION or cn-north-4)",
        )
        cmd.add_argument(
            "--project-id",
            type=_checked(validate_project_id),
            help="project id (default: HUAWEICLOUD_SDK_PROJECT_ID or IAM)",
        )
        cmd.add_argument("--endpoint", help="Workspace endpoint override (default: POOLDRIFT_ENDPOINT)")
        return cmd

    check = api_command("check", "drift counts of one pool")
    check.add_argument("pool", metavar="POOL", help="pool id (UUID) or exact pool name")
    check.add_argument("--fail-on-drift", action="store_true", help="exit 3 when the pool has drifted")
    check.set_defaults(run="check")

    scan = api_command(
        "scan",
        "drift counts of every pool in the project, or in every project and region: worst first",
        many_regions=True,
    )
    scan.add_argument(
        "--all-projects",
        action="store_true",
        help="every project the credentials reach (IAM), in every region with Workspace (or --region)",
    )
    scan.add_argument("--name", help="only pools whose name contains this")
    scan.add_argument("--fail-on-drift", action="store_true", help="exit 3 when any pool has drifted")
    scan.set_defaults(run="scan")

    pools = api_command("pools", "list the desktop pools of the project")
    pools.add_argument("--name", help="only pools whose name contains this")
    pools.add_argument("--limit", type=_at_least_one, default=None, help="at most this many pools")
    pools.set_defaults(run="pools")

    desktops = api_command(
        "desktops", "the drifted desktops of a pool, each with expected (the pool) against actual"
    )
    desktops.add_argument("pool", metavar="POOL", help="pool id (UUID) or exact pool name")
    desktops.add_argument(
        "--type",
        choices=["product_id", "image_id", "disk_num", "disk_size"],
        type=str.lower,
        help="only desktops drifted in this way",
    )
    desktops.add_argument(
        "--all", action="store_true", help="every desktop of the pool, in line or not, and how each differs"
    )
    desktops.add_argument("--limit", type=_at_least_one, default=100, help="at most this many desktops (100)")
    desktops.set_defaults(run="desktops")

    fix = sub.add_parser(
        "fix", help="fix a pool's drift: plan, apply once, follow, prove",
        description="Fixing drift, one pool at a time. `fix plan` shows what a fix would do and to "
        "whom, and changes nothing; `fix apply` does it once; `fix status` and `fix list` read the state.",
    )  # fmt: skip
    fixes = fix.add_subparsers(dest="fix_command", required=True, metavar="STEP")
    fix_plan = api_command(
        "plan",
        "what fixing a pool's drift would do, desktop by desktop, and who it would disrupt; sends no change",
        under=fixes,
    )
    fix_plan.add_argument("pool", metavar="POOL", help="pool id (UUID) or exact pool name")
    fix_plan.add_argument(
        "--kind",
        action="append",
        choices=["product_id", "image_id", "disk_num", "disk_size"],
        type=str.lower,
        help="only this kind of drift, repeatable (default: every kind the policy allows)",
    )
    fix_plan.add_argument(
        "--include-logged-in",
        action="store_true",
        default=None,
        help="include desktops a user is logged in to (told first); default POOLDRIFT_FIX_INCLUDE_LOGGED_IN",
    )
    fix_plan.set_defaults(run="fix_plan")

    fix_apply = api_command(
        "apply",
        "apply a plan (by its id, or a new one of POOL) once: shown first, the pool's name typed back "
        "unless --yes, its jobs followed, proven by the API's counts; exit 0 done, 1 failed, 4 partly done",
        under=fixes,
    )
    fix_apply.add_argument(
        "target", metavar="POOL|PLAN_ID", help="a plan id (fp_…) from `fix plan`, or a pool"
    )
    fix_apply.add_argument(
        "--kind", action="append", choices=["product_id", "image_id", "disk_num", "disk_size"],
        type=str.lower, help="with a pool: only this kind of drift, repeatable",
    )  # fmt: skip
    fix_apply.add_argument(
        "--include-logged-in", action="store_true", default=None,
        help="with a pool: include desktops a user is logged in to (told first)",
    )  # fmt: skip
    fix_apply.add_argument("--yes", action="store_true", help="do not ask for the pool's name typed back")
    fix_apply.add_argument(
        "--follow", type=float, default=600.0, metavar="SECONDS",
        help="follow the jobs this long at most (default 600)",
    )  # fmt: skip
    fix_apply.set_defaults(run="fix_apply")

    fix_status = api_command("status", "where a fix stands: its writes, their jobs now", under=fixes)
    fix_status.add_argument("plan_id", metavar="PLAN_ID", help="the plan's id (fp_…)")
    fix_status.set_defaults(run="fix_status")

    fix_list = fixes.add_parser("list", help="the plans kept in the state, newest first")
    fix_list.set_defaults(run="fix_list")

    watch_help = "scan on an interval; tell Slack and Prometheus when a pool drifts, worsens or is fixed"
    watch = sub.add_parser("watch", help=watch_help, description=watch_help + " (see the README).")
    watch.add_argument(
        "--region", type=_checked(validate_region), action="append",
        help="region to watch, repeatable (default: POOLDRIFT_WATCH_REGIONS, else the client's)",
    )  # fmt: skip
    watch.add_argument("--project-id", type=_checked(validate_project_id), help="project id (one region)")
    watch.add_argument("--endpoint", help="Workspace endpoint override (default: POOLDRIFT_ENDPOINT)")
    watch.add_argument("--once", action="store_true", help="one cycle and its Slack deliveries, then exit")
    watch.add_argument(
        "--interval", help="how often: 30s, 5m, 1h or seconds (default POOLDRIFT_WATCH_INTERVAL)"
    )
    watch.add_argument(
        "--all-projects",
        action="store_true",
        help="every project the credentials reach (POOLDRIFT_WATCH_ALL_PROJECTS)",
    )
    watch.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on this port")
    watch.add_argument("--metrics-host", default="127.0.0.1", help="address of /metrics (default 127.0.0.1)")
    watch.set_defaults(run="watch")

    history = sub.add_parser(
        "history", help="a pool's drift history as the watch recorded it", description="A pool's "
        "changes as the watch recorded them (its state: POOLDRIFT_STATE or POOLDRIFT_REDIS_URL), "
        "since when it drifts, and its trend. Reads only; asks the API nothing.",
    )  # fmt: skip
    history.add_argument("pool", metavar="POOL", help="pool id (UUID) or its name as the watch saw it")
    history.add_argument("--days", type=_at_least_one, default=30, help="how far back (days, default 30)")
    history.add_argument("--json", action="store_true", help="print JSON instead of a table")
    history.set_defaults(run="history")

    regions = sub.add_parser(
        "regions",
        help="the known regions and where each one's calls go",
        description="Each region pooldrift knows, with its Workspace endpoint and the IAM endpoint "
        "of its project lookup (the vendor SDK's tables).",
    )
    regions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    regions.set_defaults(sync="regions")

    sub.add_parser(
        "emulator",
        help="run the local Workspace API emulator (see `pooldrift emulator --help`)",
        add_help=False,
    )

    demo = sub.add_parser("demo", help="start the emulator, check its pools, stop it (or --keep it)")
    demo.add_argument("--json", action="store_true", help="print JSON instead of tables")
    demo.add_argument(
        "--keep",
        action="store_true",
        help="then keep the emulator running, with the exports that point pooldrift at it, until Ctrl-C",
    )
    demo.set_defaults(sync="demo")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:  # its own parser: flags after the word belong to it
        from . import emulator

        return emulator.main(argv[1:])
    args = build_parser().parse_args(argv)  # --help, --version and usage errors end here
    from . import commands, logs

    try:
        # the watch says a line per cycle; the other commands only what goes wrong
        logs.configure_logging(
            "DEBUG" if args.verbose else None, default="INFO" if args.command == "watch" else "WARNING"
        )
        if hasattr(args, "sync"):
            code: int = getattr(commands, args.sync)(args)
            return code
        run: Callable[[argparse.Namespace], Any] = getattr(commands, args.run)
        result: int = asyncio.run(run(args))
        return result
    except (InvalidInputError, ConfigurationError) as exc:
        _say(exc.message)
        return EXIT_USAGE if isinstance(exc, InvalidInputError) else EXIT_ERROR
    except PooldriftError as exc:
        _say(exc.message)
        step = remedy(exc)
        if step is not None:
            _say(step.line())
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _say(message: str) -> None:
    sys.stderr.write(f"pooldrift: {safe(message)}\n")


if __name__ == "__main__":
    sys.exit(main())
