"""Who may see what on the fleet page: a user sees the incidents of repositories they can read.

Checked with the user's own token (``GET /repos/{owner}/{repo}``: GitHub answers 404 to a user who cannot
read it, and ``permissions.pull`` says so for one who can), cached briefly per user and repository so a
page of fifty incidents costs a few requests, and a lost permission shows within a minute. A failure to
ask (GitHub down, rate limited) hides the repository and is not cached: fail closed, try again next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import gidgethub
from cachetools import TTLCache

from app.errors import FixloopError
from app.github.app import GitHubApp
from app.github.errors import GitHubForbidden, GitHubNotFound, GitHubRefused
from app.github.repos import repository

log = logging.getLogger(__name__)

ACCESS_CACHE_SECONDS = 60.0
ACCESS_CACHE_SIZE = 10_000
CHECK_TIMEOUT = 15.0  # seconds for one repository's check, retries included


class SignedOut(Exception):
    """GitHub no longer accepts the session's token (revoked or expired): the user signs in again."""


class RepoAccess:
    def __init__(self, github: GitHubApp) -> None:
        self._github = github
        self._cache: TTLCache[tuple[int, str], bool] = TTLCache(ACCESS_CACHE_SIZE, ACCESS_CACHE_SECONDS)

    def forget(self) -> None:
        """Drop every cached answer (a permission change must show at once)."""
        self._cache.clear()

    async def readable(self, user_id: int, token: str, repos: Iterable[str]) -> set[str]:
        """The repositories of ``repos`` the user can read (names as given)."""
        wanted = sorted(set(repos))
        answers = await asyncio.gather(*(self.can_read(user_id, token, repo) for repo in wanted))
        return {repo for repo, ok in zip(wanted, answers, strict=True) if ok}

    async def can_read(self, user_id: int, token: str, repo: str) -> bool:
        key = (user_id, repo.lower())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                answer = await repository(self._github.client(token), repo)
        except GitHubRefused as exc:
            if exc.status == 401:
                raise SignedOut from exc
            if not isinstance(exc, GitHubForbidden | GitHubNotFound):
                log.warning("access check of %s failed: HTTP %s", repo, exc.status)
                return False
            allowed = False
        except (FixloopError, gidgethub.GitHubException, TimeoutError) as exc:
            log.warning("access check of %s failed: %s", repo, type(exc).__name__)
            return False
        else:
            permissions = answer.get("permissions")
            allowed = bool(permissions.get("pull", True)) if isinstance(permissions, dict) else True
        self._cache[key] = allowed
        return allowed
