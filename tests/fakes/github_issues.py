"""Handlers for issues, comments, labels, assignees, timeline, reactions and issue search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fakes.github_auth import GitHubError
from tests.fakes.github_routing import Ctx, Reply, not_found, paginate, route, validation_failed
from tests.fakes.github_state import COPILOT_LOGINS, Comment, Event, Issue, Reaction, now

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
COMMENT = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
COPILOT = "Copilot"
PUSH = ("admin", "maintain", "write")


def _can_push(ctx: Ctx, login: str) -> bool:
    assert ctx.repo is not None
    return login == ctx.repo.owner.login or ctx.repo.collaborators.get(login) in PUSH


def _assign(ctx: Ctx, issue: Issue, logins: list[Any], agent_assignment: dict[str, Any] | None) -> None:
    """Add assignees like GitHub: Copilot needs a user token with a seat; unknown logins are dropped."""
    fake = ctx.fake
    for item in logins:
        login = item["login"] if isinstance(item, dict) else item
        if login in COPILOT_LOGINS:
            user = ctx.caller.user
            if ctx.caller.kind != "user" or user is None or not user.copilot_seat:
                raise validation_failed(
                    "Issue", "assignees", "invalid", f"{login} is not available as an assignee"
                )
            record = {"by": user.login, "agent_assignment": dict(agent_assignment or {})}
            issue.agent_assignments.append(record)
            login = COPILOT
        elif login not in fake.users or not _can_push(ctx, login):
            continue  # GitHub silently ignores assignees it cannot assign
        if login not in issue.assignees:
            issue.assignees.append(login)
            issue.timeline.append(
                Event(fake.next_id(), "assigned", ctx.caller.user, now(), {"assignee": login})
            )
    if len(issue.assignees) > 10:
        raise validation_failed("Issue", "assignees", "invalid", "An issue can have at most 10 assignees")


def _set_labels(ctx: Ctx, issue: Issue, items: list[Any]) -> None:
    for item in items:
        ctx.fake.label_issue(issue, item["name"] if isinstance(item, dict) else str(item), ctx.caller)


def _labels_of(ctx: Ctx, issue: Issue) -> list[dict[str, Any]]:
    labels = ctx.fake.repos[issue.repo].labels
    return [ctx.fake.shapes.label(issue.repo, labels[name.lower()]) for name in issue.labels]


def _set_state(ctx: Ctx, issue: Issue, state: str, reason: str | None) -> None:
    if state == issue.state:
        return
    issue.state = "closed" if state == "closed" else "open"
    issue.closed_at = now() if state == "closed" else None
    issue.state_reason = (reason or "completed") if state == "closed" else "reopened"
    event = "closed" if state == "closed" else "reopened"
    data = {"state_reason": issue.state_reason}
    issue.timeline.append(Event(ctx.fake.next_id(), event, ctx.caller.user, now(), data))


@route("post", "/repos/{owner}/{repo}/issues")
async def create_issue(ctx: Ctx) -> Reply:
    assert ctx.repo is not None and ctx.caller.user is not None
    b = ctx.body
    issue = ctx.fake.add_issue(ctx.repo.full_name, str(b["title"]), b.get("body"), user=ctx.caller.user.login)
    _set_labels(ctx, issue, b.get("labels") or [])
    _assign(
        ctx,
        issue,
        [*(b.get("assignees") or []), *([b["assignee"]] if b.get("assignee") else [])],
        b.get("agent_assignment"),
    )
    return Reply(201, ctx.fake.shapes.issue(issue))


@route("get", ISSUE)
async def get_issue(ctx: Ctx) -> Reply:
    return Reply(200, ctx.fake.shapes.issue(ctx.issue()))


@route("patch", ISSUE)
async def update_issue(ctx: Ctx) -> Reply:
    issue, b = ctx.issue(), ctx.body or {}
    if "title" in b and b["title"] is not None:
        issue.title = str(b["title"])
    if "body" in b:
        issue.body = b["body"]
    if "labels" in b:
        issue.labels, issue.labels_added_by = [], {}
        _set_labels(ctx, issue, b["labels"] or [])
    if "assignees" in b:
        issue.assignees = []
        _assign(ctx, issue, b["assignees"] or [], b.get("agent_assignment"))
    if "state" in b:
        _set_state(ctx, issue, b["state"], b.get("state_reason"))
    issue.updated_at = now()
    return Reply(200, ctx.fake.shapes.issue(issue))


@route("get", f"{ISSUE}/comments")
async def list_comments(ctx: Ctx) -> Reply:
    return paginate(ctx, [ctx.fake.shapes.comment(c) for c in ctx.issue().comments])


@route("post", f"{ISSUE}/comments")
async def create_comment(ctx: Ctx) -> Reply:
    assert ctx.repo is not None and ctx.caller.user is not None
    issue = ctx.issue()
    t = now()
    comment = Comment(
        ctx.fake.next_id(), ctx.repo.full_name, issue.number, ctx.body["body"], ctx.caller.user, t, t
    )
    issue.comments.append(comment)
    issue.updated_at = t
    return Reply(201, ctx.fake.shapes.comment(comment))


def _comment(ctx: Ctx) -> Comment:
    assert ctx.repo is not None
    wanted = int(ctx.params["comment_id"])
    for issue in ctx.repo.issues.values():
        for comment in issue.comments:
            if comment.id == wanted:
                return comment
    raise not_found()


@route("get", COMMENT)
async def get_comment(ctx: Ctx) -> Reply:
    return Reply(200, ctx.fake.shapes.comment(_comment(ctx)))


@route("patch", COMMENT)
async def update_comment(ctx: Ctx) -> Reply:
    comment, user = _comment(ctx), ctx.caller.user
    # An installation with issues:write edits any comment; a user, their own or with push access.
    if (
        ctx.caller.kind == "user"
        and user
        and user.login != comment.user.login
        and not _can_push(ctx, user.login)
    ):
        raise GitHubError(403, "Resource not accessible by integration")
    comment.body, comment.updated_at = ctx.body["body"], now()
    return Reply(200, ctx.fake.shapes.comment(comment))


@route("post", f"{ISSUE}/labels")
async def add_labels(ctx: Ctx) -> Reply:
    issue = ctx.issue()
    _set_labels(ctx, issue, ctx.body["labels"])
    return Reply(200, _labels_of(ctx, issue))


@route("delete", f"{ISSUE}/labels/{{name}}")
async def remove_label(ctx: Ctx) -> Reply:
    issue, name = ctx.issue(), ctx.params["name"]
    present = next((n for n in issue.labels if n.lower() == name.lower()), None)
    if present is None:
        raise GitHubError(404, "Label does not exist")
    issue.labels.remove(present)
    issue.labels_added_by.pop(present, None)
    issue.timeline.append(Event(ctx.fake.next_id(), "unlabeled", ctx.caller.user, now(), {"label": present}))
    return Reply(200, _labels_of(ctx, issue))


@route("get", "/repos/{owner}/{repo}/labels/{name}")
async def get_label(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    label = ctx.repo.labels.get(ctx.params["name"].lower())
    if label is None:
        raise not_found()
    return Reply(200, ctx.fake.shapes.label(ctx.repo.full_name, label))


@route("post", "/repos/{owner}/{repo}/labels")
async def create_label(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    b = ctx.body
    if b["name"].lower() in ctx.repo.labels:
        raise validation_failed("Label", "name", "already_exists")
    label = ctx.fake.add_label(
        ctx.repo.full_name,
        b["name"],
        color=b.get("color", "ededed").lstrip("#"),
        description=b.get("description"),
    )
    return Reply(201, ctx.fake.shapes.label(ctx.repo.full_name, label))


@route("post", f"{ISSUE}/assignees")
async def add_assignees(ctx: Ctx) -> Reply:
    issue, b = ctx.issue(), ctx.body or {}
    _assign(ctx, issue, b.get("assignees") or [], b.get("agent_assignment"))
    return Reply(201, ctx.fake.shapes.issue(issue))


@route("delete", f"{ISSUE}/assignees")
async def remove_assignees(ctx: Ctx) -> Reply:
    issue = ctx.issue()
    for given in (ctx.body or {}).get("assignees") or []:
        login = COPILOT if given in COPILOT_LOGINS else given
        if login in issue.assignees:
            issue.assignees.remove(login)
            issue.timeline.append(
                Event(ctx.fake.next_id(), "unassigned", ctx.caller.user, now(), {"assignee": login})
            )
    return Reply(200, ctx.fake.shapes.issue(issue))


@route("get", f"{ISSUE}/timeline")
async def timeline(ctx: Ctx) -> Reply:
    issue, shapes = ctx.issue(), ctx.fake.shapes
    entries: list[tuple[float, int, dict[str, Any]]] = [
        (e.created_at, e.id, shapes.event(issue, e)) for e in issue.timeline
    ]
    entries += [(c.created_at, c.id, shapes.comment_event(c)) for c in issue.comments]
    return paginate(ctx, [body for _, _, body in sorted(entries, key=lambda e: (e[0], e[1]))])


def _react(ctx: Ctx, reactions: list[Reaction]) -> Reply:
    assert ctx.caller.user is not None
    content = ctx.body["content"]
    for existing in reactions:
        if existing.content == content and existing.user.login == ctx.caller.user.login:
            return Reply(200, ctx.fake.shapes.reaction(existing))
    reaction = Reaction(ctx.fake.next_id(), content, ctx.caller.user, now())
    reactions.append(reaction)
    return Reply(201, ctx.fake.shapes.reaction(reaction))


@route("post", f"{COMMENT}/reactions")
async def react_to_comment(ctx: Ctx) -> Reply:
    return _react(ctx, _comment(ctx).reactions)


@route("post", f"{ISSUE}/reactions")
async def react_to_issue(ctx: Ctx) -> Reply:
    return _react(ctx, ctx.issue().reactions)


# --- search ---------------------------------------------------------------------------------------


@route("get", "/repos/{owner}/{repo}/issues")
async def list_issues(ctx: Ctx) -> Reply:
    """Issues and pull requests, as GitHub lists them: state (default open), since (updated at or after),
    creator and labels filters; sorted by created or updated time, newest first unless direction=asc."""
    assert ctx.repo is not None
    q = ctx.query
    state = q.get("state", "open")
    since = datetime.fromisoformat(q["since"].replace("Z", "+00:00")).timestamp() if q.get("since") else None
    wanted = {name.lower() for name in q.get("labels", "").split(",") if name}
    found = [
        i
        for i in ctx.repo.issues.values()
        if state in ("all", i.state)
        and (since is None or i.updated_at >= since)
        and q.get("creator") in (None, i.user.login)
        and wanted <= {name.lower() for name in i.labels}
    ]
    key = "updated_at" if q.get("sort") == "updated" else "created_at"
    found.sort(key=lambda i: (getattr(i, key), i.number), reverse=q.get("direction", "desc") == "desc")
    return paginate(ctx, [ctx.fake.shapes.issue(i) for i in found])
