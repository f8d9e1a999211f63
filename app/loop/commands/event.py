"""The ``issue_comment`` payload fields the slash commands use, parsed in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gidgethub.sansio import Event

from app.errors import PermanentError
from app.loop.commands.grammar import Command, new_commands


@dataclass(frozen=True)
class CommentEvent:
    action: str  # created | edited
    repo: str
    number: int  # the issue's or the PR's number
    on_pull_request: bool
    issue_author: str
    issue_body: str
    comment_id: int
    body: str
    previous_body: str  # created: empty; edited: ``changes.body.from`` (the body as it was)
    author: str
    author_type: str
    sender: str
    sender_type: str

    @classmethod
    def from_event(cls, event: Event) -> CommentEvent:
        data = event.data
        issue, comment = _field(data, "issue"), _field(data, "comment")
        action = str(_field(data, "action"))
        body = str(comment.get("body") or "")
        return cls(
            action=action,
            repo=str(_field(data, "repository.full_name")),
            number=int(_field(issue, "number")),
            on_pull_request=bool(issue.get("pull_request")),
            issue_author=str(_field(issue, "user.login")),
            issue_body=str(issue.get("body") or ""),
            comment_id=int(_field(comment, "id")),
            body=body,
            previous_body=_previous(data, body) if action == "edited" else "",
            author=str(_field(comment, "user.login")),
            author_type=str(comment["user"].get("type") or ""),
            sender=str(_field(data, "sender.login")),
            sender_type=str(data["sender"].get("type") or ""),
        )

    @property
    def by_bot(self) -> bool:
        """A bot wrote or sent it (GitHub Apps, Fixloop itself included): never acted on, never answered."""
        return any(
            kind == "Bot" or login.lower().endswith("[bot]")
            for login, kind in ((self.author, self.author_type), (self.sender, self.sender_type))
        )

    def new_commands(self) -> list[Command]:
        """Commands in the body; for an edit, only those the previous body did not hold."""
        return new_commands(self.body, self.previous_body)


def _field(data: Any, path: str) -> Any:
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise PermanentError(f"issue_comment payload: missing {path}")
        value = value[part]
    return value


def _previous(data: dict[str, Any], body: str) -> str:
    """An edit that did not touch the body (no ``changes.body``) adds no command: the body is its own past."""
    changes = data.get("changes")
    before = changes.get("body") if isinstance(changes, dict) else None
    if isinstance(before, dict) and isinstance(before.get("from"), str):
        return str(before["from"])
    return body
