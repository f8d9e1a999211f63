"""Small HTTP helpers shared by the intake routes: bounded bodies, JSON errors, bearer checks."""

from __future__ import annotations

import hmac
from typing import Any, Protocol

from aiohttp import web

from app.store import JSONText


class JobSink(Protocol):
    """Where intake routes put accepted work: a durable job, acknowledged before any work runs."""

    async def submit(self, kind: str, key: str, payload: dict[str, Any] | JSONText) -> tuple[int, bool]: ...


def json_error(status: int, reason: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status)


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


def bearer_matches(request: web.Request, expected: str) -> bool:
    """Constant-time check of ``Authorization: Bearer <token>``; an unset token never matches."""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())
