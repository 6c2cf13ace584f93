"""The gateway's rate limit: above N requests a minute a real 429 APIGW.0308 with Retry-After,
below it every answer as usual; the 429s it sent are counted."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest

from pooldrift.emulator import EmulatorConfig, EmulatorServer, Throttle
from pooldrift.emulator.throttle import throttle_message
from tests.helpers import signed_client


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_retry_after_is_the_wait_for_a_slot() -> None:
    clock = FakeClock()
    throttle = Throttle(3, clock=clock)
    for step in (0.0, 10.0, 20.0):
        clock.now = 1000.0 + step
        assert throttle.admit() is None
    clock.now = 1030.0
    assert throttle.admit() == (3, 30)  # the first start leaves the window at 1060
    clock.now = 1059.9
    assert throttle.admit() == (3, 1)  # never less than a second
    clock.now = 1060.0
    assert throttle.admit() is None  # the first start left; this one takes its place
    assert throttle.admit() == (3, 10)  # the next to leave started at 1010
    assert throttle.throttled == 3
    assert throttle.to_dict() == {"requests_per_minute": 3, "in_window": 3, "throttled": 3}


def test_refused_requests_take_no_place_in_the_window() -> None:
    clock = FakeClock()
    throttle = Throttle(1, clock=clock)
    assert throttle.admit() is None
    for _ in range(50):
        clock.now += 1
        assert throttle.admit() is not None
    clock.now = 1060.0
    assert throttle.admit() is None


def test_no_limit_update_clear_and_reset() -> None:
    throttle = Throttle(2, clock=FakeClock())
    assert [throttle.admit() for _ in range(3)][-1] is not None
    throttle.update(0)
    assert all(throttle.admit() is None for _ in range(100))
    assert throttle.throttled == 1  # an update keeps the count
    throttle.reset()  # back to the limit it was made with, nothing counted
    assert (throttle.per_minute, throttle.throttled) == (2, 0)
    throttle.clear()
    assert throttle.to_dict() == {"requests_per_minute": 0, "in_window": 0, "throttled": 0}
    for bad in (-1, 1.5, "600", True):
        with pytest.raises(ValueError, match="requests_per_minute must be a whole number"):
            throttle.update(bad)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def limited_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(rate_limit=5)) as server:
        yield server


@pytest.fixture
def limited(limited_server: EmulatorServer) -> Iterator[EmulatorServer]:
    limited_server.reset()
    yield limited_server
    limited_server.reset()


def test_above_the_rate_the_gateway_answers_429_apigw_0308(limited: EmulatorServer) -> None:
    pool = limited.data.pools[0]
    url = f"/v2/{limited.project_id}/desktop-pools/{pool.id}/inconsistent-statics"
    with signed_client(limited.base_url, limited.access_key, limited.secret_key) as client:
        answers = [client.get(url) for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        refused = client.get(url)
        also = client.get("/v3/auth/projects")  # every path counts
    assert refused.status_code == 429
    said = "The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 minute"
    assert refused.json() == {"error_code": "APIGW.0308", "error_msg": said}
    assert said == throttle_message(5)
    assert (
        refused.headers["X-Request-Id"]
        and refused.headers["X-Request-Id"] != answers[0].headers["X-Request-Id"]
    )
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert also.status_code == 429
    assert limited.throttle.throttled == 2
    assert len(limited.requests) == 7  # received, even when refused
    arrivals = [r.at for r in limited.requests]
    assert arrivals == sorted(arrivals) and time.time() - 30 < arrivals[0] <= arrivals[-1] <= time.time()


def test_below_the_rate_every_answer_is_as_usual(limited: EmulatorServer) -> None:
    limited.throttle.update(40)
    with signed_client(limited.base_url, limited.access_key, limited.secret_key) as client:
        codes = {
            client.get(f"/v2/{limited.project_id}/desktop-pools/{p.id}").status_code
            for p in limited.data.pools
        }
        codes |= {client.get(f"/v2/{limited.project_id}/desktop-pools").status_code for _ in range(28)}
    assert codes == {200}
    assert limited.throttle.throttled == 0 and limited.throttle.to_dict()["in_window"] == 40


def test_the_control_api_sets_and_shows_the_limit(emulator: EmulatorServer) -> None:
    assert emulator.throttle.per_minute == 0  # the suite's emulator has none
    with (
        httpx2.Client(base_url=emulator.base_url) as control,
        signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as client,
    ):
        assert control.post("/_emulator/rate-limit", json={"requests_per_minute": 2}).status_code == 200
        codes = [client.get("/v3/projects").status_code for _ in range(3)]
        shown = control.get("/_emulator/rate-limit").json()
        assert control.post("/_emulator/rate-limit", json={"requests_per_minute": -5}).status_code == 400
        assert control.post("/_emulator/rate-limit", json={"rpm": 5}).status_code == 400
        cleared = control.delete("/_emulator/rate-limit").json()
        after = client.get("/v3/projects").status_code
    assert codes == [200, 200, 429]
    assert shown == {"requests_per_minute": 2, "in_window": 2, "throttled": 1}
    assert cleared == {"requests_per_minute": 0, "in_window": 0, "throttled": 0} and after == 200
