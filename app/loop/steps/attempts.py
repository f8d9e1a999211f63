"""The fix went through the canary and the canary failed again: attempt N+1 on the same issue, up to the
repository's ``max_attempts``, then a human."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.analysis.evidence import Evidence
from app.github import issues
from app.github.http import GitHubClient
from app.loop.incident.records import Fix
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState, move, rollout_incidents
from app.loop.render.comments import LearnedSummary, diff_learned, render_recurrence_comment
from app.loop.steps import issue_ops
from app.loop.steps.analysis import analyse_evidence, collect_for, trace_origin
from app.loop.steps.deployments import set_deployment_state
from app.loop.steps.handoff import NEEDS_HUMAN_LABEL, hand_off
from app.loop.steps.status import refresh_status
from app.loop.steps.verify import carries_fix, not_the_fix
from app.rollouts.model import RolloutView
from app.rollouts.notification import Notification
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

ALIAS = "fingerprint-alias"  # kv: fingerprint of a failed fix revision -> its incident


async def incident_of_fix(services: Services, view: RolloutView, key: str) -> Incident | None:
    """The incident whose fix this failing revision carries (first notification), or was (later ones)."""
    alias = await services.store.kv_get(ALIAS, key)
    if alias is not None:
        return await services.store.get_incident(int(alias["incident"]))
    for incident in await rollout_incidents(
        services.store, view.namespace, view.name, [Stage.REDEPLOYING.value]
    ):
        if carries_fix(view, IncidentState.of(incident)):
            await services.store.kv_set(ALIAS, key, {"incident": incident.id}, None)
            return incident
    return None


async def fix_failed(
    services: Services, gh: GitHubClient, incident: Incident, notification: Notification, view: RolloutView
) -> Incident:
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    if incident.stage is not Stage.REDEPLOYING:
        return await refresh_status(services, gh, incident, config)  # a repeat of a failure already handled
    evidence = await collect_for(services, view, notification)
    moved = await not_the_fix(services, gh, incident, config, view=view, evidence=evidence, outcome="failed")
    if moved is not None:
        return moved  # not the fix's build: no attempt is counted against it
    incident = await set_deployment_state(services, gh, incident, "failure")
    if incident.attempt >= config.max_attempts:
        return await _give_up(services, gh, incident, config)
    incident = await move(
        services, incident, Stage.FAILED_AGAIN, f"fix revision {view.current_pod_hash} aborted"
    )
    return await _next_attempt(services, gh, incident, config, evidence=evidence, view=view)


async def _next_attempt(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    config: RepoConfig,
    *,
    evidence: Evidence,
    view: RolloutView,
) -> Incident:
    state = IncidentState.of(incident)
    previous = LearnedSummary.from_dict(state.learned) if state.learned else None
    learned = diff_learned(previous, evidence) or ["The canary failed again with the fix in it."]
    note = render_recurrence_comment(learned, evidence, attempt=incident.attempt + 1)
    return await start_attempt(services, gh, incident, config, evidence=evidence, view=view, note=note)


async def start_attempt(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    config: RepoConfig,
    *,
    evidence: Evidence,
    view: RolloutView,
    note: str,
    reopen: bool = False,
) -> Incident:
    """Attempt N+1 on the same issue: fresh analysis, a note on the issue, a new hand-off."""
    state = IncidentState.of(incident)
    verdict = await analyse_evidence(services, evidence, config, state)
    # The failing canary is now the fix's build: its suspects are the commits since stable again.
    template = config.image or view.image_template
    state.origin = await trace_origin(services, gh, incident.repo, evidence, template)
    state.evidence, state.verdict = evidence.to_dict(), verdict.to_dict()
    state.learned = LearnedSummary.from_evidence(evidence).to_dict()
    state.revision = view.current_pod_hash
    state.fix = Fix()
    attempt = incident.attempt + 1
    incident = await move(
        services,
        incident,
        Stage.ANALYSED,
        f"attempt {attempt}: analysed ({verdict.source})",
        state,
        attempt=attempt,
    )
    if incident.issue_number is not None:
        if reopen:
            await issues.update_issue(gh, incident.repo, incident.issue_number, state="open")
        await issues.post_comment(gh, incident.repo, incident.issue_number, note)
    incident = await move(
        services, incident, Stage.ISSUE_OPEN, f"attempt {attempt} on issue #{incident.issue_number}"
    )
    return await hand_off(services, gh, incident, config, view=view)


async def _give_up(services: Services, gh: GitHubClient, incident: Incident, config: RepoConfig) -> Incident:
    why = f"the fix failed in the canary {incident.attempt} time(s): the cap (max_attempts) is reached"
    if incident.issue_number is not None:
        await issue_ops.ensure_labels(gh, incident.repo, [NEEDS_HUMAN_LABEL])
        await issues.add_labels(gh, incident.repo, incident.issue_number, [NEEDS_HUMAN_LABEL])
    incident = await move(services, incident, Stage.NEEDS_HUMAN, why)
    return await refresh_status(services, gh, incident, config, why)
