"""Runs a stored GitHub delivery through the loop's Routers, each handler isolated from the others.

gidgethub's ``Router.dispatch`` awaits handlers one after another, so one failing handler silently skips
the rest. Here each handler runs as its own job step: a failure is logged and recorded, the others
still run, and a retried job skips the handlers that already finished.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from gidgethub.routing import Router
from gidgethub.sansio import Event

from app.errors import PermanentError, TransientError
from app.logs import log_context

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services
    from app.store import Job

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
STEP_ATTRIBUTE = "fixloop_step_name"


def pinned_step(name: str) -> Callable[[F], F]:
    """Pins the name a handler's job step is stored under. A retried job skips the steps it finished, by
    name: a name derived from the module path would change when the module moves, and a deploy would run
    the handlers of jobs in flight a second time (a second comment, a second hand-off)."""

    def pin(handler: F) -> F:
        setattr(handler, STEP_ATTRIBUTE, name)
        return handler

    return pin


def step_of(handler: Any) -> str:
    pinned = getattr(handler, STEP_ATTRIBUTE, None)
    if isinstance(pinned, str):
        return pinned
    return f"{handler.__module__}.{handler.__qualname__}"  # tests/spine pins every loop handler


def event_from_job(payload: dict[str, Any]) -> Event:
    return Event(payload["payload"], event=payload["event"], delivery_id=payload["delivery"])


def _correlation(event: Event) -> dict[str, Any]:
    data = event.data
    installation = (data.get("installation") or {}).get("id")
    repo = (data.get("repository") or {}).get("full_name")
    return {"delivery": event.delivery_id, "installation": installation, "repo": repo}


async def dispatch_github_job(router: Router, job: Job, ctx: JobContext, services: Services) -> None:
    event = event_from_job(job.payload)
    with log_context(**_correlation(event)):
        handlers = list(router.fetch(event))
        if not handlers:
            return
        installation_id = (event.data.get("installation") or {}).get("id")
        gh = services.github.installation_client(int(installation_id)) if installation_id else None
        transient: list[TransientError] = []
        broken: list[str] = []
        for handler in handlers:
            name = step_of(handler)
            try:
                await ctx.step(f"handler:{name}", functools.partial(_run, handler, event, gh, services))
            except TransientError as exc:
                log.warning("handler %s will be retried: %s", name, exc)
                transient.append(exc)
            except Exception as exc:  # isolate: one broken handler must not hide the others
                log.exception("handler %s failed", name)
                broken.append(f"{name}: {type(exc).__name__}: {exc}")
        if transient:
            delays = [exc.retry_after for exc in transient if exc.retry_after is not None]
            raise TransientError(
                f"{len(transient)} handler(s) to retry", retry_after=max(delays, default=None)
            )
        if broken:
            raise PermanentError("; ".join(broken))


async def _run(handler: Any, event: Event, gh: Any, services: Services) -> dict[str, Any]:
    await handler(event, gh, services=services)
    return {}
