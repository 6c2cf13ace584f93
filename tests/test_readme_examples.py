"""The README's example commands, run as written: every line of its fenced ``sh`` blocks.

They run in a shell at the repository root with ``.venv/bin`` on PATH, against the emulator that
``pooldrift demo --keep`` keeps running (started as a user would, its printed exports parsed),
and each must exit with the code the README's exit-code table gives it. The few that need a
real cloud, Slack, the network or the whole suite are listed in ``SKIPPED``, with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, kept_demo, start_process, stop_process
from tests.test_exit_codes import code_for

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
POOLDRIFT = str(BIN / "pooldrift")

# the first command of a block (or one command) -> why it does not run here
SKIPPED = {
    "export HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... POOLDRIFT_REGION=cn-north-4": "needs a real cloud "
    "account (the key pair is a placeholder)",
    "export POOLDRIFT_WATCH_INTERVAL=5m": "needs a Slack workspace (SLACK_BOT_TOKEN=xoxb-... is a "
    "placeholder) and the network (pip install)",
    "make dist": "builds and installs wheels from PyPI (the network, minutes)",
    "make test": "the suite itself (this test is part of it) or development runs of minutes (lint, "
    "benchmarks, mutation testing)",
}
# started by the fixture itself (it keeps running until stopped)
KEPT = "pooldrift demo --keep"
SETUP = re.compile(r"^(source |export )")


@dataclass(frozen=True)
class Example:
    section: str
    block: tuple[str, ...]  # the block's commands, comments stripped
    index: int  # this command's place in the block

    @property
    def command(self) -> str:
        return self.block[self.index]

    def skip_reason(self) -> str | None:
        return SKIPPED.get(self.block[0]) or SKIPPED.get(self.command)


def examples() -> list[Example]:
    found: list[Example] = []
    section, block, fenced = "", list[str](), False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not fenced:
            section = line.lstrip("# ")
        elif line.strip() in ("```sh", "```bash") and not fenced:
            fenced, block = True, []
        elif line.strip() == "```" and fenced:
            fenced = False
            commands = tuple(block)
            found += [Example(section, commands, i) for i, c in enumerate(commands) if not SETUP.match(c)]
        elif fenced:
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command:  # a comment-only line continues the one above
                block.append(command)
    return found


EXAMPLES = examples()


def expected_code(command: str) -> int:
    """What the README's exit-code table gives this command against the demo fleet (which drifts)."""
    return code_for("drift found") if "--fail-on-drift" in command else code_for("fine")


@pytest.fixture(scope="module")
def kept() -> Iterator[dict[str, str]]:
    with kept_demo(POOLDRIFT) as (_proc, exports):
        yield exports


def shell(script: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    prefixes = ("HUAWEICLOUD_", "POOLDRIFT_", "SLACK_", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def test_the_readme_has_the_examples_this_test_knows() -> None:
    commands = {e.command for e in EXAMPLES} | {c for e in EXAMPLES for c in e.block}
    assert KEPT in commands
    for first in SKIPPED:  # a skip whose command left the README would hide nothing: drop it
        assert first in commands, first


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.section}: {e.command}" for e in EXAMPLES])
def test_each_readme_example_exits_as_the_exit_code_table_says(
    example: Example, kept: dict[str, str]
) -> None:
    reason = example.skip_reason()
    if reason:
        pytest.skip(reason)
    if example.command == KEPT:  # the fixture ran it: its exports work, as the other examples show
        assert set(kept) == {"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "POOLDRIFT_ENDPOINT"}
        return
    setup = [c for c in example.block[: example.index] if SETUP.match(c)]
    env = clean_env({"POOLDRIFT_BACKOFF_INITIAL": "0.01", "POOLDRIFT_BACKOFF_MAX": "0.05"})
    emulator = None
    lines = list(example.block)
    started = re.match(r"^pooldrift emulator --port (\d+)$", lines[0])
    if started:  # a block that starts its own emulator: on a free port instead of the one written
        port = str(free_port())
        setup = [c.replace(f":{started.group(1)}", f":{port}") for c in setup]
        emulator, _out, _err, url = start_process([POOLDRIFT, "emulator", "--port", port], env)
        if example.index == 0:  # that command itself: it printed what the README says it prints
            stop_process(emulator)
            assert url == f"http://127.0.0.1:{port}"
            return
    elif not any(c.startswith("export ") for c in setup):  # the emulator `demo --keep` keeps
        env.update(kept)
    try:
        done = shell("\n".join([*setup, example.command]), env)
    finally:
        if emulator is not None:
            stop_process(emulator)
    assert done.returncode == expected_code(example.command), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_the_readme_test_count_is_within_15_percent_of_the_collected_count() -> None:
    claim = re.search(r"# the suite: about ([\d,]+) tests", README.read_text(encoding="utf-8"))
    assert claim, "the README's `make test` line no longer says how many tests"
    said = int(claim.group(1).replace(",", ""))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    counted = re.search(r"^(\d+) tests? collected", done.stdout, re.MULTILINE)
    assert counted, done.stdout[-2000:] + done.stderr[-2000:]
    collected = int(counted.group(1))
    assert 0.85 * collected <= said <= 1.15 * collected, (said, collected)
