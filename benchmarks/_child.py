"""What the benchmarks' child processes share: a fresh start and their own peak RSS.

Kept apart from ``_common`` so a child imports nothing beyond what it measures.
"""

from __future__ import annotations

import os
import resource
import sys


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def fresh() -> None:
    """Go on in a forked copy of this still-small process: Linux carries ru_maxrss across
    exec, so a child started by a big parent would report the parent's peak as its own."""
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
