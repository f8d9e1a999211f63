"""Builders of Kubernetes objects for seeding the fake API in tests."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from tests.fakes.kube_store import now_rfc3339


def kube_event(
    involved: dict[str, Any],
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    count: int = 1,
    when: str = "",
) -> dict[str, Any]:
    """A core/v1 Event about ``involved`` (a Pod, ReplicaSet or Rollout object)."""
    meta = involved["metadata"]
    when = when or now_rfc3339()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{zlib.crc32(f'{reason}{message}'.encode()):x}",
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "count": count,
        "firstTimestamp": when,
        "lastTimestamp": when,
        "source": {"component": "fake"},
    }


# --- other writers of a Rollout, for ``FakeKube.race`` --------------------------------------------


def controller_status_write(rollout: dict[str, Any]) -> None:
    """What the Argo Rollouts controller does on every reconcile: rewrites the status (here a
    condition's heartbeat), which moves the resourceVersion and nothing in the spec."""
    status = rollout.setdefault("status", {})
    now = now_rfc3339()
    heartbeat = {"lastTransitionTime": now, "message": "reconciled", "reason": "Reconciled"}
    heartbeat |= {"status": "True", "type": "Progressing"}
    status["conditions"] = [{**c, "lastUpdateTime": now} for c in status.get("conditions") or []] or [
        {**heartbeat, "lastUpdateTime": now}
    ]
    status["observedGeneration"] = str(rollout["metadata"].get("generation", 1))


def new_revision(container: str, image: str, pod_hash: str) -> Callable[[dict[str, Any]], None]:
    """Another deploy (a GitOps sync, a person's ``set image``): the container's image and the revision."""

    def write(rollout: dict[str, Any]) -> None:
        for item in rollout["spec"]["template"]["spec"]["containers"]:
            if item["name"] == container:
                item["image"] = image
        rollout.setdefault("status", {})["currentPodHash"] = pod_hash

    return write
