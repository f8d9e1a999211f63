"""Typed records of the incident state's parts: the hand-off, the linked pull requests, the fix, the work
claim. Each is read from and written to its JSON object in ``Incident.data``.

Read tolerantly, written back as stored: incidents in flight across a deploy carry what an older version
wrote, and an older replica may still read what this one writes. So a missing key takes its default, a key
at its default is left out (as the old writers left it out), and keys this version does not know are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar, cast

JSONObject = Mapping[str, Any]


R = TypeVar("R")


def _read(record_type: Callable[..., R], value: Any) -> R:
    """The record of a stored object: each field read as its default's type (the fields defaulting to
    None are numbers), the default when missing or malformed; the keys it does not know kept as ``extra``."""
    data = value if isinstance(value, Mapping) else {}
    fields = [f for f in dataclasses.fields(cast(Any, record_type)) if f.name != "extra"]
    known = {f.name: _coerce(f.default, data.get(f.name)) for f in fields}
    extra = {k: v for k, v in data.items() if k not in known}
    return record_type(**known, extra=extra)


def _coerce(default: Any, value: Any) -> Any:
    if value is None:
        return default
    try:
        if isinstance(default, str):
            return str(value) or default
        return float(value) if isinstance(default, float) else int(value)
    except (TypeError, ValueError):
        return default


def _written(record: Any, always: frozenset[str]) -> dict[str, Any]:
    """The record's JSON: its unknown keys, then every field not at its default (or named in ``always``)."""
    out = dict(record.extra)
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name != "extra" and (f.name in always or value != f.default):
            out[f.name] = value
    return out


class StoredRecord:
    """Read from and written to a JSON object of ``Incident.data`` (the records below are its dataclasses)."""

    __slots__ = ()
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset()  # fields written even at their default

    @classmethod
    def from_dict(cls, value: Any) -> Self:
        return _read(cls, value)

    def to_dict(self) -> dict[str, Any]:
        return _written(self, self.ALWAYS_WRITTEN)


@dataclass(frozen=True, slots=True)
class HandoffRecord(StoredRecord):
    """The last hand-off of the incident, as the status comment, the scorecard and a resume read it."""

    agent: str = ""  # AgentName value; "none" for a human
    outcome: str = ""  # ok, infra, no_user_token, http_<status>
    at: float = 0.0  # when it finished (app.loop.steps.handoff compares it with handoff_requested_at)
    problem: str = ""  # why it was refused, for the issue
    resumed_by: str = ""  # the login whose sign-in resumed it
    human: str = ""  # the person assigned by /fixloop assign @user
    extra: JSONObject = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class TrackedPR(StoredRecord):
    """A pull request linked to the incident, as last seen in its webhooks."""

    url: str = ""
    state: str = "open"  # PrState value: open, draft, merged, closed
    title: str = ""
    author: str = ""
    head_sha: str = ""
    agent: str = ""  # the agent that opened it, when one did
    checks: str = ""  # the head commit's CI conclusion (or status while it runs)
    extra: JSONObject = field(default_factory=dict, compare=False)

    # What the tracker always wrote: an older reader counts a pull request without ``state`` as closed.
    ALWAYS_WRITTEN: ClassVar[frozenset[str]] = frozenset(
        {"url", "state", "title", "author", "head_sha", "agent"}
    )

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "draft")


def prs_from_dict(value: Any) -> dict[int, TrackedPR]:
    """PR number -> record; the stored keys are the numbers as text (JSON object keys)."""
    stored = value if isinstance(value, Mapping) else {}
    return {int(k): TrackedPR.from_dict(v) for k, v in stored.items() if str(k).isdigit()}


def prs_to_dict(prs: Mapping[int, TrackedPR]) -> dict[str, Any]:
    return {str(number): pr.to_dict() for number, pr in prs.items()}


@dataclass(frozen=True, slots=True)
class Fix(StoredRecord):
    """The merged fix on its way through the canary: the merge, the Deployment, the image sent."""

    pr: int | None = None
    sha: str = ""  # the merge commit
    mode: str = ""  # RedeployMode value at the merge
    image: str = ""  # the image set on the Rollout (redeploy: image)
    container: str = ""  # the container it was set on
    deployment_id: int | None = None
    environment: str = ""
    deployment_state: str = ""  # in_progress, success, failure; empty before the first status
    deployment_requested: str = ""  # the SHA whose Deployment POST was started (resume marker)
    verified_requested: str = ""  # the SHA whose verified comment was started (resume marker)
    extra: JSONObject = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class WorkClaim(StoredRecord):
    """The job holding the incident (app.loop.incident.work) and until when; no job: nobody holds it."""

    job: int | None = None
    until: float = 0.0
    extra: JSONObject = field(default_factory=dict, compare=False)

    def held_by_another(self, job_id: int, now: float) -> bool:
        return self.job not in (None, job_id) and self.until > now
