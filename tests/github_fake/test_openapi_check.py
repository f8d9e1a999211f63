"""The OpenAPI subset and the validator built on it."""

from __future__ import annotations

import pytest

from tests.fakes import openapi_check as oc
from tests.fakes.github_routing import ROUTES

BRIEF_OPERATIONS = {
    ("POST", "/app/installations/{installation_id}/access_tokens"),
    ("GET", "/app"),
    ("GET", "/repos/{owner}/{repo}/installation"),
    ("GET", "/app/installations"),
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/{owner}/{repo}/issues"),
    ("POST", "/repos/{owner}/{repo}/issues"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("GET", "/repos/{owner}/{repo}/labels/{name}"),
    ("POST", "/repos/{owner}/{repo}/labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/timeline"),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/reactions"),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("GET", "/repos/{owner}/{repo}/deployments"),
    ("POST", "/repos/{owner}/{repo}/deployments"),
    ("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("GET", "/user"),
    ("GET", "/user/installations"),
}


def test_subset_holds_exactly_the_operations_fixloop_uses() -> None:
    assert set(oc.operations()) == BRIEF_OPERATIONS
    assert oc.spec()["info"]["x-source"] == "@octokit/openapi@23.0.2"
    assert oc.SUBSET_PATH.stat().st_size < 2 * 2**20


def test_every_operation_has_a_handler_and_no_handler_is_outside_the_subset() -> None:
    assert {(m.upper(), t) for m, t in ROUTES} == BRIEF_OPERATIONS


def test_agent_assignment_is_patched_in_and_closed() -> None:
    op = oc.spec()["paths"]["/repos/{owner}/{repo}/issues/{issue_number}/assignees"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["agent_assignment"]
    assert set(schema["properties"]) == {
        "target_repo",
        "base_branch",
        "custom_instructions",
        "custom_agent",
        "model",
    }
    assert schema["additionalProperties"] is False


def test_a_valid_request_matches_its_operation() -> None:
    found = oc.check_request(
        "POST",
        "/repos/acme/web/issues/7/assignees",
        body=b'{"assignees": ["copilot-swe-agent[bot]"], "agent_assignment": {"base_branch": "main"}}',
        content_type="application/json; charset=utf-8",
    )
    assert found.template == "/repos/{owner}/{repo}/issues/{issue_number}/assignees"
    assert found.params == {"owner": "acme", "repo": "web", "issue_number": "7"}


def test_contents_path_may_carry_slashes_or_be_encoded() -> None:
    raw = oc.check_request("GET", "/repos/acme/web/contents/.github/fixloop.yml", [("ref", "main")])
    encoded = oc.check_request("GET", "/repos/acme/web/contents/.github%2Ffixloop.yml")
    assert raw.params["path"] == encoded.params["path"] == ".github/fixloop.yml"


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "expected"),
    [
        ("POST", "/repos/acme/web/issues", [], b'{"body": "no title"}', "'title' is a required property"),
        ("POST", "/repos/acme/web/issues", [], b'{"title": "t", "lables": ["x"]}', "'lables' was unexpected"),
        ("GET", "/repos/acme/web/pulls", [("stat", "open")], b"", "query parameter(s) ['stat']"),
        ("GET", "/repos/acme/web/pulls", [("state", "merged")], b"", "query parameter: state"),
        ("GET", "/repos/acme/web/issues/abc", [], b"", "issue_number"),
        ("PUT", "/repos/acme/web/issues/1/lock", [], b"", "no such operation"),
        ("GET", "/repos/acme/web/branches", [], b"", "no such operation"),
        ("GET", "/repos/acme/web/issues", [("state", "merged")], b"", "query parameter: state"),
        ("POST", "/repos/acme/web/issues/1/labels", [], b'["bare", "list"]', "is not of type 'object'"),
        ("GET", "/repos/acme/web", [], b'{"x": 1}', "takes no request body"),
        (
            "POST",
            "/repos/acme/web/issues/1/assignees",
            [],
            b'{"assignees": ["Copilot"], "agent_assignment": {"branch": "main"}}',
            "'branch' was unexpected",
        ),
    ],
)
def test_requests_the_description_does_not_allow_are_violations(
    method: str, path: str, query: list[tuple[str, str]], body: bytes, expected: str
) -> None:
    with pytest.raises(oc.OpenAPIViolation) as caught:
        oc.check_request(method, path, query, body=body)
    assert expected in str(caught.value)


def test_a_response_missing_required_fields_is_a_violation() -> None:
    found = oc.check_request("GET", "/repos/acme/web/labels/bug")
    oc.check_response(found, 200, oc.shaped("label", {"name": "bug", "color": "ededed"}))
    with pytest.raises(oc.OpenAPIViolation, match="'color' is a required property"):
        oc.check_response(
            found,
            200,
            {
                "id": 1,
                "node_id": "x",
                "url": "https://x",
                "name": "bug",
                "description": None,
                "default": False,
            },
        )


def test_skeletons_are_valid_for_every_response_component() -> None:
    found = oc.check_request("GET", "/repos/acme/web/pulls/1")
    oc.check_response(found, 200, oc.shaped("pull-request", {}))
