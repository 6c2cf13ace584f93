"""The ``pooldrift`` command against hostile or careless input: upstream text with control
characters, out-of-range options, bad ids, and a reader that stops reading (``| head``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pooldrift.emulator import EmulatorServer
from pooldrift.emulator.data import Desktop, Pool
from pooldrift.text import safe

POOLDRIFT = str(Path(sys.executable).parent / "pooldrift")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POOLDRIFT, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_safe_escapes_every_control_character() -> None:
    assert safe("a\x1b[2Jb\nc\rd\x07e\x9bf\u2028g\x7f") == "a\\x1b[2Jb\\nc\\rd\\x07e\\x9bf\\u2028g\\x7f"
    assert safe("sales-win11 财务") == "sales-win11 财务"  # printable text is left alone


def test_names_cannot_reorder_or_hide_text_on_the_terminal(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    template = emulator.data.pools[0]
    emulator.data.add_pool(
        Pool.configured_like(
            template,
            id="00000000-0000-4000-8000-00000000e5c1",
            name="fin\u202eecna\u200bnce\u2066x\u2069\ufeff",
        )
    )
    for args in (("pools",), ("check", "00000000-0000-4000-8000-00000000e5c1")):
        done = run({**emulator_env, "COLUMNS": "200"}, *args)
        assert done.returncode in (0, 1), done.stderr
        assert not any(c in done.stdout for c in "\u202e\u200b\u2066\u2069\ufeff"), args
        assert "fin\\u202eecna\\u200bnce\\u2066x\\u2069\\ufeff" in done.stdout, args


def test_a_huge_name_is_clipped_and_the_pool_id_stays_whole(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    template = emulator.data.pools[0]
    pool_id = "00000000-0000-4000-8000-00000000e5c2"
    emulator.data.add_pool(Pool.configured_like(template, id=pool_id, name="n" * 100_000))
    done = run({**emulator_env, "COLUMNS": "120"}, "pools")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if pool_id in line)
    assert "n" * 79 + "\u2026" in row and "n" * 81 not in row
    assert len(row) < 200


def test_upstream_names_cannot_repaint_the_terminal(
    emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    template = emulator.data.pools[0]
    emulator.data.add_pool(
        Pool.configured_like(
            template,
            id="00000000-0000-4000-8000-00000000e5c0",
            name="evil\x1b[2J\x1b]0;owned\x07\nsecond-line",
        )
    )
    for args in (("pools",), ("scan",), ("check", "00000000-0000-4000-8000-00000000e5c0")):
        done = run(emulator_env, *args)
        assert done.returncode in (0, 1), done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout, args
        assert "evil\\x1b[2J\\x1b]0;owned\\x07\\nsecond-line" in done.stdout, args
        # the table keeps one line per pool: the name's newline did not break a row
        assert not any(line.startswith("second-line") for line in done.stdout.splitlines()), args


@pytest.mark.parametrize(
    "args",
    [
        ("pools", "--limit", "-5"),
        ("pools", "--limit", "0"),
        ("pools", "--limit", "many"),
        ("desktops", "sales-win11", "--limit", "0"),
        ("check", "sales-win11", "--region", "mars-1"),
        ("check", "sales-win11", "--project-id", "../../v3"),
        ("scan", "--project-id", "ABC"),
    ],
)
def test_bad_options_are_usage_errors_before_any_request(
    args: tuple[str, ...], emulator_env: dict[str, str], emulator: EmulatorServer
) -> None:
    done = run(emulator_env, *args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert len(emulator.requests) == 0


def test_a_closed_pipe_ends_quietly(emulator_env: dict[str, str], emulator: EmulatorServer) -> None:
    """``pooldrift desktops POOL --json | head -1``: no BrokenPipeError traceback."""
    template = emulator.data.pools[0]
    pool = Pool.configured_like(template, id="00000000-0000-4000-8000-0000000b16e0", name="big-pool")
    desktops = [
        Desktop(
            desktop_id=f"00000000-0000-4000-9000-{n:012d}",
            computer_name=f"BIG{n:04d}",
            product_id=template.product_id,
            image_id="not-the-pool-image",
            root_size=template.root_size,
            data_sizes=list(template.data_sizes),
        )
        for n in range(400)
    ]
    emulator.data.add_pool(pool, desktops)  # ~400 kB of JSON: more than a pipe holds
    with subprocess.Popen(
        [POOLDRIFT, "desktops", "big-pool", "--json", "--limit", "1000"],
        env={**os.environ, **emulator_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # the reader goes away, as `head -1` does
        stderr = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert first.startswith("{")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert code == 0


def test_a_chinese_pool_name_is_quoted_back_as_typed(emulator_env: dict[str, str]) -> None:
    done = run(emulator_env, "check", "财务-不存在")
    assert done.returncode != 0, done.stderr
    assert "'财务-不存在'" in done.stderr, done.stderr
    assert "\\u" not in done.stderr and "Traceback" not in done.stderr
