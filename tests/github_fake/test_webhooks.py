"""Webhook fixtures load, and the signing and retargeting helpers do what GitHub does."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from tests.fakes.webhooks import (
    delivery,
    fixture_names,
    load_fixture,
    retarget,
    set_user,
    sign,
    webhook_headers,
)

EXPECTED = {
    "ping.json",
    "installation.created.json",
    "installation_repositories.added.json",
    "issues.opened.json",
    "issues.assigned.json",
    "issues.labeled.json",
    "issues.closed.json",
    "issue_comment.created.json",
    "issue_comment.created.on_pull_request.json",
    "issue_comment.edited.json",
    "pull_request.opened.json",
    "pull_request.edited.json",
    "pull_request.ready_for_review.json",
    "pull_request.synchronize.json",
    "pull_request.closed.json",
    "pull_request.closed.merged.json",
    "check_suite.completed.json",
    "workflow_run.completed.json",
    "deployment_status.created.json",
    "pull_request_review.submitted.json",
}


def test_every_expected_fixture_is_there() -> None:
    assert set(fixture_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_loads(name: str) -> None:
    event, action, *variant = [*name.removesuffix(".json").split("."), None]
    payload = load_fixture(event, action if event != "ping" else None, variant[0] if variant else None)
    assert isinstance(payload, dict)
    assert payload.get("action") == (None if event == "ping" else action)
    if event != "ping":
        assert isinstance(payload["installation"]["id"], int)


def test_load_fixture_returns_independent_copies() -> None:
    first = load_fixture("issues", "opened")
    first["issue"]["title"] = "changed"
    assert load_fixture("issues", "opened")["issue"]["title"] != "changed"


def test_derived_fixtures() -> None:
    merged = load_fixture("pull_request", "closed", "merged")["pull_request"]
    assert merged["merged"] is True and merged["merged_at"] and len(merged["merge_commit_sha"]) == 40
    assert load_fixture("pull_request", "closed")["pull_request"]["merged"] is False
    on_pr = load_fixture("issue_comment", "created", "on_pull_request")["issue"]
    assert on_pr["pull_request"]["html_url"].endswith(f"/pull/{on_pr['number']}")
    assert "pull_request" not in load_fixture("issue_comment", "created")["issue"]
    closed = load_fixture("issues", "closed")["issue"]
    assert (closed["state"], closed["state_reason"]) == ("closed", "completed")


def test_sign_matches_githubs_documented_example() -> None:
    # docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == expected


def test_webhook_headers() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    headers = webhook_headers("ping", body, "s3cret")
    assert headers["X-GitHub-Event"] == "ping"
    assert uuid.UUID(headers["X-GitHub-Delivery"])
    digest = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={digest}"
    assert headers["Content-Type"] == "application/json"
    assert "X-Hub-Signature-256" not in webhook_headers("ping", body, None, delivery="d-1")
    assert webhook_headers("ping", body, None, delivery="d-1")["X-GitHub-Delivery"] == "d-1"


def test_retarget_moves_a_payload_to_another_repo_installation_number_and_sender() -> None:
    payload = retarget(
        load_fixture("issues", "labeled"), repo="acme/web", installation_id=77, number=12, sender="alice"
    )
    assert payload["repository"]["full_name"] == "acme/web"
    assert payload["repository"]["owner"]["login"] == "acme"
    assert payload["installation"]["id"] == 77
    assert payload["issue"]["number"] == 12
    assert payload["issue"]["url"].endswith("/repos/acme/web/issues/12")
    assert payload["issue"]["html_url"].endswith("/acme/web/issues/12")
    assert payload["sender"]["login"] == "alice"
    assert "Codertocat/Hello-World" not in json.dumps(payload)


def test_retarget_a_pull_request_and_a_bot_author() -> None:
    payload = retarget(load_fixture("pull_request", "opened"), repo="acme/web", number=5)
    set_user(payload["pull_request"]["user"], "Copilot", type="Bot", id=198982749)
    assert payload["number"] == payload["pull_request"]["number"] == 5
    assert payload["pull_request"]["html_url"].endswith("/acme/web/pull/5")
    assert payload["pull_request"]["user"]["type"] == "Bot"
    body, headers = delivery("pull_request", payload, "s3cret", "fixed-id")
    assert json.loads(body) == payload
    assert headers["X-GitHub-Delivery"] == "fixed-id"
    assert headers["X-Hub-Signature-256"] == sign(body, "s3cret")
