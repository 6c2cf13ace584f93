"""``pooldrift emulator``: run the Workspace API emulator in the foreground until SIGINT/SIGTERM.

Prints exactly one line to stdout when ready (``pooldrift emulator listening on URL``); logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .config import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, EmulatorConfig
from .faults import HUGE_FRAMINGS, HUGE_SIZE
from .generate import FleetSpec
from .server import EmulatorServer
from .shape import COUNTS, FILTER_VALUES, NAME_FILTERS

DEFAULT_PORT = 8000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pooldrift emulator",
        description="A local Huawei Cloud Workspace API (the desktop-pool endpoints and the IAM project "
        "lookup) with demo data, AK/SK signature checks and fault injection.",
        epilog=f"Credentials: HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (default: the demo pair, AK "
        f"{DEMO_ACCESS_KEY}); project: HUAWEICLOUD_SDK_PROJECT_ID (default {DEMO_PROJECT_ID}). "
        "Faults can also be changed at run time: POST /_emulator/faults (see docs/emulator.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument("--no-control", action="store_true", help="do not mount the /_emulator control API")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    data = parser.add_argument_group(
        "data (default: the demo set, 12 pools in one project; any of these generates a fleet instead)"
    )
    data.add_argument(
        "--pools", type=int, default=None, metavar="N", help="pools in each project (default 12)"
    )
    data.add_argument(
        "--desktops-per-pool", type=int, default=None, metavar="M", help="desktops in each pool (default 5)"
    )
    data.add_argument(
        "--projects",
        type=int,
        default=None,
        metavar="P",
        help="projects, one per region (the home region first), then subprojects REGION_NAME (default 1)",
    )
    data.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        metavar="RPM",
        help="answer 429 APIGW.0308 with Retry-After above RPM requests a minute (default 0: no limit)",
    )
    shape = parser.add_argument_group("answers (all within what the vendor's definitions allow)")
    shape.add_argument(
        "--api-version",
        choices=list(FILTER_VALUES),
        default="current",
        help="legacy: an older API version (two drift counts; inconsistent_type PRODUCT or IMAGE "
        "only, 400 for the others)",
    )
    shape.add_argument(
        "--name-filter",
        choices=NAME_FILTERS,
        default="icontains",
        help="how the pool list's name filter matches: substring (contains) or whole name (exact), "
        "ignoring case (i...) or not (default icontains)",
    )
    shape.add_argument(
        "--nulls",
        action="store_true",
        help="send null for empty lists and strings, totals and unreported counts",
    )
    shape.add_argument(
        "--unreported",
        default="",
        metavar="COUNTS",
        help=f"comma-separated drift counts the statics answer leaves out ({', '.join(COUNTS)})",
    )
    faults = parser.add_argument_group("faults (rates are probabilities from 0 to 1)")
    add = faults.add_argument
    add("--latency", type=float, default=0.0, help="seconds added before every answer")
    add("--error-rate", type=float, default=0.0, help="share of requests answered with an error")
    add("--error-status", type=int, default=503, help="status of those errors (default 503)")
    add("--error-code", default=None, help="error_code of those errors (default: per status)")
    add("--rate-limit-rate", type=float, default=0.0, help="share answered 429 APIGW.0308")
    add("--retry-after", type=float, default=1.0, help="Retry-After seconds of a 429 (default 1)")
    add("--malformed-rate", type=float, default=0.0, help="share answered 200 with an HTML body")
    add("--truncate-rate", type=float, default=0.0, help="share whose body is cut short")
    add("--drop-rate", type=float, default=0.0, help="share whose connection is closed unanswered")
    add("--huge-rate", type=float, default=0.0, help="share answered with a huge body (--huge-size)")
    add(
        "--huge-size",
        type=int,
        default=HUGE_SIZE,
        metavar="BYTES",
        help=f"bytes of a huge body: the answer, then spaces, made as they are sent (default {HUGE_SIZE})",
    )
    add(
        "--huge-framing",
        choices=HUGE_FRAMINGS,
        default="chunked",
        help="send a huge body chunked, without a Content-Length, or with it (length)",
    )
    add("--slow-body", type=float, default=0.0, help="seconds to trickle each body out")
    add("--paths", default=None, help="only requests whose path matches this regex get faults")
    add("--seed", type=int, default=0, help="seed of the random faults and of a generated fleet (default 0)")
    writes = parser.add_argument_group("writes and their jobs (rates are probabilities from 0 to 1)")
    add = writes.add_argument
    add("--job-seconds", type=float, default=2.0, help="seconds a write's job takes (default 2)")
    add(
        "--sub-job-fail-rate",
        type=float,
        default=0.0,
        help="share of sub-jobs that fail (with a fail_reason)",
    )
    add("--write-rate-limit-rate", type=float, default=0.0, help="share of writes answered 429, not applied")
    add("--write-error-rate", type=float, default=0.0, help="share of writes applied, then answered 500")
    add("--write-timeout-rate", type=float, default=0.0, help="share of writes applied, answered late")
    add("--write-delay", type=float, default=30.0, help="seconds a late write waits to answer (default 30)")
    add("--endless-job-rate", type=float, default=0.0, help="share of writes whose job never ends")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM; 0 on a clean stop, 2 on bad arguments, 1 if it cannot start."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log = logging.getLogger("pooldrift.emulator")

    try:
        sizes = {"pools": args.pools, "desktops_per_pool": args.desktops_per_pool, "projects": args.projects}
        asked = {name: value for name, value in sizes.items() if value is not None}
        fleet = FleetSpec(**asked, seed=args.seed) if asked else None
        if not 0 <= args.job_seconds <= 3600:
            raise ValueError("--job-seconds must be from 0 to 3600")
        config = EmulatorConfig.from_env(
            control=not args.no_control,
            fault_seed=args.seed,
            fleet=fleet,
            rate_limit=args.rate_limit,
            job_seconds=args.job_seconds,
        )
        server = EmulatorServer(config, host=args.host, port=args.port)
        server.faults.update(
            latency=args.latency,
            error_rate=args.error_rate,
            error_status=args.error_status,
            error_code=args.error_code,
            rate_limit_rate=args.rate_limit_rate,
            retry_after=args.retry_after,
            malformed_rate=args.malformed_rate,
            truncate_rate=args.truncate_rate,
            drop_rate=args.drop_rate,
            huge_rate=args.huge_rate,
            huge_size=args.huge_size,
            huge_framing=args.huge_framing,
            slow_body=args.slow_body,
            paths=args.paths,
            sub_job_fail_rate=args.sub_job_fail_rate,
            write_rate_limit_rate=args.write_rate_limit_rate,
            write_error_rate=args.write_error_rate,
            write_timeout_rate=args.write_timeout_rate,
            write_delay=args.write_delay,
            endless_job_rate=args.endless_job_rate,
        )
        server.shape.update(
            api_version=args.api_version,
            name_filter=args.name_filter,
            nulls=args.nulls,
            unreported=args.unreported,
        )
    except ValueError as exc:
        parser.error(str(exc))

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except (OSError, RuntimeError) as exc:
            log.error("cannot start the emulator on %s:%s: %s", args.host, args.port, exc)
            return 1
        summary = server.data.summary()
        log.info(
            "serving %d pools in %d project(s) (home project %s); access key %s%s%s",
            summary["pools"],
            len(summary["projects"]),
            config.project_id,
            config.access_key,
            " (the demo key pair)" if config.access_key == DEMO_ACCESS_KEY else "",
            f"; at most {config.rate_limit} requests a minute" if config.rate_limit else "",
        )
        sys.stdout.write(f"pooldrift emulator listening on {server.base_url}\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        log.info("stopping")
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
