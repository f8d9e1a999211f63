"""Typed views of the webhook payload fields the loop uses, parsed in one place.

A payload whose shape changed fails here, loudly, with the field named, instead of as a KeyError deep
inside a handler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gidgethub.sansio import Event

from app.errors import PermanentError

AGENT_BOTS = {
    "copilot": ("copilot", "copilot-swe-agent", "copilot-swe-agent[bot]"),
    "jules": ("google-labs-jules[bot]", "google-labs-jules"),
    "claude": ("claude[bot]", "claude"),
    "codex": ("chatgpt-codex-connector[bot]", "codex[bot]"),
    "openhands": ("openhands-agent", "openhands[bot]"),
}
AGENT_BRANCHES = {
    "copilot": "copilot/",
    "jules": "jules",
    "claude": "claude/",
    "codex": "codex/",
    "openhands": "openhands",
}
_CLOSING_RE = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d{1,9})\b", re.IGNORECASE)


def _field(data: Any, path: str) -> Any:
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise PermanentError(f"webhook payload: missing {path}")
        value = value[part]
    return value


@dataclass(frozen=True)
class PullRequest:
    repo: str
    number: int
    url: str
    title: str
    body: str
    author: str
    author_type: str
    draft: bool
    state: str  # open | closed
    merged: bool
    merge_commit_sha: str
    head_ref: str
    head_sha: str
    base_ref: str
    created_at: str

    @classmethod
    def from_event(cls, event: Event) -> PullRequest:
        pr = _field(event.data, "pull_request")
        return cls(
            repo=str(_field(event.data, "repository.full_name")),
            number=int(_field(pr, "number")),
            url=str(pr.get("html_url") or ""),
            title=str(pr.get("title") or ""),
            body=str(pr.get("body") or ""),
            author=str(_field(pr, "user.login")),
            author_type=str(pr["user"].get("type") or ""),
            draft=bool(pr.get("draft")),
            state=str(_field(pr, "state")),
            merged=bool(pr.get("merged")),
            merge_commit_sha=str(pr.get("merge_commit_sha") or ""),
            head_ref=str(_field(pr, "head.ref")),
            head_sha=str(_field(pr, "head.sha")),
            base_ref=str(_field(pr, "base.ref")),
            created_at=str(pr.get("created_at") or ""),
        )

    def closing_issue_numbers(self) -> list[int]:
        return [int(n) for n in _CLOSING_RE.findall(self.body)]

    def agent(self) -> str | None:
        """Which coding agent opened this PR, judged by its author, else its branch name."""
        author = self.author.lower()
        for agent, logins in AGENT_BOTS.items():
            if author in logins:
                return agent
        for agent, prefix in AGENT_BRANCHES.items():
            if self.head_ref.startswith(prefix):
                return agent
        return None

    @property
    def display_state(self) -> str:
        if self.merged:
            return "merged"
        if self.state == "closed":
            return "closed"
        return "draft" if self.draft else "open"


@dataclass(frozen=True)
class CommitResult:
    """A check_suite or workflow_run outcome on a commit."""

    repo: str
    sha: str
    status: str
    conclusion: str

    @classmethod
    def from_event(cls, event: Event) -> CommitResult:
        key = "check_suite" if event.event == "check_suite" else "workflow_run"
        run = _field(event.data, key)
        return cls(
            repo=str(_field(event.data, "repository.full_name")),
            sha=str(_field(run, "head_sha")),
            status=str(run.get("status") or ""),
            conclusion=str(run.get("conclusion") or ""),
        )
