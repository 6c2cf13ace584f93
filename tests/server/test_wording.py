"""The MCP front's words for failures: every error class has its own, the wording itself is
guarded, odd upstream answers (``Retry-After: inf``) and bugs still give one worded answer, and
refused argument types are named without pydantic's text."""

from __future__ import annotations

import inspect
import logging
import math
import re
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError
from pooldrift_mcp.runtime import Runtime
from pooldrift_mcp.tools import build_server
from pooldrift_mcp.wording import describe, word
from prometheus_client import REGISTRY

from pooldrift import errors
from pooldrift.config import Settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import PooldriftError, RateLimitError

DOING = "checking pool 'hr-win10'"
MESSAGE = "the upstream said no"
#: a value for each constructor argument an error class may ask for
ARGUMENTS: dict[str, Any] = {
    "field": "pool",
    "ref": "hr-win10",
    "candidates": [("a130ab3a-72bf-4b71-baa9-af4987c8e338", "hr-win11")],
    "project_id": "0123456789abcdef0123456789abcdef",
    "region": "cn-north-4",
    "status_code": 503,
    "request_id": "req-0123",
    "error_code": "APIGW.0000",
    "error_msg": "upstream text",
    "pool": "hr-win11 (a130ab3a-72bf-4b71-baa9-af4987c8e338)",
    "what": "pools",
    "bound": 5000,
    "setting": "POOLDRIFT_MAX_POOLS",
    "limit": 16777216,
    "retry_after": 2.0,
    "cause": "timeout",
}


def error_classes() -> list[type[PooldriftError]]:
    """Every class of ``pooldrift.errors`` under PooldriftError (the base excluded)."""
    found: list[type[PooldriftError]] = []
    pending = list(PooldriftError.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__ == errors.__name__ and cls not in found:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def keyword_parameters(cls: type[PooldriftError]) -> list[inspect.Parameter]:
    """The keyword-only parameters of ``cls``'s constructor, following ``**kw`` up the tree."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        for parameter in parameters:
            if parameter.kind is parameter.KEYWORD_ONLY:
                found.setdefault(parameter.name, parameter)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return list(found.values())


def sample(cls: type[PooldriftError]) -> PooldriftError:
    """An instance of ``cls`` built from its constructor's own parameters."""
    wanted = keyword_parameters(cls)
    unknown = [p.name for p in wanted if p.name not in ARGUMENTS and p.default is p.empty]
    assert not unknown, f"{cls.__name__} takes {unknown}: add sample values to ARGUMENTS"
    return cls(MESSAGE, **{p.name: ARGUMENTS[p.name] for p in wanted if p.name in ARGUMENTS})


def test_every_error_class_is_worded_with_its_own_text() -> None:
    classes = error_classes()
    assert len(classes) >= 19  # the walk sees the whole tree
    texts: dict[str, type[PooldriftError]] = {}
    for cls in classes:
        exc = sample(cls)
        text = describe(exc, doing=DOING)  # unguarded: a wording that raises fails here
        assert text != f"Failed {DOING}: {MESSAGE}.", f"{cls.__name__} gets only the generic text"
        assert text not in texts, f"{cls.__name__} is worded like {texts.get(text).__name__}"  # type: ignore[union-attr]
        texts[text] = cls


def test_a_wording_that_fails_still_gives_one_worded_answer(caplog: pytest.LogCaptureFixture) -> None:
    # a Retry-After nobody can wait out: math.ceil(inf) raises inside the wording
    throttled = RateLimitError(MESSAGE, status_code=429, request_id="req-1", retry_after=math.inf)
    with pytest.raises(OverflowError):
        describe(throttled, doing=DOING)
    with caplog.at_level(logging.ERROR, logger="pooldrift.server"):
        text = word(throttled, doing=DOING)
    reference = re.search(r"reference ([0-9a-f]{12})", text)
    assert reference is not None and text.startswith(f"Failed {DOING}: ")
    assert reference.group(1) in caplog.text and "OverflowError" in caplog.text  # the traceback is logged


def calls(tool: str, outcome: str) -> float:
    labels = {"front": "mcp", "operation": tool, "outcome": outcome}
    return REGISTRY.get_sample_value("pooldrift_calls_total", labels) or 0.0


async def test_a_bug_inside_a_tool_call_is_worded_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    before = calls("probe", "internal_error")
    with caplog.at_level(logging.ERROR, logger="pooldrift.server"), pytest.raises(ToolError) as caught:
        async with Runtime.call("probe", doing="probing"):
            {}["missing"]  # a KeyError, as a bug would raise
    text = str(caught.value)
    reference = re.search(r"reference ([0-9a-f]{12})", text)
    assert reference is not None and "KeyError" not in text and text.startswith("Failed probing: ")
    assert reference.group(1) in caplog.text and "KeyError" in caplog.text
    assert calls("probe", "internal_error") == before + 1


@pytest.mark.parametrize("retry_after", [math.inf, math.nan, 1e300, 0.0])
async def test_odd_retry_after_values_from_the_api_are_worded(
    settings: Settings, emulator: EmulatorServer, retry_after: float
) -> None:
    emulator.faults.update(paths="inconsistent-statics", retry_after=retry_after)  # "Retry-After: inf"...
    emulator.faults.fail_next_n("429", 5)
    once = settings.model_copy(update={"max_attempts": 1})
    before = calls("pool_inconsistency", "throttled")
    async with Client(build_server(once)) as client:
        result = await client.call_tool("pool_inconsistency", {"pool": "hr-win10"})
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error and "throttled by the Workspace API" in text and "HTTP 429" in text
    assert re.search(r"retry in (\d{1,4} s|an hour or more)", text), text
    assert calls("pool_inconsistency", "throttled") == before + 1


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"pool": "hr-win10", "limit": True}, "limit"),
        ({"limit": "50"}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"limit": [5]}, "limit"),
        ({"name": 5}, "name"),
        ({"region": True}, "region"),
        ({"project_id": 12345}, "project_id"),
    ],
)
async def test_argument_types_are_strict_and_worded(
    settings: Settings, emulator: EmulatorServer, arguments: dict[str, Any], argument: str
) -> None:
    arguments.pop("pool", None)  # list_desktop_pools takes no pool
    before = calls("list_desktop_pools", "invalid_input")
    async with Client(build_server(settings)) as client:
        emulator.requests.clear()
        result = await client.call_tool("list_desktop_pools", arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error and text.startswith(f"Invalid argument `{argument}`: "), text
    assert "Nothing was sent to the API" in text
    for noise in ("pydantic", "http", "validation error", "input_value", "Error executing tool"):
        assert noise not in text.lower(), text
    assert len(emulator.requests) == 0
    assert calls("list_desktop_pools", "invalid_input") == before + 1


async def test_a_missing_argument_is_named(settings: Settings, emulator: EmulatorServer) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("pool_inconsistency", {"pool": None, "limit": 3})
        missing = await client.call_tool("pool_inconsistency", {})
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error and text.startswith("Invalid argument `pool`: ") and "(got null)" in text
    missing_text = "".join(getattr(block, "text", "") for block in missing.content)
    assert missing.is_error and "`pool`: required but missing" in missing_text
    assert len(emulator.requests) == 0
