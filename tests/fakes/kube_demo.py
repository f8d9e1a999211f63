"""Seed the fake Kubernetes API with the demo cluster shipped in ``app/examples/`` (data, not code)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tests.fakes.kube import FakeKube

EXAMPLES = Path(__file__).resolve().parents[2] / "app" / "examples"
DEMO_CLUSTER = EXAMPLES / "demo-cluster.yaml"
DEMO_NOTIFICATION = EXAMPLES / "demo-notification.json"
LOGS = EXAMPLES / "logs"
DEMO_NAMESPACE = "demo"
DEMO_ROLLOUT = "rollouts-demo"


def demo_objects() -> list[dict[str, Any]]:
    return copy.deepcopy(_parsed())


@functools.cache
def _parsed() -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with DEMO_CLUSTER.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.load_all(handle, Loader=loader) if doc]


@functools.cache
def _log_files() -> tuple[tuple[str, str, str, bool, tuple[str, ...]], ...]:
    found = []
    for path in sorted(LOGS.glob("*/*/*.log")):
        namespace, pod = path.parent.parent.name, path.parent.name
        container, _, rest = path.name.removesuffix(".log").partition(".")
        lines = tuple(path.read_text(encoding="utf-8").splitlines())
        found.append((namespace, pod, container, rest == "previous", lines))
    return tuple(found)


def demo_notification() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO_NOTIFICATION.read_text(encoding="utf-8"))
    return data


def load_demo(fake: FakeKube) -> None:
    """All demo objects, then every log file: logs/<ns>/<pod>/<container>[.previous].log."""
    fake.add(*_parsed())  # the store copies what it keeps
    for namespace, pod, container, previous, lines in _log_files():
        fake.set_logs(namespace, pod, container, lines, previous=previous)


def clone_demo(fake: FakeKube, namespace: str, repo: str | None = None) -> None:
    """The demo cluster again in ``namespace`` (objects, events' subjects, logs), so that each copy is a
    Rollout of its own and fails as an incident of its own; ``repo`` re-maps it (fixloop.dev/repo)."""
    objects = demo_objects()
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
        if obj.get("kind") == "Event":
            obj["involvedObject"]["namespace"] = namespace
        if obj.get("kind") == "Rollout" and repo is not None:
            obj["metadata"]["annotations"]["fixloop.dev/repo"] = repo
    fake.add(*objects)
    for source, pod, container, previous, lines in _log_files():
        if source == DEMO_NAMESPACE:
            fake.set_logs(namespace, pod, container, lines, previous=previous)


def cloned_notification(
    namespace: str, repo: str | None = None, event: str = "rollout-aborted"
) -> dict[str, Any]:
    """Argo's notification for the copy of the demo Rollout in ``namespace``."""
    body = demo_notification()
    body["event"] = event
    metadata = body["rollout"]["metadata"]
    metadata["namespace"] = namespace
    if repo is not None:
        metadata["annotations"]["fixloop.dev/repo"] = repo
    return body


# The demo extended with revisions: its ReplicaSets' pod templates (and pods) carry `fixloop.dev/revision`.
DEMO_STABLE_SHA = "4e1f2a9c0b7d3e5f6a8b9c0d1e2f3a4b5c6d7e8f"
DEMO_CANARY_SHA = "9b2d7e1c4a6f8b0d2e4f6a8c0e2b4d6f8a0c2e4d"


def load_demo_without_revisions(fake: FakeKube) -> None:
    """The demo with no `fixloop.dev/revision` anywhere: neither side's commit is stated."""
    objects = demo_objects()
    for obj in objects:
        template = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
        for meta in (obj["metadata"], template):
            (meta.get("annotations") or {}).pop("fixloop.dev/revision", None)
    fake.add(*objects)
    for namespace, pod, container, previous, lines in _log_files():
        fake.set_logs(namespace, pod, container, lines, previous=previous)
