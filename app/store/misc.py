"""Small durable state: muted fingerprints, user tokens, OAuth states, and a key/value cache with TTL."""

from __future__ import annotations

from app.store.base import StoreBase
from app.store.records import JSON, UserToken, dump_json, load_json


class MiscQueries(StoreBase):
    # ------------------------------------------------------------------ mutes (``/fixloop ignore``)

    async def mute(self, fingerprint_prefix_or_key: str, by: str) -> None:
        """Mute a fingerprint, or every fingerprint that starts with the given prefix."""
        await self._db.execute(
            "INSERT INTO muted (key, muted_by, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (key) DO UPDATE SET muted_by = excluded.muted_by",
            fingerprint_prefix_or_key,
            by,
            self.now(),
        )

    async def unmute(self, fingerprint_prefix_or_key: str) -> bool:
        return await self._db.execute("DELETE FROM muted WHERE key = $1", fingerprint_prefix_or_key) > 0

    async def is_muted(self, key: str) -> bool:
        """True if ``key`` was muted, or starts with a muted prefix."""
        row = await self._db.fetchrow(
            "SELECT 1 AS hit FROM muted WHERE key = $1 OR key = substr($1, 1, length(key)) LIMIT 1", key
        )
        return row is not None

    # ------------------------------------------------------------------ user tokens (opaque ciphertext)

    async def save_user_token(
        self,
        user_id: int,
        login: str,
        ciphertext: bytes,
        expires_at: float | None,
        refresh_expires_at: float | None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO user_tokens (user_id, login, ciphertext, expires_at, refresh_expires_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (user_id) DO UPDATE SET login = excluded.login,"
            " ciphertext = excluded.ciphertext, expires_at = excluded.expires_at,"
            " refresh_expires_at = excluded.refresh_expires_at, updated_at = excluded.updated_at",
            user_id,
            login,
            ciphertext,
            expires_at,
            refresh_expires_at,
            self.now(),
        )

    async def get_user_token(self, user_id: int) -> UserToken | None:
        row = await self._db.fetchrow("SELECT * FROM user_tokens WHERE user_id = $1", user_id)
        return UserToken.from_row(row) if row else None

    async def get_user_token_by_login(self, login: str) -> UserToken | None:
        """Logins compare case-insensitively, as on GitHub; the most recently saved wins."""
        row = await self._db.fetchrow(
            "SELECT * FROM user_tokens WHERE lower(login) = lower($1) ORDER BY updated_at DESC LIMIT 1",
            login,
        )
        return UserToken.from_row(row) if row else None

    async def delete_user_token(self, user_id: int) -> bool:
        return await self._db.execute("DELETE FROM user_tokens WHERE user_id = $1", user_id) > 0

    # ------------------------------------------------------------------ OAuth states (single use)

    async def save_oauth_state(self, state: str, data: JSON, ttl: float) -> None:
        now = self.now()
        await self._db.execute("DELETE FROM oauth_states WHERE expires_at <= $1", now)
        await self._db.execute(
            "INSERT INTO oauth_states (state, data, expires_at) VALUES ($1, $2, $3)",
            state,
            dump_json(data),
            now + ttl,
        )

    async def pop_oauth_state(self, state: str) -> JSON | None:
        """Consume the state: its data the first time, None after, or when it has expired."""
        row = await self._db.fetchrow(
            "DELETE FROM oauth_states WHERE state = $1 RETURNING data, expires_at", state
        )
        if row is None or float(row["expires_at"]) <= self.now():
            return None
        return load_json(row["data"])

    # ------------------------------------------------------------------ key/value with TTL

    async def kv_get(self, ns: str, key: str) -> JSON | None:
        row = await self._db.fetchrow(
            "SELECT value FROM kv WHERE ns = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)",
            ns,
            key,
            self.now(),
        )
        return load_json(row["value"]) if row else None

    async def kv_set(self, ns: str, key: str, value: JSON, ttl: float | None) -> None:
        """Store ``value`` under (ns, key); ``ttl`` None = no expiry."""
        await self._db.execute(
            "INSERT INTO kv (ns, key, value, expires_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            ns,
            key,
            dump_json(value),
            None if ttl is None else self.now() + ttl,
        )

    async def kv_items(self, ns: str) -> list[tuple[str, JSON]]:
        """Every live (key, value) of a namespace, in key order: for small namespaces a sweep walks."""
        rows = await self._db.fetch(
            "SELECT key, value FROM kv WHERE ns = $1 AND (expires_at IS NULL OR expires_at > $2)"
            " ORDER BY key",
            ns,
            self.now(),
        )
        return [(str(row["key"]), load_json(row["value"])) for row in rows]

    async def kv_delete(self, ns: str, key: str) -> bool:
        return await self._db.execute("DELETE FROM kv WHERE ns = $1 AND key = $2", ns, key) > 0

    async def purge_expired(self) -> int:
        """Drop expired OAuth states and key/value entries; return how many rows went."""
        now = self.now()
        gone = await self._db.execute("DELETE FROM oauth_states WHERE expires_at <= $1", now)
        return gone + await self._db.execute("DELETE FROM kv WHERE expires_at <= $1", now)
