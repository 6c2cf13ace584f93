"""The write side's contract with the vendor's definitions, held by the vendor SDK's own models (3.1.219):

- every body the emulator accepts for a write has only the keys of the vendor's request model, with
  values of its types, and every field the model requires; the SDK itself, given that body as its
  models, sends exactly it, and the emulator accepts it;
- the emulator's answers to the writes and to ShowJob / ListItaSubJobs have only the vendor's keys
  and parse into the SDK's response models;
- the value sets the emulator holds (image types, handle types, statuses, job types, desktop states)
  are the ones the vendor's docstrings spell out.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import huaweicloudsdkworkspace.v2 as workspace
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig

from pooldrift.emulator import EmulatorServer, changes, jobs, writes
from tests.helpers import signed_client
from tests.pooldrift.test_contract import json_keys, param_doc, problems, vendor_class

#: A write's name, its SDK method, request and body models, and whether its path names the pool.
Write = tuple[str, str, str, str, bool]
WRITES: list[Write] = [
    ("rebuild pool", "rebuild_desktop_pool", "RebuildDesktopPoolRequest", "RebuildDesktopPoolReq", True),
    ("rebuild", "batch_rebuild_desktops_system_disk", "BatchRebuildDesktopsSystemDiskRequest",
     "RebuildDesktopsReq", False),
    ("resize", "resize_desktop", "ResizeDesktopRequest", "ResizeDesktopReq", False),
    ("add volumes", "add_volumes", "AddVolumesRequest", "AddDesktopsVolumesReq", False),
    ("expand volumes", "expand_volumes", "ExpandVolumesRequest", "ExpandDesktopsVolumesReq", False),
    ("notify", "send_notifications", "SendNotificationsRequest", "SendNotificationsReq", False),
    ("notify pool", "send_desktop_pool_notifications", "SendDesktopPoolNotificationsRequest",
     "SendDesktopPoolNotificationsReq", True),
]  # fmt: skip
_PATHS = {
    "rebuild pool": "desktop-pools/{pool_id}/rebuild",
    "rebuild": "desktops/rebuild",
    "resize": "desktops/resize",
    "add volumes": "volumes",
    "expand volumes": "volumes/expand",
    "notify": "desktops/notifications",
    "notify pool": "desktop-pools/{pool_id}/notifications",
}
MESSAGE = "Your desktop restarts in 5 minutes."


def bodies(emulator: EmulatorServer) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(write, pool id, body): each write with every field it takes, then with the required ones only,
    on desktops of the demo set that it accepts."""
    data = emulator.data
    gpu = data.pool_named("design-gpu-win11")
    hr = data.pool_named("hr-win10")
    qa = data.pool_named("qa-win11")
    image = [d.desktop_id for d in data.drifted(gpu.id, "IMAGE_ID")]
    package = [d.desktop_id for d in data.drifted(hr.id, "PRODUCT_ID") if d.charge_mode != "period"]
    disks = data.desktops_of(qa.id)
    yield (
        "rebuild pool",
        gpu.id,
        {
            "image_type": "gold",
            "image_id": gpu.image_id,
            "os_type": "Windows",
            "delay_time": 5,
            "message": MESSAGE,
            "is_fix": True,
            "handle_type": "FOR_EXPAND_AND_ALL",
            "encrypt_type": "KEEP",
            "kms_id": "kms-1",
            "desktop_ids": image[:2],
        },
    )
    yield "rebuild pool", gpu.id, {"image_id": gpu.image_id}
    yield (
        "rebuild",
        None,
        {
            "desktop_ids": image[2:4],
            "image_type": "private",
            "image_id": gpu.image_id,
            "encrypt_type": "ENCRYPTED",
            "kms_id": "kms-1",
            "os_type": "Windows",
            "delay_time": 0,
            "message": MESSAGE,
            "order_id": "CS1",
            "enterprise_project_id": "0",
            "handle_type": "ONLY_FOR_EXPAND",
        },
    )
    yield "rebuild", None, {"desktop_ids": image[4:], "image_type": "market", "image_id": gpu.image_id}
    yield (
        "resize",
        None,
        {
            "desktops": [{"desktop_id": package[0]}],
            "product_id": hr.product_id,
            "mode": "STOP_DESKTOP",
            "auto_placement": "off",
            "desktop_pool_id": hr.id,
        },
    )
    yield (
        "resize",
        None,
        {
            "desktops": [{"desktop_id": i} for i in package[1:]],
            "product_id": hr.product_id,
            "mode": "STOP_DESKTOP",
        },
    )
    yield (
        "add volumes",
        None,
        {
            "desktop_volumes": [
                {
                    "desktop_id": disks[0].desktop_id,
                    "volumes": [
                        {"type": "SSD", "size": 100, "iops": 3000, "throughput": 125, "kms_id": "kms-1"}
                    ],
                },
                {
                    "desktop_id": disks[1].desktop_id,
                    "volumes": [{"type": "SAS", "size": 10}, {"type": "GPSSD", "size": 20}],
                },
            ]
        },
    )
    yield (
        "expand volumes",
        None,
        {
            "desktop_volumes_expansion": [
                {"desktop_id": disks[2].desktop_id, "volume_id": disks[2].volume_id(1), "new_size": 200},
                {"desktop_id": disks[2].desktop_id, "volume_id": disks[2].volume_id(0), "new_size": 120},
            ]
        },
    )
    yield "notify", None, {"desktop_ids": [d.desktop_id for d in disks[:3]], "notifications": MESSAGE}
    yield "notify pool", qa.id, {"notifications": MESSAGE}


def required(kind: str) -> set[str]:
    """The JSON keys the vendor's model requires (its constructor sets them unconditionally)."""
    cls = vendor_class(kind)
    source = inspect.getsource(cls.__init__)  # type: ignore[misc]
    attributes = re.findall(r"^        self\.(\w+) = (\w+)$", source, re.MULTILINE)
    return {cls.attribute_map[a] for a, b in attributes if a == b}  # type: ignore[attr-defined]


def body_problems(value: Any, kind: str, where: str) -> Iterator[str]:
    """``problems`` for a request body: also the required keys, and the enum models sent as strings."""
    cls = vendor_class(kind) if kind[:1].isupper() and not kind.startswith(("list[", "dict(")) else None
    if cls is not None and not json_keys(cls):  # an enum model (EncryptType): one of its values
        allowed = {v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}
        if value not in allowed:
            yield f"{where}: one of {sorted(allowed)} expected, got {value!r}"
        return
    if kind.startswith("list[") and isinstance(value, list):
        for i, item in enumerate(value):
            yield from body_problems(item, kind[5:-1], f"{where}[{i}]")
        return
    if cls is None or not isinstance(value, dict):
        yield from problems(value, kind, where)
        return
    keys = json_keys(cls)
    for missing in sorted(required(kind) - set(value)):
        yield f"{where}.{missing}: required by the vendor's {kind}"
    for key, item in value.items():
        if key not in keys:
            yield f"{where}.{key}: not in the vendor's {kind}"
        else:
            yield from body_problems(item, keys[key], f"{where}.{key}")


def sdk_model(kind: str, value: Any) -> Any:
    """``value`` (JSON) as the vendor's model ``kind``, built from its own type table."""
    if kind.startswith("list["):
        return [sdk_model(kind[5:-1], item) for item in value]
    if not kind[:1].isupper():
        return value
    cls = vendor_class(kind)
    if not json_keys(cls):
        return value
    by_key = {cls.attribute_map[a]: a for a in cls.openapi_types}  # type: ignore[attr-defined]
    kinds = json_keys(cls)
    return cls(**{by_key[k]: sdk_model(kinds[k], v) for k, v in value.items()})


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Any:
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    config.timeout = (5, 10)
    credentials = BasicCredentials(emulator.access_key, emulator.secret_key, emulator.project_id)
    return (
        workspace.WorkspaceClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_endpoints([emulator.base_url])
        .build()
    )


def test_the_body_walk_finds_a_missing_required_field_and_a_foreign_key() -> None:
    assert list(body_problems({"desktops": [{"desktop_id": "d"}]}, "ResizeDesktopReq", "b")) == [
        "b.mode: required by the vendor's ResizeDesktopReq",
        "b.product_id: required by the vendor's ResizeDesktopReq",
    ]
    assert list(
        body_problems({"image_id": "i", "encrypt_type": "AES", "force": 1}, "RebuildDesktopPoolReq", "b")
    ) == [
        "b.encrypt_type: one of ['ENCRYPTED', 'KEEP', 'UNENCRYPTED'] expected, got 'AES'",
        "b.force: not in the vendor's RebuildDesktopPoolReq",
    ]


def test_every_body_the_emulator_accepts_is_the_vendors_and_the_sdk_sends_it(
    emulator: EmulatorServer, sdk: Any
) -> None:
    emulator.jobs.update(seconds=0.05)
    table = {w[0]: w for w in WRITES}
    sent: set[str] = set()
    for name, pool_id, body in bodies(emulator):
        _, method, request_model, body_model, on_pool = table[name]
        assert list(body_problems(body, body_model, name)) == []
        params = {"pool_id": pool_id} if on_pool else {}
        request = vendor_class(request_model)(**params, body=sdk_model(body_model, body))
        answer = getattr(sdk, method)(request)
        assert answer.job_id, name
        last = emulator.writes[-1]
        assert (last.applied, last.body) == (True, body), name
        assert last.path == f"/v2/{emulator.project_id}/" + _PATHS[name].format(pool_id=pool_id)
        if name == "resize":
            assert [j.desktop_id for j in answer.jobs] == [d["desktop_id"] for d in body["desktops"]]
        job = sdk.show_job(workspace.ShowJobRequest(job_id=answer.job_id))
        assert job.id == answer.job_id and job.sub_jobs_total == len(job.sub_jobs)
        assert emulator.jobs.settle(timeout=10)
        sent.add(name)
    assert sent == set(table)


def _answers(emulator: EmulatorServer) -> Iterator[tuple[str, str, Any]]:
    """(what, vendor model, JSON) for every write's answer and its job's, while it runs and once ended."""
    emulator.jobs.update(seconds=0.3)
    responses = {
        "rebuild pool": "RebuildDesktopPoolResponse",
        "rebuild": "BatchRebuildDesktopsSystemDiskResponse",
        "resize": "ResizeDesktopResponse",
        "add volumes": "AddVolumesResponse",
        "expand volumes": "ExpandVolumesResponse",
        "notify": "SendNotificationsResponse",
        "notify pool": "SendDesktopPoolNotificationsResponse",
    }
    emulator.faults.update(sub_job_fail_rate=0.5)
    project = f"/v2/{emulator.project_id}"
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as raw:
        get: Callable[..., Any] = lambda url, **params: raw.get(url, params=params).json()  # noqa: E731
        for name, pool_id, body in bodies(emulator):
            response = raw.post(f"{project}/" + _PATHS[name].format(pool_id=pool_id), json=body)
            assert response.status_code == 200, response.text
            yield name, responses[name], response.json()
            job_id = response.json()["job_id"]
            yield f"{name} job", "ShowJobResponse", get(f"{project}/workspace-jobs/{job_id}")
            assert emulator.jobs.settle(timeout=10)
            yield f"{name} job ended", "ShowJobResponse", get(f"{project}/workspace-jobs/{job_id}")
            yield (
                f"{name} sub-jobs",
                "ListItaSubJobsResponse",
                get(f"{project}/workspace-sub-jobs", job_id=job_id),
            )


def test_every_key_the_emulators_write_answers_send_is_the_vendors(emulator: EmulatorServer) -> None:
    found: list[str] = []
    statuses: set[str] = set()
    for what, model, body in _answers(emulator):
        found += problems(body, model, f"{model}({what})")
        if model == "ShowJobResponse":
            statuses.add(body["status"])
    assert found == []
    assert statuses >= {"SUCCESS", "FAILED"}


def test_the_job_answers_parse_into_the_sdks_models(emulator: EmulatorServer, sdk: Any) -> None:
    emulator.jobs.update(seconds=0.05)
    emulator.faults.update(
        sub_job_fail_desktops=[emulator.data.desktops_of(emulator.data.pool_named("lab-a").id)[0].desktop_id]
    )
    pool = emulator.data.pool_named("lab-a")
    request = workspace.SendDesktopPoolNotificationsRequest(
        pool_id=pool.id, body=workspace.SendDesktopPoolNotificationsReq(notifications=MESSAGE)
    )
    job_id = sdk.send_desktop_pool_notifications(request).job_id
    assert emulator.jobs.settle(timeout=10)
    job = sdk.show_job(workspace.ShowJobRequest(job_id=job_id))
    assert job.status == "SUCCESS" and job.sub_jobs_total == 8  # a notification cannot fail
    entities = {s.entities.desktop_id for s in job.sub_jobs}
    assert entities == {d.desktop_id for d in emulator.data.desktops_of(pool.id)}
    fix = sdk.rebuild_desktop_pool(workspace.RebuildDesktopPoolRequest(
        pool_id=pool.id, body=workspace.RebuildDesktopPoolReq(image_id=pool.image_id, desktop_ids=[
            d.desktop_id for d in emulator.data.desktops_of(pool.id)[:2]])))  # fmt: skip
    assert emulator.jobs.settle(timeout=10)
    failed = sdk.show_job(workspace.ShowJobRequest(job_id=fix.job_id))
    assert failed.status == "FAILED" and failed.fail_reason and failed.job_error_code
    listed = sdk.list_ita_sub_jobs(
        workspace.ListItaSubJobsRequest(job_id=fix.job_id, status="FAILED", limit=10)
    )
    assert listed.total_count == 1 and listed.jobs[0].fail_reason and listed.jobs[0].process == 100


def test_the_emulators_write_values_are_the_documented_ones() -> None:
    def doc(model: str, name: str) -> str:
        return param_doc(inspect.getdoc(vendor_class(model).__init__) or "", name)  # type: ignore[misc]

    assert re.findall(r"：(\w+)", doc("RebuildDesktopsReq", "image_type")) == list(writes.IMAGE_TYPES)
    assert re.findall(r"- (\w+)：", doc("RebuildDesktopPoolReq", "handle_type")) == list(writes.HANDLE_TYPES)
    assert re.findall(r"- (\w+)：", doc("RebuildDesktopsReq", "handle_type")) == list(writes.HANDLE_TYPES)
    assert {v for k, v in vars(workspace.EncryptType).items() if k.isupper()} == set(writes.ENCRYPT_TYPES)
    assert "固定传值STOP_DESKTOP" in doc("ResizeDesktopReq", "mode") and writes.RESIZE_MODES == (
        "STOP_DESKTOP",
    )
    assert re.findall(r"-(\w+)：", doc("Volume", "type")) == list(writes.DISK_TYPES)
    assert "数据盘范围[10-32760]，大小为10的倍数" in doc("Volume", "size")
    assert "每个桌面的数据盘数量不超过10个" in doc("AddDesktopVolumesReq", "volumes")
    assert set(re.findall(r"- (\w+)：", doc("ListItaSubJobsRequest", "status"))) == set(jobs.STATUSES)
    assert "取值范围0~1000" in doc("ListItaSubJobsRequest", "limit")
    job_types = set(re.findall(r"- (\w+)[：:]", doc("ListItaSubJobsRequest", "job_type")))
    documented = {v for k, v in writes.JOB_TYPES.items() if k not in ("resize", "notify")}
    assert (
        documented <= job_types and not {writes.JOB_TYPES["resize"], writes.JOB_TYPES["notify"]} & job_types
    )
    tasks = set(re.findall(r"- ([\w-]+)[：:]", doc("PoolDesktopsDetailInfo", "task_status")))
    assert set(writes.TASKS.values()) <= tasks
    logins = set(re.findall(r"- (\w+)：", doc("PoolDesktopsDetailInfo", "login_status")))
    assert logins == set(changes.DESKTOP_FIELDS["login_status"] or ()) - {None}


#: the vendor's body model of each write a plan makes
_PLAN_MODELS = {
    "RebuildDesktopPool": "RebuildDesktopPoolReq",
    "BatchRebuildDesktopsSystemDisk": "RebuildDesktopsReq",
    "ResizeDesktop": "ResizeDesktopReq",
    "AddVolumes": "AddDesktopsVolumesReq",
    "ExpandVolumes": "ExpandDesktopsVolumesReq",
    "SendNotifications": "SendNotificationsReq",
}


def test_every_body_a_fix_plan_sends_is_the_vendors() -> None:
    """The writes pooldrift's plans make, each kind of them, checked against the SDK's models."""
    from tests.pooldrift.fix.test_plan import built, desktop

    image = desktop(1, ["IMAGE"], metadata={"metering.image_id": "img-old"}, login_status="CONNECTED")
    stuck = desktop(5, ["IMAGE"], metadata={"metering.image_id": "img-old"}, status="ERROR")
    package = desktop(2, ["PRODUCT"], product_id="workspace.x86.ultimate.small")
    fewer = desktop(3, ["DISK_NUM", "DISK_SIZE"], data_volumes=[{"id": "d1-3", "type": "SAS", "size": 100}])
    smaller = desktop(4, ["DISK_SIZE"], root_volume={"id": "sys-4", "type": "SAS", "size": 60})
    whole = built(image, package, fewer, smaller, include_logged_in=True)  # the pool's own rebuild
    part = built(image, stuck, include_logged_in=True)  # per desktop: one is left out
    sent = {c.operation.value: c.body for found in (whole, part) for c in found.calls}
    assert set(sent) == set(_PLAN_MODELS), "every kind of write is checked"
    for operation, body in sent.items():
        assert list(body_problems(body, _PLAN_MODELS[operation], operation)) == [], operation
