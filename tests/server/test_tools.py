"""The MCP tools in memory (``mcp.Client(server)``) against the emulator: answers, schemas, errors."""

from __future__ import annotations

import json
import logging
import typing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.types import ToolAnnotations
from pooldrift_mcp.models import DriftKind
from pooldrift_mcp.tools import build_server

from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer, Pool
from pooldrift.models import InconsistentType
from tests.server.support import TOOLS, check_drift, check_listing

UNKNOWN_ID = "a130ab3a-72bf-4b71-baa9-af4987c8e338"


@asynccontextmanager
async def connect(settings: Settings | None, **kw: Any) -> AsyncIterator[Client]:
    async with Client(build_server(settings), **kw) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> tuple[bool, str, dict[str, Any] | None]:
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    return result.is_error, text, result.structured_content


# -- answers -----------------------------------------------------------------------------------


async def test_pool_inconsistency_by_name_and_id_matches_the_emulator(
    settings: Settings, emulator: EmulatorServer
) -> None:
    async with connect(settings) as client:
        for pool in emulator.data.pools:
            if pool.name.lower() == "lab-a":
                continue  # two pools differ only by case: covered below
            for ref in (pool.name, pool.id, pool.id.upper()):
                is_error, text, structured = await call(client, "pool_inconsistency", pool=ref)
                assert not is_error, text
                check_drift(structured, emulator, pool)
                assert json.loads(text) == structured  # the text block carries the same answer


async def test_names_differing_only_by_case_resolve_to_the_exact_one(
    settings: Settings, emulator: EmulatorServer
) -> None:
    async with connect(settings) as client:
        for name in ("lab-a", "LAB-A"):
            _, _, structured = await call(client, "pool_inconsistency", pool=name)
            check_drift(structured, emulator, emulator.data.pool_named(name))


async def test_consistent_and_empty_pools_say_so(settings: Settings, emulator: EmulatorServer) -> None:
    async with connect(settings) as client:
        _, _, finance = await call(client, "pool_inconsistency", pool="finance-win11")
        _, _, empty = await call(client, "pool_inconsistency", pool="training-win10")
    assert finance is not None and finance["consistent"] and "is consistent" in finance["summary"]
    assert empty is not None and empty["desktop_count"] == 0 and empty["consistent"]


async def test_list_desktop_pools_matches_the_emulator(settings: Settings, emulator: EmulatorServer) -> None:
    async with connect(settings) as client:
        _, _, everything = await call(client, "list_desktop_pools")
        check_listing(everything, emulator)
        _, _, capped = await call(client, "list_desktop_pools", limit=3)
        check_listing(capped, emulator, limit=3)
        _, _, named = await call(client, "list_desktop_pools", name="WIN11")
        check_listing(named, emulator, name="WIN11")
        _, _, none = await call(client, "list_desktop_pools", name="nothing-like-this")
        check_listing(none, emulator, name="nothing-like-this")


async def test_list_is_capped_at_100_even_for_thousands_of_pools(
    settings: Settings, emulator: EmulatorServer
) -> None:
    template = emulator.data.pools[0]
    for number in range(250):
        emulator.data.add_pool(
            Pool.configured_like(
                template, id=f"00000000-0000-4000-8000-{number:012d}", name=f"bulk-{number:03d}"
            )
        )
    async with connect(settings) as client:
        _, _, listing = await call(client, "list_desktop_pools", limit=100)
        is_error, text, _ = await call(client, "list_desktop_pools", limit=5000)
    check_listing(listing, emulator, limit=100)
    assert listing is not None and listing["more_available"] and "narrow with `name`" in str(listing)
    assert is_error and "limit" in text


async def test_region_and_project_arguments_are_used(settings: Settings, emulator: EmulatorServer) -> None:
    pool = emulator.data.pool_named("hr-win10")
    async with connect(settings) as client:
        _, _, same = await call(client, "pool_inconsistency", pool=pool.name, project_id=emulator.project_id)
        _, _, other_region = await call(client, "list_desktop_pools", region="cn-east-3")
        is_error, _, _ = await call(
            client, "pool_inconsistency", pool=pool.id, project_id="0123456789abcdef0123456789abcdef"
        )
    check_drift(same, emulator, pool)
    assert other_region is not None and other_region["region"] == "cn-east-3"
    assert is_error and "0123456789abcdef0123456789abcdef" in str(emulator.requests.snapshot()[-1].path)


async def test_legacy_handshake_in_memory(settings: Settings, emulator: EmulatorServer) -> None:
    async with connect(settings, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        _, _, structured = await call(client, "pool_inconsistency", pool="sales-win11")
    check_drift(structured, emulator, emulator.data.pool_named("sales-win11"))


# -- tools/list ----------------------------------------------------------------------------------


async def test_tools_list_shows_schemas_annotations_and_stays_small(settings: Settings) -> None:
    async with connect(settings) as client:
        listed = await client.list_tools()
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.annotations == ToolAnnotations(read_only_hint=True)
        assert tool.title and tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.description and "\n    " not in tool.description  # dedented docstring
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), name
            assert "null" not in json.dumps(prop), name  # optional: left out, not null
    check = tools["pool_inconsistency"]
    assert check.input_schema["required"] == ["pool"]
    assert set(check.input_schema["properties"]) == {"pool", "project_id", "region"}
    assert {"summary", "counts", "request_id", "fetched_at"} <= set(check.output_schema["properties"])
    listing = tools["list_desktop_pools"]
    assert listing.input_schema["properties"]["limit"]["maximum"] == 100
    scan = tools["scan_pool_drift"]
    assert "required" not in scan.input_schema
    assert set(scan.input_schema["properties"]) == {"name", "project_id", "region", "all_projects", "limit"}
    assert {"pools", "totals", "failures", "more_available"} <= set(scan.output_schema["properties"])
    drill = tools["drifted_desktops"]
    assert drill.input_schema["required"] == ["pool"]
    assert drill.input_schema["properties"]["kind"]["enum"] == [kind.value for kind in InconsistentType]
    assert {"expected", "desktops", "total_count", "more_available"} <= set(drill.output_schema["properties"])


async def test_tools_list_stays_within_8_kb(settings: Settings) -> None:
    async with connect(settings) as client:
        listed = await client.list_tools()
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)
    assert len(wire.encode()) <= 8000, len(wire.encode())


def test_drift_kinds_in_the_schema_are_the_api_values() -> None:
    assert list(typing.get_args(DriftKind)) == [kind.value for kind in InconsistentType]


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"pool": "no such pool!"}, "Invalid argument `pool`"),
        ({"pool": "../../etc"}, "Invalid argument `pool`"),
        ({"pool": "x" * 65}, "too long"),
        ({"pool": ""}, "Invalid argument `pool`"),
        (
            {"pool": "hr-win10", "project_id": "BCAE3E673FD04716A3B9DACDF58CA336"},
            "Invalid argument `project_id`",
        ),
        ({"pool": "hr-win10", "region": "mars-1"}, "Invalid argument `region`"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    settings: Settings, emulator: EmulatorServer, arguments: dict[str, Any], expected: str
) -> None:
    async with connect(settings) as client:
        emulator.requests.clear()
        is_error, text, structured = await call(client, "pool_inconsistency", **arguments)
    assert is_error and structured is None
    assert expected in text and "Nothing was sent to the API" in text
    assert len(emulator.requests) == 0


async def test_unknown_pool_names_the_closest_and_the_next_step(
    settings: Settings, emulator: EmulatorServer
) -> None:
    dev = emulator.data.pool_named("dev-ubuntu22")
    async with connect(settings) as client:
        is_error, text, _ = await call(client, "pool_inconsistency", pool="dev-ubuntu")
    assert is_error
    assert "no pool named 'dev-ubuntu'" in text
    assert f"dev-ubuntu22 ({dev.id})" in text
    assert "call list_desktop_pools" in text.lower()


async def test_ambiguous_pool_lists_the_ids(settings: Settings, emulator: EmulatorServer) -> None:
    template = emulator.data.pool_named("hr-win10")
    twin = Pool.configured_like(template, id="11111111-2222-4333-8444-555555555555", name="hr-win10")
    emulator.data.add_pool(twin)
    async with connect(settings) as client:
        is_error, text, _ = await call(client, "pool_inconsistency", pool="hr-win10")
    assert is_error and template.id in text and twin.id in text and "one of these ids" in text


async def test_unknown_pool_id_is_not_found_with_the_request_id(
    settings: Settings, emulator: EmulatorServer
) -> None:
    # the API answers 400 WKS.0001 "The desktop pool ... does not exist."
    async with connect(settings) as client:
        is_error, text, _ = await call(client, "pool_inconsistency", pool=UNKNOWN_ID)
    assert is_error and "not found (HTTP 400 WKS.0001" in text
    assert "request id" in text and "list_desktop_pools" in text


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            "401",
            [
                "credentials rejected",
                "HTTP 401 APIGW.0301",
                "HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK",
                "APIGW.0303",
            ],
        ),
        ("403", ["permission denied", "HTTP 403", "workspace:desktopPools:getStatisticsByInconsistent"]),
        ("404", ["not found", "HTTP 404", "list_desktop_pools"]),
        ("429", ["throttled", "HTTP 429 APIGW.0308", "retry in 1 s"]),
        ("500", ["upstream unavailable", "HTTP 500", "retry later"]),
        ("503", ["upstream unavailable", "HTTP 503", "retry later"]),
    ],
)
async def test_upstream_errors_become_actionable_text(
    settings: Settings, emulator: EmulatorServer, status: str, expected: list[str]
) -> None:
    emulator.faults.update(paths="inconsistent-statics", retry_after=0.1)  # "retry in 1 s"
    emulator.faults.fail_next_n(status, 10)  # more than the client's attempts
    async with connect(settings) as client:
        is_error, text, structured = await call(client, "pool_inconsistency", pool="hr-win10")
    assert is_error and structured is None
    for fragment in expected:
        assert fragment in text
    assert "request id " in text
    assert "Traceback" not in text


async def test_timeouts_and_dropped_connections_say_retry_later(
    emulator: EmulatorServer, settings: Settings
) -> None:
    emulator.faults.update(latency=1.0)
    quick = settings.model_copy(update={"read_timeout": 0.2, "max_attempts": 2, "deadline": 3.0})
    async with connect(quick) as client:
        is_error, text, _ = await call(client, "list_desktop_pools")
    assert is_error and "upstream unavailable" in text and "did not answer" in text and "retry later" in text
    emulator.faults.reset()
    emulator.faults.fail_next_n("drop", 10)
    async with connect(settings) as client:
        is_error, text, _ = await call(client, "list_desktop_pools")
    assert is_error and "upstream unavailable" in text and "could not reach" in text


async def test_missing_credentials_are_reported_by_the_tool(emulator: EmulatorServer) -> None:
    async with connect(None) as client:  # the environment is clean: no key pair
        listed = await client.list_tools()
        is_error, text, _ = await call(client, "pool_inconsistency", pool="hr-win10")
    assert len(listed.tools) == len(TOOLS)
    assert is_error and "HUAWEICLOUD_SDK_AK" in text and "not configured" in text and "restart" in text


async def test_no_secret_in_any_result_error_or_log(
    settings: Settings, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = emulator.secret_key
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    async with connect(settings) as client:
        for arguments in ({"pool": "dev-ubuntu22"}, {"pool": "dev-ubuntu"}, {"pool": "bad name"}):
            _, text, structured = await call(client, "pool_inconsistency", **arguments)
            seen += [text, json.dumps(structured)]
        for status in ("401", "403", "429", "500"):
            emulator.faults.update(retry_after=0.05)
            emulator.faults.fail_next_n(status, 10)
            _, text, _ = await call(client, "list_desktop_pools")
            seen.append(text)
            emulator.faults.reset()
    seen.append(caplog.text)
    assert len(caplog.records) > 0
    for text in seen:
        assert secret not in text
