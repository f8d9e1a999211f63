"""State of the fake GitHub: plain dataclasses plus the seed and read-back helpers tests use."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes import keys

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
COPILOT_LOGINS = ("copilot-swe-agent[bot]", "copilot-swe-agent", "Copilot")


def now() -> float:
    return time.time()


def git_sha(data: bytes) -> str:
    """The blob sha git (and GitHub's contents API) gives these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class User:
    login: str
    id: int
    type: Literal["User", "Bot", "Organization"] = "User"
    copilot_seat: bool = False
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who a request (or a recorded change) came from."""

    kind: Literal["app", "installation", "user", "seed"]
    user: User | None = None
    installation_id: int | None = None


@dataclass
class Installation:
    id: int
    account: User
    repos: set[str] = field(default_factory=set)
    suspended: bool = False


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Reaction:
    id: int
    content: str
    user: User
    created_at: float


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    body: str
    user: User
    created_at: float
    updated_at: float
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Event:
    """A timeline event; `data` carries the event-specific part (label, assignee, source...)."""

    id: int
    event: str
    actor: User | None
    created_at: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pull:
    head_ref: str
    head_sha: str
    base_ref: str
    draft: bool = False
    merged: bool = False
    merged_at: float | None = None
    merge_commit_sha: str | None = None


@dataclass
class Issue:
    """An issue, or a pull request when `pull` is set (they share numbers, as on GitHub)."""

    id: int
    repo: str
    number: int
    title: str
    body: str | None
    user: User
    created_at: float
    updated_at: float
    state: Literal["open", "closed"] = "open"
    state_reason: str | None = None
    closed_at: float | None = None
    labels: list[str] = field(default_factory=list)
    labels_added_by: dict[str, Caller] = field(default_factory=dict)
    assignees: list[str] = field(default_factory=list)
    agent_assignments: list[dict[str, Any]] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    pull: Pull | None = None


@dataclass
class DeploymentStatus:
    id: int
    state: str
    creator: User
    created_at: float
    description: str = ""
    environment: str = ""
    target_url: str = ""
    log_url: str = ""
    environment_url: str = ""


@dataclass
class Deployment:
    id: int
    ref: str
    sha: str
    task: str
    environment: str
    description: str | None
    payload: Any
    creator: User
    created_at: float
    transient_environment: bool = False
    production_environment: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str = "completed"
    conclusion: str | None = "success"
    started_at: float = field(default_factory=now)
    completed_at: float | None = None
    details_url: str | None = None


@dataclass
class Repo:
    id: int
    owner: User
    name: str
    default_branch: str = "main"
    private: bool = True
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # ref -> path -> content
    collaborators: dict[str, Permission] = field(default_factory=dict)
    custom_roles: dict[str, str] = field(default_factory=dict)  # login -> custom role built on its base
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    deployments: dict[int, Deployment] = field(default_factory=dict)
    check_runs: list[CheckRun] = field(default_factory=list)
    commits: dict[str, Any] = field(default_factory=dict)  # sha -> github_commits.FakeCommit, oldest first
    created_at: float = field(default_factory=now)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


class GitHubState:
    """Everything the fake knows. Seed it before the app runs; read it back after."""

    def __init__(
        self, app_id: int = keys.APP_ID, app_slug: str = keys.APP_SLUG, client_id: str = keys.CLIENT_ID
    ) -> None:
        self._ids = itertools.count(1001)
        self.app_id, self.app_slug, self.client_id = app_id, app_slug, client_id
        self.users: dict[str, User] = {}
        self.installations: dict[int, Installation] = {}
        self.repos: dict[str, Repo] = {}
        self.app_bot = self.add_user(f"{app_slug}[bot]", type="Bot")
        self.app_owner = self.add_user("fixloop-dev", type="Organization")
        self.add_user("copilot-swe-agent[bot]", type="Bot")
        self.add_user("Copilot", type="Bot")
        self.add_user("google-labs-jules[bot]", type="Bot")

    def next_id(self) -> int:
        return next(self._ids)

    # --- seed helpers ---------------------------------------------------------------------------

    def add_user(
        self, login: str, *, type: Literal["User", "Bot", "Organization"] = "User", copilot_seat: bool = False
    ) -> User:
        if login not in self.users:
            self.users[login] = User(login, self.next_id(), type, copilot_seat)
        user = self.users[login]
        user.copilot_seat = user.copilot_seat or copilot_seat
        return user

    def user(self, login: str) -> User:
        return self.users.get(login) or self.add_user(login)

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        private: bool = True,
        owner_type: str = "Organization",
    ) -> Repo:
        owner_login, name = full_name.split("/")
        if full_name not in self.repos:
            owner = self.add_user(
                owner_login, type="Organization" if owner_type == "Organization" else "User"
            )
            self.repos[full_name] = Repo(self.next_id(), owner, name, default_branch, private)
        return self.repos[full_name]

    def add_installation(
        self, account: str, repos: Iterable[str] = (), *, id: int | None = None
    ) -> Installation:
        """Install the App on `account` for `repos` ("name" or "owner/name"); repos are created."""
        inst = Installation(id or self.next_id(), self.add_user(account, type="Organization"))
        for repo in repos:
            inst.repos.add(self.add_repo(repo if "/" in repo else f"{account}/{repo}").full_name)
        self.installations[inst.id] = inst
        return inst

    def put_file(self, repo: str, path: str, content: str | bytes, *, ref: str | None = None) -> str:
        """Store a file at `ref` (default branch by default); return its blob sha."""
        data = content.encode() if isinstance(content, str) else content
        r = self.repos[repo]
        r.files.setdefault(ref or r.default_branch, {})[path] = data
        return git_sha(data)

    def add_collaborator(
        self, repo: str, login: str, permission: Permission = "write", *, custom_role: str = ""
    ) -> User:
        """``custom_role``: an organisation's role (say "deployer") built on the base ``permission``."""
        self.repos[repo].collaborators[login] = permission
        if custom_role:
            self.repos[repo].custom_roles[login] = custom_role
        return self.user(login)

    def add_label(
        self, repo: str, name: str, *, color: str = "ededed", description: str | None = None
    ) -> Label:
        labels = self.repos[repo].labels
        if name.lower() not in labels:
            labels[name.lower()] = Label(self.next_id(), name, color, description)
        return labels[name.lower()]

    def _new_number(self, repo: str) -> int:
        return max(self.repos[repo].issues, default=0) + 1

    def add_issue(
        self,
        repo: str,
        title: str,
        body: str | None = "",
        *,
        user: str = "octocat",
        labels: Iterable[str] = (),
    ) -> Issue:
        t = now()
        issue = Issue(self.next_id(), repo, self._new_number(repo), title, body, self.user(user), t, t)
        self.repos[repo].issues[issue.number] = issue
        for name in labels:
            self.label_issue(issue, name, Caller("seed", issue.user))
        return issue

    def add_pull(
        self,
        repo: str,
        *,
        title: str = "Fix",
        body: str | None = "",
        head_ref: str = "copilot/fix",
        head_sha: str | None = None,
        base_ref: str | None = None,
        user: str = "Copilot",
        draft: bool = False,
        links_issue: int | None = None,
    ) -> Issue:
        """A pull request; `links_issue` adds a cross-referenced event to that issue's timeline."""
        pr = self.add_issue(repo, title, body, user=user)
        sha = head_sha or hashlib.sha1(f"{repo}#{pr.number}".encode(), usedforsecurity=False).hexdigest()
        pr.pull = Pull(head_ref, sha, base_ref or self.repos[repo].default_branch, draft)
        if links_issue is not None:
            self.cross_reference(repo, links_issue, pr.number)
        return pr

    def cross_reference(self, repo: str, issue_number: int, source_number: int) -> Event:
        source = self.issue(repo, source_number)
        event = Event(self.next_id(), "cross-referenced", source.user, now(), {"source": source_number})
        self.issue(repo, issue_number).timeline.append(event)
        return event

    def merge_pull(self, repo: str, number: int, *, merge_commit_sha: str | None = None) -> Issue:
        pr = self.issue(repo, number)
        assert pr.pull is not None, f"#{number} is not a pull request"
        pr.pull.merged, pr.pull.merged_at = True, now()
        pr.pull.merge_commit_sha = (
            merge_commit_sha
            or hashlib.sha1(f"merge {repo}#{number}".encode(), usedforsecurity=False).hexdigest()
        )
        pr.state, pr.closed_at = "closed", pr.pull.merged_at
        return pr

    def add_comment(self, repo: str, number: int, body: str, *, user: str = "octocat") -> Comment:
        t = now()
        comment = Comment(self.next_id(), repo, number, body, self.user(user), t, t)
        self.issue(repo, number).comments.append(comment)
        return comment

    def add_check_run(
        self, repo: str, sha: str, name: str, *, status: str = "completed", conclusion: str | None = "success"
    ) -> CheckRun:
        run = CheckRun(self.next_id(), name, sha, status, conclusion)
        run.completed_at = now() if status == "completed" else None
        self.repos[repo].check_runs.append(run)
        return run

    # --- changes shared by handlers and seeds ---------------------------------------------------

    def label_issue(self, issue: Issue, name: str, caller: Caller) -> Label:
        label = self.add_label(issue.repo, name)  # adding a missing label creates it, like GitHub
        if label.name not in issue.labels:
            issue.labels.append(label.name)
            issue.labels_added_by[label.name] = caller
            issue.timeline.append(Event(self.next_id(), "labeled", caller.user, now(), {"label": label.name}))
        return label

    # --- read-back helpers ----------------------------------------------------------------------

    def issue(self, repo: str, number: int) -> Issue:
        return self.repos[repo].issues[number]

    def issues(self, repo: str) -> list[Issue]:
        return [i for i in self.repos[repo].issues.values() if i.pull is None]

    def pulls(self, repo: str) -> list[Issue]:
        return [i for i in self.repos[repo].issues.values() if i.pull is not None]

    def comments(self, repo: str, number: int) -> list[Comment]:
        return self.issue(repo, number).comments

    def deployments(self, repo: str) -> list[Deployment]:
        return list(self.repos[repo].deployments.values())

    def installation_for(self, repo: str) -> Installation | None:
        return next((i for i in self.installations.values() if repo in i.repos), None)
