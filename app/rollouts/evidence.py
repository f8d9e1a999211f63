"""Collect the evidence of a failed canary from the Kubernetes API.

The Rollout is re-read first (notifications can be stale). Canary pods carry the Rollout's
``status.currentPodHash`` in their ``rollouts-pod-template-hash`` label, stable pods its ``status.stableRS``.
A read that fails (API down, slow, 403) leaves a sentence in ``Evidence.gaps`` and the collection goes on;
only a Rollout that cannot be read, with no notification copy to fall back on, raises.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from app.analysis.evidence import (
    Evidence,
    ImageChange,
    KubeEvent,
    LogChunk,
    PodEvidence,
    Side,
)
from app.errors import FixloopError
from app.rollouts.evidence_parse import (
    gap_reason,
    image_changes,
    kube_event,
    log_plan,
    log_since,
    log_window,
    metric_results,
    owned_by,
    pod_evidence,
    revision_hints,
    template_images,
    unhealthy_first,
)
from app.rollouts.model import POD_TEMPLATE_HASH_LABEL, RolloutView, parse_rollout

log = logging.getLogger(__name__)

LOG_CONCURRENCY = 8  # log reads in flight at once, per collection
LOG_LIMIT_BYTES = 4 * 1024 * 1024  # per read: the kubelet cuts there, so one chatty container cannot flood
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
        limit_bytes: int | None = None,
        timestamps: bool = False,
    ) -> str: ...


class _Collector:
    def __init__(self, kube: ClusterReader, ns: str, tail_lines: int) -> None:
        self.kube = kube
        self.ns = ns
        self.tail_lines = tail_lines
        # a sentence, or a failed read: (resource, reason, target, missing, the order it was asked in)
        self.notes: list[str | tuple[str, str, str, str, int]] = []
        self.log_slots = asyncio.Semaphore(LOG_CONCURRENCY)
        self.asked = itertools.count()  # reads finish in any order; the gap lists them as they were asked

    async def read(
        self, resource: str, target: str, call: Awaitable[T], default: T, missing: str, *, asked: int = -1
    ) -> T:
        """One read; a failure becomes a gap, never an exception."""
        asked = next(self.asked) if asked < 0 else asked
        try:
            return await call
        except (FixloopError, TimeoutError, OSError) as exc:
            self.notes.append((resource, gap_reason(exc), target, missing, asked))
            log.info("evidence read failed: %s %s: %s", resource, target, exc)
            return default

    def gaps(self) -> list[str]:
        """Sentences such as "pods/log forbidden (403) for demo/web-1/app: logs missing"; failed reads of
        one resource for one reason are told once, with the first few targets."""
        groups: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
        for note in self.notes:
            if isinstance(note, tuple):
                groups.setdefault(note[:2], []).append((note[4], note[2], note[3]))
        sentences, told = [], set()
        for note in self.notes:
            if isinstance(note, str):
                sentences.append(note)
                continue
            key = note[:2]
            if key in told:
                continue
            told.add(key)
            failed = sorted(groups[key])
            targets = ", ".join(target for _, target, _ in failed[:3]) + (", ..." if len(failed) > 3 else "")
            count = f"{len(failed)} reads: " if len(failed) > 1 else ""
            sentences.append(f"{key[0]} {key[1]} for {count}{targets}: {failed[0][2]}")
        return sentences


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
    c = _Collector(kube, ns, tail_lines)
    view = await _rollout(c, ns, name, fallback_rollout)
    canary_hash, stable_hash = view.current_pod_hash, view.stable_rs
    if canary_hash and canary_hash == stable_hash:
        c.notes.append(f"the canary revision {canary_hash} is the stable one: there is no canary to compare")
        stable_hash = ""
    canary_rs, stable_rs, canary_raw, stable_raw, runs = await asyncio.gather(
        _replica_set(c, view, canary_hash, Side.CANARY),
        _replica_set(c, view, stable_hash, Side.STABLE),
        _pods(c, view, canary_hash, Side.CANARY, max_pods_per_side),
        _pods(c, view, stable_hash, Side.STABLE, max_pods_per_side),
        _analysis_runs(c, view, canary_hash),
    )
    window = log_window(canary_raw, canary_rs)
    pods = [pod_evidence(p, Side.CANARY) for p in canary_raw] + [
        pod_evidence(p, Side.STABLE) for p in stable_raw
    ]
    involved = [("Rollout", name)] + [("ReplicaSet", _name(rs)) for rs in (canary_rs, stable_rs) if rs]
    logs, events = await asyncio.gather(
        _logs(c, pods, window), _events(c, involved + [("Pod", p.name) for p in pods])
    )
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
        metrics=[metric for run in runs for metric in metric_results(run)],
        images=_images(c, view, canary_rs, stable_rs),
        gaps=c.gaps(),
        revision_hints=revision_hints(view, canary_raw, stable_raw, canary_rs, stable_rs),
        window_start=window,
        collected_at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


async def _rollout(c: _Collector, ns: str, name: str, fallback: dict[str, Any] | None) -> RolloutView:
    if fallback is None:
        return parse_rollout(await c.kube.get_rollout(ns, name))  # nothing to fall back on: raise
    missing = "the notification's copy was used, and may be stale"
    raw = await c.read("rollouts", f"{ns}/{name}", c.kube.get_rollout(ns, name), fallback, missing)
    return parse_rollout(raw)


async def _replica_set(c: _Collector, view: RolloutView, pod_hash: str, side: Side) -> dict[str, Any]:
    if not pod_hash:
        return {}
    selector = f"{POD_TEMPLATE_HASH_LABEL}={pod_hash}"
    missing = f"the {side.value} ReplicaSet (creation time, images, events) is missing"
    found = await c.read(
        "replicasets", f"{c.ns} {selector}", c.kube.list_replica_sets(c.ns, selector), [], missing
    )
    mine = [rs for rs in found if owned_by(rs, "Rollout", view.name)]
    return mine[0] if mine else {}


async def _pods(
    c: _Collector, view: RolloutView, pod_hash: str, side: Side, cap: int
) -> list[dict[str, Any]]:
    if not pod_hash:
        if side is Side.CANARY:
            c.notes.append(
                f"the Rollout names no {side.value} revision (status.currentPodHash): no {side.value} pods"
            )
        return []
    selector = ",".join(
        [*(f"{k}={v}" for k, v in sorted(view.selector.items())), f"{POD_TEMPLATE_HASH_LABEL}={pod_hash}"]
    )
    missing = f"{side.value} pods, their logs and events are missing"
    found = await c.read("pods", f"{c.ns} {selector}", c.kube.list_pods(c.ns, selector), None, missing)
    if found is None:
        return []
    if not found:
        c.notes.append(
            f"no {side.value} pods found with {selector} (scaled down?): {side.value} logs are missing"
        )
    if len(found) > cap:
        c.notes.append(f"{side.value} pods: {len(found)} found, {cap} read (the least healthy first)")
    return unhealthy_first(found)[:cap]


async def _analysis_runs(c: _Collector, view: RolloutView, pod_hash: str) -> list[dict[str, Any]]:
    if not pod_hash:
        return []
    selector = f"{POD_TEMPLATE_HASH_LABEL}={pod_hash}"
    missing = "analysis results (metric values, conditions) are missing"
    runs = await c.read(
        "analysisruns", f"{c.ns} {selector}", c.kube.list_analysis_runs(c.ns, selector), [], missing
    )
    mine = [run for run in runs if owned_by(run, "Rollout", view.name)]
    return sorted(mine, key=lambda run: str((run.get("metadata") or {}).get("creationTimestamp", "")))


async def _logs(c: _Collector, pods: list[PodEvidence], window: str) -> list[LogChunk]:
    reads = [(pod, name, previous) for pod in pods for name, previous in log_plan(pod)]
    chunks = await asyncio.gather(
        *(_log(c, pod, name, previous, log_since(pod, window)) for pod, name, previous in reads)
    )
    return [chunk for chunk in chunks if chunk is not None]


async def _log(
    c: _Collector, pod: PodEvidence, container: str, previous: bool, since: str | None
) -> LogChunk | None:
    """One container log, with its timestamps (the compactor strips them and keeps first/last seen)."""
    target = f"{c.ns}/{pod.name}/{container}" + (" (previous)" if previous else "")
    asked = next(c.asked)  # before the wait for a slot: the least healthy pods' reads are told first
    async with c.log_slots:
        call = c.kube.read_log(
            c.ns,
            pod.name,
            container,
            tail_lines=c.tail_lines,
            since_time=since,
            previous=previous,
            limit_bytes=LOG_LIMIT_BYTES,
            timestamps=True,
        )
        text = await c.read("pods/log", target, call, None, "logs missing", asked=asked)
    if text is None or not text.strip():  # nothing written in the window: no chunk
        return None
    lines = tuple(text.splitlines())
    truncated = len(lines) >= c.tail_lines or len(text) >= LOG_LIMIT_BYTES
    return LogChunk(pod.name, container, pod.side, lines, previous=previous, truncated=truncated)


async def _events(c: _Collector, involved: list[tuple[str, str]]) -> list[KubeEvent]:
    async def about(kind: str, name: str) -> list[dict[str, Any]]:
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        call = c.kube.list_events(c.ns, selector)
        return await c.read("events", f"{kind} {c.ns}/{name}", call, [], "its events are missing")

    batches = await asyncio.gather(*(about(kind, name) for kind, name in dict.fromkeys(involved)))
    events = [kube_event(raw) for batch in batches for raw in batch]
    return sorted(events, key=lambda event: event.last_seen)


def _images(
    c: _Collector, view: RolloutView, canary_rs: dict[str, Any], stable_rs: dict[str, Any]
) -> list[ImageChange]:
    """Canary images from the Rollout's template, or the canary ReplicaSet's when the template lives
    elsewhere (``spec.workloadRef``); stable images from the stable ReplicaSet's pod template."""
    canary = {**view.init_containers, **view.containers}
    if not canary or view.workload_ref is not None:
        canary = template_images(canary_rs)
    if not stable_rs:
        unread = any(isinstance(note, tuple) and note[0] == "replicasets" for note in c.notes)
        if view.stable_rs and view.stable_rs != view.current_pod_hash and not unread:
            c.notes.append(f"no stable ReplicaSet {view.stable_rs} found: the stable images are unknown")
        return []
    return image_changes(template_images(stable_rs), canary)


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")
