"""The emulator's gateway check: signatures accepted and refused with the gateway's codes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, EmulatorConfig, EmulatorServer
from pooldrift.signing import AKSKAuth, TokenAuth
from tests.helpers import signed_client


def _statics_path(emulator: EmulatorServer) -> str:
    pool = emulator.data.pool_named("sales-win11")
    return f"/v2/{emulator.project_id}/desktop-pools/{pool.id}/inconsistent-statics"


def test_a_signed_request_is_answered(emulator: EmulatorServer, raw: httpx2.Client) -> None:
    response = raw.get(_statics_path(emulator))
    assert response.status_code == 200, response.text
    assert response.json() == emulator.data.statics(emulator.data.pool_named("sales-win11").id)


def test_a_signed_query_is_verified_in_its_canonical_form(
    emulator: EmulatorServer, raw: httpx2.Client
) -> None:
    # unsorted keys, a repeated key and characters that need quoting all verify
    response = raw.get(
        f"/v2/{emulator.project_id}/desktop-pools",
        params=[("name", "lab a~/é"), ("limit", "5"), ("type", "STATIC"), ("offset", "0")],
    )
    assert response.status_code == 200, response.text
    assert response.json()["total_count"] == 0


@pytest.mark.parametrize(
    ("access_key", "secret_key", "reason"),
    [
        (DEMO_ACCESS_KEY, "not-the-secret", "signature"),
        ("UNKNOWNAK00000000000", DEMO_SECRET_KEY, "access key"),
    ],
)
def test_a_wrong_key_pair_is_refused_with_apigw_0301(
    emulator: EmulatorServer, access_key: str, secret_key: str, reason: str
) -> None:
    with signed_client(emulator.base_url, access_key, secret_key) as client:
        response = client.get(_statics_path(emulator))
    assert response.status_code == 401
    body = response.json()
    assert body["error_code"] == "APIGW.0301"
    assert body["error_msg"].startswith("Incorrect IAM authentication information")
    assert reason in body["error_msg"]
    assert secret_key not in response.text and "Signature=" not in response.text


def test_no_authorization_at_all_is_refused(emulator: EmulatorServer) -> None:
    response = httpx2.get(emulator.base_url + _statics_path(emulator))
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0301"


def test_a_malformed_authorization_header_is_refused(emulator: EmulatorServer) -> None:
    response = httpx2.get(
        emulator.base_url + _statics_path(emulator),
        headers={"Authorization": "Bearer something", "X-Sdk-Date": "20240101T000000Z"},
    )
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0301"


@pytest.mark.parametrize("minutes", [-20, 20])
def test_a_stale_or_future_date_is_refused_with_apigw_0303(emulator: EmulatorServer, minutes: int) -> None:
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    auth = AKSKAuth(emulator.access_key, emulator.secret_key, clock=lambda: when)
    response = httpx2.get(emulator.base_url + _statics_path(emulator), auth=auth)
    assert response.status_code == 401
    assert response.json()["error_code"] == "APIGW.0303"


def test_a_date_within_fifteen_minutes_is_accepted(emulator: EmulatorServer) -> None:
    when = datetime.now(UTC) - timedelta(minutes=10)
    auth = AKSKAuth(emulator.access_key, emulator.secret_key, clock=lambda: when)
    response = httpx2.get(emulator.base_url + _statics_path(emulator), auth=auth)
    assert response.status_code == 200


def _sign(emulator: EmulatorServer, url: str, headers: dict[str, str] | None = None) -> httpx2.Request:
    request = httpx2.Request("GET", emulator.base_url + url, headers=headers)
    AKSKAuth(emulator.access_key, emulator.secret_key).sign(request)
    return request


def test_a_request_changed_after_signing_is_refused(emulator: EmulatorServer) -> None:
    path = f"/v2/{emulator.project_id}/desktop-pools"
    signed = _sign(emulator, path + "?limit=5")
    with httpx2.Client() as client:
        assert client.send(signed).status_code == 200
        tampered = httpx2.Request("GET", emulator.base_url + path + "?limit=6", headers=signed.headers)
        assert client.send(tampered).status_code == 401
        other_path = httpx2.Request(
            "GET", emulator.base_url + _statics_path(emulator), headers=signed.headers
        )
        assert client.send(other_path).json()["error_code"] == "APIGW.0301"


def test_a_signed_header_that_is_missing_is_refused(emulator: EmulatorServer) -> None:
    signed = _sign(emulator, _statics_path(emulator), headers={"X-Extra": "1"})
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "x-extra"}
    response = httpx2.get(emulator.base_url + _statics_path(emulator), headers=headers)
    assert response.status_code == 401
    assert "x-extra" in response.json()["error_msg"]


def test_token_auth_and_security_tokens_when_configured() -> None:
    config = EmulatorConfig(auth_token="demo-iam-token", security_token="demo-sts-token")
    with EmulatorServer(config) as server:
        path = _statics_path(server)
        assert httpx2.get(server.base_url + path, auth=TokenAuth("demo-iam-token")).status_code == 200
        wrong = httpx2.get(server.base_url + path, auth=TokenAuth("stolen"))
        assert (wrong.status_code, wrong.json()["error_code"]) == (401, "APIGW.0301")
        assert "stolen" not in wrong.text

        good = AKSKAuth(server.access_key, server.secret_key, security_token="demo-sts-token")
        assert httpx2.get(server.base_url + path, auth=good).status_code == 200
        bad = AKSKAuth(server.access_key, server.secret_key, security_token="old-sts-token")
        refused = httpx2.get(server.base_url + path, auth=bad)
        assert refused.status_code == 401
        assert "security token" in refused.json()["error_msg"]


def test_token_auth_is_refused_when_none_is_configured(emulator: EmulatorServer) -> None:
    response = httpx2.get(emulator.base_url + _statics_path(emulator), auth=TokenAuth("anything"))
    assert response.status_code == 401


def test_the_key_pair_and_project_come_from_the_sdk_variables() -> None:
    environ = {
        "HUAWEICLOUD_SDK_AK": "MYAK",
        "HUAWEICLOUD_SDK_SK": "my-secret",
        "HUAWEICLOUD_SDK_PROJECT_ID": "0123456789abcdef0123456789abcdef",
    }
    config = EmulatorConfig.from_env(environ)
    assert (config.access_key, config.secret_key, config.project_id) == (
        "MYAK",
        "my-secret",
        "0123456789abcdef0123456789abcdef",
    )
    defaults = EmulatorConfig.from_env({})
    assert (defaults.access_key, defaults.secret_key) == (DEMO_ACCESS_KEY, DEMO_SECRET_KEY)
    assert "my-secret" not in repr(config)
    with pytest.raises(TypeError):
        EmulatorConfig.from_env({}, no_such_field=1)


def test_secrets_never_reach_the_log_or_the_request_record(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with signed_client(emulator.base_url, emulator.access_key, emulator.secret_key) as good:
        good.get(_statics_path(emulator))
    with signed_client(emulator.base_url, emulator.access_key, "wrong-secret-value") as bad:
        bad.get(_statics_path(emulator))
    httpx2.get(emulator.base_url + _statics_path(emulator), headers={"X-Auth-Token": "token-value-xyz"})
    assert caplog.records, "the emulator logs each request"
    for secret in (emulator.secret_key, "wrong-secret-value", "token-value-xyz", "Signature="):
        assert secret not in caplog.text
    for record in emulator.requests:
        assert not {"authorization", "x-auth-token", "x-security-token"} & set(record.headers)
