"""A canary failed: one incident per fingerprint, evidence, analysis, one issue, a hand-off.

Argo sends several notifications per failure (aborted, analysis-run-failed, retries). The first job to
claim the incident does the work; later ones only refresh the status comment, or add a comment when the
evidence shows something new.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from app.analysis.evidence import Evidence, evidence_from_dict
from app.analysis.verdict import Verdict, verdict_from_dict
from app.clusters import CURRENT_CLUSTER
from app.github import issues
from app.github.http import GitHubClient
from app.logs import log_context
from app.loop import issue_ops
from app.loop.analysis_step import analyse_evidence, collect_for, trace_origin
from app.loop.attempts import fix_failed, incident_of_fix
from app.loop.consent import note_refusal, source_consented
from app.loop.handoff import hand_off
from app.loop.incidents import IncidentState, cluster_of, move, save
from app.loop.mapping import Mapping
from app.loop.markers import CONFIG_PROBLEMS_MARKER
from app.loop.render_comments import LearnedSummary, diff_learned, render_recurrence_comment
from app.loop.render_issue import issue_title, render_issue_body
from app.loop.reopen import reopen, verified_incident_for
from app.loop.repo_config import ConfigResult, RepoConfig, render_config_problems
from app.loop.soak import current_incident
from app.loop.stages import Stage
from app.loop.status import refresh_status
from app.loop.suspects import Origin
from app.loop.task import LiveAccess
from app.loop.work import claim_incident, release_incident
from app.mcp.tokens import mint_token
from app.rollouts.model import RolloutView, fingerprint
from app.rollouts.notification import Notification
from app.store import Incident

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services

log = logging.getLogger(__name__)

RECOLLECT_AFTER = 600.0  # seconds: a repeated notification re-reads the evidence at most this often
OPEN_STAGES = frozenset({Stage.ISSUE_OPEN, Stage.AGENT_WORKING, Stage.PR_OPEN, Stage.NEEDS_HUMAN})


async def on_failure(
    services: Services, ctx: JobContext, notification: Notification, view: RolloutView, mapping: Mapping
) -> None:
    cluster = CURRENT_CLUSTER.get()
    config_result = await _consented(services, ctx, view, mapping, cluster)
    if config_result is None:
        return
    key = fingerprint(view, cluster)
    if await services.store.is_muted(key) or await services.store.is_muted(str(view.ref)):
        log.info("failure of %s muted (/fixloop ignore): no incident", view.ref)
        return
    fixed = await incident_of_fix(services, view, key)
    if fixed is not None and Stage(fixed.stage) is not Stage.VERIFIED:
        await _with_claim(services, ctx, fixed, lambda i, gh: fix_failed(services, gh, i, notification, view))
        return
    # A verified fix failing in its soak window reopens its incident; out of the window it is a new one.
    existing = fixed or await services.store.get_incident_by_fingerprint(key)
    key, existing = await current_incident(services, key, existing)
    back, collected = await verified_incident_for(services, view, notification, existing)
    if back is not None and collected is not None:
        verified, signatures = back
        evidence = collected

        async def reopen_it(i: Incident, gh: GitHubClient) -> Incident:
            if Stage(i.stage) is not Stage.VERIFIED:
                return i  # another job reopened it meanwhile
            return await reopen(services, gh, i, key=key, evidence=evidence, signatures=signatures, view=view)

        await _with_claim(services, ctx, verified, reopen_it)
        return
    incident, created = await services.store.get_or_create_incident(
        key,
        namespace=view.namespace,
        rollout=view.name,
        repo=mapping.repo,
        installation_id=mapping.installation_id,
        stage=Stage.DETECTED.value,
        data=_initial_state(view, cluster).to_dict(),
    )
    if created:
        await services.store.record_transition(incident.id, None, Stage.DETECTED.value, notification.event)
    await _with_claim(
        services,
        ctx,
        incident,
        lambda i, gh: advance(
            services, gh, i, notification, view, evidence=collected, config_result=config_result
        ),
    )


async def _with_claim(
    services: Services,
    ctx: JobContext,
    incident: Incident,
    work: Callable[[Incident, GitHubClient], Awaitable[Incident]],
) -> None:
    """Run ``work`` holding the incident's claim; another job holding it means: nothing to do here."""
    ctx.bind(incident=incident.id)
    with log_context(incident=incident.id):
        claimed = await claim_incident(services, incident, ctx.job.id)
        if claimed is None:
            log.info("incident %s is being handled by another job", incident.id)
            return
        gh = services.github.installation_client(incident.installation_id or 0)
        incident = await work(claimed, gh)
        await release_incident(services, incident, ctx.job.id)


async def _consented(
    services: Services, ctx: JobContext, view: RolloutView, mapping: Mapping, cluster: str
) -> ConfigResult | None:
    """The repository's config when it accepts failures of this cluster/namespace, else None: the
    refusal is recorded on the job (step ``consent``), logged and counted: no incident, no issue, no
    hand-off, no patch."""
    gh = services.github.installation_client(mapping.installation_id)
    result = await issue_ops.read_repo_config(gh, mapping.repo)
    if source_consented(services, result.config, cluster, view.namespace):
        return result
    reason = note_refusal(services, mapping.repo, cluster, view.namespace, f"failure of {view.ref}")

    async def record() -> dict[str, object]:
        return {"refused": reason, "cluster": cluster, "namespace": view.namespace}

    await ctx.step("consent", record)
    return None


def _initial_state(view: RolloutView, cluster: str) -> IncidentState:
    state = IncidentState(
        revision=view.current_pod_hash,
        images=dict(view.containers),
        base_branch=view.base_branch,
        cluster=cluster,
    )
    state.reach("failure")
    return state


async def advance(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    notification: Notification,
    view: RolloutView,
    *,
    evidence: Evidence | None = None,
    config_result: ConfigResult | None = None,
) -> Incident:
    """``config_result``: the repository's config as just read for the consent check (one read)."""
    config_result = config_result or await issue_ops.read_repo_config(gh, incident.repo)
    config = config_result.config
    state = IncidentState.of(incident)
    state.note_event(notification.event.value)
    if Stage(incident.stage) is Stage.DETECTED:
        evidence = evidence or await collect_for(services, view, notification)
        verdict = await analyse_evidence(services, evidence, config, state)
        template = config.image or view.image_template
        state.origin = await trace_origin(services, gh, incident.repo, evidence, template)
        incident = await record_analysis(services, incident, state, evidence, verdict)
    if Stage(incident.stage) is Stage.ANALYSED:
        # The hand-off right after posts the status comment, once, with its outcome.
        incident = await open_issue(services, gh, incident, config, announce=False)
        await report_config_problems(services, gh, incident, config_result)
        return await hand_off(services, gh, incident, config, view=view)
    if await _handoff_pending(services, incident, state):
        return await hand_off(services, gh, incident, config, view=view)
    if Stage(incident.stage) in OPEN_STAGES:
        incident = await note_recurrence(
            services, gh, incident, state, config=config, notification=notification, view=view
        )
        return await refresh_status(services, gh, incident, config)
    return await save(services, incident, state)


async def _handoff_pending(services: Services, incident: Incident, state: IncidentState) -> bool:
    """The issue is open but this attempt's hand-off never finished (GitHub failing past the client's
    retries, a crash): the retried job resumes it, or the incident would wait at issue_open, nobody on it."""
    if Stage(incident.stage) is not Stage.ISSUE_OPEN:
        return False
    transitions = await services.store.list_transitions(incident.id)
    opened = max((t.at for t in transitions if t.to_stage == Stage.ISSUE_OPEN.value), default=0.0)
    return float(state.handoff.get("at", 0.0)) < opened


async def record_analysis(
    services: Services, incident: Incident, state: IncidentState, evidence: Evidence, verdict: Verdict
) -> Incident:
    state.evidence = evidence.to_dict()
    state.verdict = verdict.to_dict()
    state.gaps = list(evidence.gaps)
    state.learned = LearnedSummary.from_evidence(evidence).to_dict()
    state.evidence_at = time.time()
    await services.store.add_audit(incident.id, "analysis", {"source": verdict.source, **verdict.audit})
    return await move(services, incident, Stage.ANALYSED, f"analysed ({verdict.source})", state)


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
        incident = await save(services, incident, state)
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


async def note_recurrence(
    services: Services,
    gh: GitHubClient,
    incident: Incident,
    state: IncidentState,
    *,
    config: RepoConfig,
    notification: Notification,
    view: RolloutView,
) -> Incident:
    """Comment only when the evidence shows something new; otherwise just remember the event."""
    if time.time() - state.evidence_at < RECOLLECT_AFTER or incident.issue_number is None:
        return await save(services, incident, state)
    evidence = await collect_for(services, view, notification)
    previous = LearnedSummary.from_dict(state.learned) if state.learned else None
    learned = diff_learned(previous, evidence)
    state.evidence_at = time.time()
    if learned:
        body = render_recurrence_comment(learned, evidence, attempt=incident.attempt)
        await issues.post_comment(gh, incident.repo, incident.issue_number, body)
        state.learned = LearnedSummary.from_evidence(evidence).to_dict()
    return await save(services, incident, state)


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
