"""The monitoring manifests agree with the code: the alert rules and the Grafana dashboard parse,
name only metrics pooldrift exports (read from the Prometheus registry its modules fill), and
every rule has what Alertmanager routing and a page need."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from prometheus_client import REGISTRY

import pooldrift.metrics
import pooldrift.watch.metrics

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "manifests" / "prometheus" / "pooldrift-rules.yaml"
DASHBOARD = ROOT / "manifests" / "grafana" / "pooldrift-dashboard.json"
#: a metric of ours where a PromQL expression names one (label names never start so)
_OURS = re.compile(r"\bpooldrift_[a-z0-9_]+")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def exported() -> set[str]:
    """Every series name the process can export under ``pooldrift_``, by each family's type."""
    assert pooldrift.metrics.CALLS and pooldrift.watch.metrics.POOLS  # both modules registered
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("pooldrift_"):
            names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return names


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def queries() -> Iterator[tuple[str, str]]:
    """(panel title, expression) of every panel target."""
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def test_the_registry_sees_every_family() -> None:
    names = exported()
    for name in (
        "pooldrift_pool_drifted_desktops",
        "pooldrift_pool_last_success_timestamp_seconds",
        "pooldrift_calls_total",
        "pooldrift_upstream_request_duration_seconds_bucket",
        "pooldrift_watch_cycles_total",
    ):
        assert name in names
    assert "pooldrift_calls" not in names, "a counter is exported with _total"


def test_rules_have_what_routing_and_a_page_need() -> None:
    found = rules()
    assert len(found) >= 8
    assert len({rule["alert"] for rule in found}) == len(found), "alert names are unique"
    for rule in found:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_rules_and_panels_name_only_exported_metrics() -> None:
    names = exported()
    used = {(rule["alert"], name) for rule in rules() for name in _OURS.findall(rule["expr"])}
    used |= {(title, name) for title, expr in queries() for name in _OURS.findall(expr)}
    unknown = sorted((where, name) for where, name in used if name not in names)
    assert unknown == []
    # the per-pool gauges and the health families each have a rule
    in_rules = {name for rule in rules() for name in _OURS.findall(rule["expr"])}
    for name in ("pooldrift_pool_drifted_desktops", "pooldrift_upstream_up", "pooldrift_calls_total"):
        assert name in in_rules


def test_the_dashboard_has_its_panels() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["schemaVersion"] >= 36 and board["uid"] and board["title"]
    titles = [panel["title"] for panel in board["panels"]]
    assert len(set(titles)) == len(titles)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(set(ids)) == len(ids)
    used = {name for _, expr in queries() for name in _OURS.findall(expr)}
    for name in (
        "pooldrift_pool_drifted_desktops",
        "pooldrift_pool_last_success_timestamp_seconds",
        "pooldrift_pool_scan_failures",
        "pooldrift_calls_total",
        "pooldrift_upstream_requests_total",
        "pooldrift_call_duration_seconds_bucket",
        "pooldrift_upstream_request_duration_seconds_bucket",
    ):
        assert name in used, name
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (Debian: prometheus)")
def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    done = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout
