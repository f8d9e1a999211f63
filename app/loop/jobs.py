"""The loop's job kinds and their handlers; every Router is merged here, in one place."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from gidgethub.routing import Router
from gidgethub.sansio import Event

from app.github.webhook import JOB_KIND as GITHUB_JOB
from app.loop.commands import slash as commands
from app.loop.dispatch import dispatch_github_job
from app.loop.steps import installations, pulls
from app.loop.steps.grants import GRANT_JOB, on_grant
from app.loop.steps.notifications import handle_notification_job
from app.loop.steps.timeouts import SWEEP_JOB, sweep
from app.rollouts.notify import JOB_KIND as ROLLOUT_JOB

if TYPE_CHECKING:
    from app.jobs import Handler, JobContext
    from app.services import Services
    from app.store import Job

ROUTER = Router(installations.router, pulls.router, commands.router)


@functools.lru_cache(maxsize=1024)
def handles(event: str, action: str | None) -> bool:
    """Whether a handler of the loop subscribes to this event and action. The App is subscribed to whole
    events (``issues``, ``pull_request``, ...) but acts on a few actions of them: the intake acknowledges
    the rest without storing them, so the queue and the workers carry only deliveries someone reads."""
    data: dict[str, str] = {} if action is None else {"action": action}
    return any(True for _ in ROUTER.fetch(Event(data, event=event, delivery_id="")))


def job_handlers(services: Services) -> dict[str, Handler]:
    async def github(job: Job, ctx: JobContext) -> None:
        await dispatch_github_job(ROUTER, job, ctx, services)

    async def rollout(job: Job, ctx: JobContext) -> None:
        await handle_notification_job(job, ctx, services)

    async def stage_timeouts(job: Job, ctx: JobContext) -> None:
        await sweep(services, job, ctx)

    async def user_grant(job: Job, ctx: JobContext) -> None:
        await on_grant(services, job, ctx)

    return {GITHUB_JOB: github, ROLLOUT_JOB: rollout, SWEEP_JOB: stage_timeouts, GRANT_JOB: user_grant}
