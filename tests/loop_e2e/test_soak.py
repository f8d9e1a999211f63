"""Soak watch: a verified fix whose signature comes back within ``soak_hours`` reopens its issue and counts
as a failed fix for the agent; after the window the incident is closed for good."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from app.loop.incident.scorecard import scorecard
from app.loop.steps.soak import SOAK
from app.metrics import Metrics
from app.server import create_app
from app.services import SERVICES
from app.ui.views import scorecard_view
from tests.harness import AppHarness
from tests.loop_e2e.loop_driver import CONFIG, Loop
from tests.loop_e2e.test_failure_to_issue import REPO
from tests.loop_e2e.test_full_loop import FIX_HASH


async def verified_fix(loop: Loop, *, soak_hours: float | None = None) -> None:
    await loop.seed()
    if soak_hours is not None:
        text = CONFIG.format(mode="image", cap=3) + f"soak_hours: {soak_hours}\n"
        loop.github.put_file(REPO, ".github/fixloop.yml", text)
    await loop.fail()
    sha = await loop.agent_fixes(attempt=1)
    await loop.workflow_succeeded(sha)
    loop.canary_moves_to(FIX_HASH, healthy=True)
    await loop.completed()
    assert loop.issue().state == "closed"


async def test_signature_back_within_the_window_reopens_and_counts_against_the_agent(
    app_harness: AppHarness,
) -> None:
    loop = Loop(app_harness)
    await verified_fix(loop)
    incident = await loop.incident()
    assert incident.stage == "verified"
    assert await app_harness.services.store.kv_get(SOAK, str(incident.id)) is not None, "watched"
    status = next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)
    assert "**Soak watch:** until " in status and "reopens this issue" in status

    loop.kube.load_demo()  # the failing revision is back: the same signature, within 24 h
    await loop.fail()
    issue = loop.issue()
    assert issue.state == "open", "the same issue, reopened"
    assert len([c for c in issue.comments if "fixloop:reopened" in c.body]) == 1
    assert (await loop.incident()).attempt == 2
    audit = await app_harness.services.store.list_audit(incident.id)
    assert [a.detail["outcome"] for a in audit if a.kind == "soak"] == ["watching", "failed"]

    full = await scorecard(app_harness.services, fresh=True)
    page = scorecard_view(full)  # the /ui/scorecard body: hand-offs, PRs, merged, verified, held, failed
    assert "<td>copilot</td><td>2</td><td>1</td><td>1</td><td>1</td><td>0</td><td>1</td>" in page
    card = full.by_agent()["copilot"]
    assert (card.handoffs, card.prs_opened, card.merged, card.verified) == (2, 1, 1, 1)
    assert (card.failed_in_soak, card.held) == (1, 0)
    assert card.attempts == [1] and card.median_to_verified is not None
    metrics = await (await app_harness.client.get("/metrics")).text()
    assert f'fixloop_agent_failed_in_soak_total{{agent="copilot",repo="{REPO}"}} 1.0' in metrics
    assert f'fixloop_agent_held_total{{agent="copilot",repo="{REPO}"}} 0.0' in metrics
    assert 'fixloop_soak_outcomes_total{outcome="failed"} 1.0' in metrics


async def test_after_the_window_the_incident_is_closed_for_good(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await verified_fix(loop, soak_hours=0.0001)  # 0.36 s
    first = await loop.incident()
    await asyncio.sleep(0.5)
    await app_harness.services.submit("sweep", "test-soak-sweep", {})
    await app_harness.drain()
    store = app_harness.services.store
    assert await store.kv_get(SOAK, str(first.id)) is None, "the sweep ended the watch"
    audit = [a.detail["outcome"] for a in await store.list_audit(first.id) if a.kind == "soak"]
    assert audit == ["watching", "held"]
    card = (await scorecard(app_harness.services, fresh=True)).by_agent()["copilot"]
    assert (card.verified, card.held, card.failed_in_soak) == (1, 1, 0)
    status = next(c.body for c in loop.issue().comments if "fixloop:status" in c.body)
    assert "held through the soak window; this incident is closed for good" in status

    loop.kube.load_demo()  # the same failure after the window: a new incident and issue, not a reopening
    await loop.fail()
    issues = sorted((i for i in loop.github.issues(REPO) if i.pull is None), key=lambda i: i.number)
    assert [i.state for i in issues] == ["closed", "open"]
    assert not [c for c in issues[0].comments if "fixloop:reopened" in c.body]
    incidents = await store.list_incidents()
    assert [i.stage for i in incidents] == ["verified", "agent_working"]
    assert incidents[1].fingerprint == f"{first.fingerprint}~after-{first.id}"
    full = await scorecard(app_harness.services, fresh=True)
    assert "<td>copilot</td><td>2</td><td>1</td><td>1</td><td>1</td><td>1</td><td>0</td>" in scorecard_view(
        full
    )
    card = full.by_agent()["copilot"]
    assert (card.held, card.failed_in_soak, card.handoffs) == (1, 0, 2)
    metrics = await (await app_harness.client.get("/metrics")).text()
    assert f'fixloop_agent_held_total{{agent="copilot",repo="{REPO}"}} 1.0' in metrics


async def test_a_watch_left_behind_by_a_cut_short_reopening_is_not_counted_as_held(
    app_harness: AppHarness,
) -> None:
    loop = Loop(app_harness)
    await verified_fix(loop, soak_hours=0.0001)
    incident = await loop.incident()
    store = app_harness.services.store
    # The reopening moved the incident, then the process died before it ended the watch.
    await store.update_incident(
        incident.id, expected_version=incident.version, stage="failed_again", cause="x"
    )
    await asyncio.sleep(0.5)
    await app_harness.services.submit("sweep", "test-soak-sweep-2", {})
    await app_harness.drain()
    assert [a.detail["outcome"] for a in await store.list_audit(incident.id) if a.kind == "soak"] == [
        "watching",
        "failed",
    ]


async def test_the_watch_survives_a_restart(app_harness: AppHarness) -> None:
    loop = Loop(app_harness)
    await verified_fix(loop, soak_hours=0.0001)
    incident = await loop.incident()
    await app_harness.client.close()  # the process stops; another starts on the same store
    await asyncio.sleep(0.5)
    restarted = TestClient(TestServer(create_app(app_harness.settings, metrics=Metrics())))
    await restarted.start_server()
    try:
        services = restarted.app[SERVICES]
        await services.submit("sweep", "test-soak-sweep-restart", {})
        await AppHarness(restarted, app_harness.settings, app_harness.github).drain()
        outcomes = [
            a.detail["outcome"] for a in await services.store.list_audit(incident.id) if a.kind == "soak"
        ]
        assert outcomes == ["watching", "held"]
    finally:
        await restarted.close()
