"""GitHub's JSON for activity: comments, reactions, timeline events, deployments, check runs."""

from __future__ import annotations

import base64
import time
from typing import Any

from tests.fakes.github_state import (
    CheckRun,
    Comment,
    Deployment,
    DeploymentStatus,
    Event,
    GitHubState,
    Issue,
    Reaction,
    User,
)
from tests.fakes.openapi_check import shaped

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


def iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def node_id(prefix: str, ident: int) -> str:
    return f"{prefix}_kw{base64.b64encode(str(ident).encode()).decode().rstrip('=')}"


class ActivityShapes:
    """Base of `Shapes` (github_shapes.py), which provides the user and issue renderings."""

    state: GitHubState
    api: str
    web: str

    def user(self, u: User) -> dict[str, Any]:
        raise NotImplementedError

    def issue(self, i: Issue, component: str = "issue") -> dict[str, Any]:
        raise NotImplementedError

    def association(self, repo: str, u: User) -> str:
        r = self.state.repos[repo]
        if u.login == r.owner.login:
            return "OWNER"
        return "COLLABORATOR" if u.login in r.collaborators else "NONE"

    def rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts = {name: sum(1 for r in reactions if r.content == name) for name in REACTIONS}
        return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}

    def comment(self, c: Comment) -> dict[str, Any]:
        issue_url = f"{self.api}/repos/{c.repo}/issues/{c.issue_number}"
        kind = "pull" if self.state.issue(c.repo, c.issue_number).pull else "issues"
        url = f"{self.api}/repos/{c.repo}/issues/comments/{c.id}"
        return shaped(
            "issue-comment",
            {
                "id": c.id,
                "node_id": node_id("IC", c.id),
                "url": url,
                "html_url": f"{self.web}/{c.repo}/{kind}/{c.issue_number}#issuecomment-{c.id}",
                "issue_url": issue_url,
                "body": c.body,
                "user": self.user(c.user),
                "created_at": iso(c.created_at),
                "updated_at": iso(c.updated_at),
                "author_association": self.association(c.repo, c.user),
                "reactions": self.rollup(url, c.reactions),
            },
        )

    def reaction(self, r: Reaction) -> dict[str, Any]:
        values = {
            "id": r.id,
            "node_id": node_id("REA", r.id),
            "user": self.user(r.user),
            "content": r.content,
        }
        return shaped("reaction", values | {"created_at": iso(r.created_at)})

    def event(self, issue: Issue, e: Event) -> dict[str, Any]:
        actor = self.user(e.actor) if e.actor else None
        base = {
            "id": e.id,
            "node_id": node_id("E", e.id),
            "url": f"{self.api}/repos/{issue.repo}/issues/events/{e.id}",
            "actor": actor,
            "event": e.event,
            "commit_id": None,
            "commit_url": None,
            "created_at": iso(e.created_at),
            "performed_via_github_app": None,
        }
        if e.event == "cross-referenced":
            source = self.issue(self.state.issue(issue.repo, e.data["source"]))
            values = {
                "event": e.event,
                "actor": actor,
                "created_at": base["created_at"],
                "updated_at": base["created_at"],
                "source": {"type": "issue", "issue": source},
            }
            return shaped("timeline-cross-referenced-event", values)
        if e.event in ("labeled", "unlabeled"):
            label = {"name": e.data["label"], "color": "ededed"}
            return shaped(f"{e.event}-issue-event", base | {"label": label})
        if e.event in ("assigned", "unassigned"):
            assignee = self.user(self.state.users[e.data["assignee"]])
            return shaped(f"timeline-{e.event}-issue-event", base | {"assignee": assignee})
        return shaped("state-change-issue-event", base | {"state_reason": e.data.get("state_reason")})

    def comment_event(self, c: Comment) -> dict[str, Any]:
        return shaped(
            "timeline-comment-event", self.comment(c) | {"event": "commented", "actor": self.user(c.user)}
        )

    # --- deployments and checks -----------------------------------------------------------------

    def deployment(self, repo: str, d: Deployment) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo}/deployments/{d.id}"
        return shaped(
            "deployment",
            {
                "id": d.id,
                "node_id": node_id("DE", d.id),
                "url": url,
                "sha": d.sha,
                "ref": d.ref,
                "task": d.task,
                "payload": d.payload,
                "original_environment": d.environment,
                "environment": d.environment,
                "description": d.description,
                "creator": self.user(d.creator),
                "created_at": iso(d.created_at),
                "updated_at": iso(d.created_at),
                "statuses_url": f"{url}/statuses",
                "repository_url": f"{self.api}/repos/{repo}",
                "transient_environment": d.transient_environment,
                "production_environment": d.production_environment,
            },
        )

    def deployment_status(self, repo: str, d: Deployment, s: DeploymentStatus) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo}/deployments/{d.id}"
        return shaped(
            "deployment-status",
            {
                "id": s.id,
                "node_id": node_id("DES", s.id),
                "state": s.state,
                "creator": self.user(s.creator),
                "description": s.description,
                "environment": s.environment or d.environment,
                "target_url": s.target_url,
                "log_url": s.log_url or s.target_url,
                "environment_url": s.environment_url,
                "url": f"{url}/statuses/{s.id}",
                "deployment_url": url,
                "repository_url": f"{self.api}/repos/{repo}",
                "created_at": iso(s.created_at),
                "updated_at": iso(s.created_at),
            },
        )

    def check_run(self, repo: str, c: CheckRun) -> dict[str, Any]:
        return shaped(
            "check-run",
            {
                "id": c.id,
                "node_id": node_id("CR", c.id),
                "head_sha": c.head_sha,
                "name": c.name,
                "external_id": "",
                "url": f"{self.api}/repos/{repo}/check-runs/{c.id}",
                "html_url": f"{self.web}/{repo}/runs/{c.id}",
                "details_url": c.details_url or f"{self.web}/{repo}/runs/{c.id}",
                "status": c.status,
                "conclusion": c.conclusion,
                "started_at": iso(c.started_at),
                "completed_at": iso(c.completed_at),
                "output": {
                    "title": None,
                    "summary": None,
                    "text": None,
                    "annotations_count": 0,
                    "annotations_url": f"{self.api}/repos/{repo}/check-runs/{c.id}/annotations",
                },
                "check_suite": {"id": c.id},
                "app": None,
                "pull_requests": [],
            },
        )
