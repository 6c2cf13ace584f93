"""Slack hardening benchmark (issue 9): one hostile request, and answers across a rolling restart.

1. A 128 MiB unsigned chunked body (no Content-Length) sent whole to ``/slack/events`` of
   ``pooldrift-server``: the server's RSS growth (sampled every 5 ms) and the bytes it logged,
   at the default level and at DEBUG. Targets: under 10 MiB, under 4 KiB.
2. Rolling restart: 200 slash commands whose answers wait on a slow upstream (the emulator at
   3 s per call), then SIGTERM: answers delivered against commands accepted, the exit status
   and how long the stop took — over HTTP (the stand-alone app, served as a bot-only
   deployment does, and ``pooldrift-server``) and over Socket Mode (``pooldrift-slack --socket``).
Every party is its own process on loopback. Prints tables; exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx2
from _common import announced, clean_env, load_average, section, table, verdict
from bench_slack import BOT_TOKEN, SIGNING_SECRET, commands

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BODY_MIB = 128
CHUNK = 64 << 10
RSS_TARGET_MIB = 10.0
LOG_TARGET_BYTES = 4 << 10
COMMANDS = 200
CONNECTIONS = 50
UPSTREAM_LATENCY_S = 3.0
APP_TOKEN = "xapp-bench-app-token"
ANSWER_WAIT_S = 90.0


@dataclass
class Proc:
    proc: subprocess.Popen[str]
    url: str
    log: Path

    def log_size(self) -> int:
        return self.log.stat().st_size

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        return int(found.group(1)) if found else 0


@contextlib.contextmanager
def spawn(argv: Sequence[str], env: dict[str, str], ready: str, *, on: str = "out") -> Iterator[Proc]:
    """Start ``argv`` with stderr to a file (its log, measured); ready once a line of stdout
    (or of that file) matches ``ready``, whose first group is the URL (if any)."""
    with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log_file:
        log = Path(log_file.name)
    err: IO[str] = log.open("w")
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
    )
    found: list[str] = []
    regex = re.compile(ready)
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for line in stdout:
            match = regex.search(line)
            if on == "out" and match and not found:
                found.append(match.group(1) if match.groups() else "")

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while not found:
            if on == "err":
                match = regex.search(log.read_text())
                if match:
                    found.append(match.group(1) if match.groups() else "")
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.02)
        yield Proc(proc, found[0], log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err.close()
        stdout.close()
        log.unlink(missing_ok=True)


def fake_stats(slack_url: str, contains: str = "restarting") -> dict[str, int]:
    with urllib.request.urlopen(f"{slack_url}/_stats?contains={contains}", timeout=5) as answer:  # loopback
        data: dict[str, int] = json.load(answer)
        return data


# -- 1. one hostile request ------------------------------------------------------------------


async def send_chunked(url: str, total: int) -> tuple[int, float]:
    """The whole body, whatever the server answers meanwhile (as an attacker would); the status
    the server gave and the seconds the sending took."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"POST /slack/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    status = asyncio.create_task(reader.readline())
    block = b"%x\r\n" % CHUNK + b"payload=" + b"A" * (CHUNK - 8) + b"\r\n"
    started = time.perf_counter()
    with contextlib.suppress(ConnectionError):
        for _ in range(total // CHUNK):
            writer.write(block)
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    took = time.perf_counter() - started
    line = await asyncio.wait_for(status, 60)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return int(line.split()[1]) if line else 0, took


def hostile_body(server: Proc) -> list[str]:
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(server.rss_kib())
            time.sleep(0.005)

    before_rss, before_log = server.rss_kib(), server.log_size()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status, took = asyncio.run(send_chunked(server.url, BODY_MIB << 20))
    time.sleep(0.3)
    stop.set()
    sampler.join()
    growth = (max(samples) - before_rss) / 1024
    logged = server.log_size() - before_log
    return [
        str(status),
        f"{took:.2f}",
        f"{before_rss / 1024:.1f}",
        f"{max(samples) / 1024:.1f}",
        f"{growth:+.1f}",
        str(logged),
        verdict(growth < RSS_TARGET_MIB and logged < LOG_TARGET_BYTES and 400 <= status < 500),
    ]


def report_hostile_body(base: dict[str, str], emulator_url: str, slack_url: str) -> None:
    print(f"1. A {BODY_MIB} MiB unsigned chunked body to pooldrift-server /slack/events (sent whole)")
    rows = []
    for level in ("INFO", "DEBUG"):
        env = server_env(base, emulator_url, slack_url) | {"POOLDRIFT_LOG_LEVEL": level}
        with spawn([str(BIN / "pooldrift-server")], env, r"listening on (http://\S+)") as server:
            time.sleep(0.5)  # start-up settled
            rows.append([f"log level {level}", *hostile_body(server)])
    table(["", "status", "sent in (s)", "RSS before (MiB)", "peak", "growth", "logged (bytes)", ""], rows)
    print(f"   targets: growth < {RSS_TARGET_MIB:g} MiB, log < {LOG_TARGET_BYTES} bytes")


# -- 2. rolling restart ----------------------------------------------------------------------


def server_env(base: dict[str, str], emulator_url: str, slack_url: str) -> dict[str, str]:
    from pooldrift.emulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

    return base | {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": f"{slack_url}/api/",
        "HUAWEICLOUD_SDK_AK": DEMO_ACCESS_KEY,
        "HUAWEICLOUD_SDK_SK": DEMO_SECRET_KEY,
        "POOLDRIFT_ENDPOINT": emulator_url,
        "POOLDRIFT_READ_TIMEOUT": "20",
        "POOLDRIFT_DEADLINE": "40",
        "POOLDRIFT_HOST": "127.0.0.1",
        "POOLDRIFT_PORT": "0",
        "POOLDRIFT_LOG_LEVEL": "WARNING",
    }


async def send_commands(url: str, batch: list[tuple[str, dict[str, str]]]) -> int:
    """Send the batch from ``CONNECTIONS`` connections; how many were acknowledged (200)."""
    limits = httpx2.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    gate = asyncio.Semaphore(CONNECTIONS)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as http:

        async def one(body: str, headers: dict[str, str]) -> bool:
            async with gate:
                try:
                    response = await http.post(f"{url}/slack/events", content=body, headers=headers)
                except httpx2.HTTPError:
                    return False
                return response.status_code == 200

        return sum(await asyncio.gather(*(one(body, headers) for body, headers in batch)))


def stop_and_count(proc: Proc, slack_url: str, before: dict[str, int], accepted: int) -> list[str]:
    """SIGTERM now; then the exit status, how long the stop took, and the answers delivered."""
    stopped = time.monotonic()
    proc.proc.send_signal(signal.SIGTERM)
    status = proc.proc.wait(120)
    took = time.monotonic() - stopped
    deadline = time.monotonic() + ANSWER_WAIT_S
    while fake_stats(slack_url)["posts"] - before["posts"] < accepted and time.monotonic() < deadline:
        if proc.proc.poll() is not None and time.monotonic() - stopped > took + 2:
            break  # the process is gone: nothing more will come
        time.sleep(0.05)
    after = fake_stats(slack_url)
    delivered = after["posts"] - before["posts"]
    distinct = after["distinct"] - before["distinct"]
    notices = after["containing"] - before["containing"]
    return [
        str(accepted),
        str(delivered),
        str(distinct),
        str(notices),
        str(status),
        f"{took:.1f}",
        verdict(delivered == accepted == distinct and notices == 0),
    ]


def restart_over_http(
    name: str, argv: list[str], env: dict[str, str], ready: str, on: str, slack_url: str, pool_ids: list[str]
) -> list[str]:
    with spawn(argv, env, ready, on=on) as app:
        asyncio.run(send_commands(app.url, commands(slack_url, pool_ids, 4, f"warm-{name}")))
        time.sleep(2 * UPSTREAM_LATENCY_S + 1)  # the warm-up answered: only the batch is in flight
        before = fake_stats(slack_url)
        batch = commands(slack_url, pool_ids, COMMANDS, f"roll-{name}")
        accepted = asyncio.run(send_commands(app.url, batch))
        return [name, *stop_and_count(app, slack_url, before, accepted)]


def restart_over_socket_mode(env: dict[str, str], slack_url: str, pool_ids: list[str]) -> list[str]:
    name = "pooldrift-slack --socket"
    socket_env = env | {"SLACK_APP_TOKEN": APP_TOKEN, "POOLDRIFT_LOG_LEVEL": "INFO"}
    with spawn(
        [str(BIN / "pooldrift-slack"), "--socket"], socket_env, r"(connected to Slack)", on="err"
    ) as bot:
        before = fake_stats(slack_url)
        envelopes = []
        for i in range(COMMANDS):
            payload = {
                "team_id": "T0BENCH01",
                "channel_id": "C0BENCH01",
                "user_id": f"U0BENCH{i % 50:02d}",
                "command": "/pooldrift",
                "text": pool_ids[i % len(pool_ids)],
                "response_url": f"{slack_url}/respond/socket-{i}",
                "trigger_id": f"socket.{i}.{os.getpid()}",
            }
            envelopes.append({"envelope_id": f"e-{i}", "type": "slash_commands", "payload": payload})
        request = urllib.request.Request(
            f"{slack_url}/_envelopes", data=json.dumps(envelopes).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=30):  # loopback
            pass
        deadline = time.monotonic() + 30
        while fake_stats(slack_url)["socket_received"] - before["socket_received"] < COMMANDS:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        accepted = fake_stats(slack_url)["socket_received"] - before["socket_received"]
        return [name, *stop_and_count(bot, slack_url, before, accepted)]


def report_rolling_restart(
    base: dict[str, str], emulator_url: str, slack_url: str, pool_ids: list[str]
) -> None:
    print(
        f"2. Rolling restart: {COMMANDS} slash commands acknowledged, their answers waiting on the "
        f"upstream ({UPSTREAM_LATENCY_S:g} s per call), then SIGTERM (grace 25 s)"
    )
    env = server_env(base, emulator_url, slack_url)
    standalone = [sys.executable, "-m", "uvicorn", "pooldrift_slack.http:create_app", "--factory"]
    standalone += ["--host", "127.0.0.1", "--port", "0", "--no-access-log"]
    rows = [
        restart_over_http(
            "stand-alone app (uvicorn --factory)",
            standalone,
            env,
            r"Uvicorn running on (http://\S+)",
            "err",
            slack_url,
            pool_ids,
        ),
        restart_over_http(
            "pooldrift-server",
            [str(BIN / "pooldrift-server")],
            env,
            r"listening on (http://\S+)",
            "out",
            slack_url,
            pool_ids,
        ),
        restart_over_socket_mode(env, slack_url, pool_ids),
    ]
    header = ["", "accepted", "delivered", "distinct", "of which 'restarting'", "exit", "stop took (s)", ""]
    table(header, rows)
    print("   target: answers delivered = commands accepted, each once, none cut short")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from pooldrift.emulator import EmulatorData
    from pooldrift.emulator.config import DEMO_DATA_SEED

    pool_ids = [p.id for p in EmulatorData.demo(DEMO_DATA_SEED).pools]
    base = clean_env()
    base["PYTHONPATH"] = str(ROOT)
    print(f"Python {sys.version.split()[0]}; every party in its own process on 127.0.0.1")
    print(f"before: {load_average()}\n")
    emulator_args = [str(BIN / "pooldrift"), "emulator", "--port", "0", "--log-level", "warning"]
    with (
        announced([*emulator_args, "--latency", str(UPSTREAM_LATENCY_S)], base, cwd=ROOT) as (_, slow_url),
        announced(emulator_args, base, cwd=ROOT) as (_, emulator_url),
        announced([sys.executable, "-m", "tests.bot.fake_slack"], base, cwd=ROOT) as (_, slack_url),
    ):
        with section():
            report_hostile_body(base, emulator_url, slack_url)
        with section():
            report_rolling_restart(base, slow_url, slack_url, pool_ids)
    print(f"after: {load_average()}")


if __name__ == "__main__":
    main()
