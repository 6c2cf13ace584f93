"""``pooldrift demo``: the main job end to end on the bundled emulator, then stop it.

It starts the emulator on a free loopback port, lists and scans its pools, checks the most
drifted one by name, lists that pool's drifted desktops, and shows a typo's clear error.
With ``--keep`` the emulator then stays up in the foreground, with the three exports that point
``pooldrift`` at it printed, until Ctrl-C or SIGTERM (exit 0).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from types import FrameType
from typing import Any, TextIO

from .client import WorkspaceClient
from .config import load_settings
from .emulator import EmulatorServer
from .errors import PooldriftError
from .fleet import drill_down, scan_fleet
from .render import render_drilldown, render_pools, render_report, render_scan

NEXT_STEP = (
    "\nStopped the emulator. To run these commands yourself, `pooldrift demo --keep` keeps it running\n"
    "and prints the three exports that point pooldrift at it. For a real cloud: export\n"
    "HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK and POOLDRIFT_REGION (see the README's quick start)."
)


def run_demo(*, json_output: bool = False, keep: bool = False) -> int:
    with EmulatorServer() as emulator:
        if not json_output:
            print(f"Started the bundled Workspace API emulator at {emulator.base_url}\n")
        result = asyncio.run(_run(emulator.base_url, emulator.access_key, emulator.secret_key, json_output))
        if keep and result == 0:
            # with --json the exports go to stderr, so stdout stays one JSON document
            _keep_running(emulator, sys.stderr if json_output else sys.stdout)
            return 0
    if not json_output:
        print(NEXT_STEP)
    return result


def exports(emulator: EmulatorServer) -> list[str]:
    """The shell lines that point ``pooldrift`` at this emulator (its demo key pair)."""
    return [
        f"export HUAWEICLOUD_SDK_AK={emulator.access_key}",
        f"export HUAWEICLOUD_SDK_SK={emulator.secret_key}",
        f"export POOLDRIFT_ENDPOINT={emulator.base_url}",
    ]


def _keep_running(emulator: EmulatorServer, out: TextIO) -> None:
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        lines = [
            "",
            f"The emulator keeps running at {emulator.base_url}. In another terminal:",
            "",
            *(f"  {line}" for line in exports(emulator)),
            "  source .venv/bin/activate    # or call .venv/bin/pooldrift",
            "  pooldrift scan",
            "",
            "Press Ctrl-C to stop it.",
        ]
        out.write("\n".join(lines) + "\n")
        out.flush()
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.write("Stopped the emulator.\n")
    out.flush()


async def _run(endpoint: str, ak: str, sk: str, json_output: bool) -> int:
    # explicit settings: a real key pair in the environment must not be sent to the emulator
    settings = load_settings(access_key=ak, secret_key=sk, endpoint=endpoint, iam_endpoint=endpoint)
    out: dict[str, Any] = {}
    async with WorkspaceClient(settings) as client:
        pools = await client.list_pools()
        scan = await scan_fleet(client)
        worst = scan.pools[0]  # worst first
        report = await client.check(worst.pool_name)
        drifted = await drill_down(client, report.pool_id, limit=10)
        typo = (report.pool_name or "pool")[:-1] + "x"
        try:
            await client.check(typo)
        except PooldriftError as exc:
            typo_error = exc.message
        else:  # pragma: no cover - the demo data has no such pool
            typo_error = ""

    if json_output:
        out = {
            "pools": json.loads(pools.model_dump_json()),
            "scan": json.loads(scan.model_dump_json()),
            "check": json.loads(report.model_dump_json()),
            "drifted_desktops": json.loads(drifted.model_dump_json()),
            "typo_error": typo_error,
        }
        print(json.dumps(out, indent=2))
        return 0

    step = 0

    def title(text: str) -> None:
        nonlocal step
        step += 1
        print(f"── {step}. {text} " + "─" * max(0, 70 - len(text)))

    title("pooldrift pools")
    print(render_pools(pools), end="\n\n")
    title("pooldrift scan")
    print(render_scan(scan), end="\n\n")
    title(f"pooldrift check {report.pool_name}")
    print(render_report(report), end="\n\n")
    title(f"pooldrift desktops {report.pool_name}")
    print(render_drilldown(drifted), end="\n\n")
    title(f"pooldrift check {typo}   (a typo: a clear error, nothing guessed)")
    print(f"pooldrift: {typo_error}")
    return 0
