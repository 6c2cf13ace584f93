"""A fresh process that scans every pool of the emulator's home project and reports its timings,
its peak RSS and the size of the scan's JSON; run by bench_scan.py once per contender.

- pooldrift: ``scan_fleet`` with a client configured from the environment (as a user's would be),
  a cold scan then ``--repeat`` warm ones;
- floor: the same requests as bare signed GETs on the same HTTP stack (httpx2 over aiohttp,
  32 in flight) and no models: what the emulator and the machine allow;
- sdk1 / sdk32: the vendor SDK as its user would scan — list the pools page by page, then one
  ``ListInconsistentStaticsRequest`` per pool, one after another or from 32 threads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _child import fresh, peak_mb

IN_FLIGHT = 32


async def _pooldrift(repeat: int) -> dict[str, Any]:
    loading = time.perf_counter()
    from pooldrift import WorkspaceClient
    from pooldrift.fleet import scan_fleet
    from pooldrift.metrics import UPSTREAM_THROTTLED

    after_import = peak_mb()
    seconds: list[float] = []
    cpu: list[float] = []
    async with WorkspaceClient() as client:  # HUAWEICLOUD_SDK_*, POOLDRIFT_* from the environment
        start_up = time.perf_counter() - loading  # imports (aiohttp's with the client) and the client
        for _ in range(1 + repeat):  # the first one opens the connections: cold
            started, cpu_started = time.perf_counter(), time.process_time()
            scan = await scan_fleet(client)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "start_up": start_up,
        "after_import_mb": after_import,
        "peak_mb": peak_mb(),
        "json_bytes": len(scan.model_dump_json()),
        "pools": len(scan.pools),
        "failures": len(scan.failures),
        "failure_outcomes": sorted({f.outcome for f in scan.failures}),
        "throttled_seen": sum(
            s.value for m in UPSTREAM_THROTTLED.collect() for s in m.samples if s.name.endswith("_total")
        ),
    }


async def _floor(repeat: int) -> dict[str, Any]:
    import httpx2

    from pooldrift.signing import AKSKAuth
    from pooldrift.transport import AiohttpTransport

    after_import = peak_mb()
    base = f"{os.environ['POOLDRIFT_ENDPOINT']}/v2/{os.environ['HUAWEICLOUD_SDK_PROJECT_ID']}/desktop-pools"
    limits = httpx2.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    auth = AKSKAuth(os.environ["HUAWEICLOUD_SDK_AK"], os.environ["HUAWEICLOUD_SDK_SK"])
    seconds: list[float] = []
    cpu: list[float] = []
    async with httpx2.AsyncClient(auth=auth, transport=AiohttpTransport(limits=limits), timeout=60) as http:
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def statics(pool_id: str) -> Any:
            async with gate:
                return (await http.get(f"{base}/{pool_id}/inconsistent-statics")).json()

        for _ in range(1 + repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            ids = [p["id"] for p in (await http.get(base)).json()["desktop_pools"]]
            answers = await asyncio.gather(*(statics(i) for i in ids))
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return {"seconds": seconds, "cpu": cpu, "after_import_mb": after_import, "peak_mb": peak_mb(),
            "pools": len(answers), "failures": 0}  # fmt: skip


def _sdk(threads_n: int, repeat: int) -> dict[str, Any]:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkworkspace.v2 import (
        ListDesktopPoolsRequest,
        ListInconsistentStaticsRequest,
        WorkspaceClient,
    )

    after_import = peak_mb()
    config = HttpConfig.get_default_config()
    config.pool_maxsize = IN_FLIGHT  # its default of 10 would throw connections away at 32 threads
    credentials = BasicCredentials(
        os.environ["HUAWEICLOUD_SDK_AK"],
        os.environ["HUAWEICLOUD_SDK_SK"],
        os.environ["HUAWEICLOUD_SDK_PROJECT_ID"],
    )
    client: Any = (
        WorkspaceClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([os.environ["POOLDRIFT_ENDPOINT"]])
        .build()
    )

    def statics(pool_id: str) -> Any:
        return client.list_inconsistent_statics(ListInconsistentStaticsRequest(pool_id=pool_id))

    seconds: list[float] = []
    with ThreadPoolExecutor(threads_n) as threads:
        for _ in range(1 + repeat):
            started = time.perf_counter()
            pools: list[Any] = []
            while True:
                page = client.list_desktop_pools(ListDesktopPoolsRequest(offset=len(pools)))
                pools += page.desktop_pools or []
                if not page.desktop_pools or len(pools) >= (page.total_count or 0):
                    break
            if threads_n == 1:
                answers = [statics(p.id) for p in pools]
            else:
                answers = list(threads.map(statics, [p.id for p in pools]))
            seconds.append(time.perf_counter() - started)
    return {
        "seconds": seconds,
        "after_import_mb": after_import,
        "peak_mb": peak_mb(),
        "pools": len(answers),
        "failures": 0,
    }


def main() -> None:
    fresh()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["pooldrift", "floor", "sdk1", "sdk32"])
    parser.add_argument("--repeat", type=int, default=0, help="warm scans after the cold one")
    args = parser.parse_args()
    if args.kind == "pooldrift":
        result = asyncio.run(_pooldrift(args.repeat))
    elif args.kind == "floor":
        result = asyncio.run(_floor(args.repeat))
    else:
        result = _sdk(1 if args.kind == "sdk1" else IN_FLIGHT, args.repeat)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
