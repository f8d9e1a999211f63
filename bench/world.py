"""The real app in-process against the three shared fakes, seeded with many distinct failing Rollouts.

Each fake is wrapped so it keeps the seconds it spent answering: the fakes check every GitHub request
against GitHub's OpenAPI description, which costs far more than a real loopback answer would, and that
time is not Fixloop's. The benchmarks subtract it to report Fixloop's own overhead.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from app.github.user_tokens import Grant
from app.metrics import Metrics
from app.server import create_app
from app.services import SERVICES, Services
from app.settings import Settings
from tests.fakes.github import FakeGitHub
from tests.fakes.github_commits import add_demo_history
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import DEMO_CANARY_SHA, DEMO_STABLE_SHA, clone_demo, cloned_notification
from tests.fakes.llm import FakeLLM, palette_verdict
from tests.harness import NOTIFY_TOKEN, base_env

OWNER = "acme"
REPOS = ("rollouts-demo", "payments")
CONFIG = "agent: copilot\nredeploy: image\nimage: ghcr.io/acme/rollouts-demo:{sha}\n"
LLM_REPLY = palette_verdict()


@dataclass
class FakeClock:
    """Seconds the fakes spent inside their handlers, all three together."""

    seconds: float = 0.0

    def add(self, started: float) -> None:
        self.seconds += time.perf_counter() - started


class TimedGitHub(FakeGitHub):
    clock: FakeClock

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await super()._handle_api(request)
        finally:
            self.clock.add(started)


class TimedKube(FakeKube):
    clock: FakeClock

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await super()._dispatch(request)
        finally:
            self.clock.add(started)


class TimedLLM(FakeLLM):
    clock: FakeClock

    async def _completions(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            return await super()._completions(request)
        finally:
            self.clock.add(started)


def seed_github(github: FakeGitHub) -> tuple[int, int, str]:
    """The App installed on both repos, each with a config and the demo's history; alice (Copilot seat,
    write access) and her token.

    Returns (installation id, alice's user id, a user token of alice's).
    """
    installation = github.add_installation(OWNER, list(REPOS))
    alice = github.add_user("alice", copilot_seat=True)
    for name in REPOS:
        github.put_file(f"{OWNER}/{name}", ".github/fixloop.yml", CONFIG)
        github.add_collaborator(f"{OWNER}/{name}", "alice", "write")
        # The commits between the demo's stable and canary revisions: each incident compares them.
        add_demo_history(github, f"{OWNER}/{name}", DEMO_STABLE_SHA, DEMO_CANARY_SHA)
    return installation.id, alice.id, github.user_token("alice")


def add_demo_rollout(kube: FakeKube, namespace: str, repo: str) -> None:
    """The demo cluster (Rollout, ReplicaSets, pods, AnalysisRun, events, logs) copied into ``namespace``."""
    clone_demo(kube, namespace, repo)


def notification(namespace: str, repo: str, event: str = "rollout-aborted") -> dict[str, Any]:
    return cloned_notification(namespace, repo, event)


@dataclass
class World:
    """Start with ``async with World(tmp) as world``; then ``world.add_rollout(ns, repo)`` and ``notify``."""

    directory: Path
    use_llm: bool = True
    clock: FakeClock = field(default_factory=FakeClock)

    async def __aenter__(self) -> World:
        self.github = TimedGitHub(validate_responses=False)
        self.kube = TimedKube(directory=self.directory)
        self.llm = TimedLLM()
        for fake in (self.github, self.kube, self.llm):
            fake.clock = self.clock
            await fake.start()
        llm = {"OPENAI_API_KEY": self.llm.api_key, "OPENAI_BASE_URL": self.llm.base_url}
        env = base_env(
            self.github,
            f"sqlite:///{self.directory / 'app.db'}",
            KUBECONFIG=str(self.kube.kubeconfig),
            FIXLOOP_LOG_LEVEL="WARNING",
            **(llm if self.use_llm else {}),
        )
        self.client = TestClient(TestServer(create_app(Settings.from_env(env), metrics=Metrics())))
        await self.client.start_server()
        await self._seed_github()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.client.close()
        for fake in (self.github, self.kube, self.llm):
            await fake.stop()

    @property
    def services(self) -> Services:
        return self.client.app[SERVICES]

    async def _seed_github(self) -> None:
        installation_id, alice_id, token = seed_github(self.github)
        grant = Grant(token, "", None, None)
        await self.services.user_tokens.save(alice_id, "alice", grant, installation_id)

    def add_rollout(self, namespace: str, repo: str) -> None:
        add_demo_rollout(self.kube, namespace, repo)

    async def notify(self, namespace: str, repo: str, event: str = "rollout-aborted") -> None:
        body = notification(namespace, repo, event)
        if self.use_llm:
            self.llm.script(LLM_REPLY)
        headers = {"Authorization": f"Bearer {NOTIFY_TOKEN}"}
        async with self.client.post("/rollouts/notify", json=body, headers=headers) as answer:
            if answer.status != 202:
                raise RuntimeError(f"notification refused: {answer.status} {await answer.text()}")

    async def finished_at(self, since: float, patience: float = 60.0) -> float:
        """When the last job created since ``since`` (time.time()) finished; waits for all of them."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            jobs = [
                job
                for job in await self.services.store.list_jobs(limit=50)  # newest first: ours are among them
                if job.created_at >= since and job.kind != "sweep"
            ]
            if jobs and all(job.finished_at is not None for job in jobs):
                return max(job.finished_at or 0.0 for job in jobs)
            await asyncio.sleep(0.02)
        raise TimeoutError("the incident's jobs did not finish")

    async def stage_of(self, namespace: str) -> str:
        found = [i for i in await self.services.store.list_incidents() if i.namespace == namespace]
        return found[0].stage if found else "none"


def temporary_directory() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="fixloop-bench-")
