"""Schema migrations: an ordered list of SQL steps, applied once each, recorded in ``schema_version``.

Steps are written once for both engines; ``{pk}``, ``{float}``, ``{blob}`` and ``{id}`` (a column holding
another table's ``{pk}``; SQLite's ``INTEGER PRIMARY KEY`` is the row id itself) expand to each engine's type.
JSON lives in TEXT columns on both engines (the store encodes and decodes it), times are epoch seconds
(UTC) in double precision columns. Never edit a released step: append a new one.

Concurrency: on PostgreSQL, ``migrate`` holds a transaction-scoped advisory lock (keyed on the current
schema) while it reads the version and applies steps, so two processes starting at once apply each step
exactly once; on SQLite, ``BEGIN IMMEDIATE`` takes the database write lock for the same effect.
"""

from __future__ import annotations

import logging
import time

from app.store.driver import Conn, Driver

log = logging.getLogger(__name__)

_TYPES = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "float": "REAL", "blob": "BLOB", "id": "INTEGER"},
    "postgresql": {
        "pk": "BIGSERIAL PRIMARY KEY",
        "float": "DOUBLE PRECISION",
        "blob": "BYTEA",
        "id": "BIGINT",
    },
}

MIGRATIONS: list[list[str]] = [
    # 1: jobs, steps, incidents and their history, mutes, user tokens, OAuth states, key/value cache.
    [
        """CREATE TABLE jobs (
            id {pk},
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            run_after {float} NOT NULL,
            lease_until {float},
            worker_id TEXT,
            last_error TEXT,
            created_at {float} NOT NULL,
            updated_at {float} NOT NULL,
            finished_at {float},
            UNIQUE (kind, key)
        )""",
        "CREATE INDEX jobs_queued ON jobs (run_after, id) WHERE status = 'queued'",
        "CREATE INDEX jobs_running ON jobs (lease_until) WHERE status = 'running'",
        "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL",
        """CREATE TABLE job_steps (
            job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            step TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at {float} NOT NULL,
            PRIMARY KEY (job_id, step)
        )""",
        """CREATE TABLE incidents (
            id {pk},
            fingerprint TEXT NOT NULL UNIQUE,
            namespace TEXT NOT NULL,
            rollout TEXT NOT NULL,
            repo TEXT NOT NULL,
            installation_id BIGINT,
            stage TEXT NOT NULL,
            attempt INTEGER NOT NULL DEFAULT 1,
            issue_number INTEGER,
            data TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            created_at {float} NOT NULL,
            updated_at {float} NOT NULL
        )""",
        "CREATE INDEX incidents_issue ON incidents (lower(repo), issue_number)",
        "CREATE INDEX incidents_rollout ON incidents (namespace, rollout)",
        "CREATE INDEX incidents_stage ON incidents (stage)",
        """CREATE TABLE incident_transitions (
            id {pk},
            incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            from_stage TEXT,
            to_stage TEXT NOT NULL,
            cause TEXT NOT NULL,
            at {float} NOT NULL
        )""",
        "CREATE INDEX incident_transitions_incident ON incident_transitions (incident_id, id)",
        """CREATE TABLE incident_audit (
            id {pk},
            incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            at {float} NOT NULL
        )""",
        "CREATE INDEX incident_audit_incident ON incident_audit (incident_id, id)",
        """CREATE TABLE muted (
            key TEXT PRIMARY KEY,
            muted_by TEXT NOT NULL,
            created_at {float} NOT NULL
        )""",
        """CREATE TABLE user_tokens (
            user_id BIGINT PRIMARY KEY,
            login TEXT NOT NULL,
            ciphertext {blob} NOT NULL,
            expires_at {float},
            refresh_expires_at {float},
            updated_at {float} NOT NULL
        )""",
        "CREATE INDEX user_tokens_login ON user_tokens (lower(login))",
        """CREATE TABLE oauth_states (
            state TEXT PRIMARY KEY,
            data TEXT NOT NULL,
            expires_at {float} NOT NULL
        )""",
        """CREATE TABLE kv (
            ns TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            expires_at {float},
            PRIMARY KEY (ns, key)
        )""",
    ],
    # 2: a job's payload in a table of its own. SQLite rewrites a whole row on every UPDATE whose size
    # changes, and reads past the payload to reach the columns after it: each claim and each completion
    # wrote a delivery's 12 KB (four overflow pages) to the WAL again, and read it to check the status
    # (bench/webhook.py --closed-loop --event issue_comment.created, issue 20). The payload is written once.
    [
        """CREATE TABLE job_payloads (
            job_id {id} PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
            payload TEXT NOT NULL
        )""",
        "INSERT INTO job_payloads (job_id, payload) SELECT id, payload FROM jobs",
        "ALTER TABLE jobs DROP COLUMN payload",
    ],
]

LATEST = len(MIGRATIONS)


async def _lock(conn: Conn, engine: str) -> None:
    if engine == "postgresql":
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('fixloop:migrate:' || coalesce(current_schema(), '')))"
        )


async def migrate(db: Driver) -> int:
    """Bring the schema to ``LATEST``; return the version found before. Safe to run concurrently."""
    types = _TYPES[db.engine]
    async with db.transaction() as conn:
        await _lock(conn, db.engine)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            f"(version INTEGER PRIMARY KEY, applied_at {types['float']} NOT NULL)"
        )
        row = await conn.fetchrow("SELECT max(version) AS v FROM schema_version")
        found = int(row["v"]) if row and row["v"] is not None else 0
        if found > LATEST:
            log.warning("database schema v%d is newer than this code (v%d)", found, LATEST)
        for version in range(found + 1, LATEST + 1):
            for statement in MIGRATIONS[version - 1]:
                await conn.execute(statement.format(**types))
            await conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", version, time.time()
            )
            log.info("database schema migrated to v%d", version)
    return found
