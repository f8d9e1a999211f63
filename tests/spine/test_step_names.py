"""The names durable job steps are stored under do not follow the code around.

A retried job skips the steps it already finished, by name. Were a handler's step named after its module
path, moving the module would make a deploy run the handlers of jobs in flight a second time.
"""

from __future__ import annotations

from typing import Any

from app.loop.dispatch import STEP_ATTRIBUTE, step_of
from app.loop.jobs import ROUTER

# The names stored by jobs in flight today: changing one re-runs that handler for those jobs.
PINNED = {
    "handler:app.loop.commands.run_slash_commands",
    "handler:app.loop.installations.forget_installation",
    "handler:app.loop.installations.note_installation_change",
    "handler:app.loop.pulls.follow_pull_request",
    "handler:app.loop.pulls.on_pull_request_closed",
    "handler:app.loop.pulls.on_commit_checked",
}


def _handlers() -> set[Any]:
    """Every handler of the merged Router (gidgethub keeps them per event, then per key and value)."""
    found: set[Any] = set()
    for handlers in ROUTER._shallow_routes.values():
        found.update(handlers)
    for per_key in ROUTER._deep_routes.values():
        for per_value in per_key.values():
            for handlers in per_value.values():
                found.update(handlers)
    return found


def test_every_loop_handler_has_a_pinned_step_name() -> None:
    handlers = _handlers()
    assert len(handlers) == len(PINNED)
    unpinned = [h.__qualname__ for h in handlers if not isinstance(getattr(h, STEP_ATTRIBUTE, None), str)]
    assert unpinned == []
    assert {f"handler:{step_of(h)}" for h in handlers} == PINNED


def test_a_pinned_name_survives_a_move() -> None:
    async def moved() -> None: ...

    moved.__module__ = "app.loop.elsewhere.moved"
    setattr(moved, STEP_ATTRIBUTE, "app.loop.pulls.on_pull_request_closed")
    assert step_of(moved) == "app.loop.pulls.on_pull_request_closed"
