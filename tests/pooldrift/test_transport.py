"""AiohttpTransport against real loopback servers: what goes out, what comes back, how it fails.

A small raw asyncio server plays each wire behaviour exactly (and a TLS one checks certificates).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from pooldrift.transport import AiohttpTransport
from tests.helpers import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Wire"], Awaitable[None]]


@dataclass
class Wire:
    """What a test server saw: raw request heads and bodies, connections, the busiest moment."""

    url: str = ""
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0

    async def read_request(self, reader: asyncio.StreamReader) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.heads.append(head)
        self.bodies.append(await reader.readexactly(length) if length else b"")
        return True


def answer(status: str, body: bytes = b"", *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def keep_answering(response: bytes, delay: float = 0.0) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        while await wire.read_request(reader):
            await asyncio.sleep(delay)
            writer.write(response)
            await writer.drain()

    return handle


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Wire]:
    wire = Wire()
    handlers: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        wire.connections += 1
        wire.open_now += 1
        wire.most_open = max(wire.most_open, wire.open_now)
        try:
            await handler(reader, writer, wire)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            wire.open_now -= 1
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    wire.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield wire
    finally:
        server.close()
        for task in handlers:  # Python 3.11 has no Server.close_clients()
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def client(**limits: int) -> AsyncIterator[httpx2.AsyncClient]:
    transport = AiohttpTransport(limits=httpx2.Limits(**limits)) if limits else AiohttpTransport()
    async with httpx2.AsyncClient(transport=transport, timeout=2.0) as http:
        yield http


def head_lines(head: bytes) -> tuple[bytes, list[bytes]]:
    first, *rest = head.rstrip(b"\r\n").split(b"\r\n")
    return first, sorted(line.lower() for line in rest)


# -- what comes back -------------------------------------------------------------------------


async def test_status_headers_and_body() -> None:
    body = b'{"product_id":2}'
    response = answer("201 Made", body, "X-Request-Id: abc", "X-Multi: one", "X-Multi: two")
    async with serve(keep_answering(response)) as wire, client() as http:
        got = await http.get(wire.url + "/v2/p/x")
    assert got.status_code == 201
    assert got.reason_phrase == "Made"
    assert got.http_version == "HTTP/1.1"
    assert got.headers["x-request-id"] == "abc"
    assert got.headers.get_list("x-multi") == ["one", "two"]
    assert got.content == body and got.json() == {"product_id": 2}


async def test_gzip_is_decoded_once_by_httpx2() -> None:
    plain = b'{"a":1}' * 50
    response = answer("200 OK", gzip.compress(plain), "Content-Encoding: gzip")
    async with serve(keep_answering(response)) as wire, client() as http:
        got = await http.get(wire.url)
    assert got.content == plain


async def test_large_body_streams_in_pieces() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: past the eager-read size
    async with serve(keep_answering(answer("200 OK", big))) as wire, client() as http:
        async with http.stream("GET", wire.url) as got:
            pieces = [piece async for piece in got.aiter_raw()]
        again = await http.get(wire.url)  # the connection went back to the pool in a good state
    assert b"".join(pieces) == big and len(pieces) > 1
    assert again.content == big
    assert wire.connections == 1


async def test_chunked_body_without_length() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    async with serve(keep_answering(chunked)) as wire, client() as http:
        got = await http.get(wire.url)
    assert got.text == "hello world"


# -- what goes out ---------------------------------------------------------------------------


async def test_request_goes_out_as_httpx2_built_it() -> None:
    """Same request line and the very same headers as httpx2's own transport sends: nothing
    added, dropped or re-encoded, so a signature over them still holds."""
    url_tail = "/v2/p/desktop-pools/x%2Fy/desktops?offset=0&limit=100&name=a%20b&z=%7E"
    headers = {"X-Project-Id": "p1", "Content-Type": "application/json", "Authorization": "SDK sig"}
    heads: list[bytes] = []
    for transport in (httpx2.AsyncHTTPTransport(), AiohttpTransport()):
        async with serve(keep_answering(answer("200 OK"))) as wire:
            async with httpx2.AsyncClient(transport=transport) as http:
                for name in ("Accept", "Accept-Encoding", "User-Agent"):
                    del http.headers[name]  # so that nothing would hide a header aiohttp adds
                await http.get(wire.url + url_tail, headers=headers)
            heads.append(wire.heads[0].replace(wire.url[7:].encode(), b"HOST"))
    ours, theirs = head_lines(heads[1]), head_lines(heads[0])
    assert ours == theirs
    assert ours[0] == b"GET " + url_tail.encode() + b" HTTP/1.1"


async def test_request_body_is_sent() -> None:
    async with serve(keep_answering(answer("200 OK"))) as wire, client() as http:
        await http.post(wire.url, content=b"payload")
        await http.post(wire.url, json={"k": "v"})
    assert wire.bodies == [b"payload", b'{"k":"v"}']


async def test_connections_are_kept_and_bounded() -> None:
    slow_ok = keep_answering(answer("200 OK", b"x"), delay=0.05)
    async with serve(slow_ok) as wire, client(max_connections=2) as http:
        for _ in range(3):
            await http.get(wire.url)
        assert wire.connections == 1  # keep-alive: one connection for sequential calls
        await asyncio.gather(*(http.get(wire.url) for _ in range(6)))
    assert wire.most_open == 2


def self_signed(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1: the server's context, and a client context that trusts it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pooldrift test")])
    now = datetime.now(UTC)
    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(loopback, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return server, ssl.create_default_context(cadata=cert_pem.decode())


async def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    server_ctx, trusting = self_signed(tmp_path)
    handler = keep_answering(answer("200 OK", b"secure"))

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer, Wire())
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=server_ctx)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        async with httpx2.AsyncClient(transport=AiohttpTransport(verify=trusting)) as http:
            assert (await http.get(url)).content == b"secure"
        async with httpx2.AsyncClient(transport=AiohttpTransport()) as http:
            with pytest.raises(httpx2.ConnectError):  # not in the trust store: refused
                await http.get(url)
    finally:
        server.close()
        await server.wait_closed()


# -- how it fails ----------------------------------------------------------------------------


async def test_no_answer_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)
        await asyncio.sleep(5)

    async with serve(silent) as wire, client() as http:
        started = time.monotonic()
        with pytest.raises(httpx2.ReadTimeout) as info:
            await http.get(wire.url, timeout=httpx2.Timeout(0.2))
    assert time.monotonic() - started < 2
    assert info.value.request.url == wire.url


async def test_waiting_for_a_busy_pool_times_out() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)
        await asyncio.sleep(2)

    async with serve(slow) as wire, client(max_connections=1) as http:
        busy = asyncio.create_task(http.get(wire.url, timeout=5))
        await asyncio.sleep(0.1)
        with pytest.raises(httpx2.TimeoutException):
            await http.get(wire.url, timeout=httpx2.Timeout(5, connect=0.1, pool=0.1))
        busy.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await busy


async def test_connection_refused_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx2.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/")


async def test_truncated_body_is_a_protocol_error() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()

    async with serve(short) as wire, client() as http:
        with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
            await http.get(wire.url)


async def test_close_without_answer_is_a_protocol_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)

    async with serve(hang_up) as wire, client() as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(wire.url)


async def test_a_request_dropped_on_a_new_connection_is_not_sent_again() -> None:
    """The caller's retry policy decides: no hidden second request behind its back."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)

    async with serve(hang_up) as wire, client() as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(wire.url)
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.post(wire.url, content=b"x")
    assert len(wire.heads) == 2 and wire.connections == 2


async def test_a_get_dropped_on_a_kept_alive_connection_goes_once_more_on_a_new_one() -> None:
    """What a server's keep-alive timeout does to a connection as it is reused (RFC 9112 §9.3.1:
    an idempotent request may go again): sent again at once, on a new connection; a POST is not."""

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        if await wire.read_request(reader):
            writer.write(answer("200 OK", b"first"))
            await writer.drain()
        await wire.read_request(reader)  # then hang up on the next one, on the same connection

    async with serve(answer_once) as wire, client() as http:
        assert (await http.get(wire.url)).content == b"first"
        assert (await http.get(wire.url)).content == b"first"  # on the second connection
        assert len(wire.heads) == 3 and wire.connections == 2
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.post(wire.url, content=b"x")  # the second connection, kept alive: dropped
    assert len(wire.heads) == 4 and wire.connections == 2


async def test_garbage_answer_is_a_protocol_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()

    async with serve(garbage) as wire, client() as http:
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(wire.url)


async def test_truncated_streamed_body_is_a_protocol_error() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        await wire.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 9000000\r\n\r\n" + b"x" * 100_000)
        await writer.drain()

    async with serve(short) as wire, client() as http:
        with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
            await http.get(wire.url)


async def test_cancelled_mid_body_frees_the_connection() -> None:
    """A caller's own deadline cuts a trickling body: the half-read connection is dropped
    (not pooled), and the next request gets a clean one."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire) -> None:
        while await wire.read_request(reader):
            if len(wire.heads) == 1:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf.")
                await writer.drain()
                await asyncio.sleep(5)
            writer.write(answer("200 OK", b"whole body"))
            await writer.drain()

    async with serve(trickle) as wire, client() as http:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await http.get(wire.url)
        assert (await http.get(wire.url)).content == b"whole body"
    assert wire.connections == 2
