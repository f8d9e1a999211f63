"""Drives the whole loop through the app's HTTP surface: GitHub deliveries, Argo notifications, cluster."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from app.github.user_tokens import Grant
from tests.fakes.github_state import Issue
from tests.fakes.webhooks import load_fixture, retarget, set_user
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification

CONFIG = "agent: copilot\nredeploy: {mode}\nimage: ghcr.io/acme/rollouts-demo:{{sha}}\nmax_attempts: {cap}\n"


@dataclass
class Loop:
    app: AppHarness
    installation_id: int = 0

    @property
    def github(self) -> Any:
        assert self.app.github is not None
        return self.app.github

    @property
    def kube(self) -> Any:
        assert self.app.kube is not None
        return self.app.kube

    async def seed(self, *, mode: str = "image", cap: int = 3, authorised: bool = True) -> None:
        self.installation_id = self.github.add_installation("acme", ["rollouts-demo"]).id
        self.kube.load_demo()
        self.github.put_file(REPO, ".github/fixloop.yml", CONFIG.format(mode=mode, cap=cap))
        alice = self.github.add_user("alice", copilot_seat=True)
        self.github.add_collaborator(REPO, "alice", "write")
        if authorised:
            grant = Grant(self.github.user_token("alice"), "", None, None)
            await self.app.services.user_tokens.save(alice.id, "alice", grant, self.installation_id)

    async def sign_in(self, login: str) -> str:
        """A person follows the README: opens /github/oauth/start (no query), approves on GitHub, and
        the browser comes back to the callback. Returns the page's text; the jobs it made are drained."""
        self.github.approve_oauth(login)
        start = await self.app.client.get("/github/oauth/start", allow_redirects=False)
        assert start.status == 302, await start.text()
        location = start.headers["Location"]
        async with aiohttp.ClientSession() as browser, browser.get(location, allow_redirects=False) as github:
            assert github.status == 302, await github.text()
            back = urlsplit(github.headers["Location"])
        page = await self.app.client.get(f"{back.path}?{back.query}")
        text = await page.text()
        assert page.status == 200, text
        await self.app.drain()
        return text

    async def fail(self, event: str = "rollout-aborted") -> None:
        answer = await self.app.notify(
            demo_notification(event, f"2026-11-28T10:{len(self.github.requests) % 60:02d}:00Z")
        )
        assert answer.status == 202, await answer.text()
        await self.app.drain()

    def issue(self) -> Issue:
        issues = [i for i in self.github.issues(REPO) if i.pull is None]
        assert len(issues) == 1, [i.title for i in issues]
        return issues[0]

    async def incident(self) -> Any:
        incidents = await self.app.services.store.list_incidents()
        assert len(incidents) == 1
        return incidents[0]

    async def pull_request(self, action: str, pr: Issue, *, variant: str | None = None) -> None:
        payload = pull_request_payload(pr, self.installation_id, action, variant)
        answer = await self.app.post_webhook("pull_request", payload)
        assert answer.status == 202
        await self.app.drain()

    async def workflow_succeeded(self, sha: str) -> None:
        payload = workflow_run_payload(sha, self.installation_id)
        assert (await self.app.post_webhook("workflow_run", payload)).status == 202
        await self.app.drain()

    async def agent_fixes(self, attempt: int) -> str:
        """Copilot's draft PR (no closing keyword, only the timeline cross-reference), ready, merged."""
        issue = self.issue()
        pr = self.github.add_pull(
            REPO,
            title=f"Fix panic (attempt {attempt})",
            body="Handle the empty colour list.",
            head_ref=f"copilot/fix-panic-{attempt}",
            user="Copilot",
            draft=True,
            links_issue=issue.number,
        )
        await self.pull_request("opened", pr)
        assert pr.pull is not None
        pr.pull.draft = False
        await self.pull_request("ready_for_review", pr)
        sha = hashlib.sha1(f"merge {attempt}".encode(), usedforsecurity=False).hexdigest()
        self.github.merge_pull(REPO, pr.number, merge_commit_sha=sha)
        await self.pull_request("closed", pr, variant="merged")
        return sha

    def canary_moves_to(self, pod_hash: str, *, healthy: bool) -> None:
        canary_moves_to(self.kube, "demo", pod_hash, healthy=healthy)

    async def completed(self) -> None:
        answer = await self.app.notify(
            {"event": "rollout-completed", "namespace": "demo", "name": "rollouts-demo"}
        )
        assert answer.status == 202
        await self.app.drain()


def pull_request_payload(
    pr: Issue, installation_id: int, action: str, variant: str | None = None, repo: str = REPO
) -> dict[str, Any]:
    """A real ``pull_request`` delivery (fixture) describing the fake's PR ``pr``."""
    assert pr.pull is not None
    payload = load_fixture("pull_request", action, variant)
    retarget(payload, repo=repo, installation_id=installation_id, number=pr.number)
    body = payload["pull_request"]
    set_user(body["user"], pr.user.login, type=pr.user.type)
    body["head"]["ref"], body["head"]["sha"] = pr.pull.head_ref, pr.pull.head_sha
    body["base"]["ref"] = "main"
    body["draft"], body["body"], body["title"] = pr.pull.draft, pr.body, pr.title
    if variant == "merged":
        body["merge_commit_sha"] = pr.pull.merge_commit_sha
    payload["repository"]["default_branch"] = "main"
    return payload


def workflow_run_payload(sha: str, installation_id: int, repo: str = REPO) -> dict[str, Any]:
    """A successful ``workflow_run.completed`` delivery for ``sha``: the image for it is built."""
    payload = load_fixture("workflow_run", "completed")
    retarget(payload, repo=repo, installation_id=installation_id)
    payload["workflow_run"]["head_sha"], payload["workflow_run"]["conclusion"] = sha, "success"
    return payload


def canary_moves_to(kube: Any, namespace: str, pod_hash: str, *, healthy: bool) -> None:
    """The controller starts the canary of the new revision (as Argo would after the image change)."""
    rollout = kube.get("Rollout", namespace, "rollouts-demo")
    status = rollout.setdefault("status", {})
    status["currentPodHash"] = pod_hash
    status["abort"] = not healthy
    status["phase"] = "Healthy" if healthy else "Degraded"
    if healthy:
        status["stableRS"] = pod_hash
    kube.add(rollout)
