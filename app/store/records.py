"""Typed records the store returns (frozen dataclasses; no raw rows leak out) and the store's errors.

Every time is a float: seconds since the epoch, UTC (``time.time()``), the same on both engines.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.errors import FixloopError, TransientError
from app.stage import Stage

JSON = dict[str, Any]


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class StaleIncident(TransientError):
    """The incident's version moved since it was read: re-read it and decide again.

    A ``TransientError`` so that a job which loses the race is simply retried by the runner.
    """


class NotFound(FixloopError):
    """The record does not exist (or no longer does)."""


def dump_json(value: JSON) -> str:
    # orjson: webhook payloads are stored on the acknowledgement path, where json.dumps with sorted
    # keys was a tenth of the CPU (bench/webhook.py under py-spy).
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class JSONText:
    """A JSON object already encoded, stored as is: the webhook intake wraps the body it received
    instead of parsing it into objects and encoding them again (a copy of 12 KB per delivery)."""

    text: str


def load_json(text: str | None) -> JSON:
    if not text:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str
    payload: JSON = field(hash=False)
    status: JobStatus
    attempts: int
    run_after: float
    lease_until: float | None
    worker_id: str | None
    last_error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    # Why the stored payload could not be read ("" when it could; ``payload`` is then {}): the runner
    # fails such a job for good with this reason, and the queue's other jobs are claimed as usual.
    payload_error: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Job:
        try:
            payload, payload_error = load_json(row["payload"]), ""
        except orjson.JSONDecodeError as exc:
            payload, payload_error = {}, f"the job's stored payload is not JSON: {exc}"
        return cls(
            id=int(row["id"]),
            kind=row["kind"],
            key=row["key"],
            payload=payload,
            status=JobStatus(row["status"]),
            attempts=int(row["attempts"]),
            run_after=float(row["run_after"]),
            lease_until=_opt_float(row["lease_until"]),
            worker_id=row["worker_id"],
            last_error=row["last_error"],
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            finished_at=_opt_float(row["finished_at"]),
            payload_error=payload_error,
        )


@dataclass(frozen=True)
class Incident:
    id: int
    fingerprint: str
    namespace: str
    rollout: str
    repo: str
    installation_id: int | None
    stage: Stage
    attempt: int
    issue_number: int | None
    data: JSON = field(hash=False)
    version: int
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Incident:
        return cls(
            id=int(row["id"]),
            fingerprint=row["fingerprint"],
            namespace=row["namespace"],
            rollout=row["rollout"],
            repo=row["repo"],
            installation_id=_opt_int(row["installation_id"]),
            stage=Stage(row["stage"]),
            attempt=int(row["attempt"]),
            issue_number=_opt_int(row["issue_number"]),
            data=load_json(row["data"]),
            version=int(row["version"]),
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
        )


@dataclass(frozen=True)
class Transition:
    id: int
    incident_id: int
    from_stage: str | None
    to_stage: str
    cause: str
    at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Transition:
        return cls(
            id=int(row["id"]),
            incident_id=int(row["incident_id"]),
            from_stage=row["from_stage"],
            to_stage=row["to_stage"],
            cause=row["cause"],
            at=float(row["at"]),
        )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    incident_id: int
    kind: str
    detail: JSON = field(hash=False)
    at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuditEntry:
        return cls(
            id=int(row["id"]),
            incident_id=int(row["incident_id"]),
            kind=row["kind"],
            detail=load_json(row["detail"]),
            at=float(row["at"]),
        )


@dataclass(frozen=True)
class UserToken:
    user_id: int
    login: str
    ciphertext: bytes = field(repr=False)
    expires_at: float | None
    refresh_expires_at: float | None
    updated_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UserToken:
        return cls(
            user_id=int(row["user_id"]),
            login=row["login"],
            ciphertext=bytes(row["ciphertext"]),
            expires_at=_opt_float(row["expires_at"]),
            refresh_expires_at=_opt_float(row["refresh_expires_at"]),
            updated_at=float(row["updated_at"]),
        )
