"""Reactions on issue and pull-request comments: how Fixloop acknowledges a command (👀, then 👍 or 👎)."""

from __future__ import annotations

from typing import Literal

from gidgethub.abc import GitHubAPI

from app.github import rest

Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]


async def react_to_comment(gh: GitHubAPI, repo: str, comment_id: int, content: Reaction) -> None:
    """Add a reaction; GitHub answers 200 with the existing one when it is already there (idempotent)."""
    url = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
    await rest.post(gh, url, rest.repo_vars(repo, comment_id=comment_id), {"content": content})
