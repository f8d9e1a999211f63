"""Bounded: at most FIXLOOP_MAX_SUSPECT_COMMITS commits are read, and the issue says when it was cut."""

from __future__ import annotations

import pytest

from tests.fakes.github_commits import add_demo_history
from tests.fakes.kube_demo import DEMO_CANARY_SHA, DEMO_STABLE_SHA
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed


@pytest.fixture
def harness_env() -> dict[str, str]:
    return {"FIXLOOP_MAX_SUSPECT_COMMITS": "2", "FIXLOOP_REGISTRY_READ": "false"}


async def test_a_long_range_is_cut_and_said(app_harness: AppHarness) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    add_demo_history(app_harness.github, REPO, DEMO_STABLE_SHA, DEMO_CANARY_SHA)
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    body = app_harness.github.issues(REPO)[0].body or ""
    rows = [
        line for line in body.splitlines() if line.startswith("| `") and " | " in line and "`bob`" in line
    ]
    assert rows and "`main.go`" in rows[0], "the page read still ranks the commit that touched main.go"
    assert "3 commits between stable and canary: the 2 shown are the first page GitHub gives." in body
    assert "_1 more commits not shown._" in body
    (compare,) = app_harness.github.requests_to("GET", "/repos/{owner}/{repo}/compare/{basehead}")
    assert compare.query == {"per_page": "2"}
