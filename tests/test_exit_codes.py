"""Each command's failures exit as the README's table of exit codes says (parsed from README.md,
so the table and the commands cannot drift apart)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from tests.helpers import process_env

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")
README = Path(__file__).resolve().parents[1] / "README.md"


def documented_codes() -> dict[int, str]:
    rows = re.findall(r"^\| (\d) \| (.+?) \|$", README.read_text(encoding="utf-8"), re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def code_for(words: str) -> int:
    """The README's exit code whose meaning mentions ``words``."""
    found = [code for code, meaning in documented_codes().items() if words in meaning]
    assert len(found) == 1, (words, documented_codes())
    return found[0]


CASES = [
    (["check", "no-such-pool"], "a pool was not found"),
    (["desktops", "no-such-pool"], "a pool was not found"),
    (["history", "no-such-pool"], "a pool was not found"),
    (["check", "--region", "mars-1", "x"], "bad arguments"),
    (["pools", "--limit", "0"], "bad arguments"),
    (["history", "x", "--days", "0"], "bad arguments"),
    (["watch", "--interval", "1ms"], "bad arguments"),
    (["watch"], "the configuration"),
    (["history", "no-such-pool", "--json"], "a pool was not found"),
    (["fix", "plan", "no-such-pool"], "a pool was not found"),
    (["fix", "plan", "x", "--kind", "colour"], "bad arguments"),
]


@pytest.mark.parametrize(("args", "meaning"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_each_failure_exits_as_the_readme_table_says(
    emulator: EmulatorServer, tmp_path: Path, args: list[str], meaning: str
) -> None:
    env = process_env(emulator, POOLDRIFT_STATE=str(tmp_path / "state.db"), POOLDRIFT_DEADLINE="10")
    if args[0] == "history":  # a watch has seen the demo pools: the state exists
        once = [POOLDRIFT, "watch", "--once"]
        assert subprocess.run(once, env=env, capture_output=True, timeout=60, check=False).returncode == 0
    done = subprocess.run(
        [POOLDRIFT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == code_for(meaning), done.stderr
    assert "Traceback" not in done.stderr


def test_the_table_has_every_code_the_cli_uses() -> None:
    from pooldrift import cli
    from pooldrift.fix.cli import EXIT_PARTLY

    used = {cli.EXIT_OK, cli.EXIT_ERROR, cli.EXIT_USAGE, cli.EXIT_DRIFT, EXIT_PARTLY}
    assert set(documented_codes()) == used
