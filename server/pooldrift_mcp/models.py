"""What the MCP tools return: pydantic models that become each tool's ``outputSchema``.

Field descriptions are written for a model reading the schema, and only where the name does
not say it all: they are sent on every ``tools/list``, which must stay within 8 KB.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pooldrift.validation import shown

if TYPE_CHECKING:  # types only: both are imported at the first tool call, off the stdio start-up path
    from pooldrift.client import DesktopPools
    from pooldrift.models import DriftReport

#: ``list_desktop_pools`` never returns more rows than this, whatever the model asks for.
MAX_POOLS_LISTED = 100


def compact(schema: dict[str, Any], *_: object) -> None:
    """Trim a field's (or each property's) generated schema: drop the "title" the name already
    says, and write ``anyOf: [{type: T}, {type: null}]`` as ``type: [T, null]``. tools/list
    goes to the model at the start of every conversation, so its bytes are worth saving."""
    for prop in [schema, *schema.get("properties", {}).values()]:
        prop.pop("title", None)
        _nullable(prop)
        for inner in (prop.get("items"), prop.get("additionalProperties")):
            if isinstance(inner, dict):
                _nullable(inner)


def _nullable(prop: dict[str, Any]) -> None:
    """``prop``'s ``anyOf`` of one type and null as one schema of both types, where that says
    the same."""
    options = prop.get("anyOf")
    if not isinstance(options, list) or not all(isinstance(o.get("type"), str) for o in options):
        return
    if all(set(o) == {"type"} for o in options):
        del prop["anyOf"]
        prop["type"] = [o["type"] for o in options]
    elif (  # a constrained number or string (a format, a range) or null: those keywords apply
        # to numbers or strings only, so null stays free of them
        len(options) == 2
        and options[0]["type"] in ("integer", "number", "string")
        and "enum" not in options[0]
        and options[1] == {"type": "null"}
    ):
        del prop["anyOf"]
        prop.update(options[0])
        prop["type"] = [options[0]["type"], "null"]
    elif (  # an optional enum: its values and null
        len(options) == 2 and set(options[0]) == {"enum", "type"} and options[1] == {"type": "null"}
    ):
        del prop["anyOf"]
        prop["enum"] = [*options[0]["enum"], None]
        prop["type"] = [options[0]["type"], "null"]


def slim_input(schema: dict[str, Any]) -> None:
    """Trim a tool's input schema for tools/list: ``compact`` (the SDK's argument model titles
    every field), and an optional argument without its ``default: null`` and ``null`` type:
    leaving it out says as much (null is still taken)."""
    compact(schema)
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
            if isinstance(prop.get("type"), list):
                prop["type"] = next(t for t in prop["type"] if t != "null")
            if "enum" in prop:
                prop["enum"] = [v for v in prop["enum"] if v is not None]


def slim_output(schema: dict[str, Any]) -> None:
    """Trim a tool's output schema for tools/list: no ``required`` lists (every field of an
    answer is always there, null when unknown), no ``default: null``, no description of the
    whole answer (the tool's description says it), and each ``$defs`` entry written where it is
    used (every one is used once: a ``$ref`` and the entry's name only cost bytes)."""
    schema.pop("description", None)
    definitions = schema.pop("$defs", {})
    for part in [schema, *definitions.values()]:
        part.pop("required", None)
        for prop in part.get("properties", {}).values():
            if "default" in prop and prop["default"] is None:
                del prop["default"]
    _inline(schema, definitions)


def _inline(node: Any, definitions: dict[str, Any]) -> None:
    """Replace every ``{"$ref": "#/$defs/X", ...}`` under ``node`` by X's schema with the
    reference's own keywords (its description) beside it. The answers are trees: no
    definition refers to itself."""
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        if isinstance(child, dict) and "$ref" in child:
            target = definitions[child.pop("$ref").removeprefix("#/$defs/")]
            child.update({**target, **child})
        _inline(child, definitions)


class Output(BaseModel):
    """A tool's answer: its schema compacted."""

    model_config = ConfigDict(json_schema_extra=compact)


#: ``InconsistentType`` values, inline in the schema (a test keeps the two equal).
DriftKind = Literal["PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE"]


class DriftCount(Output):
    kind: DriftKind
    count: int | None = Field(description="null: not reported (unknown, not 0).")
    meaning: str


class PoolInconsistency(Output):
    summary: str = Field(description="Quote it.")
    consistent: bool = Field(description="All four counts reported and 0.")
    drifted_desktops_at_least: int = Field(description="The largest count: a lower bound.")
    counts: list[DriftCount]
    pool_id: str
    pool_name: str | None
    desktop_count: int | None
    region: str
    project_id: str
    request_id: str | None
    fetched_at: datetime
    drifting_since: datetime | None = Field(
        default=None,
        exclude_if=lambda since: since is None,
        description="From the drift watch.",
    )

    @classmethod
    def from_report(cls, report: DriftReport) -> PoolInconsistency:
        # deferred: building pooldrift.models' classes takes ~18 ms, ~3 % of the stdio cold start
        # (bench_mcp.py, section 1); the first check imports them with the client anyway
        from pooldrift.models import InconsistentType

        return cls(
            summary=report.summary(),
            consistent=report.consistent,
            drifted_desktops_at_least=report.drifted_desktops_at_least,
            counts=[
                DriftCount(kind=kind.value, count=report.count(kind), meaning=kind.meaning)
                for kind in InconsistentType
            ],
            pool_id=report.pool_id,
            pool_name=report.pool_name,
            desktop_count=report.desktop_count,
            region=report.region,
            project_id=report.project_id,
            request_id=report.request_id,
            fetched_at=report.fetched_at,
        )


class PoolSummary(Output):
    id: str
    name: str
    type: str | None = Field(description="DYNAMIC or STATIC.")
    status: str | None
    desktop_count: int | None


class PoolListing(Output):
    pools: list[PoolSummary] = Field(description="At most `limit`.")
    total_count: int = Field(description="Pools matched in all.")
    more_available: bool
    hint: str | None
    region: str
    project_id: str

    @classmethod
    def from_pools(
        cls, listing: DesktopPools, *, name: str | None, region: str, project_id: str
    ) -> PoolListing:
        pools = [
            PoolSummary(id=p.id, name=p.name, type=p.type, status=p.status, desktop_count=p.desktop_count)
            for p in listing.pools
        ]
        more = listing.total_count > len(pools)
        hint = None
        if more:
            hint = f"Showing {len(pools)} of {listing.total_count} pools; narrow with `name`"
            if len(pools) < MAX_POOLS_LISTED:
                hint += f" or raise `limit` (at most {MAX_POOLS_LISTED})"
            hint += "."
        elif not pools:
            hint = (
                f"No pool name matches {shown(name)}; call again without `name` to see every pool."
                if name
                else f"The project has no desktop pools in {region}; check `region` and `project_id`."
            )
        return cls(
            pools=pools,
            total_count=max(listing.total_count, len(pools)),
            more_available=more,
            hint=hint,
            region=region,
            project_id=project_id,
        )
