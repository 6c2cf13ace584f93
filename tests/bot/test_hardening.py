"""``/slack/events`` of a real ``pooldrift-server`` against hostile or malformed input: a body
counted as it streams, 4xx (never 500) for what Bolt cannot parse, and no body or response URL
in the log at DEBUG.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode

import httpx2
import pytest
from pooldrift_slack.app import UNHANDLED

from pooldrift.emulator import EmulatorServer
from tests.bot.fake_slack import FakeSlack
from tests.bot.harness import SlackSender, action_body, command_body, signed_headers
from tests.bot.processes import Running, post_chunked, server, slack_env


@pytest.fixture(scope="module")
def bot_server(emulator_server: EmulatorServer, fake_slack_server: FakeSlack) -> Iterator[Running]:
    with server(slack_env(emulator_server, fake_slack_server)) as running:
        yield running


async def test_a_chunked_body_past_the_limit_is_refused_as_it_streams(
    bot_server: Running, emulator: EmulatorServer
) -> None:
    status, sent = await post_chunked(bot_server.url, "/slack/events", total=16 << 20)
    assert status == 413
    assert sent < 16 << 20, "the answer came only after the whole body was sent"
    # the server still serves
    async with httpx2.AsyncClient() as http:
        assert (await http.get(f"{bot_server.url}/healthz")).status_code == 200
    assert len(emulator.requests) == 0


async def test_a_chunked_body_within_the_limit_is_verified(bot_server: Running) -> None:
    status, _ = await post_chunked(bot_server.url, "/slack/events", total=256 << 10)
    assert status == 401  # read in full, then refused for its missing signature


def _payload(value: str) -> str:
    return urlencode({"payload": value})


def _click_without_actions(response_url: str) -> str:
    payload = json.loads(dict(parse_qsl(action_body("x", "y", response_url)))["payload"])
    payload["actions"] = []
    return _payload(json.dumps(payload))


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("unsigned payload that is not JSON", 401),
        ("unsigned payload that is a JSON array", 401),
        ("non-numeric timestamp", 401),
        ("signed payload that is not JSON", 400),
        ("signed payload that is a JSON array", 400),
        ("signed JSON body that is an array", 400),
        ("signed click with no actions", 400),
        ("signed click whose action is not an object", 400),
        ("signed body that is not UTF-8", 400),
    ],
)
async def test_malformed_input_gets_4xx_not_500(
    bot_server: Running,
    slack: FakeSlack,
    emulator: EmulatorServer,
    http: httpx2.AsyncClient,
    name: str,
    status: int,
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body: str | bytes
    headers: dict[str, str]
    if name == "unsigned payload that is not JSON":
        body, headers = _payload("{not json"), form
    elif name == "unsigned payload that is a JSON array":
        body, headers = _payload("[1, 2]"), form
    elif name == "non-numeric timestamp":
        body = command_body("sales-win11", slack.response_url("k"))
        headers = signed_headers(body) | {"X-Slack-Request-Timestamp": "soon"}
    elif name == "signed payload that is not JSON":
        body = _payload("{not json")
        headers = signed_headers(body)
    elif name == "signed payload that is a JSON array":
        body = _payload("[1, 2]")
        headers = signed_headers(body)
    elif name == "signed JSON body that is an array":
        body = "[1, 2]"
        headers = signed_headers(body) | {"Content-Type": "application/json"}
    elif name == "signed click with no actions":
        body = _click_without_actions(slack.response_url("k"))
        headers = signed_headers(body)
    elif name == "signed click whose action is not an object":
        body = _click_without_actions(slack.response_url("k")).replace("%5B%5D", "%5B1%5D")
        headers = signed_headers(body)
    else:
        text = command_body("sales-win11", slack.response_url("k"))
        body = text.encode() + b"&x=%ff\xff"
        headers = signed_headers(body.decode("latin-1"))
    response = await http.post(f"{bot_server.url}/slack/events", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    # refused before Bolt saw it: no listener ran, so nothing can follow the answer
    assert len(emulator.requests) == 0 and slack.posts == []


async def test_nothing_of_a_request_reaches_the_log_at_debug(
    emulator: EmulatorServer, slack: FakeSlack, http: httpx2.AsyncClient
) -> None:
    rejected_url = slack.response_url("rejected-9f3c1e")
    accepted_url = slack.response_url("accepted-52ab7d")
    marker = "body-marker-6d0e2a"
    with server(slack_env(emulator, slack, POOLDRIFT_LOG_LEVEL="DEBUG")) as running:
        bot = SlackSender(running.url, http)
        # a real request rejected during a secret rotation, a forged one, a stale one
        rejected = command_body(marker, rejected_url)
        assert (await bot.send(rejected, secret="the-old-signing-secret")).status_code == 401
        assert (await bot.send(rejected, timestamp=int(time.time()) - 3600)).status_code == 401
        unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
        response = await http.post(f"{running.url}/slack/events", content=rejected, headers=unsigned)
        assert response.status_code == 401
        # and requests that are answered, with a click and an answer Slack refuses
        assert (await bot.send(command_body("sales-win11", accepted_url))).status_code == 200
        pool_id = emulator.data.pool_named("sales-win11").id
        assert (
            await bot.send(action_body("pooldrift_show_drifted", pool_id, accepted_url))
        ).status_code == 200
        await slack.wait_posts("accepted-52ab7d", 2)
        slack.respond_status = 404
        assert (await bot.send(command_body("nope-pool", accepted_url))).status_code == 200
        await slack.wait_posts("accepted-52ab7d", 3)
        assert running.terminate() in (0, -15)
        logged = running.output()
    assert "DEBUG" in logged, "the server did not log at DEBUG"
    assert "pooldrift.audit" in logged
    for secret_thing in ("rejected-9f3c1e", "accepted-52ab7d", "/respond/", marker, "response_url"):
        assert secret_thing not in logged, f"{secret_thing!r} was logged"


_CLICK = {"type": "block_actions", "user": {"id": "U0USER001"}, "team": {"id": "T0TEAM001"}}
_HOSTILE_TYPES = {
    "view_submission with a null view": {"type": "view_submission", "view": None},
    "view_submission with a string view": {"type": "view_submission", "view": "v"},
    "view_submission with a number view": {"type": "view_submission", "view": 7},
    "view_submission with a list view": {"type": "view_submission", "view": [1]},
    "view_closed": {"type": "view_closed", "view": {"id": "V1", "callback_id": "x"}},
    "workflow_step_edit": {"type": "workflow_step_edit", "callback_id": "x", "trigger_id": "t"},
    "block_suggestion": {"type": "block_suggestion", "action_id": "x", "value": "a"},
    "shortcut": {"type": "shortcut", "callback_id": "x", "trigger_id": "t"},
    "message_action": {"type": "message_action", "callback_id": "x", "trigger_id": "t"},
    "an unknown type": {"type": "no_such_type"},
    "a type that is not a string": {"type": ["block_actions"]},
    # found by probing: Bolt's own matchers and middleware index these unchecked
    "event_callback with a null event": {"type": "event_callback", "event": None, "team_id": "T1"},
    "event_callback with a string event": {"type": "event_callback", "event": "x", "team_id": "T1"},
    "view_submission with a list callback_id": {"type": "view_submission", "view": {"callback_id": ["x"]}},
    "view_submission with a numeric user id": {
        "type": "view_submission",
        "view": {"callback_id": "x", "id": "V", "state": "s"},
        "user": {"id": 3},
        "team": None,
    },
    "block_suggestion with a list action_id": {"type": "block_suggestion", "action_id": ["x"], "value": "a"},
    "dialog_submission with a list callback_id": {"type": "dialog_submission", "callback_id": ["x"]},
    "block_actions with null actions": _CLICK | {"actions": None},
    "block_actions with actions not a list": _CLICK | {"actions": {"action_id": "x"}},
}


@pytest.mark.parametrize("name", list(_HOSTILE_TYPES))
async def test_a_signed_payload_of_any_type_is_answered_without_a_500(
    bot_server: Running, slack: FakeSlack, emulator: EmulatorServer, http: httpx2.AsyncClient, name: str
) -> None:
    body = _payload(json.dumps(_HOSTILE_TYPES[name]))
    response = await http.post(f"{bot_server.url}/slack/events", content=body, headers=signed_headers(body))
    assert 200 <= response.status_code < 500, (response.status_code, response.text)
    assert "Traceback" not in response.text
    assert len(emulator.requests) == 0 and slack.posts == []
    async with httpx2.AsyncClient() as again:  # the server still serves
        assert (await again.get(f"{bot_server.url}/healthz")).status_code == 200


async def test_a_payload_bolt_cannot_handle_is_one_log_line_without_the_payload(
    emulator: EmulatorServer, slack: FakeSlack, http: httpx2.AsyncClient
) -> None:
    marker = slack.response_url("hostile-4b1d9e")
    hostile = [
        {"type": "event_callback", "event": None, "response_url": marker},
        {"type": "view_submission", "view": {"callback_id": [marker]}},
        {"type": "dialog_submission", "callback_id": [marker]},
    ]
    with server(slack_env(emulator, slack)) as running:
        for payload in hostile:
            body = _payload(json.dumps(payload))
            response = await http.post(
                f"{running.url}/slack/events", content=body, headers=signed_headers(body)
            )
            assert response.status_code == 400, response.text
            assert response.text == UNHANDLED
        assert running.terminate() in (0, -15)
        logged = running.output()
    refused = [line for line in logged.splitlines() if "Bolt could not handle" in line]
    assert len(refused) == len(hostile), logged
    assert "event_callback" in refused[0] and "view_submission" in refused[1]
    assert "Traceback" not in logged
    assert "hostile-4b1d9e" not in logged and "/respond/" not in logged
    assert len(emulator.requests) == 0 and slack.posts == []


async def test_a_signed_request_no_listener_handles_is_a_404_and_nothing_else_happens(
    bot_server: Running, slack: FakeSlack, emulator: EmulatorServer, http: httpx2.AsyncClient
) -> None:
    body = command_body("pools", slack.response_url("other")).replace("%2Fpooldrift", "%2Fsomething-else")
    assert "something-else" in body
    response = await http.post(f"{bot_server.url}/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 404, (response.status_code, response.text)
    assert len(emulator.requests) == 0 and slack.posts == []
