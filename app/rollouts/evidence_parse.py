"""Pure parsing of Kubernetes objects into evidence records (no I/O)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from app.analysis.evidence import (
    ContainerState,
    ImageChange,
    KubeEvent,
    MetricResult,
    PodEvidence,
    RevisionHint,
    Side,
)
from app.rollouts.kube_errors import KubeConflict, KubeForbidden, KubeInvalid, KubeNotFound, KubeUnavailable
from app.rollouts.model import RolloutView

SIDECARS = frozenset(
    {"istio-proxy", "istio-init", "linkerd-proxy", "linkerd-init", "envoy", "vault-agent", "cloud-sql-proxy"}
)
PROVIDER_QUERY = {
    "prometheus": "query",
    "datadog": "query",
    "newRelic": "query",
    "wavefront": "query",
    "graphite": "query",
    "influxdb": "query",
    "skywalking": "query",
    "web": "url",
    "cloudWatch": "metricDataQueries",
    "kayenta": "application",
}
MAX_VALUES = 10
CLOCK_SKEW_MARGIN = timedelta(minutes=10)  # how far a node's clock may lag the API server's
_ARG = re.compile(r"\{\{\s*args\.([\w.-]+)\s*\}\}")
_HTTP = re.compile(r"HTTP (\d{3})")


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def container_state(spec: dict[str, Any], status: dict[str, Any] | None, *, init: bool) -> ContainerState:
    status = status or {}
    state = status.get("state") or {}
    current = next(iter(state), "")
    last = _dig(status, "lastState", "terminated") or {}
    native_sidecar = init and spec.get("restartPolicy") == "Always"
    return ContainerState(
        name=str(spec.get("name", "")),
        image=str(spec.get("image", "")),
        ready=bool(status.get("ready", False)),
        restart_count=int(status.get("restartCount", 0) or 0),
        is_sidecar=spec.get("name") in SIDECARS or native_sidecar,
        state=current,
        reason=str((state.get(current) or {}).get("reason", "")) if current else "",
        last_termination_reason=str(last.get("reason", "")),
        last_exit_code=int(last["exitCode"]) if "exitCode" in last else None,
    )


def pod_evidence(pod: dict[str, Any], side: Side) -> PodEvidence:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = {s.get("name"): s for s in status.get("containerStatuses") or []}
    init_statuses = {s.get("name"): s for s in status.get("initContainerStatuses") or []}
    containers = [
        container_state(c, init_statuses.get(c.get("name")), init=True)
        for c in spec.get("initContainers") or []
    ]
    containers += [
        container_state(c, statuses.get(c.get("name")), init=False) for c in spec.get("containers") or []
    ]
    reason = status.get("reason", "")
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            reason = condition.get("reason") or "Unschedulable"
    return PodEvidence(
        name=str(_dig(pod, "metadata", "name") or ""),
        side=side,
        phase=str(status.get("phase", "")),
        pod_hash=str(_dig(pod, "metadata", "labels", "rollouts-pod-template-hash") or ""),
        node=str(spec.get("nodeName", "")),
        reason=str(reason or ""),
        containers=tuple(containers),
    )


def kube_event(raw: dict[str, Any]) -> KubeEvent:
    involved = raw.get("involvedObject") or {}
    return KubeEvent(
        kind=str(involved.get("kind", "")),
        name=str(involved.get("name", "")),
        type=str(raw.get("type", "")),
        reason=str(raw.get("reason", "")),
        message=str(raw.get("message", "")),
        count=int(raw.get("count") or 1),
        last_seen=str(raw.get("lastTimestamp") or raw.get("eventTime") or ""),
    )


def gap_reason(exc: BaseException) -> str:
    """Why a read failed, in a few words: "forbidden (403)", "timed out", "unreachable (API down?)"."""
    code = _HTTP.search(str(exc))
    status = f" ({code.group(1)})" if code else ""
    if isinstance(exc, KubeForbidden):
        return "unauthorized (401)" if status == " (401)" else "forbidden (403)"
    if isinstance(exc, KubeNotFound):
        return "not found (404)"
    if isinstance(exc, TimeoutError) or (isinstance(exc, KubeUnavailable) and "timed out" in str(exc)):
        return "timed out"
    if isinstance(exc, KubeUnavailable):
        return f"unavailable{status}" if status else "unreachable (API server down?)"
    if isinstance(exc, KubeInvalid | KubeConflict):
        return f"rejected{status}"
    return f"failed ({type(exc).__name__})"


def owned_by(obj: dict[str, Any], kind: str, name: str) -> bool:
    """True if ``obj`` has no owner references, or one of them is ``kind/name``."""
    owners = _dig(obj, "metadata", "ownerReferences") or []
    return not owners or any(o.get("kind") == kind and o.get("name") == name for o in owners)


def unhealthy_first(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pods ordered so that a cap keeps the interesting ones: not ready or restarted first, then by name."""

    def healthy(pod: dict[str, Any]) -> bool:
        statuses = _dig(pod, "status", "containerStatuses") or []
        return bool(statuses) and all(s.get("ready") and not s.get("restartCount") for s in statuses)

    return sorted(pods, key=lambda pod: (healthy(pod), str(_dig(pod, "metadata", "name") or "")))


def _query(spec: dict[str, Any], args: dict[str, str]) -> tuple[str, str]:
    """(provider type, the query it runs with ``{{args.x}}`` filled in from the run's arguments)."""
    provider = next(iter(spec.get("provider") or {}), "")
    config = (spec.get("provider") or {}).get(provider) or {}
    if provider == "job":
        containers = _dig(config, "spec", "template", "spec", "containers") or [{}]
        first = containers[0]
        text = " ".join(str(part) for part in [*(first.get("command") or []), *(first.get("args") or [])])
        text = text or str(first.get("image", ""))
    elif isinstance(config, dict):
        value = config.get(PROVIDER_QUERY.get(provider, "query"), "")
        text = value if isinstance(value, str) else str(value)
    else:
        text = ""
    return provider, _ARG.sub(lambda m: args.get(m.group(1), m.group(0)), text)


def metric_results(run: dict[str, Any]) -> list[MetricResult]:
    """Every metric of an AnalysisRun, with its provider, query, conditions and measured values."""
    name = str(_dig(run, "metadata", "name") or "")
    specs = {m.get("name"): m for m in _dig(run, "spec", "metrics") or []}
    args = {
        a["name"]: str(a["value"]) for a in _dig(run, "spec", "args") or [] if "value" in a and "name" in a
    }
    results = []
    for result in _dig(run, "status", "metricResults") or []:
        spec = specs.get(result.get("name")) or {}
        provider, query_text = _query(spec, args)
        measurements = result.get("measurements") or []
        results.append(
            MetricResult(
                analysis_run=name,
                name=str(result.get("name", "")),
                phase=str(result.get("phase", "")),
                provider=provider,
                query=str(query_text)[:2000],
                success_condition=str(spec.get("successCondition", "")),
                failure_condition=str(spec.get("failureCondition", "")),
                values=tuple(str(m.get("value", "")) for m in measurements[-MAX_VALUES:]),
                message=str(
                    result.get("message")
                    or next((m.get("message") for m in reversed(measurements) if m.get("message")), "")
                    or ""
                ),
                failed=int(result.get("failed", 0) or 0),
                errors=int(result.get("error", 0) or 0),
                inconclusive=int(result.get("inconclusive", 0) or 0),
            )
        )
    return results


def template_images(obj: dict[str, Any]) -> dict[str, str]:
    """name -> image of a pod template's init and regular containers (a ReplicaSet's or a Rollout's)."""
    pod_spec = _dig(obj, "spec", "template", "spec") or {}
    containers = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
    return {str(c.get("name")): str(c.get("image", "")) for c in containers}


def image_changes(stable: dict[str, str], canary: dict[str, str]) -> list[ImageChange]:
    """Containers whose image differs between the revisions ("" on the side that lacks the container)."""
    return [
        ImageChange(container=name, stable=stable.get(name, ""), canary=canary.get(name, ""))
        for name in sorted(set(stable) | set(canary))
        if stable.get(name) != canary.get(name)
    ]


def log_window(canary_pods: list[dict[str, Any]], canary_rs: dict[str, Any]) -> str:
    """Start of this canary attempt, in the API server's clock (RFC3339; "" when unknown).

    The oldest canary pod's creation is when this canary attempt started serving; the ReplicaSet's own
    creation can be much older (a retried abort, or a rollback to a revision, reuses its ReplicaSet),
    so it is only the fallback when no canary pod is left.
    """
    starts = [str(_dig(p, "metadata", "creationTimestamp") or "") for p in canary_pods]
    starts = [start for start in starts if start]
    if starts:
        return min(starts)
    return str(_dig(canary_rs, "metadata", "creationTimestamp") or "")


def log_since(pod: PodEvidence, window: str) -> str | None:
    """``sinceTime`` of a pod's log reads. None for a canary pod: it exists only since this attempt, so
    its whole log (current and previous instance) is the window, and a cut by time would only lose what a
    node whose clock lags the API server's stamped "before" the pod was created. A stable pod ran long
    before: from the window's start, moved back by a margin for the same skew, so that both sides are
    compared over about the same time."""
    if pod.side is Side.CANARY or not window:
        return None
    try:
        start = datetime.fromisoformat(window.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (start.astimezone(UTC) - CLOCK_SKEW_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_plan(pod: PodEvidence) -> list[tuple[str, bool]]:
    """(container, previous) reads: none for a container that never started (the kubelet answers 400);
    only ``previous`` for one waiting after a crash (the kubelet serves that same instance as the current
    log); none for an init container that completed (its log is setup noise)."""
    plan = []
    for container in pod.containers:
        restarted = container.restart_count > 0 or container.last_termination_reason != ""
        if container.state == "terminated" and container.reason == "Completed" and not restarted:
            continue
        if container.state not in ("waiting", ""):
            plan.append((container.name, False))
        if restarted:
            plan.append((container.name, True))
    return plan


REVISION_KEYS = ("fixloop.dev/revision", "app.kubernetes.io/version")
_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


def revision_hint(obj: dict[str, Any], side: Side, *, template: bool = True) -> RevisionHint | None:
    """The commit a pod template (or, ``template=False``, the object itself) names in an annotation or
    label: ``fixloop.dev/revision`` first; ``app.kubernetes.io/version`` only when it is shaped like a SHA
    (it usually holds a release number)."""
    meta = (_dig(obj, "spec", "template", "metadata") if template else obj.get("metadata")) or {}
    kind, name = str(obj.get("kind") or "object"), str((obj.get("metadata") or {}).get("name") or "")
    for key in REVISION_KEYS:
        for where in ("annotations", "labels"):
            value = str((meta.get(where) or {}).get(key) or "").strip().lower()
            # A version label of only digits is a build number, not a commit.
            if _SHA_RE.match(value) and (key == REVISION_KEYS[0] or not value.isdigit()):
                return RevisionHint(side, value, f"{where[:-1]} {key} of {kind} {name}")
    return None


def revision_hints(
    view: RolloutView,
    canary_pods: list[dict[str, Any]],
    stable_pods: list[dict[str, Any]],
    canary_rs: dict[str, Any],
    stable_rs: dict[str, Any],
) -> list[RevisionHint]:
    """The first revision each side states: its ReplicaSet's pod template, else a pod of it; the canary
    also the Rollout's own metadata (what a GitOps tool stamps on the object it applies)."""
    sources = {
        Side.CANARY: [(canary_rs, True), *((p, False) for p in canary_pods), (view_object(view), False)],
        Side.STABLE: [(stable_rs, True), *((p, False) for p in stable_pods)],
    }
    hints = []
    for side, objects in sources.items():
        found = (revision_hint(obj, side, template=template) for obj, template in objects if obj)
        hint = next((h for h in found if h is not None), None)
        if hint is not None:
            hints.append(hint)
    return hints


def view_object(view: RolloutView) -> dict[str, Any]:
    meta = {"name": view.name, "annotations": dict(view.annotations), "labels": dict(view.labels)}
    return {"kind": "Rollout", "metadata": meta}
