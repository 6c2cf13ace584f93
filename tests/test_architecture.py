"""The import structure: no circles among our modules, arrows from the fronts to the core only,
and a core that loads neither the MCP SDK nor Slack's.

The graph is read from the source with :mod:`ast` and checked with :mod:`graphlib` (stdlib)
rather than grimp: the rules fit in a screen, they are visible here (imports inside functions and
``TYPE_CHECKING`` blocks count; ``from pkg import name`` is ``pkg.name`` when that is a module,
else ``pkg``; no implicit edge to parent packages), and no compiled dependency is added for them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"pooldrift": ROOT / "pooldrift", "pooldrift_mcp": ROOT / "server" / "pooldrift_mcp"}
PACKAGES["pooldrift_slack"] = ROOT / "bot" / "pooldrift_slack"


def modules(packages: dict[str, Path] = PACKAGES) -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package is its ``__init__``)."""
    found: dict[str, Path] = {}
    for top, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The project modules ``name`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in known:  # `import pkg.mod.attr` is not valid, but be safe
                    target = target.rpartition(".")[0]
                if target:
                    yield target
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = name.split(".")
                drop = node.level - 1 if is_package else node.level
                anchor = anchor[: len(anchor) - drop]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"
                elif base in known:
                    yield base


def graph_of(packages: dict[str, Path]) -> dict[str, frozenset[str]]:
    found = modules(packages)
    known = set(found)
    return {name: frozenset(imported(name, path, known)) - {name} for name, path in found.items()}


@cache
def graph() -> dict[str, frozenset[str]]:
    return graph_of(PACKAGES)


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """Circles, each as ``a → b → … → a`` (``a`` imports ``b``): graphlib reports one at a time,
    so each is recorded and one of its arrows removed until the graph sorts."""
    remaining = {name: sorted(targets) for name, targets in sorted(edges.items())}  # one report a run
    found: list[list[str]] = []
    while True:
        try:
            # graphlib's "predecessors" are what a module imports
            tuple(TopologicalSorter(remaining).static_order())
        except CycleError as exc:
            # each node of exc.args[1] is imported by the next
            circle = list(reversed(exc.args[1]))
            found.append(circle)
            remaining[circle[0]].remove(circle[1])
        else:
            return found


def test_the_graph_counts_every_import_and_only_named_modules(tmp_path: Path) -> None:
    sources = {
        "__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n",
        "a.py": "import json\n\ndef f():\n    from . import sub\n    from .sub.c import thing\n",
        "b.py": "import pkg.a\nfrom pkg import a, missing\n",
        "sub/__init__.py": "from .. import b\nfrom . import c\n",
        "sub/c.py": "from ..a import f\nfrom .. import sub\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert graph_of({"pkg": tmp_path}) == {
        "pkg": {"pkg.b"},  # under TYPE_CHECKING
        "pkg.a": {"pkg.sub", "pkg.sub.c"},  # inside a function; no edge to `pkg` for the parents
        "pkg.b": {"pkg.a", "pkg"},  # `missing` is a name of pkg, so the arrow goes to pkg
        "pkg.sub": {"pkg.b", "pkg.sub.c"},
        "pkg.sub.c": {"pkg.a", "pkg.sub"},
    }
    real = graph()
    assert len(real) > 40 and {"pooldrift", "pooldrift.client", "pooldrift_mcp.http"} <= set(real)


def test_cycles_finds_every_circle_of_a_known_graph() -> None:
    edges = {
        "a": frozenset({"b"}),
        "b": frozenset({"a", "c"}),
        "c": frozenset({"d"}),
        "d": frozenset({"c", "e"}),
        "e": frozenset(),
    }
    found = cycles(edges)
    assert sorted(sorted(set(circle)) for circle in found) == [["a", "b"], ["c", "d"]]
    for circle in found:
        assert circle[0] == circle[-1]
        assert all(after in edges[before] for before, after in pairwise(circle))
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_no_import_circles() -> None:
    found = cycles(graph())
    for circle in found:
        print("import circle:", " → ".join(circle))  # noqa: T201
    assert not found, "\n".join(" → ".join(circle) for circle in found)


def test_imports_point_from_the_fronts_to_the_core() -> None:
    wrong = []
    for name, targets in graph().items():
        for target in targets:
            top, target_top = name.partition(".")[0], target.partition(".")[0]
            if top == "pooldrift" and target_top != "pooldrift":
                wrong.append(f"{name} → {target} (the core imports no front)")
            if top == "pooldrift_slack" and target_top == "pooldrift_mcp":
                wrong.append(f"{name} → {target} (the Slack bot does not need MCP)")
            if top == "pooldrift_mcp" and target_top == "pooldrift_slack" and name != "pooldrift_mcp.http":
                wrong.append(f"{name} → {target} (only pooldrift_mcp.http mounts Slack)")
    assert not wrong, "\n".join(wrong)


def test_the_core_loads_neither_mcp_nor_slack() -> None:
    """Every pooldrift.* module imported in a fresh interpreter (``__main__`` ones only run things)."""
    code = """
import json, pkgutil, sys, pooldrift
names = [m.name for m in pkgutil.walk_packages(pooldrift.__path__, "pooldrift.")
         if not m.name.endswith(".__main__")]
for name in names:
    __import__(name)
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    seen = json.loads(done.stdout)
    assert {"pooldrift.client", "pooldrift.cli", "pooldrift.emulator.app"} <= set(seen["imported"])
    assert len(seen["imported"]) == len([m for m in modules() if m.startswith("pooldrift.")]) - 1
    heavy = [
        name
        for name in seen["modules"]
        if name.partition(".")[0] in {"mcp", "slack_bolt", "slack_sdk", "pooldrift_mcp", "pooldrift_slack"}
    ]
    assert not heavy, f"the core loaded {heavy}"
