"""The evidence bundle: what Kubernetes showed about a failed canary, in plain typed data.

``rollouts/`` fills it in from the cluster; ``analysis/`` reads it. Nothing here does I/O.
Everything in it came from the cluster and is untrusted text (logs, messages, annotations).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Side(StrEnum):
    CANARY = "canary"
    STABLE = "stable"


@dataclass(frozen=True)
class ContainerState:
    name: str
    image: str
    ready: bool = False
    restart_count: int = 0
    is_sidecar: bool = False  # e.g. istio-proxy, linkerd-proxy: kept, but marked
    state: str = ""  # running | waiting | terminated
    reason: str = ""  # current waiting/terminated reason: CrashLoopBackOff, ImagePullBackOff, ...
    last_termination_reason: str = ""  # OOMKilled, Error, Completed
    last_exit_code: int | None = None


@dataclass(frozen=True)
class LogChunk:
    """A bounded tail of one container's log; ``previous`` is the log of the last crashed instance."""

    pod: str
    container: str
    side: Side
    lines: tuple[str, ...]
    previous: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class PodEvidence:
    name: str
    side: Side
    phase: str
    pod_hash: str
    node: str = ""
    reason: str = ""  # pod-level reason, e.g. Unschedulable from the PodScheduled condition
    containers: tuple[ContainerState, ...] = ()


@dataclass(frozen=True)
class KubeEvent:
    """A Kubernetes Event about a pod, ReplicaSet or the Rollout."""

    kind: str
    name: str
    type: str  # Normal | Warning
    reason: str
    message: str
    count: int = 1
    last_seen: str = ""


@dataclass(frozen=True)
class MetricResult:
    """One metric of an AnalysisRun, with what it measured and the conditions it was judged by."""

    analysis_run: str
    name: str
    phase: str  # Successful | Failed | Error | Inconclusive | Running
    provider: str = ""  # prometheus | web | job | datadog | ...
    query: str = ""
    success_condition: str = ""
    failure_condition: str = ""
    values: tuple[str, ...] = ()
    message: str = ""
    failed: int = 0
    errors: int = 0
    inconclusive: int = 0


@dataclass(frozen=True)
class ImageChange:
    container: str
    stable: str
    canary: str


@dataclass(frozen=True)
class RevisionHint:
    """A git revision the cluster states for one side: a label or annotation on its pod template (or, for
    the canary, on the Rollout). Untrusted: only a value shaped like a commit SHA is kept."""

    side: Side
    revision: str
    where: str  # e.g. "annotation fixloop.dev/revision of ReplicaSet rollouts-demo-7b6cd8d9f4"


@dataclass
class Evidence:
    """Everything collected for one failed canary revision.

    ``gaps`` says what could not be read (API down, 403, timeout), so a reader knows the evidence is partial.
    """

    namespace: str
    rollout: str
    canary_hash: str
    stable_hash: str
    phase: str = ""
    message: str = ""  # the Rollout's status message, e.g. "RolloutAborted: Metric \"x\" assessed Failed"
    aborted: bool = False
    pods: list[PodEvidence] = field(default_factory=list)
    logs: list[LogChunk] = field(default_factory=list)
    events: list[KubeEvent] = field(default_factory=list)
    metrics: list[MetricResult] = field(default_factory=list)
    images: list[ImageChange] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    revision_hints: list[RevisionHint] = field(default_factory=list)
    window_start: str = ""  # RFC3339: logs of both sides are read since this time
    collected_at: str = ""

    def pods_on(self, side: Side) -> list[PodEvidence]:
        return [pod for pod in self.pods if pod.side is side]

    def logs_on(self, side: Side) -> list[LogChunk]:
        return [chunk for chunk in self.logs if chunk.side is side]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evidence_from_dict(data: dict[str, Any]) -> Evidence:
    """Rebuild an Evidence from ``to_dict()`` output (stored in the incident, read back by a job)."""

    def pod(raw: dict[str, Any]) -> PodEvidence:
        containers = tuple(ContainerState(**c) for c in raw.get("containers", ()))
        return PodEvidence(**{**raw, "side": Side(raw["side"]), "containers": containers})

    return Evidence(
        namespace=data["namespace"],
        rollout=data["rollout"],
        canary_hash=data["canary_hash"],
        stable_hash=data["stable_hash"],
        phase=data.get("phase", ""),
        message=data.get("message", ""),
        aborted=data.get("aborted", False),
        pods=[pod(p) for p in data.get("pods", ())],
        logs=[
            LogChunk(**{**c, "side": Side(c["side"]), "lines": tuple(c["lines"])})
            for c in data.get("logs", ())
        ],
        events=[KubeEvent(**e) for e in data.get("events", ())],
        metrics=[MetricResult(**{**m, "values": tuple(m["values"])}) for m in data.get("metrics", ())],
        images=[ImageChange(**i) for i in data.get("images", ())],
        gaps=list(data.get("gaps", ())),
        revision_hints=[
            RevisionHint(**{**h, "side": Side(h["side"])}) for h in data.get("revision_hints", ())
        ],
        window_start=data.get("window_start", ""),
        collected_at=data.get("collected_at", ""),
    )
