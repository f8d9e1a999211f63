"""Many failing Rollouts at once, served by the app as a separate process that a test may SIGKILL.

Each Rollout is a copy of the demo cluster in its own namespace (``kill-<n>``), all mapped to one repository
configured for Copilot with an authorised user, so each failure is an incident of its own with an issue and
a hand-off. Notifications and deliveries go over HTTP to the process; what GitHub and the store hold is read
back from the in-process fakes and from the database directly.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp

from app.github.user_tokens import Grant, UserTokens
from app.settings import Settings
from app.store import Incident, open_store
from tests.fakes.github import FakeGitHub
from tests.fakes.github_state import Issue
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import clone_demo, cloned_notification
from tests.fakes.webhooks import webhook_headers
from tests.harness import NOTIFY_TOKEN, WEBHOOK_SECRET
from tests.processes import AppProcess

OWNER, NAME = "acme", "rollouts-demo"
REPO = f"{OWNER}/{NAME}"
CONFIG = "agent: copilot\nredeploy: image\nimage: ghcr.io/acme/rollouts-demo:{sha}\n"
MARKER_PREFIX = "<!-- fixloop:"


def namespace(index: int) -> str:
    return f"kill-{index:02d}"


@dataclass
class Fleet:
    github: FakeGitHub
    kube: FakeKube
    database_url: str
    size: int
    installation_id: int = 0

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

    async def notify_all(self, app: AppProcess, indexes: list[int], concurrency: int = 16) -> set[int]:
        """Post each Rollout's failure; return the indexes acknowledged with 202."""
        limit = asyncio.Semaphore(concurrency)
        acknowledged: set[int] = set()
        headers = {"Authorization": f"Bearer {NOTIFY_TOKEN}", "Content-Type": "application/json"}

        async def post(session: aiohttp.ClientSession, index: int) -> None:
            body = json.dumps(cloned_notification(namespace(index), REPO)).encode()
            async with limit:
                try:
                    url = f"{app.url}/rollouts/notify"
                    async with session.post(url, data=body, headers=headers) as answer:
                        if answer.status == 202:
                            acknowledged.add(index)
                except (TimeoutError, aiohttp.ClientError):
                    pass  # killed mid-request: Argo's controller sees a failed notification

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
            await asyncio.gather(*(post(session, i) for i in indexes))
        return acknowledged

    async def post_webhook(self, app: AppProcess, event: str, payload: dict[str, Any]) -> bool:
        body = json.dumps(payload).encode()
        headers = webhook_headers(event, body, WEBHOOK_SECRET)
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
                session.post(f"{app.url}/github/webhook", data=body, headers=headers) as answer,
            ):
                return answer.status == 202
        except (TimeoutError, aiohttp.ClientError):
            return False

    def issues(self) -> list[Issue]:
        return [i for i in self.github.issues(REPO) if i.pull is None]

    async def incidents(self) -> list[Incident]:
        store = await open_store(self.database_url)
        try:
            return await store.list_incidents()
        finally:
            await store.close()

    async def jobs_settled(self) -> bool:
        """No job queued or running (failed ones count as settled: the test then names them)."""
        store = await open_store(self.database_url)
        try:
            depth = await store.queue_depth()
        finally:
            await store.close()
        return not depth.get("queued") and not depth.get("running")


def duplicate_comments(issue: Issue) -> int:
    """Comments beyond the first carrying the same hidden marker (the bot edits its own, never adds)."""
    markers = Counter(
        line.strip() for c in issue.comments for line in c.body.splitlines() if line.startswith(MARKER_PREFIX)
    )
    return sum(n - 1 for n in markers.values())


def duplicate_issues(issues: list[Issue]) -> int:
    """Issues beyond the first for the same incident (by the body's incident marker)."""
    markers = Counter(
        line.strip()
        for i in issues
        for line in (i.body or "").splitlines()
        if line.startswith("<!-- fixloop:incident=")
    )
    return sum(n - 1 for n in markers.values()) + sum(
        1 for i in issues if "fixloop:incident=" not in (i.body or "")
    )
