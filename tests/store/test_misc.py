"""Mutes, user tokens, OAuth states, key/value, schema and connection errors, on both engines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.errors import ConfigError, TransientError
from app.store import Store, open_store
from app.store.schema import LATEST
from tests.store.fixtures import FakeClock


async def test_mute_by_key_or_prefix(store: Store) -> None:
    assert not await store.is_muted("prod/web/sha256:abc")
    await store.mute("prod/web/", by="octocat")
    await store.mute("staging/api/sha256:1", by="octocat")
    assert await store.is_muted("prod/web/sha256:abc")
    assert await store.is_muted("staging/api/sha256:1")
    assert not await store.is_muted("staging/api/sha256:2")
    assert not await store.is_muted("prod/")  # a prefix of a mute is not muted
    assert await store.unmute("prod/web/")
    assert not await store.is_muted("prod/web/sha256:abc")


async def test_user_tokens_round_trip(store: Store) -> None:
    secret = bytes(range(256))
    await store.save_user_token(7, "Octocat", secret, 1000.0, None)
    token = await store.get_user_token(7)
    assert token is not None and token.ciphertext == secret and token.expires_at == 1000.0
    assert token.refresh_expires_at is None and "ciphertext" not in repr(token)
    await store.save_user_token(7, "octocat", b"new", 2000.0, 3000.0)  # refresh replaces
    by_login = await store.get_user_token_by_login("OCTOCAT")
    assert by_login is not None and by_login.ciphertext == b"new" and by_login.refresh_expires_at == 3000.0
    assert await store.delete_user_token(7)
    assert await store.get_user_token(7) is None and await store.get_user_token_by_login("octocat") is None
    assert not await store.delete_user_token(7)


async def test_oauth_state_is_single_use_and_expires(store: Store, clock: FakeClock) -> None:
    await store.save_oauth_state("s1", {"return_to": "/x"}, ttl=600)
    await store.save_oauth_state("s2", {}, ttl=600)
    assert await store.pop_oauth_state("s1") == {"return_to": "/x"}
    assert await store.pop_oauth_state("s1") is None
    assert await store.pop_oauth_state("unknown") is None
    clock.advance(601)
    assert await store.pop_oauth_state("s2") is None


async def test_concurrent_pops_of_one_state_succeed_once(store: Store, other_store: Store) -> None:
    await store.save_oauth_state("s", {"u": 1}, ttl=600)
    results = await asyncio.gather(*(s.pop_oauth_state("s") for _ in range(5) for s in (store, other_store)))
    assert [r for r in results if r is not None] == [{"u": 1}]


async def test_kv_with_ttl(store: Store, clock: FakeClock) -> None:
    assert await store.kv_get("gate", "acme/web") is None
    await store.kv_set("gate", "acme/web", {"ok": True}, ttl=300)
    await store.kv_set("forever", "k", {"v": 1}, ttl=None)
    assert await store.kv_get("gate", "acme/web") == {"ok": True}
    assert await store.kv_get("other", "acme/web") is None
    await store.kv_set("gate", "acme/web", {"ok": False}, ttl=300)
    assert await store.kv_get("gate", "acme/web") == {"ok": False}
    clock.advance(301)
    assert await store.kv_get("gate", "acme/web") is None
    assert await store.kv_get("forever", "k") == {"v": 1}
    assert await store.purge_expired() == 1
    assert await store.kv_delete("forever", "k") and not await store.kv_delete("forever", "k")


async def test_concurrent_opens_migrate_once(store_url: str) -> None:
    stores = await asyncio.gather(*(open_store(store_url) for _ in range(4)))
    try:
        assert [await s.schema_version() for s in stores] == [LATEST] * 4
        await stores[0].enqueue("k", "x", {})
        assert (await stores[3].queue_depth())["queued"] == 1
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    reopened = await open_store(store_url)  # and again, on an up-to-date schema
    try:
        assert await reopened.schema_version() == LATEST
        assert (await reopened.queue_depth())["queued"] == 1
    finally:
        await reopened.close()


async def test_ping_and_closed_store(store_url: str) -> None:
    opened = await open_store(store_url)
    await opened.ping()
    await opened.close()
    with pytest.raises(TransientError):
        await opened.ping()


async def test_in_memory_sqlite() -> None:
    opened = await open_store("sqlite:///:memory:")
    try:
        assert opened.engine == "sqlite"
        assert (await opened.enqueue("k", "x", {}))[1]
    finally:
        await opened.close()


async def test_unreachable_databases_raise_transient_errors(tmp_path: Path) -> None:
    with pytest.raises(TransientError):
        await open_store("postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(TransientError):
        await open_store(f"sqlite:///{tmp_path}/missing/dir/fixloop.db")
    with pytest.raises(ConfigError):
        await open_store("mysql://localhost/db")
