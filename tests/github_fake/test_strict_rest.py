"""The fake refuses what GitHub refuses and answers in GitHub's shape."""

from __future__ import annotations

import time

import aiohttp
import pytest
from gidgethub import BadRequest, InvalidField
from gidgethub.aiohttp import GitHubAPI

from tests.fakes import keys
from tests.fakes.github import FakeGitHub
from tests.fakes.github_commits import add_commit
from tests.fakes.github_routing import ROUTES
from tests.fakes.github_state import Installation
from tests.github_fake.conftest import REPO, call

MARKER = "<!-- fixloop:incident=in-42 -->"


@pytest.fixture
def token(fake_github: FakeGitHub, inst: Installation) -> str:
    return fake_github.installation_token(inst.id)


@pytest.fixture
def gh(http: aiohttp.ClientSession, fake_github: FakeGitHub) -> GitHubAPI:
    return GitHubAPI(http, "fixloop-tests", base_url=fake_github.api_url)


async def test_a_bad_body_is_answered_422_and_recorded(
    fake_github: FakeGitHub, token: str, http: aiohttp.ClientSession
) -> None:
    answer = await call(http, fake_github, "POST", f"/repos/{REPO}/issues", token=token, body={"titel": "x"})
    assert answer.status == 422
    violations = fake_github.take_violations()
    assert len(violations) == 1 and "'title' is a required property" in violations[0]
    assert fake_github.issues(REPO) == []


async def test_an_unknown_route_is_a_violation(
    fake_github: FakeGitHub, token: str, http: aiohttp.ClientSession
) -> None:
    answer = await call(http, fake_github, "PUT", f"/repos/{REPO}/issues/1/lock", token=token, body={})
    assert answer.status == 422
    assert "no such operation" in fake_github.take_violations()[0]


async def test_a_violation_fails_the_fixture_at_teardown() -> None:
    fake = FakeGitHub()
    fake.violations.append("GET /nope: no such operation")
    with pytest.raises(AssertionError, match="GET /nope"):
        fake.assert_no_violations()


async def test_copilot_needs_a_user_token_with_a_seat(
    fake_github: FakeGitHub, token: str, gh: GitHubAPI
) -> None:
    issue = fake_github.add_issue(REPO, "Canary failed", MARKER)
    url = f"/repos/{REPO}/issues/{issue.number}/assignees"
    body = {
        "assignees": ["copilot-swe-agent[bot]"],
        "agent_assignment": {"target_repo": REPO, "base_branch": "main", "custom_instructions": "Be brief"},
    }
    with pytest.raises(InvalidField) as refused:
        await gh.post(url, data=body, oauth_token=token)
    assert refused.value.status_code == 422
    assert refused.value.errors[0]["message"] == "copilot-swe-agent[bot] is not available as an assignee"
    with pytest.raises(InvalidField):
        await gh.post(url, data=body, oauth_token=fake_github.user_token("bob"))  # no Copilot seat
    assigned = await gh.post(url, data=body, oauth_token=fake_github.user_token("alice"))
    assert [a["login"] for a in assigned["assignees"]] == ["Copilot"]
    assert assigned["assignees"][0]["type"] == "Bot"
    assert issue.agent_assignments == [{"by": "alice", "agent_assignment": body["agent_assignment"]}]


async def test_missing_labels_are_created_and_who_added_them_is_recorded(
    fake_github: FakeGitHub, token: str, gh: GitHubAPI
) -> None:
    issue = fake_github.add_issue(REPO, "Canary failed")
    url = f"/repos/{REPO}/issues/{issue.number}/labels"
    labels = await gh.post(url, data={"labels": ["fixloop"]}, oauth_token=token)
    assert [(lbl["name"], lbl["color"]) for lbl in labels] == [("fixloop", "ededed")]
    await gh.post(url, data={"labels": ["jules"]}, oauth_token=fake_github.user_token("alice"))
    added_by = {name: (c.kind, c.user.login if c.user else None) for name, c in issue.labels_added_by.items()}
    assert added_by == {"fixloop": ("installation", "fixloop-test[bot]"), "jules": ("user", "alice")}
    assert (await gh.getitem(f"/repos/{REPO}/labels/jules", oauth_token=token))["name"] == "jules"
    with pytest.raises(BadRequest) as gone:
        await gh.delete(f"{url}/missing", oauth_token=token)
    assert gone.value.status_code == 404


async def test_etag_and_rate_limit_headers(
    fake_github: FakeGitHub, token: str, http: aiohttp.ClientSession
) -> None:
    first = await call(http, fake_github, "GET", f"/repos/{REPO}", token=token)
    assert first.headers["ETag"].startswith('W/"')
    assert int(first.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-limit"]) - 1
    assert int(first.headers["x-ratelimit-reset"]) > 0
    again = await call(
        http,
        fake_github,
        "GET",
        f"/repos/{REPO}",
        token=token,
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert (again.status, again.body) == (304, b"")
    fake_github.put_file(REPO, "README.md", "changed")  # a repo answer does not depend on files...
    fake_github.add_issue(REPO, "but open_issues_count changes")
    changed = await call(
        http,
        fake_github,
        "GET",
        f"/repos/{REPO}",
        token=token,
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert changed.status == 200


async def test_the_issue_list_filters_and_sorts_like_github(
    fake_github: FakeGitHub, token: str, gh: GitHubAPI
) -> None:
    old = fake_github.add_issue(REPO, "Old", MARKER)
    old.updated_at -= 3600
    closed = fake_github.add_issue(REPO, "Closed", MARKER)
    closed.state = "closed"
    newest = fake_github.add_issue(REPO, "Newest", MARKER)
    pr = fake_github.add_pull(REPO, body=MARKER)
    url = f"/repos/{REPO}/issues{{?state,since}}"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    listed = [
        i["number"]
        async for i in gh.getiter(url, url_vars={"state": "all", "since": since}, oauth_token=token)
    ]
    assert listed == [pr.number, newest.number, closed.number], (
        "newest first, pull requests too, since applied"
    )
    open_only = [i async for i in gh.getiter(f"/repos/{REPO}/issues", oauth_token=token)]
    assert closed.number not in [i["number"] for i in open_only] and any(
        "pull_request" in i for i in open_only
    )


async def test_contents_come_base64_with_blob_sha(fake_github: FakeGitHub, token: str, gh: GitHubAPI) -> None:
    sha = fake_github.put_file(REPO, ".github/fixloop.yml", "agent: copilot\n")
    answer = await gh.getitem(f"/repos/{REPO}/contents/.github/fixloop.yml", oauth_token=token)
    assert answer["sha"] == sha == "d37cb3a2b479a622eae5dcb3160b2de63d5a79db"  # git hash-object
    assert answer["encoding"] == "base64" and answer["type"] == "file"
    with pytest.raises(BadRequest) as missing:
        await gh.getitem(f"/repos/{REPO}/contents/nope.yml", oauth_token=token)
    assert missing.value.status_code == 404


async def test_timeline_links_an_agent_pull_request(
    fake_github: FakeGitHub, token: str, gh: GitHubAPI
) -> None:
    issue = fake_github.add_issue(REPO, "Canary failed", MARKER)
    issue_url = f"/repos/{REPO}/issues/{issue.number}"
    await gh.post(f"{issue_url}/labels", data={"labels": ["fixloop", "tmp"]}, oauth_token=token)
    await gh.delete(f"{issue_url}/labels/tmp", oauth_token=token)
    await gh.post(f"{issue_url}/comments", data={"body": "status"}, oauth_token=token)
    await gh.post(f"{issue_url}/assignees", data={"assignees": ["alice"]}, oauth_token=token)
    await gh.delete(f"{issue_url}/assignees", data={"assignees": ["alice"]}, oauth_token=token)
    pr = fake_github.add_pull(
        REPO, title="Fix canary", head_ref="copilot/fix-canary", draft=True, links_issue=issue.number
    )
    await gh.patch(issue_url, data={"state": "closed", "state_reason": "completed"}, oauth_token=token)
    await gh.patch(issue_url, data={"state": "open"}, oauth_token=token)
    events = [e async for e in gh.getiter(f"{issue_url}/timeline", oauth_token=token)]
    assert [e["event"] for e in events] == [
        "labeled",
        "labeled",
        "unlabeled",
        "commented",
        "assigned",
        "unassigned",
        "cross-referenced",
        "closed",
        "reopened",
    ]
    source = events[6]["source"]["issue"]
    assert source["number"] == pr.number and "pull_request" in source
    pull = await gh.getitem(f"/repos/{REPO}/pulls/{pr.number}", oauth_token=token)
    assert (pull["draft"], pull["head"]["ref"], pull["user"]["login"]) == (
        True,
        "copilot/fix-canary",
        "Copilot",
    )


async def test_pagination_follows_link_headers(fake_github: FakeGitHub, token: str, gh: GitHubAPI) -> None:
    issue = fake_github.add_issue(REPO, "Chatty")
    for n in range(35):
        fake_github.add_comment(REPO, issue.number, f"comment {n}")
    comments = [
        c async for c in gh.getiter(f"/repos/{REPO}/issues/{issue.number}/comments", oauth_token=token)
    ]
    assert [c["body"] for c in comments] == [f"comment {n}" for n in range(35)]


async def test_deployments_and_checks(fake_github: FakeGitHub, token: str, gh: GitHubAPI) -> None:
    pr = fake_github.add_pull(REPO, head_ref="copilot/fix")
    fake_github.merge_pull(REPO, pr.number)
    sha = pr.pull.merge_commit_sha if pr.pull else ""
    fake_github.add_check_run(REPO, sha, "ci", conclusion="failure")
    runs = await gh.getitem(f"/repos/{REPO}/commits/{sha}/check-runs", oauth_token=token)
    assert [(r["name"], r["conclusion"]) for r in runs["check_runs"]] == [("ci", "failure")]
    deployment = await gh.post(
        f"/repos/{REPO}/deployments",
        oauth_token=token,
        data={
            "ref": sha,
            "environment": "canary",
            "auto_merge": False,
            "required_contexts": [],
            "payload": {"incident": "in-42"},
        },
    )
    await gh.post(deployment["statuses_url"], data={"state": "in_progress"}, oauth_token=token)
    await gh.post(deployment["statuses_url"], data={"state": "success"}, oauth_token=token)
    states = [s["state"] async for s in gh.getiter(deployment["statuses_url"], oauth_token=token)]
    assert states == ["success", "in_progress"]
    assert fake_github.deployments(REPO)[0].payload == {"incident": "in-42"}
    url = f"/repos/{REPO}/deployments{{?sha,environment}}"
    found = [
        d["id"]
        async for d in gh.getiter(url, url_vars={"sha": sha, "environment": "canary"}, oauth_token=token)
    ]
    assert found == [deployment["id"]], "listed with GitHub's filters"
    other = [
        d async for d in gh.getiter(url, url_vars={"sha": sha, "environment": "prod"}, oauth_token=token)
    ]
    assert other == []


async def test_collaborator_permission(fake_github: FakeGitHub, token: str, gh: GitHubAPI) -> None:
    fake_github.add_collaborator(REPO, "tri", "triage")
    fake_github.add_user("stranger")
    url = f"/repos/{REPO}/collaborators/{{username}}/permission"
    answers = {
        login: await gh.getitem(url, url_vars={"username": login}, oauth_token=token)
        for login in ("alice", "tri", "stranger")
    }
    assert {k: (v["permission"], v["role_name"]) for k, v in answers.items()} == {
        "alice": ("write", "write"),
        "tri": ("read", "triage"),
        "stranger": ("none", "none"),
    }


async def test_fault_injection(fake_github: FakeGitHub, token: str, http: aiohttp.ClientSession) -> None:
    fake_github.fail_next("POST", "/repos/{owner}/{repo}/issues", 403, headers={"Retry-After": "30"})
    fake_github.fail_next("GET", f"/repos/{REPO}", 502, times=2)
    limited = await call(http, fake_github, "POST", f"/repos/{REPO}/issues", token=token, body={"title": "x"})
    assert (limited.status, limited.headers["Retry-After"]) == (403, "30")
    assert "secondary rate limit" in limited.body["message"]
    assert [
        (await call(http, fake_github, "GET", f"/repos/{REPO}", token=token)).status for _ in range(3)
    ] == [502, 502, 200]
    assert [r.status for r in fake_github.requests_to("GET", "/repos/{owner}/{repo}")] == [502, 502, 200]
    fake_github.delay = 0.05
    assert (await call(http, fake_github, "GET", f"/repos/{REPO}", token=token)).status == 200
    assert fake_github.issues(REPO) == []


async def test_every_operation_answers_in_githubs_shape(
    fake_github: FakeGitHub, inst: Installation, token: str, gh: GitHubAPI
) -> None:
    """Drive each operation once; the fixture fails the test if any answer breaks its schema."""
    jwt = keys.app_jwt()
    alice = fake_github.user_token("alice")
    await gh.getitem("/app", jwt=jwt)
    await gh.getitem("/app/installations", jwt=jwt)
    await gh.getitem(f"/repos/{REPO}/installation", jwt=jwt)
    await gh.post(f"/app/installations/{inst.id}/access_tokens", data=b"", jwt=jwt)
    await gh.getitem(f"/repos/{REPO}", oauth_token=token)
    fake_github.put_file(REPO, "a.txt", "a")
    await gh.getitem(f"/repos/{REPO}/contents/a.txt", oauth_token=token)
    issue = await gh.post(
        f"/repos/{REPO}/issues",
        oauth_token=token,
        data={"title": "t", "body": MARKER, "labels": ["fixloop"], "assignees": ["alice"]},
    )
    await gh.getitem(issue["url"], oauth_token=token)
    await gh.patch(issue["url"], data={"title": "t2", "labels": ["a", "b"]}, oauth_token=token)
    comment = await gh.post(issue["comments_url"], data={"body": "hi"}, oauth_token=token)
    await gh.getitem(comment["url"], oauth_token=token)
    await gh.patch(comment["url"], data={"body": "edited"}, oauth_token=token)
    _ = [c async for c in gh.getiter(issue["comments_url"], oauth_token=token)]
    await gh.post(f"{comment['url']}/reactions", data={"content": "eyes"}, oauth_token=alice)
    await gh.post(f"{issue['url']}/reactions", data={"content": "rocket"}, oauth_token=token)
    await gh.post(f"{issue['url']}/labels", data={"labels": ["c"]}, oauth_token=token)
    await gh.delete(f"{issue['url']}/labels/c", oauth_token=token)
    await gh.post(f"/repos/{REPO}/labels", data={"name": "jules", "color": "aabbcc"}, oauth_token=token)
    await gh.getitem(f"/repos/{REPO}/labels/jules", oauth_token=token)
    await gh.post(f"{issue['url']}/assignees", data={"assignees": ["Copilot"]}, oauth_token=alice)
    await gh.delete(f"{issue['url']}/assignees", data={"assignees": ["Copilot"]}, oauth_token=token)
    pr = fake_github.add_pull(REPO, links_issue=issue["number"])
    _ = [e async for e in gh.getiter(f"{issue['url']}/timeline", oauth_token=token)]
    await gh.getitem(f"/repos/{REPO}/collaborators/alice/permission", oauth_token=token)
    await gh.getitem(f"/repos/{REPO}/pulls/{pr.number}", oauth_token=token)
    _ = [p async for p in gh.getiter(f"/repos/{REPO}/pulls?state=all", oauth_token=token)]
    await gh.getitem(f"/repos/{REPO}/commits/main/check-runs", oauth_token=token)
    deployment = await gh.post(f"/repos/{REPO}/deployments", data={"ref": "main"}, oauth_token=token)
    await gh.post(deployment["statuses_url"], data={"state": "success"}, oauth_token=token)
    _ = [s async for s in gh.getiter(deployment["statuses_url"], oauth_token=token)]
    _ = [d async for d in gh.getiter(f"/repos/{REPO}/deployments?sha={deployment['sha']}", oauth_token=token)]
    _ = [i async for i in gh.getiter(f"/repos/{REPO}/issues?state=all&sort=created", oauth_token=alice)]
    await gh.getitem("/user", oauth_token=alice)
    reached = [
        i async for i in gh.getiter("/user/installations", oauth_token=alice, iterable_key="installations")
    ]
    assert [i["id"] for i in reached] == [inst.id]
    base = add_commit(fake_github, REPO, "one", {"a.go": "added"}, author="alice")
    head = add_commit(fake_github, REPO, "two", {"a.go": "modified"}, author=None)
    await gh.getitem(f"/repos/{REPO}/compare/{base}...{head}", oauth_token=token)
    _ = [c async for c in gh.getiter(f"/repos/{REPO}/commits?sha={head}&path=a.go", oauth_token=token)]
    answered = {(r.method.lower(), r.template) for r in fake_github.requests if 200 <= r.status < 300}
    assert answered == set(ROUTES)
    assert fake_github.violations == []


async def test_compare_lists_what_head_adds_and_404s_an_unknown_ref(
    fake_github: FakeGitHub, token: str, gh: GitHubAPI
) -> None:
    root = add_commit(fake_github, REPO, "root", {"main.go": "added"})
    stable = add_commit(fake_github, REPO, "stable", {"go.mod": "added"})
    side = add_commit(fake_github, REPO, "on a branch", {"x.go": "added"}, parents=[root])
    one = add_commit(fake_github, REPO, "one", {"main.go": "modified"}, parents=[stable], author="bob")
    two = add_commit(fake_github, REPO, "two", {"README.md": "added"}, author=None)
    answer = await gh.getitem(f"/repos/{REPO}/compare/{stable[:7]}...{two}", oauth_token=token)
    assert [c["sha"] for c in answer["commits"]] == [one, two], "oldest first, base's history left out"
    assert (answer["status"], answer["ahead_by"], answer["total_commits"]) == ("ahead", 2, 2)
    assert [f["filename"] for f in answer["files"]] == ["main.go", "README.md"]
    assert answer["commits"][0]["author"]["login"] == "bob" and answer["commits"][1]["author"] == {}
    paged = await gh.getitem(f"/repos/{REPO}/compare/{stable}...{two}?per_page=1&page=2", oauth_token=token)
    assert [c["sha"] for c in paged["commits"]] == [two] and "files" not in paged
    diverged = await gh.getitem(f"/repos/{REPO}/compare/{side}...{two}", oauth_token=token)
    assert (diverged["status"], diverged["behind_by"]) == ("diverged", 1)
    with pytest.raises(BadRequest) as missing:
        await gh.getitem(f"/repos/{REPO}/compare/{stable}...{'0' * 40}", oauth_token=token)
    assert missing.value.status_code == 404
    touching = await gh.getitem(f"/repos/{REPO}/commits?sha={two}&path=main.go", oauth_token=token)
    assert [c["sha"] for c in touching] == [one, root], "newest first, only commits touching the path"


async def test_an_answer_that_breaks_the_schema_is_caught(
    fake_github: FakeGitHub, token: str, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_github.add_label(REPO, "bug")
    monkeypatch.setattr(fake_github.shapes, "label", lambda repo, label: {"name": label.name})
    await call(http, fake_github, "GET", f"/repos/{REPO}/labels/bug", token=token)
    (violation,) = fake_github.take_violations()
    assert violation.startswith("fake bug, answer not GitHub-shaped") and "required property" in violation
