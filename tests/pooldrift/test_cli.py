"""The ``pooldrift`` command as a user runs it: a subprocess talking to the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.generate import FleetSpec
from tests.helpers import kept_demo

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")


def run(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POOLDRIFT, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_check_table(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("sales-win11")
    expected = emulator.data.statics(pool.id)
    done = run(emulator_env, "check", "sales-win11")
    assert done.returncode == 0, done.stderr
    assert f"sales-win11 ({pool.id})" in done.stdout
    lines = {line.split("  ")[0]: line.split() for line in done.stdout.splitlines()}
    assert lines["Package (product)"][-2] == str(expected["product_id"])
    assert lines["Image"][-2] == str(expected["image_id"])
    assert lines["Data-disk count"][-2] == str(expected["disk_num"])
    assert lines["Disk capacity"][-2] == str(expected["disk_size"])
    assert "has drifted" in done.stdout


def test_check_json_and_fail_on_drift(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("dev-ubuntu22")
    done = run(emulator_env, "check", pool.id, "--json", "--fail-on-drift")
    assert done.returncode == 3
    data = json.loads(done.stdout)
    assert {k: data[k] for k in ("product_id", "image_id", "disk_num", "disk_size")} == emulator.data.statics(
        pool.id
    )
    assert data["pool_name"] == "dev-ubuntu22" and data["consistent"] is False
    consistent = run(emulator_env, "check", "finance-win11", "--fail-on-drift")
    assert consistent.returncode == 0 and "is consistent" in consistent.stdout


def test_pools_scan_desktops(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    pools = json.loads(run(emulator_env, "pools", "--json").stdout)
    assert pools["total_count"] == len(emulator.data.pools)
    assert {p["name"] for p in pools["pools"]} == {p.name for p in emulator.data.pools}

    scan = run(emulator_env, "scan", "--json")
    assert scan.returncode == 0, scan.stderr
    found = json.loads(scan.stdout)
    entries = found["pools"]
    assert len(entries) == len(emulator.data.pools) == found["totals"]["pools"]
    assert found["failures"] == []
    for entry in entries:
        got = {k: entry["report"][k] for k in ("product_id", "image_id", "disk_num", "disk_size")}
        assert got == emulator.data.statics(entry["pool_id"])
    assert run(emulator_env, "scan", "--fail-on-drift").returncode == 3

    pool = emulator.data.pool_named("callcenter-win10")
    desktops = json.loads(run(emulator_env, "desktops", "callcenter-win10", "--json").stdout)
    expected = {d.desktop_id for d in emulator.data.desktops_of(pool.id)} & {
        d.desktop_id for kind in ("PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE")
        for d in emulator.data.drifted(pool.id, kind)
    }  # fmt: skip
    assert {d["desktop_id"] for d in desktops["desktops"]} == expected
    table = run(emulator_env, "desktops", "callcenter-win10", "--type", "disk_num")
    assert table.returncode == 0 and "Data-disk count" in table.stdout


def test_scan_of_every_project_lists_each_failure_beside_the_pools(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    """A project that cannot be listed and a pool that cannot be read are one line each (where,
    outcome, the API's message, its request id once); every other pool is in the table; exit 1."""
    emulator.data.generate(FleetSpec(pools=3, desktops_per_pool=4, projects=2, seed=3))
    home, other = emulator.data.projects
    broken = emulator.data.pools_of(other.id)[0]
    listing = f"/v2/{home.id}/desktop-pools"
    emulator.faults.update(
        paths=f"({listing}|{broken.id}/inconsistent-statics)$", error_rate=1.0, error_status=403
    )
    done = run({**emulator_env, "POOLDRIFT_MAX_ATTEMPTS": "1"}, "scan", "--all-projects")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "Pool", "Where", "Desktops", "Package", "Image", "Disk", "count", "Disk", "size", "Status"
    ]  # fmt: skip
    rows = lines[1 : lines.index("")]
    read = emulator.data.pools_of(other.id)[1:]
    assert {row.split()[0]: row.split()[1] for row in rows} == {
        p.name: f"{other.region}/{other.id[:8]}" for p in read
    }
    failed = [line for line in lines if line.startswith("failed: ")]
    assert failed[0].startswith(f"failed: project {home.region}/{home.id[:8]}: permission_denied: HTTP 403")
    assert failed[1].startswith(
        f"failed: pool {broken.name} ({other.region}/{other.id[:8]}): permission_denied: HTTP 403"
    )
    assert len(failed) == 2 and all(line.count("request id") == 1 for line in failed)
    counts = [emulator.data.statics(p.id).values() for p in read]
    drifted = sum(1 for c in counts if any(c))
    assert lines[-1] == (
        f"3 pools in 2 projects: {drifted} drifted, {len(read) - drifted} consistent, 1 failed;"
        f" 1 project failed; at least {sum(max(c) for c in counts)} of {4 * len(read)} desktops drifted"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("check", "../../etc"), 2, "invalid pool reference"),
        (("check", "dev-ubuntu2"), 1, "dev-ubuntu22"),
        (("check", "Lab-A"), 1, "use one of their ids"),
        (("check", "00000000-0000-4000-8000-000000000000"), 1, "HTTP 400 WKS.0001: The desktop pool"),
        (("check", "x", "--region", "mars-1"), 2, "unknown region"),  # a bad argument: exit 2
    ],
)
def test_errors_are_one_line(
    emulator_env: dict[str, str], emulator: EmulatorServer, args: tuple[str, ...], code: int, message: str
) -> None:
    done = run(emulator_env, *args)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert emulator.secret_key not in done.stderr + done.stdout
    if code == 2:
        assert len(emulator.requests) == 0


def test_upstream_failure_exit_code(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    emulator.faults.update(error_rate=1.0, error_status=500)
    done = run({**emulator_env, "POOLDRIFT_MAX_ATTEMPTS": "2"}, "pools")
    assert done.returncode == 1
    assert "HTTP 500" in done.stderr and "request id" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_credentials() -> None:
    done = run({}, "pools")
    assert done.returncode == 1
    assert "HUAWEICLOUD_SDK_AK" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["check", "scan", "pools", "desktops", "demo"])
def test_help(command: str) -> None:
    done = run({}, command, "--help")
    assert done.returncode == 0 and "usage: pooldrift" in done.stdout


def test_emulator_help() -> None:
    done = run({}, "emulator", "--help")
    assert done.returncode == 0 and "--port" in done.stdout


def test_demo_runs_end_to_end() -> None:
    done = run({}, "demo", timeout=120)
    assert done.returncode == 0, done.stderr
    for step in ("pooldrift pools", "pooldrift scan", "pooldrift check", "pooldrift desktops"):
        assert step in done.stdout
    assert "Stopped the emulator" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_demo_last_lines_name_a_next_step_the_user_can_take() -> None:
    done = run({}, "demo", timeout=120)
    tail = done.stdout.rstrip().splitlines()[-3:]
    assert "pooldrift demo --keep" in tail[0], tail
    assert "HUAWEICLOUD_SDK_AK" in "\n".join(tail) and "POOLDRIFT_REGION" in "\n".join(tail)
    assert "Point POOLDRIFT_ENDPOINT elsewhere" not in done.stdout  # the user never set it


def test_demo_keep_prints_exports_that_work_and_stops_cleanly_on_ctrl_c() -> None:
    with kept_demo(POOLDRIFT) as (proc, exports):
        assert set(exports) == {"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "POOLDRIFT_ENDPOINT"}
        assert exports["POOLDRIFT_ENDPOINT"].startswith("http://127.0.0.1:")
        prefixes = ("HUAWEICLOUD_", "POOLDRIFT_", "SLACK_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        pools = subprocess.run(
            [POOLDRIFT, "pools", "--json"], env={**env, **exports}, capture_output=True, text=True, timeout=60
        )
        assert pools.returncode == 0, pools.stderr
        assert json.loads(pools.stdout)["total_count"] > 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_demo_keep_stops_cleanly_on_sigterm() -> None:
    with kept_demo(POOLDRIFT) as (proc, _exports):
        proc.terminate()
        assert proc.wait(30) == 0


def test_demo_json() -> None:
    done = run({}, "demo", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["check"]["consistent"] is False
    assert data["typo_error"].startswith("no pool named")
    assert len(data["scan"]["pools"]) == data["pools"]["total_count"] == data["scan"]["totals"]["pools"]
    assert data["drifted_desktops"]["desktops"][0]["differences"], "expected against actual"
