"""An answer too large to hold (issue 21, defect 2): ``pooldrift pools`` against an emulator, in
its own process, answering every pool listing with 300 MiB (the real listing, then spaces),
streamed without a Content-Length and announced with one. With the limit at its default
(``POOLDRIFT_MAX_RESPONSE_BYTES``, 16 MiB) it is refused; raised to 1 GiB, the answer is read
whole, as every answer was before the limit. Peak RSS (the child's rusage, ``os.wait4``) and
seconds of each ``pooldrift pools`` process, and the ratio. Prints a table; always exits 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the _helpers beside this script

from _common import announced, clean_env, load_average, table, verdict  # noqa: E402

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY  # noqa: E402

BIN = Path(sys.executable).parent
HUGE = 300 << 20
RAISED = str(1 << 30)
TARGET_MB = 200.0
STOP = 120.0


def pools(env: dict[str, str]) -> tuple[float, float, str]:
    """``pooldrift pools`` in a fresh process: its seconds, its peak RSS in MiB and what it said."""
    with tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(BIN / "pooldrift"), "pools"], env=env, stdout=subprocess.DEVNULL, stderr=err, text=True
        )
        deadline = started + STOP
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        said = err.read().strip().splitlines()
    if proc.returncode == 0:
        answer = "listed the pools (exit 0)"
    else:
        answer = f"exit {proc.returncode}: " + (said[-1][11:70] + "…" if said else "nothing said")
    return seconds, usage.ru_maxrss / 1024, answer


def main() -> None:
    print(f"{load_average()}\n")
    rows = []
    ratios = []
    met = True
    for framing in ("chunked", "length"):
        argv = [
            sys.executable, "-m", "pooldrift.emulator", "--port", "0", "--log-level", "warning",
            "--huge-rate", "1", "--huge-size", str(HUGE), "--huge-framing", framing,
            "--paths", "desktop-pools$",
        ]  # fmt: skip
        with announced(argv, clean_env()) as (_, url):
            env = clean_env(
                HUAWEICLOUD_SDK_AK=DEMO_ACCESS_KEY, HUAWEICLOUD_SDK_SK=DEMO_SECRET_KEY,
                HUAWEICLOUD_SDK_PROJECT_ID=DEMO_PROJECT_ID, POOLDRIFT_ENDPOINT=url,
                POOLDRIFT_READ_TIMEOUT="60", POOLDRIFT_DEADLINE="110",
            )  # fmt: skip
            figures = {}
            for label, limit in (("raised to 1 GiB (before)", RAISED), ("default 16 MiB (after)", None)):
                run_env = dict(env)
                if limit is not None:
                    run_env["POOLDRIFT_MAX_RESPONSE_BYTES"] = limit
                seconds, peak, answer = pools(run_env)
                figures[label] = peak
                rows.append([f"{framing}, {label}", f"{seconds:.1f}", f"{peak:.0f}", answer])
            before, after = figures["raised to 1 GiB (before)"], figures["default 16 MiB (after)"]
            ratios.append(f"{framing} {before / after:.1f}×")
            met = met and after < TARGET_MB
    table(["pooldrift pools, 300 MiB answer", "seconds", "peak RSS MiB", "answer"], rows)
    print(f"\n  peak RSS, read whole / refused: {', '.join(ratios)}")
    print(f"  bounded: peak RSS under {TARGET_MB:g} MiB with the default limit: {verdict(met)}")


if __name__ == "__main__":
    main()
