"""Client behaviour on exact upstream answers, via httpx2.MockTransport (no sockets needed).

The emulator-backed tests in test_client.py cover the same paths over real loopback; these pin
down the cases that need an exact sequence of answers: retry counts, Retry-After, deadlines.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx2
import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import load_settings

PROJECT = "0123456789abcdef0123456789abcdef"
POOL = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
COUNTS = {"product_id": 2, "image_id": 2, "disk_num": 3, "disk_size": 4}
SECRET = "unit-secret-key-never-shown"

Handler = Callable[[httpx2.Request], httpx2.Response]


def make(handler: Handler, **overrides: object) -> tuple[WorkspaceClient, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return handler(request)

    values: dict[str, object] = {
        "access_key": "UNITAK",
        "secret_key": SECRET,
        "project_id": PROJECT,
        "endpoint": "http://workspace.test",
        "backoff_initial": 0.001,
        "backoff_max": 0.01,
        "deadline": 5.0,
        **overrides,
    }
    client = WorkspaceClient(load_settings(**values), transport=httpx2.MockTransport(record))
    return client, seen


def sequence(*responses: httpx2.Response | Exception) -> Handler:
    answers = list(responses)

    def handler(request: httpx2.Request) -> httpx2.Response:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


def ok() -> httpx2.Response:
    return httpx2.Response(200, json=COUNTS, headers={"X-Request-Id": "ok-1"})


async def test_statics_result() -> None:
    client, seen = make(sequence(ok()))
    async with client:
        report = await client.inconsistent_statics(POOL)
    assert (report.product_id, report.image_id, report.disk_num, report.disk_size) == (2, 2, 3, 4)
    assert report.request_id == "ok-1"
    assert report.project_id == PROJECT and report.region == "cn-north-4"
    assert report.drifted_desktops_at_least == 4  # not the sum: one desktop can drift in several ways
    assert not report.consistent
    request = seen[0]
    assert request.url.path == f"/v2/{PROJECT}/desktop-pools/{POOL}/inconsistent-statics"
    assert request.headers["X-Project-Id"] == PROJECT
    assert request.headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=UNITAK,")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_retried_to_success(status: int) -> None:
    failing = httpx2.Response(status, json={"error_code": "X", "error_msg": "busy"})
    client, seen = make(sequence(failing, failing, ok()))
    async with client:
        report = await client.inconsistent_statics(POOL)
    assert report.request_id == "ok-1"
    assert len(seen) == 3


async def test_connect_errors_and_timeouts_retried() -> None:
    client, seen = make(sequence(httpx2.ConnectError("refused"), httpx2.ReadTimeout("slow"), ok()))
    async with client:
        await client.inconsistent_statics(POOL)
    assert len(seen) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
async def test_other_4xx_not_retried(status: int) -> None:
    client, seen = make(sequence(httpx2.Response(status, json={"error_code": "E", "error_msg": "m"})))
    async with client:
        with pytest.raises(errors.APIStatusError) as info:
            await client.inconsistent_statics(POOL)
    assert info.value.status_code == status
    assert len(seen) == 1


async def test_attempts_bounded_then_one_typed_error() -> None:
    failing = httpx2.Response(503, json={"error_code": "WKS.5000", "error_msg": "down"},
                              headers={"X-Request-Id": "r-503"})  # fmt: skip
    client, seen = make(sequence(failing), max_attempts=3)
    async with client:
        with pytest.raises(errors.ServerError) as info:
            await client.inconsistent_statics(POOL)
    assert len(seen) == 3
    assert info.value.request_id == "r-503" and info.value.error_code == "WKS.5000"


async def test_retry_after_is_honoured() -> None:
    throttled = httpx2.Response(429, json={"error_code": "APIGW.0308"}, headers={"Retry-After": "0.3"})
    client, seen = make(sequence(throttled, ok()))
    started = time.monotonic()
    async with client:
        await client.inconsistent_statics(POOL)
    assert len(seen) == 2
    assert time.monotonic() - started >= 0.3


async def test_retry_after_beyond_deadline_fails_at_once_with_advice() -> None:
    throttled = httpx2.Response(
        429,
        json={"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"},
        headers={"Retry-After": "30", "X-Request-Id": "r-429"},
    )
    client, seen = make(sequence(throttled), deadline=2.0)
    started = time.monotonic()
    async with client:
        with pytest.raises(errors.RateLimitError) as info:
            await client.inconsistent_statics(POOL)
    assert time.monotonic() - started < 1.0
    assert len(seen) == 1
    assert (info.value.retry_after, info.value.error_code, info.value.request_id) == (
        30.0,
        "APIGW.0308",
        "r-429",
    )


async def test_malformed_body_is_typed() -> None:
    bad = httpx2.Response(200, content=b"<html>oops</html>", headers={"X-Request-Id": "r-bad"})
    client, seen = make(sequence(bad), max_attempts=2)
    async with client:
        with pytest.raises(errors.MalformedResponseError) as info:
            await client.inconsistent_statics(POOL)
    assert info.value.request_id == "r-bad"
    assert len(seen) == 2


async def test_wrong_shape_is_typed() -> None:
    client, _ = make(sequence(httpx2.Response(200, json={"product_id": -1})), max_attempts=1)
    async with client:
        with pytest.raises(errors.ImplausibleCountError, match=r"product_id=-1 .* not a count"):
            await client.inconsistent_statics(POOL)


@pytest.mark.parametrize(
    "projects",
    [[], [{"id": PROJECT, "name": "cn-north-4"}, {"id": "f" * 32, "name": "cn-north-4"}]],
)
async def test_project_lookup_needs_exactly_one(projects: list[dict[str, str]]) -> None:
    client, seen = make(sequence(httpx2.Response(200, json={"projects": projects})), project_id=None)
    async with client:
        with pytest.raises(errors.ProjectLookupError, match="HUAWEICLOUD_SDK_PROJECT_ID"):
            await client.inconsistent_statics(POOL)
    assert seen[0].url.path == "/v3/projects"
    assert seen[0].url.params["name"] == "cn-north-4"
    assert "X-Project-Id" not in seen[0].headers


async def test_project_lookup_cached() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v3/projects":
            return httpx2.Response(200, json={"projects": [{"id": PROJECT, "name": "cn-north-4"}]})
        return ok()

    client, seen = make(handler, project_id=None)
    async with client:
        for _ in range(3):
            await client.inconsistent_statics(POOL)
    assert [r.url.path for r in seen].count("/v3/projects") == 1


async def test_invalid_input_sends_nothing() -> None:
    client, seen = make(sequence(ok()))
    async with client:
        for bad in ("../x", f"{POOL}/..", "a b", "%2F", "x\u0430"):
            with pytest.raises(errors.InvalidInputError):
                await client.inconsistent_statics(bad)
            with pytest.raises(errors.InvalidInputError):
                await client.check(bad)
    assert seen == []


async def test_requests_per_minute_budget_is_ours_not_upstreams() -> None:
    client, seen = make(sequence(ok()), requests_per_minute=2, deadline=5.0)
    started = time.monotonic()
    async with client:
        await client.inconsistent_statics(POOL)
        await client.inconsistent_statics(POOL)
        # the third must wait ~60 s for a slot, past the deadline: said at once, nothing sent
        with pytest.raises(errors.BudgetExhaustedError, match="POOLDRIFT_REQUESTS_PER_MINUTE") as info:
            await client.inconsistent_statics(POOL)
    assert time.monotonic() - started < 2
    assert len(seen) == 2
    assert info.value.retry_after is not None and 55 < info.value.retry_after <= 61
    assert info.value.request_id is None and isinstance(info.value, errors.RateLimitError)


async def test_deadline_bounds_a_hanging_call() -> None:
    import asyncio

    async def hang(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(10)
        return ok()

    client = WorkspaceClient(
        load_settings(
            access_key="A",
            secret_key=SECRET,
            project_id=PROJECT,
            endpoint="http://workspace.test",
            deadline=0.3,
        ),
        transport=httpx2.MockTransport(hang),
    )
    started = time.monotonic()
    async with client:
        with pytest.raises(errors.APITimeoutError):
            await client.inconsistent_statics(POOL)
    assert time.monotonic() - started < 2


def test_missing_credentials_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK"):
        WorkspaceClient(load_settings())


def test_unknown_region_names_the_known_ones() -> None:
    with pytest.raises(errors.ConfigurationError, match="cn-north-4") as info:
        load_settings(access_key="A", secret_key="S", region="mars-north-1")
    assert "mars-north-1" in info.value.message


async def test_with_options_validates_and_shares() -> None:
    client, seen = make(sequence(ok()))
    async with client:
        with pytest.raises(errors.InvalidInputError):
            client.with_options(project_id="nope")
        with pytest.raises(errors.InvalidInputError, match="known regions"):
            client.with_options(region="nowhere-1")
        other = "f" * 32
        view = client.with_options(region="ap-southeast-1", project_id=other)
        report = await view.inconsistent_statics(POOL)
    assert report.region == "ap-southeast-1" and report.project_id == other
    assert seen[0].url.path.startswith(f"/v2/{other}/")


async def test_secrets_never_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    failing = httpx2.Response(401, json={"error_code": "APIGW.0301", "error_msg": "bad"})
    client, _ = make(sequence(failing))
    async with client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.inconsistent_statics(POOL)
    text = " ".join([str(info.value), repr(info.value), repr(client), repr(client.settings), caplog.text])
    assert SECRET not in text


def _slow_client(handler: Callable[[httpx2.Request], object], **overrides: object) -> WorkspaceClient:
    values: dict[str, object] = {
        "access_key": "A",
        "secret_key": SECRET,
        "project_id": PROJECT,
        "endpoint": "http://workspace.test",
        **overrides,
    }
    return WorkspaceClient(load_settings(**values), transport=httpx2.MockTransport(handler))  # type: ignore[arg-type]


async def test_identical_concurrent_calls_share_one_request() -> None:
    import asyncio

    seen: list[httpx2.Request] = []

    async def slow(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        await asyncio.sleep(0.1)
        return ok()

    other = "b130ab3a-72bf-4b71-baa9-af4987c8e338"
    async with _slow_client(slow) as client:
        reports = await asyncio.gather(
            *(client.inconsistent_statics(POOL) for _ in range(20)), client.inconsistent_statics(other)
        )
        await client.inconsistent_statics(POOL)  # after the first finished: asked again
    assert len(seen) == 3
    assert {r.pool_id for r in reports} == {POOL, other}


async def test_shared_call_failure_reaches_every_caller() -> None:
    import asyncio

    async def failing(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.05)
        return httpx2.Response(404, json={"error_code": "WKS.404", "error_msg": "no pool"})

    async with _slow_client(failing) as client:
        results = await asyncio.gather(
            *(client.inconsistent_statics(POOL) for _ in range(5)), return_exceptions=True
        )
    assert all(isinstance(r, errors.NotFoundError) for r in results)


async def test_cancelled_leader_does_not_fail_followers() -> None:
    import asyncio

    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.2)
        return ok()

    async with _slow_client(slow) as client:
        leader = asyncio.create_task(client.inconsistent_statics(POOL))
        await asyncio.sleep(0.05)
        follower = asyncio.create_task(client.inconsistent_statics(POOL))
        await asyncio.sleep(0.05)
        leader.cancel()
        report = await follower
    assert report.request_id == "ok-1"
    assert leader.cancelled()


async def test_cache_ttl_reuses_recent_answers() -> None:
    client, seen = make(sequence(ok()), cache_ttl=60)
    async with client:
        for _ in range(3):
            await client.inconsistent_statics(POOL)
    assert len(seen) == 1


def test_merge_drift_listings_unites_kinds_and_bounds_totals() -> None:
    from pooldrift.models import InconsistentType, PoolDesktop, PoolDesktops, merge_drift_listings

    def desktop(n: int, *kinds: str) -> PoolDesktop:
        return PoolDesktop(desktop_id=f"d{n}", computer_name=f"PC{n:02d}", inconsistent_types=list(kinds))

    a, b = desktop(2, "IMAGE_ID"), desktop(1)  # b's own list is empty: its listing says how it drifted
    listings = [
        PoolDesktops(pool_id=POOL, inconsistent_type=InconsistentType.IMAGE_ID, total_count=1, desktops=[a]),
        PoolDesktops(
            pool_id=POOL, inconsistent_type=InconsistentType.DISK_SIZE, total_count=5, desktops=[a, b]
        ),
        PoolDesktops(pool_id=POOL, inconsistent_type=InconsistentType.PRODUCT_ID, total_count=0, desktops=[]),
    ]
    merged = merge_drift_listings(POOL, listings)
    assert [(d.computer_name, d.drift) for d in merged.desktops] == [
        ("PC01", [InconsistentType.DISK_SIZE]),
        ("PC02", [InconsistentType.IMAGE_ID, InconsistentType.DISK_SIZE]),
    ]
    assert merged.total_count == 5 and merged.truncated  # five differ in disk size, two fetched
    assert merged.kind_totals[InconsistentType.DISK_SIZE] == 5
    assert a.inconsistent_types == ["IMAGE_ID"]  # inputs untouched
    assert len(merge_drift_listings(POOL, listings, max_items=1).desktops) == 1


async def test_in_flight_bound_is_process_wide() -> None:
    import asyncio

    now = peak = 0

    async def counted(request: httpx2.Request) -> httpx2.Response:
        nonlocal now, peak
        now += 1
        peak = max(peak, now)
        await asyncio.sleep(0.02)
        now -= 1
        return ok()

    client = _slow_client(counted, max_in_flight=3)
    pools = [f"a130ab3a-72bf-4b71-baa9-af4987c8e{n:03d}" for n in range(12)]
    async with client:
        view = client.with_options(region="cn-east-3", project_id="f" * 32)  # shares the bound
        await asyncio.gather(
            *(client.inconsistent_statics(p) for p in pools), *(view.inconsistent_statics(p) for p in pools)
        )
    assert peak == 3


def test_region_picks_the_endpoints() -> None:
    settings = load_settings(access_key="A", secret_key="S", region="ap-southeast-1")
    assert settings.workspace_endpoint() == "https://workspace.ap-southeast-1.myhuaweicloud.com"
    assert settings.iam_base() == "https://iam.ap-southeast-1.myhuaweicloud.com"
    assert settings.workspace_endpoint("cn-east-3") == "https://workspace.cn-east-3.myhuaweicloud.com"
    override = load_settings(access_key="A", secret_key="S", endpoint="http://127.0.0.1:9/")
    assert override.workspace_endpoint() == override.iam_base() == "http://127.0.0.1:9"
    with pytest.raises(errors.ConfigurationError, match="endpoint"):
        load_settings(access_key="A", secret_key="S", endpoint="ftp://x y")


async def test_undecodable_body_is_typed_and_retried() -> None:
    def undecodable() -> httpx2.Response:  # decoded by the client as it reads, not here
        return httpx2.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx2.ByteStream(b"not gzip")
        )

    answers = iter([undecodable(), ok()])
    client, seen = make(lambda request: next(answers))
    async with client:
        report = await client.inconsistent_statics(POOL)
    assert report.request_id == "ok-1" and len(seen) == 2
    client, _ = make(lambda request: undecodable(), max_attempts=2)
    async with client:
        with pytest.raises(errors.MalformedResponseError, match="could not be decoded"):
            await client.inconsistent_statics(POOL)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:99999", "http://a:b:c", "http://[zz]", "http://"])
def test_bad_endpoints_are_configuration_errors(endpoint: str) -> None:
    with pytest.raises(errors.ConfigurationError, match="endpoint"):
        load_settings(access_key="A", secret_key="S", endpoint=endpoint)
