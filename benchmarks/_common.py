"""What every benchmark script shares: the printed table, verdicts, timed sections, the load
line, a clean environment, and servers started as processes that announce their URL.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path


def table(header: list[str], rows: list[list[str]]) -> None:
    """A left-aligned first column, the others right-aligned, under a dashed rule."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        cells = [c.rjust(w) for c, w in zip(row, widths, strict=True)]
        cells[0] = row[0].ljust(widths[0])
        print("  " + "  ".join(cells).rstrip())
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def verdict(met: bool) -> str:
    return "target met" if met else "target missed"


@contextlib.contextmanager
def section() -> Iterator[None]:
    """Print how long the enclosed part of the run took."""
    started = time.perf_counter()
    yield
    print(f"   ({time.perf_counter() - started:.0f} s)\n")


def load_average() -> str:
    one, five, _ = os.getloadavg()
    busy = " (busy: other work shares these cores, so figures are noisy)" if one > 1.0 else ""
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores{busy}"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without pooldrift's, the SDK's or Slack's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUAWEICLOUD_", "POOLDRIFT_", "SLACK_"))}
    env.update(extra)
    return env


@contextlib.contextmanager
def announced(
    argv: Sequence[str], env: dict[str, str], *, cwd: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a process that prints "listening on URL"; yield it and the URL; stop it after.

    Its output is drained for as long as it runs, so a chatty process never blocks on a pipe.
    """
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert proc.stdout is not None
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.search(r"listening on (http://\S+)", line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(30) or not found:
            raise RuntimeError(f"{argv[0]} did not start")
        yield proc, found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
