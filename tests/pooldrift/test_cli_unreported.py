"""``pooldrift`` against answers with unreported counts and ``null`` values, and the legacy API
version end to end: known counts shown, unknown ones said to be "not reported", never 0."""

from __future__ import annotations

import json

from pooldrift.emulator import EmulatorServer
from tests.pooldrift.test_cli import run

FOUR = ("product_id", "image_id", "disk_num", "disk_size")


def rows(stdout: str) -> dict[str, list[str]]:
    return {line.split("  ")[0]: line.split() for line in stdout.splitlines() if "  " in line}


def test_check_shows_what_is_known_and_says_what_is_not(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy", nulls=True)
    pool = emulator.data.pool_named("sales-win11")
    expected = emulator.data.statics(pool.id)
    done = run(emulator_env, "check", "sales-win11", "--fail-on-drift")
    assert done.returncode == 3, done.stderr  # the known counts show drift
    table = rows(done.stdout)
    assert table["Package (product)"][-2:] == [str(expected["product_id"]), "drifted"]
    assert table["Image"][-2:] == [str(expected["image_id"]), "drifted"]
    assert table["Data-disk count"][-3:] == ["-", "not", "reported"]
    assert table["Disk capacity"][-3:] == ["-", "not", "reported"]
    assert "has drifted" in done.stdout
    assert "Data-disk count and disk capacity: not reported by the API." in done.stdout

    data = json.loads(run(emulator_env, "check", "sales-win11", "--json").stdout)
    assert [data[k] for k in FOUR] == [expected["product_id"], expected["image_id"], None, None]
    assert data["unreported_kinds"] == ["DISK_NUM", "DISK_SIZE"]
    assert (data["consistent"], data["drifted"]) == (False, True)


def test_unknown_is_neither_consistent_nor_drift(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    emulator.shape.update(api_version="legacy")
    done = run(emulator_env, "check", "callcenter-win10", "--fail-on-drift")  # its drift is in disks
    assert done.returncode == 0, done.stderr
    assert "is consistent" not in done.stdout
    assert "not known to be consistent" in done.stdout

    scan = run(emulator_env, "scan")
    assert scan.returncode == 0, scan.stderr
    line = rows(scan.stdout)["callcenter-win10"]
    assert line[2:6] == ["0", "0", "?", "?"] and "unknown" in line
    assert "?: not reported by the API" in scan.stdout
    entries = json.loads(run(emulator_env, "scan", "--json").stdout)["pools"]
    assert all(e["report"]["disk_num"] is None and e["report"]["consistent"] is False for e in entries)


def test_desktops_on_the_legacy_version(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    emulator.shape.update(api_version="legacy", nulls=True)
    pool = emulator.data.pool_named("sales-win11")
    done = run(emulator_env, "desktops", "sales-win11", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    wanted = {d.desktop_id for k in ("PRODUCT_ID", "IMAGE_ID") for d in emulator.data.drifted(pool.id, k)}
    assert {d["desktop_id"] for d in data["desktops"]} == wanted
    assert data["unavailable_kinds"] == ["DISK_NUM", "DISK_SIZE"]
    table = run(emulator_env, "desktops", "sales-win11")
    assert "Which desktops differ in data-disk count, disk capacity: not reported" in table.stdout
    disks = run(emulator_env, "desktops", "sales-win11", "--type", "disk_size")
    assert disks.returncode == 0
    assert "how many in all: not reported" in disks.stdout
    assert "Which desktops differ in disk capacity: not reported" in disks.stdout


def test_all_desktops_show_disk_drift(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    # a desktop reports only package and image drift itself; --all must not show disk drift as in line
    pool = emulator.data.pool_named("callcenter-win10")
    data = json.loads(run(emulator_env, "desktops", "callcenter-win10", "--all", "--json").stdout)
    assert len(data["desktops"]) == len(emulator.data.desktops_of(pool.id))
    disk = {d["desktop_id"] for d in data["desktops"] if "DISK_NUM" in d["inconsistent_types"]}
    assert disk == {d.desktop_id for d in emulator.data.drifted(pool.id, "DISK_NUM")} != set()
    table = run(emulator_env, "desktops", "callcenter-win10", "--all")
    assert table.stdout.count("Data-disk count") == len(disk)
