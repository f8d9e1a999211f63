"""Render the fake's state as GitHub's JSON, completed to the OpenAPI subset's schemas."""

from __future__ import annotations

import base64
import time
from typing import Any

from tests.fakes.github_activity import ActivityShapes, iso, node_id
from tests.fakes.github_state import GitHubState, Installation, Issue, Label, Repo, User
from tests.fakes.openapi_check import shaped

__all__ = ["Shapes", "iso", "node_id"]
APP_PERMISSIONS = {
    "issues": "write",
    "pull_requests": "read",
    "contents": "read",
    "deployments": "write",
    "checks": "read",
    "metadata": "read",
}
APP_EVENTS = ["issues", "issue_comment", "pull_request", "check_suite", "workflow_run", "deployment_status"]


class Shapes(ActivityShapes):
    def __init__(self, state: GitHubState, api: str, web: str) -> None:
        self.state, self.api, self.web = state, api, web

    # --- people and apps ------------------------------------------------------------------------

    def user(self, u: User) -> dict[str, Any]:
        url = f"{self.api}/users/{u.login}"
        return shaped(
            "simple-user",
            {
                "login": u.login,
                "id": u.id,
                "node_id": node_id("U" if u.type == "User" else "BOT", u.id),
                "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
                "gravatar_id": "",
                "url": url,
                "html_url": f"{self.web}/{u.login}",
                "followers_url": f"{url}/followers",
                "following_url": f"{url}/following{{/other_user}}",
                "gists_url": f"{url}/gists{{/gist_id}}",
                "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
                "subscriptions_url": f"{url}/subscriptions",
                "organizations_url": f"{url}/orgs",
                "repos_url": f"{url}/repos",
                "events_url": f"{url}/events{{/privacy}}",
                "received_events_url": f"{url}/received_events",
                "type": u.type,
                "user_view_type": "public",
                "site_admin": False,
            },
        )

    def private_user(self, u: User) -> dict[str, Any]:
        values = {**self.user(u), "user_view_type": "private", "name": u.name, "email": u.email}
        return shaped("private-user", values)

    def app(self) -> dict[str, Any]:
        s = self.state
        owner = self.user(s.app_owner)
        return shaped(
            "integration",
            {
                "id": s.app_id,
                "slug": s.app_slug,
                "node_id": node_id("A", s.app_id),
                "client_id": s.client_id,
                "owner": owner,
                "name": s.app_slug,
                "description": "Fixloop test App",
                "external_url": "https://fixloop.example",
                "html_url": f"{self.web}/apps/{s.app_slug}",
                "created_at": iso(0),
                "updated_at": iso(0),
                "permissions": APP_PERMISSIONS,
                "events": APP_EVENTS,
                "installations_count": len(s.installations),
            },
        )

    def installation(self, inst: Installation) -> dict[str, Any]:
        return shaped(
            "installation",
            {
                "id": inst.id,
                "account": self.user(inst.account),
                "app_id": self.state.app_id,
                "app_slug": self.state.app_slug,
                "client_id": self.state.client_id,
                "target_id": inst.account.id,
                "target_type": inst.account.type,
                "repository_selection": "selected",
                "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
                "repositories_url": f"{self.api}/installation/repositories",
                "html_url": f"{self.web}/organizations/{inst.account.login}/settings/installations/{inst.id}",
                "events": APP_EVENTS,
                "permissions": APP_PERMISSIONS,
                "created_at": iso(0),
                "updated_at": iso(0),
                "single_file_name": None,
                "suspended_by": None,
                "suspended_at": iso(time.time()) if inst.suspended else None,
            },
        )

    # --- repositories ---------------------------------------------------------------------------

    def repo(self, r: Repo, component: str = "full-repository") -> dict[str, Any]:
        url = f"{self.api}/repos/{r.full_name}"
        values: dict[str, Any] = {
            "id": r.id,
            "node_id": node_id("R", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "owner": self.user(r.owner),
            "private": r.private,
            "visibility": "private" if r.private else "public",
            "html_url": f"{self.web}/{r.full_name}",
            "url": url,
            "default_branch": r.default_branch,
            "clone_url": f"{self.web}/{r.full_name}.git",
            "git_url": f"git://github.com/{r.full_name}.git",
            "ssh_url": f"git@github.com:{r.full_name}.git",
            "svn_url": f"{self.web}/{r.full_name}",
            "issues_url": f"{url}/issues{{/number}}",
            "pulls_url": f"{url}/pulls{{/number}}",
            "labels_url": f"{url}/labels{{/name}}",
            "contents_url": f"{url}/contents/{{+path}}",
            "deployments_url": f"{url}/deployments",
            "has_issues": True,
            "open_issues_count": sum(1 for i in r.issues.values() if i.state == "open"),
            "pushed_at": iso(r.created_at),
            "created_at": iso(r.created_at),
            "updated_at": iso(r.created_at),
        }
        values["open_issues"] = values["open_issues_count"]
        return shaped(component, values)

    def content_file(self, r: Repo, path: str, data: bytes, ref: str) -> dict[str, Any]:
        from tests.fakes.github_state import git_sha  # noqa: PLC0415 - keeps the import list short

        sha = git_sha(data)
        encoded = base64.encodebytes(data).decode()  # GitHub wraps base64 at 60/76 columns too
        url = f"{self.api}/repos/{r.full_name}/contents/{path}?ref={ref}"
        html = f"{self.web}/{r.full_name}/blob/{ref}/{path}"
        git = f"{self.api}/repos/{r.full_name}/git/blobs/{sha}"
        return shaped(
            "content-file",
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": encoded,
                "sha": sha,
                "url": url,
                "git_url": git,
                "html_url": html,
                "download_url": f"https://raw.githubusercontent.com/{r.full_name}/{ref}/{path}",
                "_links": {"self": url, "git": git, "html": html},
            },
        )

    # --- issues and pull requests ---------------------------------------------------------------

    def label(self, repo: str, label: Label) -> dict[str, Any]:
        return shaped(
            "label",
            {
                "id": label.id,
                "node_id": node_id("LA", label.id),
                "url": f"{self.api}/repos/{repo}/labels/{label.name}",
                "name": label.name,
                "description": label.description,
                "color": label.color,
                "default": False,
            },
        )

    def _issue_values(self, i: Issue) -> dict[str, Any]:
        repo = self.state.repos[i.repo]
        url = f"{self.api}/repos/{i.repo}/issues/{i.number}"
        kind = "pull" if i.pull else "issues"
        users = self.state.users
        values: dict[str, Any] = {
            "id": i.id,
            "node_id": node_id("PR" if i.pull else "I", i.id),
            "url": url,
            "repository_url": f"{self.api}/repos/{i.repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web}/{i.repo}/{kind}/{i.number}",
            "number": i.number,
            "state": i.state,
            "state_reason": i.state_reason,
            "title": i.title,
            "body": i.body,
            "user": self.user(i.user),
            "labels": [self.label(i.repo, repo.labels[name.lower()]) for name in i.labels],
            "assignee": self.user(users[i.assignees[0]]) if i.assignees else None,
            "assignees": [self.user(users[login]) for login in i.assignees],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(i.comments),
            "closed_at": iso(i.closed_at),
            "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at),
            "author_association": self.association(i.repo, i.user),
            "reactions": self.rollup(url, i.reactions),
        }
        if i.pull:
            pulls = f"{self.api}/repos/{i.repo}/pulls/{i.number}"
            values["pull_request"] = {
                "url": pulls,
                "html_url": values["html_url"],
                "diff_url": f"{values['html_url']}.diff",
                "patch_url": f"{values['html_url']}.patch",
                "merged_at": iso(i.pull.merged_at),
            }
        return values

    def issue(self, i: Issue, component: str = "issue") -> dict[str, Any]:
        values = self._issue_values(i)
        if component == "issue-search-result-item":
            values["score"] = 1.0
        return shaped(component, values)

    def pull(self, i: Issue, component: str = "pull-request") -> dict[str, Any]:
        assert i.pull is not None
        repo = self.state.repos[i.repo]
        issue = self._issue_values(i)
        url = f"{self.api}/repos/{i.repo}/pulls/{i.number}"
        full_repo = self.repo(repo, "repository")

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {
                "label": f"{repo.owner.login}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": full_repo["owner"],
                "repo": full_repo,
            }

        values = {
            key: issue[key]
            for key in ("id", "number", "state", "title", "body", "user", "labels", "assignee", "assignees")
        }
        values |= {
            "node_id": node_id("PR", i.id),
            "url": url,
            "html_url": issue["html_url"],
            "diff_url": f"{issue['html_url']}.diff",
            "patch_url": f"{issue['html_url']}.patch",
            "issue_url": issue["url"],
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.api}/repos/{i.repo}/pulls/comments{{/number}}",
            "comments_url": issue["comments_url"],
            "statuses_url": f"{self.api}/repos/{i.repo}/statuses/{i.pull.head_sha}",
            "head": side(i.pull.head_ref, i.pull.head_sha),
            "base": side(i.pull.base_ref, "0" * 40),
            "draft": i.pull.draft,
            "merged": i.pull.merged,
            "merged_at": iso(i.pull.merged_at),
            "merge_commit_sha": i.pull.merge_commit_sha,
            "merged_by": None,
            "closed_at": issue["closed_at"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "milestone": None,
            "locked": False,
            "author_association": issue["author_association"],
            "auto_merge": None,
            "mergeable": None if i.pull.merged else True,
            "mergeable_state": "unknown" if i.pull.merged else "clean",
            "comments": len(i.comments),
            "_links": {
                k: {"href": issue["html_url"]}
                for k in (
                    "self",
                    "html",
                    "issue",
                    "comments",
                    "review_comments",
                    "review_comment",
                    "commits",
                    "statuses",
                )
            },
        }
        if component == "pull-request-simple":
            values = {
                k: v
                for k, v in values.items()
                if k not in ("merged", "mergeable", "mergeable_state", "merged_by", "comments")
            }
        return shaped(component, values)
