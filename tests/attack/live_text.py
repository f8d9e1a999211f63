"""Is any of this text live on GitHub? A detector for what planted text could do once Fixloop posts it.

"Live" means: GitHub or a bot reading the issue would act on it, or a browser showing it would fetch or
link somewhere else. What counts, and where it is looked for:

- ``mention``: ``@login`` or ``@org/team`` in what GitHub renders as text (outside code). GitHub pings
  an ``@`` that starts a word and is followed by an ASCII letter or digit; a zero-width character right
  after the ``@`` breaks the mention (what Dependabot and Renovate do, and Fixloop's neutraliser).
- ``agent``: ``@copilot``, ``@claude``... anywhere in the raw text, code included: agents' triggers read
  the raw comment (claude-code-action matches ``(^|\\s)@claude`` on it), not the rendered page.
- ``command``: a line whose first word is ``/fixloop``, ``/approve``, ``/copilot``... anywhere in the raw
  text, code included (not every bot skips code blocks as Fixloop's own grammar does).
- ``html``: a raw HTML tag (as markdown parses it, outside code) other than the few Fixloop writes
  itself (``details``, ``summary``, ``sub``); any HTML comment other than Fixloop's own markers, looked
  for in the raw text, code included, because Fixloop finds its markers in raw lines.
- ``link``: a link, image or autolinked URL (rendered, outside code) that leads off the allowed hosts:
  http(s) to another host, protocol-relative ``//host``, ``javascript:``, ``data:``, ``mailto:``...
  Relative links stay on GitHub; ``hxxp(s)://`` (defanged) is a scheme GitHub strips: neither counts.
- ``invisible``: a zero-width, joiner or bidi control character, except Fixloop's own two: a joiner
  right after ``@`` (the mention breaker) and a non-joiner inside ``<!-`` U+200C ``-`` (a defused comment opener).

Before the mention, agent and command checks, text is folded as a reader or a normalising bot would
see it: NFKC (fullwidth U+FF20 is ``@``), Cyrillic and Greek look-alikes to Latin (``@c`` U+043E
``pilot``, with a Cyrillic o, reads as ``@copilot``), invisible characters dropped (``@cop\\u200bilot``), but a
zero-width character right after ``@`` kept, since GitHub does not ping through it. Fixloop's division
slash (U+2215) is not folded: no parser reads it as ``/``.

The markdown parser is markdown-it-py (CommonMark, with GFM tables and strikethrough and raw HTML on);
GitHub's bare-URL autolinks are found with a regular expression over the rendered text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from markdown_it import MarkdownIt

ALLOWED_HOSTS = ("github.com", "*.github.com", "*.githubusercontent.com")
BASE_URL = "https://github.com/acme/rollouts-demo/issues/1"  # where relative links resolve
OWN_TAGS = frozenset({"details", "summary", "sub"})
AGENTS = (
    "copilot",
    "copilot-swe-agent",
    "claude",
    "codex",
    "chatgpt-codex-connector",
    "openhands",
    "openhands-agent",
    "jules",
    "google-labs-jules",
    "gemini",
    "gemini-code-assist",
    "coderabbitai",
    "devin-ai-integration",
    "sweep-ai",
    "cursor",
)
# Command words of Fixloop, the agents, Prow and common merge/deploy bots.
COMMANDS = frozenset(
    {
        *("fixloop", "copilot", "claude", "codex", "jules", "openhands", "gemini", "cursor"),
        *("approve", "lgtm", "hold", "retest", "test", "ok-to-test", "assign", "unassign", "cc"),
        *("merge", "rebase", "deploy", "promote", "abort", "retry", "ignore", "redeploy", "close"),
        *("reopen", "lock", "label", "cherry-pick", "review", "fix", "run", "help", "status"),
    }
)
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_ZERO_WIDTH_AFTER_AT = re.compile("@([\u200b-\u200d\u2060\ufeff])")
_OWN_INVISIBLE = re.compile("@\u200d|<!-\u200c-")
_LOOKALIKES = str.maketrans(
    "аАвВсСеЕһНіІјЈкКмМоОрРѕЅтТхХуУԁԛԝ"  # Cyrillic
    "αΑβΒεΕζΖηΗιΙκΚμΜνΝοΟρΡτΤυΥχΧ",  # Greek
    "aAbBcCeEhHiIjJkKmMoOpPsStTxXyYdqwaAbBeEzZnHiIkKuMvNoOpPtTuYxX",
)
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@([A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9_.-]+)?)")
_AGENT = re.compile(rf"(?i)(?<![A-Za-z0-9_])@(?:{'|'.join(map(re.escape, AGENTS))})(?![A-Za-z0-9-])")
_COMMAND_LINE = re.compile(r"^[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?/([A-Za-z][\w-]*)(?=\s|$)")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)[^<>]*>?")
_BARE_URL = re.compile(r"(?i)(?<![\w/.@-])(?:https?://|www\.)[^\s<>\"'`]+")
_URL_ATTRS = frozenset({"href", "src", "srcset", "poster", "action", "formaction", "background", "data"})


@dataclass(frozen=True)
class Finding:
    kind: str  # mention | agent | command | html | link | invisible
    excerpt: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.excerpt!r}"


def fold(text: str) -> str:
    """The text as a reader (or a normalising bot) sees it; a zero-width character after ``@`` stays."""
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    text = _ZERO_WIDTH_AFTER_AT.sub("@\x00", text)  # protect the mention breaker from the stripping
    return INVISIBLE.sub("", text).replace("@\x00", "@\u200d")


def _views(text: str) -> tuple[str, ...]:
    """The text as GitHub sees it (raw: ``x\u200b@copilot`` pings, the space-like character is no word)
    and as a reader sees it (folded); one view when they are the same."""
    folded = fold(text)
    return (text,) if folded == text else (text, folded)


def host_allowed(host: str, allowed: Collection[str] = ALLOWED_HOSTS) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a or (a.startswith("*.") and host.endswith(a[1:])) for a in allowed)


def link_is_live(url: str, allowed: Collection[str] = ALLOWED_HOSTS) -> bool:
    """Whether following ``url`` from an issue leaves the allowed hosts (or runs a script)."""
    url = url.strip()
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    if scheme and scheme.group(1).lower() in ("hxxp", "hxxps"):
        return False  # defanged: GitHub's sanitiser drops hrefs with unknown schemes
    try:
        target = urlsplit(urljoin(BASE_URL, url))
    except ValueError:
        return True
    if target.scheme not in ("http", "https"):
        return True
    return not host_allowed(target.hostname or "", allowed)


def _excerpt(text: str, start: int, end: int) -> str:
    return text[max(0, start - 30) : end + 30]


def _invisibles(raw: str) -> Iterator[Finding]:
    # where Fixloop's own two sit: the joiner is the 2nd character of "@\u200d", the non-joiner the 4th
    # of "<!-\u200c-"
    own = {m.start() + (1 if m.group().startswith("@") else 3) for m in _OWN_INVISIBLE.finditer(raw)}
    for match in INVISIBLE.finditer(raw):
        if match.start() not in own:
            where = _excerpt(raw, match.start(), match.end())
            yield Finding("invisible", f"U+{ord(match.group()):04X} in {where}")


def _raw_checks(raw: str, own_markers: Collection[str]) -> Iterator[Finding]:
    folded = fold(raw)
    for view in _views(raw):
        for match in _AGENT.finditer(view):
            yield Finding("agent", _excerpt(view, match.start(), match.end()))
    for line in folded.splitlines():
        command = _COMMAND_LINE.match(line)
        if command and command.group(1).lower() in COMMANDS:
            yield Finding("command", line[:120])
    for match in _COMMENT.finditer(raw):
        if match.group() not in own_markers:
            yield Finding("html", f"comment {match.group()[:80]}")
    yield from _invisibles(raw)


class _Rendered(HTMLParser):
    """Walks the rendered HTML: URLs in attributes, text outside code (with or without links)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.text: list[str] = []  # text outside code
        self.unlinked: list[str] = []  # text outside code and outside links (GitHub autolinks it)
        self._code = 0
        self._link = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._code += tag in ("code", "pre")
        self._link += tag == "a"
        for name, value in attrs:
            if name in _URL_ATTRS and value is not None:
                parts = value.split(",") if name == "srcset" else [value]
                self.urls += [part.split()[0] for part in parts if part.strip()]

    def handle_endtag(self, tag: str) -> None:
        self._code -= tag in ("code", "pre") and self._code > 0
        self._link -= tag == "a" and self._link > 0

    def handle_data(self, data: str) -> None:
        if not self._code:
            self.text.append(data)
            if not self._link:
                self.unlinked.append(data)


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _raw_html_tags(raw: str) -> Iterator[Finding]:
    """Tags of raw HTML as markdown parses it (code spans and fences are not HTML).

    Fixloop's own tags pass only bare (``<details>``, no attributes) and balanced: a planted
    ``</details>`` or ``<details open>`` is not Fixloop's.
    """
    open_tags: list[str] = []
    for token in _markdown().parse(raw):
        pieces = [token.content] if token.type == "html_block" else []
        pieces += [child.content for child in token.children or () if child.type == "html_inline"]
        for piece in pieces:
            for tag in _TAG.finditer(_COMMENT.sub("", piece)):
                name, closing = tag.group(2).lower(), bool(tag.group(1))
                bare = tag.group(0) == (f"</{name}>" if closing else f"<{name}>")
                if name not in OWN_TAGS or not bare:
                    yield Finding("html", f"{tag.group(0)} in {piece[:80]}")
                elif not closing:
                    open_tags.append(name)
                elif not open_tags or open_tags.pop() != name:
                    yield Finding("html", f"unbalanced {tag.group(0)} in {piece[:80]}")
    if open_tags:
        yield Finding("html", f"unclosed <{'>, <'.join(open_tags)}>")


def _rendered_checks(raw: str, allowed_hosts: Collection[str]) -> Iterator[Finding]:
    page = _Rendered()
    page.feed(_markdown().render(raw))
    for url in page.urls:
        if link_is_live(url, allowed_hosts):
            yield Finding("link", url[:120])
    for data in page.unlinked:
        for match in _BARE_URL.finditer(data):
            url = match.group().rstrip(".,:;!?*_~)")
            if link_is_live(url if "://" in url else f"http://{url}", allowed_hosts):
                yield Finding("link", f"autolink {url[:120]}")
    for data in page.text:
        for view in _views(data):
            for match in _MENTION.finditer(view):
                yield Finding("mention", _excerpt(view, match.start(), match.end()))


def live_findings(
    markdown: str,
    *,
    own_markers: Collection[str] = (),
    allowed_hosts: Collection[str] = ALLOWED_HOSTS,
    rendered: bool = True,
) -> list[Finding]:
    """Everything live in ``markdown`` (an issue title, body or comment as sent to GitHub).

    ``rendered=False`` is for plain text that GitHub never renders (Copilot's custom instructions): only
    what a reader of the raw text acts on counts there (agents, commands, markers, invisibles).
    """
    found = list(_raw_checks(markdown, own_markers))
    if rendered:
        found += _raw_html_tags(markdown)
        found += _rendered_checks(markdown, allowed_hosts)
    return found
