"""The app under test, wired to the shared fakes over real HTTP, plus helpers to drive it.

``app_harness`` starts ``create_app(settings)`` (the real thing: store, workers, GitHub client) on an
aiohttp test server, with settings built by ``Settings.from_env`` from an environment that points at
the fake GitHub. Tests post signed webhooks and notifications to it and wait for the queue to drain.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from app.metrics import Metrics
from app.server import create_app
from app.services import SERVICES, Services
from app.settings import Settings
from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.fakes.webhooks import webhook_headers

WEBHOOK_SECRET = "test-webhook-secret"
NOTIFY_TOKEN = "test-notify-token"
SECRET_KEY = "test-secret-key-for-user-tokens-0123456789"


def base_env(github: FakeGitHub | None, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "FIXLOOP_NOTIFY_TOKEN": NOTIFY_TOKEN,
        "FIXLOOP_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "FIXLOOP_LOG_FORMAT": "text",
        "FIXLOOP_LOG_LEVEL": "DEBUG",
        "FIXLOOP_JOB_LEASE_SECONDS": "5",
    }
    if github is not None:
        env.update(github.env())
    env.update(extra)
    return env


@dataclass
class AppHarness:
    client: TestClient
    settings: Settings
    github: FakeGitHub | None
    kube: FakeKube | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    async def post_webhook(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        delivery: str | None = None,
        secret: str = WEBHOOK_SECRET,
    ) -> Any:
        body = json.dumps(payload).encode()
        headers = webhook_headers(event, body, secret, delivery=delivery)
        return await self.client.post("/github/webhook", data=body, headers=headers)

    async def notify(self, body: dict[str, Any] | bytes, *, token: str | None = NOTIFY_TOKEN) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.client.post("/rollouts/notify", data=data, headers=headers)

    async def drain(self, timeout: float = 15.0) -> None:
        """Wait until no job is queued-and-due or running (delayed retries in the future are left)."""
        await wait_until(self._idle, timeout, "the job queue to drain")

    async def _idle(self) -> bool:
        now = time.time()
        jobs = await self.services.store.list_jobs(limit=10_000)
        return not any(j.status == "running" or (j.status == "queued" and j.run_after <= now) for j in jobs)


async def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@pytest.fixture
def harness_env(tmp_path: Path) -> dict[str, str]:
    """Extra environment for ``app_harness``; tests override entries before the app starts."""
    return {}


@pytest.fixture
async def app_harness(
    fake_github: FakeGitHub, fake_kube: FakeKube, harness_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[AppHarness]:
    """The app against the fake GitHub and the fake cluster (reached through its kubeconfig)."""
    env = base_env(
        fake_github,
        f"sqlite:///{tmp_path / 'app.db'}",
        **{"KUBECONFIG": str(fake_kube.kubeconfig), **harness_env},
    )
    settings = Settings.from_env(env)
    client = TestClient(TestServer(create_app(settings, metrics=Metrics())))
    await client.start_server()
    try:
        yield AppHarness(client=client, settings=settings, github=fake_github, kube=fake_kube, env=env)
    finally:
        await client.close()
