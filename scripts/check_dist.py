"""Check the built distributions in dist/ as a user would meet them, not as the checkout has them.

``--contents-only`` (``make dist``): what each wheel and sdist holds, offline. The whole run
(``make dist-check``): fresh virtual environments resolved from PyPI without constraints.txt,
every command, ``pooldrift demo``, MCP tools/list over ``uvx pooldrift-mcp``, the fronts apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pooldrift.emulator.config import DEMO_ACCESS_KEY, DEMO_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the development venv: uv, uvx, check-wheel-contents, mcp
VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
#: what the root sdist must hold for `make test` (and these checks) to run from it
SDIST_NEEDS = (
    "Makefile", "constraints.txt", "pyproject.toml", "LICENSE", "README.md", ".ci/run",
    "tests/conftest.py", "docs/mcp.md", "server/pyproject.toml", "server/LICENSE",
    "server/pooldrift_mcp/__init__.py", "bot/pyproject.toml", "bot/LICENSE",
    "bot/pooldrift_slack/__init__.py", "manifests/mcp/server.json", "scripts/check_dist.py",
)  # fmt: skip
#: the emulator's documented demo pair (docs/emulator.md)
DEMO_KEYS = {"HUAWEICLOUD_SDK_AK": DEMO_ACCESS_KEY, "HUAWEICLOUD_SDK_SK": DEMO_SECRET_KEY}


class Failed(Exception):
    """One check did not hold; the message says which and what was seen."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


@dataclass(frozen=True)
class Distribution:
    name: str
    package: str  # its one import name
    commands: tuple[str, ...]
    never_requires: tuple[str, ...]  # the other front's stack, which this one must not pull in

    @property
    def stem(self) -> str:
        return f"{self.name.replace('-', '_')}-{VERSION}"

    def wheel(self, dist: Path) -> Path:
        return dist / f"{self.stem}-py3-none-any.whl"

    def sdist(self, dist: Path) -> Path:
        return dist / f"{self.stem}.tar.gz"


SLACK_STACK, MCP_STACK = ("slack-bolt", "slack-sdk", "pooldrift-slack"), ("mcp", "pooldrift-mcp")
CORE = Distribution("pooldrift", "pooldrift", ("pooldrift",), SLACK_STACK + MCP_STACK)
MCP = Distribution("pooldrift-mcp", "pooldrift_mcp", ("pooldrift-mcp", "pooldrift-server"), SLACK_STACK)
SLACK = Distribution("pooldrift-slack", "pooldrift_slack", ("pooldrift-slack",), MCP_STACK)
ALL = (CORE, MCP, SLACK)


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    print(f"== {title}", flush=True)
    started = time.monotonic()
    yield
    print(f"   ok ({time.monotonic() - started:.1f} s)", flush=True)


def run(
    argv: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run a command; its output goes into the failure when it exits non-zero."""
    args = [str(a) for a in argv]
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )
    check(done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


# -- what the artifacts hold -----------------------------------------------------------------


def import_names(wheel: Path) -> set[str]:
    """The top-level names a wheel installs, read from its RECORD (what pip writes to disk)."""
    with zipfile.ZipFile(wheel) as archive:
        (record,) = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
        rows = csv.reader(io.StringIO(archive.read(record).decode()))
        tops = {Path(row[0]).parts[0] for row in rows if row}
    return {top.removesuffix(".py") for top in tops if not top.endswith((".dist-info", ".data"))}


def check_wheel(dist: Distribution, wheel: Path) -> None:
    names = import_names(wheel)
    check(names == {dist.package}, f"{wheel.name} installs {sorted(names)}, not only {dist.package}")
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
        info = f"{dist.stem}.dist-info"
        check(f"{dist.package}/py.typed" in files, f"{wheel.name} has no py.typed")
        licensed = f"{info}/licenses/LICENSE" in files
        same = licensed and archive.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        check(same, f"{wheel.name} lacks the LICENSE text")
        scripts = archive.read(f"{info}/entry_points.txt").decode()
        metadata = HeaderParser().parsestr(archive.read(f"{info}/METADATA").decode())
    found = set(re.findall(r"^([\w-]+) = ", scripts.split("[console_scripts]")[1], re.M))
    check(found == set(dist.commands), f"{wheel.name} has commands {sorted(found)}, not {dist.commands}")
    check(metadata["License-Expression"] == "Apache-2.0", f"{wheel.name}: no License-Expression")
    check(metadata.get_all("Project-URL"), f"{wheel.name}: no project URLs")
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    required = {canonicalize_name(r.name) for r in requirements if r.marker is None}  # extras aside
    unwanted = required & set(dist.never_requires)
    check(not unwanted, f"{wheel.name} requires {sorted(unwanted)}")


def check_sdists(dists: Path) -> None:
    with tarfile.open(CORE.sdist(dists)) as archive:
        members = {m.name.partition("/")[2]: m for m in archive.getmembers()}
    missing = [name for name in SDIST_NEEDS if name not in members]
    check(not missing, f"{CORE.sdist(dists).name} lacks {missing}")
    for dist in (MCP, SLACK):
        with tarfile.open(dist.sdist(dists)) as archive:
            license_file = archive.getmember(f"{dist.stem}/LICENSE")
            check(license_file.isfile(), f"{dist.sdist(dists).name}: LICENSE is not a regular file")


def check_contents(dists: Path) -> dict[str, set[str]]:
    missing = [p.name for d in ALL for p in (d.wheel(dists), d.sdist(dists)) if not p.exists()]
    check(not missing, f"not built: {missing} (run `make dist`)")
    with step("check-wheel-contents"):
        run([BIN / "check-wheel-contents", *(d.wheel(dists) for d in ALL)])
    with step("wheels: import names, LICENSE, py.typed, commands, dependencies; sdists: files"):
        for dist in ALL:
            check_wheel(dist, dist.wheel(dists))
        check_sdists(dists)
    return {d.wheel(dists).name: import_names(d.wheel(dists)) for d in ALL}


# -- installed as a user installs them -------------------------------------------------------


def venv_pip(where: Path, wheels: Sequence[Path]) -> Path:
    """`python -m venv` and `pip install` of the wheels, ignoring every pip configuration of the
    machine (--isolated): dependencies resolve from PyPI, no constraints file applies."""
    run([sys.executable, "-m", "venv", where])
    run([where / "bin" / "python", "-m", "pip", "--isolated", "install", "--quiet", *wheels])
    frozen = run([where / "bin" / "python", "-m", "pip", "--isolated", "freeze"]).stdout.split()
    versions = dict(line.lower().replace("_", "-").split("==", 1) for line in frozen if "==" in line)
    shown = ", ".join(f"{name} {versions.get(name)}" for name in ("mcp", "slack-bolt", "pydantic", "httpx2"))
    print(f"   {len(versions)} distributions resolved: {shown}", flush=True)
    return where / "bin"


def venv_uv(where: Path, wheels: Sequence[Path]) -> Path:
    """uv's venv and install (fast) for the checks that only look at what a resolution brings."""
    run([BIN / "uv", "venv", "--no-config", "--quiet", "--python", sys.executable, where])
    python = where / "bin" / "python"
    run([BIN / "uv", "pip", "install", "--no-config", "--quiet", "--python", python, *wheels])
    return where / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "UV_CACHE_DIR")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


def check_commands(bin_dir: Path) -> None:
    for dist in ALL:
        for command in dist.commands:
            version = run([bin_dir / command, "--version"], env=clean_env(), timeout=30).stdout.strip()
            check(version == f"{command} {VERSION}", f"{command} --version printed {version!r}")
            usage = run([bin_dir / command, "--help"], env=clean_env(), timeout=30).stdout
            check(usage.startswith(f"usage: {command}"), f"{command} --help printed {usage[:80]!r}")


def check_demo(bin_dir: Path) -> None:
    out = run([bin_dir / "pooldrift", "demo"], env=clean_env(), timeout=120).stdout
    check("sales-win11" in out and "drifted" in out, f"pooldrift demo printed:\n{out}")


@contextlib.contextmanager
def emulator(bin_dir: Path) -> Iterator[str]:
    """The installed `pooldrift emulator` on a free port; its URL."""
    proc = subprocess.Popen(
        [bin_dir / "pooldrift", "emulator", "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        found = re.search(r"listening on (\S+)", proc.stdout.readline())
        check(found, "pooldrift emulator did not announce its address")
        assert found is not None
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(10)


async def mcp_over_uvx(command: list[str], env: dict[str, str], errlog: Path) -> tuple[list[str], object]:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    with errlog.open("w") as err:
        async with asyncio.timeout(180), Client(stdio_client(params, errlog=err)) as client:
            listed = await client.list_tools()
            result = await client.call_tool("pool_inconsistency", {"pool": "sales-win11"})
    check(not result.is_error, f"pool_inconsistency failed: {result.content}")
    return sorted(tool.name for tool in listed.tools), result.structured_content


def check_mcp(dists: Path, bin_dir: Path, tmp: Path) -> list[str]:
    """What an assistant's config runs, once published, is `uvx pooldrift-mcp`; before, the
    same with the built wheels named."""
    command = [str(BIN / "uvx"), "--isolated", "--no-config", "--from", str(MCP.wheel(dists))]
    command += ["--with", str(CORE.wheel(dists)), "pooldrift-mcp"]
    print("   " + " ".join(command), flush=True)
    with emulator(bin_dir) as url:
        env = clean_env(**DEMO_KEYS, POOLDRIFT_ENDPOINT=url)
        errlog = tmp / "pooldrift-mcp.stderr"
        try:
            tools, drift = asyncio.run(mcp_over_uvx(command, env, errlog))
        except Exception as exc:
            raise Failed(f"MCP over uvx failed ({exc!r}); its stderr:\n{errlog.read_text()}") from exc
    wanted = [
        "drifted_desktops",
        "list_desktop_pools",
        "pool_drift_history",
        "pool_inconsistency",
        "scan_pool_drift",
    ]
    check(tools == wanted, f"tools/list answered {tools}")
    check(isinstance(drift, dict) and drift.get("consistent") is False, f"pool_inconsistency gave {drift}")
    return tools


def has_module(bin_dir: Path, name: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    return subprocess.run([bin_dir / "python", "-c", code], check=False).returncode == 0


def check_fronts_apart(dists: Path, tmp: Path) -> None:
    mcp_only = venv_uv(tmp / "mcp-only", [CORE.wheel(dists), MCP.wheel(dists)])
    check(has_module(mcp_only, "mcp"), "the MCP venv has no mcp")
    for name in ("slack_bolt", "slack_sdk", "pooldrift_slack"):
        check(not has_module(mcp_only, name), f"pooldrift + pooldrift-mcp installed {name}")
    run([mcp_only / "pooldrift-server", "--version"], env=clean_env())
    slack_only = venv_uv(tmp / "slack-only", [CORE.wheel(dists), SLACK.wheel(dists)])
    check(has_module(slack_only, "slack_bolt"), "the Slack venv has no slack_bolt")
    for name in ("mcp", "pooldrift_mcp"):
        check(not has_module(slack_only, name), f"pooldrift + pooldrift-slack installed {name}")
    run([slack_only / "pooldrift-slack", "--version"], env=clean_env())


def check_sdist_tree(dists: Path, tmp: Path, *, full_test: bool) -> None:
    """The root sdist unpacked: `make test` can run there (with --sdist-test, it does)."""
    with tarfile.open(CORE.sdist(dists)) as archive:
        archive.extractall(tmp, filter="data")
    tree = tmp / CORE.stem
    plan = run(["make", "-n", "test"], cwd=tree).stdout
    check("pytest" in plan and "constraints.txt" in plan, f"`make -n test` in the sdist plans:\n{plan}")
    if full_test:
        started = time.monotonic()
        done = run(["make", "test", "PYTEST_ARGS=-q -p no:cacheprovider"], cwd=tree, timeout=1800)
        print(f"   make test from the sdist: {done.stdout.strip().splitlines()[-1]}", flush=True)
        print(f"   ({time.monotonic() - started:.0f} s with the venv)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where `make dist` put them")
    parser.add_argument("--contents-only", action="store_true", help="only what the artifacts hold")
    parser.add_argument("--sdist-test", action="store_true", help="also run `make test` in the sdist")
    args = parser.parse_args(argv)
    dists: Path = args.dist.resolve()
    started = time.monotonic()
    try:
        names = check_contents(dists)
        if not args.contents_only:
            with tempfile.TemporaryDirectory(prefix="pooldrift-dist-") as temp:
                tmp = Path(temp)
                with step("new venv, `pip install dist/*.whl` from PyPI without constraints"):
                    bin_dir = venv_pip(tmp / "all", [d.wheel(dists) for d in ALL])
                with step("each command's --version and --help"):
                    check_commands(bin_dir)
                with step("pooldrift demo"):
                    check_demo(bin_dir)
                with step("MCP tools/list and a tool call over uvx pooldrift-mcp (stdio)"):
                    check_mcp(dists, bin_dir, tmp)
                with step("pooldrift-mcp brings no slack-bolt, pooldrift-slack no mcp"):
                    check_fronts_apart(dists, tmp)
                with step("the root sdist holds what `make test` needs"):
                    check_sdist_tree(dists, tmp / "sdist", full_test=args.sdist_test)
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("\nImport names the artifacts install:")
    for wheel, packages in names.items():
        size = (dists / wheel).stat().st_size
        print(f"  {wheel:<42} {', '.join(sorted(packages)):<16} {size / 1024:6.1f} KiB")
    print(f"\ndist check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
