"""A 401, 403 or 429 from the API ends the CLI's error with the next step: which variable, which
IAM action (the one of the call refused), or retry in how long; never a secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.errors import (
    LIST_DESKTOPS_ACTION,
    LIST_POOLS_ACTION,
    PROJECT_LOOKUP_ACTION,
    SHOW_POOL_ACTION,
    STATISTICS_ACTION,
)
from tests.helpers import process_env

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")


def run(emulator: EmulatorServer, *argv: str) -> subprocess.CompletedProcess[str]:
    env = process_env(emulator, POOLDRIFT_DEADLINE="5")
    return subprocess.run(
        [POOLDRIFT, *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )


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
    done = run(emulator, "pools")
    assert done.returncode == 1, done.stderr
    assert step in done.stderr.splitlines()[-1]
    assert emulator.secret_key not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("refused", "command", "action"),
    [
        ("inconsistent-statics", ["check", "hr-win10"], STATISTICS_ACTION),
        (r"desktop-pools$", ["pools"], LIST_POOLS_ACTION),
        (r"desktop-pools$", ["check", "hr-win10"], LIST_POOLS_ACTION),
        (r"desktop-pools/[^/]+$", ["check", "{id}"], SHOW_POOL_ACTION),
        ("/desktops$", ["desktops", "hr-win10"], LIST_DESKTOPS_ACTION),
        ("/v3/projects$", ["pools"], PROJECT_LOOKUP_ACTION),
    ],
)
def test_a_403_names_the_iam_action_of_the_call_refused(
    emulator: EmulatorServer, refused: str, command: list[str], action: str
) -> None:
    pool = emulator.data.pool_named("hr-win10")
    emulator.faults.update(paths=refused, error_rate=1.0, error_status=403)
    done = run(emulator, *(arg.format(id=pool.id) for arg in command))
    assert done.returncode == 1, done.stderr
    last = done.stderr.splitlines()[-1]
    assert f"grant the IAM action {action} to" in last, done.stderr
