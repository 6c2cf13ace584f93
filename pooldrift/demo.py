"""``pooldrift demo``: the main job end to end on the bundled emulator, then stop it.

It starts the emulator on a free loopback port, lists and scans its pools, checks the most
drifted one by name, lists that pool's drifted desktops, and shows a typo's clear error.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .client import WorkspaceClient
from .config import load_settings
from .emulator import EmulatorServer
from .errors import PooldriftError
from .fleet import drill_down, scan_fleet
from .render import render_drilldown, render_pools, render_report, render_scan


def run_demo(*, json_output: bool = False) -> int:
    with EmulatorServer() as emulator:
        if not json_output:
            print(f"Started the bundled Workspace API emulator at {emulator.base_url}\n")
        result = asyncio.run(_run(emulator.base_url, emulator.access_key, emulator.secret_key, json_output))
    if not json_output:
        print("\nStopped the emulator. Point POOLDRIFT_ENDPOINT elsewhere (or unset it) for a real cloud.")
    return result


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
