"""Fixloop's ways with the incident's issue: the config file, labels made once, and finding its own issue
and comments again (the REST calls themselves are ``app.github.issues`` and ``app.github.repos``).

Every lookup of "our" issue or comment checks the hidden marker AND the author, since anyone who can
comment can paste a marker.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime

from cachetools import TTLCache

from app.github import issues, repos
from app.github.errors import GitHubNotFound, GitHubRefused
from app.github.http import GitHubClient
from app.loop.incident.repo_config import ConfigResult, parse_repo_config
from app.loop.render.markers import find_incident_id, is_own_comment

log = logging.getLogger(__name__)

# GitHub's clock against ours: what GitHub stamps up to this long before a time we stored still counts.
GITHUB_CLOCK_SKEW = 120.0

CONFIG_PATH = ".github/fixloop.yml"
LABEL_COLOURS = {
    "fixloop": "5319e7",
    "rollout-failure": "d93f0b",
    "needs-human": "fbca04",
    "infra": "0e8a16",
}
LABEL_DESCRIPTIONS = {
    "fixloop": "Opened and followed by Fixloop",
    "rollout-failure": "A canary of this repository failed",
    "needs-human": "Fixloop stopped: a human must decide",
    "infra": "The platform's problem (image, scheduling, quota, node, metrics), not the code's",
}
_known_labels: TTLCache[str, bool] = TTLCache(maxsize=4096, ttl=3600)


async def read_repo_config(gh: GitHubClient, repo: str) -> ConfigResult:
    """``.github/fixloop.yml`` from the default branch (conditional GET through the ETag cache)."""
    answer = await repos.content(gh, repo, CONFIG_PATH)
    if answer is None or answer.get("type") != "file":
        return parse_repo_config(None)
    try:
        text = base64.b64decode(answer.get("content", "")).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        text = "\x00"  # not text: reported as a YAML problem, defaults used
    return parse_repo_config(text)


async def repo_is_private(gh: GitHubClient, repo: str) -> bool:
    """Whether the repository is private; anything but a clear ``private: true`` counts as public."""
    try:
        answer = await repos.repository(gh, repo)
    except GitHubRefused:
        return False
    return answer.get("private") is True


async def ensure_labels(gh: GitHubClient, repo: str, labels: tuple[str, ...] | list[str]) -> None:
    """Create missing labels with a colour and a description (adding one to an issue would not).

    One POST per label, once per repository and hour: GitHub's 422 ``already_exists`` for a label the
    repository has is as good as a creation, so a GET first would only add a call on a new repository.
    """
    for name in labels:
        key = f"{repo.lower()}:{name}"
        if key in _known_labels:
            continue
        await _create_label(gh, repo, name)
        _known_labels[key] = True


async def _create_label(gh: GitHubClient, repo: str, name: str) -> None:
    # Already there (False) is as good: another worker, or a person, was first.
    await issues.create_label(
        gh,
        repo,
        name,
        color=LABEL_COLOURS.get(name, "c5def5"),
        description=LABEL_DESCRIPTIONS.get(name, "Fixloop"),
    )


async def find_issue_by_marker(
    gh: GitHubClient, repo: str, incident_id: int, app_slug: str, *, since: float
) -> int | None:
    """Our issue for the incident, by its hidden marker, among the issues updated since ``since`` (when the
    request to open it was stored). The repository's issue list is current at once; search is indexed
    later and would miss an issue GitHub made a moment ago behind a lost answer."""
    stamp = datetime.fromtimestamp(since - GITHUB_CLOCK_SKEW, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    async for item in issues.issues_since(gh, repo, since=stamp):
        author = (item.get("user") or {}).get("login", "")
        mine = author == f"{app_slug}[bot]" and "pull_request" not in item
        if mine and find_incident_id(item.get("body")) == incident_id:
            return int(item["number"])
    return None


async def upsert_marked_comment(
    gh: GitHubClient,
    repo: str,
    number: int,
    body: str,
    *,
    marker: str,
    app_slug: str,
    known_id: int | None,
    look_up: bool = True,
) -> int:
    """Edit our comment carrying ``marker`` in place (known id, else found by marker + author), or post it.

    ``look_up=False`` when no earlier try can have posted it (the caller knows): listing the issue's
    comments would be a wasted GitHub call.
    """
    found = await find_own_comment(gh, repo, number, marker, app_slug) if look_up and not known_id else None
    comment_id = known_id or found
    if comment_id is not None:
        try:
            await issues.edit_comment(gh, repo, comment_id, body)
            return comment_id
        except GitHubNotFound:
            log.info("status comment %s was deleted; posting a new one", comment_id)
    return await issues.post_comment(gh, repo, number, body)


async def find_own_comment(
    gh: GitHubClient, repo: str, number: int, marker: str, app_slug: str, *, containing: str = ""
) -> int | None:
    """The id of the app's own comment carrying ``marker`` (and ``containing``, when given)."""
    async for item in issues.comments(gh, repo, number):
        body = item.get("body")
        if is_own_comment(body, marker, author_login=item["user"]["login"], app_slug=app_slug) and (
            containing in (body or "")
        ):
            return int(item["id"])
    return None
