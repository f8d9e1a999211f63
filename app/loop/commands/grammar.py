"""The grammar of slash commands: ``/fixloop <command> [args]`` at the start of a line a human wrote.

Only text GitHub shows as the commenter's own words counts. Ignored: blockquotes (``>``, and the lazy
lines that continue a quote until a blank line), fenced code (``` and ~~~, closed by a fence of the same
character at least as long), indented code (four spaces or a tab), inline code (even a code span that
runs across lines), and HTML comments (hidden by GitHub). The prefix and the command are
case-insensitive; a bare ``/fixloop`` means ``help``. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "/fixloop"
MAX_PARSED = 20  # commands read from one body; the handler runs at most MAX_COMMANDS of them
MAX_ARGS = 4
MAX_TOKEN = 100
MAX_BODY = 65_536  # GitHub's own limit on a comment body

_COMMAND_RE = re.compile(r"^ {0,3}/fixloop(?:[ \t]+(?P<rest>.*))?$", re.IGNORECASE)
_FENCE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_QUOTE_RE = re.compile(r"^ {0,3}>")
_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_CODE_SPAN_RE = re.compile(r"(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)", re.DOTALL)
_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


@dataclass(frozen=True)
class Command:
    """One command line, normalised: lower-case name and arguments, bounded."""

    name: str
    args: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What identifies the line: the same key in an edited comment means the same command."""
        return " ".join((self.name, *self.args))

    @property
    def line(self) -> str:
        return f"{PREFIX} {self.key}"


def parse_commands(body: str | None) -> list[Command]:
    """The commands of a comment body, in order, each line once (same key: same command)."""
    found: dict[str, Command] = {}
    for line in _visible_lines(body or ""):
        match = _COMMAND_RE.match(line)
        if match is None:
            continue
        command = _command(match["rest"] or "")
        found.setdefault(command.key, command)
        if len(found) >= MAX_PARSED:
            break
    return list(found.values())


def new_commands(body: str | None, previous: str | None) -> list[Command]:
    """Commands of ``body`` that ``previous`` (the body before an edit) did not already hold."""
    before = {command.key for command in parse_commands(previous)}
    return [command for command in parse_commands(body) if command.key not in before]


def login_argument(arg: str) -> str | None:
    """``@login`` → ``login`` when it is a valid GitHub login; None otherwise."""
    login = arg.removeprefix("@")
    return login if arg.startswith("@") and _LOGIN_RE.match(login) else None


def _command(rest: str) -> Command:
    tokens = [token[:MAX_TOKEN].lower() for token in rest.split()]
    if not tokens:
        return Command("help")
    return Command(tokens[0], tuple(tokens[1 : 1 + MAX_ARGS]))


def _visible_lines(body: str) -> list[str]:
    """Lines outside quotes, fences and HTML comments, with code spans taken out of each paragraph."""
    text = _HTML_COMMENT_RE.sub(lambda m: "\n" * m.group().count("\n"), body[:MAX_BODY])
    lines: list[str] = []
    fence: str | None = None
    quoted = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fence is not None:
            fence = None if _closes(line, fence) else fence
            lines.append("")
            continue
        opening = _FENCE_RE.match(line)
        if opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
            fence = opening["fence"]
            lines.append("")
            continue
        quoted = bool(_QUOTE_RE.match(line)) or (quoted and bool(line.strip()))
        lines.append("" if quoted else line)
    return [line for paragraph in _paragraphs(lines) for line in _without_code_spans(paragraph)]


def _closes(line: str, fence: str) -> bool:
    """A closing fence: at most 3 spaces, the fence's character at least as often, nothing else."""
    indent = len(line) - len(line.lstrip(" "))
    stripped = line.strip()
    return indent < 4 and len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _without_code_spans(paragraph: list[str]) -> list[str]:
    """A code span may cross lines: removing it joins those lines, so no line starts inside code."""
    text = _CODE_SPAN_RE.sub("\x00", "\n".join(paragraph))
    return text.split("\n")
