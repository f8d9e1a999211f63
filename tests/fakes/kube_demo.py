"""Seed the fake Kubernetes API with the demo cluster shipped in ``app/examples/`` (data, not code)."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
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
DEMO_ABORTED_AT = datetime(2026, 3, 2, 10, 2, 17, tzinfo=UTC)  # the notification's time
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)( |$)")


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


LogFile = tuple[str, str, str, bool, list[str]]  # namespace, pod, container, previous, lines


def load_recent_demo(
    fake: FakeKube,
    *,
    aborted_ago: timedelta = timedelta(minutes=2),
    node_skew: Mapping[str, timedelta] | None = None,
    now: datetime | None = None,
) -> timedelta:
    """The demo moved in time so that its abort happened ``aborted_ago`` before now (see recent_demo).
    Returns the shift applied."""
    objects, logs, shift = recent_demo(aborted_ago=aborted_ago, node_skew=node_skew, now=now)
    fake.add(*objects)
    for namespace, pod, container, previous, lines in logs:
        fake.set_logs(namespace, pod, container, lines, previous=previous)
    return shift


def recent_demo(
    *,
    aborted_ago: timedelta = timedelta(minutes=2),
    node_skew: Mapping[str, timedelta] | None = None,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], list[LogFile], timedelta]:
    """The demo's objects and logs with every timestamp shifted alike, so that the abort happened
    ``aborted_ago`` before now (the pods started minutes ago, restarted since). ``node_skew`` puts a
    node's clock off the API server's: the log lines and container times of its pods (stamped by the
    node's container runtime) move by that much more; creation times and Events (the control plane's)
    do not."""
    shift = (now or datetime.now(UTC)) - aborted_ago - DEMO_ABORTED_AT
    shift = timedelta(seconds=round(shift.total_seconds()))  # whole seconds: fractions stay as written
    skews = dict(node_skew or {})
    objects = demo_objects()
    pod_skew: dict[str, timedelta] = {}
    for obj in objects:
        shift_tree(obj, shift)
        if obj.get("kind") == "Pod":
            skew = skews.get(obj["spec"].get("nodeName", ""), timedelta())
            pod_skew[obj["metadata"]["name"]] = skew
            shift_tree(obj["status"].get("containerStatuses", []), skew)
            shift_tree(obj["status"].get("initContainerStatuses", []), skew)
    logs = [
        (
            namespace,
            pod,
            container,
            previous,
            [shift_line(x, shift + pod_skew.get(pod, timedelta())) for x in lines],
        )
        for namespace, pod, container, previous, lines in _log_files()
    ]
    return objects, logs, shift


def _shift_text(text: str, by: timedelta) -> str:
    found = _RFC3339.match(text)
    if not found:
        return text
    head = found.group(1)
    moved = datetime.fromisoformat(head.replace("Z", "+00:00")) + by
    fraction = "." + head.rsplit(".", 1)[1] if "." in head else "Z"
    stamp = moved.strftime("%Y-%m-%dT%H:%M:%S") + (fraction if fraction != "Z" else "Z")
    return stamp + text[len(head) :]


def shift_line(line: str, by: timedelta) -> str:
    return _shift_text(line, by) if _RFC3339.match(line) else line


def shift_tree(node: Any, by: timedelta) -> None:
    """Every RFC3339 string value in a JSON tree, moved by ``by`` (in place)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str) and _RFC3339.match(value):
            node[key] = _shift_text(value, by)
        else:
            shift_tree(value, by)


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
