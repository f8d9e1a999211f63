"""GitHub Deployments for a merged fix: created once per merge SHA, their status kept true to the canary."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from app.github import deployments as github_deployments
from app.github.deployments import DeploymentState
from app.github.errors import GitHubRefused
from app.github.http import GitHubClient
from app.loop.incident.state import IncidentState, save
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)


async def create_deployment(
    services: Services, gh: GitHubClient, incident: Incident, *, sha: str, environment: str
) -> Incident:
    """One Deployment for the merge SHA (payload: the incident id; no auto-merge, no required contexts).

    The SHA is stored before the POST: a retry after a crash or an unanswered POST first looks for the
    Deployment GitHub may already have made, instead of making a second one.
    """
    state = IncidentState.of(incident)
    if state.fix.deployment_id and state.fix.sha == sha:
        return incident
    found = None
    if state.fix.deployment_requested == sha:
        found = await _find_deployment(gh, incident, sha=sha, environment=environment)
    if found is None:
        state.fix = dataclasses.replace(state.fix, deployment_requested=sha)
        incident = await save(services.store, incident, state)
        found = await _post_deployment(gh, incident, sha=sha, environment=environment)
    state.fix = dataclasses.replace(state.fix, deployment_id=found, environment=environment, sha=sha)
    incident = await save(services.store, incident, state)
    return await set_deployment_state(services, gh, incident, "in_progress")


async def _find_deployment(gh: GitHubClient, incident: Incident, *, sha: str, environment: str) -> int | None:
    async for item in github_deployments.deployments_of(gh, incident.repo, sha=sha, environment=environment):
        payload = item.get("payload")
        if isinstance(payload, dict) and payload.get("fixloop_incident") == incident.id:
            log.info(
                "incident %s: deployment %s for %s was made by an earlier try", incident.id, item["id"], sha
            )
            return int(item["id"])
    return None


async def _post_deployment(gh: GitHubClient, incident: Incident, *, sha: str, environment: str) -> int:
    return await github_deployments.create_deployment(
        gh,
        incident.repo,
        ref=sha,
        environment=environment,
        auto_merge=False,
        required_contexts=[],  # the merge already passed the repository's checks
        payload={"fixloop_incident": incident.id},
        description=f"Fixloop: fix for incident {incident.id} through the canary",
        transient_environment=False,
        production_environment=False,
    )


async def set_deployment_state(
    services: Services, gh: GitHubClient, incident: Incident, new_state: DeploymentState
) -> Incident:
    """Record ``in_progress`` / ``success`` / ``failure`` on the fix's Deployment, when there is one."""
    state = IncidentState.of(incident)
    deployment_id = state.fix.deployment_id
    if not deployment_id or state.fix.deployment_state == new_state:
        return incident
    try:
        await github_deployments.create_deployment_status(
            gh,
            incident.repo,
            deployment_id,
            state=new_state,
            description=f"Fixloop: canary {new_state.replace('_', ' ')}",
            log_url=f"{services.settings.public_url}/",
        )
    except GitHubRefused as exc:
        log.warning("deployment %s status %s refused: %s", deployment_id, new_state, exc)
        return incident
    state.fix = dataclasses.replace(state.fix, deployment_state=new_state)
    return await save(services.store, incident, state)
