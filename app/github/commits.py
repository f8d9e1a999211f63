"""Commits: what lies between two revisions, and which commits touched a file."""

from __future__ import annotations

from typing import TypedDict, cast

from gidgethub.abc import GitHubAPI

from app.github import rest
from app.github.issues import UserRef


class CommitMessage(TypedDict, total=False):
    message: str


class CommitItem(TypedDict, total=False):
    sha: str
    author: UserRef | None  # the GitHub account, when the commit's e-mail maps to one
    commit: CommitMessage


class ChangedFile(TypedDict, total=False):
    filename: str
    previous_filename: str  # when renamed


class Comparison(TypedDict, total=False):
    total_commits: int
    commits: list[CommitItem]  # oldest first, at most one page
    files: list[ChangedFile]


async def compare(gh: GitHubAPI, repo: str, basehead: str, *, per_page: int) -> Comparison | None:
    """``base...head``, one page of at most ``per_page`` commits; None when the answer is not an object."""
    url = "/repos/{owner}/{repo}/compare/{basehead}?per_page={per_page}"
    answer = await rest.get(gh, url, rest.repo_vars(repo, basehead=basehead, per_page=per_page))
    return cast(Comparison, answer) if isinstance(answer, dict) else None


async def commits_touching(gh: GitHubAPI, repo: str, *, sha: str, path: str) -> set[str]:
    """The SHAs of the commits up to ``sha`` that changed ``path`` (the first hundred)."""
    url = "/repos/{owner}/{repo}/commits?sha={sha}&path={path}&per_page=100"
    answer = await rest.get(gh, url, rest.repo_vars(repo, sha=sha, path=path))
    return {str(c.get("sha")) for c in answer if isinstance(c, dict)} if isinstance(answer, list) else set()
