"""What an SRE asked of manifests/k8s, the Dockerfile and .dockerignore, read from the files.

The checks live in tests/deploy_checks.py. The last tests break a copy of the manifests once per
fault and show the check reporting it: none of them can pass by finding nothing to look at.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from pooldrift_mcp.settings import ServerSettings

from pooldrift.config import Settings
from tests.deploy_checks import (
    CHECKS,
    DIGEST,
    K8S,
    ROOT,
    SECRET_TEMPLATE,
    Docs,
    aliases,
    code_settings,
    dockerfile,
    dockerignored,
    first_container,
    manifests,
    named,
    of_kind,
    pod_spec,
)


@pytest.mark.parametrize("check", CHECKS)
def test_manifests_pass(check: str) -> None:
    assert CHECKS[check](manifests()) == []


def test_configmap_and_secret_set_only_what_the_code_reads() -> None:
    known = code_settings()
    assert {"POOLDRIFT_REGION", "POOLDRIFT_MCP_TOKEN", "SLACK_SIGNING_SECRET"} <= known  # the scan sees them
    docs = manifests()
    config = named(docs, "ConfigMap", "pooldrift")["data"]
    secret = of_kind(docs, "Secret")[0]["stringData"]
    # REDIS_PASSWORD is the manifests' own: redis-server's, and the password in the URL
    unknown = (set(config) | set(secret)) - known - {"REDIS_PASSWORD"}
    assert not unknown, f"set in the manifests but read by no code: {sorted(unknown)}"
    assert "POOLDRIFT_REDIS_URL" not in config, "the Redis URL carries the password: Secret only"


def test_configmap_values_are_accepted_and_agree_with_the_pod_and_ingress() -> None:
    docs = manifests()
    config = named(docs, "ConfigMap", "pooldrift")["data"]
    fields = aliases(Settings)
    settings = Settings.model_validate({k: v for k, v in config.items() if k in fields})
    assert settings.region == config["POOLDRIFT_REGION"]
    http = ServerSettings.model_validate({**config, "POOLDRIFT_MCP_TOKEN": "0" * 64})
    http.check()
    pod = named(docs, "Deployment", "pooldrift")["spec"]["template"]
    assert http.port in {p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert str(http.port) == pod["metadata"]["annotations"]["prometheus.io/port"]
    ingress_hosts = {rule["host"] for rule in of_kind(docs, "Ingress")[0]["spec"]["rules"]}
    assert ingress_hosts <= set(http.allowed_hosts), "/mcp would refuse the ingress's Host header"


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRET_TEMPLATE}
    assert sorted(listed) == sorted(on_disk)
    assert {"PodDisruptionBudget", "NetworkPolicy", "Ingress", "ServiceAccount"} <= {
        d["kind"] for d in manifests()
    }


def test_dockerfile_is_pinned_labelled_and_unprivileged() -> None:
    text = dockerfile()
    stages: set[str] = set()
    for ref, alias in re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I):
        assert ref in stages or (DIGEST.search(ref) and re.search(r":\d+\.\d+\.\d+", ref)), ref
        stages.add(alias)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"0", "root"}, users
    for label in ("title", "source", "version", "revision", "licenses", "base.name", "base.digest"):
        assert f"org.opencontainers.image.{label}=" in text, label
    assert 'pip install -c constraints.txt ".[redis]" ./bot "./server[slack]"' in text


def test_dockerignore_keeps_the_build_inputs_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        src
        for line in re.findall(r"^COPY\s+(?!--from)(.+)$", dockerfile(), re.M)
        for src in line.split()[:-1]
    ]
    assert "pooldrift" in copied and "constraints.txt" in copied
    for source in copied:
        assert not dockerignored(patterns, source), f"{source} is copied by the Dockerfile but ignored"
    assert not dockerignored(patterns, "pooldrift/config.py")
    for kept_out in (
        ".git/config",
        ".venv/bin/python",
        ".venv-deploy/bin/python",
        "tests/test_deploy.py",
        "benchmarks/_common.py",
        "docs/mcp.md",
        "pooldrift/__pycache__/config.cpython-311.pyc",
        ".env",
    ):
        assert dockerignored(patterns, kept_out), f"{kept_out} would be sent to the build"


# --- every check can fail: break a copy once per check -------------------------------------


def _egress(docs: Docs) -> Iterator[dict[str, Any]]:
    yield from named(docs, "NetworkPolicy", "pooldrift")["spec"]["egress"]


FAULTS: list[tuple[str, str, Callable[[Docs], object]]] = [
    ("ingress", "no tls", lambda d: of_kind(d, "Ingress")[0]["spec"].pop("tls")),
    ("ingress", "no class", lambda d: of_kind(d, "Ingress")[0]["spec"].pop("ingressClassName")),
    (
        "ingress",
        "body 8m",
        lambda d: of_kind(d, "Ingress")[0]["metadata"]["annotations"].update(
            {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}
        ),
    ),
    (
        "pdb",
        "selector off",
        lambda d: of_kind(d, "PodDisruptionBudget")[0]["spec"].update(
            selector={"matchLabels": {"app": "other"}}
        ),
    ),
    ("pdb", "blocks drains", lambda d: of_kind(d, "PodDisruptionBudget")[0]["spec"].update(minAvailable=2)),
    ("network", "egress anywhere", lambda d: next(_egress(d)).pop("ports")),
    ("network", "egress 80", lambda d: next(_egress(d))["ports"].append({"protocol": "TCP", "port": 80})),
    (
        "network",
        "ingress 9090",
        lambda d: named(d, "NetworkPolicy", "pooldrift")["spec"]["ingress"][0]["ports"].append(
            {"protocol": "TCP", "port": 9090}
        ),
    ),
    ("network", "redis open", lambda d: named(d, "NetworkPolicy", "redis")["spec"]["ingress"][0].pop("from")),
    ("images", "floating tag", lambda d: first_container(d, "redis").update(image="redis:7-alpine")),
    (
        "images",
        "latest",
        lambda d: first_container(d, "pooldrift").update(image="registry.example.com/pooldrift:latest"),
    ),
    ("pods", "token mounted", lambda d: pod_spec(d, "pooldrift").pop("automountServiceAccountToken")),
    ("pods", "service links", lambda d: pod_spec(d, "redis").pop("enableServiceLinks")),
    ("pods", "no redis probe", lambda d: first_container(d, "redis").pop("readinessProbe")),
    ("pods", "no limits", lambda d: first_container(d, "redis")["resources"].pop("limits")),
    (
        "pods",
        "writable root",
        lambda d: first_container(d, "pooldrift")["securityContext"].update(readOnlyRootFilesystem=False),
    ),
    (
        "pods",
        "caps kept",
        lambda d: first_container(d, "redis")["securityContext"].update(capabilities={"drop": []}),
    ),
    (
        "pods",
        "root",
        lambda d: [
            pod_spec(d, "redis")["securityContext"].pop("runAsNonRoot"),
            first_container(d, "redis")["securityContext"].pop("runAsNonRoot"),
        ],
    ),
    ("spread", "no spread", lambda d: pod_spec(d, "pooldrift").pop("topologySpreadConstraints")),
    ("redis-auth", "no requirepass", lambda d: first_container(d, "redis").update(args=["--save", ""])),
    (
        "redis-auth",
        "literal password",
        lambda d: first_container(d, "redis").update(args=["--requirepass", "hunter2"]),
    ),
    (
        "redis-auth",
        "URL without it",
        lambda d: first_container(d, "pooldrift")["env"][-1].update(
            value="redis://redis.pooldrift.svc:6379/0"
        ),
    ),
    ("redis-auth", "URL before the password", lambda d: first_container(d, "pooldrift")["env"].reverse()),
    (
        "redis-persistence",
        "no AOF",
        lambda d: first_container(d, "redis")["args"].__setitem__(
            first_container(d, "redis")["args"].index("--appendonly") + 1, "no"
        ),
    ),
    (
        "redis-persistence",
        "emptyDir",
        lambda d: pod_spec(d, "redis").update(volumes=[{"name": "data", "emptyDir": {}}]),
    ),
    ("redis-persistence", "claim missing", lambda d: d.remove(of_kind(d, "PersistentVolumeClaim")[0])),
    ("redis-persistence", "not mounted", lambda d: first_container(d, "redis").pop("volumeMounts")),
]


@pytest.mark.parametrize(("check", "fault", "breaks"), FAULTS, ids=[f"{c}-{f}" for c, f, _ in FAULTS])
def test_each_check_catches_its_fault(check: str, fault: str, breaks: Callable[[Docs], object]) -> None:
    docs = copy.deepcopy(manifests())
    assert CHECKS[check](docs) == []
    breaks(docs)
    assert CHECKS[check](docs), f"{check} did not notice: {fault}"


def test_dockerignore_check_can_fail() -> None:
    assert dockerignored(["*", "!pooldrift", "**/__pycache__"], "pooldrift/__pycache__/x.pyc")
    assert not dockerignored(["*", "!pooldrift", "**/__pycache__"], "pooldrift/x.py")
    assert not dockerignored([".git"], "tests/x.py")
