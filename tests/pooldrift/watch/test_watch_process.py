"""``pooldrift watch`` as an operator runs it: a subprocess on a fraction-of-a-second interval
against the emulator and the fake Slack, stopped by signals; restarted on the same state file;
``--once``, ``pooldrift history`` and the "drifting since" of ``pooldrift check``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pooldrift.emulator import EmulatorServer
from pooldrift.watch.store import SCHEMA_VERSION
from tests.helpers import free_port, process_env, start_process, stop_process
from tests.pooldrift.watch.conftest import CHANNEL
from tests.pooldrift.watch.slack_web import TOKEN, Posted, SlackWebApi

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")
INTERVAL = "0.3"


@pytest.fixture
def env(emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path) -> dict[str, str]:
    return process_env(
        emulator,
        POOLDRIFT_WATCH_INTERVAL=INTERVAL,
        POOLDRIFT_WATCH_CHANNEL=CHANNEL,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_API_URL=slack.api_url,
        POOLDRIFT_STATE=str(tmp_path / "state.db"),
        POOLDRIFT_DEADLINE="10",
    )


class Running:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc, _, self.err, _ = start_process([POOLDRIFT, "watch", *args], env, wait_for=None)

    def cycles(self, count: int = 1) -> None:
        """Until ``count`` more cycles have ended."""
        for _ in range(count):
            self.err.wait_for(r"INFO pooldrift\.watch: cycle: ", timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(15)


@pytest.fixture
def running(env: dict[str, str]) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for watch in started:
        stop_process(watch.proc)


def alerts(slack: SlackWebApi, pool_id: str) -> list[Posted]:
    return [m for m in slack.top() if (m.metadata or {}).get("event_payload", {}).get("pool_id") == pool_id]


async def test_the_watch_alerts_once_updates_resolves_and_stops_cleanly(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, running: list[Running]
) -> None:
    pool = emulator.data.pool_named("finance-win11")
    watch = Running(env)
    running.append(watch)
    watch.err.wait_for(r"watching project .* every 0\.3 s; state in .*state\.db; alerts to C0WATCH01")
    watch.cycles(1)
    told = len(slack.top())
    assert told == sum(1 for p in emulator.data.pools if any(emulator.data.statics(p.id).values()))

    emulator.data.set_drift(pool.id, "image_id", 4)
    await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="the alert")
    calls = len(slack.chat_calls())
    watch.cycles(4)
    assert len(slack.chat_calls()) == calls, "unchanged cycles post nothing"
    (message,) = alerts(slack, pool.id)

    emulator.data.set_drift(pool.id, "disk_num", 2)
    await slack.wait_for(lambda: len(slack.thread(message.ts)) == 1, why="the thread reply")
    emulator.data.set_drift(pool.id, "image_id", 0)
    emulator.data.set_drift(pool.id, "disk_num", 0)
    await slack.wait_for(lambda: "resolved after" in message.text, why="resolved")
    watch.cycles(2)
    assert len(slack.top()) == told + 1 and len(slack.thread(message.ts)) == 2
    assert slack.thread(message.ts)[-1].text.startswith("✅ Resolved after")
    assert watch.stop(signal.SIGTERM) == 0
    assert "stopped" in watch.err.text(1.0) and TOKEN not in watch.err.text()


async def test_a_restarted_watch_repeats_nothing_and_reports_what_changed_while_it_was_down(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, running: list[Running]
) -> None:
    pool = emulator.data.pool_named("hr-win10")  # 6 drifted by package in the demo data
    first = Running(env)
    running.append(first)
    first.cycles(2)
    (message,) = alerts(slack, pool.id)
    told = len(slack.top())
    assert first.stop(signal.SIGINT) == 0, "Ctrl-C stops cleanly"

    emulator.data.set_drift(pool.id, "product_id", 11)  # while nothing watches
    second = Running(env)
    running.append(second)
    await slack.wait_for(lambda: len(slack.thread(message.ts)) == 1, why="the change made while down")
    second.cycles(3)
    assert len(slack.top()) == told, "no alert repeated"
    (reply,) = slack.thread(message.ts)
    assert reply.text == "⬆️ Worse: package 6 → 11; at least 11 desktops drift (was 6)."
    assert second.stop() == 0


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POOLDRIFT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_once_history_and_since_when_in_check(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path
) -> None:
    pool = emulator.data.pool_named("analytics-win11")
    before = run(env, "check", pool.id)
    assert before.returncode == 0 and "Drifting since" not in before.stdout
    assert not (tmp_path / "state.db").exists(), "a check creates no state"

    done = run(env, "watch", "--once")
    assert done.returncode == 0, done.stderr
    assert "cycle: 12 pools (9 drifted, 0 failed), 9 events, 9 alerts queued" in done.stderr
    assert len(alerts(slack, pool.id)) == 1
    again = run(env, "watch", "--once")
    assert "0 events" in again.stderr and len(slack.top()) == 9

    checked = run(env, "check", pool.id)
    assert "Drifting since" in checked.stdout and "as the watch saw it" in checked.stdout
    as_json = json.loads(run(env, "check", "analytics-win11", "--json").stdout)
    assert as_json["drifting_since"] and as_json["disk_size"] == 4
    consistent = json.loads(run(env, "check", "finance-win11", "--json").stdout)
    assert "drifting_since" not in consistent

    emulator.data.set_drift(pool.id, "disk_size", 9)
    assert run(env, "watch", "--once").returncode == 0
    shown = run(env, "history", "analytics-win11")
    assert shown.returncode == 0, shown.stderr
    assert f"Pool      analytics-win11 ({pool.id})" in shown.stdout
    assert "Trend     0 → 4 → 9 since" in shown.stdout and "worse" in shown.stdout
    data = json.loads(run(env, "history", pool.id, "--json", "--days", "1").stdout)
    assert [c["kind"] for c in data["changes"]] == ["drifted", "worse"] and data["drifting_since"]
    assert data["pool_name"] == "analytics-win11" and data["trend"].startswith("0 → 4 → 9")

    unknown = run(env, "history", "no-such-pool")
    assert unknown.returncode == 1 and "no pool named 'no-such-pool'" in unknown.stderr
    nothing = run({**env, "POOLDRIFT_STATE": str(tmp_path / "none.db")}, "history", pool.id)
    assert nothing.returncode == 1 and "no watch state" in nothing.stderr
    assert not (tmp_path / "none.db").exists()


def test_history_of_a_pool_without_changes_prints_lines_not_an_escaped_newline(
    env: dict[str, str], emulator: EmulatorServer
) -> None:
    assert run(env, "watch", "--once").returncode == 0
    shown = run(env, "history", "finance-win11")
    assert shown.returncode == 0, shown.stderr
    assert "\\n" not in shown.stdout
    assert "\n\nNo changes in the last 30 days." in shown.stdout


def test_metrics_port_0_logs_the_port_it_bound(env: dict[str, str], running: list[Running]) -> None:
    watch = Running(env, "--metrics-port", "0")
    running.append(watch)
    found = watch.err.wait_for(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", timeout=30)
    port = int(found.group(1))
    assert port != 0
    assert "pooldrift_" in httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("POOLDRIFT_WATCH_INTERVAL", "soon", "POOLDRIFT_WATCH_INTERVAL: Value error, not a duration: 'soon'"),
        ("POOLDRIFT_WATCH_INTERVAL", "", "POOLDRIFT_WATCH_INTERVAL is not set, so the watch is off"),
        (
            "POOLDRIFT_WATCH_CHANNEL",
            "#drift",
            "POOLDRIFT_WATCH_CHANNEL: Value error, expected a Slack channel id",
        ),
        ("POOLDRIFT_HISTORY_DAYS", "-3", "POOLDRIFT_HISTORY_DAYS"),
    ],
)
def test_a_bad_setting_is_one_line_at_start(env: dict[str, str], name: str, value: str, said: str) -> None:
    done = run({**env, name: value}, "watch")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and said in done.stderr and done.stderr.startswith("pooldrift: ")


def test_metrics_of_the_watching_process_equal_the_emulators_counts(
    env: dict[str, str], emulator: EmulatorServer, running: list[Running]
) -> None:
    port = free_port()
    watch = Running(env, "--metrics-port", str(port))
    running.append(watch)
    watch.cycles(1)
    text = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }

    def value(name: str, pool: Any, **extra: str) -> float | None:
        labels = {"pool_id": pool.id, "pool_name": pool.name, "project_id": emulator.project_id}
        return samples.get((name, tuple(sorted({**labels, "region": "cn-north-4", **extra}.items()))))

    for pool in emulator.data.pools:
        for kind, count in emulator.data.statics(pool.id).items():
            assert value("pooldrift_pool_drifted_desktops", pool, kind=kind) == count
        assert value("pooldrift_pool_desktops", pool) == len(emulator.data.desktops_of(pool.id))
        assert value("pooldrift_pool_scan_failures", pool) == 0
    assert samples[("pooldrift_watch_leader", ())] == 1
    assert samples[("pooldrift_watch_cycles_total", (("outcome", "ok"),))] >= 1


def test_once_without_slack_still_watches(env: dict[str, str], slack: SlackWebApi) -> None:
    """No channel set: the state and history are kept, nothing is posted."""
    done = run({**env, "POOLDRIFT_WATCH_CHANNEL": "", "SLACK_BOT_TOKEN": ""}, "watch", "--once")
    assert done.returncode == 0 and "no Slack alerts" in done.stderr and "9 events" in done.stderr
    assert slack.chat_calls() == []


async def test_a_post_slack_took_just_before_a_crash_is_not_posted_again(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, running: list[Running]
) -> None:
    """SIGKILL while Slack holds its answer to a post it already made: the next watch finds the
    post by the delivery key in its metadata (conversations.history / .replies) instead of
    posting again — the message, then a thread reply."""
    pool = emulator.data.pool_named("finance-win11")
    first = Running(env)
    running.append(first)
    first.cycles(1)
    told = len(slack.top())

    slack.hold_next(60)
    emulator.data.set_drift(pool.id, "image_id", 3)
    await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="Slack took the post")
    first.proc.kill()
    assert first.proc.wait(10) == -signal.SIGKILL

    second = Running(env)
    running.append(second)
    second.cycles(2)
    assert len(slack.top()) == told + 1, "not posted again"
    assert "conversations.history" in [c.method for c in slack.calls]
    (message,) = alerts(slack, pool.id)

    slack.hold_next(60, after=1)  # the update goes through; the reply is taken, its answer held
    emulator.data.set_drift(pool.id, "image_id", 6)
    await slack.wait_for(lambda: len(slack.thread(message.ts)) == 1, why="Slack took the reply")
    second.proc.kill()
    second.proc.wait(10)

    third = Running(env)
    running.append(third)
    third.cycles(2)
    assert "conversations.replies" in [c.method for c in slack.calls]
    (reply,) = slack.thread(message.ts)
    assert reply.text == "⬆️ Worse: image 3 → 6; at least 6 desktops drift (was 3)."
    emulator.data.set_drift(pool.id, "image_id", 0)
    await slack.wait_for(lambda: len(slack.thread(message.ts)) == 2, why="then the episode goes on")
    assert len(slack.top()) == told + 1
    assert third.stop() == 0


async def test_without_the_history_scope_an_unsure_post_is_made_again_and_said(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, running: list[Running]
) -> None:
    """The documented limit: with chat:write alone Slack cannot say whether it took the post, so
    the alert is posted again (late rather than lost) and the log says why, once."""
    pool = emulator.data.pool_named("finance-win11")
    slack.history_scope = False
    first = Running(env)
    running.append(first)
    first.cycles(1)
    slack.hold_next(60)
    emulator.data.set_drift(pool.id, "image_id", 3)
    await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 1, why="Slack took the post")
    first.proc.kill()
    first.proc.wait(10)
    second = Running(env)
    running.append(second)
    await slack.wait_for(lambda: len(alerts(slack, pool.id)) == 2, why="posted again")
    second.cycles(2)
    assert second.err.text().count("it needs channels:history") == 1
    assert len(alerts(slack, pool.id)) == 2


# -- a state file the watch cannot keep: one line naming the cause, exit 1, nothing sent ----------

#: root writes through any mode bits: drop the capability that lets it, so 0444 means read-only
AS_WRITER = (
    ["setpriv", "--bounding-set=-dac_override", "--inh-caps=-dac_override"]
    if os.geteuid() == 0 and shutil.which("setpriv")
    else []
)
needs_mode_bits = pytest.mark.skipif(
    os.geteuid() == 0 and not AS_WRITER, reason="root without setpriv writes through a read-only mode"
)


def refused(env: dict[str, str], slack: SlackWebApi, said: str) -> None:
    """``pooldrift watch --once`` ends at start with exactly ``pooldrift: …said…`` and exit 1."""
    before = len(slack.chat_calls())
    done = subprocess.run(
        [*AS_WRITER, POOLDRIFT, "watch", "--once"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "lease" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("pooldrift: "), done.stderr
    assert said in done.stderr, done.stderr
    assert len(slack.chat_calls()) == before, "nothing sent to Slack"


def test_a_state_path_inside_a_regular_file_is_one_line_naming_it(
    env: dict[str, str], slack: SlackWebApi, tmp_path: Path
) -> None:
    (tmp_path / "plain").write_text("not a folder\n")
    state = tmp_path / "plain" / "state.db"
    refused(
        {**env, "POOLDRIFT_STATE": str(state)},
        slack,
        f"cannot create the state file '{state}': '{tmp_path / 'plain'}' is a file, not a folder",
    )


@needs_mode_bits
@pytest.mark.parametrize("made_read_only", ["file", "folder"])
def test_a_read_only_state_is_said_rather_than_taken_for_a_held_lease(
    env: dict[str, str], slack: SlackWebApi, tmp_path: Path, made_read_only: str
) -> None:
    folder = tmp_path / "state"
    state = folder / "state.db"
    env = {**env, "POOLDRIFT_STATE": str(state)}
    assert run(env, "watch", "--once").returncode == 0
    target, said = (
        (state, f"the state file '{state}' is read-only")
        if made_read_only == "file"
        else (folder, f"the folder of the state file '{state}' is read-only")
    )
    mode = target.stat().st_mode
    target.chmod(0o555 if made_read_only == "folder" else 0o444)
    try:
        refused(env, slack, said)
    finally:
        target.chmod(mode)


@pytest.mark.parametrize(
    ("script", "said"),
    [
        # another application's file: our tables are never added to it
        ("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)", "is not a pooldrift state file"),
        # another application that also numbers its layout 1
        (
            "CREATE TABLE notes (id INTEGER PRIMARY KEY); PRAGMA user_version = 1",
            "is not a pooldrift state file (another application's, or another layout): its tables are notes",
        ),
        (
            "PRAGMA user_version = 7",
            f"was written by a newer pooldrift (layout 7; this one knows {SCHEMA_VERSION})",
        ),
    ],
)
def test_a_sqlite_file_of_another_schema_is_refused_in_one_line(
    env: dict[str, str], slack: SlackWebApi, tmp_path: Path, script: str, said: str
) -> None:
    state = tmp_path / "other.db"
    with closing(sqlite3.connect(state)) as conn:
        conn.executescript(script)
    refused({**env, "POOLDRIFT_STATE": str(state)}, slack, said)
    with closing(sqlite3.connect(state)) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "subjects" not in tables, "nothing added to another application's file"


@pytest.mark.parametrize(
    ("update", "said"),
    [
        (
            "UPDATE subjects SET body = '{not json' WHERE key = :pool",
            "a corrupt row in subjects (key '{pool}')",
        ),
        (
            "UPDATE subjects SET body = 42 WHERE key = :pool",
            "in subjects (key '{pool}'): Input should be an object",
        ),
        ("INSERT INTO mutes (pool_id, until) VALUES (:pool, 'tomorrow')", "in mutes (pool_id '{pool}')"),
    ],
)
def test_a_corrupt_row_in_the_state_is_one_line_naming_its_table_and_pool(
    env: dict[str, str], emulator: EmulatorServer, slack: SlackWebApi, tmp_path: Path, update: str, said: str
) -> None:
    assert run(env, "watch", "--once").returncode == 0
    pool = emulator.data.pool_named("analytics-win11").id
    with closing(sqlite3.connect(tmp_path / "state.db")) as conn, conn:
        assert conn.execute(update, {"pool": pool}).rowcount == 1
    emulator.data.set_drift(pool, "disk_size", 9)  # a change that would be posted
    refused(env, slack, said.format(pool=pool))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("1ms", "--interval: an interval must be at least 10 s, not 0.001 s"),
        ("0.000001", "--interval: an interval must be at least 10 s"),
        ("1" + "0" * 20, "--interval: an interval must be at most 1d (86400 s)"),
        ("9" * 400, "--interval: an interval must be at most 1d (86400 s), not too long to count"),
        ("1e400", "--interval: not a duration: '1e400'"),
        ("inf", "--interval: not a duration: 'inf'"),
        ("nan", "--interval: not a duration: 'nan'"),
    ],
)
def test_an_interval_outside_10s_to_1d_is_a_usage_error_before_any_call(
    env: dict[str, str], emulator: EmulatorServer, tmp_path: Path, value: str, said: str
) -> None:
    del env["POOLDRIFT_TEST_INTERVAL_FLOOR"]
    emulator.requests.clear()
    done = run(env, "watch", "--interval", value)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and said in done.stderr and "from 10s to 1d" in done.stderr
    assert not emulator.requests and not (tmp_path / "state.db").exists()


@pytest.mark.parametrize("value", ["0.001", "1e20"])
def test_the_variable_is_held_to_the_same_bounds(
    env: dict[str, str], emulator: EmulatorServer, value: str
) -> None:
    del env["POOLDRIFT_TEST_INTERVAL_FLOOR"]
    emulator.requests.clear()
    done = run({**env, "POOLDRIFT_WATCH_INTERVAL": value}, "watch")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "POOLDRIFT_WATCH_INTERVAL" in done.stderr and "from 10s to 1d" in done.stderr
    assert not emulator.requests


@pytest.mark.parametrize("value", ["10s", "1d"])
def test_the_bounds_are_accepted_by_the_watch(
    env: dict[str, str], value: str, running: list[Running]
) -> None:
    del env["POOLDRIFT_TEST_INTERVAL_FLOOR"]
    watch = Running(env, "--interval", value)
    running.append(watch)
    seconds = {"10s": "10", "1d": "86400"}[value]
    watch.err.wait_for(rf"every {seconds} s", timeout=30)
    watch.cycles(1)  # the first cycle runs at once, the lease taken with the TTL of that interval
    assert watch.stop() == 0
