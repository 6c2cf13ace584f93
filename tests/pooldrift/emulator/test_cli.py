"""``pooldrift emulator`` as a real process: the ready line, signed answers, flags, clean stops."""

from __future__ import annotations

import signal
import socket

import httpx2
import pytest

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_PROJECT_ID, DEMO_SECRET_KEY
from tests.helpers import signed_client, start_process, stop_process

READY = r"^pooldrift emulator listening on (http://127\.0\.0\.1:\d+)$"


def test_it_prints_one_line_answers_signed_requests_and_stops_on_sigterm() -> None:
    proc, out, err, url = start_process(["-m", "pooldrift.emulator", "--port", "0"], wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as client:
            projects = client.get("/v3/projects", params={"name": "cn-north-4"}).json()["projects"]
            assert [p["id"] for p in projects] == [DEMO_PROJECT_ID]
            pools = client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools").json()
            assert pools["total_count"] == 12
    finally:
        code = stop_process(proc)
    assert code == 0
    assert out.text(2.0).splitlines() == [f"pooldrift emulator listening on {url}"]
    log = err.text(2.0)
    assert "desktop-pools" in log  # one line per request on stderr
    assert DEMO_SECRET_KEY not in log


def test_it_takes_the_key_pair_and_project_from_the_environment() -> None:
    env = {
        "HUAWEICLOUD_SDK_AK": "CUSTOMAK000000000000",
        "HUAWEICLOUD_SDK_SK": "custom-secret-for-this-test",
        "HUAWEICLOUD_SDK_PROJECT_ID": "0123456789abcdef0123456789abcdef",
    }
    proc, _, err, url = start_process(["-m", "pooldrift.emulator", "--port", "0"], env, wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, env["HUAWEICLOUD_SDK_AK"], env["HUAWEICLOUD_SDK_SK"]) as client:
            projects = client.get("/v3/projects", params={"name": "cn-north-4"}).json()["projects"]
            assert projects[0]["id"] == env["HUAWEICLOUD_SDK_PROJECT_ID"]
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as demo:
            assert demo.get("/v3/projects").status_code == 401
    finally:
        assert stop_process(proc) == 0
    assert "custom-secret-for-this-test" not in err.text(2.0)


def test_fault_flags_apply_from_the_start() -> None:
    args = ["-m", "pooldrift.emulator", "--port", "0", "--error-rate", "1", "--error-status", "502"]
    args += ["--paths", "desktop-pools"]
    proc, _, _, url = start_process(args, wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as client:
            assert client.get("/v3/projects").status_code == 200
            assert client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools").status_code == 502
            httpx2.delete(url + "/_emulator/faults")
            assert client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools").status_code == 200
    finally:
        assert stop_process(proc) == 0


def test_write_fault_flags_apply_from_the_start() -> None:
    args = ["-m", "pooldrift.emulator", "--port", "0", "--write-rate-limit-rate", "1", "--job-seconds", "0.5"]
    proc, _, _, url = start_process(args, wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as client:
            body = {"desktop_ids": ["d"], "notifications": "hello"}
            assert client.post(f"/v2/{DEMO_PROJECT_ID}/desktops/notifications", json=body).status_code == 429
            assert client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools").status_code == 200
            assert httpx2.get(url + "/_emulator/jobs").json()["seconds"] == 0.5
            assert httpx2.get(url + "/_emulator/writes").json()["writes"][0]["applied"] is False
    finally:
        assert stop_process(proc) == 0


def test_sigint_stops_it_cleanly() -> None:
    proc, _, err, _ = start_process(["-m", "pooldrift.emulator", "--port", "0"], wait_for=READY)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert "Traceback" not in err.text(2.0)


def test_the_fleet_and_rate_limit_flags_apply_from_the_start() -> None:
    args = ["-m", "pooldrift.emulator", "--port", "0", "--pools", "3", "--projects", "2", "--seed", "4"]
    args += ["--desktops-per-pool", "2", "--rate-limit", "1000"]
    proc, _, err, url = start_process(args, wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as client:
            listed = client.get("/v3/auth/projects").json()["projects"]
            assert [p["name"] for p in listed] == ["MOS", "cn-north-4", "cn-east-3"]
            assert listed[1]["id"] == DEMO_PROJECT_ID
            for project in listed[1:]:
                pools = client.get(f"/v2/{project['id']}/desktop-pools").json()
                assert pools["total_count"] == 3
                assert {p["desktop_count"] for p in pools["desktop_pools"]} == {2}
        assert httpx2.get(url + "/_emulator/rate-limit").json()["requests_per_minute"] == 1000
        fleet = httpx2.get(url + "/_emulator/data").json()["fleet"]
        assert fleet == {"pools": 3, "desktops_per_pool": 2, "projects": 2, "seed": 4}
    finally:
        assert stop_process(proc) == 0
    assert "serving 6 pools in 2 project(s)" in err.text(2.0)


@pytest.mark.parametrize(
    "bad",
    [
        ["--error-rate", "2"],
        ["--port", "many"],
        ["--unknown"],
        ["--pools", "-1"],
        ["--projects", "0"],
        ["--rate-limit", "-5"],
        ["--write-error-rate", "1.5"],
        ["--job-seconds", "-1"],
    ],
)
def test_bad_flags_exit_2_with_a_message(bad: list[str]) -> None:
    proc, _, err, _ = start_process(["-m", "pooldrift.emulator", *bad], wait_for=None)
    assert proc.wait(20) == 2
    assert "usage: pooldrift emulator" in err.text(2.0)


def test_a_busy_port_is_exit_1_with_a_message() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc, _, err, _ = start_process(["-m", "pooldrift.emulator", "--port", str(port)], wait_for=None)
        assert proc.wait(20) == 1
    assert "cannot start the emulator" in err.text(2.0)


def test_the_pooldrift_command_runs_it_too() -> None:
    code = "import sys; from pooldrift.cli import main; sys.exit(main(sys.argv[1:]))"
    proc, _, _, url = start_process(["-c", code, "emulator", "--port", "0"], wait_for=READY)
    assert url is not None
    try:
        with signed_client(url, DEMO_ACCESS_KEY, DEMO_SECRET_KEY) as client:
            assert client.get(f"/v2/{DEMO_PROJECT_ID}/desktop-pools").status_code == 200
    finally:
        assert stop_process(proc) == 0


def test_help_names_the_flags() -> None:
    proc, out, _, _ = start_process(["-m", "pooldrift.emulator", "--help"], wait_for=None)
    assert proc.wait(20) == 0
    text = out.text(2.0)
    flags = ("--host", "--port", "--latency", "--error-rate", "--drop-rate", "--slow-body", "--seed")
    writes = (
        "--job-seconds",
        "--sub-job-fail-rate",
        "--write-error-rate",
        "--write-timeout-rate",
        "--endless-job-rate",
    )
    for flag in (*flags, "--pools", "--desktops-per-pool", "--projects", "--rate-limit", *writes):
        assert flag in text
