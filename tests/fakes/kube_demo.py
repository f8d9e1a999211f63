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
