"""What the MCP tools return: pydantic models that become each tool's ``outputSchema``.

Field descriptions are written for a model reading the schema; keep them short (they are
sent on every ``tools/list``).
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
        if isinstance(prop.get("additionalProperties"), dict):
            _nullable(prop["additionalProperties"])
        _nullable(prop)


def _nullable(prop: dict[str, Any]) -> None:
    """``anyOf: [{type: T, ...}, {type: null}]`` as ``{type: [T, null], ...}`` (the other keywords
    of T, such as ``format`` or ``minimum``, apply only to T's values: the same schema)."""
    options = prop.get("anyOf")
    if not (isinstance(options, list) and len(options) == 2 and {"type": "null"} in options):
        return
    (other,) = [o for o in options if o != {"type": "null"}]
    if isinstance(other.get("type"), str) and "$ref" not in other:
        del prop["anyOf"]
        prop.update({**other, "type": [other["type"], "null"]})


class _Output(BaseModel):
    model_config = ConfigDict(json_schema_extra=compact)


#: ``InconsistentType`` values, inline in the schema (a test keeps the two equal).
DriftKind = Literal["PRODUCT_ID", "IMAGE_ID", "DISK_NUM", "DISK_SIZE"]


class DriftCount(_Output):
    """One way desktops can differ from their pool, and how many do."""

    kind: DriftKind = Field(description="The drift kind (the API's inconsistent_type).")
    count: int | None = Field(
        ge=0, description="Desktops that differ so; null: not reported (unknown, not 0)."
    )
    meaning: str = Field(description="What this kind of drift means.")


class PoolInconsistency(_Output):
    """The drift counts of one desktop pool."""

    summary: str = Field(description="One plain sentence to quote to the user.")
    consistent: bool = Field(description="True only when all four counts are reported and 0.")
    drifted_desktops_at_least: int = Field(
        ge=0,
        description="Lower bound on drifted desktops: the largest count (counts overlap; never add them).",
    )
    counts: list[DriftCount] = Field(description="The four drift counts, in a fixed order.")
    pool_id: str = Field(description="Pool id (UUID).")
    pool_name: str | None = Field(description="Pool name.")
    desktop_count: int | None = Field(description="Desktops in the pool.")
    region: str = Field(description="Region queried.")
    project_id: str = Field(description="Project queried.")
    request_id: str | None = Field(description="Upstream X-Request-Id, for support tickets.")
    fetched_at: datetime = Field(description="When the counts were fetched (UTC).")
    drifting_since: datetime | None = Field(
        default=None,
        exclude_if=lambda since: since is None,
        description="Since when the drift watch saw it drifting; absent: unknown.",
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


class PoolSummary(_Output):
    """Just enough about a pool to pick it."""

    id: str = Field(description="Pool id (UUID); pass it to pool_inconsistency.")
    name: str = Field(description="Pool name.")
    type: str | None = Field(description="DYNAMIC or STATIC.")
    status: str | None = Field(description="Pool status, e.g. STEADY.")
    desktop_count: int | None = Field(description="Desktops in the pool.")


class PoolListing(_Output):
    """A capped page of the project's desktop pools."""

    pools: list[PoolSummary] = Field(description="Pools, at most `limit` of them.")
    total_count: int = Field(ge=0, description="How many pools matched in total.")
    more_available: bool = Field(description="True when more pools matched than are listed here.")
    hint: str | None = Field(description="What to do when the list is incomplete or empty.")
    region: str = Field(description="Region queried.")
    project_id: str = Field(description="Project queried.")

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
