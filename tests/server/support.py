"""What the MCP tools should answer, computed from the emulator's own data set, and checks on it;
plus running an app in a thread and stopping a subprocess cleanly. Shared by all server tests.
"""

from __future__ import annotations

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
TOOLS = {"pool_inconsistency", "list_desktop_pools", "pool_drift_history"}


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
