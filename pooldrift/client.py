"""``WorkspaceClient``: the one async client every front shares.

validate → limit (in flight, per minute) → sign → retry within one deadline → parse → typed error.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
import urllib.request
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, overload

import httpx2
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from . import __version__
from .budget import RequestBudget, open_budget
from .config import Settings, load_settings, with_overrides
from .errors import (
    AmbiguousPoolError,
    APIConnectionError,
    APITimeoutError,
    MalformedResponseError,
    PooldriftError,
    PoolNotFoundError,
    ProjectLookupError,
    RateLimitError,
    ServerError,
    status_error_from_response,
)
from .models import (
    DesktopPool,
    DriftReport,
    InconsistentStatics,
    InconsistentType,
    PoolDesktop,
    PoolDesktopPage,
    PoolDesktops,
    PoolList,
    merge_drift_listings,
)
from .signing import AKSKAuth, Clock, TokenAuth
from .validation import (
    is_pool_id,
    shown,
    validate_pool_id,
    validate_pool_ref,
    validate_project_id,
    validate_region,
)

__all__ = ["DesktopPools", "ScanEntry", "WorkspaceClient", "gather_all"]

log = logging.getLogger("pooldrift.client")

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_POOL_PAGE = 1000
_DESKTOP_PAGE = 100
_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")
_U = TypeVar("_U")


class DesktopPools(BaseModel):
    """Pools of a project, possibly capped: ``total_count`` is how many matched upstream."""

    total_count: int = Field(description="How many pools matched upstream.")
    pools: list[DesktopPool] = Field(description="The pools fetched (at most the cap).")

    @property
    def truncated(self) -> bool:
        return self.total_count > len(self.pools)


class ScanEntry(BaseModel):
    """One pool of a scan: its report, or why there is none."""

    pool_id: str
    pool_name: str
    report: DriftReport | None = None
    error: str | None = None


_Key = tuple[str, tuple[tuple[str, str], ...], str | None]
_Answer = tuple[Any, str | None]
_MAX_RECENT = 1024


@dataclass
class _Shared:
    """What every view of one client shares: connections, limits and the project cache."""

    http: httpx2.AsyncClient
    owns_http: bool
    in_flight: asyncio.Semaphore
    budget: RequestBudget | None
    cache_ttl: float = 0.0
    projects: dict[tuple[str, str], str] = field(default_factory=dict)
    project_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: identical GETs under way: later callers share the first one's answer
    pending: dict[_Key, asyncio.Future[_Answer]] = field(default_factory=dict)
    #: recent answers, kept ``cache_ttl`` seconds (0: no cache)
    recent: dict[_Key, tuple[float, _Answer]] = field(default_factory=dict)


class WorkspaceClient:
    """Async client of the Huawei Cloud Workspace desktop-pool APIs.

    Use as ``async with WorkspaceClient() as client: ...``; keep one per process. The
    ``with_options`` views (another region or project) share its connections and limits.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> None:
        if settings is None:
            settings = load_settings(**overrides)
        elif overrides:
            settings = with_overrides(settings, **overrides)
        settings.check_credentials()
        budget = open_budget(settings)  # before any connection: a bad Redis setting leaks nothing
        self._settings = settings
        if settings.auth_token is not None:
            auth: httpx2.Auth = TokenAuth(settings.auth_token)
        else:
            assert settings.access_key is not None and settings.secret_key is not None
            kw: dict[str, Any] = {"clock": clock} if clock is not None else {}
            auth = AKSKAuth(
                settings.access_key,
                settings.secret_key,
                security_token=settings.security_token,
                **kw,
            )
        if http_client is None:
            limits = httpx2.Limits(
                max_connections=settings.max_in_flight,
                max_keepalive_connections=settings.max_in_flight,
            )
            if transport is None and settings.http_transport == "aiohttp" and not urllib.request.getproxies():
                # aiohttp under httpx2's API: half the CPU per request (docs/performance.md).
                # With a proxy configured, httpx2's own transport (which honours it) stays.
                from .transport import AiohttpTransport

                transport = AiohttpTransport(limits=limits)
            http = httpx2.AsyncClient(
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
        else:
            http = http_client
            http.auth = auth
        self._shared = _Shared(
            http=http,
            owns_http=http_client is None,
            in_flight=asyncio.Semaphore(settings.max_in_flight),
            budget=budget,
            cache_ttl=settings.cache_ttl,
        )
        self._region = settings.region
        self._project_id = settings.project_id

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        try:
            if self._shared.owns_http:
                await self._shared.http.aclose()
        finally:
            if self._shared.budget is not None:
                await self._shared.budget.aclose()

    def __repr__(self) -> str:
        return f"WorkspaceClient(region={self._region!r}, project_id={self._project_id!r})"

    def with_options(self, *, region: str | None = None, project_id: str | None = None) -> Self:
        """A view of this client for another region or project, sharing its connections."""
        view = object.__new__(type(self))
        view._settings = self._settings
        view._shared = self._shared
        view._region = validate_region(region) if region else self._region
        if project_id:
            view._project_id = validate_project_id(project_id.strip())
        else:
            # a project id configured for one region means nothing in another
            view._project_id = self._project_id if view._region == self._region else None
        return view

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def region(self) -> str:
        return self._region

    # -- project ---------------------------------------------------------------------------

    async def get_project_id(self) -> str:
        """The configured project id, or the region's one from IAM (looked up once)."""
        if self._project_id:
            return self._project_id
        key = (self._settings.iam_base(self._region), self._region)
        shared = self._shared
        if key in shared.projects:
            return shared.projects[key]
        async with shared.project_lock:
            if key not in shared.projects:
                shared.projects[key] = await self._lookup_project()
        return shared.projects[key]

    async def _lookup_project(self) -> str:
        url = f"{self._settings.iam_base(self._region)}/v3/projects"
        data, _ = await self._get_json(url, params={"name": self._region})
        projects = data.get("projects") if isinstance(data, dict) else None
        if not isinstance(projects, list):
            raise ProjectLookupError("IAM answered the project lookup without a project list")
        ids = [p.get("id") for p in projects if isinstance(p, dict) and p.get("name") == self._region]
        if len(ids) != 1 or not isinstance(ids[0], str):
            found = "no project" if not ids else f"{len(ids)} projects"
            raise ProjectLookupError(
                f"IAM has {found} named {self._region} for these credentials; set HUAWEICLOUD_SDK_PROJECT_ID"
            )
        try:
            return validate_project_id(ids[0])
        except PooldriftError:
            raise ProjectLookupError("IAM returned a project id of an unexpected form") from None

    # -- the API ---------------------------------------------------------------------------

    async def inconsistent_statics(self, pool_id: str) -> DriftReport:
        """How many desktops of the pool differ from its package, image and disks."""
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools/{pool_id}/inconsistent-statics"
        data, request_id = await self._get_json(url, project=project)
        counts = self._parse(InconsistentStatics, data, request_id)
        return DriftReport(
            pool_id=pool_id,
            project_id=project,
            region=self._region,
            request_id=request_id,
            fetched_at=datetime.now(UTC),
            **counts.model_dump(),
        )

    async def get_pool(self, pool_id: str) -> DesktopPool:
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools/{pool_id}"
        data, request_id = await self._get_json(url, project=project)
        if isinstance(data, dict) and isinstance(data.get("desktop_pool"), dict):
            data = data["desktop_pool"]
        return self._parse(DesktopPool, data, request_id)

    async def list_pools(self, name: str | None = None, *, max_items: int | None = None) -> DesktopPools:
        """Pools of the project (``name`` filters upstream), following pages to the end."""
        params: dict[str, str] = {}
        if name is not None:
            params["name"] = validate_pool_ref(name)
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools"
        pools: list[DesktopPool] = []
        total = 0
        while True:
            limit = _POOL_PAGE if max_items is None else min(_POOL_PAGE, max_items - len(pools))
            page_params = {**params, "offset": str(len(pools)), "limit": str(limit)}
            data, request_id = await self._get_json(url, params=page_params, project=project)
            page = self._parse(PoolList, data, request_id)
            total = page.total_count
            pools.extend(page.desktop_pools)
            done = not page.desktop_pools or len(pools) >= total
            if done or (max_items is not None and len(pools) >= max_items):
                break
        return DesktopPools(total_count=max(total, len(pools)), pools=pools)

    async def list_pool_desktops(
        self,
        pool_id: str,
        inconsistent_type: InconsistentType | str | None = None,
        *,
        max_items: int | None = None,
    ) -> PoolDesktops:
        """Desktops of a pool, optionally only those drifted in one way; pages of 100."""
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        kind = None
        if inconsistent_type is not None:
            try:
                kind = InconsistentType.parse(str(inconsistent_type))
            except ValueError:
                from .errors import InvalidInputError

                raise InvalidInputError(
                    f"unknown inconsistent type {shown(str(inconsistent_type))}; one of "
                    + ", ".join(k.value for k in InconsistentType),
                    field="inconsistent_type",
                ) from None
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools/{pool_id}/desktops"
        desktops: list[PoolDesktop] = []
        total = 0
        while max_items is None or len(desktops) < max_items:
            limit = _DESKTOP_PAGE if max_items is None else min(_DESKTOP_PAGE, max_items - len(desktops))
            params = {"offset": str(len(desktops)), "limit": str(limit)}
            if kind is not None:
                params["inconsistent_type"] = kind.value
            data, request_id = await self._get_json(url, params=params, project=project)
            page = self._parse(PoolDesktopPage, data, request_id)
            total = page.total_count
            desktops.extend(page.pool_desktops)
            if not page.pool_desktops or len(desktops) >= total:
                break
        return PoolDesktops(
            pool_id=pool_id,
            inconsistent_type=kind,
            total_count=max(total, len(desktops)),
            desktops=desktops,
        )

    async def list_drifted_desktops(self, pool_id: str, *, max_items: int | None = None) -> PoolDesktops:
        """Desktops drifted in any way: the four filtered queries (concurrently), merged.

        Each desktop appears once, with every way it differs in ``drift``; ``kind_totals``
        has upstream's count for each kind. When a cap cut a list short, ``total_count`` is
        a lower bound (the largest per-kind total).
        """
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        listings = await gather_all(
            *(self.list_pool_desktops(pool_id, kind, max_items=max_items) for kind in InconsistentType)
        )
        return merge_drift_listings(pool_id, listings, max_items=max_items)

    async def resolve_pool(self, ref: str) -> DesktopPool:
        """A pool by id, or by exact name (case-insensitive); unknown or ambiguous names
        raise with the closest candidates."""
        ref = validate_pool_ref(ref)
        if is_pool_id(ref):
            return await self.get_pool(ref)
        matches = [p for p in (await self.list_pools(name=ref)).pools if p.name.lower() == ref.lower()]
        if len(matches) > 1:
            exact = [p for p in matches if p.name == ref]
            if len(exact) == 1:
                return exact[0]
            raise AmbiguousPoolError(
                f"{len(matches)} pools are named {shown(ref)}; use one of their ids: "
                + ", ".join(f"{p.name} ({p.id})" for p in matches[:10]),
                ref=ref,
                candidates=[(p.id, p.name) for p in matches],
            )
        if matches:
            return matches[0]
        everything = (await self.list_pools(max_items=_POOL_PAGE)).pools
        by_lower = {p.name.lower(): p for p in everything}
        close = difflib.get_close_matches(ref.lower(), list(by_lower), n=5, cutoff=0.5)
        close += [n for n in by_lower if ref.lower() in n and n not in close][: 5 - len(close)]
        candidates = [(by_lower[n].id, by_lower[n].name) for n in close]
        hint = (
            "closest names: " + ", ".join(name for _, name in candidates)
            if candidates
            else f"the project has {len(everything)} pools; list them to find the right one"
        )
        project = await self.get_project_id()
        raise PoolNotFoundError(
            f"no pool named {shown(ref)} in project {project} ({self._region}); {hint}",
            ref=ref,
            candidates=candidates,
            project_id=project,
            region=self._region,
        )

    async def check(self, ref: str) -> DriftReport:
        """Resolve a pool by id or name and fetch its drift counts, with its name and size."""
        ref = validate_pool_ref(ref)
        if is_pool_id(ref):
            pool, report = await gather_all(self.get_pool(ref), self.inconsistent_statics(ref))
        else:
            pool = await self.resolve_pool(ref)
            report = await self.inconsistent_statics(pool.id)
        return report.model_copy(update={"pool_name": pool.name, "desktop_count": pool.desktop_count})

    async def scan(self, *, max_pools: int | None = None) -> list[ScanEntry]:
        """Drift counts of every pool (concurrently, within the client's limits)."""
        listing = await self.list_pools(max_items=max_pools)

        async def one(pool: DesktopPool) -> ScanEntry:
            entry = ScanEntry(pool_id=pool.id, pool_name=pool.name)
            try:
                report = await self.inconsistent_statics(pool.id)
            except PooldriftError as exc:
                entry.error = exc.message
            else:
                entry.report = report.model_copy(
                    update={"pool_name": pool.name, "desktop_count": pool.desktop_count}
                )
            return entry

        return list(await gather_all(*(one(p) for p in listing.pools)))

    # -- plumbing --------------------------------------------------------------------------

    def _base(self) -> str:
        return self._settings.workspace_endpoint(self._region)

    @staticmethod
    def _parse(model: type[_M], data: Any, request_id: str | None) -> _M:
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise MalformedResponseError(
                f"unexpected answer from the API ({where}: {first['msg']})"
                + (f" (request id {request_id})" if request_id else ""),
                status_code=200,
                request_id=request_id,
            ) from None

    async def _get_json(
        self, url: str, *, params: dict[str, str] | None = None, project: str | None = None
    ) -> _Answer:
        """GET through the cache and in-flight coalescing; returns (json, request id)."""
        shared = self._shared
        key: _Key = (url, tuple(sorted(params.items())) if params else (), project)
        now = time.monotonic()
        if shared.cache_ttl:
            hit = shared.recent.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        while (pending := shared.pending.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # we were cancelled, not the call we were sharing
                # the caller we joined was cancelled: make the call ourselves

        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        shared.pending[key] = future
        try:
            answer = await self._fetch_json(url, params, project)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" noise when nobody joined
            raise
        finally:
            shared.pending.pop(key, None)
        future.set_result(answer)
        if shared.cache_ttl:
            if len(shared.recent) >= _MAX_RECENT:
                shared.recent.clear()
            shared.recent[key] = (time.monotonic() + shared.cache_ttl, answer)
        return answer

    async def _fetch_json(self, url: str, params: dict[str, str] | None, project: str | None) -> _Answer:
        """One GET with limits, retries and one overall deadline."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.deadline
        headers = {"X-Project-Id": project} if project else None
        last: list[PooldriftError] = []

        def backoff(exc: Exception) -> bool | float:
            retryable = isinstance(exc, (APIConnectionError, MalformedResponseError)) or (
                isinstance(exc, (RateLimitError, ServerError)) and exc.status_code in _RETRY_STATUSES | {429}
            )
            if not retryable:
                return False
            advice = getattr(exc, "retry_after", None)
            if advice is not None:
                if loop.time() + advice >= deadline:
                    return False  # waiting would outlive the deadline: say so now
                return float(advice)
            return True

        try:
            async with asyncio.timeout_at(deadline):
                # The first attempt runs bare: entering stamina costs about as much as signing.
                # A failure is replayed into it below, so it decides (and waits) as if it had
                # made that attempt itself: same attempts, backoff, Retry-After and hooks.
                try:
                    return await self._attempt(url, params, headers, deadline)
                except PooldriftError as exc:
                    last[:] = [exc]
                import stamina

                async for attempt in stamina.retry_context(
                    on=backoff,
                    attempts=settings.max_attempts,
                    timeout=settings.deadline,
                    wait_initial=settings.backoff_initial,
                    wait_max=settings.backoff_max,
                    wait_jitter=settings.backoff_initial,
                ):
                    with attempt:
                        if attempt.num == 1:
                            raise last[0]
                        try:
                            return await self._attempt(url, params, headers, deadline)
                        except PooldriftError as exc:
                            last[:] = [exc]
                            raise
        except TimeoutError:
            if last:
                raise last[0] from None
            raise APITimeoutError(
                f"no answer within the {settings.deadline:g} s deadline from {_host(url)}"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self, url: str, params: dict[str, str] | None, headers: dict[str, str] | None, deadline: float
    ) -> tuple[Any, str | None]:
        shared = self._shared
        if shared.budget is not None:
            await shared.budget.acquire(deadline)
        started = time.perf_counter()
        async with shared.in_flight:
            try:
                response = await shared.http.get(url, params=params, headers=headers)
            except httpx2.TimeoutException:
                raise APITimeoutError(
                    f"{_host(url)} did not answer within {self._settings.read_timeout:g} s"
                ) from None
            except httpx2.DecodingError:
                raise MalformedResponseError(
                    f"{_host(url)} sent a body that could not be decoded", status_code=200, request_id=None
                ) from None
            except httpx2.RequestError as exc:  # connect, read, write, protocol errors
                raise APIConnectionError(f"could not reach {_host(url)}: {type(exc).__name__}") from None
        request_id = response.headers.get("X-Request-Id")
        if log.isEnabledFor(logging.DEBUG):  # the arguments cost more than the check
            log.debug(
                "GET %s -> %s in %.1f ms (request id %s)",
                response.request.url.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
                request_id,
            )
        if not response.is_success:
            raise status_error_from_response(response)
        try:
            return response.json(), request_id
        except ValueError:
            raise MalformedResponseError(
                "the API answered with a body that is not JSON"
                + (f" (request id {request_id})" if request_id else ""),
                status_code=response.status_code,
                request_id=request_id,
            ) from None


def _host(url: str) -> str:
    return httpx2.URL(url).netloc.decode("ascii")


@overload
async def gather_all(first: Awaitable[_T], second: Awaitable[_U], /) -> tuple[_T, _U]: ...
@overload
async def gather_all(*aws: Awaitable[_T]) -> tuple[_T, ...]: ...
async def gather_all(*aws: Awaitable[Any]) -> Any:
    """Every result, or the first failure once all have finished: no call is left running
    unobserved (each is bounded by the client's deadline)."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return tuple(results)
