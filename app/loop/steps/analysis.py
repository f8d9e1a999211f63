"""Evidence and verdict for an incident: the bridge from the loop to rollouts/ and analysis/."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app.analysis.evidence import Evidence
from app.analysis.llm import analyse
from app.analysis.verdict import Verdict
from app.github.http import GitHubClient
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.state import IncidentState
from app.loop.origin.provenance import resolve
from app.loop.origin.suspects import Origin, find_suspects
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


def a2a_url_for(services: Services, config: RepoConfig) -> tuple[str, str | None]:
    """The A2A agent to ask (empty: none), and why the repository's own choice was ignored, if it was.

    A repository may name its agent, but only on a host the operator allowed: the URL receives the
    cluster's (redacted) evidence, and Fixloop must not be pointed at arbitrary or internal addresses.
    """
    settings = services.settings
    wanted = config.analysis.a2a_url
    if not wanted:
        return settings.a2a_url, None
    host = (urlsplit(wanted).hostname or "").lower()
    if host in settings.a2a_allowed_hosts:
        return wanted, None
    return settings.a2a_url, f"analysis.a2a_url host {host!r} is not in FIXLOOP_A2A_ALLOWED_HOSTS: ignored"


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
    """The verdict of the A2A agent when one is configured; else (or when it fails) the inline LLM,
    then the offline analyser. The audit says what was tried and why it fell back."""
    url, ignored = a2a_url_for(services, config)
    notes: dict[str, Any] = {"a2a_ignored": ignored} if ignored else {}
    if url:
        # a2a-sdk (protobuf, google-api-core, httpx) costs ~1 s of imports: paid once agent mode is used.
        from app.agents.a2a import A2AConfig, AgentFailure, analyse_with_agent  # noqa: PLC0415

        a2a = A2AConfig(
            url=url,
            timeout_seconds=services.settings.a2a_timeout_seconds,
            token_budget=services.llm_config.token_budget,
        )
        try:
            verdict = await analyse_with_agent(evidence, config=a2a, extra_prompt=config.extra_prompt)
        except AgentFailure as exc:
            log.warning("A2A agent %s failed, falling back: %s", urlsplit(url).netloc, exc)
            services.metrics.a2a_calls.labels(outcome="failed").inc()
            notes |= {"a2a_failed": str(exc), "a2a": exc.audit}
        else:
            services.metrics.a2a_calls.labels(outcome="ok").inc()
            return replace(verdict, audit={**verdict.audit, **notes})
    verdict = await analyse(
        evidence,
        settings_like=services.llm_config,
        extra_prompt=config.extra_prompt,
        tokens_used=state.llm_tokens,
        metrics=services.metrics,
    )
    state.llm_tokens += int(verdict.audit.get("tokens_in", 0)) + int(verdict.audit.get("tokens_out", 0))
    return replace(verdict, audit={**verdict.audit, **notes}) if notes else verdict
