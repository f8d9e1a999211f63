"""GitHub Deployments and their statuses: how a merged fix's way through the canary shows on GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, TypedDict, cast

from gidgethub.abc import GitHubAPI

from app.github import rest

DeploymentState = Literal["error", "failure", "inactive", "in_progress", "queued", "pending", "success"]
DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"


class Deployment(TypedDict, total=False):
    id: int
    payload: dict[str, Any] | str  # what the creator stored: an object, or a string


async def deployments_of(
    gh: GitHubAPI, repo: str, *, sha: str, environment: str
) -> AsyncIterator[Deployment]:
    """The deployments of ``sha`` to ``environment``, newest first."""
    url_vars = rest.repo_vars(repo, sha=sha, environment=environment)
    async for item in rest.get_pages(gh, DEPLOYMENTS + "{?sha,environment}", url_vars):
        yield cast(Deployment, item)


async def create_deployment(
    gh: GitHubAPI,
    repo: str,
    *,
    ref: str,
    environment: str,
    payload: Mapping[str, Any],
    description: str,
    auto_merge: bool,
    required_contexts: Sequence[str],
    transient_environment: bool,
    production_environment: bool,
) -> int:
    """Create a deployment; its id."""
    data = {
        "ref": ref,
        "environment": environment,
        "auto_merge": auto_merge,
        "required_contexts": list(required_contexts),
        "payload": dict(payload),
        "description": description,
        "transient_environment": transient_environment,
        "production_environment": production_environment,
    }
    answer = await rest.post(gh, DEPLOYMENTS, rest.repo_vars(repo), data)
    return int(answer["id"])


async def create_deployment_status(
    gh: GitHubAPI, repo: str, deployment_id: int, *, state: DeploymentState, description: str, log_url: str
) -> None:
    url_vars = rest.repo_vars(repo, deployment_id=deployment_id)
    data = {"state": state, "description": description, "log_url": log_url}
    await rest.post(gh, DEPLOYMENTS + "/{deployment_id}/statuses", url_vars, data)
