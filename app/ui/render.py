"""HTML of the fleet page: small server-rendered pages, every value escaped (incident text is untrusted).

No script at all; the only style is the inline sheet below, allowed by its hash in the CSP, so an
injected ``<style>`` or ``<script>`` would not run even if escaping were ever missed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from collections.abc import Iterable, Sequence

from aiohttp import web

CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}"
    "header{background:#24292f;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center}"
    "header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}"
    "main{padding:16px 20px;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border:1px solid #d0d7de;padding:5px 8px;text-align:left;vertical-align:top}"
    "th{background:#eaeef2}code,pre{font:12px ui-monospace,monospace;white-space:pre-wrap}"
    ".stage{border-radius:10px;padding:1px 8px;background:#ddf4ff}.verified{background:#dafbe1}"
    ".needs_human,.failed_again{background:#ffebe9}.muted{color:#59636e}h2{margin-top:24px}"
)
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (
    f"default-src 'none'; style-src 'sha256-{CSS_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def link(href: str, text: object) -> str:
    """A link; only http(s) and site-relative targets, anything else is shown as text."""
    if not (href.startswith(("https://", "http://")) or (href.startswith("/") and not href.startswith("//"))):
        return e(text)
    return f'<a href="{e(href)}">{e(text)}</a>'


def age(seconds_ago: float) -> str:
    seconds = max(0, int(seconds_ago))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def stage_badge(stage: str) -> str:
    return f'<span class="stage {e(stage)}">{e(stage.replace("_", " "))}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str) -> str:
    """``rows`` hold HTML already escaped by the caller (cells are built with ``e`` and ``link``)."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="muted">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def page(title: str, body: str, *, login: str | None, status: int = 200) -> web.Response:
    who = (
        f'<form method="post" action="/ui/logout"><span>@{e(login)}</span> '
        '<button type="submit">Sign out</button></form>'
        if login
        else ""
    )
    text = (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(title)} · Fixloop</title><style>{CSS}</style>"
        f'<header><a href="/ui">Fixloop fleet</a><a href="/ui/scorecard">Scorecard</a>{who}</header>'
        f"<main><h1>{e(title)}</h1>{body}</main></html>"
    )
    return web.Response(status=status, text=text, content_type="text/html", headers=HEADERS)


def message(status: int, title: str, text: str, *, login: str | None = None) -> web.Response:
    return page(title, f"<p>{e(text)}</p>", login=login, status=status)
