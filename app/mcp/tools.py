"""What the MCP tools answer: one incident's stored evidence, and fresh reads of its canary.

Every answer goes through the redactor (a secret in a fresh log line never leaves) and the block
neutraliser (mentions, slash commands, invisible characters made inert), as the issue's text does, and
is bounded. The tools only read: pods, logs, Events and AnalysisRuns of the incident's namespace, limited
to its canary revision; Kubernetes failures come back as a sentence, never as an exception.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from app.analysis.evidence import evidence_from_dict
from app.analysis.neutralise import neutralise_block
from app.analysis.prompt import facts_text
from app.analysis.redact import Redactor
from app.analysis.signals import describe_metric, read_signals
from app.analysis.verdict import verdict_from_dict
from app.errors import FixloopError
from app.loop.incident.state import IncidentState, cluster_of
from app.rollouts.evidence_parse import kube_event, metric_results
from app.rollouts.model import POD_TEMPLATE_HASH_LABEL

if TYPE_CHECKING:
    from app.rollouts.kube import KubeClient
    from app.services import Services
    from app.store import Incident

MAX_ANSWER = 60_000
MAX_TAIL_LINES = 500
MAX_PODS = 5


def clean(text: str, max_len: int = MAX_ANSWER) -> str:
    """Redacted, then neutralised and bounded: what an agent may read."""
    return neutralise_block(Redactor().redact(text), max_len)


class IncidentReader:
    """The read-only views of one incident, for the tools of ``app.mcp.server``."""

    def __init__(self, services: Services, incident: Incident) -> None:
        self.services, self.incident = services, incident
        self.state = IncidentState.of(incident)

    @property
    def revision(self) -> str:
        return self.state.revision

    def evidence(self) -> str:
        incident = self.incident
        lines = [
            f"Incident {incident.id}: {incident.namespace}/{incident.rollout}, stage {incident.stage}, "
            f"attempt {incident.attempt}, repository {incident.repo}",
        ]
        if not self.state.evidence:  # not analysed yet
            return clean("\n".join([*lines, "No evidence collected yet."]))
        evidence = evidence_from_dict(self.state.evidence)
        verdict = verdict_from_dict(self.state.verdict or {})
        lines += [
            f"Analysis ({verdict.source}): {verdict.title}",
            f"Root cause: {verdict.root_cause}",
            "",
            facts_text(evidence, read_signals(evidence)),
        ]
        return clean("\n".join(lines))

    async def canary_logs(self, tail_lines: int, previous: bool) -> str:
        kube = self._kube
        if kube is None:
            return "No Kubernetes access is configured: no fresh logs."
        tail = max(1, min(tail_lines, MAX_TAIL_LINES))
        pods = await self._canary_pods()
        if isinstance(pods, str):
            return pods
        parts: list[str] = []
        for pod in pods[:MAX_PODS]:
            name = str(pod["metadata"]["name"])
            for container in pod.get("spec", {}).get("containers", []):
                cname = str(container.get("name", ""))
                try:
                    text = await kube.read_log(
                        self.incident.namespace, name, cname, tail_lines=tail, previous=previous
                    )
                except FixloopError as exc:
                    text = f"(log unreadable: {exc})"
                parts.append(f"=== pod {name} container {cname}{' (previous)' if previous else ''}\n{text}")
        return clean("\n".join(parts) or f"No canary pods of revision {self.revision} are running.")

    async def canary_events(self) -> str:
        kube = self._kube
        if kube is None:
            return "No Kubernetes access is configured: no fresh events."
        pods = await self._canary_pods()
        if isinstance(pods, str):
            return pods
        involved = [("Rollout", self.incident.rollout)] + [("Pod", str(p["metadata"]["name"])) for p in pods]
        ns = self.incident.namespace

        async def about(kind: str, name: str) -> list[dict[str, Any]]:
            try:
                return await kube.list_events(ns, f"involvedObject.kind={kind},involvedObject.name={name}")
            except FixloopError:
                return []

        batches = await asyncio.gather(*(about(kind, name) for kind, name in involved))
        events = sorted((kube_event(raw) for batch in batches for raw in batch), key=lambda e: e.last_seen)
        lines = [
            f"{e.last_seen} {e.type} {e.kind}/{e.name} {e.reason} (x{e.count}): {e.message}" for e in events
        ]
        return clean("\n".join(lines) or "No events about the Rollout or its canary pods.")

    async def analysis_runs(self) -> str:
        kube = self._kube
        if kube is None:
            return "No Kubernetes access is configured: no AnalysisRuns."
        selector = f"{POD_TEMPLATE_HASH_LABEL}={self.revision}"
        try:
            runs = await kube.list_analysis_runs(self.incident.namespace, selector)
        except FixloopError as exc:
            return clean(f"AnalysisRuns unreadable: {exc}")
        lines: list[str] = []
        for run in runs:
            status = run.get("status") or {}
            name = run["metadata"]["name"]
            lines.append(f"AnalysisRun {name}: {status.get('phase', '?')} {status.get('message', '')}")
            lines += [f"- {describe_metric(metric)}" for metric in metric_results(run)]
        return clean("\n".join(lines) or f"No AnalysisRun of revision {self.revision}.")

    @property
    def _kube(self) -> KubeClient | None:
        """The incident's own cluster's client: never another cluster's."""
        return self.services.kube_for(cluster_of(self.incident))

    async def _canary_pods(self) -> list[dict[str, Any]] | str:
        kube = self._kube
        assert kube is not None
        selector = f"{POD_TEMPLATE_HASH_LABEL}={self.revision}"
        try:
            pods = await kube.list_pods(self.incident.namespace, selector)
        except FixloopError as exc:
            return clean(f"Canary pods unreadable: {exc}")
        return sorted(pods, key=lambda p: str(p["metadata"]["name"]))
