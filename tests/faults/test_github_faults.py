"""GitHub misbehaving under a failed canary: 5xx, rate limits, slowness, a long outage.

Each scenario goes notification in -> issue out over the app's HTTP surface against FakeGitHub, on both
store engines, and checks three things: the app retried within bounds (the attempts the fake saw, and
never sooner than GitHub asked), the outcome is on record (metric, log line, the job's error), and once
GitHub answers again the issue is opened exactly once.
"""

from __future__ import annotations

import itertools
import logging
import time

import pytest

from app.github.http import MAX_ATTEMPTS
from app.store import Job
from tests.fakes.github import FakeGitHub
from tests.faults.conftest import GITHUB_TIMEOUT
from tests.figures import FigureRecorder
from tests.harness import AppHarness, wait_until
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed

ISSUES = "/repos/{owner}/{repo}/issues"
SLACK = 0.05  # clock granularity between the app's sleep and the fake's arrival stamps


async def open_one_issue(app_harness: AppHarness, timeout: float = 60) -> FakeGitHub:
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202, await answer.text()
    assert app_harness.github is not None
    await wait_until(lambda: settled(app_harness), timeout, "every job to finish, delayed retries included")
    jobs = await work_jobs(app_harness)
    assert all(j.status == "done" for j in jobs), [(j.kind, j.status, j.last_error) for j in jobs]
    return app_harness.github


async def settled(app_harness: AppHarness) -> bool:
    jobs = await work_jobs(app_harness)
    return bool(jobs) and all(j.status in ("done", "failed") for j in jobs)


def duplicates(github: FakeGitHub) -> int:
    return len(github.issues(REPO)) - 1


def calls(app_harness: AppHarness, method: str, status: str) -> float:
    return float(app_harness.services.metrics.github_calls.labels(method, status)._value.get())


async def work_jobs(app_harness: AppHarness) -> list[Job]:
    return [j for j in await app_harness.services.store.list_jobs(limit=1000) if j.kind != "sweep"]


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_retried_and_the_issue_opens_once(
    app_harness: AppHarness, status: int, figures: FigureRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A POST answered 5xx may have been carried out (a 502 is a proxy that stopped waiting): it is not
    repeated inline; the job is retried, looks for the issue by its marker, and only then posts again."""
    seed(app_harness)
    assert app_harness.github is not None
    app_harness.github.fail_next("POST", ISSUES, status, times=2)
    with caplog.at_level(logging.WARNING, logger="app.jobs"):
        github = await open_one_issue(app_harness)
    attempts = github.requests_to("POST", ISSUES)
    assert [r.status for r in attempts] == [status, status, 201]
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 0.25 - SLACK for gap in gaps), f"backoff between attempts: {gaps}"
    searches = [r.at for r in github.requests_to("GET", ISSUES)]
    assert all(any(a.at < t < b.at for t in searches) for a, b in itertools.pairwise(attempts)), (
        "each retry looked for the issue before posting it again"
    )
    assert calls(app_harness, "POST", str(status)) == 2, "each failure is counted in the metrics"
    assert f"HTTP {status} after 1 attempt(s)" in caplog.text, "each failure is on the job's record"
    assert duplicates(github) == 0
    figures.record(
        "faults", f"GitHub {status}: POST attempts for one issue", len(attempts), goal=f"<= {MAX_ATTEMPTS}"
    )
    figures.record("faults", f"GitHub {status}: duplicate issues", duplicates(github), goal="0")


RATE_LIMITS = {
    "403 secondary, Retry-After": (403, {"Retry-After": "2"}),
    "429, Retry-After": (429, {"Retry-After": "2"}),
    "429, x-ratelimit-reset": (429, {"x-ratelimit-remaining": "0"}),
    "403 primary, x-ratelimit-reset": (403, {"x-ratelimit-remaining": "0"}),
}


@pytest.mark.parametrize("case", list(RATE_LIMITS))
async def test_rate_limits_are_waited_out_never_sooner_than_asked(
    app_harness: AppHarness, case: str, figures: FigureRecorder
) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    status, headers = RATE_LIMITS[case]
    asked = 2.0
    if "x-ratelimit-remaining" in headers:  # a reset 2 s ahead (the header has whole seconds)
        reset = int(time.time()) + 3
        headers = {**headers, "x-ratelimit-limit": "5000", "x-ratelimit-reset": str(reset)}
    app_harness.github.fail_next("POST", ISSUES, status, headers)
    github = await open_one_issue(app_harness)
    attempts = github.requests_to("POST", ISSUES)
    assert [r.status for r in attempts] == [status, 201]
    waited = attempts[1].at - attempts[0].at
    if "x-ratelimit-reset" in headers:
        asked = reset - time.time() + (time.monotonic() - attempts[0].at)  # from the limited answer on
        asked = max(asked, 0.0)
    assert waited >= asked - SLACK, f"retried {waited:.2f}s after a {status} that asked for {asked:.2f}s"
    assert calls(app_harness, "POST", str(status)) == 1
    assert duplicates(github) == 0
    figures.record(
        "faults", f"GitHub {case}: seconds waited (asked {asked:.1f})", round(waited, 2), goal=">= asked"
    )
    figures.record("faults", f"GitHub {case}: duplicate issues", duplicates(github), goal="0")


async def test_a_slow_read_is_timed_out_and_retried(app_harness: AppHarness, figures: FigureRecorder) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    contents = "/repos/{owner}/{repo}/contents/{path}"
    app_harness.github.slow_next("GET", contents, GITHUB_TIMEOUT * 2)
    github = await open_one_issue(app_harness)
    assert calls(app_harness, "GET", "error") >= 1, "the timeout is counted in the metrics"
    attempts = github.requests_to("GET", contents)
    assert 2 <= len(attempts) <= MAX_ATTEMPTS
    assert attempts[1].at - attempts[0].at >= GITHUB_TIMEOUT - SLACK, (
        "abandoned after the timeout, not sooner"
    )
    assert duplicates(github) == 0
    figures.record("faults", "GitHub slow GET: attempts seen", len(attempts), goal=f"<= {MAX_ATTEMPTS}")


async def test_a_slow_issue_creation_is_not_repeated_blindly(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    """The POST outlives FIXLOOP_GITHUB_TIMEOUT but GitHub still creates the issue: a blind retry of the
    POST would open a second one. The job is retried instead and finds the issue by its marker."""
    seed(app_harness)
    assert app_harness.github is not None
    app_harness.github.slow_next("POST", ISSUES, GITHUB_TIMEOUT * 2)
    github = await open_one_issue(app_harness)
    assert calls(app_harness, "POST", "error") == 1, "the timeout is counted in the metrics"
    assert len(github.requests_to("POST", ISSUES)) == 1
    assert github.requests_to("GET", ISSUES), "the retried job looked for the issue first"
    jobs = await work_jobs(app_harness)
    assert any("TimeoutError" in (j.last_error or "") for j in jobs), "the timeout is on the job's record"
    incident = (await app_harness.services.store.list_incidents())[0]
    assert incident.issue_number == github.issues(REPO)[0].number
    assert duplicates(github) == 0, [i.title for i in github.issues(REPO)]
    figures.record("faults", "GitHub slow POST issue: duplicate issues", duplicates(github), goal="0")


async def test_a_long_outage_sends_the_job_back_to_the_queue_until_github_recovers(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    seed(app_harness)
    assert app_harness.github is not None
    await app_harness.services.github.installation_for_repo(REPO)  # the notify route's own lookup
    app_harness.github.fail_next("*", f"/repos/{REPO}/*", 502, times=10**6)
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202, await answer.text()

    async def retried_later() -> bool:
        jobs = await work_jobs(app_harness)
        return any(
            j.status == "queued" and j.attempts >= 2 and "HTTP 502" in (j.last_error or "") for j in jobs
        )

    await wait_until(retried_later, 60, "the job to be retried after the in-request retries ran out")
    during = len([r for r in app_harness.github.requests if r.status == 502])
    assert app_harness.github.issues(REPO) == []
    app_harness.github.faults.clear()  # GitHub recovers
    github = await open_one_issue(app_harness)
    jobs = await work_jobs(app_harness)
    assert all(j.status == "done" for j in jobs), [(j.kind, j.status, j.last_error) for j in jobs]
    incident = (await app_harness.services.store.list_incidents())[0]
    assert incident.issue_number == github.issues(REPO)[0].number
    assert duplicates(github) == 0
    figures.record("faults", "GitHub outage: requests answered 502 before recovery", during)
    figures.record(
        "faults", "GitHub outage: job attempts to open the issue", max(j.attempts for j in jobs), goal=">= 3"
    )
    figures.record("faults", "GitHub outage: duplicate issues after recovery", duplicates(github), goal="0")


async def test_a_bare_403_secondary_limit_waits_a_minute_instead_of_giving_up(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    """GitHub may signal a secondary rate limit with a 403 and only its message (no Retry-After, no
    x-ratelimit-*): its advice is to wait at least a minute. The job goes back to the queue for that
    minute; it is neither failed for good nor retried at once."""
    seed(app_harness)
    assert app_harness.github is not None
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    body = {
        "message": message,
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    }
    app_harness.github.fail_next("POST", ISSUES, 403, body=body)
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202, await answer.text()

    async def deferred() -> Job | None:
        jobs = await work_jobs(app_harness)
        return next((j for j in jobs if j.status == "queued" and "HTTP 403" in (j.last_error or "")), None)

    await wait_until(deferred, 30, "the job to go back to the queue after the 403")
    job = await deferred()
    assert job is not None
    wait = job.run_after - time.time()
    assert 50 <= wait <= 61, f"the job waits about a minute, not {wait:.0f} s"
    assert len(app_harness.github.requests_to("POST", ISSUES)) == 1, "no retry inside the minute"
    figures.record(
        "faults",
        "GitHub bare 403 secondary limit: seconds the job waits",
        round(wait),
        goal=">= 60 less elapsed",
    )


async def test_a_502_after_github_made_the_issue_does_not_make_a_second(
    app_harness: AppHarness, figures: FigureRecorder
) -> None:
    """GitHub creates the issue, then its proxy answers 502: a blind retry of the POST would open a second
    issue. The retried job finds the first by its marker."""
    seed(app_harness)
    assert app_harness.github is not None
    app_harness.github.fail_next("POST", ISSUES, 502, after_work=True)
    github = await open_one_issue(app_harness)
    assert [r.status for r in github.requests_to("POST", ISSUES)] == [502]
    incident = (await app_harness.services.store.list_incidents())[0]
    assert incident.issue_number == github.issues(REPO)[0].number
    assert duplicates(github) == 0, [i.title for i in github.issues(REPO)]
    figures.record("faults", "GitHub 502 after the work: duplicate issues", duplicates(github), goal="0")
