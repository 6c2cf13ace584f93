"""The core's seams: errors that classify themselves, the retry policy that asks them, client
views sharing one explicit state, the one settings loader, logging and metrics."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, load, load_settings
from pooldrift.emulator import EmulatorServer
from pooldrift.errors import (
    OUTCOMES,
    APIConnectionError,
    PooldriftError,
    RateLimitError,
    ServerError,
    parse_retry_after,
)
from pooldrift.fetch import retry_policy
from pooldrift.metrics import render
from tests.helpers import subprocess_env


def _all_error_classes() -> list[type[PooldriftError]]:
    found, pending = [], [PooldriftError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


#: the decision for every class; a new class fails this test until someone decides
RETRYABLE = {
    "PooldriftError": False,
    "ConfigurationError": False,
    "ProjectLookupError": False,
    "InvalidInputError": False,
    "PoolLookupError": False,
    "PoolNotFoundError": False,
    "AmbiguousPoolError": False,
    "APIConnectionError": True,
    "APITimeoutError": True,
    "APIError": False,
    "MalformedResponseError": True,
    "ImplausibleCountError": False,  # the same upstream answers the same count again
    "ListingRepeatsError": False,  # reading from the first page again meets the same repeat
    "ListingTooLongError": False,  # the same listing is as long the next time
    "ResponseTooLargeError": False,  # the same answer is as large, and would be read again
    "APIStatusError": False,
    "BadRequestError": False,
    "AuthenticationError": False,
    "PermissionDeniedError": False,
    "NotFoundError": False,
    "ConflictError": False,
    "RateLimitError": True,
    "BudgetExhaustedError": False,
    "ServerError": True,  # for 500/502/503/504; see the status test below
    "WriteUnknownError": False,  # a second send could be a second job
}


def test_every_error_class_carries_its_own_classification() -> None:
    classes = _all_error_classes()
    assert {cls.__name__ for cls in classes} == set(RETRYABLE), "decide retryable for every class"
    for cls in classes:
        assert cls.__name__ in errors.__all__, f"{cls.__name__} is not exported"
        assert cls.outcome.isidentifier() and cls.outcome == cls.outcome.lower(), cls
        assert OUTCOMES[cls.outcome] in classes
    for cls in classes:
        kw: dict[str, object] = {}
        if issubclass(cls, errors.APIError):
            kw = {"status_code": 503, "request_id": None}
        if cls is errors.BudgetExhaustedError:
            kw = {"retry_after": 1.0}
        if issubclass(cls, errors.PoolLookupError):
            kw = {"ref": "x", "candidates": []}
        if cls is errors.PoolNotFoundError:
            kw.update(project_id="p", region="r")
        if cls is errors.InvalidInputError:
            kw = {"field": "pool"}
        if cls is errors.ImplausibleCountError:
            kw = {"pool": "p", "request_id": None}
        if cls is errors.ListingRepeatsError:
            kw = {"what": "pools", "request_id": None}
        if cls is errors.ListingTooLongError:
            kw = {"what": "pools", "bound": 5, "setting": "POOLDRIFT_MAX_POOLS"}
        if cls is errors.ResponseTooLargeError:
            kw = {"limit": 1 << 20}
        if cls is errors.WriteUnknownError:
            kw = {"cause": "timeout"}
        exc = cls("message", **kw)  # type: ignore[arg-type]
        assert exc.retryable is RETRYABLE[cls.__name__], cls
    # labels that several fronts report must not collide across unrelated classes
    assert errors.AuthenticationError.outcome == "unauthenticated"
    assert errors.PoolNotFoundError.outcome == "pool_not_found" != errors.NotFoundError.outcome


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (502, True), (503, True), (504, True), (501, False)]
)
def test_server_errors_are_retryable_by_status(status: int, retryable: bool) -> None:
    assert ServerError("x", status_code=status, request_id=None).retryable is retryable


def test_retry_policy_asks_the_error_and_honours_retry_after() -> None:
    throttled = RateLimitError("x", status_code=429, request_id="r", retry_after=2.5)
    assert retry_policy(throttled) == 2.5
    assert retry_policy(RateLimitError("x", status_code=429, request_id=None)) is True
    assert retry_policy(APIConnectionError("x")) is True
    assert retry_policy(ServerError("x", status_code=501, request_id=None)) is False
    assert retry_policy(errors.NotFoundError("x", status_code=404, request_id=None)) is False
    assert retry_policy(ValueError("not ours")) is False


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("-4", 0.0), ("inf", None), ("nan", None), ("", None)]
)
def test_retry_after_values_the_wording_can_hold(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


async def test_a_view_never_closes_what_it_shares(settings: Settings, emulator: EmulatorServer) -> None:
    async with WorkspaceClient(settings) as client:
        async with client.with_options(project_id=emulator.project_id) as view:
            assert (await view.list_pools(max_items=1)).pools
        # the view is closed; the client and its connections still work
        assert (await client.list_pools(max_items=1)).pools
        other = client.with_options(region="cn-east-3")
        assert other.settings is client.settings
        with pytest.raises(TypeError):
            WorkspaceClient(settings, shared=client._shared)


async def test_a_view_for_another_region_drops_the_configured_project(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    project = "0" * 32
    async with WorkspaceClient(load_settings(project_id=project)) as client:
        assert await client.get_project_id() == project
        assert await client.with_options(region="cn-north-4").get_project_id() == project
        assert emulator.requests.count("/v3/projects") == 0
        # cn-east-3's project is looked up through IAM, not reused from cn-north-4
        assert await client.with_options(region="cn-east-3").get_project_id() == emulator.project_id
        assert [r.query for r in emulator.requests if r.path == "/v3/projects"] == ["name=cn-east-3"]


async def test_concurrent_callers_share_one_failing_iam_lookup(
    emulator: EmulatorServer, emulator_env: dict[str, str]
) -> None:
    """IAM slower than the deadline: every waiter hears the failure at once (not one after
    another, each redoing the lookup)."""
    emulator.faults.update(latency=5.0, paths="^/v3/projects")
    settings = load_settings(deadline=1.5, read_timeout=1.0, max_attempts=2, backoff_initial=0.05)
    async with WorkspaceClient(settings) as client:
        started = time.monotonic()

        async def one() -> float:
            with pytest.raises(errors.APITimeoutError):
                await client.inconsistent_statics("a130ab3a-72bf-4b71-baa9-af4987c8e338")
            return time.monotonic() - started

        finished = await asyncio.gather(*(one() for _ in range(5)))
    assert max(finished) - min(finished) < 1.0, finished  # together, not 1.5 s apart each
    assert emulator.requests.count("/v3/projects") <= settings.max_attempts
    # the next call asks IAM again instead of remembering the failure
    emulator.faults.reset()
    async with WorkspaceClient(settings) as client:
        assert await client.get_project_id() == emulator.project_id


def test_secrets_are_read_from_files_and_a_variable_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "HUAWEICLOUD_SDK_AK").write_text("AK-FROM-FILE\n")
    (tmp_path / "HUAWEICLOUD_SDK_SK").write_text("SK-FROM-FILE")
    monkeypatch.setenv("POOLDRIFT_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", "AK-FROM-ENV")
    settings = load_settings()
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "SK-FROM-FILE"
    assert settings.access_key is not None and settings.access_key.get_secret_value() == "AK-FROM-ENV"
    monkeypatch.setenv("POOLDRIFT_SECRETS_DIR", str(tmp_path / "missing"))
    with pytest.raises(errors.ConfigurationError, match="POOLDRIFT_SECRETS_DIR"):
        load_settings()


def test_a_bad_value_names_the_variable_never_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLDRIFT_MAX_IN_FLIGHT", "lots-of-SECRET")
    with pytest.raises(errors.ConfigurationError) as caught:
        load(Settings, what="client settings")
    assert "invalid client settings" in caught.value.message
    assert "POOLDRIFT_MAX_IN_FLIGHT" in caught.value.message and "SECRET" not in caught.value.message


def _log_run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import logging; from pooldrift.logs import configure_logging; configure_logging();"
        "logging.getLogger('pooldrift.slack').info('audit', extra={'event': 'command', 'outcome': 'ok'});"
        "logging.getLogger('pooldrift.client').debug('hidden unless DEBUG')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(env), capture_output=True, text=True, timeout=30
    )


def test_json_logs_carry_extra_fields_and_the_level_is_honoured() -> None:
    run = _log_run({"POOLDRIFT_LOG_FORMAT": "json", "POOLDRIFT_LOG_LEVEL": "debug"})
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    assert lines[0]["message"] == "audit" and lines[0]["event"] == "command" and lines[0]["outcome"] == "ok"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "pooldrift.slack" and "time" in lines[0]
    assert lines[1]["message"] == "hidden unless DEBUG"
    text = _log_run({"POOLDRIFT_LOG_LEVEL": "WARNING"})
    assert text.stderr == "" and text.returncode == 0
    bad = _log_run({"POOLDRIFT_LOG_LEVEL": "LOUD"})
    assert bad.returncode != 0 and "POOLDRIFT_LOG_LEVEL" in bad.stderr


def _sample(body: str, line_start: str) -> float:
    for line in body.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_upstream_metrics_count_statuses_retries_and_throttling(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    before = render()[0].decode()
    emulator.faults.update(retry_after=0.05)
    emulator.faults.fail_next_n("rate_limit", 1)
    await client.list_pools(max_items=1)
    body, content_type = render()
    after = body.decode()
    assert content_type.startswith("text/plain")
    for sample, grew_by in [
        ('pooldrift_upstream_requests_total{status="429"}', 1),
        ("pooldrift_upstream_throttled_total", 1),
        ('pooldrift_upstream_retries_total{reason="throttled"}', 1),
    ]:
        assert _sample(after, sample) - _sample(before, sample) == grew_by, sample
    assert _sample(after, 'pooldrift_upstream_requests_total{status="200"}') > _sample(
        before, 'pooldrift_upstream_requests_total{status="200"}'
    )
    assert _sample(after, "pooldrift_upstream_in_flight") == 0
    assert "process_resident_memory_bytes" in after or sys.platform != "linux"


async def test_a_timeout_holds_for_callers_sharing_one_request(
    client: WorkspaceClient, emulator: EmulatorServer
) -> None:
    """Identical calls share one upstream request; when all are cancelled together (their
    deadline), none of them quietly makes the call again."""
    pool = emulator.data.pool_named("hr-win10")
    await client.get_project_id()
    emulator.faults.update(latency=5.0)
    started = time.monotonic()

    async def one() -> float:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                await client.check(pool.id)
        return time.monotonic() - started

    took = await asyncio.gather(*(one() for _ in range(5)))
    assert max(took) < 3.0, took
