"""Signals read from the non-log evidence: crashes, failed metrics, infrastructure and config trouble.

Shared by the offline analyser (which decides from them) and the prompt (which shows them compactly).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.analysis.evidence import ContainerState, Evidence, KubeEvent, MetricResult, PodEvidence, Side

INFRA_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "Unschedulable",
        "FailedScheduling",
        "FailedMount",
        "FailedAttachVolume",
        "FailedCreatePodSandBox",
        "NodeNotReady",
        "NetworkNotReady",
        "Evicted",
        "Preempted",
    }
)
CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError"})
CRASH_REASONS = frozenset(
    {"CrashLoopBackOff", "OOMKilled", "Error", "RunContainerError", "ContainerCannotRun"}
)
FAILED_PHASES = frozenset({"Failed", "Error", "Inconclusive"})
_PROVIDER_ERROR_RE = re.compile(
    r"(?i)no data|empty result|returned \[\]|no (?:series|results?)|connection refused|timed? ?out|"
    r"deadline exceeded|failed to (?:query|connect|execute)|could not|unable to|no such host|\bNaN\b|"
    r"unauthori[sz]ed|forbidden|status code [45]\d\d"
)


@dataclass(frozen=True)
class Crash:
    pod: str
    container: str
    reason: str  # CrashLoopBackOff, OOMKilled, Error...
    exit_code: int | None
    restarts: int
    is_sidecar: bool = False

    def describe(self) -> str:
        parts = [f"{self.pod}/{self.container}: {self.reason}"]
        if self.exit_code is not None:
            parts.append(f"exit code {self.exit_code}")
        if self.restarts:
            parts.append(f"{self.restarts} restarts")
        return ", ".join(parts) + (" (sidecar)" if self.is_sidecar else "")


@dataclass
class Signals:
    crashes: list[Crash] = field(default_factory=list)  # canary containers only
    infra: list[str] = field(default_factory=list)  # descriptions
    config: list[str] = field(default_factory=list)
    failed_metrics: list[MetricResult] = field(default_factory=list)  # measured and failed
    provider_errors: list[MetricResult] = field(default_factory=list)  # could not measure
    warnings: list[KubeEvent] = field(default_factory=list)

    @property
    def app_crashes(self) -> list[Crash]:
        return [c for c in self.crashes if not c.is_sidecar]


def _crash(pod: PodEvidence, container: ContainerState) -> Crash | None:
    reason = container.reason if container.reason in CRASH_REASONS else ""
    last = container.last_termination_reason
    if last == "OOMKilled" or (not reason and last in CRASH_REASONS):
        reason = last
    if not reason and container.restart_count and last not in ("", "Completed"):
        reason = last
    if not reason and (container.last_exit_code or 0) > 0 and container.restart_count:
        reason = "Error"
    if not reason:
        return None
    return Crash(
        pod.name,
        container.name,
        reason,
        container.last_exit_code,
        container.restart_count,
        container.is_sidecar,
    )


def describe_metric(metric: MetricResult) -> str:
    values = ", ".join(value for value in metric.values[-5:] if value) or "no value"
    condition = metric.success_condition and f" vs success condition `{metric.success_condition}`"
    if metric.failure_condition:
        condition += f" / failure condition `{metric.failure_condition}`"
    text = f"metric {metric.name} ({metric.provider or 'provider?'}) {metric.phase}: {values}{condition}"
    return text + (f"; {metric.message}" if metric.message else "")


def is_provider_error(metric: MetricResult) -> bool:
    return metric.phase == "Error" or (
        (metric.errors > 0 and not metric.failed) or bool(_PROVIDER_ERROR_RE.search(metric.message))
    )


def _pod_signals(evidence: Evidence, signals: Signals) -> None:
    for pod in evidence.pods:
        if pod.side is not Side.CANARY:
            continue
        if pod.reason in INFRA_REASONS:
            signals.infra.append(f"{pod.reason}: pod {pod.name}")
        for container in pod.containers:
            if container.reason in INFRA_REASONS:  # the reason first: a title keeps it when it is cut
                signals.infra.append(f"{container.reason} of {container.image} ({pod.name}/{container.name})")
            elif container.reason in CONFIG_REASONS:
                signals.config.append(f"{pod.name}/{container.name}: {container.reason}")
            crash = _crash(pod, container)
            if crash:
                signals.crashes.append(crash)


def _over_quota(event: KubeEvent) -> bool:
    """The ReplicaSet could not create its pods because a ResourceQuota is used up (other FailedCreate
    causes, an admission webhook or a pod security rule, are the manifest's, not the platform's)."""
    return event.reason == "FailedCreate" and "exceeded quota" in event.message


def read_signals(evidence: Evidence) -> Signals:
    signals = Signals()
    _pod_signals(evidence, signals)
    for event in evidence.events:
        if event.type == "Warning":
            signals.warnings.append(event)
            if _over_quota(event):  # what the quota refused first: the title keeps it when cut
                detail = event.message.split("exceeded quota", 1)[1][:160]
                signals.infra.append(f"exceeded quota{detail} ({event.kind} {event.name} cannot create pods)")
            elif event.reason in INFRA_REASONS:
                signals.infra.append(
                    f"event {event.reason} on {event.kind} {event.name}: {event.message[:200]}"
                )
            elif event.reason in CONFIG_REASONS:
                signals.config.append(
                    f"event {event.reason} on {event.kind} {event.name}: {event.message[:200]}"
                )
    for metric in evidence.metrics:
        if metric.phase in FAILED_PHASES or metric.failed:
            target = signals.provider_errors if is_provider_error(metric) else signals.failed_metrics
            target.append(metric)
    signals.infra = list(dict.fromkeys(signals.infra))
    signals.config = list(dict.fromkeys(signals.config))
    return signals
