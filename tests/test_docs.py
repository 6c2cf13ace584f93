"""The README's configuration table and the code agree: every variable read is documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pooldrift_mcp.settings import ServerSettings
from pooldrift_slack.settings import SlackSettings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from pooldrift.config import Settings
from pooldrift.fix.policy import FixPolicy
from pooldrift.watch.settings import WatchSettings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = README + "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))


def aliases(model: type[BaseSettings]) -> set[str]:
    names: set[str] = set()
    for info in model.model_fields.values():
        if isinstance(info.validation_alias, AliasChoices):
            names.update(str(choice) for choice in info.validation_alias.choices)
    return names


def test_every_setting_is_documented() -> None:
    client = aliases(Settings)
    slack = aliases(SlackSettings)
    assert "HUAWEICLOUD_SDK_AK" in client and "SLACK_SIGNING_SECRET" in slack  # the test sees them
    servers = aliases(ServerSettings)
    assert "POOLDRIFT_MCP_TOKEN" in servers
    for name in sorted(client | servers):
        assert name in README, f"{name} is read by the code but not in the README"
    for name in sorted(slack):
        assert name in DOCS, f"{name} is read by the bot but not documented"
    watch = aliases(WatchSettings)
    assert "POOLDRIFT_WATCH_INTERVAL" in watch
    for name in sorted(watch):
        assert name in README, f"{name} is read by the watch but not in the README"
    fix = aliases(FixPolicy)
    assert "POOLDRIFT_FIX_MAX_DESKTOPS" in fix
    for name in sorted(fix):
        assert name in README, f"{name} is read by the fix policy but not in the README"


def test_readme_quick_start_is_two_make_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_alert_rules_the_docs_show_are_the_shipped_ones() -> None:
    shipped = {
        rule["alert"]: rule
        for group in yaml.safe_load((ROOT / "manifests/prometheus/pooldrift-rules.yaml").read_text())[
            "groups"
        ]
        for rule in group["rules"]
    }
    shown = [
        rule
        for block in re.findall(r"```yaml\n(.*?)```", DOCS, re.S)
        if "- alert:" in block
        for rule in yaml.safe_load(block)
    ]
    assert len(shown) >= 3
    for rule in shown:
        assert rule["alert"] in shipped, f"the docs show {rule['alert']}, which is not shipped"
        twin = shipped[rule["alert"]]
        assert " ".join(rule["expr"].split()) == " ".join(twin["expr"].split()), rule["alert"]
        assert rule.get("for") == twin.get("for"), rule["alert"]
