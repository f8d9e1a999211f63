"""Small HTTP helpers shared by the intake routes: bounded bodies, JSON errors, bearer checks."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from app.store import JSONText


class JobSink(Protocol):
    """Where intake routes put accepted work: a durable job, acknowledged before any work runs."""

    async def submit(self, kind: str, key: str, payload: dict[str, Any] | JSONText) -> tuple[int, bool]: ...


def json_error(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status)


def not_stored(exc: Exception) -> str:
    """The 503's reason when the store could not take a delivery (down, busy, full): it was not
    acknowledged, so the sender's own retry, or a redelivery, is what brings it in."""
    return f"the delivery could not be stored ({exc}); it is not acknowledged: send it again later"


async def read_limited(request: web.Request, limit: int) -> bytes:
    """Read the body, refusing (413) anything over ``limit`` bytes, declared or streamed."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)


def bearer_matches(request: web.Request, expected: str | Sequence[str]) -> bool:
    """Constant-time check of ``Authorization: Bearer <token>`` against one token or several (a rotation's
    current and previous); an unset token never matches."""
    candidates = [expected] if isinstance(expected, str) else expected
    return matching_candidate(bearer_token(request), candidates) >= 0


def bearer_token(request: web.Request) -> str:
    """The presented bearer token, or "" when there is none."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return presented.strip() if scheme.lower() == "bearer" else ""


def matching_candidate(presented: str, candidates: Sequence[str]) -> int:
    """Index of the candidate equal to ``presented``, or -1. Every candidate is compared, in constant
    time and without an early exit, so the timing does not tell which one (or whether any) matched."""
    found = -1
    given = presented.encode()
    for index, candidate in enumerate(candidates):
        equal = hmac.compare_digest(given, candidate.encode())
        if equal and bool(candidate) and bool(presented) and found < 0:
            found = index
    return found
