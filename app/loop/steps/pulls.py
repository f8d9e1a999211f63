"""Follow the fix: link pull requests to incidents, track their state and checks, act on the merge."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from gidgethub.routing import Router
from gidgethub.sansio import Event

from app.github import issues
from app.github.http import GitHubClient
from app.loop.dispatch import pinned_step
from app.loop.incident.records import TrackedPR
from app.loop.incident.repo_config import RedeployMode
from app.loop.incident.stages import TERMINAL, Stage
from app.loop.incident.state import IncidentState, move, save
from app.loop.payloads import CommitResult, PullRequest
from app.loop.steps import issue_ops
from app.loop.steps.redeploy import COMMIT_OK, COMMIT_OK_TTL, on_merged, send_image
from app.loop.steps.status import refresh_status
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
router = Router()

LIVE = [s.value for s in Stage if s not in TERMINAL]
WAITING_FOR_PR = frozenset({Stage.ISSUE_OPEN, Stage.AGENT_WORKING, Stage.NEEDS_HUMAN})


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="edited")
@router.register("pull_request", action="ready_for_review")
@router.register("pull_request", action="converted_to_draft")
@router.register("pull_request", action="synchronize")
@pinned_step("app.loop.pulls.follow_pull_request")
async def follow_pull_request(event: Event, gh: GitHubClient, *, services: Services) -> None:
    pr = PullRequest.from_event(event)
    incident = await linked_incident(services, gh, pr)
    if incident is None:
        return
    incident = await track(services, incident, pr)
    if incident.stage in WAITING_FOR_PR and pr.state == "open":
        state = IncidentState.of(incident)
        state.reach("pr")
        incident = await move(services, incident, Stage.PR_OPEN, f"pull request #{pr.number} opened", state)
    await _refresh(services, gh, incident)


@router.register("pull_request", action="closed")
@pinned_step("app.loop.pulls.on_pull_request_closed")
async def on_pull_request_closed(event: Event, gh: GitHubClient, *, services: Services) -> None:
    pr = PullRequest.from_event(event)
    incident = await linked_incident(services, gh, pr)
    if incident is None:
        return
    incident = await track(services, incident, pr)
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    base = IncidentState.of(incident).base_branch or _default_branch(event)
    if pr.merged and pr.base_ref == base:
        await on_merged(services, gh, incident, config, pr=pr.number, sha=pr.merge_commit_sha)
        return
    if not pr.merged and incident.stage is Stage.PR_OPEN and not _open_prs(incident):
        incident = await move(services, incident, config.on_pr_closed, f"#{pr.number} closed without merge")
    await refresh_status(services, gh, incident, config)


@router.register("check_suite", action="completed")
@router.register("workflow_run", action="completed")
@pinned_step("app.loop.pulls.on_commit_checked")
async def on_commit_checked(event: Event, gh: GitHubClient, *, services: Services) -> None:
    result = CommitResult.from_event(event)
    if result.conclusion == "success":
        await services.store.kv_set(COMMIT_OK, f"{result.repo}@{result.sha}", {"ok": True}, COMMIT_OK_TTL)
    # Only incidents whose data names this commit can care (a PR head or the fix's merge commit).
    live = services.store.iter_incidents(repo=result.repo, stages=LIVE, mentioning=result.sha)
    async for incident in live:
        await _apply_commit_result(services, gh, incident, result)


async def _apply_commit_result(
    services: Services, gh: GitHubClient, incident: Incident, result: CommitResult
) -> None:
    state = IncidentState.of(incident)
    touched = False
    for number, pr in list(state.prs.items()):
        if pr.head_sha == result.sha:
            state.prs[number] = dataclasses.replace(pr, checks=result.conclusion or result.status)
            touched = True
    if touched:
        incident = await save(services.store, incident, state)
    awaiting_image = incident.stage is Stage.MERGED and state.fix.sha == result.sha
    if not (touched or awaiting_image):
        return  # CI on an unrelated commit: no GitHub call for this incident
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    if awaiting_image and result.conclusion == "success" and config.redeploy is RedeployMode.IMAGE:
        await send_image(services, gh, incident, config)
    elif touched:
        await refresh_status(services, gh, incident, config)


async def linked_incident(services: Services, gh: GitHubClient, pr: PullRequest) -> Incident | None:
    """The live incident this PR fixes: already linked, by closing keyword, or an agent's PR.

    The live incidents are read one at a time and only ids are kept: a busy repository's incidents
    carry tens of kB of evidence each, too much to hold all at once.
    """
    agent = pr.agent()
    by_issue: dict[int, int] = {}  # issue number -> incident id
    candidates: list[int] = []  # incidents handed to this PR's agent
    async for incident in services.store.iter_incidents(repo=pr.repo, stages=LIVE):
        state = IncidentState.of(incident)
        if pr.number in state.prs:
            return incident
        if incident.issue_number:
            by_issue.setdefault(incident.issue_number, incident.id)
            if agent is not None and state.handoff.agent == agent:
                candidates.append(incident.id)
    for number in pr.closing_issue_numbers():
        if number in by_issue:
            return await services.store.get_incident(by_issue[number])
    if agent is None:
        return None
    for incident_id in candidates:
        found = await services.store.get_incident(incident_id)
        if found is not None and await _cross_referenced(gh, found, pr.number):
            return found
    return await services.store.get_incident(candidates[0]) if len(candidates) == 1 else None


async def _cross_referenced(gh: GitHubClient, incident: Incident, pr_number: int) -> bool:
    """Copilot's PRs often lack ``Fixes #N``: the issue's timeline still shows the cross-reference."""
    if incident.issue_number is None:
        return False
    async for item in issues.timeline(gh, incident.repo, incident.issue_number):
        source = (item.get("source") or {}).get("issue") or {}
        if item.get("event") == "cross-referenced" and source.get("number") == pr_number:
            return True
    return False


async def track(services: Services, incident: Incident, pr: PullRequest) -> Incident:
    state = IncidentState.of(incident)
    state.prs[pr.number] = dataclasses.replace(
        state.prs.get(pr.number, TrackedPR()),
        url=pr.url,
        state=pr.display_state,
        title=pr.title,
        author=pr.author,
        head_sha=pr.head_sha,
        agent=pr.agent() or "",
    )
    return await save(services.store, incident, state)


def _open_prs(incident: Incident) -> list[int]:
    return [n for n, pr in IncidentState.of(incident).prs.items() if pr.is_open]


def _default_branch(event: Event) -> str:
    return str((event.data.get("repository") or {}).get("default_branch") or "main")


async def _refresh(services: Services, gh: GitHubClient, incident: Incident) -> None:
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    await refresh_status(services, gh, incident, config)
