"""A verified fix that stops holding: the same failure signature comes back on the same Rollout within
the repository's soak window (``app.loop.steps.soak``).

The issue that was closed as verified is reopened with a note, and the incident starts its next attempt
there, instead of a new issue repeating the old one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.analysis.evidence import Evidence
from app.github.http import GitHubClient
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState, move, rollout_incidents
from app.loop.render.comments import LearnedSummary, render_reopened_note
from app.loop.render.facts import Signature, failing_signatures
from app.loop.steps import issue_ops
from app.loop.steps.analysis import collect_for
from app.loop.steps.attempts import ALIAS, start_attempt
from app.loop.steps.soak import FAILED, end_watch, watching
from app.rollouts.model import RolloutView
from app.rollouts.notification import Notification
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)


async def verified_incident_for(
    services: Services, view: RolloutView, notification: Notification, existing: Incident | None
) -> tuple[tuple[Incident, list[Signature]] | None, Evidence | None]:
    """The verified incident of this Rollout whose failure signature is back (with the signatures), and
    the evidence collected to decide it, so the caller does not read the cluster a second time."""
    if existing is not None and existing.stage is not Stage.VERIFIED:
        return None, None
    found = (
        [existing]
        if existing is not None
        else await rollout_incidents(services.store, view.namespace, view.name, [Stage.VERIFIED.value])
    )
    candidates = [incident for incident in found if await watching(services.store, incident)]
    if not candidates:
        return None, None
    evidence = await collect_for(services, view, notification)
    now = failing_signatures(evidence)
    for incident in reversed(candidates):
        before = LearnedSummary.from_dict(IncidentState.of(incident).learned).signatures
        back = [s for s in now if s.template in before]
        if back or incident is existing:
            return (incident, back), evidence
    return None, evidence


async def reopen(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    *,
    key: str,
    evidence: Evidence,
    signatures: list[Signature],
    view: RolloutView,
) -> Incident:
    await services.store.kv_set(ALIAS, key, {"incident": incident.id}, None)
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    incident = await move(
        services,
        incident,
        Stage.FAILED_AGAIN,
        f"the same signature came back in revision {view.current_pod_hash}",
    )
    log.info("incident %s reopened: its signature came back", incident.id)
    await end_watch(services, incident.id, FAILED, f"the signature came back in {view.current_pod_hash}")
    note = render_reopened_note(evidence, signatures)
    return await start_attempt(
        services, gh, incident, config, evidence=evidence, view=view, note=note, reopen=True
    )
