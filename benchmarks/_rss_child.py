"""A fresh process that makes N calls (32 in flight; sdk1: one at a time) and reports its peak RSS.

Run by bench_client.py once per client, so no client's imports or buffers inflate another's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from _child import fresh, peak_mb


async def _async_calls(kind: str, base_url: str, calls: int) -> float:
    from _contenders import IN_FLIGHT, pool_ids, pooldrift_call

    ids = pool_ids(calls)
    async with pooldrift_call(base_url, kind) as call:
        started = time.perf_counter()
        cursor = iter(ids)

        async def worker() -> None:
            for pool_id in cursor:  # workers share one iterator: no 10,000 tasks at once
                await call(pool_id)

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return time.perf_counter() - started


def _sdk_calls(base_url: str, calls: int, threads_n: int) -> float:
    from _contenders import pool_ids, sdk_call

    with sdk_call(base_url) as call, ThreadPoolExecutor(threads_n) as threads:
        started = time.perf_counter()
        for _ in threads.map(call, pool_ids(calls)):
            pass
        return time.perf_counter() - started


def main() -> None:
    fresh()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["httpx2", "aiohttp", "sdk", "sdk1"])
    parser.add_argument("base_url")
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    if args.kind.startswith("sdk"):
        import huaweicloudsdkworkspace.v2  # noqa: F401 - count the imports in the "after import" figure
    else:
        import pooldrift.client  # noqa: F401

        if args.kind == "aiohttp":
            import aiohttp  # noqa: F401 - imported on the first request otherwise
    after_import = peak_mb()
    if args.kind.startswith("sdk"):
        seconds = _sdk_calls(args.base_url, args.calls, 1 if args.kind == "sdk1" else 32)
    else:
        seconds = asyncio.run(_async_calls(args.kind, args.base_url, args.calls))
    json.dump(
        {"after_import_mb": after_import, "peak_mb": peak_mb(), "seconds": seconds, "calls": args.calls},
        sys.stdout,
    )
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
