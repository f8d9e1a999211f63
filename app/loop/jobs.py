"""The loop's job kinds and their handlers; every Router is merged here, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gidgethub.routing import Router

from app.github.webhook import JOB_KIND as GITHUB_JOB
from app.loop import installations
from app.loop.dispatch import dispatch_github_job

if TYPE_CHECKING:
    from app.jobs import Handler, JobContext
    from app.services import Services
    from app.store import Job

ROUTER = Router(installations.router)


def job_handlers(services: Services) -> dict[str, Handler]:
    async def github(job: Job, ctx: JobContext) -> None:
        await dispatch_github_job(ROUTER, job, ctx, services)

    return {GITHUB_JOB: github}
