"""Endless pages (issue defect 4): a process listing the pools of an emulator whose pages never end
(``pages=endless``, ``total_count`` null). Unbounded (``POOLDRIFT_MAX_POOLS`` at its 1,000,000
maximum, as every listing was before the bound), it grows until stopped at 10 s; at the default
bound (5,000 pools) it answers "more than 5000 pools" at once. Peak RSS and time to the answer of
each, in a fresh process. Prints a table; always exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the _helpers beside this script

from _common import announced, clean_env, load_average, table, verdict  # noqa: E402

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY  # noqa: E402

STOP = 10.0
TARGET_MB = 150.0


def main() -> None:
    print(f"{load_average()}\n")
    argv = [sys.executable, "-m", "pooldrift.emulator", "--port", "0", "--log-level", "warning"]
    with announced(argv, clean_env()) as (_, url):
        request = urllib.request.Request(
            f"{url}/_emulator/shape", data=b'{"pages": "endless"}', method="POST"
        )
        with urllib.request.urlopen(request, timeout=30):  # loopback only
            pass
        rows = []
        results = {}
        for label, bound in (("unbounded (before)", "1000000"), ("default bound (after)", None)):
            env = clean_env(
                HUAWEICLOUD_SDK_AK=DEMO_ACCESS_KEY, HUAWEICLOUD_SDK_SK=DEMO_SECRET_KEY,
                HUAWEICLOUD_SDK_PROJECT_ID=DEMO_PROJECT_ID, POOLDRIFT_ENDPOINT=url,
            )  # fmt: skip
            if bound is not None:
                env["POOLDRIFT_MAX_POOLS"] = bound
            done = subprocess.run(
                [sys.executable, str(HERE / "_endless_child.py"), "--stop", str(STOP)],
                capture_output=True, text=True, env=env, timeout=STOP * 6, check=True,
            )  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results[label] = result
            rows.append([label, f"{result['seconds']:.1f}", f"{result['peak_mb']:.0f}", result["outcome"]])
    table(["listing of endless pages", "seconds", "peak RSS MB", "answer"], rows)
    after = results["default bound (after)"]
    print(f"\n  bounded: peak RSS under {TARGET_MB:g} MB, answer before {STOP:g} s: "
          f"{verdict(after['peak_mb'] < TARGET_MB and after['seconds'] < STOP)}")  # fmt: skip


if __name__ == "__main__":
    main()
