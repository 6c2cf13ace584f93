"""Kept-alive connections against a server's keep-alive timeout (issue: a 5 s watch retried as
"unreachable" about one cycle in four, 0.8–0.9 s each).

The emulator as ``pooldrift emulator`` runs it (uvicorn: 5 s keep-alive); clients each make a
request, then requests spaced 4.99–5.01 s apart, so every reuse lands at the server's timeout.
For the client's old keep-alive (5 s, httpx2's default) and the new one (``KEEPALIVE_EXPIRY``):
connections sent again at once after the server closed them as they were reused, ``unreachable``
attempts and retries, calls slower than 0.1 s, the slowest call. Prints a table; always exits 0.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx2
from prometheus_client import REGISTRY

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the _helpers beside this script

from _common import announced, clean_env, load_average, section, table  # noqa: E402

from pooldrift.client import WorkspaceClient  # noqa: E402
from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY  # noqa: E402
from pooldrift.transport import KEEPALIVE_EXPIRY, AiohttpTransport  # noqa: E402

CLIENTS = 20
ROUNDS = 4
SERVER_KEEPALIVE = 5.0


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counters() -> tuple[float, float, float]:
    return (
        counted("pooldrift_upstream_stale_connections_total"),
        counted("pooldrift_upstream_requests_total", status="unreachable"),
        counted("pooldrift_upstream_retries_total", reason="unreachable"),
    )


async def one_client(expiry: float, spacing: float, pool_id: str) -> list[float]:
    limits = httpx2.Limits(max_connections=4, keepalive_expiry=expiry)
    took = []
    async with WorkspaceClient(transport=AiohttpTransport(limits=limits)) as client:
        await client.get_pool(pool_id)
        for _ in range(ROUNDS):
            await asyncio.sleep(spacing)
            started = time.perf_counter()
            await client.get_pool(pool_id)
            took.append(time.perf_counter() - started)
    return took


async def run(expiry: float, pool_id: str) -> list[str]:
    before = counters()
    spacings = [SERVER_KEEPALIVE - 0.01 + 0.02 * i / (CLIENTS - 1) for i in range(CLIENTS)]
    results = await asyncio.gather(*(one_client(expiry, s, pool_id) for s in spacings))
    stale, unreachable, retries = (a - b for a, b in zip(counters(), before, strict=True))
    took = [t for result in results for t in result]
    slow = sum(1 for t in took if t > 0.1)
    return [
        f"client keep-alive {expiry:g} s",
        str(len(took)),
        f"{stale:.0f}",
        f"{unreachable:.0f}",
        f"{retries:.0f}",
        str(slow),
        f"{max(took) * 1000:.1f}",
    ]


async def main_async(url: str) -> None:
    os.environ.update(
        HUAWEICLOUD_SDK_AK=DEMO_ACCESS_KEY,
        HUAWEICLOUD_SDK_SK=DEMO_SECRET_KEY,
        HUAWEICLOUD_SDK_PROJECT_ID=DEMO_PROJECT_ID,
        POOLDRIFT_ENDPOINT=url,
    )
    async with WorkspaceClient() as probe:
        pool_id = (await probe.list_pools(max_items=1)).pools[0].id
    rows = []
    for expiry in (SERVER_KEEPALIVE, KEEPALIVE_EXPIRY):
        with section():
            rows.append(await run(expiry, pool_id))
    header = ["", "requests", "stale, sent again", "unreachable", "retries", "> 0.1 s", "slowest ms"]
    table(header, rows)


def main() -> int:
    print(f"kept-alive connections at the server's {SERVER_KEEPALIVE:g} s keep-alive; {load_average()}\n")
    argv = [sys.executable, "-m", "pooldrift.emulator", "--port", "0", "--log-level", "warning"]
    with announced(argv, clean_env()) as (_, url):
        asyncio.run(main_async(url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
