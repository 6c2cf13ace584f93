"""The emulator's ASGI app: a Starlette app whose front door signs, counts, throttles, delays and
breaks. Every answer carries ``X-Request-Id``. Faults that cut a connection need the server's transport,
which uvicorn's ``send`` carries; under another server they degrade to an exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from . import api, asgi, mutate, writes
from .auth import verify
from .config import EmulatorConfig
from .data import EmulatorData
from .faults import DEFAULT_ERROR_CODES, Faults
from .generate import FleetSpec
from .jobs import Jobs
from .recorder import RequestLog, WriteLog, WriteRecord
from .shape import Shape
from .throttle import THROTTLE_CODE, Throttle, throttle_message

log = logging.getLogger("pooldrift.emulator")

CONTROL_PREFIX = "/_emulator"
_POOL = "/v2/{project_id}/desktop-pools/{pool_id}"
_PROJECT = "/v2/{project_id}"
#: Where the front door leaves a write's record for its handler, in the request's scope.
_WRITE = "pooldrift.write"
THROTTLED_MSG = "The throttling threshold has been reached"
#: a huge answer's padding is sent in pieces of this size, the same bytes each time
_PAD = b" " * (64 * 1024)
_MALFORMED_BODY = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Service temporarily unavailable</h1><p>Please try again later.</p></body></html>"
)


def create_app(
    config: EmulatorConfig | None = None,
    *,
    faults: Faults | None = None,
    data: EmulatorData | None = None,
    requests: RequestLog | None = None,
    shape: Shape | None = None,
    throttle: Throttle | None = None,
    writes: WriteLog | None = None,
    jobs: Jobs | None = None,
) -> EmulatorApp:
    """A ready ASGI app; pass ``faults``/``data``/``requests``/``shape``/``throttle``/``writes``/``jobs``
    to share them with a test."""
    config = config or EmulatorConfig()
    data = data if data is not None else EmulatorData.for_config(config)
    return EmulatorApp(
        config,
        faults if faults is not None else Faults(seed=config.fault_seed),
        data,
        requests if requests is not None else RequestLog(config.request_log_limit),
        shape if shape is not None else Shape(),
        throttle if throttle is not None else Throttle(config.rate_limit),
        writes=writes,
        jobs=jobs if jobs is not None else Jobs(data, config.job_seconds, wall=config.clock),
    )


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


class EmulatorApp(Starlette):
    """Starlette app with the Workspace, IAM and (optionally) control routes."""

    def __init__(
        self,
        config: EmulatorConfig,
        faults: Faults,
        data: EmulatorData,
        requests: RequestLog,
        shape: Shape,
        throttle: Throttle | None = None,
        *,
        writes: WriteLog | None = None,
        jobs: Jobs | None = None,
    ):
        routes = [
            Route("/v3/projects", self._projects, methods=["GET"]),
            Route("/v3/auth/projects", self._auth_projects, methods=["GET"]),
            Route("/v2/{project_id}/desktop-pools", self._pools, methods=["GET"]),
            Route(_POOL, self._pool, methods=["GET"]),
            Route(f"{_POOL}/desktops", self._desktops, methods=["GET"]),
            Route(
                "/v2/{project_id}/desktop-pools/{pool_id}/inconsistent-statics",
                self._statics,
                methods=["GET"],
            ),
            Route(f"{_POOL}/rebuild", self._rebuild_pool, methods=["POST"]),
            Route(f"{_POOL}/notifications", self._notify_pool, methods=["POST"]),
            Route(f"{_PROJECT}/desktops/rebuild", self._rebuild_desktops, methods=["POST"]),
            Route(f"{_PROJECT}/desktops/resize", self._resize, methods=["POST"]),
            Route(f"{_PROJECT}/desktops/notifications", self._notify, methods=["POST"]),
            Route(f"{_PROJECT}/volumes", self._add_volumes, methods=["POST"]),
            Route(f"{_PROJECT}/volumes/expand", self._expand_volumes, methods=["POST"]),
            Route(f"{_PROJECT}/workspace-jobs/{{job_id}}", self._show_job, methods=["GET"]),
            Route(f"{_PROJECT}/workspace-sub-jobs", self._sub_jobs, methods=["GET"]),
        ]
        if config.control:
            routes += [
                Route(f"{CONTROL_PREFIX}/faults", self._faults, methods=["GET", "POST", "DELETE"]),
                Route(f"{CONTROL_PREFIX}/shape", self._shape, methods=["GET", "POST", "DELETE"]),
                Route(f"{CONTROL_PREFIX}/requests", self._requests, methods=["GET", "DELETE"]),
                Route(f"{CONTROL_PREFIX}/writes", self._writes, methods=["GET", "DELETE"]),
                Route(f"{CONTROL_PREFIX}/jobs", self._jobs, methods=["GET", "POST"]),
                Route(f"{CONTROL_PREFIX}/rate-limit", self._rate_limit, methods=["GET", "POST", "DELETE"]),
                Route(f"{CONTROL_PREFIX}/data", self._data, methods=["GET", "POST", "DELETE"]),
                Route(f"{CONTROL_PREFIX}/reset", self._reset, methods=["POST"]),
                Route(f"{CONTROL_PREFIX}/pools", self._add_pool, methods=["POST"]),
                Route(f"{CONTROL_PREFIX}/pools/{{pool_id}}", self._delete_pool, methods=["DELETE"]),
                Route(f"{CONTROL_PREFIX}/pools/{{pool_id}}/drift", self._drift_pool, methods=["POST"]),
                Route(f"{CONTROL_PREFIX}/desktops/{{desktop_id}}", self._set_desktop, methods=["POST"]),
            ]
        super().__init__(routes=routes, exception_handlers={HTTPException: self._http_error})
        self.config = config
        self.faults = faults
        self.data = data
        self.requests = requests
        self.shape = shape
        self.throttle = throttle if throttle is not None else Throttle(config.rate_limit)
        self._huge: deque[tuple[int, int]] = deque(maxlen=100)
        self._huge_lock = threading.Lock()
        #: every write received, applied or not (``GET /_emulator/writes``)
        self.writes = writes if writes is not None else WriteLog(config.request_log_limit)
        #: the jobs the writes started; they advance on every request
        self.jobs = jobs if jobs is not None else Jobs(data, config.job_seconds, wall=config.clock)

    def reset(self) -> None:
        """No faults, the full current answers, an empty request log, the configured rate limit
        with an empty window, no writes or jobs, and the seeded data set it started with again."""
        self.faults.reset()
        self.shape.reset()
        self.requests.clear()
        self.writes.clear()
        self.jobs.reset()
        self.throttle.reset()
        self.data.reset()
        with self._huge_lock:
            self._huge.clear()

    def huge_answers(self) -> list[tuple[int, int]]:
        """(bytes sent, bytes the answer had) of the last huge answers sent (or cut short), oldest
        first: a client that stops reading one hangs up before it is all sent."""
        with self._huge_lock:
            return list(self._huge)

    # -- the front door --------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        tagged = asgi.with_request_id(send, request_id)
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await super().__call__(scope, receive, tagged)
            return

        body = await asgi.read_body(receive)
        headers = asgi.headers(scope)
        method: str = scope["method"]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        self.requests.record(method, path, raw_query, headers)
        write: WriteRecord | None = None
        if method != "GET" and path.startswith("/v2/"):
            write = self.writes.record(method, path, raw_query, body)
            scope = {**scope, _WRITE: write}
            tagged = self._recording(tagged, write)
        refusal = self.throttle.admit()
        if refusal is not None:
            # the gateway refuses before anything else runs: no fault, no latency, no signature check
            refused = asgi.gateway_error(THROTTLE_CODE, throttle_message(refusal.per_minute))
            extra = {"Retry-After": str(refusal.retry_after)}
            await _json(429, refused, extra)(scope, asgi.noop_receive, tagged)
            if write is not None:
                self.writes.update(write, status=429, error_code=THROTTLE_CODE)
            log.info("%s %s -> 429 [throttled] (request id %s)", method, path, request_id)
            return
        decision = self.faults.decide(path)
        if write is not None and decision.kind not in (None, "slow"):
            self.writes.update(write, fault=decision.kind)
        self.jobs.advance()
        try:
            if decision.latency > 0:
                await asyncio.sleep(decision.latency)
            status = await self._answer(scope, send, tagged, decision.kind, decision.status, body, headers)
        except asyncio.CancelledError:
            # the server is stopping mid-answer (a slow fault): hang up quietly, no traceback
            asgi.abort(send)
            return
        if write is not None and isinstance(status, str):
            self.writes.update(write, status=status)
        log.info(
            "%s %s -> %s%s in %.1f ms (request id %s)",
            method,
            path,
            status,
            f" [fault: {decision.kind}]" if decision.kind else "",
            (time.perf_counter() - started) * 1000,
            request_id,
        )

    async def _answer(
        self,
        scope: Scope,
        raw_send: Send,
        send: Send,
        kind: str | None,
        status: int,
        body: bytes,
        headers: dict[str, str],
    ) -> int | str:
        error_code, retry_after, slow_body = self.faults.answer_details()
        if kind == "drop":
            await asgi.close_connection(raw_send)
            return "dropped"
        if kind == "rate_limit":
            extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            answer = _json(429, asgi.gateway_error(THROTTLE_CODE, THROTTLED_MSG), extra)
            await answer(scope, asgi.noop_receive, send)
            return 429
        if kind == "error":
            code = error_code or DEFAULT_ERROR_CODES.get(status, "APIGW.0103")
            message = f"Injected fault: the backend answered {status}"
            await _json(status, asgi.gateway_error(code, message))(scope, asgi.noop_receive, send)
            return status

        failure = verify(
            self.config,
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?")[0],
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )
        if failure is not None:
            response: Response = _json(401, asgi.gateway_error(failure.error_code, failure.error_msg))
            start, content = await asgi.render(response, scope)
        else:
            start, content = await asgi.capture(super().__call__, scope, asgi.replay(body))

        if kind == "malformed":
            start = {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(_MALFORMED_BODY)).encode()),
                ],
            }
            content = _MALFORMED_BODY
        if kind == "huge":
            return await self._huge_answer(raw_send, send, start, content, slow_body)
        await send(start)
        if kind == "truncate" and len(content) > 1:
            await send(
                {"type": "http.response.body", "body": content[: len(content) // 2], "more_body": True}
            )
            await asgi.close_connection(raw_send)
            return "truncated"
        if kind == "slow" and slow_body > 0 and content:
            pieces = min(10, len(content))
            step = -(-len(content) // pieces)
            for offset in range(0, len(content), step):
                await asyncio.sleep(slow_body / pieces)
                await send(
                    {"type": "http.response.body", "body": content[offset : offset + step], "more_body": True}
                )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return int(start["status"])
        await send(asgi.body(content))
        return int(start["status"])

    async def _huge_answer(
        self, raw_send: Send, send: Send, start: Message, content: bytes, slow_body: float
    ) -> str:
        """The answer, then spaces up to ``huge_size`` bytes (JSON allows them after a value), made
        as they are sent, so the emulator holds 64 KiB of it whatever the size; chunked or with the
        whole size as its Content-Length. Sending stops when the client hangs up."""
        size, framing = self.faults.huge_details()
        size = max(size, len(content))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if framing == "length":
            headers.append((b"content-length", str(size).encode()))
        await send({**start, "headers": headers})
        sent, tenth, pauses = 0, size / 10, 0
        while sent < size and not asgi.gone(raw_send):
            if slow_body > 0 and pauses < 10 and sent >= pauses * tenth:
                pauses += 1
                await asyncio.sleep(slow_body / 10)  # before each tenth of the body
                continue
            piece = content if sent == 0 and content else _PAD[: min(len(_PAD), size - sent)]
            await send(asgi.body(piece, more=True))
            sent += len(piece)
            # uvicorn's send returns at once while the socket takes more: yield, so a hang-up
            # (which the loop learns of in a callback) is seen before the next piece
            await asyncio.sleep(0)
        if not asgi.gone(raw_send):
            await send(asgi.body(b""))
        with self._huge_lock:
            self._huge.append((sent, size))
        return f"{start.get('status', 200)} huge: {sent} of {size} bytes sent"

    # -- routes ----------------------------------------------------------------------------

    def _project_ok(self, request: Request) -> bool:
        return self.data.project(request.path_params["project_id"]) is not None

    @staticmethod
    def _query(request: Request) -> list[tuple[str, str]]:
        return list(request.query_params.multi_items())

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def _projects(self, request: Request) -> Response:
        return _json(*api.list_projects(self.config, self.data, self._query(request), self._base(request)))

    async def _auth_projects(self, request: Request) -> Response:
        return _json(*api.auth_projects(self.config, self.data, self._base(request)))

    async def _pools(self, request: Request) -> Response:
        if not self._project_ok(request):
            return _json(*api.no_project(request.path_params["project_id"]))
        project = request.path_params["project_id"]
        return _json(*api.list_pools(self.data, self.shape, project, self._query(request)))

    async def _pool(self, request: Request) -> Response:
        if not self._project_ok(request):
            return _json(*api.no_project(request.path_params["project_id"]))
        params = request.path_params
        return _json(*api.show_pool(self.data, self.shape, params["project_id"], params["pool_id"]))

    async def _desktops(self, request: Request) -> Response:
        if not self._project_ok(request):
            return _json(*api.no_project(request.path_params["project_id"]))
        params = request.path_params
        return _json(
            *api.list_desktops(
                self.data, self.shape, params["project_id"], params["pool_id"], self._query(request)
            )
        )

    async def _statics(self, request: Request) -> Response:
        if not self._project_ok(request):
            return _json(*api.no_project(request.path_params["project_id"]))
        params = request.path_params
        return _json(*api.statics(self.data, self.shape, params["project_id"], params["pool_id"]))

    # -- the writes (see writes.py) and their jobs --------------------------------------------

    def _recording(self, send: Send, write: WriteRecord) -> Send:
        """``send`` that puts the status in the write's record before the client can see it."""

        async def recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.writes.update(write, status=int(message["status"]))
            await send(message)

        return recorded

    async def _write(self, request: Request, handler: writes.Handler) -> Response:
        """One write: its fault (429 before it is processed; 500 or a late answer after it is
        applied; a job that never ends), the handler under the data lock, and its record."""
        record: WriteRecord | None = request.scope.get(_WRITE)
        kind = self.faults.decide_write()
        if record is not None and kind is not None:
            self.writes.update(record, fault=kind)
        if kind == "rate_limit":
            _, retry_after, _ = self.faults.answer_details()
            extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            if record is not None:
                self.writes.update(record, error_code=THROTTLE_CODE)
            return _json(429, asgi.gateway_error(THROTTLE_CODE, THROTTLED_MSG), extra)
        project = request.path_params["project_id"]
        if not self._project_ok(request):
            return _json(*api.no_project(project))
        body = await _body_json(request)
        with self.data.lock:
            status, answer = handler(self.data, self.jobs, self.faults, project, request.path_params, body)
        job_id = answer.get("job_id") if status == 200 else None
        if record is not None:
            self.writes.update(
                record, applied=job_id is not None, job_id=job_id, error_code=answer.get("error_code")
            )
        if job_id is not None and kind == "endless_job":
            self.jobs.make_endless(job_id)
        if job_id is not None and kind == "error_after_apply":
            message = "Injected fault: the backend answered 500 after applying the request"
            code = DEFAULT_ERROR_CODES[500]
            if record is not None:
                self.writes.update(record, error_code=code)
            return _json(500, asgi.gateway_error(code, message))
        if job_id is not None and kind == "timeout_after_apply":
            # applied; the answer comes after the client has given up on it
            await asyncio.sleep(self.faults.write_delay)
        return _json(status, answer)

    async def _rebuild_pool(self, request: Request) -> Response:
        return await self._write(request, writes.on_pool(writes.rebuild_pool))

    async def _notify_pool(self, request: Request) -> Response:
        return await self._write(request, writes.on_pool(writes.send_pool_notifications))

    async def _rebuild_desktops(self, request: Request) -> Response:
        return await self._write(request, writes.on_project(writes.rebuild_desktops))

    async def _resize(self, request: Request) -> Response:
        return await self._write(request, writes.on_project(writes.resize_desktops))

    async def _notify(self, request: Request) -> Response:
        return await self._write(request, writes.on_project(writes.send_notifications))

    async def _add_volumes(self, request: Request) -> Response:
        return await self._write(request, writes.on_project(writes.add_volumes))

    async def _expand_volumes(self, request: Request) -> Response:
        return await self._write(request, writes.on_project(writes.expand_volumes))

    async def _show_job(self, request: Request) -> Response:
        if not self._project_ok(request):
            return _json(*api.no_project(request.path_params["project_id"]))
        params = request.path_params
        return _json(*writes.show_job(self.jobs, params["project_id"], params["job_id"]))

    async def _sub_jobs(self, request: Request) -> Response:
        if not self._project_ok(request):
            return _json(*api.no_project(request.path_params["project_id"]))
        return _json(
            *writes.list_sub_jobs(self.jobs, request.path_params["project_id"], self._query(request))
        )

    async def _writes(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.writes.clear()
        return _json(200, self.writes.to_dict())

    async def _jobs(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.jobs.update(**await asgi.json_object(request, "job settings"))
            except (ValueError, TypeError) as exc:
                return _json(400, {"error_code": api.BAD_REQUEST, "error_msg": str(exc)})
        self.jobs.advance()
        return _json(200, self.jobs.to_dict())

    async def _faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.reset()
        elif request.method == "POST":
            try:
                values = await asgi.json_object(request, "fault settings")
                count = values.pop("fail_next_count", None)
                kind = values.pop("fail_next_kind", "error")
                self.faults.update(**values)
                if count:
                    self.faults.fail_next_n(str(kind), int(count))
            except (ValueError, TypeError) as exc:
                return _json(400, {"error_code": api.BAD_REQUEST, "error_msg": str(exc)})
        return _json(200, self.faults.to_dict())

    async def _shape(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.shape.reset()
        elif request.method == "POST":
            try:
                values = await asgi.json_object(request, "shape settings")
                self.shape.update(**values)
            except (ValueError, TypeError) as exc:
                return _json(400, {"error_code": api.BAD_REQUEST, "error_msg": str(exc)})
        return _json(200, self.shape.to_dict())

    async def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
        return _json(200, self.requests.to_dict())

    async def _rate_limit(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.throttle.clear()
        elif request.method == "POST":
            try:
                values = await asgi.json_object(request, "rate-limit settings")
                unknown = sorted(set(values) - {"requests_per_minute"})
                if unknown:
                    raise ValueError(f"unknown rate-limit settings: {', '.join(unknown)}")
                if "requests_per_minute" in values:
                    self.throttle.update(values["requests_per_minute"])
            except (ValueError, TypeError) as exc:
                return _json(400, {"error_code": api.BAD_REQUEST, "error_msg": str(exc)})
        return _json(200, self.throttle.to_dict())

    async def _data(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.data.reset()
        elif request.method == "POST":
            try:
                spec = FleetSpec.from_dict(await asgi.json_object(request, "fleet settings"))
            except (ValueError, TypeError) as exc:
                return _json(400, {"error_code": api.BAD_REQUEST, "error_msg": str(exc)})
            self.data.generate(spec)
        return _json(200, self.data.summary())

    async def _reset(self, _request: Request) -> Response:
        self.reset()
        return _json(200, {"reset": True})

    # -- run-time changes to the data (see mutate.py) ---------------------------------------

    async def _add_pool(self, request: Request) -> Response:
        return _json(*mutate.add_pool(self.data, await _body_json(request)))

    async def _delete_pool(self, request: Request) -> Response:
        return _json(*mutate.delete_pool(self.data, request.path_params["pool_id"]))

    async def _drift_pool(self, request: Request) -> Response:
        body = await _body_json(request)
        return _json(*mutate.drift_pool(self.data, request.path_params["pool_id"], body))

    async def _set_desktop(self, request: Request) -> Response:
        body = await _body_json(request)
        return _json(*mutate.set_desktop(self.data, request.path_params["desktop_id"], body))

    async def _http_error(self, _request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            body = asgi.gateway_error(
                api.API_NOT_FOUND, "The API does not exist or has not been published in the environment"
            )
        else:
            body = asgi.gateway_error(f"APIGW.{status:04d}", str(getattr(exc, "detail", "error")))
        return _json(status, body)


async def _body_json(request: Request) -> Any:
    """The request's JSON body; None when it is not JSON (the handler says what it wanted)."""
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None
