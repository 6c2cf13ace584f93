"""``Fetcher``: everything below the Workspace API — one connection pool, limits (in flight,
per minute, bytes of one answer), coalescing of identical GETs, retries within one deadline,
typed errors.

Whether to try again is the error's own call (``PooldriftError.retryable``); ``retry_policy``
adds the server's ``Retry-After`` advice, in the shape of stamina's ``on=`` hook, and
``backoff`` is stamina's formula (exponential, capped, with jitter). The loop that uses them is
written here rather than with stamina: entering ``stamina.retry_context`` (a tenacity
``AsyncRetrying`` per call) costs 35–60 µs of CPU even when the first attempt succeeds —
measured, 15–20 % of a whole call on loopback — for a loop of a dozen lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing, contextmanager
from contextvars import ContextVar
from typing import Any

import httpx2

from . import metrics
from .budget import RequestBudget, open_budget
from .config import Settings
from .errors import (
    APIConnectionError,
    APITimeoutError,
    BudgetExhaustedError,
    MalformedResponseError,
    PooldriftError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    WriteUnknownError,
    status_error_from_response,
)
from .signing import AKSKAuth, Clock, TokenAuth
from .transport import KEEPALIVE_EXPIRY, AiohttpTransport
from .version import __version__

__all__ = ["Answer", "Fetcher", "backoff", "patient_budget", "retry_policy"]

log = logging.getLogger("pooldrift.client")

#: set by ``patient_budget``: calls queue for the request budget instead of failing fast
_PATIENT: ContextVar[bool] = ContextVar("pooldrift_patient_budget", default=False)
_MAX_RECENT = 1024
#: (json, X-Request-Id)
Answer = tuple[Any, str | None]
_Key = tuple[str, tuple[tuple[str, str], ...], str | None]


class Fetcher:
    """Signed JSON GETs (and writes, sent once) for one process; the client and all its views
    share one."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._budget = open_budget(settings)  # before any connection: a bad Redis setting leaks nothing
        auth = _auth(settings, clock)
        self._owns_http = http_client is None
        if http_client is None:
            self._http = _http_client(settings, auth, transport)
        else:
            self._http = http_client
            self._http.auth = auth
        self._in_flight = asyncio.Semaphore(settings.max_in_flight)
        #: identical GETs under way: later callers share the first one's answer
        self._pending: dict[_Key, asyncio.Future[Answer]] = {}
        #: recent answers, kept ``cache_ttl`` seconds (0: no cache)
        self._recent: dict[_Key, tuple[float, Answer]] = {}

    async def aclose(self) -> None:
        try:
            if self._owns_http:
                await self._http.aclose()
        finally:
            if self._budget is not None:
                await self._budget.aclose()

    async def get_json(
        self,
        url: str,
        *,
        params: dict[str, str] | None = None,
        project: str | None = None,
        action: str | None = None,
    ) -> Answer:
        """GET through the cache and in-flight coalescing; returns (json, request id). ``action``
        is the IAM action the call needs: a 403 names it."""
        key: _Key = (url, tuple(sorted(params.items())) if params else (), project)
        now = time.monotonic()
        if self._settings.cache_ttl:
            hit = self._recent.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        while (pending := self._pending.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise  # we were cancelled (perhaps together with the call we were sharing)
                # only the caller we joined was cancelled: make the call ourselves

        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            answer = await self._fetch_json(url, params, project, action)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" noise when nobody joined
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(answer)
        if self._settings.cache_ttl:
            if len(self._recent) >= _MAX_RECENT:
                self._recent.clear()
            self._recent[key] = (time.monotonic() + self._settings.cache_ttl, answer)
        return answer

    async def post_json(
        self, url: str, body: dict[str, Any], *, project: str | None = None, action: str | None = None
    ) -> Answer:
        """One write, sent once: never cached, coalesced or resent once it may have arrived. Only
        what certainly did not reach the API is tried again, within the deadline and the request
        budget: a 429 (the gateway refuses before anything is done) and a refused connection. A
        write that may have been applied without an answer saying so is a ``WriteUnknownError``.
        """
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        if project:
            headers["X-Project-Id"] = project
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        patient = _PATIENT.get()

        async def once(timer: asyncio.Timeout) -> Answer:
            return await self._attempt(
                url, None, headers, timer, patient=patient, action=action, method="POST", content=content
            )

        # only what certainly was not taken is sent again (a WriteUnknownError is not retryable either)
        return await self._retrying(
            url, once, again=lambda exc: isinstance(exc, RateLimitError | APIConnectionError)
        )

    async def _fetch_json(
        self, url: str, params: dict[str, str] | None, project: str | None, action: str | None
    ) -> Answer:
        """One GET with limits, retries and one overall deadline; the up gauge follows its end."""
        try:
            return await self._retried(url, params, project, action)
        except (APIConnectionError, ServerError):
            # every attempt allowed went unanswered or met a 5xx (an answer below 500 set it to 1)
            metrics.UPSTREAM_UP.set(0)
            raise

    async def _retried(
        self, url: str, params: dict[str, str] | None, project: str | None, action: str | None
    ) -> Answer:
        patient = _PATIENT.get()
        headers = {"X-Project-Id": project} if project else None

        async def once(timer: asyncio.Timeout) -> Answer:
            return await self._attempt(url, params, headers, timer, patient=patient, action=action)

        return await self._retrying(url, once)

    async def _retrying(
        self,
        url: str,
        once: Callable[[asyncio.Timeout], Awaitable[Answer]],
        *,
        again: Callable[[PooldriftError], bool] | None = None,
    ) -> Answer:
        """``once`` tried again after a failure that may go away (and that ``again`` allows),
        backing off, all within one deadline; the deadline's end raises the last failure."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        last: PooldriftError | None = None
        try:
            async with asyncio.timeout_at(loop.time() + settings.deadline) as timer:
                for attempt in range(1, settings.max_attempts + 1):
                    try:
                        return await once(timer)
                    except PooldriftError as exc:
                        last = exc
                        decision = retry_policy(exc) if again is None or again(exc) else False
                        if decision is False or attempt == settings.max_attempts:
                            raise
                        wait = backoff(decision, attempt, settings)
                        if loop.time() + wait >= (timer.when() or math.inf):
                            raise  # waiting would outlive the deadline: say so now, advice kept
                        metrics.UPSTREAM_RETRIES.labels(exc.outcome).inc()
                        await asyncio.sleep(wait)
        except TimeoutError:
            # the deadline cut an attempt or a wait short: the last answer says more than "timeout"
            if last is not None:
                raise last from None
            raise APITimeoutError(
                f"no answer within the {settings.deadline:g} s deadline from {_host(url)}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt raises or returns

    async def _spend_budget(self, budget: RequestBudget, deadline: float) -> None:
        waited = time.perf_counter()
        try:
            await budget.acquire(deadline)
        except BudgetExhaustedError:
            metrics.BUDGET_EXHAUSTED.inc()
            raise
        metrics.BUDGET_WAIT_SECONDS.observe(time.perf_counter() - waited)

    async def _admit(self, timer: asyncio.Timeout, *, patient: bool) -> None:
        """Take an in-flight slot, then a slot of the request budget just before sending (so the
        budget counts requests when the gateway does, not while they queue for a connection).

        An interactive call that would wait past its deadline is told at once. A patient one (a
        scan of many pools) queues, and its deadline stands still meanwhile: the in-flight bound
        and the budget set a scan's pace, they are not its failures."""
        loop = asyncio.get_running_loop()
        deadline = timer.when() or math.inf
        paused = loop.time()
        if patient:
            timer.reschedule(None)
        try:
            await self._in_flight.acquire()
            try:
                if self._budget is not None:
                    await self._spend_budget(self._budget, math.inf if patient else deadline)
            except BaseException:
                self._in_flight.release()
                raise
        finally:
            if patient:
                timer.reschedule(deadline + (loop.time() - paused))

    async def _attempt(
        self,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
        timer: asyncio.Timeout,
        *,
        patient: bool = False,
        action: str | None = None,
        method: str = "GET",
        content: bytes | None = None,
    ) -> tuple[Any, str | None]:
        writing = method != "GET"
        await self._admit(timer, patient=patient)
        try:
            metrics.UPSTREAM_IN_FLIGHT.inc()
            started = time.perf_counter()
            status = "unreachable"
            try:
                request = self._http.build_request(
                    method, url, params=params, headers=headers, content=content
                )
                response = await self._http.send(request, stream=True)
                status = str(response.status_code)
                if response.status_code < 500:
                    metrics.UPSTREAM_UP.set(1)  # it answered: reachable, whatever it thinks of us
                try:
                    body = await self._bounded_body(response, url)
                finally:
                    # read to its end, the connection goes back to the pool; cut short, it is closed
                    await response.aclose()
            except asyncio.CancelledError:
                # the call's own deadline ran out: a timeout; else our caller gave up, which
                # says nothing of the upstream
                status = "timeout" if timer.expired() else "cancelled"
                if writing and timer.expired():  # cut short once sent: it may have been applied
                    raise _unknown(
                        url, "timeout", f"no answer within the {self._settings.deadline:g} s deadline"
                    ) from None
                raise
            except httpx2.TimeoutException as exc:
                status = "timeout"
                if writing and not isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
                    raise _unknown(
                        url, "timeout", f"no answer within {self._settings.read_timeout:g} s"
                    ) from None
                raise APITimeoutError(
                    f"{_host(url)} did not answer within {self._settings.read_timeout:g} s"
                ) from None
            except httpx2.DecodingError:
                status = "undecodable"
                raise MalformedResponseError(
                    f"{_host(url)} sent a body that could not be decoded", status_code=200, request_id=None
                ) from None
            except httpx2.RequestError as exc:  # connect, read, write, protocol errors
                if writing and not isinstance(exc, httpx2.ConnectError):  # refused: it never arrived
                    raise _unknown(
                        url, "unreachable", f"the connection broke ({type(exc).__name__})"
                    ) from None
                raise APIConnectionError(f"could not reach {_host(url)}: {type(exc).__name__}") from None
            finally:
                elapsed = time.perf_counter() - started
                metrics.UPSTREAM_IN_FLIGHT.dec()
                if status != "cancelled":  # cut short by us: not a latency of the upstream's
                    metrics.UPSTREAM_SECONDS.observe(elapsed)
                metrics.UPSTREAM_REQUESTS.labels(status).inc()
        finally:
            self._in_flight.release()
        request_id = response.headers.get("X-Request-Id")
        if log.isEnabledFor(logging.DEBUG):  # the arguments cost more than the check
            log.debug(
                "%s %s -> %s in %.1f ms (request id %s)",
                method,
                response.request.url.path,
                response.status_code,
                elapsed * 1000,
                request_id,
            )
        if response.status_code == 429:
            metrics.UPSTREAM_THROTTLED.inc()
        if writing and response.status_code >= 500:  # the vendor may have applied it, then failed
            raise _unknown(
                url, "server_error", f"HTTP {response.status_code}", response.status_code, request_id
            )
        if not response.is_success:
            raise status_error_from_response(response, body, action=action)
        try:
            return json.loads(body), request_id
        except ValueError:
            if writing:
                raise _unknown(
                    url, "malformed_response", "an answer that is not JSON", response.status_code, request_id
                ) from None
            raise MalformedResponseError(
                "the API answered with a body that is not JSON"
                + (f" (request id {request_id})" if request_id else ""),
                status_code=response.status_code,
                request_id=request_id,
            ) from None

    async def _bounded_body(self, response: httpx2.Response, url: str) -> bytes:
        """The body of ``response``, at most ``max_response_bytes`` of it: a larger one announced
        is refused before any of it is read, one sent without a length once the bytes read (after
        decoding, as they are held) pass the limit, so a process never holds more than the limit
        and a chunk of an answer, however large upstream makes it."""
        limit = self._settings.max_response_bytes
        announced = response.headers.get("Content-Length")
        size = int(announced) if announced is not None and announced.isdigit() else None
        if size is not None and size > limit:
            raise self._too_large(response, url, limit, size)
        chunks: list[bytes] = []
        read = 0
        async with aclosing(response.aiter_bytes()) as body:
            async for chunk in body:
                read += len(chunk)
                if read > limit:
                    raise self._too_large(response, url, limit, None)
                chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _too_large(
        response: httpx2.Response, url: str, limit: int, size: int | None
    ) -> ResponseTooLargeError:
        return ResponseTooLargeError.of(
            _host(url),
            limit=limit,
            size=size,
            status_code=response.status_code,
            request_id=response.headers.get("X-Request-Id"),
        )


def _unknown(
    url: str, cause: str, what: str, status_code: int | None = None, request_id: str | None = None
) -> WriteUnknownError:
    rid = f" (request id {request_id})" if request_id else ""
    return WriteUnknownError(
        f"a write to {_host(url)} may have been applied: {what}{rid}; it is not sent again",
        cause=cause,
        status_code=status_code,
        request_id=request_id,
    )


@contextmanager
def patient_budget() -> Iterator[None]:
    """Within this block (and the tasks it starts) calls wait for the request budget as long as
    it takes, instead of failing with ``BudgetExhaustedError``: for scans of many pools."""
    token = _PATIENT.set(True)
    try:
        yield
    finally:
        _PATIENT.reset(token)


def retry_policy(exc: Exception) -> bool | float:
    """stamina's ``on=`` hook: False to give up, True to back off and retry, or the seconds the
    server asked us to wait (``Retry-After``) before retrying."""
    if not isinstance(exc, PooldriftError) or not exc.retryable:
        return False
    advice: float | None = getattr(exc, "retry_after", None)
    return advice if advice is not None else True


def backoff(decision: bool | float, attempt: int, settings: Settings) -> float:
    """Seconds to wait after failed attempt number ``attempt``: the server's advice when it gave
    one, else stamina's formula — initial × 2^(attempt−1) plus up to ``backoff_initial`` of
    jitter, at most ``backoff_max``."""
    if decision is not True:
        return float(decision)
    exponential: float = settings.backoff_initial * 2.0 ** (attempt - 1)
    jitter = random.uniform(0, settings.backoff_initial)  # noqa: S311 - spreading retries, not security
    return min(settings.backoff_max, exponential + jitter)


def _auth(settings: Settings, clock: Clock | None) -> httpx2.Auth:
    if settings.auth_token is not None:
        return TokenAuth(settings.auth_token)
    assert settings.access_key is not None and settings.secret_key is not None
    kw: dict[str, Any] = {"clock": clock} if clock is not None else {}
    return AKSKAuth(settings.access_key, settings.secret_key, security_token=settings.security_token, **kw)


def _http_client(
    settings: Settings, auth: httpx2.Auth, transport: httpx2.AsyncBaseTransport | None
) -> httpx2.AsyncClient:
    limits = httpx2.Limits(
        max_connections=settings.max_in_flight,
        max_keepalive_connections=settings.max_in_flight,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    if transport is None and settings.http_transport == "aiohttp" and not urllib.request.getproxies():
        # aiohttp under httpx2's API: a third off each request (docs/performance.md).
        # With a proxy configured, httpx2's own transport (which honours it) stays.
        transport = AiohttpTransport(limits=limits, max_body=settings.max_response_bytes)
    return httpx2.AsyncClient(
        auth=auth,
        transport=transport,
        timeout=httpx2.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.deadline
        ),
        limits=limits,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"pooldrift/{__version__}",
        },
        follow_redirects=False,
    )


def _host(url: str) -> str:
    return httpx2.URL(url).netloc.decode("ascii")
