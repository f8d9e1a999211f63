"""GitHub issues: the issue itself, its labels, comments, assignees and timeline, and the repository's labels.

Typed in what Fixloop reads of GitHub's answers; every field may be missing or null in what GitHub sends,
so the records are ``total=False`` and readers use ``.get``. Errors: ``app.github.errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, TypedDict, cast

from gidgethub.abc import GitHubAPI

from app.github import rest
from app.github.errors import GitHubInvalid

IssueState = Literal["open", "closed"]
StateReason = Literal["completed", "not_planned", "reopened"]


class UserRef(TypedDict, total=False):
    login: str


class IssueItem(TypedDict, total=False):
    """An issue as the repository's issue list gives it (pull requests carry ``pull_request``)."""

    number: int
    body: str | None
    user: UserRef | None
    pull_request: dict[str, Any]


class CommentItem(TypedDict, total=False):
    id: int
    body: str | None
    user: UserRef


class IssueRef(TypedDict, total=False):
    number: int


class TimelineSource(TypedDict, total=False):
    issue: IssueRef


class TimelineEvent(TypedDict, total=False):
    """One event of an issue's timeline: ``assigned``, ``commented``, ``cross-referenced``, ..."""

    event: str
    created_at: str
    assignee: UserRef | None
    user: UserRef | None
    actor: UserRef | None
    body: str | None
    source: TimelineSource


class AgentAssignment(TypedDict, total=False):
    """What Copilot's coding agent is asked to do when assigned (the assignees endpoint's extension)."""

    target_repo: str
    base_branch: str
    custom_instructions: str


ISSUES = "/repos/{owner}/{repo}/issues"
ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"


async def create_issue(gh: GitHubAPI, repo: str, title: str, body: str, labels: Sequence[str]) -> int:
    """Open an issue; its number."""
    data = {"title": title, "body": body, "labels": list(labels)}
    answer = await rest.post(gh, ISSUES, rest.repo_vars(repo), data)
    return int(answer["number"])


async def issues_since(gh: GitHubAPI, repo: str, *, since: str) -> AsyncIterator[IssueItem]:
    """Open and closed issues (and pull requests) updated since ``since`` (ISO 8601), oldest made first."""
    url = ISSUES + "{?state,since,sort,per_page}"
    url_vars = rest.repo_vars(repo, state="all", since=since, sort="created", per_page=100)
    async for item in rest.get_pages(gh, url, url_vars):
        yield cast(IssueItem, item)


async def update_issue(
    gh: GitHubAPI, repo: str, number: int, *, state: IssueState, state_reason: StateReason | None = None
) -> None:
    data: dict[str, str] = {"state": state}
    if state_reason is not None:
        data["state_reason"] = state_reason
    await rest.patch(gh, ISSUE, rest.repo_vars(repo, issue_number=number), data)


async def add_labels(gh: GitHubAPI, repo: str, number: int, labels: Sequence[str]) -> None:
    await rest.post(
        gh, ISSUE + "/labels", rest.repo_vars(repo, issue_number=number), {"labels": list(labels)}
    )


async def create_label(gh: GitHubAPI, repo: str, name: str, *, color: str, description: str) -> bool:
    """Create a repository label; False when the repository has it (GitHub's 422 ``already_exists``)."""
    data = {"name": name, "color": color, "description": description}
    try:
        await rest.post(gh, "/repos/{owner}/{repo}/labels", rest.repo_vars(repo), data)
    except GitHubInvalid as exc:
        if "already_exists" not in exc.codes:
            raise
        return False
    return True


async def post_comment(gh: GitHubAPI, repo: str, number: int, body: str) -> int:
    """Comment on an issue or pull request; the comment's id."""
    url_vars = rest.repo_vars(repo, issue_number=number)
    answer = await rest.post(gh, ISSUE + "/comments", url_vars, {"body": body})
    return int(answer["id"])


async def edit_comment(gh: GitHubAPI, repo: str, comment_id: int, body: str) -> None:
    """Replace a comment's body (``GitHubNotFound`` when it was deleted)."""
    url_vars = rest.repo_vars(repo, comment_id=comment_id)
    await rest.patch(gh, "/repos/{owner}/{repo}/issues/comments/{comment_id}", url_vars, {"body": body})


async def comments(gh: GitHubAPI, repo: str, number: int) -> AsyncIterator[CommentItem]:
    """The comments of an issue or pull request, oldest first."""
    async for item in rest.get_pages(gh, ISSUE + "/comments", rest.repo_vars(repo, issue_number=number)):
        yield cast(CommentItem, item)


async def add_assignees(
    gh: GitHubAPI,
    repo: str,
    number: int,
    logins: Sequence[str],
    *,
    agent_assignment: AgentAssignment | None = None,
) -> list[str]:
    """Assign people (or Copilot, with ``agent_assignment``); the logins the issue is assigned to after."""
    data: dict[str, Any] = {"assignees": list(logins)}
    if agent_assignment is not None:
        data["agent_assignment"] = agent_assignment
    answer = await rest.post(gh, ISSUE + "/assignees", rest.repo_vars(repo, issue_number=number), data)
    return [str(a.get("login", "")) for a in answer.get("assignees") or []]


async def timeline(gh: GitHubAPI, repo: str, number: int) -> AsyncIterator[TimelineEvent]:
    """The issue's timeline events, oldest first."""
    url_vars = rest.repo_vars(repo, issue_number=number)
    async for item in rest.get_pages(gh, ISSUE + "/timeline", url_vars):
        yield cast(TimelineEvent, item)
