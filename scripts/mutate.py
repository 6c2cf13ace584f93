"""``make mutate``: mutation testing (mutmut 3) of the core modules, each against the tests that
cover it, then the share of mutants killed per module and in total.

Each module runs in its own folder, ``mutants/<module>/``: a copy of pyproject.toml with a
``[tool.mutmut]`` table for that module, and links to ``pooldrift/`` and ``tests/``. mutmut copies
both into ``mutants/<module>/mutants/`` and runs pytest there, so ``tests.helpers`` imports and the
emulator resolve to the mutated copy, never to the editable install. Usage:

    python scripts/mutate.py [MODULE ...] [--keep] [--show]

``--keep`` reuses mutmut's cache of an earlier run (default: start afresh, so the numbers are the
code's and the tests' as they are now); ``--show`` prints the diff of every surviving mutant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "mutants"
TARGET = 0.90

#: Subprocess tests cannot kill a mutant (a child process imports the unmutated install), and
#: this one depends on the order of tests (the vendor SDK caches project ids per process).
_NOT_HERE = ["tests/pooldrift/test_vendor_sdk.py::test_sdk_finds_the_project_through_iam"]

#: module -> the test files that exercise it in-process (mutmut then runs, for each mutant,
#: only those of them that called the mutated function)
SELECTION: dict[str, list[str]] = {
    "signing": [
        "tests/pooldrift/test_signing.py",
        "tests/pooldrift/test_mutants_signing.py",
        "tests/pooldrift/emulator/test_auth.py",
        "tests/pooldrift/test_vendor_sdk.py",
    ],
    "validation": [
        "tests/pooldrift/test_validation.py",
        "tests/pooldrift/test_mutants_validation.py",
        "tests/pooldrift/test_client.py",
        "tests/pooldrift/test_client_unit.py",
        "tests/pooldrift/test_mutants_lookup.py",
    ],
    "errors": [
        "tests/pooldrift/test_errors.py",
        "tests/pooldrift/test_mutants_errors.py",
        "tests/pooldrift/test_mutants_validation.py",
        "tests/pooldrift/test_seams.py",
        "tests/pooldrift/test_client_unit.py",
        "tests/pooldrift/test_mutants_fetch.py",
        "tests/pooldrift/test_mutants_lookup.py",
        "tests/pooldrift/test_budget.py",
    ],
    "fetch": [
        "tests/pooldrift/test_client_unit.py",
        "tests/pooldrift/test_mutants_fetch.py",
        "tests/pooldrift/test_seams.py",
        "tests/pooldrift/test_budget.py",
        "tests/pooldrift/test_transport_client.py",
        "tests/pooldrift/test_client.py",
    ],
    "client": [
        "tests/pooldrift/test_client.py",
        "tests/pooldrift/test_client_unit.py",
        "tests/pooldrift/test_mutants_client.py",
        "tests/pooldrift/test_mutants_lookup.py",
        "tests/pooldrift/test_mutants_fetch.py",
        "tests/pooldrift/test_seams.py",
    ],
}

#: mutmut's exit codes that mean "a test noticed" (1: failed, 3: pytest broke, timeouts)
_KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class Score:
    module: str
    statuses: Counter[str] = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in _KILLED)

    @property
    def share(self) -> float:
        return self.killed / self.total if self.total else 1.0


def _toml_list(values: list[str]) -> str:
    return json.dumps(values)  # a JSON array of plain strings is a TOML array


def prepare(module: str, *, keep: bool) -> Path:
    """``mutants/<module>/``: the project's pyproject with this module's mutmut table, and links."""
    work = WORK / module
    if work.exists() and not keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    selection = [*SELECTION[module]]
    for test in _NOT_HERE:
        if test.split("::")[0] in selection:
            selection += ["--deselect", test]
    table = "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["pooldrift"]',
            f'only_mutate = ["pooldrift/{module}.py"]',
            f"pytest_add_cli_args_test_selection = {_toml_list(selection)}",
            f"pytest_add_cli_args = {_toml_list(['-p', 'no:cacheprovider', '-q'])}",
            "",
        ]
    )
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text() + table)
    for name in ("pooldrift", "tests"):
        link = work / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    return work


def run(module: str, *, keep: bool, children: int) -> Score:
    work = prepare(module, keep=keep)
    log = work / "mutmut.log"
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", str(children)],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
    score = Score(module, seconds=time.monotonic() - started)
    meta = work / "mutants" / "pooldrift" / f"{module}.py.meta"
    if done.returncode != 0 or not meta.exists():
        tail = log.read_text(errors="replace").replace("\r", "\n").splitlines()[-30:]
        head = f"mutmut failed for {module} (exit {done.returncode}); the end of {log}:"
        sys.exit("\n".join([head, *tail]))
    from mutmut.stats import status_by_exit_code

    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        status = status_by_exit_code[code]
        score.statuses[status] += 1
        if status not in _KILLED:
            score.survivors.append(f"{name} ({status})")
    return score


def show(module: str, names: list[str]) -> None:
    work = WORK / module
    for name in names:
        diff = subprocess.run(
            [str(Path(sys.executable).with_name("mutmut")), "show", name.split(" ")[0]],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stdout.write(diff.stdout + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"some of: {', '.join(SELECTION)}")
    parser.add_argument("--keep", action="store_true", help="reuse mutmut's results of an earlier run")
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="parallel mutants")
    args = parser.parse_args(argv)
    unknown = set(args.modules) - set(SELECTION)
    if unknown:
        parser.error(f"unknown module(s) {', '.join(sorted(unknown))}; known: {', '.join(SELECTION)}")
    scores = []
    for module in args.modules or list(SELECTION):
        score = run(module, keep=args.keep, children=args.children)
        scores.append(score)
        sys.stdout.write(
            f"{module:<11} {score.killed:>4}/{score.total:<4} killed  {score.share:6.1%}"
            f"  ({score.seconds:.0f} s)\n"
        )
        sys.stdout.flush()
    killed, total = sum(s.killed for s in scores), sum(s.total for s in scores)
    share = killed / total if total else 1.0
    seconds = sum(s.seconds for s in scores)
    sys.stdout.write(f"{'total':<11} {killed:>4}/{total:<4} killed  {share:6.1%}  ({seconds:.0f} s)\n")
    for score in scores:
        if score.survivors:
            sys.stdout.write(f"\nsurviving in pooldrift/{score.module}.py:\n")
            sys.stdout.write("".join(f"  {name}\n" for name in score.survivors))
            if args.show:
                show(score.module, score.survivors)
    verdict = "meets" if share >= TARGET else "is below"
    sys.stdout.write(f"\n{share:.1%} of mutants killed: {verdict} the {TARGET:.0%} target\n")
    return 0 if share >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
