"""GitHub's 4xx in the app's vocabulary: not found, forbidden, invalid (permanent), rate-limited (transient)."""

from __future__ import annotations

import json
import time
from typing import Any

import gidgethub
import pytest
from gidgethub import sansio

from app.errors import PermanentError, TransientError
from app.github import issues, repos
from app.github.errors import (
    GitHubForbidden,
    GitHubInvalid,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubRefused,
    github_error,
)
from app.github.http import GitHubClient
from tests.fakes.github import FakeGitHub
from tests.github.conftest import REPO

JSON = {"content-type": "application/json; charset=utf-8"}
ISSUES = "/repos/{owner}/{repo}/issues"


def answered(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> gidgethub.BadRequest:
    """The exception gidgethub raises for this answer (its own parsing, as in production)."""
    with pytest.raises(gidgethub.BadRequest) as raised:
        sansio.decipher_response(status, {**JSON, **(headers or {})}, json.dumps(body).encode())
    return raised.value


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (404, "Not Found", GitHubNotFound),
        (410, "Issues are disabled for this repo", GitHubNotFound),
        (401, "Bad credentials", GitHubForbidden),
        (403, "Resource not accessible by integration", GitHubForbidden),
        (400, "Problems parsing JSON", GitHubInvalid),
        (409, "Git Repository is empty.", GitHubRefused),
    ],
)
def test_each_refusal_has_its_kind_and_keeps_githubs_message(status: int, message: str, kind: type) -> None:
    error = github_error(answered(status, {"message": message}))
    assert type(error) is kind and isinstance(error, PermanentError)
    assert isinstance(error, GitHubRefused) and error.status == status
    assert str(error) == message, "the message a person reads is GitHub's"


def test_a_validation_failure_carries_the_field_codes() -> None:
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": "Label", "field": "name", "code": "already_exists"}],
    }
    error = github_error(answered(422, body))
    assert isinstance(error, GitHubInvalid) and error.status == 422
    assert error.codes == ("already_exists",)
    assert str(error) == "Validation Failed for 'name'"
    plain = github_error(
        answered(422, {"message": "Validation Failed", "errors": ["No commit found for SHA"]})
    )
    assert isinstance(plain, GitHubInvalid) and plain.codes == ()


@pytest.mark.parametrize(
    ("status", "headers", "message", "wait"),
    [
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-used": "5000"},
            "",
            121.0,
        ),
        (403, {}, "You have exceeded a secondary rate limit. Please wait a few minutes.", 60.0),
        (403, {"retry-after": "30"}, "You have exceeded a secondary rate limit.", 30.0),
        (429, {}, "Too many requests", 60.0),
    ],
)
def test_a_rate_limit_is_transient_with_githubs_wait(
    status: int, headers: dict[str, str], message: str, wait: float
) -> None:
    if "x-ratelimit-remaining" in headers:
        headers = {**headers, "x-ratelimit-reset": str(int(time.time()) + 120)}
    error = github_error(answered(status, {"message": message or "API rate limit exceeded"}, headers))
    assert isinstance(error, GitHubRateLimited) and isinstance(error, TransientError)
    assert error.status == status
    assert error.retry_after is not None and abs(error.retry_after - wait) <= 1.5


async def test_the_typed_calls_raise_the_vocabulary(fake_github: FakeGitHub, gh: GitHubClient) -> None:
    with pytest.raises(GitHubNotFound):
        await issues.edit_comment(gh, REPO, 999_999, "gone")
    with pytest.raises(GitHubNotFound):
        await repos.repository(gh, "acme/nowhere")
    forbidden = {"message": "Resource not accessible by integration"}
    fake_github.fail_next("POST", ISSUES, 403, body=forbidden)
    with pytest.raises(GitHubForbidden, match="not accessible"):
        await issues.create_issue(gh, REPO, "Canary failed", "body", [])
    invalid = {
        "message": "Validation Failed",
        "errors": [{"resource": "Issue", "field": "labels", "code": "invalid"}],
    }
    fake_github.fail_next("POST", ISSUES, 422, body=invalid)
    with pytest.raises(GitHubInvalid) as refused:
        await issues.create_issue(gh, REPO, "Canary failed", "body", ["x"])
    assert refused.value.codes == ("invalid",)
    assert fake_github.issues(REPO) == []


async def test_a_label_the_repository_has_is_not_an_error(fake_github: FakeGitHub, gh: GitHubClient) -> None:
    assert await issues.create_label(gh, REPO, "needs-human", color="fbca04", description="d") is True
    assert await issues.create_label(gh, REPO, "needs-human", color="fbca04", description="d") is False
    assert [r.status for r in fake_github.requests_to("POST", "/repos/{owner}/{repo}/labels")] == [201, 422]


async def test_a_rate_limit_too_long_to_wait_for_goes_back_to_the_queue(
    fake_github: FakeGitHub, gh: GitHubClient
) -> None:
    """The client waits out a short limit itself; a long one becomes GitHubRateLimited for the job runner."""
    fake_github.fail_next("POST", ISSUES, 403, headers={"Retry-After": "300"})
    with pytest.raises(GitHubRateLimited) as limited:
        await issues.create_issue(gh, REPO, "Canary failed", "body", [])
    assert limited.value.retry_after == 300.0 and limited.value.status == 403
    fake_github.fail_next("POST", ISSUES, 429, headers={"Retry-After": "1"})
    assert await issues.create_issue(gh, REPO, "Canary failed", "body", []) > 0, "a short wait is waited out"
