"""The MCP tools — ``pool_inconsistency``, ``list_desktop_pools``, ``pool_drift_history``,
``scan_pool_drift`` and ``drifted_desktops`` — and the server that holds them.

Each tool is thin: validate, one client call, wrap the result model. API code lives in
``pooldrift.client``; error wording in ``pooldrift_mcp.wording``.
"""

from __future__ import annotations

import inspect
import json
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
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, ConfigDict, Field, ValidationError

from pooldrift.config import Settings
from pooldrift.errors import InvalidInputError
from pooldrift.validation import (
    MAX_POOL_NAME,
    shown,
    validate_pool_name,
    validate_pool_ref,
    validate_project_id,
    validate_region,
)
from pooldrift.version import __version__

from .fleet_models import MAX_ROWS, DriftedDesktops, FleetDrift
from .history import pool_drift_history, with_since
from .models import MAX_POOLS_LISTED, DriftKind, PoolInconsistency, PoolListing, slim_input, slim_output
from .progress import relayed
from .runtime import Runtime, record
from .wording import invalid_arguments

INSTRUCTIONS = (
    "pooldrift tells whether Huawei Cloud Workspace desktop pools have drifted from their "
    "configuration. To learn which pools drifted, call scan_pool_drift; for one pool's counts, "
    "pool_inconsistency (find the pool with list_desktop_pools if you do not know its exact "
    "name); to see which desktops drifted and how, drifted_desktops. project_id and region default "
    "to the configured ones: omit them unless the user names others. Drift counts overlap (one "
    "desktop can differ in several ways): never add them. null means not reported by the API: "
    "unknown, not 0. An administrator fixes drifted desktops by rebuilding them with the pool's "
    "image or changing their package in the Workspace console."
)


ProjectArg = Annotated[str | None, Field(description="32 hex.")]
RegionArg = Annotated[str | None, Field(description="e.g. cn-north-4.")]


def _upper(value: object) -> object:
    # "image_id" and "IMAGE_ID" name the same kind; anything else is left for the enum to refuse
    return value.strip().upper() if isinstance(value, str) else value


KindArg = Annotated[
    DriftKind | None, BeforeValidator(_upper), Field(description="Only this kind; omit for all.")
]


async def pool_inconsistency(
    ctx: Context[Runtime, Any],
    pool: Annotated[
        str,
        Field(description="Pool id (UUID) or exact name."),
    ],
    project_id: ProjectArg = None,
    region: RegionArg = None,
) -> PoolInconsistency:
    """Count the desktops of one Workspace desktop pool that differ from the pool: package
    (CPU/memory flavor), image, data-disk count, disk size. Counts overlap: never add them.
    Quote `summary`."""
    async with Runtime.call("pool_inconsistency", doing=f"checking pool {shown(pool)}"):
        runtime = ctx.request_context.lifespan_context
        ref = validate_pool_ref(pool)
        client = runtime.client_for(region=region, project_id=project_id)
        return await with_since(PoolInconsistency.from_report(await client.check(ref)), runtime)


async def list_desktop_pools(
    ctx: Context[Runtime, Any],
    name: Annotated[
        str | None,
        Field(description="Only pools whose name contains this."),
    ] = None,
    limit: Annotated[int, Field(ge=1, le=MAX_POOLS_LISTED, description="Pools to list.")] = 50,
    project_id: ProjectArg = None,
    region: RegionArg = None,
) -> PoolListing:
    """Find the pool the user means among a project's pools, capped at `limit` (narrow with
    `name`)."""
    async with Runtime.call("list_desktop_pools", doing="listing desktop pools"):
        runtime = ctx.request_context.lifespan_context
        name = name_filter(name)
        client = runtime.client_for(region=region, project_id=project_id)
        listing = await client.list_pools(name=name, max_items=limit)
        project = await client.get_project_id()
        return PoolListing.from_pools(listing, name=name, region=client.region, project_id=project)


async def scan_pool_drift(
    ctx: Context[Runtime, Any],
    name: Annotated[str | None, Field(description="Only pools whose name contains this.")] = None,
    project_id: ProjectArg = None,
    region: RegionArg = None,
    all_projects: Annotated[bool, Field(description="Every reachable project.")] = False,
    limit: Annotated[int, Field(ge=1, le=MAX_ROWS, description="Pools to list.")] = 20,
) -> FleetDrift:
    """Which pools drifted, worst first: every pool of the project (or of all projects), with
    totals and failures. Start here for questions about many pools."""
    async with Runtime.call("scan_pool_drift", doing="scanning desktop pools"):
        # deferred: the fleet module comes with the client, off the stdio start-up path
        from pooldrift.fleet import scan_fleet

        runtime = ctx.request_context.lifespan_context
        name = name_filter(name)
        regions = [validate_region(region)] if region is not None else []
        if project_id is not None:
            project_id = validate_project_id(project_id.strip())
            if all_projects:
                raise InvalidInputError("give `project_id` or `all_projects`, not both", field="project_id")
        client = runtime.require_client()
        async with relayed(ctx.report_progress) as progress:
            scan = await scan_fleet(
                client, regions=regions, project_id=project_id, all_projects=all_projects, name=name,
                progress=progress,
            )  # fmt: skip
        return FleetDrift.of(scan, limit=limit)


async def drifted_desktops(
    ctx: Context[Runtime, Any],
    pool: Annotated[str, Field(description="Pool id (UUID) or exact name.")],
    kind: KindArg = None,
    limit: Annotated[int, Field(ge=1, le=MAX_ROWS, description="Desktops to list.")] = 20,
    project_id: ProjectArg = None,
    region: RegionArg = None,
) -> DriftedDesktops:
    """Which desktops of one pool drifted and how: the pool's value (expected) against the
    desktop's (actual). Pass project_id and region from the scan."""
    doing = f"listing the drifted desktops of pool {shown(pool)}"
    async with Runtime.call("drifted_desktops", doing=doing):
        from pooldrift.fleet import drill_down

        runtime = ctx.request_context.lifespan_context
        ref = validate_pool_ref(pool)
        client = runtime.client_for(region=region, project_id=project_id)
        return DriftedDesktops.of(await drill_down(client, ref, kind=kind, limit=limit), limit=limit)


def name_filter(name: str | None) -> str | None:
    """A pool name filter, checked like a pool name (the same characters and length), refused
    as `name`."""
    if name is None:
        return None
    name = name.strip()
    if not name:
        raise InvalidInputError("empty; omit it to take every pool", field="name")
    if len(name) > MAX_POOL_NAME:
        raise InvalidInputError(f"too long ({len(name)} characters; at most {MAX_POOL_NAME})", field="name")
    try:
        return validate_pool_name(name)
    except InvalidInputError:
        raise InvalidInputError(
            f"invalid name filter {shown(name)}: letters, digits, Chinese characters, '-', '_' and '.' only",
            field="name",
        ) from None


#: Read-only says it all: the spec gives the destructive and idempotent hints meaning only for
#: tools that write, open world (a cloud API's answer) is the default, and the title is the
#: tool's own field since 2025-06-18.
READ_ONLY = ToolAnnotations(read_only_hint=True)


class StrictTool(Tool):
    """A tool whose arguments are taken as sent: ``true`` or ``"50"`` is not a number here, as
    pydantic's lax mode would make it. A refused argument comes back as one short worded
    ToolError naming it (no pydantic text, no URL), counted as ``invalid_input``."""

    @classmethod
    def of(cls, fn: Callable[..., Any], title: str) -> StrictTool:
        # the docstring's paragraphs, each on one line: its line breaks are the source's, not the model's
        paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
        description = "\n\n".join(" ".join(p.split()) for p in paragraphs)
        described = cls.from_function(fn, title=title, description=description, annotations=READ_ONLY)
        tool = cast(StrictTool, described)  # from_function builds ``cls``
        slim_input(tool.parameters)
        if tool.output_schema is not None:
            slim_output(tool.output_schema)
        tool.fn_metadata.arg_model = _strict(tool.fn_metadata.arg_model)
        return tool

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        started = time.perf_counter()
        try:
            return _compact_text(await super().run(arguments, context, convert_result=convert_result))
        except ToolError as exc:
            refused = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(refused, ValidationError):
                raise
            record(self.name, "invalid_input", time.perf_counter() - started)
            # the cause stays a ValidationError: the SDK then logs the argument names, not values
            raise ToolError(invalid_arguments(refused)) from refused


def _compact_text(result: Any) -> Any:
    """``result`` with its text block as compact JSON: the SDK indents the copy of the structured
    answer it puts there, and that copy is what most clients hand the model (~35 % of its bytes
    are indentation)."""
    if isinstance(result, CallToolResult) and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
        result.content = [TextContent(type="text", text=text)]
    return result


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
    """The MCP server with its five tools.

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
            StrictTool.of(scan_pool_drift, "Scan pools for drift"),
            StrictTool.of(drifted_desktops, "Drifted desktops"),
        ],
        title="pooldrift",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        token_verifier=token_verifier,
        auth=auth,
        log_level="WARNING",
    )
