"""The MCP manifests: registry server.json and the client configs name what the code really reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices

import pooldrift
from pooldrift.config import Settings
from pooldrift.watch.settings import WatchSettings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests" / "mcp"
PYPROJECT = tomllib.loads((ROOT / "server" / "pyproject.toml").read_text())
SECRETS = {"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN"}


def load(name: str) -> dict[str, Any]:
    data = json.loads((MANIFESTS / name).read_text())
    assert isinstance(data, dict)
    return data


def settings_env_names() -> set[str]:
    """The variables the client and the watch's state (read by ``pool_drift_history``) take."""
    names: set[str] = set()
    for field in [*Settings.model_fields.values(), *WatchSettings.model_fields.values()]:
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
    return names


def test_server_json_follows_the_registry_format() -> None:
    server = load("server.json")
    assert server["$schema"].startswith("https://static.modelcontextprotocol.io/schemas/")
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"])
    assert 1 <= len(server["description"]) <= 100
    assert server["version"] == pooldrift.__version__ == PYPROJECT["project"]["version"]
    (package,) = server["packages"]
    assert set(package) <= {
        "registryType", "registryBaseUrl", "identifier", "version", "fileSha256", "runtimeHint",
        "transport", "runtimeArguments", "packageArguments", "environmentVariables",
    }  # fmt: skip
    assert package["registryType"] == "pypi"
    # `uvx pooldrift-mcp` (DESIGN.md): the distribution of that name runs the script of that name
    assert package["identifier"] == "pooldrift-mcp"
    assert package["runtimeHint"] == "uvx" and "pooldrift-mcp" in PYPROJECT["project"]["scripts"]
    assert package["version"] == server["version"]
    assert package["transport"] == {"type": "stdio"}
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert set(variables) <= settings_env_names()
    assert {name for name, v in variables.items() if v.get("isRequired")} == {
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
    }
    for name in SECRETS:
        assert variables[name]["isSecret"] is True


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("claude_desktop_config.json", "mcpServers"),
        ("cursor-mcp.json", "mcpServers"),
        ("vscode-mcp.json", "servers"),
    ],
)
def test_stdio_client_configs_run_pooldrift_mcp_with_known_variables(name: str, key: str) -> None:
    entry = load(name)[key]["pooldrift"]
    command = [entry["command"], *entry["args"]]
    assert command == ["uvx", PYPROJECT["project"]["name"]]  # the distribution runs its namesake script
    assert PYPROJECT["project"]["scripts"]["pooldrift-mcp"] == "pooldrift_mcp.stdio:main"
    assert {"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"} <= set(entry["env"]) <= settings_env_names()
    assert entry.get("type", "stdio") == "stdio"


def test_vscode_asks_for_secrets_instead_of_storing_them() -> None:
    config = load("vscode-mcp.json")
    inputs = {item["id"]: item for item in config["inputs"]}
    env = config["servers"]["pooldrift"]["env"]
    for name in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"):
        reference = re.fullmatch(r"\$\{input:([\w-]+)\}", env[name])
        assert reference and inputs[reference.group(1)]["password"] is True


@pytest.mark.parametrize(
    ("name", "key"), [("vscode-mcp.http.json", "servers"), ("cursor-mcp.http.json", "mcpServers")]
)
def test_http_client_configs_send_the_bearer_token_to_mcp(name: str, key: str) -> None:
    entry = load(name)[key]["pooldrift"]
    assert entry["url"] == "http://127.0.0.1:8080/mcp"  # pooldrift-server's default address
    assert re.fullmatch(r"Bearer \$\{(input|env):[\w-]+\}", entry["headers"]["Authorization"])
