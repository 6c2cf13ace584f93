"""``WorkspaceClient``: the one async client every front shares — the Workspace API's calls,
validated before any request and typed after; the HTTP below them is ``pooldrift.fetch``.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, overload

import httpx2
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from .config import Settings, load_settings, with_overrides
from .errors import (
    JOB_ACTION,
    LIST_DESKTOPS_ACTION,
    LIST_POOLS_ACTION,
    PROJECT_LOOKUP_ACTION,
    SHOW_POOL_ACTION,
    STATISTICS_ACTION,
    AmbiguousPoolError,
    ImplausibleCountError,
    InvalidInputError,
    ListingTooLongError,
    MalformedResponseError,
    PooldriftError,
    PoolNotFoundError,
    ProjectLookupError,
    WriteUnknownError,
)
from .fetch import Fetcher
from .listing import FilterValues, filtered_listing, last_page, marked, parse_kind, pool_answers, repeated
from .models import (
    DesktopPool,
    DesktopPools,
    DriftReport,
    InconsistentStatics,
    InconsistentType,
    PoolDesktop,
    PoolDesktopPage,
    PoolDesktops,
    PoolList,
    merge_drift_listings,
)
from .payloads import AuthProject, AuthProjects, Job, SubJob, SubJobList, WriteAnswer, is_count
from .signing import Clock
from .validation import (
    is_pool_id,
    shown,
    validate_pool_id,
    validate_pool_ref,
    validate_project_id,
    validate_region,
)

__all__ = ["DesktopPools", "Shared", "WorkspaceClient", "gather_all"]

_POOL_PAGE = 1000
_DESKTOP_PAGE = 100
_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")
_U = TypeVar("_U")
_V = TypeVar("_V")


@dataclass(eq=False)
class Shared:
    """What a client and all its ``with_options`` views share: settings, the HTTP plumbing
    (connections, limits, budget, coalescing) and the project ids IAM returned. The client that
    made it closes it; a view never does."""

    settings: Settings
    fetcher: Fetcher
    #: project ids from IAM per (IAM endpoint, region); a lookup under way is shared, so
    #: concurrent callers make one request and all get its answer or its failure at once
    projects: dict[tuple[str, str], asyncio.Future[str]] = field(default_factory=dict)
    #: the endpoints found to take only the legacy filter values
    filters: FilterValues = field(default_factory=FilterValues)

    async def project_id(self, key: tuple[str, str], lookup: Callable[[], Awaitable[str]]) -> str:
        future = self.projects.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self.projects[key] = future
            try:
                future.set_result(await lookup())
            except BaseException as exc:
                del self.projects[key]  # the next caller asks again
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
                    future.exception()  # retrieved: no "never retrieved" noise when nobody waited
                raise
        return await asyncio.shield(future)


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
        shared: Shared | None = None,
        region: str | None = None,
        project_id: str | None = None,
        **overrides: Any,
    ) -> None:
        """A client from ``settings`` (default: the environment; ``region``, ``project_id`` and
        ``overrides`` replace values of it). With ``shared`` it is a view instead: it borrows
        that state and only ``region`` and ``project_id`` (None: looked up) are its own."""
        if shared is not None:
            if settings is not None or http_client or transport or clock or overrides:
                raise TypeError("a view takes its settings and connections from `shared`")
            self._owner = False
            self._shared = shared
            self._region = region or shared.settings.region
            self._project_id = project_id
            return
        named = {"region": region, "project_id": project_id}
        values = {k: v for k, v in {**overrides, **named}.items() if v is not None}
        if settings is None:
            settings = load_settings(**values)
        elif values:
            settings = with_overrides(settings, **values)
        settings.check_credentials()
        fetcher = Fetcher(settings, http_client=http_client, transport=transport, clock=clock)
        self._owner = True
        self._shared = Shared(settings, fetcher)
        self._region = settings.region
        self._project_id = settings.project_id

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections, if this client made them; closing a view closes nothing."""
        if self._owner:
            await self._shared.fetcher.aclose()

    def __repr__(self) -> str:
        return f"WorkspaceClient(region={self._region!r}, project_id={self._project_id!r})"

    def with_options(self, *, region: str | None = None, project_id: str | None = None) -> Self:
        """A view of this client for another region or project, sharing its connections."""
        region = validate_region(region) if region else self._region
        if project_id:
            project: str | None = validate_project_id(project_id.strip())
        elif region == self._region:
            project = self._project_id
        else:
            project = None  # a project id configured for one region means nothing in another
        return type(self)(shared=self._shared, region=region, project_id=project)

    @property
    def settings(self) -> Settings:
        return self._shared.settings

    @property
    def region(self) -> str:
        return self._region

    @property
    def project_id(self) -> str | None:
        """The project id given or configured; None until IAM was asked (``get_project_id``)."""
        return self._project_id

    # -- project ---------------------------------------------------------------------------

    async def get_project_id(self) -> str:
        """The configured project id, or the region's one from IAM (looked up once)."""
        if self._project_id:
            return self._project_id
        key = (self.settings.iam_base(self._region), self._region)
        return await self._shared.project_id(key, self._lookup_project)

    async def _lookup_project(self) -> str:
        url = f"{self.settings.iam_base(self._region)}/v3/projects"
        data, _ = await self._shared.fetcher.get_json(
            url, params={"name": self._region}, action=PROJECT_LOOKUP_ACTION
        )
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
        with pool_answers():
            data, request_id = await self._shared.fetcher.get_json(
                url, project=project, action=STATISTICS_ACTION
            )
        if isinstance(data, dict):
            for name in InconsistentStatics.model_fields:
                value = data.get(name)
                if value is not None and not is_count(value):
                    raise ImplausibleCountError(
                        f"the API answered {name}={json.dumps(value)[:40]} for pool {pool_id}, "
                        "which is not a count of desktops"
                        + (f" (request id {request_id})" if request_id else ""),
                        pool=pool_id,
                        request_id=request_id,
                    )
        counts = self._parse(InconsistentStatics, data, request_id)
        # every value is checked already (the counts just now, the ids before sending): built
        # without a second validation, which cost ~10 % of this call's own CPU in a scan
        return DriftReport.model_construct(
            pool_id=pool_id,
            project_id=project,
            region=self._region,
            request_id=request_id,
            fetched_at=datetime.now(UTC),
            product_id=counts.product_id,
            image_id=counts.image_id,
            disk_num=counts.disk_num,
            disk_size=counts.disk_size,
        )

    async def write(self, path: str, body: dict[str, Any], *, action: str) -> WriteAnswer:
        """One of a fix's writes: POST ``path`` (``/v2/{project_id}/…``, as the plan has it) with
        ``body``, sent once (``Fetcher.post_json``); the job that carries it out. A 2xx without a
        job id was taken and cannot be followed: a ``WriteUnknownError``."""
        project = await self.get_project_id()
        if not path.startswith(f"/v2/{project}/"):
            raise InvalidInputError(f"a write outside project {project}: {shown(path)}", field="path")
        url = self._base() + path
        data, request_id = await self._shared.fetcher.post_json(url, body, project=project, action=action)
        try:
            return WriteAnswer.model_validate(data)
        except PydanticValidationError:
            rid = f" (request id {request_id})" if request_id else ""
            raise WriteUnknownError(
                f"the API took a write to {path.rsplit('/', 1)[-1]} but named no job{rid}; "
                "it is not sent again",
                cause="malformed_response",
                status_code=200,
                request_id=request_id,
            ) from None

    async def show_job(self, job_id: str) -> Job:
        """A write's job and its sub-jobs (``ShowJob``)."""
        job_id = _job_id(job_id)
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/workspace-jobs/{job_id}"
        data, request_id = await self._shared.fetcher.get_json(url, project=project, action=JOB_ACTION)
        return self._parse(Job, data, request_id)

    async def list_sub_jobs(
        self, job_id: str | None = None, *, pool_id: str | None = None, limit: int = 1000
    ) -> list[SubJob]:
        """Every sub-job of a job, or of the jobs on a pool's desktops (``ListItaSubJobs``, pages
        of at most 1,000)."""
        if job_id is None and pool_id is None:
            raise InvalidInputError("sub-jobs of a job or of a pool", field="job_id")
        wanted: dict[str, str] = {}
        if job_id is not None:
            wanted["job_id"] = _job_id(job_id)
        if pool_id is not None:
            wanted["desktop_pool_id"] = validate_pool_id(pool_id.strip())
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/workspace-sub-jobs"
        found: list[SubJob] = []
        for _ in range(self.settings.max_pages):
            params = {**wanted, "offset": str(len(found)), "limit": str(limit)}
            data, request_id = await self._shared.fetcher.get_json(
                url, params=params, project=project, action=JOB_ACTION
            )
            page = self._parse(SubJobList, data, request_id)
            found.extend(page.jobs)
            if last_page(len(page.jobs), limit, len(found), page.total_count):
                break
        return found

    async def get_pool(self, pool_id: str) -> DesktopPool:
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools/{pool_id}"
        with pool_answers():
            data, request_id = await self._shared.fetcher.get_json(
                url, project=project, action=SHOW_POOL_ACTION
            )
        return self._parse(DesktopPool, data, request_id)  # flat: ShowDesktopPoolDetailResponse

    async def list_pools(self, name: str | None = None, *, max_items: int | None = None) -> DesktopPools:
        """Pools of the project (``name`` filters upstream), following pages to the end or to
        ``max_items``. Never more than ``POOLDRIFT_MAX_POOLS``: past it (unless ``max_items`` asks
        for fewer) a ``ListingTooLongError``, and a page of pools listed already a
        ``ListingRepeatsError``, so a listing whose pages never end stops, its memory bounded."""
        return await self._pool_pages(name, max_items, "narrow it with a name filter")

    async def _pool_pages(self, name: str | None, max_items: int | None, narrow: str) -> DesktopPools:
        params: dict[str, str] = {}
        if name is not None:
            params["name"] = validate_pool_ref(name)
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools"
        bound = self.settings.max_pools
        # one past the bound tells a listing of exactly ``bound`` pools from a longer one
        want = max_items if max_items is not None and max_items <= bound else bound + 1
        pools: list[DesktopPool] = []
        seen: set[str] = set()
        total: int | None = None
        pages = 0
        while len(pools) < want:
            limit = min(_POOL_PAGE, want - len(pools))
            page_params = {**params, "offset": str(len(pools)), "limit": str(limit)}
            data, request_id = await self._shared.fetcher.get_json(
                url, params=page_params, project=project, action=LIST_POOLS_ACTION
            )
            page = self._parse(PoolList, data, request_id)
            total = page.total_count
            ids = [p.id for p in page.desktop_pools]
            repeated(ids, seen, what="pools", offset=len(pools), request_id=request_id)
            pools.extend(page.desktop_pools[:limit])
            if last_page(len(page.desktop_pools), limit, len(pools), total):
                break
            pages += 1
            if pages >= self.settings.max_pages:
                raise self._too_many_pages("pools", len(pools), total, f"project {project} ({self._region})")
        if len(pools) > bound:
            matching = f" named like {shown(name)}" if name is not None else ""
            raise ListingTooLongError(
                f"more than {bound} pools{matching} in project {project} ({self._region}); "
                f"{narrow}, or raise POOLDRIFT_MAX_POOLS",
                what="pools",
                bound=bound,
                setting="POOLDRIFT_MAX_POOLS",
            )
        return DesktopPools(total_count=max(total or 0, len(pools)), pools=pools)

    def _too_many_pages(self, what: str, read: int, total: int | None, where: str) -> ListingTooLongError:
        bound = self.settings.max_pages
        claimed = f" of the {total} it reports" if total is not None else ""
        return ListingTooLongError(
            f"the API answered {bound} pages listing the {what} of {where} ({read} {what}{claimed}) "
            "and has not reached the end: it pages too finely or never ends; narrow the listing, "
            "or raise POOLDRIFT_MAX_PAGES",
            what=what,
            bound=bound,
            setting="POOLDRIFT_MAX_PAGES",
        )

    async def list_pool_desktops(
        self,
        pool_id: str,
        inconsistent_type: InconsistentType | str | None = None,
        *,
        max_items: int | None = None,
    ) -> PoolDesktops:
        """Desktops of a pool, optionally only those drifted in one way; pages of 100.

        With a kind the endpoint cannot filter by (an older API version, for the disk kinds),
        the answer lists nothing and names the kind in ``unavailable_kinds``."""
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        kind = parse_kind(inconsistent_type)
        if kind is None:
            with pool_answers():
                return await self._desktop_pages(pool_id, None, None, max_items)
        found = await self._drifted_by(pool_id, kind, max_items)
        if found is None:
            return PoolDesktops(
                pool_id=pool_id,
                inconsistent_type=kind,
                total_count=None,
                desktops=[],
                unavailable_kinds=[kind],
            )
        return found

    async def list_drifted_desktops(self, pool_id: str, *, max_items: int | None = None) -> PoolDesktops:
        """Desktops drifted in any way: one filtered query per kind (concurrently), merged.

        Each desktop appears once, with every way it differs in ``drift`` (disk drift shows only
        here: a desktop reports package and image drift alone); ``kind_totals`` has upstream's
        count for each kind, ``unavailable_kinds`` the kinds the endpoint cannot filter by.
        When a cap cut a list short, ``total_count`` is a lower bound (the largest per-kind total).
        """
        pool_id = validate_pool_id(pool_id.strip() if isinstance(pool_id, str) else pool_id)
        kinds = list(InconsistentType)
        found = await gather_all(*(self._drifted_by(pool_id, kind, max_items) for kind in kinds))
        listings = [x for x in found if x is not None]
        unavailable = [kind for kind, x in zip(kinds, found, strict=True) if x is None]
        return merge_drift_listings(pool_id, listings, max_items=max_items, unavailable=unavailable)

    async def _drifted_by(
        self, pool_id: str, kind: InconsistentType, max_items: int | None
    ) -> PoolDesktops | None:
        async def fetch(value: str) -> PoolDesktops:
            return await self._desktop_pages(pool_id, kind, value, max_items)

        with pool_answers():
            return await filtered_listing(fetch, kind, self._base(), self._shared.filters)

    async def _desktop_pages(
        self, pool_id: str, kind: InconsistentType | None, value: str | None, max_items: int | None
    ) -> PoolDesktops:
        """One listing of a pool's desktops, to its end or ``max_items``, bounded like the pools'
        by ``POOLDRIFT_MAX_DESKTOPS`` (``ListingTooLongError``) and against repeated pages."""
        project = await self.get_project_id()
        url = f"{self._base()}/v2/{project}/desktop-pools/{pool_id}/desktops"
        bound = self.settings.max_desktops
        want = max_items if max_items is not None and max_items <= bound else bound + 1
        desktops: list[PoolDesktop] = []
        seen: set[str] = set()
        total: int | None = None
        pages = 0
        while len(desktops) < want:
            limit = min(_DESKTOP_PAGE, want - len(desktops))
            params = {"offset": str(len(desktops)), "limit": str(limit)}
            if value is not None:
                params["inconsistent_type"] = value
            data, request_id = await self._shared.fetcher.get_json(
                url, params=params, project=project, action=LIST_DESKTOPS_ACTION
            )
            page = self._parse(PoolDesktopPage, data, request_id)
            total = page.total_count
            ids = [d.desktop_id for d in page.pool_desktops]
            repeated(ids, seen, what="desktops", offset=len(desktops), request_id=request_id)
            rows = page.pool_desktops[:limit]
            desktops.extend(rows if kind is None else (marked(d, kind) for d in rows))
            if last_page(len(page.pool_desktops), limit, len(desktops), total):
                break
            pages += 1
            if pages >= self.settings.max_pages:
                raise self._too_many_pages("desktops", len(desktops), total, f"pool {pool_id}")
        if len(desktops) > bound:
            which = f" differing in {kind.noun}" if kind is not None else ""
            raise ListingTooLongError(
                f"more than {bound} desktops{which} in pool {pool_id}; narrow it with a limit "
                "or a kind of drift, or raise POOLDRIFT_MAX_DESKTOPS",
                what="desktops",
                bound=bound,
                setting="POOLDRIFT_MAX_DESKTOPS",
            )
        return PoolDesktops(
            pool_id=pool_id,
            inconsistent_type=kind,
            total_count=max(total, len(desktops)) if total is not None else len(desktops),
            desktops=desktops,
        )

    async def resolve_pool(self, ref: str) -> DesktopPool:
        """A pool by id, or by name: the pool named exactly so, else the one named so in another
        case; unknown or ambiguous names raise with the closest candidates.

        Upstream's name filter may match substrings or whole names, with or without case: its
        answer is only a shortcut, every match is confirmed here, and where the answer cannot
        show every pool named so in another case, the whole list is read, up to
        ``POOLDRIFT_MAX_POOLS``: past it, a ``ListingTooLongError`` asking for the pool's id."""
        ref = validate_pool_ref(ref)
        if is_pool_id(ref):
            return await self.get_pool(ref)
        by_id = "ask for the pool by its id"
        filtered = (await self._pool_pages(ref, None, by_id)).pools
        # every way of matching returns the pools named exactly ``ref``; one named so in another
        # case shows only when the filter ignores case, so an answer without any proves nothing
        exact = [p for p in filtered if p.name == ref]
        folded = [p for p in filtered if p.name.lower() == ref.lower()]
        everything: list[DesktopPool] | None = None
        if not folded:
            everything = (
                await self._pool_pages(None, None, f"the name filter found none named {shown(ref)}: {by_id}")
            ).pools
            folded = [p for p in everything if p.name.lower() == ref.lower()]
        if len(exact) == 1:
            return exact[0]
        matches = exact or folded
        if len(matches) > 1:
            raise AmbiguousPoolError(
                f"{len(matches)} pools are named {shown(ref)}; use one of their ids: "
                + ", ".join(f"{p.name} ({p.id})" for p in matches[:10]),
                ref=ref,
                candidates=[(p.id, p.name) for p in matches],
            )
        if matches:
            return matches[0]
        raise await self._no_pool_named(ref, everything if everything is not None else [])

    async def _no_pool_named(self, ref: str, everything: list[DesktopPool]) -> PoolNotFoundError:
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
        return PoolNotFoundError(
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
            try:
                pool, report = await gather_all(self.get_pool(ref), self.inconsistent_statics(ref))
            except ImplausibleCountError as exc:
                raise named(exc, await self.get_pool(ref)) from None
        else:
            pool = await self.resolve_pool(ref)
            try:
                report = await self.inconsistent_statics(pool.id)
            except ImplausibleCountError as exc:
                raise named(exc, pool) from None
        return plausible(report, pool)

    async def list_projects(self) -> list[AuthProject]:
        """Every project these credentials reach (IAM ``GET /v3/auth/projects``, no policy needed)."""
        url = f"{self.settings.iam_base(self._region)}/v3/auth/projects"
        data, request_id = await self._shared.fetcher.get_json(url)
        return self._parse(AuthProjects, data, request_id).projects

    # -- plumbing --------------------------------------------------------------------------

    def _base(self) -> str:
        return self.settings.workspace_endpoint(self._region)

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


_JOB_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")


def _job_id(value: object) -> str:
    """A job id as the vendor makes them (letters, digits, ``-``, ``_``), or an ``InvalidInputError``."""
    if not isinstance(value, str) or _JOB_ID.fullmatch(value.strip()) is None:
        raise InvalidInputError(f"not a job id: {shown(str(value))}", field="job_id")
    return value.strip()


def label_of(pool: DesktopPool) -> str:
    return f"{pool.name} ({pool.id})" if pool.name else pool.id


def named(exc: ImplausibleCountError, pool: DesktopPool) -> ImplausibleCountError:
    """``exc`` (raised where only the pool's id was known) naming the pool by name and id."""
    label = label_of(pool)
    return ImplausibleCountError(
        exc.message.replace(f"pool {exc.pool}", f"pool {label}", 1), pool=label, request_id=exc.request_id
    )


def plausible(report: DriftReport, pool: DesktopPool) -> DriftReport:
    """The report with the pool's name and size, once the size is a count and no count
    exceeds it; otherwise an ``ImplausibleCountError`` naming the pool: an upstream fault,
    never shown as a fact ("10^30 of 3 desktops", "at least 0 of -5 desktops")."""
    label = label_of(pool)
    asked = f" (request id {report.request_id})" if report.request_id else ""
    if pool.implausible_size is not None:
        raise ImplausibleCountError(
            f"the API answered desktop_count={pool.implausible_size} for pool {label}, "
            f"which is not a count of desktops{asked}",
            pool=label,
            request_id=report.request_id,
        )
    size = pool.desktop_count
    if size is not None:
        for kind in InconsistentType:
            count = report.count(kind)
            if count is not None and count > size:
                raise ImplausibleCountError(
                    f"the API answered {count} desktops of pool {label} differing in {kind.noun}, "
                    f"but the pool has {size} desktops{asked}",
                    pool=label,
                    request_id=report.request_id,
                )
    return report.model_copy(update={"pool_name": pool.name, "desktop_count": pool.desktop_count})


@overload
async def gather_all(first: Awaitable[_T], second: Awaitable[_U], /) -> tuple[_T, _U]: ...
@overload
async def gather_all(
    first: Awaitable[_T], second: Awaitable[_U], third: Awaitable[_V], /
) -> tuple[_T, _U, _V]: ...
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
