"""Benchmark: the app's memory (RSS) with 10,000 incidents stored.

    .venv/bin/python -m bench.rss [--incidents 10000] [--webhooks 300]

1. One real incident runs through the in-process app and the fakes; its stored data (evidence, verdict,
   status, hand-off), transitions and audit entries are the template of every seeded row.
2. A new SQLite file gets ``--incidents`` incidents through the store API, spread over the stages a
   long-lived installation would hold (most verified or closed, about a tenth still open).
3. ``python -m app serve`` starts on that file against the fakes. What reads every incident runs: the
   start-up sweep (stage timeouts over every open incident, which reads their repository config),
   /metrics (incidents by stage), a second sweep, then a burst of signed webhooks and notifications of
   new failing Rollouts, processed to the end.
4. Peak (VmHWM) and current (VmRSS) resident memory of the app process, from /proc/<pid>/status.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from app.github.user_tokens import Grant, UserTokens
from app.settings import Settings
from app.store import Store, open_store
from bench.figures import Figure, table
from bench.world import OWNER, REPOS, World, add_demo_rollout, notification, seed_github, temporary_directory
from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.fakes.webhooks import delivery, load_fixture, retarget
from tests.harness import NOTIFY_TOKEN, WEBHOOK_SECRET, base_env
from tests.processes import AppProcess

GOAL_MB = 200
PATH = ("detected", "analysed", "issue_open", "agent_working", "pr_open", "merged", "redeploying", "verified")
# stage -> (share of the stored incidents, how far along PATH it got before its last move)
STAGE_MIX: dict[str, tuple[float, int]] = {
    "verified": (0.62, 7),
    "needs_human": (0.10, 3),
    "superseded": (0.06, 2),
    "ignored": (0.04, 2),
    "issue_open": (0.02, 2),
    "agent_working": (0.07, 3),
    "pr_open": (0.05, 4),
    "merged": (0.02, 5),
    "redeploying": (0.02, 6),
}


@dataclass
class Template:
    data: dict[str, Any]
    audit: list[tuple[str, Any]]


@dataclass
class Memory:
    incidents: int
    seed_seconds: float
    after_start_mb: float
    peak_mb: float
    current_mb: float
    handled: int  # notifications of the burst that ended with a handed-off issue
    burst: int
    webhooks: int
    burst_seconds: float  # from the first send until the queue was empty again


async def template_incident() -> Template:
    with temporary_directory() as tmp:
        async with World(Path(tmp), use_llm=True) as world:
            repo = f"{OWNER}/{REPOS[0]}"
            world.add_rollout("template", repo)
            sent = time.time()
            await world.notify("template", repo)
            await world.finished_at(sent)
            incident = (await world.services.store.list_incidents())[0]
            audit = [(a.kind, a.detail) for a in await world.services.store.list_audit(incident.id)]
            return Template(dict(incident.data), audit)


def _stage_sequence(count: int, rng: random.Random) -> list[str]:
    stages = list(STAGE_MIX)
    return rng.choices(stages, weights=[STAGE_MIX[s][0] for s in stages], k=count)


async def seed_store(store: Store, template: Template, count: int, installation_id: int) -> None:
    rng = random.Random(8)
    for index, stage in enumerate(_stage_sequence(count, rng)):
        repo = f"{OWNER}/{REPOS[index % len(REPOS)]}"
        fingerprint = f"seed-{index:05d}/rollouts-demo/{rng.getrandbits(40):010x}"
        incident, _ = await store.get_or_create_incident(
            fingerprint,
            namespace=f"seed-{index:05d}",
            rollout="rollouts-demo",
            repo=repo,
            installation_id=installation_id,
            stage="detected",
            data={},
        )
        reached = PATH[: STAGE_MIX[stage][1] + 1]
        for before, after in itertools.pairwise(reached):
            await store.record_transition(incident.id, before, after, f"seeded: {after}")
        if stage != reached[-1]:
            await store.record_transition(incident.id, reached[-1], stage, f"seeded: {stage}")
        for kind, detail in template.audit:
            await store.add_audit(incident.id, kind, detail)
        await store.update_incident(
            incident.id,
            expected_version=incident.version,
            stage=stage,
            issue_number=index + 1,
            data=template.data,
        )


def memory_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident set size in MB, from the kernel's VmHWM and VmRSS."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return fields["VmHWM"], fields["VmRSS"]


async def wait_for_jobs(store: Store, patience: float = 300.0) -> None:
    """Until no job is queued and due or running (a later retry does not count)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        jobs = await store.list_jobs(limit=500)
        now = time.time()
        busy = [j for j in jobs if j.status == "running" or (j.status == "queued" and j.run_after <= now)]
        if not busy:
            return
        await asyncio.sleep(0.25)
    raise TimeoutError("the app's queue did not drain")


async def save_alice(store: Store, env: dict[str, str], ids: tuple[int, int, str]) -> None:
    """alice's user token, stored as the OAuth callback would (the hand-off to Copilot needs it)."""
    installation_id, alice_id, token = ids
    async with aiohttp.ClientSession() as session:
        tokens = UserTokens(store, Settings.from_env(env), session)
        await tokens.save(alice_id, "alice", Grant(token, "", None, None), installation_id)


async def get_metrics(session: aiohttp.ClientSession, url: str, times: int) -> None:
    for _ in range(times):
        async with session.get(f"{url}/metrics") as answer:
            if answer.status != 200:
                raise RuntimeError(f"/metrics answered {answer.status}")
            await answer.read()


def _deliveries(installation_id: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    """Webhooks that look incidents up: issues opened (by issue number), CI results (live incidents of
    the repository) and, one in twenty, a `/fixloop status` comment on a pull request (all its incidents)."""
    repo = f"{OWNER}/{REPOS[0]}"
    found: list[tuple[str, dict[str, Any]]] = []
    for index in range(count):
        if index % 20 == 19:
            event, payload = "issue_comment", load_fixture("issue_comment", "created", "on_pull_request")
            payload["comment"]["body"] = "/fixloop status"
        elif index % 20 >= 16:
            event, payload = "check_suite", load_fixture("check_suite", "completed")
        else:
            event, payload = "issues", load_fixture("issues", "opened")
        retarget(payload, repo=repo, installation_id=installation_id, number=index + 1, sender="alice")
        found.append((event, payload))
    return found


async def burst(session: aiohttp.ClientSession, url: str, installation_id: int, webhooks: int) -> int:
    """The webhooks and notifications of new failing Rollouts (one per 15 webhooks), all at once;
    returns how many notifications were sent."""
    sends = []
    for event, payload in _deliveries(installation_id, webhooks):
        body, headers = delivery(event, payload, WEBHOOK_SECRET)
        sends.append(session.post(f"{url}/github/webhook", data=body, headers=headers))
    notifications = max(1, webhooks // 15)
    auth = {"Authorization": f"Bearer {NOTIFY_TOKEN}"}
    for index in range(notifications):
        body = notification(f"burst-{index:03d}", f"{OWNER}/{REPOS[0]}")
        sends.append(session.post(f"{url}/rollouts/notify", json=body, headers=auth))
    for answer in await asyncio.gather(*sends):
        if answer.status != 202:
            raise RuntimeError(f"{answer.url.path} answered {answer.status}")
        answer.release()
    return notifications


async def exercise(
    app: AppProcess, store: Store, installation_id: int, webhooks: int
) -> tuple[int, int, float]:
    """Everything that reads many incidents; returns (notifications sent, handed off, burst seconds)."""
    assert app.process is not None
    async with aiohttp.ClientSession() as session:
        await wait_for_jobs(store)  # the start-up sweep
        await get_metrics(session, app.url, 10)
        await store.enqueue("sweep", "sweep-bench", {"bucket": 0})
        await wait_for_jobs(store)
        started = time.perf_counter()
        sent = await burst(session, app.url, installation_id, webhooks)
        await wait_for_jobs(store)
        seconds = time.perf_counter() - started
        await get_metrics(session, app.url, 10)
    handed = await store.list_incidents(stages=["agent_working"])
    return sent, sum(i.namespace.startswith("burst-") for i in handed), seconds


async def measure(incidents: int = 10_000, webhooks: int = 300) -> Memory:
    template = await template_incident()
    async with contextlib.AsyncExitStack() as stack:
        directory = Path(stack.enter_context(temporary_directory()))
        github = await FakeGitHub(validate_responses=False).start()
        stack.push_async_callback(github.stop)
        kube = await FakeKube(directory=directory).start()
        stack.push_async_callback(kube.stop)
        ids = seed_github(github)
        for index in range(max(1, webhooks // 15)):
            add_demo_rollout(kube, f"burst-{index:03d}", f"{OWNER}/{REPOS[0]}")
        url = f"sqlite:///{directory / 'rss.db'}"
        env = base_env(github, url, KUBECONFIG=str(kube.kubeconfig), FIXLOOP_LOG_LEVEL="WARNING")
        store = await open_store(url)
        stack.push_async_callback(store.close)
        started = time.perf_counter()
        await seed_store(store, template, incidents, ids[0])
        seeded = time.perf_counter() - started
        await save_alice(store, env, ids)
        app = await AppProcess(env, directory / "app.log").start()
        stack.push_async_callback(app.stop)
        assert app.process is not None
        after_start = memory_mb(app.process.pid)[1]
        sent, handed, burst_seconds = await exercise(app, store, ids[0], webhooks)
        peak, current = memory_mb(app.process.pid)
    return Memory(incidents, seeded, after_start, peak, current, handed, sent, webhooks, burst_seconds)


def figures(memory: Memory) -> list[Figure]:
    return [
        Figure(
            f"app RSS with {memory.incidents:,} incidents stored, peak (VmHWM)",
            f"{memory.peak_mb:.0f} MB",
            f"< {GOAL_MB} MB",
            memory.peak_mb < GOAL_MB,
        ),
        Figure(
            "  after start / at the end (VmRSS)",
            f"{memory.after_start_mb:.0f} MB / {memory.current_mb:.0f} MB",
        ),
        Figure(
            f"  burst of {memory.webhooks} webhooks + {memory.burst} failures: handed off, drained in",
            f"{memory.handled}/{memory.burst}, {memory.burst_seconds:.1f} s",
            f"{memory.burst}/{memory.burst}",
            memory.handled == memory.burst,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--webhooks", type=int, default=300, help="webhooks in the burst")
    args = parser.parse_args()
    memory = asyncio.run(measure(args.incidents, args.webhooks))
    print(table(figures(memory)))
    print(f"seeding {memory.incidents:,} incidents through the store API took {memory.seed_seconds:.1f} s")


if __name__ == "__main__":
    main()
