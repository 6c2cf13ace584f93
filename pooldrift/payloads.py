"""The Workspace API's answers as typed models, checked against the vendor SDK's models
(``tests/pooldrift/test_contract.py``): every field optional, ``null`` accepted, unknown fields ignored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidatorFunctionWrapHandler,
    model_validator,
)

from .kinds import InconsistentType

__all__ = [
    "AttachedUser",
    "AuthProject",
    "AuthProjects",
    "DesktopPool",
    "InconsistentStatics",
    "Job",
    "JobEntities",
    "PoolDesktop",
    "PoolDesktopPage",
    "PoolList",
    "PoolProduct",
    "SubJob",
    "SubJobList",
    "Volume",
    "WriteAnswer",
    "is_count",
]


def _empty_list(value: Any) -> Any:
    return [] if value is None else value


def _metadata(value: Any) -> Any:
    """``null`` is no metadata; a value that is not a string is kept in its JSON form."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return value  # let validation say what is wrong
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        for k, v in value.items()
        if v is not None
    }


#: the vendor documents its counts as ``Integer`` (32 bits; ``Long`` where it means 64): a
#: larger one is no count, even of a pool whose size is not reported
_COUNT_MAX = 2**31 - 1


def is_count(value: Any) -> bool:
    """A non-negative 32-bit JSON integer: not ``true`` (a Python ``bool`` is an ``int``), ``"3"``,
    ``1.5`` or ``10**30``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _COUNT_MAX


def _name(value: Any) -> Any:
    return "" if value is None else value


#: Lists the vendor may send as ``null`` (its SDKs serialize empty values that way or omit them).
_Strings = Annotated[list[str], BeforeValidator(_empty_list)]


class _Upstream(BaseModel):
    """An answer of the API: every field optional, as the vendor's definitions have it, and
    unknown fields ignored (the vendor adds fields freely). Only the ids pooldrift acts on
    are required: an answer without them is malformed."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class InconsistentStatics(_Upstream):
    """The body of ``GET .../desktop-pools/{pool_id}/inconsistent-statics``
    (``ListInconsistentStaticsResponse``).

    A count the answer leaves out (older API versions had only the first two) or sends as
    ``null`` is unknown: ``None``, never 0."""

    # strict: ``true`` is not 1 and ``"3"`` or ``1.5`` not a count (pydantic would coerce them)
    product_id: StrictInt | None = Field(default=None, ge=0, description="Desktops whose package differs.")
    image_id: StrictInt | None = Field(default=None, ge=0, description="Desktops whose image differs.")
    disk_num: StrictInt | None = Field(
        default=None, ge=0, description="Desktops whose data-disk count differs."
    )
    disk_size: StrictInt | None = Field(
        default=None, ge=0, description="Desktops whose total disk capacity differs."
    )


class Volume(_Upstream):
    """``VolumeInfo`` (a pool's disks) or ``VolumeDetail`` (a desktop's)."""

    id: str | None = Field(default=None, description="Volume id (a desktop's disks).")
    type: str | None = Field(default=None, description="Disk type, e.g. SAS or SSD.")
    size: int | None = Field(default=None, description="Size in GB.")


_Volumes = Annotated[list[Volume], BeforeValidator(_empty_list)]


class PoolProduct(_Upstream):
    """``ProductInfo``: the package of a pool or a desktop."""

    product_id: str | None = Field(default=None, description="Package id of the pool.")
    flavor_id: str | None = None
    cpu: str | None = None
    memory: str | None = Field(default=None, description="Memory in MiB, as a string (e.g. 4096).")
    descriptions: str | None = None


class DesktopPool(_Upstream):
    """A desktop pool: ``SimpleDesktopPoolInfo`` in the list, ``ShowDesktopPoolDetailResponse`` alone."""

    id: str = Field(description="Pool id (UUID).")
    name: Annotated[str, BeforeValidator(_name)] = Field(default="", description="Pool name.")
    type: str | None = Field(default=None, description="DYNAMIC or STATIC.")
    status: str | None = Field(default=None, description="Pool status, e.g. STEADY.")
    desktop_count: int | None = Field(default=None, description="Desktops in the pool.")
    desktop_used: int | None = Field(default=None, description="Desktops assigned to users.")
    availability_zone: str | None = None
    product: PoolProduct | None = None
    image_id: str | None = Field(default=None, description="Image the pool's desktops use.")
    image_name: str | None = None
    image_resource_type: str | None = Field(
        default=None, description="e.g. hws.resource.type.marketplace.image."
    )
    root_volume: Volume | None = None
    data_volumes: _Volumes = Field(default_factory=list)
    enterprise_project_id: str | None = None
    in_maintenance_mode: bool | None = None
    created_time: str | None = None

    #: the JSON text of a ``desktop_count`` that is not a count (``-5``, ``"3"``, ``true``):
    #: kept aside so one pool's bad size does not fail the listing of all, and reported
    #: as an upstream fault of that pool wherever its drift is judged (``client.plausible``)
    _implausible_size: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _size_aside(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> DesktopPool:
        size = data.get("desktop_count") if isinstance(data, dict) else None
        if size is None or is_count(size):
            pool: DesktopPool = handler(data)
            return pool
        pool = handler({**data, "desktop_count": None})
        pool._implausible_size = json.dumps(size)[:40]
        return pool

    @property
    def implausible_size(self) -> str | None:
        """The pool's ``desktop_count`` as the API sent it, when it is not a count."""
        return self._implausible_size

    @property
    def product_id(self) -> str | None:
        return self.product.product_id if self.product else None


class PoolList(_Upstream):
    """``ListDesktopPoolsResponse``."""

    total_count: int | None = None
    desktop_pools: Annotated[list[DesktopPool], BeforeValidator(_empty_list)] = Field(default_factory=list)


class AttachedUser(_Upstream):
    """``AttachInstancesUserInfo``: a user (or group) a desktop is assigned to."""

    user_id: str | None = None
    user_name: str | None = None
    user_group: str | None = None
    type: str | None = None


class PoolDesktop(_Upstream):
    """A desktop of a pool (``PoolDesktopsDetailInfo``), with the ways it differs from the pool
    that it reports itself: the vendor documents ``PRODUCT`` and ``IMAGE`` only; disk drift
    shows only through the listing filter (``merge_drift_listings`` adds it)."""

    desktop_id: str
    computer_name: str | None = None
    status: str | None = None
    product_id: str | None = None
    root_volume: Volume | None = None
    data_volumes: _Volumes = Field(default_factory=list)
    metadata: Annotated[dict[str, str], BeforeValidator(_metadata)] = Field(default_factory=dict)
    inconsistent_types: _Strings = Field(default_factory=list)
    user_name: str | None = None
    #: who is on it: UNREGISTER, REGISTERED, CONNECTED (a user is working), DISCONNECTED
    login_status: str | None = None
    attach_user_infos: Annotated[list[AttachedUser], BeforeValidator(_empty_list)] = Field(
        default_factory=list
    )
    #: an operation running on it ("" or null: none)
    task_status: str | None = None
    in_maintenance_mode: bool | None = None
    is_freeze: bool | None = None
    #: set for a yearly/monthly (periodic) desktop
    order_id: str | None = None

    @property
    def image_id(self) -> str | None:
        return self.metadata.get("metering.image_id")

    @property
    def periodic(self) -> bool:
        """Charged yearly/monthly: an order id, or the metadata's charging mode 0."""
        return bool(self.order_id) or self.metadata.get("charging_mode") == "0"

    @property
    def users(self) -> list[str]:
        """The users assigned, by name: the attached ones, else ``user_name``."""
        named = [u.user_name for u in self.attach_user_infos if u.user_name]
        return named or ([self.user_name] if self.user_name else [])

    @property
    def drift(self) -> list[InconsistentType]:
        """The parsed ``inconsistent_types``; unknown values are dropped."""
        kinds: list[InconsistentType] = []
        for raw in self.inconsistent_types:
            try:
                kind = InconsistentType.parse(raw)
            except ValueError:
                continue
            if kind not in kinds:
                kinds.append(kind)
        return kinds


class PoolDesktopPage(_Upstream):
    """``ListPoolDesktopsDetailResponse`` (the on-demand/period tallies are not read)."""

    total_count: int | None = None
    pool_desktops: Annotated[list[PoolDesktop], BeforeValidator(_empty_list)] = Field(default_factory=list)


class AuthProject(_Upstream):
    """``AuthProjectResult``: a project the credentials reach; its name is a region id, or
    ``region_subproject`` for a sub-project."""

    id: str
    name: Annotated[str, BeforeValidator(_name)] = ""
    enabled: bool | None = None


class AuthProjects(_Upstream):
    """``KeystoneListAuthProjectsResponse`` (IAM ``GET /v3/auth/projects``)."""

    projects: Annotated[list[AuthProject], BeforeValidator(_empty_list)] = Field(default_factory=list)


class JobEntities(_Upstream):
    """``JobEntities``: what a sub-job acts on."""

    desktop_id: str | None = None
    desktop_name: str | None = None
    user_name: str | None = None
    product_id: str | None = None


class SubJob(_Upstream):
    """``JobDetailInfo``: one desktop's part of a job; WAITING, RUNNING, SUCCESS or FAILED."""

    id: str
    job_id: str | None = None
    job_type: str | None = None
    status: str | None = None
    entities: JobEntities | None = None
    error_code: str | None = None
    fail_reason: str | None = None
    begin_time: str | None = None
    end_time: str | None = None

    @property
    def desktop_id(self) -> str | None:
        return self.entities.desktop_id if self.entities else None


class Job(_Upstream):
    """``ShowJobResponse``: a write's job. Its terminal statuses are not documented: SUCCESS,
    and FAIL or FAILED (as the vendor's Terraform provider reads them); anything else runs."""

    id: str
    job_type: str | None = None
    status: str | None = None
    job_error_code: str | None = None
    fail_reason: str | None = None
    begin_time: str | None = None
    end_time: str | None = None
    sub_jobs_total: int | None = None
    sub_jobs: Annotated[list[SubJob], BeforeValidator(_empty_list)] = Field(default_factory=list)


class SubJobList(_Upstream):
    """``ListItaSubJobsResponse``."""

    total_count: int | None = None
    jobs: Annotated[list[SubJob], BeforeValidator(_empty_list)] = Field(default_factory=list)


class WriteAnswer(_Upstream):
    """The answer of every write: the job that carries it out."""

    job_id: str
