"""An ``httpx2`` transport backed by aiohttp: httpx2's API above, aiohttp's faster HTTP/1.1 below.

Requests go out byte for byte as httpx2 built and signed them; timeouts and failures come back
as httpx2's own exception types, so code written against httpx2 cannot tell the difference.
One exception, as RFC 9112 §9.3.1 allows: an idempotent request whose kept-alive connection the
server had closed as it was reused is sent again at once on another, and is not a failure.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx2

from . import metrics

if TYPE_CHECKING:
    import aiohttp

__all__ = ["KEEPALIVE_EXPIRY", "AiohttpTransport"]

log = logging.getLogger("pooldrift.client")

#: seconds an idle connection is kept: below the 5 s that uvicorn, Node and many gateways keep
#: one, so the client lets go first instead of reusing a connection the server is closing
KEEPALIVE_EXPIRY = 4.0
#: methods sent again at once after a stale kept-alive connection (RFC 9112 §9.3.1)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


@dataclass
class _Attempt:
    """Set by the connector for the request under way in this task: was its connection reused?"""

    reused: bool = False


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("pooldrift_transport_attempt", default=None)

#: bodies up to this size (with a Content-Length) are read inside the transport in one go:
#: one hop instead of a stream of them, and the connection goes back to the pool at once
_EAGER_BODY = 256 * 1024
_CHUNK = 64 * 1024


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """Send httpx2 requests through one ``aiohttp`` connection pool.

    ``limits.max_connections`` bounds the pool (``max_keepalive_connections`` has no aiohttp
    counterpart); ``keepalive_expiry`` is how long an idle connection is kept. The pool is
    opened on first use, inside the running event loop, and closed by ``aclose``. ``max_body``
    is the most its reader takes of one body: none larger is read before the reader asks.
    What httpx2's own transport does and this one does not: HTTP/2, proxies, write timeouts
    (request bodies are sent in one piece), unix sockets.
    """

    def __init__(
        self,
        *,
        limits: httpx2.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
        max_body: int | None = None,
    ) -> None:
        # imported with the client, not with this module (``import pooldrift`` stays light) nor at
        # the first request: aiohttp takes ~0.2 s to import (it builds TLS contexts as it loads),
        # which would otherwise land on the first call's latency and a scan's wall time
        import aiohttp  # noqa: F401

        limits = limits or httpx2.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)
        # a body announced larger than its reader takes is never read here: left to stream, so
        # the reader refuses it at its Content-Length and closing it drops the connection
        self._eager = _EAGER_BODY if max_body is None else min(_EAGER_BODY, max_body)
        self._limit = limits.max_connections or 0  # aiohttp: 0 is "no limit"
        self._keepalive = limits.keepalive_expiry if limits.keepalive_expiry is not None else KEEPALIVE_EXPIRY
        self._verify = verify
        self._ssl_context: ssl.SSLContext | bool | None = None
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        # the session is made inside the running event loop, as aiohttp requires
        import aiohttp

        connector = _connector_class()(limit=self._limit, limit_per_host=0, keepalive_timeout=self._keepalive)
        self._session = aiohttp.ClientSession(
            connector=connector,
            # httpx2 owns cookies, redirects, decompression and default headers: aiohttp must
            # neither add nor change anything, or the signed request would not be the sent one
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None),
            trust_env=False,
        )
        # aiohttp quietly sends an idempotent request again when any connection closes before
        # answering, a new one too; the caller's retry policy must see every failed attempt (its
        # bound on attempts is a bound on requests). Only a kept-alive connection closed as it
        # was reused is sent again, by handle_async_request, and counted. aiohttp's own test utils
        # switch it off the same way; there is no public setting.
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        return self._session

    def _ssl(self) -> ssl.SSLContext | bool:
        # built on the first https request only: loading a trust store takes tens of ms
        if self._ssl_context is None:
            if self._verify is True:
                self._ssl_context = httpx2.create_ssl_context()  # the trust store httpx2 would use
            else:
                self._ssl_context = self._verify
        return self._ssl_context

    def _timeout(self, request: httpx2.Request) -> aiohttp.ClientTimeout:
        import aiohttp

        given: dict[str, float | None] = request.extensions.get("timeout", {})
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's "connect" spans waiting for a pooled connection and opening a new
            # one; httpx2 bounds those separately, so allow both in turn
            acquire = None if pool is None or connect is None else pool + connect
            timeout = aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)
            if len(self._timeouts) < 64:  # a handful of distinct settings in practice
                self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        import aiohttp
        import yarl

        session = self._session or self._open()
        body = await request.aread()
        url = yarl.URL(str(request.url), encoded=True)
        sent = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        attempt = _Attempt()
        token = _ATTEMPT.set(attempt)
        try:
            # each stale connection is closed as it fails, so this ends with a fresh one at the latest
            for _ in range(max(self._limit, 16) + 1):
                attempt.reused = False
                try:
                    response = await session.request(
                        request.method,
                        url,
                        headers=sent,
                        data=body or None,
                        allow_redirects=False,
                        timeout=self._timeout(request),
                        ssl=self._ssl() if request.url.scheme == "https" else True,
                    )
                    break
                except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                    # closed before any answer on a connection kept alive: the server let it go as
                    # we reused it (its keep-alive ran out), which says nothing of the upstream
                    if not (attempt.reused and request.method in _IDEMPOTENT):
                        raise _mapped(exc, request) from exc
                    metrics.UPSTREAM_STALE_CONNECTIONS.inc()
                    log.debug(
                        "a kept-alive connection to %s was closed as it was reused: sent again", url.host
                    )
                except Exception as exc:
                    raise _mapped(exc, request) from exc
            else:  # pragma: no cover - more stale connections than the pool holds
                raise httpx2.RemoteProtocolError("every kept-alive connection was closed", request=request)
        finally:
            _ATTEMPT.reset(token)
        extensions = {
            "http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode()
            if response.version
            else b"HTTP/1.1",
            "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
        }
        headers = list(response.raw_headers)
        length = response.content_length
        if length is not None and length <= self._eager:
            try:
                content = await response.read()  # hands the connection back to the pool
            except BaseException as exc:  # cancelled too: never leave the connection half-read
                response.close()
                if isinstance(exc, Exception):
                    raise _mapped(exc, request) from exc
                raise
            return httpx2.Response(
                response.status,
                headers=headers,
                stream=httpx2.ByteStream(content),
                extensions=extensions,
            )
        return httpx2.Response(
            response.status,
            headers=headers,
            stream=_BodyStream(response, request),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


@cache
def _connector_class() -> type[aiohttp.TCPConnector]:
    """aiohttp's connector, telling the request under way (``_ATTEMPT``) whether the connection it
    got was kept alive from an earlier one. Made at the first session (aiohttp loads late)."""
    import aiohttp

    class Connector(aiohttp.TCPConnector):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self._used: weakref.WeakSet[Any] = weakref.WeakSet()  # protocols handed out before

        # aiohttp's signature (its timeout is the request's ClientTimeout)
        async def connect(self, req: Any, traces: Any, timeout: Any) -> aiohttp.connector.Connection:  # noqa: ASYNC109
            connection = await super().connect(req, traces, timeout)
            attempt, protocol = _ATTEMPT.get(), connection.protocol
            if attempt is not None and protocol is not None:
                attempt.reused = protocol in self._used
                self._used.add(protocol)
            return connection

    return Connector


class _BodyStream(httpx2.AsyncByteStream):
    """A response body read as httpx2 iterates it, a chunk at a time; closing it hands the
    connection back to the pool when the body was read to its end, and closes it otherwise (a
    reader that stopped early, at its bound, must not leave the rest for the next request)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx2.Request) -> None:
        self._response = response
        self._request = request
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except Exception as exc:
            self._response.close()
            raise _mapped(exc, self._request) from exc
        self._ended = True

    async def aclose(self) -> None:
        if self._ended:
            self._response.release()
        else:
            self._response.close()


def _mapped(exc: Exception, request: httpx2.Request) -> Exception:
    """The httpx2 exception that httpx2's own transport raises for the same failure."""
    import aiohttp

    kind: type[httpx2.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx2.ConnectTimeout
    elif isinstance(exc, aiohttp.SocketTimeoutError | asyncio.TimeoutError):
        kind = httpx2.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx2.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        kind = httpx2.RemoteProtocolError  # closed early, or a body shorter than announced
    elif isinstance(exc, aiohttp.ClientResponseError):
        kind = httpx2.RemoteProtocolError  # an answer that is not valid HTTP
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx2.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientConnectionError | OSError):
        kind = httpx2.ReadError
    else:
        return exc  # a bug, not a network failure: let it show as itself
    return kind(str(exc) or type(exc).__name__, request=request)
