"""A repository itself and the files on its default branch."""

from __future__ import annotations

from typing import TypedDict, cast

from gidgethub.abc import GitHubAPI

from app.github import rest
from app.github.errors import GitHubNotFound

REPO = "/repos/{owner}/{repo}"


class RepoPermissions(TypedDict, total=False):
    """The caller's own access, present when the request was made with a user's token."""

    admin: bool
    push: bool
    pull: bool


class Repository(TypedDict, total=False):
    private: bool
    permissions: RepoPermissions


class RepoContent(TypedDict, total=False):
    """A path's contents: for a file (``type`` ``file``), ``content`` is base64 as ``encoding`` says."""

    type: str
    encoding: str
    content: str


async def repository(gh: GitHubAPI, repo: str) -> Repository:
    """The repository as this credential sees it (``GitHubNotFound`` when it may not see it at all)."""
    answer = await rest.get(gh, REPO, rest.repo_vars(repo))
    return cast(Repository, answer) if isinstance(answer, dict) else Repository()


async def content(gh: GitHubAPI, repo: str, path: str) -> RepoContent | None:
    """What is at ``path`` on the default branch; None when nothing is (a directory is not a file)."""
    try:
        answer = await rest.get(gh, REPO + "/contents/{path}", rest.repo_vars(repo, path=path))
    except GitHubNotFound:
        return None
    return cast(RepoContent, answer) if isinstance(answer, dict) else None
