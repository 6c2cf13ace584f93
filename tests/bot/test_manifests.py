"""The Slack app manifests agree with the bot: one command, the buttons' interactivity, the
least scopes (the command, and the drift watch's posts and look-ups), and the mode each is for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from pooldrift_slack.blocks import COMMAND
from pooldrift_slack.http import EVENTS_PATH

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "slack"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((MANIFESTS / name).read_text())
    return data


@pytest.mark.parametrize("name", ["http.yaml", "socket.yaml"])
def test_command_interactivity_and_least_scopes(name: str) -> None:
    manifest = load(name)
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND and command["should_escape"] is False
    # commands: /pooldrift; chat:write: the watch's alerts; channels:history: the watch's
    # look-up of an alert it may have posted before a crash (pooldrift.watch.delivery)
    assert manifest["oauth_config"]["scopes"] == {"bot": ["commands", "chat:write", "channels:history"]}
    for verb in ("scan", "pools", "mute", "unmute", "help"):
        assert verb in command["usage_hint"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert len(manifest["display_information"]["name"]) <= 35


def test_http_mode_points_both_urls_at_the_events_path() -> None:
    manifest = load("http.yaml")
    assert manifest["settings"]["socket_mode_enabled"] is False
    urls = [
        manifest["features"]["slash_commands"][0]["url"],
        manifest["settings"]["interactivity"]["request_url"],
    ]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls)


def test_socket_mode_needs_no_url() -> None:
    manifest = load("socket.yaml")
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert "request_url" not in manifest["settings"]["interactivity"]
