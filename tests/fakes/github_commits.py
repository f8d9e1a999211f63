"""Commits in the fake GitHub: a commit graph per repository, the comparison and the commit list.

    sha = add_commit(fake, "acme/web", "Pick a colour from the cache", {"main.go": "modified"}, author="bob")

`GET /repos/{owner}/{repo}/compare/{base}...{head}` answers as GitHub does: the commits reachable from
head and not from base, oldest first, paginated with per_page/page (the files only on the first page,
for the whole comparison); a ref GitHub does not know is a 404. `GET /repos/{owner}/{repo}/commits` walks
the history from `sha`, newest first, keeping the commits that touched `path`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.github_routing import Ctx, Reply, not_found, paginate, route
from tests.fakes.github_shapes import iso
from tests.fakes.github_state import User, now
from tests.fakes.openapi_check import shaped

if TYPE_CHECKING:
    from tests.fakes.github_state import GitHubState

REPO = "/repos/{owner}/{repo}"
COMPARE_DOC = "https://docs.github.com/rest/commits/commits#compare-two-commits"


@dataclass
class FakeCommit:
    sha: str
    message: str
    author: User | None  # None: no GitHub account matches the author's email
    parents: list[str]
    files: dict[str, str]  # path -> added | modified | removed
    at: float = field(default_factory=now)


def add_commit(
    state: GitHubState,
    repo: str,
    message: str,
    files: dict[str, str],
    *,
    author: str | None = "octocat",
    parents: list[str] | None = None,
    sha: str | None = None,
) -> str:
    """A commit on top of `parents` (default: the repository's last commit); returns its sha."""
    commits: dict[str, FakeCommit] = state.repos[repo].commits
    if parents is None:
        parents = [next(reversed(commits))] if commits else []
    seed = f"{repo}|{message}|{sorted(files.items())}|{parents}".encode()
    sha = sha or hashlib.sha1(seed, usedforsecurity=False).hexdigest()
    user = state.user(author) if author else None
    commits[sha] = FakeCommit(sha, message, user, list(parents), dict(files))
    return sha


def _resolve(ctx: Ctx, ref: str) -> FakeCommit:
    """A full sha, a unique prefix of at least 7, or a 404 as GitHub gives for a ref it does not know."""
    assert ctx.repo is not None
    commits: dict[str, FakeCommit] = ctx.repo.commits
    found = [c for sha, c in commits.items() if len(ref) >= 7 and sha.startswith(ref.lower())]
    if len(found) != 1:
        raise not_found(COMPARE_DOC)
    return found[0]


def _ancestry(ctx: Ctx, sha: str) -> list[FakeCommit]:
    """`sha` and every commit it reaches, newest first (parents after children)."""
    assert ctx.repo is not None
    commits: dict[str, FakeCommit] = ctx.repo.commits
    seen: dict[str, FakeCommit] = {}
    stack = [sha]
    while stack:
        current = stack.pop(0)
        if current in seen or current not in commits:
            continue
        seen[current] = commits[current]
        stack.extend(commits[current].parents)
    order = {key: index for index, key in enumerate(commits)}  # insertion order: parents before children
    return sorted(seen.values(), key=lambda c: order[c.sha], reverse=True)


def _commit(ctx: Ctx, c: FakeCommit) -> dict[str, Any]:
    assert ctx.repo is not None
    api, web, repo = ctx.fake.shapes.api, ctx.fake.shapes.web, ctx.repo.full_name
    person = {
        "name": c.author.login if c.author else "Someone",
        "email": "dev@example.com",
        "date": iso(c.at),
    }
    return shaped(
        "commit",
        {
            "url": f"{api}/repos/{repo}/commits/{c.sha}",
            "sha": c.sha,
            "node_id": f"C_{c.sha[:20]}",
            "html_url": f"{web}/{repo}/commit/{c.sha}",
            "comments_url": f"{api}/repos/{repo}/commits/{c.sha}/comments",
            "commit": {
                "url": f"{api}/repos/{repo}/git/commits/{c.sha}",
                "author": person,
                "committer": person,
                "message": c.message,
                "comment_count": 0,
                "tree": {"sha": c.sha[::-1], "url": f"{api}/repos/{repo}/git/trees/{c.sha[::-1]}"},
            },
            # No account for the author's email: the description's `empty-object` branch. (GitHub also
            # sends null, which the description's nullable-beside-oneOf does not let a validator accept;
            # the app reads both the same way.)
            "author": ctx.fake.shapes.user(c.author) if c.author else {},
            "committer": ctx.fake.shapes.user(c.author) if c.author else {},
            "parents": [
                {"sha": p, "url": f"{api}/repos/{repo}/commits/{p}", "html_url": f"{web}/{repo}/commit/{p}"}
                for p in c.parents
            ],
        },
    )


def _files(ctx: Ctx, commits: list[FakeCommit], head: str) -> list[dict[str, Any]]:
    assert ctx.repo is not None
    changed: dict[str, str] = {}
    for c in commits:  # oldest first: the last change of a file says its status
        for path, status in c.files.items():
            changed[path] = "modified" if changed.get(path) == "added" and status == "modified" else status
    web, api, repo = ctx.fake.shapes.web, ctx.fake.shapes.api, ctx.repo.full_name
    return [
        shaped(
            "diff-entry",
            {
                "sha": hashlib.sha1(f"{head}:{path}".encode(), usedforsecurity=False).hexdigest(),
                "filename": path,
                "status": status,
                "additions": 1,
                "deletions": 1 if status != "added" else 0,
                "changes": 2 if status != "added" else 1,
                "blob_url": f"{web}/{repo}/blob/{head}/{path}",
                "raw_url": f"{web}/{repo}/raw/{head}/{path}",
                "contents_url": f"{api}/repos/{repo}/contents/{path}?ref={head}",
            },
        )
        for path, status in changed.items()
    ]


@route("get", f"{REPO}/compare/{{basehead}}")
async def compare(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    base_ref, sep, head_ref = ctx.params["basehead"].partition("...")
    if not sep:
        base_ref, sep, head_ref = ctx.params["basehead"].partition("..")
    base, head = _resolve(ctx, base_ref), _resolve(ctx, head_ref)
    behind_base = {c.sha for c in _ancestry(ctx, base.sha)}
    ahead = [c for c in _ancestry(ctx, head.sha) if c.sha not in behind_base]
    behind = [c for c in _ancestry(ctx, base.sha) if c.sha not in {x.sha for x in _ancestry(ctx, head.sha)}]
    merge_base = next((c for c in _ancestry(ctx, head.sha) if c.sha in behind_base), base)
    ahead.reverse()  # oldest first, as GitHub lists them
    paged = "per_page" in ctx.query or "page" in ctx.query
    page = (
        paginate(ctx, [_commit(ctx, c) for c in ahead])
        if paged
        else Reply(200, [_commit(ctx, c) for c in ahead][:250])
    )
    first = int(ctx.query.get("page", 1)) <= 1
    status = (
        "identical"
        if not ahead and not behind
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    web, api, repo = ctx.fake.shapes.web, ctx.fake.shapes.api, ctx.repo.full_name
    basehead = ctx.params["basehead"]
    body = {
        "url": f"{api}/repos/{repo}/compare/{basehead}",
        "html_url": f"{web}/{repo}/compare/{basehead}",
        "permalink_url": f"{web}/{repo}/compare/{base.sha}...{head.sha}",
        "diff_url": f"{web}/{repo}/compare/{basehead}.diff",
        "patch_url": f"{web}/{repo}/compare/{basehead}.patch",
        "base_commit": _commit(ctx, base),
        "merge_base_commit": _commit(ctx, merge_base),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": page.body,
    }
    if first:
        body["files"] = _files(ctx, ahead, head.sha)
    return Reply(200, shaped("commit-comparison", body), page.headers)


@route("get", f"{REPO}/commits")
async def list_commits(ctx: Ctx) -> Reply:
    assert ctx.repo is not None
    commits: dict[str, FakeCommit] = ctx.repo.commits
    start = ctx.query.get("sha") or (next(reversed(commits)) if commits else "")
    if not start:
        return Reply(409, {"message": "Git Repository is empty.", "documentation_url": COMPARE_DOC})
    history = _ancestry(ctx, _resolve(ctx, start).sha)
    path = ctx.query.get("path")
    if path:
        history = [c for c in history if path in c.files]
    return paginate(ctx, [_commit(ctx, c) for c in history])


def add_demo_history(state: GitHubState, repo: str, stable: str, canary: str) -> dict[str, str]:
    """The demo's history in `repo`: stable, then three commits, the last one the canary. Only the first
    (not the newest) touched main.go, the file of the canary's stack trace. Returns name -> sha."""
    add_commit(state, repo, "Initial commit", {"main.go": "added", "README.md": "added"}, author="alice")
    add_commit(state, repo, "Serve /color", {"main.go": "modified", "go.mod": "added"}, sha=stable)
    cache = add_commit(
        state,
        repo,
        "Pick colours from a cache refreshed in the background",
        {"main.go": "modified"},
        author="bob",
    )
    docs = add_commit(state, repo, "Document the colour cache", {"README.md": "modified"}, author="alice")
    add_commit(
        state,
        repo,
        "Build with Go 1.22",
        {"Dockerfile": "modified", "go.mod": "modified"},
        author=None,
        sha=canary,
    )
    return {"stable": stable, "cache": cache, "docs": docs, "canary": canary}
