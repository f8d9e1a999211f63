"""Reading the manifests under k8s/ (shared by the tests of this package)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
DEMO_NOTIFICATION = REPO / "app" / "examples" / "demo-notification.json"
# Argo Rollouts' built-in triggers that Fixloop listens to (DESIGN.md: the notification `event` values).
EVENTS = (
    "rollout-aborted",
    "analysis-run-failed",
    "analysis-run-error",
    "rollout-completed",
    "rollout-updated",
    "rollout-step-completed",
    "rollout-paused",
)
NOTIFICATIONS_CONFIGMAP = "argo-rollouts/notifications-configmap.yaml"
NOTIFICATIONS_SECRET = "argo-rollouts/notifications-secret.example.yaml"


def yaml_files() -> list[Path]:
    return sorted([*K8S.rglob("*.yaml"), *K8S.rglob("*.yml")])


@functools.cache
def _docs(path: Path) -> tuple[Any, ...]:
    with path.open(encoding="utf-8") as handle:
        return tuple(doc for doc in yaml.safe_load_all(handle) if doc is not None)


def docs(name: str) -> list[dict[str, Any]]:
    """The (deep-copied) YAML documents of ``k8s/<name>``."""
    copied: list[dict[str, Any]] = json.loads(json.dumps(_docs(K8S / name)))
    return copied


def one(name: str, kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in docs(name) if doc["kind"] == kind]
    return found


def kustomization() -> dict[str, Any]:
    (doc,) = docs("kustomization.yaml")
    return doc


def in_cluster_url(path: str) -> str:
    """``http://<service>.<namespace>.svc:<port><path>`` from service.yaml and the kustomize namespace."""
    service = one("service.yaml", "Service")
    (port,) = [p["port"] for p in service["spec"]["ports"] if p["name"] == "http"]
    return f"http://{service['metadata']['name']}.{kustomization()['namespace']}.svc:{port}{path}"


def url_path(url: str) -> str:
    return urlparse(url).path
