"""Who may write to a repository: the one check behind slash commands, hand-offs and assignments.

``GET /repos/{owner}/{repo}/collaborators/{username}/permission`` answers two things. ``role_name`` is the
role as named on the repository: ``admin``, ``maintain``, ``write``, ``triage``, ``read``, or the name of an
organisation's custom role ("deployer"). ``permission`` is the legacy base level (``admin``, ``write``,
``read``, ``none``), which GitHub computes for every role: ``maintain`` and a custom role built on write
or maintain give ``write``. So a role name alone cannot tell whether a custom role may write; the base
level can.
"""

from __future__ import annotations

from dataclasses import dataclass

from gidgethub.abc import GitHubAPI

from app.github import rest
from app.github.errors import GitHubNotFound

WRITE_ROLES = frozenset({"write", "maintain", "admin"})
LEGACY_WRITE = frozenset({"write", "admin"})


@dataclass(frozen=True)
class RepoPermission:
    """One user's access to one repository, as GitHub answered it (a stranger: both ``none``).

    ``role_name``: the role's name (a custom role's too), or the base level when GitHub names none.
    """

    login: str
    role_name: str = "none"
    permission: str = "none"

    @property
    def may_write(self) -> bool:
        """Write, maintain, admin, or a custom role built on one of them."""
        return self.role_name in WRITE_ROLES or self.permission in LEGACY_WRITE


async def repo_permission(gh: GitHubAPI, repo: str, login: str) -> RepoPermission:
    """``login``'s role on ``repo``; a login GitHub does not know (404) has none."""
    url = "/repos/{owner}/{repo}/collaborators/{username}/permission"
    try:
        answer = await rest.get(gh, url, rest.repo_vars(repo, username=login))
    except GitHubNotFound:
        return RepoPermission(login)
    role_name, legacy = str(answer.get("role_name") or ""), str(answer.get("permission") or "")
    return RepoPermission(login, role_name or legacy or "none", legacy or "none")


async def may_write(gh: GitHubAPI, repo: str, login: str) -> bool:
    """Whether ``login`` may write to ``repo`` (and so run Fixloop's commands, or lend it their token)."""
    return (await repo_permission(gh, repo, login)).may_write
