"""The contract with the vendor's definitions, held by the vendor SDK's own models (3.1.219):

- every key the emulator sends, at every nesting level, is a key of the vendor's model for that
  answer, with a value of the model's type (or ``null``, which every optional field allows);
- every key pooldrift's payload models read, and every query parameter and value it sends, is
  one the vendor's models know.

It fails the day either side drifts: an emulator field the vendor does not have, a field pooldrift
reads that the vendor renamed, or an SDK upgrade that drops one of them.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from typing import Any

import huaweicloudsdkiam.v3 as iam
import huaweicloudsdkworkspace.v2 as workspace
import pytest
from pydantic import BaseModel

from pooldrift import models, regions
from pooldrift.emulator import EmulatorConfig, EmulatorServer, FleetSpec
from pooldrift.models import InconsistentType
from tests.helpers import signed_client

#: Every way the emulator can answer: the current version in full, the legacy version, and null
#: wherever the definitions allow it.
SHAPES = [{}, {"api_version": "legacy"}, {"nulls": True, "unreported": "image_id,disk_size"}]


# -- the walk over the vendor's models --------------------------------------------------------------


def vendor_class(name: str) -> type:
    for module in (workspace, iam):
        found = getattr(module, name, None)
        if isinstance(found, type):
            return found
    raise LookupError(f"no vendor model {name}")


def json_keys(cls: type) -> dict[str, str]:
    """The vendor model's JSON keys, each with its ``openapi_types`` type."""
    return {cls.attribute_map[attr]: kind for attr, kind in cls.openapi_types.items()}  # type: ignore[attr-defined]


def problems(value: Any, kind: str, where: str) -> Iterator[str]:
    """What in ``value`` the vendor's type ``kind`` does not allow; ``null`` is always allowed."""
    if value is None:
        return
    if kind.startswith("list["):
        if not isinstance(value, list):
            yield f"{where}: a list expected, got {type(value).__name__}"
            return
        for i, item in enumerate(value):
            yield from problems(item, kind[5:-1], f"{where}[{i}]")
        return
    if kind.startswith("dict("):
        inner = kind[len("dict(str, ") : -1]
        if not isinstance(value, dict):
            yield f"{where}: an object expected, got {type(value).__name__}"
            return
        for key, item in value.items():
            yield from problems(item, inner, f"{where}[{key!r}]")
        return
    primitive = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float), "object": (object,)}
    if kind in primitive:
        ok = isinstance(value, primitive[kind]) and not (kind == "int" and isinstance(value, bool))
        if not ok:
            yield f"{where}: {kind} expected, got {type(value).__name__} {value!r}"
        return
    cls = vendor_class(kind)
    if not isinstance(value, dict):
        yield f"{where}: an object ({kind}) expected, got {type(value).__name__}"
        return
    keys = json_keys(cls)
    for key, item in value.items():
        if key not in keys:
            yield f"{where}.{key}: not in the vendor's {kind}"
        else:
            yield from problems(item, keys[key], f"{where}.{key}")


def test_the_walk_finds_what_the_vendor_does_not_have() -> None:
    """The checker can fail: each kind of drift is reported."""
    wrapped = {"desktop_pool": {"id": "x"}}  # a wrapper the vendor's detail answer does not have
    assert list(problems(wrapped, "ShowDesktopPoolDetailResponse", "pool")) == [
        "pool.desktop_pool: not in the vendor's ShowDesktopPoolDetailResponse"
    ]
    deep = {"pool_desktops": [{"desktop_id": "d", "root_volume": {"size": "80", "colour": 1}}]}
    assert list(problems(deep, "ListPoolDesktopsDetailResponse", "page")) == [
        "page.pool_desktops[0].root_volume.size: int expected, got str '80'",
        "page.pool_desktops[0].root_volume.colour: not in the vendor's VolumeDetail",
    ]
    assert list(problems({"charging_mode": 0}, "SimpleDesktopPoolInfo", "p")) == [
        "p.charging_mode: str expected, got int 0"
    ]


# -- the emulator's side -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fleet_server() -> Iterator[EmulatorServer]:
    """A generated fleet: a project in every region and a subproject (``cn-north-4_dev``)."""
    spec = FleetSpec(pools=2, desktops_per_pool=3, projects=len(regions.KNOWN_REGIONS) + 1, seed=2)
    with EmulatorServer(EmulatorConfig(fleet=spec)) as server:
        yield server


@pytest.fixture(params=["demo", "fleet"])
def served(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """The demo set, then a generated fleet, each reset before and after."""
    server: EmulatorServer = request.getfixturevalue(
        "emulator_server" if request.param == "demo" else "fleet_server"
    )
    server.reset()
    yield server
    server.reset()


def answers(emulator: EmulatorServer) -> Iterator[tuple[str, str, Any]]:
    """(what, vendor model, JSON) for every answer of every endpoint, project, pool and page."""
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as raw:

        def get(url: str, **params: Any) -> Any:
            response = raw.get(url, params=params)
            assert response.status_code == 200, response.text
            return response.json()

        yield "projects", "KeystoneListProjectsResponse", get("/v3/projects", name="cn-north-4")
        yield "all projects", "KeystoneListProjectsResponse", get("/v3/projects")
        yield "auth projects", "KeystoneListAuthProjectsResponse", get("/v3/auth/projects")
        for project in emulator.data.projects:
            yield from _pool_answers(emulator, get, project.id)


def _pool_answers(
    emulator: EmulatorServer, get: Callable[..., Any], project_id: str
) -> Iterator[tuple[str, str, Any]]:
    yield "pools", "ListDesktopPoolsResponse", get(f"/v2/{project_id}/desktop-pools")
    for pool in emulator.data.pools_of(project_id):
        base = f"/v2/{project_id}/desktop-pools/{pool.id}"
        yield pool.name, "ShowDesktopPoolDetailResponse", get(base)
        yield pool.name, "ListInconsistentStaticsResponse", get(f"{base}/inconsistent-statics")
        for offset in range(0, max(1, len(emulator.data.desktops_of(pool.id))), 100):
            page = get(f"{base}/desktops", offset=offset, limit=100)
            yield pool.name, "ListPoolDesktopsDetailResponse", page
        for value in emulator.shape.filter_values():
            page = get(f"{base}/desktops", inconsistent_type=value, limit=100)
            yield f"{pool.name} {value}", "ListPoolDesktopsDetailResponse", page


@pytest.mark.parametrize("shape", SHAPES, ids=["current", "legacy", "nulls"])
def test_every_key_the_emulator_sends_is_the_vendors(served: EmulatorServer, shape: dict[str, Any]) -> None:
    served.shape.update(**shape)
    seen: set[str] = set()
    found: list[str] = []
    count = 0
    for what, model, body in answers(served):
        count += 1
        seen.add(model)
        found += problems(body, model, f"{model}({what})")
    assert found == []
    assert count > 3 * len(served.data.pools)
    assert "KeystoneListAuthProjectsResponse" in seen


def param_doc(doc: str, name: str) -> str:
    """The text the vendor's docstring gives one parameter."""
    return doc.split(f":param {name}:")[1].split(":param")[0]


def test_the_emulators_values_are_the_documented_ones(served: EmulatorServer) -> None:
    """Value sets the vendor's docstrings spell out, on every pool and desktop the emulator has."""
    pool_doc = inspect.getdoc(workspace.SimpleDesktopPoolInfo.__init__) or ""
    desktop_doc = inspect.getdoc(workspace.PoolDesktopsDetailInfo.__init__) or ""
    assert "charging_mode: 计费模式，0：包周期，1：按需。" in pool_doc
    own_kinds = set(re.findall(r"- (\w+): ", param_doc(desktop_doc, "inconsistent_types")))
    desktop_types = set(re.findall(r"- (\w+)[：:]", param_doc(desktop_doc, "desktop_type")))
    assert own_kinds == {"PRODUCT", "IMAGE"} and desktop_types == {"DEDICATED", "SHARED", "POOLED"}
    for what, model, body in answers(served):
        if model in ("ShowDesktopPoolDetailResponse",):
            assert body["charging_mode"] in ("0", "1"), what
            assert body["type"] in ("DYNAMIC", "STATIC"), what
            assert body["product"]["memory"].isdigit() and int(body["product"]["memory"]) >= 1024, what
        if model == "ListPoolDesktopsDetailResponse":
            for desktop in body["pool_desktops"]:
                assert set(desktop["inconsistent_types"]) <= own_kinds, what
                assert desktop["desktop_type"] in desktop_types, what
                assert desktop["metadata"]["charging_mode"] in ("0", "1"), what


# -- pooldrift's side --------------------------------------------------------------------------------


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The payload models inside a field's annotation (``list[X]``, ``X | None``, ``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]


def read_problems(ours: type[BaseModel], theirs: str, where: str) -> Iterator[str]:
    keys = json_keys(vendor_class(theirs))
    for name, info in ours.model_fields.items():
        key = info.alias or name
        if key not in keys:
            yield f"{where}.{key}: read by pooldrift, not in the vendor's {theirs}"
            continue
        inner = nested_models(info.annotation)
        if inner:
            vendor_inner = re.sub(r"^(list\[|dict\(str, )|[\])]$", "", keys[key])
            yield from read_problems(inner[0], vendor_inner, f"{where}.{key}")


#: Each payload model and the vendor model of the answer it reads.
READS = [
    (models.InconsistentStatics, "ListInconsistentStaticsResponse"),
    (models.PoolList, "ListDesktopPoolsResponse"),
    (models.DesktopPool, "SimpleDesktopPoolInfo"),
    (models.DesktopPool, "ShowDesktopPoolDetailResponse"),
    (models.PoolDesktopPage, "ListPoolDesktopsDetailResponse"),
    (models.PoolDesktop, "PoolDesktopsDetailInfo"),
    (models.PoolProduct, "ProductInfo"),
    (models.Volume, "VolumeInfo"),
    (models.Volume, "VolumeDetail"),
]


@pytest.mark.parametrize(("ours", "theirs"), READS, ids=[f"{o.__name__}-{t}" for o, t in READS])
def test_every_key_pooldrift_reads_is_the_vendors(ours: type[BaseModel], theirs: str) -> None:
    assert list(read_problems(ours, theirs, ours.__name__)) == []


def test_the_read_walk_finds_a_renamed_field() -> None:
    class Renamed(BaseModel):
        desktop_id: str
        image: str | None = None  # the vendor's is under metadata["metering.image_id"]

    assert list(read_problems(Renamed, "PoolDesktopsDetailInfo", "Renamed")) == [
        "Renamed.image: read by pooldrift, not in the vendor's PoolDesktopsDetailInfo"
    ]


def test_what_pooldrift_reads_outside_its_models_is_the_vendors() -> None:
    # the project lookup and the project listing read projects[].id and projects[].name
    assert {"projects"} <= set(json_keys(iam.KeystoneListProjectsResponse))
    assert {"id", "name"} <= set(json_keys(iam.ProjectResult))
    assert {"projects"} <= set(json_keys(iam.KeystoneListAuthProjectsResponse))
    assert {"id", "name", "enabled"} <= set(json_keys(iam.AuthProjectResult))
    # the image of a desktop is read from its metadata under this key, which the vendor documents
    doc = inspect.getdoc(workspace.PoolDesktopsDetailInfo.__init__) or ""
    assert "metering.image_id 镜像ID" in doc


def test_what_pooldrift_sends_is_the_vendors() -> None:
    pools = set(workspace.ListDesktopPoolsRequest.attribute_map.values())
    desktops = set(workspace.ListPoolDesktopsDetailRequest.attribute_map.values())
    assert {"name", "offset", "limit"} <= pools
    assert {"inconsistent_type", "offset", "limit"} <= desktops
    doc = inspect.getdoc(workspace.ListPoolDesktopsDetailRequest.__init__) or ""
    documented = re.findall(r"- (\w+): ", param_doc(doc, "inconsistent_type"))
    assert documented == [kind.value for kind in InconsistentType]
    # the SDK's enum spells the same four in lower case: the casing is not settled, both are held
    enum = workspace.InconsistentTypeEnum
    assert [getattr(enum, kind.value) for kind in InconsistentType] == [k.field for k in InconsistentType]
    # the legacy values (also a desktop's own kinds) are the ones the vendor documents per desktop
    own = inspect.getdoc(workspace.PoolDesktopsDetailInfo.__init__) or ""
    legacy = re.findall(r"- (\w+): ", param_doc(own, "inconsistent_types"))
    assert legacy == [k.legacy_value for k in InconsistentType if k.legacy_value]


def test_the_answers_are_json_the_vendor_sdk_deserializes(emulator: EmulatorServer) -> None:
    """Beside the keys: the SDK itself turns one full answer of each kind into its models."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig

    config = HttpConfig.get_default_config()
    config.retry_times = 0
    sdk = (
        workspace.WorkspaceClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(emulator.access_key, emulator.secret_key, emulator.project_id))
        .with_endpoints([emulator.base_url])
        .build()
    )
    emulator.shape.update(nulls=True)
    pool = emulator.data.pool_named("qa-win11")
    detail = sdk.show_desktop_pool_detail(workspace.ShowDesktopPoolDetailRequest(pool_id=pool.id))
    page = sdk.list_pool_desktops_detail(workspace.ListPoolDesktopsDetailRequest(pool_id=pool.id, limit=100))
    assert detail.product.memory == "8192" and detail.charging_mode == "1"  # 8 GiB, on demand
    assert len(page.pool_desktops) == 20 and page.total_count is None
    assert {d.desktop_type for d in page.pool_desktops} == {"POOLED"}
