"""Repository consent: a repository is acted on only for the clusters and namespaces it lists.

A Rollout annotated ``fixloop.dev/repo: owner/name`` in any namespace of any cluster would otherwise
make Fixloop open issues in that repository and spend its agent (cross-tenant steering). The repository's
``.github/fixloop.yml`` says which sources it accepts (``sources:``); without the key, the operator's
``default_sources`` of the cluster registry apply (all of the implicit ``default`` cluster when there is
no registry file: today's single-cluster behaviour).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.clusters import consents
from app.loop.incident.repo_config import RepoConfig

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)


def source_consented(services: Services, config: RepoConfig, cluster: str, namespace: str) -> bool:
    rules = config.sources if config.sources is not None else services.clusters.default_sources
    return consents(rules, cluster, namespace)


def refusal(repo: str, cluster: str, namespace: str) -> str:
    return (
        f"{repo} does not consent to Rollouts of cluster {cluster}, namespace {namespace} "
        "(`sources:` in its .github/fixloop.yml, else the operator's default_sources)"
    )


def note_refusal(services: Services, repo: str, cluster: str, namespace: str, what: str) -> str:
    """Log and count a refused source; the reason, for the caller to record."""
    reason = refusal(repo, cluster, namespace)
    log.warning("%s refused: %s", what, reason, extra={"fields": {"cluster": cluster, "repo": repo}})
    if cluster in services.clusters.names:  # bounded labels: registry names only
        services.metrics.sources_refused.labels(cluster).inc()
    return reason
