"""The emulated Workspace and IAM endpoints: query checks, filters and pages over the data set.

Handlers are plain functions of (data, path values, query) returning ``(status, body)``; the
ASGI layer in ``app.py`` adds signing, request ids and faults around them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .. import regions
from .config import EmulatorConfig
from .data import KINDS, EmulatorData, Project, drift_of
from .shape import Shape

#: The Workspace service's code for a request it refuses (400): its error-code table lists
#: WKS.0001 as the request check, and an unknown desktop pool is answered with it too ("The
#: desktop pool does not exist.", as the vendor's Terraform provider expects).
BAD_REQUEST = "WKS.0001"
UNKNOWN_POOL = "WKS.0001"
#: The gateway's answers: an unknown path; a project the key pair has no scope in (as for a key
#: the gateway cannot authenticate).
API_NOT_FOUND = "APIGW.0101"
NO_PROJECT_SCOPE = "APIGW.0301"

Answer = tuple[int, dict[str, Any]]
Query = Sequence[tuple[str, str]]


class BadQuery(Exception):
    """A query value the real API would refuse with 400."""


def error(status: int, code: str, message: str) -> Answer:
    return status, {"error_code": code, "error_msg": message}


def _one(query: Query, name: str) -> str | None:
    values = [v for k, v in query if k == name]
    return values[-1] if values else None


def _int(query: Query, name: str, default: int, lo: int, hi: int | None) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise BadQuery(f"{name} must be an integer, got {raw[:20]!r}")
    value = int(raw)
    if value < lo or (hi is not None and value > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise BadQuery(f"{name} must be {limit}, got {value}")
    return value


def _bool(query: Query, name: str) -> bool | None:
    raw = _one(query, name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise BadQuery(f"{name} must be true or false, got {raw[:20]!r}")
    return raw.lower() == "true"


#: The project IAM lists beside the region projects (Marketplace's), which has no Workspace.
MOS_PROJECT_NAME = "MOS"


def _project_body(config: EmulatorConfig, project: Project, base: str) -> dict[str, Any]:
    """``ProjectResult`` / ``AuthProjectResult``: a region project's parent is the account."""
    return {
        "id": project.id,
        "name": project.name,
        "domain_id": config.domain_id,
        "enabled": project.enabled,
        "is_domain": False,
        "parent_id": project.parent_id or config.domain_id,
        "description": project.description,
        "links": {"self": f"{base}/v3/projects/{project.id}"},
    }


def mos_project(config: EmulatorConfig) -> Project:
    """The account's ``MOS`` project: listed by IAM, named after no region."""
    project_id = uuid.uuid5(uuid.NAMESPACE_URL, f"pooldrift-emulator/MOS/{config.domain_id}").hex
    return Project(project_id, MOS_PROJECT_NAME)


def list_projects(config: EmulatorConfig, data: EmulatorData, query: Query, base: str) -> Answer:
    """IAM ``GET /v3/projects?name=...``: the projects of that name. The demo set's one project
    answers to any known region's name, as if every region had it."""
    name = _one(query, "name")
    links = {"self": f"{base}/v3/projects"}
    with data.lock:
        projects = list(data.projects)
    if data.fleet is None and projects:
        if name is not None and not regions.is_known(name):
            return 200, {"projects": [], "links": links}
        home = replace(projects[0], name=name or projects[0].name)
        return 200, {"projects": [_project_body(config, home, base)], "links": links}
    chosen = [p for p in [mos_project(config), *projects] if name is None or p.name == name]
    return 200, {"projects": [_project_body(config, p, base) for p in chosen], "links": links}


def auth_projects(config: EmulatorConfig, data: EmulatorData, base: str) -> Answer:
    """IAM ``GET /v3/auth/projects``: every project the key pair reaches, the ``MOS`` one first."""
    with data.lock:
        projects = [mos_project(config), *data.projects]
    body = {
        "projects": [_project_body(config, p, base) for p in projects],
        "links": {"self": f"{base}/v3/auth/projects"},
    }
    return 200, body


def list_pools(data: EmulatorData, shape: Shape, project_id: str, query: Query) -> Answer:
    """``GET /v2/{project}/desktop-pools``: ``name`` matches as ``shape.name_filter`` says."""
    try:
        offset = _int(query, "offset", 0, 0, None)
        limit = _int(query, "limit", 1000, 0, 1000)
        maintenance = _bool(query, "in_maintenance_mode")
    except BadQuery as exc:
        return error(400, BAD_REQUEST, str(exc))
    pool_type = _one(query, "type")
    if pool_type is not None and pool_type.upper() not in ("DYNAMIC", "STATIC"):
        return error(400, BAD_REQUEST, f"type must be DYNAMIC or STATIC, got {pool_type[:20]!r}")
    name = _one(query, "name")
    project = _one(query, "enterprise_project_id")
    with data.lock:
        pools = [
            p
            for p in data.pools_of(project_id)
            if (name is None or shape.name_matches(name, p.name))
            and (pool_type is None or p.type == pool_type.upper())
            and (maintenance is None or p.in_maintenance_mode == maintenance)
            and (project is None or p.enterprise_project_id == project)
        ]
        endless = shape.endless(
            [_pool_body(shape, p.to_api(data.desktops_of(p.id))) for p in pools[:limit]] if limit else [],
            offset, limit, key="id", label="name",
        )  # fmt: skip
        page = endless
        if page is None:
            page = [
                _pool_body(shape, p.to_api(data.desktops_of(p.id))) for p in pools[offset : offset + limit]
            ]
    total = len(pools) if endless is None else shape.endless_total()
    return 200, shape.sparse({"total_count": total, "desktop_pools": page}, "total_count", "desktop_pools")


def show_pool(data: EmulatorData, shape: Shape, project_id: str, pool_id: str) -> Answer:
    """``GET /v2/{project}/desktop-pools/{pool_id}``: the pool itself, flat
    (``ShowDesktopPoolDetailResponse``)."""
    with data.lock:
        pool = data.pool(pool_id, project_id)
        if pool is None:
            return _no_pool(pool_id)
        return 200, _pool_body(shape, pool.to_api(data.desktops_of(pool.id)))


def statics(data: EmulatorData, shape: Shape, project_id: str, pool_id: str) -> Answer:
    """``GET .../inconsistent-statics``: counts computed from the desktops, as many as the version reports."""
    with data.lock:
        if data.pool(pool_id, project_id) is None:
            return _no_pool(pool_id)
        return 200, dict(shape.statics(data.statics(pool_id)))


def list_desktops(data: EmulatorData, shape: Shape, project_id: str, pool_id: str, query: Query) -> Answer:
    """``GET .../desktops``: ``inconsistent_type`` one of the version's values (any casing),
    ``status`` exact (any casing), ``computer_name`` a case-insensitive substring,
    ``desktop_id`` repeated or comma-separated, ``user_name`` exact."""
    try:
        offset = _int(query, "offset", 0, 0, None)
        limit = _int(query, "limit", 10, 0, 100)
    except BadQuery as exc:
        return error(400, BAD_REQUEST, str(exc))
    kind: str | None = None
    raw_kind = _one(query, "inconsistent_type")
    if raw_kind is not None and raw_kind != "":
        allowed = shape.filter_values()
        if raw_kind.upper() not in allowed:
            message = f"inconsistent_type must be one of {', '.join(allowed)}, got {raw_kind[:20]!r}"
            return error(400, BAD_REQUEST, message)
        kind = next(k for k in KINDS if k.startswith(raw_kind.upper()))
    status = _one(query, "status")
    computer = _one(query, "computer_name")
    user = _one(query, "user_name")
    wanted_ids = {i.strip().lower() for k, v in query if k == "desktop_id" for i in v.split(",") if i.strip()}
    with data.lock:
        pool = data.pool(pool_id, project_id)
        if pool is None:
            return _no_pool(pool_id)
        chosen = [
            d
            for d in data.desktops_of(pool.id)
            if (kind is None or kind in drift_of(d, pool))
            and (status is None or d.status == status.upper())
            and (computer is None or computer.lower() in d.computer_name.lower())
            and (user is None or d.user_name == user)
            and (not wanted_ids or d.desktop_id in wanted_ids)
        ]
        endless = shape.endless(
            [_desktop_body(shape, d.to_api(pool)) for d in chosen[:limit]] if limit else [],
            offset, limit, key="desktop_id", label="computer_name",
        )  # fmt: skip
        page = endless
        if page is None:
            page = [_desktop_body(shape, d.to_api(pool)) for d in chosen[offset : offset + limit]]
    period = sum(1 for d in chosen if d.charge_mode == "period")
    body = {
        "total_count": len(chosen) if endless is None else shape.endless_total(),
        "pool_desktops": page,
        "on_demand_desktops_num": len(chosen) - period,
        "period_desktops_num": period,
    }
    return 200, shape.sparse(body, "total_count", "pool_desktops")


def _pool_body(shape: Shape, body: dict[str, Any]) -> dict[str, Any]:
    return shape.sparse(shape.pool(body), "data_volumes", "tags", "description")


def _desktop_body(shape: Shape, body: dict[str, Any]) -> dict[str, Any]:
    return shape.sparse(
        body,
        "inconsistent_types",
        "data_volumes",
        "user_list",
        "user_name",
        "task_status",
        "attach_user_infos",
        "order_id",
    )


def _no_pool(pool_id: str) -> Answer:
    return error(400, UNKNOWN_POOL, f"The desktop pool {pool_id[:64]} does not exist.")


def no_project(project_id: str) -> Answer:
    return error(
        401,
        NO_PROJECT_SCOPE,
        f"Incorrect IAM authentication information: the key pair has no scope in project {project_id[:64]}",
    )
