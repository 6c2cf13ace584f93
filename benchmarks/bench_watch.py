"""Watch benchmark of issue 11: one watch cycle over 1,000 pools (the emulator's generated fleet in
its own process, at 50 ms per request; 32 in flight) with SQLite and with Redis state — wall time against the
ideal, CPU seconds and peak RSS of the watching process — and the alert latency from a change
to the Slack post, against interval + cycle time. Prints tables with ratios; always exits 0.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
from _common import announced, clean_env, load_average, section, table, verdict  # noqa: E402

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY  # noqa: E402
from pooldrift.watch.state import SqliteStore  # noqa: E402
from tests.helpers import running_redis  # noqa: E402
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi  # noqa: E402

POOLS = 1000
LATENCY_S = 0.05
IN_FLIGHT = 32
IDEAL_S = math.ceil(POOLS / IN_FLIGHT) * LATENCY_S
INTERVAL_S = 5.0
CHANGES = 6  # alert-latency samples, each at a random moment of the interval
CHANNEL = "C0BENCH01"
CYCLE_LINE = re.compile(r"cycle: .*?, ([\d.]+) s \(([\d.]+) s CPU\)")


async def _in_line(state: Path) -> list[str]:
    """Pools the watch saw fully in line (from its own state file, read-only)."""
    async with SqliteStore(state, readonly=True) as store:
        states = await store.load()
    return sorted(k for k, v in states.items() if v.scope == "pool" and set(v.counts.values()) == {0})


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A redis-server for the Redis rows, or None (those rows say so) where there is none."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with running_redis(binary) as url:
        yield url


def once(env: dict[str, str]) -> dict[str, float]:
    """``pooldrift watch --once`` in a fresh process: its cycle's figures and its own rusage."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "pooldrift"), "watch", "--once"], env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stderr is not None
    log = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    found = CYCLE_LINE.search(log)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"pooldrift watch --once failed ({proc.returncode}):\n{log}")
    return {
        "cycle": float(found.group(1)),
        "cycle_cpu": float(found.group(2)),
        "process": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
    }


def cycles(env: dict[str, str], slack: SlackWebApi, name: str) -> list[list[str]]:
    rows = []
    for run in ("first: 1,000 new pools, alerts", "steady: nothing changed", "steady again"):
        before = len(slack.top())
        got = once(env)
        posted = len(slack.top()) - before
        rows.append(
            [
                f"{name}, {run}",
                f"{got['cycle']:.2f}",
                f"{got['cycle'] / IDEAL_S:.2f}x",
                f"{got['cycle_cpu']:.2f}",
                f"{got['process']:.2f}",
                f"{got['cpu']:.2f}",
                f"{got['rss']:.1f}",
                str(posted),
            ]
        )
    return rows


def alert_latency(env: dict[str, str], slack: SlackWebApi, emulator_url: str, in_line: list[str]) -> None:
    proc = subprocess.Popen(
        [str(BIN / "pooldrift"), "watch"],
        env=env | {"POOLDRIFT_WATCH_INTERVAL": f"{INTERVAL_S:g}", "POOLDRIFT_TEST_INTERVAL_FLOOR": "1"},
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    cycle_times: list[float] = []
    seen = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            found = CYCLE_LINE.search(line)
            if found:
                cycle_times.append(float(found.group(1)))
                seen.set()

    threading.Thread(target=pump, daemon=True).start()
    latencies = []
    rng = random.Random(11)
    try:
        if not seen.wait(60):
            raise RuntimeError("the watch did not finish a cycle")
        with httpx2.Client(base_url=f"{emulator_url}/_emulator", timeout=30) as control:
            for pool_id in in_line[:CHANGES]:
                time.sleep(rng.uniform(0, INTERVAL_S))
                changed = time.monotonic()
                control.post(
                    f"/pools/{pool_id}/drift", json={"kind": "disk_size", "count": 1}
                ).raise_for_status()
                while not any(
                    (m.metadata or {}).get("event_payload", {}).get("pool_id") == pool_id for m in slack.top()
                ):
                    if time.monotonic() - changed > 4 * INTERVAL_S + 60:
                        raise RuntimeError("no alert for a change")
                    time.sleep(0.005)
                latencies.append(time.monotonic() - changed)
    finally:
        proc.terminate()
        proc.wait(20)
    cycle = statistics.median(cycle_times)
    bound = INTERVAL_S + max(cycle_times)
    print(
        f"Alert latency: {CHANGES} changes at random moments, pooldrift watch every {INTERVAL_S:g} s "
        f"over {POOLS} pools (cycle median {cycle:.2f} s)"
    )
    median = statistics.median(latencies)
    table(
        ["", "seconds", "/ (interval + cycle)"],
        [
            ["median, change to Slack post", f"{median:.2f}", f"{median / bound:.2f}x"],
            ["max", f"{max(latencies):.2f}", f"{max(latencies) / bound:.2f}x"],
            ["bound: interval + longest cycle", f"{bound:.2f}", "1.00x"],
        ],
    )
    print(f"   every alert within interval + cycle: {verdict(max(latencies) <= bound)}")


def main() -> None:
    print(f"Python {sys.version.split()[0]}; emulator, watch and redis-server each in their own process")
    print(f"before: {load_average()}\n")
    emulator_args = [str(BIN / "pooldrift"), "emulator", "--port", "0", "--log-level", "warning"]
    emulator_args += ["--latency", f"{LATENCY_S:g}", "--pools", str(POOLS), "--desktops-per-pool", "5"]
    with (
        announced(emulator_args, clean_env(), cwd=ROOT) as (_, emulator_url),
        SlackWebApi() as slack,
        tempfile.TemporaryDirectory() as scratch,
        redis_server() as redis_url,
    ):
        base = clean_env(
            HUAWEICLOUD_SDK_AK=DEMO_ACCESS_KEY,
            HUAWEICLOUD_SDK_SK=DEMO_SECRET_KEY,
            POOLDRIFT_ENDPOINT=emulator_url,
            POOLDRIFT_MAX_IN_FLIGHT=str(IN_FLIGHT),
            POOLDRIFT_WATCH_CHANNEL=CHANNEL,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_API_URL=slack.api_url,
            POOLDRIFT_STATE=str(Path(scratch) / "state.db"),
        )
        with section():
            ms = LATENCY_S * 1000
            print(
                f"One watch cycle over {POOLS} pools: emulator at {ms:g} ms per request, {IN_FLIGHT} in "
                f"flight; ideal ceil({POOLS}/{IN_FLIGHT}) x {ms:g} ms = {IDEAL_S:.2f} s"
            )
            rows = cycles(base, slack, "SQLite")
            if redis_url is None:
                print("   Redis: skipped (no redis-server on this machine)")
            else:
                slack.reset()
                rows += cycles(base | {"POOLDRIFT_REDIS_URL": redis_url}, slack, "Redis")
            head = ["state, run", "cycle s", "/ ideal", "cycle CPU s", "process s", "process CPU s"]
            table([*head, "peak RSS MiB", "posts"], rows)
            print("   cycle: scan, diff and one write of the states, history and alerts (the logged figure);")
            print(
                "   process: the whole `pooldrift watch --once`, start-up, imports and Slack posts included"
            )
        in_line = asyncio.run(_in_line(Path(scratch) / "state.db"))
        with section():
            alert_latency(base, slack, emulator_url, in_line)
    print(f"after: {load_average()}")


if __name__ == "__main__":
    main()
