"""The watch's Slack Web API calls against the fake: each encoded as Slack documents its method
(writes as JSON with a bearer token, reads as query parameters), what is "try later" (429 with
Retry-After, 5xx, no answer, nobody listening) and what is "refused" (``ok: false``), and the
token sent as a bearer header only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from pydantic import SecretStr

from pooldrift.emulator import EmulatorServer
from pooldrift.watch.slack import SlackRefusedError, SlackRetryLaterError, SlackWeb
from tests.helpers import free_port, process_env
from tests.pooldrift.watch.conftest import CHANNEL
from tests.pooldrift.watch.slack_web import TOKEN, SlackWebApi


async def test_post_update_and_reply(slack: SlackWebApi) -> None:
    async with SlackWeb(SecretStr(TOKEN), slack.api_url.rstrip("/")) as web:
        ts = await web.post(
            "C0WATCH01",
            "hello",
            [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}],
            metadata={"event_type": "x"},
        )
        await web.update("C0WATCH01", ts, "hello again", [])
        reply = await web.post("C0WATCH01", "in the thread", [], thread_ts=ts)
    (top,) = slack.top()
    assert (top.ts, top.text, top.edits, top.metadata) == (ts, "hello again", ["hello"], {"event_type": "x"})
    assert [m.ts for m in slack.thread(ts)] == [reply]
    assert {c.headers["Authorization"] for c in slack.chat_calls()} == {f"Bearer {TOKEN}"}
    assert all(TOKEN not in repr(c.args) for c in slack.chat_calls())


async def test_what_slack_answers_sorted_into_later_and_refused(slack: SlackWebApi) -> None:
    async with SlackWeb(SecretStr(TOKEN), slack.api_url) as web:
        slack.fail_next(1, status=429, retry_after=7)
        with pytest.raises(SlackRetryLaterError) as later:
            await web.post("C0WATCH01", "x", [])
        assert (later.value.reason, later.value.retry_after) == ("ratelimited", 7.0)
        slack.fail_next(1, status=503)
        with pytest.raises(SlackRetryLaterError, match="http_503"):
            await web.post("C0WATCH01", "x", [])
        slack.refuse_next(1, "not_in_channel")
        with pytest.raises(SlackRefusedError) as refused:
            await web.post("C0WATCH01", "x", [])
        assert refused.value.error == "not_in_channel"
        with pytest.raises(SlackRefusedError, match="message_not_found"):
            await web.update("C0WATCH01", "1.000000", "x", [])
    async with SlackWeb(SecretStr("xoxb-wrong"), slack.api_url) as web:
        with pytest.raises(SlackRefusedError, match="invalid_auth") as info:
            await web.post("C0WATCH01", "x", [])
        assert "xoxb-wrong" not in str(info.value)
    assert slack.top() == []


async def test_nobody_listening_is_try_later() -> None:
    async with SlackWeb(SecretStr(TOKEN), f"http://127.0.0.1:{free_port()}/api/", timeout=2) as web:
        with pytest.raises(SlackRetryLaterError, match="unreachable"):
            await web.post("C0WATCH01", "x", [])


async def test_each_call_is_encoded_as_slack_documents_its_method(slack: SlackWebApi) -> None:
    """chat.postMessage and chat.update: a JSON POST, the token in the bearer header only.
    conversations.history and .replies (read methods, which ignore a JSON body): a GET with
    every argument in the query string, the token in the header, no body."""
    metadata = {"event_type": "pooldrift_watch_alert", "event_payload": {"delivery": "d-1"}}
    async with SlackWeb(SecretStr(TOKEN), slack.api_url) as web:
        ts = await web.post("C0WATCH01", "hello", [{"type": "divider"}], metadata=metadata)
        await web.update("C0WATCH01", ts, "hello again", [])
        reply = await web.post("C0WATCH01", "reply", [], thread_ts=ts, metadata=metadata)
        assert await web.find("C0WATCH01", "d-1", oldest=1.5) == ts
        assert await web.find("C0WATCH01", "d-1", oldest=0, thread_ts=ts) in (ts, reply)
        assert await web.find("C0WATCH01", "d-2", oldest=0) is None

    first, threaded = slack.calls_of("chat.postMessage")
    (update,) = slack.calls_of("chat.update")
    for call in (first, threaded, update):
        assert (call.verb, call.content_type, call.token_in) == ("POST", "application/json", "header")
        assert call.query == {} and call.form == {} and call.json is not None
        assert "token" not in call.json and TOKEN not in json.dumps(call.json)
    assert first.json == {
        "channel": "C0WATCH01",
        "text": "hello",
        "blocks": [{"type": "divider"}],
        "unfurl_links": False,
        "metadata": metadata,
    }
    assert threaded.json is not None and threaded.json["thread_ts"] == ts
    assert update.json == {"channel": "C0WATCH01", "ts": ts, "text": "hello again", "blocks": []}

    history = slack.calls_of("conversations.history")
    (replies,) = slack.calls_of("conversations.replies")
    for call in (*history, replies):
        assert (call.verb, call.token_in, call.form, call.json) == ("GET", "header", {}, None)
        assert call.query["channel"] == "C0WATCH01" and "token" not in call.query
        assert call.query["include_all_metadata"] in ("1", "true") and call.query["limit"] == "200"
    assert history[0].query["oldest"] == "1.500000"
    assert replies.query["ts"] == ts


async def test_the_fake_ignores_a_json_body_on_a_read_method_as_slack_does(slack: SlackWebApi) -> None:
    """What made reconciliation fail on real Slack: the arguments of a read method sent as JSON
    are not read, so its required ones are missing."""
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(base_url=slack.api_url, timeout=5) as http:
        as_json = await http.post(
            "conversations.history", json={"channel": "C0WATCH01", "limit": 200}, headers=bearer
        )
        as_form = await http.post("conversations.history", data={"channel": "C0WATCH01"}, headers=bearer)
        token_as_form = await http.post("auth.test", data={"token": TOKEN})
        token_in_json = await http.post("chat.postMessage", json={"token": TOKEN, "channel": "C0WATCH01"})
    assert as_json.json()["error"] == "invalid_arguments"
    assert as_form.json()["ok"] is True
    assert token_as_form.json()["ok"] is True
    assert token_in_json.json() == {"ok": False, "error": "not_authed"}


async def test_a_post_without_an_answer_is_sent_once_and_said_to_be_unanswered(slack: SlackWebApi) -> None:
    """slack_sdk's own retry on a dropped connection is off: a post Slack may have taken is not
    sent again behind the outbox's back (the outbox looks for it first)."""
    async with SlackWeb(SecretStr(TOKEN), slack.api_url) as web:
        slack.drop_next(1)
        with pytest.raises(SlackRetryLaterError) as dropped:
            await web.post("C0WATCH01", "x", [])
        slack.hold_next(5)
        with pytest.raises(SlackRetryLaterError, match="timeout"):
            async with SlackWeb(SecretStr(TOKEN), slack.api_url, timeout=0.5) as impatient:
                await impatient.post("C0WATCH01", "y", [])
    assert dropped.value.reason.startswith("unreachable")
    assert len(slack.calls_of("chat.postMessage")) == 2 and len(slack.top()) == 2


def test_alerts_without_slack_sdk_installed_are_one_line_and_nothing_is_sent(
    emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path
) -> None:
    """``pooldrift watch`` with a bot token where the ``watch`` extra is missing: the line says
    what to install, no traceback, no request to Slack or the API."""
    hidden = tmp_path / "hidden"
    (hidden / "slack_sdk").mkdir(parents=True)
    (hidden / "slack_sdk" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = process_env(
        emulator,
        PYTHONPATH=str(hidden),
        POOLDRIFT_WATCH_CHANNEL=CHANNEL,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        POOLDRIFT_STATE=str(tmp_path / "state.db"),
    )
    pooldrift = str(Path(sys.executable).parent / "pooldrift")
    done = subprocess.run(
        [pooldrift, "watch", "--once"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert "install pooldrift[watch]" in lines[-1] and "Traceback" not in done.stderr, done.stderr
    assert TOKEN not in done.stderr
    assert slack.calls == [] and emulator.requests.count("desktop-pools") == 0
    assert not (tmp_path / "state.db").exists(), "no state file is made for a watch that cannot run"
