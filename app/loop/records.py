"""Typed records of the incident state's parts: the hand-off, the linked pull requests, the fix, the work
claim. Each is read from and written to its JSON object in ``Incident.data``.

Read tolerantly, written back as stored: incidents in flight across a deploy carry what an older version
wrote, and an older replica may still read what this one writes. So a missing key takes its default, a key
at its default is left out (as the old writers left it out), and keys this version does not know are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSONObject = Mapping[str, Any]


def _text(data: JSONObject, key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _number(data: JSONObject, key: str) -> float:
    try:
        return float(data.get(key) or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _whole(data: JSONObject, key: str) -> int | None:
    try:
        return None if data.get(key) is None else int(data[key])
    except (TypeError, ValueError):
        return None


def _object(value: Any) -> JSONObject:
    return value if isinstance(value, Mapping) else {}


def _unknown(record_type: type, data: JSONObject) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(record_type)}
    return {k: v for k, v in data.items() if k not in known}


def _written(record: Any, always: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The record's JSON: its unknown keys, then every field not at its default (or named in ``always``)."""
    out = dict(record.extra)
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name != "extra" and (f.name in always or value != f.default):
            out[f.name] = value
    return out


@dataclass(frozen=True, slots=True)
class HandoffRecord:
    """The last hand-off of the incident, as the status comment, the scorecard and a resume read it."""

    agent: str = ""  # AgentName value; "none" for a human
    outcome: str = ""  # ok, infra, no_user_token, http_<status>
    at: float = 0.0  # when it finished (app.loop.handoff compares it with handoff_requested_at)
    problem: str = ""  # why it was refused, for the issue
    resumed_by: str = ""  # the login whose sign-in resumed it
    human: str = ""  # the person assigned by /fixloop assign @user
    extra: JSONObject = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, value: Any) -> HandoffRecord:
        data = _object(value)
        return cls(
            agent=_text(data, "agent"),
            outcome=_text(data, "outcome"),
            at=_number(data, "at"),
            problem=_text(data, "problem"),
            resumed_by=_text(data, "resumed_by"),
            human=_text(data, "human"),
            extra=_unknown(cls, data),
        )

    def to_dict(self) -> dict[str, Any]:
        return _written(self)


# The fields the tracker always wrote: an older reader counts a pull request without ``state`` as closed.
_TRACKED = frozenset({"url", "state", "title", "author", "head_sha", "agent"})


@dataclass(frozen=True, slots=True)
class TrackedPR:
    """A pull request linked to the incident, as last seen in its webhooks."""

    url: str = ""
    state: str = "open"  # PrState value: open, draft, merged, closed
    title: str = ""
    author: str = ""
    head_sha: str = ""
    agent: str = ""  # the agent that opened it, when one did
    checks: str = ""  # the head commit's CI conclusion (or status while it runs)
    extra: JSONObject = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, value: Any) -> TrackedPR:
        data = _object(value)
        return cls(
            url=_text(data, "url"),
            state=_text(data, "state") or "open",
            title=_text(data, "title"),
            author=_text(data, "author"),
            head_sha=_text(data, "head_sha"),
            agent=_text(data, "agent"),
            checks=_text(data, "checks"),
            extra=_unknown(cls, data),
        )

    def to_dict(self) -> dict[str, Any]:
        return _written(self, _TRACKED)

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "draft")


def prs_from_dict(value: Any) -> dict[int, TrackedPR]:
    """PR number -> record; the stored keys are the numbers as text (JSON object keys)."""
    return {int(k): TrackedPR.from_dict(v) for k, v in _object(value).items() if str(k).isdigit()}


def prs_to_dict(prs: Mapping[int, TrackedPR]) -> dict[str, Any]:
    return {str(number): pr.to_dict() for number, pr in prs.items()}


@dataclass(frozen=True, slots=True)
class Fix:
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

    @classmethod
    def from_dict(cls, value: Any) -> Fix:
        data = _object(value)
        return cls(
            pr=_whole(data, "pr"),
            sha=_text(data, "sha"),
            mode=_text(data, "mode"),
            image=_text(data, "image"),
            container=_text(data, "container"),
            deployment_id=_whole(data, "deployment_id"),
            environment=_text(data, "environment"),
            deployment_state=_text(data, "deployment_state"),
            deployment_requested=_text(data, "deployment_requested"),
            verified_requested=_text(data, "verified_requested"),
            extra=_unknown(cls, data),
        )

    def to_dict(self) -> dict[str, Any]:
        return _written(self)


@dataclass(frozen=True, slots=True)
class WorkClaim:
    """The job holding the incident (app.loop.work) and until when; no job: nobody holds it."""

    job: int | None = None
    until: float = 0.0
    extra: JSONObject = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, value: Any) -> WorkClaim:
        data = _object(value)
        return cls(job=_whole(data, "job"), until=_number(data, "until"), extra=_unknown(cls, data))

    def to_dict(self) -> dict[str, Any]:
        return _written(self)

    def held_by_another(self, job_id: int, now: float) -> bool:
        return self.job not in (None, job_id) and self.until > now
