"""Pure parsing of Kubernetes objects into evidence records (no I/O)."""

from __future__ import annotations

from typing import Any

from app.analysis.evidence import ContainerState, ImageChange, KubeEvent, MetricResult, PodEvidence, Side

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
    "job": "spec",
}
MAX_VALUES = 10


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


def metric_results(run: dict[str, Any]) -> list[MetricResult]:
    """Every metric of an AnalysisRun that did not succeed, with its query, conditions and values."""
    name = str(_dig(run, "metadata", "name") or "")
    specs = {m.get("name"): m for m in _dig(run, "spec", "metrics") or []}
    results = []
    for result in _dig(run, "status", "metricResults") or []:
        spec = specs.get(result.get("name")) or {}
        provider = next(iter(spec.get("provider") or {}), "")
        query = (spec.get("provider") or {}).get(provider) or {}
        query_text = query.get(PROVIDER_QUERY.get(provider, "query"), "") if isinstance(query, dict) else ""
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
    containers = _dig(obj, "spec", "template", "spec", "containers") or []
    return {str(c.get("name")): str(c.get("image", "")) for c in containers}


def image_changes(stable: dict[str, str], canary: dict[str, str]) -> list[ImageChange]:
    return [
        ImageChange(container=name, stable=stable.get(name, ""), canary=image)
        for name, image in sorted(canary.items())
        if stable.get(name) != image
    ]
