"""The stages of an incident, as stored (``Incident.stage``) and recorded in its transitions.

Below both the store and the loop: the store types its records with it, the loop's state machine
(app.loop.incident.stages) says which moves between them are allowed. A ``StrEnum``: SQL and JSON
hold the value.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    DETECTED = "detected"
    ANALYSED = "analysed"
    ISSUE_OPEN = "issue_open"
    AGENT_WORKING = "agent_working"
    PR_OPEN = "pr_open"
    MERGED = "merged"
    REDEPLOYING = "redeploying"
    VERIFIED = "verified"
    FAILED_AGAIN = "failed_again"
    NEEDS_HUMAN = "needs_human"
    SUPERSEDED = "superseded"
    IGNORED = "ignored"

    @property
    def label(self) -> str:
        """Human wording: ``issue_open`` → ``issue open``."""
        return self.value.replace("_", " ")
