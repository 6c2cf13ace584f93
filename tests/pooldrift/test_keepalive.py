"""A kept-alive connection the server closes just as it is reused (its keep-alive timeout ran out
while the request was on its way) costs no retry, no backoff and no ``unreachable``: the request
goes again at once on a new connection, counted as ``pooldrift_upstream_stale_connections``.

The race is made certain by a loopback proxy in front of the emulator that expires a connection
idle longer than ``idle`` the moment the next request arrives on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from tests.helpers import free_port, process_env, start_process, stop_process

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")


class ExpiringProxy:
    """Forwards TCP to ``target``; a connection idle over ``idle`` seconds is closed when bytes
    arrive on it, which are dropped: what a client sees when a server's keep-alive timeout
    and its next request cross."""

    def __init__(self, target: EmulatorServer, idle: float) -> None:
        self.target = target
        self.idle = idle
        self.expired = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> ExpiringProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.close()  # each connection's handler then ends by itself
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target.host, self.target.port)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        self._open.update((writer, up_writer))
        loop = asyncio.get_running_loop()
        last = loop.time()

        async def requests() -> None:
            nonlocal last
            while data := await _read(reader):
                if loop.time() - last > self.idle:
                    self.expired += 1
                    return
                up_writer.write(data)
                await up_writer.drain()
                last = loop.time()

        async def answers() -> None:
            nonlocal last
            while data := await _read(up_reader):
                writer.write(data)
                await writer.drain()
                last = loop.time()

        pumps = [asyncio.create_task(requests()), asyncio.create_task(answers())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()  # our own tasks: awaited here, so nothing is left unretrieved
            await asyncio.gather(*pumps, return_exceptions=True)
            for side in (writer, up_writer):
                side.close()
                self._open.discard(side)
                with contextlib.suppress(OSError):
                    await side.wait_closed()
            self._tasks.discard(task)


async def _read(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(65536)
    except OSError:  # reset: as good as closed
        return b""


@pytest.fixture
async def proxy(emulator: EmulatorServer) -> AsyncIterator[ExpiringProxy]:
    async with ExpiringProxy(emulator, idle=0.15) as running:
        yield running


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def upstream_counts(text: str | None = None) -> dict[str, float]:
    """The counters that say whether a stale connection cost a retry (this process, or a scrape)."""
    wanted = {
        "unreachable": ("pooldrift_upstream_requests_total", {"status": "unreachable"}),
        "retries": ("pooldrift_upstream_retries_total", {"reason": "unreachable"}),
        "stale": ("pooldrift_upstream_stale_connections_total", {}),
    }
    if text is None:
        return {key: counted(name, **labels) for key, (name, labels) in wanted.items()}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return {
        key: samples.get((name, tuple(sorted(labels.items()))), 0.0) for key, (name, labels) in wanted.items()
    }


async def test_a_connection_closed_as_it_is_reused_costs_no_retry(
    settings: Settings, proxy: ExpiringProxy, emulator: EmulatorServer
) -> None:
    pool = emulator.data.pools[0]
    async with WorkspaceClient(settings, endpoint=proxy.url, iam_endpoint=proxy.url) as client:
        await client.get_pool(pool.id)
        before = upstream_counts()
        slowest = 0.0
        for _ in range(3):
            await asyncio.sleep(proxy.idle * 2)  # idle past the proxy's keep-alive, not the client's
            started = time.perf_counter()
            await client.get_pool(pool.id)
            slowest = max(slowest, time.perf_counter() - started)
        after = upstream_counts()
    assert proxy.expired >= 3, "every reuse met a connection closed as it was reused"
    assert after["unreachable"] == before["unreachable"], "not an upstream failure"
    assert after["retries"] == before["retries"], "no retry of the call"
    assert after["stale"] >= before["stale"] + 3
    assert slowest < 0.5, f"sent again at once, not after a backoff ({slowest:.3f} s)"


async def test_a_post_on_a_stale_connection_is_not_sent_again_by_the_transport(
    proxy: ExpiringProxy,
) -> None:
    """Only idempotent methods go again: a POST may have been carried out."""
    from pooldrift.transport import AiohttpTransport

    async with httpx2.AsyncClient(transport=AiohttpTransport(), base_url=proxy.url, timeout=5) as http:
        await http.get("/_emulator/faults")
        await asyncio.sleep(proxy.idle * 2)
        stale = counted("pooldrift_upstream_stale_connections_total")
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.post("/_emulator/faults", json={})
    assert counted("pooldrift_upstream_stale_connections_total") == stale


async def test_a_watch_on_a_server_with_a_short_keep_alive_never_retries_for_it(
    emulator: EmulatorServer, proxy: ExpiringProxy, tmp_path: Path
) -> None:
    """``pooldrift watch`` whose interval is longer than the server's keep-alive: every cycle
    reuses expired connections, and none of them shows as unreachable or retried."""
    port = free_port()
    env = process_env(
        emulator,
        POOLDRIFT_ENDPOINT=proxy.url,
        HUAWEICLOUD_SDK_IAM_ENDPOINT=proxy.url,
        POOLDRIFT_WATCH_INTERVAL="0.4",
        POOLDRIFT_STATE=str(tmp_path / "state.db"),
    )
    proc, _, err, _ = start_process([POOLDRIFT, "watch", "--metrics-port", str(port)], env, wait_for=None)
    try:
        counts: dict[str, float] = {}
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient(timeout=5) as http:
            # until five expired connections were met, each either sent again or a failure
            while counts.get("stale", 0) + counts.get("unreachable", 0) < 5:
                assert time.monotonic() < deadline, f"{counts}, {proxy.expired} expired; {err.text()}"
                with contextlib.suppress(httpx2.TransportError):
                    counts = upstream_counts((await http.get(f"http://127.0.0.1:{port}/metrics")).text)
                await asyncio.sleep(0.05)
    finally:
        stop_process(proc)
    assert counts["unreachable"] == 0 and counts["retries"] == 0, counts
    assert "unreachable" not in err.text() and "Traceback" not in err.text()
