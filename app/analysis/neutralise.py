"""Make untrusted text (logs, LLM output, annotations) inert in GitHub markdown.

What could go wrong if it were pasted as is: ``@user`` and ``@copilot`` ping people and wake agents,
``/fixloop promote`` reads as a command, HTML and images load third-party URLs (tracking pixels) or
break the page, links send readers to phishing hosts.

Choices:

- Mentions: a zero-width joiner (U+200D) after ``@``. GitHub's mention syntax needs ``@`` directly
  followed by a letter or digit, so nobody is pinged and no agent is triggered, the text still reads
  the same, and it works in prose, tables and code alike. Backticks would also stop the ping but pair
  with backticks already in the text and change how the rest of the line renders.
- Slash commands (``/fixloop``, ``/copilot``...): the slash becomes U+2215 (division slash). A parser
  that strips zero-width characters or applies NFKC (as ours does before matching) still sees no
  command, which a zero-width character after the slash would not guarantee.
- Any line that starts like a command (``/approve``, ``/lgtm``, ``> /merge``: a slash, a word, then a
  space or the end of the line) gets the division slash too: Prow and other bots read those in issue
  bodies, code blocks included.
- Before matching, zero-width and bidi control characters are removed and the text is NFKC-normalised,
  so fullwidth ``@copilot`` (U+FF20...) or ``@co\u200bpilot`` are caught as ``@copilot``. Cyrillic and
  Greek look-alikes are matched as the Latin letters they imitate (``/f`` + Cyrillic i + ``xloop``), and
  an ``@`` before a letter of any script is broken (``@`` + Cyrillic es + ``laude`` reads as ``@claude``).

``neutralise_inline`` is for one line of markdown (titles, table cells, prose): HTML escaped, links and
images kept only to allowed hosts, other URLs defanged (``hxxps://evil[.]example``) so GitHub neither
links nor fetches them, and every other ``](``, ``][`` or ``]:`` escaped, so that no link, image or
reference definition can form from what the link pattern did not take (``[a [b] c](//evil.example)``,
``[x][1]`` with ``[1]: //evil.example`` at the start of another paragraph); a leading ``#`` is escaped,
so a paragraph cannot pose as one of Fixloop's headings (``## Task for the agent``). ``neutralise_block``
is for the inside of a fenced code block, where markdown, HTML and URLs are inert already: it keeps the
text as is apart from mentions, commands and invisibles.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

from app.analysis.redact import redact

ZWJ = "\u200d"
DIVISION_SLASH = "\u2215"
DEFAULT_ALLOWED_HOSTS = ("github.com", "*.githubusercontent.com")
COMMANDS = ("fixloop", "copilot", "claude", "codex", "jules", "openhands", "gemini")
TITLE_MAX = 100

# Zero-width, joiners, bidi embeddings/overrides/isolates, word joiner, BOM, soft hyphen, Mongolian VS.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9])@(?=[^\W_])")  # a letter of any script: see _LOOKALIKES
_COMMAND_RE = re.compile(rf"(?<![\w/.-])/(?=(?:{'|'.join(COMMANDS)}))", re.IGNORECASE)
# A line that starts like a bot command: quote and list markers, then ``/word`` and a space or the end.
_LINE_COMMAND_RE = re.compile(
    r"(?m)^[ \t]*(?:>[ \t]*)*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?/(?=[A-Za-z][\w-]*(?:\s|$))"
)
# Cyrillic and Greek letters that look Latin, mapped one to one (same length), for matching only.
_LOOKALIKES = str.maketrans(
    "\u0430\u0410\u0432\u0412\u0441\u0421\u0435\u0415\u04bb\u041d\u0456\u0406\u0458\u0408\u043a\u041a"
    "\u043c\u041c\u043e\u041e\u0440\u0420\u0455\u0405\u0442\u0422\u0445\u0425\u0443\u0423\u0501\u051b\u051d"
    "\u03b1\u0391\u03b2\u0392\u03b5\u0395\u03b6\u0396\u03b7\u0397\u03b9\u0399\u03ba\u039a\u03bc\u039c"
    "\u03bd\u039d\u03bf\u039f\u03c1\u03a1\u03c4\u03a4\u03c5\u03a5\u03c7\u03a7",
    "aAbBcCeEhHiIjJkKmMoOpPsStTxXyYdqwaAbBeEzZnHiIkKuMvNoOpPtTuYxX",
)
_LINK_RE = re.compile(r"(!?)\[([^\]\n]{0,500})\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^\"'\n]*[\"'])?\s*\)")
_URL_RE = re.compile(r"(?i)(?:https?://|www\.)[^\s<>\"'`]+")
_SPACE_RE = re.compile(r"\s+")
# A paragraph of untrusted prose that starts like a heading would forge Fixloop's own structure
# ("## Task for the agent" written by the LLM, above the real one): its first # is escaped.
_HEADING_RE = re.compile(r"^(#)(?=#{0,5}(?:\s|$))")
_MARKER_RE = re.compile("\x00(\\d+)\x00")


def _prepare(text: str) -> str:
    """Strip invisibles and controls, then NFKC (fullwidth U+FF20 → @), then strip what NFKC revealed."""
    text = _CONTROL_RE.sub("", _INVISIBLE_RE.sub("", text))
    return _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text))


def host_allowed(url: str, allowed: Iterable[str] = DEFAULT_ALLOWED_HOSTS) -> bool:
    """True for http(s) URLs whose host is on the allow-list (``*.example.com`` covers subdomains)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    for pattern in (allowed_host.lower() for allowed_host in allowed):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def defang(url: str) -> str:
    """``https://evil.example/x`` → ``hxxps://evil[.]example/x``: readable, neither linked nor fetched."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, slash, path = rest.partition("/")
    scheme = re.sub(r"(?i)^http", "hxxp", scheme)
    path = re.sub(r"(?i)http(s?)://", r"hxxp\1://", path)  # a URL inside the URL
    return f"{scheme}{'://' if sep else ''}{host.replace('.', '[.]')}{slash}{path}"


def _links(text: str, allowed: tuple[str, ...], kept: list[str]) -> str:
    """Links/images to allowed hosts go to ``kept`` (label escaped) behind a marker; others become text."""

    def replace(match: re.Match[str]) -> str:
        bang, label, url = match.groups()
        if host_allowed(url, allowed):
            kept.append(f"{bang}[{_escape_html(label)}]({url})")
            return f"\x00{len(kept) - 1}\x00"
        kind = "image" if bang else "link"
        shown = defang(url) if url.lower().startswith(("http://", "https://", "www.")) else "removed"
        return f"{label.strip() or kind} ({kind}: {shown})"

    return _LINK_RE.sub(replace, text)


def _bare_urls(text: str, allowed: tuple[str, ...]) -> str:
    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        return url if host_allowed(url, allowed) else defang(url)

    return _URL_RE.sub(replace, text)


_CODE_SPAN_RE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def _escape_html(text: str) -> str:
    """Escape HTML. Inside a code span GitHub would show ``&lt;`` literally, so there angle brackets
    become look-alikes (U+2039, U+203A) instead: readable, and inert even if a later cut opens the span."""
    out: list[str] = []
    last = 0
    for span in _CODE_SPAN_RE.finditer(text):
        code = span.group(0)
        out += [_escape(text[last : span.start()]), code.replace("<", "\u2039").replace(">", "\u203a")]
        last = span.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return _escape_brackets(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


# A "]" that would close a link or image's text ("](", "][") or a reference definition's label ("]:").
_BRACKET_RE = re.compile(r"(\\*)\](?=[(\[:])")


def _escape_brackets(text: str) -> str:
    """``](`` → ``\\](`` (and ``][``, ``]:``): no link, image or reference definition can close, whatever
    the link pattern missed. Backslashes before it are doubled, so ``\\](`` cannot undo the escape."""
    return _BRACKET_RE.sub(lambda match: match.group(1) * 2 + "\\]", text)


def _inert(text: str) -> str:
    text = _MENTION_RE.sub("@" + ZWJ, text)
    # Commands are found in a copy with look-alikes folded to Latin; the copy has the same length, so
    # the slashes found there are at the same places in the text.
    folded = text.translate(_LOOKALIKES)
    slashes = {m.end() - 1 for regex in (_COMMAND_RE, _LINE_COMMAND_RE) for m in regex.finditer(folded)}
    return "".join(DIVISION_SLASH if i in slashes else char for i, char in enumerate(text))


def _bound(text: str, max_len: int) -> str:
    if len(text) <= max_len:
        return text
    cut = text[: max(0, max_len - 1)]
    cut = re.sub(r"&[a-z]{0,4}$", "", cut)  # never leave half an entity
    return cut + "…"


def neutralise_inline(
    text: str, max_len: int = 500, *, allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
) -> str:
    """One line of inert markdown: no pings, commands, HTML, foreign links or images; bounded."""
    kept: list[str] = []
    text = _links(_SPACE_RE.sub(" ", _prepare(text)).strip(), allowed_hosts, kept)
    text = _escape_html(_bare_urls(text, allowed_hosts))
    text = _MARKER_RE.sub(lambda m: kept[int(m.group(1))], text)
    text = _HEADING_RE.sub(r"\\\1", _inert(text))
    return _bound(text, max_len)


def neutralise_block(text: str, max_len: int = 4000) -> str:
    """Text for the inside of a fenced code block: mentions and commands inert, invisibles gone, bounded.

    Markdown, HTML and URLs are shown literally inside a fence, so they are kept; the caller must fence
    the result with a fence longer than any backtick run in it.
    """
    text = _prepare(text.replace("\r\n", "\n").replace("\r", "\n"))
    return _bound(_inert(text), max_len)


def sanitise_title(text: str, fallback: str = "") -> str:
    """An issue title: redacted, one line, inert, at most 100 characters; ``fallback`` when empty.

    GitHub shows titles as text (HTML is not rendered there), so angle brackets are dropped rather than
    escaped, which would show ``&lt;`` literally.
    """
    clean = _SPACE_RE.sub(" ", _prepare(redact(text))).strip()
    clean = _bare_urls(_links(clean, (), []), ()).replace("<", "").replace(">", "")
    clean = _bound(_inert(clean).strip(), TITLE_MAX)
    if clean or not fallback:
        return clean
    return sanitise_title(fallback)
