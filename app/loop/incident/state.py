"""The incident's durable state and its moves: typed view of ``Incident.data``, transitions, metrics."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.clusters import CURRENT_CLUSTER, DEFAULT_CLUSTER
from app.loop.incident.records import Fix, HandoffRecord, TrackedPR, WorkClaim, prs_from_dict, prs_to_dict
from app.loop.incident.stages import IllegalTransition, Stage, can_move
from app.store import Incident, Store

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)


@dataclass
class IncidentState:
    """What the loop remembers about an incident, stored as ``Incident.data`` (JSON)."""

    revision: str = ""  # canary pod-template hash of the failure
    cluster: str = DEFAULT_CLUSTER  # the registry's name of the cluster the Rollout runs in
    base_branch: str = ""  # fixloop.dev/base-branch; empty: the repository's default branch
    images: dict[str, str] = field(default_factory=dict)  # canary container -> image
    evidence: dict[str, Any] | None = None  # Evidence.to_dict() of the latest analysed failure
    verdict: dict[str, Any] | None = None  # Verdict.to_dict()
    learned: dict[str, Any] = field(default_factory=dict)  # LearnedSummary: what the issue already said
    evidence_at: float = 0.0  # when the evidence was last collected
    events: list[str] = field(default_factory=list)  # notification events seen, bounded
    status_comment_id: int | None = None
    status_requested_at: float = 0.0  # stored before the status comment is first posted
    issue_requested_at: float = 0.0  # stored just before POST /issues: only then can an issue be lost
    handoff: HandoffRecord = field(default_factory=HandoffRecord)
    handoff_requested_at: float = 0.0  # stored before a hand-off's first request (steps.handoff_resume)
    prs: dict[int, TrackedPR] = field(default_factory=dict)  # PR number -> what its webhooks said
    fix: Fix = field(default_factory=Fix)
    milestones: dict[str, float] = field(default_factory=dict)  # failure, issue, pr, merge, verified
    llm_tokens: int = 0
    gaps: list[str] = field(default_factory=list)
    origin: dict[str, Any] = field(default_factory=dict)  # suspects.Origin: revisions, suspect commits
    work: WorkClaim = field(default_factory=WorkClaim)  # the job holding the incident (incident.work)

    @classmethod
    def of(cls, incident: Incident) -> IncidentState:
        return cls.from_dict(incident.data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IncidentState:
        """The state from its stored JSON, whichever version wrote it (unknown keys are left out)."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["handoff"] = HandoffRecord.from_dict(values.get("handoff"))
        values["prs"] = prs_from_dict(values.get("prs"))
        values["fix"] = Fix.from_dict(values.get("fix"))
        values["work"] = WorkClaim.from_dict(values.get("work"))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: the fields are JSON values the store serialises at once, and asdict's deep
        # copy of the evidence (tens of kB of nested dicts) cost ~8 ms per save, several saves per step.
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(
            handoff=self.handoff.to_dict(),
            prs=prs_to_dict(self.prs),
            fix=self.fix.to_dict(),
            work=self.work.to_dict(),
        )
        return data

    def note_event(self, event: str) -> None:
        self.events = [*self.events, event][-20:]

    def reach(self, milestone: str, at: float | None = None) -> bool:
        """Record the first time a milestone is reached; False if it was already."""
        if milestone in self.milestones:
            return False
        self.milestones[milestone] = time.time() if at is None else at
        return True


async def save(store: Store, incident: Incident, state: IncidentState, **changes: Any) -> Incident:
    """Write the state (and column changes) with optimistic concurrency; StaleIncident means re-read."""
    return await store.update_incident(
        incident.id, expected_version=incident.version, data=state.to_dict(), **changes
    )


async def move(
    services: Services,
    incident: Incident,
    to: Stage,
    cause: str,
    state: IncidentState | None = None,
    **changes: Any,
) -> Incident:
    """Move to ``to`` if the state machine allows it; the transition is stored with its cause."""
    src = incident.stage
    if src == to:
        return incident if state is None else await save(services.store, incident, state, **changes)
    if not can_move(src, to):
        raise IllegalTransition(src, to)
    data = None if state is None else state.to_dict()
    updated = await services.store.update_incident(
        incident.id, expected_version=incident.version, stage=to.value, cause=cause, data=data, **changes
    )
    services.metrics.incident_transitions.labels(to.value).inc()
    _observe_milestones(services, to, IncidentState.of(updated), updated.attempt)
    log.info("incident %s: %s -> %s (%s)", incident.id, src.value, to.value, cause)
    return updated


_MILESTONE_OF_STAGE = {
    Stage.ISSUE_OPEN: "issue",
    Stage.PR_OPEN: "pr",
    Stage.MERGED: "merge",
    Stage.VERIFIED: "verified",
}


def _observe_milestones(services: Services, to: Stage, state: IncidentState, attempt: int) -> None:
    milestone = _MILESTONE_OF_STAGE.get(to)
    failure = state.milestones.get("failure")
    if milestone and failure is not None:
        services.metrics.loop_duration.labels(milestone).observe(max(0.0, time.time() - failure))
    if to in (Stage.VERIFIED, Stage.NEEDS_HUMAN, Stage.SUPERSEDED, Stage.IGNORED):
        services.metrics.attempts.observe(attempt)


async def rollout_incidents(store: Store, namespace: str, rollout: str, stages: Any) -> list[Incident]:
    """The incidents of this Rollout in the cluster this job works for: the same name in another cluster
    is another Rollout."""
    cluster = CURRENT_CLUSTER.get()
    found = await store.list_incidents(namespace=namespace, rollout=rollout, stages=stages)
    return [i for i in found if IncidentState.of(i).cluster == cluster]


def cluster_of(incident: Incident) -> str:
    return IncidentState.of(incident).cluster
