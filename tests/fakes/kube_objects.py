"""Builders of Kubernetes objects for seeding the fake API in tests."""

from __future__ import annotations

import zlib
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
