"""The issue of a failure: opened once (a retry finds the one an earlier try made), with its live
evidence access and cluster label; and the repository's config problems said on it."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from app.analysis.evidence import evidence_from_dict
from app.analysis.verdict import verdict_from_dict
from app.github import issues
from app.github.http import GitHubClient
from app.loop.incident.repo_config import ConfigResult, RepoConfig, render_config_problems
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState, cluster_of, move, save
from app.loop.origin.suspects import Origin
from app.loop.render.issue import issue_title, render_issue_body
from app.loop.render.markers import CONFIG_PROBLEMS_MARKER
from app.loop.render.task import LiveAccess
from app.loop.steps import issue_ops
from app.loop.steps.status import refresh_status
from app.mcp.tokens import mint_token
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)


async def open_issue(
    services: Services, gh: GitHubClient, incident: Incident, config: RepoConfig, *, announce: bool = True
) -> Incident:
    """Open the issue once: a crash after creating it is healed by finding it by its hidden marker.

    ``announce=False`` leaves the status comment to the caller's next step (the hand-off posts it once,
    with its outcome, instead of a post here and an edit a moment later).

    The lookup runs only when an earlier try got as far as asking GitHub for the issue (the request time
    is stored before the request): a first try makes no extra call.
    """
    state = IncidentState.of(incident)
    evidence = evidence_from_dict(state.evidence or {})
    verdict = verdict_from_dict(state.verdict or {})
    number = incident.issue_number
    if number is None and state.issue_requested_at:
        number = await issue_ops.find_issue_by_marker(
            gh, incident.repo, incident.id, await services.github.slug(), since=state.issue_requested_at
        )
    named = cluster_label(services, incident)
    if number is None:
        labels = [*config.labels, *named]
        await issue_ops.ensure_labels(gh, incident.repo, labels)
        state.issue_requested_at = time.time()
        incident = await save(services.store, incident, state)
        body = render_issue_body(
            incident_id=incident.id,
            evidence=evidence,
            verdict=verdict,
            config=config,
            attempt=incident.attempt,
            live=await live_access(services, gh, incident),
            origin=Origin.from_dict(state.origin),
            cluster=cluster_of(incident) if named else "",
        )
        number = await issues.create_issue(gh, incident.repo, issue_title(verdict, evidence), body, labels)
    state.reach("issue")
    incident = await move(
        services, incident, Stage.ISSUE_OPEN, f"issue #{number} opened", state, issue_number=number
    )
    return await refresh_status(services, gh, incident, config) if announce else incident


async def live_access(services: Services, gh: GitHubClient, incident: Incident) -> LiveAccess | None:
    """The MCP endpoint and a fresh token for the incident's task, when the MCP server runs.

    Only in a private repository: the token is in the issue, and anyone who can read a public issue
    could read the canary's live (redacted) logs with it.
    """
    settings = services.settings
    if settings.mcp_port is None:
        return None
    if not await issue_ops.repo_is_private(gh, incident.repo):
        log.info("no MCP token in the issue: %s is not private", incident.repo)
        return None
    token = await mint_token(services.store, incident.id, settings.mcp_token_hours * 3600)
    return LiveAccess(settings.mcp_public_url, token)


def cluster_label(services: Services, incident: Incident) -> list[str]:
    """``fixloop:cluster/<name>`` once a cluster registry is in use; without one, issues stay as before."""
    return [f"fixloop:cluster/{cluster_of(incident)}"] if services.settings.clusters_file else []


async def report_config_problems(
    services: Services, gh: GitHubClient, incident: Incident, result: ConfigResult
) -> None:
    """A broken ``.github/fixloop.yml`` is the user's to fix: say so on the issue (one comment, edited)."""
    if not result.problems or incident.issue_number is None:
        return
    await issue_ops.upsert_marked_comment(
        gh,
        incident.repo,
        incident.issue_number,
        render_config_problems(result.problems),
        marker=CONFIG_PROBLEMS_MARKER,
        app_slug=await services.github.slug(),
        known_id=None,
    )
