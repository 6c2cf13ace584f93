"""What the HTTP layer says and counts for each kind of failure: the error's words, the status label
of the upstream request metric, the retry reason, the debug line; and what every request carries.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

import httpx2
import pytest

from pooldrift import errors
from pooldrift.client import WorkspaceClient
from pooldrift.config import Settings, load_settings
from pooldrift.emulator import EmulatorServer
from pooldrift.metrics import render
from pooldrift.version import __version__

PROJECT = "0123456789abcdef0123456789abcdef"
POOL = "a130ab3a-72bf-4b71-baa9-af4987c8e338"
COUNTS = {"product_id": 1, "image_id": 0, "disk_num": 0, "disk_size": 0}
HOST = "workspace.test"

Handler = Callable[[httpx2.Request], httpx2.Response]


def client_for(handler: Handler, **overrides: object) -> WorkspaceClient:
    values: dict[str, object] = {
        "access_key": "UNITAK",
        "secret_key": "unit-secret",
        "project_id": PROJECT,
        "endpoint": f"http://{HOST}",
        "backoff_initial": 0.001,
        "backoff_max": 0.005,
        "deadline": 5.0,
        **overrides,
    }
    return WorkspaceClient(load_settings(**values), transport=httpx2.MockTransport(handler))


Item = httpx2.Response | Exception | Callable[[], httpx2.Response]


def answers(*items: Item) -> Handler:
    """The items in turn, the last one for good; a callable makes a fresh answer each time."""
    pending = list(items)

    def handler(request: httpx2.Request) -> httpx2.Response:
        item = pending.pop(0) if len(pending) > 1 else pending[0]
        if isinstance(item, Exception):
            raise item
        return item if isinstance(item, httpx2.Response) else item()

    return handler


def sample(name: str) -> float:
    for line in render()[0].decode().splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def requests_with(status: str) -> float:
    return sample(f'pooldrift_upstream_requests_total{{status="{status}"}}')


def retries_for(reason: str) -> float:
    return sample(f'pooldrift_upstream_retries_total{{reason="{reason}"}}')


def undecodable() -> httpx2.Response:
    return httpx2.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx2.ByteStream(b"not gzip"))


@pytest.mark.parametrize(
    ("failure", "status", "cls", "message"),
    [
        (httpx2.ConnectError("refused"), "unreachable", errors.APIConnectionError,
         f"could not reach {HOST}: ConnectError"),
        (httpx2.ReadTimeout("slow"), "timeout", errors.APITimeoutError, f"{HOST} did not answer within 2 s"),
        (undecodable, "undecodable", errors.MalformedResponseError,
         f"{HOST} sent a body that could not be decoded"),
    ],
)  # fmt: skip
async def test_each_failure_is_worded_and_counted_under_its_own_status(
    failure: Item, status: str, cls: type[errors.PooldriftError], message: str
) -> None:
    before = {s: requests_with(s) for s in ("unreachable", "timeout", "undecodable")}
    retried = {outcome: retries_for(outcome) for outcome in (cls.outcome, "error")}
    async with client_for(answers(failure), max_attempts=2, read_timeout=2.0) as client:
        with pytest.raises(cls) as caught:
            await client.inconsistent_statics(POOL)
    assert type(caught.value) is cls and caught.value.message == message
    if isinstance(caught.value, errors.MalformedResponseError):
        assert (caught.value.status_code, caught.value.request_id) == (200, None)
    grew = {s: requests_with(s) - n for s, n in before.items()}
    assert grew == {s: (2 if s == status else 0) for s in before}
    # retries are labelled with the failure's outcome, never the catch-all "error"
    assert retries_for(cls.outcome) > retried[cls.outcome] and retries_for("error") == retried["error"]


async def test_a_body_that_is_not_json_says_so_with_the_request_id() -> None:
    page = httpx2.Response(200, content=b"<html>maintenance</html>", headers={"X-Request-Id": "r-html"})
    async with client_for(answers(page), max_attempts=1) as client:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await client.inconsistent_statics(POOL)
    assert caught.value.message == "the API answered with a body that is not JSON (request id r-html)"
    assert (caught.value.status_code, caught.value.request_id) == (200, "r-html")
    async with client_for(answers(httpx2.Response(200, content=b"{")), max_attempts=1) as client:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await client.inconsistent_statics(POOL)
    assert caught.value.message == "the API answered with a body that is not JSON"


async def test_retries_are_counted_only_when_there_is_one() -> None:
    busy = httpx2.Response(503, json={"error_code": "X", "error_msg": "busy"})
    missing = httpx2.Response(404, json={"error_code": "WKS.0004", "error_msg": "gone"})
    retried, refused = retries_for("server_error"), retries_for("not_found")
    async with client_for(answers(busy, httpx2.Response(200, json=COUNTS))) as client:
        await client.inconsistent_statics(POOL)
    async with client_for(answers(missing)) as client:
        with pytest.raises(errors.NotFoundError):
            await client.inconsistent_statics(POOL)
    assert (retries_for("server_error") - retried, retries_for("not_found") - refused) == (1, 0)


async def test_a_short_deadline_still_retries_when_there_is_time() -> None:
    busy = httpx2.Response(503, json={"error_code": "X", "error_msg": "busy"})
    async with client_for(answers(busy, httpx2.Response(200, json=COUNTS)), deadline=0.9) as client:
        report = await client.inconsistent_statics(POOL)
    assert report.product_id == 1


async def test_when_the_deadline_cuts_an_attempt_short_the_last_answer_is_raised() -> None:
    calls = 0

    async def busy_then_silent(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx2.Response(503, json={"error_code": "WKS.5000", "error_msg": "busy"})
        await asyncio.sleep(30)  # cut short by the deadline
        raise AssertionError("the deadline should have cut this attempt")

    settings = load_settings(
        access_key="UNITAK", secret_key="unit-secret", project_id=PROJECT, endpoint=f"http://{HOST}",
        backoff_initial=0.001, backoff_max=0.005, deadline=0.5,
    )  # fmt: skip
    async with WorkspaceClient(settings, transport=httpx2.MockTransport(busy_then_silent)) as client:
        with pytest.raises(errors.ServerError) as caught:
            await client.inconsistent_statics(POOL)
    assert caught.value.error_code == "WKS.5000" and calls == 2


async def test_the_debug_line_names_path_status_time_and_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pooldrift.client")

    async def after_a_while(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(0.03)
        return httpx2.Response(200, json=COUNTS, headers={"X-Request-Id": "r-dbg"})

    timed = sample("pooldrift_upstream_request_duration_seconds_sum")
    async with client_for(after_a_while) as client:
        await client.inconsistent_statics(POOL)
    took = sample("pooldrift_upstream_request_duration_seconds_sum") - timed
    (line,) = [r.getMessage() for r in caplog.records if r.name == "pooldrift.client"]
    path = f"/v2/{PROJECT}/desktop-pools/{POOL}/inconsistent-statics"
    found = re.fullmatch(rf"GET {re.escape(path)} -> 200 in (\d+\.\d) ms \(request id r-dbg\)", line)
    assert found, line
    assert 30 <= float(found.group(1)) < 30_000 and 0.03 <= took < 30  # milliseconds, and seconds


async def test_no_answer_at_all_within_the_deadline_says_so() -> None:
    async def silent(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(30)
        raise AssertionError("the deadline should have cut this attempt")

    async with client_for(silent, deadline=0.3) as client:
        with pytest.raises(errors.APITimeoutError) as caught:
            await client.inconsistent_statics(POOL)
    assert caught.value.message == f"no answer within the 0.3 s deadline from {HOST}"


async def test_a_redirect_is_not_followed_with_the_signature() -> None:
    moved = httpx2.Response(302, headers={"Location": "http://elsewhere.test/v2/steal"})
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return moved

    async with client_for(handler) as client:
        with pytest.raises(errors.APIStatusError) as caught:
            await client.inconsistent_statics(POOL)
    assert caught.value.status_code == 302 and [r.url.host for r in seen] == [HOST]


async def test_time_spent_waiting_for_the_budget_is_measured_not_summed_with_the_clock() -> None:
    waited = sample("pooldrift_budget_wait_seconds_sum")
    async with client_for(answers(httpx2.Response(200, json=COUNTS)), requests_per_minute=60) as client:
        await client.inconsistent_statics(POOL)
    assert 0 <= sample("pooldrift_budget_wait_seconds_sum") - waited < 5


async def test_every_request_says_who_sends_it_and_what_it_accepts(
    settings: Settings, emulator: EmulatorServer
) -> None:
    async with WorkspaceClient(settings) as client:
        await client.inconsistent_statics(emulator.data.pools[0].id)
    for record in emulator.requests:
        assert record.headers["user-agent"] == f"pooldrift/{__version__}"
        assert record.headers["accept"] == "application/json"
        assert record.headers["content-type"] == "application/json"


async def test_a_silent_upstream_times_out_per_attempt_not_only_at_the_deadline(
    settings: Settings, emulator: EmulatorServer
) -> None:
    emulator.faults.update(latency=3.0)
    quick = settings.model_copy(update={"read_timeout": 0.2, "max_attempts": 1, "deadline": 10.0})
    async with WorkspaceClient(quick) as client:
        with pytest.raises(errors.APITimeoutError) as caught:
            await client.get_project_id()
    host = emulator.base_url.removeprefix("http://")
    assert caught.value.message == f"{host} did not answer within 0.2 s"


async def test_a_caller_s_http_client_is_used_signed_and_left_open() -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=COUNTS)

    settings = load_settings(
        access_key="UNITAK", secret_key="unit-secret", project_id=PROJECT, endpoint=f"http://{HOST}"
    )
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(answer)) as http:
        async with WorkspaceClient(settings, http_client=http) as client:
            await client.inconsistent_statics(POOL)
        assert not http.is_closed  # the caller's to close
        assert len(seen) == 1 and seen[0].headers["Authorization"].startswith(
            "SDK-HMAC-SHA256 Access=UNITAK,"
        )
