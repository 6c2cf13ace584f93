"""Client benchmarks of issue 2: per-call latency, 500 calls at 32 in flight, peak RSS.

A fast stand-in API runs in its own process (``_upstream.py``) so the client is what is timed;
every figure below comes from this one run. Prints tables with ratios; always exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the _helpers beside this script

from _common import load_average, section, table, verdict  # noqa: E402
from _contenders import (  # noqa: E402
    IN_FLIGHT,
    AsyncCall,
    SyncCall,
    aiohttp_call,
    httpx2_call,
    pool_ids,
    pooldrift_call,
    sdk_call,
    served,
)
from _upstream import upstream  # noqa: E402

LATENCY_WARMUP = 200
LATENCY_ROUNDS = 10  # interleaved, so a noisy second hurts every contender alike
LATENCY_PER_ROUND = 200  # 10 x 200 = 2,000 timed calls each
BURST_CALLS = 500
BURST_DELAY_MS = 20
BURST_REPEATS = 7
RSS_CALLS = 10_000
IDEAL_S = math.ceil(BURST_CALLS / IN_FLIGHT) * BURST_DELAY_MS / 1000

ASYNC_CONTENDERS: dict[str, Callable[[str], contextlib.AbstractAsyncContextManager[AsyncCall]]] = {
    "raw httpx2 GET (unsigned)": lambda url: httpx2_call(url, "httpx2"),
    "raw httpx2 GET, AiohttpTransport": lambda url: httpx2_call(url, "aiohttp"),
    "raw aiohttp GET (unsigned)": aiohttp_call,
    "WorkspaceClient, httpx2 transport": lambda url: pooldrift_call(url, "httpx2"),
    "WorkspaceClient, AiohttpTransport": lambda url: pooldrift_call(url, "aiohttp"),
}
SDK = "vendor SDK (sync, requests)"
RAW = "raw httpx2 GET (unsigned)"
SAME_TRANSPORT = {
    "WorkspaceClient, httpx2 transport": RAW,
    "WorkspaceClient, AiohttpTransport": "raw httpx2 GET, AiohttpTransport",
}


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[dict[str, AsyncCall]]:
    async with contextlib.AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(make(url)) for name, make in ASYNC_CONTENDERS.items()}


# -- 1. per-call latency -------------------------------------------------------------------


async def latency(url: str) -> dict[str, list[float]]:
    ids = pool_ids(LATENCY_WARMUP + LATENCY_ROUNDS * LATENCY_PER_ROUND)
    samples: dict[str, list[float]] = {name: [] for name in [*ASYNC_CONTENDERS, SDK]}
    clock = time.perf_counter
    with sdk_call(url) as sdk:
        async with opened(url) as calls:
            for call in calls.values():
                for pool_id in ids[:LATENCY_WARMUP]:
                    await call(pool_id)
            for pool_id in ids[:LATENCY_WARMUP]:
                sdk(pool_id)
            for r in range(LATENCY_ROUNDS):
                batch = ids[LATENCY_WARMUP + r * LATENCY_PER_ROUND :][:LATENCY_PER_ROUND]
                for name, call in calls.items():
                    for pool_id in batch:
                        started = clock()
                        await call(pool_id)
                        samples[name].append(clock() - started)
                for pool_id in batch:  # the loop is idle meanwhile: a fair sync measurement
                    started = clock()
                    sdk(pool_id)
                    samples[SDK].append(clock() - started)
    return samples


def report_latency(samples: dict[str, list[float]]) -> dict[str, float]:
    median = {name: statistics.median(s) for name, s in samples.items()}
    rows = []
    for name, s in samples.items():
        note = ""
        if name in SAME_TRANSPORT:
            ratio = median[name] / median[RAW]
            own = median[name] / median[SAME_TRANSPORT[name]]
            note = (
                f"≤ 1.2× raw httpx2: {verdict(ratio <= 1.2)}; "
                f"faster than SDK: {verdict(median[name] < median[SDK])}; "
                f"{own:.2f}× a raw GET on the same transport"
            )
        rows.append(
            [
                name,
                f"{median[name] * 1e6:.0f}",
                f"{statistics.fmean(s) * 1e6:.0f}",
                f"{median[name] / median[RAW]:.2f}×",
                f"{median[name] / median[SDK]:.2f}×",
                note,
            ]
        )
    n = len(next(iter(samples.values())))
    print(f"1. Per-call latency, sequential, {n:,} calls each after {LATENCY_WARMUP} warm-up (loopback)")
    table(["client", "median µs", "mean µs", "× raw httpx2", "× SDK", ""], rows)
    return median


# -- 2. 500 calls, 32 in flight, server adding 20 ms ---------------------------------------


async def burst(call: AsyncCall, ids: list[str]) -> float:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(pool_id: str) -> None:
        async with gate:
            await call(pool_id)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in ids))
    return time.perf_counter() - started


def sdk_burst(call: SyncCall, ids: list[str], threads: ThreadPoolExecutor) -> float:
    started = time.perf_counter()
    for _ in threads.map(call, ids):
        pass
    return time.perf_counter() - started


Timings = dict[str, tuple[list[float], list[float]]]


async def concurrency(url: str) -> tuple[Timings, str]:
    """Cold: a new client's first 500 calls (it opens its connections as it goes). Warm: the
    next 500 on the same client, as in a long-lived server process."""
    fresh = iter(pool_ids(2 * BURST_CALLS * BURST_REPEATS * (len(ASYNC_CONTENDERS) + 1)))
    times: Timings = {n: ([], []) for n in [*ASYNC_CONTENDERS, SDK]}
    before = served(url)
    for _ in range(BURST_REPEATS):
        for name, make in ASYNC_CONTENDERS.items():
            async with make(url) as call:
                for timings in times[name]:
                    timings.append(await burst(call, [next(fresh) for _ in range(BURST_CALLS)]))
        with sdk_call(url) as sdk, ThreadPoolExecutor(IN_FLIGHT) as threads:
            for timings in times[SDK]:
                timings.append(sdk_burst(sdk, [next(fresh) for _ in range(BURST_CALLS)], threads))
    expected = 2 * BURST_CALLS * BURST_REPEATS * len(times)
    got = served(url) - before
    return times, f"the stand-in answered {got:,} of {expected:,} calls: none was shared or cached"


def report_concurrency(measured: tuple[Timings, str]) -> None:
    times, check = measured
    rows = []
    for name, (cold, warm) in times.items():
        c, w = statistics.median(cold), statistics.median(warm)
        note = f"≤ 1.3×: cold {verdict(c / IDEAL_S <= 1.3)}, warm {verdict(w / IDEAL_S <= 1.3)}"
        rows.append(
            [
                name,
                f"{c * 1000:.0f}",
                f"{c / IDEAL_S:.2f}×",
                f"{w * 1000:.0f}",
                f"{w / IDEAL_S:.2f}×",
                f"{min(warm) / IDEAL_S:.2f}×",
                note if name in SAME_TRANSPORT else "",
            ]
        )
    print(
        f"2. {BURST_CALLS} calls, {IN_FLIGHT} in flight, server adds {BURST_DELAY_MS} ms; "
        f"ideal ceil({BURST_CALLS}/{IN_FLIGHT}) × {BURST_DELAY_MS} ms = {IDEAL_S * 1000:.0f} ms; "
        f"median of {BURST_REPEATS} (SDK: {IN_FLIGHT} threads)"
    )
    table(["client", "cold ms", "cold/ideal", "warm ms", "warm/ideal", "best warm", ""], rows)
    print(f"   ({check})")


# -- 3. peak RSS ---------------------------------------------------------------------------


def rss(url: str) -> None:
    rows = []
    for kind, name in [
        ("httpx2", "WorkspaceClient, httpx2 transport"),
        ("aiohttp", "WorkspaceClient, AiohttpTransport"),
        ("sdk", "vendor SDK, 32 threads"),
        ("sdk1", "vendor SDK, 1 thread"),
    ]:
        out = subprocess.run(
            [sys.executable, str(HERE / "_rss_child.py"), kind, url, f"--calls={RSS_CALLS}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            rows.append([name, "failed", "", "", out.stderr.strip().splitlines()[-1][:80]])
            continue
        got = json.loads(out.stdout)
        note = f"≤ 60 MB: {verdict(got['peak_mb'] <= 60)}" if not kind.startswith("sdk") else ""
        rows.append(
            [name, f"{got['after_import_mb']:.1f}", f"{got['peak_mb']:.1f}", f"{got['seconds']:.1f}", note]
        )
    print(f"3. Peak RSS (ru_maxrss, MiB), fresh process, {RSS_CALLS:,} calls, {IN_FLIGHT} in flight")
    table(["client", "after imports", "peak", "seconds", ""], rows)


def main() -> None:
    print(f"Python {sys.version.split()[0]}; the stand-in API runs in a separate process on 127.0.0.1")
    print(f"before the run: {load_average()}\n")
    with upstream(0, BURST_DELAY_MS) as up:
        fast, slow = up.urls
        with section():
            report_latency(asyncio.run(latency(fast)))
        with section():
            report_concurrency(asyncio.run(concurrency(slow)))
        with section():
            rss(fast)


if __name__ == "__main__":
    main()
