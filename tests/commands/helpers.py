"""Seeding for the slash-command tests: a Fixloop issue with its incident, and real-shaped comment payloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.analysis.evidence import Evidence
from app.analysis.verdict import Verdict
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState
from app.loop.render.markers import incident_marker
from app.store import AuditEntry, Incident
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Comment, Issue
from tests.fakes.keys import APP_SLUG
from tests.fakes.kube import FakeKube
from tests.fakes.webhooks import load_fixture, retarget, set_user
from tests.harness import AppHarness

REPO = "acme/rollouts-demo"
NAMESPACE, ROLLOUT = "demo", "rollouts-demo"
CANARY, STABLE = "7b6cd8d9f4", "687d76d795"  # the demo Rollout's revisions
BOT = f"{APP_SLUG}[bot]"
REACTIONS = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


@dataclass
class Seeded:
    app: AppHarness
    installation_id: int
    incident: Incident
    issue: Issue

    @property
    def github(self) -> FakeGitHub:
        assert self.app.github is not None
        return self.app.github

    @property
    def kube(self) -> FakeKube:
        assert self.app.kube is not None
        return self.app.kube

    async def current(self) -> Incident:
        incident = await self.app.services.store.get_incident(self.incident.id)
        assert incident is not None
        return incident

    async def audit(self, kind: str = "command") -> list[AuditEntry]:
        return [a for a in await self.app.services.store.list_audit(self.incident.id) if a.kind == kind]

    def replies(self, number: int | None = None) -> list[Comment]:
        """Fixloop's comments on the issue (or PR), oldest first."""
        return [c for c in self.github.comments(REPO, number or self.issue.number) if c.user.login == BOT]

    def reactions(self, comment: Comment) -> list[str]:
        return [r.content for r in comment.reactions]

    def comment(
        self,
        body: str,
        *,
        login: str = "alice",
        user_type: str = "User",
        number: int | None = None,
    ) -> tuple[Comment, dict[str, Any]]:
        """A comment stored in the fake GitHub and its ``issue_comment.created`` delivery."""
        comment = self.github.add_comment(REPO, number or self.issue.number, body, user=login)
        variant = None if number is None else "on_pull_request"
        payload = load_fixture("issue_comment", "created", variant)
        return comment, self._aim(payload, comment, login=login, user_type=user_type)

    def edited(self, comment: Comment, new_body: str, *, login: str = "alice") -> dict[str, Any]:
        """The ``issue_comment.edited`` delivery of ``comment`` changed to ``new_body``."""
        previous, comment.body = comment.body, new_body
        payload = self._aim(load_fixture("issue_comment", "edited"), comment, login=login, user_type="User")
        payload["changes"] = {"body": {"from": previous}}
        return payload

    def _aim(
        self, payload: dict[str, Any], comment: Comment, *, login: str, user_type: str
    ) -> dict[str, Any]:
        issue = self.github.issue(REPO, comment.issue_number)
        retarget(
            payload,
            repo=REPO,
            installation_id=self.installation_id,
            number=issue.number,
            sender=login,
            sender_type=user_type,
        )
        set_user(payload["comment"]["user"], login, type=user_type, id=comment.user.id)
        set_user(payload["issue"]["user"], issue.user.login, type=issue.user.type, id=issue.user.id)
        payload["issue"]["body"] = issue.body
        payload["comment"].update(id=comment.id, body=comment.body)
        return payload

    async def post(self, payload: dict[str, Any], *, delivery: str | None = None) -> None:
        answer = await self.app.post_webhook("issue_comment", payload, delivery=delivery)
        assert answer.status == 202, await answer.text()
        await self.app.drain()


def demo_state(**changes: Any) -> IncidentState:
    """What the failure flow stores for the demo failure (evidence and verdict reduced to the essentials),
    with ``changes`` given as stored (JSON values, e.g. ``fix={"pr": 12}``)."""
    state = IncidentState(
        revision=CANARY,
        evidence=Evidence(NAMESPACE, ROLLOUT, CANARY, STABLE, phase="Degraded", aborted=True).to_dict(),
        verdict=Verdict(
            title="Panic in the canary", summary="It panics.", root_cause="Empty list."
        ).to_dict(),
    )
    return IncidentState.from_dict({**state.to_dict(), **changes})


async def seed(
    app: AppHarness,
    *,
    stage: Stage = Stage.ISSUE_OPEN,
    state: IncidentState | None = None,
    config: str | None = None,
) -> Seeded:
    """The demo cluster, a writer ``alice``, a reader ``rita``, and an incident with its Fixloop issue."""
    assert app.github is not None and app.kube is not None
    installation = app.github.add_installation("acme", ["rollouts-demo"])
    app.kube.load_demo()
    app.github.add_collaborator(REPO, "alice", "write")
    app.github.add_collaborator(REPO, "rita", "read")
    if config is not None:
        app.github.put_file(REPO, ".github/fixloop.yml", config)
    store = app.services.store
    incident, _ = await store.get_or_create_incident(
        f"fp-{CANARY}",
        namespace=NAMESPACE,
        rollout=ROLLOUT,
        repo=REPO,
        installation_id=installation.id,
        stage=Stage.DETECTED.value,
        data=(state or demo_state()).to_dict(),
    )
    body = f"The canary failed.\n\n{incident_marker(incident.id)}\n"
    issue = app.github.add_issue(REPO, "Canary of rollouts-demo failed", body, user=BOT)
    incident = await store.update_incident(
        incident.id,
        expected_version=incident.version,
        stage=stage.value,
        issue_number=issue.number,
        cause="seeded",
    )
    return Seeded(app, installation.id, incident, issue)
