import itertools
from datetime import UTC, datetime

import pytest

from app.loop.incident.stages import (
    MAIN_PATH,
    TERMINAL,
    IllegalTransition,
    Stage,
    Transition,
    allowed_targets,
    can_move,
    move,
)

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_main_path_moves_forward_one_step_at_a_time() -> None:
    for src, dst in itertools.pairwise(MAIN_PATH):
        assert can_move(src, dst), (src, dst)
    assert not can_move(Stage.DETECTED, Stage.MERGED)
    assert not can_move(Stage.MERGED, Stage.PR_OPEN)


def test_failed_again_goes_back_to_analysed_with_the_next_attempt() -> None:
    assert can_move(Stage.REDEPLOYING, Stage.FAILED_AGAIN)
    step = move(Stage.FAILED_AGAIN, Stage.ANALYSED, cause="rollout-aborted", at=NOW, attempt=2)
    assert step == Transition(Stage.FAILED_AGAIN, Stage.ANALYSED, "rollout-aborted", NOW, attempt=3)
    other = move(Stage.PR_OPEN, Stage.MERGED, cause="merged #7", at=NOW, attempt=2)
    assert other.attempt == 2


@pytest.mark.parametrize("src", [s for s in Stage if s not in TERMINAL and s is not Stage.NEEDS_HUMAN])
def test_needs_human_and_side_exits_from_every_non_terminal_stage(src: Stage) -> None:
    assert can_move(src, Stage.NEEDS_HUMAN)
    assert can_move(src, Stage.SUPERSEDED)
    assert can_move(src, Stage.IGNORED)


def test_needs_human_can_hand_back_to_the_loop_but_not_to_itself() -> None:
    assert not can_move(Stage.NEEDS_HUMAN, Stage.NEEDS_HUMAN)
    for dst in (Stage.ANALYSED, Stage.AGENT_WORKING, Stage.PR_OPEN, Stage.REDEPLOYING, Stage.IGNORED):
        assert can_move(Stage.NEEDS_HUMAN, dst)


def test_terminal_stages() -> None:
    assert {Stage.VERIFIED, Stage.SUPERSEDED, Stage.IGNORED} == TERMINAL
    assert allowed_targets(Stage.SUPERSEDED) == frozenset()
    assert allowed_targets(Stage.IGNORED) == frozenset()
    # verified is terminal except that the same signature coming back reopens it.
    assert allowed_targets(Stage.VERIFIED) == {Stage.FAILED_AGAIN}
    assert not can_move(Stage.VERIFIED, Stage.NEEDS_HUMAN)


def test_pr_closed_without_merge_goes_back_to_the_agent_or_a_human() -> None:
    assert can_move(Stage.PR_OPEN, Stage.AGENT_WORKING)
    assert can_move(Stage.PR_OPEN, Stage.NEEDS_HUMAN)


def test_illegal_move_raises_a_permanent_error() -> None:
    with pytest.raises(IllegalTransition) as info:
        move(Stage.IGNORED, Stage.ANALYSED, cause="x", at=NOW, attempt=1)
    assert info.value.src is Stage.IGNORED and info.value.dst is Stage.ANALYSED


def test_every_stage_has_a_row() -> None:
    for stage in Stage:
        allowed_targets(stage)  # KeyError if a stage were missing from the table
    assert Stage.ISSUE_OPEN.label == "issue open"
