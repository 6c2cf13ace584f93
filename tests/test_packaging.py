"""The three distributions' metadata: one version everywhere, the conventions of a published
package (license, URLs, classifiers), and no cap that would block a future release for nothing."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

import pooldrift

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = {"pooldrift": ROOT, "pooldrift-mcp": ROOT / "server", "pooldrift-slack": ROOT / "bot"}
#: versioned by date (stamina 25.1, certifi 2025.x): any upper bound is a guess about next year
DATE_VERSIONED = {"stamina", "certifi", "trove-classifiers", "pytz", "tzdata"}
#: upper bounds kept: each of these has broken its users at a major before (pydantic 2, mcp 2,
#: slack-sdk 3 renamed slackclient, aiohttp 4's alphas drop APIs, pytest and pytest-asyncio
#: remove deprecated features in majors); any other cap is speculative
CAPPED = {"pydantic", "pydantic-settings", "mcp", "slack-sdk", "aiohttp", "pytest", "pytest-asyncio"}


def pyproject(name: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((PROJECTS[name] / "pyproject.toml").read_text())["project"]
    return data


def requirements(project: dict[str, Any]) -> list[Requirement]:
    extras = project.get("optional-dependencies", {}).values()
    return [Requirement(r) for r in [*project["dependencies"], *(r for group in extras for r in group)]]


def upper_bound(spec: SpecifierSet) -> bool:
    return any(s.operator in {"<", "<=", "==", "~=", "==="} for s in spec)


def test_one_version_everywhere() -> None:
    version = pooldrift.__version__
    assert {name: pyproject(name)["version"] for name in PROJECTS} == dict.fromkeys(PROJECTS, version)
    # the fronts are released with the core: exact pins on our own distributions
    pins = {
        str(r)
        for name in ("pooldrift-mcp", "pooldrift-slack")
        for r in requirements(pyproject(name))
        if canonicalize_name(r.name) in PROJECTS
    }
    assert pins == {f"pooldrift=={version}", f"pooldrift-slack=={version}", f"pooldrift[redis]=={version}"}
    server = json.loads((ROOT / "manifests" / "mcp" / "server.json").read_text())
    assert server["version"] == version
    assert [package["version"] for package in server["packages"]] == [version]


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_published_package_conventions(name: str) -> None:
    project = pyproject(name)
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    # a copy, not a symlink: a symlink into the parent folder dangles in the front's own sdist
    license_file = PROJECTS[name] / "LICENSE"
    assert not license_file.is_symlink()
    assert license_file.read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(project["urls"])
    assert all(url.startswith("https://") for url in project["urls"].values())
    assert (PROJECTS[name] / project["readme"]).is_file()
    classifiers = set(project["classifiers"])
    minimum = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert minimum, project["requires-python"]
    assert f"Programming Language :: Python :: 3.{minimum.group(1)}" in classifiers
    assert {"Typing :: Typed", "Programming Language :: Python :: 3 :: Only"} <= classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # PEP 639: the expression says it
    built_with = tomllib.loads((PROJECTS[name] / "pyproject.toml").read_text())["build-system"]["requires"]
    assert built_with == ["hatchling>=1.27"]  # the first hatchling that writes PEP 639 license metadata


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_no_speculative_caps(name: str) -> None:
    for requirement in requirements(pyproject(name)):
        dist = canonicalize_name(requirement.name)
        if dist in PROJECTS or dist.startswith("huaweicloudsdk"):
            continue  # ours (released together), and the vendor SDK pinned for a cross-check test
        if upper_bound(requirement.specifier):
            assert dist in CAPPED and dist not in DATE_VERSIONED, f"{name}: {requirement} caps a release"
