"""``pooldrift fix plan`` as a user runs it, against the emulator: the plan as tables and as JSON,
the emulator's drift desktop by desktop, nothing sent but reads, bad input refused before any
request with exit 2, a bad policy variable named with exit 1."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.records import drift_of
from pooldrift.fix.plan import FixPlan
from tests.pooldrift.test_cli import POOLDRIFT, run


def test_fix_plan_prints_the_plan_and_sends_only_reads(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    drifted = [d for d in emulator.data.desktops_of(pool.id) if drift_of(d, pool)]
    done = run(emulator_env, "fix", "plan", "sales-win11")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Plan fp_") and f"for pool sales-win11 ({pool.id})" in lines[0]
    assert f"of {len(drifted)} drifted" in done.stdout and "Left for a person:" in done.stdout
    assert (
        "BatchRebuildDesktopsSystemDisk POST" in done.stdout
        and "This is a plan: nothing was changed." in lines
    )
    assert lines[-1].startswith("Apply it: pooldrift fix apply fp_")
    for desktop in drifted:
        assert desktop.computer_name in done.stdout
    assert {r.method for r in emulator.requests} == {"GET"}, "a plan sends no write"
    assert emulator.secret_key not in done.stdout + done.stderr


def test_fix_plan_json_is_the_plan_of_one_kind(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    pool = emulator.data.pool_named("sales-win11")
    image = {d.desktop_id for d in emulator.data.desktops_of(pool.id) if "IMAGE_ID" in drift_of(d, pool)}
    done = run(emulator_env, "fix", "plan", pool.id, "--kind", "image_id", "--json")
    assert done.returncode == 0, done.stderr
    found = FixPlan.model_validate(json.loads(done.stdout))
    assert [k.value for k in found.kinds] == ["IMAGE_ID"]
    assert {p.desktop_id for p in found.desktops} == image
    assert {c.kind.value for c in found.calls if c.kind} == {"IMAGE_ID"}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("fix", "plan", "bad\nname"), "pool"),
        (("fix", "plan", "sales-win11", "--kind", "colour"), "invalid choice"),
        (("fix", "plan"), "required"),
        (("fix",), "required"),
    ],
)
def test_bad_arguments_exit_2_before_any_request(
    emulator_env: dict[str, str], emulator: EmulatorServer, args: tuple[str, ...], said: str
) -> None:
    done = run(emulator_env, *args)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
    assert len(emulator.requests) == 0


def test_a_bad_policy_variable_is_named_and_nothing_is_asked(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    done = run({**emulator_env, "POOLDRIFT_FIX_DELAY": "60"}, "fix", "plan", "sales-win11")
    assert done.returncode == 1 and "POOLDRIFT_FIX_DELAY" in done.stderr and "Traceback" not in done.stderr
    assert len(emulator.requests) == 0


@pytest.fixture
def fix_env(emulator_env: dict[str, str], emulator: EmulatorServer, tmp_path: Path) -> dict[str, str]:
    emulator.jobs.update(seconds=0.2)
    return {
        **emulator_env,
        "POOLDRIFT_STATE": str(tmp_path / "state.db"),
        "POOLDRIFT_FIX_MAX_DESKTOPS": "1000",
    }


def planned_id(env: dict[str, str], *args: str) -> str:
    done = run(env, "fix", "plan", *args)
    assert done.returncode == 0, done.stderr
    found = re.search(r"^Apply it: pooldrift fix apply (fp_[0-9a-f]{16})$", done.stdout, re.M)
    assert found, done.stdout[-300:]
    return found.group(1)


def writes(emulator: EmulatorServer) -> list[str]:
    return sorted(w.path for w in emulator.writes.snapshot())


def test_fix_apply_by_plan_id_applies_once_and_a_second_run_sends_nothing(
    fix_env: dict[str, str], emulator: EmulatorServer
) -> None:
    plan_id = planned_id(fix_env, "sales-win11", "--kind", "image_id")
    assert writes(emulator) == [], "planning sends no write"
    done = run(fix_env, "fix", "apply", plan_id, "--yes", "--follow", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Fix {plan_id} of sales-win11: done: image 7 → 1 (1 manual)." in done.stdout
    sent = writes(emulator)
    assert len(sent) == 1 and sent[0].endswith("/desktops/rebuild")
    again = run(fix_env, "fix", "apply", plan_id, "--yes", "--follow", "30")
    assert again.returncode == 0 and "(earlier run)" in again.stdout
    assert writes(emulator) == sent, "the second run sent nothing"
    status = run(fix_env, "fix", "status", plan_id)
    assert status.returncode == 0 and "submitted" in status.stdout and "SUCCESS" in status.stdout
    listed = run(fix_env, "fix", "list")
    assert listed.returncode == 0 and plan_id in listed.stdout and "sales-win11" in listed.stdout
    assert emulator.secret_key not in done.stdout + done.stderr + again.stdout + status.stdout


def test_fix_apply_asks_for_the_pools_name_typed_back(
    fix_env: dict[str, str], emulator: EmulatorServer
) -> None:
    refused = subprocess.run(
        [POOLDRIFT, "fix", "apply", "sales-win11", "--kind", "product_id"],
        input="sales-win10\n", env={**os.environ, **fix_env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "nothing was sent" in refused.stderr, refused.stderr
    assert "Type the pool's name (sales-win11)" in refused.stderr and writes(emulator) == []
    typed = subprocess.run(
        [POOLDRIFT, "fix", "apply", "sales-win11", "--kind", "product_id", "--follow", "30"],
        input="sales-win11\n", env={**os.environ, **fix_env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert [p.rsplit("/", 2)[-2:] for p in writes(emulator)] == [["desktops", "resize"]]


def test_a_run_killed_while_its_write_is_under_way_is_never_sent_again(
    fix_env: dict[str, str], emulator: EmulatorServer
) -> None:
    """SIGKILL after the write was sent and before its job id was recorded: the step stays
    claimed; the next run finds its job among the vendor's and follows it, never sending it again."""
    plan_id = planned_id(fix_env, "sales-win11", "--kind", "image_id")
    emulator.faults.update(write_fail_next=["timeout_after_apply"], write_delay=30.0)
    env = {**fix_env, "POOLDRIFT_DEADLINE": "60", "POOLDRIFT_READ_TIMEOUT": "60"}
    proc = subprocess.Popen(
        [POOLDRIFT, "fix", "apply", plan_id, "--yes"], env={**os.environ, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not any(w.applied for w in emulator.writes.snapshot()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w.applied for w in emulator.writes.snapshot()] == [True], "the write reached the emulator"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    emulator.faults.update(write_fail_next=[], write_delay=0.0)
    again = run({**fix_env, "POOLDRIFT_DEADLINE": "1"}, "fix", "apply", plan_id, "--yes", "--follow", "30")
    (record,) = emulator.writes.snapshot()
    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        f"its answer was lost; reconciled from the vendor's jobs (submitting): job {record.job_id}"
        in again.stdout
    )
    assert "done: image 7 → 1 (1 manual)" in again.stdout


def test_two_processes_applying_one_plan_at_once_send_each_write_once(
    fix_env: dict[str, str], emulator: EmulatorServer
) -> None:
    plan_id = planned_id(fix_env, "sales-win11", "--kind", "image_id", "--kind", "product_id")
    argv = [POOLDRIFT, "fix", "apply", plan_id, "--yes", "--follow", "30"]
    both = [
        subprocess.Popen(
            argv, env={**os.environ, **fix_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=90) for proc in both]
    assert all(proc.returncode in (0, 4) for proc in both), results
    sent = writes(emulator)
    assert len(sent) == 2 and len(set(sent)) == 2, f"each write once, not {sent}"
    assert sum(out.count("(earlier run)") for out, _ in results) == 2, "the other process followed them"


def test_ctrl_c_while_following_leaves_the_jobs_running_and_says_how_to_follow_them(
    fix_env: dict[str, str], emulator: EmulatorServer
) -> None:
    plan_id = planned_id(fix_env, "sales-win11", "--kind", "image_id")
    emulator.faults.update(write_fail_next=["endless_job"])
    proc = subprocess.Popen(
        [POOLDRIFT, "fix", "apply", plan_id, "--yes", "--follow", "60"], env={**os.environ, **fix_env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(w.applied for w in emulator.writes.snapshot()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # past the job id's record, into the following
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"stopped following: the jobs go on; `pooldrift fix status {plan_id}` follows them" in err
    assert "Traceback" not in err and len(emulator.writes.snapshot()) == 1
    status = run(fix_env, "fix", "status", plan_id)
    assert status.returncode == 0 and "submitted" in status.stdout and "RUNNING" in status.stdout
