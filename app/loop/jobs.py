"""The loop's job kinds and their handlers; every Router is merged here, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gidgethub.routing import Router

from app.github.webhook import JOB_KIND as GITHUB_JOB
from app.loop import commands, installations, pulls
from app.loop.dispatch import dispatch_github_job
from app.loop.grants import GRANT_JOB, on_grant
from app.loop.notifications import handle_notification_job
from app.loop.timeouts import SWEEP_JOB, sweep
from app.rollouts.notify import JOB_KIND as ROLLOUT_JOB

if TYPE_CHECKING:
    from app.jobs import Handler, JobContext
    from app.services import Services
    from app.store import Job

ROUTER = Router(installations.router, pulls.router, commands.router)


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
