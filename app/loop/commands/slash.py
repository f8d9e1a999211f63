"""Slash commands: ``/fixloop <command>`` in a comment on a Fixloop issue or on a PR linked to one.

A comment is acted on only when all of these hold, checked cheapest first: it holds commands a human
wrote (``commands.grammar``: not quoted, not code; on an edit, only lines the previous body did not
have); its author is not a bot (Fixloop included); it is on an issue the App opened (author
``<slug>[bot]``, incident marker, and the store knows the incident for that issue) or on a PR the
incident tracks; its author has write, maintain or admin. A refused human gets 👎 and a reply saying why.

Accepted commands run holding the incident's claim (``app.loop.incident.work``), each at most once per
(comment, command line) even across redeliveries and edits: 👀, then one reply with a line per command,
then 👍 (all done) or 👎. Every command and its outcome go into the incident's audit trail.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import gidgethub
from gidgethub.routing import Router
from gidgethub.sansio import Event

from app.clusters import CURRENT_CLUSTER
from app.errors import FixloopError, TransientError
from app.github import issues
from app.github.collaborators import repo_permission
from app.github.http import GitHubClient
from app.github.reactions import Reaction, react_to_comment
from app.loop.commands.base import Invocation, Outcome, Refused, Runner, render_reply
from app.loop.commands.event import CommentEvent
from app.loop.commands.grammar import Command
from app.loop.commands.incident import INCIDENT_COMMANDS
from app.loop.commands.kube import KUBE_COMMANDS
from app.loop.dispatch import pinned_step
from app.loop.incident.state import IncidentState, cluster_of
from app.loop.incident.work import claim_incident, claim_of, release_incident
from app.loop.render.markers import find_incident_id
from app.loop.render.text import code_span, safe_inline
from app.store import Incident, StaleIncident, Store

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)
router = Router()

RUNNERS: dict[str, Runner] = {**INCIDENT_COMMANDS, **KUBE_COMMANDS}
MAX_COMMANDS = 3
SEEN = "fixloop-command"  # kv: "<comment id>:<command line>" already run
SEEN_TTL = 90 * 24 * 3600.0
BUSY_RETRY = 15.0  # seconds: another job holds the incident
INTERRUPTED = "was interrupted before its outcome was known: check `/fixloop status` before running it again."
PERMISSION_REFUSED = (
    "only people with write, maintain or admin access to this repository can run Fixloop commands; "
    "{login} has {role}. Nothing was done."
)


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
@pinned_step("app.loop.commands.run_slash_commands")
async def run_slash_commands(event: Event, gh: GitHubClient, *, services: Services) -> None:
    comment = CommentEvent.from_event(event)
    commands = comment.new_commands()
    if not commands or comment.by_bot:
        return
    incident = await target_incident(services, comment)
    if incident is None:
        return
    access = await repo_permission(gh, comment.repo, comment.author)
    if not access.may_write:
        await refuse(services, gh, comment, incident, commands, role=access.role_name)
        return
    async with holding(services.store, incident, holder=-comment.comment_id) as claimed:
        await execute(services, gh, comment, claimed, commands)


async def target_incident(services: Services, comment: CommentEvent) -> Incident | None:
    """The incident of a Fixloop issue (App-authored, marked, known), or of a PR it tracks."""
    if comment.on_pull_request:
        # Every stage of the repository: read one at a time, a long history does not fill memory.
        tracking = [
            incident
            async for incident in services.store.iter_incidents(
                repo=comment.repo,
                mentioning=f'"{comment.number}"',  # tracked PRs are keyed by number
            )
            if comment.number in IncidentState.of(incident).prs
        ]
        return tracking[-1] if tracking else None
    if comment.issue_author != f"{await services.github.slug()}[bot]":
        return None
    marked = find_incident_id(comment.issue_body)
    incident = await services.store.find_incident_by_issue(comment.repo, comment.number)
    return incident if incident is not None and incident.id == marked else None


async def refuse(
    services: Services,
    gh: GitHubClient,
    comment: CommentEvent,
    incident: Incident,
    commands: Sequence[Command],
    *,
    role: str,
) -> None:
    why = PERMISSION_REFUSED.format(login=code_span(comment.author), role=code_span(role))
    fresh = [c for c in commands if await services.store.kv_get(SEEN, _seen_key(comment, c)) is None]
    outcomes = [(command, Outcome(False, why)) for command in fresh[:MAX_COMMANDS]]
    if not outcomes:
        return  # already refused: a redelivery
    for command, outcome in outcomes:
        await _remember(services.store, comment, command, outcome, replied=True)
        await services.store.add_audit(incident.id, "command", _audit(comment, command, outcome))
    await react(gh, comment, "-1")
    await issues.post_comment(gh, comment.repo, comment.number, render_reply(outcomes))


async def execute(
    services: Services,
    gh: GitHubClient,
    comment: CommentEvent,
    incident: Incident,
    commands: Sequence[Command],
) -> None:
    """Run what has not run for this comment; report what ran but was never reported (a retried job)."""
    results, pending = await _sort_out(services.store, comment, commands)
    to_run = pending[:MAX_COMMANDS]
    if not results and not to_run:
        return  # a redelivery, or an edit that added no command
    await react(gh, comment, "eyes")  # idempotent: GitHub answers 200 with the existing reaction
    for command, outcome in results:
        if outcome.text == INTERRUPTED:
            await services.store.add_audit(incident.id, "command", _audit(comment, command, outcome))
    inv = Invocation(services, gh, incident, comment.author)
    for command in to_run:
        # Remembered before it runs: a crash mid-command must not repeat an abort or a promote on retry.
        await _remember(services.store, comment, command, None)
        # The incident's cluster for everything the command reads or patches (analyze's evidence too).
        bound = CURRENT_CLUSTER.set(cluster_of(inv.incident))
        try:
            outcome = await run_command(inv, command)
        finally:
            CURRENT_CLUSTER.reset(bound)
        await _remember(services.store, comment, command, outcome)
        await services.store.add_audit(incident.id, "command", _audit(comment, command, outcome))
        inv.incident = await services.store.get_incident(incident.id) or inv.incident
        results.append((command, outcome))
    reply = render_reply(results, skipped=len(pending) - len(to_run))
    await issues.post_comment(gh, comment.repo, comment.number, reply)
    await react(gh, comment, "+1" if all(outcome.ok for _, outcome in results) else "-1")
    for command, outcome in results:
        await _remember(services.store, comment, command, outcome, replied=True)


async def _sort_out(
    store: Store, comment: CommentEvent, commands: Sequence[Command]
) -> tuple[list[tuple[Command, Outcome]], list[Command]]:
    """(outcomes run but not yet replied to, commands never run) for this comment."""
    unreported: list[tuple[Command, Outcome]] = []
    pending: list[Command] = []
    for command in commands:
        seen = await store.kv_get(SEEN, _seen_key(comment, command))
        if seen is None:
            pending.append(command)
        elif not seen.get("replied"):
            unreported.append((command, Outcome(bool(seen.get("ok")), str(seen.get("text") or INTERRUPTED))))
    return unreported, pending


async def _remember(
    store: Store,
    comment: CommentEvent,
    command: Command,
    outcome: Outcome | None,
    *,
    replied: bool = False,
) -> None:
    value: dict[str, object] = {"at": time.time(), "replied": replied}
    if outcome is not None:
        value.update(ok=outcome.ok, text=outcome.text)
    await store.kv_set(SEEN, _seen_key(comment, command), value, SEEN_TTL)


async def run_command(inv: Invocation, command: Command) -> Outcome:
    """Run one command; every failure becomes an outcome the human reads (and the operators' log)."""
    runner = RUNNERS.get(command.name)
    if runner is None:
        return Outcome(False, f"unknown command {code_span(command.name, 40)}.")
    try:
        return await runner(inv, command)
    except Refused as exc:
        return Outcome(False, exc.text)
    except StaleIncident:
        return Outcome(False, "the incident changed while the command ran: look at the status and try again.")
    except (FixloopError, gidgethub.GitHubException) as exc:
        log.warning("command %s failed: %s", command.line, exc)
        return Outcome(False, f"failed: {safe_inline(str(exc), 300)}")
    except Exception:  # isolate: one broken command must not hide the others' outcomes
        log.exception("command %s crashed", command.line)
        return Outcome(False, "failed unexpectedly; the Fixloop operators have the details in the log.")


async def react(gh: GitHubClient, comment: CommentEvent, content: Reaction) -> None:
    await react_to_comment(gh, comment.repo, comment.comment_id, content)


@contextlib.asynccontextmanager
async def holding(store: Store, incident: Incident, *, holder: int) -> AsyncIterator[Incident]:
    """The incident's claim for the commands (the holder is the negated comment id: never a job id)."""
    claimed = await claim_incident(store, incident, holder)
    if claimed is None:
        until = claim_of(incident).until
        wait = min(max(until - time.time(), 1.0), 300.0) if until else BUSY_RETRY
        raise TransientError(f"incident {incident.id} is held by another job", retry_after=wait)
    try:
        yield claimed
    finally:
        await _release(store, incident.id, holder)


async def _release(store: Store, incident_id: int, holder: int) -> None:
    for _ in range(3):
        current = await store.get_incident(incident_id)
        if current is None:
            return
        with contextlib.suppress(StaleIncident):
            await release_incident(store, current, holder)
            return
    log.warning("incident %s: claim of comment %s left to expire", incident_id, -holder)


def _seen_key(comment: CommentEvent, command: Command) -> str:
    return f"{comment.comment_id}:{command.key}"


def _audit(comment: CommentEvent, command: Command, outcome: Outcome) -> dict[str, object]:
    return {
        "command": command.name,
        "args": list(command.args),
        "by": comment.author,
        "comment": comment.comment_id,
        "action": comment.action,
        "ok": outcome.ok,
        "outcome": outcome.text,
    }
