"""Suspect commits: what the canary has that stable has not, ranked by the code its stack traces name.

With both revisions known: ``GET /repos/{owner}/{repo}/compare/{stable}...{canary}`` (one page, at most
``max_commits`` commits, and the changed files). The files named by the stack frames of canary-only error
signatures that the comparison changed are looked up (``GET /repos/{owner}/{repo}/commits?sha=&path=``,
at most MAX_PATH_LOOKUPS) to learn which commits touched them; those commits rank first. Everything read
here is untrusted (titles, logins, paths) and is neutralised where it is shown. Anything that fails
becomes a note saying what could not be known; nothing else changes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import gidgethub

from app.analysis.evidence import Evidence
from app.analysis.frames import Frame, parse_frames
from app.errors import TransientError
from app.github import commits as github_commits
from app.github.commits import CommitItem
from app.github.errors import GitHubRefused
from app.github.http import GitHubClient
from app.loop.origin.provenance import Provenance
from app.loop.render.facts import error_signatures

log = logging.getLogger(__name__)

MAX_PATH_LOOKUPS = 2  # GitHub calls to attribute frame files to commits, per incident
MAX_TOP_FRAMES = 5
MAX_FILES_READ = 300  # GitHub's own cap on a comparison's files
_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class SuspectCommit:
    sha: str
    login: str  # "" when GitHub links no account to the author
    title: str  # first line of the message: untrusted
    files: tuple[str, ...]  # changed files named by a stack frame


@dataclass(frozen=True)
class TopFrame:
    path: str  # repository path (the changed file it matched, else the frame's own guess)
    line: int
    url: str  # permalink at the canary's commit; "" when the canary's commit is unknown


@dataclass
class Suspects:
    base: str = ""
    head: str = ""
    commits: list[SuspectCommit] = field(default_factory=list)  # ranked
    frames: list[TopFrame] = field(default_factory=list)
    total_commits: int = 0
    notes: list[str] = field(default_factory=list)  # what could not be known, what was cut

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suspects:
        commits = [SuspectCommit(**{**c, "files": tuple(c["files"])}) for c in data.get("commits", ())]
        frames = [TopFrame(**f) for f in data.get("frames", ())]
        return cls(
            data.get("base", ""),
            data.get("head", ""),
            commits,
            frames,
            int(data.get("total_commits", 0)),
            list(data.get("notes", ())),
        )


@dataclass(frozen=True)
class Origin:
    """Where the two sides came from and what the canary added: stored with the incident."""

    provenance: Provenance
    suspects: Suspects

    def to_dict(self) -> dict[str, Any]:
        return {"revisions": self.provenance.to_dict(), "suspects": self.suspects.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Origin | None:
        if not data:
            return None
        provenance = Provenance.from_dict(data.get("revisions") or {})
        if provenance is None:
            return None
        return cls(provenance, Suspects.from_dict(data.get("suspects") or {}))


def top_frames(evidence: Evidence) -> list[Frame]:
    """The top application frame of each canary-only error signature's trace, first signatures first."""
    found: dict[tuple[str, int], Frame] = {}
    for signature in error_signatures(evidence):
        if not signature.canary_only:
            continue
        frames = parse_frames(signature.example)
        if frames:
            found.setdefault((frames[0].path, frames[0].line), frames[0])
    return list(found.values())[:MAX_TOP_FRAMES]


def trace_frames(evidence: Evidence) -> list[Frame]:
    """Every application frame of the canary-only signatures' traces (for matching changed files)."""
    frames = [
        frame
        for signature in error_signatures(evidence)
        if signature.canary_only
        for frame in parse_frames(signature.example)
    ]
    return list(dict.fromkeys(frames))


async def find_suspects(
    gh: GitHubClient | None,
    repo: str,
    provenance: Provenance,
    evidence: Evidence,
    *,
    web_url: str,
    max_commits: int,
) -> Suspects:
    canary, stable = provenance.canary, provenance.stable
    found = Suspects(base=stable.revision, head=canary.revision)
    for side in (stable, canary):
        if not side.known:
            found.notes.append(f"The {side.side} revision is unknown ({side.source}).")
    changed: list[str] = []
    if gh is None:  # `python -m app analyze`: no GitHub
        found.notes.append("GitHub was not asked: the commits between stable and canary are not listed.")
    elif canary.known and stable.known:
        changed = await _compare(gh, repo, found, max_commits)
        await _rank(gh, repo, found, trace_frames(evidence), changed)
    found.frames = [_link(frame, changed, repo, canary.revision, web_url) for frame in top_frames(evidence)]
    return found


async def _compare(gh: GitHubClient, repo: str, found: Suspects, max_commits: int) -> list[str]:
    basehead = f"{found.base}...{found.head}"
    per_page = min(max_commits, 100)
    try:
        answer = await github_commits.compare(gh, repo, basehead, per_page=per_page)
    except GitHubRefused as exc:
        status = exc.status
        why = " (force-pushed, or built from another repository?)" if status == 404 else ""
        found.notes.append(f"GitHub could not compare {basehead}: HTTP {status}{why}.")
        return []
    except (TransientError, gidgethub.GitHubException) as exc:
        log.info("compare %s in %s failed: %s", basehead, repo, exc)
        found.notes.append(f"GitHub did not answer the comparison {basehead}: suspect commits unknown.")
        return []
    if answer is None:
        found.notes.append(f"GitHub's comparison {basehead} was not an object: suspect commits unknown.")
        return []
    commits = [c for c in answer.get("commits") or [] if isinstance(c, dict)]
    found.total_commits = int(answer.get("total_commits") or len(commits))
    found.commits = [_commit(c) for c in reversed(commits[-max_commits:])]  # newest first
    if found.total_commits > len(found.commits):
        found.notes.append(
            f"{found.total_commits} commits between stable and canary: the {len(found.commits)} shown are "
            "the first page GitHub gives."
        )
    files = [f for f in answer.get("files") or [] if isinstance(f, dict)][:MAX_FILES_READ]
    if len(files) >= MAX_FILES_READ:
        found.notes.append(f"GitHub lists at most {MAX_FILES_READ} changed files: more may have changed.")
    names = [str(f.get("filename", "")) for f in files] + [str(f.get("previous_filename", "")) for f in files]
    return [name for name in dict.fromkeys(names) if name]


def _commit(raw: CommitItem) -> SuspectCommit:
    author = raw.get("author") if isinstance(raw.get("author"), dict) else {}
    login = str((author or {}).get("login") or "")
    message = str((raw.get("commit") or {}).get("message") or "")
    sha = str(raw.get("sha") or "")
    return SuspectCommit(
        sha if _SHA_RE.match(sha) else "",
        login if _LOGIN_RE.match(login) else "",
        message.splitlines()[0][:200] if message else "",
        (),
    )


async def _rank(
    gh: GitHubClient, repo: str, found: Suspects, frames: list[Frame], changed: list[str]
) -> None:
    """Commits that touched a changed file a frame names first (more such files first), then newest first."""
    matched = [name for name in changed if any(frame.matches(name) for frame in frames)]
    if not matched or not found.commits:
        return
    touching: dict[str, set[str]] = {}
    if len(found.commits) == 1:
        touching = {found.commits[0].sha: set(matched)}
    else:
        for name in matched[:MAX_PATH_LOOKUPS]:
            for sha in await _commits_touching(gh, repo, found, name):
                touching.setdefault(sha, set()).add(name)
        if len(matched) > MAX_PATH_LOOKUPS:
            found.notes.append(
                f"{len(matched)} changed files are named by the stack traces: commits were matched on the "
                f"first {MAX_PATH_LOOKUPS}."
            )
    ranked = [
        SuspectCommit(c.sha, c.login, c.title, tuple(sorted(touching.get(c.sha, ())))) for c in found.commits
    ]
    found.commits = sorted(ranked, key=lambda c: -len(c.files))  # stable sort: newest first within a rank


async def _commits_touching(gh: GitHubClient, repo: str, found: Suspects, path: str) -> set[str]:
    try:
        return await github_commits.commits_touching(gh, repo, sha=found.head, path=path)
    except (TransientError, GitHubRefused, gidgethub.GitHubException) as exc:
        log.info("commits touching %s in %s not read: %s", path, repo, exc)
        found.notes.append(f"The commits that touched {path} could not be read: ranking without it.")
        return set()


def _link(frame: Frame, changed: list[str], repo: str, canary_sha: str, web_url: str) -> TopFrame:
    path = next((name for name in changed if frame.matches(name)), frame.path)
    url = f"{web_url}/{repo}/blob/{canary_sha}/{path}#L{frame.line}" if canary_sha else ""
    return TopFrame(path, frame.line, url)
