"""Hidden HTML markers that let Fixloop find its own issues and comments.

A marker is an HTML comment on a line of its own: GitHub hides it, and it survives edits of the
visible text. Bodies and comments are untrusted: anyone who can comment can paste a marker. So:

- parsing is strict: a whole line, exact spelling, a bounded decimal id; conflicting markers give None;
- a marker alone never proves authorship: the code that looks for the bot's own comment must ALSO check
  that the comment's author is the app (``is_own_comment``);
- untrusted text put into the bot's bodies goes through ``defuse_markers`` so it cannot plant one.
"""

from __future__ import annotations

import re

_PREFIX = "fixloop:"

STATUS_MARKER = "<!-- fixloop:status -->"
CONFIG_PROBLEMS_MARKER = "<!-- fixloop:config-problems -->"
RECURRENCE_MARKER = "<!-- fixloop:recurrence -->"
REOPENED_MARKER = "<!-- fixloop:reopened -->"
VERIFIED_MARKER = "<!-- fixloop:verified -->"
HANDOFF_MARKER = "<!-- fixloop:handoff -->"

_MAX_ID_DIGITS = 18  # fits a signed 64-bit database id
_INCIDENT_RE = re.compile(r"^[ \t]*<!-- fixloop:incident=([1-9][0-9]{0,17}) -->[ \t]*$", re.MULTILINE)
_ATTEMPT_RE = re.compile(r"^[ \t]*<!-- fixloop:attempt=([1-9][0-9]{0,2}) -->[ \t]*$", re.MULTILINE)
_COMMENT_OPEN = "<!--"
_DEFUSED_OPEN = "<!-\u200c-"  # a zero-width non-joiner: reads the same, is no longer a comment opener


def incident_marker(incident_id: int) -> str:
    if incident_id < 1 or len(str(incident_id)) > _MAX_ID_DIGITS:
        raise ValueError(f"incident id out of range: {incident_id}")
    return f"<!-- {_PREFIX}incident={incident_id} -->"


def attempt_marker(attempt: int) -> str:
    if not 1 <= attempt <= 999:
        raise ValueError(f"attempt out of range: {attempt}")
    return f"<!-- {_PREFIX}attempt={attempt} -->"


def _single_id(pattern: re.Pattern[str], body: str | None) -> int | None:
    if not body:
        return None
    found = {int(match) for match in pattern.findall(body)}
    return found.pop() if len(found) == 1 else None


def find_incident_id(body: str | None) -> int | None:
    """The incident id of an issue body, or None when absent, malformed or ambiguous.

    Only a whole line ``<!-- fixloop:incident=<id> -->`` counts; several lines naming different ids
    (a pasted marker) give None rather than a guess. Check the issue's author before trusting the id.
    """
    return _single_id(_INCIDENT_RE, body)


def find_attempt(body: str | None) -> int | None:
    """The attempt number recorded by ``attempt_marker``, with the same strictness as find_incident_id."""
    return _single_id(_ATTEMPT_RE, body)


def has_marker(body: str | None, marker: str) -> bool:
    """Whether ``marker`` stands on a line of its own in ``body``.

    This says nothing about who wrote the body: users can paste markers into their own comments. To find
    the bot's status comment use ``is_own_comment``, which also checks the author.
    """
    if not body or not marker:
        return False
    return any(line.strip() == marker for line in body.splitlines())


def is_own_comment(body: str | None, marker: str, *, author_login: str, app_slug: str) -> bool:
    """Whether a comment is the app's own comment carrying ``marker``.

    ``author_login`` is the comment's ``user.login``; an app posts as ``<slug>[bot]``. Both checks are
    needed: the marker alone can be spoofed by anyone who can comment.
    """
    return bool(app_slug) and author_login == f"{app_slug}[bot]" and has_marker(body, marker)


def defuse_markers(text: str) -> str:
    """Make untrusted text unable to open an HTML comment, hence unable to plant a Fixloop marker."""
    return text.replace(_COMMENT_OPEN, _DEFUSED_OPEN)
