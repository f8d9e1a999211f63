"""The fleet page's app: the real app on a real port (a browser must reach it at FIXLOOP_PUBLIC_URL), one
incident from the whole loop in acme/rollouts-demo (alice can read it) and one seeded in globex/payments
(carol can read it, alice cannot), whose analysis is hostile HTML."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.metrics import Metrics
from app.server import create_app
from app.settings import Settings
from app.store import Incident
from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.harness import AppHarness, base_env
from tests.loop_e2e.loop_driver import Loop
from tests.processes import free_port

OTHER_REPO = "globex/payments"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@dataclass
class Fleet:
    app: AppHarness
    public_url: str
    demo: Incident  # acme/rollouts-demo, from the loop
    secret: Incident  # globex/payments

    @property
    def github(self) -> FakeGitHub:
        assert self.app.github is not None
        return self.app.github


async def seed_other_repo(app: AppHarness) -> Incident:
    github = app.github
    assert github is not None
    inst = github.add_installation("globex", ["payments"])
    github.add_user("carol")
    github.add_collaborator(OTHER_REPO, "carol", "read")
    store = app.services.store
    data = {
        "verdict": {
            "title": f"Payments {HOSTILE}",
            "summary": HOSTILE,
            "root_cause": "r",
            "source": "offline",
        },
        "handoff": {"agent": "jules", "outcome": "ok"},
        "learned": {"revision": "abc", "signatures": {f"panic: {HOSTILE}": 3}},
    }
    incident, _ = await store.get_or_create_incident(
        "fp-globex-payments",
        namespace="pay",
        rollout="payments",
        repo=OTHER_REPO,
        installation_id=inst.id,
        stage="detected",
        data=data,
    )
    await store.record_transition(incident.id, None, "detected", "rollout-aborted")
    return await store.update_incident(
        incident.id, expected_version=incident.version, stage="analysed", cause=f"analysed {HOSTILE}"
    )


# More of alice's incidents, so the list and the scorecard show a fleet: (repo, stage path, agent, attempt).
MORE = (
    (
        "acme/checkout",
        ("analysed", "issue_open", "agent_working", "pr_open", "merged", "redeploying", "verified"),
        "copilot",
        1,
    ),
    ("acme/search", ("analysed", "issue_open", "agent_working", "needs_human"), "claude", 3),
)


async def seed_more(app: AppHarness, installation_id: int) -> None:
    github, store = app.github, app.services.store
    assert github is not None
    for repo, path, agent, attempt in MORE:
        github.installations[installation_id].repos.add(github.add_repo(repo).full_name)
        github.add_collaborator(repo, "alice", "write")
        data = {"handoff": {"agent": agent, "outcome": "ok"}, "verdict": {"title": f"{repo}: canary failed"}}
        incident, _ = await store.get_or_create_incident(
            f"fp-{repo}",
            namespace="shop",
            rollout=repo.split("/")[1],
            repo=repo,
            installation_id=installation_id,
            stage="detected",
            data=data,
        )
        await store.record_transition(incident.id, None, "detected", "rollout-aborted")
        for stage in path:
            if stage == "agent_working":
                await store.add_audit(incident.id, "handoff", {"agent": agent, "outcome": "ok"})
            incident = await store.update_incident(
                incident.id,
                expected_version=incident.version,
                stage=stage,
                cause=f"to {stage}",
                attempt=attempt,
            )


@pytest.fixture
async def fleet(fake_github: FakeGitHub, fake_kube: FakeKube, tmp_path: Path) -> AsyncIterator[Fleet]:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = base_env(
        fake_github,
        f"sqlite:///{tmp_path / 'app.db'}",
        KUBECONFIG=str(fake_kube.kubeconfig),
        FIXLOOP_PUBLIC_URL=public_url,
    )
    settings = Settings.from_env(env)
    server = TestServer(create_app(settings, metrics=Metrics()), host="127.0.0.1", port=port)
    client = TestClient(server)
    await client.start_server()
    try:
        app = AppHarness(client=client, settings=settings, github=fake_github, kube=fake_kube, env=env)
        loop = Loop(app)
        await loop.seed()
        await loop.fail()
        demo = await loop.incident()
        secret = await seed_other_repo(app)
        await seed_more(app, loop.installation_id)
        yield Fleet(app, public_url, demo, secret)
    finally:
        await client.close()
