"""Per-incident MCP tokens: ``fxmcp_<incident>_<secret>``, stored only as SHA-256 hashes, with a TTL.

A token is good while its incident is open (not verified, superseded or ignored) and its stored hash
has not expired. Verification reads the incident's hashes by the id in the token and compares each with
``hmac.compare_digest``, so the answer takes the same time however much of a guess was right. Minting
again (an issue re-rendered, a retried job) adds a hash rather than replacing it: an issue already
created with an earlier token keeps working.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from app.loop.incident.stages import TERMINAL
from app.store import Store

KV_NAMESPACE = "mcp-tokens"
PREFIX = "fxmcp"
MAX_HASHES = 8
_TOKEN_RE = re.compile(rf"^{PREFIX}_([1-9][0-9]{{0,17}})_([A-Za-z0-9_-]{{43}})$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def mint_token(store: Store, incident_id: int, ttl_seconds: float) -> str:
    """A new token for the incident; its hash joins the incident's (bounded) list, the TTL restarts."""
    secret = secrets.token_urlsafe(32)
    entry = await store.kv_get(KV_NAMESPACE, str(incident_id))
    hashes = list(entry.get("hashes", [])) if isinstance(entry, dict) else []
    hashes = [*hashes, _digest(secret)][-MAX_HASHES:]
    await store.kv_set(KV_NAMESPACE, str(incident_id), {"hashes": hashes}, ttl_seconds)
    return f"{PREFIX}_{incident_id}_{secret}"


async def verify_token(store: Store, token: str) -> int | None:
    """The incident the token opens, or None: malformed, unknown, expired, or the incident has ended."""
    match = _TOKEN_RE.match(token.strip())
    if match is None:
        return None
    incident_id, secret = int(match.group(1)), match.group(2)
    entry = await store.kv_get(KV_NAMESPACE, str(incident_id))  # None once the TTL has passed
    hashes = entry.get("hashes", []) if isinstance(entry, dict) else []
    digest = _digest(secret)
    found = False
    for stored in hashes:  # every hash compared: no early exit to time
        found |= hmac.compare_digest(str(stored), digest)
    if not found:
        return None
    incident = await store.get_incident(incident_id)
    if incident is None or incident.stage in TERMINAL:
        return None
    return incident_id
