"""The idle replica (issue 16, defect 3): a second ``pooldrift watch`` on the same SQLite file or
Redis waits for the lease while the first leads. Per store, in fresh processes against the
emulator: the waiting replica's share of a core, the Redis commands a minute with the leader
alone and with both, and the time from the leader's SIGKILL to the follower leading. "before"
runs the same with the code of the commit before the fix (exported from git beside this tree and
put first on PYTHONPATH; skipped where there is no git history). Prints a table; always exits 0.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _common import announced, clean_env, load_average, section, table, verdict  # noqa: E402
from redis import Redis  # noqa: E402

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY  # noqa: E402
from tests.helpers import LineReader, running_redis, stop_process  # noqa: E402

INTERVAL = 10.0  # a real interval: the lease lasts 1.5 of it, a follower looks every 2.5 s
WINDOW = 8.0  # how long each cost is measured
BEFORE_FIX = "f02d8ae^"  # the follower fix: its parent spun while it waited
TICKS = os.sysconf("SC_CLK_TCK")
LEADING = "INFO pooldrift.watch: leading the watch"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def commands(redis: Redis | None) -> int:
    if redis is None:
        return 0
    stats = redis.info("commandstats")
    return sum(int(entry["calls"]) for name, entry in stats.items() if name != "cmdstat_info")


@contextmanager
def old_code() -> Iterator[Path | None]:
    """The package as it was before the fix, in a temporary folder (None without git history)."""
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "old.tar"
        made = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "-o", str(archive), BEFORE_FIX, "pooldrift"],
            capture_output=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            yield None
            return
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


class Watch:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "pooldrift"), "watch"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stderr is not None
        self.err = LineReader(self.proc.stderr)

    def leads(self) -> bool:
        return LEADING in self.err.text()


def measure(env: dict[str, str], redis: Redis | None) -> dict[str, float]:
    with ExitStack() as stack:
        first = Watch(env)
        stack.callback(stop_process, first.proc)
        first.err.wait_for(LEADING, timeout=60)
        first.err.wait_for("cycle: ", timeout=60)
        sent, started = commands(redis), time.monotonic()
        time.sleep(WINDOW)
        alone = (commands(redis) - sent) / (time.monotonic() - started) * 60

        second = Watch(env)
        stack.callback(stop_process, second.proc)
        second.err.wait_for("watching ", timeout=60)
        if second.leads():
            raise RuntimeError("the second replica led while the first did")
        cpu, sent, started = cpu_seconds(second.proc.pid), commands(redis), time.monotonic()
        time.sleep(WINDOW)
        wall = time.monotonic() - started
        share = (cpu_seconds(second.proc.pid) - cpu) / wall
        both = (commands(redis) - sent) / wall * 60

        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        killed = time.monotonic()
        second.err.wait_for(LEADING, timeout=4 * INTERVAL)
        return {"share": share, "alone": alone, "both": both, "takeover": time.monotonic() - killed}


def main() -> None:
    print(f"{load_average()}\n")
    binary = shutil.which("redis-server")
    argv = [sys.executable, "-m", "pooldrift.emulator", "--port", "0", "--log-level", "warning"]
    rows: list[list[str]] = []
    after: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        _, url = stack.enter_context(announced(argv, clean_env()))
        redis_url = stack.enter_context(running_redis(binary)) if binary else None
        old = stack.enter_context(old_code())
        codes = [("after", None), *([("before", old)] if old is not None else [])]
        for code, path in codes:
            for store in ("sqlite", "redis"):
                if store == "redis" and redis_url is None:
                    rows.append([f"{store}, {code}", "no redis-server", "", "", "", ""])
                    continue
                folder = stack.enter_context(tempfile.TemporaryDirectory())
                env = clean_env(
                    HUAWEICLOUD_SDK_AK=DEMO_ACCESS_KEY, HUAWEICLOUD_SDK_SK=DEMO_SECRET_KEY,
                    HUAWEICLOUD_SDK_PROJECT_ID=DEMO_PROJECT_ID, POOLDRIFT_ENDPOINT=url,
                    POOLDRIFT_WATCH_INTERVAL=f"{INTERVAL:g}", POOLDRIFT_STATE=str(Path(folder) / "state.db"),
                )  # fmt: skip
                if path is not None:
                    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH")) if p)
                redis = None
                if store == "redis":
                    assert redis_url is not None
                    env["POOLDRIFT_REDIS_URL"] = redis_url
                    redis = stack.enter_context(Redis.from_url(redis_url))
                    redis.flushdb()
                with section():
                    print(f"  {store}, {code} the fix ...")
                    got = measure(env, redis)
                if code == "after":
                    after[store] = got
                per_minute = store == "redis"
                rows.append(
                    [
                        f"{store}, {code}",
                        f"{got['share']:.2%}",
                        f"{got['alone']:,.0f}" if per_minute else "-",
                        f"{got['both']:,.0f}" if per_minute else "-",
                        f"{got['takeover']:.1f}",
                        f"{got['takeover'] / INTERVAL:.2f}",
                    ]
                )
    table(
        ["store, code", "follower CPU (of a core)", "Redis cmds/min, leader alone", "with follower",
         "takeover s", "intervals"],
        rows,
    )  # fmt: skip
    met = all(r["share"] < 0.05 and r["takeover"] <= 2 * INTERVAL for r in after.values())
    if "redis" in after:
        met = met and after["redis"]["both"] - after["redis"]["alone"] < 600  # ~10 a second at most
    print(f"\n  follower under 5 % of a core, under 10 Redis commands a second, takeover within two "
          f"intervals ({2 * INTERVAL:g} s): {verdict(met)}")  # fmt: skip


if __name__ == "__main__":
    main()
