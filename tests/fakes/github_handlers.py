"""Handlers for the App, repositories, contents, pulls, checks, deployments and the user."""

from __future__ import annotations

import hashlib
import re

from tests.fakes import github_commits as _commits  # noqa: F401 - registers the commit routes
from tests.fakes import github_issues as _issues  # noqa: F401 - registers the issue routes
from tests.fakes.github_auth import GitHubError
from tests.fakes.github_routing import Ctx, Reply, not_found, paginate, route, validation_failed
from tests.fakes.github_shapes import iso
from tests.fakes.github_state import Deployment, DeploymentStatus, Issue, Repo, now

REPO = "/repos/{owner}/{repo}"
SHA = re.compile(r"^[0-9a-f]{40}$")


# --- the App (JWT) --------------------------------------------------------------------------------


@route("get", "/app", auth="jwt")
async def get_app(ctx: Ctx) -> Reply:
    return Reply(200, ctx.fake.shapes.app())


@route("get", "/app/installations", auth="jwt")
async def list_installations(ctx: Ctx) -> Reply:
    return paginate(ctx, [ctx.fake.shapes.installation(i) for i in ctx.fake.installations.values()])


@route("get", f"{REPO}/installation", auth="jwt")
async def get_repo_installation(ctx: Ctx) -> Reply:
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    inst = ctx.fake.installation_for(full)
    if inst is None:
        raise not_found(
            "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app"
        )
    return Reply(200, ctx.fake.shapes.installation(inst))


@route("post", "/app/installations/{installation_id}/access_tokens", auth="jwt")
async def create_installation_token(ctx: Ctx) -> Reply:
    inst = ctx.fake.installations.get(int(ctx.params["installation_id"]))
    if inst is None:
        raise not_found(
            "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
        )
    if inst.suspended:
        raise GitHubError(403, "This installation has been suspended")
    body = ctx.body or {}
    wanted = None
    if body.get("repositories"):
        wanted = frozenset(f"{inst.account.login}/{name}" for name in body["repositories"])
        if not wanted <= inst.repos:
            raise validation_failed(
                "Installation",
                "repositories",
                "invalid",
                "There is at least one repository that does not exist or is not accessible",
            )
    token = ctx.fake.auth.installation_token(inst.id, wanted)
    answer = {
        "token": token.value,
        "expires_at": iso(token.expires_at),
        "permissions": body.get("permissions") or ctx.fake.shapes.installation(inst)["permissions"],
        "repository_selection": "selected",
    }
    return Reply(201, answer)


# --- repositories and contents --------------------------------------------------------------------


@route("get", REPO)
async def get_repo(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    answer = ctx.fake.shapes.repo(ctx.repo)
    if ctx.caller.kind == "user" and ctx.caller.user is not None:  # GitHub adds the caller's permissions
        answer["permissions"] = _permissions(ctx.repo, ctx.caller.user.login)
    return Reply(200, answer)


def _permissions(repo: Repo, login: str) -> dict[str, bool]:
    role = "admin" if login == repo.owner.login else repo.collaborators.get(login, "none")
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    return {
        "admin": role == "admin",
        "maintain": role in ("admin", "maintain"),
        "push": legacy in ("admin", "write"),
        "triage": role in ("admin", "maintain", "write", "triage"),
        "pull": role != "none" or not repo.private,
    }


@route("get", f"{REPO}/contents/{{path}}")
async def get_contents(ctx: Ctx) -> Reply:
    repo = ctx.repo
    assert repo is not None
    ref = ctx.query.get("ref") or repo.default_branch
    data = repo.files.get(ref, {}).get(ctx.params["path"].strip("/"))
    if data is None:
        raise not_found("https://docs.github.com/rest/repos/contents#get-repository-content")
    if "raw" in ctx.headers.get("Accept", ""):
        return Reply(200, data, {"Content-Type": "application/vnd.github.raw"})
    return Reply(200, ctx.fake.shapes.content_file(repo, ctx.params["path"].strip("/"), data, ref))


@route("get", f"{REPO}/collaborators/{{username}}/permission")
async def collaborator_permission(ctx: Ctx) -> Reply:
    repo, login = ctx.repo, ctx.params["username"]
    assert repo is not None
    if login not in ctx.fake.users:
        raise not_found()
    role = "admin" if login == repo.owner.login else repo.collaborators.get(login, "none")
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    role_name = repo.custom_roles.get(login, role)  # GitHub names a custom role; ``permission`` is its base
    user = ctx.fake.shapes.user(ctx.fake.users[login]) | {"role_name": role_name}
    permissions = _permissions(repo, login) | {"pull": role != "none"}
    answer = {"permission": legacy, "role_name": role_name, "user": user | {"permissions": permissions}}
    return Reply(200, answer)


# --- pull requests and checks ---------------------------------------------------------------------


def _pull(ctx: Ctx) -> Issue:
    issue = ctx.issue("pull_number")
    if issue.pull is None:
        raise not_found("https://docs.github.com/rest/pulls/pulls#get-a-pull-request")
    return issue


@route("get", f"{REPO}/pulls/{{pull_number}}")
async def get_pull(ctx: Ctx) -> Reply:
    return Reply(200, ctx.fake.shapes.pull(_pull(ctx)))


@route("get", f"{REPO}/pulls")
async def list_pulls(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    state = ctx.query.get("state", "open")
    head, base = ctx.query.get("head"), ctx.query.get("base")
    found = []
    for pr in ctx.fake.pulls(ctx.repo.full_name):
        assert pr.pull is not None
        if state not in ("all", pr.state):
            continue
        if head and head.split(":")[-1] != pr.pull.head_ref:
            continue
        if base and base != pr.pull.base_ref:
            continue
        found.append(pr)
    found.sort(key=lambda p: p.created_at, reverse=ctx.query.get("direction", "desc") == "desc")
    return paginate(ctx, [ctx.fake.shapes.pull(p, "pull-request-simple") for p in found])


def resolve_ref(ctx: Ctx, ref: str) -> str:
    """A commit sha for `ref`: a sha as is, a pull request head, or a stable fake sha for a branch."""
    assert ctx.repo is not None
    if SHA.match(ref):
        return ref
    branch = ref.removeprefix("refs/heads/")
    for pr in ctx.fake.pulls(ctx.repo.full_name):
        if pr.pull and pr.pull.head_ref == branch and pr.state == "open":
            return pr.pull.head_sha
    return hashlib.sha1(f"{ctx.repo.full_name}@{branch}".encode(), usedforsecurity=False).hexdigest()


@route("get", f"{REPO}/commits/{{ref}}/check-runs")
async def list_check_runs(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    sha = resolve_ref(ctx, ctx.params["ref"])
    name, status = ctx.query.get("check_name"), ctx.query.get("status")
    runs = [
        r
        for r in ctx.repo.check_runs
        if r.head_sha == sha and (not name or r.name == name) and (not status or r.status == status)
    ]
    page = paginate(ctx, [ctx.fake.shapes.check_run(ctx.repo.full_name, r) for r in runs])
    return Reply(200, {"total_count": len(runs), "check_runs": page.body}, page.headers)


# --- deployments ----------------------------------------------------------------------------------


@route("post", f"{REPO}/deployments")
async def create_deployment(ctx: Ctx) -> Reply:
    repo, b = ctx.repo, ctx.body
    assert repo is not None and ctx.caller.user is not None
    environment = b.get("environment", "production")
    deployment = Deployment(
        ctx.fake.next_id(),
        b["ref"],
        resolve_ref(ctx, b["ref"]),
        b.get("task", "deploy"),
        environment,
        b.get("description", ""),
        b.get("payload", {}),
        ctx.caller.user,
        now(),
        b.get("transient_environment", False),
        b.get("production_environment", environment == "production"),
    )
    repo.deployments[deployment.id] = deployment
    return Reply(201, ctx.fake.shapes.deployment(repo.full_name, deployment))


@route("get", f"{REPO}/deployments")
async def list_deployments(ctx: Ctx) -> Reply:
    """Newest first, filtered like GitHub by sha, ref, task and environment."""
    assert ctx.repo is not None
    wanted = {k: ctx.query[k] for k in ("sha", "ref", "task", "environment") if ctx.query.get(k)}
    found = [
        d
        for d in reversed(ctx.repo.deployments.values())
        if all(getattr(d, key) == value for key, value in wanted.items())
    ]
    return paginate(ctx, [ctx.fake.shapes.deployment(ctx.repo.full_name, d) for d in found])


def _deployment(ctx: Ctx) -> Deployment:
    assert ctx.repo is not None
    found = ctx.repo.deployments.get(int(ctx.params["deployment_id"]))
    if found is None:
        raise not_found()
    return found


@route("post", f"{REPO}/deployments/{{deployment_id}}/statuses")
async def create_deployment_status(ctx: Ctx) -> Reply:
    assert ctx.repo is not None and ctx.caller.user is not None
    deployment, b = _deployment(ctx), ctx.body
    status = DeploymentStatus(
        ctx.fake.next_id(),
        b["state"],
        ctx.caller.user,
        now(),
        b.get("description", ""),
        b.get("environment", deployment.environment),
        b.get("target_url", ""),
        b.get("log_url", ""),
        b.get("environment_url", ""),
    )
    deployment.statuses.append(status)
    return Reply(201, ctx.fake.shapes.deployment_status(ctx.repo.full_name, deployment, status))


@route("get", f"{REPO}/deployments/{{deployment_id}}/statuses")
async def list_deployment_statuses(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    deployment = _deployment(ctx)
    shapes = ctx.fake.shapes
    newest_first = list(reversed(deployment.statuses))
    return paginate(ctx, [shapes.deployment_status(ctx.repo.full_name, deployment, s) for s in newest_first])


# --- the user behind a user-to-server token -------------------------------------------------------


@route("get", "/user", auth="user")
async def get_user(ctx: Ctx) -> Reply:
    assert ctx.caller.user is not None
    return Reply(200, ctx.fake.shapes.private_user(ctx.caller.user))


@route("get", "/user/installations", auth="user")
async def list_user_installations(ctx: Ctx) -> Reply:
    """The App's installations the user has explicit permission on: the account is theirs, or they own
    or collaborate on one of its repositories (GitHub counts organisation membership too; the fake
    has none). Paginated as GitHub does it: ``{total_count, installations}`` with a Link header."""
    assert ctx.caller.user is not None
    login = ctx.caller.user.login
    reachable = [
        ctx.fake.shapes.installation(inst)
        for inst in ctx.fake.installations.values()
        if inst.account.login == login
        or any(_explicit(ctx.fake.repos[name], login) for name in sorted(inst.repos))
    ]
    page = paginate(ctx, reachable)
    return Reply(200, {"total_count": len(reachable), "installations": page.body}, page.headers)


def _explicit(repo: Repo, login: str) -> bool:
    return login in (repo.owner.login, *repo.collaborators)
