"""GitHub Deployments for a merged fix: created once per merge SHA, their status kept true to the canary."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import gidgethub

from app.github.http import GitHubClient
from app.loop.incident.state import IncidentState, save
from app.loop.steps.issue_ops import split_repo
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
        incident = await save(services, incident, state)
        found = await _post_deployment(gh, incident, sha=sha, environment=environment)
    state.fix = dataclasses.replace(state.fix, deployment_id=found, environment=environment, sha=sha)
    incident = await save(services, incident, state)
    return await set_deployment_state(services, gh, incident, "in_progress")


async def _find_deployment(gh: GitHubClient, incident: Incident, *, sha: str, environment: str) -> int | None:
    query = {"sha": sha, "environment": environment}
    async for item in gh.getiter(
        "/repos/{owner}/{repo}/deployments{?sha,environment}", url_vars={**split_repo(incident.repo), **query}
    ):
        payload = item.get("payload")
        if isinstance(payload, dict) and payload.get("fixloop_incident") == incident.id:
            log.info(
                "incident %s: deployment %s for %s was made by an earlier try", incident.id, item["id"], sha
            )
            return int(item["id"])
    return None


async def _post_deployment(gh: GitHubClient, incident: Incident, *, sha: str, environment: str) -> int:
    answer = await gh.post(
        "/repos/{owner}/{repo}/deployments",
        url_vars=split_repo(incident.repo),
        data={
            "ref": sha,
            "environment": environment,
            "auto_merge": False,
            "required_contexts": [],  # the merge already passed the repository's checks
            "payload": {"fixloop_incident": incident.id},
            "description": f"Fixloop: fix for incident {incident.id} through the canary",
            "transient_environment": False,
            "production_environment": False,
        },
    )
    return int(answer["id"])


async def set_deployment_state(
    services: Services, gh: GitHubClient, incident: Incident, new_state: str
) -> Incident:
    """Record ``in_progress`` / ``success`` / ``failure`` on the fix's Deployment, when there is one."""
    state = IncidentState.of(incident)
    deployment_id = state.fix.deployment_id
    if not deployment_id or state.fix.deployment_state == new_state:
        return incident
    try:
        await gh.post(
            "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
            url_vars={**split_repo(incident.repo), "deployment_id": str(deployment_id)},
            data={
                "state": new_state,
                "description": f"Fixloop: canary {new_state.replace('_', ' ')}",
                "log_url": f"{services.settings.public_url}/",
            },
        )
    except gidgethub.BadRequest as exc:
        log.warning("deployment %s status %s refused: %s", deployment_id, new_state, exc)
        return incident
    state.fix = dataclasses.replace(state.fix, deployment_state=new_state)
    return await save(services, incident, state)
