"""The incident state machine: stages, the allowed moves between them, and the record of each move.

Main path: ``detected → analysed → issue_open → agent_working → pr_open → merged → redeploying → verified``.
``failed_again`` sends the incident back to ``analysed`` with the attempt number raised by one.
``needs_human`` is reachable from every non-terminal stage; ``superseded`` and ``ignored`` are side exits.
``verified`` is terminal, with one exception: the same signature coming back reopens the incident, which
is recorded as ``verified → failed_again`` (and from there ``analysed`` for the next attempt).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.errors import PermanentError
from app.stage import Stage

__all__ = [  # Stage lives below the store (app.stage); the loop names it from here
    "MAIN_PATH",
    "SIDE_EXITS",
    "TERMINAL",
    "IllegalTransition",
    "Stage",
    "Transition",
    "allowed_targets",
    "can_move",
    "move",
]

MAIN_PATH: tuple[Stage, ...] = (
    Stage.DETECTED,
    Stage.ANALYSED,
    Stage.ISSUE_OPEN,
    Stage.AGENT_WORKING,
    Stage.PR_OPEN,
    Stage.MERGED,
    Stage.REDEPLOYING,
    Stage.VERIFIED,
)

TERMINAL: frozenset[Stage] = frozenset({Stage.VERIFIED, Stage.SUPERSEDED, Stage.IGNORED})

# Exits open to every non-terminal stage (a human takes over, another revision wins, /fixloop ignore).
SIDE_EXITS: frozenset[Stage] = frozenset({Stage.NEEDS_HUMAN, Stage.SUPERSEDED, Stage.IGNORED})

# Moves specific to a stage, on top of SIDE_EXITS.
_MOVES: dict[Stage, frozenset[Stage]] = {
    Stage.DETECTED: frozenset({Stage.ANALYSED}),
    Stage.ANALYSED: frozenset({Stage.ISSUE_OPEN}),
    # A PR may appear before any agent was handed the issue (a human fixed it).
    Stage.ISSUE_OPEN: frozenset({Stage.AGENT_WORKING, Stage.PR_OPEN}),
    Stage.AGENT_WORKING: frozenset({Stage.PR_OPEN}),
    # A PR closed without merge goes back to the agent (or to a human, by config: on_pr_closed).
    Stage.PR_OPEN: frozenset({Stage.MERGED, Stage.AGENT_WORKING}),
    Stage.MERGED: frozenset({Stage.REDEPLOYING}),
    Stage.REDEPLOYING: frozenset({Stage.VERIFIED, Stage.FAILED_AGAIN}),
    Stage.FAILED_AGAIN: frozenset({Stage.ANALYSED}),
    # A human resumes the loop: /fixloop analyze|retry, assign, opens or merges a PR, redeploy.
    Stage.NEEDS_HUMAN: frozenset(
        {Stage.ANALYSED, Stage.AGENT_WORKING, Stage.PR_OPEN, Stage.MERGED, Stage.REDEPLOYING}
    ),
    # Terminal, except that the same signature coming back reopens the incident.
    Stage.VERIFIED: frozenset({Stage.FAILED_AGAIN}),
    Stage.SUPERSEDED: frozenset(),
    Stage.IGNORED: frozenset(),
}


def allowed_targets(src: Stage) -> frozenset[Stage]:
    """Every stage ``src`` may move to."""
    if src in TERMINAL:
        return _MOVES[src]
    return (_MOVES[src] | SIDE_EXITS) - {src}


def can_move(src: Stage, dst: Stage) -> bool:
    return dst in allowed_targets(src)


class IllegalTransition(PermanentError):
    """A move the state machine does not allow; a bug or a stale event, never retried."""

    def __init__(self, src: Stage, dst: Stage) -> None:
        super().__init__(f"illegal incident transition {src} → {dst}")
        self.src = src
        self.dst = dst


@dataclass(frozen=True)
class Transition:
    """One stored move of an incident: from, to, why, when, and the attempt it belongs to."""

    src: Stage
    dst: Stage
    cause: str
    at: datetime
    attempt: int = 1


def move(src: Stage, dst: Stage, *, cause: str, at: datetime, attempt: int) -> Transition:
    """Check a move and record it. ``failed_again → analysed`` starts the next attempt.

    ``attempt`` is the incident's current attempt; the returned Transition carries the attempt it leads to.
    Raises IllegalTransition when the move is not allowed.
    """
    if not can_move(src, dst):
        raise IllegalTransition(src, dst)
    next_attempt = attempt + 1 if (src, dst) == (Stage.FAILED_AGAIN, Stage.ANALYSED) else attempt
    return Transition(src=src, dst=dst, cause=cause, at=at, attempt=next_attempt)
