"""The REST verbs every typed call in ``app/github`` goes through: where gidgethub's 4xx become our errors.

The client (``app.github.http.GitHubClient``) does timeouts, retries, rate limits and the ETag cache; these
add only the translation, so a caller of ``app.github.issues`` and the others never sees ``BadRequest``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from gidgethub.abc import GitHubAPI

from app.github.errors import translated

UrlVars = Mapping[str, str]


def repo_vars(full_name: str, **more: str | int) -> dict[str, str]:
    """The URL variables ``owner`` and ``repo`` of ``owner/name``, and any others given (as text)."""
    owner, _, name = full_name.partition("/")
    return {"owner": owner, "repo": name, **{key: str(value) for key, value in more.items()}}


async def get(gh: GitHubAPI, url: str, url_vars: UrlVars) -> Any:
    with translated():
        return await gh.getitem(url, url_vars=url_vars)


async def get_pages(gh: GitHubAPI, url: str, url_vars: UrlVars) -> AsyncIterator[Any]:
    """Every item of every page (pages are fetched as the caller reads on; stopping early saves them)."""
    with translated():
        async for item in gh.getiter(url, url_vars=url_vars):
            yield item


async def post(gh: GitHubAPI, url: str, url_vars: UrlVars, data: Mapping[str, Any]) -> Any:
    with translated():
        return await gh.post(url, url_vars=url_vars, data=data)


async def patch(gh: GitHubAPI, url: str, url_vars: UrlVars, data: Mapping[str, Any]) -> Any:
    with translated():
        return await gh.patch(url, url_vars=url_vars, data=data)
