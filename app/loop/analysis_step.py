"""Evidence and verdict for an incident: the bridge from the loop to rollouts/ and analysis/."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from app.analysis.evidence import Evidence
from app.analysis.llm import analyse
from app.analysis.verdict import Verdict
from app.github.http import GitHubClient
from app.loop.incidents import IncidentState
from app.loop.provenance import resolve
from app.loop.repo_config import RepoConfig
from app.loop.suspects import Origin, find_suspects
from app.rollouts.evidence import collect_evidence
from app.rollouts.model import RolloutView
from app.rollouts.notification import Notification

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

NO_CLUSTER = "no Kubernetes access configured (KUBECONFIG or in-cluster): pods, logs and events missing"


async def collect_for(services: Services, view: RolloutView, notification: Notification) -> Evidence:
    """Evidence from the cluster; with no cluster access, what the notification alone tells."""
    if services.kube is None:
        return Evidence(
            namespace=view.namespace,
            rollout=view.name,
            canary_hash=view.current_pod_hash,
            stable_hash=view.stable_rs,
            phase=view.phase,
            message=view.message,
            aborted=view.aborted,
            gaps=[NO_CLUSTER],
        )
    return await collect_evidence(
        services.kube,
        view.namespace,
        view.name,
        max_pods_per_side=services.settings.max_pods_per_side,
        tail_lines=services.settings.log_tail_lines,
        fallback_rollout=notification.rollout,
    )


async def trace_origin(
    services: Services, gh: GitHubClient, repo: str, evidence: Evidence, template: str
) -> dict[str, Any]:
    """Both sides' revisions and the suspect commits, as stored with the incident; what cannot be known
    is noted in it, and nothing here raises for it."""
    found = await resolve(services.registry, evidence, template)
    suspects = await find_suspects(
        gh,
        repo,
        found,
        evidence,
        web_url=services.settings.github_web_url,
        max_commits=services.settings.max_suspect_commits,
    )
    return Origin(found, suspects).to_dict()


async def analyse_evidence(
    services: Services, evidence: Evidence, config: RepoConfig, state: IncidentState
) -> Verdict:
    verdict = await analyse(
        evidence,
        settings_like=services.llm_config,
        extra_prompt=config.extra_prompt,
        tokens_used=state.llm_tokens,
        metrics=services.metrics,
    )
    state.llm_tokens += int(verdict.audit.get("tokens_in", 0)) + int(verdict.audit.get("tokens_out", 0))
    return verdict
