"""What the MCP tools should answer, computed from the emulator's own data set, and checks on it;
plus running an app in a thread and stopping a subprocess cleanly. Shared by all server tests.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pooldrift.emulator import EmulatorServer, Pool
from pooldrift.models import InconsistentType
from tests.helpers import LineReader, stop_process

KINDS = [kind.value for kind in InconsistentType]
#: every tool the MCP server lists
TOOLS = {
    "pool_inconsistency",
    "list_desktop_pools",
    "pool_drift_history",
    "scan_pool_drift",
    "drifted_desktops",
}


def expected_drift(emulator: EmulatorServer, pool: Pool) -> dict[str, Any]:
    """The structured content of pool_inconsistency, minus what varies per call."""
    statics = emulator.data.statics(pool.id)
    counts = [
        {"kind": kind, "count": statics[kind.lower()], "meaning": InconsistentType(kind).meaning}
        for kind in KINDS
    ]
    return {
        "pool_id": pool.id,
        "pool_name": pool.name,
        "desktop_count": len(emulator.data.desktops_of(pool.id)),
        "region": "cn-north-4",
        "project_id": emulator.project_id,
        "counts": counts,
        "consistent": all(c["count"] == 0 for c in counts),
        "drifted_desktops_at_least": max(c["count"] for c in counts),
    }


def check_drift(structured: dict[str, Any] | None, emulator: EmulatorServer, pool: Pool) -> None:
    """``structured`` equals the emulator's truth; the per-call fields are well formed."""
    assert structured is not None
    expected = expected_drift(emulator, pool)
    assert {key: structured[key] for key in expected} == expected
    assert set(structured) == {*expected, "summary", "request_id", "fetched_at"}
    assert pool.name in structured["summary"]
    assert structured["summary"].endswith(".")
    if not expected["consistent"]:
        assert f"at least {expected['drifted_desktops_at_least']} of" in structured["summary"]
    assert isinstance(structured["request_id"], str) and len(structured["request_id"]) >= 8
    fetched = datetime.fromisoformat(structured["fetched_at"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - fetched) < timedelta(minutes=5)


def expected_listing(emulator: EmulatorServer, *, limit: int = 50, name: str | None = None) -> dict[str, Any]:
    matching = [p for p in emulator.data.pools if name is None or name.lower() in p.name.lower()]
    shown = matching[:limit]
    return {
        "pools": [
            {
                "id": p.id,
                "name": p.name,
                "type": p.type,
                "status": p.status,
                "desktop_count": len(emulator.data.desktops_of(p.id)),
            }
            for p in shown
        ],
        "total_count": len(matching),
        "more_available": len(matching) > len(shown),
        "region": "cn-north-4",
        "project_id": emulator.project_id,
    }


def check_listing(
    structured: dict[str, Any] | None, emulator: EmulatorServer, *, limit: int = 50, name: str | None = None
) -> None:
    assert structured is not None
    expected = expected_listing(emulator, limit=limit, name=name)
    structured = dict(structured)
    hint = structured.pop("hint")
    assert structured == expected
    if expected["more_available"]:
        assert hint is not None and f"of {expected['total_count']} pools" in hint
    elif expected["pools"]:
        assert hint is None
    else:
        assert hint is not None


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run an ASGI app (lifespan on) under uvicorn in a thread on a free loopback port; yield its URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def stop_and_close(proc: subprocess.Popen[str], *readers: LineReader) -> int:
    """Stop a process from ``start_process`` and close its pipes once the readers saw them end
    (an unclosed pipe is a ResourceWarning, an error under filterwarnings=error)."""
    code = stop_process(proc)
    for reader in readers:
        reader.text(settle=5.0)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    return code


# -- the fleet tools -------------------------------------------------------------------------------


def expected_pool_rows(emulator: EmulatorServer, *, name: str | None = None) -> list[dict[str, Any]]:
    """Every pool's row of scan_pool_drift, worst first (most drifted desktops, then most kinds,
    then name), from the emulator's desktops."""
    data = emulator.data
    rows = []
    for pool in data.pools:
        if name is not None and name.lower() not in pool.name.lower():
            continue
        counts = data.statics(pool.id)
        project = data.project(data.project_of(pool))
        assert project is not None
        rows.append(
            {
                "id": pool.id,
                "name": pool.name,
                "project_id": project.id,
                "region": project.region,
                "desktops": len(data.desktops_of(pool.id)),
                "drifted_at_least": max(counts.values()),
                **counts,
            }
        )
    rows.sort(
        key=lambda r: (
            -r["drifted_at_least"],
            -sum(1 for k in KINDS if r[k.lower()]),
            r["name"].lower(),
            r["id"],
        )
    )
    return rows


def expected_totals(
    emulator: EmulatorServer, rows: list[dict[str, Any]], *, projects: int = 1
) -> dict[str, int]:
    drifted = [r for r in rows if r["drifted_at_least"] > 0]
    return {
        "projects": projects,
        "failed_projects": 0,
        "pools": len(rows),
        "drifted_pools": len(drifted),
        "consistent_pools": len(rows) - len(drifted),
        "unknown_pools": 0,
        "failed_pools": 0,
        "desktops": sum(r["desktops"] for r in rows),
        "drifted_desktops_at_least": sum(r["drifted_at_least"] for r in drifted),
    }


def _measures(product_id: str, image_id: str, root: int, data: list[int]) -> dict[str, str | int]:
    return {
        "PRODUCT_ID": product_id,
        "IMAGE_ID": image_id,
        "DISK_NUM": len(data),
        "DISK_SIZE": root + sum(data),
    }


def expected_drifted(emulator: EmulatorServer, pool: Pool, kind: str | None = None) -> dict[str, Any]:
    """drifted_desktops' baseline and every drifted desktop (by id) with expected against actual."""
    from pooldrift.emulator.records import drift_of

    wanted = _measures(pool.product_id, pool.image_id, pool.root_size, pool.data_sizes)
    desktops = {}
    for desktop in emulator.data.desktops_of(pool.id):
        kinds = [k for k in drift_of(desktop, pool) if kind is None or k == kind]
        if not kinds:
            continue
        has = _measures(desktop.product_id, desktop.image_id, desktop.root_size, desktop.data_sizes)
        desktops[desktop.desktop_id] = {
            "id": desktop.desktop_id,
            "name": desktop.computer_name,
            "status": desktop.status,
            "user": desktop.user_name or None,
            "differences": [{"kind": k, "expected": wanted[k], "actual": has[k]} for k in kinds],
        }
    return {
        "pool_id": pool.id,
        "pool_name": pool.name,
        "expected": {
            "product_id": pool.product_id,
            "image_id": pool.image_id,
            "data_disks": len(pool.data_sizes),
            "disk_gb": pool.root_size + sum(pool.data_sizes),
        },
        "desktops": desktops,
    }


def rpc_answer(response: Any) -> dict[str, Any]:
    """The JSON-RPC answer in an HTTP response to a POST on /mcp: a JSON body, or the SSE stream
    a 2025 session's call gets (its ``data:`` line that answers a request)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return dict(response.json())
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            message = json.loads(line[5:])
            if "id" in message and ("result" in message or "error" in message):
                return dict(message)
    raise AssertionError(f"no JSON-RPC answer in {response.text!r}")
