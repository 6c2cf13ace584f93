"""The checks behind tests/test_deploy.py: what an SRE asked of manifests/k8s and the image.

Each ``*_problems`` function returns the problems it finds in parsed manifests, [] when none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pooldrift_slack.settings import SlackSettings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from pooldrift.config import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "manifests" / "k8s"
SECRET_TEMPLATE = "secret.example.yaml"
#: one MiB, the application's own request limit: the ingress refuses bigger bodies first
MAX_BODY = 1024 * 1024
#: DNS, Redis and HTTPS: everything pooldrift may call
EGRESS = {("UDP", 53), ("TCP", 53), ("TCP", 6379), ("TCP", 443)}
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_EXACT_TAG = re.compile(r":v?\d+\.\d+\.\d+(?:[-.][0-9A-Za-z.]+)?$")
_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

Docs = list[dict[str, Any]]


def load(path: Path) -> Docs:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> Docs:
    return [
        doc for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml" for doc in load(path)
    ]


def of_kind(docs: Docs, kind: str) -> Docs:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: Docs, kind: str, name: str) -> dict[str, Any]:
    found = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def workloads(docs: Docs) -> Docs:
    return [doc for doc in docs if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}]


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector of matchLabels only (the manifests use no expressions)."""
    if selector.get("matchExpressions"):
        return False
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def pod_labels(docs: Docs, name: str) -> dict[str, str]:
    labels: dict[str, str] = named(docs, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
    return labels


def first_container(docs: Docs, name: str) -> dict[str, Any]:
    container: dict[str, Any] = named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    return container


def pod_spec(docs: Docs, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = named(docs, "Deployment", name)["spec"]["template"]["spec"]
    return pod


def body_size(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kmg]?)", value.strip().lower())
    assert match, f"not an nginx size: {value!r}"
    return int(match[1]) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match[2]]


# --- the checks: each returns its problems, [] when the manifests do what was asked ---------


def ingress_problems(docs: Docs) -> list[str]:
    problems = [] if of_kind(docs, "Ingress") else ["no Ingress"]
    for ing in of_kind(docs, "Ingress"):
        spec, notes = ing["spec"], ing["metadata"].get("annotations", {})
        if not spec.get("ingressClassName"):
            problems.append("Ingress without ingressClassName")
        tls = [entry for entry in spec.get("tls", []) if entry.get("secretName")]
        covered = {host for entry in tls for host in entry.get("hosts", [])}
        hosts = [rule.get("host") for rule in spec.get("rules", [])]
        problems += [f"host {host} is not under tls" for host in hosts if host not in covered]
        limit = notes.get("nginx.ingress.kubernetes.io/proxy-body-size")
        if limit is None or not 0 < body_size(limit) <= MAX_BODY:
            problems.append(f"body limit {limit!r} is not set to at most 1m")
    return problems


def pdb_problems(docs: Docs) -> list[str]:
    replicas = named(docs, "Deployment", "pooldrift")["spec"]["replicas"]
    labels = pod_labels(docs, "pooldrift")
    pdbs = [pdb for pdb in of_kind(docs, "PodDisruptionBudget") if selects(pdb["spec"]["selector"], labels)]
    if not pdbs:
        return ["no PodDisruptionBudget selects the pooldrift pods"]
    spec = pdbs[0]["spec"]
    # at least one pod may go (else drains hang) and at least one stays
    bounds = [(key, spec[key]) for key in ("minAvailable", "maxUnavailable") if key in spec]
    return [f"{key} {value} with {replicas} replicas" for key, value in bounds if not 1 <= value < replicas]


def _ports(rule: dict[str, Any]) -> set[tuple[str, Any]]:
    return {(port.get("protocol", "TCP"), port["port"]) for port in rule.get("ports", [])}


def _from_pods(peers: list[dict[str, Any]], labels: dict[str, str]) -> bool:
    return bool(peers) and all(selects(peer.get("podSelector", {}), labels) for peer in peers)


def network_problems(docs: Docs) -> list[str]:
    app, redis = pod_labels(docs, "pooldrift"), pod_labels(docs, "redis")
    ports = first_container(docs, "pooldrift")["ports"]
    served = {("TCP", p["containerPort"]) for p in ports} | {("TCP", p["name"]) for p in ports}
    policies = [p["spec"] for p in of_kind(docs, "NetworkPolicy")]
    mine = [p for p in policies if selects(p["podSelector"], app)]
    if len(mine) != 1:
        return [f"{len(mine)} NetworkPolicies select the pooldrift pods, expected one"]
    spec, problems = mine[0], []
    if set(spec.get("policyTypes", [])) != {"Ingress", "Egress"}:
        problems.append("the pooldrift policy does not restrict both directions")
    problems += [
        f"ingress beyond the service port: {rule}"
        for rule in spec.get("ingress", [])
        if not rule.get("ports") or not _ports(rule) <= served
    ]
    egress_rules = spec.get("egress", [])
    problems += [
        f"egress rule without ports (any port): {rule}" for rule in egress_rules if not rule.get("ports")
    ]
    problems += [
        f"egress to Redis's port is not limited to the Redis pods: {rule}"
        for rule in egress_rules
        if ("TCP", 6379) in _ports(rule) and not _from_pods(rule.get("to", []), redis)
    ]
    egress = set().union(*map(_ports, egress_rules))
    if egress != EGRESS:
        problems.append(f"egress ports {sorted(egress)} are not DNS, Redis and HTTPS ({sorted(EGRESS)})")
    problems += [
        f"Redis reachable from more than the pooldrift pods: {rule}"
        for policy in policies
        if selects(policy["podSelector"], redis)
        for rule in policy.get("ingress", [])
        if not _from_pods(rule.get("from", []), app)
    ]
    return problems


def image_problems(docs: Docs) -> list[str]:
    images = [c["image"] for w in workloads(docs) for c in containers(w["spec"]["template"]["spec"])]
    return [
        f"{image} is not pinned to an exact tag or a digest"
        for image in images
        if image.endswith(":latest") or not (DIGEST.search(image) or _EXACT_TAG.search(image))
    ]


def container_problems(container: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """``context``: the pod's security context overlaid with the container's."""
    caps, resources = context.get("capabilities", {}), container.get("resources", {})
    faults = {
        "may run as root": context.get("runAsNonRoot") is not True or context.get("runAsUser") == 0,
        "writable root file system": context.get("readOnlyRootFilesystem") is not True,
        "privilege escalation allowed": context.get("allowPrivilegeEscalation") is not False,
        "capabilities not all dropped": "ALL" not in caps.get("drop", []) or bool(caps.get("add")),
        "no RuntimeDefault seccomp profile": context.get("seccompProfile", {}).get("type")
        != "RuntimeDefault",
        "no readinessProbe": "readinessProbe" not in container,
        "no livenessProbe": "livenessProbe" not in container,
        "no cpu request": "cpu" not in resources.get("requests", {}),
        "no memory request": "memory" not in resources.get("requests", {}),
        "no memory limit": "memory" not in resources.get("limits", {}),
    }
    return [f"{container['name']}: {fault}" for fault, found in faults.items() if found]


def pod_problems(docs: Docs) -> list[str]:
    """The service-account token, service links, security context, resources and probes."""
    problems = [
        f"ServiceAccount {account['metadata']['name']} mounts its token"
        for account in of_kind(docs, "ServiceAccount")
        if account.get("automountServiceAccountToken") is not False
    ]
    for workload in workloads(docs):
        pod, where = workload["spec"]["template"]["spec"], workload["metadata"]["name"]
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: automountServiceAccountToken is not false")
        # a Service named pooldrift would set POOLDRIFT_PORT=tcp://… next to the code's settings
        if pod.get("enableServiceLinks") is not False:
            problems.append(f"{where}: enableServiceLinks is not false")
        for c in containers(pod):
            problems += container_problems(
                c, {**pod.get("securityContext", {}), **c.get("securityContext", {})}
            )
    return problems


def spread_problems(docs: Docs) -> list[str]:
    deployment = named(docs, "Deployment", "pooldrift")
    pod, labels = deployment["spec"]["template"]["spec"], pod_labels(docs, "pooldrift")
    by_node = [
        t
        for t in pod.get("topologySpreadConstraints", [])
        if t["topologyKey"] == "kubernetes.io/hostname"
        and t["whenUnsatisfiable"] == "DoNotSchedule"
        and selects(t["labelSelector"], labels)
    ]
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    required = [
        term
        for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
        if term["topologyKey"] == "kubernetes.io/hostname" and selects(term["labelSelector"], labels)
    ]
    return [] if by_node or required else ["the pooldrift replicas may share a node"]


def _env(container: dict[str, Any]) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = container.get("env", [])
    return env


def _from_secret(container: dict[str, Any], var: str, before: int | None = None) -> tuple[str, str] | None:
    """The Secret and key a variable is taken from, if it is defined (before index `before`)."""
    for entry in _env(container)[:before]:
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if entry["name"] == var and ref:
            return ref["name"], ref["key"]
    return None


def redis_auth_problems(docs: Docs) -> list[str]:
    secret = of_kind(docs, "Secret")[0]
    redis, app = first_container(docs, "redis"), first_container(docs, "pooldrift")
    args = redis.get("args", [])
    if "--requirepass" not in args[:-1]:
        return ["redis-server runs without --requirepass"]
    refs = _REF.findall(str(args[args.index("--requirepass") + 1]))
    source = _from_secret(redis, refs[0]) if len(refs) == 1 else None
    if source is None or source[0] != secret["metadata"]["name"] or source[1] not in secret["stringData"]:
        return [f"--requirepass is not a variable from the Secret {secret['metadata']['name']}"]
    urls = [(i, e) for i, e in enumerate(_env(app)) if e["name"] == "POOLDRIFT_REDIS_URL"]
    if len(urls) != 1 or "value" not in urls[0][1]:
        return ["POOLDRIFT_REDIS_URL is not set on the pooldrift container"]
    index, url = urls[0][0], urls[0][1]["value"]
    # the kubelet expands $(VAR) only from variables defined earlier in the list
    if not any(_from_secret(app, var, before=index) == source for var in _REF.findall(url)):
        return [f"POOLDRIFT_REDIS_URL does not carry the password from the Secret: {url}"]
    service = named(docs, "Service", "redis")
    if not re.match(rf"redis://:\$\(\w+\)@{service['metadata']['name']}[.:]", url):
        return [f"POOLDRIFT_REDIS_URL does not point at the redis Service: {url}"]
    return []


def _arg(args: list[Any], flag: str) -> str | None:
    return str(args[args.index(flag) + 1]) if flag in args[:-1] else None


def redis_persistence_problems(docs: Docs) -> list[str]:
    """redis-server keeps an append-only file in a folder on a PersistentVolumeClaim of the manifests."""
    redis, pod = first_container(docs, "redis"), pod_spec(docs, "redis")
    args = redis.get("args", [])
    if _arg(args, "--appendonly") != "yes":
        return [f"redis-server runs without --appendonly yes: the watch's episodes die with the pod ({args})"]
    folder = _arg(args, "--dir") or "/data"
    mounts = [m for m in redis.get("volumeMounts", []) if m["mountPath"].rstrip("/") == folder.rstrip("/")]
    if len(mounts) != 1:
        return [f"redis-server's folder {folder} is not a mounted volume"]
    volumes = [v for v in pod.get("volumes", []) if v["name"] == mounts[0]["name"]]
    claim = volumes[0].get("persistentVolumeClaim", {}).get("claimName") if volumes else None
    if claim is None:
        return [f"redis-server's folder {folder} is not on a PersistentVolumeClaim: {volumes}"]
    if claim not in {doc["metadata"]["name"] for doc in of_kind(docs, "PersistentVolumeClaim")}:
        return [f"the PersistentVolumeClaim {claim} is not in the manifests"]
    return []


CHECKS: dict[str, Callable[[Docs], list[str]]] = {
    "ingress": ingress_problems,
    "pdb": pdb_problems,
    "network": network_problems,
    "images": image_problems,
    "pods": pod_problems,
    "spread": spread_problems,
    "redis-auth": redis_auth_problems,
    "redis-persistence": redis_persistence_problems,
}


def aliases(model: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings model reads."""
    return {
        str(choice)
        for info in model.model_fields.values()
        if isinstance(info.validation_alias, AliasChoices)
        for choice in info.validation_alias.choices
    }


def code_settings() -> set[str]:
    """Every variable the code reads: the two settings models, and the server's own look-ups."""
    names = aliases(Settings) | aliases(SlackSettings)
    for path in (ROOT / "server" / "pooldrift_mcp").glob("*.py"):
        names.update(re.findall(r"\"((?:POOLDRIFT|SLACK|HUAWEICLOUD)_[A-Z_]+)\"", path.read_text()))
    return names


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def dockerignored(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts, excluded = path.split("/"), False
    for pattern in patterns:
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!").strip("/")
        regex = (
            re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        )
        regex = re.sub(r"\\\[(.*?)\\\]", r"[\1]", regex)
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded
