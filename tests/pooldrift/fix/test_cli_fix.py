"""``pooldrift fix plan`` as a user runs it, against the emulator: the plan as tables and as JSON,
the emulator's drift desktop by desktop, nothing sent but reads, bad input refused before any
request with exit 2, a bad policy variable named with exit 1."""

from __future__ import annotations

import json

import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.records import drift_of
from pooldrift.fix.plan import FixPlan
from tests.pooldrift.test_cli import run


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
        and lines[-1] == "This is a plan: nothing was changed."
    )
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
