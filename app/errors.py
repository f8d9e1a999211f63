"""One error vocabulary for the whole app (after kopf's TemporaryError / PermanentError).

Adapters translate the exceptions of the libraries they wrap (gidgethub, kubernetes-asyncio, openai,
asyncpg) into these, with ``raise ... from exc``; the job runner retries only what is transient.
"""

from __future__ import annotations


class FixloopError(Exception):
    """Base of every error the app raises on purpose."""


class TransientError(FixloopError):
    """Worth retrying later: a timeout, a 5xx, a rate limit, a lost connection.

    ``retry_after`` is the delay the remote side asked for (``Retry-After``, rate-limit reset), in seconds.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(FixloopError):
    """Retrying will not help: bad input, a 4xx that is not a rate limit, a missing mapping.

    Recorded with its reason and, where a human can act, reported on the issue.
    """


class ConfigError(FixloopError):
    """The process configuration (environment) is invalid; the message names the variable."""
