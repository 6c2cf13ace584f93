"""The MCP tools: ``pool_inconsistency`` and ``list_desktop_pools``, and the server that holds them.

Each tool is thin: validate, one client call, wrap the result model. API code lives in
``pooldrift.client``; error wording in ``pooldrift_mcp.wording``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, cast

from mcp.server import MCPServer
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import ToolAnnotations
from pydantic import ConfigDict, Field, ValidationError

from pooldrift.config import Settings
from pooldrift.validation import shown, validate_pool_ref
from pooldrift.version import __version__

from .history import pool_drift_history, with_since
from .models import MAX_POOLS_LISTED, PoolInconsistency, PoolListing, compact
from .runtime import Runtime, record
from .wording import LIST_PERMISSION, invalid_arguments

INSTRUCTIONS = (
    "pooldrift tells whether Huawei Cloud Workspace desktop pools have drifted from their "
    "configuration. Call pool_inconsistency with a pool id or exact name; if you do not know "
    "the pool, call list_desktop_pools first."
)


ProjectArg = Annotated[
    str | None, Field(description="Project id (32 lowercase hex). Omit to use the configured project.")
]
RegionArg = Annotated[
    str | None, Field(description="Huawei Cloud region, e.g. cn-north-4. Omit to use the configured region.")
]


async def pool_inconsistency(
    ctx: Context[Runtime, Any],
    pool: Annotated[
        str,
        Field(description="Pool id (UUID, e.g. a130ab3a-72bf-4b71-baa9-af4987c8e338) or exact pool name."),
    ],
    project_id: ProjectArg = None,
    region: RegionArg = None,
) -> PoolInconsistency:
    """Count the desktops of a Huawei Cloud Workspace desktop pool that differ from the pool's
    configuration: package (CPU/memory flavor), image, number of data disks, disk capacity.

    Call this when asked whether a pool is consistent, up to date or drifted, e.g. after its
    image or package changed. If you only know part of the pool's name, call
    list_desktop_pools first.

    The counts overlap (one desktop can differ in several ways): never add them. A null count
    was not reported by the API: unknown, not 0. Quote `summary`. An administrator fixes
    drifted desktops by rebuilding them with the pool's image or changing their package in the
    Workspace console.
    """
    async with Runtime.call("pool_inconsistency", doing=f"checking pool {shown(pool)}"):
        runtime = ctx.request_context.lifespan_context
        ref = validate_pool_ref(pool)
        client = runtime.client_for(region=region, project_id=project_id)
        return await with_since(PoolInconsistency.from_report(await client.check(ref)), runtime)


async def list_desktop_pools(
    ctx: Context[Runtime, Any],
    name: Annotated[
        str | None,
        Field(description="Only pools whose name contains this text. Omit for all."),
    ] = None,
    limit: Annotated[
        int, Field(ge=1, le=MAX_POOLS_LISTED, description=f"At most this many pools (1-{MAX_POOLS_LISTED}).")
    ] = 50,
    project_id: ProjectArg = None,
    region: RegionArg = None,
) -> PoolListing:
    """List the desktop pools of a Huawei Cloud Workspace project: id, name, type, status and
    desktop count.

    Call this to find the pool the user means (from a partial name, or when pool_inconsistency
    found no such pool), then pass its id to pool_inconsistency. Capped at `limit`; when
    `more_available` is true, narrow with `name`.
    """
    async with Runtime.call("list_desktop_pools", doing="listing desktop pools", needs=LIST_PERMISSION):
        runtime = ctx.request_context.lifespan_context
        if name is not None:
            name = validate_pool_ref(name)
        client = runtime.client_for(region=region, project_id=project_id)
        listing = await client.list_pools(name=name, max_items=limit)
        project = await client.get_project_id()
        return PoolListing.from_pools(listing, name=name, region=client.region, project_id=project)


def _read_only(title: str) -> ToolAnnotations:
    # open world: the answer comes from a cloud API and changes as desktops are rebuilt
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )


class StrictTool(Tool):
    """A tool whose arguments are taken as sent: ``true`` or ``"50"`` is not a number here, as
    pydantic's lax mode would make it. A refused argument comes back as one short worded
    ToolError naming it (no pydantic text, no URL), counted as ``invalid_input``."""

    @classmethod
    def of(cls, fn: Callable[..., Any], title: str) -> StrictTool:
        described = cls.from_function(
            fn, title=title, description=inspect.cleandoc(fn.__doc__ or ""), annotations=_read_only(title)
        )
        tool = cast(StrictTool, described)  # from_function builds ``cls``
        compact(tool.parameters)  # the SDK's argument model titles every field
        tool.fn_metadata.arg_model = _strict(tool.fn_metadata.arg_model)
        return tool

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        started = time.perf_counter()
        try:
            return await super().run(arguments, context, convert_result=convert_result)
        except ToolError as exc:
            refused = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(refused, ValidationError):
                raise
            record(self.name, "invalid_input", time.perf_counter() - started)
            # the cause stays a ValidationError: the SDK then logs the argument names, not values
            raise ToolError(invalid_arguments(refused)) from refused


def _strict(model: type[ArgModelBase]) -> type[ArgModelBase]:
    """``model`` validating in pydantic's strict mode (the JSON schema is the same)."""
    namespace = {"model_config": ConfigDict(strict=True), "__module__": model.__module__}
    return cast(type[ArgModelBase], type(model.__name__, (model,), namespace))


def build_server(
    settings: Settings | None = None,
    *,
    shared: Callable[[], Runtime] | None = None,
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
) -> MCPServer[Runtime]:
    """The MCP server with both tools.

    With ``shared`` (the HTTP app), the server uses the runtime its host opened; otherwise
    (stdio, tests) its lifespan opens one from ``settings`` (or the environment).
    """
    lifespan: Callable[[MCPServer[Runtime]], AbstractAsyncContextManager[Runtime]]
    if shared is not None:
        get_shared = shared

        @asynccontextmanager
        async def borrowed(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
            yield get_shared()

        lifespan = borrowed
    else:

        def owned(_: MCPServer[Runtime]) -> AbstractAsyncContextManager[Runtime]:
            return Runtime.open(settings, lazy=True)

        lifespan = owned

    return MCPServer(
        "pooldrift",
        tools=[
            StrictTool.of(pool_inconsistency, "Desktop pool drift"),
            StrictTool.of(list_desktop_pools, "List desktop pools"),
            StrictTool.of(pool_drift_history, "Pool drift history"),
        ],
        title="pooldrift",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        token_verifier=token_verifier,
        auth=auth,
        log_level="WARNING",
    )
