"""The incident state's typed parts read what older versions stored and write it back as it was, so an
incident in flight across a deploy loads, and a replica still on the older version reads what it gets."""

from __future__ import annotations

from typing import Any

from app.loop.incident.records import Fix, HandoffRecord, TrackedPR, WorkClaim
from app.loop.incident.state import IncidentState

# As the previous version wrote them (app/loop/steps/handoff.py, pulls.py, redeploy.py, deployments.py, work.py).
STORED: dict[str, Any] = {
    "handoff": {"agent": "copilot", "outcome": "ok", "at": 1700000000.5, "resumed_by": "alice"},
    "prs": {
        "12": {
            "url": "https://github.com/acme/demo/pull/12",
            "state": "open",
            "title": "Fix the panic",
            "author": "Copilot",
            "head_sha": "c0ffee",
            "agent": "",
            "checks": "success",
        },
        "9": {"url": "", "state": "closed", "title": "", "author": "bob", "head_sha": "", "agent": ""},
    },
    "fix": {
        "pr": 12,
        "sha": "c0ffee",
        "mode": "image",
        "deployment_requested": "c0ffee",
        "deployment_id": 4,
        "environment": "canary",
        "deployment_state": "in_progress",
        "image": "ghcr.io/acme/demo:c0ffee",
        "container": "demo",
    },
    "work": {"job": 7, "until": 1700000300.0},
}


def test_stored_parts_load_typed_and_write_back_unchanged() -> None:
    state = IncidentState.from_dict(STORED)
    assert state.handoff == HandoffRecord(agent="copilot", outcome="ok", at=1700000000.5, resumed_by="alice")
    assert sorted(state.prs) == [9, 12] and state.prs[12].checks == "success" and not state.prs[9].is_open
    assert state.fix.deployment_id == 4 and state.fix.pr == 12 and state.fix.verified_requested == ""
    assert state.work == WorkClaim(job=7, until=1700000300.0)
    written = state.to_dict()
    assert {key: written[key] for key in STORED} == STORED


def test_missing_parts_take_their_defaults_and_stay_missing() -> None:
    state = IncidentState.from_dict({"revision": "abc"})
    assert state.handoff == HandoffRecord() and state.prs == {} and state.fix == Fix()
    assert not state.work.held_by_another(3, now=0.0)
    written = state.to_dict()
    assert (written["handoff"], written["prs"], written["fix"], written["work"]) == ({}, {}, {}, {})


def test_keys_this_version_does_not_know_are_kept() -> None:
    newer = {"agent": "jules", "outcome": "ok", "at": 1.0, "session": "s-1"}
    assert HandoffRecord.from_dict(newer).to_dict() == newer
    pr = {**TrackedPR().to_dict(), "reviewers": ["alice"]}
    assert TrackedPR.from_dict(pr).to_dict() == pr
    assert Fix.from_dict({"sha": "c0ffee", "rollback": True}).to_dict() == {"sha": "c0ffee", "rollback": True}


def test_malformed_values_are_tolerated() -> None:
    state = IncidentState.from_dict({"handoff": "?", "prs": {"x": {}, "3": None}, "fix": {"pr": "12"}})
    assert state.handoff == HandoffRecord() and list(state.prs) == [3] and state.fix.pr == 12
    assert WorkClaim.from_dict({"job": "nope", "until": None}) == WorkClaim()
