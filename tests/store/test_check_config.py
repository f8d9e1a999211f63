"""``python -m app check-config`` and the database: reached, its schema version read, never migrated, and a
warning when its commits would not survive a crash of the server. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from app.cli import check_config
from app.settings import Settings
from app.store import open_store
from app.store.schema import LATEST


async def test_check_config_warns_about_a_database_without_durable_commits(
    store_url: str, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{store_url}&synchronous_commit=off" if engine == "postgresql" else store_url
    env = {"GITHUB_WEBHOOK_SECRET": "s", "FIXLOOP_NOTIFY_TOKEN": "t", "DATABASE_URL": url}
    await check_config(Settings.from_env(env))
    out = capsys.readouterr().out
    assert f"ok   DATABASE_URL: {engine} reachable" in out
    assert ("warn DATABASE_URL: synchronous_commit = off" in out) == (engine == "postgresql")


async def test_check_config_looks_at_the_database_without_migrating_it(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migrations go forward only: checking the configuration of the next version against the production
    database must not upgrade it behind the operator's back."""
    env = {"GITHUB_WEBHOOK_SECRET": "s", "FIXLOOP_NOTIFY_TOKEN": "t", "DATABASE_URL": store_url}
    await check_config(Settings.from_env(env))
    assert f"schema v0; `serve` migrates it to v{LATEST} (back it up first)" in capsys.readouterr().out
    untouched = await open_store(store_url, migrate_schema=False)
    try:
        assert await untouched.schema_version() == 0
    finally:
        await untouched.close()
    migrated = await open_store(store_url)
    try:
        assert await migrated.schema_version() == LATEST
        await migrated._db.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", LATEST + 1, 0.0
        )
    finally:
        await migrated.close()
    assert await check_config(Settings.from_env(env)) == 1
    assert f"schema v{LATEST + 1} is newer than this Fixloop's v{LATEST}" in capsys.readouterr().out
