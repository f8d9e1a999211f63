"""Kubernetes misbehaving while Fixloop gathers evidence: unreachable, failing, slow, or forbidding.

End to end over the app's HTTP surface on both store engines: the notification still ends in exactly
one issue, the evidence that could not be collected is stated in it ("Not collected"), every job
finishes without an unhandled exception, and the Kubernetes API is asked a bounded number of times.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from tests.fakes.kube import FakeKube
from tests.faults.conftest import KUBE_TIMEOUT
from tests.figures import FigureRecorder
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed


async def unplugged(kube: FakeKube) -> None:
    await kube.unplug()


async def answering_503(kube: FakeKube) -> None:
    kube.down = True


async def slower_than_the_timeout(kube: FakeKube) -> None:
    kube.delay = KUBE_TIMEOUT * 3


async def forbidding_logs(kube: FakeKube) -> None:
    kube.forbid("pods/log")


async def forbidding_pods_and_events(kube: FakeKube) -> None:
    kube.forbid("pods", "events")


async def forbidding_everything(kube: FakeKube) -> None:
    kube.forbid("*")


FAULTS: dict[str, Callable[[FakeKube], Awaitable[None]]] = {
    "unplugged": unplugged,
    "503": answering_503,
    "slow": slower_than_the_timeout,
    "403 pods/log": forbidding_logs,
    "403 pods, events": forbidding_pods_and_events,
    "403 everything": forbidding_everything,
}
# What the issue must say is missing, per fault (a word of the gap's reason, lower case).
SAID = {
    "unplugged": "unreachable",
    "503": "503",
    "slow": "timed out",
    "403 pods/log": "forbidden",
    "403 pods, events": "forbidden",
    "403 everything": "forbidden",
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_degraded_kubernetes_still_opens_the_issue_and_says_what_is_missing(
    app_harness: AppHarness, fault: str, figures: FigureRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    seed(app_harness)
    assert app_harness.kube is not None and app_harness.github is not None
    await FAULTS[fault](app_harness.kube)
    with caplog.at_level(logging.WARNING):
        answer = await app_harness.notify(demo_notification())
        assert answer.status == 202, await answer.text()
        await app_harness.drain(timeout=120)
    issues = app_harness.github.issues(REPO)
    assert len(issues) == 1, [i.title for i in issues]
    incident = (await app_harness.services.store.list_incidents())[0]
    gaps = [str(g) for g in incident.data["gaps"]]
    body = issues[0].body or ""
    assert gaps and "### Not collected" in body, "the missing evidence is stated in the issue"
    assert any(SAID[fault] in g.lower() for g in gaps), gaps
    jobs = [j for j in await app_harness.services.store.list_jobs(limit=1000) if j.kind != "sweep"]
    unhandled = [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert all(j.status == "done" for j in jobs), [(j.status, j.last_error) for j in jobs]
    assert unhandled == []
    asked = len(app_harness.kube.requests)
    figures.record("faults", f"Kubernetes {fault}: issues opened / scenarios", f"{len(issues)}/1", goal="1/1")
    figures.record("faults", f"Kubernetes {fault}: gaps stated in the issue", len(gaps), goal=">= 1")
    figures.record("faults", f"Kubernetes {fault}: unhandled exceptions", len(unhandled), goal="0")
    figures.record("faults", f"Kubernetes {fault}: requests to the API", asked)
