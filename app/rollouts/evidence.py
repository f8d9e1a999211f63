"""Collect the evidence of a failed canary from the Kubernetes API.

The Rollout is re-read first (notifications can be stale). Canary pods carry the Rollout's
``status.currentPodHash``, stable pods its ``status.stableRS``. Logs of both sides are read over one time
window, starting when the canary ReplicaSet was created, so that "only in the canary" means something:
the stable side's older lines are not compared with a canary that did not exist yet. A read that fails
(API down, slow, 403) leaves a sentence in ``Evidence.gaps`` and the collection goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from app.analysis.evidence import Evidence, LogChunk, PodEvidence, Side
from app.errors import FixloopError
from app.rollouts.evidence_parse import (
    image_changes,
    kube_event,
    metric_results,
    pod_evidence,
    template_images,
)
from app.rollouts.model import POD_TEMPLATE_HASH_LABEL, RolloutView, parse_rollout

log = logging.getLogger(__name__)

LOG_CONCURRENCY = 8
T = TypeVar("T")


class ClusterReader(Protocol):
    """What the collector reads; KubeClient and the file-backed SnapshotCluster both provide it."""

    async def get_rollout(self, ns: str, name: str) -> dict[str, Any]: ...
    async def list_pods(self, ns: str, label_selector: str) -> list[dict[str, Any]]: ...
    async def list_replica_sets(self, ns: str, label_selector: str) -> list[dict[str, Any]]: ...
    async def list_events(self, ns: str, field_selector: str) -> list[dict[str, Any]]: ...
    async def list_analysis_runs(
        self, ns: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]: ...
    async def read_log(
        self,
        ns: str,
        pod: str,
        container: str,
        *,
        tail_lines: int,
        since_time: str | None = None,
        previous: bool = False,
    ) -> str: ...


class _Collector:
    def __init__(self, kube: ClusterReader, ns: str, tail_lines: int) -> None:
        self.kube = kube
        self.ns = ns
        self.tail_lines = tail_lines
        self.gaps: list[str] = []
        self.limit = asyncio.Semaphore(LOG_CONCURRENCY)

    async def read(self, what: str, call: Awaitable[T], default: T) -> T:
        """One read; a failure becomes a gap, never an exception."""
        try:
            async with self.limit:
                return await call
        except (FixloopError, TimeoutError, OSError) as exc:
            self.gaps.append(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")
            return default


async def collect_evidence(
    kube: ClusterReader,
    ns: str,
    name: str,
    *,
    max_pods_per_side: int,
    tail_lines: int,
    fallback_rollout: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Evidence:
    collector = _Collector(kube, ns, tail_lines)
    view = await _rollout(collector, ns, name, fallback_rollout)
    canary_rs = await _replica_set(collector, view.current_pod_hash)
    stable_rs = await _replica_set(collector, view.stable_rs)
    window = str((canary_rs.get("metadata") or {}).get("creationTimestamp") or "") or None
    canary = await _pods(collector, view.current_pod_hash, Side.CANARY, max_pods_per_side)
    stable = await _pods(collector, view.stable_rs, Side.STABLE, max_pods_per_side)
    pods = canary + stable
    logs = await _logs(collector, pods, window)
    involved = [view.name] + [p.name for p in pods]
    involved += [str((rs.get("metadata") or {}).get("name")) for rs in (canary_rs, stable_rs) if rs]
    events = await _events(collector, involved)
    runs = await collector.read(
        "analysisruns", kube.list_analysis_runs(ns, f"{POD_TEMPLATE_HASH_LABEL}={view.current_pod_hash}"), []
    )
    stable_images = template_images(stable_rs) if stable_rs else {}
    return Evidence(
        namespace=ns,
        rollout=name,
        canary_hash=view.current_pod_hash,
        stable_hash=view.stable_rs,
        phase=view.phase,
        message=view.message,
        aborted=view.aborted,
        pods=pods,
        logs=logs,
        events=events,
        metrics=[m for run in runs for m in metric_results(run)],
        images=image_changes(stable_images, dict(view.containers)),
        gaps=collector.gaps,
        window_start=window or "",
        collected_at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


async def _rollout(collector: _Collector, ns: str, name: str, fallback: dict[str, Any] | None) -> RolloutView:
    if fallback is None:
        return parse_rollout(await collector.kube.get_rollout(ns, name))  # nothing to fall back on: raise
    raw = await collector.read(
        f"rollout {ns}/{name} (the notification's copy was used)",
        collector.kube.get_rollout(ns, name),
        fallback,
    )
    return parse_rollout(raw)


async def _replica_set(collector: _Collector, pod_hash: str) -> dict[str, Any]:
    if not pod_hash:
        return {}
    found = await collector.read(
        f"replicasets {pod_hash}",
        collector.kube.list_replica_sets(collector.ns, f"{POD_TEMPLATE_HASH_LABEL}={pod_hash}"),
        [],
    )
    return found[0] if found else {}


async def _pods(collector: _Collector, pod_hash: str, side: Side, cap: int) -> list[PodEvidence]:
    if not pod_hash:
        collector.gaps.append(f"{side.value} pods: the Rollout names no {side.value} revision")
        return []
    raw = await collector.read(
        f"{side.value} pods",
        collector.kube.list_pods(collector.ns, f"{POD_TEMPLATE_HASH_LABEL}={pod_hash}"),
        [],
    )
    ordered = sorted(raw, key=lambda p: str((p.get("metadata") or {}).get("name", "")))
    if len(ordered) > cap:
        collector.gaps.append(f"{side.value} pods: {len(ordered)} found, the first {cap} read")
    return [pod_evidence(p, side) for p in ordered[:cap]]


async def _logs(collector: _Collector, pods: list[PodEvidence], since: str | None) -> list[LogChunk]:
    reads = []
    for pod in pods:
        for container in pod.containers:
            reads.append((pod, container.name, False))
            if container.restart_count > 0:
                reads.append((pod, container.name, True))
    texts = await asyncio.gather(*(_log(collector, pod, name, prev, since) for pod, name, prev in reads))
    return [chunk for chunk in texts if chunk is not None]


async def _log(
    collector: _Collector, pod: PodEvidence, container: str, previous: bool, since: str | None
) -> LogChunk | None:
    kind = "previous log" if previous else "log"
    call = collector.kube.read_log(
        collector.ns,
        pod.name,
        container,
        tail_lines=collector.tail_lines,
        since_time=None if previous else since,
        previous=previous,
    )
    text = await collector.read(f"pods/log {pod.name}/{container} ({kind})", call, None)
    if text is None:
        return None
    lines = tuple(text.splitlines())
    return LogChunk(
        pod.name, container, pod.side, lines, previous=previous, truncated=len(lines) >= collector.tail_lines
    )


async def _events(collector: _Collector, names: list[str]) -> list[Any]:
    batches = await asyncio.gather(
        *(
            collector.read(
                f"events of {n}", collector.kube.list_events(collector.ns, f"involvedObject.name={n}"), []
            )
            for n in dict.fromkeys(names)
        )
    )
    return [kube_event(raw) for batch in batches for raw in batch]
