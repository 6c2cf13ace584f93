"""The emulator's request log (issue 21, defect 10): an emulator in its own process takes three
rounds of 20,000 unsigned requests (each one refused and logged); its RSS after each round, with
the log bounded as shipped (a ring of the last 10,000) and unbounded (a limit of 10^9, as every
log was before the ring). A test double that runs for days must level off. Prints a table;
always exits 0.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx2  # noqa: E402
from _common import announced, clean_env, load_average, section, table, verdict  # noqa: E402

ROUNDS = 3
REQUESTS = 20_000
UNBOUNDED = 10**9
TARGET_MB = 20.0  # what rounds 2 and 3 together may add with the ring

CHILD = """
import sys, time
from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.config import EmulatorConfig
with EmulatorServer(EmulatorConfig(request_log_limit=int(sys.argv[1]))) as server:
    print(f"pooldrift emulator listening on {server.base_url}", flush=True)
    while True:
        time.sleep(3600)
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rounds(limit: int) -> list[float]:
    """The emulator's RSS at the start and after each round of unsigned requests."""
    argv = [sys.executable, "-c", CHILD, str(limit)]
    with announced(argv, clean_env()) as (proc, url), httpx2.Client(base_url=url, timeout=30) as http:
        time.sleep(0.5)  # settled after start-up
        seen = [rss_mb(proc.pid)]
        for _ in range(ROUNDS):
            for number in range(REQUESTS):
                answer = http.get(f"/v2/{number:032x}/desktop-pools", params={"limit": "100"})
                if answer.status_code != 401:
                    raise RuntimeError(f"an unsigned request was answered {answer.status_code}")
            seen.append(rss_mb(proc.pid))
        log = http.get("/_emulator/requests").json()
        print(f"  limit {limit:,}: {len(log['requests']):,} kept, {log['dropped']:,} dropped")
    return seen


def main() -> None:
    print(f"{load_average()}\n")
    results = {}
    for label, limit in (("ring of 10,000 (after)", 10_000), ("unbounded (before)", UNBOUNDED)):
        with section():
            results[label] = rounds(limit)
    rows = []
    for label, seen in results.items():
        growth = [later - earlier for earlier, later in itertools.pairwise(seen)]
        rows.append([label, f"{seen[0]:.0f}", *(f"+{g:.1f}" for g in growth), f"{seen[-1]:.0f}"])
    table(
        ["request log", "RSS at start MB", *(f"round {i + 1} MB" for i in range(ROUNDS)), "RSS at end MB"],
        rows,
    )
    after = results["ring of 10,000 (after)"]
    later = after[-1] - after[1]
    before = results["unbounded (before)"]
    print(f"\n  rounds 2 and 3 add {later:.1f} MB with the ring against {before[-1] - before[1]:.1f} MB "
          f"unbounded; under {TARGET_MB:g} MB: {verdict(later < TARGET_MB)}")  # fmt: skip


if __name__ == "__main__":
    main()
