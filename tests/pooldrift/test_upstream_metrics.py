"""What the upstream families say follows what the API answered: ``pooldrift_upstream_up`` in
every process that calls it (a standalone watch too), and a request pooldrift itself gave up is
not counted as an upstream failure."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import APIConnectionError, APITimeoutError, AuthenticationError
from tests.helpers import free_port, process_env, start_process, stop_process

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def until(what: Callable[[], bool], why: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not what():
        assert time.monotonic() < deadline, f"not within {within} s: {why}"
        await asyncio.sleep(0.01)


async def test_a_cancelled_request_is_not_an_upstream_failure(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    """Cancelled in flight (a caller's own timeout, a stopping server): counted ``cancelled``,
    not ``unreachable``, and the up gauge stays what the last answer made it."""
    pool = emulator.data.pools[0]
    await client.get_pool(pool.id)
    up = sample("pooldrift_upstream_up")
    unreachable = sample("pooldrift_upstream_requests_total", status="unreachable")
    cancelled = sample("pooldrift_upstream_requests_total", status="cancelled")
    emulator.faults.latency = 5.0
    task = asyncio.create_task(client.inconsistent_statics(pool.id))
    await until(lambda: sample("pooldrift_upstream_in_flight") > 0, "the request is in flight")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sample("pooldrift_upstream_requests_total", status="unreachable") == unreachable
    assert sample("pooldrift_upstream_requests_total", status="cancelled") == cancelled + 1
    assert sample("pooldrift_upstream_up") == up == 1
    assert sample("pooldrift_upstream_in_flight") == 0


async def test_an_attempt_cut_by_the_calls_own_deadline_is_a_timeout(
    settings: Settings, emulator: EmulatorServer
) -> None:
    """The deadline cancels the attempt under way: that is the upstream not answering in time."""
    timeouts = sample("pooldrift_upstream_requests_total", status="timeout")
    cancelled = sample("pooldrift_upstream_requests_total", status="cancelled")
    emulator.faults.latency = 2.0
    async with WorkspaceClient(settings, deadline=0.3, read_timeout=5) as impatient:
        with pytest.raises(APITimeoutError):
            await impatient.get_pool(emulator.data.pools[0].id)
    assert sample("pooldrift_upstream_requests_total", status="timeout") >= timeouts + 1
    assert sample("pooldrift_upstream_requests_total", status="cancelled") == cancelled
    assert sample("pooldrift_upstream_up") == 0


async def test_the_up_gauge_is_set_by_every_answer_and_every_failed_call(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    """A 4xx is an answer (reachable: 1); no connection after every retry is 0; answers again: 1."""
    pool = emulator.data.pools[0]
    emulator.faults.update(error_rate=1.0, error_status=401)
    with pytest.raises(AuthenticationError):
        await client.get_pool(pool.id)
    assert sample("pooldrift_upstream_up") == 1
    emulator.faults.reset()
    emulator.faults.drop_rate = 1.0
    with pytest.raises(APIConnectionError):
        await client.get_pool(pool.id)
    assert sample("pooldrift_upstream_up") == 0
    emulator.faults.reset()
    await client.get_pool(pool.id)
    assert sample("pooldrift_upstream_up") == 1


@pytest.fixture
def watch_metrics(emulator: EmulatorServer, tmp_path: Path) -> Iterator[str]:
    """A standalone ``pooldrift watch --metrics-port`` on the emulator (no Slack), its /metrics URL."""
    port = free_port()
    env = process_env(
        emulator,
        POOLDRIFT_WATCH_INTERVAL="0.3",
        POOLDRIFT_STATE=str(tmp_path / "state.db"),
        POOLDRIFT_DEADLINE="5",
        POOLDRIFT_READ_TIMEOUT="2",
    )
    proc, _, err, _ = start_process([POOLDRIFT, "watch", "--metrics-port", str(port)], env, wait_for=None)
    try:
        err.wait_for(r"metrics on http://", timeout=30)
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        stop_process(proc)


def scraped_up(url: str) -> float | None:
    text = httpx2.get(url, timeout=5).text
    for family in text_string_to_metric_families(text):
        if family.name == "pooldrift_upstream_up":
            return float(family.samples[0].value)
    return None


async def test_a_standalone_watch_exports_upstream_up_as_the_api_answers(
    watch_metrics: str, emulator: EmulatorServer
) -> None:
    """No readiness check runs in ``pooldrift watch``: its own calls set the gauge."""
    await until(lambda: scraped_up(watch_metrics) == 1, "up after a cycle", within=30)
    emulator.faults.drop_rate = 1.0
    await until(lambda: scraped_up(watch_metrics) == 0, "down while the API drops every request", 30)
    emulator.faults.reset()
    await until(lambda: scraped_up(watch_metrics) == 1, "up again once it answers", within=30)


def test_the_gauge_is_unknown_until_a_first_call_ends() -> None:
    """A process that asked nothing yet exports NaN, which ``pooldrift_upstream_up == 0`` (the
    shipped PooldriftUpstreamDown rule) does not match."""
    code = (
        "import pooldrift.metrics as m; from prometheus_client import REGISTRY; "
        "print(REGISTRY.get_sample_value('pooldrift_upstream_up'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert math.isnan(float(done.stdout))
