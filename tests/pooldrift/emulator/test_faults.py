"""Fault injection seen from a raw signed client: each kind, the path filter, seeds, and control."""

from __future__ import annotations

import httpx2
import pytest

from pooldrift.emulator import EmulatorConfig, EmulatorServer, Faults
from tests.helpers import signed_client


def _statics(emulator: EmulatorServer) -> str:
    pool = emulator.data.pool_named("hr-win10")
    return f"/v2/{emulator.project_id}/desktop-pools/{pool.id}/inconsistent-statics"


def test_the_next_two_requests_fail_then_it_recovers(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.fail_next_n("503", 2)
    statuses = [raw.get(_statics(emulator)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert emulator.requests.count("inconsistent-statics") == 3


def test_an_injected_error_has_a_gateway_body(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.update(fail_next=["error"], error_status=500, error_code="WKS.9999")
    response = raw.get(_statics(emulator))
    assert response.status_code == 500
    assert response.json()["error_code"] == "WKS.9999"
    assert response.headers["X-Request-Id"]


def test_throttling_is_429_apigw_0308_with_retry_after(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.update(fail_next=["rate_limit", "429"], retry_after=3)
    for _ in range(2):
        response = raw.get(_statics(emulator))
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json() == {
            "error_code": "APIGW.0308",
            "error_msg": "The throttling threshold has been reached",
        }
    emulator.faults.update(fail_next=["rate_limit"], retry_after=None)
    assert "Retry-After" not in raw.get(_statics(emulator)).headers
    assert raw.get(_statics(emulator)).status_code == 200


def test_a_malformed_answer_is_200_with_html(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.fail_next_n("malformed")
    response = raw.get(_statics(emulator))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


def test_a_truncated_body_breaks_off(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.fail_next_n("truncate")
    with pytest.raises(httpx2.RemoteProtocolError):
        raw.get(_statics(emulator))
    assert raw.get(_statics(emulator)).status_code == 200  # the next one is whole


def test_a_dropped_connection_gets_no_answer(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.fail_next_n("drop")
    with pytest.raises(httpx2.RemoteProtocolError, match="without sending"):
        raw.get(_statics(emulator))
    assert raw.get(_statics(emulator)).status_code == 200
    assert emulator.requests.count("inconsistent-statics") == 2


def test_a_slow_body_arrives_whole_but_trips_a_short_read_timeout(emulator: EmulatorServer) -> None:
    emulator.faults.slow_body = 0.5
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as patient:
        response = patient.get(_statics(emulator))
        assert response.json() == emulator.data.statics(emulator.data.pool_named("hr-win10").id)
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as hasty:
        hasty.timeout = httpx2.Timeout(5.0, read=0.02)
        with pytest.raises(httpx2.ReadTimeout):
            hasty.get(_statics(emulator))


def test_latency_delays_the_answer_past_a_short_read_timeout(emulator: EmulatorServer) -> None:
    emulator.faults.latency = 0.3
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as hasty:
        hasty.timeout = httpx2.Timeout(5.0, read=0.02)
        with pytest.raises(httpx2.ReadTimeout):
            hasty.get(_statics(emulator))
    emulator.faults.latency = 0
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as hasty:
        hasty.timeout = httpx2.Timeout(5.0, read=2)
        assert hasty.get(_statics(emulator)).status_code == 200


def test_faults_can_be_limited_to_matching_paths(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    emulator.faults.update(error_rate=1.0, paths=r"/inconsistent-statics$")
    assert raw.get(f"/v2/{emulator.project_id}/desktop-pools").status_code == 200
    assert raw.get(_statics(emulator)).status_code == 503
    emulator.faults.update(error_rate=0.0, fail_next=["503"])
    assert raw.get(f"/v2/{emulator.project_id}/desktop-pools").status_code == 200  # not matched: kept
    assert raw.get(_statics(emulator)).status_code == 503


def test_random_faults_repeat_with_the_same_seed(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    def run() -> list[int]:
        emulator.faults.update(seed=7, error_rate=0.3, rate_limit_rate=0.3, retry_after=0)
        return [raw.get(_statics(emulator)).status_code for _ in range(30)]

    first = run()
    emulator.faults.reset()
    assert run() == first
    assert {200, 429, 503} <= set(first)


def test_fault_settings_are_checked() -> None:
    faults = Faults()
    for bad in ({"error_rate": 1.5}, {"latency": -1}, {"error_status": 200}, {"nonsense": 1}):
        with pytest.raises(ValueError):
            faults.update(**bad)
    with pytest.raises(ValueError, match="fault kind"):
        faults.fail_next_n("explode")
    faults.fail_next_n("drop", 2)
    assert faults.fail_next == ["drop", "drop"]
    assert [faults.decide("/x").kind for _ in range(3)] == ["drop", "drop", None]


# -- control over HTTP ---------------------------------------------------------------------


def test_faults_are_controlled_over_http_without_a_signature(
    emulator: EmulatorServer, raw: httpx2.Client
) -> None:
    control = emulator.base_url + "/_emulator/faults"
    answer = httpx2.post(control, json={"fail_next_count": 2, "fail_next_kind": "502", "retry_after": 2})
    assert answer.status_code == 200
    assert answer.json()["fail_next"] == ["502", "502"]
    assert httpx2.get(control).json()["retry_after"] == 2
    assert [raw.get(_statics(emulator)).status_code for _ in range(3)] == [502, 502, 200]

    httpx2.post(control, json={"error_rate": 1})
    assert raw.get(_statics(emulator)).status_code == 503
    reset = httpx2.delete(control)
    assert reset.json()["error_rate"] == 0
    assert raw.get(_statics(emulator)).status_code == 200

    for bad in ({"error_rate": 2}, {"nonsense": 1}, [1, 2]):
        refused = httpx2.post(control, json=bad)
        assert refused.status_code == 400 and refused.json()["error_msg"]


def test_the_request_log_is_readable_over_http(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    control = emulator.base_url + "/_emulator/requests"
    assert httpx2.get(control).json()["total"] == 0
    raw.get(_statics(emulator))
    raw.get(_statics(emulator))
    log = httpx2.get(control).json()
    assert log["total"] == 2 and log["by_path"] == {_statics(emulator): 2}
    assert "authorization" not in log["requests"][0]["headers"]
    assert log["requests"][0]["headers"]["x-sdk-date"]
    assert httpx2.delete(control).json()["total"] == 0
    assert len(emulator.requests) == 0

    emulator.faults.error_rate = 1
    emulator.data.desktops_of(emulator.data.pool_named("hr-win10").id).clear()
    assert httpx2.post(emulator.base_url + "/_emulator/reset").json() == {"reset": True}
    assert emulator.faults.error_rate == 0
    assert raw.get(_statics(emulator)).json()["product_id"] == 6


def test_the_control_api_can_be_left_unmounted() -> None:
    with EmulatorServer(EmulatorConfig(control=False)) as server:
        response = httpx2.post(server.base_url + "/_emulator/faults", json={"error_rate": 1})
        assert response.status_code == 404
        assert server.faults.error_rate == 0


# -- request ids ---------------------------------------------------------------------------


def test_every_answer_has_its_own_request_id(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    answers = [
        raw.get(_statics(emulator)),  # 200
        raw.get(f"/v2/{emulator.project_id}/desktop-pools", params={"limit": "x"}),  # 400
        httpx2.get(emulator.base_url + _statics(emulator)),  # 401
        raw.get(f"/v2/{emulator.project_id}/nothing-here"),  # 404
        httpx2.get(emulator.base_url + "/_emulator/faults"),  # control
        httpx2.put(emulator.base_url + "/_emulator/faults"),  # 405
    ]
    emulator.faults.update(fail_next=["503", "429", "malformed"])
    answers += [raw.get(_statics(emulator)) for _ in range(3)]
    ids = [a.headers.get("X-Request-Id") for a in answers]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(len(i) == 32 for i in ids if i)
    assert [a.status_code for a in answers] == [200, 400, 401, 404, 200, 405, 503, 429, 200]


def test_no_request_means_nothing_recorded(emulator: EmulatorServer) -> None:
    assert len(emulator.requests) == 0 and emulator.requests.count() == 0


def test_the_request_log_keeps_the_last_requests_and_counts_the_dropped_ones() -> None:
    with EmulatorServer(EmulatorConfig(request_log_limit=3)) as small:
        for n in range(5):
            httpx2.get(f"{small.base_url}/v2/p/desktop-pools/{n}")
        control = httpx2.get(small.base_url + "/_emulator/requests").json()
        assert control["total"] == 3 and control["dropped"] == 2 and control["limit"] == 3
        assert [r.path.rsplit("/", 1)[-1] for r in small.requests] == ["2", "3", "4"]
        assert small.requests.dropped == 2
        small.requests.clear()
        assert small.requests.dropped == 0 and len(small.requests) == 0


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_huge_answer_is_the_answer_then_spaces_up_to_its_size(
    emulator: EmulatorServer, raw: httpx2.Client, framing: str
) -> None:
    listing = f"/v2/{emulator.project_id}/desktop-pools"
    expected = raw.get(listing).json()
    emulator.faults.update(huge_size=1 << 20, huge_framing=framing)
    emulator.faults.fail_next_n("huge")
    response = raw.get(listing)
    assert response.status_code == 200 and len(response.content) == 1 << 20
    if framing == "length":
        assert response.headers["Content-Length"] == str(1 << 20)
    else:
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.json() == expected  # JSON allows the spaces after the value
    assert emulator.huge_answers() == [(1 << 20, 1 << 20)]
    assert len(raw.get(listing).content) < 1 << 20  # the next one is as it was


def test_huge_settings_are_checked(emulator: EmulatorServer) -> None:
    with pytest.raises(ValueError, match="huge_framing must be one of chunked, length"):
        emulator.faults.update(huge_framing="gzip")
    with pytest.raises(ValueError, match="huge_size"):
        emulator.faults.update(huge_size=-1)
