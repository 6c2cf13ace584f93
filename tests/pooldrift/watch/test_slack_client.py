"""The watch's two Slack Web API calls against the fake: what is "try later" (429 with
Retry-After, 5xx, nobody listening) and what is "refused" (``ok: false``), and the token sent
as a bearer header only."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pooldrift.watch.slack import SlackRefusedError, SlackRetryLaterError, SlackWeb
from tests.helpers import free_port
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
