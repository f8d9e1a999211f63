"""Many failing Rollouts at once, served by the app as a separate process that a test may SIGKILL.

Each Rollout is a copy of the demo cluster in its own namespace (``kill-<n>``), all mapped to one repository
configured for Copilot with an authorised user, so each failure is an incident of its own with an issue and
a hand-off. Notifications and deliveries go over HTTP to the process, each with a stable key (a delivery
keeps its ``X-GitHub-Delivery``, as GitHub's redelivery does) so that everything can be sent again after
a kill; what GitHub, the cluster and the store hold is read back from the fakes and the database.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from app.github.user_tokens import Grant, UserTokens
from app.settings import Settings
from app.store import Incident, open_store
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Issue
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import DEMO_ROLLOUT, clone_demo, cloned_notification
from tests.fakes.webhooks import webhook_headers
from tests.harness import NOTIFY_TOKEN, WEBHOOK_SECRET, wait_until
from tests.loop_e2e.loop_driver import canary_moves_to, pull_request_payload, workflow_run_payload
from tests.processes import Request

OWNER, NAME = "acme", "rollouts-demo"
REPO = f"{OWNER}/{NAME}"
CONFIG = "agent: copilot\nredeploy: image\nimage: ghcr.io/acme/rollouts-demo:{sha}\n"
IMAGE = "ghcr.io/acme/rollouts-demo:{sha}"
MARKER_PREFIX = "<!-- fixloop:"
FIX_POD_HASH = "5f6c7d8e9a"


def namespace(index: int) -> str:
    return f"kill-{index:02d}"


def merge_sha(index: int) -> str:
    return hashlib.sha1(f"fix {namespace(index)}".encode(), usedforsecurity=False).hexdigest()


@dataclass
class Fleet:
    github: FakeGitHub
    kube: FakeKube
    database_url: str
    size: int
    installation_id: int = 0
    pulls: dict[int, Issue] = field(default_factory=dict)  # incident index -> the agent's PR

    async def seed(self, env: dict[str, str]) -> None:
        """The App on the repository, its config, alice (Copilot seat, authorised), ``size`` Rollouts."""
        self.installation_id = self.github.add_installation(OWNER, [NAME]).id
        self.github.put_file(REPO, ".github/fixloop.yml", CONFIG)
        alice = self.github.add_user("alice", copilot_seat=True)
        self.github.add_collaborator(REPO, "alice", "write")
        for index in range(self.size):
            clone_demo(self.kube, namespace(index), REPO)
        store = await open_store(self.database_url)
        try:
            async with aiohttp.ClientSession() as session:
                tokens = UserTokens(store, Settings.from_env(env), session)
                grant = Grant(self.github.user_token("alice"), "", None, None)
                await tokens.save(alice.id, "alice", grant, self.installation_id)
        finally:
            await store.close()

    # -- what the loop receives ---------------------------------------------------------------------
    def failures(self) -> list[Request]:
        return [self._notification(i, cloned_notification(namespace(i), REPO)) for i in range(self.size)]

    def completions(self) -> list[Request]:
        """The canary of each fix is healthy (as the controller reports it) and Argo says so."""
        for index in range(self.size):
            canary_moves_to(self.kube, namespace(index), FIX_POD_HASH, healthy=True)
        body = {"event": "rollout-completed", "name": DEMO_ROLLOUT}
        return [self._notification(i, {**body, "namespace": namespace(i)}) for i in range(self.size)]

    def pulls_opened(self, issues_by_namespace: dict[str, int]) -> list[Request]:
        """Copilot opens a PR linking each incident's issue (a cross-reference on the issue's timeline)."""
        for index in range(self.size):
            self.pulls[index] = self.github.add_pull(
                REPO,
                title=f"Fix panic in {namespace(index)}",
                body="Handle the empty colour list.",
                head_ref=f"copilot/fix-{namespace(index)}",
                user="Copilot",
                links_issue=issues_by_namespace[namespace(index)],
            )
        return [
            self._delivery(f"opened-{i}", "pull_request", self._pr(i, "opened")) for i in range(self.size)
        ]

    def pulls_merged(self) -> list[Request]:
        for index, pr in self.pulls.items():
            self.github.merge_pull(REPO, pr.number, merge_commit_sha=merge_sha(index))
        return [
            self._delivery(f"merged-{i}", "pull_request", self._pr(i, "closed", "merged"))
            for i in range(self.size)
        ]

    def images_built(self) -> list[Request]:
        return [
            self._delivery(
                f"built-{i}", "workflow_run", workflow_run_payload(merge_sha(i), self.installation_id)
            )
            for i in range(self.size)
        ]

    def _pr(self, index: int, action: str, variant: str | None = None) -> dict[str, Any]:
        return pull_request_payload(self.pulls[index], self.installation_id, action, variant)

    def _notification(self, index: int, body: dict[str, Any]) -> Request:
        headers = {"Authorization": f"Bearer {NOTIFY_TOKEN}", "Content-Type": "application/json"}
        return Request(
            f"notify-{body.get('event')}-{index}", "/rollouts/notify", json.dumps(body).encode(), headers
        )

    def _delivery(self, key: str, event: str, payload: dict[str, Any]) -> Request:
        body = json.dumps(payload).encode()
        delivery = (
            f"00000000-0000-4000-8000-{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]}"
        )
        return Request(
            key, "/github/webhook", body, webhook_headers(event, body, WEBHOOK_SECRET, delivery=delivery)
        )

    # -- what came of it ----------------------------------------------------------------------------
    def issues(self) -> list[Issue]:
        return [i for i in self.github.issues(REPO) if i.pull is None]

    def rollouts_with_fix(self) -> int:
        images = (
            self.kube.get("Rollout", namespace(i), DEMO_ROLLOUT)["spec"]["template"]["spec"]["containers"][0][
                "image"
            ]
            for i in range(self.size)
        )
        return sum(1 for index, image in enumerate(images) if image == IMAGE.format(sha=merge_sha(index)))

    async def incidents(self) -> list[Incident]:
        store = await open_store(self.database_url)
        try:
            return await store.list_incidents()
        finally:
            await store.close()

    async def settle_at(self, stage: str, timeout: float) -> None:
        """Wait for every incident at ``stage`` with no job left; on a timeout, say what is stuck where."""
        try:
            await wait_until(lambda: self.all_at(stage), timeout, f"every incident at {stage}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {await self.stuck()}") from None

    async def stuck(self) -> str:
        stages = Counter(i.stage for i in await self.incidents())
        store = await open_store(self.database_url)
        try:
            jobs = [
                j
                for j in await store.list_jobs(limit=1000)
                if j.status not in ("done",) and j.kind != "sweep"
            ]
        finally:
            await store.close()
        unfinished = [(j.id, j.kind, j.status, j.attempts, (j.last_error or "")[:200]) for j in jobs[:10]]
        refused = Counter(
            f"{r.method} {r.template} {r.status} as {r.caller}"
            for r in self.github.requests
            if r.status >= 400
        )
        return f"stages {dict(stages)}; unfinished jobs {unfinished}; GitHub refused {dict(refused)}"

    async def all_at(self, stage: str) -> bool:
        """Every incident at ``stage`` and no job queued or running."""
        incidents = await self.incidents()
        if len(incidents) != self.size or any(i.stage != stage for i in incidents):
            return False
        store = await open_store(self.database_url)
        try:
            depth = await store.queue_depth()
        finally:
            await store.close()
        return not depth.get("queued") and not depth.get("running")


def duplicate_comments(issue: Issue) -> dict[str, int]:
    """Each hidden marker found on more than one comment, with the count beyond the first (the bot edits
    its own comment, it never adds a second)."""
    markers = Counter(
        line.strip() for c in issue.comments for line in c.body.splitlines() if line.startswith(MARKER_PREFIX)
    )
    return {marker: n - 1 for marker, n in markers.items() if n > 1}


def duplicate_issues(issues: list[Issue]) -> int:
    """Issues beyond the first for the same incident (by the body's incident marker), or without one."""
    markers = Counter(
        line.strip()
        for i in issues
        for line in (i.body or "").splitlines()
        if line.startswith("<!-- fixloop:incident=")
    )
    unmarked = sum(1 for i in issues if "fixloop:incident=" not in (i.body or ""))
    return sum(n - 1 for n in markers.values()) + unmarked
