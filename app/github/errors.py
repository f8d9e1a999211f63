"""GitHub's error answers in the app's vocabulary (as ``app/rollouts/kube_errors.py`` does for Kubernetes).

gidgethub raises ``BadRequest`` (or one of its 422 and rate-limit subclasses) for every 4xx. The typed calls
in ``app/github`` raise these instead, so a caller names what it expects (a deleted comment, a refused
hand-off) by kind rather than by status code, and the job runner retries only what is transient.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

import gidgethub

from app.errors import PermanentError, TransientError

SECONDARY_LIMIT = b"secondary rate limit"


class GitHubRefused(PermanentError):
    """A 4xx that is not a rate limit: the same request would be refused again (``str()``: the message)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class GitHubNotFound(GitHubRefused):
    """404/410: it does not exist, or this credential may not see it (GitHub hides private things so)."""


class GitHubForbidden(GitHubRefused):
    """401/403: the credential is refused, or lacks a permission (the App's or the user's)."""


class GitHubInvalid(GitHubRefused):
    """400/422: the request itself is wrong. ``codes``: GitHub's per-field codes (``already_exists``, ...)."""

    def __init__(self, message: str, *, status: int, codes: tuple[str, ...] = ()) -> None:
        super().__init__(message, status=status)
        self.codes = codes


class GitHubRateLimited(TransientError):
    """A primary or secondary rate limit; ``retry_after`` is what GitHub asked for."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status


def rate_limit_delay(status: int, headers: Mapping[str, str], now: float, body: bytes = b"") -> float | None:
    """How long GitHub asks us to wait, or None when the response is not a rate limit.

    A secondary limit may come as a bare 403 whose only sign is its message ("You have exceeded a
    secondary rate limit"): GitHub's advice is then to wait at least a minute, as for a bare 429.
    """
    retry_after = headers.get("retry-after")
    if status in (403, 429) and retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return 60.0
    if status in (403, 429) and headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset")
        try:
            return max(0.0, float(reset or 0) - now) + 1.0
        except ValueError:
            return 60.0
    if status == 429 or (status == 403 and SECONDARY_LIMIT in body[:2000].lower()):
        return 60.0  # GitHub's advice for secondary limits with no header: wait at least a minute
    return None


def github_error(exc: gidgethub.BadRequest) -> GitHubRefused | GitHubRateLimited:
    """The app's error for one of gidgethub's 4xx exceptions (raise it ``from exc``)."""
    status, message = exc.status_code.value, str(exc)
    headers = {key.lower(): value for key, value in (exc.headers or {}).items()}
    delay = rate_limit_delay(status, headers, time.time(), message.encode())
    if isinstance(exc, gidgethub.RateLimitExceeded) or delay is not None:
        return GitHubRateLimited(message, retry_after=60.0 if delay is None else delay, status=status)
    if status in (404, 410):
        return GitHubNotFound(message, status=status)
    if status in (401, 403):
        return GitHubForbidden(message, status=status)
    if status in (400, 422):
        return GitHubInvalid(message, status=status, codes=_field_codes(getattr(exc, "errors", None)))
    return GitHubRefused(message, status=status)


def _field_codes(errors: Any) -> tuple[str, ...]:
    if not isinstance(errors, list):
        return ()
    return tuple(str(e.get("code")) for e in errors if isinstance(e, Mapping) and e.get("code"))


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Raise the app's error for any gidgethub 4xx raised inside."""
    try:
        yield
    except gidgethub.BadRequest as exc:
        raise github_error(exc) from exc
