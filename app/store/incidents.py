"""Incidents: one per fingerprint, optimistic concurrency on ``version``, transitions and audit trail.

Repository names compare case-insensitively (GitHub treats ``Acme/Web`` and ``acme/web`` as one repo).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Any

from app.store.base import StoreBase, in_list
from app.store.driver import Conn
from app.store.records import (
    JSON,
    AuditEntry,
    Incident,
    NotFound,
    StaleIncident,
    Transition,
    dump_json,
)


class IncidentQueries(StoreBase):
    async def get_or_create_incident(
        self,
        fingerprint: str,
        *,
        namespace: str,
        rollout: str,
        repo: str,
        installation_id: int | None,
        stage: str,
        data: JSON,
    ) -> tuple[Incident, bool]:
        """Return the incident of this fingerprint, creating it if none; (incident, created).

        Everything after the fingerprint is keyword-only: five strings in a row are too easy to swap.

        Race-safe: concurrent callers (threads or processes) all get the same single row.
        """
        now = self.now()
        row = await self._db.fetchrow(
            "INSERT INTO incidents (fingerprint, namespace, rollout, repo, installation_id, stage,"
            " attempt, data, version, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, 1, $7, 1, $8, $8)"
            " ON CONFLICT (fingerprint) DO NOTHING RETURNING *",
            fingerprint,
            namespace,
            rollout,
            repo,
            installation_id,
            stage,
            dump_json(data),
            now,
        )
        if row is not None:
            return Incident.from_row(row), True
        existing = await self.get_incident_by_fingerprint(fingerprint)
        if existing is None:
            raise NotFound(f"incident {fingerprint!r} vanished while being created")
        return existing, False

    async def get_incident(self, incident_id: int) -> Incident | None:
        row = await self._db.fetchrow("SELECT * FROM incidents WHERE id = $1", incident_id)
        return Incident.from_row(row) if row else None

    async def get_incident_by_fingerprint(self, fingerprint: str) -> Incident | None:
        row = await self._db.fetchrow("SELECT * FROM incidents WHERE fingerprint = $1", fingerprint)
        return Incident.from_row(row) if row else None

    async def find_incident_by_issue(self, repo: str, issue_number: int) -> Incident | None:
        row = await self._db.fetchrow(
            "SELECT * FROM incidents WHERE lower(repo) = lower($1) AND issue_number = $2"
            " ORDER BY id DESC LIMIT 1",
            repo,
            issue_number,
        )
        return Incident.from_row(row) if row else None

    async def list_incidents(
        self,
        repo: str | None = None,
        namespace: str | None = None,
        rollout: str | None = None,
        stages: Collection[str] | None = None,
    ) -> list[Incident]:
        """Oldest first; every given filter must match."""
        where, args = _filters(repo, namespace, rollout, stages)
        sql = f"SELECT * FROM incidents WHERE {where} ORDER BY id"  # noqa: S608 (no values)
        rows = await self._db.fetch(sql, *args)
        return [Incident.from_row(row) for row in rows]

    async def iter_incidents(
        self,
        repo: str | None = None,
        namespace: str | None = None,
        rollout: str | None = None,
        stages: Collection[str] | None = None,
        *,
        mentioning: str | None = None,
    ) -> AsyncIterator[Incident]:
        """As ``list_incidents``, read one at a time: for sweeps over many incidents, whose stored data
        (evidence, verdict) runs to tens of kB each, so memory holds one incident instead of all.

        ``mentioning``: only incidents whose stored data contains this text (a commit SHA, a quoted PR
        number), a cheap pre-filter in the database before any data is parsed; the caller still checks.
        An incident deleted in between is skipped; each one is as fresh as the moment it is read.
        """
        where, args = _filters(repo, namespace, rollout, stages)
        if mentioning is not None:
            escaped = mentioning.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args.append(f"%{escaped}%")
            where += f" AND data LIKE ${len(args)} ESCAPE '\\'"
        sql = f"SELECT id FROM incidents WHERE {where} ORDER BY id"  # noqa: S608 (no values)
        for row in await self._db.fetch(sql, *args):
            incident = await self.get_incident(int(row["id"]))
            if incident is not None:
                yield incident

    async def update_incident(
        self,
        incident_id: int,
        *,
        expected_version: int,
        stage: str | None = None,
        attempt: int | None = None,
        issue_number: int | None = None,
        data: JSON | None = None,
        cause: str | None = None,
    ) -> Incident:
        """Apply the given changes (None = unchanged; ``data`` replaces the whole document).

        Raise ``StaleIncident`` if the version is no longer ``expected_version``, ``NotFound`` if the
        incident does not exist. With ``cause``, a stage change is recorded as a transition in the same
        transaction, so the history never disagrees with the state.
        """
        args: list[Any] = [self.now(), incident_id, expected_version]
        sets = ["version = version + 1", "updated_at = $1"]
        changes: dict[str, Any] = {"stage": stage, "attempt": attempt, "issue_number": issue_number}
        changes["data"] = None if data is None else dump_json(data)
        for column, value in changes.items():
            if value is not None:
                args.append(value)
                sets.append(f"{column} = ${len(args)}")
        async with self._db.transaction() as conn:
            before = await conn.fetchrow("SELECT stage, version FROM incidents WHERE id = $1", incident_id)
            if before is None:
                raise NotFound(f"incident {incident_id} does not exist")
            # Only column names and placeholders are formatted in, never a value.
            sql = f"UPDATE incidents SET {', '.join(sets)} WHERE id = $2 AND version = $3 RETURNING *"  # noqa: S608
            row = await conn.fetchrow(sql, *args)
            if row is None:
                raise StaleIncident(
                    f"incident {incident_id}: expected version {expected_version}, found {before['version']}"
                )
            if cause is not None and stage is not None and stage != before["stage"]:
                await self._insert_transition(conn, incident_id, before["stage"], stage, cause)
        return Incident.from_row(row)

    async def record_transition(
        self, incident_id: int, from_stage: str | None, to_stage: str, cause: str
    ) -> None:
        await self._insert_transition(self._db, incident_id, from_stage, to_stage, cause)

    async def _insert_transition(
        self, conn: Conn, incident_id: int, from_stage: str | None, to_stage: str, cause: str
    ) -> None:
        await conn.execute(
            "INSERT INTO incident_transitions (incident_id, from_stage, to_stage, cause, at)"
            " VALUES ($1, $2, $3, $4, $5)",
            incident_id,
            from_stage,
            to_stage,
            cause,
            self.now(),
        )

    async def list_transitions(self, incident_id: int) -> list[Transition]:
        """In the order they happened."""
        rows = await self._db.fetch(
            "SELECT * FROM incident_transitions WHERE incident_id = $1 ORDER BY id", incident_id
        )
        return [Transition.from_row(row) for row in rows]

    async def add_audit(self, incident_id: int, kind: str, detail: JSON) -> None:
        await self._db.execute(
            "INSERT INTO incident_audit (incident_id, kind, detail, at) VALUES ($1, $2, $3, $4)",
            incident_id,
            kind,
            dump_json(detail),
            self.now(),
        )

    async def list_audit(self, incident_id: int) -> list[AuditEntry]:
        rows = await self._db.fetch(
            "SELECT * FROM incident_audit WHERE incident_id = $1 ORDER BY id", incident_id
        )
        return [AuditEntry.from_row(row) for row in rows]

    async def incident_history(
        self, audit_kinds: Collection[str], *, batch: int = 500
    ) -> AsyncIterator[tuple[dict[int, str], list[Transition], list[AuditEntry]]]:
        """Incidents' repositories, transitions (without their causes) and audit entries of ``audit_kinds``,
        ``batch`` incidents at a time in id order: what a scorecard is computed from, in bounded memory
        (no incident data is read; 10,000 incidents' whole history at once cost ~50 MB at peak)."""
        after = 0
        while True:
            rows = await self._db.fetch(
                "SELECT id, repo FROM incidents WHERE id > $1 ORDER BY id LIMIT $2", after, batch
            )
            if not rows:
                return
            repos = {int(r["id"]): str(r["repo"]) for r in rows}
            low, high = min(repos), max(repos)
            found = await self._db.fetch(
                "SELECT id, incident_id, from_stage, to_stage, '' AS cause, at FROM incident_transitions"
                " WHERE incident_id BETWEEN $1 AND $2 ORDER BY id",
                low,
                high,
            )
            args: list[Any] = [low, high]
            where = in_list("kind", list(audit_kinds), args)
            sql = (
                "SELECT * FROM incident_audit WHERE incident_id BETWEEN $1 AND $2"  # noqa: S608 (placeholders)
                f" AND {where} ORDER BY id"
            )
            audit = [AuditEntry.from_row(row) for row in await self._db.fetch(sql, *args)]
            yield repos, [Transition.from_row(row) for row in found], audit
            after = high

    async def recent_incidents(self, limit: int) -> list[Incident]:
        """The ``limit`` most recently changed incidents, newest first."""
        sql = "SELECT * FROM incidents ORDER BY updated_at DESC, id DESC LIMIT $1"
        rows = await self._db.fetch(sql, limit)
        return [Incident.from_row(row) for row in rows]

    async def count_incidents_by_stage(self) -> dict[str, int]:
        rows = await self._db.fetch("SELECT stage, count(*) AS n FROM incidents GROUP BY stage")
        return {row["stage"]: int(row["n"]) for row in rows}


def _filters(
    repo: str | None, namespace: str | None, rollout: str | None, stages: Collection[str] | None
) -> tuple[str, list[Any]]:
    """The WHERE clause (placeholders only, never a value) and its arguments."""
    args: list[Any] = []
    where = ["1 = 1"]
    for column, value in (("lower(repo)", repo), ("namespace", namespace), ("rollout", rollout)):
        if value is not None:
            args.append(value.lower() if column == "lower(repo)" else value)
            where.append(f"{column} = ${len(args)}")
    if stages is not None:
        where.append(in_list("stage", list(stages), args))
    return " AND ".join(where), args
