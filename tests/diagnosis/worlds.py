"""Diagnosis worlds: one failed canary each, seeded into the fake cluster with recent timestamps.

Each world starts from the demo (Rollout, ReplicaSets, 3 stable and 3 canary pods with an istio sidecar,
stable logs), moved to minutes ago with every node's clock 1 to 5 minutes behind the API server's, in a
namespace of its own; then its canary pods, logs, Events and AnalysisRun are replaced by its failure.
``signature`` is what the issue title must name, ``classification`` what the analysis must say, and
``handoff`` whether a coding agent may be engaged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.analysis.verdict import Classification
from tests.diagnosis.world_logs import GO_PANIC, JAVA_NPE, MISSING_ENV, PY_KEYERROR, SERVING
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import DEMO_NAMESPACE, recent_demo
from tests.fakes.kube_objects import kube_event

CANARY_HASH = "7b6cd8d9f4"
APP = "rollouts-demo"
IMAGE = "argoproj/rollouts-demo:bad-red"
SKEW = {  # every node's clock lags the API server's: the canary's lines are stamped before its pods exist
    "kind-worker": timedelta(minutes=-5),
    "kind-worker2": timedelta(minutes=-2),
    "kind-worker3": timedelta(minutes=-1),
}
Mutator = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class World:
    name: str
    signature: str
    classification: Classification
    handoff: bool
    mutate: Mutator = field(repr=False)
    previous_log: tuple[str, ...] = ()  # the crashed instance of the app container, on every canary pod
    current_log: tuple[str, ...] = ()

    @property
    def namespace(self) -> str:
        return f"world-{self.name}"


def _canary_pods(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o
        for o in objects
        if o["kind"] == "Pod" and o["metadata"]["labels"].get("rollouts-pod-template-hash") == CANARY_HASH
    ]


def _app_status(pod: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in pod["status"]["containerStatuses"] if s["name"] == APP)


def _crashing(reason: str, exit_code: int, *, waiting: bool = True) -> Mutator:
    """The app container restarted 3 times after ``reason``; in CrashLoopBackOff, or running again."""

    def mutate(objects: dict[str, Any]) -> None:
        for pod in _canary_pods(objects["items"]):
            status = _app_status(pod)
            started = pod["metadata"]["creationTimestamp"]
            status.update(ready=False, restartCount=3, started=not waiting)
            status["state"] = (
                {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed"}}
                if waiting
                else {"running": {"startedAt": started}}
            )
            status["lastState"] = {
                "terminated": {
                    "reason": reason,
                    "exitCode": exit_code,
                    "startedAt": started,
                    "finishedAt": started,
                }
            }
            objects["events"].append((pod, "BackOff", f"Back-off restarting failed container {APP}"))

    return mutate


def _healthy_canary(objects: dict[str, Any]) -> None:
    for pod in _canary_pods(objects["items"]):
        status = _app_status(pod)
        status.update(ready=True, restartCount=0, started=True, lastState={})
        status["state"] = {"running": {"startedAt": pod["metadata"]["creationTimestamp"]}}
        pod["status"]["conditions"] = [{"type": t, "status": "True"} for t in ("PodScheduled", "Ready")]


def _metric(
    name: str, phase: str, values: list[str], *, success: str, message: str = "", errors: int = 0
) -> Mutator:
    def mutate(objects: dict[str, Any]) -> None:
        run = next(o for o in objects["items"] if o["kind"] == "AnalysisRun")
        spec = run["spec"]["metrics"][0]
        spec.update(name=name, successCondition=success)
        result = {
            "name": name,
            "phase": phase,
            "count": len(values) or errors,
            "failed": len(values) if phase == "Failed" else 0,
            "error": errors,
            "measurements": [{"phase": phase, "value": v} for v in values]
            or [{"phase": "Error", "message": message}] * max(errors, 1),
        }
        if message:
            result["message"] = message
        run["status"].update(phase=phase, message=f'Metric "{name}" assessed {phase}', metricResults=[result])

    return mutate


def _no_metrics(objects: dict[str, Any]) -> None:
    objects["items"] = [o for o in objects["items"] if o["kind"] != "AnalysisRun"]


def _image_pull(objects: dict[str, Any]) -> None:
    _no_metrics(objects)
    for pod in _canary_pods(objects["items"]):
        pod["status"]["phase"] = "Pending"
        status = _app_status(pod)
        status.update(ready=False, restartCount=0, started=False, lastState={})
        status["state"] = {
            "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{IMAGE}"'}
        }
        objects["events"].append(
            (
                pod,
                "Failed",
                f'Failed to pull image "{IMAGE}": rpc error: code = NotFound '
                f'desc = failed to pull and unpack image "docker.io/{IMAGE}": '
                "manifest unknown",
            )
        )
        objects["events"].append((pod, "BackOff", f'Back-off pulling image "{IMAGE}"'))


def _unschedulable(objects: dict[str, Any]) -> None:
    _no_metrics(objects)
    for pod in _canary_pods(objects["items"]):
        pod["spec"].pop("nodeName", None)
        message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available."
        pod["status"] = {
            "phase": "Pending",
            "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
            ],
        }
        objects["events"].append((pod, "FailedScheduling", message))


def _over_quota(objects: dict[str, Any]) -> None:
    """No canary pod at all: the ReplicaSet's creations are refused by the namespace's ResourceQuota."""
    _no_metrics(objects)
    canary = _canary_pods(objects["items"])
    objects["items"] = [o for o in objects["items"] if o not in canary]
    rs = next(
        o
        for o in objects["items"]
        if o["kind"] == "ReplicaSet" and o["metadata"]["name"].endswith(CANARY_HASH)
    )
    message = (
        f'Error creating: pods "{rs["metadata"]["name"]}-x7k2p" is forbidden: exceeded quota: compute, '
        "requested: limits.memory=64Mi, used: limits.memory=4Gi, limited: limits.memory=4Gi"
    )
    objects["events"].append((rs, "FailedCreate", message))


def _evicted(objects: dict[str, Any]) -> None:
    """The node ran out of memory and evicted the canary pods (kubelet eviction, not the app's limit)."""
    for pod in _canary_pods(objects["items"]):
        pod["status"] = {
            "phase": "Failed",
            "reason": "Evicted",
            "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87Mi.",
        }
        objects["events"].append((pod, "Evicted", "The node was low on resource: memory."))


def _both(*mutators: Mutator) -> Mutator:
    def mutate(objects: dict[str, Any]) -> None:
        for mutator in mutators:
            mutator(objects)

    return mutate


WORLDS = (
    World(
        "go-panic",
        "index out of range",
        Classification.CODE,
        True,
        _both(
            _crashing("Error", 2),
            _metric("success-rate", "Failed", ["[0.71]", "[0.68]"], success="result[0] >= 0.95"),
        ),
        previous_log=(*SERVING, *GO_PANIC),
    ),
    World(
        "oom",
        "OOMKilled",
        Classification.CODE,
        True,
        _crashing("OOMKilled", 137, waiting=False),
        previous_log=tuple(SERVING),
        current_log=tuple(SERVING[:3]),
    ),
    World(
        "missing-env",
        "COLOR_SERVICE_URL",
        Classification.CONFIG,
        True,
        _crashing("Error", 1),
        previous_log=("Starting rollouts-demo", *MISSING_ENV),
    ),
    World(
        "latency",
        "latency-p99",
        Classification.CODE,
        True,
        _both(
            _healthy_canary,
            _metric("latency-p99", "Failed", ["[812]", "[790]", "[845]"], success="result[0] < 500"),
        ),
        current_log=tuple(line.replace("(1.", "(81") for line in SERVING),
    ),
    World("image-pull", "ImagePullBackOff", Classification.INFRA, False, _image_pull),
    World("unschedulable", "Unschedulable", Classification.INFRA, False, _unschedulable),
    World(
        "no-metric-data",
        "success-rate",
        Classification.INFRA,
        False,
        _both(
            _healthy_canary,
            _metric(
                "success-rate",
                "Error",
                [],
                success="result[0] >= 0.95",
                errors=5,
                message='Post "http://prometheus.istio-system.svc:9090/api/v1/query": dial tcp: lookup '
                "prometheus.istio-system.svc: no such host",
            ),
        ),
        current_log=tuple(SERVING),
    ),
    World("quota", "exceeded quota", Classification.INFRA, False, _over_quota),
    World("node-evicted", "Evicted", Classification.INFRA, False, _evicted),
    World(
        "java-npe",
        "NullPointerException",
        Classification.CODE,
        True,
        _crashing("Error", 1),
        previous_log=(*SERVING[:4], *JAVA_NPE),
    ),
    World(
        "python-keyerror",
        "KeyError",
        Classification.CODE,
        True,
        _crashing("Error", 1),
        previous_log=(*SERVING[:4], *PY_KEYERROR),
    ),
)


def _stamped(lines: tuple[str, ...], start: datetime) -> list[str]:
    return [
        f"{start + timedelta(milliseconds=250 * i):%Y-%m-%dT%H:%M:%S.%f}Z {line}"
        for i, line in enumerate(lines)
    ]


def seed_world(fake: FakeKube, world: World, *, now: datetime | None = None) -> None:
    """The world in its own namespace; canary log lines stamped by their node's (skewed) clock."""
    objects, logs, _ = recent_demo(aborted_ago=timedelta(minutes=2), node_skew=SKEW, now=now)
    canary = {p["metadata"]["name"] for p in _canary_pods(objects)}
    kept = [o for o in objects if not (o["kind"] == "Event" and o["involvedObject"]["name"] in canary)]
    state: dict[str, Any] = {"items": kept, "events": []}
    world.mutate(state)
    for obj in state["items"]:
        obj["metadata"]["namespace"] = world.namespace
        if obj["kind"] == "Event":
            obj["involvedObject"]["namespace"] = world.namespace
    fake.add(*state["items"])
    for pod, reason, message in state["events"]:
        moved = copy.deepcopy(pod)
        fake.add(kube_event(moved, reason, message, type_="Warning", count=4))
    for namespace, pod, container, previous, lines in logs:
        if namespace == DEMO_NAMESPACE and pod not in canary:
            fake.set_logs(world.namespace, pod, container, lines, previous=previous)
    when = (now or datetime.now(UTC)) - timedelta(minutes=4)
    for pod in _canary_pods(state["items"]):
        skew = SKEW.get(pod["spec"].get("nodeName", ""), timedelta())
        for previous, lines in ((True, world.previous_log), (False, world.current_log)):
            if lines:
                fake.set_logs(
                    world.namespace,
                    pod["metadata"]["name"],
                    APP,
                    _stamped(lines, when + skew + timedelta(minutes=2 * (not previous))),
                    previous=previous,
                )
