"""The emulated writes pooldrift's fix uses: rebuild, resize, add and expand data disks, notify users.

Handlers are plain functions of (data, jobs, faults, path values, body) returning ``(status, body)``,
like ``api.py``; each checks the body as the vendor's definitions do (required fields, enums, limits,
no field the vendor does not have), refuses desktops it cannot touch, and accepts the rest as one job
(``jobs.py``) whose sub-jobs change the desktops when they end. Call them under ``data.lock``.

Refusals: ``400 WKS.0001`` for a bad body, an unknown pool or desktop (the vendor's request check,
as for the reads), a frozen desktop and a periodic desktop's resize (it needs a change order);
``400 WKS.0407`` for a desktop with an operation running (the vendor's "cannot be performed because
disks are being added", which its Terraform provider retries). The vendor's codes for the other
refusals are not documented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .api import BAD_REQUEST, Answer, BadQuery, Query, _one, error
from .api import _int as _query_int
from .data import Desktop, EmulatorData, Pool
from .faults import Faults
from .jobs import STATUSES, Change, Jobs

__all__ = [
    "BUSY",
    "Handler",
    "add_volumes",
    "expand_volumes",
    "list_sub_jobs",
    "on_pool",
    "on_project",
    "rebuild_desktops",
    "rebuild_pool",
    "resize_desktops",
    "send_notifications",
    "send_pool_notifications",
    "show_job",
]

#: A desktop with an operation running.
BUSY = "WKS.0407"
#: Desktops one call may name (the vendor's limit on the rebuild and the resize; held for every batch).
MAX_DESKTOPS = 100
MAX_DATA_DISKS = 10
DISK_MIN, DISK_MAX, DISK_STEP = 10, 32_760, 10
MAX_DELAY_MINUTES = 15
MAX_MESSAGE = 400

IMAGE_TYPES = ("gold", "private", "market")
HANDLE_TYPES = ("ONLY_FOR_EXPAND", "FOR_EXPAND_AND_IDLE", "FOR_EXPAND_AND_ALL")
ENCRYPT_TYPES = ("KEEP", "UNENCRYPTED", "ENCRYPTED")
RESIZE_MODES = ("STOP_DESKTOP",)
AUTO_PLACEMENT = ("on", "off")
DISK_TYPES = ("SAS", "SSD", "GPSSD")

#: ``job_type`` of each write (the vendor's ``ListItaSubJobs`` names; resize and notifications
#: have none documented).
JOB_TYPES = {
    "rebuild_pool": "rebuildDesktopPool",
    "rebuild": "rebuildDesktops",
    "resize": "resizeDesktops",
    "add_volumes": "addVolumes",
    "expand_volumes": "expandVolumes",
    "notify": "sendNotifications",
}
#: The ``task_status`` a desktop shows while each runs (the vendor's values).
TASKS = {"rebuild": "rebuilding", "resize": "resize_prep", "volumes": "updating"}


#: What the app calls: (data, jobs, faults, project id, path values, body) → (status, body).
Handler = Callable[[EmulatorData, Jobs, Faults, str, Mapping[str, Any], Any], Answer]
_OnProject = Callable[[EmulatorData, Jobs, Faults, str, Any], Answer]
_OnPool = Callable[[EmulatorData, Jobs, Faults, str, str, Any], Answer]


def on_project(write: _OnProject) -> Handler:
    """A write on the project's desktops as a ``Handler``."""
    return lambda data, jobs, faults, project, _params, body: write(data, jobs, faults, project, body)


def on_pool(write: _OnPool) -> Handler:
    """A write on one pool (``{pool_id}`` in its path) as a ``Handler``."""
    return lambda data, jobs, faults, project, params, body: write(
        data, jobs, faults, project, params["pool_id"], body
    )


class Refused(Exception):
    """A request the vendor would refuse: its status, code and message."""

    def __init__(self, message: str, code: str = BAD_REQUEST, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _answer(run: Callable[[], Answer]) -> Answer:
    try:
        return run()
    except Refused as exc:
        return error(exc.status, exc.code, str(exc))


# -- the body's checks ------------------------------------------------------------------------


def _object(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refused(f"{where} must be a JSON object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise Refused(f"{where} has a field the API does not have: {unknown[0][:40]}")
    return value


def _str(body: dict[str, Any], name: str, *, required: bool = False, choices: tuple[str, ...] = (),
         longest: int | None = None) -> str | None:  # fmt: skip
    value = body.get(name)
    if value is None:
        if required:
            raise Refused(f"The parameter {name} is required.")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refused(f"The parameter {name} must be a non-empty string.")
    if choices and value not in choices:
        raise Refused(f"The parameter {name} must be one of {', '.join(choices)}, got {value[:30]!r}.")
    if longest is not None and len(value) > longest:
        raise Refused(f"The parameter {name} must be at most {longest} characters, got {len(value)}.")
    return value


def _need(body: dict[str, Any], name: str, choices: tuple[str, ...] = ()) -> str:
    value = _str(body, name, required=True, choices=choices)
    return value or ""


def _int(body: dict[str, Any], name: str, lo: int, hi: int, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Refused(f"The parameter {name} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise Refused(f"The parameter {name} must be an integer from {lo} to {hi}, got {str(value)[:20]}.")
    return value


def _bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise Refused(f"The parameter {name} must be true or false.")
    return value


def _list(
    body: dict[str, Any], name: str, *, longest: int = MAX_DESKTOPS, required: bool = True
) -> list[Any] | None:
    value = body.get(name)
    if value is None:
        if required:
            raise Refused(f"The parameter {name} is required.")
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= longest:
        raise Refused(f"The parameter {name} must be a list of 1 to {longest} items.")
    return value


def _ids(values: list[Any], name: str) -> list[str]:
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise Refused(f"The parameter {name} must hold desktop ids (strings).")
    ids = [v.strip().lower() for v in values]
    if len(set(ids)) != len(ids):
        raise Refused(f"The parameter {name} names a desktop twice.")
    return ids


def _encryption(body: dict[str, Any]) -> None:
    encrypt = _str(body, "encrypt_type", choices=ENCRYPT_TYPES)
    kms = _str(body, "kms_id")
    if encrypt == "ENCRYPTED" and not kms:
        raise Refused("The parameter kms_id is required when encrypt_type is ENCRYPTED.")


def _rebuild_common(body: dict[str, Any]) -> None:
    _str(body, "os_type")
    _int(body, "delay_time", 0, MAX_DELAY_MINUTES)
    _str(body, "message", longest=MAX_MESSAGE)
    _str(body, "handle_type", choices=HANDLE_TYPES)
    _encryption(body)


# -- the desktops ------------------------------------------------------------------------------


def _desktops(data: EmulatorData, project_id: str, ids: list[str]) -> list[tuple[Pool, Desktop]]:
    found = []
    for desktop_id in ids:
        hit = data.desktop(desktop_id, project_id)
        if hit is None:
            raise Refused(f"The desktop {desktop_id[:64]} does not exist.")
        found.append(hit)
    return found


def _operable(targets: list[tuple[Pool, Desktop]]) -> None:
    for _pool, desktop in targets:
        if desktop.task_status:
            raise Refused(
                f"This operation cannot be performed because the desktop {desktop.desktop_id} is being "
                f"operated ({desktop.task_status}); retry later.",
                BUSY,
            )
        if desktop.is_freeze:
            raise Refused(f"The desktop {desktop.desktop_id} is frozen.")


def _pool(data: EmulatorData, project_id: str, pool_id: str) -> Pool:
    pool = data.pool(pool_id, project_id)
    if pool is None:
        raise Refused(f"The desktop pool {pool_id[:64]} does not exist.")
    return pool


def _accept(
    jobs: Jobs,
    faults: Faults,
    project_id: str,
    kind: str,
    task: str,
    targets: Sequence[tuple[Pool, Desktop, Change | None]],
    pool_id: str | None = None,
) -> Any:
    failures = faults.sub_job_failures([d.desktop_id for _p, d, _c in targets]) if task else {}
    return jobs.submit(
        project_id=project_id,
        job_type=JOB_TYPES[kind],
        task=task,
        targets=targets,
        failures=failures,
        pool_id=pool_id,
    )


def _set_image(image_id: str) -> Change:
    def change(desktop: Desktop) -> None:
        desktop.image_id = image_id

    return change


# -- the writes ---------------------------------------------------------------------------------

_POOL_REBUILD = ("image_type", "image_id", "os_type", "delay_time", "message", "is_fix", "handle_type",
                 "encrypt_type", "kms_id", "desktop_ids")  # fmt: skip


def rebuild_pool(
    data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, pool_id: str, body: Any
) -> Answer:
    """``RebuildDesktopPool``: the pool takes ``image_id``; its desktops (``desktop_ids``, else those
    ``handle_type`` says: none for ONLY_FOR_EXPAND, the ones without a user for FOR_EXPAND_AND_IDLE,
    else all) are rebuilt onto it; with ``is_fix`` only those whose image differs."""

    def run() -> Answer:
        pool = _pool(data, project_id, pool_id)
        values = _object(body, "The request body", _POOL_REBUILD)
        image_id = _need(values, "image_id")
        _str(values, "image_type", choices=IMAGE_TYPES)
        _rebuild_common(values)
        is_fix = _bool(values, "is_fix") or False
        members = data.desktops_of(pool.id)
        asked = _list(values, "desktop_ids", required=False)
        if asked is not None:
            ids = set(_ids(asked, "desktop_ids"))
            unknown = sorted(ids - {d.desktop_id for d in members})
            if unknown:
                raise Refused(f"The desktop {unknown[0][:64]} is not in the desktop pool {pool.id}.")
            chosen = [d for d in members if d.desktop_id in ids]
        else:
            handle = values.get("handle_type")
            chosen = [] if handle == "ONLY_FOR_EXPAND" else list(members)
            if handle == "FOR_EXPAND_AND_IDLE":
                chosen = [d for d in chosen if not d.user_name]
        if is_fix:
            chosen = [d for d in chosen if d.image_id != image_id]
        _operable([(pool, d) for d in chosen])
        pool.image_id = image_id
        change = _set_image(image_id)
        targets = [(pool, d, change) for d in chosen]
        job = _accept(jobs, faults, project_id, "rebuild_pool", TASKS["rebuild"], targets, pool.id)
        return 200, {"job_id": job.id}

    return _answer(run)


_DESKTOPS_REBUILD = ("desktop_ids", "image_type", "image_id", "encrypt_type", "kms_id", "os_type",
                     "delay_time", "message", "order_id", "enterprise_project_id", "handle_type")  # fmt: skip


def rebuild_desktops(data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, body: Any) -> Answer:
    """``BatchRebuildDesktopsSystemDisk``: 1–100 desktops rebuilt onto ``image_id``."""

    def run() -> Answer:
        values = _object(body, "The request body", _DESKTOPS_REBUILD)
        ids = _ids(_list(values, "desktop_ids") or [], "desktop_ids")
        image_id = _need(values, "image_id")
        _str(values, "image_type", required=True, choices=IMAGE_TYPES)
        _rebuild_common(values)
        _str(values, "order_id")
        _str(values, "enterprise_project_id")
        found = _desktops(data, project_id, ids)
        _operable(found)
        change = _set_image(image_id)
        targets = [(pool, d, change) for pool, d in found]
        job = _accept(jobs, faults, project_id, "rebuild", TASKS["rebuild"], targets)
        return 200, {"job_id": job.id}

    return _answer(run)


def resize_desktops(data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, body: Any) -> Answer:
    """``ResizeDesktop``: 1–100 on-demand desktops to ``product_id`` (a periodic one needs a change
    order); answers ``job_id`` and, per desktop, ``jobs`` (the same job: the field is being retired)."""

    def run() -> Answer:
        values = _object(body, "The request body", ("desktops", "product_id", "mode", "auto_placement",
                                                    "desktop_pool_id"))  # fmt: skip
        entries = _list(values, "desktops") or []
        ids = _ids(
            [_object(e, "Each of desktops", ("desktop_id",)).get("desktop_id") for e in entries], "desktops"
        )
        product_id = _need(values, "product_id")
        _str(values, "mode", required=True, choices=RESIZE_MODES)
        _str(values, "auto_placement", choices=AUTO_PLACEMENT)
        pool_id = _str(values, "desktop_pool_id")
        found = _desktops(data, project_id, ids)
        if pool_id is not None:
            pool = _pool(data, project_id, pool_id)
            outside = [d.desktop_id for p, d in found if p.id != pool.id]
            if outside:
                raise Refused(f"The desktop {outside[0]} is not in the desktop pool {pool.id}.")
        periodic = [d.desktop_id for _p, d in found if d.charge_mode == "period"]
        if periodic:
            raise Refused(
                f"The desktop {periodic[0]} is charged yearly/monthly: "
                "its package changes through a change order."
            )
        _operable(found)

        def change(desktop: Desktop) -> None:
            desktop.product_id = product_id

        targets: list[tuple[Pool, Desktop, Change | None]] = [(p, d, change) for p, d in found]
        job = _accept(jobs, faults, project_id, "resize", TASKS["resize"], targets, pool_id)
        return 200, {
            "job_id": job.id,
            "jobs": [{"desktop_id": d.desktop_id, "job_id": job.id} for _p, d in found],
        }

    return _answer(run)


def _size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not DISK_MIN <= value <= DISK_MAX:
        raise Refused(f"The parameter {name} must be an integer from {DISK_MIN} to {DISK_MAX} (GB).")
    if value % DISK_STEP:
        raise Refused(f"The parameter {name} must be a multiple of {DISK_STEP} (GB), got {value}.")
    return value


def add_volumes(data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, body: Any) -> Answer:
    """``AddVolumes``: data disks added to each desktop (10–32,760 GB in steps of 10; at most 10 data
    disks a desktop)."""

    def run() -> Answer:
        values = _object(body, "The request body", ("desktop_volumes",))
        entries = _list(values, "desktop_volumes") or []
        wanted: list[tuple[str, list[int]]] = []
        for entry in entries:
            item = _object(entry, "Each of desktop_volumes", ("desktop_id", "volumes"))
            desktop_id = _str(item, "desktop_id", required=True)
            volumes = _list(item, "volumes", longest=MAX_DATA_DISKS) or []
            sizes = []
            for volume in volumes:
                disk = _object(volume, "Each volume", ("type", "size", "iops", "throughput", "kms_id"))
                _str(disk, "type", required=True, choices=DISK_TYPES)
                sizes.append(_size(disk.get("size"), "size"))
                _int(disk, "iops", 0, 1_000_000)
                _int(disk, "throughput", 0, 1_000_000)
                _str(disk, "kms_id")
            wanted.append((str(desktop_id), sizes))
        ids = _ids([desktop_id for desktop_id, _ in wanted], "desktop_volumes")
        found = _desktops(data, project_id, ids)
        for (_pool, desktop), (_id, sizes) in zip(found, wanted, strict=True):
            if len(desktop.data_sizes) + len(sizes) > MAX_DATA_DISKS:
                raise Refused(
                    f"The desktop {desktop.desktop_id} would have {len(desktop.data_sizes) + len(sizes)} "
                    f"data disks: at most {MAX_DATA_DISKS}."
                )
        _operable(found)
        targets: list[tuple[Pool, Desktop, Change | None]] = [
            (pool, desktop, _add(sizes)) for (pool, desktop), (_id, sizes) in zip(found, wanted, strict=True)
        ]
        job = _accept(jobs, faults, project_id, "add_volumes", TASKS["volumes"], targets)
        return 200, {"job_id": job.id}

    return _answer(run)


def _add(sizes: list[int]) -> Change:
    def change(desktop: Desktop) -> None:
        desktop.data_sizes = [*desktop.data_sizes, *sizes]

    return change


def expand_volumes(data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, body: Any) -> Answer:
    """``ExpandVolumes``: each named disk (``volume_id`` as the desktop list answers it, system disk
    included) grows to ``new_size``; a disk never shrinks (nor stays the same size)."""

    def run() -> Answer:
        values = _object(body, "The request body", ("desktop_volumes_expansion",))
        entries = _list(values, "desktop_volumes_expansion") or []
        asked: dict[str, dict[int, int]] = {}
        seen: set[str] = set()
        for entry in entries:
            item = _object(
                entry, "Each of desktop_volumes_expansion", ("desktop_id", "volume_id", "new_size")
            )
            desktop_id = (_str(item, "desktop_id", required=True) or "").lower()
            volume_id = (_str(item, "volume_id", required=True) or "").lower()
            new_size = _size(item.get("new_size"), "new_size")
            if volume_id in seen:
                raise Refused(f"The volume {volume_id[:64]} is named twice.")
            seen.add(volume_id)
            hit = data.desktop(desktop_id, project_id)
            if hit is None:
                raise Refused(f"The desktop {desktop_id[:64]} does not exist.")
            desktop = hit[1]
            index = _volume_index(desktop, volume_id)
            current = ([desktop.root_size, *desktop.data_sizes])[index]
            if new_size <= current:
                raise Refused(
                    f"The volume {volume_id} is {current} GB: new_size must be larger (disks never shrink)."
                )
            asked.setdefault(desktop.desktop_id, {})[index] = new_size
        found = _desktops(data, project_id, list(asked))
        _operable(found)
        targets: list[tuple[Pool, Desktop, Change | None]] = [
            (pool, desktop, _expand(asked[desktop.desktop_id])) for pool, desktop in found
        ]
        job = _accept(jobs, faults, project_id, "expand_volumes", TASKS["volumes"], targets)
        return 200, {"job_id": job.id}

    return _answer(run)


def _volume_index(desktop: Desktop, volume_id: str) -> int:
    for index in range(1 + len(desktop.data_sizes)):
        if desktop.volume_id(index) == volume_id:
            return index
    raise Refused(f"The volume {volume_id[:64]} is not a disk of the desktop {desktop.desktop_id}.")


def _expand(sizes: dict[int, int]) -> Change:
    def change(desktop: Desktop) -> None:
        for index, size in sizes.items():
            if index == 0:
                desktop.root_size = max(desktop.root_size, size)
            elif index <= len(desktop.data_sizes):
                data_sizes = list(desktop.data_sizes)
                data_sizes[index - 1] = max(data_sizes[index - 1], size)
                desktop.data_sizes = data_sizes

    return change


def send_notifications(data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, body: Any) -> Answer:
    """``SendNotifications``: a message to 1–100 desktops' users (a job that changes nothing)."""

    def run() -> Answer:
        values = _object(body, "The request body", ("desktop_ids", "notifications"))
        ids = _ids(_list(values, "desktop_ids") or [], "desktop_ids")
        _str(values, "notifications", required=True)
        found = _desktops(data, project_id, ids)
        job = _accept(jobs, faults, project_id, "notify", "", [(p, d, None) for p, d in found])
        return 200, {"job_id": job.id}

    return _answer(run)


def send_pool_notifications(
    data: EmulatorData, jobs: Jobs, faults: Faults, project_id: str, pool_id: str, body: Any
) -> Answer:
    """``SendDesktopPoolNotifications``: a message to every desktop of the pool."""

    def run() -> Answer:
        pool = _pool(data, project_id, pool_id)
        values = _object(body, "The request body", ("notifications",))
        _str(values, "notifications", required=True)
        targets: list[tuple[Pool, Desktop, Change | None]] = [
            (pool, d, None) for d in data.desktops_of(pool.id)
        ]
        job = _accept(jobs, faults, project_id, "notify", "", targets, pool.id)
        return 200, {"job_id": job.id}

    return _answer(run)


# -- following a job ----------------------------------------------------------------------------


def show_job(jobs: Jobs, project_id: str, job_id: str) -> Answer:
    """``ShowJob``: the job and all its sub-jobs."""
    job = jobs.job(job_id, project_id)
    if job is None:
        return error(400, BAD_REQUEST, f"The job {job_id[:64]} does not exist.")
    return 200, job.to_api(jobs.progress(job))


def list_sub_jobs(jobs: Jobs, project_id: str, query: Query) -> Answer:
    """``ListItaSubJobs``: ``job_id``, ``status`` (one of the vendor's four), ``job_type``,
    ``desktop_pool_id``; ``limit`` 0–1000 (default 1000), ``offset``."""
    try:
        offset = _query_int(query, "offset", 0, 0, None)
        limit = _query_int(query, "limit", 1000, 0, 1000)
    except BadQuery as exc:
        return error(400, BAD_REQUEST, str(exc))
    status = _one(query, "status")
    if status is not None and status not in STATUSES:
        return error(400, BAD_REQUEST, f"status must be one of {', '.join(STATUSES)}, got {status[:20]!r}")
    found = jobs.sub_jobs(
        project_id,
        job_id=_one(query, "job_id"),
        status=status,
        job_type=_one(query, "job_type"),
        pool_id=_one(query, "desktop_pool_id"),
    )
    page = [sub.to_api(jobs.progress(sub.job)) for sub in found[offset : offset + limit]]
    return 200, {"total_count": len(found), "jobs": page}
