"""Installation lifecycle: forget cached credentials when the App is removed or suspended."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from app.loop.dispatch import pinned_step

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
router = Router()


@router.register("installation", action="deleted")
@router.register("installation", action="suspend")
@pinned_step("app.loop.installations.forget_installation")
async def forget_installation(event: Event, gh: Any, *, services: Services) -> None:
    installation_id = int(event.data["installation"]["id"])
    services.github.forget_installation(installation_id)
    log.info("installation %s %s: credentials forgotten", installation_id, event.data["action"])


@router.register("installation", action="created")
@router.register("installation_repositories", action="added")
@router.register("installation_repositories", action="removed")
@pinned_step("app.loop.installations.note_installation_change")
async def note_installation_change(event: Event, gh: Any, *, services: Services) -> None:
    installation_id = int(event.data["installation"]["id"])
    services.github.forget_installation(installation_id)  # repository coverage changed: look it up again
    log.info("installation %s: %s %s", installation_id, event.event, event.data.get("action"))
