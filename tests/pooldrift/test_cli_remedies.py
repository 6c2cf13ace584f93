"""A 401, 403 or 429 from the API ends the CLI's error with the next step: which variable, which
IAM action, or retry in how long; never a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from tests.helpers import process_env

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (401, "next: check HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK"),
        (403, "next: ask an administrator to grant the IAM action workspace:desktopPools:"),
        (429, "next: retry in "),
    ],
)
def test_a_refused_call_says_the_next_step(emulator: EmulatorServer, status: int, step: str) -> None:
    emulator.faults.update(paths="desktop-pools", error_rate=1.0, error_status=status)
    env = process_env(emulator, POOLDRIFT_DEADLINE="5")
    done = subprocess.run(
        [POOLDRIFT, "pools"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert step in done.stderr.splitlines()[-1]
    assert emulator.secret_key not in done.stderr + done.stdout
