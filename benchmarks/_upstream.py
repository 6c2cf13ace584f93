"""A fast stand-in for the Workspace API, run in its own process so benchmarks time the client.

Raw asyncio HTTP/1.1 with keep-alive and pre-built answers (the vendor's example JSON, an
``X-Request-Id`` each); one port per added latency. Signatures are not checked on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ID = "bcae3e673fd04716a3b9dacdf58ca336"
POOL_ID = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
REGION = "cn-north-4"
STATICS_PATH = f"/v2/{PROJECT_ID}/desktop-pools/{POOL_ID}/inconsistent-statics"
# the vendor page's example answer, byte for byte what the real API sends
STATICS_BODY = b'{"product_id":2,"image_id":2,"disk_num":3,"disk_size":4}'
PROJECTS_BODY = json.dumps({"projects": [{"id": PROJECT_ID, "name": REGION}]}).encode()
NOT_FOUND_BODY = b'{"error_code":"WKS.0404","error_msg":"not found"}'


def _response(status: bytes, body: bytes, request_id: int, close: bool) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"X-Request-Id: " + f"{request_id:032x}".encode() + b"\r\n"
        + (b"Connection: close\r\n" if close else b"")
        + b"\r\n"
    )  # fmt: skip
    return head + body


class _Http(asyncio.Protocol):
    """One connection: parse request heads, answer each after ``delay`` seconds, in order."""

    served = 0

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, _exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end]
            lines = head.split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self._buffer) < end + 4 + length:
                return  # the body is still arriving
            self._buffer = self._buffer[end + 4 + length :]
            self._answer(lines[0], headers.get(b"connection", b"").lower() == b"close")

    def _answer(self, request_line: bytes, close: bool) -> None:
        _Http.served += 1
        target = request_line.split(b" ")[1] if request_line.count(b" ") >= 2 else b"/"
        path = target.split(b"?")[0]
        if path.endswith(b"/inconsistent-statics"):
            response = _response(b"200 OK", STATICS_BODY, _Http.served, close)
        elif path == b"/v3/projects":
            response = _response(b"200 OK", PROJECTS_BODY, _Http.served, close)
        elif path == b"/_stats":  # lets a benchmark check that every call reached the server
            _Http.served -= 1
            body = b'{"served":%d}' % _Http.served
            response = _response(b"200 OK", body, 0, close)
        else:
            response = _response(b"404 Not Found", NOT_FOUND_BODY, _Http.served, close)
        if self._delay > 0:
            asyncio.get_running_loop().call_later(self._delay, self._send, response, close)
        else:
            self._send(response, close)

    def _send(self, response: bytes, close: bool) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(response)
        if close:
            self._transport.close()


async def _serve(delays: list[float]) -> None:
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(lambda d=d: _Http(d), "127.0.0.1", 0, backlog=1024)  # type: ignore[misc]
        for d in delays
    ]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(json.dumps({"ports": ports}), flush=True)
    stop = asyncio.Event()
    # the parent closing our stdin (or dying) is the signal to stop: no orphan servers
    watch = lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set))  # noqa: E731
    threading.Thread(target=watch, daemon=True).start()
    await stop.wait()
    for server in servers:
        server.close()


@dataclass(frozen=True)
class Upstream:
    """Base URLs of a running stand-in, one per added latency (in the order asked)."""

    urls: tuple[str, ...]

    @property
    def statics_url(self) -> str:
        return self.urls[0] + STATICS_PATH


@contextlib.contextmanager
def upstream(*delays_ms: float) -> Iterator[Upstream]:
    """Start the stand-in in a separate process (the client gets the other core)."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__)), *(f"--delay-ms={d:g}" for d in delays_ms or (0,))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())["ports"]
        yield Upstream(tuple(f"http://127.0.0.1:{p}" for p in ports))
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=float, action="append", default=[], help="one port per value")
    args = parser.parse_args()
    asyncio.run(_serve([d / 1000 for d in args.delay_ms] or [0.0]))


if __name__ == "__main__":
    main()
